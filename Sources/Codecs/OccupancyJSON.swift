import Foundation
import HarnessCore

/// The decoded form of PAYLOAD.md section 8, shared by all three implementations.
extension OccupancyMessage {
    public var json: JSONValue {
        var o: [String: JSONValue] = ["type": .string(typeName)]
        func n<T: BinaryInteger>(_ v: T) -> JSONValue { .number(Double(v)) }
        func hex(_ v: UInt32) -> JSONValue { .string(String(format: "%08x", v)) }
        switch self {
        case .bayState(let m):
            o["occupied"] = .bool(m.occupied); o["changes"] = n(m.changes)
            o["history"] = .array(m.history.map {
                .object(["change": n($0.change), "age_s": n($0.ageSeconds), "occupied": .bool($0.occupied), "saturated": .bool($0.saturated)])
            })
        case .gateCounts(let m):
            o["in"] = n(m.countIn); o["out"] = n(m.countOut)
            o["history"] = .array(m.history.map {
                .object(["age_s": n($0.ageSeconds), "in": n($0.countIn), "out": n($0.countOut), "saturated": .bool($0.saturated)])
            })
        case .status(let s):
            o["kind"] = .string(s.kind.rawValue)
            o["battery_mv"] = s.batteryMillivolts.map { n($0) } ?? .null
            o["temperature_c"] = s.temperatureHalfDegrees.map { .number(Double($0) / 2) } ?? .null
            o["uptime_min"] = n(s.uptimeMinutes); o["resets"] = n(s.resets)
            if s.kind == .gate { o["in"] = n(s.countIn); o["out"] = n(s.countOut) }
            else { o["occupied"] = .bool(s.occupied); o["changes"] = n(s.changes) }
        case .boot(let b):
            o["kind"] = .string(b.kind.rawValue); o["firmware"] = .string(b.firmwareText)
            o["reset_cause"] = .string(b.resetCause.rawValue); o["config_hash"] = hex(b.configHash)
        case .configAck(let a):
            o["seq"] = n(a.seq); o["command"] = n(a.command); o["result"] = .string(a.result.rawValue)
            o["config_hash"] = hex(a.configHash)
        case .setReportInterval(let seq, let v): o["seq"] = n(seq); o["interval_s"] = n(v)
        case .setHeartbeat(let seq, let v): o["seq"] = n(seq); o["period_min"] = n(v)
        case .setDebounce(let seq, let d, let h): o["seq"] = n(seq); o["debounce_cs"] = n(d); o["holdoff_s"] = n(h)
        case .setCapacity(let seq, let c): o["seq"] = n(seq); o["capacity"] = n(c)
        case .requestStatus(let seq): o["seq"] = n(seq)
        case .resetCounters(let seq, let c, let i, let out):
            o["seq"] = n(seq); o["changes"] = .bool(c); o["in"] = .bool(i); o["out"] = .bool(out)
        case .setTime(let seq, let t): o["seq"] = n(seq); o["unix_time"] = n(t)
        }
        return .object(o)
    }

    /// Reads an encoder input object (the `message` objects of Fixtures/payload/vectors.json). Errors name the field.
    public init(json v: JSONValue) throws(InputError) {
        guard case .object = v else { throw InputError("a message is a JSON object") }
        guard let type = v["type"]?.stringValue else { throw InputError("missing field 'type'") }
        func int(_ key: String, _ range: ClosedRange<Int64> = 0...Int64(UInt32.max)) throws(InputError) -> Int64 {
            guard let x = v[key] else { throw InputError("missing field '\(key)'") }
            guard let i = x.int(in: range) else { throw InputError("field '\(key)' must be a whole number in \(range.lowerBound)…\(range.upperBound)") }
            return i
        }
        func bool(_ key: String) throws(InputError) -> Bool {
            guard let b = v[key]?.boolValue else { throw InputError("field '\(key)' must be true or false") }
            return b
        }
        func kind() throws(InputError) -> SensorKind {
            guard let s = v["kind"]?.stringValue, let k = SensorKind(rawValue: s) else { throw InputError("field 'kind' must be \"bay\" or \"gate\"") }
            return k
        }
        func hash() throws(InputError) -> UInt32 {
            guard let s = v["config_hash"]?.stringValue, s.count == 8, let h = UInt32(s, radix: 16) else {
                throw InputError("field 'config_hash' must be 8 hex digits")
            }
            return h
        }
        func history() throws(InputError) -> [HistoryEntry] {
            guard let arr = v["history"]?.arrayValue ?? (v["history"] == nil ? [] : nil) else { throw InputError("field 'history' must be a list") }
            var out: [HistoryEntry] = []
            for (i, e) in arr.enumerated() {
                guard let age = e["age_s"]?.int(in: 0...Int64(UInt32.max)) else { throw InputError("history[\(i)].age_s must be a whole number of seconds") }
                let cin = e["in"]?.int(in: 0...Int64(UInt32.max)) ?? 0, cout = e["out"]?.int(in: 0...Int64(UInt32.max)) ?? 0
                out.append(HistoryEntry(ageSeconds: UInt32(age), countIn: UInt32(cin), countOut: UInt32(cout)))
            }
            return out
        }
        let seq = { () throws(InputError) -> UInt8 in UInt8(try int("seq", 0...255)) }
        switch type {
        case "bay_state":
            self = .bayState(BayState(occupied: try bool("occupied"), changes: UInt32(try int("changes")), history: try history()))
        case "gate_counts":
            self = .gateCounts(GateCounts(countIn: UInt32(try int("in")), countOut: UInt32(try int("out")), history: try history()))
        case "status":
            let k = try kind()
            var battery: Int? = nil
            if let b = v["battery_mv"], !b.isNull {
                guard let i = b.int(in: -1_000_000...1_000_000) else { throw InputError("field 'battery_mv' must be a whole number or null") }
                battery = Int(i)
            }
            var half: Int? = nil
            if let t = v["temperature_c"], !t.isNull {
                guard let c = t.numberValue, c.isFinite, abs(c) < 1e6 else { throw InputError("field 'temperature_c' must be a number or null") }
                half = Int((c * 2).rounded(.down))   // floor to the half degree, as PAYLOAD.md 4.3 says
            }
            var s = DeviceStatus(kind: k, batteryMillivolts: battery, temperatureHalfDegrees: half,
                                 uptimeMinutes: UInt64(try int("uptime_min")), resets: UInt64(try int("resets")))
            if k == .gate { s.countIn = UInt32(try int("in")); s.countOut = UInt32(try int("out")) }
            else { s.occupied = try bool("occupied"); s.changes = UInt32(try int("changes")) }
            self = .status(s)
        case "boot":
            guard let fw = v["firmware"]?.stringValue else { throw InputError("field 'firmware' must be \"major.minor.patch\"") }
            let parts = fw.split(separator: ".").compactMap { Int($0) }
            guard parts.count == 3 else { throw InputError("field 'firmware' must be \"major.minor.patch\"") }
            guard let c = v["reset_cause"]?.stringValue, let cause = ResetCause(rawValue: c) else {
                throw InputError("field 'reset_cause' must be one of " + ResetCause.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self = .boot(BootInfo(kind: try kind(), firmware: (parts[0], parts[1], parts[2]), resetCause: cause, configHash: try hash()))
        case "config_ack":
            guard let r = v["result"]?.stringValue, let result = AckResult(rawValue: r) else {
                throw InputError("field 'result' must be one of " + AckResult.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self = .configAck(ConfigAck(seq: try seq(), command: UInt8(try int("command", 0...255)), result: result, configHash: try hash()))
        case "set_report_interval": self = .setReportInterval(seq: try seq(), intervalSeconds: UInt32(try int("interval_s")))
        case "set_heartbeat": self = .setHeartbeat(seq: try seq(), periodMinutes: UInt32(try int("period_min")))
        case "set_debounce": self = .setDebounce(seq: try seq(), debounceCentiseconds: UInt32(try int("debounce_cs")),
                                                 holdoffSeconds: UInt32(try int("holdoff_s")))
        case "set_capacity": self = .setCapacity(seq: try seq(), capacity: UInt32(try int("capacity")))
        case "request_status": self = .requestStatus(seq: try seq())
        case "reset_counters": self = .resetCounters(seq: try seq(), changes: try bool("changes"), countIn: try bool("in"), countOut: try bool("out"))
        case "set_time": self = .setTime(seq: try seq(), unixTime: UInt32(try int("unix_time")))
        default:
            throw InputError("unknown message type '\(type)'; known: " + OccupancyMessage.typeNames.values.sorted().joined(separator: ", "))
        }
    }
}

/// Facts about the decoded form (PAYLOAD.md section 8) that readers of plans and expected files check against.
public enum OccupancyJSON {
    /// Every field an uplink's decoded object can have (bay_state, gate_counts, status, boot, config_ack), as
    /// `OccupancyMessage.json` writes them: a plan's `expect` naming another field would check nothing.
    public static let uplinkFields: Set<String> = [
        "type", "occupied", "changes", "history", "in", "out", "kind", "battery_mv", "temperature_c", "uptime_min", "resets",
        "firmware", "reset_cause", "config_hash", "seq", "command", "result",
    ]
}
