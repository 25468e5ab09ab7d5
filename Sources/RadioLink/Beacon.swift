import HarnessCore

/// A region's Class B beacon: where and how gateways send it, and the layout of its payload
/// (LoRaWAN Regional Parameters RP002-1.0.4, each region's "Beacon settings" section; LoRaWAN 1.0.4 §13.2).
///
/// BCNPayload = RFU (`rfu1` bytes) | Time (4) | CRC (2) | GwSpecific (7) | RFU (`rfu2` bytes) | CRC (2). The beacon is
/// sent with an implicit header and no LoRa payload CRC: its own two CRC-16 fields protect it.
public struct BeaconParameters: Sendable, Hashable {
    /// The frequencies a beacon may be sent on (one, or a hopping set).
    public var frequenciesHz: [Int64]
    public var dataRate: Int
    public var rfu1: Int
    public var rfu2: Int

    public init(frequenciesHz: [Int64], dataRate: Int, rfu1: Int, rfu2: Int) {
        self.frequenciesHz = frequenciesHz
        self.dataRate = dataRate
        self.rfu1 = rfu1
        self.rfu2 = rfu2
    }

    /// The payload's length in bytes.
    public var size: Int { rfu1 + 4 + 2 + 7 + rfu2 + 2 }
}

extension RegionParameters {
    /// Whether a packet could be this region's beacon by its radio settings and size (its CRCs still to check).
    public func couldBeBeacon(frequencyHz: Int64?, spreadingFactor: Int?, bandwidthHz: Int?, size: Int) -> Bool {
        guard let b = beacon, size == b.size, let f = frequencyHz, b.frequenciesHz.contains(f) else { return false }
        guard case .lora(let m)? = dataRate(b.dataRate)?.modulation else { return false }
        if let sf = spreadingFactor, sf != m.spreadingFactor { return false }
        if let bw = bandwidthHz, bw != Int(m.bandwidth.hertz) { return false }
        return true
    }
}
