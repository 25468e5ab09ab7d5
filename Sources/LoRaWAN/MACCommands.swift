import HarnessCore

/// Every MAC command of LoRaWAN 1.0.4 (§5, and §14 for Class B), requests and answers. Which one a CID means
/// depends on the direction: CID 0x03 is LinkADRReq downlink and LinkADRAns uplink.
public enum MACCommand: Sendable, Equatable {
    // Sent by the end device (uplink)
    case linkCheckReq
    case linkADRAns(powerACK: Bool, dataRateACK: Bool, channelMaskACK: Bool)
    case dutyCycleAns
    case rxParamSetupAns(rx1DROffsetACK: Bool, rx2DataRateACK: Bool, channelACK: Bool)
    /// Battery 0 = external power, 1…254 level, 255 unknown; margin −32…31 dB (6-bit signed).
    case devStatusAns(battery: UInt8, margin: Int8)
    case newChannelAns(dataRateRangeOK: Bool, channelFrequencyOK: Bool)
    case rxTimingSetupAns
    case txParamSetupAns
    case dlChannelAns(uplinkFrequencyExists: Bool, channelFrequencyOK: Bool)
    case deviceTimeReq
    case pingSlotInfoReq(periodicity: UInt8)
    case pingSlotChannelAns(dataRateOK: Bool, channelFrequencyOK: Bool)
    case beaconFreqAns(beaconFrequencyOK: Bool)
    /// Deprecated in LoRaWAN 1.0.3 (CID 0x12), still seen from older devices.
    case beaconTimingReq

    // Sent by the network (downlink)
    case linkCheckAns(margin: UInt8, gatewayCount: UInt8)
    case linkADRReq(dataRate: UInt8, txPower: UInt8, channelMask: UInt16, channelMaskControl: UInt8, nbTrans: UInt8)
    case dutyCycleReq(maxDutyCycle: UInt8)
    case rxParamSetupReq(rx1DROffset: UInt8, rx2DataRate: UInt8, frequencyHz: Int64)
    case devStatusReq
    case newChannelReq(channelIndex: UInt8, frequencyHz: Int64, minDataRate: UInt8, maxDataRate: UInt8)
    case rxTimingSetupReq(delaySeconds: UInt8)
    case txParamSetupReq(downlinkDwellTime: Bool, uplinkDwellTime: Bool, maxEIRPIndex: UInt8)
    case dlChannelReq(channelIndex: UInt8, frequencyHz: Int64)
    /// Seconds since the GPS epoch and the fraction in 1/256 s.
    case deviceTimeAns(gpsSeconds: UInt32, fraction: UInt8)
    case pingSlotInfoAns
    case pingSlotChannelReq(frequencyHz: Int64, dataRate: UInt8)
    case beaconFreqReq(frequencyHz: Int64)
    /// Deprecated in LoRaWAN 1.0.3 (CID 0x12).
    case beaconTimingAns(delay: UInt16, channel: UInt8)

    public var cid: UInt8 {
        switch self {
        case .linkCheckReq, .linkCheckAns: return 0x02
        case .linkADRAns, .linkADRReq: return 0x03
        case .dutyCycleAns, .dutyCycleReq: return 0x04
        case .rxParamSetupAns, .rxParamSetupReq: return 0x05
        case .devStatusAns, .devStatusReq: return 0x06
        case .newChannelAns, .newChannelReq: return 0x07
        case .rxTimingSetupAns, .rxTimingSetupReq: return 0x08
        case .txParamSetupAns, .txParamSetupReq: return 0x09
        case .dlChannelAns, .dlChannelReq: return 0x0A
        case .deviceTimeReq, .deviceTimeAns: return 0x0D
        case .pingSlotInfoReq, .pingSlotInfoAns: return 0x10
        case .pingSlotChannelAns, .pingSlotChannelReq: return 0x11
        case .beaconTimingReq, .beaconTimingAns: return 0x12
        case .beaconFreqAns, .beaconFreqReq: return 0x13
        }
    }

    /// The command's name as the specification writes it.
    public var name: String {
        switch self {
        case .linkCheckReq: return "LinkCheckReq"
        case .linkADRAns: return "LinkADRAns"
        case .dutyCycleAns: return "DutyCycleAns"
        case .rxParamSetupAns: return "RXParamSetupAns"
        case .devStatusAns: return "DevStatusAns"
        case .newChannelAns: return "NewChannelAns"
        case .rxTimingSetupAns: return "RXTimingSetupAns"
        case .txParamSetupAns: return "TxParamSetupAns"
        case .dlChannelAns: return "DlChannelAns"
        case .deviceTimeReq: return "DeviceTimeReq"
        case .pingSlotInfoReq: return "PingSlotInfoReq"
        case .pingSlotChannelAns: return "PingSlotChannelAns"
        case .beaconFreqAns: return "BeaconFreqAns"
        case .beaconTimingReq: return "BeaconTimingReq"
        case .linkCheckAns: return "LinkCheckAns"
        case .linkADRReq: return "LinkADRReq"
        case .dutyCycleReq: return "DutyCycleReq"
        case .rxParamSetupReq: return "RXParamSetupReq"
        case .devStatusReq: return "DevStatusReq"
        case .newChannelReq: return "NewChannelReq"
        case .rxTimingSetupReq: return "RXTimingSetupReq"
        case .txParamSetupReq: return "TxParamSetupReq"
        case .dlChannelReq: return "DlChannelReq"
        case .deviceTimeAns: return "DeviceTimeAns"
        case .pingSlotInfoAns: return "PingSlotInfoAns"
        case .pingSlotChannelReq: return "PingSlotChannelReq"
        case .beaconFreqReq: return "BeaconFreqReq"
        case .beaconTimingAns: return "BeaconTimingAns"
        }
    }

    public var direction: Direction {
        switch self {
        case .linkCheckReq, .linkADRAns, .dutyCycleAns, .rxParamSetupAns, .devStatusAns, .newChannelAns,
             .rxTimingSetupAns, .txParamSetupAns, .dlChannelAns, .deviceTimeReq, .pingSlotInfoReq,
             .pingSlotChannelAns, .beaconFreqAns, .beaconTimingReq:
            return .uplink
        default:
            return .downlink
        }
    }

    /// Payload length (after the CID) of each command, by direction (LoRaWAN 1.0.4 Table 5 and §14).
    public static func payloadLength(cid: UInt8, direction: Direction) -> Int? {
        switch (direction, cid) {
        case (.uplink, 0x02): return 0
        case (.uplink, 0x03): return 1
        case (.uplink, 0x04): return 0
        case (.uplink, 0x05): return 1
        case (.uplink, 0x06): return 2
        case (.uplink, 0x07): return 1
        case (.uplink, 0x08): return 0
        case (.uplink, 0x09): return 0
        case (.uplink, 0x0A): return 1
        case (.uplink, 0x0D): return 0
        case (.uplink, 0x10): return 1
        case (.uplink, 0x11): return 1
        case (.uplink, 0x12): return 0
        case (.uplink, 0x13): return 1
        case (.downlink, 0x02): return 2
        case (.downlink, 0x03): return 4
        case (.downlink, 0x04): return 1
        case (.downlink, 0x05): return 4
        case (.downlink, 0x06): return 0
        case (.downlink, 0x07): return 5
        case (.downlink, 0x08): return 1
        case (.downlink, 0x09): return 1
        case (.downlink, 0x0A): return 4
        case (.downlink, 0x0D): return 5
        case (.downlink, 0x10): return 0
        case (.downlink, 0x11): return 4
        case (.downlink, 0x12): return 3
        case (.downlink, 0x13): return 3
        default: return nil
        }
    }

    /// Appends the command (CID and payload) to `out`.
    public func encode(into out: inout [UInt8]) {
        out.append(cid)
        func bit(_ b: Bool, _ n: Int) -> UInt8 { b ? 1 << UInt8(n) : 0 }
        func freq(_ hz: Int64) {
            // 24-bit little-endian in units of 100 Hz.
            let v = UInt32(clamping: max(0, hz / 100))
            out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
        }
        switch self {
        case .linkCheckReq, .dutyCycleAns, .rxTimingSetupAns, .txParamSetupAns, .deviceTimeReq, .beaconTimingReq,
             .devStatusReq, .pingSlotInfoAns:
            break
        case .linkADRAns(let p, let d, let c): out.append(bit(p, 2) | bit(d, 1) | bit(c, 0))
        case .rxParamSetupAns(let o, let d, let c): out.append(bit(o, 2) | bit(d, 1) | bit(c, 0))
        case .devStatusAns(let battery, let margin):
            out.append(battery)
            out.append(UInt8(bitPattern: margin) & 0x3F)
        case .newChannelAns(let d, let f): out.append(bit(d, 1) | bit(f, 0))
        case .dlChannelAns(let u, let f): out.append(bit(u, 1) | bit(f, 0))
        case .pingSlotInfoReq(let p): out.append(p & 0x07)
        case .pingSlotChannelAns(let d, let f): out.append(bit(d, 1) | bit(f, 0))
        case .beaconFreqAns(let ok): out.append(bit(ok, 0))
        case .linkCheckAns(let m, let g): out.append(m); out.append(g)
        case .linkADRReq(let dr, let p, let mask, let cntl, let nb):
            out.append((dr & 0x0F) << 4 | (p & 0x0F))
            out.append(UInt8(truncatingIfNeeded: mask)); out.append(UInt8(truncatingIfNeeded: mask >> 8))
            out.append((cntl & 0x07) << 4 | (nb & 0x0F))
        case .dutyCycleReq(let m): out.append(m & 0x0F)
        case .rxParamSetupReq(let o, let dr, let f):
            out.append((o & 0x07) << 4 | (dr & 0x0F))
            freq(f)
        case .newChannelReq(let i, let f, let minDR, let maxDR):
            out.append(i); freq(f); out.append((maxDR & 0x0F) << 4 | (minDR & 0x0F))
        case .rxTimingSetupReq(let d): out.append(d & 0x0F)
        case .txParamSetupReq(let dd, let ud, let e): out.append(bit(dd, 5) | bit(ud, 4) | (e & 0x0F))
        case .dlChannelReq(let i, let f): out.append(i); freq(f)
        case .deviceTimeAns(let s, let frac):
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: s >> UInt32(8 * k))) }
            out.append(frac)
        case .pingSlotChannelReq(let f, let dr): freq(f); out.append(dr & 0x0F)
        case .beaconFreqReq(let f): freq(f)
        case .beaconTimingAns(let delay, let ch):
            out.append(UInt8(truncatingIfNeeded: delay)); out.append(UInt8(truncatingIfNeeded: delay >> 8)); out.append(ch)
        }
    }

    public static func encode(_ commands: [MACCommand]) -> [UInt8] {
        var out = [UInt8]()
        for c in commands { c.encode(into: &out) }
        return out
    }

    /// Decodes a run of MAC commands. `baseOffset` is the position of `bytes` in the frame, so errors name the
    /// frame's byte offset.
    public static func decode(_ bytes: ArraySlice<UInt8>, direction: Direction, baseOffset: Int = 0,
                              field: String = "FOpts") throws(FrameError) -> [MACCommand] {
        var out: [MACCommand] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let offset = baseOffset + (i - bytes.startIndex)
            let cid = bytes[i]
            guard let length = payloadLength(cid: cid, direction: direction) else {
                if cid >= 0x80 {
                    throw FrameError(.unknownMACCommand, at: offset, field: field,
                                     "proprietary MAC command 0x\(Hex.encode([cid])) has no known length")
                }
                throw FrameError(.unknownMACCommand, at: offset, field: field,
                                 "unknown \(direction == .uplink ? "uplink" : "downlink") MAC command CID 0x\(Hex.encode([cid]))")
            }
            let available = bytes.endIndex - i - 1
            guard available >= length else {
                throw FrameError(.truncated, at: offset, field: field,
                                 "MAC command CID 0x\(Hex.encode([cid])) needs \(length) payload bytes, \(available) left")
            }
            let p = Array(bytes[(i + 1)..<(i + 1 + length)])
            out.append(decodeOne(cid: cid, payload: p, direction: direction))
            i += 1 + length
        }
        return out
    }

    private static func decodeOne(cid: UInt8, payload p: [UInt8], direction: Direction) -> MACCommand {
        func bit(_ v: UInt8, _ n: Int) -> Bool { v & (1 << UInt8(n)) != 0 }
        func freq(_ at: Int) -> Int64 { (Int64(p[at]) | Int64(p[at + 1]) << 8 | Int64(p[at + 2]) << 16) * 100 }
        if direction == .uplink {
            switch cid {
            case 0x02: return .linkCheckReq
            case 0x03: return .linkADRAns(powerACK: bit(p[0], 2), dataRateACK: bit(p[0], 1), channelMaskACK: bit(p[0], 0))
            case 0x04: return .dutyCycleAns
            case 0x05: return .rxParamSetupAns(rx1DROffsetACK: bit(p[0], 2), rx2DataRateACK: bit(p[0], 1), channelACK: bit(p[0], 0))
            case 0x06:
                // 6-bit two's complement margin
                let raw = p[1] & 0x3F
                let margin = raw & 0x20 != 0 ? Int8(raw) - 64 : Int8(raw)
                return .devStatusAns(battery: p[0], margin: margin)
            case 0x07: return .newChannelAns(dataRateRangeOK: bit(p[0], 1), channelFrequencyOK: bit(p[0], 0))
            case 0x08: return .rxTimingSetupAns
            case 0x09: return .txParamSetupAns
            case 0x0A: return .dlChannelAns(uplinkFrequencyExists: bit(p[0], 1), channelFrequencyOK: bit(p[0], 0))
            case 0x0D: return .deviceTimeReq
            case 0x10: return .pingSlotInfoReq(periodicity: p[0] & 0x07)
            case 0x11: return .pingSlotChannelAns(dataRateOK: bit(p[0], 1), channelFrequencyOK: bit(p[0], 0))
            case 0x12: return .beaconTimingReq
            default: return .beaconFreqAns(beaconFrequencyOK: bit(p[0], 0))   // 0x13, the only CID left
            }
        }
        switch cid {
        case 0x02: return .linkCheckAns(margin: p[0], gatewayCount: p[1])
        case 0x03:
            return .linkADRReq(dataRate: p[0] >> 4, txPower: p[0] & 0x0F, channelMask: UInt16(p[1]) | UInt16(p[2]) << 8,
                               channelMaskControl: (p[3] >> 4) & 0x07, nbTrans: p[3] & 0x0F)
        case 0x04: return .dutyCycleReq(maxDutyCycle: p[0] & 0x0F)
        case 0x05: return .rxParamSetupReq(rx1DROffset: (p[0] >> 4) & 0x07, rx2DataRate: p[0] & 0x0F, frequencyHz: freq(1))
        case 0x06: return .devStatusReq
        case 0x07: return .newChannelReq(channelIndex: p[0], frequencyHz: freq(1), minDataRate: p[4] & 0x0F, maxDataRate: p[4] >> 4)
        case 0x08: return .rxTimingSetupReq(delaySeconds: p[0] & 0x0F)
        case 0x09: return .txParamSetupReq(downlinkDwellTime: bit(p[0], 5), uplinkDwellTime: bit(p[0], 4), maxEIRPIndex: p[0] & 0x0F)
        case 0x0A: return .dlChannelReq(channelIndex: p[0], frequencyHz: freq(1))
        case 0x0D:
            let s = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
            return .deviceTimeAns(gpsSeconds: s, fraction: p[4])
        case 0x10: return .pingSlotInfoAns
        case 0x11: return .pingSlotChannelReq(frequencyHz: freq(0), dataRate: p[3] & 0x0F)
        case 0x12: return .beaconTimingAns(delay: UInt16(p[0]) | UInt16(p[1]) << 8, channel: p[2])
        default: return .beaconFreqReq(frequencyHz: freq(0))   // 0x13
        }
    }

    /// TxParamSetupReq MaxEIRP index → dBm (LoRaWAN 1.0.4 Table 23 / RP002 §2.7.4).
    public static let maxEIRPTable: [Double] = [8, 10, 12, 13, 14, 16, 18, 20, 21, 24, 26, 27, 29, 30, 33, 36]

    /// A description of the fields for people: "LinkADRReq DR5 TXPower 1 ChMask 0x0007 ChMaskCntl 0 NbTrans 1".
    public var summary: String {
        switch self {
        case .linkADRAns(let p, let d, let c): return "\(name) power \(ack(p)), data rate \(ack(d)), channel mask \(ack(c))"
        case .rxParamSetupAns(let o, let d, let c): return "\(name) RX1DROffset \(ack(o)), RX2 data rate \(ack(d)), channel \(ack(c))"
        case .devStatusAns(let b, let m): return "\(name) battery \(b == 0 ? "external" : b == 255 ? "unknown" : "\(b)/254"), margin \(m) dB"
        case .newChannelAns(let d, let f): return "\(name) data rate range \(ack(d)), frequency \(ack(f))"
        case .dlChannelAns(let u, let f): return "\(name) uplink frequency \(u ? "exists" : "missing"), frequency \(ack(f))"
        case .pingSlotInfoReq(let p): return "\(name) periodicity \(p) (every \(1 << Int(p)) s)"
        case .pingSlotChannelAns(let d, let f): return "\(name) data rate \(ack(d)), frequency \(ack(f))"
        case .beaconFreqAns(let ok): return "\(name) beacon frequency \(ack(ok))"
        case .linkCheckAns(let m, let g): return "\(name) margin \(m) dB, \(g) gateway(s)"
        case .linkADRReq(let dr, let p, let mask, let cntl, let nb):
            return "\(name) DR\(dr) TXPower \(p) ChMask 0x\(Hex.encode([UInt8(mask >> 8), UInt8(mask & 0xFF)])) ChMaskCntl \(cntl) NbTrans \(nb)"
        case .dutyCycleReq(let m): return "\(name) MaxDutyCycle \(m) (1/\(1 << Int(m)))"
        case .rxParamSetupReq(let o, let dr, let f): return "\(name) RX1DROffset \(o), RX2 DR\(dr) at \(FrequencyFormat.megahertz(f))"
        case .newChannelReq(let i, let f, let lo, let hi): return "\(name) channel \(i) \(FrequencyFormat.megahertz(f)) DR\(lo)–DR\(hi)"
        case .rxTimingSetupReq(let d): return "\(name) RX1 delay \(d == 0 ? 1 : Int(d)) s"
        case .txParamSetupReq(let dd, let ud, let e):
            let eirp = Int(e) < MACCommand.maxEIRPTable.count ? MACCommand.maxEIRPTable[Int(e)] : 0
            return "\(name) downlink dwell \(dd ? "on" : "off"), uplink dwell \(ud ? "on" : "off"), max EIRP \(Int(eirp)) dBm"
        case .dlChannelReq(let i, let f): return "\(name) channel \(i) downlink \(FrequencyFormat.megahertz(f))"
        case .deviceTimeAns(let s, let f): return "\(name) GPS time \(s) s + \(f)/256 s"
        case .pingSlotChannelReq(let f, let dr): return "\(name) \(FrequencyFormat.megahertz(f)) DR\(dr)"
        case .beaconFreqReq(let f): return "\(name) \(FrequencyFormat.megahertz(f))"
        case .beaconTimingAns(let d, let c): return "\(name) delay \(d) × 30 ms, channel \(c)"
        default: return name
        }
    }

    private func ack(_ b: Bool) -> String { b ? "ACK" : "NACK" }
}
