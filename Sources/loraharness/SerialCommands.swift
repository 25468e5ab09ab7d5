import ArgumentParser
import Codecs
import Device
import Emulator
import FlashTest
import LoRaWAN
import Foundation
import HarnessCore
import Serial

struct PortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ports",
        abstract: "List the serial ports: name, description, USB VID:PID, manufacturer, serial number.",
        discussion: """
            Ports come from libserialport (on Linux, /sys/class/tty). Pseudo-terminals (an emulator's /dev/pts/N) are \
            not listed: give their path to --port directly.
            """
    )
    @OptionGroup var common: CommonOptions

    func run() throws {
        let ports: [PortInfo]
        do { ports = try LibSerialPort.list() } catch { throw InputError(error.description) }
        try common.emit(ports, text: {
            guard !ports.isEmpty else { return "no serial ports found (USB adapters appear as /dev/ttyUSB* or /dev/ttyACM*)" }
            var t = TextTable(["port", "description", "transport", "USB id", "manufacturer", "serial"])
            for p in ports { t.add([p.name, p.description, p.transport, p.usbID ?? "", p.manufacturer ?? "", p.serialNumber ?? ""]) }
            return t.render()
        }())
    }
}

struct EmulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulate",
        abstract: "Emulate a board on a pseudo-terminal: the simulated device speaking a profile's dialect.",
        discussion: """
            Prints the pseudo-terminal's path, then behaves on that line as the board would: this project's sensor \
            (firmware in the loop, its ATC+ console and RUI3's AT commands) or a stock RAK3172 (RUI3), Wio-E5 or \
            RN2483, with real timing: a send lasts its airtime and receive windows, the duty cycle refuses sends, a \
            join is accepted after the join-accept delay. --time-scale runs the board's clock faster.

            Faults (--fault, comma-separated): drop=P and garble=P (each byte written), stall=N@DURATION (silent for \
            DURATION after N commands), disconnect=N (the line drops after N commands), reboot=N (resets halfway \
            through the answer to command N+1), txDR=N (the radio transmits at DR N whatever it was told and \
            reports), ignoreDR (answers OK to a data-rate command and keeps the old one), noDutyCycle, badMIC (each data \
            uplink's MIC wrong on air; with --gateway), silent.

            --gateway udp:HOST:PORT: the board's radio goes through a bench gateway (a packet forwarder speaking Semtech \
            UDP) to that network server, e.g. a flash-test --gateway; it joins and receives only what that server answers.

            Stored settings (--stored, comma-separated): what a previous user left in the board's flash, as a \
            retest meets it: echo=1, confirmed=1, adr=1, dr=N, region=NAME.

            Examples:
              loraharness emulate --profile occupancy-rak3172 --kind bay --time-scale 100
              loraharness emulate --profile rn2483 --fault garble=0.05
              loraharness emulate --profile rak3172-rui3 --stored echo=1,confirmed=1,dr=3
            """
    )
    @Option(help: "The dialect profile (a name in hardware/profiles, or a file).") var profile: String = "occupancy-rak3172"
    @Option(help: "Sensor kind for this project's firmware: bay or gate.") var kind: String = "bay"
    @Option(help: "Generated vehicles at the sensor: busy-site or quiet-site.") var traffic: String?
    @Option(help: "The board's clock runs this many times faster than real time.") var timeScale: Double = 1
    @Option(help: "Fault switches, e.g. drop=0.01,stall=3@5s.") var fault: String?
    @Option(help: "Stop after this much wall time (default: run until interrupted).", transform: durationArgument) var duration: Nanoseconds?
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "The board's DevEUI (16 hex digits): boards of a jig each have their own.") var devEui: String = "70B3D57ED0001234"
    @Option(help: "The board's UART rate: a harness at another rate reads garbage (default: any).") var baud: Int?
    @Option(help: "Settings a previous user stored in the board, e.g. echo=1,confirmed=1,adr=1,dr=3.") var stored: String?
    @Option(help: "Transmit through a bench gateway to this network server (udp:HOST:PORT, Semtech UDP) instead of the built-in one.") var gateway: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(["bay", "gate"].contains(kind), "kind is bay or gate", option: "--kind")
        try require(timeScale > 0 && timeScale <= 100_000, "the time scale is above 0 and at most 100000", option: "--time-scale")
    }

    func run() throws {
        Interruption.install(graceful: true)
        var o = EmulatorOptions(profile: try DialectProfile.load(profile))
        o.kind = kind == "gate" ? .gate : .bay
        if let traffic { o.traffic = try parseArgument(traffic, option: "--traffic", TrafficProfile.named) }
        o.timeScale = timeScale
        o.seed = seed
        o.devEUI = try parseArgument(devEui, option: "--dev-eui") { (s: String) throws(InputError) in try EUI64(hex: s) }
        o.baud = baud
        if let fault { o.faults = try parseArgument(fault, option: "--fault", EmulatorFaults.parse) }
        if let stored { o.stored = try parseArgument(stored, option: "--stored", StoredSettings.parse) }
        if let gateway { o.gateway = try parseArgument(gateway, option: "--gateway", EmulatorOptions.parseGateway) }
        let emulator: Emulator
        do { emulator = try Emulator(options: o) } catch { throw InputError(error.description) }
        StandardStreams.out("\(emulator.path)\n")
        let air = o.gateway.map { ", on air through a bench gateway to udp:\($0.host):\($0.port)" } ?? ""
        let what = o.profile.firmwareConsole ? "\(o.profile.name) (\(kind))" : o.profile.name
        StandardStreams.err("emulating \(what) on \(emulator.path), time scale \(timeScale)×\(air); stop with Ctrl-C\n")
        emulator.run(forWall: duration)
        emulator.stop()
    }
}

struct FlashTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash-test",
        abstract: "Run a test plan on boards over their serial ports: identity, configuration, sensor, payload, timing, duty cycle.",
        discussion: """
            Exit status: 0 every board passed, 1 a step failed on some board, 2 bad input (plan, profile, manifest, or \
            a port that cannot be opened: missing, busy, permission denied).

            Examples:
              loraharness flash-test --port /dev/ttyUSB0 --plan \\
                  hardware/plans/occupancy-bay.yaml --junit out/board.xml
              loraharness flash-test --port /dev/ttyUSB0 --port /dev/ttyUSB1 --plan hardware/plans/occupancy-bay.yaml \\
                  --manifest line3.csv --production-log production.csv --resume
              loraharness flash-test --port /dev/pts/4 --plan occupancy-bay --time-scale 100   (an emulator)
              loraharness flash-test --check --plan my-plan.yaml
            """
    )
    @Option(name: .customLong("port"), help: "A port (repeat for several boards): a path, tcp://host:port or usb:VID:PID[:SERIAL].") var ports: [String] = []
    @Option(help: "A file with one port per line.") var portsFrom: String?
    @Option(help: "The plan: a file, or the name of a bundled plan (hardware/plans), e.g. occupancy-bay.") var plan: String
    @Flag(help: "Check the plan (and its profile) without a board: every error with its file and line.") var check = false
    @Flag(help: "When a board answers with garbage, try the common baud rates and name the one it answers at.") var probeBaud = false
    @Option(help: "Override the plan's profile.") var profile: String?
    @Option(help: "JUnit XML; with several boards, the port is added to the name.") var junit: String?
    @Option(help: "One self-contained HTML report of every board (verdicts, production summary, step durations, transmit times).") var html: String?
    @Option(help: "Session log of every byte (keys redacted); with several boards, the port is added to the name.") var log: String?
    @Option(help: "The firmware image for the flash step.") var firmware: String?
    @Option(help: "Production manifest CSV: port,usb_serial,dev_eui,join_eui,app_key.") var manifest: String?
    @Option(help: "Append one CSV row per board to this production log.") var productionLog: String?
    @Flag(help: "Skip boards the production log shows as passed.") var resume = false
    @Flag(help: "Run only boards the production log shows as failed.") var retest = false
    @Option(help: "The board's clock runs this many times faster (an emulator's --time-scale).") var timeScale: Double = 1
    @Option(help: "Be the network server of a bench gateway: udp:HOST:PORT (a Semtech UDP packet forwarder sends there).") var gateway: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(!(resume && retest), "--resume and --retest exclude each other", option: "--resume")
        try require(!(resume || retest) || productionLog != nil, "--resume and --retest read the --production-log", option: resume ? "--resume" : "--retest")
        try require(timeScale > 0, "the time scale is positive", option: "--time-scale")
    }

    func run() throws {
        var allPorts = ports
        if let portsFrom {
            guard let text = try? String(contentsOfFile: portsFrom, encoding: .utf8) else { throw InputError("cannot read the file", at: .argument("--ports-from \(portsFrom)")) }
            allPorts += text.textLines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        let thePlan = try FlashTestPlan.load(named: plan)
        // Profiles: LORAHARNESS_PROFILES, else hardware/profiles here, else the one beside the plan's directory, else
        // the package's own (beside the executable).
        let besidePlan = (((thePlan.file as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString).appendingPathComponent("profiles")
        let here = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("hardware/profiles")
        let dir = ProcessInfo.processInfo.environment["LORAHARNESS_PROFILES"]
            ?? (FileManager.default.fileExists(atPath: here) ? here
                : FileManager.default.fileExists(atPath: besidePlan) ? besidePlan : DialectProfile.directory())
        let theProfile = try DialectProfile.load(profile ?? thePlan.profile, directory: dir)
        // What the plan asks of the profile (and of the run): every problem, before a board is touched.
        let problems = thePlan.problems(profile: theProfile, gateway: check || gateway != nil)
        if let first = problems.first {
            for p in problems.dropFirst() { common.console.warn(p.description) }
            throw first
        }
        if check {
            common.console.say("plan \(thePlan.name) (\(thePlan.file)): \(thePlan.steps.count) steps, profile \(theProfile.name), region \(thePlan.region): OK")
            return
        }
        guard !allPorts.isEmpty else { throw InputError("give a board's port with --port (or --ports-from FILE)", at: .argument("--port")) }
        // Ctrl-C or SIGTERM: the step under way and the rest are skipped; JUnit, production log and session log are
        // still written; the exit status is 130/143.
        Interruption.install(graceful: true)
        let entries = try manifest.map { try ManifestEntry.load(path: $0) } ?? []
        let prodLog = productionLog.map { ProductionLog(path: $0) }
        let last = try prodLog?.lastResults() ?? [:]

        // Lines as the run goes: on stdout, or on stderr with --json (stdout is then the JSON document alone).
        let console = common.console, json = common.json
        @Sendable func live(_ line: String) {
            guard console.verbosity >= .normal else { return }
            if json { StandardStreams.err(line + "\n") } else { console.say(line) }
        }
        // Which boards run: --resume skips passed ones, --retest keeps failed ones.
        var boards: [(port: String, entry: ManifestEntry?)] = []
        for p in allPorts {
            let entry = entries.first { $0.port == p } ?? entries.first { e in e.usbSerial != nil && p.hasSuffix(":" + (e.usbSerial ?? "")) }
            if manifest != nil && entry == nil { throw InputError("the manifest has no row for \(p)", at: .argument("--manifest \(manifest ?? "")")) }
            // The board by its DevEUI (from the manifest), its USB serial number, or its port.
            let usbSerial = entry?.usbSerial ?? PortSpec.usbSerial(of: p)
            let previous = entry.flatMap { last[$0.devEUI] } ?? usbSerial.flatMap { last["usb:" + $0] } ?? last["port:" + p]
            if resume && previous == true { live("\(p): passed before, skipped (--resume)"); continue }
            if retest && previous != false { live("\(p): not a failed board, skipped (--retest)"); continue }
            boards.append((p, entry))
        }
        let several = allPorts.count > 1
        @Sendable func fileFor(_ base: String?, _ port: String) -> String? {
            guard let base else { return nil }
            guard several else { return base }
            let safe = port.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "_")
            let ext = (base as NSString).pathExtension
            let stem = (base as NSString).deletingPathExtension
            return ext.isEmpty ? base + "-" + safe : "\(stem)-\(safe).\(ext)"
        }
        var o = FlashTestOptions()
        o.firmware = firmware
        o.timeScale = timeScale
        o.probeBaud = probeBaud
        o.otherProfiles = DialectProfile.loadAll(directory: dir)
        if let gateway {
            let g = try BenchGateway(spec: gateway, plan: thePlan)
            live("bench gateway: listening on \(g.address) (point the packet forwarder's serv_port_up and serv_port_down there)")
            if console.verbosity >= .verbose { g.onEvent = { live($0) } }
            o.gateway = g
        }
        defer { o.gateway?.stop() }
        let multi = boards.count > 1
        let jig = boards.map { FlashTestJig.Board(port: $0.port, entry: $0.entry, sessionLog: fileFor(log, $0.port)) }
        let done = FlashTestJig.run(plan: thePlan, profile: theProfile, boards: jig, options: o) { b, step in
            let mark = step.status == .passed ? "PASS" : (step.status == .failed ? "FAIL" : "skip")
            let name = step.name.count < 28 ? step.name + String(repeating: " ", count: 28 - step.name.count) : step.name
            live((multi ? "[\(b.port)] " : "") + "\(mark)  \(name) " + String(format: "%7.2f s  ", step.seconds) + step.detail)
        }
        if let prodLog { for w in ProductionChecks.alreadyPassed(done, rows: try prodLog.rows()) { common.console.warn(w) } }
        for r in done {
            if let j = fileFor(junit, r.port) { try writeFile(j, FlashTestReport.junit(r), option: "--junit") }
            try prodLog?.append(r)
        }
        if let html { try writeFile(html, FlashTestReport.html(done, plan: thePlan.name), option: "--html") }
        if !common.json {
            var t = TextTable(["port", "DevEUI", "firmware", "result", "failing step", "time"])
            for r in done {
                t.add([r.port, r.devEUI ?? "", r.firmware ?? "", r.interrupted == true ? "STOPPED" : r.passed ? "PASS" : "FAIL", r.failingStep ?? "",
                       String(format: "%.2f s", r.seconds)])
            }
            console.say("\n" + t.render())
            for r in done { if let d = FlashTestReport.diagnosis(r) { console.say(d) } }
        } else {
            print(try JSONOutput.encode(done))
        }
        let portErrors = done.filter { $0.portError != nil }
        if let first = portErrors.first, portErrors.count == done.filter({ !$0.passed }).count {
            throw InputError(first.portError ?? "", at: .argument("--port \(first.port)"))
        }
        let failed = done.filter { !$0.passed }
        if !failed.isEmpty {
            throw CheckFailure(failed.map { "\($0.port): step '\($0.failingStep ?? "?")' failed" }.joined(separator: "; "))
        }
    }
}
