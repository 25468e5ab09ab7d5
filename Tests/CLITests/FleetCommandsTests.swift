import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// `simulate` on fleet scenarios and `merge`, as CI uses them: exit statuses, files, one-line errors.
@Suite struct FleetCommandsTests {
    static func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-fleet-cli-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    static func write(_ name: String, _ text: String) throws -> String {
        let path = temp(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let small = """
        name: cli-small
        seed: 4
        duration: 12h
        powerUpSpread: 5m
        channel: {shadowing: per-link, fading: 3}
        gateways:
          - {name: gw, position: [0, 0], antennaGain: 3}
          - {name: far, position: [3000000, 0]}
        sites:
          - {name: a, position: [600, 200], bays: 5, gates: 1, visitsPerYear: 50000}
          - {name: b, position: [3000500, 100], bays: 3, gates: 1, visitsPerYear: 20000}
        assertions:
          - pdr >= 0.5
          - duty_cycle_violations <= 1000000
        """

    @Test func passingRunWritesEveryFile() throws {
        let path = try Self.write("pass.yaml", Self.small)
        let report = Self.temp("pass.json"), junit = Self.temp("pass.xml"), csv = Self.temp("pass.csv")
        let r = try CLI.run(["simulate", path, "--report", report, "--junit", junit, "--csv", csv])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("fleet cli-small: 12 h 0 m, seed 4; 10 sensors at 2 sites"))
        #expect(r.stdout.contains("PASS  pdr >= 0.5"))
        let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        #expect(try xml.nodes(forXPath: "//testcase").count == 2)
        #expect(try xml.nodes(forXPath: "//failure").isEmpty)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        #expect(json?["format"] as? String == "loraharness-fleet-report/1")
        #expect(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count == 11)
        // The same run compared with itself as a baseline passes.
        let again = try CLI.run(["simulate", path, "--baseline", report, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
    }

    @Test func failingAssertionExitsOneAndKeepsTheFiles() throws {
        let path = try Self.write("fail.yaml", Self.small + "\n  - staleness.p50 <= 1ms")
        let junit = Self.temp("fail.xml")
        let r = try CLI.run(["simulate", path, "--junit", junit])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: assertion failed: staleness.p50 <= 1ms (staleness.p50 = "), "\(r.stderr)")
        #expect(r.stdout.contains("FAIL  staleness.p50 <= 1ms"))
        let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        #expect(try xml.nodes(forXPath: "//failure").count == 1)
    }

    @Test(arguments: [
        ("colour: blue", "unknown field 'colour'", ":15"),
        ("faults:\n  - {powerCut: nowhere, at: 1h}", "no site 'nowhere'", ":16"),
    ])
    func badScenarioExitsTwo(extra: String, mentions: String, at: String) throws {
        let path = try Self.write("bad-\(abs(extra.hashValue)).yaml", Self.small + "\n" + extra)
        let r = try CLI.run(["simulate", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains(mentions) && r.stderr.contains(path + at), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func shardsMergeToTheUnshardedReport() throws {
        let path = try Self.write("shard.yaml", Self.small)
        let whole = Self.temp("whole.json"), merged = Self.temp("merged.json")
        #expect(try CLI.run(["simulate", path, "--report", whole, "--quiet"]).status == 0)
        let p1 = Self.temp("p1.json"), p2 = Self.temp("p2.json")
        let s1 = try CLI.run(["simulate", path, "--shard", "1/2", "--partial", p1])
        #expect(s1.status == 0 && s1.stdout.contains("shard 1/2: 1 of 2 work items"), "\(s1.stdout)\(s1.stderr)")
        #expect(try CLI.run(["simulate", path, "--shard", "2/2", "--partial", p2, "--quiet"]).status == 0)
        let m = try CLI.run(["merge", path, p2, p1, "--report", merged, "--quiet"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try String(contentsOfFile: merged, encoding: .utf8) == String(contentsOfFile: whole, encoding: .utf8))
        // One shard alone is not the whole run.
        let missing = try CLI.run(["merge", path, p1])
        #expect(missing.status == 2 && missing.stderr.contains("1 of 2 work items present; a shard is missing"), "\(missing.stderr)")
        // Jobs do not change results either.
        let threaded = Self.temp("threaded.json")
        #expect(try CLI.run(["simulate", path, "--jobs", "2", "--report", threaded, "--quiet"]).status == 0)
        #expect(try String(contentsOfFile: threaded, encoding: .utf8) == String(contentsOfFile: whole, encoding: .utf8))
    }

    @Test(arguments: [
        (["--shard", "3/2", "--partial", "x.json"], "not a shard", "--shard"),
        (["--shard", "1/2"], "give --partial", "--shard"),
        (["--jobs", "0"], "jobs is 1…256", "--jobs"),
    ])
    func badOptionsExitTwo(options: [String], mentions: String, option: String) throws {
        let path = try Self.write("opts.yaml", Self.small)
        let r = try CLI.run(["simulate", path] + options)
        #expect(r.status == 2)
        #expect(r.stderr.contains(mentions) && r.stderr.contains("argument \(option)"), "\(r.stderr)")
    }

    @Test func checkDescribesTheFleet() throws {
        let r = try CLI.run(["simulate", "--check", TestPaths.fixture("scenarios/lorient.yaml").path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("valid fleet scenario; 229 sensors at 13 sites, 8 gateways, 4000 other transmitters"), "\(r.stdout)")
    }

    /// A CI job's `--report out/…` works before `out/` exists; a directory given as the file is refused.
    @Test func reportDirectoriesAreMade() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lh-report-dir-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = dir + "/out/nested/report.json"
        let r = try CLI.run(["simulate", TestPaths.fixture("scenarios/small-site.yaml").path, "--duration", "1h", "--report", report, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))
        #expect(json is [String: Any])
        let again = try CLI.run(["simulate", TestPaths.fixture("scenarios/small-site.yaml").path, "--duration", "1h", "--report", dir + "/out", "--quiet"])
        #expect(again.status == 2 && again.stderr.contains("is a directory, not a file (where: argument --report"), "\(again.stderr)")
        // The option named in an error is the one that was wrong.
        let loss = try CLI.run(["device", "run", "--kind", "bay", "--duration", "1h", "--downlink-loss=-0.5"])
        #expect(loss.status == 2 && loss.stderr.contains("(where: argument --downlink-loss)"), "\(loss.stderr)")
    }
}
