import CInterrupt
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
        StandardStreams.out(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Detail on stderr, only with --verbose.
    public func detail(_ text: String) {
        guard verbosity >= .verbose else { return }
        StandardStreams.err(text + "\n")
    }

    /// A warning on stderr, always (even with --quiet: warnings are about safety, e.g. a readable keys file).
    public func warn(_ text: String) {
        StandardStreams.err("warning: " + text + "\n")
    }
}

/// Standard output and error through write(2), so that a failed write is known: Foundation's `FileHandle.write`
/// traps on an error (stdout redirected to a full disk or /dev/full would kill the process). A failure on standard
/// output is kept; the executable reports it (exit 2) when the command ends.
public enum StandardStreams {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var outputError: Int32 = 0

    public static func out(_ text: String) { write(text, fd: STDOUT_FILENO) }
    public static func err(_ text: String) { write(text, fd: STDERR_FILENO) }

    /// Flushes what `print` buffered; the error of the first failed write to standard output (this one or an earlier
    /// one), if any.
    public static func finish() -> String? {
        let e = lh_flush_stdout()
        if e != 0 { lock.lock(); if outputError == 0 { outputError = e }; lock.unlock() }
        return outputFailure
    }

    /// The error of the first failed write to standard output, if one failed.
    public static var outputFailure: String? {
        lock.lock(); defer { lock.unlock() }
        return outputError == 0 ? nil : String(cString: strerror(outputError))
    }

    static func write(_ text: String, fd: Int32) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { b in Foundation.write(fd, b.baseAddress.map { $0 + done }, b.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                if fd == STDOUT_FILENO {
                    let e = n < 0 ? errno : ENOSPC
                    lock.lock(); if outputError == 0 { outputError = e }; lock.unlock()
                }
                return
            }
            done += n
        }
        bytes.removeAll()
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
