import HarnessCore

/// One datagram of the Semtech UDP packet-forwarder protocol (Semtech, `PROTOCOL.TXT` of the packet forwarder,
/// protocol versions 1 and 2): byte 0 the protocol version, bytes 1–2 a random token, byte 3 the identifier, then
/// (for the gateway's messages) its 8-byte EUI and (for PUSH_DATA, PULL_RESP, TX_ACK) a JSON object.
///
///   0x00 PUSH_DATA  gateway → server   token, EUI, JSON (`rxpk`, `stat`)
///   0x01 PUSH_ACK   server → gateway   token
///   0x02 PULL_DATA  gateway → server   token, EUI
///   0x03 PULL_RESP  server → gateway   token (zero in version 1), JSON (`txpk`)
///   0x04 PULL_ACK   server → gateway   token
///   0x05 TX_ACK     gateway → server   token, EUI, JSON (`txpk_ack`, optional in version 2)
///
/// Parsing never traps: whatever the bytes, the result is a datagram or an error naming the byte offset.
public enum SemtechDatagram: Sendable, Equatable {
    case pushData(version: UInt8, token: UInt16, gateway: [UInt8], json: JSONValue)
    case pushAck(version: UInt8, token: UInt16)
    case pullData(version: UInt8, token: UInt16, gateway: [UInt8])
    case pullResp(version: UInt8, token: UInt16, json: JSONValue)
    case pullAck(version: UInt8, token: UInt16)
    case txAck(version: UInt8, token: UInt16, gateway: [UInt8], json: JSONValue?)

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "byte \(offset): \(message)" }
    }

    /// The largest datagram a forwarder sends or accepts (its buffers are 65,507 bytes, a UDP payload's maximum).
    public static let maxBytes = 65_507

    public static func parse(_ b: [UInt8]) throws(Failure) -> SemtechDatagram {
        guard b.count >= 4 else { throw Failure(offset: b.count, message: "a datagram is at least 4 bytes, this one is \(b.count)") }
        guard b.count <= maxBytes else { throw Failure(offset: maxBytes, message: "\(b.count) bytes is more than a UDP datagram holds") }
        let version = b[0]
        guard version == 1 || version == 2 else { throw Failure(offset: 0, message: "protocol version \(version) (1 and 2 exist)") }
        let token = UInt16(b[1]) << 8 | UInt16(b[2])
        func gatewayEUI() throws(Failure) -> [UInt8] {
            guard b.count >= 12 else { throw Failure(offset: b.count, message: "the gateway EUI needs 8 bytes, \(b.count - 4) are left") }
            return Array(b[4..<12])
        }
        func object(from start: Int, what: String) throws(Failure) -> JSONValue {
            let value: JSONValue
            do { value = try JSONParser.parse(Array(b[start...])) } catch {
                throw Failure(offset: start + error.offset, message: "\(what): not JSON: \(error.message)")
            }
            guard case .object = value else { throw Failure(offset: start, message: "\(what): the JSON is not an object") }
            return value
        }
        switch b[3] {
        case 0x00:
            let eui = try gatewayEUI()
            return .pushData(version: version, token: token, gateway: eui, json: try object(from: 12, what: "PUSH_DATA"))
        case 0x01:
            return .pushAck(version: version, token: token)
        case 0x02:
            let eui = try gatewayEUI()
            guard b.count == 12 else { throw Failure(offset: 12, message: "PULL_DATA is 12 bytes, this one is \(b.count)") }
            return .pullData(version: version, token: token, gateway: eui)
        case 0x03:
            return .pullResp(version: version, token: token, json: try object(from: 4, what: "PULL_RESP"))
        case 0x04:
            return .pullAck(version: version, token: token)
        case 0x05:
            let eui = try gatewayEUI()
            // Version 2: an empty body (or a lone NUL, as some forwarders send) means "no error".
            let rest = b[12...]
            if rest.isEmpty || rest.allSatisfy({ $0 == 0 }) { return .txAck(version: version, token: token, gateway: eui, json: nil) }
            return .txAck(version: version, token: token, gateway: eui, json: try object(from: 12, what: "TX_ACK"))
        default:
            throw Failure(offset: 3, message: "unknown identifier 0x\(Hex.encode([b[3]]))")
        }
    }

    /// The datagram's bytes (JSON written compactly).
    public var bytes: [UInt8] {
        func head(_ v: UInt8, _ t: UInt16, _ id: UInt8) -> [UInt8] { [v, UInt8(t >> 8), UInt8(t & 0xFF), id] }
        switch self {
        case let .pushData(v, t, g, json): return head(v, t, 0x00) + g + Array(json.compact.utf8)
        case let .pushAck(v, t): return head(v, t, 0x01)
        case let .pullData(v, t, g): return head(v, t, 0x02) + g
        case let .pullResp(v, t, json): return head(v, t, 0x03) + Array(json.compact.utf8)
        case let .pullAck(v, t): return head(v, t, 0x04)
        case let .txAck(v, t, g, json): return head(v, t, 0x05) + g + (json.map { Array($0.compact.utf8) } ?? [])
        }
    }

    /// A PUSH_DATA's uplinks, read by the forwarder log's `rxpk` reader, each with the concentrator's `tmst`
    /// (microseconds, 32 bits, the end of the packet: PROTOCOL.TXT's "RX finished"), which a downlink's time counts from.
    public static func uplinks(_ json: JSONValue, source: String = "PUSH_DATA") -> [(item: TraceItem, tmst: UInt32?)] {
        let tape = JSONTape()
        let text = Array(json.compact.utf8)
        guard let view = try? tape.parse(text[...]) else { return [] }
        let items = JSONTraceReader.rxpk(view, at: .file(source), gateway: "gateway")
        var stamps: [UInt32?] = []
        if case .array(let list)? = json["rxpk"] {
            stamps = list.map { p in p["tmst"]?.numberValue.flatMap { $0 >= 0 && $0 < 4_294_967_296 ? UInt32($0) : nil } }
        }
        return items.enumerated().map { (i, item) in (item, i < stamps.count ? stamps[i] : nil) }
    }

    /// A PULL_RESP's downlink, read by the same `txpk` reader as a forwarder's log (`JSONTraceReader`): a record
    /// with the PHYPayload and its radio settings, or the rejection saying what is wrong.
    public static func downlink(_ json: JSONValue, source: String = "PULL_RESP") -> TraceItem {
        let at = InputLocation.file(source)
        let tape = JSONTape()
        let text = Array(json.compact.utf8)
        guard let view = try? tape.parse(text[...]), let tx = view["txpk"], !tx.isArray, tx.kind == .object else {
            return .rejected(reason: .malformedLine, detail: "PULL_RESP has no txpk object", at: at)
        }
        return JSONTraceReader.txpk(tx, at: at, gateway: "gateway")
    }
}
