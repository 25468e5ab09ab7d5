import Codecs
import Foundation
import Device
import HarnessCore
import LoRaWAN
import RadioLink
import Serial

public struct StepResult: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case passed, failed, skipped }
    public var name: String
    public var status: Status
    public var seconds: Double
    /// What the step found (or why it failed).
    public var detail: String
    public var expected: String?
    public var got: String?
    /// The board's last lines, on failure (keys redacted).
    public var lastLines: [String]
    /// A failure of the port rather than of the board's answer (missing, busy, disconnected): JUnit `<error>`.
    public var portFault: Bool? = nil
    /// A transmit-time step's measured and modelled time on air, milliseconds.
    public var measuredMilliseconds: Double? = nil
    public var modelMilliseconds: Double? = nil
}

public struct BoardResult: Sendable, Codable {
    public var port: String
    public var plan: String
    public var profile: String
    public var devEUI: String?
    public var firmware: String?
    public var usbSerial: String?
    public var steps: [StepResult]
    public var passed: Bool
    public var failingStep: String?
    /// The port could not be opened (missing, busy, permission): bad input rather than a failed board.
    public var portError: String?
    /// SIGINT or SIGTERM stopped the run: the step under way and the later ones are skipped, the board not passed.
    public var interrupted: Bool? = nil
    public var seconds: Double
}

/// A step that did not hold: what was expected and what came.
struct StepFailure: Error {
    var message: String
    var expected: String?
    var got: String?
}

public struct FlashTestOptions: Sendable {
    public var firmware: String?
    public var manifest: ManifestEntry?
    /// The board's clock runs this many times faster (an emulator with --time-scale): timeouts shrink, measured
    /// durations are scaled back to the board's time.
    public var timeScale = 1.0
    /// Write the session log here.
    public var sessionLog: String?
    public var seed: UInt64 = 1
    /// When a board answers with garbage, try the common baud rates and name the one it answers at.
    public var probeBaud = false
    /// The harness as the network server of a bench gateway: joins are answered and uplinks checked on air.
    public var gateway: BenchGateway?
    /// Profiles to suggest when a board answers in another dialect (the bundled ones).
    public var otherProfiles: [DialectProfile] = []
    /// How long the join step waits for the gateway's first PULL_DATA (a forwarder's keepalive is 10 s by default).
    public var gatewayWait: Nanoseconds = 12 * Time.second
    public init() {}
}

/// Runs a plan on one board.
public final class FlashTestRunner {
    public let plan: FlashTestPlan
    public let profile: DialectProfile
    public let port: String
    public let options: FlashTestOptions
    private var session: LineSession?
    private var result: BoardResult
    private var lastSendStart: Nanoseconds?
    private var lastPayloadBytes = 0
    private var lastDataRate: Int
    private var bannerDevEUI: String?

    public init(plan: FlashTestPlan, profile: DialectProfile, port: String, options: FlashTestOptions) {
        self.plan = plan
        self.profile = profile
        self.port = port
        self.options = options
        lastDataRate = plan.dataRate
        result = BoardResult(port: port, plan: plan.name, profile: profile.name, steps: [], passed: false, seconds: 0)
        result.usbSerial = options.manifest?.usbSerial ?? PortSpec.usbSerial(of: port)
    }

    private var sessionLog: SessionLog?

    private func configured(_ ls: LineSession) -> LineSession {
        ls.lineEnding = profile.lineEnding
        ls.eventMatchers = profile.matchers("events")
        ls.restartMatchers = profile.matchers("restart")
        ls.redactor = profile.redactor
        // This project's firmware reports each transmission (+EVT:TX=start,end in ms), also the ones it makes on
        // its own (the boot message after a join): the duty-cycle model's account of what was sent.
        if profile.firmwareConsole {
            ls.onLine = { [weak self] line in
                guard let self, let c = Matcher.regex("^\\+EVT:TX=(\\d+),(\\d+)$").match(line.text), c.count == 3,
                      let a = Int64(c[1]), let b = Int64(c[2]), b >= a else { return }
                let airtime = (b - a) * Time.millisecond
                self.transmitted.append((line.at - Int64(Double(airtime) / self.options.timeScale), airtime, false))
            }
        }
        return ls
    }

    private var s: LineSession {
        get throws(StepFailure) {
            guard let session else { throw StepFailure(message: "the port is not open") }
            return session
        }
    }

    /// Runs every step (stopping at the first failure: later steps are skipped); `onStep` sees each result.
    public func run(onStep: (StepResult) -> Void = { _ in }) -> BoardResult {
        let start = Date()
        do {
            let transport = try SerialPorts.open(port, settings: profile.serial)
            let log = try? options.sessionLog.map { path in
                try SessionLog(path: path, header: "port \(port) (\(transport.transportName)) \(profile.serial.description), profile \(profile.name)")
            }
            sessionLog = log ?? nil
            session = configured(LineSession(transport: transport, log: log ?? nil))
        } catch {
            // Every step of the plan is still a test case (CI keeps one history per step): the first carries the
            // port's fault, the others are skipped.
            for (i, step) in plan.steps.enumerated() {
                let r = i == 0
                    ? StepResult(name: step.name, status: .failed, seconds: 0, detail: "the port could not be opened: \(error.description)",
                                 expected: nil, got: nil, lastLines: [], portFault: true)
                    : StepResult(name: step.name, status: .skipped, seconds: 0, detail: "the port could not be opened", expected: nil, got: nil, lastLines: [])
                result.steps.append(r)
                onStep(r)
            }
            result.failingStep = plan.steps.first?.name ?? "open port"
            result.portError = error.inputError.message
            result.seconds = Date().timeIntervalSince(start)
            return result
        }
        defer { session?.close() }
        var failed = false
        var talked = false
        for step in plan.steps {
            if Interruption.requested {
                let r = StepResult(name: step.name, status: .skipped, seconds: 0, detail: "not run: stopped by \(Interruption.signalName)",
                                   expected: nil, got: nil, lastLines: [])
                result.steps.append(r)
                result.interrupted = true
                result.failingStep = result.failingStep ?? step.name
                failed = true
                onStep(r)
                continue
            }
            if failed {
                let r = StepResult(name: step.name, status: .skipped, seconds: 0, detail: "after a failed step", expected: nil, got: nil, lastLines: [])
                result.steps.append(r)
                onStep(r)
                continue
            }
            let t0 = Date()
            var r: StepResult
            session?.clearRestart()
            do {
                let detail = try run(step.step)
                r = StepResult(name: step.name, status: detail == nil ? .skipped : .passed, seconds: Date().timeIntervalSince(t0),
                               detail: detail ?? "no firmware image given", expected: nil, got: nil, lastLines: [])
            } catch let e as StepFailure {
                r = StepResult(name: step.name, status: .failed, seconds: Date().timeIntervalSince(t0), detail: e.message, expected: e.expected,
                               got: e.got, lastLines: session?.recent.suffix(10).map(\.text) ?? [])
            } catch let e as SerialError where e.kind == .interrupted {
                r = StepResult(name: step.name, status: .skipped, seconds: Date().timeIntervalSince(t0), detail: "not finished: \(e.detail)",
                               expected: nil, got: nil, lastLines: session?.recent.suffix(10).map(\.text) ?? [])
                result.interrupted = true
                result.failingStep = step.name
                failed = true
            } catch let e as SerialError {
                r = StepResult(name: step.name, status: .failed, seconds: Date().timeIntervalSince(t0), detail: e.description, expected: nil,
                               got: nil, lastLines: session?.recent.suffix(10).map(\.text) ?? [], portFault: e.kind != .timeout)
            } catch {
                r = StepResult(name: step.name, status: .failed, seconds: Date().timeIntervalSince(t0), detail: "\(error)", expected: nil, got: nil, lastLines: [])
            }
            // A banner in the middle of the plan: the board reset (a watchdog, a brown-out, a crash), and whatever the
            // step saw may come from a board that lost its state. The boot and flash steps reset it on purpose.
            // Not in the first step that talks to the board: a banner then is the power-on one (a board that resets
            // when its port opens, as many USB-serial boards do through DTR).
            if let banner = session?.restartLine, r.status != .skipped, talked {
                switch step.step {
                case .boot, .flash, .powerCycle: break
                default:
                    r = StepResult(name: step.name, status: .failed, seconds: r.seconds,
                                   detail: "the board restarted during this step (it printed '\(banner)')"
                                       + (r.status == .failed ? "; the step then failed: \(r.detail)" : ""),
                                   expected: r.expected, got: r.got, lastLines: session?.recent.suffix(10).map(\.text) ?? r.lastLines)
                }
            }
            if r.status != .skipped { talked = true }
            // After a flash or a power cycle the board starts afresh: its banner may come during the next step.
            switch step.step {
            case .flash, .powerCycle: talked = false
            default: break
            }
            if r.status == .failed {
                failed = true
                result.failingStep = step.name
                if r.portFault != true, let other = otherDialect(session?.recent.map(\.text) ?? []) {
                    r.detail += "; the board answers in the dialect of profile \(other) (try --profile \(other))"
                }
            }
            if let t = timed {
                r.measuredMilliseconds = t.measured
                r.modelMilliseconds = t.model
                timed = nil
            }
            // What the board said goes through the session log's redaction before anyone sees it: a `command` step
            // that reads a key back, an echoing module's key command in `got:`.
            r = redactedResult(r)
            result.steps.append(r)
            onStep(r)
        }
        result.passed = !failed
        result.seconds = Date().timeIntervalSince(start)
        return result
    }

    /// The profile whose answers the board's lines are, when none of them is an answer of this profile's: a
    /// Wio-E5 tested with a RUI3 profile answers `+AT: ERROR(-1)`, an RN2483 `invalid_param`.
    private func otherDialect(_ lines: [String]) -> String? {
        guard !lines.isEmpty else { return nil }
        func answers(_ p: DialectProfile) -> Int {
            let m = p.matchers("ok") + p.matchers("error")
            return lines.filter { l in m.contains { $0.match(l) != nil } }.count
        }
        guard answers(profile) == 0 else { return nil }
        let best = options.otherProfiles.filter { $0.dialect != profile.dialect }.map { ($0.name, answers($0)) }.max { $0.1 < $1.1 }
        return best.flatMap { $0.1 > 0 ? $0.0 : nil }
    }

    // MARK: - Talking

    private func timeout(_ name: String, _ d: Nanoseconds) -> Nanoseconds { profile.timeout(name, default: d) }

    /// A wait on the board's radio clock (a join, a transmission, a debounce), in wall time: shorter by the time
    /// scale, with a floor for the harness's own latency. Command answers are not scaled.
    private func radio(_ t: Nanoseconds) -> Nanoseconds { max(Int64(Double(t) / options.timeScale), 500 * Time.millisecond) }

    /// Sends a command and waits for its final answer (ok or error); returns the lines before it. An error answer
    /// fails the step.
    @discardableResult
    private func ask(_ command: String, timeout t: Nanoseconds? = nil) throws -> [Line] {
        let s = try s
        try s.send(command)
        let finals = profile.matchers("ok") + profile.matchers("error")
        let okCount = profile.matchers("ok").count
        let r = try s.expect(finals, timeout: t ?? timeout("command", 2 * Time.second))
        guard let line = r.line else {
            throw noAnswer("no answer to \(redacted(command)) within \(DurationFormat.human(t ?? timeout("command", 2 * Time.second)))",
                           expected: "an answer", before: r.before)
        }
        if r.which >= okCount {
            throw StepFailure(message: "\(redacted(command)) was refused", expected: "OK", got: line.text)
        }
        try settle()
        return r.before + [line]
    }

    /// Lets the rest of a multi-line answer through (Wio-E5's `+DR: DR5` then `+DR: EU868 DR5  SF7  BW125K`), for
    /// the profile's `settle` time, so it is not taken for the next command's answer.
    private func settle() throws {
        guard let quiet = profile.timeouts["settle"], quiet > 0 else { return }
        try s.drainInput(quiet: quiet)
    }

    /// Sends a query and returns the captures of the line matching the profile's pattern for `role`.
    private func query(_ command: String, role: String, timeout t: Nanoseconds? = nil) throws -> [String] {
        try query(command, matchers: profile.matchers(role), describing: profile.patterns[role]?.joined(separator: " or "), timeout: t)
    }

    private func query(_ command: String, matchers wanted: [Matcher], describing: String?, timeout t: Nanoseconds? = nil) throws -> [String] {
        let s = try s
        try s.send(command)
        let errors = profile.matchers("error")
        let r = try s.expect(wanted + errors, timeout: t ?? timeout("command", 2 * Time.second))
        guard let line = r.line else {
            throw noAnswer("no answer to \(redacted(command))", expected: describing, before: r.before)
        }
        guard r.which < wanted.count else { throw StepFailure(message: "\(command) was refused", expected: describing, got: line.text) }
        if profile.dialect == .rui3 {
            // RUI3 (and the firmware's ATC+ commands) end every answer with OK.
            _ = try s.expect(profile.matchers("ok"), timeout: timeout("command", 2 * Time.second))
        }
        try settle()
        return r.captures
    }

    private func redacted(_ s: String) -> String { profile.redactor.redact(s) }

    /// The failure of a wait that saw no expected line: the lines that came, or, when the board sent bytes that are
    /// not text (a wrong baud rate, noise on the line), those bytes escaped with a hint to check the baud rate, and
    /// the rate it answers at when `probeBaud` is on.
    private func noAnswer(_ message: String, expected: String?, before: [Line]) -> StepFailure {
        let raw = session?.recentBytes ?? []
        let notText = raw.filter { !(0x20...0x7E).contains($0) && $0 != 0x0D && $0 != 0x0A && $0 != 0x09 }.count
        guard raw.count >= 4, notText * 4 >= raw.count else {
            return StepFailure(message: message, expected: expected, got: before.map(\.text).joined(separator: " | ").nilIfEmpty ?? "nothing")
        }
        var hint = "the board sent bytes that are not text (\(notText) of the last \(raw.count)): check the baud rate (the profile says \(profile.serial.description))"
        if options.probeBaud {
            if let rate = probeBaudRate() { hint += "; it answers at \(rate) baud" } else { hint += "; it answers at none of " + TermiosTransport.commonBauds.map(String.init).joined(separator: ", ") }
        }
        return StepFailure(message: message + "; " + hint, expected: expected, got: ByteEscapes.escape(Array(raw.suffix(32))))
    }

    /// Tries the common baud rates with the profile's probe command; the first that gets an OK. The session is
    /// opened again at the profile's rate afterwards.
    private func probeBaudRate() -> Int? {
        session?.release()
        session = nil
        defer {
            if let t = try? SerialPorts.open(port, settings: profile.serial) { session = configured(LineSession(transport: t, log: sessionLog)) }
        }
        let probe = profile.command("probe") ?? "AT"
        for rate in TermiosTransport.commonBauds where rate != profile.serial.baud {
            var settings = profile.serial
            settings.baud = rate
            guard let t = try? SerialPorts.open(port, settings: settings) else { continue }
            let ls = configured(LineSession(transport: t, log: nil))
            defer { ls.release() }
            try? ls.drainInput(quiet: 50 * Time.millisecond)
            guard (try? ls.send(probe)) != nil else { continue }
            if let r = try? ls.expect(profile.matchers("ok"), timeout: 500 * Time.millisecond), r.line != nil { return rate }
        }
        return nil
    }

    private func redactedResult(_ r: StepResult) -> StepResult {
        var out = r
        out.detail = redacted(r.detail)
        out.expected = r.expected.map(redacted)
        out.got = r.got.map(redacted)
        out.lastLines = r.lastLines.map(redacted)
        return out
    }

    private func need(_ name: String) throws -> String {
        guard let c = profile.command(name) else { throw StepFailure(message: "the profile \(profile.name) has no '\(name)' command") }
        return c
    }

    // MARK: - Steps

    /// Runs a step; returns what it found (nil: skipped).
    private func run(_ step: PlanStep) throws -> String? {
        switch step {
        case .flash(let firmware):
            guard let image = options.firmware ?? firmware else { return nil }
            guard let template = profile.flashCommand else { throw StepFailure(message: "the profile \(profile.name) has no flash command") }
            return try flash(template: template, image: image)
        case .boot:
            return try boot()
        case .identity(let fw, let format, let kind):
            return try identity(firmware: fw, payloadFormat: format, kind: kind)
        case .configure:
            return try configure()
        case .join(let t):
            return try join(timeout: t)
        case .sensor(let detect, let vehicle):
            return try sensor(detect: detect, vehicle: vehicle)
        case .uplink(let expect, let hex, let port):
            return try uplink(expect: expect, payloadHex: hex, port: port)
        case .txTime(let abs, let rel):
            return try txTime(tolerance: abs, relative: rel)
        case .dutyCycle(let dr, let bytes, let attempts):
            return try dutyCycle(dataRate: dr, payloadBytes: bytes, attempts: attempts)
        case .powerCycle(let command, let t):
            return try powerCycle(command: command, timeout: t)
        case .downlink(let port, let payload):
            return try downlink(port: port, payload: payload)
        case .command(let send, let expect, let t):
            let s = try s
            try s.send(send)
            let r = try s.expect([.regex(expect)] + profile.matchers("error"), timeout: t ?? timeout("command", 2 * Time.second))
            guard let line = r.line, r.which == 0 else {
                throw StepFailure(message: "\(redacted(send)): unexpected answer", expected: expect,
                                  got: r.line?.text ?? r.before.map(\.text).joined(separator: " | ").nilIfEmpty ?? "nothing")
            }
            // RUI3 ends an answer with OK: wait for it unless the expected line was the OK itself.
            let isFinal = profile.matchers("ok").contains { $0.match(line.text) != nil }
            if profile.dialect == .rui3 && !isFinal { _ = try s.expect(profile.matchers("ok"), timeout: timeout("command", 2 * Time.second)) }
            return line.text
        }
    }

    private func flash(template: String, image: String) throws -> String {
        guard FileManager.default.fileExists(atPath: image) else { throw StepFailure(message: "no firmware image at \(image)") }
        let command = template.replacingOccurrences(of: "{port}", with: port).replacingOccurrences(of: "{firmware}", with: image)
        // The port is closed and its lock released while the flasher has it, and opened again afterwards (the log
        // goes on in the same file).
        let out = try withPortReleased(command, timeout: profile.flashTimeout, reopenWithin: 5 * Time.second, what: "the flash command")
        return "flashed \(image): \(out)"
    }

    /// Runs `command` through /bin/sh; its last three lines of output, or the failure (exit status, timeout).
    private func runProgram(_ command: String, timeout: Nanoseconds, what: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { throw StepFailure(message: "cannot run \(what): \(error.localizedDescription)") }
        // Read while it runs: a program that writes more than a pipe holds would otherwise wait on us forever.
        nonisolated(unsafe) var collected = Data()
        let reading = DispatchSemaphore(value: 0)
        let handle = out.fileHandleForReading
        Thread { collected = handle.readDataToEndOfFile(); reading.signal() }.start()
        let deadline = Date().addingTimeInterval(Double(timeout) / 1e9)
        while p.isRunning && Date() < deadline && !Interruption.requested { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            reading.wait()
            if Interruption.requested { throw StepFailure(message: "\(what) was stopped by \(Interruption.signalName)") }
            throw StepFailure(message: "\(what) took longer than \(DurationFormat.human(timeout))")
        }
        reading.wait()
        let text = String(decoding: collected, as: UTF8.self)
        let last = text.split(separator: "\n").suffix(3).joined(separator: " | ")
        guard p.terminationStatus == 0 else { throw StepFailure(message: "\(what) failed (exit \(p.terminationStatus))", expected: "exit 0", got: last) }
        return last
    }

    /// A program with the port closed (a flasher, a power switch): its output read as it runs, stopped after
    /// `timeout`; the port opened again afterwards, retried until `reopenWithin` (a USB board reappears).
    private func withPortReleased(_ command: String, timeout: Nanoseconds, reopenWithin: Nanoseconds, what: String) throws -> String {
        session?.release()
        session = nil
        var outcome: String?
        var failure: Error?
        do { outcome = try runProgram(command, timeout: timeout, what: what) } catch { failure = error }
        let deadline = Date().addingTimeInterval(Double(reopenWithin) / 1e9)
        var lastError: SerialError?
        repeat {
            do {
                session = configured(LineSession(transport: try SerialPorts.open(port, settings: profile.serial), log: sessionLog))
                lastError = nil
                break
            } catch {
                lastError = error
                Thread.sleep(forTimeInterval: 0.2)
            }
        } while Date() < deadline && !Interruption.requested
        if let failure { throw failure }
        if let lastError { throw StepFailure(message: "\(what) ran, but the port could not be opened again: \(lastError.description)") }
        return outcome ?? ""
    }

    private func powerCycle(command: String, timeout: Nanoseconds) throws -> String {
        let out = try withPortReleased(command, timeout: timeout, reopenWithin: timeout, what: "the power-cycle command")
        return "power cycled" + (out.isEmpty ? "" : ": " + out)
    }

    private func boot() throws -> String {
        let s = try s
        try s.drainInput(quiet: 50 * Time.millisecond)   // whatever the board said before (a power-on banner)
        if let line = profile.resetLine {
            // The reset pin through a modem line: asserted for the pulse, then released.
            try s.transport.setLine(line, true)
            Thread.sleep(forTimeInterval: Double(profile.resetPulse) / 1e9)
            try s.transport.setLine(line, false)
        } else {
            try s.send(try need("reset"))
        }
        let r = try s.expect(profile.matchers("boot"), timeout: timeout("boot", 5 * Time.second))
        guard let line = r.line else {
            throw noAnswer("no boot banner", expected: profile.patterns["boot"]?.joined(separator: " or "), before: r.before)
        }
        var found = line.text
        if let info = profile.patterns["bootInfo"], !info.isEmpty {
            let r2 = try s.expect(profile.matchers("bootInfo"), timeout: timeout("boot", 5 * Time.second))
            guard let l2 = r2.line else { throw StepFailure(message: "the banner's second line is missing", expected: info.first, got: r2.before.first?.text ?? "nothing") }
            if r2.captures.count > 2 { bannerDevEUI = r2.captures[2] }
            found += "; " + l2.text
        }
        if r.captures.count > 1 { result.firmware = r.captures[1] }
        try s.drainInput(quiet: 200 * Time.millisecond)
        return found
    }

    private func identity(firmware: String?, payloadFormat: Int?, kind: SensorKind?) throws -> String {
        var found: [String] = []
        if profile.firmwareConsole {
            let v = try query(try need("fwVersion"), role: "fwVersion")
            guard v.count == 3 else { throw StepFailure(message: "unreadable version") }
            result.firmware = v[1]
            if let firmware, v[1] != firmware { throw StepFailure(message: "wrong firmware version", expected: firmware, got: v[1]) }
            if let payloadFormat, Int(v[2]) != payloadFormat { throw StepFailure(message: "wrong payload format", expected: String(payloadFormat), got: v[2]) }
            found.append("firmware \(v[1]), payload format \(v[2])")
            let e = try query(try need("fwDevEUI"), role: "fwDevEUI")
            let stackEUI = try query(try need("getDevEUI"), role: "devEUI")
            guard e.count == 2, stackEUI.count == 2 else { throw StepFailure(message: "unreadable DevEUI") }
            guard e[1].uppercased() == stackEUI[1].uppercased() else {
                throw StepFailure(message: "the firmware and the LoRaWAN stack disagree on the DevEUI", expected: stackEUI[1], got: e[1])
            }
            if let b = bannerDevEUI, b != e[1] { throw StepFailure(message: "the banner's DevEUI differs", expected: e[1], got: b) }
            result.devEUI = e[1]
            found.append("DevEUI \(e[1])")
            if let kind {
                let k = try query(try need("fwKind"), role: "fwKind")
                guard k.count == 2, k[1].lowercased() == kind.rawValue else { throw StepFailure(message: "wrong kind", expected: kind.rawValue.uppercased(), got: k.last ?? "") }
                found.append("kind \(k[1])")
            }
        } else {
            let v = try query(try need("version"), role: "version")
            result.firmware = v.count > 1 ? v[1] : nil
            if let firmware, !(v.last ?? "").contains(firmware) { throw StepFailure(message: "wrong firmware version", expected: firmware, got: v.last ?? "") }
            found.append("version \(v.last ?? "?")")
            let e = try query(try need("getDevEUI"), role: "devEUI")
            let eui = (e.last ?? "").replacingOccurrences(of: ":", with: "").uppercased()
            guard eui.count == 16, UInt64(eui, radix: 16) != nil else { throw StepFailure(message: "the DevEUI is not 16 hex digits", expected: "16 hex digits", got: e.last ?? "") }
            result.devEUI = eui
            found.append("DevEUI \(eui)")
        }
        return found.joined(separator: ", ")
    }

    /// Puts the module into a known state whatever a previous user stored in its flash (RUI3 keeps echo, confirmed
    /// mode, ADR, data rate and band across reboots), then reads back what the later steps' verdicts rest on.
    private func configure() throws -> String {
        let s = try s
        var done: [String] = []
        // Echo: a probe shows whether the module sends commands back. RUI3's ATE toggles it (and stores the
        // setting), so it is sent only when the echo is on, and the probe repeated to see it off. (Profiles without
        // an echoOff command are of modules that do not echo; an echo is skipped by the line session anyway.)
        if let off = profile.command("echoOff"), let probe = profile.command("probe") {
            s.resetEchoCount()
            try ask(probe)
            if s.echoes > 0 {
                try ask(off)
                s.resetEchoCount()
                try ask(probe)
                guard s.echoes == 0 else { throw StepFailure(message: "the echo stays on after \(off)", expected: "no echo", got: probe) }
                done.append("echo off (it was on)")
            }
        }
        if let regionCommand = profile.commands["setRegion"] {
            guard let code = profile.regions[plan.region] else { throw StepFailure(message: "the profile has no code for region \(plan.region)") }
            try ask(regionCommand.replacingOccurrences(of: "{region}", with: code))
            done.append(plan.region)
        }
        if let dr = profile.command("setDataRate", ["dr": String(plan.dataRate)]) {
            try ask(dr)
            lastDataRate = plan.dataRate
            done.append("DR\(plan.dataRate)")
        }
        if let adr = profile.command("setADR", ["adr": "0", "adrWord": profile.dialect == .rn2483 ? "off" : "OFF"]) {
            try ask(adr)
            done.append("ADR off")
        }
        // Unconfirmed uplinks: the time on air and the duty-cycle steps count on no acknowledgement and no retry.
        if let unconfirmed = profile.command("setUnconfirmed") {
            try ask(unconfirmed)
            done.append("unconfirmed")
        }
        // Keys: the manifest's, or for a lab board its own DevEUI and a fresh random AppKey (never shown).
        let devEUI = options.manifest?.devEUI ?? result.devEUI ?? "70B3D57ED0000001"
        let joinEUI = options.manifest?.joinEUI ?? "0000000000000000"
        var rng = SystemRandomNumberGenerator()
        let appKey = options.manifest?.appKey ?? (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255, using: &rng)) }.joined()
        try ask(try need("setDevEUI").replacingOccurrences(of: "{devEUI}", with: devEUI))
        try ask(try need("setJoinEUI").replacingOccurrences(of: "{joinEUI}", with: joinEUI))
        try ask(try need("setAppKey").replacingOccurrences(of: "{appKey}", with: appKey))
        result.devEUI = devEUI
        done.append("DevEUI \(devEUI), JoinEUI \(joinEUI), AppKey \(Redactor.marker)")
        if let g = options.gateway {
            guard let d = try? EUI64(hex: devEUI), let j = try? EUI64(hex: joinEUI), let k = try? AES128Key(bytes: Hex.decode(appKey)) else {
                throw StepFailure(message: "the keys do not read as EUIs and an AES-128 key")
            }
            g.register(devEUI: d, joinEUI: j, appKey: k)
            gatewayEUI = d
        }
        // Read back: a module that answers OK and keeps another value fails here, not in a later step's timing.
        var read: [String] = []
        let values = ["region": profile.regions[plan.region] ?? plan.region, "dr": String(plan.dataRate)]
        for rb in profile.readBack {
            var wanted = rb.expect
            for (k, v) in values { wanted = wanted.replacingOccurrences(of: "{\(k)}", with: v) }
            let got = try query(rb.command, matchers: [.regex(rb.answer)], describing: rb.answer)
            let value = got.count > 1 ? got[1] : (got.first ?? "")
            guard value.caseInsensitiveCompare(wanted) == .orderedSame else {
                throw StepFailure(message: "the module keeps another \(rb.setting) than it was set to (\(rb.command))", expected: wanted, got: value)
            }
            read.append("\(rb.setting) \(value)")
        }
        if !read.isEmpty { done.append("read back: " + read.joined(separator: ", ")) }
        return done.joined(separator: ", ")
    }

    private func join(timeout t: Nanoseconds?) throws -> String {
        let s = try s
        // Through a bench gateway the join-accept needs the way down, which the gateway's PULL_DATA opens.
        if let g = options.gateway, !g.waitForDownlinkPath(timeout: options.gatewayWait) {
            throw StepFailure(message: "no packet forwarder has sent PULL_DATA to \(g.address) within \(DurationFormat.human(options.gatewayWait)): "
                              + "the join-accept has no way to the gateway "
                              + "(check the forwarder's server_address, serv_port_down and that it runs)", expected: "PULL_DATA", got: "nothing")
        }
        let sent = s.now
        try s.send(try need("join"))
        let limit = t ?? timeout("join", 60 * Time.second)
        let r = try s.expect(profile.matchers("joined") + profile.matchers("joinFailed") + profile.matchers("error"), timeout: radio(limit))
        guard let line = r.line else {
            // Through a bench gateway, what it made of the board's join-requests says why.
            var why = ""
            if let g = options.gateway {
                let refusals = g.heard(since: gatewaySince(sent)).compactMap { u -> String? in
                    if case .joinRefused(let e, let reason) = u.verdict, e == gatewayEUI { return reason }
                    return nil
                }
                why = refusals.isEmpty ? "; the bench gateway heard no join-request from it" : "; the bench gateway refused its join-request: " + (refusals.last ?? "")
            }
            throw StepFailure(message: "no join within \(DurationFormat.human(limit))" + why, expected: profile.patterns["joined"]?.first, got: "nothing")
        }
        guard r.which < profile.matchers("joined").count else { throw StepFailure(message: "the join failed", expected: profile.patterns["joined"]?.first, got: line.text) }
        // The join-request spent duty-cycle credit: 23 bytes at the region's lowest data rate, where LoRaMac-node's
        // examples and this project's emulator join (a module may join faster; the duty-cycle step says so then).
        // This project's firmware reports every transmission itself (+EVT:TX), the join-request too.
        if !profile.firmwareConsole, let region = try? RegionID.parse(plan.region).parameters,
           let lowest = region.uplinkDataRates.filter({ $0.modulation.lora != nil && region.maxApplicationPayload(dr: $0.index) != nil }).map(\.index).min(),
           var m = region.dataRate(lowest)?.modulation.lora {
            m.crc = true
            transmitted.append((sent, AirtimeCalculator.loraUnchecked(m, payloadBytes: 23).nanoseconds, true))
        }
        try s.drainInput(quiet: 100 * Time.millisecond)
        let boardTime = Int64(Double(line.at - sent) * options.timeScale)
        // Physics: the join-accept comes in RX1 at the earliest, JOIN_ACCEPT_DELAY1 (5 s in every region of RP002-1.0.4)
        // after the end of the 23-byte join-request. A join sooner than that on the board's clock means the clocks
        // disagree (an emulator running faster than --time-scale says), and nothing timed in this plan can be trusted.
        if let region = try? RegionID.parse(plan.region).parameters, let m = region.dataRate(plan.dataRate)?.modulation.lora {
            var mod = m
            mod.crc = true
            let earliest = region.joinAcceptDelay1 + AirtimeCalculator.loraUnchecked(mod, payloadBytes: 23).nanoseconds
            if boardTime < earliest - 50 * Time.millisecond {
                throw StepFailure(message: "joined \(DurationFormat.human(boardTime)) after the command (board time), sooner than physics allows: "
                                  + "the join-accept comes \(DurationFormat.human(region.joinAcceptDelay1)) after the join-request at the earliest; "
                                  + "the board's clock runs faster than --time-scale \(options.timeScale) says",
                                  expected: "at least \(DurationFormat.human(earliest))", got: DurationFormat.human(boardTime))
            }
        }
        var through = ""
        if let g = options.gateway {
            // The board must have joined through the bench gateway: its join-request heard, verified, answered.
            let mine = g.heard(since: gatewaySince(sent)).filter {
                if case .joinAccepted(let e, _, _) = $0.verdict { return e == gatewayEUI }
                if case .joinRefused(let e, _) = $0.verdict { return e == gatewayEUI }
                return false
            }
            guard let accepted = mine.last(where: { if case .joinAccepted = $0.verdict { return $0.answered != nil }; return false }),
                  case .joinAccepted(_, let nonce, let addr) = accepted.verdict else {
                let refusals = mine.compactMap { u -> String? in if case .joinRefused(_, let why) = u.verdict { return why }; return nil }
                throw StepFailure(message: "the board says it joined, but the bench gateway answered no join-request from it"
                                  + (refusals.isEmpty ? " (it heard none)" : ": " + refusals.joined(separator: "; ")),
                                  expected: "a join-request answered through PULL_RESP", got: line.text)
            }
            gatewayAddr = addr
            gatewayFCnt = nil
            through = String(format: "; through the bench gateway: join-request DevNonce %d at %@, join-accept sent for RX1, DevAddr %@",
                             Int(nonce), accepted.dataRateText, addr.description)
        }
        return String(format: "joined %.2f s after the command (board time): %@", Double(boardTime) / 1e9, line.text) + through
    }

    private func sensor(detect: Bool?, vehicle: String?) throws -> String {
        guard profile.firmwareConsole else { throw StepFailure(message: "the profile \(profile.name) has no sensor test commands") }
        let s = try s
        let command = detect != nil ? try need("fwDetect").replacingOccurrences(of: "{value}", with: detect == true ? "1" : "0")
                                    : try need("fwVehicle").replacingOccurrences(of: "{value}", with: vehicle ?? "IN")
        try ask(command)
        let events = s.takeEvents()
        let want: String = detect != nil ? "+EVT:OCC=\(detect == true ? 1 : 0)," : "+EVT:GATE=\(vehicle ?? "IN"),"
        if let hit = events.first(where: { $0.text.hasPrefix(want) }) { return hit.text }
        // A detection is accepted after the debounce: wait for the event.
        let r = try s.expect([.prefix(want)], timeout: radio(5 * Time.second))
        guard let line = r.line else { throw StepFailure(message: "the sensor event did not come", expected: want + "…", got: r.before.map(\.text).joined(separator: " | ").nilIfEmpty ?? "nothing") }
        return line.text
    }

    private func uplink(expect: [String: String], payloadHex: String?, port: UInt8) throws -> String {
        let s = try s
        if profile.firmwareConsole && payloadHex == nil {
            let uplinkStart = s.now
            try ask(try need("fwSendState"))
            // The state report goes out when the radio allows; other messages (the boot message after a join, a
            // heartbeat) may go first: read back each transmission's payload until it is the state report.
            var fport: UInt8 = 0
            var hex = ""
            for attempt in 1...4 {
                let r = try s.expect([.regex("^\\+EVT:TX=(\\d+),(\\d+)$")], timeout: radio(timeout("send", 30 * Time.second)))
                guard r.line != nil else { throw StepFailure(message: "no transmission after \(try need("fwSendState"))", expected: "+EVT:TX=start,end", got: "nothing") }
                (fport, hex) = try readPayload()
                let type = (try? Hex.decode(hex)).flatMap { $0.first }.map { $0 & 0x1F }
                if type == 1 || type == 2 || attempt == 4 { break }
            }
            let bytes = (try? Hex.decode(hex)) ?? []
            lastPayloadBytes = bytes.count
            // Decode with the Swift reference codec, check the fields, re-encode: the same bytes, bit for bit.
            let message: OccupancyMessage
            do { message = try OccupancyCodec.decode(port: fport, bytes) } catch {
                throw StepFailure(message: "the payload does not decode: \(error)", expected: "a valid message", got: hex)
            }
            let json = message.json
            for (k, v) in expect.sorted(by: { $0.key < $1.key }) {
                let got = json[k].map { $0.plainText } ?? "(missing)"
                guard got == v else { throw StepFailure(message: "field \(k) of the \(message.typeName)", expected: v, got: got) }
            }
            let reference: [UInt8]
            do { reference = try OccupancyCodec.encode(message).bytes } catch { throw StepFailure(message: "the reference encoder refuses it: \(error)") }
            guard reference == bytes else {
                throw StepFailure(message: "the firmware's bytes differ from the reference encoder's", expected: Hex.encode(reference, uppercase: true), got: hex)
            }
            return "FPort \(fport) \(hex) = \(json.compact), bit-exact" + (try checkOnAir(since: uplinkStart, port: fport, payload: bytes))
        }
        // A stock module: the plan's payload through the send command, then its TX done.
        let hex = payloadHex ?? "01"
        let bytes = (try? Hex.decode(hex)) ?? []
        if let setPort = profile.command("setPort", ["port": String(port)]) { try ask(setPort) }
        let command = try need("send").replacingOccurrences(of: "{port}", with: String(port)).replacingOccurrences(of: "{hex}", with: hex.uppercased())
        _ = s.takeEvents()
        let (start, a) = try sendWhenRadioFree(command)
        let done = try s.expect(profile.matchers("txDone") + profile.matchers("txFailed"), timeout: radio(timeout("send", 30 * Time.second)))
        guard let d = done.line, done.which < profile.matchers("txDone").count else {
            throw StepFailure(message: "no TX done", expected: profile.patterns["txDone"]?.first, got: done.line?.text ?? "nothing")
        }
        // What happened in the receive windows decides when the module reports the end: a downlink (its window
        // and length) or an acknowledgement ends them early, nothing keeps them open until RX2 has timed out.
        let between = (done.before + s.takeEvents() + [d]).map(\.text)
        var windows = ObservedWindows(confirmedAck: profile.matchers("confirmedDone").contains { $0.match(d.text) != nil })
        for line in between {
            if profile.matchers("acknowledged").contains(where: { $0.match(line) != nil }) { windows.confirmedAck = true }
            if let c = profile.matchers("downlinkWindow").lazy.compactMap({ $0.match(line) }).first, c.count > 1 { windows.window = Int(c[1]) }
            if let c = profile.matchers("downlinkPayload").lazy.compactMap({ $0.match(line) }).first, c.count > 2 {
                windows.downlinkPayloadBytes = c[2].count / 2
            }
        }
        lastWindows = windows
        lastSendStart = start
        lastPayloadBytes = bytes.count
        if !profile.firmwareConsole, let t = try? modelAirtime() { transmitted.append((start, t, false)) }   // the firmware reports its own
        lastSendAnswered = a.at
        lastSendEnd = d.at
        let onAir = try checkOnAir(since: start, port: port, payload: bytes)
        return "sent \(bytes.count) bytes on FPort \(port); \(d.text)" + onAir
    }
    private var lastSendEnd: Nanoseconds?
    private var lastSendAnswered: Nanoseconds?
    /// The bench gateway's view of this board: its DevEUI, the DevAddr it joined with, the last FCnt heard.
    private var gatewayEUI: EUI64?
    private var gatewayAddr: DevAddr?
    private var gatewayFCnt: UInt32?
    /// The gateway's clock for a session time (the gateway and the session each count from their own start).
    private func gatewaySince(_ t: Nanoseconds) -> Nanoseconds {
        guard let g = options.gateway, let s = session else { return 0 }
        return g.now - (s.now - t) - 100 * Time.millisecond
    }

    /// The uplink the bench gateway heard after `since` (session time) from this board: MIC, FCnt, FPort and the
    /// decrypted payload checked, and the data rate it came at; a description for the step's detail.
    private func checkOnAir(since: Nanoseconds, port: UInt8?, payload: [UInt8]) throws -> String {
        guard let g = options.gateway else { return "" }
        guard let addr = gatewayAddr else { throw StepFailure(message: "no join through the bench gateway before this uplink (run a join step first)") }
        func mine(_ u: AirUplink) -> Bool {
            switch u.verdict {
            case .data(let a, _, _, _, _, _), .dataRefused(let a, _): return a == addr
            default: return false
            }
        }
        // The packet forwarder sends it as soon as it is received: well within a second of the board's TX done.
        // The one carrying this payload (a board may send others meanwhile: this project's firmware its boot
        // message), else the last one refused or heard.
        _ = g.wait(since: gatewaySince(since), timeout: Time.second) { u in
            if case .data(_, _, _, let p, _, _) = u.verdict { return mine(u) && p == payload }
            if case .dataRefused = u.verdict { return mine(u) }
            return false
        }
        let heard = g.heard(since: gatewaySince(since)).filter(mine)
        guard let u = heard.first(where: { if case .data(_, _, _, let p, _, _) = $0.verdict { return p == payload }; return false })
                ?? heard.last(where: { if case .dataRefused = $0.verdict { return true }; return false }) ?? heard.last else {
            throw StepFailure(message: "the bench gateway heard no uplink from \(addr)", expected: "an uplink from \(addr)", got: "nothing")
        }
        switch u.verdict {
        case .dataRefused(_, let why):
            throw StepFailure(message: "the uplink heard by the bench gateway does not verify: \(why)", expected: "a valid MIC", got: Hex.encode(u.bytes, uppercase: true))
        case .data(_, let fcnt, let fport, let decrypted, _, let repeated):
            // Strictly increasing (the board may have sent others between two checked uplinks), never repeated.
            if let last = gatewayFCnt, fcnt <= last || repeated {
                throw StepFailure(message: "the frame counter did not advance", expected: "more than \(last)", got: String(fcnt))
            }
            gatewayFCnt = fcnt
            if let port, fport != port {
                throw StepFailure(message: "the uplink came on another FPort", expected: String(port), got: fport.map(String.init) ?? "none")
            }
            guard decrypted == payload else {
                throw StepFailure(message: "the payload decrypted from the air differs from what was sent",
                                  expected: Hex.encode(payload, uppercase: true), got: Hex.encode(decrypted, uppercase: true))
            }
            // The data rate on air, from the gateway's report: a module stuck at another one shows here directly.
            guard let region = try? RegionID.parse(plan.region).parameters, let m = region.dataRate(lastDataRate)?.modulation.lora else { return "" }
            let planned = "SF\(m.spreadingFactor)BW\(Int(m.bandwidth.hertz / 1000))"
            guard u.dataRateText == planned else {
                throw StepFailure(message: "the uplink came at \(u.dataRateText), not DR\(lastDataRate)'s \(planned)", expected: planned, got: u.dataRateText)
            }
            var mod = m
            mod.crc = true
            let onAir = AirtimeCalculator.loraUnchecked(mod, payloadBytes: u.bytes.count).nanoseconds
            lastOnAir = onAir
            return "; on air: FCnt \(fcnt), FPort \(fport.map(String.init) ?? "none"), MIC valid, payload as sent, \(planned) "
                + "\(u.codingRate ?? "4/5") \(u.bytes.count) bytes (\(DurationFormat.milliseconds(onAir)) ms on air)"
        default:
            return ""
        }
    }
    private var lastOnAir: Nanoseconds?
    /// The last txTime step's measured and modelled time on air (ms), for the reports.
    private var timed: (measured: Double, model: Double)?

    /// Sends a transmit command once the radio takes it: a refusal without a duty-cycle wait means the last
    /// uplink's receive windows are still open, so it is sent again after they close (three times at most).
    /// Returns when the command went and the line that accepted it; a refusal of another kind fails.
    private func sendWhenRadioFree(_ command: String) throws -> (start: Nanoseconds, accepted: Line) {
        let s = try s
        let ok = profile.matchers("ok"), busy = profile.matchers("busy"), wait = profile.matchers("dutyCycleWait")
        for attempt in 1...4 {
            let start = s.now
            try s.send(command)
            let r = try s.expect(ok + profile.matchers("error") + wait, timeout: timeout("command", 2 * Time.second))
            guard let line = r.line else { throw StepFailure(message: "no answer to the send", expected: "accepted", got: "nothing") }
            if r.which < ok.count { return (start, line) }
            let radioBusy = busy.contains { $0.match(line.text) != nil } && !wait.contains { $0.match(line.text) != nil }
            guard radioBusy, attempt < 4 else {
                throw StepFailure(message: "the send was refused", expected: "accepted", got: line.text)
            }
            let close = profile.receiveWindows.fixed ?? (profile.receiveWindows.rx2Delay + Time.second / 2)
            Thread.sleep(forTimeInterval: Double(close) / 1e9 / options.timeScale)
            try s.drainInput(quiet: 20 * Time.millisecond)
        }
        throw StepFailure(message: "the send was refused")
    }

    /// A downlink through the bench gateway: queued for the board's next uplink, which this step sends; the
    /// board must report its port and payload.
    private func downlink(port: UInt8, payload: [UInt8]) throws -> String {
        guard let g = options.gateway, let eui = gatewayEUI else {
            throw StepFailure(message: "a downlink step needs --gateway (the bench gateway sends it) and a configure step before it")
        }
        let s = try s
        // For the uplink this step sends (FPort 2): a sensor's own report in between does not take it.
        g.queueDownlink(devEUI: eui, port: port, payload: payload, answering: 2)
        let command = try need("send").replacingOccurrences(of: "{port}", with: "2").replacingOccurrences(of: "{hex}", with: "01")
        if let setPort = profile.command("setPort", ["port": "2"]) { try ask(setPort) }
        _ = s.takeEvents()
        let (start, _) = try sendWhenRadioFree(command)
        let done = try s.expect(profile.matchers("txDone") + profile.matchers("txFailed"), timeout: radio(timeout("send", 30 * Time.second)))
        guard let d = done.line, done.which < profile.matchers("txDone").count else {
            throw StepFailure(message: "no TX done", expected: profile.patterns["txDone"]?.first, got: done.line?.text ?? "nothing")
        }
        let onAir = try checkOnAir(since: start, port: 2, payload: [1])
        let lines = (done.before + s.takeEvents() + [d]).map(\.text)
        let want = (String(port), Hex.encode(payload, uppercase: true))
        for line in lines {
            if let c = profile.matchers("downlinkPayload").lazy.compactMap({ $0.match(line) }).first, c.count > 2,
               c[1] == want.0, c[2].uppercased() == want.1 {
                return "the board reported the downlink: \(line)" + onAir
            }
        }
        throw StepFailure(message: "the board did not report the downlink the bench gateway sent", expected: "FPort \(want.0) payload \(want.1)",
                          got: lines.joined(separator: " | ").nilIfEmpty ?? "nothing")
    }

    /// What this run made the module transmit (session time, time on air, join-request): the duty-cycle model's past.
    private var transmitted: [(at: Nanoseconds, airtime: Nanoseconds, join: Bool)] = []
    private var lastWindows = ObservedWindows(confirmedAck: false)

    /// `ATC+PAYLOAD=?`: the last payload the radio accepted (long ones continue on further lines).
    private func readPayload() throws -> (UInt8, String) {
        let s = try s
        try s.send(try need("fwPayload"))
        let first = try s.expect(profile.matchers("fwPayload") + profile.matchers("error"), timeout: timeout("command", 2 * Time.second))
        guard first.line != nil, first.which == 0, first.captures.count == 3, let fport = UInt8(first.captures[1]) else {
            throw StepFailure(message: "cannot read the payload back", expected: "ATC+PAYLOAD=port:hex", got: first.line?.text ?? "nothing")
        }
        var hex = first.captures[2]
        while true {
            let more = try s.expect(profile.matchers("ok") + profile.matchers("fwPayloadMore"), timeout: timeout("command", 2 * Time.second))
            guard let l = more.line else { throw StepFailure(message: "the payload read-back did not end with OK") }
            if more.which < profile.matchers("ok").count { break }
            hex += l.text
        }
        return (fport, hex.uppercased())
    }

    /// The airtime model's duration for the last uplink: the frame is the payload plus 13 bytes (MHDR, FHDR without
    /// FOpts, FPort, MIC), at the data rate the plan configured.
    private func modelAirtime(dataRate: Int? = nil) throws -> Nanoseconds {
        let dr = dataRate ?? lastDataRate
        guard let region = try? RegionID.parse(plan.region).parameters, let m = region.dataRate(dr)?.modulation.lora else {
            throw StepFailure(message: "DR\(dr) of \(plan.region) is not a LoRa data rate")
        }
        var mod = m
        mod.crc = true
        return AirtimeCalculator.loraUnchecked(mod, payloadBytes: lastPayloadBytes + 13).nanoseconds
    }

    private func txTime(tolerance abs: Nanoseconds, relative rel: Double) throws -> String {
        let expected = try modelAirtime()
        var measured: Nanoseconds
        var slack = abs + Int64(rel * Double(expected))
        var how = ""
        if profile.firmwareConsole {
            let t = try query(try need("fwTxTime"), role: "fwTxTime")
            guard t.count == 3, let a = Int64(t[1]), let b = Int64(t[2]) else { throw StepFailure(message: "unreadable TX times") }
            measured = (b - a) * Time.millisecond
            slack += Time.millisecond   // the firmware's times are whole milliseconds
        } else {
            guard let start = lastSendStart, let end = lastSendEnd, let answered = lastSendAnswered else {
                throw StepFailure(message: "no uplink to time (run an uplink step first)")
            }
            guard let region = try? RegionID.parse(plan.region).parameters else { throw StepFailure(message: "unknown region \(plan.region)") }
            // Command to TX done, in board time, less the receive windows as they happened. The transmission began
            // somewhere between the command and its answer: that answer time is the measurement's own uncertainty.
            let total = Int64(Double(end - start) * options.timeScale)
            let uncertainty = Int64(Double(answered - start) * options.timeScale)
            let candidates = profile.receiveWindows.candidates(lastWindows, region: region, uplinkDataRate: lastDataRate)
            guard let best = candidates.min(by: { Swift.abs(total - $0.duration - expected) < Swift.abs(total - $1.duration - expected) }) else {
                throw StepFailure(message: "the profile's receive windows do not apply to DR\(lastDataRate) of \(plan.region)")
            }
            measured = total - best.duration
            // A measurement whose own uncertainty is larger than the tolerance cannot tell one data rate from the
            // next: it neither passes nor blames the module (at a high --time-scale the harness's latency is scaled up).
            if uncertainty > slack {
                throw StepFailure(message: "the transmit time cannot be measured this precisely here: the send's answer took "
                                  + "\(DurationFormat.milliseconds(uncertainty)) ms of board time, more than the \(DurationFormat.human(slack)) tolerance"
                                  + (options.timeScale > 1 ? " (at --time-scale \(plainNumber(options.timeScale)) the harness's latency is scaled up: run at a lower time scale)" : ""),
                                  expected: "an answer within \(DurationFormat.human(slack))", got: DurationFormat.milliseconds(uncertainty) + " ms")
            }
            slack += uncertainty
            how = "; receive windows \(best.description) \(DurationFormat.milliseconds(best.duration)) ms, answer time \(DurationFormat.milliseconds(uncertainty)) ms"
        }
        timed = (Double(measured) / 1e6, Double(expected) / 1e6)
        let text = "\(DurationFormat.milliseconds(measured)) ms against \(DurationFormat.milliseconds(expected)) ms (DR\(lastDataRate), \(lastPayloadBytes + 13)-byte frame)" + how
        guard Swift.abs(measured - expected) <= slack else {
            // Which data rate the time on air fits: a module stuck at another one shows here.
            var fits = ""
            if let region = try? RegionID.parse(plan.region).parameters {
                let others = region.uplinkDataRates.compactMap { dr -> (Int, Nanoseconds)? in
                    guard dr.modulation.lora != nil, let t = try? modelAirtime(dataRate: dr.index) else { return nil }
                    return (dr.index, t)
                }
                if let near = others.min(by: { Swift.abs($0.1 - measured) < Swift.abs($1.1 - measured) }), near.0 != lastDataRate,
                   Swift.abs(near.1 - measured) <= slack {
                    fits = "; it fits DR\(near.0) (\(DurationFormat.milliseconds(near.1)) ms): the module transmits at another data rate than it was set to"
                }
            }
            throw StepFailure(message: "transmit duration off by more than \(DurationFormat.human(slack))" + fits + how,
                              expected: DurationFormat.milliseconds(expected) + " ms", got: DurationFormat.milliseconds(measured) + " ms")
        }
        return text
    }

    /// Sends at `dataRate` until the module refuses for its duty cycle, and compares the refusal with LoRaMac-node's
    /// time credits as the radio-link model keeps them (1 h of credit once joined, a frame costing its time on air
    /// times the band's denominator). A module that was transmitting before (a retest without a reboot) may refuse
    /// at once: with the wait it names (RUI3's `Restricted_Wait_<ms>_ms`) that is its spent credit, not a busy radio.
    private func dutyCycle(dataRate: Int, payloadBytes: Int, attempts: Int) throws -> String {
        let s = try s
        if let dr = profile.command("setDataRate", ["dr": String(dataRate)]) { try ask(dr); lastDataRate = dataRate }
        let hex = String(repeating: "A5", count: payloadBytes)
        guard let region = try? RegionID.parse(plan.region).parameters, var m = region.dataRate(dataRate)?.modulation.lora else {
            throw StepFailure(message: "DR\(dataRate) of \(plan.region) is not a LoRa data rate")
        }
        m.crc = true
        let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: payloadBytes + 13).nanoseconds
        // The default channels share one band (EU868: 868.0–868.6 MHz, 1 %): the model's tracker for that band.
        let frequency = region.defaultChannels.first?.frequencyHz ?? 0
        var model = DutyCycleTracker(policy: region.dutyCycleEnforced ? .timeCredit : .none, bands: region.subBands, joined: false)
        let denominator = model.band(for: frequency).map { region.subBands[$0].dutyCycleDenominator } ?? 1
        let cost = airtime * denominator
        // The last uplink's receive windows may still be open (a busy radio, not the duty cycle): let them close.
        let windowsClose = Double(profile.receiveWindows.fixed ?? (profile.receiveWindows.rx2Delay + Time.second / 2) + Time.second) / 1e9
        Thread.sleep(forTimeInterval: windowsClose / options.timeScale)
        try s.drainInput(quiet: 50 * Time.millisecond)
        let busy = profile.matchers("busy")
        let ok = profile.matchers("ok")
        let errors = profile.matchers("error")
        let waitLine = profile.matchers("dutyCycleWait")
        func boardTime(_ t: Nanoseconds) -> Nanoseconds { Int64(Double(t) * options.timeScale) }
        // From a full band when the port was opened: this run's own join-request and uplinks first.
        for tx in transmitted {
            model.joined = !tx.join
            model.record(frequencyHz: frequency, start: boardTime(tx.at), airtime: tx.airtime)
        }
        model.joined = true
        var accepted = 0
        var radioBusyRetries = 0
        var beyondModel = 0
        var i = 0
        while i < attempts {
            i += 1
            if let setPort = profile.command("setPort", ["port": "2"]) { try ask(setPort) }
            let command = try need("send").replacingOccurrences(of: "{port}", with: "2").replacingOccurrences(of: "{hex}", with: hex)
            let sentAt = s.now
            try s.send(command)
            var r = try s.expect(waitLine + busy + ok + errors, timeout: timeout("command", 2 * Time.second))
            var wait: Nanoseconds?
            if let l = r.line, r.which < waitLine.count {
                wait = r.captures.count > 1 ? Int64(r.captures[1]).map { $0 * Time.millisecond } : nil
                // RUI3 prints the wait, then AT_BUSY_ERROR; Wio-E5's "No band in <ms>ms" is the refusal itself.
                if let b = busy.firstIndex(where: { $0.match(l.text) != nil }) {
                    r.which = waitLine.count + b
                } else {
                    r = try s.expect(busy + ok + errors, timeout: timeout("command", 2 * Time.second))
                    r.which += waitLine.count
                }
            }
            guard let line = r.line else { throw StepFailure(message: "no answer to send \(i)", expected: "accepted or refused", got: "nothing") }
            let which = r.which - waitLine.count
            if which < busy.count {
                // RUI3 says AT_BUSY_ERROR both for an open receive window and for the duty cycle; only the wait
                // line tells them apart. Without one, where the profile has one: the radio was busy, try again.
                if wait == nil && !waitLine.isEmpty {
                    radioBusyRetries += 1
                    guard radioBusyRetries <= 3 else {
                        throw StepFailure(message: "send \(i) refused \(radioBusyRetries) times with no duty-cycle wait: the radio stays busy",
                                          expected: "a transmission or Restricted_Wait", got: line.text)
                    }
                    Thread.sleep(forTimeInterval: windowsClose / options.timeScale)
                    i -= 1
                    continue
                }
                return try dutyCycleVerdict(refusedOn: i, accepted: accepted, beyondModel: beyondModel, wait: wait, line: line.text, at: boardTime(sentAt),
                                            model: &model, frequency: frequency, airtime: airtime, cost: cost, dataRate: dataRate)
            }
            guard which < busy.count + ok.count else { throw StepFailure(message: "send \(i) failed", expected: "accepted or duty-cycle refusal", got: line.text) }
            // A frame the model would not have let go yet: the module has more credit than the band gives.
            if let allowed = model.earliestStart(frequencyHz: frequency, airtime: airtime, now: boardTime(sentAt)).time, allowed > boardTime(sentAt) {
                beyondModel += 1
            }
            model.record(frequencyHz: frequency, start: boardTime(sentAt), airtime: airtime)
            accepted += 1
            let done = try s.expect(profile.matchers("txDone") + profile.matchers("txFailed"), timeout: radio(timeout("send", 30 * Time.second)))
            guard done.line != nil else { throw StepFailure(message: "no TX done for send \(i)", expected: profile.patterns["txDone"]?.first, got: "nothing") }
        }
        let predicted = fullCreditSends(cost: cost)
        throw StepFailure(message: "the duty cycle never refused a send"
                          + (beyondModel > 1 ? ": \(accepted) frames of \(DurationFormat.human(airtime)) are more than a full band's credit allows (about \(predicted))" : ""),
                          expected: "a refusal within \(attempts) sends at DR\(dataRate)", got: "\(accepted) accepted")
    }

    /// How many frames of credit cost `cost` a band with a full hour of credit sends before it refuses (recharge
    /// between the sends aside).
    private func fullCreditSends(cost: Nanoseconds) -> Int { cost > 0 ? Int((Time.hour - 1) / cost) + 1 : Int.max }

    private func dutyCycleVerdict(refusedOn i: Int, accepted: Int, beyondModel: Int, wait: Nanoseconds?, line: String, at t: Nanoseconds,
                                  model: inout DutyCycleTracker, frequency: Int64, airtime: Nanoseconds, cost: Nanoseconds, dataRate: Int) throws -> String {
        let what = "refused on send \(i) (\(line)) after \(accepted) transmissions of \(DurationFormat.human(airtime)) at DR\(dataRate)"
        // The model, from a full hour of credit at the first send of this step: when it would let this frame go, and
        // the credit it says the band holds now.
        let predictedWait = (model.earliestStart(frequencyHz: frequency, airtime: airtime, now: t).time ?? t) - t
        let modelCredit = model.band(for: frequency).map { model.credits(band: $0, now: t) } ?? 0
        // A module with more credit than a band can hold (duty cycle off, another region's band) sends more.
        if let wait {
            // The wait names the credit it lacks (credit = cost − wait, LoRaMac-node's RegionCommonUpdateBandTimeOff);
            // what it spent beyond this run's transmissions is the model's credit less that.
            let spentBefore = modelCredit - (cost - wait)
            // Whole-millisecond waits; the times of the sends as the harness saw them, scaled to the board.
            let tolerance = cost / 100 + max(Time.second, Int64(0.02e9 * options.timeScale))
            if spentBefore < -tolerance {
                throw StepFailure(message: "the module's wait is shorter than a full band's credit allows: it holds more credit than the duty cycle gives",
                                  expected: "Restricted_Wait ≥ \(DurationFormat.milliseconds(predictedWait)) ms", got: line)
            }
            guard spentBefore <= Time.hour + tolerance else {
                throw StepFailure(message: "the module's wait (\(DurationFormat.human(wait))) is longer than an empty band needs",
                                  expected: "at most \(DurationFormat.human(cost))", got: line)
            }
            if spentBefore <= tolerance {
                return what + "; wait \(DurationFormat.human(wait)) as the time-credit model predicts (\(DurationFormat.human(predictedWait))) from a full band and this run's transmissions"
            }
            return what + "; wait \(DurationFormat.human(wait)): the module had spent \(DurationFormat.human(spentBefore)) more of its band's credit "
                + "than this run's transmissions account for (it transmitted before: a retest without a reboot), consistent with the time-credit model"
        }
        let predicted = fullCreditSends(cost: cost)
        // One frame of slack: the board's clock and the harness's differ by the latency of each answer.
        guard beyondModel <= 1 else {
            throw StepFailure(message: "the module sent \(beyondModel) frames more than a full band's credit allows", expected: "a refusal by about send \(predicted + 1)", got: what)
        }
        if predictedWait == 0 {
            return what + "; the time-credit model would still send it (a full band allows about \(predicted) such frames): the module had spent "
                + "credit before this step (a retest without a reboot)"
        }
        return what + "; refused where the time-credit model refuses too (from a full band, after this run's transmissions)"
    }
}

/// What a stock module's lines said about its receive windows after an uplink.
struct ObservedWindows: Sendable {
    /// The end was an acknowledgement's report (`+EVT:SEND_CONFIRMED_OK`).
    var confirmedAck: Bool
    /// The window a downlink came in, when the module says.
    var window: Int?
    /// The downlink's application payload length, when the module shows it.
    var downlinkPayloadBytes: Int?
}

extension ReceiveWindowTiming {
    /// How long the windows kept the module busy after the end of the uplink, for each reading of what it said:
    /// a downlink in a known window ends that window with the frame; an acknowledgement without a window may have
    /// come in either; nothing keeps the module until RX2 has listened for `timeoutSymbols` symbols.
    func candidates(_ seen: ObservedWindows, region: RegionParameters, uplinkDataRate: Int) -> [(description: String, duration: Nanoseconds)] {
        if let fixed { return [("as the profile fixes", fixed)] }
        let rx1DR = region.rx1DataRate(uplinkDR: uplinkDataRate, offset: 0) ?? uplinkDataRate
        let rx2DR = rx2DataRate ?? region.rx2DataRate
        func modulation(_ dr: Int) -> LoRaModulation? {
            guard var m = region.dataRate(dr)?.modulation.lora else { return nil }
            m.crc = false   // downlinks carry no payload CRC
            return m
        }
        // A downlink frame: MHDR, FHDR (7 bytes without FOpts), FPort and payload when it has one, MIC.
        let frameBytes = seen.downlinkPayloadBytes.map { 13 + $0 } ?? 12
        func ending(_ w: Int) -> (String, Nanoseconds)? {
            guard let m = modulation(w == 1 ? rx1DR : rx2DR) else { return nil }
            let t = AirtimeCalculator.loraUnchecked(m, payloadBytes: frameBytes).nanoseconds
            return ("ending with a \(frameBytes)-byte downlink in RX\(w)", (w == 1 ? rx1Delay : rx2Delay) + t)
        }
        if let w = seen.window, let e = ending(w) { return [e] }
        if seen.confirmedAck || seen.downlinkPayloadBytes != nil { return [ending(1), ending(2)].compactMap { $0 } }
        guard let m = modulation(rx2DR) else { return [] }
        return [("until RX2 timed out (\(timeoutSymbols) symbols at DR\(rx2DR))", rx2Delay + windowOffset + Int64(timeoutSymbols) * m.symbolNanoseconds)]
    }
}

/// A number as people write it: 20, 2.5.
func plainNumber(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension JSONValue {
    /// The value as a plan writes it: strings bare, numbers without a trailing .0, booleans as true/false.
    var plainText: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        default: return compact
        }
    }
}

/// Several boards at once (a test jig): one thread per board, since they wait on their ports, not on the processor
/// (a jig of 16 boards on a 2-core machine runs them all at once; concurrentPerform would run as many as there are
/// cores). Duplicate DevEUIs across the boards fail them.
public enum FlashTestJig {
    public struct Board: Sendable {
        public var port: String
        public var entry: ManifestEntry?
        /// This board's session log (a file per board when there are several).
        public var sessionLog: String?
        public init(port: String, entry: ManifestEntry?, sessionLog: String?) { self.port = port; self.entry = entry; self.sessionLog = sessionLog }
    }

    /// Runs `plan` on every board with `options` (each board's manifest row and session log its own); `onStep` sees
    /// each step of each board as it ends, one call at a time.
    public static func run(plan: FlashTestPlan, profile: DialectProfile, boards: [Board], options: FlashTestOptions,
                           onStep: @escaping @Sendable (Board, StepResult) -> Void) -> [BoardResult] {
        let lock = NSLock()
        nonisolated(unsafe) var results: [BoardResult?] = Array(repeating: nil, count: boards.count)
        let shared = options
        let group = DispatchGroup()
        for i in boards.indices {
            group.enter()
            Thread {
                defer { group.leave() }
                let b = boards[i]
                var o = shared
                o.manifest = b.entry
                o.sessionLog = b.sessionLog
                let r = FlashTestRunner(plan: plan, profile: profile, port: b.port, options: o).run { step in
                    lock.lock(); onStep(b, step); lock.unlock()
                }
                lock.lock(); results[i] = r; lock.unlock()
            }.start()
        }
        group.wait()
        var done = results.compactMap { $0 }
        ProductionChecks.flagDuplicates(&done)
        return done
    }
}
