import Foundation
import HarnessCore

/// One data rate of a region.
public struct DataRate: Sendable, Hashable, Codable {
    public var index: Int
    public var modulation: Modulation
    public var uplink: Bool
    public var downlink: Bool

    public init(_ index: Int, _ modulation: Modulation, uplink: Bool = true, downlink: Bool = true) {
        self.index = index
        self.modulation = modulation
        self.uplink = uplink
        self.downlink = downlink
    }
}

/// Maximum MACPayload (M) and application payload (N = M − 8, the FRMPayload when FOpts is empty).
public struct PayloadLimit: Sendable, Hashable, Codable {
    public var m: Int
    public var n: Int { m - 8 }
    public init(n: Int) { m = n + 8 }
}

/// A channel: centre frequency and the data rates allowed on it.
public struct Channel: Sendable, Hashable, Codable {
    public var frequencyHz: Int64
    public var minDR: Int
    public var maxDR: Int
    public init(_ frequencyHz: Int64, dr: ClosedRange<Int>) {
        self.frequencyHz = frequencyHz
        minDR = dr.lowerBound
        maxDR = dr.upperBound
    }
    public func allows(dr: Int) -> Bool { dr >= minDR && dr <= maxDR }
}

/// How the RX1 data rate follows from the uplink data rate and RX1DROffset.
public enum RX1Rule: Sendable, Hashable {
    /// RX1 DR = max(uplink DR − offset, 0) for offsets 0…maxOffset (KR920).
    case subtract(maxOffset: Int)
    /// A lookup table: row = uplink DR, column = offset (US915, AU915).
    case table([Int: [Int]])
    /// AS923: offsets 0…5 subtract, 6 and 7 add 1 and 2; the result is kept within minimum…7, where the
    /// minimum is 2 with downlink dwell time on and 0 without (RP002-1.0.4 §2.7.7; The Things Stack
    /// as_923_rp2_v1_0_4.go and LoRaMac-node's EffectiveRx1DrOffset tables agree).
    case as923
}

/// Uplink dwell-time rules.
public enum DwellTime: Sendable, Hashable, Codable {
    /// No dwell limit.
    case none
    /// Always 400 ms (US915).
    case always
    /// Switched by TxParamSetupReq; the value is LoRaMac-node's default (AS923: on; AU915: off).
    case configurable(defaultOn: Bool)
}

public enum RegionID: String, CaseIterable, Sendable, Codable {
    case eu868 = "EU868", us915 = "US915", au915 = "AU915"
    case as923_1 = "AS923-1", as923_2 = "AS923-2", as923_3 = "AS923-3", as923_4 = "AS923-4"
    case in865 = "IN865", kr920 = "KR920"

    /// Accepts "EU868", "eu868", "EU863-870", "AS923" (= AS923-1), "as923_2".
    public static func parse(_ text: String) throws(InputError) -> RegionID {
        let s = text.uppercased().replacingOccurrences(of: "_", with: "-")
        let aliases: [String: RegionID] = [
            "EU863-870": .eu868, "EU": .eu868, "US902-928": .us915, "US": .us915, "AU915-928": .au915,
            "AS923": .as923_1, "AS923-1": .as923_1, "AS923-2": .as923_2, "AS923-3": .as923_3, "AS923-4": .as923_4,
            "AS923-1-JP": .as923_1, "IN865-867": .in865, "KR920-923": .kr920,
        ]
        if let r = RegionID(rawValue: s) ?? aliases[s] { return r }
        throw InputError("unknown region '\(text)'; known: " + allCases.map(\.rawValue).joined(separator: ", "))
    }

    public var parameters: RegionParameters { RegionParameters.table(self) }
}

/// Everything the radio-link model needs to know about one region. Each region is a data literal in its
/// own file (RegionEU868.swift, …); no code branches on the region.
public struct RegionParameters: Sendable {
    public var id: RegionID
    /// The regional-parameters revision the table follows, and notes where later ones differ.
    public var source: String
    public var notes: [String]
    public var frequencyRangeHz: ClosedRange<Int64>
    /// Data rates by index; RFU indices are absent.
    public var dataRates: [DataRate]
    /// N per DR, no repeater, dwell time off.
    public var maxPayload: [Int: Int]
    /// N per DR with a repeater on the path.
    public var maxPayloadRepeater: [Int: Int]
    /// N per DR with uplink dwell time on; a DR absent here is not allowed with dwell time.
    public var maxPayloadDwell: [Int: Int]?
    public var dwellTime: DwellTime
    public var defaultChannels: [Channel]
    /// Channels a join-request may use (beyond the default ones where the region has a fixed plan).
    public var joinDataRates: ClosedRange<Int>
    /// The full uplink channel plan where the region has fixed channels (US915/AU915: 64 + 8).
    public var uplinkChannels: [Channel]
    /// Downlink channels where they differ from the uplink ones (US915/AU915: 8 at 500 kHz).
    public var downlinkChannels: [Channel]
    public var rx1: RX1Rule
    public var rx2FrequencyHz: Int64
    public var rx2DataRate: Int
    public var receiveDelay1: Nanoseconds
    public var receiveDelay2: Nanoseconds
    public var joinAcceptDelay1: Nanoseconds
    public var joinAcceptDelay2: Nanoseconds
    /// Default maximum EIRP in dBm.
    public var maxEIRPdBm: Double
    /// TXPower index n → dB below max EIRP (index 0 = max EIRP).
    public var txPowerOffsetsdB: [Double]
    /// Duty-cycle sub-bands (the default table), and alternative tables by name.
    public var subBands: [SubBand]
    public var alternativeSubBandTables: [String: [SubBand]]
    public var defaultSubBandTable: String
    /// Whether LoRaMac-node enforces the duty cycle in this region by default.
    public var dutyCycleEnforced: Bool
    /// Class B beacon settings (RP002-1.0.4), where the region defines them.
    public var beacon: BeaconParameters? = nil
    /// Dwell limit on one transmission when dwell time applies.
    public var dwellLimit: Nanoseconds { 400 * Time.millisecond }

    public func dataRate(_ index: Int) -> DataRate? { dataRates.first { $0.index == index } }

    public var uplinkDataRates: [DataRate] { dataRates.filter(\.uplink) }

    /// Sub-band table by name ("etsi-v3", "legacy"), or the default.
    public func subBands(table name: String?) throws(InputError) -> [SubBand] {
        guard let name, name != defaultSubBandTable else { return subBands }
        if let t = alternativeSubBandTables[name] { return t }
        let known = [defaultSubBandTable] + alternativeSubBandTables.keys.sorted()
        throw InputError("unknown sub-band table '\(name)' for \(id.rawValue); known: \(known.joined(separator: ", "))")
    }

    /// Whether uplink dwell time is on with the given setting (nil: the region's default).
    public func dwellOn(_ setting: Bool?) -> Bool {
        switch dwellTime {
        case .none: return false
        case .always: return true
        case .configurable(let d): return setting ?? d
        }
    }

    /// N for this DR (nil when the DR does not exist or is not allowed with these settings).
    public func maxApplicationPayload(dr: Int, dwell: Bool? = nil, repeater: Bool = false) -> Int? {
        guard dataRate(dr) != nil else { return nil }
        if dwellOn(dwell), case .configurable = dwellTime, let table = maxPayloadDwell {
            guard let n = table[dr] else { return nil }
            return repeater ? min(n, maxPayloadRepeater[dr] ?? n) : n
        }
        return repeater ? maxPayloadRepeater[dr] : maxPayload[dr]
    }

    /// RX1 data rate for an uplink DR and offset (nil when the offset is out of range).
    public func rx1DataRate(uplinkDR: Int, offset: Int, downlinkDwell: Bool = false) -> Int? {
        switch rx1 {
        case .subtract(let maxOffset):
            guard offset >= 0, offset <= maxOffset else { return nil }
            return max(0, uplinkDR - offset)
        case .table(let rows):
            guard let row = rows[uplinkDR], offset >= 0, offset < row.count else { return nil }
            return row[offset]
        case .as923:
            guard (0...7).contains(offset) else { return nil }
            let effective = offset <= 5 ? offset : 5 - offset   // 6 → −1, 7 → −2: the DR goes up
            let minimum = downlinkDwell ? 2 : 0
            return min(7, max(minimum, uplinkDR - effective))
        }
    }

    /// TX power in dBm EIRP for a TXPower index, or nil when the index is not defined.
    public func txPowerdBm(index: Int) -> Double? {
        guard index >= 0, index < txPowerOffsetsdB.count else { return nil }
        return maxEIRPdBm - txPowerOffsetsdB[index]
    }

    static func table(_ id: RegionID) -> RegionParameters {
        switch id {
        case .eu868: return .eu868
        case .us915: return .us915
        case .au915: return .au915
        case .as923_1: return .as923(group: 1)
        case .as923_2: return .as923(group: 2)
        case .as923_3: return .as923(group: 3)
        case .as923_4: return .as923(group: 4)
        case .in865: return .in865
        case .kr920: return .kr920
        }
    }
}

/// Helpers for writing region tables as data.
extension Modulation {
    static func lora(_ sf: Int, _ kHz: LoRaBandwidth) -> Modulation {
        .lora(LoRaModulation(spreadingFactor: sf, bandwidth: kHz))
    }
    static let fsk50 = Modulation.fsk(FSKModulation())
}

extension Int64 {
    /// Megahertz literal to hertz: `868.1.mhz`.
    static func mhz(_ v: Double) -> Int64 { Int64((v * 1_000_000).rounded()) }
}
