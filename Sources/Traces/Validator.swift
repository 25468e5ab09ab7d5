import Codecs
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink

/// A sensor's place, for the occupancy timeline: from a CSV `dev_eui,site,kind,slot`.
public struct SensorPlace: Sendable, Equatable {
    public var site: String
    public var kind: SensorKind
    public var slot: Int

    public static func load(path: String) throws(InputError) -> [EUI64: SensorPlace] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the sites file", at: .file(path)) }
        var out: [EUI64: SensorPlace] = [:]
        for (i, raw) in String(decoding: data, as: UTF8.self).textLines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || (i == 0 && line.lowercased().hasPrefix("dev_eui")) { continue }
            // Fields may be quoted, as spreadsheets write them ("rc-01"); no field holds a comma.
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
                let t = field.trimmingCharacters(in: .whitespaces)
                return t.count >= 2 && t.hasPrefix("\"") && t.hasSuffix("\"") ? String(t.dropFirst().dropLast()) : t
            }
            let at = InputLocation.line(file: path, line: i + 1)
            guard f.count == 4 else { throw InputError("a sites row is dev_eui,site,kind,slot", at: at) }
            guard let eui = try? EUI64(hex: f[0]) else { throw InputError("'\(f[0])' is not a DevEUI", at: at) }
            guard let kind = SensorKind(rawValue: f[2].lowercased()) else { throw InputError("kind is bay or gate", at: at) }
            guard let slot = Int(f[3]), slot >= 0 else { throw InputError("slot is a bay or gate number from 0", at: at) }
            guard !f[1].isEmpty else { throw InputError("the site is missing", at: at) }
            if let first = out[eui] { throw InputError("\(eui) is already at \(first.site) (\(first.kind.rawValue) \(first.slot))", at: at) }
            out[eui] = SensorPlace(site: f[1], kind: kind, slot: slot)
        }
        guard !out.isEmpty else { throw InputError("no sensors in the sites file (rows dev_eui,site,kind,slot)", at: .file(path)) }
        return out
    }
}

public struct ValidationOptions: Sendable {
    public var keys: KeyStore?
    public enum Codec: String, Sendable, CaseIterable { case auto, occupancy, cayenne, none }
    public var codec: Codec = .auto
    public var region: RegionParameters = RegionID.eu868.parameters
    /// Copies of one PHYPayload from several gateways within this window are one uplink.
    public var dedupWindow: Nanoseconds = 2 * Time.second
    public var places: [EUI64: SensorPlace] = [:]
    /// Expected decodings: (DevEUI, FCnt) → (decoded JSON or error code, line in the expected file).
    public var expected: [String: (value: JSONValue, line: Int)] = [:]
    public var expectedFile: String?
    /// The Things Network's fair-use policy: 30 s of uplink airtime per device and day.
    public var fairUsePerDay: Nanoseconds = 30 * Time.second
    public init() {}

    /// Reads an expected-output file: NDJSON lines `{"dev_eui": "…", "fcnt": N, "decoded": {…}}` (or `"error": "code"`).
    public mutating func loadExpected(path: String) throws(InputError) {
        let lines = try LineInput(path: path)
        expectedFile = path
        while let raw = try lines.next() {
            if raw.allSatisfy({ $0 == 0x20 }) { continue }
            let at = InputLocation.line(file: path, line: lines.lineNumber)
            let v: JSONValue
            do { v = try JSONParser.parse(Array(raw)) } catch { throw InputError("not valid JSON: \(error.message)", at: at) }
            let device: String
            if case .string(let e)? = v["dev_eui"], let eui = try? EUI64(hex: e) { device = eui.description }
            else if case .string(let a)? = v["dev_addr"], let addr = try? DevAddr(hex: a) { device = "addr:" + addr.description }
            else { throw InputError("an expected line needs dev_eui (or dev_addr) and fcnt", at: at) }
            guard case .number(let f)? = v["fcnt"], f >= 0, f <= Double(UInt32.max), f == f.rounded() else {
                throw InputError("an expected line needs fcnt, a whole number from 0 to 4294967295", at: at)
            }
            let value: JSONValue = v["decoded"] ?? (v["error"].map { .object(["error": $0]) } ?? .null)
            let key = "\(device)/\(Int64(f))"
            if let first = expected[key] { throw InputError("\(device) FCnt \(Int64(f)) is already expected at line \(first.line)", at: at) }
            expected[key] = (value, lines.lineNumber)
        }
    }
}

/// Per-device findings.
public struct DeviceFindings: Sendable, Codable, Equatable {
    public var device: String
    public var devEUI: String?
    public var devAddr: String?
    public var uplinks = 0
    public var gatewayCopies = 0
    public var repeats = 0
    public var joinRequests = 0
    public var devNonceReused = 0
    public var lost = 0
    public var resets = 0
    public var replays = 0
    public var wraps = 0
    public var downlinks = 0
    public var downlinksLost = 0
    public var joinAccepts = 0
    public var micValid = 0
    public var micInvalid = 0
    public var unverified = 0
    public var airtime: Nanoseconds = 0
    public var airtimeMismatches = 0
    public var maxHourShare = 0.0
    public var dutyCycleViolations = 0
    public var maxDayAirtime: Nanoseconds = 0
    public var fairUseDaysOver = 0
    public var decoded = 0
    public var decodeErrors = 0
    public var firstTime: String?
    public var lastTime: String?
}

public struct TraceReport: Sendable, Codable {
    public static let formatName = "loraharness-trace-report/1"
    public var format = TraceReport.formatName
    public var files: [String]
    public var read = 0
    /// Lines that are not records (a packet forwarder's own messages).
    public var skippedLines = 0
    public var accepted = 0
    public var rejected = 0
    public var rejectedByReason: [String: Int] = [:]
    /// Accepted records by what they are.
    public var uplinks = 0
    public var gatewayCopies = 0
    public var repeats = 0
    public var joinRequests = 0
    public var joinAccepts = 0
    /// Join-accepts matched to a captured join-request: their OTAA session keys derived, the device's frames checked with them.
    public var sessionsDerived = 0
    public var rejoinRequests = 0
    public var downlinks = 0
    public var downlinkRepeats = 0
    /// FCntDown gaps (downlinks sent through gateways the capture does not cover, or lost).
    public var downlinksLost = 0
    public var proprietary = 0
    public var beacons = 0
    /// Network-server events that are not uplinks (`join_accept`, `downlink_ack`, ChirpStack `txack`, …), by kind.
    public var events: [String: Int] = [:]
    /// Frames received without a payload CRC (the radio could not check them; the MIC still does with keys).
    public var withoutCRC = 0
    public var micValid = 0
    public var micInvalid = 0
    public var unverified = 0
    /// Devices the keys file has no keys for (only counted when a keys file is given).
    public var unknownDevices = 0
    public var lost = 0
    public var resets = 0
    public var replays = 0
    /// 16-bit counters that wrapped past 65,535 (the session's 32-bit counter went on).
    public var wraps = 0
    public var airtimeChecked = 0
    public var airtimeMismatches = 0
    public var dutyCycleViolations = 0
    public var fairUseDaysOver = 0
    public var decoded = 0
    public var decodeErrors: [String: Int] = [:]
    public var clockJumps = 0
    public var expectedMatched = 0
    public var expectedMismatched = 0
    public var expectedMissing = 0
    public var unexpected = 0
    /// Entries in the expected file (nil without one): an expected file without entries checks nothing and fails.
    public var expectedEntries: Int?
    /// The first problems, with where they are (keys never appear).
    public var problems: [String] = []
    /// The first rejection with its place (the problems list also holds notices).
    public var firstRejection: String?
    public var devices: [DeviceFindings] = []
    public var passed = true
    /// The signal (SIGINT, SIGTERM) that stopped the run: the report covers what was read until then.
    public var interrupted: String?

    public var text: String {
        var out: [String] = []
        out.append("trace \(files.joined(separator: ", ")): \(read) records read = \(accepted) accepted + \(rejected) rejected"
                   + (skippedLines > 0 ? " (\(skippedLines) log lines without a record skipped)" : ""))
        if let interrupted { out.append("  PARTIAL     stopped by \(interrupted): this report covers what was read until then") }
        if !rejectedByReason.isEmpty {
            out.append("  rejected    " + rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("  accepted    \(uplinks) uplinks (+\(gatewayCopies) gateway copies merged, \(repeats) repeats), \(joinRequests) join-requests, \(joinAccepts) join-accepts, \(downlinks) downlinks"
                   + (rejoinRequests > 0 ? ", \(rejoinRequests) rejoin-requests" : "") + (proprietary > 0 ? ", \(proprietary) proprietary" : "")
                   + (beacons > 0 ? ", \(beacons) beacons" : ""))
        if !events.isEmpty {
            out.append("  events      " + events.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("  MIC         \(micValid) valid, \(micInvalid) invalid, \(unverified) unverified (no keys for the device, or a network-server export)"
                   + (unknownDevices > 0 ? "; \(unknownDevices) devices not in the keys file" : ""))
        out.append("  counters    \(lost) uplinks lost (FCnt gaps), \(resets) counter resets, \(replays) replays"
                   + (wraps > 0 ? ", \(wraps) 16-bit wraps" : "")
                   + (downlinks > 0 ? "; downlinks: \(downlinksLost) missing (FCntDown gaps), \(downlinkRepeats) repeats" : "")
                   + (sessionsDerived > 0 ? "; \(sessionsDerived) OTAA sessions derived from captured joins" : ""))
        out.append("  airtime     \(airtimeChecked) stated airtimes checked, \(airtimeMismatches) differ from the radio-link model by more than 1 ms")
        out.append("  duty cycle  \(dutyCycleViolations) transmissions over the sub-band limit in a sliding hour; \(fairUseDaysOver) device-days over the 30 s fair-use budget")
        out.append("  payloads    \(decoded) decoded" + (decodeErrors.isEmpty ? "" : ", errors: " + decodeErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        if let n = expectedEntries, n == 0 {
            out.append("  expected    the expected file holds no entries: nothing was compared")
        } else if expectedEntries != nil || expectedMatched + expectedMismatched + expectedMissing + unexpected > 0 {
            out.append("  expected    \(expectedMatched) match, \(expectedMismatched) differ, \(expectedMissing) missing from the trace, \(unexpected) not in the expected file")
        }
        if clockJumps > 0 { out.append("  clock       \(clockJumps) jumps (time going back, or forward by more than a day)") }
        if !devices.isEmpty {
            var t = TextTable(["device", "uplinks", "lost", "resets", "replays", "MIC ok", "MIC bad", "airtime", "max hour", "DC viol.", "decoded"],
                              alignments: [.left] + Array(repeating: .right, count: 10))
            for d in devices.prefix(30) {
                t.add([d.device, String(d.uplinks), String(d.lost), String(d.resets), String(d.replays), String(d.micValid), String(d.micInvalid),
                       DurationFormat.human(d.airtime), String(format: "%.3f %%", d.maxHourShare * 100), String(d.dutyCycleViolations), String(d.decoded)])
            }
            out.append("")
            out.append(t.render(indent: "  ").trimmingCharacters(in: .newlines))
            if devices.count > 30 { out.append("  … and \(devices.count - 30) more devices (--json for all)") }
        }
        if !problems.isEmpty {
            out.append("")
            out.append("problems (first \(problems.count)):")
            out += problems.map { "  " + $0 }
        }
        return out.joined(separator: "\n")
    }
}

/// The validation pipeline: every check that applies to each record, per device, in one pass.
public final class TraceValidator {
    public let options: ValidationOptions
    public private(set) var report: TraceReport
    /// Each accepted record as it leaves the pipeline (decrypted payload filled in when keys allowed it).
    public var onRecord: ((TraceRecord, JSONValue?) -> Void)?
    /// Occupancy timeline rows: (time, site, bays occupied, in, out).
    public var onTimeline: ((Nanoseconds, String, Int, Int, Int) -> Void)?
    /// The series the HTML report draws.
    public let series = ReplaySeries()

    /// A device's identity in the per-device tables: its DevEUI when known, else its DevAddr. Hashed as integers;
    /// the text form is made once per device.
    private enum DeviceID: Hashable {
        case eui(EUI64)
        case addr(DevAddr)
        var text: String {
            switch self {
            case .eui(let e): return e.description
            case .addr(let a): return "addr:" + a.description
            }
        }
    }

    /// A class: the per-device state is updated in place (no copy of its hour of airtime per record).
    private final class Device {
        var f: DeviceFindings
        init(_ f: DeviceFindings) { self.f = f }
        var lastFcnt: UInt32?
        /// The last uplink's content: its PHYPayload (gateway captures) or FRMPayload (network-server exports).
        var lastContent: [UInt8]?
        var lastFcntDown: UInt32?
        var lastDownContent: [UInt8]?
        /// The MICs of the session's last uplinks: a lower counter whose frame was seen before is a replay, whatever
        /// the restart rule would say.
        var recentMICs: [UInt32] = []
        var devAddr: DevAddr?
        var nonces = Set<UInt16>()
        var audit = SlidingHourAudit()
        var day: Int64 = .min
        var dayAirtime: Nanoseconds = 0
        var lastTime: Nanoseconds?
        var firstT: Nanoseconds?
        var lastT: Nanoseconds?
        /// The session keys last used, with the DevAddr they belong to (key expansion once per session, not per frame).
        var keysAddr: DevAddr?
        var sessionKeys: SessionKeys?
        /// A LoRaWAN 1.1 session's keys (then `sessionKeys` is nil), from the keys file or a captured 1.1 join.
        var sessionKeys11: LoRaWAN11Keys?
        /// 1.1: the network downlink counter (NFCntDown, FPort 0 or none) apart from the application one (AFCntDown,
        /// kept in `lastFcntDown`); and the counters a confirmed frame's ACK refers to (ConfFCnt).
        var lastNFcntDown: UInt32?
        var lastConfirmedUp: UInt32?
        var lastConfirmedDown: UInt32?
        var reportedUnknown = false
    }
    /// A join-request seen, waiting for its join-accept (to derive the session).
    private struct PendingJoin {
        var devEUI: EUI64
        var joinEUI: EUI64
        var devNonce: UInt16
        var time: Nanoseconds?
        var appKey: CryptoKey?
    }
    private var pendingJoins: [PendingJoin] = []
    /// OTAA sessions derived from a captured join-request and join-accept: DevAddr → device and the session keys of
    /// each join-request the accept may answer (a 1.0.x join-accept's MIC does not cover the DevNonce), newest first;
    /// the first frame that verifies with one of them settles which.
    private var derived: [DevAddr: (devEUI: EUI64, keys: [SessionKeys])] = [:]
    /// LoRaWAN 1.1 sessions derived from a captured join (its join-accept's MIC covers the DevNonce: no ambiguity).
    private var derived11: [DevAddr: (devEUI: EUI64, keys: LoRaWAN11Keys)] = [:]
    /// The OTAA sessions derived from captured joins so far, as a keys file's `sessions:` rows (for `keys derive`):
    /// a session whose join-request is still ambiguous (no frame has verified with it) gives its newest candidate
    /// and `settled` false.
    public var derivedSessions: [(session: KeyStore.Session, settled: Bool)] {
        let ten: [(DevAddr, (session: KeyStore.Session, settled: Bool))] = derived.compactMap { addr, d in
            guard let k = d.keys.first else { return nil }
            return (addr, (KeyStore.Session(devAddr: addr, nwkSKey: k.nwkSKey.key, appSKey: k.appSKey.key, devEUI: d.devEUI), d.keys.count == 1))
        }
        // LoRaWAN 1.1 joins: the OptNeg join-accept's MIC covers the DevNonce, so they are always settled.
        let eleven: [(DevAddr, (session: KeyStore.Session, settled: Bool))] = derived11.map { addr, d in
            (addr, (KeyStore.Session(devAddr: addr, fNwkSIntKey: d.keys.fNwkSIntKey.key, sNwkSIntKey: d.keys.sNwkSIntKey.key,
                                     nwkSEncKey: d.keys.nwkSEncKey.key, appSKey: d.keys.appSKey.key, devEUI: d.devEUI), true))
        }
        return (ten + eleven).sorted { $0.0.value < $1.0.value }.map(\.1)
    }

    /// Reads a capture through the validation with the given root keys and returns the sessions its joins give
    /// (`keys derive --from`).
    public static func sessions(derivedFrom path: String, format: TraceFormatChoice = .auto, keys: KeyStore) throws(InputError)
        -> [(session: KeyStore.Session, settled: Bool)] {
        var options = ValidationOptions()
        options.keys = keys
        let validator = TraceValidator(options: options, files: [path])
        let reader = try TraceReaders.open(path: path, choice: format)
        while let item = try reader.next() { validator.consume(item) }
        return validator.derivedSessions
    }

    /// How far back a join-accept looks for the join-requests it may answer: the join-accept delays are 5 and 6 s,
    /// but capture hosts' clocks are not the radio's (published sniffer captures show seconds of drift).
    static let joinMatchWindow: Nanoseconds = 60 * Time.second
    /// Every AppKey held, made ready once (for join-accepts without a captured join-request).
    private lazy var allAppKeys: [(EUI64?, CryptoKey)] = {
        guard let k = options.keys else { return [] }
        var out: [(EUI64?, CryptoKey)] = k.devices.values.sorted { $0.devEUI.value < $1.devEUI.value }.map { ($0.devEUI, CryptoKey($0.appKey)) }
        if let any = k.anyDeviceAppKey { out.append((nil, CryptoKey(any))) }
        return out
    }()
    private var devices: [DeviceID: Device] = [:]
    private var order: [Device] = []
    /// Recent PHYPayloads for spotting one uplink heard by several gateways: a ring of the last `recentLimit`
    /// accepted frames, each with a 64-bit digest (scanned first), its bytes, time and gateway. The newest copy of a
    /// frame is found first.
    private var recentDigests = [UInt64](repeating: 0, count: TraceValidator.recentLimit)
    private var recentFrames = [(bytes: [UInt8], time: Nanoseconds?, gateway: String?)](repeating: ([], nil, nil), count: TraceValidator.recentLimit)
    private var recentCount = 0
    private var recentHead = 0
    /// A 16-byte block for the MIC and keystream of each frame (allocated once).
    private var scratch = [UInt8](repeating: 0, count: 16)
    /// Digest → the ring slot of the newest frame with it: an open-addressed table of ring slots (−1 empty), eight
    /// times the ring's size, probed linearly; an entry whose ring slot no longer holds its digest is stale and free.
    private var recentIndex = [Int32](repeating: -1, count: 8 * TraceValidator.recentLimit)

    @inline(__always)
    private func bucket(_ d: UInt64) -> Int { Int(truncatingIfNeeded: d ^ (d >> 29) ^ (d >> 47)) & (recentIndex.count - 1) }

    /// The ring slot holding digest `d`, if any (an entry counts when its slot holds `d` now).
    @inline(__always)
    private func indexLookup(_ d: UInt64) -> Int? {
        var b = bucket(d)
        for _ in 0..<16 {
            let e = Int(recentIndex[b])
            if e < 0 { return nil }
            if e < recentCount && recentDigests[e] == d { return e }
            b = (b + 1) & (recentIndex.count - 1)
        }
        return nil
    }

    /// Points `d` at `slot` (whose digest was just set to `d`): in the first free bucket of its run, or over an
    /// older entry for the same digest, so that the newest copy is found.
    private func indexInsert(_ d: UInt64, slot: Int) {
        var b = bucket(d)
        for _ in 0..<16 {
            let e = Int(recentIndex[b])
            if e < 0 || recentDigests[e] == d { recentIndex[b] = Int32(slot); return }
            b = (b + 1) & (recentIndex.count - 1)
        }
        // The run is crowded with stale entries: the table is made again from the ring, oldest to newest.
        for i in recentIndex.indices { recentIndex[i] = -1 }
        for k in 1...recentCount {
            let i = (slot + k) % TraceValidator.recentLimit
            guard i < recentCount else { continue }
            var c = bucket(recentDigests[i])
            while recentIndex[c] >= 0 && recentDigests[Int(recentIndex[c])] != recentDigests[i] { c = (c + 1) & (recentIndex.count - 1) }
            recentIndex[c] = Int32(i)
        }
    }
    /// The gateway of the record being checked (a copy comes from another one; "capture", LoRaTap v0's, is unknown).
    private var currentGateway: String?
    private static let recentLimit = 256
    /// The last coding-rate text and its parsed value (captures repeat the same few).
    private var lastCodingRate: (text: String, value: CodingRate)?
    private var lastTime: Nanoseconds?
    private var seenExpected = Set<String>()
    private var siteState: [String: (bays: [Int: Bool], gates: [Int: (Int, Int)])] = [:]
    private let bandOf: (Int64) -> Int?
    private let bandLimit: [Double]
    private static let maxProblems = 50

    public init(options: ValidationOptions, files: [String]) {
        self.options = options
        report = TraceReport(files: files)
        let bands = options.region.subBands
        bandOf = { f in bands.firstIndex { $0.contains(f) } }
        bandLimit = bands.map { $0.dutyCycleDenominator <= 1 ? 1 : 1 / Double($0.dutyCycleDenominator) }
    }

    /// Every problem as it is found, beyond the report's first 50 (`replay --verbose`).
    public var onProblem: ((String) -> Void)?

    /// The text is only made while the report still has room for it, or someone listens.
    private func problem(_ text: @autoclosure () -> String, at: InputLocation) {
        guard report.problems.count < TraceValidator.maxProblems || onProblem != nil else { return }
        let line = "\(text()) (\(at))"
        if report.problems.count < TraceValidator.maxProblems { report.problems.append(line) }
        onProblem?(line)
    }

    private func reject(_ reason: RejectReason, _ detail: @autoclosure () -> String, at: InputLocation) {
        report.rejected += 1
        report.rejectedByReason[reason.rawValue, default: 0] += 1
        let text = detail()
        if report.firstRejection == nil { report.firstRejection = "\(reason.rawValue): \(text) (\(at))" }
        series.rejection(reason.rawValue, "\(text) (\(at))")
        problem("\(reason.rawValue): \(text)", at: at)
    }

    public func consume(_ item: consuming TraceItem) {
        if case .skipped = item { report.skippedLines += 1; return }
        report.read += 1
        // The record is moved out of the item, not copied.
        switch consume item {
        case .skipped:
            break
        case .rejected(let reason, let detail, let at):
            reject(reason, detail, at: at)
        case .record(var r):
            check(&r)
        }
    }

    private func device(_ id: DeviceID) -> Device {
        if let d = devices[id] { return d }
        let d = Device(DeviceFindings(device: id.text))
        order.append(d)
        devices[id] = d
        return d
    }

    /// A frame's digest for the ring: its length and last 8 bytes (the MIC and what precedes it).
    @inline(__always)
    private static func digest(_ bytes: [UInt8]) -> UInt64 {
        var d = UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
        for b in bytes.suffix(8) { d = d << 8 | UInt64(b) }
        return d
    }

    /// True when the same PHYPayload was accepted within the dedup window: another gateway's copy.
    private func isGatewayCopy(_ bytes: [UInt8], at time: Nanoseconds?) -> Bool {
        // The newest frame with the same digest, then the frame itself.
        if let i = indexLookup(TraceValidator.digest(bytes)), recentFrames[i].bytes == bytes {
            let seen = recentFrames[i]
            // Within the window (a repeat, NbTrans, comes after the receive windows: later). Without times, only
            // another gateway's reception is a copy: the same gateway logging the frame again sent or heard it again.
            switch (time, seen.time) {
            case (let t?, let u?): return abs(t.subtractingReportingOverflow(u).partialValue) <= options.dedupWindow
            default:
                guard let g = currentGateway, let h = seen.gateway else { return false }
                return g != h
            }
        }
        return false
    }

    /// Remembers an accepted frame, so that other gateways' copies of it are merged (a rejected one is not: each of
    /// its copies is checked on its own).
    private func remember(_ bytes: [UInt8], at time: Nanoseconds?) {
        let d = TraceValidator.digest(bytes)
        // The oldest frame leaves the ring: its index entry turns stale when its slot takes the new digest.
        recentDigests[recentHead] = d
        recentFrames[recentHead] = (bytes, time, currentGateway)
        recentCount = max(recentCount, recentHead + 1)
        indexInsert(d, slot: recentHead)
        recentHead = (recentHead + 1) % TraceValidator.recentLimit
    }

    private func check(_ r: inout TraceRecord) {
        currentGateway = r.receptions.first?.gateway
        // Clock: time going back (beyond a second) or jumping forward by more than a day (compared without overflow
        // near the ends of the Int64-nanosecond range).
        if let t = r.time {
            let step = lastTime.map { t.subtractingReportingOverflow($0) }
            if let last = lastTime, let step, step.overflow || step.partialValue < -Time.second || step.partialValue > Time.day {
                report.clockJumps += 1
                problem("clock jump from \(TraceTime.format(last)) to \(TraceTime.format(t))", at: r.source)
            }
            lastTime = t
        }
        if r.crc == .bad {
            reject(.crcFailed, "the radio received it with a failed payload CRC", at: r.source)
            return
        }
        if let kind = r.event {
            event(kind, r)
            return
        }
        if let phy = r.phyPayload {
            if r.crc == CRCStatus.none && r.uplink { report.withoutCRC += 1 }
            // The same PHYPayload from another gateway shortly after: one uplink heard twice.
            if isGatewayCopy(phy, at: r.time) {
                report.accepted += 1
                report.gatewayCopies += 1
                if let frame = try? FrameDecoder.decode(phy, lorawan11: true), let id = deviceID(frame) { device(id).f.gatewayCopies += 1 }
                return
            }
            if options.region.couldBeBeacon(frequencyHz: r.frequencyHz, spreadingFactor: r.spreadingFactor, bandwidthHz: r.bandwidthHz, size: phy.count),
               let layout = options.region.beacon, let beacon = Beacon.decode(phy, layout: layout) {
                if beacon.valid {
                    report.beacons += 1
                    report.accepted += 1
                    remember(phy, at: r.time)
                    onRecord?(r, nil)
                    return
                }
                // Not a beacon after all unless its first bytes are the beacon's zero RFU (MHDR 0 would be a 23-byte join-request).
                if phy.prefix(max(1, layout.rfu1)).allSatisfy({ $0 == 0 }) {
                    reject(.badBeacon, "a Class B beacon (\(phy.count) bytes at \(FrequencyFormat.megahertz(r.frequencyHz ?? 0))) whose "
                           + (beacon.firstCRCValid ? "second" : "first") + " CRC fails", at: r.source)
                    return
                }
            }
            switch checkPhy(&r) {
            case .done:
                return
            case .repeated(let d):
                repeated(d, r)
            case .accepted(let d):
                report.accepted += 1
                let decoded = decode(r, device: d)   // not inside onRecord?(…): that would skip it without a listener
                onRecord?(r, decoded)
            }
        } else {
            guard r.frmPayload != nil || r.fport != nil else { reject(.badFrame, "neither a PHYPayload nor an application payload", at: r.source); return }
            switch checkCounter(&r, device: nil, decided: nil) {
            case .done:
                return
            case .repeated(let d):
                report.unverified += 1
                repeated(d, r)
            case .accepted(let d):
                report.unverified += 1
                report.accepted += 1
                let decoded = decode(r, device: d)
                onRecord?(r, decoded)
            }
        }
    }

    /// A repeat (the same frame sent again, NbTrans): accepted, written, its airtime counted; decoded once only.
    private func repeated(_ d: Device, _ r: TraceRecord) {
        report.accepted += 1
        account(d, r)
        onRecord?(r, nil)
    }

    /// A network server's event that is not an uplink: counted by kind; a join ends the device's session.
    private func event(_ kind: String, _ r: TraceRecord) {
        report.events[kind, default: 0] += 1
        report.accepted += 1
        if kind == "join_accept" || kind == "join", let id = r.devEUI.map({ DeviceID.eui($0) }) ?? r.devAddr.map({ DeviceID.addr($0) }) {
            let d = device(id)
            if d.f.devEUI == nil, let e = r.devEUI { d.f.devEUI = e.description }
            d.lastFcnt = nil
            d.lastFcntDown = nil
            d.f.joinAccepts += 1
        }
        onRecord?(r, nil)
    }

    private enum Outcome {
        /// Accounted for (rejected, or a frame that is not an application uplink).
        case done
        case repeated(Device)
        case accepted(Device)
    }

    /// A frame from a gateway or pcap: decode, MIC and decryption with the keys, counters.
    private func checkPhy(_ r: inout TraceRecord) -> Outcome {
        guard let phy = r.phyPayload else { return .done }
        let frame: PHYPayload
        do { frame = try FrameDecoder.decode(phy, lorawan11: true) } catch {
            reject(.badFrame, "\(error)", at: r.source)
            return .done
        }
        switch frame {
        case .joinRequest(let jr):
            joinRequest(jr, &r, phy)
            return .done
        case .joinAccept:
            joinAccept(phy, &r)
            return .done
        case .rejoinRequest:
            rejoinRequest(phy, &r)
            return .done
        case .proprietary:
            report.proprietary += 1
            report.accepted += 1
            remember(phy, at: r.time)
            onRecord?(r, nil)
            return .done
        case .data(let f):
            r.devAddr = f.devAddr
            r.fport = f.fport
            if f.direction == .downlink {
                downlink(f, &r, phy)
                return .done
            }
            // The DevEUI when the keys file (or a captured join) ties it to the DevAddr, else the DevAddr.
            let (d, knownEUI) = deviceOf(f.devAddr)
            r.devEUI = knownEUI ?? r.devEUI
            if d.f.devAddr == nil || d.devAddr != f.devAddr { d.f.devAddr = f.devAddr.description }
            let last = d.devAddr == f.devAddr ? d.lastFcnt : nil
            loadKeys(d, f.devAddr)
            var chosen = FCnt.likeliest(f.fcnt, last: last)
            if let keys11 = d.sessionKeys11 {
                let candidates = FCnt.candidates(f.fcnt, last: last)
                let conf = f.fctrl.ack ? UInt16(truncatingIfNeeded: d.lastConfirmedDown ?? 0) : 0
                guard let (c, opened) = verify11Uplink(phy, f, r, candidates, keys11, confFCnt: conf) else {
                    d.f.micInvalid += 1
                    report.micInvalid += 1
                    reject(.micMismatch, "LoRaWAN 1.1 uplink of \(f.devAddr) FCnt \(candidates[0].value): MIC does not verify with its session keys"
                           + TraceValidator.alsoTried(candidates), at: r.source)
                    return .done
                }
                chosen = c
                d.f.micValid += 1
                report.micValid += 1
                r.frmPayload = opened.payload
                if f.mtype == .confirmedDataUp { d.lastConfirmedUp = c.value }
            } else if let keys = d.sessionKeys {
                // The likeliest counter first; the other candidates only when its MIC fails.
                let settled = derived.isEmpty || (derived[f.devAddr].map { $0.keys.count == 1 } ?? true)
                let firstTry: (FCntCandidate, [UInt8])? = settled && DataFrameCodec.micVerifies(phy, frame: f, fcnt: chosen.value, key: keys.nwkSKey, scratch: &scratch)
                    ? (chosen, DataFrameCodec.decryptPayload(f, fcnt: chosen.value, keys: keys, scratch: &scratch)) : nil
                guard let (c, payload) = firstTry ?? verify(phy, f, FCnt.candidates(f.fcnt, last: last), keys) else {
                    let candidates = FCnt.candidates(f.fcnt, last: last)
                    d.f.micInvalid += 1
                    report.micInvalid += 1
                    reject(.micMismatch, "uplink of \(f.devAddr) FCnt \(candidates[0].value): MIC does not verify with its session keys"
                           + TraceValidator.alsoTried(candidates), at: r.source)
                    return .done
                }
                chosen = c
                d.f.micValid += 1
                report.micValid += 1
                r.frmPayload = payload
            }
            // A lower counter on a frame already seen in this session is a replay, not a restart.
            if case .restarted = chosen, d.devAddr == f.devAddr, d.recentMICs.contains(f.mic) { chosen = .behind(chosen.value) }
            r.fcnt = chosen.value
            // Unverified frames are counted once accepted (a replay without keys is a rejection, not an unverified uplink).
            let outcome = checkCounter(&r, device: d, decided: chosen)
            if case .done = outcome { return .done }
            remember(phy, at: r.time)
            d.recentMICs.append(f.mic)
            if d.recentMICs.count > 64 { d.recentMICs.removeFirst() }
            if d.sessionKeys == nil && d.sessionKeys11 == nil { withoutKeys(d, at: r.source) }
            return outcome
        }
    }

    /// The other 32-bit counters a 16-bit one was tried at, for a MIC failure's message.
    static func alsoTried(_ c: [FCntCandidate]) -> String {
        c.count < 2 ? "" : " (nor at " + c.dropFirst().map { String($0.value) }.joined(separator: ", ") + ")"
    }

    /// The device a data frame's DevAddr belongs to, and its DevEUI when known: one look-up per frame (the cache is
    /// emptied whenever a captured join ties a DevAddr to a device).
    private var byAddr: [DevAddr: (device: Device, eui: EUI64?)] = [:]
    private func deviceOf(_ addr: DevAddr) -> (Device, EUI64?) {
        if let c = byAddr[addr] { return c }
        let eui = knownDevEUI(addr)
        let d = device(eui.map { .eui($0) } ?? .addr(addr))
        byAddr[addr] = (d, eui)
        return (d, eui)
    }

    /// The DevEUI a DevAddr belongs to: a session derived from a captured join, else the keys file's.
    @inline(__always)
    private func knownDevEUI(_ addr: DevAddr) -> EUI64? {
        if !derived.isEmpty, let d = derived[addr] { return d.devEUI }
        if !derived11.isEmpty, let d = derived11[addr] { return d.devEUI }
        return options.keys?.sessions[addr]?.devEUI
    }

    /// A LoRaWAN 1.1 rejoin-request (§6.2.4): types 0 and 2 are signed with the device's SNwkSIntKey (its current 1.1
    /// session), type 1 with JSIntKey (from its NwkKey). Unverified without those keys.
    private func rejoinRequest(_ phy: [UInt8], _ r: inout TraceRecord) {
        report.rejoinRequests += 1
        guard let rj = try? RejoinRequest.parse(phy) else {
            reject(.badFrame, "a rejoin-request whose fields cannot be read", at: r.source)
            return
        }
        r.devEUI = rj.devEUI
        let d = device(.eui(rj.devEUI))
        if d.f.devEUI == nil { d.f.devEUI = rj.devEUI.description }
        var sNwk: CryptoKey?, jsInt: CryptoKey?
        if rj.type == 1, let nwk = options.keys?.device(for: rj.devEUI)?.nwkKey {
            jsInt = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwk), devEUI: rj.devEUI).jsIntKey
        } else if rj.type != 1 {
            if let addr = d.devAddr { loadKeys(d, addr) }
            sNwk = d.sessionKeys11?.sNwkSIntKey ?? options.keys?.session11(devEUI: rj.devEUI, devAddr: d.devAddr)?.lorawan11Keys?.sNwkSIntKey
        }
        if sNwk != nil || jsInt != nil {
            guard let v = try? JoinCodec.verifyRejoin(phy, sNwkSIntKey: sNwk, jsIntKey: jsInt), v.valid else {
                d.f.micInvalid += 1
                report.micInvalid += 1
                reject(.micMismatch, "rejoin-request type \(rj.type) of \(rj.devEUI): MIC does not verify with its " + (rj.type == 1 ? "JSIntKey" : "SNwkSIntKey"), at: r.source)
                return
            }
            d.f.micValid += 1
            report.micValid += 1
        } else {
            withoutKeys(d, at: r.source)
        }
        report.accepted += 1
        remember(phy, at: r.time)
        onRecord?(r, nil)
    }

    /// The session keys for a DevAddr: a session derived from a captured join first, else the keys file's.
    private func loadKeys(_ d: Device, _ addr: DevAddr) {
        if !derived11.isEmpty, let k = derived11[addr]?.keys { d.keysAddr = addr; d.sessionKeys = nil; d.sessionKeys11 = k; return }
        if !derived.isEmpty, let derivedKeys = derived[addr]?.keys.first { d.keysAddr = addr; d.sessionKeys = derivedKeys; d.sessionKeys11 = nil; return }
        guard d.keysAddr != addr else { return }
        d.keysAddr = addr
        if let k11 = options.keys?.lorawan11Keys(for: addr) {
            d.sessionKeys11 = k11
            d.sessionKeys = nil
        } else {
            d.sessionKeys11 = nil
            d.sessionKeys = options.keys?.sessionKeys(for: addr).map { SessionKeys(nwkSKey: $0.nwkSKey, appSKey: $0.appSKey) }
        }
    }

    /// The region's data-rate index of a record's modulation (a 1.1 uplink MIC covers it: TxDr).
    private func dataRateIndex(_ r: TraceRecord) -> Int? {
        if r.fskBitrate != nil { return options.region.dataRates.first { if case .fsk = $0.modulation { return true } else { return false } }?.index }
        guard let sf = r.spreadingFactor, let bw = r.bandwidthHz else { return nil }
        return options.region.dataRates.first {
            if case .lora(let m) = $0.modulation { return m.spreadingFactor == sf && Int(m.bandwidth.hertz) == bw && $0.uplink }
            return false
        }?.index
    }

    /// LoRaWAN 1.1 uplink: the first counter candidate whose MIC verifies, trying the channel indices the frequency may
    /// have (the default channel it is, else every index the device's plan may hold: TxCh is not on air).
    private func verify11Uplink(_ phy: [UInt8], _ f: DataFrame, _ r: TraceRecord, _ candidates: [FCntCandidate], _ keys: LoRaWAN11Keys,
                                confFCnt: UInt16) -> (FCntCandidate, OpenedDataFrame)? {
        let dr = dataRateIndex(r).map { UInt8(truncatingIfNeeded: $0) }
        var channels: [UInt8] = []
        if let freq = r.frequencyHz, let i = options.region.defaultChannels.firstIndex(where: { $0.frequencyHz == freq }) { channels.append(UInt8(i)) }
        let plan = max(16, options.region.uplinkChannels.count)
        channels += (0..<min(plan, 256)).map { UInt8($0) }.filter { !channels.contains($0) }
        let rates: [UInt8] = dr.map { [$0] } ?? (0..<16).map { UInt8($0) }
        for c in candidates {
            for txDr in rates {
                for txCh in channels {
                    if let o = try? DataFrameCodec.open11(phy, frame: f, fcnt: c.value, keys: keys, confFCnt: confFCnt, txDr: txDr, txCh: txCh), o.micValid {
                        return (c, o)
                    }
                }
            }
        }
        return nil
    }

    /// The first candidate counter whose MIC verifies, with the frame opened at it. A session derived from a captured
    /// join with several possible join-requests is settled by the first frame that verifies under one of them.
    private func verify(_ phy: [UInt8], _ f: DataFrame, _ candidates: [FCntCandidate], _ keys: SessionKeys) -> (FCntCandidate, [UInt8])? {
        func attempt(_ k: SessionKeys) -> (FCntCandidate, [UInt8])? {
            for c in candidates {
                // The MIC alone for each candidate; the payload is decrypted once, at the one that verifies.
                guard DataFrameCodec.micVerifies(phy, frame: f, fcnt: c.value, key: k.nwkSKey, scratch: &scratch) else { continue }
                return (c, DataFrameCodec.decryptPayload(f, fcnt: c.value, keys: k, scratch: &scratch))
            }
            return nil
        }
        guard !derived.isEmpty, let d = derived[f.devAddr], d.keys.count > 1 else { return attempt(keys) }
        for k in d.keys {
            if let found = attempt(k) { derived[f.devAddr] = (d.devEUI, [k]); return found }
        }
        return nil
    }

    private func joinRequest(_ jr: JoinRequest, _ r: inout TraceRecord, _ phy: [UInt8]) {
        r.devEUI = jr.devEUI
        let d = device(.eui(jr.devEUI))
        let key = d.f.device
        d.f.devEUI = key
        d.f.joinRequests += 1
        report.joinRequests += 1
        var appKey: CryptoKey?
        // The root key that signs join-requests: the AppKey in 1.0.x, the NwkKey in 1.1.
        if let k = options.keys?.rootNetworkKey(for: jr.devEUI) ?? options.keys?.anyDeviceAppKey {
            let ck = CryptoKey(k)
            if JoinCodec.verifyRequest(phy, appKey: ck).valid { d.f.micValid += 1; report.micValid += 1; appKey = ck } else {
                d.f.micInvalid += 1
                report.micInvalid += 1
                reject(.micMismatch, "join-request of \(key): MIC does not verify with its " + (options.keys?.device(for: jr.devEUI)?.isLoRaWAN11 == true ? "NwkKey" : "AppKey"), at: r.source)
                return
            }
        } else {
            withoutKeys(d, at: r.source)
        }
        if !d.nonces.insert(jr.devNonce).inserted {
            d.f.devNonceReused += 1
            problem("\(key) reused DevNonce \(jr.devNonce)", at: r.source)
        }
        d.lastFcnt = nil
        d.lastFcntDown = nil
        pendingJoins.append(PendingJoin(devEUI: jr.devEUI, joinEUI: jr.joinEUI, devNonce: jr.devNonce, time: r.time, appKey: appKey))
        if pendingJoins.count > 64 { pendingJoins.removeFirst(pendingJoins.count - 64) }
        account(d, r)
        report.accepted += 1
        remember(phy, at: r.time)
        onRecord?(r, nil)
    }

    /// A join-accept: its MIC checked with the AppKey of the join-request it answers (one captured up to the
    /// second receive window before it), else with each AppKey held. Matched to its join-request, the session keys
    /// are derived and the device's next frames are checked with them.
    private func joinAccept(_ phy: [UInt8], _ r: inout TraceRecord) {
        report.joinAccepts += 1
        // Join-requests it may answer: the latest first, within the match window.
        var tried = 0
        for p in pendingJoins.reversed() {
            if let t = r.time, let pt = p.time, t.subtractingReportingOverflow(pt).partialValue > TraceValidator.joinMatchWindow
                || pt.subtractingReportingOverflow(t).partialValue > TraceValidator.joinMatchWindow { continue }
            guard let key = p.appKey else { continue }
            tried += 1
            if let dev = options.keys?.device(for: p.devEUI), let nwk = dev.nwkKey {
                if joinAccept11(phy, &r, p, device: dev, nwkKey: CryptoKey(nwk)) { return }
                continue
            }
            guard let opened = try? JoinCodec.decryptAccept(phy, appKey: key), opened.micValid else { continue }
            let d = device(.eui(p.devEUI))
            d.f.joinAccepts += 1
            d.f.micValid += 1
            report.micValid += 1
            r.devEUI = p.devEUI
            r.devAddr = opened.accept.devAddr
            // Each of the device's join-requests in the window, newest first: the accept's MIC does not say which.
            var sets: [SessionKeys] = []
            for q in pendingJoins.reversed() where q.devEUI == p.devEUI {
                if let t = r.time, let qt = q.time, t.subtractingReportingOverflow(qt).partialValue > TraceValidator.joinMatchWindow { continue }
                let k = LoRaWANCrypto.sessionKeys10(appKey: key, appNonce: opened.accept.joinNonce, netID: opened.accept.netID, devNonce: q.devNonce)
                sets.append(SessionKeys(nwkSKey: k.nwkSKey, appSKey: k.appSKey))
            }
            derived[opened.accept.devAddr] = (p.devEUI, sets)
            byAddr[opened.accept.devAddr] = nil
            report.sessionsDerived += 1
            d.keysAddr = nil
            pendingJoins.removeAll { $0.devEUI == p.devEUI }
            report.accepted += 1
            remember(phy, at: r.time)
            onRecord?(r, nil)
            return
        }
        // No captured join-request verifies it: any AppKey held.
        for (eui, key) in allAppKeys {
            guard let opened = try? JoinCodec.decryptAccept(phy, appKey: key), opened.micValid else { continue }
            if let eui {
                let d = device(.eui(eui))
                d.f.joinAccepts += 1
                d.f.micValid += 1
                r.devEUI = eui
            }
            report.micValid += 1
            r.devAddr = opened.accept.devAddr
            report.accepted += 1
            remember(phy, at: r.time)
            onRecord?(r, nil)
            return
        }
        if tried > 0 || !allAppKeys.isEmpty {
            report.micInvalid += 1
            reject(.micMismatch, "join-accept: no AppKey held verifies its MIC (\(allAppKeys.count) AppKeys tried"
                   + (tried > 0 ? ", \(tried) of them for the join-requests it may answer)" : ")"), at: r.source)
            return
        }
        report.unverified += 1
        report.accepted += 1
        remember(phy, at: r.time)
        onRecord?(r, nil)
    }

    /// A LoRaWAN 1.1 device's join-accept (LoRaWAN 1.1 §6.2.3): decrypted with its NwkKey; with OptNeg its MIC is under
    /// JSIntKey over the join-request's JoinEUI and DevNonce, and the four 1.1 session keys are derived (§6.2.3.1); without
    /// OptNeg the network runs 1.0.x and the 1.0 keys come from the NwkKey. True when it verified (and was accounted).
    private func joinAccept11(_ phy: [UInt8], _ r: inout TraceRecord, _ p: PendingJoin, device dev: KeyStore.Device, nwkKey: CryptoKey) -> Bool {
        let js = LoRaWANCrypto.joinServerKeys(nwkKey: nwkKey, devEUI: p.devEUI)
        guard let opened = try? JoinCodec.decryptAccept11(phy, key: nwkKey, jsIntKey: js.jsIntKey, joinEUI: p.joinEUI, devNonce: p.devNonce),
              opened.micValid else { return false }
        let a = opened.accept
        let d = device(.eui(p.devEUI))
        d.f.joinAccepts += 1
        d.f.micValid += 1
        report.micValid += 1
        r.devEUI = p.devEUI
        r.devAddr = a.devAddr
        if a.optNeg {
            let k = LoRaWANCrypto.sessionKeys11(nwkKey: nwkKey, appKey: CryptoKey(dev.appKey), joinNonce: a.joinNonce, joinEUI: p.joinEUI, devNonce: p.devNonce)
            derived11[a.devAddr] = (p.devEUI, k)
            derived[a.devAddr] = nil
            byAddr[a.devAddr] = nil
        } else {
            let k = LoRaWANCrypto.sessionKeys11(optNegUnset: nwkKey, joinNonce: a.joinNonce, netID: a.netID, devNonce: p.devNonce)
            derived[a.devAddr] = (p.devEUI, [SessionKeys(nwkSKey: k.fNwkSIntKey.key, appSKey: k.appSKey.key)])
            derived11[a.devAddr] = nil
            byAddr[a.devAddr] = nil
        }
        report.sessionsDerived += 1
        d.keysAddr = nil
        d.lastNFcntDown = nil
        pendingJoins.removeAll { $0.devEUI == p.devEUI }
        report.accepted += 1
        remember(phy, at: r.time)
        onRecord?(r, nil)
        return true
    }

    /// A data downlink: MIC with the downlink counter and decryption with the session keys, FCntDown gaps and repeats.
    private func downlink(_ f: DataFrame, _ r: inout TraceRecord, _ phy: [UInt8]) {
        let knownEUI = knownDevEUI(f.devAddr)
        r.devEUI = knownEUI ?? r.devEUI
        r.uplink = false
        let d = device(knownEUI.map { .eui($0) } ?? .addr(f.devAddr))
        loadKeys(d, f.devAddr)
        // LoRaWAN 1.1 keeps two downlink counters: NFCntDown for FPort 0 or none, AFCntDown for application ports.
        let network11 = d.sessionKeys11 != nil && (f.fport ?? 0) == 0
        let lastDown = d.devAddr == f.devAddr || d.devAddr == nil ? (network11 ? d.lastNFcntDown : d.lastFcntDown) : nil
        let candidates = FCnt.candidates(f.fcnt, last: lastDown)
        var chosen = candidates[0]
        if let keys11 = d.sessionKeys11 {
            let conf = f.fctrl.ack ? UInt16(truncatingIfNeeded: d.lastConfirmedUp ?? 0) : 0
            var found: (FCntCandidate, OpenedDataFrame)?
            for c in candidates {
                if let o = try? DataFrameCodec.open11(phy, frame: f, fcnt: c.value, keys: keys11, confFCnt: conf), o.micValid { found = (c, o); break }
            }
            guard let (c, opened) = found else {
                d.f.micInvalid += 1
                report.micInvalid += 1
                reject(.micMismatch, "LoRaWAN 1.1 downlink to \(f.devAddr) FCntDown \(candidates[0].value): MIC does not verify with its session keys"
                       + TraceValidator.alsoTried(candidates), at: r.source)
                return
            }
            chosen = c
            d.f.micValid += 1
            report.micValid += 1
            r.frmPayload = opened.payload
        } else if let keys = d.sessionKeys {
            guard let (c, payload) = verify(phy, f, candidates, keys) else {
                d.f.micInvalid += 1
                report.micInvalid += 1
                reject(.micMismatch, "downlink to \(f.devAddr) FCntDown \(candidates[0].value): MIC does not verify with its session keys"
                       + TraceValidator.alsoTried(candidates), at: r.source)
                return
            }
            chosen = c
            d.f.micValid += 1
            report.micValid += 1
            r.frmPayload = payload
        } else {
            withoutKeys(d, at: r.source)
        }
        r.fcnt = chosen.value
        switch chosen {
        case .same:
            if d.lastDownContent != phy {
                d.f.replays += 1
                report.replays += 1
                reject(.replay, "downlink to \(f.devAddr) FCntDown \(chosen.value) again with other content", at: r.source)
                return
            }
            report.downlinkRepeats += 1
        case .behind(let v), .restarted(let v):
            // A network server never sends a lower FCntDown within a session (a join starts a new one).
            d.f.replays += 1
            report.replays += 1
            reject(.replay, "downlink to \(f.devAddr) FCntDown \(v) after \(d.lastFcntDown ?? 0)", at: r.source)
            return
        case .ahead(let v), .wrapped(let v):
            let gap = Int(v &- (lastDown ?? v) &- 1)
            if gap > 0 { d.f.downlinksLost += gap; report.downlinksLost += gap }
        case .first:
            break
        }
        if network11 { d.lastNFcntDown = chosen.value } else { d.lastFcntDown = chosen.value }
        if f.mtype == .confirmedDataDown { d.lastConfirmedDown = chosen.value }
        d.lastDownContent = phy
        d.f.downlinks += 1
        report.downlinks += 1
        report.accepted += 1
        remember(phy, at: r.time)
        onRecord?(r, nil)
    }

    /// A frame that cannot be verified; with a keys file given, its device is unknown: counted once, reported where
    /// it was first seen.
    private func withoutKeys(_ d: Device, at: InputLocation) {
        d.f.unverified += 1
        report.unverified += 1
        guard options.keys != nil, !d.reportedUnknown else { return }
        d.reportedUnknown = true
        report.unknownDevices += 1
        problem("unknown device \(d.f.device): the keys file has no keys for it, its frames are not verified", at: at)
    }

    /// FCnt continuity per device: gaps (lost uplinks), resets, wraps, repeats and replays; airtime and duty cycle.
    /// `decided`: what the 16-bit counter on air was taken for (gateway captures); nil for 32-bit counters.
    private func checkCounter(_ r: inout TraceRecord, device given: Device?, decided: FCntCandidate?) -> Outcome {
        let found: Device? = given ?? r.devEUI.map { device(.eui($0)) } ?? r.devAddr.map { device(.addr($0)) }
        guard let d = found else { reject(.badFrame, "no DevEUI or DevAddr", at: r.source); return .done }
        if d.f.devEUI == nil, let e = r.devEUI { d.f.devEUI = e.description }
        if let a = r.devAddr, d.devAddr != a {
            if d.devAddr != nil { d.lastFcnt = nil; d.recentMICs = [] }   // a new session (a rejoin)
            d.devAddr = a
            d.f.devAddr = a.description
        }
        let key = d.f.device
        let content = r.phyPayload ?? r.frmPayload
        if let fcnt = r.fcnt {
            var kind = decided
            if kind == nil, let last = d.lastFcnt {
                // A 32-bit counter: its place against the last one is plain.
                kind = fcnt == last ? .same(fcnt) : fcnt > last ? .ahead(fcnt) : fcnt < FCnt.restartBelow ? .restarted(fcnt) : .behind(fcnt)
            }
            if let last = d.lastFcnt, let kind {
                switch kind {
                case .same:
                    if d.lastContent == content || content == nil {
                        d.f.repeats += 1
                        report.repeats += 1
                        return .repeated(d)
                    }
                    d.f.replays += 1
                    report.replays += 1
                    series.counter(key, at: r.time, fcnt, mark: "replay")
                    reject(.replay, "\(key) FCnt \(fcnt) again with other content", at: r.source)
                    return .done
                case .ahead, .wrapped:
                    let gap = Int(fcnt &- last &- 1)
                    if gap > 0 { d.f.lost += gap; report.lost += gap }
                    if case .wrapped = kind { d.f.wraps += 1; report.wraps += 1 }
                    series.counter(key, at: r.time, fcnt, mark: gap > 0 ? "gap" : nil)
                case .restarted:
                    d.f.resets += 1
                    report.resets += 1
                    series.counter(key, at: r.time, fcnt, mark: "reset")
                case .behind:
                    d.f.replays += 1
                    report.replays += 1
                    series.counter(key, at: r.time, fcnt, mark: "replay")
                    reject(.replay, "\(key) FCnt \(fcnt) after \(last)", at: r.source)
                    return .done
                case .first:
                    series.counter(key, at: r.time, fcnt, mark: nil)
                }
            } else {
                series.counter(key, at: r.time, fcnt, mark: nil)
            }
            d.lastFcnt = fcnt
        }
        d.lastContent = content
        d.f.uplinks += 1
        report.uplinks += 1
        account(d, r)
        return .accepted(d)
    }

    /// Airtime from the radio-link model against what the capture states, the sliding-hour duty-cycle audit, the
    /// fair-use budget per day.
    private func account(_ d: Device, _ r: TraceRecord) {
        // Without the PHYPayload (a network-server export) the frame is taken as the FRMPayload and 13 bytes of
        // header, FPort and MIC: MAC commands in FOpts are not known.
        let length = r.phyPayload?.count ?? ((r.frmPayload?.count ?? 0) + (r.fport == nil ? 12 : 13))
        guard (0...255).contains(length) else { return }
        let airtime: Nanoseconds
        let what: String
        if let bitrate = r.fskBitrate {
            guard let a = try? AirtimeCalculator.fsk(FSKModulation(bitrate: Int64(bitrate)), payloadBytes: length) else { return }
            airtime = a.nanoseconds
            what = "FSK \(bitrate / 1000) kbit/s"
        } else {
            guard let sf = r.spreadingFactor, let bwHz = r.bandwidthHz, let bw = LoRaBandwidth(hertz: bwHz) else { return }
            var cr = CodingRate.cr4_5
            if let c = r.codingRate {
                if let last = lastCodingRate, last.text == c { cr = last.value } else if let parsed = try? CodingRate.parse(c) {
                    cr = parsed
                    lastCodingRate = (c, parsed)
                }
            }
            let m = LoRaModulation(spreadingFactor: sf, bandwidth: bw, codingRate: cr)
            airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: length).nanoseconds
            what = "SF\(sf)"
        }
        d.f.airtime += airtime
        if let stated = r.statedAirtime {
            report.airtimeChecked += 1
            if abs(stated - airtime) > Time.millisecond {
                d.f.airtimeMismatches += 1
                report.airtimeMismatches += 1
                problem("airtime stated \(DurationFormat.milliseconds(stated)) ms, model \(DurationFormat.milliseconds(airtime)) ms (\(what), \(length) bytes)", at: r.source)
            }
        }
        guard let t = r.time else { return }
        for g in r.receptions { series.reception(gateway: g.gateway, at: t, rssi: g.rssi, snr: g.snr) }
        if let f = r.frequencyHz, let band = bandOf(f), band < bandLimit.count, d.lastTime.map({ t >= $0 }) ?? true {
            let before = d.audit.violations
            let share = d.audit.record(start: t, airtime: airtime, band: band, limit: bandLimit[band])
            series.share(d.f.device, at: t, share, limit: bandLimit[band])
            d.f.maxHourShare = d.audit.maxShare
            if d.audit.violations > before {
                d.f.dutyCycleViolations += 1
                report.dutyCycleViolations += 1
                problem("\(d.f.device) over the \(options.region.subBands[band].dutyCycleText) duty cycle of \(options.region.subBands[band].name) in the hour to \(TraceTime.format(t))", at: r.source)
            }
        }
        d.lastTime = t
        let day = t >= 0 ? t / Time.day : (t + 1) / Time.day - 1
        if day != d.day { d.day = day; d.dayAirtime = 0 }
        let wasOver = d.dayAirtime > options.fairUsePerDay
        d.dayAirtime += airtime
        d.f.maxDayAirtime = max(d.f.maxDayAirtime, d.dayAirtime)
        if !wasOver && d.dayAirtime > options.fairUsePerDay { d.f.fairUseDaysOver += 1; report.fairUseDaysOver += 1 }
        if d.firstT == nil { d.firstT = t }
        d.lastT = t
    }

    /// The application payload through the chosen codec; the expected-output diff; the occupancy timeline.
    private func decode(_ r: TraceRecord, device d: Device) -> JSONValue? {
        guard let payload = r.frmPayload, let port = r.fport, port > 0 else { return nil }
        var result: JSONValue?
        // The decoded value as JSON only when someone reads it (a writer, the expected-output diff).
        let wantJSON = onRecord != nil || options.expectedFile != nil
        var failed = false
        let codec: ValidationOptions.Codec = options.codec == .auto ? (port == OccupancyCodec.uplinkPort ? .occupancy : .none) : options.codec
        var message: OccupancyMessage?
        switch codec {
        case .occupancy:
            do {
                let m = try OccupancyCodec.decode(port: port, payload)
                message = m
                if wantJSON { result = m.json }
            } catch {
                failed = true
                result = .object(["error": .string(error.code.rawValue)])
                report.decodeErrors[error.code.rawValue, default: 0] += 1
                problem("payload does not decode: \(error)", at: r.source)
            }
        case .cayenne:
            do {
                let values = try CayenneLPP.decode(payload)
                if wantJSON { result = CayenneLPP.json(values) }
            } catch {
                failed = true
                result = .object(["error": .string("cayenne")])
                report.decodeErrors["cayenne", default: 0] += 1
                problem("CayenneLPP payload does not decode: \(error)", at: r.source)
            }
        case .none, .auto:
            return nil
        }
        if failed { d.f.decodeErrors += 1 } else { report.decoded += 1; d.f.decoded += 1 }
        if options.expectedFile != nil, let got = result {
            let name = r.devEUI?.description ?? r.devAddr.map { "addr:" + $0.description } ?? "(no DevEUI or DevAddr)"
            let k = "\(name)/\(r.fcnt.map(String.init) ?? "?")"
            if let want = options.expected[k] {
                seenExpected.insert(k)
                if want.value == got { report.expectedMatched += 1 } else {
                    report.expectedMismatched += 1
                    series.difference("\(name) FCnt \(r.fcnt ?? 0)", expected: want.value.compact, got: got.compact)
                    problem("\(name) FCnt \(r.fcnt ?? 0): decoded \(got.compact), expected \(want.value.compact) (\(options.expectedFile ?? "expected"):\(want.line))", at: r.source)
                }
            } else {
                report.unexpected += 1
                series.difference("\(name) FCnt \(r.fcnt.map(String.init) ?? "?")", expected: "(not in the expected file)", got: got.compact)
                problem("\(name) FCnt \(r.fcnt.map(String.init) ?? "?"): decoded \(got.compact), not in \(options.expectedFile ?? "the expected file")", at: r.source)
            }
        }
        if let m = message, let eui = r.devEUI, let place = options.places[eui], let t = r.time { timeline(place, m, at: t) }
        return result
    }

    private func timeline(_ p: SensorPlace, _ m: OccupancyMessage, at t: Nanoseconds) {
        var s = siteState[p.site] ?? ([:], [:])
        var changed = false
        switch (p.kind, m) {
        case (.bay, .bayState(let b)): changed = s.bays[p.slot] != b.occupied; s.bays[p.slot] = b.occupied
        case (.bay, .status(let st)): changed = s.bays[p.slot] != st.occupied; s.bays[p.slot] = st.occupied
        case (.gate, .gateCounts(let g)):
            let new = (Int(g.countIn), Int(g.countOut))
            changed = s.gates[p.slot].map { $0 != new } ?? true
            s.gates[p.slot] = new
        default: break
        }
        siteState[p.site] = s
        if changed {
            let bays = s.bays.values.filter { $0 }.count
            let ins = s.gates.values.reduce(0) { $0 + $1.0 }, outs = s.gates.values.reduce(0) { $0 + $1.1 }
            onTimeline?(t, p.site, bays, ins, outs)
            series.site(p.site, at: t, occupancy: bays > 0 ? bays : max(0, ins - outs))
        }
    }

    /// The device a frame belongs to: its DevEUI (a join-request's, or the keys file's for a DevAddr), else its DevAddr.
    private func deviceID(_ frame: PHYPayload) -> DeviceID? {
        switch frame {
        case .joinRequest(let jr): return .eui(jr.devEUI)
        case .data(let f): return knownDevEUI(f.devAddr).map { .eui($0) } ?? .addr(f.devAddr)
        default: return nil
        }
    }

    public func finish() -> TraceReport {
        for (k, want) in options.expected where !seenExpected.contains(k) {
            report.expectedMissing += 1
            series.difference(k.replacingOccurrences(of: "/", with: " FCnt "), expected: want.value.compact, got: "(not in the trace)")
            if report.problems.count < TraceValidator.maxProblems {
                report.problems.append("expected \(k.replacingOccurrences(of: "/", with: " FCnt ")) is not in the trace (\(options.expectedFile ?? "expected"):\(want.line))")
            }
        }
        for d in order {
            d.f.firstTime = d.firstT.map(TraceTime.format)
            d.f.lastTime = d.lastT.map(TraceTime.format)
            report.devices.append(d.f)
        }
        if options.expectedFile != nil {
            report.expectedEntries = options.expected.count
            if options.expected.isEmpty, report.problems.count < TraceValidator.maxProblems {
                report.problems.append("\(options.expectedFile ?? "the expected file") holds no entries: nothing was compared")
            }
        }
        report.passed = report.rejected == 0 && report.expectedMismatched == 0 && report.expectedMissing == 0 && report.dutyCycleViolations == 0
            && report.decodeErrors.isEmpty && report.airtimeMismatches == 0 && report.unexpected == 0
            && (report.expectedEntries.map { $0 > 0 } ?? true)
        return report
    }
}


