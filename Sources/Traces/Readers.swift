import Foundation
import HarnessCore
import LoRaWAN
import Serial

/// Reads a capture item by item.
public protocol TraceReader: AnyObject {
    /// The next record or rejected piece; nil at the end. Throws only when the file itself cannot be read.
    func next() throws(InputError) -> TraceItem?
}

public enum TraceFormatChoice: String, Sendable, CaseIterable {
    case auto, semtech, tts, chirpstack, pcap, serial
}

public enum TraceReaders {
    /// How many bytes are looked at to recognise a format (a pretty-printed document may put its telling field
    /// far from the start).
    static let detectionPrefix = 64 * 1024

    /// A reader for a file (`-` for standard input): the format from `choice`, or recognised from the content.
    /// The file is opened once: pipes and process substitution work, the bytes looked at are not read twice.
    public static func open(path: String, choice: TraceFormatChoice = .auto, userLinkType: UInt32? = nil,
                            gateway: String = "gateway") throws(InputError) -> TraceReader {
        try open(try ByteInput(path: path), choice: choice, userLinkType: userLinkType, gateway: gateway)
    }

    /// A reader for bytes already opened (a file, standard input, or bytes in memory: `ByteInput(bytes:name:)`).
    public static func open(_ input: ByteInput, choice: TraceFormatChoice = .auto, userLinkType: UInt32? = nil,
                            gateway: String = "gateway") throws(InputError) -> TraceReader {
        var format = choice
        if format == .auto {
            if input.isStream {
                // A pipe (`tail -f … | loraharness replay -`): the format from the first bytes that tell it, without
                // waiting for 64 KiB that may come late or never.
                var head = try input.peekMore(detectionPrefix)
                while (try? detect(head, name: input.path)) == nil, head.count < detectionPrefix, !input.atEnd {
                    head = try input.peekMore(detectionPrefix)
                }
                format = try detect(head, name: input.path)
            } else {
                format = try detect(try input.peek(detectionPrefix), name: input.path)
            }
        }
        switch format {
        case .pcap: return PcapReader(input: input, userLinkType: userLinkType)
        case .serial: return SessionLogReader(input: input)
        case .semtech: return JSONTraceReader(input: input, format: .semtech, gateway: gateway)
        case .tts: return JSONTraceReader(input: input, format: .tts, gateway: gateway)
        case .chirpstack: return JSONTraceReader(input: input, format: .chirpstack, gateway: gateway)
        case .auto: throw InputError("cannot tell the trace format; give --format", at: .file(input.path))
        }
    }

    /// Recognises the format of a file from its first bytes (after gzip).
    public static func detect(path: String) throws(InputError) -> TraceFormatChoice {
        let input = try ByteInput(path: path)
        defer { input.close() }
        return try detect(try input.peek(detectionPrefix), name: input.path)
    }

    /// Recognises the format from the first bytes of a stream.
    public static func detect(_ head: [UInt8], name: String) throws(InputError) -> TraceFormatChoice {
        if head.count >= 4 {
            let m = UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3])
            if [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0x0A0D_0D0A].contains(m) { return .pcap }
        }
        guard !head.isEmpty else { throw InputError("the trace is empty: no bytes to read", at: .file(name)) }
        let text = String(decoding: head, as: UTF8.self)
        if text.hasPrefix("# loraharness session log") { return .serial }
        if text.contains("\"rxpk\"") || text.contains("\"txpk\"") { return .semtech }
        if text.contains("\"uplink_message\"") || text.contains("\"end_device_ids\"") { return .tts }
        if text.contains("\"deviceInfo\"") || text.contains("\"deduplicationId\"") { return .chirpstack }
        throw InputError("cannot tell the trace format from its content (not pcap, pcapng, a session log, Semtech rxpk, "
                         + "The Things Stack or ChirpStack JSON); give --format", at: .file(name))
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
        // Floor division without the `ns − 999,999,999` that overflows at the start of the Int64 range.
        var secs = ns / 1_000_000_000, frac = ns % 1_000_000_000
        if frac < 0 { secs -= 1; frac += 1_000_000_000 }
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

/// Semtech packet-forwarder `rxpk` and `txpk` lines, The Things Stack v3 messages and ChirpStack v4 events, as
/// NDJSON (one message per line, streamed) or as one JSON document (an array of messages, or one pretty-printed
/// object as copied from a console or documentation, read whole).
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
    /// Lines kept while finding out whether a first object spans several lines; replayed one by one when the
    /// whole is not one document either.
    private var heldLines: [(number: Int, bytes: [UInt8])] = []
    private var heldIndex = 0
    private var sawContent = false
    /// A document read whole is bounded (NDJSON streams without limit).
    static let maxDocumentBytes = 256 << 20

    init(input: ByteInput, format: TraceRecord.Format, gateway: String) {
        self.format = format
        self.gateway = gateway
        lines = LineInput(input: input)
    }

    convenience init(path: String, format: TraceRecord.Format, gateway: String) throws(InputError) {
        self.init(input: try ByteInput(path: path), format: format, gateway: gateway)
    }

    private func nextLine() throws(InputError) -> (number: Int, bytes: ArraySlice<UInt8>)? {
        if heldIndex < heldLines.count {
            let l = heldLines[heldIndex]
            heldIndex += 1
            if heldIndex == heldLines.count { heldLines = []; heldIndex = 0 }
            return (l.number, l.bytes[...])
        }
        guard let raw = try lines.next() else { return nil }
        return (lines.lineNumber, raw)
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
            guard let (number, raw) = try nextLine() else {
                if lines.truncated && !reportedTruncation { reportedTruncation = true; return .truncatedGzip(lines.path, at: lines.offset) }
                return nil
            }
            let at = InputLocation.line(file: lines.path, line: number)
            guard let first = raw.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            if !sawContent {
                sawContent = true
                if raw[first] == UInt8(ascii: "[") || raw[first] == UInt8(ascii: "{") {
                    if try readDocument(firstLine: number, raw) { continue }
                    continue   // not one document: its lines are held and read one by one
                }
            }
            // A packet-forwarder log line may carry a prefix (`JSON up: {...}`): the JSON starts at the first brace.
            guard let brace = raw.firstIndex(of: UInt8(ascii: "{")) else {
                // A packet forwarder's log has its own messages between the JSON lines.
                queue.append(format == .semtech ? .skipped : .rejected(reason: .malformedLine, detail: "no JSON object on the line", at: at))
                continue
            }
            do {
                let v = try tape.parse(raw[brace...])
                // A sniffer's log names the gateway before the JSON: `0xB827EBAFAC000001: {"rxpk":…}`.
                if format == .semtech, let eui = JSONTraceReader.gatewayPrefix(raw[raw.startIndex..<brace]) {
                    semtech(v, at: at, gateway: eui)
                } else {
                    handle(v, at: at)
                }
            } catch {
                // A forwarder's own message that happens to hold a brace is a log line, not a broken record.
                if format == .semtech && brace != first && !JSONTraceReader.mentionsPacket(raw) { queue.append(.skipped); continue }
                queue.append(.rejected(reason: .malformedLine, detail: "not valid JSON: \(error.message) at column \(error.offset + brace - raw.startIndex + 1)", at: at))
            }
        }
        queueHead = 1
        return queue[0]
    }

    /// A gateway EUI written before a line's JSON (`0xB827EBAFAC000001: `), as the EUI's 16 hex digits.
    static func gatewayPrefix(_ p: ArraySlice<UInt8>) -> String? {
        var t = String(decoding: p, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(":") else { return nil }
        t.removeLast()
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t.removeFirst(2) }
        guard t.count == 16, let e = try? EUI64(hex: t) else { return nil }
        return e.description
    }

    /// Whether a line names a packet-forwarder record (so that a broken one is reported, not skipped).
    static func mentionsPacket(_ raw: ArraySlice<UInt8>) -> Bool {
        let t = String(decoding: raw, as: UTF8.self)
        return t.contains("rxpk") || t.contains("txpk") || t.contains("JSON up") || t.contains("JSON down")
    }

    /// The first line opens an array, or an object that does not close on its line: read the whole input as one
    /// document. True when it was one; false when the lines were held to be read one by one (NDJSON whose first
    /// line happens to be broken).
    private func readDocument(firstLine: Int, _ raw: ArraySlice<UInt8>) throws(InputError) -> Bool {
        let isArray = raw.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "[")
        if !isArray {
            // One object on its line: NDJSON.
            if (try? tape.parse(raw)) != nil { heldLines = [(firstLine, Array(raw))]; heldIndex = 0; return false }
        }
        var all = Array(raw)
        var held: [(Int, [UInt8])] = [(firstLine, Array(raw))]
        while let more = try lines.next() {
            all.append(0x0A)
            all += more
            held.append((lines.lineNumber, Array(more)))
            if all.count > JSONTraceReader.maxDocumentBytes {
                throw InputError("a JSON document over \(JSONTraceReader.maxDocumentBytes >> 20) MiB is not read whole; write it as NDJSON (one record per line)", at: .file(lines.path))
            }
        }
        do throws(JSONParser.Failure) {
            let doc = try tape.parse(all[...])
            wholeDocument = doc.isArray ? doc.elements : [doc]
            return true
        } catch {
            // An array, or an object whose first line parsed without error up to its end: one broken document, one
            // rejection with its place. An error within the first line: NDJSON whose first line is broken.
            if isArray || error.offset > raw.count {
                var line = 1
                for b in all.prefix(error.offset) where b == 0x0A { line += 1 }
                queue.append(.rejected(reason: .malformedLine, detail: "not valid JSON: \(error.message) (the document from line \(firstLine), byte \(error.offset))",
                                       at: .line(file: lines.path, line: firstLine + line - 1)))
                wholeDocument = []
                return true
            }
            heldLines = held
            heldIndex = 0
            return false
        }
    }

    func handle(_ v: JSONView, at: InputLocation) {
        switch format {
        case .semtech: semtech(v, at: at, gateway: gateway)
        case .tts: tts(v, at: at)
        case .chirpstack: chirpstack(v, at: at)
        default: queue.append(.rejected(reason: .unknownFormat, detail: "not a JSON format", at: at))
        }
    }

    // Semtech packet forwarder (PROTOCOL.TXT, sections 4 and 6): {"rxpk":[…]} upstream, {"txpk":{…}} downstream
    // (the forwarder logs what it was told to send as `JSON down:`), {"stat":{…}} the gateway's status.
    func semtech(_ v: JSONView, at: InputLocation, gateway: String) {
        if let tx = v["txpk"] {
            // One object (PROTOCOL.TXT); some servers send an array of them.
            if tx.isArray { queue += tx.elements.map { JSONTraceReader.txpk($0, at: at, gateway: gateway) } } else { queue.append(JSONTraceReader.txpk(tx, at: at, gateway: gateway)) }
            return
        }
        let items = JSONTraceReader.rxpk(v, at: at, gateway: gateway)
        queue += items.isEmpty ? [.skipped] : items
    }

    /// The radio settings of an rxpk or txpk: `modu`, `datr` (`SF7BW125` for LoRa, a bit rate for FSK), `codr`.
    static func radio(_ p: JSONView, _ name: String, into r: inout TraceRecord, fields: inout FieldReader) -> TraceItem? {
        if let f = p["freq"] {
            if let mhz = f.number, mhz.isFinite, mhz > 0, mhz < 10_000 { r.frequencyHz = Int64((mhz * 1e6 / 100).rounded()) * 100 } else {
                fields.errors.append("\(name).freq \(f.number.map(numberText) ?? "(not a number)") is not a frequency in MHz")
            }
        }
        let modu = p["modu"]?.string ?? "LORA"
        switch modu {
        case "FSK":
            // LoRaWAN's FSK data rate (EU868 DR7): `datr` is the bit rate as a number.
            if let d = p["datr"] {
                if let bps = d.number, bps.isFinite, bps >= 1, bps <= 1_000_000, bps == bps.rounded() { r.fskBitrate = Int(bps) } else {
                    fields.errors.append("\(name).datr \(d.number.map(numberText) ?? d.string.map { "'\($0)'" } ?? "(not a number)") is not an FSK bit rate")
                }
            } else {
                r.fskBitrate = 50_000
            }
        case "LORA":
            if let datr = p["datr"] {
                // "SF7BW125": the bandwidth in kHz stays a small number (a long one is not a bandwidth, not an overflow).
                let u = datr.string?.uppercased() ?? ""
                if let sfr = u.range(of: "SF"), let bwr = u.range(of: "BW"), sfr.upperBound <= bwr.lowerBound,
                   let sf = Int(u[sfr.upperBound..<bwr.lowerBound]), u[bwr.upperBound...].count <= 4, let khz = Int(u[bwr.upperBound...]) {
                    r.spreadingFactor = sf
                    r.bandwidthHz = khz * 1000
                } else {
                    fields.errors.append("\(name).datr \(datr.string.map { "'\($0)'" } ?? "(not a string)") is not a LoRa data rate such as SF7BW125")
                }
            }
            // "OFF": the forwarder had no coding rate to report (a packet it could not read whole).
            if let codr = p["codr"]?.string, codr != "OFF" { r.codingRate = codr }
        default:
            return .rejected(reason: .notLoRaWAN, detail: "\(name): \(modu) modulation (LoRaWAN uses LORA or FSK)", at: r.source)
        }
        return nil
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
            var r = TraceRecord(format: .semtech, source: here)
            var fields = FieldReader()
            r.phyPayload = bytes
            if let bad = radio(p, "rxpk[\(i)]", into: &r, fields: &fields) { out.append(bad); continue }
            // stat: 1 CRC OK, -1 CRC failed, 0 no CRC.
            if let stat = p["stat"] {
                switch stat.number {
                case 1: r.crc = .ok
                case -1: r.crc = .bad
                case 0: r.crc = CRCStatus.none
                default: fields.errors.append("rxpk[\(i)].stat \(stat.number.map(numberText) ?? "(not a number)") is not 1, 0 or -1")
                }
            }
            r.time = fields.time(p["time"], "rxpk[\(i)].time")
            if let c = p["chan"]?.number, c.isFinite, c >= 0, c < 256 { r.channel = Int(c) }
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

    /// A downlink the forwarder was told to send (PULL_RESP `txpk`, PROTOCOL.TXT §6): the PHYPayload and its radio
    /// settings; the time is the gateway's own counter (`tmst`) or GPS time, so none is kept.
    static func txpk(_ p: JSONView, at: InputLocation, gateway: String) -> TraceItem {
        guard let data = p["data"]?.string else { return .rejected(reason: .malformedLine, detail: "txpk has no data", at: at) }
        guard let bytes = try? Base64.decode(data) else { return .rejected(reason: .invalidBase64, detail: "txpk.data is not base64", at: at) }
        if let size = p["size"]?.number, size != Double(bytes.count) {
            return .rejected(reason: .truncatedRecord, detail: "txpk: size \(numberText(size)) but \(bytes.count) bytes of data", at: at)
        }
        var r = TraceRecord(format: .semtech, source: at)
        var fields = FieldReader()
        r.uplink = false
        r.phyPayload = bytes
        if let bad = radio(p, "txpk", into: &r, fields: &fields) { return bad }
        // Downlinks are sent without a payload CRC (`ncrc` true, the LoRaWAN default for downlinks).
        r.crc = CRCStatus.none
        r.receptions = [GatewayReception(gateway: gateway, rssi: nil, snr: nil)]
        return .checked(r, fields.errors)
    }

    /// The Things Stack messages other than uplinks (ApplicationUp's other members), counted by kind.
    static let ttsEvents = ["join_accept", "downlink_ack", "downlink_nack", "downlink_sent", "downlink_failed", "downlink_queued",
                            "downlink_queue_invalidated", "location_solved", "service_data", "uplink_normalized"]

    // The Things Stack v3 uplink message (as.up.data.forward, storage integration, webhooks): top level, under
    // "result", or under "data". Protocol Buffers' JSON omits zero values: a missing f_cnt or f_port is 0.
    func tts(_ v: JSONView, at: InputLocation) {
        var m = v
        if let r = v["result"] { m = r }
        if let d = m["data"], d["end_device_ids"] != nil || d["uplink_message"] != nil { m = d }
        guard let up = m["uplink_message"] else {
            if let kind = JSONTraceReader.ttsEvents.first(where: { m[$0] != nil }) {
                var r = TraceRecord(format: .tts, source: at)
                var fields = FieldReader()
                r.event = kind
                r.uplink = false
                r.time = fields.time(m["received_at"] ?? m[kind]?["received_at"], "received_at")
                if let ids = m["end_device_ids"] {
                    r.devEUI = fields.hex(ids["dev_eui"], "end_device_ids.dev_eui") { (s: String) throws(InputError) in try EUI64(hex: s) }
                    r.devAddr = fields.hex(ids["dev_addr"], "end_device_ids.dev_addr") { (s: String) throws(InputError) in try DevAddr(hex: s) }
                }
                if let fc = m[kind]?["f_cnt"] { r.fcnt = fields.integer(fc, "\(kind).f_cnt", in: 0...Int64(UInt32.max)).map { UInt32($0) } }
                queue.append(.checked(r, fields.errors))
                return
            }
            queue.append(.rejected(reason: .malformedLine, detail: "no uplink_message nor another The Things Stack message ("
                                   + JSONTraceReader.ttsEvents.joined(separator: ", ") + ")", at: at))
            return
        }
        var r = TraceRecord(format: .tts, source: at)
        var fields = FieldReader()
        r.time = fields.time(m["received_at"] ?? up["received_at"], "received_at")
        if let ids = m["end_device_ids"] {
            r.devEUI = fields.hex(ids["dev_eui"], "end_device_ids.dev_eui") { (s: String) throws(InputError) in try EUI64(hex: s) }
            r.devAddr = fields.hex(ids["dev_addr"], "end_device_ids.dev_addr") { (s: String) throws(InputError) in try DevAddr(hex: s) }
        }
        r.fport = fields.integer(up["f_port"], "f_port", in: 0...255).map { UInt8($0) } ?? 0
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
            for (i, g) in md.enumerated() {
                var id = "?"
                if let s = g["gateway_ids"]?["gateway_id"]?.string { id = s }
                var rssi: Double?, snr: Double?
                if let x = (g["rssi"] ?? g["channel_rssi"])?.number { rssi = x }
                if let x = g["snr"]?.number { snr = x }
                r.receptions.append(GatewayReception(gateway: id, rssi: rssi, snr: snr))
                // Without received_at, the first gateway's reception time.
                if r.time == nil, let t = g["time"] { r.time = fields.time(t, "rx_metadata[\(i)].time") }
            }
        }
        if let s = up["settings"] {
            r.frequencyHz = fields.integer(s["frequency"], "settings.frequency", in: 1...10_000_000_000)
            if let lora = s["data_rate"]?["lora"] {
                r.spreadingFactor = fields.integer(lora["spreading_factor"], "spreading_factor", in: 0...255).map { Int($0) }
                r.bandwidthHz = fields.integer(lora["bandwidth"], "bandwidth", in: 0...10_000_000).map { Int($0) }
                if let cr = lora["coding_rate"]?.string { r.codingRate = cr }
            } else if let fsk = s["data_rate"]?["fsk"] {
                r.fskBitrate = fields.integer(fsk["bit_rate"], "fsk.bit_rate", in: 1...1_000_000).map { Int($0) } ?? 50_000
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

    /// ChirpStack v4 integration events other than `up`, told apart by the fields only they carry (the event type
    /// is in the MQTT topic or HTTP query, not the body): ChirpStack's integration.proto.
    static func chirpstackKind(_ v: JSONView) -> String {
        if v["rxInfo"] != nil || v["txInfo"] != nil && v["queueItemId"] == nil && v["downlinkId"] == nil || v["fCnt"] != nil || v["dr"] != nil || v["data"] != nil { return "up" }
        if v["downlinkId"] != nil || v["gatewayId"] != nil && v["queueItemId"] != nil { return "txack" }
        if v["acknowledged"] != nil || v["queueItemId"] != nil { return "ack" }
        if v["level"] != nil || v["code"] != nil && v["description"] != nil { return "log" }
        if v["margin"] != nil || v["batteryLevel"] != nil || v["externalPowerSource"] != nil || v["batteryLevelUnavailable"] != nil { return "status" }
        if v["location"] != nil { return "location" }
        if v["integrationName"] != nil || v["eventType"] != nil { return "integration" }
        if v["devAddr"] != nil { return "join" }
        return "up"
    }

    // ChirpStack v4 events (JSON integration): `up`, and the others counted by kind.
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
        let kind = JSONTraceReader.chirpstackKind(v)
        guard kind == "up" else {
            r.event = kind
            r.uplink = false
            if let fc = v["fCntDown"] { r.fcnt = fields.integer(fc, "fCntDown", in: 0...Int64(UInt32.max)).map { UInt32($0) } ?? 0 }
            queue.append(.checked(r, fields.errors))
            return
        }
        r.fport = fields.integer(v["fPort"], "fPort", in: 0...255).map { UInt8($0) } ?? 0
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
            for (i, g) in rx.enumerated() {
                var id = "?"
                if let s = g["gatewayId"]?.string { id = s }
                var rssi: Double?, snr: Double?
                if let x = g["rssi"]?.number { rssi = x }
                if let x = g["snr"]?.number { snr = x }
                r.receptions.append(GatewayReception(gateway: id, rssi: rssi, snr: snr))
                if r.time == nil, let t = g["gwTime"] ?? g["nsTime"] { r.time = fields.time(t, "rxInfo[\(i)].gwTime") }
            }
        }
        if let tx = v["txInfo"] {
            r.frequencyHz = fields.integer(tx["frequency"], "txInfo.frequency", in: 1...10_000_000_000)
            if let lora = tx["modulation"]?["lora"] {
                r.spreadingFactor = fields.integer(lora["spreadingFactor"], "spreadingFactor", in: 0...255).map { Int($0) }
                r.bandwidthHz = fields.integer(lora["bandwidth"], "bandwidth", in: 0...10_000_000).map { Int($0) }
                if let cr = lora["codeRate"]?.string { r.codingRate = cr.replacingOccurrences(of: "CR_", with: "").replacingOccurrences(of: "_", with: "/") }
            } else if let fsk = tx["modulation"]?["fsk"] {
                r.fskBitrate = fields.integer(fsk["datarate"], "fsk.datarate", in: 1...1_000_000).map { Int($0) } ?? 50_000
            }
        }
        queue.append(.checked(r, fields.errors))
    }
}

// MARK: - Session logs

/// The harness's own serial session logs (`flash-test --log`), for any dialect profile: the profile named in the
/// log's header says how the board was told to send (its `send` command, and `setPort` where the port is set apart)
/// and how it reported the transmission (`txDone`, or `error`). Each send the board reported done is a record: its
/// FPort and FRMPayload, the DevEUI the session read or set, the time. This project's firmware also reports
/// `ATC+PAYLOAD=port:hex` lines and the airtime of each transmission (`+EVT:TX=start,end`).
public final class SessionLogReader: TraceReader {
    private let lines: LineInput
    private var start: Nanoseconds?
    private var lastTX: (start: Int64, end: Int64)?
    private var reportedTruncation = false
    private var profile: DialectProfile?
    private var sendPattern: NSRegularExpression?
    private var portPattern: NSRegularExpression?
    private var devEUI: EUI64?
    private var port: UInt8?
    /// A send the board has not yet reported done or refused.
    private var pending: (port: UInt8?, payload: [UInt8], seconds: Double, at: InputLocation)?
    private var queue: [TraceItem] = []

    init(input: ByteInput) { lines = LineInput(input: input) }

    /// A command template as a regular expression: `{port}` and `{hex}` captured, other placeholders any text.
    static func pattern(_ template: String) -> NSRegularExpression? {
        var out = "^"
        var rest = Substring(template)
        var groups: [String] = []
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += NSRegularExpression.escapedPattern(for: String(rest[..<open]))
            let name = String(rest[rest.index(after: open)..<close])
            groups.append(name)
            switch name {
            case "port": out += "(?<port>[0-9]{1,3})"
            case "hex": out += "(?<hex>[0-9A-Fa-f]*)"
            case "devEUI": out += "(?<devEUI>[0-9A-Fa-f]{16})"
            default: out += ".*?"
            }
            rest = rest[rest.index(after: close)...]
        }
        out += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
        return try? NSRegularExpression(pattern: out)
    }

    static func named(_ re: NSRegularExpression, _ line: String, _ name: String) -> String? {
        let ns = line as NSString
        guard let m = re.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { return nil }
        let r = m.range(withName: name)
        return r.location == NSNotFound ? nil : ns.substring(with: r)
    }

    private func matches(_ role: String, _ line: String) -> Bool {
        profile?.matchers(role).contains { $0.match(line) != nil } ?? false
    }

    private func record(port: UInt8?, payload: [UInt8], seconds: Double, at: InputLocation) -> TraceItem {
        var r = TraceRecord(format: .serial, source: at)
        r.time = start.map { $0.addingReportingOverflow(Int64(seconds * 1e9)).partialValue }
        r.fport = port
        r.frmPayload = payload
        r.devEUI = devEUI
        if let tx = lastTX, tx.end >= tx.start, tx.end - tx.start < 3_600_000 { r.statedAirtime = (tx.end - tx.start) * Time.millisecond }
        return .record(r)
    }

    public func next() throws(InputError) -> TraceItem? {
        while queue.isEmpty {
            guard let raw = try lines.next() else {
                if lines.truncated && !reportedTruncation { reportedTruncation = true; return .truncatedGzip(lines.path, at: lines.offset) }
                return nil
            }
            let at = InputLocation.line(file: lines.path, line: lines.lineNumber)
            let text = String(decoding: raw, as: UTF8.self)
            if text.hasPrefix("#") {
                if text.hasPrefix("# started ") { start = TraceTime.parse(String(text.dropFirst(10))) }
                if let r = text.range(of: ", profile "), profile == nil {
                    let name = String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                    do throws(InputError) {
                        let p = try DialectProfile.load(name)
                        profile = p
                        sendPattern = p.commands["send"].flatMap(SessionLogReader.pattern)
                        portPattern = p.commands["setPort"].flatMap(SessionLogReader.pattern)
                    } catch {
                        return .rejected(reason: .unknownFormat, detail: "the log names profile '\(name)', which cannot be loaded: \(error.message); its sends cannot be read", at: at)
                    }
                }
                continue
            }
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let secs = Double(parts[0]), secs.isFinite, secs >= 0, secs < 1e9, parts[1] == "<" || parts[1] == ">" else {
                return .rejected(reason: .malformedLine, detail: "not a session log record (seconds, > or <, bytes)", at: at)
            }
            guard let bytes = ByteEscapes.unescape(parts[2]) else { return .rejected(reason: .malformedLine, detail: "bad escape in the record", at: at) }
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
            if parts[1] == ">" {
                // A new command: a send still pending was not reported done.
                pending = nil
                if let re = portPattern, let p = SessionLogReader.named(re, line, "port"), let v = UInt8(p) { port = v; continue }
                if let re = sendPattern, line.range(of: "<redacted>") == nil, let hex = SessionLogReader.named(re, line, "hex") {
                    guard let payload = try? Hex.decode(hex) else { return .rejected(reason: .malformedLine, detail: "a send whose payload is not hex", at: at) }
                    let p = SessionLogReader.named(re, line, "port").flatMap { UInt8($0) } ?? port
                    pending = (p, payload, secs, at)
                    continue
                }
                if let re = profile?.commands["setDevEUI"].flatMap(SessionLogReader.pattern), let e = SessionLogReader.named(re, line, "devEUI") {
                    devEUI = try? EUI64(hex: e)
                }
                continue
            }
            // From the board.
            if let m = profile?.matchers("devEUI").lazy.compactMap({ $0.match(line) }).first, m.count > 1, let e = try? EUI64(hex: m[1]) { devEUI = e; continue }
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
                // This project's firmware reports what its radio sent: the record, whatever the send command was.
                pending = nil
                return record(port: port, payload: payload, seconds: secs, at: at)
            }
            if let p = pending {
                if matches("txDone", line) {
                    pending = nil
                    return record(port: p.port, payload: p.payload, seconds: p.seconds, at: p.at)
                }
                if matches("txFailed", line) || matches("error", line) { pending = nil }
            }
        }
        return queue.removeFirst()
    }
}
