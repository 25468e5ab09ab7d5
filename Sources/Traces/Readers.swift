import Foundation
import HarnessCore
import LoRaWAN

/// Reads a capture item by item.
public protocol TraceReader: AnyObject {
    /// The next record or rejected piece; nil at the end. Throws only when the file itself cannot be read.
    func next() throws(InputError) -> TraceItem?
}

public enum TraceFormatChoice: String, Sendable, CaseIterable {
    case auto, semtech, tts, chirpstack, pcap, serial
}

public enum TraceReaders {
    /// A reader for a file: the format from `choice`, or recognised from the content.
    public static func open(path: String, choice: TraceFormatChoice = .auto, userLinkType: UInt32? = nil,
                            gateway: String = "gateway") throws(InputError) -> TraceReader {
        var format = choice
        if format == .auto { format = try detect(path: path) }
        switch format {
        case .pcap: return try PcapReader(path: path, userLinkType: userLinkType)
        case .serial: return try SessionLogReader(path: path)
        case .semtech: return try JSONTraceReader(path: path, format: .semtech, gateway: gateway)
        case .tts: return try JSONTraceReader(path: path, format: .tts, gateway: gateway)
        case .chirpstack: return try JSONTraceReader(path: path, format: .chirpstack, gateway: gateway)
        case .auto: throw InputError("cannot tell the trace format; give --format", at: .file(path))
        }
    }

    /// Recognises the format from the first bytes (after gzip).
    public static func detect(path: String) throws(InputError) -> TraceFormatChoice {
        let head = try LineInput.peek(path: path)
        if head.count >= 4 {
            let m = UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3])
            if [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0x0A0D_0D0A].contains(m) { return .pcap }
        }
        let text = String(decoding: head, as: UTF8.self)
        if text.hasPrefix("# loraharness session log") { return .serial }
        if text.contains("\"rxpk\"") { return .semtech }
        if text.contains("\"uplink_message\"") { return .tts }
        if text.contains("\"deviceInfo\"") || text.contains("\"deduplicationId\"") { return .chirpstack }
        throw InputError("cannot tell the trace format from its content (not pcap, pcapng, a session log, Semtech rxpk, "
                         + "The Things Stack or ChirpStack JSON); give --format", at: .file(path))
    }
}

// MARK: - Time

public enum TraceTime {
    /// `2024-05-04T10:12:13.123456789Z` or with an offset `+02:00`; nanoseconds since the Unix epoch.
    public static func parse(_ s: String) -> Nanoseconds? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ n: Int) -> Int64? {
            guard from + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in from..<(from + n) {
                guard (0x30...0x39).contains(b[k]) else { return nil }
                v = v * 10 + Int64(b[k] - 0x30)
            }
            return v
        }
        guard b.count >= 19, let y = num(0, 4), b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
              b[10] == 0x54 || b[10] == 0x20, let h = num(11, 2), b[13] == 0x3A, let mi = num(14, 2), b[16] == 0x3A, let sec = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61 else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.count, (0x30...0x39).contains(b[i]) {
                if digits < 9 { frac = frac * 10 + Int64(b[i] - 0x30); digits += 1 }
                i += 1
            }
            for _ in digits..<9 { frac *= 10 }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == 0x5A { i += 1 } else if b[i] == 0x2B || b[i] == 0x2D {
                guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2) else { return nil }
                offset = (oh * 3600 + om * 60) * (b[i] == 0x2B ? 1 : -1)
                i += 6
            }
        }
        guard i == b.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        // Int64 nanoseconds reach from 1677 to 2262: a time outside is not representable, not a crash.
        let (ns, o1) = (days * 86_400 + h * 3600 + mi * 60 + sec - offset).multipliedReportingOverflow(by: 1_000_000_000)
        let (t, o2) = ns.addingReportingOverflow(frac)
        return o1 || o2 ? nil : t
    }

    public static func format(_ ns: Nanoseconds) -> String {
        let secs = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let frac = ns - secs * 1_000_000_000
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = secs - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ n: Int) -> String {
            let s = String(v)
            return s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
        }
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(rem / 3600, 2) + ":" + pad((rem % 3600) / 60, 2) + ":"
            + pad(rem % 60, 2) + "." + pad(frac / 1000, 6) + "Z"
    }
}

// MARK: - JSON lines

/// Semtech packet-forwarder `rxpk` lines, The Things Stack v3 uplink messages and ChirpStack v4 uplink events, as
/// NDJSON (one message per line, streamed) or one JSON document (an array of messages, read whole).
public final class JSONTraceReader: TraceReader {
    let format: TraceRecord.Format
    let gateway: String
    private let lines: LineInput
    private var queue: [TraceItem] = []
    private var queueHead = 0
    private var reportedTruncation = false
    /// Reused for every line: its storage stays allocated.
    private let tape = JSONTape()
    private var wholeDocument: [JSONView]?
    private var documentIndex = 0

    init(path: String, format: TraceRecord.Format, gateway: String) throws(InputError) {
        self.format = format
        self.gateway = gateway
        lines = try LineInput(path: path)
    }

    public func next() throws(InputError) -> TraceItem? {
        if queueHead < queue.count {
            let item = queue[queueHead]
            queueHead += 1
            return item
        }
        queue.removeAll(keepingCapacity: true)
        queueHead = 0
        while queue.isEmpty {
            if let doc = wholeDocument {
                guard documentIndex < doc.count else { return nil }
                let v = doc[documentIndex]
                documentIndex += 1
                handle(v, at: .field(file: lines.path, line: 1, field: "[\(documentIndex - 1)]"))
                continue
            }
            guard let raw = try lines.next() else {
                if lines.truncated && !reportedTruncation { reportedTruncation = true; return .truncatedGzip(lines.path, at: lines.offset) }
                return nil
            }
            let at = InputLocation.line(file: lines.path, line: lines.lineNumber)
            guard let first = raw.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            if lines.lineNumber == 1 && raw[first] == UInt8(ascii: "[") {
                // One JSON document holding an array: read it whole.
                var all = Array(raw)
                while let more = try lines.next() { all += [0x0A] + more }
                do throws(JSONParser.Failure) {
                    let doc = try tape.parse(all[...])
                    guard doc.isArray else { throw JSONParser.Failure(message: "not an array", offset: 0) }
                    wholeDocument = doc.elements
                } catch {
                    queue.append(.rejected(reason: .malformedLine, detail: "not valid JSON: \(error.message)", at: .byteOffset(source: lines.path, offset: error.offset)))
                    wholeDocument = []
                }
                continue
            }
            // A packet-forwarder log line may carry a prefix (`JSON up: {...}`): the JSON starts at the first brace.
            guard let brace = raw.firstIndex(of: UInt8(ascii: "{")) else {
                // A packet forwarder's log has its own messages between the JSON lines.
                queue.append(format == .semtech ? .skipped : .rejected(reason: .malformedLine, detail: "no JSON object on the line", at: at))
                continue
            }
            do {
                handle(try tape.parse(raw[brace...]), at: at)
            } catch {
                queue.append(.rejected(reason: .malformedLine, detail: "not valid JSON: \(error.message) at column \(error.offset + brace - raw.startIndex + 1)", at: at))
            }
        }
        queueHead = 1
        return queue[0]
    }

    func handle(_ v: JSONView, at: InputLocation) {
        switch format {
        case .semtech: semtech(v, at: at, gateway: gateway)
        case .tts: tts(v, at: at)
        case .chirpstack: chirpstack(v, at: at)
        default: queue.append(.rejected(reason: .unknownFormat, detail: "not a JSON format", at: at))
        }
    }

    // Semtech packet forwarder (PROTOCOL.TXT, section 4): {"rxpk":[{time, tmst, freq, datr, codr, rssi, lsnr, size, data}]}.
    func semtech(_ v: JSONView, at: InputLocation, gateway: String) {
        queue += JSONTraceReader.rxpk(v, at: at, gateway: gateway)
    }

    static func rxpk(_ v: JSONView, at: InputLocation, gateway: String) -> [TraceItem] {
        guard let rxpk = v["rxpk"], rxpk.isArray else {
            if v["stat"] != nil { return [] }   // gateway status only
            return [.rejected(reason: .malformedLine, detail: "no rxpk array", at: at)]
        }
        let list = rxpk.elements
        var out: [TraceItem] = []
        for (i, p) in list.enumerated() {
            let here = at
            guard let data = p["data"]?.string else { out.append(.rejected(reason: .malformedLine, detail: "rxpk[\(i)] has no data", at: here)); continue }
            guard let bytes = try? Base64.decode(data) else { out.append(.rejected(reason: .invalidBase64, detail: "rxpk[\(i)].data is not base64", at: here)); continue }
            if let size = p["size"]?.number, size != Double(bytes.count) {
                out.append(.rejected(reason: .truncatedRecord, detail: "rxpk[\(i)]: size \(numberText(size)) but \(bytes.count) bytes of data", at: here))
                continue
            }
            if let modu = p["modu"]?.string, modu != "LORA" { out.append(.rejected(reason: .notLoRaWAN, detail: "\(modu) modulation", at: here)); continue }
            if let stat = p["stat"]?.number, stat != 1 { out.append(.rejected(reason: .badFrame, detail: "CRC \(stat == -1 ? "failed" : "absent") (stat \(numberText(stat)))", at: here)); continue }
            var r = TraceRecord(format: .semtech, source: here)
            var fields = FieldReader()
            r.phyPayload = bytes
            r.time = fields.time(p["time"], "rxpk[\(i)].time")
            if let f = p["freq"] {
                if let mhz = f.number, mhz.isFinite, mhz > 0, mhz < 10_000 { r.frequencyHz = Int64((mhz * 1e6 / 100).rounded()) * 100 } else {
                    fields.errors.append("rxpk[\(i)].freq \(f.number.map(numberText) ?? "(not a number)") is not a frequency in MHz")
                }
            }
            if let datr = p["datr"] {
                // "SF7BW125"
                let u = datr.string?.uppercased() ?? ""
                if let sfr = u.range(of: "SF"), let bwr = u.range(of: "BW"), sfr.upperBound <= bwr.lowerBound,
                   let sf = Int(u[sfr.upperBound..<bwr.lowerBound]), let khz = Int(u[bwr.upperBound...]) {
                    r.spreadingFactor = sf
                    r.bandwidthHz = khz * 1000
                } else {
                    fields.errors.append("rxpk[\(i)].datr \(datr.string.map { "'\($0)'" } ?? "(not a string)") is not a LoRa data rate such as SF7BW125")
                }
            }
            if let codr = p["codr"]?.string { r.codingRate = codr }
            var rssi: Double?, snr: Double?
            if let x = p["rssi"]?.number { rssi = x }
            if let x = p["lsnr"]?.number { snr = x }
            if let rsig = p["rsig"]?.elements, let first = rsig.first {
                if let x = first["rssic"]?.number { rssi = x }
                if let x = first["lsnr"]?.number { snr = x }
            }
            r.receptions = [GatewayReception(gateway: gateway, rssi: rssi, snr: snr)]
            out.append(.checked(r, fields.errors))
        }
        return out
    }

    // The Things Stack v3 uplink message (as.up.data.forward, storage integration, webhooks): top level, under
    // "result", or under "data". Zero values are omitted by The Things Stack: a missing f_cnt is 0.
    func tts(_ v: JSONView, at: InputLocation) {
        var m = v
        if let r = v["result"] { m = r }
        if let d = m["data"], d["uplink_message"] != nil { m = d }
        guard let up = m["uplink_message"] else {
            queue.append(.rejected(reason: .malformedLine, detail: "no uplink_message", at: at))
            return
        }
        var r = TraceRecord(format: .tts, source: at)
        var fields = FieldReader()
        r.time = fields.time(m["received_at"] ?? up["received_at"], "received_at")
        if let ids = m["end_device_ids"] {
            r.devEUI = fields.hex(ids["dev_eui"], "end_device_ids.dev_eui") { (s: String) throws(InputError) in try EUI64(hex: s) }
            r.devAddr = fields.hex(ids["dev_addr"], "end_device_ids.dev_addr") { (s: String) throws(InputError) in try DevAddr(hex: s) }
        }
        r.fport = fields.integer(up["f_port"], "f_port", in: 0...255).map { UInt8($0) }
        r.fcnt = UInt32(fields.integer(up["f_cnt"], "f_cnt", in: 0...Int64(UInt32.max)) ?? 0)
        if let b = up["frm_payload"]?.string {
            guard let bytes = try? Base64.decode(b) else {
                queue.append(.rejected(reason: .invalidBase64, detail: "frm_payload is not base64", at: at))
                return
            }
            r.frmPayload = bytes
        } else {
            r.frmPayload = []
        }
        if let md = up["rx_metadata"]?.elements {
            for g in md {
                var id = "?"
                if let s = g["gateway_ids"]?["gateway_id"]?.string { id = s }
                var rssi: Double?, snr: Double?
                if let x = (g["rssi"] ?? g["channel_rssi"])?.number { rssi = x }
                if let x = g["snr"]?.number { snr = x }
                r.receptions.append(GatewayReception(gateway: id, rssi: rssi, snr: snr))
            }
        }
        if let s = up["settings"] {
            r.frequencyHz = fields.integer(s["frequency"], "settings.frequency", in: 1...10_000_000_000)
            if let lora = s["data_rate"]?["lora"] {
                r.spreadingFactor = fields.integer(lora["spreading_factor"], "spreading_factor", in: 0...255).map { Int($0) }
                r.bandwidthHz = fields.integer(lora["bandwidth"], "bandwidth", in: 0...10_000_000).map { Int($0) }
                if let cr = lora["coding_rate"]?.string { r.codingRate = cr }
            }
            // Older releases put the coding rate beside the data rate.
            if r.codingRate == nil, let cr = s["coding_rate"]?.string { r.codingRate = cr }
        }
        if let a = up["consumed_airtime"] {
            // A Protocol Buffers duration: seconds with up to nine decimals and an "s".
            if let text = a.string, text.hasSuffix("s"), let secs = Double(text.dropLast()), secs.isFinite, secs >= 0, secs < 1e6 {
                r.statedAirtime = Int64((secs * 1e9).rounded())
            } else {
                fields.errors.append("consumed_airtime \(a.string.map { "'\($0)'" } ?? "(not a string)") is not a duration such as 0.051456s")
            }
        }
        queue.append(.checked(r, fields.errors))
    }

    // ChirpStack v4 uplink event (JSON integration "up").
    func chirpstack(_ v: JSONView, at: InputLocation) {
        guard let info = v["deviceInfo"] else {
            queue.append(.rejected(reason: .malformedLine, detail: "no deviceInfo", at: at))
            return
        }
        var r = TraceRecord(format: .chirpstack, source: at)
        var fields = FieldReader()
        r.time = fields.time(v["time"], "time")
        r.devEUI = fields.hex(info["devEui"], "deviceInfo.devEui") { (s: String) throws(InputError) in try EUI64(hex: s) }
        r.devAddr = fields.hex(v["devAddr"], "devAddr") { (s: String) throws(InputError) in try DevAddr(hex: s) }
        r.fport = fields.integer(v["fPort"], "fPort", in: 0...255).map { UInt8($0) }
        r.fcnt = UInt32(fields.integer(v["fCnt"], "fCnt", in: 0...Int64(UInt32.max)) ?? 0)
        if let b = v["data"]?.string {
            guard let bytes = try? Base64.decode(b) else {
                queue.append(.rejected(reason: .invalidBase64, detail: "data is not base64", at: at))
                return
            }
            r.frmPayload = bytes
        } else {
            r.frmPayload = []
        }
        if let rx = v["rxInfo"]?.elements {
            for g in rx {
                var id = "?"
                if let s = g["gatewayId"]?.string { id = s }
                var rssi: Double?, snr: Double?
                if let x = g["rssi"]?.number { rssi = x }
                if let x = g["snr"]?.number { snr = x }
                r.receptions.append(GatewayReception(gateway: id, rssi: rssi, snr: snr))
            }
        }
        if let tx = v["txInfo"] {
            r.frequencyHz = fields.integer(tx["frequency"], "txInfo.frequency", in: 1...10_000_000_000)
            if let lora = tx["modulation"]?["lora"] {
                r.spreadingFactor = fields.integer(lora["spreadingFactor"], "spreadingFactor", in: 0...255).map { Int($0) }
                r.bandwidthHz = fields.integer(lora["bandwidth"], "bandwidth", in: 0...10_000_000).map { Int($0) }
                if let cr = lora["codeRate"]?.string { r.codingRate = cr.replacingOccurrences(of: "CR_", with: "").replacingOccurrences(of: "_", with: "/") }
            }
        }
        queue.append(.checked(r, fields.errors))
    }
}

// MARK: - Session logs

/// The harness's own serial session logs (`flash-test --log`): every payload the board's radio accepted
/// (`ATC+PAYLOAD=port:hex`), with the airtime of its transmission (`+EVT:TX=start,end`).
public final class SessionLogReader: TraceReader {
    private let lines: LineInput
    private var start: Nanoseconds?
    private var lastTX: (start: Int64, end: Int64)?
    private var reportedTruncation = false

    init(path: String) throws(InputError) { lines = try LineInput(path: path) }

    public func next() throws(InputError) -> TraceItem? {
        while true {
            guard let raw = try lines.next() else {
                if lines.truncated && !reportedTruncation { reportedTruncation = true; return .truncatedGzip(lines.path, at: lines.offset) }
                return nil
            }
            let at = InputLocation.line(file: lines.path, line: lines.lineNumber)
            let text = String(decoding: raw, as: UTF8.self)
            if text.hasPrefix("#") {
                if text.hasPrefix("# started ") { start = TraceTime.parse(String(text.dropFirst(10))) }
                continue
            }
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let secs = Double(parts[0]), secs.isFinite, secs >= 0, secs < 1e9, parts[1] == "<" || parts[1] == ">" else {
                return .rejected(reason: .malformedLine, detail: "not a session log record (seconds, > or <, bytes)", at: at)
            }
            guard parts[1] == "<" else { continue }
            guard let bytes = ByteEscapes.unescape(parts[2]) else { return .rejected(reason: .malformedLine, detail: "bad escape in the record", at: at) }
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
            if line.hasPrefix("+EVT:TX=") {
                let v = line.dropFirst(8).split(separator: ",")
                if v.count == 2, let a = Int64(v[0]), let b = Int64(v[1]) { lastTX = (a, b) }
                continue
            }
            if line.hasPrefix("ATC+PAYLOAD=") {
                let v = line.dropFirst(12).split(separator: ":", maxSplits: 1)
                guard v.count == 2, let port = UInt8(v[0]), let payload = try? Hex.decode(String(v[1])) else {
                    return .rejected(reason: .malformedLine, detail: "unreadable ATC+PAYLOAD line", at: at)
                }
                var r = TraceRecord(format: .serial, source: at)
                r.time = start.map { $0 + Int64(secs * 1e9) }
                r.fport = port
                r.frmPayload = payload
                if let tx = lastTX, tx.end >= tx.start, tx.end - tx.start < 3_600_000 { r.statedAirtime = (tx.end - tx.start) * Time.millisecond }
                return .record(r)
            }
        }
    }
}
