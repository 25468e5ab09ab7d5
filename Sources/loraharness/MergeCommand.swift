import ArgumentParser
import Fleet
import Foundation
import HarnessCore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the shards of a fleet run (simulate --shard i/N --partial FILE) into one report.",
        discussion: """
            Every work item (radio cell × replica) must be present exactly once, and every shard must come from the \
            same scenario file, seed, duration and replicas. The result is the same, byte for byte, as running the \
            scenario unsharded; assertions, --baseline and the exit status work as for simulate.

            Example (a Kubernetes Indexed Job, a Slurm array or a CI matrix runs the shards):
              loraharness simulate fleet.yaml --shard 1/4 --partial out/1.json   # … to 4/4
              loraharness merge fleet.yaml out/*.json --junit out/fleet.xml --report \\
                  out/fleet.json
            """
    )

    @Argument(help: "The fleet scenario file the shards ran.") var scenario: String
    @Argument(help: "The shards' partial result files.") var partials: [String]
    @Option(help: "Write the JSON report to this file.") var report: String?
    @Option(help: "Write per-device results (CSV) to this file.") var csv: String?
    @Option(help: "Write a JUnit XML file, one test case per assertion.") var junit: String?
    @Option(help: "Write one self-contained HTML report (charts, map, worst sites first) to this file.") var html: String?
    @Option(help: "Compare with an earlier --report file.") var baseline: String?
    @Option(help: "The duration the shards ran with, if not the scenario's.", transform: durationArgument) var duration: Nanoseconds?
    @Option(help: "The seed the shards ran with, if not the scenario's.") var seed: UInt64?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(!partials.isEmpty, "give the shards' partial result files", option: "PARTIALS")
        try refuseOverwriting(inputs: [scenario] + partials + [baseline].compactMap { $0 },
                              outputs: [("--report", report), ("--csv", csv), ("--junit", junit), ("--html", html)])
    }

    func run() throws {
        var sc = try FleetScenario.load(path: scenario)
        if let duration { sc.duration = duration }
        if let seed { sc.seed = seed }
        var parts: [(name: String, partial: FleetPartial)] = []
        for path in partials {
            guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the file", at: .file(path)) }
            do {
                parts.append((path, try JSONDecoder().decode(FleetPartial.self, from: data)))
            } catch {
                throw InputError("not a partial result written by simulate --shard --partial", at: .file(path))
            }
        }
        let merged = try FleetPartial.merge(parts)
        guard merged.fingerprint == sc.fingerprint else {
            throw InputError("the shards ran another version of \(scenario) (the file changed since)", at: .file(partials[0]))
        }
        guard merged.seed == sc.seed, merged.duration == sc.duration else {
            throw InputError("the shards ran with seed \(merged.seed) and duration \(DurationFormat.human(merged.duration)); "
                             + "give the same --seed and --duration to merge", at: .file(partials[0]))
        }
        try FleetOutputs(report: report, csv: csv, junit: junit, baseline: baseline, html: html, common: common)
            .finish(scenario: sc, partial: merged, elapsed: 0)
    }
}
