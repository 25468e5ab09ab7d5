import Codecs
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HarnessCore
import Serial
import Testing
@testable import Emulator
@testable import FlashTest

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let profilesDir = packageRoot.appendingPathComponent("hardware/profiles").path
func planPath(_ name: String) -> String { packageRoot.appendingPathComponent("hardware/plans/\(name).yaml").path }

/// An emulated board on a pty, running on its own thread for the test.
func withEmulator<T>(_ profile: String, kind: SensorKind = .bay, timeScale: Double = 100, faults: String = "",
                     _ body: (Emulator) throws -> T) throws -> T {
    var o = EmulatorOptions(profile: try DialectProfile.load(profile, directory: profilesDir))
    o.kind = kind
    o.timeScale = timeScale
    o.faults = try EmulatorFaults.parse(faults)
    let e = try Emulator(options: o)
    e.start()
    defer { e.stop() }
    return try body(e)
}

func runPlan(_ plan: String, on e: Emulator, profile: String? = nil, timeScale: Double = 100, options: FlashTestOptions = FlashTestOptions())
    throws -> BoardResult {
    let p = try FlashTestPlan.load(path: planPath(plan))
    var o = options
    o.timeScale = timeScale
    let runner = FlashTestRunner(plan: p, profile: try DialectProfile.load(profile ?? p.profile, directory: profilesDir), port: e.path, options: o)
    return runner.run()
}

@Suite struct EmulatorAndPlanTests {
    /// This project's bay sensor on the emulator passes the bundled plan: identity, keys, join, a detection, the
    /// bay_state bytes equal to the Swift reference encoder's, the transmit time within 2 ms of the airtime model,
    /// the duty cycle refusing a send at DR0.
    @Test func bayPlanPassesOnTheEmulator() throws {
        let r = try withEmulator("occupancy-rak3172") { try runPlan("occupancy-bay", on: $0) }
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(r.firmware == "1.0.0")
        #expect(r.devEUI == "70B3D57ED0001234")
        #expect(r.steps.map(\.status) == [.skipped] + Array(repeating: .passed, count: 11))
        let payload = try #require(r.steps.first { $0.name == "bay_state payload" })
        #expect(payload.detail.contains("\"occupied\":true") && payload.detail.hasSuffix("bit-exact"))
        let duty = try #require(r.steps.last)
        #expect(duty.detail.hasPrefix("refused on send") && duty.detail.contains("as the time-credit model predicts"), "\(duty.detail)")
    }

    @Test func gatePlanPassesOnTheEmulator() throws {
        let r = try withEmulator("occupancy-rak3172", kind: .gate) { try runPlan("occupancy-gate", on: $0) }
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(r.steps.contains { $0.name == "gate_counts payload" && $0.detail.contains("\"in\":1") })
    }

    /// The stock modules' dialects: the same plan through each profile (time scale 20: the harness measures the
    /// command-to-TX-done time in wall time).
    @Test(arguments: ["rak3172-rui3", "wio-e5", "rn2483"])
    func stockModulesPassOnTheEmulator(profile: String) throws {
        // The bundled plan's 150 ms tolerance is for a board in real time; at 20× a wall-clock jitter of 25 ms is
        // 500 ms of board time, so this copy allows 650 ms (still far from the 2.26 s a missed receive-window
        // correction would add).
        let text = try String(contentsOfFile: planPath("stock-module"), encoding: .utf8).replacingOccurrences(of: "tolerance: 150ms", with: "tolerance: 650ms")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stock-\(profile)-\(getpid()).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try withEmulator(profile, timeScale: 20) { e -> BoardResult in
            let plan = try FlashTestPlan.load(path: path)
            var o = FlashTestOptions()
            o.timeScale = 20
            return FlashTestRunner(plan: plan, profile: try DialectProfile.load(profile, directory: profilesDir), port: e.path, options: o).run()
        }
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(r.steps.map(\.name) == ["identity", "region, data rate and keys", "join", "uplink", "transmit duration", "duty-cycle refusal"])
    }

    /// A bay plan run against a gate counter fails at identity, says what it expected and got, shows the board's
    /// last lines, and skips the rest.
    @Test func wrongBoardFailsWithADiagnosis() throws {
        let r = try withEmulator("occupancy-rak3172", kind: .gate) { try runPlan("occupancy-bay", on: $0) }
        #expect(!r.passed)
        #expect(r.failingStep == "identity")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.expected == "BAY" && f.got == "GATE")
        #expect(f.lastLines.contains("ATC+KIND=GATE"))
        #expect(r.steps.filter { $0.status == .skipped }.count == 1 + 9)
        let d = try #require(FlashTestReport.diagnosis(r))
        #expect(d.contains("step 'identity' failed: wrong kind") && d.contains("expected: BAY") && d.contains("got:      GATE"))
    }

    /// Faults on the line: each fails the run at a step, with a specific message, within the step's timeout.
    @Test(arguments: [
        ("silent", "boot banner", "no boot banner"),
        ("garble=1", "boot banner", "no boot banner"),
        ("disconnect=2", "identity", "disconnected"),
        ("stall=1@30s", "identity", "no answer"),
        // Issue 14 (4): a reset in the middle of the plan fails the step where it happened, saying so.
        ("reboot=3", "identity", "the board restarted"),
        ("reboot=8", "region, data rate and keys", "the board restarted"),
    ])
    func faultsFailWithAReason(fault: String, step: String, mentions: String) throws {
        let r = try withEmulator("occupancy-rak3172", faults: fault) { try runPlan("occupancy-bay", on: $0) }
        #expect(!r.passed)
        #expect(r.failingStep == step, "\(fault): \(FlashTestReport.diagnosis(r) ?? "")")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(mentions.isEmpty || (f.detail + (f.got ?? "")).contains(mentions), "\(fault): \(f.detail) / \(f.got ?? "")")
        // A line that drops is the port's fault (JUnit <error>); a board that does not answer fails its check.
        #expect((f.portFault == true) == fault.hasPrefix("disconnect"), "\(fault)")
    }

    @Test func missingAndBusyPorts() throws {
        let plan = try FlashTestPlan.load(path: planPath("occupancy-bay"))
        let profile = try DialectProfile.load("occupancy-rak3172", directory: profilesDir)
        let missing = FlashTestRunner(plan: plan, profile: profile, port: "/dev/ttyNOSUCH", options: FlashTestOptions()).run()
        #expect(missing.portError == "termios port not found: No such file or directory (while opening)")
        // Issue 14 (11): every plan step is still a JUnit test case; the port's fault is an <error>, not a
        // <failure>, and the rest are skipped. The suite is named after the plan, not the port.
        #expect(missing.steps.map(\.name) == plan.steps.map(\.name))
        #expect(missing.steps.first?.portFault == true && missing.steps.dropFirst().allSatisfy { $0.status == .skipped })
        let xml = try XMLDocument(xmlString: FlashTestReport.junit(missing))
        #expect(try xml.nodes(forXPath: "//testcase").count == plan.steps.count)
        #expect(try xml.nodes(forXPath: "//testcase/error[@type='port']").count == 1)
        #expect(try xml.nodes(forXPath: "//failure").isEmpty)
        #expect(try xml.nodes(forXPath: "//testsuite/@errors").first?.stringValue == "1")
        #expect(try xml.nodes(forXPath: "//testsuite/@name").first?.stringValue == plan.name)
        try withEmulator("occupancy-rak3172") { e in
            let holder = try TermiosTransport(path: e.path)
            defer { holder.close() }
            let busy = FlashTestRunner(plan: plan, profile: profile, port: e.path, options: FlashTestOptions()).run()
            #expect(busy.portError?.contains("busy") == true)
        }
    }

    /// A board keeps its JUnit suite name on any port: the plan and its DevEUI.
    @Test func suiteNamesDoNotNameThePort() throws {
        let r = try withEmulator("occupancy-rak3172") { try runPlan("occupancy-bay", on: $0) }
        let xml = try XMLDocument(xmlString: FlashTestReport.junit(r))
        #expect(try xml.nodes(forXPath: "//testsuite/@name").first?.stringValue == "\(r.plan) 70B3D57ED0001234")
        #expect(try xml.nodes(forXPath: "//testcase/@classname").allSatisfy { $0.stringValue == "flash-test.\(r.plan)" })
    }

    /// Keys from the manifest reach the board but never a log, a report or the JUnit file.
    @Test func keysNeverLeak() throws {
        let key = "2B7E151628AED2A6ABF7158809CF4F3C"
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("session-\(getpid()).log").path
        var o = FlashTestOptions()
        o.manifest = ManifestEntry(port: nil, usbSerial: nil, devEUI: "70B3D57ED00000AA", joinEUI: "70B3D57ED0000000", appKey: key)
        o.sessionLog = logPath
        let r = try withEmulator("occupancy-rak3172") { e -> BoardResult in
            let r = try runPlan("occupancy-bay", on: e, options: o)
            #expect(e.device.appKey.map { Hex.encode($0.bytes, uppercase: true) } == key)   // it did reach the board
            return r
        }
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(r.devEUI == "70B3D57ED00000AA")
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(log.contains("AT+APPKEY=<redacted>"))
        for text in [log, FlashTestReport.junit(r), try JSONOutput.encode(r)] { #expect(!text.contains(key) && !text.contains(key.lowercased())) }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Issue 14 (1): a `command` step that reads a key back, and a failing one whose `got:` is the key's answer,
    /// show `<redacted>` in the step lines, the diagnosis, JUnit and JSON (they showed the AppKey).
    @Test func keysReadBackAreRedacted() throws {
        let key = "000102030405060708090A0B0C0D0E0F"
        let plan = FileManager.default.temporaryDirectory.appendingPathComponent("readback-\(getpid()).yaml").path
        try """
            name: key read-back
            profile: rak3172-rui3
            steps:
              - {step: command, name: set key, send: "AT+APPKEY=\(key)", expect: "^OK$"}
              - {step: command, name: read key, send: "AT+APPKEY=?", expect: '^AT\\+APPKEY='}
              - {step: command, name: wrong answer, send: "AT+APPKEY=?", expect: "^NEVER"}
            """.write(toFile: plan, atomically: true, encoding: .utf8)
        var seen: [StepResult] = []
        let r = try withEmulator("rak3172-rui3") { e -> BoardResult in
            let p = try FlashTestPlan.load(path: plan)
            let runner = FlashTestRunner(plan: p, profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir), port: e.path,
                                         options: FlashTestOptions())
            return runner.run { seen.append($0) }
        }
        #expect(r.steps.map(\.status) == [.passed, .passed, .failed])
        #expect(r.steps[1].detail == "AT+APPKEY=<redacted>")
        #expect(r.steps[2].got == "AT+APPKEY=<redacted> | OK")
        let texts = [FlashTestReport.junit(r), try JSONOutput.encode(r), FlashTestReport.diagnosis(r) ?? ""]
            + seen.map { "\($0.detail) \($0.expected ?? "") \($0.got ?? "") \($0.lastLines)" }
        for text in texts { #expect(!text.uppercased().contains(key), "\(text)") }
        try? FileManager.default.removeItem(atPath: plan)
    }

    /// Issue 14 (2): RUI3's event spellings, current and older (spaces), in both RAK3172 profiles.
    @Test(arguments: ["rak3172-rui3", "occupancy-rak3172"])
    func rui3SpellingVariants(profile name: String) throws {
        let p = try DialectProfile.load(name, directory: profilesDir)
        func matches(_ role: String, _ line: String) -> Bool { p.matchers(role).contains { $0.match(line) != nil } }
        for line in ["+EVT:SEND_CONFIRMED_OK", "+EVT:SEND CONFIRMED OK", "+EVT:TX_DONE"] { #expect(matches("txDone", line), "\(line)") }
        for line in ["+EVT:SEND_CONFIRMED_FAILED(4)", "+EVT:SEND CONFIRMED FAILED", "+EVT:TX_FAILED"] { #expect(matches("txFailed", line), "\(line)") }
        for line in ["+EVT:JOIN_FAILED_RX_TIMEOUT", "+EVT:JOIN FAILED"] { #expect(matches("joinFailed", line), "\(line)") }
        #expect(!matches("txDone", "+EVT:SEND CONFIRMED FAILED") && !matches("txFailed", "+EVT:SEND CONFIRMED OK"))
    }

    /// Issue 14 (15): the flash step runs with the port closed and its lock released (a flasher that takes the
    /// port's lock, as `flock -n` does, gets it), reads a flasher's long output while it runs (more than a pipe
    /// holds), and the plan goes on on the port opened again.
    @Test func flashStepReleasesThePort() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flash-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let profileText = try String(contentsOfFile: profilesDir + "/occupancy-rak3172.yaml", encoding: .utf8)
            .replacingOccurrences(of: "stm32flash -w {firmware} -v -g 0x0 {port}",
                                  with: "flock -n {port} sh -c 'seq 1 30000; echo flashed {firmware}'")
        let profilePath = dir + "/flock-profile.yaml"
        try profileText.write(toFile: profilePath, atomically: true, encoding: .utf8)
        let image = dir + "/firmware.bin"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: image))
        var o = FlashTestOptions()
        o.firmware = image
        o.timeScale = 100   // the emulator's (withEmulator's default): the join check compares the clocks
        let r = try withEmulator("occupancy-rak3172") { e -> BoardResult in
            let p = try FlashTestPlan.load(path: planPath("occupancy-bay"))
            return FlashTestRunner(plan: p, profile: try DialectProfile.load(profilePath), port: e.path, options: o).run()
        }
        #expect(r.steps.first?.status == .passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(r.steps.first?.detail.hasSuffix("flashed \(image)") == true, "\(r.steps.first?.detail ?? "")")
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
    }

    /// Issue 14 (8): a board whose UART runs at 9600 while the profile says 115200 (the emulator reads the rate the
    /// harness set on the pty, as a real UART would disagree): the diagnosis shows the bytes escaped with a hint to
    /// check the baud rate, and with the probe on, names the rate the board answers at.
    @Test(arguments: [false, true])
    func wrongBaudRateIsDiagnosed(probe: Bool) throws {
        var o = EmulatorOptions(profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir))
        o.timeScale = 100
        o.baud = 9600
        let e = try Emulator(options: o)
        e.start()
        defer { e.stop() }
        var options = FlashTestOptions()
        options.probeBaud = probe
        let r = try runPlan("stock-module", on: e, options: options)
        #expect(!r.passed)
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.detail.contains("the board sent bytes that are not text") && f.detail.contains("check the baud rate (the profile says 115200 8N1)"), "\(f.detail)")
        #expect(f.got?.contains("\\x") == true, "\(f.got ?? "")")
        #expect(f.detail.contains("it answers at 9600 baud") == probe, "\(f.detail)")
    }

    /// Issue 14 (5): an emulator at 100× tested as if at 1×: its join comes about 0.06 s after the command, sooner
    /// than the 5 s join-accept delay allows: the join step fails saying the clocks disagree, not passes.
    @Test func timeScaleMismatchIsDetected() throws {
        let r = try withEmulator("occupancy-rak3172", timeScale: 100) { try runPlan("occupancy-bay", on: $0, timeScale: 1) }
        #expect(!r.passed)
        #expect(r.failingStep == "join", "\(FlashTestReport.diagnosis(r) ?? "")")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.detail.contains("sooner than physics allows") && f.detail.contains("faster than --time-scale 1.0 says"), "\(f.detail)")
    }

    /// Issue 14 (17): a `powerCycle` step runs its command with the port closed and opens the port again; a command
    /// that fails or hangs fails the step with its exit status or its timeout.
    @Test(arguments: [
        ("echo off; echo on", "5s", "power cycled: off | on"),
        ("echo relay stuck; exit 3", "5s", "the power-cycle command failed (exit 3)"),
        ("sleep 5", "300ms", "the power-cycle command took longer than 300.000 ms"),
    ])
    func powerCycleStep(command: String, timeout: String, says: String) throws {
        let plan = FileManager.default.temporaryDirectory.appendingPathComponent("power-\(getpid())-\(timeout).yaml").path
        try """
            name: power
            profile: occupancy-rak3172
            steps:
              - {step: powerCycle, name: power, command: "\(command)", timeout: \(timeout)}
              - {step: identity}
            """.write(toFile: plan, atomically: true, encoding: .utf8)
        let r = try withEmulator("occupancy-rak3172") { e -> BoardResult in
            var o = FlashTestOptions()
            o.timeScale = 100
            return FlashTestRunner(plan: try FlashTestPlan.load(path: plan), profile: try DialectProfile.load("occupancy-rak3172", directory: profilesDir),
                                   port: e.path, options: o).run()
        }
        let first = try #require(r.steps.first)
        #expect(first.detail.hasPrefix(says), "\(first.detail)")
        let passes = says.hasPrefix("power cycled")
        #expect(r.passed == passes && r.steps.map(\.status) == (passes ? [.passed, .passed] : [.failed, .skipped]), "\(r.steps.map(\.detail))")
    }

    /// Issue 14 (17): a profile that resets the board through DTR (`resetLine`) pulses the line in the boot step;
    /// a pseudo-terminal has no modem lines, so against the emulator the step fails naming the line, as a port
    /// fault.
    @Test func resetThroughDTR() throws {
        let text = try String(contentsOfFile: profilesDir + "/occupancy-rak3172.yaml", encoding: .utf8) + "\nresetLine: {line: dtr, pulse: 50ms}\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dtr-\(getpid()).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let profile = try DialectProfile.load(path)
        #expect(profile.resetLine == .dtr && profile.resetPulse == 50 * Time.millisecond)
        let r = try withEmulator("occupancy-rak3172") { e -> BoardResult in
            var o = FlashTestOptions()
            o.timeScale = 100
            return FlashTestRunner(plan: try FlashTestPlan.load(path: planPath("occupancy-bay")), profile: profile, port: e.path, options: o).run()
        }
        #expect(r.failingStep == "boot banner")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.detail.contains("cannot set DTR") && f.portFault == true, "\(f.detail)")
    }

    @Test func junitIsRealXML() throws {
        let r = try withEmulator("occupancy-rak3172", kind: .gate) { try runPlan("occupancy-bay", on: $0) }
        let xml = try XMLDocument(xmlString: FlashTestReport.junit(r))
        #expect(try xml.nodes(forXPath: "//testcase").count == r.steps.count)
        #expect(try xml.nodes(forXPath: "//failure").count == 1)
        #expect(try xml.nodes(forXPath: "//skipped").count == 10)
        #expect(try xml.nodes(forXPath: "//property[@name='port']/@value").first?.stringValue?.hasPrefix("/dev/pts/") == true)
    }

    @Test func plansAndManifestsRejectBadInput() throws {
        let bad: [(String, String, Int)] = [
            ("name: p\nprofile: x\nsteps:\n  - {step: dance}\n", "unknown step 'dance'", 4),
            ("name: p\nprofile: x\nsteps:\n  - {step: command, send: AT, expect: \"([\"}\n", "not a valid regular expression", 4),
            ("name: p\nprofile: x\nsteps:\n  - {step: sensor, detect: 1, vehicle: in}\n", "detect (0 or 1) or vehicle", 4),
            // Issue 14 (13): a region that is not one (a typo), a field no uplink has.
            ("name: p\nprofile: x\nregion: EU869\nsteps:\n  - {step: boot}\n", "EU869", 3),
            ("name: p\nprofile: x\nsteps:\n  - step: uplink\n    expect:\n      occupied: \"true\"\n      ocupied: \"true\"\n", "unknown field 'ocupied' in expect", 7),
        ]
        for (yaml, mentions, line) in bad {
            do {
                _ = try FlashTestPlan.parse(try DocumentNode.parse(yaml, file: "plan.yaml"), file: "plan.yaml")
                Issue.record("accepted")
            } catch {
                #expect(error.message.contains(mentions) && "\(error)".contains("plan.yaml:\(line)"), "\(error)")
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(getpid()).csv").path
        try "port,usb_serial,dev_eui,join_eui,app_key\n/dev/ttyUSB0,,70B3D57ED00000AA,70B3D57ED0000000,2B7E151628AED2A6ABF7158809CF4F3C\n/dev/ttyUSB1,,70B3D57ED00000AB,70B3D57ED0000000,2B7E1516\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ManifestEntry.load(path: path)
            Issue.record("accepted")
        } catch {
            #expect(error.message == "app_key is 32 hex digits" && "\(error)".contains(":3"))
            #expect(!"\(error)".contains("2B7E1516"))
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func productionLogRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("production-\(getpid()).csv").path
        try? FileManager.default.removeItem(atPath: path)
        let log = ProductionLog(path: path)
        var a = BoardResult(port: "/dev/ttyUSB0", plan: "p", profile: "x", devEUI: "70B3D57ED00000AA", firmware: "1.0.0", usbSerial: "S1",
                            steps: [], passed: true, failingStep: nil, portError: nil, seconds: 1)
        try log.append(a)
        a.devEUI = "70B3D57ED00000AB"
        a.port = "/dev/ttyUSB1"
        a.passed = false
        a.failingStep = "join, then more"
        try log.append(a)
        let rows = try log.rows()
        #expect(rows.count == 2)
        #expect(rows[1].failingStep == "\"join" || rows[1].failingStep.contains("join"))
        let last = try log.lastResults()
        #expect(last["70B3D57ED00000AA"] == true && last["70B3D57ED00000AB"] == false)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix(ProductionLog.header + "\n"))
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func faultSwitchesParse() throws {
        let f = try EmulatorFaults.parse("drop=0.1,garble=0.02,stall=3@5s,disconnect=10,reboot=4")
        #expect(f.dropRate == 0.1 && f.garbleRate == 0.02 && f.stallAfter == 3 && f.stallFor == 5 * Time.second && f.disconnectAfter == 10 && f.rebootAfter == 4)
        #expect(throws: InputError.self) { try EmulatorFaults.parse("explode") }
        #expect(throws: InputError.self) { try EmulatorFaults.parse("drop=2") }
    }
}
