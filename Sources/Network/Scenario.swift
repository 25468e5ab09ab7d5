import Foundation
import HarnessCore
import RadioLink

/// Where a group's devices stand (metres).
public enum Placement: Sendable {
    case positions([(x: Double, y: Double)])
    case disc(x: Double, y: Double, radius: Double)
    case rectangle(x0: Double, y0: Double, x1: Double, y1: Double)
}

extension Placement {
    /// Where device `k` of the group stands; random placements draw from `rng` (two draws).
    public func position(_ k: Int, rng: inout SeededRandom) -> (x: Double, y: Double) {
        switch self {
        case .positions(let p): return k < p.count ? (p[k].x, p[k].y) : (0, 0)
        case .disc(let cx, let cy, let r):
            // uniform in the disc: radius r·√u
            let rr = r * rng.nextDouble().squareRoot(), a = 2 * Double.pi * rng.nextDouble()
            return (cx + rr * cos(a), cy + rr * sin(a))
        case .rectangle(let x0, let y0, let x1, let y1):
            return (x0 + (x1 - x0) * rng.nextDouble(), y0 + (y1 - y0) * rng.nextDouble())
        }
    }
}

/// How a group's devices choose their spreading factor.
public enum RadioChoice: Sendable {
    /// One data rate for all.
    case fixed(sf: Int, bandwidth: LoRaBandwidth)
    /// Each device draws one of these SFs (uniformly, from its own stream).
    case random(sfs: [Int], bandwidth: LoRaBandwidth)
    /// Each device takes the smallest SF whose mean signal at its best gateway clears the sensitivity by the margin.
    case auto(margindB: Double, bandwidth: LoRaBandwidth)
}

public enum TrafficDistribution: String, Sendable { case periodic, exponential }

public struct Traffic: Sendable {
    public var interval: Nanoseconds
    public var distribution: TrafficDistribution
    /// Periodic traffic: each interval is shifted by a uniform draw in ±jitter.
    public var jitter: Nanoseconds
    /// PHYPayload bytes.
    public var payloadBytes: Int

    public init(interval: Nanoseconds, distribution: TrafficDistribution, jitter: Nanoseconds, payloadBytes: Int) {
        self.interval = interval; self.distribution = distribution; self.jitter = jitter; self.payloadBytes = payloadBytes
    }
}

public struct DeviceGroup: Sendable {
    public var name: String
    public var count: Int
    public var placement: Placement
    public var traffic: Traffic
    public var radio: RadioChoice
    public var codingRate: CodingRate
    public var txPowerdBm: Double
    public var frequencies: [Int64]
    public var dutyCycle: DutyCyclePolicy

    public init(name: String, count: Int, placement: Placement, traffic: Traffic, radio: RadioChoice, codingRate: CodingRate,
                txPowerdBm: Double, frequencies: [Int64], dutyCycle: DutyCyclePolicy) {
        self.name = name; self.count = count; self.placement = placement; self.traffic = traffic; self.radio = radio
        self.codingRate = codingRate; self.txPowerdBm = txPowerdBm; self.frequencies = frequencies; self.dutyCycle = dutyCycle
    }
}

public struct DownlinkLoad: Sendable {
    public var perHour: Double
    public var airtime: Nanoseconds
    public init(perHour: Double, airtime: Nanoseconds) { self.perHour = perHour; self.airtime = airtime }
}

/// A channel-engine scenario (YAML, examples in Fixtures/scenarios/).
public struct Scenario: Sendable {
    public var name: String
    public var seed: UInt64
    public var duration: Nanoseconds
    public var region: RegionParameters
    public var subBands: [SubBand]
    public var model: ChannelModel
    public var gateways: [GatewaySpec]
    public var downlinks: [DownlinkLoad?]
    public var groups: [DeviceGroup]

    public var deviceCount: Int { groups.reduce(0) { $0 + $1.count } }

    public init(name: String, seed: UInt64, duration: Nanoseconds, region: RegionParameters, subBands: [SubBand],
                model: ChannelModel, gateways: [GatewaySpec], downlinks: [DownlinkLoad?], groups: [DeviceGroup]) {
        self.name = name; self.seed = seed; self.duration = duration; self.region = region; self.subBands = subBands
        self.model = model; self.gateways = gateways; self.downlinks = downlinks; self.groups = groups
    }

    /// Reads a scenario file. Every error names the file, line and field.
    public static func load(path: String) throws(InputError) -> Scenario {
        try parse(DocumentNode.load(path: path))
    }

    public static func parse(_ doc: DocumentNode) throws(InputError) -> Scenario {
        try doc.allowOnly(["name", "description", "seed", "duration", "region", "subBands", "channel", "gateways", "devices"])
        let region = try doc.optional("region")?.value(RegionID.parse).parameters ?? RegionID.eu868.parameters
        let subBands: [SubBand]
        if let sb = try doc.optional("subBands") {
            let name = try sb.string()
            do { subBands = try region.subBands(table: name) } catch { throw sb.error(error.message) }
        } else {
            subBands = region.subBands
        }
        let model = try parseModel(try doc.optional("channel"))
        let (gateways, downlinks) = try parseGateways(try doc.require("gateways"), allowDownlinks: true)
        var groups: [DeviceGroup] = []
        let devNodes = try doc.require("devices").array()
        guard !devNodes.isEmpty else { throw try doc.require("devices").error("at least one device group is needed") }
        for (i, d) in devNodes.enumerated() {
            groups.append(try parseGroup(d, index: i, region: region))
        }
        let sc = Scenario(name: try doc.optional("name")?.string() ?? "scenario", seed: UInt64(try doc.optional("seed")?.int(in: 0...Int.max) ?? 1),
                          duration: try doc.optional("duration")?.duration() ?? Time.day, region: region, subBands: subBands, model: model,
                          gateways: gateways, downlinks: downlinks, groups: groups)
        guard sc.duration > 0 else { throw try doc.require("duration").error("the duration must be positive") }
        return sc
    }

    /// The `gateways:` list: name, position, antenna gain, demodulators, frequencies (and, for channel scenarios,
    /// other traffic's downlinks).
    public static func parseGateways(_ node: DocumentNode, allowDownlinks: Bool) throws(InputError) -> ([GatewaySpec], [DownlinkLoad?]) {
        let gwNodes = try node.array()
        guard !gwNodes.isEmpty else { throw node.error("at least one gateway is needed") }
        var gateways: [GatewaySpec] = []
        var downlinks: [DownlinkLoad?] = []
        for (i, g) in gwNodes.enumerated() {
            try g.allowOnly(allowDownlinks ? ["name", "position", "antennaGain", "demodulators", "frequencies", "downlinks"]
                                           : ["name", "position", "antennaGain", "demodulators", "frequencies"])
            let (x, y) = try point(try g.require("position"))
            let demods = try g.optional("demodulators")?.int(in: 1...64) ?? 8
            var freqs = Set<Int64>()
            for f in try g.optional("frequencies")?.array() ?? [] { freqs.insert(try f.frequency()) }
            let gwName = try g.optional("name")?.string() ?? "gw\(i + 1)"
            guard !gateways.contains(where: { $0.name == gwName }) else { throw g.error("two gateways are named '\(gwName)'") }
            let gain = try g.optional("antennaGain")?.double() ?? 0
            gateways.append(GatewaySpec(name: gwName, x: x, y: y, antennaGaindBi: gain, demodulators: demods,
                                        frequencies: freqs))
            if let d = try g.optional("downlinks") {
                try d.allowOnly(["perHour", "sf", "payload"])
                let sf = try d.optional("sf")?.int(in: 7...12) ?? 12
                let payload = try d.optional("payload")?.int(in: 0...255) ?? 13
                let airtime = AirtimeCalculator.loraUnchecked(LoRaModulation(spreadingFactor: sf, bandwidth: .bw125, crc: false), payloadBytes: payload).nanoseconds
                let perHourNode = try d.require("perHour")
                let perHour = try perHourNode.double()
                // Above 3600 an hour a gateway would transmit more than once a second: beyond any duty cycle.
                guard perHour.isFinite, perHour > 0, perHour <= 3600 else { throw perHourNode.error("perHour is more than 0 and at most 3600") }
                downlinks.append(DownlinkLoad(perHour: perHour, airtime: airtime))
            } else {
                downlinks.append(nil)
            }
        }
        return (gateways, downlinks)
    }

    public static func point(_ n: DocumentNode) throws(InputError) -> (Double, Double) {
        let a = try n.array()
        guard a.count == 2 else { throw n.error("a position is [x, y] in metres") }
        return (try a[0].double(), try a[1].double())
    }

    public static func parseModel(_ n: DocumentNode?) throws(InputError) -> ChannelModel {
        var m = ChannelModel()
        guard let n else { return m }
        try n.allowOnly(["pathLoss", "shadowing", "fading", "receiver", "capture", "preambleRule", "interSF"])
        if let pl = try n.optional("pathLoss") {
            if pl.isMapping {
                try pl.allowOnly(["preset", "referenceDistance", "referenceLoss", "exponent", "sigma"])
                var base = PathLossModel.oulu
                if let p = try pl.optional("preset") { base = try p.value(PathLossModel.named) }
                base.name = "custom"
                if let v = try pl.optional("referenceDistance") { base.referenceDistanceMeters = try v.double() }
                if let v = try pl.optional("referenceLoss") { base.referenceLossdB = try v.double() }
                if let v = try pl.optional("exponent") { base.exponent = try v.double() }
                if let v = try pl.optional("sigma") { base.shadowingSigmadB = try v.double() }
                m.pathLoss = base
            } else {
                m.pathLoss = try pl.value(PathLossModel.named)
            }
        }
        if let v = try n.optional("shadowing") {
            switch (try? v.bool(), try v.string()) {
            case (let b?, _): m.shadowing = b
            case (nil, "per-packet"): m.shadowing = true; m.staticShadowing = false
            case (nil, "per-link"): m.shadowing = true; m.staticShadowing = true
            default: throw v.error("shadowing is true, false, per-packet or per-link")
            }
        }
        if let v = try n.optional("fading") {
            m.fadingSigmadB = try v.double()
            guard m.fadingSigmadB >= 0 && m.fadingSigmadB <= 30 else { throw v.error("fading is a σ in dB, 0…30") }
        }
        if let v = try n.optional("receiver") { m.receiver = try v.value(ReceiverModel.named) }
        if let c = try n.optional("capture") {
            if c.isMapping {
                try c.allowOnly(["enabled", "threshold", "interference"])
                m.captureEnabled = try c.optional("enabled")?.bool() ?? true
                m.captureThresholddB = try c.optional("threshold")?.double() ?? 6
                if let i = try c.optional("interference") {
                    switch try i.string() {
                    case "summed": m.summedInterference = true
                    case "pairwise", "strongest": m.summedInterference = false
                    default: throw i.error("interference is 'summed' or 'pairwise'")
                    }
                }
            } else {
                m.captureEnabled = try c.bool()
            }
        }
        if let v = try n.optional("preambleRule") { m.preambleRule = try v.bool() }
        if let v = try n.optional("interSF") {
            let s = try v.string()
            switch s {
            case "goursaud": m.interSF = .goursaud
            case "off", "false", "none": m.interSF = nil
            default: throw v.error("interSF is 'goursaud' or 'off'")
            }
        }
        return m
    }

    public static func parseGroup(_ d: DocumentNode, index: Int, region: RegionParameters) throws(InputError) -> DeviceGroup {
        try d.allowOnly(["name", "count", "placement", "traffic", "radio", "frequencies", "dutyCycle"])
        let count = try d.require("count").int(in: 1...10_000_000)
        let placementNode = try d.require("placement")
        try placementNode.allowOnly(["positions", "disc", "rectangle"])
        let placement: Placement
        if let p = try placementNode.optional("positions") {
            let pts = try p.array().map { n throws(InputError) in try point(n) }
            guard pts.count == count else { throw p.error("\(pts.count) positions for \(count) devices") }
            placement = .positions(pts.map { (x: $0.0, y: $0.1) })
        } else if let disc = try placementNode.optional("disc") {
            try disc.allowOnly(["center", "radius"])
            let (x, y) = try point(try disc.require("center"))
            let radiusNode = try disc.require("radius")
            let radius = try radiusNode.double()
            guard radius.isFinite, radius > 0 else { throw radiusNode.error("the radius is a positive number of metres") }
            placement = .disc(x: x, y: y, radius: radius)
        } else if let r = try placementNode.optional("rectangle") {
            try r.allowOnly(["from", "to"])
            let (x0, y0) = try point(try r.require("from")), (x1, y1) = try point(try r.require("to"))
            placement = .rectangle(x0: x0, y0: y0, x1: x1, y1: y1)
        } else {
            throw placementNode.error("placement needs positions, disc or rectangle")
        }
        let t = try d.require("traffic")
        try t.allowOnly(["interval", "distribution", "jitter", "payload"])
        let distribution: TrafficDistribution
        if let dn = try t.optional("distribution") {
            guard let v = TrafficDistribution(rawValue: try dn.string()) else { throw dn.error("distribution is 'periodic' or 'exponential'") }
            distribution = v
        } else {
            distribution = .exponential
        }
        let interval = try t.require("interval").duration()
        // Under a second per device, the channel would be saturated by the device alone (and the run endless).
        guard interval >= Time.second else { throw try t.require("interval").error("the interval is at least 1s") }
        let traffic = Traffic(interval: interval, distribution: distribution, jitter: try t.optional("jitter")?.duration() ?? 0,
                              payloadBytes: try t.require("payload").int(in: 1...255))
        var radio = RadioChoice.fixed(sf: 7, bandwidth: .bw125)
        var cr = CodingRate.cr4_5
        var power = region.maxEIRPdBm
        if let r = try d.optional("radio") {
            try r.allowOnly(["sf", "sfs", "dataRate", "bandwidth", "codingRate", "txPower", "margin"])
            let bw = try r.optional("bandwidth")?.value(LoRaBandwidth.parse) ?? .bw125
            if let sfNode = try r.optional("sf") {
                if try sfNode.string() == "auto" {
                    radio = .auto(margindB: try r.optional("margin")?.double() ?? 10, bandwidth: bw)
                } else {
                    radio = .fixed(sf: try sfNode.int(in: 7...12), bandwidth: bw)
                }
            } else if let list = try r.optional("sfs") {
                let sfs = try list.array().map { n throws(InputError) in try n.int(in: 7...12) }
                guard !sfs.isEmpty else { throw list.error("sfs needs at least one SF") }
                radio = .random(sfs: sfs, bandwidth: bw)
            } else if let drNode = try r.optional("dataRate") {
                let dr = try drNode.int(in: 0...15)
                guard let m = region.dataRate(dr)?.modulation.lora else { throw drNode.error("DR\(dr) of \(region.id.rawValue) is not a LoRa data rate") }
                radio = .fixed(sf: m.spreadingFactor, bandwidth: m.bandwidth)
            }
            if let v = try r.optional("codingRate") { cr = try v.value(CodingRate.parse) }
            if let v = try r.optional("txPower") { power = try v.double() }
        }
        var freqs = region.defaultChannels.map(\.frequencyHz)
        if freqs.isEmpty { freqs = region.uplinkChannels.prefix(8).map(\.frequencyHz) }
        if let f = try d.optional("frequencies") {
            freqs = try f.array().map { n throws(InputError) in try n.frequency() }
            guard !freqs.isEmpty else { throw f.error("at least one frequency is needed") }
        }
        var dc: DutyCyclePolicy = region.dutyCycleEnforced ? .timeCredit : .none
        if let v = try d.optional("dutyCycle") {
            guard let p = DutyCyclePolicy(rawValue: try v.string()) else {
                throw v.error("duty cycle policy is one of " + DutyCyclePolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            dc = p
        }
        return DeviceGroup(name: try d.optional("name")?.string() ?? "group\(index + 1)", count: count, placement: placement,
                           traffic: traffic, radio: radio, codingRate: cr, txPowerdBm: power, frequencies: freqs, dutyCycle: dc)
    }
}
