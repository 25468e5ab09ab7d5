import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// `ports`, `emulate` and `flash-test` as hardware engineers and production lines run them.
@Suite(.serialized) struct SerialCommandsTests {
    /// Starts `loraharness emulate` and returns the process and the pty path it printed.
    static func emulator(_ args: [String]) throws -> (Process, String) {
        let p = Process()
        p.executableURL = TestPaths.cli
        p.arguments = ["emulate"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var collected = Data()
        let deadline = Date().addingTimeInterval(10)
        while !collected.contains(0x0A) && Date() < deadline {
            collected.append(out.fileHandleForReading.availableData)
        }
        let path = String(decoding: collected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (p, path)
    }

    static func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-serial-cli-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func portsLists() throws {
        let r = try CLI.run(["ports"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("no serial ports found") || r.stdout.contains("port"))
        let j = try CLI.run(["ports", "--json"])
        #expect(j.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(j.stdout.utf8))) is [Any])
    }

    /// Issue 14 (12, 14): six emulated boards in one run on a 2-core machine, with --json: the boards run at once
    /// (every board has begun its plan before any has finished it: their live lines interleave), the live lines go
    /// to stderr, and stdout is one JSON document with six passed results.
    @Test func boardsRunAtOnceAndJSONStaysClean() throws {
        var emulators: [Process] = []
        var ports: [String] = []
        for i in 0..<6 {
            let (emu, path) = try Self.emulator(["--profile", "occupancy-rak3172", "--time-scale", "100", "--duration", "90s",
                                                 "--dev-eui", "70B3D57ED000200\(i)"])
            emulators.append(emu)
            ports.append(path)
        }
        defer { for e in emulators { e.terminate(); e.waitUntilExit() } }
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let r = try CLI.run(["flash-test", "--plan", plan, "--time-scale", "100", "--json"] + ports.flatMap { ["--port", $0] },
                            currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        #expect(results?.count == 6)
        #expect(results?.allSatisfy { $0["passed"] as? Bool == true } == true)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        var first: [Int] = [], last: [Int] = []
        for p in ports {
            let mine = lines.indices.filter { lines[$0].hasPrefix("[\(p)] ") }
            #expect(mine.count == 12, "\(p): \(mine.count) lines")
            first.append(mine.first ?? Int.max)
            last.append(mine.last ?? -1)
        }
        #expect(first.max() ?? Int.max < last.min() ?? -1, "first lines \(first), last lines \(last)")
    }

    /// Issue 14 (16): two boards with one DevEUI in a run both fail "unique DevEUI", naming each other's port; a
    /// DevEUI that already passed on another port is a warning; --resume skips a board by its DevEUI's last result.
    @Test func duplicateDevEUIsAreFlagged() throws {
        var emulators: [Process] = []
        var ports: [String] = []
        for _ in 0..<2 {
            let (emu, path) = try Self.emulator(["--profile", "occupancy-rak3172", "--time-scale", "100", "--duration", "60s"])
            emulators.append(emu)
            ports.append(path)
        }
        defer { for e in emulators { e.terminate(); e.waitUntilExit() } }
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let prod = Self.temp("dup-production.csv")
        try? FileManager.default.removeItem(atPath: prod)
        let r = try CLI.run(["flash-test", "--plan", plan, "--time-scale", "100", "--production-log", prod, "--json"]
                            + ports.flatMap { ["--port", $0] }, currentDirectory: TestPaths.root)
        #expect(r.status == 1, "\(r.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(results.count == 2)
        for (i, b) in results.enumerated() {
            #expect(b["passed"] as? Bool == false && b["failingStep"] as? String == "unique DevEUI")
            let steps = b["steps"] as? [[String: Any]] ?? []
            let last = steps.last?["detail"] as? String ?? ""
            #expect(last == "DevEUI 70B3D57ED0001234 is also reported by the board on \(ports[1 - i])", "\(last)")
        }
        // The same DevEUI passed before on another port (a row written by hand): a warning, the board still passes.
        try ("time,port,usb_serial,dev_eui,firmware,result,failing_step" + "\n2026-12-01T08:00:00Z,/dev/ttyUSB7,,70B3D57ED0001234,1.0.0,pass,\n")
            .write(toFile: prod, atomically: true, encoding: .utf8)
        let again = try CLI.run(["flash-test", "--plan", plan, "--time-scale", "100", "--production-log", prod, "--port", ports[0]],
                                currentDirectory: TestPaths.root)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("warning: \(ports[0]): DevEUI 70B3D57ED0001234 already passed on /dev/ttyUSB7 at 2026-12-01T08:00:00Z"), "\(again.stderr)")
    }

    /// Issue 14 (13): `--check` validates a plan without a board; bundled plans are found by name.
    @Test func checkValidatesAPlanWithoutABoard() throws {
        let ok = try CLI.run(["flash-test", "--check", "--plan", "occupancy-bay"], currentDirectory: TestPaths.root)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("plan occupancy-bay (") && ok.stdout.contains("12 steps, profile occupancy-rak3172, region EU868: OK"), "\(ok.stdout)")
        let bad = Self.temp("bad-plan.yaml")
        for (yaml, says, line) in [
            ("name: p\nprofile: rak3172-rui3\nregion: EU869\nsteps:\n  - {step: boot}\n", "EU869", 3),
            ("name: p\nprofile: rak3172-rui3\nsteps:\n  - {step: boot}\n  - {step: command, send: AT, expect: \"(\"}\n", "not a valid regular expression", 5),
            ("name: p\nprofile: rak3172-rui3\nsteps:\n  - {step: uplink, expect: {colour: red}}\n", "unknown field 'colour' in expect", 4),
        ] {
            try yaml.write(toFile: bad, atomically: true, encoding: .utf8)
            let r = try CLI.run(["flash-test", "--check", "--plan", bad], currentDirectory: TestPaths.root)
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains(says) && r.stderr.contains("\(bad):\(line)"), "\(r.stderr)")
        }
        let unknown = try CLI.run(["flash-test", "--check", "--plan", "no-such-plan"], currentDirectory: TestPaths.root)
        #expect(unknown.status == 2 && unknown.stderr.contains("no plan 'no-such-plan'") && unknown.stderr.contains("occupancy-bay"), "\(unknown.stderr)")
    }

    /// The whole path a hardware engineer takes: an emulated board on a pty, the bundled plan, JUnit, production
    /// log; then --resume skips the board that passed.
    @Test func flashTestAgainstTheEmulator() throws {
        let (emu, path) = try Self.emulator(["--profile", "occupancy-rak3172", "--time-scale", "100", "--duration", "60s"])
        defer { emu.terminate(); emu.waitUntilExit() }
        #expect(path.hasPrefix("/dev/pts/"))
        let junit = Self.temp("board.xml"), prod = Self.temp("production.csv"), log = Self.temp("session.log")
        try? FileManager.default.removeItem(atPath: prod)
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let r = try CLI.run(["flash-test", "--port", path, "--plan", plan, "--time-scale", "100", "--junit", junit,
                             "--production-log", prod, "--log", log], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("PASS  bay_state payload"))
        #expect(r.stdout.contains("PASS  identity"))
        let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: junit))
        #expect(try xml.nodes(forXPath: "//testcase").count == 12)
        #expect(try xml.nodes(forXPath: "//failure").isEmpty)
        let rows = try String(contentsOfFile: prod, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 2 && rows[1].contains(",70B3D57ED0001234,1.0.0,pass,"))
        #expect(try String(contentsOfFile: log, encoding: .utf8).hasPrefix("# loraharness session log 1"))
        let again = try CLI.run(["flash-test", "--port", path, "--plan", plan, "--production-log", prod, "--resume"], currentDirectory: TestPaths.root)
        #expect(again.status == 0)
        #expect(again.stdout.contains("passed before, skipped (--resume)"))
        let retest = try CLI.run(["flash-test", "--port", path, "--plan", plan, "--production-log", prod, "--retest"], currentDirectory: TestPaths.root)
        #expect(retest.stdout.contains("not a failed board, skipped (--retest)"))
    }

    /// A failing board: exit 1, one line on stderr, the diagnosis on stdout, the JUnit file still written.
    @Test func failingBoardExitsOne() throws {
        let (emu, path) = try Self.emulator(["--profile", "occupancy-rak3172", "--kind", "gate", "--time-scale", "100", "--duration", "30s"])
        defer { emu.terminate(); emu.waitUntilExit() }
        let junit = Self.temp("gate-as-bay.xml")
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let r = try CLI.run(["flash-test", "--port", path, "--plan", plan, "--time-scale", "100", "--junit", junit], currentDirectory: TestPaths.root)
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(path): step 'identity' failed\n")
        #expect(r.stdout.contains("expected: BAY") && r.stdout.contains("got:      GATE"))
        #expect(FileManager.default.fileExists(atPath: junit))
    }

    @Test(arguments: [
        (["--port", "/dev/ttyNOSUCHPORT"], "termios port not found: No such file or directory"),
        (["--port", "tcp://127.0.0.1:1"], "tcp port not found: cannot connect to 127.0.0.1:1"),
        ([], "give a board's port with --port"),
    ])
    func badPortsExitTwo(args: [String], mentions: String) throws {
        let plan = TestPaths.root.appendingPathComponent("hardware/plans/occupancy-bay.yaml").path
        let r = try CLI.run(["flash-test", "--plan", plan] + args, currentDirectory: TestPaths.root)
        #expect(r.status == 2)
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// A user without access to the port (not in the dialout group): permission denied, exit 2. The test drops
    /// root with setpriv to run the tool as nobody.
    @Test func permissionDenied() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let (emu, path) = try Self.emulator(["--profile", "rak3172-rui3", "--duration", "20s"])
        defer { emu.terminate(); emu.waitUntilExit() }
        chmod(path, 0o600)
        // The plan and profile where nobody can read them (the checkout may not be readable to other users).
        let dir = "/tmp/loraharness-permission-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plan = dir + "/plan.yaml", profile = dir + "/profile.yaml"
        try FileManager.default.copyItem(atPath: TestPaths.root.appendingPathComponent("hardware/plans/stock-module.yaml").path, toPath: plan)
        try FileManager.default.copyItem(atPath: TestPaths.root.appendingPathComponent("hardware/profiles/rak3172-rui3.yaml").path, toPath: profile)
        for f in [plan, profile] { chmod(f, 0o644) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", TestPaths.cli.path, "flash-test", "--port", path, "--plan", plan,
                       "--profile", profile]
        p.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        #expect(text.contains("permission denied") && text.contains("dialout"), "\(text)")
    }

    @Test func badPlanNamesTheLine() throws {
        let path = Self.temp("bad-plan.yaml")
        try "name: p\nprofile: occupancy-rak3172\nsteps:\n  - {step: boot}\n  - {step: fly}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run(["flash-test", "--port", "/dev/null", "--plan", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown step 'fly'") && r.stderr.contains("bad-plan.yaml:5"), "\(r.stderr)")
    }
}

/// Issue 14 (1): with the module's echo on all the way (a profile without echoOff, a board that stored ATE), a plan
/// of every step type and a failing last step: the provisioned AppKey appears in no output — stdout, stderr, JSON,
/// JUnit, the session log, the production log — though the board echoed it back and read it out.
@Suite struct KeysWithEchoTests {
    @Test func noOutputOfAnyStepShowsTheKey() throws {
        let key = "8A2C5E7F9B1D3046A8C2E4F6071B3D5F"
        let dir = SerialCommandsTests.temp("echo-keys")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let profile = dir + "/echoing.yaml"
        let original = try String(contentsOf: TestPaths.root.appendingPathComponent("hardware/profiles/occupancy-rak3172.yaml"), encoding: .utf8)
        try original.replacingOccurrences(of: "  echoOff: \"ATE\"\n", with: "")
            .replacingOccurrences(of: "stm32flash -w {firmware} -v -g 0x0 {port}", with: "echo flashing {firmware}")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let image = dir + "/fw.bin"
        try Data([0x01]).write(to: URL(fileURLWithPath: image))
        let port = 20_000 + Int(getpid() % 20_000)
        let (emu, path) = try SerialCommandsTests.emulator(["--profile", profile, "--stored", "echo=1", "--time-scale", "100", "--duration", "60s",
                                                           "--gateway", "udp:127.0.0.1:\(port)"])
        defer { emu.terminate(); emu.waitUntilExit() }
        let plan = dir + "/all-steps.yaml"
        try """
            name: every step
            profile: occupancy-rak3172
            steps:
              - {step: flash}
              - {step: powerCycle, command: "true", timeout: 5s}
              - {step: boot}
              - {step: identity, kind: bay}
              - {step: configure}
              - {step: join}
              - {step: sensor, detect: 1}
              - {step: uplink, expect: {type: bay_state, occupied: "true"}}
              - {step: txTime}
              - {step: command, name: read key, send: "AT+APPKEY=?", expect: '^AT\\+APPKEY='}
              - {step: downlink, port: 3, payload: "0102"}
              - {step: dutyCycle, dataRate: 0, payload: 50, attempts: 40}
              - {step: command, name: wrong answer, send: "AT+APPKEY=?", expect: "^NEVER"}
            """.write(toFile: plan, atomically: true, encoding: .utf8)
        let manifest = dir + "/manifest.csv"
        try "port,usb_serial,dev_eui,join_eui,app_key\n\(path),,70B3D57ED0001234,70B3D57ED0000000,\(key)\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let junit = dir + "/j.xml", log = dir + "/session.log", prod = dir + "/production.csv"
        let args = ["flash-test", "--port", path, "--plan", plan, "--profile", profile, "--firmware", image, "--manifest", manifest,
                    "--junit", junit, "--log", log, "--production-log", prod, "--time-scale", "100", "--gateway", "udp:127.0.0.1:\(port)"]
        let text = try CLI.run(args + ["--verbose"], currentDirectory: TestPaths.root)
        #expect(text.status == 1, "\(text.stderr)")
        let sessionLog = try String(contentsOfFile: log, encoding: .utf8)
        // The echo was on: the board sent the key command back (redacted in the log), and every step but the last ran.
        #expect(sessionLog.contains("< AT+APPKEY=<redacted>\\n"), "\(sessionLog.suffix(2000))")
        #expect(text.stdout.contains("FAIL  wrong answer") && !text.stdout.contains("skip"), "\(text.stdout)")
        let json = try CLI.run(args + ["--json"], currentDirectory: TestPaths.root)
        let outputs = [text.stdout, text.stderr, json.stdout, json.stderr, sessionLog,
                       try String(contentsOfFile: junit, encoding: .utf8), try String(contentsOfFile: prod, encoding: .utf8)]
        for o in outputs { #expect(!o.uppercased().contains(key), "\(o.prefix(3000))") }
        #expect(json.stdout.contains("AT+APPKEY=<redacted>"))
    }
}
