import Foundation
import Testing
import TestSupport

/// `replay` as integrators run it.
@Suite(.serialized) struct ReplayCommandsTests {
    static func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-replay-cli-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }
    static func fixture(_ n: String) -> String { TestPaths.fixture("traces/" + n).path }

    @Test func validatesAndWrites() throws {
        let nd = Self.temp("out.ndjson"), pcap = Self.temp("out.pcap"), decoded = Self.temp("decoded.ndjson"), report = Self.temp("report.json")
        let r = try CLI.run(["replay", Self.fixture("semtech-gateway.log"), "--keys", Self.fixture("keys.yaml"), "--ndjson", nd, "--pcap", pcap,
                             "--write-decoded", decoded, "--report", report, "--anonymise"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("10 records read = 10 accepted + 0 rejected (2 log lines without a record skipped)"))
        #expect(r.stdout.contains("8 valid, 0 invalid, 1 unverified"))
        let lines = try String(contentsOfFile: nd, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 9)
        // Anonymised: no real DevEUI or DevAddr in what was written, keys never.
        let all = [try String(contentsOfFile: nd, encoding: .utf8), try String(contentsOfFile: decoded, encoding: .utf8)].joined()
        #expect(!all.contains("70B3D57ED0000101") && !all.lowercased().contains("26011bda") && !all.contains("2B7E1516"))
        // The pcap reads back, and the report is JSON.
        let back = try CLI.run(["replay", pcap])
        #expect(back.stdout.contains("9 records read = 9 accepted"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        #expect(json?["format"] as? String == "loraharness-trace-report/1" && json?["read"] as? Int == 10)
    }

    @Test func rejectionsExitOne() throws {
        let keys = Self.temp("wrong.yaml")
        try "sessions:\n  - devAddr: 26011BDA\n    nwkSKey: 00000000000000000000000000000001\n    appSKey: 00000000000000000000000000000001\n"
            .write(toFile: keys, atomically: true, encoding: .utf8)
        chmod(keys, 0o600)
        let r = try CLI.run(["replay", Self.fixture("semtech-gateway.log"), "--keys", keys])
        #expect(r.status == 1)
        // One line, with the first problem and where it is (all that --quiet leaves).
        #expect(r.stderr == "error: 6 of 10 records rejected; first: mic_mismatch: uplink of 26011BDA FCnt 1: MIC does not verify with its session keys (\(Self.fixture("semtech-gateway.log")):2)\n")
        #expect(r.stdout.contains("mic_mismatch 6"))
    }

    @Test(arguments: [
        (["/no/such/trace.ndjson"], "no such file (where: /no/such/trace.ndjson)"),
        (["--format", "morse", "x"], "format is one of"),
        (["--linktype", "200", "x"], "user link types are 147…162"),
        (["--to", "ftp:host", "FIXTURE"], "the target is udp:HOST:PORT, serial:PORT or simulate:SCENARIO"),
        (["--to", "udp:localhost:0", "FIXTURE"], "with a port from 1 to 65535, e.g. udp:localhost:1700 (where: argument --to)"),
        (["--to", "serial:", "FIXTURE"], "write serial:PORT"),
        (["--to", "simulate:", "FIXTURE"], "write simulate:SCENARIO"),
        (["--to", "simulate:CHANNEL", "FIXTURE"], "is not a fleet scenario (it has no sites)"),
        (["--speed", "inf", "FIXTURE"], "the speed is a positive number"),
    ])
    func badArgumentsExitTwo(args: [String], mentions: String) throws {
        let channel = TestPaths.fixture("scenarios/small-site.yaml").path
        let r = try CLI.run(["replay"] + args.map { $0 == "FIXTURE" ? Self.fixture("tts-uplinks.ndjson") : $0.replacingOccurrences(of: "CHANNEL", with: channel) })
        #expect(r.status == 2)
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
    }

    /// Captured traffic ×10 as other transmitters over a fleet scenario.
    @Test func replayIntoTheSimulator() throws {
        let r = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--to", "simulate:" + TestPaths.fixture("scenarios/two-sites.yaml").path,
                             "--scale", "10"])
        #expect(r.stdout.contains("captured traffic: 7 transmissions of 2 devices, ×10"))
        #expect(r.stdout.contains("background  70 transmissions"), "\(r.stdout)")
    }

    /// Timed replay to a board: the emulated RUI3 module joins and sends every payload.
    /// An output naming an input (here through another spelling of its path) is refused before anything is opened.
    @Test func outputOverAnInputIsRefused() throws {
        let trace = Self.temp("self.ndjson")
        try FileManager.default.copyItem(atPath: Self.fixture("tts-uplinks.ndjson"), toPath: trace)
        let before = try Data(contentsOf: URL(fileURLWithPath: trace))
        let dir = (trace as NSString).deletingLastPathComponent
        let r = try CLI.run(["replay", trace, "--ndjson", dir + "/./self.ndjson"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("is also an input: writing it would destroy it (where: argument --ndjson)"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: trace)) == before)
    }

    /// --anonymise covers what is printed too (the JSON report's devices and problems).
    @Test func anonymisedJSONNamesNoDevice() throws {
        let r = try CLI.run(["replay", Self.fixture("semtech-gateway.log"), "--keys", Self.fixture("keys.yaml"), "--anonymise", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        for id in ["70B3D57ED0000101", "70B3D57ED0000102", "70B3D57ED0000104", "26011BDA", "26011BDB", "26FFFFFF"] {
            #expect(!r.stdout.uppercased().contains(id), "\(id) in the anonymised output")
        }
        #expect(r.stdout.contains("FFFFFF0000000001"))
    }

    /// A virtual gateway aimed at a port where nothing listens stops at the first refusal, exit 2.
    @Test func virtualGatewayWithNobodyListening() throws {
        // A port that was free a moment ago: bind, read the number, close.
        let (fd, port) = loopbackUDPSocket()
        close(fd)
        let r = try CLI.run(["replay", Self.fixture("semtech-gateway.log"), "--to", "udp:127.0.0.1:\(port)", "--speed", "100000"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("nothing is listening at 127.0.0.1 port \(port)"), "\(r.stderr)")
    }

    /// An emulated board on a pseudo-terminal (the `emulate` command), its path, and the process to stop.
    static func emulator(_ profile: String, duration: String) throws -> (path: String, process: Process) {
        let p = Process()
        p.executableURL = TestPaths.cli
        p.arguments = ["emulate", "--profile", profile, "--time-scale", "100", "--duration", duration]
        p.currentDirectoryURL = TestPaths.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var collected = Data()
        let deadline = Date().addingTimeInterval(10)
        while !collected.contains(0x0A) && Date() < deadline { collected.append(out.fileHandleForReading.availableData) }
        return (String(decoding: collected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), p)
    }

    @Test func replayToASerialBoard() throws {
        let (path, p) = try Self.emulator("rak3172-rui3", duration: "30s")
        defer { p.terminate(); p.waitUntilExit() }
        let r = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--to", "serial:" + path, "--speed", "6000"], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("serial replay to \(path) (rak3172-rui3): 7 payloads sent, 0 refused"), "\(r.stdout)")
    }

    /// Point 10: standard input (`-`, `/dev/stdin`) and process substitution are read once, the format recognised from
    /// a buffered prefix; a pipe that delivers nothing fails instead of passing.
    @Test func standardInputAndPipes() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("tts-uplinks.ndjson")))
        for name in ["-", "/dev/stdin"] {
            let r = try CLI.run(["replay", name, "--json"], stdin: data)
            #expect(r.status == 0, "\(r.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect(json?["read"] as? Int == 7 && json?["uplinks"] as? Int == 7)
        }
        let sub = Process()
        sub.executableURL = URL(fileURLWithPath: "/bin/bash")
        sub.arguments = ["-c", "'\(TestPaths.cli.path)' replay <(gzip -c '\(Self.fixture("semtech-gateway.log"))') --quiet --json"]
        let out = Pipe()
        sub.standardOutput = out
        try sub.run()
        let text = out.fileHandleForReading.readDataToEndOfFile()
        sub.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: text) as? [String: Any]
        #expect(json?["read"] as? Int == 10)
        let empty = try CLI.run(["replay", "-"], stdin: Data())
        #expect(empty.status == 2 && empty.stderr.contains("the trace is empty"), "\(empty.stderr)")
        let noRecords = try CLI.run(["replay", "--format", "tts", "-"], stdin: Data("\n".utf8))
        #expect(noRecords.status == 1 && noRecords.stderr.contains("standard input holds no records: nothing was checked"), "\(noRecords.stderr)")
    }

    /// Point 11: an expected file with no entries, or without an entry for a decoded record, fails the exit status.
    @Test func emptyExpectedFileFails() throws {
        let empty = Self.temp("empty.ndjson")
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let r = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--expected", empty])
        #expect(r.status == 1)
        #expect(r.stderr.contains("holds no entries: nothing was compared"), "\(r.stderr)")
    }

    /// Point 11: a session log written by `flash-test --log` against each profile's emulated board reads back as the
    /// sends the board reported done, with the DevEUI the session read, for every bundled profile.
    @Test(arguments: [("occupancy-rak3172", "occupancy-bay", 10, ""), ("rak3172-rui3", "stock-module", 2, "0102030405060708"),
                      ("wio-e5", "stock-module", 2, "0102030405060708"), ("rn2483", "stock-module", 2, "0102030405060708")])
    func sessionLogsReadBack(profile: String, plan: String, port: Int, payload: String) throws {
        let (path, p) = try Self.emulator(profile, duration: "60s")
        defer { p.terminate(); p.waitUntilExit() }
        let log = Self.temp("session-\(profile).log")
        _ = try CLI.run(["flash-test", "--port", path, "--profile", profile, "--plan", "hardware/plans/\(plan).yaml", "--time-scale", "100",
                         "--log", log, "--quiet"], currentDirectory: TestPaths.root)
        let nd = Self.temp("session-\(profile).ndjson")
        let r = try CLI.run(["replay", log, "--codec", "none", "--ndjson", nd, "--json"], currentDirectory: TestPaths.root)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((json?["read"] as? Int ?? 0) >= 1 && json?["rejected"] as? Int == 0, "\(r.stdout)\(r.stderr)")
        let first = try String(contentsOfFile: nd, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        let rec = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        // This project's firmware reports each payload its radio sent (`ATC+PAYLOAD=port:hex`): the record is that.
        var want = payload
        if want.isEmpty, let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").first(where: { $0.contains("< ATC+PAYLOAD=") }) {
            want = String(line.split(separator: ":").last ?? "").replacingOccurrences(of: "\\r\\n", with: "").lowercased()
        }
        #expect(!want.isEmpty && rec?["fport"] as? Int == port && rec?["frm_payload"] as? String == want, "\(first) \(want)")
        #expect(rec?["dev_eui"] as? String == "70B3D57ED0001234", "\(first)")
    }

    /// Issue 16: a report written to a full disk is an error naming the file (exit 2), not a success; a report
    /// replaced by a later run is never seen half-written (a temporary file renamed into place).
    @Test func reportToAFullDiskFails() throws {
        let r = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--report", "/dev/full", "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("/dev/full") && r.stderr.contains("No space left on device"), "\(r.stderr)")
        let path = Self.temp("report-atomic.json")
        _ = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--report", path, "--quiet"])
        let dir = (path as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".report-atomic.json.tmp") }
        #expect(leftovers.isEmpty)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(json?["read"] as? Int == 7)
    }
}
