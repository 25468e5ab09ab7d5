import Foundation
import HarnessCore

/// How to talk to one kind of board over its serial console: line settings, command templates, the patterns of
/// its answers and events, timeouts. Data, in `hardware/profiles/*.yaml`.
public struct DialectProfile: Sendable {
    public enum Dialect: String, Sendable, CaseIterable { case rui3, wioE5 = "wio-e5", rn2483 }

    public var name: String
    public var description: String
    public var source: String
    public var dialect: Dialect
    /// This project's ATC+ test commands answer on the same console (the occupancy firmware).
    public var firmwareConsole: Bool
    public var serial: SerialSettings
    public var lineEnding: [UInt8]
    public var timeouts: [String: Nanoseconds]
    /// Command templates with `{placeholders}`.
    public var commands: [String: String]
    /// Answer and event patterns (regular expressions), by role.
    public var patterns: [String: [String]]
    /// Region names → the dialect's code for them.
    public var regions: [String: String]
    /// How the receive windows keep a stock module busy after its transmission (for timing its transmission).
    public var receiveWindows: ReceiveWindowTiming
    /// Settings `configure` reads back after setting them, each compared with what the plan asked for.
    public var readBack: [ReadBack] = []
    /// A flashing command with `{port}` and `{firmware}`, and its timeout.
    public var flashCommand: String?
    public var flashTimeout: Nanoseconds
    /// Reset by a modem line wired to the board's reset pin (many evaluation boards: DTR or RTS through a
    /// transistor), asserted for `resetPulse`, instead of the reset command.
    public var resetLine: ModemLine? = nil
    public var resetPulse: Nanoseconds = 100 * Time.millisecond
    /// Extra secret patterns (first group kept, the rest redacted) on top of the key commands.
    public var secrets: [String]
    public var file: String

    public func timeout(_ name: String, default d: Nanoseconds) -> Nanoseconds { timeouts[name] ?? d }

    public func matchers(_ role: String) -> [Matcher] { (patterns[role] ?? []).map { .regex($0) } }

    /// A command with its placeholders filled; nil when the profile has no such command.
    public func command(_ name: String, _ values: [String: String] = [:]) -> String? {
        guard var t = commands[name] else { return nil }
        for (k, v) in values { t = t.replacingOccurrences(of: "{\(k)}", with: v) }
        return t
    }

    public var redactor: Redactor { Redactor(patterns: Redactor.keyCommands.patterns + secrets) }

    // MARK: Reading

    /// The bundled profiles' directory: LORAHARNESS_PROFILES when set; else `hardware/profiles` under `root` or the
    /// current directory when it exists; else the package's own, found by walking up from the executable (a build
    /// in `.build/…/loraharness` run from anywhere).
    public static func directory(root: String? = nil) -> String {
        BundledFiles.directory("hardware/profiles", variable: "LORAHARNESS_PROFILES", root: root)
    }

    /// Every profile of a directory that reads (for suggesting one when a board answers in another's dialect).
    public static func loadAll(directory: String? = nil) -> [DialectProfile] {
        let dir = directory ?? DialectProfile.directory()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        return names.compactMap { try? load((dir as NSString).appendingPathComponent($0)) }
    }

    /// A profile by name (a file in the profiles directory) or by path.
    public static func load(_ nameOrPath: String, directory: String? = nil) throws(InputError) -> DialectProfile {
        let path = try BundledFiles.find(nameOrPath, in: directory ?? DialectProfile.directory(), what: "profile")
        return try parse(try DocumentNode.load(path: path), file: path)
    }

    public static func parse(_ doc: DocumentNode, file: String) throws(InputError) -> DialectProfile {
        try doc.allowOnly(["name", "description", "source", "dialect", "firmwareConsole", "serial", "lineEnding", "timeouts", "commands",
                           "patterns", "regions", "receiveWindows", "flash", "secrets", "resetLine", "readBack"])
        let dialectNode = try doc.require("dialect")
        guard let dialect = Dialect(rawValue: try dialectNode.string()) else {
            throw dialectNode.error("dialect is one of " + Dialect.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var serial = SerialSettings()
        if let s = try doc.optional("serial") {
            try s.allowOnly(["baud", "dataBits", "parity", "stopBits", "flowControl"])
            if let v = try s.optional("baud") { serial.baud = try v.int(in: 300...4_000_000) }
            if let v = try s.optional("dataBits") { serial.dataBits = try v.int(in: 5...8) }
            if let v = try s.optional("stopBits") { serial.stopBits = try v.int(in: 1...2) }
            if let v = try s.optional("parity") {
                guard let p = SerialSettings.Parity(rawValue: try v.string()) else { throw v.error("parity is none, odd or even") }
                serial.parity = p
            }
            if let v = try s.optional("flowControl") {
                guard let f = SerialSettings.FlowControl(rawValue: try v.string()) else { throw v.error("flowControl is none, rtscts or xonxoff") }
                serial.flowControl = f
            }
        }
        var ending: [UInt8] = [0x0D, 0x0A]
        if let e = try doc.optional("lineEnding") {
            switch try e.string().lowercased() {
            case "crlf": ending = [0x0D, 0x0A]
            case "lf": ending = [0x0A]
            case "cr": ending = [0x0D]
            default: throw e.error("lineEnding is crlf, lf or cr")
            }
        }
        var timeouts: [String: Nanoseconds] = [:]
        if let t = try doc.optional("timeouts") { for (k, v) in try t.entries() { timeouts[k] = try v.duration() } }
        var commands: [String: String] = [:]
        if let c = try doc.optional("commands") { for (k, v) in try c.entries() { commands[k] = try v.string() } }
        var patterns: [String: [String]] = [:]
        if let p = try doc.optional("patterns") {
            for (k, v) in try p.entries() {
                let list = v.isSequence ? try v.array().map { n throws(InputError) in try n.string() } : [try v.string()]
                for (i, re) in list.enumerated() {
                    if let problem = Matcher.validRegex(re) {
                        throw (v.isSequence ? (try v.array())[i] : v).error(problem)
                    }
                }
                patterns[k] = list
            }
        }
        var regions: [String: String] = [:]
        if let r = try doc.optional("regions") { for (k, v) in try r.entries() { regions[k] = try v.string() } }
        var flash: String?
        var flashTimeout = 2 * Time.minute
        if let f = try doc.optional("flash") {
            try f.allowOnly(["command", "timeout"])
            flash = try f.require("command").string()
            if let t = try f.optional("timeout") { flashTimeout = try t.duration() }
        }
        var secrets: [String] = []
        if let s = try doc.optional("secrets") {
            for n in try s.array() {
                let re = try n.string()
                if let problem = Matcher.validRegex(re) { throw n.error(problem) }
                secrets.append(re)
            }
        }
        var profile = DialectProfile(name: try doc.require("name").string(), description: try doc.optional("description")?.string() ?? "",
                              source: try doc.optional("source")?.string() ?? "", dialect: dialect,
                              firmwareConsole: try doc.optional("firmwareConsole")?.bool() ?? false, serial: serial, lineEnding: ending,
                              timeouts: timeouts, commands: commands, patterns: patterns, regions: regions,
                              receiveWindows: try ReceiveWindowTiming.parse(try doc.optional("receiveWindows")), flashCommand: flash,
                              flashTimeout: flashTimeout, secrets: secrets, file: file)
        if let list = try doc.optional("readBack") {
            for n in try list.array() {
                try n.allowOnly(["setting", "command", "answer", "expect"])
                let answer = try n.require("answer").string()
                if let problem = Matcher.validRegex(answer) { throw try n.require("answer").error(problem) }
                profile.readBack.append(ReadBack(setting: try n.require("setting").string(), command: try n.require("command").string(),
                                                 answer: answer, expect: try n.require("expect").string()))
            }
        }
        // resetLine: {line: dtr, pulse: 100ms}
        if let r = try doc.optional("resetLine") {
            try r.allowOnly(["line", "pulse"])
            let lineNode = try r.require("line")
            guard let line = ModemLine(rawValue: try lineNode.string().lowercased()) else { throw lineNode.error("the reset line is dtr or rts") }
            profile.resetLine = line
            if let p = try r.optional("pulse") { profile.resetPulse = try p.duration() }
        }
        return profile
    }
}

/// When a stock module reports the end of a transmission: after its receive windows. The harness takes them off
/// the time from the send command to that report to get the time on air.
public struct ReceiveWindowTiming: Sendable, Equatable {
    /// RX1 opens this long after the end of the uplink (RECEIVE_DELAY1; the join-accept's RxDelay once joined).
    public var rx1Delay: Nanoseconds = Time.second
    /// RX2 opens this long after the end of the uplink (RECEIVE_DELAY2).
    public var rx2Delay: Nanoseconds = 2 * Time.second
    /// A window with no preamble closes after this many symbols at its data rate, counted from `windowOffset`
    /// after its delay (LoRaMac-node's RegionCommonComputeRxWindowParameters: the window opens a little late or
    /// early around the expected preamble, and the radio takes its wake-up time).
    public var timeoutSymbols = 8
    public var windowOffset: Nanoseconds = 0
    /// RX2's data rate; nil: the region's.
    public var rx2DataRate: Int?
    /// Older profiles: one fixed duration, whatever happened in the windows.
    public var fixed: Nanoseconds?

    public init() {}

    /// `receiveWindows: 2262ms` (fixed) or `{rx1Delay: 1s, rx2Delay: 2s, timeoutSymbols: 8, rx2DataRate: 0}`.
    public static func parse(_ node: DocumentNode?) throws(InputError) -> ReceiveWindowTiming {
        var w = ReceiveWindowTiming()
        guard let node else { w.fixed = 0; return w }
        guard node.isMapping else { w.fixed = try node.duration(); return w }
        try node.allowOnly(["rx1Delay", "rx2Delay", "timeoutSymbols", "windowOffset", "rx2DataRate"])
        if let v = try node.optional("windowOffset") { w.windowOffset = try v.duration() }
        if let v = try node.optional("rx1Delay") { w.rx1Delay = try v.duration() }
        if let v = try node.optional("rx2Delay") { w.rx2Delay = try v.duration() }
        if let v = try node.optional("timeoutSymbols") { w.timeoutSymbols = try v.int(in: 1...1023) }
        if let v = try node.optional("rx2DataRate") { w.rx2DataRate = try v.int(in: 0...15) }
        return w
    }
}

/// One setting `configure` reads back: the query, the answer's pattern (its first group is the value) and the
/// value expected (with `{region}`, `{dr}` filled from the plan).
public struct ReadBack: Sendable, Equatable {
    public var setting: String
    public var command: String
    public var answer: String
    public var expect: String
}
