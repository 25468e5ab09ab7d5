import HarnessCore
import RadioLink

/// A Class B beacon as a gateway sends it (LoRaWAN 1.0.4 §13.2, the layout per region in RP002-1.0.4):
/// RFU | Time | CRC | GwSpecific | RFU | CRC. It has no MHDR: it is recognised by frequency, data rate and size,
/// then its two CRCs.
public struct Beacon: Sendable, Equatable {
    /// Seconds since the GPS epoch (1980-01-06), modulo 2^32.
    public var time: UInt32
    /// GwSpecific: InfoDesc (0–2 GPS coordinates of antennas, 3 NetID + GatewayID, …) and 6 bytes of info.
    public var infoDesc: UInt8
    public var info: [UInt8]
    /// Whether each CRC holds: the first covers RFU | Time, the second GwSpecific | RFU.
    public var firstCRCValid: Bool
    public var secondCRCValid: Bool
    public var valid: Bool { firstCRCValid && secondCRCValid }

    /// CRC-16 as LoRaWAN beacons use it: the CCITT polynomial 0x1021, initial value 0, no reflection, no final XOR
    /// (LoRaMac-node `BeaconCrc`, LoRaMacClassB.c); sent least significant byte first.
    public static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for b in bytes {
            crc ^= UInt16(b) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// Reads a beacon with a region's layout; nil when the size is not the layout's.
    public static func decode(_ b: [UInt8], layout: BeaconParameters) -> Beacon? {
        guard b.count == layout.size else { return nil }
        let t = layout.rfu1
        let time = UInt32(b[t]) | UInt32(b[t + 1]) << 8 | UInt32(b[t + 2]) << 16 | UInt32(b[t + 3]) << 24
        let crc1 = UInt16(b[t + 4]) | UInt16(b[t + 5]) << 8
        let gw = t + 6
        let end = gw + 7 + layout.rfu2
        let crc2 = UInt16(b[end]) | UInt16(b[end + 1]) << 8
        return Beacon(time: time, infoDesc: b[gw], info: Array(b[(gw + 1)..<(gw + 7)]),
                      firstCRCValid: crc16(b[0..<(t + 4)]) == crc1, secondCRCValid: crc16(b[gw..<end]) == crc2)
    }

    /// A beacon's bytes for a region's layout (RFU bytes zero), with both CRCs.
    public static func encode(time: UInt32, infoDesc: UInt8, info: [UInt8], layout: BeaconParameters) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: layout.rfu1)
        b += [UInt8(truncatingIfNeeded: time), UInt8(truncatingIfNeeded: time >> 8), UInt8(truncatingIfNeeded: time >> 16), UInt8(truncatingIfNeeded: time >> 24)]
        let c1 = crc16(b[...])
        b += [UInt8(truncatingIfNeeded: c1), UInt8(c1 >> 8)]
        let gw = b.count
        b.append(infoDesc)
        b += (info + [UInt8](repeating: 0, count: 6)).prefix(6)
        b += [UInt8](repeating: 0, count: layout.rfu2)
        let c2 = crc16(b[gw...])
        b += [UInt8(truncatingIfNeeded: c2), UInt8(c2 >> 8)]
        return b
    }
}
