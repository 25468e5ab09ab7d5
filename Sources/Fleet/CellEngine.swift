import CFirmware
import Codecs
import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink
import SimKernel

/// One radio cell of a fleet on one virtual clock: the sensors (firmware core and Class A MAC each), their sites'
/// vehicles, other transmitters, the channel engine, the network server and the application that keeps what
/// residents are shown. Deterministic for a seed; events at the same instant go in a fixed order.
final class CellEngine {
    /// A sensor in the loop.
    final class Sensor {
        let local: Int
        let plan: FleetPlan.Sensor
        let firmware: FirmwareDevice
        let mac: ClassAMAC
        let settings: SensorSettings
        var ledger = EnergyLedger()
        var scheduled: Int64 = .max
        var off = false
        var raw = false
        var delivered = 0
        var losses: [Int]
        // Fair use and the duty-cycle audit.
        var day: Int64 = 0
        var dayAirtime: Nanoseconds = 0
        var maxDayAirtime: Nanoseconds = 0
        var dayDownlinks = 0
        var maxDayDownlinks = 0
        var audit = SlidingHourAudit()

        init(local: Int, plan: FleetPlan.Sensor, firmware: FirmwareDevice, mac: ClassAMAC, settings: SensorSettings) {
            self.local = local; self.plan = plan; self.firmware = firmware; self.mac = mac; self.settings = settings
            losses = Array(repeating: 0, count: LossCause.allCases.count)
        }
    }

    /// A synthetic transmitter of the background load.
    struct Transmitter {
        var channelIndex: Int
        var interval: Int64
        var exponential: Bool
        var jitter: Int64
        var frequencies: [Int64]
        var sf: Int
        var bw: LoRaBandwidth
        var airtime: Int64
        var power: Double
        var payload: Int
        var traffic: SeededRandom
        var pick: SeededRandom
    }

    /// A site's truth and the app's view of it.
    final class Site {
        let global: Int
        let spec: SiteSpec
        var traffic: SiteTraffic
        var queue: [SiteEvent] = []
        var next = 0
        var horizon: Int64 = 0
        var scriptNext = 0
        var bayDevice: [Int]
        var gateDevice: [Int]
        var trueBay: [Bool]
        var shownBay: [Bool]
        var pendingSince: [Int64]
        var trueIn: [Int], trueOut: [Int]
        var shownIn: [Int], shownOut: [Int]
        /// Per gate and lane (index gate × 2 + lane): vehicles passed but not counted yet (their times), and
        /// vehicles counted (time, the count that includes them) that the app has not shown yet.
        var uncounted: [[Int64]]
        var counted: [[(at: Int64, count: Int)]]
        var lastT: Int64 = 0
        var result: SiteResult
        var trueBays = 0
        var shownBays = 0

        init(global: Int, spec: SiteSpec, traffic: SiteTraffic, bayDevice: [Int], gateDevice: [Int], result: SiteResult) {
            self.global = global; self.spec = spec; self.traffic = traffic; self.bayDevice = bayDevice; self.gateDevice = gateDevice
            self.result = result
            let b = spec.bays, g = spec.gates
            trueBay = Array(repeating: false, count: b); shownBay = Array(repeating: false, count: b)
            pendingSince = Array(repeating: -1, count: b)
            trueIn = Array(repeating: 0, count: g); trueOut = Array(repeating: 0, count: g)
            shownIn = Array(repeating: 0, count: g); shownOut = Array(repeating: 0, count: g)
            uncounted = Array(repeating: [], count: 2 * g); counted = Array(repeating: [], count: 2 * g)
        }

        /// Vehicles on site: occupied bays, or (a site counted at the gate only) in − out.
        var trueOccupancy: Int { spec.bays > 0 ? trueBays : max(0, trueIn.reduce(0, +) - trueOut.reduce(0, +)) }
        var shownOccupancy: Int { spec.bays > 0 ? shownBays : max(0, shownIn.reduce(0, +) - shownOut.reduce(0, +)) }
    }

    let scenario: FleetScenario
    let plan: FleetPlan
    let cell: FleetPlan.Cell
    let replica: Int
    let seed: UInt64
    let duration: Int64
    let channel: RadioChannel
    let server: NetworkServer
    private(set) var sensors: [Sensor] = []
    private var transmitters: [Transmitter] = []
    private var sites: [Site] = []
    /// Sensor local index → (site local index, slot).
    private var siteOf: [Int] = []
    private var heap = TimeHeap(capacity: 1024)
    private var now: Int64 = 0
    private var events = 0
    private var backgroundSent = 0
    private var faultEvents: [(at: Int64, start: Bool, sites: [Int]?)] = []
    /// Captured transmissions to replay, in time order, and the next one.
    private var traced: [Transmission] = []
    private var tracedNext = 0
    private let bandOf: [Int64: Int]
    private let bandLimit: [Double]
    private var siteBase: Int { sensors.count }
    private var transmitterBase: Int { sensors.count + sites.count }
    private var faultBase: Int { sensors.count + sites.count + transmitters.count }
    private var tracedID: Int { faultBase + faultEvents.count }

    init(scenario sc: FleetScenario, plan: FleetPlan, cell: FleetPlan.Cell, replica: Int, duration: Int64) {
        scenario = sc
        self.plan = plan
        self.cell = cell
        self.replica = replica
        self.duration = duration
        // Each replica its own seed, derived through the stream mixer: seed + replica would make replica 1 of seed 1
        // the run of seed 2.
        seed = replica == 0 ? sc.seed : SeededRandom.derive(seed: sc.seed, 0x5245_504C, UInt64(replica))
        var cseed = SeededRandom.stream(seed: seed, 0xCE11, UInt64(cell.index))
        channel = RadioChannel(model: sc.model, gateways: sc.gateways, seed: cseed.next())
        var ns = NetworkServer.Config()
        ns.latency = sc.network.latency
        ns.adr = sc.network.adr
        ns.adrMargindB = sc.network.adrMargindB
        ns.crypto = sc.network.crypto
        ns.gatewayRX1PowerdBm = sc.network.rx1PowerdBm
        ns.gatewayRX2PowerdBm = sc.network.rx2PowerdBm
        server = NetworkServer(config: ns, region: sc.region, channel: channel, seed: seed)
        var bands: [Int64: Int] = [:]
        let freqs = Set(sc.region.uplinkChannels.map(\.frequencyHz) + sc.region.defaultChannels.map(\.frequencyHz) + [sc.region.rx2FrequencyHz])
        for f in freqs { bands[f] = sc.subBands.firstIndex { $0.contains(f) } ?? -1 }
        bandOf = bands
        bandLimit = sc.subBands.map { $0.dutyCycleDenominator <= 1 ? 1 : 1 / Double($0.dutyCycleDenominator) }
        build()
    }

    // MARK: - Building

    private func key(for s: FleetPlan.Sensor) -> AES128Key {
        if let k = scenario.keys?.appKey(for: s.devEUI) { return k }
        // Generated root key: from the seed of the scenario (not the replica), never printed.
        var r = SeededRandom.stream(seed: scenario.seed, 0x4E7, UInt64(s.fleetID))
        return (try? AES128Key(bytes: r.bytes(16))) ?? CellEngine.fallbackKey
    }

    private static let fallbackKey: AES128Key = {
        guard let k = try? AES128Key(bytes: Array(repeating: 0x2B, count: 16)) else { preconditionFailure("a 16-byte key was refused") }
        return k
    }()

    private func build() {
        let sc = scenario
        // Sensors first on the channel (their channel index is their local index), then the background.
        for (local, id) in cell.sensors.enumerated() {
            let p = plan.sensors[id]
            let st = sc.settings(p.kind)
            let power = sc.region.txPowerdBm(index: 0) ?? sc.region.maxEIRPdBm
            channel.addDevice(x: p.x, y: p.y, antennaGaindBi: st.antennaGaindBi, maxTxPowerdBm: power)
            let activation: Activation
            if st.otaa {
                activation = .otaa(devEUI: p.devEUI, joinEUI: EUI64(0x70B3_D57E_D000_0000), appKey: key(for: p))
            } else {
                var r = SeededRandom.stream(seed: sc.seed, 0xAB9, UInt64(p.fleetID))
                let nwk = (try? AES128Key(bytes: r.bytes(16))) ?? CellEngine.fallbackKey
                let app = (try? AES128Key(bytes: r.bytes(16))) ?? CellEngine.fallbackKey
                activation = .abp(devAddr: DevAddr(((0x13 & 0x7F) << 25) | UInt32(p.fleetID & 0x1FF_FFFF)), nwkSKey: nwk, appSKey: app)
            }
            var ms = MACSettings(region: sc.region, subBands: sc.subBands, dutyCyclePolicy: st.dutyCycle, adr: st.adr,
                                 dataRate: st.dataRate, txPowerIndex: st.txPowerIndex)
            ms.crypto = sc.network.crypto
            let mac = ClassAMAC(device: local, activation: activation, settings: ms, seed: SeededRandom.derive(seed: seed, 0x4D41_43, UInt64(p.fleetID)))
            let fw = FirmwareDevice(kind: p.kind == .gate ? OCC_KIND_GATE : OCC_KIND_BAY, devEUI: p.devEUI.bigEndianBytes)
            let s = Sensor(local: local, plan: p, firmware: fw, mac: mac, settings: st)
            sensors.append(s)
            server.register(device: local, fleetID: p.fleetID, activation: activation, x: p.x, y: p.y, seed: seed)
            mac.air = server
            wire(s)
        }
        // Sites.
        var siteIndex: [Int: Int] = [:]
        for (li, gi) in cell.sites.enumerated() {
            siteIndex[gi] = li
            let spec = sc.sites[gi]
            let ids = plan.siteSensors[gi]
            let local = Dictionary(uniqueKeysWithValues: cell.sensors.enumerated().map { ($1, $0) })
            var bayDevice: [Int] = [], gateDevice: [Int] = []
            for id in ids {
                guard let l = local[id] else { continue }
                if plan.sensors[id].kind == .bay { bayDevice.append(l) } else { gateDevice.append(l) }
            }
            sites.append(Site(global: gi, spec: spec,
                              traffic: SiteTraffic(profile: spec.traffic, startUnixSeconds: sc.startUnixSeconds, seed: seed, site: gi),
                              bayDevice: bayDevice, gateDevice: gateDevice,
                              result: SiteResult(replica: replica, name: spec.name, bays: spec.bays, gates: spec.gates, capacity: spec.capacity,
                                                 visits: 0, changes: 0, staleness: DurationHistogram(), superseded: 0, pending: 0, missed: 0,
                                                 errorIntegral: 0, errorMax: 0, duration: duration,
                                                 timeline: [], sampleEvery: max(Time.minute, duration / 200))))
        }
        siteOf = Array(repeating: -1, count: sensors.count)
        for (li, s) in sites.enumerated() { for d in s.bayDevice + s.gateDevice { siteOf[d] = li } }
        // Background transmitters.
        var tracedChannel: [Int: Int] = [:]   // (device × scale + copy) → channel index
        for b in cell.background {
            let bg = plan.background[b]
            if let t = bg.traced {
                tracedChannel[t.device * (sc.traceBackground?.scale ?? 1) + t.copy] = channel.addDevice(x: bg.x, y: bg.y)
                continue
            }
            let g = sc.background[bg.group]
            let ci = channel.addDevice(x: bg.x, y: bg.y, maxTxPowerdBm: g.txPowerdBm)
            let (sf, bw): (Int, LoRaBandwidth)
            switch g.radio {
            case .fixed(let s, let w): (sf, bw) = (s, w)
            case .random(let sfs, let w):
                var r = SeededRandom.stream(seed: seed, 0xB64, UInt64(bg.group), UInt64(bg.index))
                (sf, bw) = (sfs[Int(r.next() % UInt64(sfs.count))], w)
            case .auto(let margin, let w):
                var chosen = 12
                if let loss = channel.links(device: ci).map(\.lossdB).min() {
                    for s in 7...12 where g.txPowerdBm - loss >= sc.model.receiver.sensitivitydBm(sf: s, bandwidth: w) + margin { chosen = s; break }
                }
                (sf, bw) = (chosen, w)
            }
            let m = LoRaModulation(spreadingFactor: sf, bandwidth: bw, codingRate: g.codingRate)
            transmitters.append(Transmitter(channelIndex: ci, interval: g.traffic.interval, exponential: g.traffic.distribution == .exponential,
                                            jitter: g.traffic.jitter, frequencies: g.frequencies, sf: sf, bw: bw,
                                            airtime: AirtimeCalculator.loraUnchecked(m, payloadBytes: g.traffic.payloadBytes).nanoseconds,
                                            power: g.txPowerdBm, payload: g.traffic.payloadBytes,
                                            traffic: SeededRandom.stream(seed: seed, 0xB65, UInt64(bg.group), UInt64(bg.index)),
                                            pick: SeededRandom.stream(seed: seed, 0xB66, UInt64(bg.group), UInt64(bg.index))))
        }
        // Captured traffic: every transmission of the cell's traced copies, in time order, from the scenario's start.
        if let trace = sc.traceBackground, !tracedChannel.isEmpty {
            let index = Dictionary(uniqueKeysWithValues: trace.devices.enumerated().map { ($1, $0) })
            let t0 = trace.transmissions.map(\.time).min() ?? 0
            for c in 0..<trace.scale {
                var shift = SeededRandom.stream(seed: seed, 0x7AC1, UInt64(c))
                let offset = c == 0 ? 0 : Int64(shift.nextDouble() * Double(Time.hour))
                for t in trace.transmissions {
                    guard let d = index[t.device], let ch = tracedChannel[d * trace.scale + c],
                          let bw = LoRaBandwidth.allCases.first(where: { Int($0.hertz.rounded()) == t.bandwidthHz }) else { continue }
                    let m = LoRaModulation(spreadingFactor: t.spreadingFactor, bandwidth: bw)
                    let at = t.time - t0 + offset
                    guard at >= 0, at <= duration, (0...255).contains(t.bytes) else { continue }
                    traced.append(Transmission(device: ch, start: at, airtime: AirtimeCalculator.loraUnchecked(m, payloadBytes: t.bytes).nanoseconds,
                                               frequencyHz: t.frequencyHz, spreadingFactor: t.spreadingFactor, bandwidth: bw,
                                               txPowerdBm: sc.region.txPowerdBm(index: 0) ?? sc.region.maxEIRPdBm, payloadBytes: t.bytes, tag: -1))
                }
            }
            traced.sort { ($0.start, $0.device) < ($1.start, $1.device) }
        }
        // Faults.
        for f in sc.faults {
            switch f {
            case .gatewayDown(let g, let from, let to):
                if cell.gateways.contains(g) { server.gatewayDown(g, from: from, to: to) }
            case .latency(let from, let to, let l):
                server.latency(from: from, to: to, l)
            case .powerCut(let at, let d, let which):
                let mine = which.map { $0.compactMap { siteIndex[$0] } }
                if let m = mine, m.isEmpty { continue }
                faultEvents.append((at, true, mine))
                faultEvents.append((at + d, false, mine))
            }
        }
        // The application.
        server.onApplicationUplink = { [unowned(unsafe) self] device, port, payload, _, end in application(device: device, port: port, payload, at: end) }
        server.onUplinkOutcome = { [unowned(unsafe) self] o, heard in
            let d = o.transmission.device
            guard d < sensors.count, !heard else { return }
            sensors[d].losses[(o.loss ?? .noGateway).index] += 1
        }
        server.onFrameAccepted = { [unowned(unsafe) self] device, repeated in
            if !repeated, device < sensors.count { sensors[device].delivered += 1 }
        }
    }

    /// The closures between firmware, MAC and engine. The engine owns every sensor and outlives the run, so the
    /// captures are unowned(unsafe): no reference counting on the hot path.
    private func wire(_ s: Sensor) {
        let st = s.settings
        let energy = st.energy
        let fw = s.firmware, mac = s.mac
        fw.radioSend = { [unowned(unsafe) self, unowned(unsafe) mac] port, bytes, _ in mac.send(fport: port, payload: bytes, confirmed: st.confirmed, now: now) }
        fw.payloadBudget = { [unowned(unsafe) mac] in mac.payloadBudget }
        fw.batteryMillivolts = { [unowned(unsafe) self, unowned(unsafe) s] in
            st.battery.millivolts(usedMicrocoulombs: s.ledger.totalMicrocoulombs + energy.sleepMicroamps * Double(now) * 1e-9)
        }
        fw.temperatureTenths = { nil }
        fw.onWake = { [unowned(unsafe) s] in s.ledger.mcu(energy.mcuActivePerEvent, milliamps: energy.mcuActiveMilliamps) }
        mac.onTxDone = { [unowned(unsafe) fw] start, end in fw.txDone(start: start, end: end, at: end) }
        mac.onApplicationDownlink = { [unowned(unsafe) self, unowned(unsafe) fw, unowned(unsafe) s] port, bytes in
            s.dayDownlinks += 1
            fw.downlink(port: port, bytes, at: now)
        }
        mac.onRadioTime = { [unowned(unsafe) s] rx, ns, power in
            if rx { s.ledger.rx(ns, milliamps: energy.rxMilliamps) } else { s.ledger.tx(ns, milliamps: energy.txMilliamps(powerIndex: power)) }
        }
        mac.batteryLevel = { 254 }
        mac.onTransmit = { [unowned(unsafe) self, unowned(unsafe) s] r in audit(s, r) }
    }

    /// Fair use (airtime per day) and the duty-cycle audit: the airtime in the same sub-band over the hour before
    /// each transmission's end, against the sub-band's limit (ETSI EN 300 220-2 counts over one hour).
    private func audit(_ s: Sensor, _ r: TransmitRecord) {
        let day = r.start / Time.day
        if day != s.day {
            s.maxDayAirtime = max(s.maxDayAirtime, s.dayAirtime)
            s.maxDayDownlinks = max(s.maxDayDownlinks, s.dayDownlinks)
            s.day = day
            s.dayAirtime = 0
            s.dayDownlinks = 0
        }
        s.dayAirtime += r.airtime
        let band = bandOf[r.frequencyHz] ?? (scenario.subBands.firstIndex { $0.contains(r.frequencyHz) } ?? -1)
        guard band >= 0 else { return }
        s.audit.record(start: r.start, airtime: r.airtime, band: band, limit: bandLimit[band])
    }

    // MARK: - The application

    private func application(device: Int, port: UInt8, _ payload: [UInt8], at t: Int64) {
        guard device < sensors.count, siteOf[device] >= 0, let m = try? OccupancyCodec.decode(port: port, payload) else { return }
        let si = siteOf[device]
        let p = sensors[device].plan
        integrate(si, to: t)
        switch (p.kind, m) {
        case (.bay, .bayState(let b)): showBay(si, p.slot, b.occupied, at: t)
        case (.bay, .status(let st)): showBay(si, p.slot, st.occupied, at: t)
        case (.gate, .gateCounts(let g)): showGate(si, p.slot, Int(g.countIn), Int(g.countOut), at: t)
        case (.gate, .status(let st)): showGate(si, p.slot, Int(st.countIn), Int(st.countOut), at: t)
        default: break
        }
        noteError(si)
    }

    private func showBay(_ si: Int, _ b: Int, _ occupied: Bool, at t: Int64) {
        let site = sites[si]
        guard b < site.shownBay.count else { return }
        if site.shownBay[b] != occupied { site.shownBays += occupied ? 1 : -1 }
        site.shownBay[b] = occupied
        let since = sites[si].pendingSince[b]
        if since >= 0, occupied == sites[si].trueBay[b] {
            sites[si].result.staleness.add(t - since)
            sites[si].pendingSince[b] = -1
        }
    }

    private func showGate(_ si: Int, _ g: Int, _ countIn: Int, _ countOut: Int, at t: Int64) {
        guard g < sites[si].shownIn.count else { return }
        sites[si].shownIn[g] = max(sites[si].shownIn[g], countIn)
        sites[si].shownOut[g] = max(sites[si].shownOut[g], countOut)
        for lane in 0..<2 {
            let shown = lane == 0 ? sites[si].shownIn[g] : sites[si].shownOut[g]
            let k = 2 * g + lane
            var n = 0
            for c in sites[si].counted[k] {
                guard c.count <= shown else { break }
                sites[si].result.staleness.add(t - c.at)
                n += 1
            }
            if n > 0 { sites[si].counted[k].removeFirst(n) }
        }
    }

    private func integrate(_ si: Int, to t: Int64) {
        // Samples for the timeline: every boundary passed since the last change saw the state it left.
        let every = sites[si].result.sampleEvery
        if every > 0 {
            while Int64(sites[si].result.timeline.count + 1) * every <= t {
                sites[si].result.timeline.append([sites[si].shownOccupancy, sites[si].trueOccupancy])
            }
        }
        let dt = t - sites[si].lastT
        if dt > 0 {
            let err = abs(sites[si].shownOccupancy - sites[si].trueOccupancy)
            sites[si].result.errorIntegral += Double(err) * Double(dt)
            sites[si].lastT = t
        }
    }

    private func noteError(_ si: Int) {
        let err = abs(sites[si].shownOccupancy - sites[si].trueOccupancy)
        if err > sites[si].result.errorMax { sites[si].result.errorMax = err }
    }

    /// A real change on site: the truth moves, and a clock starts until the app shows it.
    private func truth(_ si: Int, _ e: SiteEvent, at t: Int64) {
        integrate(si, to: t)
        if let g = SiteEvent.gateIndex(e.target) {
            guard g < sites[si].trueIn.count, case .lane(let lane, true) = e.stimulus else { return }
            sites[si].result.changes += 1
            if lane == 0 { sites[si].trueIn[g] += 1 } else { sites[si].trueOut[g] += 1 }
            sites[si].uncounted[2 * g + lane].append(t)
        } else {
            let b = e.target
            guard b < sites[si].trueBay.count, case .detect(let on) = e.stimulus, sites[si].trueBay[b] != on else { return }
            sites[si].result.changes += 1
            sites[si].trueBay[b] = on
            sites[si].trueBays += on ? 1 : -1
            if sites[si].pendingSince[b] >= 0 {
                // The previous change was never shown: it is overtaken by this one.
                sites[si].result.superseded += 1
                sites[si].pendingSince[b] = -1
            }
            if sites[si].shownBay[b] != on { sites[si].pendingSince[b] = t } else { sites[si].result.staleness.add(0) }
        }
        noteError(si)
    }

    // MARK: - Running

    private func nextTime(_ s: Sensor) -> Int64? {
        guard !s.off else { return nil }
        var t = s.mac.nextEventTime ?? .max
        if let ft = s.firmware.timerAt { t = min(t, max(ft, now)) }
        return t == .max ? nil : t
    }

    private func reschedule(_ s: Sensor) {
        guard let t = nextTime(s) else { s.scheduled = .max; return }
        if t != s.scheduled {
            s.scheduled = t
            heap.push(t, Int32(s.local))
        }
    }

    private func provision(_ s: Sensor, at t: Int64) {
        let st = s.settings
        s.firmware.provision(intervalSeconds: st.reportIntervalSeconds, periodMinutes: st.heartbeatMinutes,
                             debounceCentiseconds: st.debounceCentiseconds, holdoffSeconds: st.holdoffSeconds,
                             capacity: UInt32(clamping: scenario.sites[s.plan.site].capacity), at: t)
    }

    /// Runs the cell to the end of the scenario. `progress` is told the share of virtual time done and the uplinks
    /// sent (transmissions, retransmissions included), now and then.
    func run(progress: ((Double, Int) -> Void)? = nil) -> CellResult {
        // Sensors power up over the scenario's spread (installation is not simultaneous), provisioned at the factory.
        for s in sensors {
            var r = SeededRandom.stream(seed: seed, 0x57A, UInt64(s.plan.fleetID))
            let t = Int64(r.nextDouble() * Double(scenario.powerUpSpread))
            s.scheduled = t
            heap.push(t, Int32(s.local))
        }
        var started = Array(repeating: false, count: sensors.count)
        for (i, site) in sites.enumerated() {
            site.horizon = Time.day
            site.queue = dayOfEvents(site)
            if let first = site.queue.first { heap.push(first.at, Int32(siteBase + i)) }
        }
        for i in transmitters.indices {
            // The first packet of each transmitter comes at a uniform time within its first interval.
            let first = Int64(Double(transmitters[i].interval) * transmitters[i].traffic.nextDouble())
            heap.push(first, Int32(transmitterBase + i))
        }
        for (i, f) in faultEvents.enumerated() { heap.push(f.at, Int32(faultBase + i)) }
        if let first = traced.first { heap.push(first.start, Int32(tracedID)) }

        var nextProgress = duration / 100
        while let t = heap.minTime, let id32 = heap.minID, t <= duration {
            heap.pop()
            let id = Int(id32)
            if t >= nextProgress, let progress {
                progress(Double(t) / Double(duration), sensors.reduce(0) { $0 + $1.mac.stats.uplinks + $1.mac.stats.retransmissions })
                nextProgress = t + duration / 100
            }
            channel.advance(to: t)
            now = t
            if id < siteBase {
                let s = sensors[id]
                guard s.scheduled == t else { continue }   // a stale entry
                events += 1
                s.scheduled = .max
                if !started[id] {
                    started[id] = true
                    s.firmware.start(at: t, cause: OCC_RESET_POWER_ON)
                    provision(s, at: t)
                } else {
                    s.mac.advance(to: t)
                    if let ft = s.firmware.timerAt, ft <= t { s.firmware.timer(at: t) }
                }
                reschedule(s)
            } else if id < transmitterBase {
                events += 1
                siteEvent(id - siteBase, at: t)
            } else if id < faultBase {
                events += 1
                background(id - transmitterBase, at: t)
            } else if id < tracedID {
                events += 1
                fault(faultEvents[id - faultBase], at: t)
            } else {
                events += 1
                while tracedNext < traced.count, traced[tracedNext].start <= t {
                    channel.transmit(traced[tracedNext])
                    backgroundSent += 1
                    tracedNext += 1
                }
                if tracedNext < traced.count { heap.push(traced[tracedNext].start, Int32(tracedID)) }
            }
        }
        channel.advance(to: duration)
        now = duration
        return finish()
    }

    private func siteEvent(_ si: Int, at t: Int64) {
        let e = sites[si].queue[sites[si].next]
        sites[si].next += 1
        if e.real { truth(si, e, at: t) }
        if let g = SiteEvent.gateIndex(e.target) {
            if g < sites[si].gateDevice.count {
                let s = sensors[sites[si].gateDevice[g]]
                if case .lane(let lane, let active) = e.stimulus, lane >= 0 && lane < 2 {
                    var before = 0
                    if !s.off {
                        before = lane == 0 ? Int(s.firmware.counters.countIn) : Int(s.firmware.counters.countOut)
                        s.firmware.vehicle(lane: lane, active: active, at: t)
                        reschedule(s)
                    }
                    if !active {
                        // The pulse ended: the gate counted the vehicle (its count went up) or missed it.
                        let after = s.off ? before : (lane == 0 ? Int(s.firmware.counters.countIn) : Int(s.firmware.counters.countOut))
                        let k = 2 * g + lane
                        if !sites[si].uncounted[k].isEmpty {
                            let at = sites[si].uncounted[k].removeFirst()
                            if after > before { sites[si].counted[k].append((at, after)) } else { sites[si].result.missed += 1 }
                        }
                    }
                }
            }
        } else if e.target < sites[si].bayDevice.count {
            let s = sensors[sites[si].bayDevice[e.target]]
            if case .detect(let on) = e.stimulus {
                s.raw = on
                if !s.off {
                    s.firmware.detection(on, at: t)
                    reschedule(s)
                }
            }
        }
        let site = sites[si]
        if site.next >= site.queue.count {
            // The next day of vehicles.
            while site.next >= site.queue.count && site.horizon < duration {
                site.horizon += Time.day
                site.queue = dayOfEvents(site)
                site.next = 0
            }
            if site.next >= site.queue.count { return }
        }
        heap.push(sites[si].queue[sites[si].next].at, Int32(siteBase + si))
    }

    /// The site's generated visitors up to its horizon, with its scripted events merged in (scripted ones first at
    /// the same instant).
    private func dayOfEvents(_ site: Site) -> [SiteEvent] {
        let generated = site.traffic.allEvents(until: site.horizon)
        let script = site.spec.script
        var mine: [SiteEvent] = []
        while site.scriptNext < script.count, script[site.scriptNext].at <= site.horizon {
            mine.append(script[site.scriptNext])
            site.scriptNext += 1
        }
        guard !mine.isEmpty else { return generated }
        var out: [SiteEvent] = []
        out.reserveCapacity(generated.count + mine.count)
        var i = 0, j = 0
        while i < mine.count || j < generated.count {
            if j >= generated.count || (i < mine.count && mine[i].at <= generated[j].at) { out.append(mine[i]); i += 1 }
            else { out.append(generated[j]); j += 1 }
        }
        return out
    }

    private func background(_ i: Int, at t: Int64) {
        var tx = transmitters[i]
        let f = tx.frequencies[Int(tx.pick.next() % UInt64(max(1, tx.frequencies.count)))]
        channel.transmit(Transmission(device: tx.channelIndex, start: t, airtime: tx.airtime, frequencyHz: f, spreadingFactor: tx.sf,
                                      bandwidth: tx.bw, txPowerdBm: tx.power, payloadBytes: tx.payload, tag: -1))
        backgroundSent += 1
        let next: Int64
        if tx.exponential {
            next = t + max(1, Int64(tx.traffic.nextExponential() * Double(tx.interval)))
        } else {
            let j = tx.jitter > 0 ? Int64((tx.traffic.nextDouble() * 2 - 1) * Double(tx.jitter)) : 0
            next = t + max(1, tx.interval + j)
        }
        transmitters[i] = tx
        heap.push(next, Int32(transmitterBase + i))
    }

    private func fault(_ f: (at: Int64, start: Bool, sites: [Int]?), at t: Int64) {
        let which = f.sites ?? Array(sites.indices)
        for si in which {
            for d in sites[si].bayDevice + sites[si].gateDevice {
                let s = sensors[d]
                if f.start {
                    s.off = true
                    s.scheduled = .max
                } else if s.off {
                    // Power is back: the firmware starts from its storage, the MAC lost its session (OTAA rejoins).
                    s.off = false
                    s.mac.reset(at: t)
                    s.firmware.start(at: t, cause: OCC_RESET_POWER_ON)
                    if s.plan.kind == .bay && s.raw { s.firmware.detection(true, at: t) }
                    reschedule(s)
                }
            }
        }
    }

    private func finish() -> CellResult {
        var devices: [DeviceResult] = []
        devices.reserveCapacity(sensors.count)
        for s in sensors {
            s.maxDayAirtime = max(s.maxDayAirtime, s.dayAirtime)
            s.maxDayDownlinks = max(s.maxDayDownlinks, s.dayDownlinks)
            let closed = s.ledger.closed(over: duration, profile: s.settings.energy)
            let st = s.mac.stats
            var losses: [String: Int] = [:]
            for c in LossCause.allCases where s.losses[c.index] > 0 { losses[c.rawValue] = s.losses[c.index] }
            devices.append(DeviceResult(replica: replica, fleetID: s.plan.fleetID, site: scenario.sites[s.plan.site].name, kind: s.plan.kind.rawValue,
                                        devEUI: s.plan.devEUI.description, x: s.plan.x, y: s.plan.y, framesSent: st.uplinks,
                                        framesDelivered: s.delivered, retransmissions: st.retransmissions, joinRequests: st.joinRequests,
                                        joinAccepts: st.joinAccepts, joined: s.mac.joined, downlinks: st.downlinks,
                                        confirmedFailures: st.confirmedFailures, losses: losses, airtime: st.airtime,
                                        maxDayAirtime: s.maxDayAirtime, maxDayDownlinks: s.maxDayDownlinks, maxHourShare: s.audit.maxShare,
                                        dutyCycleViolations: s.audit.violations, firmwareRetries: Int(s.firmware.retries),
                                        finalDataRate: s.mac.dataRate, finalTxPowerIndex: s.mac.txPowerIndex,
                                        averageMicroamps: closed.totalMicrocoulombs / (Double(duration) * 1e-9),
                                        batteryLifeYears: s.settings.battery.lifeYears(microcoulombs: closed.totalMicrocoulombs, over: duration)))
        }
        var siteResults: [SiteResult] = []
        for si in sites.indices {
            integrate(si, to: duration)
            var r = sites[si].result
            r.visits = sites[si].traffic.visits
            r.pending = sites[si].pendingSince.filter { $0 >= 0 }.count
            for k in sites[si].counted.indices { r.pending += sites[si].counted[k].count + sites[si].uncounted[k].count }
            siteResults.append(r)
        }
        var gateways = scenario.gateways.map { GatewayResult(name: $0.name, received: 0, losses: [:], downlinks: 0, downlinkAirtime: 0, dutyCycleRefusals: 0) }
        let losses = channel.gatewayLosses
        for g in cell.gateways {
            gateways[g].received = channel.gatewayReceived[g]
            for (c, n) in losses[g] { gateways[g].losses[c.rawValue] = n }
            let d = server.gatewayDownlinks[g]
            gateways[g].downlinks = d.downlinks
            gateways[g].downlinkAirtime = d.airtime
            gateways[g].dutyCycleRefusals = d.dutyCycleRefusals
        }
        let sensorsDelivered = sensors.count   // channel.deliveredPerDevice covers every transmitter: count the background's
        var bgDelivered = 0
        for i in sensorsDelivered..<channel.deviceCount { bgDelivered += channel.deliveredPerDevice[i] }
        return CellResult(replica: replica, cell: cell.index, seed: seed, devices: devices, sites: siteResults, gateways: gateways,
                          network: server.counters, backgroundTransmissions: backgroundSent, backgroundDelivered: bgDelivered, events: events)
    }
}
