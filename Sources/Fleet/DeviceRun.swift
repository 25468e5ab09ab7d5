import CFirmware
import Codecs
import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink
import SimKernel

/// One line of a device's timeline.
public struct TimelineEntry: Sendable, Codable {
    public var time: Nanoseconds
    public var kind: String
    public var text: String
    public var fields: [String: JSONValue]
}

/// A single simulated device, firmware in the loop, against the network server a fleet meets (one gateway on a
/// perfect channel, or a lossy one): the `device run` command.
public final class DeviceRun {
    public struct Options: Sendable {
        public var kind: SensorKind = .bay
        public var region: RegionParameters = RegionID.eu868.parameters
        public var duration: Nanoseconds = 7 * Time.day
        public var seed: UInt64 = 1
        public var stimuli: [TimedStimulus] = []
        public var traffic: TrafficProfile?
        /// Virtual time 0 (UTC): Monday 23 March 2026, so a week's run crosses the end of winter time.
        public var startUnixSeconds: Int64 = 1_774_224_000
        public var activation: Activation?
        public var dataRate: Int?
        public var adr = true
        public var energy: EnergyProfile = .rak3172
        public var battery: Battery = .lithiumAA
        public var uplinkLoss = 0.0
        public var downlinkLoss = 0.0
        public var confirmed = false
        public init() {}
    }

    public struct Summary: Sendable, Codable {
        public var kind: String
        public var duration: Nanoseconds
        public var uplinks: Int
        public var retransmissions: Int
        public var joins: Int
        public var downlinks: Int
        public var dutyCycleWaits: Int
        public var firmwareRetries: Int
        public var airtime: Nanoseconds
        public var energy: EnergyLedger
        public var averageMicroamps: Double
        public var batteryLifeYears: Double
        public var battery: String
        public var counters: [String: Int]
        public var visits: Int?
    }

    public let options: Options
    public let firmware: FirmwareDevice
    public let mac: ClassAMAC
    public let network: NetworkServer
    public private(set) var timeline: [TimelineEntry] = []
    public var recordTimeline = true
    public var onEntry: ((TimelineEntry) -> Void)?

    private var ledger = EnergyLedger()
    private var now: Nanoseconds = 0
    private var stimuli: [TimedStimulus]
    private var stimulusIndex = 0
    private var traffic: SiteTraffic?
    private var trafficHorizon: Nanoseconds = 0
    private var counts = (uplinks: 0, retransmissions: 0, joins: 0, downlinks: 0, dutyWaits: 0)
    private var airtime: Nanoseconds = 0

    public init(options: Options) {
        self.options = options
        let devEUI: [UInt8] = [0x70, 0xB3, 0xD5, 0x7E, 0xD0, 0x00, 0x00, 0x01]
        let activation = options.activation ?? .otaa(devEUI: EUI64(0x70B3_D57E_D000_0001), joinEUI: EUI64(0),
                                                     appKey: (try? AES128Key(bytes: (0..<16).map { UInt8($0) &* 17 })) ?? DeviceRun.zeroKey)
        firmware = FirmwareDevice(kind: options.kind == .gate ? OCC_KIND_GATE : OCC_KIND_BAY, devEUI: devEUI)
        mac = ClassAMAC(device: 0, activation: activation,
                        settings: MACSettings(region: options.region, adr: options.adr, dataRate: options.dataRate), seed: options.seed)
        let channel: UplinkChannel = options.uplinkLoss > 0 || options.downlinkLoss > 0
            ? LossyChannel(uplinkLoss: options.uplinkLoss, downlinkLoss: options.downlinkLoss, seed: options.seed) : PerfectChannel()
        network = NetworkServer(region: options.region, channel: channel, seed: options.seed)
        network.register(device: 0, activation: activation)
        mac.air = network
        stimuli = options.stimuli
        if let t = options.traffic {
            traffic = SiteTraffic(profile: t, startUnixSeconds: options.startUnixSeconds, seed: options.seed)
        }
        wire()
    }

    private static let zeroKey: AES128Key = {
        guard let k = try? AES128Key(bytes: [UInt8](repeating: 0, count: 16)) else { preconditionFailure("16-byte key refused") }
        return k
    }()

    private func wire() {
        let confirmed = options.confirmed
        firmware.radioSend = { [unowned self] port, bytes, _ in
            let r = mac.send(fport: port, payload: bytes, confirmed: confirmed, now: now)
            if case .dutyCycle(let wait) = r {
                counts.dutyWaits += 1
                log("duty-cycle", "the duty cycle holds the uplink back for \(DurationFormat.human(wait))",
                    ["wait_ns": .number(Double(wait))])
            }
            return r
        }
        firmware.payloadBudget = { [unowned self] in mac.payloadBudget }
        firmware.batteryMillivolts = { [unowned self] in
            options.battery.millivolts(usedMicrocoulombs: ledger.closed(over: now, profile: options.energy).totalMicrocoulombs)
        }
        firmware.temperatureTenths = { [unowned self] in
            // A daily swing around 12 °C, warmest at 15:00 local time.
            let hour = Double((now / Time.second + 3600) % 86_400) / 3600
            return Int32((120 + 80 * sin((hour - 9) / 24 * 2 * Double.pi)).rounded())
        }
        firmware.onConsoleLine = { [unowned self] line in log("console", line, [:]) }
        firmware.onWake = { [unowned self] in ledger.mcu(options.energy.mcuActivePerEvent, milliamps: options.energy.mcuActiveMilliamps) }
        mac.onTxDone = { [unowned self] start, end in firmware.txDone(start: start, end: end, at: end) }
        mac.onApplicationDownlink = { [unowned self] port, bytes in firmware.downlink(port: port, bytes, at: now) }
        mac.onRadioTime = { [unowned self] rx, ns, power in
            if rx { ledger.rx(ns, milliamps: options.energy.rxMilliamps) }
            else { ledger.tx(ns, milliamps: options.energy.txMilliamps(powerIndex: power)) }
        }
        mac.batteryLevel = { 254 }
        mac.onEvent = { [unowned self] t, e in macEvent(t, e) }
    }

    private func log(_ kind: String, _ text: @autoclosure () -> String, _ fields: @autoclosure () -> [String: JSONValue], at t: Nanoseconds? = nil) {
        guard observed else { return }
        let text = text(), fields = fields()
        let e = TimelineEntry(time: t ?? now, kind: kind, text: text, fields: fields)
        if recordTimeline { timeline.append(e) }
        onEntry?(e)
    }

    private var observed: Bool { recordTimeline || onEntry != nil }

    private func macEvent(_ t: Nanoseconds, _ e: MACEvent) {
        if !observed {
            // Only the counts: no text is built when nobody reads the timeline.
            switch e {
            case .joinRequest(_, _, _, let a): counts.joins += 1; airtime += a
            case .uplink(_, _, _, _, _, let a, _, _, let trial, _):
                airtime += a
                if trial > 1 { counts.retransmissions += 1 } else { counts.uplinks += 1 }
            case .downlink: counts.downlinks += 1
            case .dutyCycleWait: counts.dutyWaits += 1
            default: break
            }
            return
        }
        switch e {
        case .joinRequest(let nonce, let f, let dr, let a):
            counts.joins += 1
            airtime += a
            log("join-request", "join-request DevNonce \(nonce) on \(FrequencyFormat.megahertz(f)) DR\(dr), \(DurationFormat.milliseconds(a)) ms",
                ["dev_nonce": .number(Double(nonce)), "frequency_hz": .number(Double(f)), "dr": .number(Double(dr)), "airtime_ns": .number(Double(a))], at: t)
        case .joinAccepted(let addr):
            log("joined", "joined as \(addr)", ["dev_addr": .string(addr.description)], at: t)
        case .joinNoAnswer(let next):
            log("join-retry", "no join-accept; next try at \(stamp(next))", [:], at: t)
        case .uplink(let fcnt, let port, let confirmed, let f, let dr, let a, let bytes, let payload, let trial, let cmds):
            airtime += a
            if trial > 1 { counts.retransmissions += 1 } else { counts.uplinks += 1 }
            var decoded = ""
            var fields: [String: JSONValue] = ["fcnt": .number(Double(fcnt)), "frequency_hz": .number(Double(f)), "dr": .number(Double(dr)),
                                               "airtime_ns": .number(Double(a)), "bytes": .number(Double(bytes.count)),
                                               "payload": .string(Hex.encode(payload)), "confirmed": .bool(confirmed), "trial": .number(Double(trial))]
            if let port { fields["fport"] = .number(Double(port)) }
            if let port, let m = try? OccupancyCodec.decode(port: port, payload) {
                decoded = " " + m.json.compact
                fields["decoded"] = m.json
            }
            if !cmds.isEmpty { fields["mac"] = .array(cmds.map { .string($0) }) }
            log("uplink", "uplink FCnt \(fcnt)\(trial > 1 ? " (transmission \(trial))" : "") \(confirmed ? "confirmed " : "")on \(FrequencyFormat.megahertz(f)) DR\(dr), "
                + "\(DurationFormat.milliseconds(a)) ms, \(bytes.count) bytes" + (cmds.isEmpty ? "" : " + " + cmds.joined(separator: ", ")) + decoded, fields, at: t)
        case .receiveWindow(let w, let dr, let f, let got):
            if got { log("rx", "RX\(w) at \(FrequencyFormat.megahertz(f)) DR\(dr): frame", ["window": .number(Double(w))], at: t) }
        case .downlink(let fcnt, let port, let payload, let ack, let cmds):
            counts.downlinks += 1
            var text = "downlink FCnt \(fcnt)\(ack ? " ACK" : "")"
            if let port, port > 0 {
                text += " FPort \(port) \(Hex.encode(payload))"
                if let m = try? OccupancyCodec.decode(port: port, payload) { text += " " + m.json.compact }
            }
            if !cmds.isEmpty { text += " MAC: " + cmds.joined(separator: ", ") }
            log("downlink", text, ["fcnt": .number(Double(fcnt)), "ack": .bool(ack), "mac": .array(cmds.map { .string($0) })], at: t)
        case .dutyCycleWait(let until):
            counts.dutyWaits += 1
            log("duty-cycle", "MAC waits for the duty cycle until \(stamp(until))", [:], at: t)
        case .retransmission(let after):
            log("retransmission", "no acknowledgement: next transmission in \(DurationFormat.human(after))", [:], at: t)
        case .confirmedFailed(let fcnt):
            log("unacknowledged", "confirmed uplink FCnt \(fcnt) was never acknowledged", [:], at: t)
        case .adrBackoff(let dr, let p):
            log("adr-backoff", "no downlink for too long: DR\(dr), TXPower \(p)", [:], at: t)
        case .adrSettings(let dr, let p, let nb):
            log("adr", "network sets DR\(dr), TXPower \(p), NbTrans \(nb)", [:], at: t)
        }
    }

    public func stamp(_ t: Nanoseconds) -> String {
        let s = t / Time.second
        let ms = (t % Time.second) / Time.millisecond
        return String(format: "%dd %02d:%02d:%02d.%03d", s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60, ms)
    }

    private func nextStimulusTime() -> Nanoseconds? {
        if let traffic, trafficHorizon <= now {
            // Pull the site's next day of vehicles.
            var t = traffic
            trafficHorizon = now + Time.day
            let events = t.events(until: trafficHorizon, bay: options.kind == .bay ? 0 : nil)
            self.traffic = t
            stimuli = Array(stimuli[stimulusIndex...]) + events
            stimuli.sort { $0.at < $1.at }
            stimulusIndex = 0
        }
        return stimulusIndex < stimuli.count ? stimuli[stimulusIndex].at : nil
    }

    /// Runs to the end and returns the summary.
    public func run() -> Summary {
        firmware.start(at: 0, cause: OCC_RESET_POWER_ON)
        while true {
            let candidates = [firmware.timerAt.map { max($0, now) }, mac.nextEventTime, nextStimulusTime()].compactMap { $0 }
            guard let t = candidates.min(), t <= options.duration else { break }
            now = t
            mac.advance(to: t)
            while stimulusIndex < stimuli.count, stimuli[stimulusIndex].at <= t {
                apply(stimuli[stimulusIndex].stimulus)
                stimulusIndex += 1
            }
            if let ft = firmware.timerAt, ft <= t { firmware.timer(at: t) }
        }
        now = options.duration
        let closed = ledger.closed(over: options.duration, profile: options.energy)
        let avg = closed.totalMicrocoulombs / (Double(options.duration) * 1e-9)   // µA
        let c = firmware.counters
        return Summary(kind: options.kind.rawValue, duration: options.duration, uplinks: counts.uplinks, retransmissions: counts.retransmissions,
                       joins: counts.joins, downlinks: counts.downlinks, dutyCycleWaits: counts.dutyWaits,
                       firmwareRetries: Int(firmware.retries), airtime: airtime, energy: closed, averageMicroamps: avg,
                       batteryLifeYears: options.battery.lifeYears(microcoulombs: closed.totalMicrocoulombs, over: options.duration),
                       battery: options.battery.name,
                       counters: ["changes": Int(c.changes), "in": Int(c.countIn), "out": Int(c.countOut), "resets": Int(c.resets)],
                       visits: traffic?.visits)
    }

    private func apply(_ s: Stimulus) {
        switch s {
        case .detect(let on):
            log("sensor", "detector \(on ? "covered" : "clear")", ["raw": .bool(on)])
            firmware.detection(on, at: now)
        case .lane(let lane, let active):
            if active { log("sensor", "vehicle at the \(lane == 0 ? "in" : "out") lane", ["lane": .number(Double(lane))]) }
            firmware.vehicle(lane: lane, active: active, at: now)
        case .downlink(let port, let bytes):
            network.script(device: 0, NetworkServer.Scripted(at: now, fport: port, payload: bytes))
            log("network", "downlink queued for FPort \(port): \(Hex.encode(bytes))", [:])
        case .console(let line):
            log("console-in", line, [:])
            firmware.console(line, at: now)
        case .reset(let cause):
            log("reset", "reset (\(cause))", [:])
            mac.reset(at: now)
            let causes = ["power_on": OCC_RESET_POWER_ON, "brown_out": OCC_RESET_BROWN_OUT, "watchdog": OCC_RESET_WATCHDOG,
                          "software": OCC_RESET_SOFTWARE, "external_pin": OCC_RESET_EXTERNAL_PIN, "lockup": OCC_RESET_LOCKUP,
                          "low_power": OCC_RESET_LOW_POWER]
            firmware.start(at: now, cause: causes[cause] ?? OCC_RESET_UNKNOWN)
        }
    }
}
