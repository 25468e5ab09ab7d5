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
            guard case .string(let e)? = v["dev_eui"], let eui = try? EUI64(hex: e), case .number(let f)? = v["fcnt"] else {
                throw InputError("an expected line needs dev_eui and fcnt", at: at)
            }
            let value: JSONValue = v["decoded"] ?? (v["error"].map { .object(["error": $0]) } ?? .null)
            expected["\(eui.description)/\(Int64(f))"] = (value, lines.lineNumber)
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
    public var downlinks = 0
    public var micValid = 0
    public var micInvalid = 0
    public var unverified = 0
    /// Devices the keys file has no keys for (only counted when a keys file is given).
    public var unknownDevices = 0
    public var lost = 0
    public var resets = 0
    public var replays = 0
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
    /// The first problems, with where they are (keys never appear).
    public var problems: [String] = []
    public var devices: [DeviceFindings] = []
    public var passed = true

    public var text: String {
        var out: [String] = []
        out.append("trace \(files.joined(separator: ", ")): \(read) records read = \(accepted) accepted + \(rejected) rejected"
                   + (skippedLines > 0 ? " (\(skippedLines) log lines without a record skipped)" : ""))
        if !rejectedByReason.isEmpty {
            out.append("  rejected    " + rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("  accepted    \(uplinks) uplinks (+\(gatewayCopies) gateway copies merged, \(repeats) repeats), \(joinRequests) join-requests, \(downlinks) downlinks")
        out.append("  MIC         \(micValid) valid, \(micInvalid) invalid, \(unverified) unverified (no keys for the device, or a network-server export)"
                   + (unknownDevices > 0 ? "; \(unknownDevices) devices not in the keys file" : ""))
        out.append("  counters    \(lost) uplinks lost (FCnt gaps), \(resets) counter resets, \(replays) replays")
        out.append("  airtime     \(airtimeChecked) stated airtimes checked, \(airtimeMismatches) differ from the radio-link model by more than 1 ms")
        out.append("  duty cycle  \(dutyCycleViolations) transmissions over the sub-band limit in a sliding hour; \(fairUseDaysOver) device-days over the 30 s fair-use budget")
        out.append("  payloads    \(decoded) decoded" + (decodeErrors.isEmpty ? "" : ", errors: " + decodeErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        if expectedMatched + expectedMismatched + expectedMissing + unexpected > 0 {
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
        var lastPayload: [UInt8]?
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
        var reportedUnknown = false
    }
    private var devices: [DeviceID: Device] = [:]
    private var order: [Device] = []
    /// Recent PHYPayloads for spotting one uplink heard by several gateways: the last time each was seen, and the
    /// order they came in (the oldest leave after `recentLimit`).
    private var recentTimes: [FrameBytes: (time: Nanoseconds?, serial: Int)] = [:]
    private var recentOrder: [(bytes: FrameBytes, serial: Int)] = []
    private var recentHead = 0
    private var recentSerial = 0
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
        problem("\(reason.rawValue): \(detail())", at: at)
    }

    public func consume(_ item: TraceItem) {
        if case .skipped = item { report.skippedLines += 1; return }
        report.read += 1
        switch item {
        case .skipped:
            break
        case .rejected(let reason, let detail, let at):
            reject(reason, detail, at: at)
        case .record(let r):
            check(r)
        }
    }

    private func device(_ id: DeviceID) -> Device {
        if let d = devices[id] { return d }
        let d = Device(DeviceFindings(device: id.text))
        order.append(d)
        devices[id] = d
        return d
    }

    /// True (and remembered) when the same PHYPayload was seen within the dedup window: another gateway's copy.
    /// A PHYPayload as a dictionary key, hashed as one block of bytes (not byte by byte).
    private struct FrameBytes: Hashable {
        let bytes: [UInt8]
        func hash(into h: inout Hasher) { bytes.withUnsafeBytes { h.combine(bytes: $0) } }
    }

    private func isGatewayCopy(_ bytes: [UInt8], at time: Nanoseconds?) -> Bool {
        guard let seen = recentTimes[FrameBytes(bytes: bytes)] else { return false }
        return time == nil || seen.time == nil || abs((seen.time ?? 0) - (time ?? 0)) <= options.dedupWindow
    }

    /// Remembers an accepted frame, so that other gateways' copies of it are merged (a rejected one is not: each of
    /// its copies is checked on its own).
    private func remember(_ bytes: [UInt8], at time: Nanoseconds?) {
        let phy = FrameBytes(bytes: bytes)
        recentSerial += 1
        recentTimes[phy] = (time, recentSerial)
        if recentOrder.count < TraceValidator.recentLimit {
            recentOrder.append((phy, recentSerial))
        } else {
            let old = recentOrder[recentHead]
            if recentTimes[old.bytes]?.serial == old.serial { recentTimes[old.bytes] = nil }
            recentOrder[recentHead] = (phy, recentSerial)
            recentHead = (recentHead + 1) % TraceValidator.recentLimit
        }
    }

    private func check(_ input: TraceRecord) {
        var r = input
        // Clock: time going back (beyond a second) or jumping forward by more than a day.
        if let t = r.time {
            if let last = lastTime, t < last - Time.second || t > last + Time.day {
                report.clockJumps += 1
                problem("clock jump from \(TraceTime.format(last)) to \(TraceTime.format(t))", at: r.source)
            }
            lastTime = t
        }
        if let phy = r.phyPayload {
            // The same PHYPayload from another gateway shortly after: one uplink heard twice.
            if isGatewayCopy(phy, at: r.time) {
                report.accepted += 1
                report.gatewayCopies += 1
                if let frame = try? FrameDecoder.decode(phy), let id = deviceID(frame) { device(id).f.gatewayCopies += 1 }
                return
            }
            guard let key = checkPhy(&r) else { return }
            report.accepted += 1
            let decoded = decode(r, device: key)   // not inside onRecord?(…): that would skip it without a listener
            onRecord?(r, decoded)
        } else {
            guard r.frmPayload != nil || r.fport != nil else { reject(.badFrame, "neither a PHYPayload nor an application payload", at: r.source); return }
            guard let key = checkCounter(&r) else { return }
            report.unverified += 1
            report.accepted += 1
            let decoded = decode(r, device: key)
            onRecord?(r, decoded)
        }
    }

    /// A frame from a gateway or pcap: decode, MIC and decryption with the keys, counters. The device key, or nil
    /// when the record is done with (rejected, a join-request or a downlink).
    private func checkPhy(_ r: inout TraceRecord) -> Device? {
        guard let phy = r.phyPayload else { return nil }
        let frame: PHYPayload
        do { frame = try FrameDecoder.decode(phy) } catch {
            reject(.badFrame, "\(error)", at: r.source)
            return nil
        }
        switch frame {
        case .joinRequest(let jr):
            r.devEUI = jr.devEUI
            let d = device(.eui(jr.devEUI))
            let key = d.f.device
            d.f.devEUI = key
            d.f.joinRequests += 1
            report.joinRequests += 1
            if let k = options.keys?.appKey(for: jr.devEUI) {
                if JoinCodec.verifyRequest(phy, appKey: CryptoKey(k)).valid { d.f.micValid += 1; report.micValid += 1 } else {
                    d.f.micInvalid += 1
                    report.micInvalid += 1
                    reject(.micMismatch, "join-request of \(key): MIC does not verify with its AppKey", at: r.source)
                    return nil
                }
            } else {
                withoutKeys(d, at: r.source)
            }
            if !d.nonces.insert(jr.devNonce).inserted {
                d.f.devNonceReused += 1
                problem("\(key) reused DevNonce \(jr.devNonce)", at: r.source)
            }
            d.lastFcnt = nil
            account(d, r)
            report.accepted += 1
            remember(phy, at: r.time)
            onRecord?(r, nil)
            return nil   // accounted here: not an application uplink
        case .data(let f):
            r.devAddr = f.devAddr
            r.fport = f.fport
            guard f.direction == .uplink else {
                report.downlinks += 1
                report.accepted += 1
                remember(phy, at: r.time)
                onRecord?(r, nil)
                return nil
            }
            // The DevEUI when the keys file ties it to the DevAddr (one row per sensor across rejoins), else the DevAddr.
            let knownEUI = options.keys?.sessions[f.devAddr]?.devEUI
            r.devEUI = knownEUI ?? r.devEUI
            let d = device(knownEUI.map { .eui($0) } ?? .addr(f.devAddr))
            if d.f.devAddr == nil || d.devAddr != f.devAddr { d.f.devAddr = f.devAddr.description }
            let fcnt = FCnt.reconstruct(f.fcnt, last: d.devAddr == f.devAddr ? d.lastFcnt : nil).value ?? UInt32(f.fcnt)
            r.fcnt = fcnt
            if d.keysAddr != f.devAddr {
                d.keysAddr = f.devAddr
                d.sessionKeys = options.keys?.sessionKeys(for: f.devAddr).map { SessionKeys(nwkSKey: $0.nwkSKey, appSKey: $0.appSKey) }
            }
            if let keys = d.sessionKeys {
                if let opened = try? DataFrameCodec.open(phy, frame: f, fcnt: fcnt, keys: keys), opened.micValid {
                    d.f.micValid += 1
                    report.micValid += 1
                    r.frmPayload = opened.payload
                } else {
                    d.f.micInvalid += 1
                    report.micInvalid += 1
                    reject(.micMismatch, "uplink of \(f.devAddr) FCnt \(fcnt): MIC does not verify with its session keys", at: r.source)
                    return nil
                }
            }
            // Unverified frames are counted once accepted (a replay without keys is a rejection, not an unverified uplink).
            let accepted = checkCounter(&r, device: d)
            if accepted != nil { remember(phy, at: r.time) }
            if accepted != nil && d.sessionKeys == nil { withoutKeys(d, at: r.source) }
            return accepted
        default:
            reject(.badFrame, "not an uplink data frame or join-request", at: r.source)
            return nil
        }
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

    /// FCnt continuity per device: gaps (lost uplinks), resets, repeats and replays; airtime and duty cycle.
    private func checkCounter(_ r: inout TraceRecord, device given: Device? = nil) -> Device? {
        let found: Device? = given ?? r.devEUI.map { device(.eui($0)) } ?? r.devAddr.map { device(.addr($0)) }
        guard let d = found else { reject(.badFrame, "no DevEUI or DevAddr", at: r.source); return nil }
        if d.f.devEUI == nil, let e = r.devEUI { d.f.devEUI = e.description }
        if let a = r.devAddr, d.devAddr != a {
            if d.devAddr != nil { d.lastFcnt = nil }   // a new session (a rejoin)
            d.devAddr = a
            d.f.devAddr = a.description
        }
        let key = d.f.device
        if let fcnt = r.fcnt {
            if let last = d.lastFcnt {
                if fcnt == last {
                    if d.lastPayload == r.frmPayload || r.frmPayload == nil {
                        d.f.repeats += 1
                        report.repeats += 1
                        report.accepted += 1
                        return nil
                    }
                    d.f.replays += 1
                    report.replays += 1
                    reject(.replay, "\(key) FCnt \(fcnt) again with other content", at: r.source)
                    return nil
                } else if fcnt > last {
                    let gap = Int(fcnt - last - 1)
                    if gap > 0 { d.f.lost += gap; report.lost += gap }
                } else if fcnt < 16 {
                    d.f.resets += 1
                    report.resets += 1
                } else {
                    d.f.replays += 1
                    report.replays += 1
                    reject(.replay, "\(key) FCnt \(fcnt) after \(last)", at: r.source)
                    return nil
                }
            }
            d.lastFcnt = fcnt
        }
        d.lastPayload = r.frmPayload
        d.f.uplinks += 1
        report.uplinks += 1
        account(d, r)
        return d
    }

    /// Airtime from the radio-link model against what the capture states, the sliding-hour duty-cycle audit, the
    /// fair-use budget per day.
    private func account(_ d: Device, _ r: TraceRecord) {
        guard let sf = r.spreadingFactor, let bwHz = r.bandwidthHz, let bw = LoRaBandwidth(hertz: bwHz) else { return }
        var cr = CodingRate.cr4_5
        if let c = r.codingRate {
            if let last = lastCodingRate, last.text == c { cr = last.value } else if let parsed = try? CodingRate.parse(c) {
                cr = parsed
                lastCodingRate = (c, parsed)
            }
        }
        let m = LoRaModulation(spreadingFactor: sf, bandwidth: bw, codingRate: cr)
        // Without the PHYPayload (a network-server export) the frame is taken as the FRMPayload and 13 bytes of
        // header, FPort and MIC: MAC commands in FOpts are not known.
        let length = r.phyPayload?.count ?? ((r.frmPayload?.count ?? 0) + (r.fport == nil ? 12 : 13))
        guard (0...255).contains(length) else { return }
        let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: length).nanoseconds
        d.f.airtime += airtime
        if let stated = r.statedAirtime {
            report.airtimeChecked += 1
            if abs(stated - airtime) > Time.millisecond {
                d.f.airtimeMismatches += 1
                report.airtimeMismatches += 1
                problem("airtime stated \(DurationFormat.milliseconds(stated)) ms, model \(DurationFormat.milliseconds(airtime)) ms (SF\(sf), \(length) bytes)", at: r.source)
            }
        }
        guard let t = r.time else { return }
        if let f = r.frequencyHz, let band = bandOf(f), band < bandLimit.count, d.lastTime.map({ t >= $0 }) ?? true {
            let before = d.audit.violations
            d.audit.record(start: t, airtime: airtime, band: band, limit: bandLimit[band])
            d.f.maxHourShare = d.audit.maxShare
            if d.audit.violations > before {
                d.f.dutyCycleViolations += 1
                report.dutyCycleViolations += 1
                problem("\(d.f.device) over the \(options.region.subBands[band].dutyCycleText) duty cycle of \(options.region.subBands[band].name) in the hour to \(TraceTime.format(t))", at: r.source)
            }
        }
        d.lastTime = t
        let day = t >= 0 ? t / Time.day : (t - Time.day + 1) / Time.day
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
        let wantJSON = onRecord != nil || !options.expected.isEmpty
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
        if !options.expected.isEmpty, let eui = r.devEUI, let fcnt = r.fcnt, let got = result {
            let k = "\(eui.description)/\(fcnt)"
            if let want = options.expected[k] {
                seenExpected.insert(k)
                if want.value == got { report.expectedMatched += 1 } else {
                    report.expectedMismatched += 1
                    problem("\(eui) FCnt \(fcnt): decoded \(got.compact), expected \(want.value.compact) (\(options.expectedFile ?? "expected"):\(want.line))", at: r.source)
                }
            } else {
                report.unexpected += 1
                problem("\(eui) FCnt \(fcnt): decoded \(got.compact), not in \(options.expectedFile ?? "the expected file")", at: r.source)
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
        }
    }

    /// The device a frame belongs to: its DevEUI (a join-request's, or the keys file's for a DevAddr), else its DevAddr.
    private func deviceID(_ frame: PHYPayload) -> DeviceID? {
        switch frame {
        case .joinRequest(let jr): return .eui(jr.devEUI)
        case .data(let f): return options.keys?.sessions[f.devAddr]?.devEUI.map { .eui($0) } ?? .addr(f.devAddr)
        default: return nil
        }
    }

    public func finish() -> TraceReport {
        for (k, want) in options.expected where !seenExpected.contains(k) {
            report.expectedMissing += 1
            if report.problems.count < TraceValidator.maxProblems {
                report.problems.append("expected \(k.replacingOccurrences(of: "/", with: " FCnt ")) is not in the trace (\(options.expectedFile ?? "expected"):\(want.line))")
            }
        }
        for d in order {
            d.f.firstTime = d.firstT.map(TraceTime.format)
            d.f.lastTime = d.lastT.map(TraceTime.format)
            report.devices.append(d.f)
        }
        report.passed = report.rejected == 0 && report.expectedMismatched == 0 && report.expectedMissing == 0 && report.dutyCycleViolations == 0
            && report.decodeErrors.isEmpty
        return report
    }
}


