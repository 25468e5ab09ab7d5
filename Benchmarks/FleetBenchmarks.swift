import Fleet
import Foundation
import HarnessCore

/// `loraharness-bench fleet`: firmware-in-the-loop uplinks per second (cryptography on and off), a 100,000-sensor
/// day with its peak memory, cost against traffic, and the speed-up of --jobs on independent radio cells.
func runFleetBenchmarks() {
    print("machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB")
    func run(_ label: String, _ yaml: String, crypto: Bool, jobs: Int = 1) {
        guard var sc = try? FleetScenario.parse(try DocumentNode.parse(yaml, file: label), text: yaml) else {
            print("\(label): scenario does not parse")
            return
        }
        sc.network.crypto = crypto
        let start = DispatchTime.now().uptimeNanoseconds
        let runner = FleetRunner(scenario: sc, jobs: jobs)
        let partial = runner.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let devices = partial.cells.flatMap(\.devices)
        let uplinks = devices.reduce(0) { $0 + $1.framesSent + $1.retransmissions + $1.joinRequests }
        let events = partial.cells.reduce(0) { $0 + $1.events }
        let background = partial.cells.reduce(0) { $0 + $1.backgroundTransmissions }
        print(String(format: "%@: %d sensors, %d cells, crypto %@, jobs %d: %d uplinks (+%d other) in %.2f s = %.0f uplinks/s, %.2f µs per uplink; "
                     + "%d events; peak RSS %.0f MiB",
                     label, devices.count, runner.plan.cells.count, crypto ? "on" : "off", jobs, uplinks, background, seconds,
                     Double(uplinks) / seconds, seconds * 1e6 / Double(max(1, uplinks)), events, peakResidentMiB()))
    }

    let lorient = (try? String(contentsOfFile: "Fixtures/scenarios/lorient.yaml", encoding: .utf8)) ?? ""
    // The Lorient fleet without the other transmitters: the sensors' own work only.
    var sensorsOnly = lorient
    if let b = sensorsOnly.range(of: "background:"), let f = sensorsOnly.range(of: "faults:") { sensorsOnly.removeSubrange(b.lowerBound..<f.lowerBound) }
    run("lorient week, sensors only", sensorsOnly, crypto: true)
    run("lorient week, sensors only", sensorsOnly, crypto: false)
    run("lorient week, with 4,000 other transmitters", lorient, crypto: true)

    // Towns far apart (independent radio cells), each with its own gateways and recycling centres.
    func towns(_ count: Int, sitesPerTown: Int, bays: Int, duration: String) -> String {
        var gws = "", sites = ""
        for t in 0..<count {
            let x = t * 3_000_000   // far beyond any link: one radio cell per town
            gws += "  - {name: gw-\(t)-a, position: [\(x), 0], antennaGain: 3}\n  - {name: gw-\(t)-b, position: [\(x + 8000), 0], antennaGain: 3}\n"
            sites += "  - {generate: \(sitesPerTown), area: {from: [\(x - 6000), -6000], to: [\(x + 14000), 6000]}, namePrefix: t\(t), bays: \(bays), gates: 1, visitsPerYear: 30000, layoutSeed: \(t + 1)}\n"
        }
        return """
            name: towns
            seed: 1
            duration: \(duration)
            start: 2026-06-06T00:00:00+02:00
            powerUpSpread: 1h
            channel: {shadowing: per-link, fading: 3}
            gateways:
            \(gws)sites:
            \(sites)devices:
              bay: {dutyCycle: sliding-window}
              gate: {dutyCycle: sliding-window, reportInterval: 120s}
            """.replacingOccurrences(of: "\n  - ", with: "\n  - ")
    }
    // Cost against traffic: 1×, 3×, 10× the sensors (a Saturday: the busiest day).
    for n in [1, 3, 10] { run("towns, Saturday", towns(n, sitesPerTown: 100, bays: 9, duration: "1d"), crypto: false) }
    // Independent cells on both cores.
    run("towns, Saturday", towns(4, sitesPerTown: 100, bays: 9, duration: "1d"), crypto: false, jobs: 2)
    // 100,000 sensors for one day: 100 towns of 100 sites × (9 bays + 1 gate).
    run("100,000 sensors, Saturday", towns(100, sitesPerTown: 100, bays: 9, duration: "1d"), crypto: false, jobs: 1)
}

/// The process's peak resident set (VmHWM), MiB.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
