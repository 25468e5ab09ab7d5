import Foundation
import HarnessCore
import Network
import RadioLink

func registerChannelBenchmarks() {
    // The classic single-gateway study: 1000 devices, SF12, 20-byte packets, mean interval 1000 s, 58 days.
    guard let classic = try? Scenario.load(path: "Fixtures/scenarios/classic-single-gateway.yaml") else {
        print("channel benchmarks need Fixtures/scenarios/classic-single-gateway.yaml (run from the repository root)")
        return
    }
    Benchmark.add("channel: classic single-gateway study, 58 days (~5.0 M uplinks)", unit: "run", iterations: 1) { _ in
        var sim = ChannelSimulation(scenario: classic)
        let r = sim.run()
        return r.delivered
    }
    Benchmark.add("channel: classic study, per uplink", unit: "uplink", iterations: 5_010_228) { _ in
        var sim = ChannelSimulation(scenario: classic)
        return sim.run().delivered
    }
    // A denser network: 20 gateways on a 20 km square, 20,000 devices on 3 channels, SF7–12, every packet
    // decided at every gateway in range.
    var city = classic
    city.name = "city"
    city.duration = Time.day
    city.model = ChannelModel(pathLoss: .oulu, shadowing: true, receiver: .sx1301)
    city.gateways = (0..<20).map { GatewaySpec(name: "gw\($0)", x: Double($0 % 5) * 5000, y: Double($0 / 5) * 5000) }
    city.downlinks = Array(repeating: nil, count: 20)
    city.groups = [DeviceGroup(name: "sensors", count: 20_000, placement: .rectangle(x0: 0, y0: 0, x1: 20_000, y1: 15_000),
                               traffic: Traffic(interval: 600 * Time.second, distribution: .exponential, jitter: 0, payloadBytes: 24),
                               radio: .auto(margindB: 6, bandwidth: .bw125), codingRate: .cr4_5, txPowerdBm: 14,
                               frequencies: [868_100_000, 868_300_000, 868_500_000], dutyCycle: .none)]
    let cityUplinks = 20_000 * 144
    Benchmark.add("channel: 20 gateways, 20,000 devices, 1 day, per uplink", unit: "uplink", iterations: cityUplinks) { _ in
        var sim = ChannelSimulation(scenario: city)
        return sim.run().delivered
    }
}

/// `loraharness-bench scaling`: memory against simulated duration, and time against traffic.
func runChannelScaling() {
    guard var base = try? Scenario.load(path: "Fixtures/scenarios/classic-single-gateway.yaml") else { return }
    func maxRSSMiB() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }
    print("memory against simulated duration (classic study, 1000 devices): peak resident set after each run")
    for days in [1, 7, 29, 58] {
        base.duration = Int64(days) * Time.day
        var sim = ChannelSimulation(scenario: base)
        let start = DispatchTime.now().uptimeNanoseconds
        let r = sim.run()
        let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "  %2d days: %8d uplinks, %.2f s, peak RSS %.1f MiB", days, r.generated, s, maxRSSMiB()))
    }
    print("time against traffic (mean interval 1000 s, 7 days; more devices, more traffic)")
    base.duration = 7 * Time.day
    for devices in [1000, 2000, 4000, 8000] {
        base.groups[0].count = devices
        var sim = ChannelSimulation(scenario: base)
        let start = DispatchTime.now().uptimeNanoseconds
        let r = sim.run()
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
        print(String(format: "  %5d devices: %8d uplinks, %.2f s, %.0f ns per uplink", devices, r.generated, ns / 1e9, ns / Double(r.generated)))
    }
}
