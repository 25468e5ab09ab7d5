import HarnessCore
import RadioLink

/// Message type (MHDR bits 7…5), LoRaWAN 1.0.4 §4.2.1; 6 is the LoRaWAN 1.1 rejoin-request.
public enum MType: UInt8, Sendable, Codable, CaseIterable {
    case joinRequest = 0, joinAccept = 1, unconfirmedDataUp = 2, unconfirmedDataDown = 3
    case confirmedDataUp = 4, confirmedDataDown = 5, rejoinRequest = 6, proprietary = 7

    public var name: String {
        switch self {
        case .joinRequest: return "join-request"
        case .joinAccept: return "join-accept"
        case .unconfirmedDataUp: return "unconfirmed-up"
        case .unconfirmedDataDown: return "unconfirmed-down"
        case .confirmedDataUp: return "confirmed-up"
        case .confirmedDataDown: return "confirmed-down"
        case .rejoinRequest: return "rejoin-request"
        case .proprietary: return "proprietary"
        }
    }

    public static func parse(_ s: String) throws(InputError) -> MType {
        if let m = allCases.first(where: { $0.name == s.lowercased() }) { return m }
        throw InputError("unknown frame type '\(s)'; allowed: " + allCases.map(\.name).joined(separator: ", "))
    }

    public var isData: Bool { (2...5).contains(rawValue) }
    public var isUplink: Bool { self == .unconfirmedDataUp || self == .confirmedDataUp || self == .joinRequest || self == .rejoinRequest }
    public var direction: Direction { isUplink ? .uplink : .downlink }
    public var isConfirmed: Bool { self == .confirmedDataUp || self == .confirmedDataDown }
}

/// Frame control (LoRaWAN 1.0.4 §4.3.1). Bit 6 is ADRACKReq in uplinks and RFU in downlinks; bit 4 is ClassB
/// in uplinks and FPending in downlinks.
public struct FCtrl: Sendable, Equatable, Codable {
    public var adr: Bool = false
    public var adrAckReq: Bool = false
    public var ack: Bool = false
    public var classBOrFPending: Bool = false
    public var foptsLength: UInt8 = 0

    public init(adr: Bool = false, adrAckReq: Bool = false, ack: Bool = false, classBOrFPending: Bool = false,
                foptsLength: UInt8 = 0) {
        self.adr = adr; self.adrAckReq = adrAckReq; self.ack = ack
        self.classBOrFPending = classBOrFPending; self.foptsLength = foptsLength
    }

    public init(byte: UInt8) {
        adr = byte & 0x80 != 0
        adrAckReq = byte & 0x40 != 0
        ack = byte & 0x20 != 0
        classBOrFPending = byte & 0x10 != 0
        foptsLength = byte & 0x0F
    }

    public var byte: UInt8 {
        (adr ? 0x80 : 0) | (adrAckReq ? 0x40 : 0) | (ack ? 0x20 : 0) | (classBOrFPending ? 0x10 : 0) | (foptsLength & 0x0F)
    }
}

/// A data frame as sent: FRMPayload still encrypted, MIC as sent.
public struct DataFrame: Sendable, Equatable {
    public var mtype: MType
    public var major: UInt8 = 0
    public var rfu: UInt8 = 0
    public var devAddr: DevAddr
    public var fctrl: FCtrl
    /// The 16 low bits of the frame counter, as sent.
    public var fcnt: UInt16
    public var fopts: [UInt8]
    public var fport: UInt8?
    public var frmPayload: [UInt8]
    public var mic: UInt32

    public var direction: Direction { mtype.direction }
}

public struct JoinRequest: Sendable, Equatable {
    public var joinEUI: EUI64
    public var devEUI: EUI64
    public var devNonce: UInt16
    public var mic: UInt32
}

/// A join-accept's fields (after decryption).
public struct JoinAccept: Sendable, Equatable {
    /// AppNonce (1.0.0–1.0.3) / JoinNonce (1.0.4, 1.1): 24 bits.
    public var joinNonce: UInt32
    /// 24 bits.
    public var netID: UInt32
    public var devAddr: DevAddr
    public var rx1DROffset: UInt8
    public var rx2DataRate: UInt8
    /// OptNeg (DLSettings bit 7): set by LoRaWAN 1.1 join servers.
    public var optNeg: Bool = false
    /// RX1 delay in seconds (0 means 1).
    public var rxDelay: UInt8
    /// 16 bytes when present.
    public var cfList: [UInt8]?
    public var mic: UInt32 = 0

    public init(joinNonce: UInt32, netID: UInt32, devAddr: DevAddr, rx1DROffset: UInt8, rx2DataRate: UInt8,
                optNeg: Bool = false, rxDelay: UInt8, cfList: [UInt8]? = nil) {
        self.joinNonce = joinNonce; self.netID = netID; self.devAddr = devAddr
        self.rx1DROffset = rx1DROffset; self.rx2DataRate = rx2DataRate; self.optNeg = optNeg
        self.rxDelay = rxDelay; self.cfList = cfList
    }

    var dlSettings: UInt8 { (optNeg ? 0x80 : 0) | (rx1DROffset & 0x07) << 4 | (rx2DataRate & 0x0F) }
}

/// A PHYPayload read from the air.
public enum PHYPayload: Sendable, Equatable {
    case data(DataFrame)
    case joinRequest(JoinRequest)
    /// Still encrypted: reading it needs the AppKey (`JoinAccept.decrypt`).
    case joinAccept(encrypted: [UInt8])
    case rejoinRequest(type: UInt8, body: [UInt8], mic: UInt32)
    case proprietary(mhdr: UInt8, body: [UInt8])

    public var mtype: MType {
        switch self {
        case .data(let d): return d.mtype
        case .joinRequest: return .joinRequest
        case .joinAccept: return .joinAccept
        case .rejoinRequest: return .rejoinRequest
        case .proprietary: return .proprietary
        }
    }
}

/// How the 32-bit frame counter is rebuilt from the 16 bits sent.
public enum FCntRule: String, Sendable, Codable, CaseIterable {
    /// LoRaWAN 1.0.4: the counter is 32-bit and never reset within a session; any forward step is accepted.
    case lorawan104 = "1.0.4"
    /// LoRaWAN 1.0.3 and earlier: a step of more than MAX_FCNT_GAP (16384) frames is refused.
    case lorawan103 = "1.0.3"

    public static let maxFCntGap: UInt32 = 16_384
}

public enum FCntReconstruction: Sendable, Equatable {
    /// The same counter as the last frame (a retransmission or a copy through another gateway).
    case repeated(UInt32)
    /// A new counter `value`, `gap` frames after the last one (1 = none missing).
    case next(UInt32, gap: UInt32)
    /// Refused: more than MAX_FCNT_GAP ahead (LoRaWAN 1.0.3 and earlier).
    case gapTooLarge(UInt32)
    /// Past the 32-bit range: the session must end.
    case exhausted

    public var value: UInt32? {
        switch self {
        case .repeated(let v), .next(let v, _): return v
        default: return nil
        }
    }
}

public enum FCnt {
    /// The 32-bit counter for a received 16-bit value, given the session's last 32-bit counter (nil before the
    /// first frame): the smallest value ≥ last whose low 16 bits match.
    public static func reconstruct(_ received: UInt16, last: UInt32?, rule: FCntRule = .lorawan104) -> FCntReconstruction {
        guard let last else { return .next(UInt32(received), gap: 1) }
        if UInt16(truncatingIfNeeded: last) == received { return .repeated(last) }
        var candidate = UInt64(last & 0xFFFF_0000) | UInt64(received)
        if candidate < UInt64(last) { candidate += 0x1_0000 }
        guard candidate <= UInt64(UInt32.max) else { return .exhausted }
        let value = UInt32(candidate)
        let gap = value &- last
        if rule == .lorawan103, gap > FCntRule.maxFCntGap { return .gapTooLarge(value) }
        return .next(value, gap: gap)
    }
}

/// What a 16-bit counter on air means against the session's last 32-bit counter: the candidates for the full
/// counter, most likely first, each with what it would make of the frame. With keys the first candidate whose MIC
/// verifies decides; without keys the first one stands.
public enum FCntCandidate: Sendable, Equatable {
    /// The first frame of a session seen: the counter as sent (the 16 high bits cannot be known).
    case first(UInt32)
    /// The same counter as the last frame: a repeat (NbTrans) or a replay, by content.
    case same(UInt32)
    /// Ahead of the last counter within the same 65,536 (gap = frames skipped).
    case ahead(UInt32)
    /// Past a wrap of the 16 bits: the high half one up.
    case wrapped(UInt32)
    /// Below the last counter in the same 65,536: a frame sent before (a replay).
    case behind(UInt32)
    /// The device's counter started again from 0 (a restart of a device that does not keep it).
    case restarted(UInt32)

    public var value: UInt32 {
        switch self {
        case .first(let v), .same(let v), .ahead(let v), .wrapped(let v), .behind(let v), .restarted(let v): return v
        }
    }
}

extension FCnt {
    /// Without keys a lower 16-bit value is a wrap only when the last counter was within this many frames of the
    /// end of its 65,536 and the new one is as close past it: 1,024 frames (at one uplink a minute, 17 hours).
    public static let wrapWindow: UInt32 = 1024
    /// A lower counter below this (and not a wrap) is taken for a restart: a device that lost its counter begins at 0.
    public static let restartBelow: UInt32 = 16

    /// The most likely candidate alone (the first of `candidates`), without building the list: a capture's frames
    /// almost always verify at it.
    public static func likeliest(_ received: UInt16, last: UInt32?) -> FCntCandidate {
        let r = UInt32(received)
        guard let last else { return .first(r) }
        let high = last & 0xFFFF_0000, low = last & 0xFFFF
        if r == low { return .same(last) }
        if r > low { return .ahead(high | r) }
        let nearWrap = low >= 0x1_0000 - wrapWindow && r < wrapWindow - (0x1_0000 - low)
        if nearWrap, high < 0xFFFF_0000 { return .wrapped((high + 0x1_0000) | r) }
        if r < restartBelow { return .restarted(r) }
        return .behind(high | r)
    }

    /// The candidates for a 16-bit counter on air, most likely first (see `FCntCandidate`).
    public static func candidates(_ received: UInt16, last: UInt32?) -> [FCntCandidate] {
        let r = UInt32(received)
        guard let last else { return [.first(r)] }
        let high = last & 0xFFFF_0000, low = last & 0xFFFF
        let here = high | r
        // The next 65,536 up, when there is one.
        let up: UInt32? = high < 0xFFFF_0000 ? (high + 0x1_0000) | r : nil
        var out: [FCntCandidate] = []
        if r == low {
            out.append(.same(last))
            if high > 0 { out.append(.restarted(r)) }
        } else if r > low {
            out.append(.ahead(here))
            if high > 0 { out.append(.restarted(r)) }
            if let up { out.append(.wrapped(up)) }
        } else {
            // Lower 16 bits: a wrap when both sit near the end and the start of the 16-bit range.
            let nearWrap = low >= 0x1_0000 - wrapWindow && r < wrapWindow - (0x1_0000 - low)
            if nearWrap, let up { out.append(.wrapped(up)) }
            if r < restartBelow { out.append(.restarted(r)) }
            out.append(.behind(here))
            if high > 0, r >= restartBelow { out.append(.restarted(r)) }
            if !nearWrap, let up { out.append(.wrapped(up)) }
        }
        return out
    }
}

// MARK: - Reading

public enum FrameDecoder {
    /// Reads a PHYPayload's structure (no keys needed). Never traps, whatever the bytes: every problem is a
    /// `FrameError` naming the byte offset and field.
    /// `lorawan11`: accept MType 6 (rejoin-request, LoRaWAN 1.1); in LoRaWAN 1.0.x it is RFU and refused.
    public static func decode(_ b: [UInt8], lorawan11: Bool = false) throws(FrameError) -> PHYPayload {
        guard let mhdr = b.first else { throw FrameError(.truncated, at: 0, field: "MHDR", "empty frame") }
        let mtypeRaw = mhdr >> 5
        let major = mhdr & 0x03
        guard let mtype = MType(rawValue: mtypeRaw), mtype != .rejoinRequest || lorawan11 else {
            throw FrameError(.unknownMType, at: 0, field: "MHDR.MType", "unknown MType \(mtypeRaw) (RFU in LoRaWAN 1.0.x)")
        }
        if mtype == .proprietary { return .proprietary(mhdr: mhdr, body: Array(b.dropFirst())) }
        guard major == 0 else {
            throw FrameError(.unknownMajor, at: 0, field: "MHDR.Major", "unknown Major \(major) (only LoRaWAN R1 = 0 is defined)")
        }
        switch mtype {
        case .joinRequest:
            guard b.count == 23 else {
                throw FrameError(b.count < 23 ? .truncated : .badLength, at: min(b.count, 23), field: "join-request",
                                 "a join-request is 23 bytes, this one is \(b.count)")
            }
            return .joinRequest(JoinRequest(joinEUI: EUI64(le64(b, 1)), devEUI: EUI64(le64(b, 9)),
                                            devNonce: UInt16(b[17]) | UInt16(b[18]) << 8, mic: be32(b, 19)))
        case .joinAccept:
            guard b.count == 17 || b.count == 33 else {
                throw FrameError(b.count < 17 ? .truncated : .badLength, at: min(b.count, 17), field: "join-accept",
                                 "a join-accept is 17 or 33 bytes (with CFList), this one is \(b.count)")
            }
            return .joinAccept(encrypted: b)
        case .rejoinRequest:
            guard b.count == 19 || b.count == 24 else {
                throw FrameError(.badLength, at: min(b.count, 19), field: "rejoin-request",
                                 "a rejoin-request is 19 or 24 bytes, this one is \(b.count)")
            }
            return .rejoinRequest(type: b[1], body: Array(b[2..<(b.count - 4)]), mic: be32(b, b.count - 4))
        default:
            return .data(try decodeData(b, mtype: mtype, mhdr: mhdr))
        }
    }

    static func decodeData(_ b: [UInt8], mtype: MType, mhdr: UInt8) throws(FrameError) -> DataFrame {
        // MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + MIC 4
        guard b.count >= 12 else {
            let field = b.count < 5 ? "FHDR.DevAddr" : b.count < 6 ? "FHDR.FCtrl" : b.count < 8 ? "FHDR.FCnt" : "MIC"
            throw FrameError(.truncated, at: b.count, field: field, "a data frame is at least 12 bytes, this one is \(b.count)")
        }
        let fctrl = FCtrl(byte: b[5])
        let foptsEnd = 8 + Int(fctrl.foptsLength)
        guard foptsEnd + 4 <= b.count else {
            throw FrameError(.foptsPastEnd, at: 5, field: "FHDR.FCtrl.FOptsLen",
                             "FOptsLen \(fctrl.foptsLength) runs past the end of the frame (\(b.count - 12) bytes available)")
        }
        let micStart = b.count - 4
        var fport: UInt8? = nil
        var payload: [UInt8] = []
        if foptsEnd < micStart {
            fport = b[foptsEnd]
            payload = Array(b[(foptsEnd + 1)..<micStart])
            if fport == 0, fctrl.foptsLength > 0 {
                throw FrameError(.macCommandsInBoth, at: foptsEnd, field: "FPort",
                                 "MAC commands in FOpts and in an FPort 0 payload at once")
            }
        }
        return DataFrame(mtype: mtype, major: mhdr & 0x03, rfu: (mhdr >> 2) & 0x07, devAddr: DevAddr(le32(b, 1)),
                         fctrl: fctrl, fcnt: UInt16(b[6]) | UInt16(b[7]) << 8, fopts: Array(b[8..<foptsEnd]),
                         fport: fport, frmPayload: payload, mic: be32(b, micStart))
    }

    @inline(__always) static func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
    @inline(__always) static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
    @inline(__always) static func le64(_ b: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << UInt64(8 * $1) }
    }

    /// Checks a frame's size against a region's data rate: MACPayload (PHYPayload − 5) ≤ M.
    public static func checkSize(_ length: Int, region: RegionParameters, dataRate: Int, dwell: Bool? = nil) throws(FrameError) {
        guard let n = region.maxApplicationPayload(dr: dataRate, dwell: dwell) else {
            throw FrameError(.tooLong, field: "PHYPayload", "DR\(dataRate) is not allowed in \(region.id.rawValue) with these settings")
        }
        let m = n + 8
        if length - 5 > m {
            throw FrameError(.tooLong, at: m + 5, field: "PHYPayload",
                             "MACPayload of \(length - 5) bytes is over the maximum of \(m) at \(region.id.rawValue) DR\(dataRate)")
        }
    }
}

// MARK: - Session keys and data frames with crypto

/// A session's keys made ready for use (1.0.x: NwkSKey and AppSKey). A class: records and devices share one, its
/// key schedules are made once.
public final class SessionKeys: Sendable {
    public let nwkSKey: CryptoKey
    public let appSKey: CryptoKey
    public init(nwkSKey: AES128Key, appSKey: AES128Key) {
        self.nwkSKey = CryptoKey(nwkSKey)
        self.appSKey = CryptoKey(appSKey)
    }
}

/// What a data frame holds once checked and decrypted.
public struct OpenedDataFrame: Sendable, Equatable {
    public var frame: DataFrame
    public var fcnt: UInt32
    public var micValid: Bool
    public var expectedMIC: UInt32
    /// Decrypted FRMPayload (application data, or MAC commands for FPort 0).
    public var payload: [UInt8]
    public var macCommands: [MACCommand]

    public init(frame: DataFrame, fcnt: UInt32, micValid: Bool, expectedMIC: UInt32, payload: [UInt8], macCommands: [MACCommand]) {
        self.frame = frame; self.fcnt = fcnt; self.micValid = micValid; self.expectedMIC = expectedMIC
        self.payload = payload; self.macCommands = macCommands
    }
}

public enum DataFrameCodec {
    /// Builds a data frame: encrypts `payload` (AppSKey, or NwkSKey for FPort 0) and adds the MIC.
    public static func encode(mtype: MType, devAddr: DevAddr, fcnt: UInt32, fctrl: FCtrl = FCtrl(), fopts: [UInt8] = [],
                              fport: UInt8?, payload: [UInt8], keys: SessionKeys) throws(FrameError) -> [UInt8] {
        guard mtype.isData else { throw FrameError(.unknownMType, field: "MHDR.MType", "\(mtype.name) is not a data frame") }
        guard fopts.count <= 15 else { throw FrameError(.badLength, field: "FOpts", "FOpts holds at most 15 bytes, got \(fopts.count)") }
        var out = try header(mtype: mtype, devAddr: devAddr, fcnt: fcnt, fctrl: fctrl, fopts: fopts, fport: fport, payload: payload)
        out.append(contentsOf: fopts)
        var scratch = [UInt8](repeating: 0, count: 16)
        if let fport {
            out.append(fport)
            let start = out.count
            out.append(contentsOf: payload)
            LoRaWANCrypto.cipherFRMPayload(&out, range: start..<out.count, key: fport == 0 ? keys.nwkSKey : keys.appSKey,
                                           direction: mtype.direction, devAddr: devAddr, fcnt: fcnt, scratch: &scratch)
        }
        let mic = out.withUnsafeBytes {
            LoRaWANCrypto.dataMIC(key: keys.nwkSKey, direction: mtype.direction, devAddr: devAddr, fcnt: fcnt,
                                  message: $0, scratch: &scratch)
        }
        out.append(UInt8(mic >> 24)); out.append(UInt8(truncatingIfNeeded: mic >> 16))
        out.append(UInt8(truncatingIfNeeded: mic >> 8)); out.append(UInt8(truncatingIfNeeded: mic))
        return out
    }

    /// MHDR | DevAddr | FCtrl (FOptsLen from `fopts`) | FCnt, after the checks every data frame passes (LoRaWAN 1.0.4
    /// §4.3; the same in 1.1): a payload needs an FPort, FOpts and an FPort 0 payload exclude each other.
    static func header(mtype: MType, devAddr: DevAddr, fcnt: UInt32, fctrl: FCtrl, fopts: [UInt8], fport: UInt8?,
                       payload: [UInt8]) throws(FrameError) -> [UInt8] {
        if fport == nil, !payload.isEmpty {
            throw FrameError(.badLength, field: "FPort", "a payload needs an FPort")
        }
        if fport == 0, !fopts.isEmpty {
            throw FrameError(.macCommandsInBoth, field: "FPort", "MAC commands in FOpts and in an FPort 0 payload at once")
        }
        var out = [UInt8]()
        out.reserveCapacity(13 + fopts.count + payload.count)
        out.append(mtype.rawValue << 5)
        appendLE32(&out, devAddr.value)
        var fc = fctrl
        fc.foptsLength = UInt8(fopts.count)
        out.append(fc.byte)
        out.append(UInt8(truncatingIfNeeded: fcnt)); out.append(UInt8(truncatingIfNeeded: fcnt >> 8))
        return out
    }

    /// The same frame layout without cryptography: the payload in clear and a zero MIC. For scale runs of the
    /// simulator only (`crypto: off`), where the cost of AES is measured apart; never on a real network.
    public static func encodeWithoutCrypto(mtype: MType, devAddr: DevAddr, fcnt: UInt32, fctrl: FCtrl = FCtrl(), fopts: [UInt8] = [],
                                           fport: UInt8?, payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(13 + fopts.count + payload.count)
        out.append(mtype.rawValue << 5)
        appendLE32(&out, devAddr.value)
        var fc = fctrl
        fc.foptsLength = UInt8(min(fopts.count, 15))
        out.append(fc.byte)
        out.append(UInt8(truncatingIfNeeded: fcnt)); out.append(UInt8(truncatingIfNeeded: fcnt >> 8))
        out.append(contentsOf: fopts.prefix(15))
        if let fport {
            out.append(fport)
            out.append(contentsOf: payload)
        }
        out.append(contentsOf: [0, 0, 0, 0])
        return out
    }

    /// The decrypted FRMPayload alone (AppSKey, or NwkSKey for FPort 0), for a frame whose MIC was checked; MAC
    /// commands are not read.
    public static func decryptPayload(_ frame: DataFrame, fcnt: UInt32, keys: SessionKeys, scratch: inout [UInt8]) -> [UInt8] {
        var payload = frame.frmPayload
        guard let port = frame.fport, scratch.count == 16 else { return payload }
        LoRaWANCrypto.cipherFRMPayload(&payload, range: 0..<payload.count, key: port == 0 ? keys.nwkSKey : keys.appSKey,
                                       direction: frame.direction, devAddr: frame.devAddr, fcnt: fcnt, scratch: &scratch)
        return payload
    }

    /// Whether the MIC verifies with the 32-bit counter `fcnt` (LoRaWAN 1.0.x), without decrypting anything.
    public static func micVerifies(_ raw: [UInt8], frame: DataFrame, fcnt: UInt32, key: CryptoKey) -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16)
        return micVerifies(raw, frame: frame, fcnt: fcnt, key: key, scratch: &scratch)
    }

    /// The same with a caller's 16-byte scratch block (no allocation per frame).
    public static func micVerifies(_ raw: [UInt8], frame: DataFrame, fcnt: UInt32, key: CryptoKey, scratch: inout [UInt8]) -> Bool {
        guard raw.count >= 12, scratch.count == 16, UInt16(truncatingIfNeeded: fcnt) == frame.fcnt else { return false }
        let expected = raw.withUnsafeBytes {
            LoRaWANCrypto.dataMIC(key: key, direction: frame.direction, devAddr: frame.devAddr, fcnt: fcnt,
                                  message: UnsafeRawBufferPointer(rebasing: $0[0..<(raw.count - 4)]), scratch: &scratch)
        }
        return expected == frame.mic
    }

    /// Checks the MIC with the 32-bit counter `fcnt` and decrypts the payload. `raw` is the whole PHYPayload.
    /// `micVerified`: the caller has just checked the MIC with `micVerifies` at this counter (it is not computed again).
    public static func open(_ raw: [UInt8], frame: DataFrame, fcnt: UInt32, keys: SessionKeys, micVerified: Bool = false) throws(FrameError) -> OpenedDataFrame {
        var scratch = [UInt8](repeating: 0, count: 16)
        return try open(raw, frame: frame, fcnt: fcnt, keys: keys, micVerified: micVerified, scratch: &scratch)
    }

    /// The same with a caller's 16-byte scratch block (no allocation per frame).
    public static func open(_ raw: [UInt8], frame: DataFrame, fcnt: UInt32, keys: SessionKeys, micVerified: Bool,
                            scratch: inout [UInt8]) throws(FrameError) -> OpenedDataFrame {
        guard UInt16(truncatingIfNeeded: fcnt) == frame.fcnt, raw.count >= 12, scratch.count == 16 else {
            throw FrameError(.fcntOutOfRange, field: "FHDR.FCnt", "the 32-bit FCnt \(fcnt) does not end in the frame's \(frame.fcnt)")
        }
        let expected = micVerified ? frame.mic : raw.withUnsafeBytes {
            LoRaWANCrypto.dataMIC(key: keys.nwkSKey, direction: frame.direction, devAddr: frame.devAddr, fcnt: fcnt,
                                  message: UnsafeRawBufferPointer(rebasing: $0[0..<(raw.count - 4)]), scratch: &scratch)
        }
        var payload = frame.frmPayload
        if let port = frame.fport {
            LoRaWANCrypto.cipherFRMPayload(&payload, range: 0..<payload.count, key: port == 0 ? keys.nwkSKey : keys.appSKey,
                                           direction: frame.direction, devAddr: frame.devAddr, fcnt: fcnt, scratch: &scratch)
        }
        let foptsOffset = 8
        var commands = try MACCommand.decode(frame.fopts[...], direction: frame.direction, baseOffset: foptsOffset, field: "FOpts")
        if frame.fport == 0 {
            commands += try MACCommand.decode(payload[...], direction: frame.direction,
                                              baseOffset: foptsOffset + frame.fopts.count + 1, field: "FRMPayload")
        }
        return OpenedDataFrame(frame: frame, fcnt: fcnt, micValid: expected == frame.mic, expectedMIC: expected,
                               payload: payload, macCommands: commands)
    }

    @inline(__always) static func appendLE32(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v >> 16)); out.append(UInt8(truncatingIfNeeded: v >> 24))
    }
}

// MARK: - Joins

public enum JoinCodec {
    /// A join-request with its MIC (AES-CMAC under the AppKey; NwkKey in 1.1).
    public static func encodeRequest(joinEUI: EUI64, devEUI: EUI64, devNonce: UInt16, appKey: CryptoKey) -> [UInt8] {
        var out: [UInt8] = [MType.joinRequest.rawValue << 5]
        out += joinEUI.littleEndianBytes
        out += devEUI.littleEndianBytes
        out.append(UInt8(truncatingIfNeeded: devNonce)); out.append(UInt8(devNonce >> 8))
        let mic = LoRaWANCrypto.joinMIC(key: appKey, message: out[...])
        out += [UInt8(mic >> 24), UInt8(truncatingIfNeeded: mic >> 16), UInt8(truncatingIfNeeded: mic >> 8), UInt8(truncatingIfNeeded: mic)]
        return out
    }

    public static func verifyRequest(_ raw: [UInt8], appKey: CryptoKey) -> (valid: Bool, expected: UInt32) {
        guard raw.count == 23 else { return (false, 0) }
        let expected = LoRaWANCrypto.joinMIC(key: appKey, message: raw[0..<19])
        return (expected == FrameDecoder.be32(raw, 19), expected)
    }

    /// A join-accept as sent: MHDR | encrypted(JoinNonce | NetID | DevAddr | DLSettings | RxDelay | CFList | MIC).
    public static func encodeAccept(_ a: JoinAccept, appKey: CryptoKey) throws(FrameError) -> [UInt8] {
        if let cf = a.cfList, cf.count != 16 {
            throw FrameError(.badLength, field: "CFList", "a CFList is 16 bytes, got \(cf.count)")
        }
        var plain: [UInt8] = [MType.joinAccept.rawValue << 5]
        plain += [UInt8(truncatingIfNeeded: a.joinNonce), UInt8(truncatingIfNeeded: a.joinNonce >> 8), UInt8(truncatingIfNeeded: a.joinNonce >> 16)]
        plain += [UInt8(truncatingIfNeeded: a.netID), UInt8(truncatingIfNeeded: a.netID >> 8), UInt8(truncatingIfNeeded: a.netID >> 16)]
        DataFrameCodec.appendLE32(&plain, a.devAddr.value)
        plain.append(a.dlSettings)
        plain.append(a.rxDelay)
        if let cf = a.cfList { plain += cf }
        let mic = LoRaWANCrypto.joinMIC(key: appKey, message: plain[...])
        plain += [UInt8(mic >> 24), UInt8(truncatingIfNeeded: mic >> 16), UInt8(truncatingIfNeeded: mic >> 8), UInt8(truncatingIfNeeded: mic)]
        var body = Array(plain.dropFirst())
        LoRaWANCrypto.encryptJoinAccept(&body, key: appKey)
        return [plain[0]] + body
    }

    /// Decrypts a join-accept, reads its fields and checks its MIC.
    public static func decryptAccept(_ raw: [UInt8], appKey: CryptoKey) throws(FrameError) -> (accept: JoinAccept, micValid: Bool) {
        guard raw.count == 17 || raw.count == 33 else {
            throw FrameError(.badLength, at: min(raw.count, 17), field: "join-accept", "a join-accept is 17 or 33 bytes, this one is \(raw.count)")
        }
        var body = Array(raw.dropFirst())
        LoRaWANCrypto.decryptJoinAccept(&body, key: appKey)
        let plain = [raw[0]] + body
        let micAt = plain.count - 4
        let mic = FrameDecoder.be32(plain, micAt)
        let expected = LoRaWANCrypto.joinMIC(key: appKey, message: plain[0..<micAt])
        var a = JoinAccept(joinNonce: UInt32(plain[1]) | UInt32(plain[2]) << 8 | UInt32(plain[3]) << 16,
                           netID: UInt32(plain[4]) | UInt32(plain[5]) << 8 | UInt32(plain[6]) << 16,
                           devAddr: DevAddr(FrameDecoder.le32(plain, 7)),
                           rx1DROffset: (plain[11] >> 4) & 0x07, rx2DataRate: plain[11] & 0x0F,
                           optNeg: plain[11] & 0x80 != 0, rxDelay: plain[12],
                           cfList: plain.count == 33 ? Array(plain[13..<29]) : nil)
        a.mic = mic
        return (a, mic == expected)
    }
}
