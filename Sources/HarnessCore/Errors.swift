/// Where a piece of bad input was found. Every error a user sees names one of these.
public enum InputLocation: Sendable, Equatable, CustomStringConvertible {
    case argument(String)
    case file(String)
    case line(file: String, line: Int)
    case field(file: String, line: Int, field: String)
    case byteOffset(source: String?, offset: Int)
    case step(String)

    public var description: String {
        switch self {
        case .argument(let name): return "argument \(name)"
        case .file(let path): return path
        case .line(let file, let line): return "\(file):\(line)"
        case .field(let file, let line, let field): return "\(file):\(line), field \(field)"
        case .byteOffset(let source, let offset):
            if let source { return "\(source), byte offset \(offset)" }
            return "byte offset \(offset)"
        case .step(let name): return "step \(name)"
        }
    }
}

/// Bad input: arguments, files, bytes, devices. Exit status 2.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var location: InputLocation?

    public init(_ message: String, at location: InputLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(message) (where: \(location))" }
        return message
    }

    /// The same error, placed at a location if it has none yet.
    public func located(_ location: InputLocation) -> InputError {
        var copy = self
        if copy.location == nil { copy.location = location }
        return copy
    }
}

/// A check or assertion that did not hold. Exit status 1.
public struct CheckFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A run stopped by SIGINT or SIGTERM (`Interruption`): the exit status is 130 or 143.
public struct Interrupted: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The documented exit statuses of every command.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    case checkFailed = 1
    case badInput = 2
}
