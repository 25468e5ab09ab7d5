import Foundation
import HarnessCore
import LoRaWAN
import RadioLink

/// One gateway's reception of a packet.
public struct GatewayReception: Sendable, Equatable, Codable {
    public var gateway: String
    public var rssi: Double?
    public var snr: Double?
    public init(gateway: String, rssi: Double?, snr: Double?) { self.gateway = gateway; self.rssi = rssi; self.snr = snr }
}

/// A packet from any capture, normalised: what the radio side says (time, frequency, modulation, receptions) and
/// either the whole PHYPayload (gateway logs, pcaps) or the network server's view (DevEUI, DevAddr, FPort, FCnt and
/// the FRMPayload already decrypted, no MIC).
public struct TraceRecord: Sendable, Equatable {
    public enum Format: String, Sendable, Codable, CaseIterable {
        case semtech, tts, chirpstack, pcap, serial, ndjson
    }
    public var format: Format
    /// Where it came from: file and line, or file and byte offset.
    public var source: InputLocation
    /// Unix time, nanoseconds (nil when the capture has none).
    public var time: Nanoseconds?
    public var receptions: [GatewayReception] = []
    public var frequencyHz: Int64?
    public var spreadingFactor: Int?
    public var bandwidthHz: Int?
    /// `4/5` … `4/8`.
    public var codingRate: String?
    public var phyPayload: [UInt8]?
    public var devEUI: EUI64?
    public var devAddr: DevAddr?
    public var fport: UInt8?
    public var fcnt: UInt32?
    /// Decrypted application payload (network-server exports; or after decryption with keys).
    public var frmPayload: [UInt8]?
    /// Airtime the capture states (The Things Stack's consumed_airtime; the harness's TX times).
    public var statedAirtime: Nanoseconds?
    /// False for what a gateway sent (a packet forwarder's `txpk`) or a network server's downlink events.
    public var uplink = true
    /// FSK (EU868 DR7): the bit rate; LoRa fields are then absent.
    public var fskBitrate: Int?
    /// What the radio said of the payload CRC (packet-forwarder `stat`, LoRaTap v1 flags); nil when not stated.
    public var crc: CRCStatus?
    /// The modem's IF channel (packet-forwarder `chan`, LoRaTap v1 `if_channel`).
    public var channel: Int?
    /// A network-server event that is not an uplink (`join_accept`, `downlink_ack`, ChirpStack `txack`, …): its kind.
    public var event: String?

    public init(format: Format, source: InputLocation) { self.format = format; self.source = source }

    /// The device key for per-device checks: DevEUI when known, else DevAddr.
    public var deviceKey: String? {
        if let devEUI { return devEUI.description }
        if let devAddr { return "addr:" + devAddr.description }
        return nil
    }
}

/// The payload CRC as the receiving radio reported it.
public enum CRCStatus: String, Sendable, Codable {
    case ok, bad, none
}

/// What a reader yields: a record, or a piece of input it could not use (counted, with where and why).
public enum TraceItem: Sendable {
    case record(TraceRecord)
    /// A line that is not a record and not meant to be (a packet forwarder's own log messages).
    case skipped
    case rejected(reason: RejectReason, detail: String, at: InputLocation)
}

/// Why input was rejected; the report counts each.
public enum RejectReason: String, Sendable, Codable, CaseIterable {
    case malformedLine = "malformed_line"
    case invalidBase64 = "invalid_base64"
    case truncatedRecord = "truncated_record"
    case unknownFormat = "unknown_format"
    case notLoRaWAN = "not_lorawan"
    case badFrame = "bad_frame"
    case micMismatch = "mic_mismatch"
    case replay
    case unsupportedLinkType = "unsupported_link_type"
    /// A field with a value it cannot have (a time that is not one, SF 99, a negative counter).
    case invalidField = "invalid_field"
    /// The radio received the packet with a failed payload CRC (packet-forwarder `stat: -1`, LoRaTap v1 CRC bad).
    case crcFailed = "crc_failed"
    /// A Class B beacon whose CRCs do not hold.
    case badBeacon = "bad_beacon"
}

extension TraceRecord {
    /// The first radio setting outside what LoRa allows, described; nil when every one given is valid.
    public var invalidRadioSetting: String? {
        if let sf = spreadingFactor, !(5...12).contains(sf) { return "spreading factor \(sf) (LoRa has SF5 to SF12)" }
        if let b = fskBitrate, !(1...1_000_000).contains(b) { return "FSK bit rate \(b) bit/s" }
        if let bw = bandwidthHz, LoRaBandwidth(hertz: bw) == nil {
            return "bandwidth \(bw) Hz (not a LoRa bandwidth)"
        }
        if let cr = codingRate {
            switch cr {
            case "4/5", "4/6", "4/7", "4/8": break
            default: return "coding rate '\(cr)' (4/5 to 4/8)"
            }
        }
        if let f = frequencyHz, !(1...10_000_000_000).contains(f) { return "frequency \(f) Hz" }
        return nil
    }
}

extension TraceItem {
    /// What a reader yields last for a gzip file cut short (the records before it were read).
    static func truncatedGzip(_ path: String, at offset: Int) -> TraceItem {
        .rejected(reason: .truncatedRecord, detail: "the gzip stream ends early (no trailer): the file was cut short", at: .byteOffset(source: path, offset: offset))
    }

    /// The record, or its rejection when a field was unreadable or a radio setting impossible.
    static func checked(_ r: TraceRecord, _ fieldErrors: [String] = []) -> TraceItem {
        if let first = fieldErrors.first { return .rejected(reason: .invalidField, detail: first, at: r.source) }
        if let bad = r.invalidRadioSetting { return .rejected(reason: .invalidField, detail: bad, at: r.source) }
        return .record(r)
    }
}

/// A JSON number as written: whole numbers without ".0".
func numberText(_ x: Double) -> String {
    x.isFinite && x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
}

/// Reading JSON fields into a record, keeping a description of each one that is present but unusable.
struct FieldReader {
    var errors: [String] = []

    mutating func time(_ v: JSONView?, _ name: String) -> Nanoseconds? {
        guard let v else { return nil }
        guard let s = v.string, let t = TraceTime.parse(s) else {
            errors.append("\(name) \(v.string.map { "'\($0)'" } ?? "is not a string and") is not an ISO 8601 time (UTC, years 1678 to 2262)")
            return nil
        }
        return t
    }

    /// A whole number in `range` (JSON numbers, or strings of digits as Protocol Buffers' JSON writes 64-bit ones).
    mutating func integer(_ v: JSONView?, _ name: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let v else { return nil }
        let n = v.number ?? v.string.flatMap { Double($0) }
        guard let n, n.isFinite, n == n.rounded(), n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            errors.append("\(name) \(v.string ?? v.number.map(numberText) ?? "(not a number)") is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int64(n)
    }

    mutating func hex<T>(_ v: JSONView?, _ name: String, _ make: (String) throws(InputError) -> T) -> T? {
        guard let v else { return nil }
        guard let s = v.string, let x = try? make(s) else {
            errors.append("\(name) \(v.string.map { "'\($0)'" } ?? "(not a string)") is not valid hex of the right length")
            return nil
        }
        return x
    }
}
