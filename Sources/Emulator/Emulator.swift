import CFirmware
import Codecs
import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink
import Serial

/// Fault switches, for testing the harness against a misbehaving board.
public struct EmulatorFaults: Sendable, Equatable {
    /// Each byte the board writes is lost with this probability.
    public var dropRate = 0.0
    /// Each byte the board writes is replaced by a random one with this probability.
    public var garbleRate = 0.0
    /// After this many commands the board stops answering for `stallFor`.
    public var stallAfter: Int?
    public var stallFor: Nanoseconds = 5 * Time.second
    /// After this many commands the line drops (the pty is closed).
    public var disconnectAfter: Int?
    /// After this many commands the board resets halfway through its answer.
    public var rebootAfter: Int?
    /// The board answers nothing at all.
    public var silent = false
    /// The radio transmits at this data rate whatever the board was told (and reports): a firmware that ignores
    /// `AT+DR`, a module stuck at DR3.
    public var txDataRate: Int?
    /// The board answers OK to a data-rate command and keeps the data rate it had.
    public var ignoreDataRate = false
    /// The board keeps no duty cycle (a firmware with it switched off, a test build).
    public var noDutyCycle = false
    /// Each data uplink's MIC is wrong on air (a wrong session key, a corrupting radio path): only a receiver can
    /// tell (through a bench gateway, `gateway`).
    public var badMIC = false
    public init() {}

    /// `drop=0.01,garble=0.02,stall=3@5s,disconnect=10,reboot=4,silent`.
    public static func parse(_ text: String) throws(InputError) -> EmulatorFaults {
        var f = EmulatorFaults()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            func rate() throws(InputError) -> Double {
                guard kv.count == 2, let v = Double(kv[1]), (0...1).contains(v) else { throw InputError("'\(part)': a rate from 0 to 1") }
                return v
            }
            func count() throws(InputError) -> Int {
                guard kv.count == 2, let v = Int(kv[1]), v >= 0 else { throw InputError("'\(part)': a number of commands") }
                return v
            }
            switch kv[0] {
            case "drop": f.dropRate = try rate()
            case "garble": f.garbleRate = try rate()
            case "disconnect": f.disconnectAfter = try count()
            case "reboot": f.rebootAfter = try count()
            case "silent": f.silent = true
            case "ignoreDR": f.ignoreDataRate = true
            case "noDutyCycle": f.noDutyCycle = true
            case "badMIC": f.badMIC = true
            case "txDR":
                guard kv.count == 2, let v = Int(kv[1]), (0...15).contains(v) else { throw InputError("'\(part)': txDR=N, a data rate 0…15") }
                f.txDataRate = v
            case "stall":
                guard kv.count == 2 else { throw InputError("'\(part)': stall=N@DURATION (after N commands, for DURATION)") }
                let p = kv[1].split(separator: "@").map(String.init)
                guard p.count == 2, let n = Int(p[0]) else { throw InputError("'\(part)': stall=N@DURATION (after N commands, for DURATION)") }
                f.stallAfter = n
                f.stallFor = try DurationFormat.parse(p[1])
            default:
                throw InputError("unknown fault '\(kv[0])'; faults: drop=P, garble=P, stall=N@DURATION, disconnect=N, reboot=N, txDR=N, ignoreDR, noDutyCycle, badMIC, silent")
            }
        }
        return f
    }
}

/// What a board used before keeps in flash (RUI3 persists echo, confirmed mode, ADR, data rate and band): the state
/// a retest meets. `echo=1,confirmed=1,adr=1,dr=3,region=US915`.
public struct StoredSettings: Sendable, Equatable {
    public var echo = false
    public var confirmed = false
    public var adr: Bool?
    public var dataRate: Int?
    public var region: RegionID?
    public init() {}

    public static func parse(_ text: String) throws(InputError) -> StoredSettings {
        var s = StoredSettings()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw InputError("'\(part)': a setting is name=value (echo, confirmed, adr, dr, region)") }
            func flag() throws(InputError) -> Bool {
                guard kv[1] == "0" || kv[1] == "1" else { throw InputError("'\(part)': 0 or 1") }
                return kv[1] == "1"
            }
            switch kv[0] {
            case "echo": s.echo = try flag()
            case "confirmed": s.confirmed = try flag()
            case "adr": s.adr = try flag()
            case "dr":
                guard let v = Int(kv[1]), (0...15).contains(v) else { throw InputError("'\(part)': dr=N, a data rate 0…15") }
                s.dataRate = v
            case "region": s.region = try RegionID.parse(kv[1])
            default: throw InputError("unknown setting '\(kv[0])'; stored settings: echo, confirmed, adr, dr, region")
            }
        }
        return s
    }
}

public struct EmulatorOptions: Sendable {
    public var profile: DialectProfile
    public var kind: SensorKind = .bay
    /// Generated vehicles at the sensor (bay or gate of a site).
    public var traffic: TrafficProfile?
    /// The board's clock runs this many times faster than the wall clock.
    public var timeScale = 1.0
    public var seed: UInt64 = 1
    public var faults = EmulatorFaults()
    public var devEUI = EUI64(0x70B3_D57E_D000_1234)
    /// The board's UART rate; nil: whatever the harness sets. A harness at another rate reads garbage and is not
    /// understood, as with a real board.
    public var baud: Int?
    /// Settings a previous user left in the board's flash.
    public var stored = StoredSettings()
    /// Transmit through a bench gateway to this network server (Semtech UDP) instead of the built-in network server.
    public var gateway: (host: String, port: UInt16)?
    /// Virtual time 0 (for generated traffic).
    public var startUnixSeconds: Int64 = 1_774_224_000
    public init(profile: DialectProfile) { self.profile = profile }

    /// `udp:HOST:PORT`.
    public static func parseGateway(_ text: String) throws(InputError) -> (host: String, port: UInt16) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "udp", !parts[1].isEmpty, let port = UInt16(parts[2]), port > 0 else {
            throw InputError("'\(text)': the network server is udp:HOST:PORT, e.g. udp:127.0.0.1:1700")
        }
        return (parts[1], port)
    }
}

/// A board on a pseudo-terminal: the simulated device (the firmware in the loop for this project's sensor, a
/// Class A MAC and the project's network server on a perfect channel, or a bench gateway's) speaking its profile's dialect, with real timing scaled by
/// `timeScale`. `path` is the line a harness opens.
public final class Emulator: @unchecked Sendable {
    public let options: EmulatorOptions
    public let pty: PseudoTerminal
    public var path: String { pty.slavePath }

    let lock = NSLock()
    private var thread: Thread?
    private var running = false
    private var finished = DispatchSemaphore(value: 0)
    let wallStart = DispatchTime.now().uptimeNanoseconds
    var rng: SeededRandom
    var inputBuffer: [UInt8] = []
    var sawCR = false
    var commandsSeen = 0
    var stalledUntilWall: UInt64 = 0
    var disconnected = false
    /// Lines scheduled for output at a virtual time.
    var scheduled: [(at: Nanoseconds, line: String)] = []
    let device: EmulatedDevice
    var dialect: DialectHandler

    public init(options: EmulatorOptions) throws(SerialError) {
        self.options = options
        pty = try PseudoTerminal()
        rng = SeededRandom.stream(seed: options.seed, 0xE0)
        device = EmulatedDevice(options: options)
        if let g = options.gateway {
            do {
                let air = try GatewayAir(host: g.host, port: g.port, eui: options.devEUI.bigEndianBytes.map { $0 ^ 0xFF })
                air.corruptMIC = options.faults.badMIC
                device.gatewayAir = air
            } catch {
                throw SerialError(.notFound, port: "udp:\(g.host):\(g.port)", transport: "udp", error.message)
            }
        }
        switch options.profile.dialect {
        case .rui3: dialect = RUI3Dialect()
        case .wioE5: dialect = WioE5Dialect()
        case .rn2483: dialect = RN2483Dialect()
        }
        dialect.echo = options.stored.echo
        if options.profile.dialect == .rui3 { (dialect as? RUI3Dialect)?.confirmed = options.stored.confirmed }
        if let adr = options.stored.adr { device.adr = adr }
        if let dr = options.stored.dataRate { device.dataRate = dr }
        if let region = options.stored.region { device.region = region.parameters }
        device.output = { [unowned self] line in emit(line) }
        device.onRadioEvent = { [unowned self] e in dialect.radioEvent(e, emulator: self) }
    }

    /// Virtual time now: wall time since the start, less the time the clock stood still for a bench gateway's
    /// server, times the time scale.
    var now: Nanoseconds {
        let wall = DispatchTime.now().uptimeNanoseconds - wallStart - (device.gatewayAir?.heldWall ?? 0)
        return Int64(Double(wall) * options.timeScale)
    }

    /// Starts the board on a thread (it prints its banner at once).
    public func start() {
        lock.lock()
        running = true
        lock.unlock()
        let t = Thread { [self] in
            loop()
            finished.signal()
        }
        t.name = "emulator"
        thread = t
        t.start()
    }

    /// Stops the board and hangs up the line.
    public func stop() {
        lock.lock()
        let wasRunning = running
        running = false
        lock.unlock()
        if wasRunning && thread != nil { finished.wait() }
        pty.close()
    }

    /// Runs on the calling thread until `stop()` (from another thread) or the duration of wall time.
    public func run(forWall duration: Nanoseconds? = nil) {
        lock.lock(); running = true; lock.unlock()
        let end = duration.map { DispatchTime.now().uptimeNanoseconds + UInt64($0) }
        loop(untilWall: end)
    }

    private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }

    private func loop(untilWall end: UInt64? = nil) {
        device.boot(at: now, cause: OCC_RESET_POWER_ON, dialect: dialect, emulator: self)
        while isRunning && !disconnected && !Interruption.requested {
            if let end, DispatchTime.now().uptimeNanoseconds >= end { break }
            let t = now
            device.gatewayAir?.service()
            device.advance(to: t)
            flushScheduled(upTo: t)
            // Sleep until the next thing the board has to do, or input.
            var next = device.nextEventTime ?? (t + Time.second)
            if let s = scheduled.map(\.at).min() { next = min(next, s) }
            let wallWait = Int64(Double(max(0, next - t)) / options.timeScale)
            let bytes = pty.read(timeout: min(max(wallWait, Time.millisecond), 50 * Time.millisecond))
            if !bytes.isEmpty { feed(bytes) }
        }
    }

    private func feed(_ bytes: [UInt8]) {
        // At the wrong rate the board reads noise: nothing it receives is a command.
        if wrongBaud { inputBuffer = []; return }
        for b in bytes {
            if sawCR && b == 0x0A { sawCR = false; continue }
            sawCR = b == 0x0D
            if b == 0x0D || b == 0x0A {
                let line = String(decoding: inputBuffer, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                inputBuffer = []
                if !line.isEmpty { command(line) }
            } else if inputBuffer.count < 512 {
                inputBuffer.append(b)
            }
        }
    }

    private func command(_ line: String) {
        commandsSeen += 1
        let f = options.faults
        if f.silent { return }
        if DispatchTime.now().uptimeNanoseconds < stalledUntilWall { return }
        if let n = f.stallAfter, commandsSeen == n + 1 {
            stalledUntilWall = DispatchTime.now().uptimeNanoseconds + UInt64(f.stallFor)
            return
        }
        if let n = f.disconnectAfter, commandsSeen > n {
            disconnected = true
            pty.close()
            return
        }
        let t = now
        device.advance(to: t)
        // With echo on the command line comes back first, as typed, ended by LF CR (RUI3's CLI writes 0x0A 0x0D).
        if dialect.echo { write(line + "\n\r") }
        let answer = dialect.handle(line, emulator: self)
        if let n = f.rebootAfter, commandsSeen == n + 1 {
            // The board resets halfway through its answer.
            if let first = answer.first { write(String(first.prefix(max(1, first.count / 2)))) }
            device.boot(at: now, cause: OCC_RESET_WATCHDOG, dialect: dialect, emulator: self)
            return
        }
        for a in answer { emit(a) }
    }

    /// Writes one line now (CR LF), through the fault switches.
    func emit(_ line: String) { write(line + "\r\n") }

    /// A line after `delay` of virtual time.
    func emit(_ line: String, after delay: Nanoseconds) { scheduled.append((now + delay, line)) }

    private func flushScheduled(upTo t: Nanoseconds) {
        guard !scheduled.isEmpty else { return }
        let due = scheduled.enumerated().filter { $0.element.at <= t }.sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
        guard !due.isEmpty else { return }
        let dueIndexes = Set(due.map(\.offset))
        for d in due { emit(d.element.line) }
        scheduled = scheduled.enumerated().filter { !dueIndexes.contains($0.offset) }.map(\.element)
    }

    /// The harness's line is at another rate than the board's UART.
    private var wrongBaud: Bool {
        guard let b = options.baud, let line = pty.lineBaud else { return false }
        return b != line
    }

    private func write(_ text: String) {
        guard !disconnected, !options.faults.silent else { return }
        if wrongBaud {
            // Each character sampled at the wrong rate: bytes that are not the text (a framing error's garbage).
            pty.write(text.utf8.map { _ in UInt8(truncatingIfNeeded: rng.next()) | 0x80 })
            return
        }
        var bytes: [UInt8] = []
        for b in text.utf8 {
            if options.faults.dropRate > 0 && rng.nextDouble() < options.faults.dropRate { continue }
            if options.faults.garbleRate > 0 && rng.nextDouble() < options.faults.garbleRate {
                bytes.append(UInt8(truncatingIfNeeded: rng.next()))
                continue
            }
            bytes.append(b)
        }
        pty.write(bytes)
    }
}

/// Radio happenings the dialect turns into its event lines.
enum RadioEvent {
    case joined(DevAddr)
    case joinFailed
    /// A send finished (after its receive windows): whether it was acknowledged (confirmed) and any downlink.
    case sendDone(acked: Bool, downlink: (port: UInt8, payload: [UInt8])?)
}

/// The simulated board behind any dialect: keys and settings the dialect sets, joining, sending, and for this
/// project's sensor the firmware core with its console.
final class EmulatedDevice {
    let options: EmulatorOptions
    var devEUI: EUI64
    var joinEUI = EUI64(0)
    var appKey: AES128Key?
    var region: RegionParameters = RegionID.eu868.parameters
    var dataRate: Int?
    var adr = true
    var port: UInt8 = 1
    var mac: ClassAMAC?
    /// The network the board joins without a bench gateway: the one network server on a perfect channel, without
    /// network-side ADR (a bench network leaves the data rate the host set), in the board's region.
    private(set) var network: NetworkServer
    /// When set, the board's air: a bench gateway and the network server behind it.
    var gatewayAir: GatewayAir?
    var firmware: FirmwareDevice?
    var joining = false
    var joinAttempts = 0
    var sending = false
    var lastDownlink: (port: UInt8, payload: [UInt8])?
    var acked = false
    var devNonce: UInt16 = 0
    var output: ((String) -> Void)?
    var onRadioEvent: ((RadioEvent) -> Void)?
    private var now: Nanoseconds = 0
    private var traffic: SiteTraffic?
    private var stimuli: [TimedStimulus] = []
    private var stimulusIndex = 0
    private var trafficHorizon: Nanoseconds = 0

    init(options: EmulatorOptions) {
        self.options = options
        devEUI = options.devEUI
        network = EmulatedDevice.server(region: RegionID.eu868.parameters, seed: options.seed)
        if let t = options.traffic { traffic = SiteTraffic(profile: t, startUnixSeconds: options.startUnixSeconds, seed: options.seed) }
    }

    var joined: Bool { mac?.joined ?? false }

    static func server(region: RegionParameters, seed: UInt64) -> NetworkServer {
        var config = NetworkServer.Config()
        config.adr = false
        return NetworkServer(config: config, region: region, channel: PerfectChannel(), seed: seed)
    }

    /// The data rate a command set (unless the ignoreDR fault keeps the old one).
    func setDataRate(_ dr: Int) {
        guard !options.faults.ignoreDataRate else { return }
        dataRate = dr
        mac?.setDataRate(dr)
    }

    /// The data rate the board reports: the MAC's (ADR may change it), or under the txDR fault the one it was told.
    var reportedDataRate: Int {
        if options.faults.txDataRate != nil { return dataRate ?? 0 }
        return mac?.dataRate ?? dataRate ?? 0
    }

    /// The duty-cycle accounting of this power cycle, carried from one join's MAC to the next (a reboot clears it).
    private var carriedDutyCycle: DutyCycleTracker?

    func boot(at t: Nanoseconds, cause: occ_reset_cause_t, dialect: DialectHandler, emulator: Emulator) {
        now = t
        mac?.reset(at: t)
        mac = nil
        carriedDutyCycle = nil
        joining = false
        sending = false
        for line in dialect.banner(emulator: emulator) { output?(line) }
        if options.profile.firmwareConsole {
            let fw = firmware ?? FirmwareDevice(kind: options.kind == .gate ? OCC_KIND_GATE : OCC_KIND_BAY, devEUI: devEUI.bigEndianBytes)
            firmware = fw
            fw.onConsoleLine = { [unowned self] line in output?(line) }
            fw.radioSend = { [unowned self] p, bytes, confirmed in send(port: p, payload: bytes, confirmed: confirmed, fromFirmware: true) }
            fw.payloadBudget = { [unowned self] in mac?.payloadBudget ?? (region.maxApplicationPayload(dr: dataRate ?? 0) ?? 11) }
            fw.batteryMillivolts = { 3600 }
            fw.start(at: t, cause: cause)
        }
    }

    /// Starts an OTAA join with the keys set so far; false when a key is missing.
    func join() -> Bool {
        guard let appKey else { return false }
        let activation = Activation.otaa(devEUI: devEUI, joinEUI: joinEUI, appKey: appKey)
        var s = MACSettings(region: region, adr: adr, dataRate: dataRate)
        s.joinOnSend = false
        if options.faults.noDutyCycle { s.dutyCyclePolicy = .none }
        // The receive windows as the profile says the module keeps them.
        if options.profile.receiveWindows.fixed == nil {
            s.windowTimeoutSymbols = Int64(options.profile.receiveWindows.timeoutSymbols)
            s.windowLead = options.profile.receiveWindows.windowOffset
        }
        let m = ClassAMAC(device: 0, activation: activation, settings: s, seed: options.seed, devNonce: devNonce)
        if let carried = mac?.tracker ?? carriedDutyCycle { m.continueDutyCycle(carried) }
        if network.region.id != region.id { network = EmulatedDevice.server(region: region, seed: options.seed) }
        network.register(device: 0, activation: activation)
        m.air = gatewayAir ?? network
        m.onTxDone = { [unowned self] start, end in firmware?.txDone(start: start, end: end, at: end) }
        m.onApplicationDownlink = { [unowned self] p, bytes in
            lastDownlink = (p, bytes)
            firmware?.downlink(port: p, bytes, at: now)
        }
        m.onEvent = { [unowned self] t, e in macEvent(t, e) }
        mac = m
        joining = true
        joinAttempts = 0
        m.startJoinNow(now: now)
        return true
    }

    private func macEvent(_ t: Nanoseconds, _ e: MACEvent) {
        switch e {
        case .joinAccepted(let addr):
            joining = false
            devNonce = mac?.devNonce ?? devNonce
            onRadioEvent?(.joined(addr))
        case .joinNoAnswer:
            joinAttempts += 1
            if joinAttempts >= 8 {
                joining = false
                devNonce = mac?.devNonce ?? devNonce
                carriedDutyCycle = mac?.tracker
                mac = nil
                onRadioEvent?(.joinFailed)
            }
        case .downlink(_, _, _, let ack, _):
            if ack { acked = true }
        default:
            break
        }
    }

    enum SendOutcome { case ok, busy, dutyCycle, notJoined, tooLong }

    func send(port: UInt8, payload: [UInt8], confirmed: Bool, fromFirmware: Bool = false) -> SendResult {
        guard let mac, mac.joined else { return .notJoined }
        if let forced = options.faults.txDataRate { mac.setDataRate(forced) }
        let r = mac.send(fport: port, payload: payload, confirmed: confirmed, now: now)
        if r == .ok && !fromFirmware {
            sending = true
            acked = false
            lastDownlink = nil
        }
        return r
    }

    var nextEventTime: Nanoseconds? {
        var t: [Nanoseconds] = []
        if let m = mac?.nextEventTime { t.append(m) }
        if let f = firmware?.timerAt { t.append(max(f, now)) }
        if let s = nextStimulusTime() { t.append(s) }
        return t.min()
    }

    private func nextStimulusTime() -> Nanoseconds? {
        if var tr = traffic, trafficHorizon <= now {
            trafficHorizon = now + Time.hour
            let events = tr.events(until: trafficHorizon, bay: options.kind == .bay ? 0 : nil)
            traffic = tr
            stimuli = Array(stimuli[stimulusIndex...]) + events
            stimulusIndex = 0
        }
        return stimulusIndex < stimuli.count ? stimuli[stimulusIndex].at : nil
    }

    func advance(to t: Nanoseconds) {
        var guardCount = 0
        while guardCount < 10_000, let next = nextEventTime, next <= t {
            guardCount += 1
            now = max(now, next)
            mac?.advance(to: now)
            while stimulusIndex < stimuli.count, stimuli[stimulusIndex].at <= now {
                switch stimuli[stimulusIndex].stimulus {
                case .detect(let on): firmware?.detection(on, at: now)
                case .lane(let lane, let active): firmware?.vehicle(lane: lane, active: active, at: now)
                default: break
                }
                stimulusIndex += 1
            }
            if let ft = firmware?.timerAt, ft <= now { firmware?.timer(at: now) }
            checkSendDone()
        }
        now = max(now, t)
        checkSendDone()
    }

    private func checkSendDone() {
        if sending, let mac, !mac.isBusy {
            sending = false
            onRadioEvent?(.sendDone(acked: acked, downlink: lastDownlink))
        }
    }

    /// The firmware console (ATC+ commands) of this project's sensor.
    func console(_ line: String) {
        firmware?.console(line, at: now)
    }
}
