import Codecs
import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink

/// A recycling centre (or any busy site): where it is, its bays and gate counters, its visitors.
public struct SiteSpec: Sendable {
    public var name: String
    public var x: Double
    public var y: Double
    /// Bay sensors stand within this radius of the site's position (metres).
    public var spread: Double
    /// Visits, opening hours, dwell times, bays, gates, time zone.
    public var traffic: TrafficProfile
    /// Places residents are told about: the bays, or a stated capacity for sites counted at the gate only.
    public var capacity: Int
    /// Scripted events on top of (or instead of) the generated visitors: a known morning, a test case.
    public var script: [SiteEvent] = []
    public var bays: Int { traffic.bays }
    public var gates: Int { traffic.gates }
}

/// How every sensor of one kind is set up.
public struct SensorSettings: Sendable {
    public var adr = true
    /// The data rate before ADR moves it (nil: the region's lowest).
    public var dataRate: Int?
    public var txPowerIndex = 0
    public var confirmed = false
    /// The firmware's report policy (PAYLOAD.md section 6), provisioned at the factory.
    public var reportIntervalSeconds: UInt32 = 60
    public var heartbeatMinutes: UInt32 = 360
    public var debounceCentiseconds: UInt32 = 50
    public var holdoffSeconds: UInt32 = 5
    /// OTAA (joins, and joins again after a reset) or ABP (a fixed session).
    public var otaa = true
    /// Antenna gain of the installed sensor, losses included (a bay sensor under asphalt loses several dB).
    public var antennaGaindBi = 0.0
    public var energy: EnergyProfile = .rak3172
    public var battery: Battery = .lithiumAA
    public var dutyCycle: DutyCyclePolicy?
    public init() {}
}

/// The network server's settings.
public struct NetworkSettings: Sendable {
    public var latency: Nanoseconds = 200 * Time.millisecond
    public var adr = true
    public var adrMargindB = 15.0
    /// Encrypt and sign (off for scale runs: frames keep their layout, MIC zero; the cost is measured apart).
    public var crypto = true
    public var rx1PowerdBm = 14.0
    public var rx2PowerdBm = 27.0
    public init() {}
}

/// One transmission from a captured trace (times are Unix nanoseconds; replayed from the scenario's start).
public struct TraceTransmission: Sendable, Equatable {
    public var device: String
    public var time: Nanoseconds
    public var frequencyHz: Int64
    public var spreadingFactor: Int
    public var bandwidthHz: Int
    public var bytes: Int
    public init(device: String, time: Nanoseconds, frequencyHz: Int64, spreadingFactor: Int, bandwidthHz: Int, bytes: Int) {
        self.device = device; self.time = time; self.frequencyHz = frequencyHz; self.spreadingFactor = spreadingFactor
        self.bandwidthHz = bandwidthHz; self.bytes = bytes
    }
}

/// Captured traffic as other transmitters: each captured device `scale` times, the copies placed at random in the
/// area of the gateways and shifted in time by up to an hour.
public struct TraceBackground: Sendable {
    public var transmissions: [TraceTransmission]
    public var scale: Int
    public init(transmissions: [TraceTransmission], scale: Int) { self.transmissions = transmissions; self.scale = scale }

    /// The captured devices, in order of first appearance.
    public var devices: [String] {
        var seen = Set<String>(), out: [String] = []
        for t in transmissions where seen.insert(t.device).inserted { out.append(t.device) }
        return out
    }
}

/// Something going wrong on purpose.
public enum FleetFault: Sendable, Equatable {
    /// A gateway out of service from `from` to `to`.
    case gatewayDown(gateway: Int, from: Nanoseconds, to: Nanoseconds)
    /// The network server answers late.
    case latency(from: Nanoseconds, to: Nanoseconds, latency: Nanoseconds)
    /// The sensors of these sites (all when nil) lose power at `at` and start again `duration` later: each rejoins.
    case powerCut(at: Nanoseconds, duration: Nanoseconds, sites: [Int]?)
}

/// A fleet scenario: sites and their sensors with the firmware in the loop, gateways, a network server, other
/// LoRa traffic, faults and the assertions CI checks. YAML; see Fixtures/scenarios/lorient.yaml.
public struct FleetScenario: Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64
    public var duration: Nanoseconds
    /// Virtual time 0, seconds since the Unix epoch (sites' opening hours are in their local time).
    public var startUnixSeconds: Int64
    /// Sensors power up at uniform random times over this span from time 0 (installation is not simultaneous).
    public var powerUpSpread: Nanoseconds
    public var region: RegionParameters
    public var subBands: [SubBand]
    public var model: ChannelModel
    public var gateways: [GatewaySpec]
    public var network: NetworkSettings
    public var sites: [SiteSpec]
    public var bay: SensorSettings
    public var gate: SensorSettings
    /// Other LoRa devices sharing the band (synthetic transmitters, as in channel scenarios).
    public var background: [DeviceGroup]
    public var faults: [FleetFault]
    public var assertions: [FleetAssertion]
    /// Allowed regressions against a baseline report, per metric.
    public var tolerances: [String: Tolerance]
    /// OTAA root keys: nil means generated per device from the seed (never printed).
    public var keys: KeyStore?
    /// A digest of the file, so shards of different scenarios are not merged.
    public var fingerprint: String
    /// Captured traffic replayed as other transmitters (`replay --to simulate:…`).
    public var traceBackground: TraceBackground?

    public var sensorCount: Int { sites.reduce(0) { $0 + $1.bays + $1.gates } }
    public var backgroundCount: Int { background.reduce(0) { $0 + $1.count } }

    public func settings(_ kind: SensorKind) -> SensorSettings { kind == .bay ? bay : gate }

    // MARK: - Reading

    /// Whether a YAML document is a fleet scenario (it has `sites`) rather than a channel scenario.
    public static func isFleet(_ doc: DocumentNode) -> Bool { (try? doc.optional("sites")) != nil }

    public static func load(path: String) throws(InputError) -> FleetScenario {
        let doc = try DocumentNode.load(path: path)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try parse(doc, baseDirectory: (path as NSString).deletingLastPathComponent, text: text)
    }

    public static func parse(_ doc: DocumentNode, baseDirectory: String = ".", text: String = "") throws(InputError) -> FleetScenario {
        try doc.allowOnly(["name", "description", "seed", "duration", "start", "region", "subBands", "channel", "gateways", "network",
                           "sites", "devices", "background", "faults", "assertions", "baseline", "keys", "powerUpSpread"])
        let region = try doc.optional("region")?.value(RegionID.parse).parameters ?? RegionID.eu868.parameters
        var subBands = region.subBands
        if let sb = try doc.optional("subBands") {
            let name = try sb.string()
            do { subBands = try region.subBands(table: name) } catch { throw sb.error(error.message) }
        }
        let model = try Scenario.parseModel(try doc.optional("channel"))
        let gateways = try parseGateways(try doc.require("gateways"))
        let network = try parseNetwork(try doc.optional("network"))
        let start = try doc.optional("start").map { n throws(InputError) in try parseStart(n) } ?? 1_774_224_000
        let sites = try parseSites(try doc.require("sites"))
        var bay = SensorSettings(), gate = SensorSettings()
        bay.antennaGaindBi = -5   // flush-mounted in the bay: an assumption, overridable
        if let d = try doc.optional("devices") {
            try d.allowOnly(["bay", "gate"])
            if let b = try d.optional("bay") { bay = try parseSensor(b, base: bay, region: region) }
            if let g = try d.optional("gate") { gate = try parseSensor(g, base: gate, region: region) }
        }
        bay.dutyCycle = bay.dutyCycle ?? (region.dutyCycleEnforced ? .timeCredit : DutyCyclePolicy.none)
        gate.dutyCycle = gate.dutyCycle ?? (region.dutyCycleEnforced ? .timeCredit : DutyCyclePolicy.none)
        var background: [DeviceGroup] = []
        if let b = try doc.optional("background") {
            for (i, g) in try b.array().enumerated() { background.append(try Scenario.parseGroup(g, index: i, region: region)) }
        }
        let duration = try doc.optional("duration")?.duration() ?? Time.day
        guard duration > 0 else { throw try doc.require("duration").error("the duration must be positive") }
        var faults: [FleetFault] = []
        if let f = try doc.optional("faults") {
            for n in try f.array() { faults.append(try parseFault(n, gateways: gateways, sites: sites)) }
        }
        var assertions: [FleetAssertion] = []
        if let a = try doc.optional("assertions") {
            for n in try a.array() {
                do throws(InputError) { assertions.append(try FleetAssertion.parse(try n.string())) } catch { throw n.error(error.message) }
            }
        }
        var tolerances = Tolerance.defaults
        if let b = try doc.optional("baseline") {
            for (key, value) in try b.entries() {
                guard FleetMetric.named(key) != nil else { throw value.error("unknown metric '\(key)'; known: " + FleetMetric.names.joined(separator: ", ")) }
                do throws(InputError) { tolerances[key] = try Tolerance.parse(try value.string()) } catch { throw value.error(error.message) }
            }
        }
        var keys: KeyStore?
        if let k = try doc.optional("keys") {
            let path = try k.string()
            let full = path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
            do throws(InputError) { keys = try KeyStore.load(path: full) } catch { throw k.error(error.message) }
        }
        let spread = try doc.optional("powerUpSpread")?.duration() ?? 10 * Time.minute
        return FleetScenario(name: try doc.optional("name")?.string() ?? "fleet", description: try doc.optional("description")?.string() ?? "",
                             seed: UInt64(try doc.optional("seed")?.int(in: 0...Int.max) ?? 1), duration: duration, startUnixSeconds: start,
                             powerUpSpread: spread,
                             region: region, subBands: subBands, model: model, gateways: gateways, network: network, sites: sites,
                             bay: bay, gate: gate, background: background, faults: faults, assertions: assertions,
                             tolerances: tolerances, keys: keys, fingerprint: fingerprint(text), traceBackground: nil)
    }

    /// FNV-1a over the text: enough to tell scenario files apart, not a security measure.
    static func fingerprint(_ text: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(h, radix: 16)
    }

    static func parseStart(_ n: DocumentNode) throws(InputError) -> Int64 {
        let text = try n.string()
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        // The formatter rolls 30 February over to March: the calendar date is checked first.
        let ymd = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        if ymd.count == 3 {
            let leap = ymd[0] % 4 == 0 && (ymd[0] % 100 != 0 || ymd[0] % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            guard (1...12).contains(ymd[1]), (1...days[ymd[1] - 1]).contains(ymd[2]) else { throw n.error("\(text.prefix(10)) is not a calendar date") }
        }
        guard let d = f.date(from: text) else { throw n.error("start is an ISO 8601 date and time with its offset, e.g. 2026-05-04T00:00:00+02:00") }
        return Int64(d.timeIntervalSince1970)
    }

    static func parseGateways(_ n: DocumentNode) throws(InputError) -> [GatewaySpec] {
        guard n.isMapping else { return try Scenario.parseGateways(n, allowDownlinks: false).0 }
        // A grid of gateways over an area, for large generated fleets.
        try n.allowOnly(["grid"])
        let g = try n.require("grid")
        try g.allowOnly(["from", "to", "spacing", "antennaGain", "demodulators"])
        let (x0, y0) = try Scenario.point(try g.require("from")), (x1, y1) = try Scenario.point(try g.require("to"))
        let spacing = try g.require("spacing").double()
        guard spacing > 0, x1 >= x0, y1 >= y0 else { throw g.error("a grid needs from ≤ to and a positive spacing") }
        // Counts from outside: checked as doubles before they become integers (a huge area does not trap).
        let fx = ((x1 - x0) / spacing).rounded(.down) + 1, fy = ((y1 - y0) / spacing).rounded(.down) + 1
        guard fx.isFinite, fy.isFinite, fx * fy <= 100_000 else {
            throw g.error("\(fx.isFinite && fy.isFinite ? String(format: "%.0f", fx * fy) : "too many") gateways is more than this tool handles (100,000)")
        }
        let nx = Int(fx), ny = Int(fy)
        let gain = try g.optional("antennaGain")?.double() ?? 0
        let demods = try g.optional("demodulators")?.int(in: 1...64) ?? 8
        var out: [GatewaySpec] = []
        for j in 0..<ny {
            for i in 0..<nx {
                out.append(GatewaySpec(name: "gw-\(i)-\(j)", x: x0 + Double(i) * spacing, y: y0 + Double(j) * spacing,
                                       antennaGaindBi: gain, demodulators: demods))
            }
        }
        return out
    }

    static func parseNetwork(_ n: DocumentNode?) throws(InputError) -> NetworkSettings {
        var s = NetworkSettings()
        guard let n else { return s }
        try n.allowOnly(["latency", "adr", "adrMargin", "crypto", "rx1Power", "rx2Power"])
        if let v = try n.optional("latency") { s.latency = try v.duration() }
        if let v = try n.optional("adr") { s.adr = try v.bool() }
        if let v = try n.optional("adrMargin") { s.adrMargindB = try v.double() }
        if let v = try n.optional("crypto") { s.crypto = try v.bool() }
        if let v = try n.optional("rx1Power") { s.rx1PowerdBm = try v.double() }
        if let v = try n.optional("rx2Power") { s.rx2PowerdBm = try v.double() }
        return s
    }

    static func parseSensor(_ n: DocumentNode, base: SensorSettings, region: RegionParameters) throws(InputError) -> SensorSettings {
        try n.allowOnly(["adr", "dataRate", "txPower", "confirmed", "reportInterval", "heartbeat", "debounce", "holdoff",
                         "activation", "antennaGain", "dutyCycle", "batteryCapacity"])
        var s = base
        if let v = try n.optional("adr") { s.adr = try v.bool() }
        if let v = try n.optional("dataRate") {
            let dr = try v.int(in: 0...15)
            guard region.dataRate(dr)?.modulation.lora != nil, region.maxApplicationPayload(dr: dr) != nil else {
                throw v.error("DR\(dr) is not an uplink LoRa data rate of \(region.id.rawValue)")
            }
            s.dataRate = dr
        }
        if let v = try n.optional("txPower") { s.txPowerIndex = try v.int(in: 0...(max(0, region.txPowerOffsetsdB.count - 1))) }
        if let v = try n.optional("confirmed") { s.confirmed = try v.bool() }
        func seconds(_ v: DocumentNode, _ range: ClosedRange<Int64>, _ unit: Nanoseconds, _ what: String) throws(InputError) -> UInt32 {
            let d = try v.duration()
            guard d % unit == 0, (range.lowerBound...range.upperBound).contains(d / unit) else {
                throw v.error("\(what) is \(range.lowerBound)…\(range.upperBound) whole \(unit == Time.minute ? "minutes" : unit == Time.second ? "seconds" : "hundredths of a second") (PAYLOAD.md section 5)")
            }
            return UInt32(d / unit)
        }
        if let v = try n.optional("reportInterval") { s.reportIntervalSeconds = try seconds(v, 10...65_535, Time.second, "reportInterval") }
        if let v = try n.optional("heartbeat") { s.heartbeatMinutes = try seconds(v, 1...65_535, Time.minute, "heartbeat") }
        if let v = try n.optional("debounce") { s.debounceCentiseconds = try seconds(v, 0...4095, 10 * Time.millisecond, "debounce") }
        if let v = try n.optional("holdoff") { s.holdoffSeconds = try seconds(v, 0...4095, Time.second, "holdoff") }
        if let v = try n.optional("activation") {
            switch try v.string().lowercased() {
            case "otaa": s.otaa = true
            case "abp": s.otaa = false
            default: throw v.error("activation is otaa or abp")
            }
        }
        if let v = try n.optional("antennaGain") { s.antennaGaindBi = try v.double() }
        if let v = try n.optional("dutyCycle") {
            guard let p = DutyCyclePolicy(rawValue: try v.string()) else {
                throw v.error("duty cycle policy is one of " + DutyCyclePolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            s.dutyCycle = p
        }
        if let v = try n.optional("batteryCapacity") {
            let mah = try v.double()
            guard mah > 0, mah <= 1e9 else { throw v.error("batteryCapacity is in mAh, positive and at most 1,000,000,000") }
            s.battery.capacityMilliampHours = mah
            s.battery.name = "\(Int(mah)) mAh cell"
        }
        return s
    }

    /// Visits a year → visits a week (365.25 / 7 weeks a year).
    static let weeksPerYear = 365.25 / 7

    /// Sites in one scenario, generated or listed: a million (ten times the largest fleet the benchmarks run).
    public static let maxSites = 1_000_000

    static func parseSites(_ n: DocumentNode) throws(InputError) -> [SiteSpec] {
        var sites: [SiteSpec] = []
        var names = Set<String>()
        for s in try n.array() {
            let before = sites.count
            if let count = try s.optional("generate") {
                let n = try count.int(in: 1...maxSites)
                // Checked before the sites are made: aliases can repeat one `generate` entry many times.
                guard sites.count + n <= maxSites else {
                    throw count.error("the scenario would have \(sites.count + n) sites; at most \(maxSites) in one scenario")
                }
                sites += try generateSites(s, count: n, first: sites.count)
            } else {
                sites.append(try parseSite(s, index: sites.count))
            }
            for site in sites[before...] where !names.insert(site.name).inserted {
                throw s.error("two sites have the same name: '\(site.name)'")
            }
        }
        guard !sites.isEmpty else { throw n.error("at least one site is needed") }
        return sites
    }

    static func parseSite(_ s: DocumentNode, index: Int) throws(InputError) -> SiteSpec {
        try s.allowOnly(["name", "position", "spread", "timeZone", "bays", "gates", "visitsPerYear", "visitsPerWeek", "profile", "weekly",
                         "dwell", "capacity", "script"])
        let (x, y) = try Scenario.point(try s.require("position"))
        var site = try siteBody(s, name: try s.optional("name")?.string() ?? "site-\(index + 1)", x: x, y: y)
        if let list = try s.optional("script") { site.script = try parseScript(list, bays: site.bays, gates: site.gates) }
        return site
    }

    static func siteBody(_ s: DocumentNode, name: String, x: Double, y: Double) throws(InputError) -> SiteSpec {
        let bays = try s.optional("bays")?.int(in: 0...10_000) ?? 0
        let gates = try s.optional("gates")?.int(in: 0...16) ?? 0
        guard bays + gates > 0 else { throw s.error("a site needs bays or gates (or both)") }
        let perWeek: Double
        if let v = try s.optional("visitsPerYear") { perWeek = try v.double() / weeksPerYear }
        else if let v = try s.optional("visitsPerWeek") { perWeek = try v.double() }
        else { throw s.error("a site needs visitsPerYear or visitsPerWeek") }
        guard perWeek >= 0, perWeek.isFinite else { throw s.error("visits must be zero or more") }
        var weights = TrafficProfile.recyclingWeek()
        if let p = try s.optional("profile") {
            guard try p.string() == "recycling" else { throw p.error("the only built-in profile is 'recycling'; give 'weekly' for others") }
        }
        if let w = try s.optional("weekly") {
            let days = try w.array()
            guard days.count == 7 else { throw w.error("weekly is 7 lists (Monday first) of 24 hourly weights") }
            weights = []
            for d in days {
                let hours = try d.array().map { h throws(InputError) in try h.double() }
                guard hours.count == 24, hours.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw d.error("a day is 24 weights, zero or more") }
                weights.append(hours)
            }
        }
        var dwell = 10 * Time.minute, sigma = 0.5
        if let d = try s.optional("dwell") {
            try d.allowOnly(["median", "sigma"])
            if let v = try d.optional("median") { dwell = try v.duration() }
            if let v = try d.optional("sigma") { sigma = try v.double() }
            guard dwell > 0, sigma >= 0 else { throw d.error("dwell needs a positive median and sigma ≥ 0") }
        }
        let tzName = try s.optional("timeZone")?.string() ?? "Europe/Paris"
        guard TimeZone(identifier: tzName) != nil else { throw try s.require("timeZone").error("unknown time zone '\(tzName)'") }
        let capacity = try s.optional("capacity")?.int(in: 1...100_000) ?? max(bays, 1)
        let profile = TrafficProfile(name: name, visitsPerWeek: perWeek, hourlyWeights: weights, dwellMedian: dwell, dwellSigma: sigma,
                                     bays: bays, gates: gates, timeZone: tzName)
        return SiteSpec(name: name, x: x, y: y, spread: try s.optional("spread")?.double() ?? 40, traffic: profile, capacity: capacity)
    }

    /// `script:` a list of `{at: 2h, bay: 3, occupied: true}` (a car parks or leaves) and `{at: 3h, gate: 0, lane: in}`
    /// (a car passes the gate: a 2 s pulse, or `pulse: 3s`). Scripted events are real changes on site.
    static func parseScript(_ n: DocumentNode, bays: Int, gates: Int) throws(InputError) -> [SiteEvent] {
        var out: [SiteEvent] = []
        for e in try n.array() {
            try e.allowOnly(["at", "bay", "occupied", "gate", "lane", "pulse"])
            let at = try e.require("at").duration()
            if let b = try e.optional("bay") {
                let bay = try b.int(in: 0...Swift.max(0, bays - 1))
                guard bays > 0 else { throw b.error("the site has no bays") }
                out.append(SiteEvent(at: at, target: bay, stimulus: .detect(try e.require("occupied").bool()), real: true))
            } else if let g = try e.optional("gate") {
                guard gates > 0 else { throw g.error("the site has no gates") }
                let gate = try g.int(in: 0...(gates - 1))
                let laneNode = try e.require("lane")
                guard let lane = ["in": 0, "out": 1][try laneNode.string().lowercased()] else { throw laneNode.error("lane is in or out") }
                let pulse = try e.optional("pulse")?.duration() ?? 2 * Time.second
                out.append(SiteEvent(at: at, target: SiteEvent.gate(gate), stimulus: .lane(lane, active: true), real: true))
                let (end, overflow) = at.addingReportingOverflow(pulse)
                guard !overflow else { throw e.error("the pulse ends past the last representable time") }
                out.append(SiteEvent(at: end, target: SiteEvent.gate(gate), stimulus: .lane(lane, active: false), real: false))
            } else {
                throw e.error("a scripted event names a bay (with occupied) or a gate (with lane)")
            }
        }
        return out.enumerated().sorted { a, b in a.element.at != b.element.at ? a.element.at < b.element.at : a.offset < b.offset }.map(\.element)
    }

    /// `generate: N` sites placed at random in an area (from the seed of the layout, not the run).
    static func generateSites(_ s: DocumentNode, count: Int, first: Int) throws(InputError) -> [SiteSpec] {
        try s.allowOnly(["generate", "area", "namePrefix", "spread", "timeZone", "bays", "gates", "visitsPerYear", "visitsPerWeek",
                         "profile", "weekly", "dwell", "capacity", "layoutSeed"])
        let area = try s.require("area")
        try area.allowOnly(["from", "to"])
        let (x0, y0) = try Scenario.point(try area.require("from")), (x1, y1) = try Scenario.point(try area.require("to"))
        let prefix = try s.optional("namePrefix")?.string() ?? "site"
        var rng = SeededRandom(seed: UInt64(try s.optional("layoutSeed")?.int(in: 0...Int.max) ?? 7))
        let template = try siteBody(s, name: prefix, x: 0, y: 0)
        var out: [SiteSpec] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            var site = template
            site.name = "\(prefix)-\(first + i + 1)"
            site.traffic.name = site.name
            site.x = x0 + (x1 - x0) * rng.nextDouble()
            site.y = y0 + (y1 - y0) * rng.nextDouble()
            out.append(site)
        }
        return out
    }

    static func parseFault(_ n: DocumentNode, gateways: [GatewaySpec], sites: [SiteSpec]) throws(InputError) -> FleetFault {
        try n.allowOnly(["gatewayDown", "latency", "powerCut", "from", "to", "at", "duration", "sites"])
        if let g = try n.optional("gatewayDown") {
            let name = try g.string()
            guard let index = gateways.firstIndex(where: { $0.name == name }) else {
                throw g.error("no gateway named '\(name)'; gateways: " + gateways.prefix(10).map(\.name).joined(separator: ", "))
            }
            let from = try n.require("from").duration(), to = try n.require("to").duration()
            guard to > from else { throw try n.require("to").error("'to' must come after 'from'") }
            return .gatewayDown(gateway: index, from: from, to: to)
        }
        if let l = try n.optional("latency") {
            let from = try n.require("from").duration(), to = try n.require("to").duration()
            guard to > from else { throw try n.require("to").error("'to' must come after 'from'") }
            return .latency(from: from, to: to, latency: try l.duration())
        }
        if let p = try n.optional("powerCut") {
            let at = try n.require("at").duration()
            let duration = try n.optional("duration")?.duration() ?? Time.minute
            var which: [Int]?
            let scope = p.isMapping ? nil : try? p.string()
            if let list = try n.optional("sites") {
                which = []
                for s in try list.array() {
                    let name = try s.string()
                    guard let i = sites.firstIndex(where: { $0.name == name }) else { throw s.error("no site named '\(name)'") }
                    which?.append(i)
                }
            } else if let scope, scope != "all" {
                guard let i = sites.firstIndex(where: { $0.name == scope }) else { throw p.error("powerCut is 'all' or a site name; no site '\(scope)'") }
                which = [i]
            }
            return .powerCut(at: at, duration: duration, sites: which)
        }
        throw n.error("a fault is gatewayDown, latency or powerCut")
    }
}
