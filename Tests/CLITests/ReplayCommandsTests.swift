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
        #expect(r.stderr == "error: 5 of 10 records rejected\n")
        #expect(r.stdout.contains("mic_mismatch 5"))
    }

    @Test(arguments: [
        (["/no/such/trace.ndjson"], "no such file (where: /no/such/trace.ndjson)"),
        (["--format", "morse", "x"], "format is one of"),
        (["--linktype", "200", "x"], "user link types are 147…162"),
        (["--to", "ftp:host", "FIXTURE"], "the target is udp:HOST:PORT, serial:PORT or simulate:SCENARIO"),
    ])
    func badArgumentsExitTwo(args: [String], mentions: String) throws {
        let r = try CLI.run(["replay"] + args.map { $0 == "FIXTURE" ? Self.fixture("tts-uplinks.ndjson") : $0 })
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
    @Test func replayToASerialBoard() throws {
        let p = Process()
        p.executableURL = TestPaths.cli
        p.arguments = ["emulate", "--profile", "rak3172-rui3", "--time-scale", "100", "--duration", "30s"]
        p.currentDirectoryURL = TestPaths.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var collected = Data()
        let deadline = Date().addingTimeInterval(10)
        while !collected.contains(0x0A) && Date() < deadline { collected.append(out.fileHandleForReading.availableData) }
        let path = String(decoding: collected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try CLI.run(["replay", Self.fixture("tts-uplinks.ndjson"), "--to", "serial:" + path, "--speed", "6000"], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("serial replay to \(path) (rak3172-rui3): 7 payloads sent, 0 refused"), "\(r.stdout)")
    }
}
