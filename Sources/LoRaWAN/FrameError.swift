import HarnessCore

/// A frame that cannot be read or does not check out, with the byte offset and field where it went wrong.
public struct FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case truncated, foptsPastEnd, macCommandsInBoth, badMIC, unknownMType, unknownMajor
        case unknownMACCommand, tooLong, badLength, fcntOutOfRange, noKey
    }

    public var kind: Kind
    public var offset: Int?
    public var field: String?
    public var message: String

    public init(_ kind: Kind, at offset: Int? = nil, field: String? = nil, _ message: String) {
        self.kind = kind
        self.offset = offset
        self.field = field
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let offset { parts.append("byte offset \(offset)") }
        if let field { parts.append("field \(field)") }
        return parts.isEmpty ? message : "\(message) (where: \(parts.joined(separator: ", ")))"
    }

    /// The same problem as bad input, for commands.
    public var inputError: InputError {
        let loc: InputLocation? = offset.map { .byteOffset(source: field.map { "field \($0)" }, offset: $0) }
        return InputError(message, at: loc)
    }
}
