import ArgumentParser
import Foundation
import HarnessCore
import Network

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a network from a scenario file: many transmitters, gateways, collisions and capture.",
        discussion: """
            The scenario (YAML, examples in Fixtures/scenarios/) gives the region, the channel model, the gateways
            and the device groups with their placement, traffic and radio settings. --check validates it without
            running. The same seed gives the same results, byte for byte.

            Examples:
              loraharness simulate Fixtures/scenarios/small-site.yaml
              loraharness simulate Fixtures/scenarios/classic-single-gateway.yaml --duration 1d --seed 3 --json
              loraharness simulate --check my-scenario.yaml
            """
    )

    @Argument(help: "The scenario file (YAML).") var scenario: String
    @Flag(help: "Validate the scenario and exit.") var check = false
    @Option(help: "Simulated duration, e.g. 6h, 7d (default: the scenario's).", transform: durationArgument) var duration: Nanoseconds?
    @Option(help: "Seed (default: the scenario's).") var seed: UInt64?
    @Option(help: "Also write the JSON report to this file.") var report: String?
    @Option(help: "Write per-device results (CSV) to this file.") var csv: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let duration { try require(duration > 0, "the duration must be positive", option: "--duration") }
    }

    func run() throws {
        let sc = try Scenario.load(path: scenario)
        if check {
            common.console.say("\(scenario): valid; \(sc.deviceCount) devices in \(sc.groups.count) group(s), \(sc.gateways.count) gateway(s), "
                + "\(sc.region.id.rawValue), \(DurationFormat.human(duration ?? sc.duration))")
            return
        }
        var sim = ChannelSimulation(scenario: sc)
        let showProgress = !common.quiet && Console.colourWanted(fd: 2) && !common.json
        let result = sim.run(duration: duration, seed: seed, progress: showProgress ? { p in
            FileHandle.standardError.write(Data(String(format: "\r%5.1f %%", p * 100).utf8))
        } : nil)
        if showProgress { FileHandle.standardError.write(Data("\r        \r".utf8)) }
        if let report { try writeFile(report, try JSONOutput.encode(result), option: "--report") }
        if let csv { try writeFile(csv, sim.csv(), option: "--csv") }
        try common.emit(result, text: result.text)
    }
}

/// Writes a file named by an option, with a one-line error naming it when that fails.
func writeFile(_ path: String, _ text: String, option: String) throws {
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    catch { throw InputError("cannot write the file: \(error.localizedDescription)", at: .argument("\(option) \(path)")) }
}
