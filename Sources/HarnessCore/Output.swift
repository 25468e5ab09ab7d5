import Foundation

/// How a command writes for people: colour only on a terminal and never when NO_COLOR is set.
public struct Console: Sendable {
    public enum Verbosity: Int, Sendable, Comparable {
        case quiet = 0, normal = 1, verbose = 2
        public static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
    }

    public var verbosity: Verbosity
    public var colour: Bool

    public init(verbosity: Verbosity = .normal, colour: Bool? = nil) {
        self.verbosity = verbosity
        self.colour = colour ?? Console.colourWanted(fd: 1)
    }

    /// True when `fd` is a terminal and NO_COLOR is unset or empty (https://no-color.org).
    public static func colourWanted(fd: Int32) -> Bool {
        if let v = ProcessInfo.processInfo.environment["NO_COLOR"], !v.isEmpty { return false }
        return isatty(fd) == 1
    }

    public func paint(_ text: String, _ style: Style) -> String {
        colour ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    public enum Style: String, Sendable { case bold = "1", red = "31", green = "32", yellow = "33", dim = "2" }

    /// Normal output on stdout (suppressed by --quiet).
    public func say(_ text: String) {
        guard verbosity >= .normal else { return }
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// Detail on stderr, only with --verbose.
    public func detail(_ text: String) {
        guard verbosity >= .verbose else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// A warning on stderr, always (even with --quiet: warnings are about safety, e.g. a readable keys file).
    public func warn(_ text: String) {
        FileHandle.standardError.write(Data(("warning: " + text + "\n").utf8))
    }
}

public enum JSONOutput {
    /// Stable JSON: sorted keys, pretty printed, no escaped slashes.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }
}
