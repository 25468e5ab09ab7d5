import ArgumentParser
import Fleet
import Foundation
import HarnessCore
import Network

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a fleet or a radio channel from a scenario file; fail when its assertions do not hold.",
        discussion: """
            A fleet scenario (it has `sites:`) runs the sensors' firmware in the loop with a Class A MAC each, the \
            vehicles of each site, the channel engine, a network server and the application, and reports delivery, \
            staleness, occupancy error, airtime, duty cycle and energy; its assertions decide the exit status. \
            A channel scenario (`devices:` groups) runs synthetic transmitters on the channel engine only. \
            The same seed gives the same results, byte for byte, whatever --jobs or --shard.

            Exit status: 0 all assertions hold, 1 one fails (or a regression against --baseline), 2 bad scenario \
            or arguments.

            Examples:
              loraharness simulate Fixtures/scenarios/lorient.yaml
              loraharness simulate Fixtures/scenarios/lorient.yaml --duration 1d \\
                  --junit out/fleet.xml --report out/fleet.json
              loraharness simulate big.yaml --shard 3/8 --partial out/shard-3.json
              loraharness merge big.yaml out/shard-*.json     # once every shard ran
              loraharness simulate Fixtures/scenarios/classic-single-gateway.yaml \\
                  --duration 1d --seed 3 --json
              loraharness simulate --check my-scenario.yaml
            """
    )

    @Argument(help: "The scenario file (YAML).") var scenario: String
    @Flag(help: "Validate the scenario and exit.") var check = false
    @Option(help: "Simulated duration, e.g. 6h, 7d (default: the scenario's).", transform: durationArgument) var duration: Nanoseconds?
    @Option(help: "Seed (default: the scenario's).") var seed: UInt64?
    @Option(help: "Also write the JSON report to this file.") var report: String?
    @Option(help: "Write per-device results (CSV) to this file.") var csv: String?
    @Option(help: "Write one self-contained HTML report (charts, map, worst sites first) to this file.") var html: String?
    @Option(help: "Fleet: write a JUnit XML file, one test case per assertion.") var junit: String?
    @Option(help: "Fleet: compare with an earlier --report file; a regression beyond the scenario's tolerances fails.") var baseline: String?
    @Option(help: "Fleet: worker threads for independent radio cells and replicas (default 1).") var jobs: Int = 1
    @Option(help: "Fleet: Monte-Carlo replicas (seeds seed, seed+1, …), pooled in the results.") var replicas: Int = 1
    @Option(help: "Fleet: run only shard i of N (e.g. 3/8); needs --partial.") var shard: String?
    @Option(help: "Fleet: with --shard, write this shard's results here for `loraharness merge`.") var partial: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try refuseOverwriting(inputs: [scenario] + [baseline].compactMap { $0 },
                              outputs: [("--report", report), ("--csv", csv), ("--junit", junit), ("--partial", partial), ("--html", html)])
        if let duration { try require(duration > 0, "the duration must be positive", option: "--duration") }
        try require(jobs >= 1 && jobs <= 256, "jobs is 1…256", option: "--jobs")
        try require(replicas >= 1 && replicas <= 10_000, "replicas is 1…10000", option: "--replicas")
        if let shard {
            _ = try parseShard(shard)
            try require(partial != nil, "--shard writes a partial result: give --partial FILE", option: "--shard")
        }
        try require(partial == nil || shard != nil, "--partial goes with --shard", option: "--partial")
    }

    func run() throws {
        let doc = try DocumentNode.load(path: scenario)
        if FleetScenario.isFleet(doc) {
            try runFleet()
            return
        }
        for (flag, set) in [("--junit", junit != nil), ("--baseline", baseline != nil), ("--shard", shard != nil), ("--replicas", replicas != 1)] where set {
            throw InputError("\(flag) is for fleet scenarios (with sites:); \(scenario) is a channel scenario", at: .argument(flag))
        }
        let sc = try Scenario.parse(doc)
        if check {
            common.console.say("\(scenario): valid; \(sc.deviceCount) devices in \(sc.groups.count) group(s), \(sc.gateways.count) gateway(s), "
                + "\(sc.region.id.rawValue), \(DurationFormat.human(duration ?? sc.duration))")
            return
        }
        var sim = ChannelSimulation(scenario: sc)
        let progress = ProgressReporter(enabled: !common.quiet && !common.json, simulated: duration ?? sc.duration)
        let result = sim.run(duration: duration, seed: seed, progress: progress.enabled ? { p in progress.update(p) } : nil)
        progress.clear()
        if let report { try writeFile(report, try JSONOutput.encode(result), option: "--report") }
        if let csv { try writeFile(csv, sim.csv(), option: "--csv") }
        if let html { try writeFile(html, result.html(scenario: sc, devices: sim.deviceResults), option: "--html") }
        try common.emit(result, text: result.text)
    }

    private func runFleet() throws {
        var sc = try FleetScenario.load(path: scenario)
        if let duration { sc.duration = duration }
        if let seed { sc.seed = seed }
        let runner = FleetRunner(scenario: sc, jobs: jobs, replicas: replicas)
        if check {
            let cells = runner.plan.cells
            common.console.say("\(scenario): valid fleet scenario; \(sc.sensorCount) sensors at \(sc.sites.count) sites, \(sc.gateways.count) gateways, "
                + "\(sc.backgroundCount) other transmitters, \(sc.region.id.rawValue), \(DurationFormat.human(sc.duration)); "
                + "\(cells.count) radio cell\(cells.count == 1 ? "" : "s"), \(sc.assertions.count) assertion\(sc.assertions.count == 1 ? "" : "s")")
            return
        }
        let progress = ProgressReporter(enabled: !common.quiet && !common.json, simulated: sc.duration)
        let started = Date()
        let callback: (@Sendable (SimulationProgress) -> Void)? = progress.enabled ? { @Sendable p in progress.update(p) } : nil
        if let shard, let partial {
            let (i, n) = try parseShard(shard)
            let items = runner.items(shard: i - 1, of: n)
            let result = runner.run(items: items, shard: shard, progress: callback)
            progress.clear()
            try writeFile(partial, try JSONOutput.encode(result, pretty: false), option: "--partial")
            common.console.say("shard \(shard): \(items.count) of \(runner.items.count) work items (cells × replicas) written to \(partial); "
                + "combine the shards with: loraharness merge \(scenario) FILES…")
            return
        }
        let result = runner.run(progress: callback)
        progress.clear()
        try FleetOutputs(report: report, csv: csv, junit: junit, baseline: baseline, html: html, common: common)
            .finish(scenario: sc, partial: result, elapsed: Date().timeIntervalSince(started))
    }
}

/// `i/N` with 1 ≤ i ≤ N.
func parseShard(_ text: String) throws -> (Int, Int) {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else {
        throw InputError("'\(text)' is not a shard; write i/N with 1 ≤ i ≤ N, e.g. 3/8", at: .argument("--shard"))
    }
    return (i, n)
}

/// The outputs of a finished fleet run (whole, or merged from shards): report, CSV, JUnit, baseline, exit status.
struct FleetOutputs {
    var report: String?
    var csv: String?
    var junit: String?
    var baseline: String?
    var html: String?
    var common: CommonOptions

    func finish(scenario sc: FleetScenario, partial: FleetPartial, elapsed: Double) throws {
        var result = FleetReport(scenario: sc, partial: partial)
        if let baseline {
            let old = try FleetReport.load(path: baseline)
            try result.compare(with: old, tolerances: sc.tolerances, baselineFile: baseline)
        }
        // Every file is written before the verdict, so a failing run leaves all its evidence.
        if let report { try writeFile(report, try JSONOutput.encode(result), option: "--report") }
        if let csv { try writeFile(csv, FleetReport.csv(partial), option: "--csv") }
        if let junit { try writeFile(junit, result.junit(elapsedSeconds: elapsed), option: "--junit") }
        if let html { try writeFile(html, result.html(scenario: sc, partial: partial), option: "--html") }
        try common.emit(result, text: result.text)
        let failures = result.failures
        if !failures.isEmpty {
            throw CheckFailure(failures.count == 1 ? failures[0] : "\(failures.count) checks failed: " + failures.joined(separator: "; "))
        }
    }
}

/// Writes a file named by an option, with a one-line error naming it when that fails.
/// Writes a report file, making its directory first (a CI job's `--junit out/fleet.xml` before `out/` exists).
func writeFile(_ path: String, _ text: String, option: String) throws {
    let fm = FileManager.default
    let dir = (path as NSString).deletingLastPathComponent
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw InputError("is a directory, not a file", at: .argument("\(option) \(path)"))
    }
    if !dir.isEmpty, !fm.fileExists(atPath: dir) {
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        catch { throw InputError("cannot make the directory \(dir): \(String(cString: strerror(errno)))", at: .argument("\(option) \(path)")) }
    }
    // Atomically (a temporary file renamed into place), and a failed write (a full disk) is an error, not a success.
    do throws(InputError) { try FileWriting.write(text, to: path) } catch { throw InputError(error.message, at: .argument("\(option) \(path)")) }
}
