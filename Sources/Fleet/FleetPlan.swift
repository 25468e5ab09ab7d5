import Codecs
import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink

/// The fleet laid out: every sensor with its number, position and identity, and the radio cells — groups of
/// sites, other transmitters and gateways that cannot hear each other's group. Cells are simulated apart (on
/// several cores, or several machines with shards) and give the same results as one run, because the channel
/// engine only ever couples a transmitter to the gateways within its reach.
public struct FleetPlan: Sendable {
    public struct Sensor: Sendable {
        public var fleetID: Int
        public var site: Int
        public var kind: SensorKind
        /// Bay index, or gate index.
        public var slot: Int
        public var x: Double
        public var y: Double
        public var devEUI: EUI64
    }

    public struct Background: Sendable {
        /// A device group of the scenario, or −1 for a captured device (`traced`: its index and copy).
        public var group: Int
        public var index: Int
        public var x: Double
        public var y: Double
        public var traced: (device: Int, copy: Int)? = nil
    }

    public struct Cell: Sendable {
        public var index: Int
        public var sites: [Int]
        /// Indices into `sensors` (sites' sensors in order).
        public var sensors: [Int]
        /// Indices into `background`.
        public var background: [Int]
        public var gateways: [Int]
        public var weight: Int { sensors.count * 20 + background.count }
    }

    public let sensors: [Sensor]
    public let background: [Background]
    public let cells: [Cell]
    /// For each site, its sensors' indices (bays first, then gates).
    public let siteSensors: [[Int]]

    public init(_ sc: FleetScenario) {
        var sensors: [Sensor] = []
        var siteSensors: [[Int]] = []
        sensors.reserveCapacity(sc.sensorCount)
        for (si, site) in sc.sites.enumerated() {
            var list: [Int] = []
            for b in 0..<site.bays {
                let id = sensors.count
                var place = SeededRandom.stream(seed: sc.seed, 0x51, UInt64(id))
                let (x, y) = Placement.disc(x: site.x, y: site.y, radius: site.spread).position(0, rng: &place)
                sensors.append(Sensor(fleetID: id, site: si, kind: .bay, slot: b, x: x, y: y, devEUI: FleetPlan.devEUI(id)))
                list.append(id)
            }
            for g in 0..<site.gates {
                let id = sensors.count
                // Gates at the entrance, a few metres apart.
                sensors.append(Sensor(fleetID: id, site: si, kind: .gate, slot: g, x: site.x + 5 * Double(g), y: site.y - site.spread,
                                      devEUI: FleetPlan.devEUI(id)))
                list.append(id)
            }
            siteSensors.append(list)
        }
        var background: [Background] = []
        for (gi, g) in sc.background.enumerated() {
            for k in 0..<g.count {
                var place = SeededRandom.stream(seed: sc.seed, 0xB6, UInt64(gi), UInt64(k))
                let (x, y) = g.placement.position(k, rng: &place)
                background.append(Background(group: gi, index: k, x: x, y: y))
            }
        }
        if let trace = sc.traceBackground {
            // Captured devices have no position: each copy stands at random in the gateways' area (2 km around).
            let xs = sc.gateways.map(\.x), ys = sc.gateways.map(\.y)
            let area = Placement.rectangle(x0: (xs.min() ?? 0) - 2000, y0: (ys.min() ?? 0) - 2000, x1: (xs.max() ?? 0) + 2000, y1: (ys.max() ?? 0) + 2000)
            for (d, _) in trace.devices.enumerated() {
                for c in 0..<trace.scale {
                    var place = SeededRandom.stream(seed: sc.seed, 0x7ACE, UInt64(d), UInt64(c))
                    let (x, y) = area.position(0, rng: &place)
                    background.append(Background(group: -1, index: d * trace.scale + c, x: x, y: y, traced: (d, c)))
                }
            }
        }
        self.sensors = sensors
        self.background = background
        self.siteSensors = siteSensors

        // Union-find over sites, background transmitters and gateways: a transmitter joins the gateways it may
        // reach (the channel's own rule); a site's sensors always stay together.
        let nSites = sc.sites.count, nBg = background.count, nGw = sc.gateways.count
        var parent = Array(0..<(nSites + nBg + nGw))
        func find(_ a: Int) -> Int {
            var a = a
            while parent[a] != a { parent[a] = parent[parent[a]]; a = parent[a] }
            return a
        }
        func union(_ a: Int, _ b: Int) {
            let ra = find(a), rb = find(b)
            if ra != rb { if ra < rb { parent[rb] = ra } else { parent[ra] = rb } }
        }
        let gwBase = nSites + nBg
        // Gateways on a grid, looked up by position for large fleets.
        let index = GatewayIndex(sc.gateways, reach: FleetPlan.maxReach(sc))
        for s in sensors {
            let power = sc.region.txPowerdBm(index: 0) ?? sc.region.maxEIRPdBm
            let gain = sc.settings(s.kind).antennaGaindBi
            for g in index.near(s.x, s.y) where RadioChannel.reachable(model: sc.model, gateway: sc.gateways[g], x: s.x, y: s.y,
                                                                       antennaGaindBi: gain, maxTxPowerdBm: power) {
                union(s.site, gwBase + g)
            }
        }
        for (i, b) in background.enumerated() {
            let power = b.group >= 0 ? sc.background[b.group].txPowerdBm : (sc.region.txPowerdBm(index: 0) ?? sc.region.maxEIRPdBm)
            for g in index.near(b.x, b.y) where RadioChannel.reachable(model: sc.model, gateway: sc.gateways[g], x: b.x, y: b.y,
                                                                       antennaGaindBi: 0, maxTxPowerdBm: power) {
                union(nSites + i, gwBase + g)
            }
        }
        // Cells in the order of their first member: sites first, so the numbering follows the scenario.
        var cellOf: [Int: Int] = [:]
        var cells: [Cell] = []
        func cell(_ member: Int) -> Int {
            let r = find(member)
            if let c = cellOf[r] { return c }
            cellOf[r] = cells.count
            cells.append(Cell(index: cells.count, sites: [], sensors: [], background: [], gateways: []))
            return cells.count - 1
        }
        for s in 0..<nSites {
            let c = cell(s)
            cells[c].sites.append(s)
            cells[c].sensors += siteSensors[s]
        }
        for b in 0..<nBg {
            // Transmitters that reach no gateway change nothing: they join no cell.
            let r = find(nSites + b)
            guard r != nSites + b || (0..<nGw).contains(where: { find(gwBase + $0) == r }) else { continue }
            cells[cell(nSites + b)].background.append(b)
        }
        for g in 0..<nGw {
            let r = find(gwBase + g)
            if let c = cellOf[r] { cells[c].gateways.append(g) }
        }
        self.cells = cells
    }

    /// DevEUIs from the simulator's own block: 70-B3-D5-7E-D0 followed by the sensor number.
    static func devEUI(_ id: Int) -> EUI64 { EUI64(0x70B3_D57E_D000_0000 | UInt64(id & 0xFF_FFFF)) }

    /// The farthest a transmitter may reach any gateway under the channel's rule (for the grid look-up).
    static func maxReach(_ sc: FleetScenario) -> Double {
        let power = ([sc.region.maxEIRPdBm] + sc.background.map(\.txPowerdBm)).max() ?? sc.region.maxEIRPdBm
        let gain = (sc.gateways.map(\.antennaGaindBi).max() ?? 0) + max(0, sc.bay.antennaGaindBi, sc.gate.antennaGaindBi)
        var lo = 1.0, hi = 1e7
        for _ in 0..<80 {
            let mid = (lo + hi) / 2
            if RadioChannel.reachable(model: sc.model, lossdB: sc.model.pathLoss.meanLossdB(meters: mid) - gain, maxTxPowerdBm: power) {
                lo = mid
            } else {
                hi = mid
            }
        }
        return hi
    }

    /// Splits the cells over `shards` shards by weight (largest first, to the lightest shard): the cells of shard `i`.
    public func cells(shard i: Int, of shards: Int) -> [Int] {
        guard shards > 1 else { return cells.map(\.index) }
        var load = Array(repeating: 0, count: shards)
        var owner = Array(repeating: 0, count: cells.count)
        for c in cells.sorted(by: { $0.weight != $1.weight ? $0.weight > $1.weight : $0.index < $1.index }) {
            let s = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 } ?? 0
            owner[c.index] = s
            load[s] += max(1, c.weight)
        }
        return cells.map(\.index).filter { owner[$0] == i }
    }
}

/// Gateways bucketed on a square grid as wide as the longest reach: the gateways near a point are in the 3 × 3
/// buckets around it.
struct GatewayIndex {
    let size: Double
    var buckets: [Int64: [Int]] = [:]
    let all: [Int]
    let useGrid: Bool

    init(_ gateways: [GatewaySpec], reach: Double) {
        size = max(reach, 1)
        all = Array(gateways.indices)
        useGrid = gateways.count > 64
        guard useGrid else { return }
        for (i, g) in gateways.enumerated() { buckets[GatewayIndex.key(Int64((g.x / size).rounded(.down)), Int64((g.y / size).rounded(.down))), default: []].append(i) }
    }

    static func key(_ i: Int64, _ j: Int64) -> Int64 { (i &* 0x1_0000_0001) ^ j }

    func near(_ x: Double, _ y: Double) -> [Int] {
        guard useGrid else { return all }
        let i = Int64((x / size).rounded(.down)), j = Int64((y / size).rounded(.down))
        var out: [Int] = []
        for di in -1...1 { for dj in -1...1 { out += buckets[GatewayIndex.key(i + Int64(di), j + Int64(dj))] ?? [] } }
        return out.sorted()
    }
}
