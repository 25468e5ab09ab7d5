import Foundation
import HarnessCore

/// A LoRa bandwidth. Every one is 500 kHz divided by a whole number, which is what makes symbol times exact
/// in integer nanoseconds: Tsym = 2^SF / BW = 2^SF · divisor · 2000 ns.
public enum LoRaBandwidth: Int, CaseIterable, Sendable, Codable, Comparable {
    // raw value: the divisor of 500 kHz
    case bw7_8 = 64, bw10_4 = 48, bw15_6 = 32, bw20_8 = 24, bw31_25 = 16, bw41_7 = 12, bw62_5 = 8
    case bw125 = 4, bw250 = 2, bw500 = 1

    public var divisor: Int64 { Int64(rawValue) }

    /// The exact bandwidth in hertz (500000 / divisor); not an integer for 7.8, 10.4, 20.8 and 41.7 kHz.
    public var hertz: Double { 500_000.0 / Double(rawValue) }

    /// The whole-hertz value LoRaMac-node uses in its time-on-air code (`RadioGetLoRaBandwidthInHz`,
    /// src/radio/sx126x/radio.c): 7812, 10417, 15625, 20833, 31250, 41667, 62500, 125000, 250000, 500000.
    public var loRaMacHertz: Int64 {
        switch self {
        case .bw7_8: return 7_812
        case .bw10_4: return 10_417
        case .bw15_6: return 15_625
        case .bw20_8: return 20_833
        case .bw31_25: return 31_250
        case .bw41_7: return 41_667
        case .bw62_5: return 62_500
        case .bw125: return 125_000
        case .bw250: return 250_000
        case .bw500: return 500_000
        }
    }

    /// The name in kHz as datasheets write it: "7.8", "125".
    public var kHzName: String {
        switch self {
        case .bw7_8: return "7.8"
        case .bw10_4: return "10.4"
        case .bw15_6: return "15.6"
        case .bw20_8: return "20.8"
        case .bw31_25: return "31.25"
        case .bw41_7: return "41.7"
        case .bw62_5: return "62.5"
        case .bw125: return "125"
        case .bw250: return "250"
        case .bw500: return "500"
        }
    }

    public static func < (a: LoRaBandwidth, b: LoRaBandwidth) -> Bool { a.rawValue > b.rawValue }

    /// Parses "125", "125k", "125kHz", "7.8", "31.25", "125000", "7812.5".
    public static func parse(_ text: String) throws(InputError) -> LoRaBandwidth {
        var s = text.lowercased().replacingOccurrences(of: " ", with: "")
        var hertzGiven = false
        if s.hasSuffix("khz") { s.removeLast(3) } else if s.hasSuffix("k") { s.removeLast() }
        else if s.hasSuffix("hz") { s.removeLast(2); hertzGiven = true }
        for bw in allCases {
            if s == bw.kHzName { return bw }
            if let v = Double(s), hertzGiven || v >= 1000, abs(v - bw.hertz) < 0.5 { return bw }
        }
        throw InputError("bandwidth '\(text)' is not a LoRa bandwidth; allowed: "
            + allCases.sorted().map(\.kHzName).joined(separator: ", ") + " kHz")
    }

    /// From a bandwidth in whole hertz as captures state it (500 kHz / divisor, rounded: 7813, 10417, … 500000).
    public init?(hertz: Int) {
        switch hertz {
        case 7_813: self = .bw7_8
        case 10_417: self = .bw10_4
        case 15_625: self = .bw15_6
        case 20_833: self = .bw20_8
        case 31_250: self = .bw31_25
        case 41_667: self = .bw41_7
        case 62_500: self = .bw62_5
        case 125_000: self = .bw125
        case 250_000: self = .bw250
        case 500_000: self = .bw500
        default: return nil
        }
    }

    public init?(kHz: Int) {
        switch kHz {
        case 125: self = .bw125
        case 250: self = .bw250
        case 500: self = .bw500
        case 62: self = .bw62_5
        default: return nil
        }
    }
}

/// LoRa forward error correction rate 4/5 … 4/8 (the radio's CR field 1…4).
public enum CodingRate: Int, CaseIterable, Sendable, Codable {
    case cr4_5 = 1, cr4_6 = 2, cr4_7 = 3, cr4_8 = 4

    public var name: String { "4/\(rawValue + 4)" }

    public static func parse(_ text: String) throws(InputError) -> CodingRate {
        let s = text.replacingOccurrences(of: " ", with: "")
        for cr in allCases where s == cr.name || s == String(cr.rawValue + 4) || s == "4_\(cr.rawValue + 4)" {
            return cr
        }
        throw InputError("coding rate '\(text)' is not allowed; allowed: 4/5, 4/6, 4/7, 4/8")
    }
}

/// Low-data-rate optimisation: decided from the symbol time (on when Tsym ≥ 16.384 ms), or forced.
public enum LowDataRateOptimization: String, CaseIterable, Sendable, Codable {
    case auto, on, off
}

/// Everything that decides a LoRa packet's time on air, apart from its length.
public struct LoRaModulation: Sendable, Hashable, Codable {
    public var spreadingFactor: Int
    public var bandwidth: LoRaBandwidth
    public var codingRate: CodingRate
    public var preambleSymbols: Int
    public var explicitHeader: Bool
    public var crc: Bool
    public var lowDataRateOptimization: LowDataRateOptimization

    public static let spreadingFactors = 5...12

    /// Defaults are those of a LoRaWAN uplink: CR 4/5, 8-symbol preamble, explicit header, CRC on.
    public init(spreadingFactor: Int, bandwidth: LoRaBandwidth, codingRate: CodingRate = .cr4_5,
                preambleSymbols: Int = 8, explicitHeader: Bool = true, crc: Bool = true,
                lowDataRateOptimization: LowDataRateOptimization = .auto) {
        self.spreadingFactor = spreadingFactor
        self.bandwidth = bandwidth
        self.codingRate = codingRate
        self.preambleSymbols = preambleSymbols
        self.explicitHeader = explicitHeader
        self.crc = crc
        self.lowDataRateOptimization = lowDataRateOptimization
    }

    /// A LoRaWAN uplink (CRC on) or downlink (CRC off) at this SF and bandwidth.
    public static func loRaWAN(sf: Int, bandwidth: LoRaBandwidth, uplink: Bool = true) -> LoRaModulation {
        LoRaModulation(spreadingFactor: sf, bandwidth: bandwidth, crc: uplink)
    }

    public func validate() throws(InputError) {
        guard Self.spreadingFactors.contains(spreadingFactor) else {
            throw InputError("spreading factor \(spreadingFactor) is not allowed; allowed: SF5 to SF12")
        }
        guard (1...65535).contains(preambleSymbols) else {
            throw InputError("preamble of \(preambleSymbols) symbols is not allowed; allowed: 1 to 65535")
        }
    }

    /// Symbol time, exact: 2^SF · divisor · 2000 ns.
    public var symbolNanoseconds: Nanoseconds { (Int64(1) << Int64(spreadingFactor)) * bandwidth.divisor * 2_000 }

    /// Whether low-data-rate optimisation is on: forced, or automatically when Tsym ≥ 16.384 ms
    /// (125 kHz with SF11/SF12, 250 kHz with SF12; SX1276 datasheet §4.1.1.6).
    public var lowDataRateOptimizationOn: Bool {
        switch lowDataRateOptimization {
        case .on: return true
        case .off: return false
        case .auto: return symbolNanoseconds >= 16_384_000
        }
    }

    /// "SF7BW125", the usual short name.
    public var shortName: String { "SF\(spreadingFactor)BW\(bandwidth.kHzName)" }
}

/// GFSK as LoRaWAN uses it (EU868/AS923 DR7: 50 kbit/s).
public struct FSKModulation: Sendable, Hashable, Codable {
    public var bitrate: Int64
    public var preambleBytes: Int
    public var syncWordBytes: Int
    public var variableLength: Bool
    public var crc: Bool

    /// LoRaWAN FSK: preamble 5 bytes, sync word 3 bytes, a length byte, CRC-16 (LoRaWAN RP002 §2.4 and
    /// LoRaMac-node RegionEU868.c: preamble 5 bytes for DR7).
    public init(bitrate: Int64 = 50_000, preambleBytes: Int = 5, syncWordBytes: Int = 3,
                variableLength: Bool = true, crc: Bool = true) {
        self.bitrate = bitrate
        self.preambleBytes = preambleBytes
        self.syncWordBytes = syncWordBytes
        self.variableLength = variableLength
        self.crc = crc
    }
}

/// A data rate's modulation.
public enum Modulation: Sendable, Hashable, Codable {
    case lora(LoRaModulation)
    case fsk(FSKModulation)
    /// LR-FHSS (RP002-1.0.3 on): listed in the tables; time on air is not modelled.
    case lrFHSS(occupiedBandwidthHz: Int64, codingRate: String)

    public var shortName: String {
        switch self {
        case .lora(let m): return m.shortName
        case .fsk(let f): return "FSK \(f.bitrate / 1000) kbit/s"
        case .lrFHSS(let bw, let cr): return "LR-FHSS \(FrequencyFormat.megahertz(bw)) CR\(cr)"
        }
    }

    public var lora: LoRaModulation? {
        if case .lora(let m) = self { return m }
        return nil
    }
}
