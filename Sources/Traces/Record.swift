import Foundation
import HarnessCore
import LoRaWAN

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
    public var uplink = true

    public init(format: Format, source: InputLocation) { self.format = format; self.source = source }

    /// The device key for per-device checks: DevEUI when known, else DevAddr.
    public var deviceKey: String? {
        if let devEUI { return devEUI.description }
        if let devAddr { return "addr:" + devAddr.description }
        return nil
    }
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
}
