import Foundation
import HarnessCore
import Network
import RadioLink
import Testing

/// A channel with one gateway at the origin, no shadowing, and a path loss that makes arithmetic easy:
/// 100 dB at every distance from 1 m (exponent 0), so RSSI = TX power − 100 dBm.
func flatChannel(capture: Bool = true, summed: Bool = true, preamble: Bool = true, interSF: IsolationMatrix? = nil,
                 demodulators: Int = 8, gateways: Int = 1) -> RadioChannel {
    let flat = PathLossModel(name: "flat", referenceDistanceMeters: 1, referenceLossdB: 100, exponent: 0, shadowingSigmadB: 0)
    let model = ChannelModel(pathLoss: flat, shadowing: false, receiver: .sx1301, captureEnabled: capture, captureThresholddB: 6,
                             summedInterference: summed, preambleRule: preamble, interSF: interSF)
    let gws = (0..<gateways).map { GatewaySpec(name: "gw\($0)", x: Double($0) * 10, y: 0, demodulators: demodulators) }
    return RadioChannel(model: model, gateways: gws, seed: 1)
}

let sf7: Nanoseconds = 1_024_000   // SF7 at 125 kHz: one symbol
func tx(_ device: Int, at start: Nanoseconds, airtime: Nanoseconds = 50 * Time.millisecond, power: Double = 14,
        sf: Int = 7, frequency: Int64 = 868_100_000) -> Transmission {
    Transmission(device: device, start: start, airtime: airtime, frequencyHz: frequency, spreadingFactor: sf, txPowerdBm: power,
                 payloadBytes: 20, tag: device)
}

/// Runs the transmissions and returns each device's outcome at gateway 0 (nil: received).
func outcomes(_ channel: RadioChannel, _ txs: [Transmission]) -> [Int: LossCause?] {
    var out: [Int: LossCause?] = [:]
    channel.onOutcome = { o in
        if let r = o.receptions.first(where: { $0.gateway == 0 }) {
            out[o.transmission.device] = .some(r.loss)
        } else {
            out[o.transmission.device] = .some(.noGateway)
        }
    }
    for _ in 0..<(txs.map(\.device).max() ?? 0) + 1 { channel.addDevice(x: 1, y: 0) }
    for t in txs.sorted(by: { $0.start < $1.start }) { channel.transmit(t) }
    channel.finish()
    return out
}

@Suite struct CaptureAndPreambleTests {
    // Powers at the gateway: 14 dBm → −86 dBm, 7 → −93, 9 → −91.

    @Test func captureBySixDecibels() {
        // A at −86 dBm, B at −93 dBm, fully overlapping: A is 7 dB above B (≥ 6): A captures, B is lost.
        let r = outcomes(flatChannel(), [tx(0, at: 0), tx(1, at: 10 * Time.millisecond, power: 7)])
        #expect(r[0]! == nil)
        #expect(r[1]! == .captureLost)
        // B at −91 dBm: only 5 dB below: both lost.
        let r2 = outcomes(flatChannel(), [tx(0, at: 0), tx(1, at: 10 * Time.millisecond, power: 9)])
        #expect(r2[0]! == .collision && r2[1]! == .collision)
        // Capture off: any overlap loses both.
        let r3 = outcomes(flatChannel(capture: false), [tx(0, at: 0), tx(1, at: 10 * Time.millisecond, power: 0)])
        #expect(r3[0]! == .collision && r3[1]! == .collision)
    }

    @Test func preambleRule() {
        // A starts at 100 ms; SF7: its receiver locks 8 + 4.25 − 5 = 7.25 symbols in = 7.424 ms later.
        // B (same power) ends 7.0 ms after A started: before the lock, so A survives; B, overlapped by A, is lost.
        let a = tx(0, at: 100 * Time.millisecond)
        let early = tx(1, at: 57 * Time.millisecond, airtime: 50 * Time.millisecond)   // ends at 107.0 ms
        let r = outcomes(flatChannel(), [a, early])
        #expect(r[0]! == nil)
        #expect(r[1]! == .collision)
        // B ending 7.5 ms after A's start reaches into A's last preamble symbols: both lost.
        let late = tx(1, at: 57_500_000, airtime: 50 * Time.millisecond)   // ends at 107.5 ms
        let r2 = outcomes(flatChannel(), [a, late])
        #expect(r2[0]! == .collision && r2[1]! == .collision)
        // Without the rule, the early interferer kills A too.
        let r3 = outcomes(flatChannel(preamble: false), [a, early])
        #expect(r3[0]! == .collision)
    }

    @Test func summedVersusPairwiseInterference() {
        // A at −86 dBm; B and C at −93 dBm each, overlapping A and each other.
        // Pairwise: each interferer is 7 dB below A: A survives. Summed: 2 × −93 dBm = −89.99 dBm, only 3.99 dB
        // below A: A is lost (collision: no single interferer captured the receiver).
        let txs = [tx(0, at: 0), tx(1, at: 5 * Time.millisecond, power: 7), tx(2, at: 6 * Time.millisecond, power: 7)]
        let pairwise = outcomes(flatChannel(summed: false), txs)
        #expect(pairwise[0]! == nil)
        #expect(pairwise[1]! == .captureLost && pairwise[2]! == .captureLost)
        let summed = outcomes(flatChannel(summed: true), txs)
        #expect(summed[0]! == .collision)
    }

    @Test func otherChannelsAndSFsDoNotInterfere() {
        let r = outcomes(flatChannel(), [tx(0, at: 0), tx(1, at: 1 * Time.millisecond, frequency: 868_300_000),
                                         tx(2, at: 2 * Time.millisecond, sf: 9)])
        #expect(r[0]! == nil && r[1]! == nil && r[2]! == nil)
    }

    @Test func interSFIsolation() {
        // Goursaud matrix: SF7 wanted, SF12 interferer: −20 dB. An SF12 packet 15 dB stronger leaves SF7 alive;
        // 25 dB stronger kills it (inter_sf).
        let ok = outcomes(flatChannel(interSF: .goursaud), [tx(0, at: 0, power: -1), tx(1, at: 1 * Time.millisecond, power: 14, sf: 12)])
        #expect(ok[0]! == nil)
        let lost = outcomes(flatChannel(interSF: .goursaud), [tx(0, at: 0, power: -11), tx(1, at: 1 * Time.millisecond, power: 14, sf: 12)])
        #expect(lost[0]! == .interSF)
    }

    @Test func demodulatorsSensitivityAndHalfDuplex() {
        // Two demodulators, three overlapping packets on three channels: the third finds none free.
        let r = outcomes(flatChannel(demodulators: 2), [tx(0, at: 0), tx(1, at: 1_000_000, frequency: 868_300_000),
                                                        tx(2, at: 2_000_000, frequency: 868_500_000)])
        #expect(r[0]! == nil && r[1]! == nil && r[2]! == .noFreeDemodulator)
        // −40 dBm − 100 dB = −140 dBm: under SX1301's −130 dBm at SF7.
        let far = outcomes(flatChannel(), [tx(0, at: 0, power: -40)])
        #expect(far[0]! == .belowSensitivity)
        // The gateway transmits from 20 ms to 30 ms: a packet on air then is lost, one after it is not.
        let ch = flatChannel()
        ch.gatewayTransmits(0, start: 20 * Time.millisecond, end: 30 * Time.millisecond)
        let h = outcomes(ch, [tx(0, at: 0), tx(1, at: 40 * Time.millisecond, frequency: 868_300_000)])
        #expect(h[0]! == .gatewayTransmitting && h[1]! == nil)
    }

    @Test func deliveredWhenAnyGatewayReceives() {
        let ch = flatChannel(gateways: 2)
        ch.gatewayTransmits(0, start: 0, end: Time.second)
        var got: PacketOutcome?
        ch.onOutcome = { got = $0 }
        ch.addDevice(x: 1, y: 0)
        ch.transmit(tx(0, at: 0))
        ch.finish()
        #expect(got?.delivered == true)
        #expect(got?.receptions.count == 2)
        #expect(got?.receptions.first { $0.gateway == 0 }?.loss == .gatewayTransmitting)
        #expect(got?.receptions.first { $0.gateway == 1 }?.loss == nil)
    }
}
