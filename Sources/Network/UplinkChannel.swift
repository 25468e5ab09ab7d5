import Foundation
import HarnessCore
import RadioLink
import SimKernel

/// What stands between the devices and the network server's gateways. The server hands each uplink to the
/// channel and is told its fate; it asks the channel whether a device hears a downlink. Three implementations:
/// `PerfectChannel` (every packet through), `LossyChannel` (each packet lost with a given probability, seeded)
/// and `RadioChannel` (path loss, shadowing, collisions, capture, demodulators, half-duplex gateways).
public protocol UplinkChannel: AnyObject {
    /// Gateways, numbered from 0.
    var gatewayCount: Int { get }
    /// Each packet's fate, once the channel has decided it.
    var onOutcome: ((PacketOutcome) -> Void)? { get set }
    /// Outcomes with every gateway's reception (the server needs them to deduplicate and to answer).
    var detailedOutcomes: Bool { get set }
    /// A packet goes on the air.
    func transmit(_ t: Transmission)
    /// The gateway is out of service from `from` to `to`.
    func gatewayDown(_ gateway: Int, from: Nanoseconds, to: Nanoseconds)
    func isDown(_ gateway: Int, from: Nanoseconds, to: Nanoseconds) -> Bool
    /// The gateway transmits (a downlink) from `start` to `end`: half-duplex, it receives nothing meanwhile.
    func gatewayTransmits(_ gateway: Int, start: Nanoseconds, end: Nanoseconds)
    /// Whether the device (standing at x, y) hears a downlink the gateway sends at this power and modulation;
    /// `draw` is the device's stream for the downlink path's random part.
    func downlinkHeard(device: Int, gateway: Int, x: Double, y: Double, powerdBm: Double, modulation: LoRaModulation,
                       receiver: ReceiverModel, draw: inout SeededRandom) -> Bool
}

/// A channel of one gateway that hears every packet and whose downlinks are always heard: a single device on
/// the bench or in `device run` meeting the network server with nothing else on the air. A packet's fate is
/// decided as it is handed over (nothing else is on the air to change it).
public class PerfectChannel: UplinkChannel {
    public var onOutcome: ((PacketOutcome) -> Void)?
    public var detailedOutcomes = true
    /// What the gateway measures of every uplink.
    public var rssidBm: Double
    public var snrdB: Double
    private var down: [(from: Nanoseconds, to: Nanoseconds)] = []

    public init(rssidBm: Double = -80, snrdB: Double = 5) {
        self.rssidBm = rssidBm
        self.snrdB = snrdB
    }

    public var gatewayCount: Int { 1 }

    /// Lost on the way up (false here).
    func lostUp() -> Bool { false }
    /// Lost on the way down (false here).
    func lostDown() -> Bool { false }

    public func transmit(_ t: Transmission) {
        let end = t.start + t.airtime
        let cause: LossCause? = isDown(0, from: t.start, to: end) ? .gatewayDown : (lostUp() ? .belowSensitivity : nil)
        let reception = GatewayReception(gateway: 0, rssidBm: rssidBm, snrdB: snrdB, loss: cause)
        onOutcome?(PacketOutcome(transmission: t, receptions: [reception], delivered: cause == nil, loss: cause, bestRSSIdBm: rssidBm))
    }

    public func gatewayDown(_ gateway: Int, from: Nanoseconds, to: Nanoseconds) { down.append((from, to)) }

    public func isDown(_ gateway: Int, from: Nanoseconds, to: Nanoseconds) -> Bool {
        down.contains { $0.from < to && $0.to > from }
    }

    public func gatewayTransmits(_ gateway: Int, start: Nanoseconds, end: Nanoseconds) {}

    public func downlinkHeard(device: Int, gateway: Int, x: Double, y: Double, powerdBm: Double, modulation: LoRaModulation,
                              receiver: ReceiverModel, draw: inout SeededRandom) -> Bool { !lostDown() }
}

/// The perfect channel with losses: each uplink is lost with probability `uplinkLoss`, each downlink with
/// `downlinkLoss`, from one seeded stream.
public final class LossyChannel: PerfectChannel {
    public let uplinkLoss: Double
    public let downlinkLoss: Double
    private var rng: SeededRandom

    public init(uplinkLoss: Double, downlinkLoss: Double, seed: UInt64) {
        self.uplinkLoss = uplinkLoss
        self.downlinkLoss = downlinkLoss
        rng = SeededRandom.stream(seed: seed, 0x4C05)
        super.init()
    }

    override func lostUp() -> Bool { uplinkLoss > 0 && rng.nextDouble() < uplinkLoss }
    override func lostDown() -> Bool { downlinkLoss > 0 && rng.nextDouble() < downlinkLoss }
}

extension RadioChannel: UplinkChannel {
    public var gatewayCount: Int { gateways.count }

    /// The downlink path: the uplink's link loss (reciprocity; with static shadowing its draw included), and a new
    /// draw of the per-packet shadowing or fading; then the device's receiver (sensitivity and SNR floor).
    public func downlinkHeard(device: Int, gateway: Int, x: Double, y: Double, powerdBm: Double, modulation m: LoRaModulation,
                              receiver: ReceiverModel, draw: inout SeededRandom) -> Bool {
        var loss: Double
        if let link = links(device: device).first(where: { $0.gateway == gateway }) {
            loss = link.lossdB
        } else {
            loss = RadioChannel.meanLossdB(model: model, gateway: gateways[gateway], x: x, y: y, antennaGaindBi: 0)
        }
        let sigma = model.shadowing && !model.staticShadowing ? model.pathLoss.shadowingSigmadB : 0
        let spread = (sigma * sigma + model.fadingSigmadB * model.fadingSigmadB).squareRoot()
        if spread > 0 { loss += draw.nextNormal() * spread }
        let rssi = powerdBm - loss
        let noise = LinkBudget.noiseFloordBm(bandwidthHz: 125_000, noiseFigure: receiver.noiseFigure)
        return rssi >= receiver.sensitivitydBm(sf: m.spreadingFactor, bandwidth: m.bandwidth)
            && rssi - noise >= LinkBudget.snrFloordB(sf: m.spreadingFactor)
    }
}
