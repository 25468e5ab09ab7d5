import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// SIGINT and SIGTERM (Ctrl-C, a CI timeout) and failing writes, on the real executable: the exit status is
/// 130/143, what is meaningful is kept, nothing truncated appears under a final name, no temporary file is left,
/// and a write that fails leaves the previous file of that name untouched.
@Suite(.serialized) struct InterruptionTests {
    static let dir: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-interrupt-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func temp(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// A running `loraharness`: its stdin stays open for the test to write, its output is collected.
    final class Running: @unchecked Sendable {
        let process = Process()
        let input = Pipe(), output = Pipe(), errors = Pipe()
        private var out = Data(), err = Data()
        private let group = DispatchGroup()

        init(_ arguments: [String], currentDirectory: URL? = nil) throws {
            process.executableURL = TestPaths.cli
            process.arguments = arguments
            if let currentDirectory { process.currentDirectoryURL = currentDirectory }
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            group.enter()
            DispatchQueue.global().async { self.out = self.output.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
            group.enter()
            DispatchQueue.global().async { self.err = self.errors.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
        }

        func send(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }
        func signal(_ s: Int32) { kill(process.processIdentifier, s) }

        /// Waits for the end (at most `seconds`, then kills it: a test must not hang) and returns status and output.
        func finish(within seconds: Double = 60) -> (status: Int32, stdout: String, stderr: String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? input.fileHandleForWriting.close()
            group.wait()
            return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }
    }

    /// Runs a program from /tmp with stdout discarded; its exit status and standard error.
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, stderr)
    }

    /// Files in the test directory that look like temporary files of an atomic write.
    /// What a stopped run may leave under a report's name: the previous file untouched, or (the signal came after
    /// the report was committed, while the run was finishing) the whole new report, never a part of one.
    static func previousOrWhole(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { return false }
        if text == "previous" { return true }
        switch (path as NSString).pathExtension {
        case "json": return (try? JSONSerialization.jsonObject(with: data)) != nil
        case "xml": return (try? XMLDocument(data: data)) != nil
        default: return text.hasSuffix("\n")
        }
    }

    static func leftovers() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") }
    }

    // MARK: - replay

    /// Replay reading a pipe that stays open (a capture still being written, `tail -f | loraharness replay -`):
    /// Ctrl-C stops it; the report of the lines read so far is written and marked partial, the NDJSON output holds
    /// those records, and the exit status is 130.
    @Test func replayStoppedByCtrlCReportsWhatWasRead() throws {
        let lines = try String(contentsOf: TestPaths.fixture("traces/tts-uplinks.ndjson"), encoding: .utf8)
            .split(separator: "\n").prefix(5)
        let report = Self.temp("replay-partial.json"), nd = Self.temp("replay-partial.ndjson")
        for f in [report, nd] { try? FileManager.default.removeItem(atPath: f) }
        let run = try Running(["replay", "-", "--format", "tts", "--report", report, "--ndjson", nd])
        run.send(lines.joined(separator: "\n") + "\n")
        // The five lines are in the pipe; give the process time to start and read them (it then blocks on the pipe).
        usleep(1_500_000)
        run.signal(SIGINT)
        let r = run.finish()
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.stderr.contains("stopped by SIGINT"), "\(r.stderr)")
        #expect(r.stdout.contains("PARTIAL     stopped by SIGINT"), "\(r.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        #expect(json?["interrupted"] as? String == "SIGINT")
        #expect(json?["read"] as? Int == 5)
        #expect(json?["passed"] as? Bool == false)
        #expect(try String(contentsOfFile: nd, encoding: .utf8).split(separator: "\n").count == 5)
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    // MARK: - simulate and merge

    static let longFleet = """
        name: interrupt-me
        seed: 9
        duration: 30d
        gateways:
          - {name: gw, position: [0, 0]}
        sites:
          - {generate: 400, area: {from: [0, 0], to: [3000, 3000]}, bays: 4, gates: 1, visitsPerYear: 80000}
        assertions:
          - pdr >= 0.1
        """

    /// SIGTERM at several moments of a simulation that writes a report, a CSV and JUnit: whenever it comes, the run
    /// exits 143 (or had finished, 0), the previous files of those names are untouched or replaced whole, and no
    /// temporary file is left.
    @Test(arguments: [0.3, 1.0, 2.0])
    func simulateStoppedBySIGTERMLeavesNoTruncatedFile(after seconds: Double) throws {
        let scenario = Self.temp("long.yaml")
        try Self.longFleet.write(toFile: scenario, atomically: true, encoding: .utf8)
        let tag = Int(seconds * 10)
        let report = Self.temp("sim-\(tag).json"), csv = Self.temp("sim-\(tag).csv"), junit = Self.temp("sim-\(tag).xml")
        for f in [report, csv, junit] { try "previous".write(toFile: f, atomically: true, encoding: .utf8) }
        let run = try Running(["simulate", scenario, "--report", report, "--csv", csv, "--junit", junit, "--quiet"])
        usleep(UInt32(seconds * 1_000_000))
        run.signal(SIGTERM)
        let r = run.finish(within: 600)
        #expect(r.status == 143 || r.status == 0 || r.status == 1, "\(r.status) \(r.stderr)")
        for f in [report, csv, junit] {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            if r.status == 143 {
                #expect(Self.previousOrWhole(f), "\(f) is neither the previous file nor a whole report: \(text.prefix(200))")
            } else {
                #expect(text != "previous")
            }
        }
        if r.status == 143 { #expect(r.stderr.contains("stopped by SIGTERM"), "\(r.stderr)") }
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    /// merge of two shards' partial results, stopped by SIGTERM at several moments: exit 143 with the previous
    /// report untouched (or it had finished: the report replaced whole), and no temporary file left.
    @Test func mergeStoppedBySIGTERM() throws {
        let scenario = Self.temp("merge.yaml")
        try Self.longFleet.write(toFile: scenario, atomically: true, encoding: .utf8)
        let p1 = Self.temp("part-1.json"), p2 = Self.temp("part-2.json")
        for (i, p) in [p1, p2].enumerated() {
            let r = try CLI.run(["simulate", scenario, "--duration", "12h", "--shard", "\(i + 1)/2", "--partial", p, "--quiet"])
            #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
        }
        for delay: UInt32 in [30_000, 100_000, 300_000] {
            let report = Self.temp("merged-\(delay).json")
            try "previous".write(toFile: report, atomically: true, encoding: .utf8)
            let run = try Running(["merge", scenario, p1, p2, "--duration", "12h", "--report", report, "--quiet"])
            usleep(delay)
            run.signal(SIGTERM)
            let r = run.finish()
            // 15: the signal came before the process had installed its handlers (its default action ended it).
            #expect([143, 15, 0, 1].contains(r.status), "\(r.status) \(r.stderr)")
            let text = try String(contentsOfFile: report, encoding: .utf8)
            if r.status == 15 {
                #expect(text == "previous")
            } else if r.status == 143 {
                #expect(Self.previousOrWhole(report), "neither the previous report nor a whole one: \(text.prefix(200))")
                #expect(r.stderr.contains("stopped by SIGTERM"), "\(r.stderr)")
            } else {
                #expect(text.hasPrefix("{"))
            }
        }
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    // MARK: - flash-test and emulate

    /// Ctrl-C in the middle of a plan (an emulated board at real time, so the join takes seconds): the step under
    /// way and the later ones are skipped, the JUnit file has a test case per step, the production log a row, the
    /// session log its header, and the exit status is 130.
    @Test func flashTestStoppedByCtrlCStillWritesItsReports() throws {
        let (emu, path) = try SerialCommandsTests.emulator(["--profile", "occupancy-rak3172", "--time-scale", "1", "--duration", "120s"])
        defer { emu.terminate(); emu.waitUntilExit() }
        let junit = Self.temp("stopped.xml"), prod = Self.temp("stopped.csv"), log = Self.temp("stopped.log")
        for f in [junit, prod, log] { try? FileManager.default.removeItem(atPath: f) }
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let run = try Running(["flash-test", "--port", path, "--plan", plan, "--junit", junit, "--production-log", prod, "--log", log],
                              currentDirectory: TestPaths.root)
        usleep(3_000_000)
        run.signal(SIGINT)
        let r = run.finish()
        #expect(r.status == 130, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("stopped by SIGINT"), "\(r.stderr)")
        let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        #expect(try xml.nodes(forXPath: "//testcase").count == 12)
        #expect(try !xml.nodes(forXPath: "//skipped").isEmpty)
        let rows = try String(contentsOfFile: prod, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 2)
        // Stopped, not failed: the board was not judged (a --retest runs it again).
        #expect(rows.last?.contains(",stopped,") == true, "\(rows)")
        #expect(r.stdout.contains("STOPPED") && !r.stdout.contains("  FAIL  "), "\(r.stdout)")
        #expect(try String(contentsOfFile: log, encoding: .utf8).hasPrefix("# loraharness session log"))
    }

    @Test func emulateEndsOnSIGTERM() throws {
        let (emu, path) = try SerialCommandsTests.emulator(["--profile", "rak3172-rui3"])
        #expect(path.hasPrefix("/dev/pts/"))
        usleep(300_000)
        emu.terminate()
        let deadline = Date().addingTimeInterval(10)
        while emu.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!emu.isRunning)
        if emu.isRunning { kill(emu.processIdentifier, SIGKILL) }
        emu.waitUntilExit()
        #expect(emu.terminationStatus == 143)
    }

    // MARK: - failing writes

    /// A report that does not fit (a file-size limit: the kernel refuses the write with EFBIG, as a full disk does
    /// with ENOSPC): one error line naming the file, exit 2, and the previous file of that name untouched.
    @Test func aWriteThatFailsKeepsThePreviousFile() throws {
        let report = Self.temp("limited.json")
        try "previous".write(toFile: report, atomically: true, encoding: .utf8)
        let trace = TestPaths.fixture("traces/tts-uplinks.ndjson").path
        // SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process; 1 block of 1 KiB at most.
        let (status, stderr) = try Self.run("/bin/bash", ["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" replay \"$1\" --report \"$2\" --quiet",
                                                          TestPaths.cli.path, trace, report])
        #expect(status == 2, "\(stderr)")
        #expect(stderr.contains("--report \(report)") && stderr.contains("cannot write the file"), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "previous")
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    /// Standard output on a full device: the table and the JSON are lost, so the run is an error (exit 2), not a
    /// success; Foundation's FileHandle.write would have trapped.
    @Test(arguments: [[], ["--json"]])
    func standardOutputOnAFullDeviceIsAnError(extra: [String]) throws {
        let p = Process()
        p.executableURL = TestPaths.cli
        p.arguments = ["airtime", "--sf", "7", "--bw", "125", "--payload", "20"] + extra
        p.standardOutput = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        #expect(stderr == "error: cannot write standard output: No space left on device\n", "\(stderr)")
    }

    /// A report into a directory the user may not write (run as nobody through setpriv: root writes anywhere): one
    /// error line naming the file, exit 2, and the previous report of that name untouched.
    @Test func aReadOnlyDirectoryIsAnError() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let dir = "/tmp/loraharness-readonly-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let trace = dir + "/trace.ndjson", report = dir + "/report.json"
        try FileManager.default.copyItem(atPath: TestPaths.fixture("traces/tts-uplinks.ndjson").path, toPath: trace)
        try "previous".write(toFile: report, atomically: true, encoding: .utf8)
        for f in [trace, report] { chmod(f, 0o644) }
        let (status, stderr) = try Self.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", TestPaths.cli.path,
                                                                  "replay", trace, "--report", report, "--quiet"])
        #expect(status == 2, "\(stderr)")
        #expect(stderr.contains("cannot write in its directory: Permission denied") && stderr.contains("--report \(report)"), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "previous")
    }
}
