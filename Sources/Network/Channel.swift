import Foundation
import HarnessCore
import RadioLink

/// Why a packet was not received (at one gateway, or by the network).
public enum LossCause: String, Sendable, Codable, CaseIterable {
    /// Overlapped another packet on the same channel (and SF) and neither could be captured, or capture is off.
    case collision
    /// A stronger overlapping packet captured the receiver.
    case captureLost = "capture_lost"
    /// Received power under the gateway's sensitivity, or SNR under the demodulation floor.
    case belowSensitivity = "below_sensitivity"
    /// All of the gateway's demodulation paths were busy.
    case noFreeDemodulator = "no_free_demodulator"
    /// The gateway was transmitting (half-duplex).
    case gatewayTransmitting = "gateway_transmitting"
    /// Inter-SF interference above the isolation the matrix allows.
    case interSF = "inter_sf"
    /// The device's duty cycle held the packet back until a newer one replaced it.
    case dutyCycle = "duty_cycle"
    /// No gateway listens on the packet's frequency, or none is in range.
    case noGateway = "no_gateway"
    /// The gateway was out of service (a fault window of a fleet scenario).
    case gatewayDown = "gateway_down"
}

/// How the channel decides receptions.
public struct ChannelModel: Sendable {
    public var pathLoss: PathLossModel
    public var shadowing: Bool
    /// Shadowing drawn once per device–gateway link and kept (static devices), instead of once per packet.
    public var staticShadowing = false
    /// A per-packet fading draw (σ, dB) on top of the shadowing; 0 for none.
    public var fadingSigmadB = 0.0
    public var receiver: ReceiverModel
    public var captureEnabled: Bool
    /// The wanted packet survives when it is at least this much above the interference (dB).
    public var captureThresholddB: Double
    /// Interference taken as the sum of the overlapping packets' powers (true) or the strongest one (false).
    public var summedInterference: Bool
    /// A packet survives interference that ends before its last 5 preamble symbols (the receiver can still lock).
    public var preambleRule: Bool
    /// Inter-SF interference with an isolation matrix (nil: packets of different SFs do not interfere).
    public var interSF: IsolationMatrix?

    public init(pathLoss: PathLossModel = .oulu, shadowing: Bool = true, receiver: ReceiverModel = .sx1301,
                captureEnabled: Bool = true, captureThresholddB: Double = 6, summedInterference: Bool = true,
                preambleRule: Bool = true, interSF: IsolationMatrix? = nil) {
        self.pathLoss = pathLoss
        self.shadowing = shadowing
        self.receiver = receiver
        self.captureEnabled = captureEnabled
        self.captureThresholddB = captureThresholddB
        self.summedInterference = summedInterference
        self.preambleRule = preambleRule
        self.interSF = interSF
    }
}

/// Signal-to-interference thresholds between spreading factors, dB: row the wanted SF (7…12), column the
/// interferer's. The wanted packet survives interference of another SF when it is at least this much above it.
public struct IsolationMatrix: Sendable {
    public var name: String
    public var values: [[Double]]

    /// Goursaud & Gorce, "Dedicated networks for IoT: PHY/MAC state of the art and challenges" (EAI Endorsed
    /// Transactions on IoT, 2015), as the ns-3 lorawan module tabulates it (lora-interference-helper.cc): the
    /// diagonal is the 6 dB co-SF capture threshold, off the diagonal −16 … −36 dB.
    public static let goursaud = IsolationMatrix(name: "goursaud", values: [
        [6, -16, -18, -19, -19, -20],
        [-24, 6, -20, -22, -22, -22],
        [-27, -27, 6, -23, -25, -25],
        [-30, -30, -30, 6, -26, -28],
        [-33, -33, -33, -33, 6, -29],
        [-36, -36, -36, -36, -36, 6],
    ])

    public func threshold(wanted: Int, interferer: Int) -> Double {
        let w = min(max(wanted - 7, 0), 5), i = min(max(interferer - 7, 0), 5)
        return values[w][i]
    }
}

/// A gateway of the simulated network.
public struct GatewaySpec: Sendable {
    public var name: String
    public var x: Double
    public var y: Double
    public var antennaGaindBi: Double
    /// Simultaneous demodulation paths (SX1301/SX1302: 8 for the multi-SF channels).
    public var demodulators: Int
    /// Frequencies the gateway listens on (empty: every frequency).
    public var frequencies: Set<Int64>

    public init(name: String, x: Double, y: Double, antennaGaindBi: Double = 0, demodulators: Int = 8,
                frequencies: Set<Int64> = []) {
        self.name = name; self.x = x; self.y = y; self.antennaGaindBi = antennaGaindBi
        self.demodulators = demodulators; self.frequencies = frequencies
    }
}

/// One transmission handed to the channel.
public struct Transmission: Sendable {
    public var device: Int
    public var start: Nanoseconds
    public var airtime: Nanoseconds
    public var frequencyHz: Int64
    public var spreadingFactor: Int
    public var bandwidth: LoRaBandwidth
    /// Preamble symbols, for the preamble rule (LoRaWAN: 8).
    public var preambleSymbols: Int
    public var txPowerdBm: Double
    public var payloadBytes: Int
    /// The caller's own tag (packet id), returned with the outcome.
    public var tag: Int

    public init(device: Int, start: Nanoseconds, airtime: Nanoseconds, frequencyHz: Int64, spreadingFactor: Int,
                bandwidth: LoRaBandwidth = .bw125, preambleSymbols: Int = 8, txPowerdBm: Double, payloadBytes: Int, tag: Int = 0) {
        self.device = device; self.start = start; self.airtime = airtime; self.frequencyHz = frequencyHz
        self.spreadingFactor = spreadingFactor; self.bandwidth = bandwidth; self.preambleSymbols = preambleSymbols
        self.txPowerdBm = txPowerdBm; self.payloadBytes = payloadBytes; self.tag = tag
    }
}

/// What one gateway made of a packet.
public struct GatewayReception: Sendable, Equatable {
    public var gateway: Int
    public var rssidBm: Double
    public var snrdB: Double
    /// nil: received.
    public var loss: LossCause?
}

/// What the channel made of a packet.
public struct PacketOutcome: Sendable {
    public var transmission: Transmission
    /// Every gateway that heard it at all (within range on a listened frequency), received or not; empty when
    /// the channel runs without detailed outcomes.
    public var receptions: [GatewayReception]
    /// Received by at least one gateway.
    public var delivered: Bool
    /// When no gateway received it: the loss cause at the gateway with the strongest signal.
    public var loss: LossCause?
    /// The strongest signal at any gateway (dBm), or −∞ when no gateway was in range.
    public var bestRSSIdBm: Double
}
