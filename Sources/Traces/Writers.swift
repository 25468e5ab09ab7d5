import Foundation
import HarnessCore
import LoRaWAN

/// Writes text a line at a time (NDJSON, CSV timelines) through `AtomicFile`: the file appears under its name only
/// when `close` commits it whole, so a stopped or failed run never leaves half a file there. The first write error
/// is kept and thrown by `close`.
public final class LineWriter {
    private let file: AtomicFile
    public var path: String { file.path }
    private var failure: InputError?

    public init(path: String) throws(InputError) {
        file = try AtomicFile(path: path)
    }

    public func write(_ line: String) {
        guard failure == nil else { return }
        do throws(InputError) { try file.write(Array((line + "\n").utf8)) } catch { failure = error }
    }

    /// Writes out what is buffered and renames the file into place.
    public func close() throws(InputError) {
        if let failure { file.abandon(); throw failure }
        try file.commit()
    }

    /// Gives up: nothing appears under the name.
    public func abandon() { file.abandon() }
}

public enum TraceJSON {
    /// A normalised record as one NDJSON line.
    public static func line(_ r: TraceRecord, decoded: JSONValue?) -> String {
        var o: [String: JSONValue] = ["format": .string(r.format.rawValue), "source": .string(r.source.description)]
        if let t = r.time { o["time"] = .string(TraceTime.format(t)) }
        if !r.receptions.isEmpty {
            o["gateways"] = .array(r.receptions.map { g in
                var x: [String: JSONValue] = ["gateway": .string(g.gateway)]
                if let v = g.rssi { x["rssi"] = .number(v) }
                if let v = g.snr { x["snr"] = .number(v) }
                return .object(x)
            })
        }
        if let f = r.frequencyHz { o["frequency"] = .number(Double(f)) }
        if let v = r.spreadingFactor { o["sf"] = .number(Double(v)) }
        if let v = r.bandwidthHz { o["bandwidth"] = .number(Double(v)) }
        if let v = r.codingRate { o["coding_rate"] = .string(v) }
        if let v = r.phyPayload { o["phy_payload"] = .string(Hex.encode(v)) }
        if let v = r.devEUI { o["dev_eui"] = .string(v.description) }
        if let v = r.devAddr { o["dev_addr"] = .string(v.description) }
        if let v = r.fport { o["fport"] = .number(Double(v)) }
        if let v = r.fcnt { o["fcnt"] = .number(Double(v)) }
        if let v = r.frmPayload { o["frm_payload"] = .string(Hex.encode(v)) }
        if let v = r.statedAirtime { o["stated_airtime_ns"] = .number(Double(v)) }
        if let d = decoded { o["decoded"] = d }
        return JSONValue.object(o).compact
    }

    /// A line of the expected-output format (`--expected`): DevEUI, FCnt and the decoding.
    public static func expectedLine(_ r: TraceRecord, decoded: JSONValue) -> String? {
        guard let eui = r.devEUI, let fcnt = r.fcnt else { return nil }
        var o: [String: JSONValue] = ["dev_eui": .string(eui.description), "fcnt": .number(Double(fcnt))]
        if case .string(let e)? = decoded["error"] { o["error"] = .string(e) } else { o["decoded"] = decoded }
        return JSONValue.object(o).compact
    }
}

/// Replaces DevEUIs and DevAddrs consistently before a trace is shared: the n-th device seen becomes
/// `FFFFFF00000000nn` / `FE0000nn`, in records and inside PHYPayloads (a join-request's DevEUI, a data frame's
/// DevAddr). MICs are left as they were: they no longer verify.
public final class Anonymiser {
    private var euis: [EUI64: EUI64] = [:]
    private var addrs: [DevAddr: DevAddr] = [:]

    public init() {}

    public func eui(_ e: EUI64) -> EUI64 {
        if let m = euis[e] { return m }
        let m = EUI64(0xFFFF_FF00_0000_0000 | UInt64(euis.count + 1))
        euis[e] = m
        return m
    }

    public func addr(_ a: DevAddr) -> DevAddr {
        if let m = addrs[a] { return m }
        let m = DevAddr(0xFE00_0000 | UInt32(addrs.count + 1))
        addrs[a] = m
        return m
    }

    public func apply(_ input: TraceRecord) -> TraceRecord {
        var r = input
        r.devEUI = r.devEUI.map(eui)
        r.devAddr = r.devAddr.map(addr)
        if var p = r.phyPayload, let first = p.first {
            let mtype = first >> 5
            if mtype == 0 && p.count >= 23 {
                // join-request: JoinEUI (1…8), DevEUI (9…16), little-endian
                let old = EUI64(p[9...16].reversed().reduce(0) { $0 << 8 | UInt64($1) })
                let new = eui(old)
                for k in 0..<8 { p[9 + k] = UInt8(truncatingIfNeeded: new.value >> (8 * UInt64(k))) }
            } else if (2...5).contains(mtype) && p.count >= 12 {
                let old = DevAddr(p[1...4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
                let new = addr(old)
                for k in 0..<4 { p[1 + k] = UInt8(truncatingIfNeeded: new.value >> (8 * UInt32(k))) }
            }
            r.phyPayload = p
        }
        return r
    }

    /// Text with every DevEUI and DevAddr seen so far replaced (upper- and lower-case hex), for reports and
    /// problem lines. Longer identifiers first, so that no DevAddr inside a DevEUI is replaced on its own.
    public func scrub(_ text: String) -> String {
        var out = text
        for (old, new) in euis {
            out = out.replacingOccurrences(of: old.description, with: new.description)
                .replacingOccurrences(of: old.description.lowercased(), with: new.description)
        }
        for (old, new) in addrs {
            out = out.replacingOccurrences(of: old.description, with: new.description)
                .replacingOccurrences(of: old.description.lowercased(), with: new.description)
        }
        return out
    }

    /// The report as it may be shared: devices and problems with the replacements.
    public func apply(_ report: TraceReport) -> TraceReport {
        var r = report
        // Devices whose every record was rejected were never written: give them their replacements now.
        for d in r.devices {
            if let e = d.devEUI, let x = try? EUI64(hex: e) { _ = eui(x) }
            if let a = d.devAddr, let x = try? DevAddr(hex: a) { _ = addr(x) }
        }
        r.devices = r.devices.map { d in
            var d = d
            d.device = scrub(d.device)
            d.devEUI = d.devEUI.map(scrub)
            d.devAddr = d.devAddr.map(scrub)
            return d
        }
        r.problems = r.problems.map(scrub)
        r.firstRejection = r.firstRejection.map(scrub)
        return r
    }

    /// The charts' series as they may be shared: device names, rejection lines and differences with the replacements.
    public func apply(_ series: ReplaySeries) -> ReplaySeries { series.renamed(scrub) }
}
