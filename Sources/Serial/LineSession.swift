import Foundation
import HarnessCore

/// One line from the device, with the monotonic time it was complete (nanoseconds since the session started).
public struct Line: Sendable, Equatable, Codable {
    public var text: String
    public var at: Nanoseconds
    public init(text: String, at: Nanoseconds) { self.text = text; self.at = at }
}

/// What a line must look like.
public enum Matcher: Sendable, CustomStringConvertible {
    case exact(String)
    case prefix(String)
    case regex(String)

    /// The captures of a match (whole match first), or nil.
    public func match(_ line: String) -> [String]? {
        switch self {
        case .exact(let s): return line == s ? [line] : nil
        case .prefix(let s): return line.hasPrefix(s) ? [line] : nil
        case .regex(let p):
            guard let re = RegexCache.compiled(p) else { return nil }
            let ns = line as NSString
            guard let m = re.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { return nil }
            return (0..<m.numberOfRanges).map { i in
                let r = m.range(at: i)
                return r.location == NSNotFound ? "" : ns.substring(with: r)
            }
        }
    }

    public var description: String {
        switch self {
        case .exact(let s): return "'\(s)'"
        case .prefix(let s): return "'\(s)…'"
        case .regex(let p): return "/\(p)/"
        }
    }

    /// Checks a regular expression, with the error the plan and profile readers report.
    public static func validRegex(_ p: String) -> String? {
        do { _ = try NSRegularExpression(pattern: p); return nil } catch { return "'\(p)' is not a valid regular expression" }
    }
}

/// Regular expressions compiled once per pattern (every line a board sends is matched against a profile's
/// patterns and redacted: compiling them for each line cost more than the matching).
enum RegexCache {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var compiledPatterns: [String: NSRegularExpression] = [:]
    nonisolated(unsafe) private static var invalid: Set<String> = []

    static func compiled(_ pattern: String) -> NSRegularExpression? {
        lock.lock(); defer { lock.unlock() }
        if let re = compiledPatterns[pattern] { return re }
        if invalid.contains(pattern) { return nil }
        guard let re = try? NSRegularExpression(pattern: pattern) else {
            if invalid.count < 1024 { invalid.insert(pattern) }
            return nil
        }
        if compiledPatterns.count >= 1024 { compiledPatterns.removeAll() }   // a bound for patterns from outside
        compiledPatterns[pattern] = re
        return re
    }
}

/// Replaces secret values (keys) in text before it is logged or reported: every pattern's first group is kept,
/// the rest of the match becomes `<redacted>`.
public struct Redactor: Sendable {
    public var patterns: [String]
    public static let marker = "<redacted>"

    /// The AT commands that carry LoRaWAN keys, in the spellings of the supported dialects.
    public static let keyCommands = Redactor(patterns: [
        #"((?i:AT\+(?:APPKEY|NWKSKEY|APPSKEY|NWKKEY|KEY=APPKEY,|KEY=NWKSKEY,|KEY=APPSKEY,)[=,]?\s*"?))[0-9A-Fa-f]{32}"#,
        #"((?i:mac set (?:appkey|nwkskey|appskey) ))[0-9A-Fa-f]{32}"#,
        #"((?i:(?:APPKEY|NWKSKEY|APPSKEY),\s*"?))[0-9A-Fa-f]{32}"#,
        #"((?i:\+KEY: (?:APPKEY|NWKSKEY|APPSKEY) ))[0-9A-Fa-f]{32}"#,
        // Any other line that names a key and then gives 32 hex digits (an echo mangled by noise, a vendor's own
        // answer format): the name and up to 12 separating characters are kept.
        #"((?i:(?:APP|NWK|NWKS|APPS|FNWKSINT|SNWKSINT|NWKSENC)KEY)[^0-9A-Fa-f\r\n]{0,12})[0-9A-Fa-f]{32}"#,
    ])

    public init(patterns: [String]) { self.patterns = patterns }

    public func redact(_ text: String) -> String {
        var out = text
        for p in patterns {
            guard let re = RegexCache.compiled(p) else { continue }
            out = re.stringByReplacingMatches(in: out, range: NSRange(location: 0, length: (out as NSString).length),
                                              withTemplate: "$1" + Redactor.marker)
        }
        return out
    }
}

/// The session log: every byte to and from the device, timestamped. Format (read back by the trace replay):
///
///     # loraharness session log 1
///     # port /dev/pts/3 (termios) 115200 8N1
///     # started 2026-11-29T08:00:00Z
///     0.000123 > ATC+VER=?\r\n
///     0.004567 < ATC+VER=1.0.0,1\r\n
///
/// Seconds since the session started (monotonic, microseconds), `>` to the device or `<` from it, then the bytes:
/// printable ASCII as is, `\\`, `\r`, `\n`, `\t` and `\xNN` for the rest. Incoming bytes are logged a line at a time
/// (partial lines when the session ends). Secret values are replaced by `<redacted>`.
public final class SessionLog {
    private let handle: FileHandle?
    private var buffer: [String] = []
    public let path: String?
    public private(set) var text: [String] = []
    public var keepInMemory = false

    public init(path: String?, header: String) throws(InputError) {
        self.path = path
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw InputError("cannot write the session log", at: .file(path))
            }
            handle = h
        } else {
            handle = nil
        }
        let iso = ISO8601DateFormatter().string(from: Date())
        append("# loraharness session log 1")
        append("# " + header)
        append("# started \(iso)")
    }

    /// The first failed write (a full disk): the log stops there, and the command can say so.
    public private(set) var failure: String?

    func append(_ line: String) {
        if keepInMemory { text.append(line) }
        guard let handle, failure == nil else { return }
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch { failure = "\(error.localizedDescription)" }
    }

    public func record(_ direction: Character, _ bytes: [UInt8], at t: Nanoseconds, redactor: Redactor) {
        let clear = SessionLog.escape(bytes)
        let safe = redactor.redact(clear)
        append(String(format: "%d.%06d %@ %@", t / Time.second, (t % Time.second) / 1000, String(direction), safe))
    }

    public static func escape(_ bytes: [UInt8]) -> String { ByteEscapes.escape(bytes) }

    /// The bytes of an escaped record (the inverse of `escape`); nil when the escapes are malformed.
    public static func unescape(_ text: Substring) -> [UInt8]? { ByteEscapes.unescape(text) }

    public func close() { try? handle?.close() }
}

/// Lines to and from a device over a transport: CR/LF handling, partial lines, timeouts, matching, unsolicited
/// event lines collected while waiting, the session log.
public final class LineSession {
    public let transport: SerialTransport
    public var lineEnding: [UInt8] = [0x0D, 0x0A]
    /// Lines matching these are events: kept in `events` when they arrive while something else is awaited.
    public var eventMatchers: [Matcher] = []
    /// Lines that only a board starting up prints (a boot banner): when one comes, `restartLine` keeps it.
    public var restartMatchers: [Matcher] = []
    /// The first line matching `restartMatchers` since `clearRestart()` (keys redacted).
    public private(set) var restartLine: String?
    public func clearRestart() { restartLine = nil }
    public var redactor = Redactor.keyCommands
    /// Sees every line as it arrives, whatever is being awaited (the flash-test's account of transmissions).
    public var onLine: ((Line) -> Void)?
    public let log: SessionLog?
    public private(set) var events: [Line] = []
    /// The last lines from the device (for a failure's diagnosis).
    public private(set) var recent: [Line] = []
    private var pending: [UInt8] = []
    private var sawCR = false
    private var ready: [Line] = []
    private let start = DispatchTime.now().uptimeNanoseconds

    public init(transport: SerialTransport, log: SessionLog? = nil) {
        self.transport = transport
        self.log = log
    }

    public var now: Nanoseconds { Int64(DispatchTime.now().uptimeNanoseconds - start) }

    public func send(_ line: String) throws(SerialError) {
        let bytes = Array(line.utf8) + lineEnding
        log?.record(">", bytes, at: now, redactor: redactor)
        try transport.write(bytes)
        awaitingEcho = line
    }

    /// The last command sent, until its echo came or another line did: a module with echo on (RUI3's `ATE`) sends
    /// the command line back before its answer, and `AT+VER=?`'s echo must not be taken for the version.
    private var awaitingEcho: String?
    /// How many command echoes came (and were skipped) in this session: the module's echo is on.
    public private(set) var echoes = 0
    public func resetEchoCount() { echoes = 0 }

    public func sendRaw(_ bytes: [UInt8]) throws(SerialError) {
        log?.record(">", bytes, at: now, redactor: redactor)
        try transport.write(bytes)
    }

    /// Splits what came in into lines: CR, LF or CR LF end a line (CR LF counts once); empty lines are dropped.
    /// The log gets each line's raw bytes, terminator included.
    /// The last bytes received (at most 64), raw: what a diagnosis shows when no line came (a wrong baud rate's
    /// garbage has no line ends).
    public private(set) var recentBytes: [UInt8] = []

    private func feed(_ bytes: [UInt8]) {
        recentBytes += bytes.suffix(64)
        if recentBytes.count > 64 { recentBytes.removeFirst(recentBytes.count - 64) }
        for b in bytes {
            if sawCR {
                sawCR = false
                if b == 0x0A { rawLine.append(b); flushRaw(); continue }
                flushRaw()
            }
            rawLine.append(b)
            if b == 0x0D {
                completeLine()
                sawCR = true   // the log waits for a possible LF
            } else if b == 0x0A {
                completeLine()
                flushRaw()
            } else {
                pending.append(b)
            }
        }
    }
    private var rawLine: [UInt8] = []

    private func flushRaw() {
        if !rawLine.isEmpty { log?.record("<", rawLine, at: now, redactor: redactor) }
        rawLine = []
    }

    private func completeLine() {
        defer { pending = [] }
        guard !pending.isEmpty else { return }
        let t = now
        let text = String(decoding: pending, as: UTF8.self)
        ready.append(Line(text: text, at: t))
        onLine?(Line(text: text, at: t))
        recent.append(Line(text: redactor.redact(text), at: t))
        if restartLine == nil, !restartMatchers.isEmpty, restartMatchers.contains(where: { $0.match(text) != nil }) {
            restartLine = redactor.redact(text)
        }
        if recent.count > 20 { recent.removeFirst(recent.count - 20) }
    }

    /// The next line, waiting at most `timeout`; nil on timeout.
    public func readLine(timeout: Nanoseconds) throws(SerialError) -> Line? {
        let deadline = now + timeout
        while ready.isEmpty {
            if Interruption.requested {
                throw SerialError(.interrupted, port: transport.port, transport: transport.transportName, "stopped by \(Interruption.signalName)")
            }
            let left = deadline - now
            if left <= 0 { return nil }
            let bytes = try transport.read(max: 4096, timeout: min(left, 50 * Time.millisecond))
            if !bytes.isEmpty { feed(bytes) }
        }
        return ready.removeFirst()
    }

    /// Waits for a line matching one of `matchers`; event lines that come meanwhile go to `events`, other lines to
    /// the result's `before`. Nil match on timeout.
    public func expect(_ matchers: [Matcher], timeout: Nanoseconds) throws(SerialError) -> (before: [Line], line: Line?, which: Int, captures: [String]) {
        var before: [Line] = []
        let deadline = now + timeout
        while true {
            let left = deadline - now
            guard left > 0, let line = try readLine(timeout: left) else { return (before, nil, -1, []) }
            // The echo comes before the answer (an event line may come first): skipped once, until the answer.
            if let echo = awaitingEcho, line.text == echo {
                awaitingEcho = nil
                echoes += 1
                continue
            }
            for (i, m) in matchers.enumerated() {
                if let caps = m.match(line.text) { awaitingEcho = nil; return (before, line, i, caps) }
            }
            if eventMatchers.contains(where: { $0.match(line.text) != nil }) { events.append(line) } else { before.append(line) }
        }
    }

    /// Takes the events collected so far.
    public func takeEvents() -> [Line] {
        defer { events = [] }
        return events
    }

    /// Discards whatever is waiting (lines and bytes), for `quiet` time.
    public func drainInput(quiet: Nanoseconds) throws(SerialError) {
        while let line = try readLine(timeout: quiet) {
            if eventMatchers.contains(where: { $0.match(line.text) != nil }) { events.append(line) }
        }
    }

    public func close() {
        flushRaw()
        log?.close()
        transport.close()
    }

    /// Closes the port (releasing its lock) and keeps the session log open, for a program that needs the port
    /// for a while (a flasher); a new session on the same log takes over afterwards.
    public func release() {
        flushRaw()
        transport.close()
    }
}
