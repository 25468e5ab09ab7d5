import Foundation
import HarnessCore

/// A receiver's sensitivity table: dBm per spreading factor and bandwidth.
public struct ReceiverModel: Sendable, Hashable, Codable {
    public var name: String
    public var source: String
    /// sensitivity[bandwidth kHz name][SF] in dBm.
    public var sensitivity: [String: [Int: Double]]
    /// Noise figure in dB, used for the noise floor and SNR.
    public var noiseFigure: Double

    /// Sensitivity in dBm; for a combination the table lacks, the thermal-noise estimate
    /// −174 + 10·log10(BW) + NF + SNR floor.
    public func sensitivitydBm(sf: Int, bandwidth: LoRaBandwidth) -> Double {
        if let v = sensitivity[bandwidth.kHzName]?[sf] { return v }
        return LinkBudget.noiseFloordBm(bandwidthHz: bandwidth.hertz, noiseFigure: noiseFigure)
            + LinkBudget.snrFloordB(sf: sf)
    }

    /// End device: Semtech SX1276/77/78/79 datasheet Rev 7 (May 2020), Table 10 "LoRa Receiver Specification",
    /// RFS_L125_HF / RFS_L250_HF / RFS_L500_HF (band 1, 862–1020 MHz, highest LNA gain). Transcribed from the
    /// table as several independent projects quote it. Noise figure 6 dB (SX1276 datasheet, band 1, LNA boost).
    public static let sx1276 = ReceiverModel(
        name: "SX1276",
        source: "SX1276/77/78/79 datasheet Rev 7, Table 10 (RFS_L125_HF, RFS_L250_HF, RFS_L500_HF)",
        sensitivity: [
            "125": [6: -118, 7: -123, 8: -126, 9: -129, 10: -132, 11: -133, 12: -136],
            "250": [7: -120, 8: -123, 9: -125, 10: -128, 11: -130, 12: -133],
            "500": [7: -116, 8: -119, 9: -122, 10: -125, 11: -128, 12: -130],
        ],
        noiseFigure: 6)

    /// End device: Semtech SX1272/73 datasheet Rev 2 (July 2014), RFS_L125/L250/L500 with LNA boost.
    public static let sx1272 = ReceiverModel(
        name: "SX1272",
        source: "SX1272/73 datasheet Rev 2, LoRa receiver sensitivity (RFS_L125, RFS_L250, RFS_L500)",
        sensitivity: [
            "125": [6: -121, 7: -124, 8: -127, 9: -130, 10: -133, 11: -135, 12: -137],
            "250": [6: -118, 7: -122, 8: -125, 9: -128, 10: -130, 11: -132, 12: -135],
            "500": [6: -111, 7: -116, 8: -119, 9: -122, 10: -125, 11: -128, 12: -129],
        ],
        noiseFigure: 6)

    /// Gateway: Semtech SX1302 datasheet Rev 1.0 (June 2019), Table 3-6 (125 kHz, PER 10 %, SX1250 front end with
    /// an 18 dB LNA, 1.5 dB noise figure). Other bandwidths fall back to the noise-floor estimate.
    public static let sx1302 = ReceiverModel(
        name: "SX1302",
        source: "SX1302 datasheet Rev 1.0, Table 3-6 (125 kHz)",
        sensitivity: ["125": [7: -127, 8: -129, 9: -132.5, 10: -135.5, 11: -138, 12: -141]],
        noiseFigure: 1.5)

    /// Gateway: SX1301 reference design as the ns-3 lorawan module tabulates it ("Source: SX1301 datasheet",
    /// GatewayLoraPhy::sensitivity): −130 … −142.5 dBm at 125 kHz. The datasheet headline is −142 dBm with an
    /// SX1257 front end and −139.5 dBm for its reference design.
    public static let sx1301 = ReceiverModel(
        name: "SX1301",
        source: "SX1301 datasheet V2.4 via ns-3 lorawan GatewayLoraPhy::sensitivity (125 kHz)",
        sensitivity: ["125": [7: -130, 8: -132.5, 9: -135, 10: -137.5, 11: -140, 12: -142.5]],
        noiseFigure: 1.5)

    /// LoRaSim (Bor et al., MSWiM 2016, loraDir.py): measured SX1272 sensitivities, their Table 3.
    public static let loraSim = ReceiverModel(
        name: "LoRaSim",
        source: "LoRaSim loraDir.py (Bor et al. 2016, measured, Table 3)",
        sensitivity: [
            "125": [7: -126.5, 8: -127.25, 9: -131.25, 10: -132.75, 11: -134.5, 12: -133.25],
            "250": [7: -124.25, 8: -126.75, 9: -128.25, 10: -130.25, 11: -132.75, 12: -132.25],
            "500": [7: -120.75, 8: -124.0, 9: -127.5, 10: -128.75, 11: -128.75, 12: -132.25],
        ],
        noiseFigure: 6)

    public static let all: [ReceiverModel] = [.sx1276, .sx1272, .sx1301, .sx1302, .loraSim]

    public static func named(_ name: String) throws(InputError) -> ReceiverModel {
        if let m = all.first(where: { $0.name.lowercased() == name.lowercased() }) { return m }
        throw InputError("unknown receiver '\(name)'; known: " + all.map(\.name).joined(separator: ", "))
    }
}

/// Log-distance path loss with log-normal shadowing: PL(d) = PL(d0) + 10·γ·log10(d/d0) + X, X ~ N(0, σ).
public struct PathLossModel: Sendable, Hashable, Codable {
    public var name: String
    public var referenceDistanceMeters: Double
    public var referenceLossdB: Double
    public var exponent: Double
    public var shadowingSigmadB: Double

    public init(name: String, referenceDistanceMeters: Double, referenceLossdB: Double, exponent: Double,
                shadowingSigmadB: Double) {
        self.name = name
        self.referenceDistanceMeters = referenceDistanceMeters
        self.referenceLossdB = referenceLossdB
        self.exponent = exponent
        self.shadowingSigmadB = shadowingSigmadB
    }

    /// LoRaSim (Bor et al., MSWiM 2016, loraDir.py): d0 = 40 m, PL(d0) = 127.41 dB, γ = 2.08; its code ignores
    /// shadowing, the FLoRa/INET port of the same model uses σ = 3.57 dB, which is used here.
    public static let loraSim = PathLossModel(name: "lorasim", referenceDistanceMeters: 40, referenceLossdB: 127.41,
                                              exponent: 2.08, shadowingSigmadB: 3.57)
    /// Oulu measurements (Petäjäjärvi et al., ITST 2015): d0 = 1000 m, PL(d0) = 128.95 dB, n = 2.32, σ = 7.8 dB.
    public static let oulu = PathLossModel(name: "oulu", referenceDistanceMeters: 1000, referenceLossdB: 128.95,
                                           exponent: 2.32, shadowingSigmadB: 7.8)

    public static let presets: [PathLossModel] = [.loraSim, .oulu]

    public static func named(_ name: String) throws(InputError) -> PathLossModel {
        if let m = presets.first(where: { $0.name == name.lowercased() }) { return m }
        throw InputError("unknown path-loss model '\(name)'; known: " + presets.map(\.name).joined(separator: ", "))
    }

    /// Mean path loss at `meters` (no shadowing).
    public func meanLossdB(meters: Double) -> Double {
        referenceLossdB + 10 * exponent * log10(max(meters, 1e-3) / referenceDistanceMeters)
    }

    /// The distance at which the mean path loss equals `lossdB`.
    public func distanceMeters(forLossdB lossdB: Double) -> Double {
        referenceDistanceMeters * pow(10, (lossdB - referenceLossdB) / (10 * exponent))
    }
}

public enum LinkBudget {
    /// Thermal noise floor: −174 dBm/Hz + 10·log10(BW) + noise figure.
    public static func noiseFloordBm(bandwidthHz: Double, noiseFigure: Double) -> Double {
        -174 + 10 * log10(bandwidthHz) + noiseFigure
    }

    /// Demodulation SNR floor per SF: SX1276 datasheet Table 13 "Range of Spreading Factors" (SF6–SF12:
    /// −5, −7.5, −10, −12.5, −15, −17.5, −20 dB); SF5 (SX126x only) continues the 2.5 dB steps: −2.5 dB.
    public static func snrFloordB(sf: Int) -> Double {
        -5 - 2.5 * Double(sf - 6)
    }

    public struct Result: Sendable, Codable, Equatable {
        public var pathLossdB: Double
        public var receivedPowerdBm: Double
        public var noiseFloordBm: Double
        public var snrdB: Double
        public var snrFloordB: Double
        public var sensitivitydBm: Double
        public var margindB: Double
        public var rangeMeters: Double
        public var receivable: Bool
    }

    /// The link from a transmitter at `txPowerdBm` (EIRP with the antenna gain already in) to a receiver
    /// `meters` away, with an extra shadowing term (0 for the mean).
    public static func evaluate(txPowerdBm: Double, receiverGaindBi: Double = 0, meters: Double,
                                sf: Int, bandwidth: LoRaBandwidth, receiver: ReceiverModel,
                                pathLoss: PathLossModel, shadowingdB: Double = 0) -> Result {
        let loss = pathLoss.meanLossdB(meters: meters) + shadowingdB
        let rx = txPowerdBm + receiverGaindBi - loss
        let noise = noiseFloordBm(bandwidthHz: bandwidth.hertz, noiseFigure: receiver.noiseFigure)
        let sens = receiver.sensitivitydBm(sf: sf, bandwidth: bandwidth)
        let floor = snrFloordB(sf: sf)
        let range = pathLoss.distanceMeters(forLossdB: txPowerdBm + receiverGaindBi - sens)
        return Result(pathLossdB: loss, receivedPowerdBm: rx, noiseFloordBm: noise, snrdB: rx - noise,
                      snrFloordB: floor, sensitivitydBm: sens, margindB: rx - sens, rangeMeters: range,
                      receivable: rx >= sens && rx - noise >= floor)
    }
}
