import Foundation
import HarnessCore
import Network
import RadioLink
import Testing

@Suite struct AlohaTests {
    /// With capture and the preamble rule off, one channel, one SF and Poisson traffic, the delivery ratio of
    /// pure ALOHA is e^(−2G) for offered load G (Abramson 1970). Within 3 standard errors for G from 0.05 to 1.
    @Test(arguments: [0.05, 0.1, 0.25, 0.5, 0.75, 1.0])
    func pureAloha(g: Double) throws {
        let seed = ProcessInfo.processInfo.environment["LORAHARNESS_TEST_SEED"].flatMap { UInt64($0) } ?? 20_261_129
        print("pureAloha(G = \(g)): seed \(seed) (set LORAHARNESS_TEST_SEED to change it)")
        let n = 200
        let airtime = AirtimeCalculator.loraUnchecked(LoRaModulation(spreadingFactor: 7, bandwidth: .bw125), payloadBytes: 20).nanoseconds
        // G = n · ToA / mean interval  →  interval = n · ToA / G; about 30,000 packets.
        let interval = Int64(Double(n) * Double(airtime) / g)
        let duration = interval * 150
        let flat = PathLossModel(name: "flat", referenceDistanceMeters: 1, referenceLossdB: 100, exponent: 0, shadowingSigmadB: 0)
        let model = ChannelModel(pathLoss: flat, shadowing: false, receiver: .sx1301, captureEnabled: false, preambleRule: false)
        let scenario = Scenario(
            name: "aloha", seed: seed, duration: duration, region: RegionID.eu868.parameters, subBands: RegionID.eu868.parameters.subBands,
            model: model, gateways: [GatewaySpec(name: "gw", x: 0, y: 0, demodulators: 10_000)], downlinks: [nil],
            groups: [DeviceGroup(name: "d", count: n, placement: .disc(x: 0, y: 0, radius: 100),
                                 traffic: Traffic(interval: interval, distribution: .exponential, jitter: 0, payloadBytes: 20),
                                 radio: .fixed(sf: 7, bandwidth: .bw125), codingRate: .cr4_5, txPowerdBm: 14,
                                 frequencies: [868_100_000], dutyCycle: .none)])
        var sim = ChannelSimulation(scenario: scenario)
        let report = sim.run()
        let p = exp(-2 * g)
        let se = (p * (1 - p) / Double(report.generated)).squareRoot()
        print(String(format: "pureAloha: G %.2f, %d packets, delivery %.5f, e^(-2G) %.5f, 3 SE %.5f", g, report.generated,
                     report.deliveryRatio, p, 3 * se))
        #expect(report.generated > 25_000)
        #expect(abs(report.deliveryRatio - p) <= 3 * se,
                "G \(g): measured \(report.deliveryRatio), e^(-2G) = \(p), 3 SE = \(3 * se), seed \(seed)")
    }
}
