import Foundation
import HarnessCore
import RadioLink
import SimKernel

/// The radio channel: many transmitters, gateways, collisions and capture. Transmissions are handed over in
/// start-time order; each packet's fate is decided when it ends and reported to `onOutcome`.
///
/// Interference is accumulated when a packet starts, against the packets then on air on the same frequency (and
/// the same SF, or every SF with an isolation matrix), so the work per packet is the number of packets it
/// actually overlaps: cost grows with traffic, not with the square of the packets on air.
public final class RadioChannel {
    public let model: ChannelModel
    public let gateways: [GatewaySpec]

    /// Per device: the gateways it may reach (mean loss within 4 σ of the best receiver sensitivity).
    private var linkStart: [Int32] = []
    private var linkCount: [Int32] = []
    private var linkGateway: [Int32] = []
    private var linkLoss: [Double] = []
    private var shadowRNG: [SeededRandom] = []
    /// Box–Muller gives normal draws in pairs: the second of each pair waits here (NaN: none).
    private var spareNormal: [Double] = []
    private let seed: UInt64

    // Active packets: a pool of records with a free list, plus reception slots in blocks of `slotsPerPacket`.
    private struct Active {
        var tx: Transmission
        var end: Int64
        var lock: Int64
        var slotCount: Int32
        var channelKey: Int32
        var inUse: Bool
    }
    private struct Slot {
        var gateway: Int32
        var rssi: Double
        var mw: Double           // rssi in milliwatts
        var snr: Double
        var sameSum: Double      // mW
        var sameMax: Double      // dBm
        var interSF: (Double, Double, Double, Double, Double, Double)  // mW per SF 7…12
        var preset: LossCause?
        var demod: Bool
    }
    private var active: [Active] = []
    private var slots: [Slot] = []
    /// Gateways a packet may reach at most (over every device so far).
    private var slotsPerPacket = 1
    /// The block size the slot pool is laid out with.
    private var stride = 1
    private var free: [Int32] = []
    private var endHeap = TimeHeap(capacity: 1024)
    /// Active packet indices per channel key (frequency index × 16 + SF, or the frequency index alone with inter-SF).
    /// Packets on air per channel key: an intrusive doubly linked list through `next`/`prev` (−1 ends it).
    private var channelHead: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var frequencies: [Int64] = []
    private var demodInUse: [Int32]
    /// Gateway transmissions (half-duplex), per gateway, sorted by start.
    private var gatewayTX: [[(start: Int64, end: Int64)]]
    /// Windows in which a gateway is out of service (a fault): it receives nothing.
    private var gatewayOutages: [[(from: Int64, to: Int64)]]
    private var lastStart: Int64 = .min

    // Counters.
    public private(set) var sent = 0
    public private(set) var delivered = 0
    private var lossCounts = [Int](repeating: 0, count: LossCause.allCases.count)
    private var gatewayLossCounts: [[Int]]
    public private(set) var gatewayReceived: [Int]
    public var losses: [LossCause: Int] {
        var d: [LossCause: Int] = [:]
        for (i, c) in LossCause.allCases.enumerated() where lossCounts[i] > 0 { d[c] = lossCounts[i] }
        return d
    }
    public var gatewayLosses: [[LossCause: Int]] {
        gatewayLossCounts.map { counts in
            var d: [LossCause: Int] = [:]
            for (i, c) in LossCause.allCases.enumerated() where counts[i] > 0 { d[c] = counts[i] }
            return d
        }
    }

    public private(set) var airtimeTotal: Nanoseconds = 0

    /// Called for every finished packet. Keep it light: it runs once per packet.
    public var onOutcome: ((PacketOutcome) -> Void)?
    /// Whether outcomes carry every gateway's reception (needed for deduplication; costs an allocation per packet).
    public var detailedOutcomes = true

    private let noiseFloor: [Double]   // per bandwidth divisor index (125/250/500 only needed)
    private let gatewayDemodulators: [Int32]
    private let gatewayListensEverywhere: [Bool]
    /// Packets each device got through (at least one gateway), counted whether or not onOutcome is set.
    public private(set) var deliveredPerDevice: [Int] = []
    private let sensitivityCache: [Double]  // [sf 5…12][bw 125,250,500] → dBm
    private let snrFloor: [Double]     // per SF 5…12

    private let bestSensitivity: Double
    private let linkMargin: Double
    private let perPacketShadowing: Bool
    private let fadingSigma: Double

    public init(model: ChannelModel, gateways: [GatewaySpec], seed: UInt64) {
        self.model = model
        bestSensitivity = RadioChannel.bestSensitivity(model)
        linkMargin = RadioChannel.linkMargin(model)
        perPacketShadowing = model.shadowing && !model.staticShadowing && model.pathLoss.shadowingSigmadB > 0
        fadingSigma = model.fadingSigmadB
        self.gateways = gateways
        self.seed = seed
        demodInUse = Array(repeating: 0, count: gateways.count)
        gatewayTX = Array(repeating: [], count: gateways.count)
        gatewayOutages = Array(repeating: [], count: gateways.count)
        gatewayReceived = Array(repeating: 0, count: gateways.count)
        gatewayLossCounts = Array(repeating: Array(repeating: 0, count: LossCause.allCases.count), count: gateways.count)
        gatewayDemodulators = gateways.map { Int32($0.demodulators) }
        gatewayListensEverywhere = gateways.map { $0.frequencies.isEmpty }
        let bws: [LoRaBandwidth] = [.bw125, .bw250, .bw500]
        noiseFloor = bws.map { LinkBudget.noiseFloordBm(bandwidthHz: $0.hertz, noiseFigure: model.receiver.noiseFigure) }
        var sens: [Double] = []
        for sf in 5...12 { for bw in bws { sens.append(model.receiver.sensitivitydBm(sf: sf, bandwidth: bw)) } }
        sensitivityCache = sens
        snrFloor = (5...12).map { LinkBudget.snrFloordB(sf: $0) }
    }

    @inline(__always) private func bwIndex(_ bw: LoRaBandwidth) -> Int { bw == .bw500 ? 2 : (bw == .bw250 ? 1 : 0) }

    /// Adds a transmitter at (x, y) with its antenna gain; returns its device index. `maxTxPowerdBm` bounds the
    /// gateways kept as reachable.
    @discardableResult
    public func addDevice(x: Double, y: Double, antennaGaindBi: Double = 0, maxTxPowerdBm: Double = 30) -> Int {
        let id = linkStart.count
        linkStart.append(Int32(linkGateway.count))
        var n: Int32 = 0
        for (g, gw) in gateways.enumerated() {
            let loss = RadioChannel.meanLossdB(model: model, gateway: gw, x: x, y: y, antennaGaindBi: antennaGaindBi)
            if maxTxPowerdBm - loss + linkMargin >= bestSensitivity {
                linkGateway.append(Int32(g))
                linkLoss.append(loss)
                n += 1
            }
        }
        linkCount.append(n)
        deliveredPerDevice.append(0)
        slotsPerPacket = max(slotsPerPacket, Int(n))
        shadowRNG.append(SeededRandom.stream(seed: seed, UInt64(id), 0x5AD0))
        spareNormal.append(.nan)
        if model.shadowing && model.staticShadowing && model.pathLoss.shadowingSigmadB > 0 {
            // Shadowing fixed per link for the whole run (the device does not move): one draw per gateway.
            for k in 0..<Int(n) { linkLoss[Int(linkStart[id]) + k] += normal(device: id) * model.pathLoss.shadowingSigmadB }
        }
        return id
    }

    public var deviceCount: Int { linkStart.count }

    /// Mean path loss from (x, y) to a gateway, antenna gains taken off (dB).
    public static func meanLossdB(model: ChannelModel, gateway gw: GatewaySpec, x: Double, y: Double, antennaGaindBi: Double) -> Double {
        let d = max(1, ((gw.x - x) * (gw.x - x) + (gw.y - y) * (gw.y - y)).squareRoot())
        return model.pathLoss.meanLossdB(meters: d) - gw.antennaGaindBi - antennaGaindBi
    }

    /// The channel's rule for a link worth keeping: the mean signal, four shadowing σ up, reaches the best
    /// sensitivity of the receiver at any SF and bandwidth.
    public static func reachable(model: ChannelModel, lossdB: Double, maxTxPowerdBm: Double) -> Bool {
        maxTxPowerdBm - lossdB + linkMargin(model) >= bestSensitivity(model)
    }

    static func bestSensitivity(_ model: ChannelModel) -> Double {
        var best = Double.infinity
        for sf in 5...12 { for bw in [LoRaBandwidth.bw125, .bw250, .bw500] { best = min(best, model.receiver.sensitivitydBm(sf: sf, bandwidth: bw)) } }
        return best
    }

    static func linkMargin(_ model: ChannelModel) -> Double {
        (model.shadowing ? 4 * model.pathLoss.shadowingSigmadB : 0) + 4 * max(0, model.fadingSigmadB)
    }

    public static func reachable(model: ChannelModel, gateway: GatewaySpec, x: Double, y: Double, antennaGaindBi: Double,
                                 maxTxPowerdBm: Double) -> Bool {
        reachable(model: model, lossdB: meanLossdB(model: model, gateway: gateway, x: x, y: y, antennaGaindBi: antennaGaindBi),
                  maxTxPowerdBm: maxTxPowerdBm)
    }

    /// Gateways a device may reach, with the path loss (dB, gains taken off; with static shadowing, its draw included).
    public func links(device: Int) -> [(gateway: Int, lossdB: Double)] {
        let s = Int(linkStart[device]), n = Int(linkCount[device])
        return (0..<n).map { (Int(linkGateway[s + $0]), linkLoss[s + $0]) }
    }

    /// The gateway transmits from start to end (a downlink): it receives nothing meanwhile.
    public func gatewayTransmits(_ gateway: Int, start: Nanoseconds, end: Nanoseconds) {
        var list = gatewayTX[gateway]
        var i = list.count
        while i > 0, list[i - 1].start > start { i -= 1 }
        list.insert((start, end), at: i)
        gatewayTX[gateway] = list
    }

    /// The gateway is out of service from `from` to `to`: a packet overlapping the window is lost there
    /// (`gateway_down`).
    public func gatewayDown(_ gateway: Int, from: Nanoseconds, to: Nanoseconds) {
        guard gateways.indices.contains(gateway), to > from else { return }
        gatewayOutages[gateway].append((from, to))
    }

    /// Whether the gateway is out of service at some point in [start, end).
    public func isDown(_ gateway: Int, from start: Nanoseconds, to end: Nanoseconds) -> Bool {
        guard gateways.indices.contains(gateway) else { return false }
        for w in gatewayOutages[gateway] where w.from < end && w.to > start { return true }
        return false
    }

    /// Decides every packet that has ended by `time`.
    public func advance(to time: Nanoseconds) {
        while let t = endHeap.minTime, t <= time, let id = endHeap.minID {
            endHeap.pop()
            finalize(Int(id))
        }
    }

    /// Decides every packet still on air.
    public func finish() { advance(to: .max) }

    @inline(__always)
    private func frequencyIndex(_ hz: Int64) -> Int {
        for (i, f) in frequencies.enumerated() where f == hz { return i }
        frequencies.append(hz)
        channelHead.append(contentsOf: repeatElement(-1, count: 16))
        return frequencies.count - 1
    }

    @inline(__always)
    private func channelKey(_ t: Transmission) -> Int {
        let f = frequencyIndex(t.frequencyHz)
        return model.interSF != nil ? f * 16 : f * 16 + t.spreadingFactor
    }

    /// Puts a transmission on the air. Transmissions must come in start-time order.
    public func transmit(_ t: Transmission) {
        precondition(t.start >= lastStart, "transmissions must be handed over in start-time order")
        lastStart = t.start
        advance(to: t.start)
        sent += 1
        airtimeTotal += t.airtime

        if slotsPerPacket > stride { rebuildSlots() }   // devices with more gateways were added: widen every block
        let index: Int
        if let f = free.popLast() { index = Int(f) } else {
            index = active.count
            active.append(Active(tx: t, end: 0, lock: 0, slotCount: 0, channelKey: 0, inUse: false))
            next.append(-1)
            prev.append(-1)
            slots.append(contentsOf: repeatElement(RadioChannel.emptySlot, count: stride))
        }
        let end = t.start + t.airtime
        let tsym = (Int64(1) << Int64(t.spreadingFactor)) * t.bandwidth.divisor * 2_000
        // The receiver locks after the preamble less its last 5 symbols: preamble + 4.25 − 5 symbols in.
        let lock = t.start + (Int64(4 * t.preambleSymbols) + 17 - 20) * tsym / 4
        let key = channelKey(t)
        let dev = t.device
        let ls = Int(linkStart[dev]), ln = Int(linkCount[dev])
        let base = index * stride
        let bi = bwIndex(t.bandwidth)
        let sfi = max(0, min(7, t.spreadingFactor - 5))
        let sens = sensitivityCache[sfi * 3 + bi]
        let floor = snrFloor[sfi]
        let noise = noiseFloor[bi]
        var n: Int32 = 0
        for k in 0..<ln {
            let g = Int(linkGateway[ls + k])
            if !gatewayListensEverywhere[g] && !gateways[g].frequencies.contains(t.frequencyHz) { continue }
            var shadow = 0.0
            if perPacketShadowing { shadow = normal(device: dev) * model.pathLoss.shadowingSigmadB }
            if fadingSigma > 0 { shadow += normal(device: dev) * fadingSigma }
            let rssi = t.txPowerdBm - linkLoss[ls + k] - shadow
            let snr = rssi - noise
            var preset: LossCause? = nil
            var demod = false
            if rssi < sens || snr < floor {
                preset = .belowSensitivity
            } else if demodInUse[g] >= gatewayDemodulators[g] {
                preset = .noFreeDemodulator
            } else {
                demodInUse[g] += 1
                demod = true
            }
            slots[base + Int(n)] = Slot(gateway: Int32(g), rssi: rssi, mw: .nan, snr: snr, sameSum: 0, sameMax: -.infinity,
                                        interSF: (0, 0, 0, 0, 0, 0), preset: preset, demod: demod)
            n += 1
        }
        active[index] = Active(tx: t, end: end, lock: lock, slotCount: n, channelKey: Int32(truncatingIfNeeded: key), inUse: true)

        // Interference with the packets on air on this channel.
        do {
            var o = channelHead[key]
            while o >= 0 {
                let oi = Int(o)
                o = next[oi]
                let other = active[oi]
                let affectsOther = !(model.preambleRule && end <= other.lock)
                let affectsNew = !(model.preambleRule && other.end <= lock)
                if !affectsOther && !affectsNew { continue }
                let obase = oi * stride
                for a in 0..<Int(n) {
                    let ga = slots[base + a].gateway
                    for b in 0..<Int(other.slotCount) where slots[obase + b].gateway == ga {
                        if affectsOther { addInterference(slot: obase + b, wantedSF: other.tx.spreadingFactor, interferer: t.spreadingFactor, from: base + a) }
                        if affectsNew { addInterference(slot: base + a, wantedSF: t.spreadingFactor, interferer: other.tx.spreadingFactor, from: obase + b) }
                        break
                    }
                }
            }
            // Link the new packet at the head of its channel's list.
            let head = channelHead[key]
            next[index] = head
            prev[index] = -1
            if head >= 0 { prev[Int(head)] = Int32(index) }
            channelHead[key] = Int32(index)
        }
        endHeap.push(end, Int32(index))
    }

    @inline(__always)
    private func addInterference(slot: Int, wantedSF: Int, interferer: Int, from source: Int) {
        // The interferer's power in milliwatts, computed once, when it first overlaps something.
        if slots[source].mw.isNaN { slots[source].mw = exp(slots[source].rssi * 0.230_258_509_299_404_57) }  // 10^(dBm/10)
        let mw = slots[source].mw, power = slots[source].rssi
        if wantedSF == interferer {
            slots[slot].sameSum += mw
            if power > slots[slot].sameMax { slots[slot].sameMax = power }
        } else {
            switch interferer {
            case ...7: slots[slot].interSF.0 += mw
            case 8: slots[slot].interSF.1 += mw
            case 9: slots[slot].interSF.2 += mw
            case 10: slots[slot].interSF.3 += mw
            case 11: slots[slot].interSF.4 += mw
            default: slots[slot].interSF.5 += mw
            }
        }
    }

    private func finalize(_ index: Int) {
        let a = active[index]
        let key = Int(a.channelKey)
        let p = prev[index], n = next[index]
        if p >= 0 { next[Int(p)] = n } else { channelHead[key] = n }
        if n >= 0 { prev[Int(n)] = p }
        let base = index * stride
        var receptions: [GatewayReception] = []
        let detailed = detailedOutcomes && a.tx.tag >= 0
        if detailed { receptions.reserveCapacity(Int(a.slotCount)) }
        var anyReceived = false
        var bestRSSI = -Double.infinity
        var bestLoss: LossCause? = .noGateway
        for s in 0..<Int(a.slotCount) {
            let slot = slots[base + s]
            let g = Int(slot.gateway)
            if slot.demod { demodInUse[g] -= 1 }
            var loss = slot.preset
            if loss == nil, !gatewayOutages[g].isEmpty, isDown(g, from: a.tx.start, to: a.end) { loss = .gatewayDown }
            if loss == nil, transmitting(g, a.tx.start, a.end) { loss = .gatewayTransmitting }
            if loss == nil { loss = interferenceLoss(slot, sf: a.tx.spreadingFactor) }
            if let l = loss {
                gatewayLossCounts[g][l.index] += 1
            } else {
                gatewayReceived[g] += 1
                anyReceived = true
            }
            if slot.rssi > bestRSSI { bestRSSI = slot.rssi; bestLoss = loss }
            if detailed { receptions.append(GatewayReception(gateway: g, rssidBm: slot.rssi, snrdB: slot.snr, loss: loss)) }
        }
        if anyReceived { delivered += 1; deliveredPerDevice[a.tx.device] += 1 } else { lossCounts[(bestLoss ?? .noGateway).index] += 1 }
        active[index].inUse = false
        free.append(Int32(index))
        if let handler = onOutcome {
            handler(PacketOutcome(transmission: a.tx, receptions: receptions, delivered: anyReceived,
                                  loss: anyReceived ? nil : (bestLoss ?? .noGateway), bestRSSIdBm: bestRSSI))
        }
    }

    private func interferenceLoss(_ slot: Slot, sf: Int) -> LossCause? {
        if slot.sameSum > 0 {
            if model.captureEnabled {
                let interference = model.summedInterference ? 10 * log10(slot.sameSum) : slot.sameMax
                if slot.rssi - interference < model.captureThresholddB {
                    return slot.sameMax >= slot.rssi + model.captureThresholddB ? .captureLost : .collision
                }
            } else {
                return .collision
            }
        }
        if let m = model.interSF {
            let sums = [slot.interSF.0, slot.interSF.1, slot.interSF.2, slot.interSF.3, slot.interSF.4, slot.interSF.5]
            for (i, sum) in sums.enumerated() where sum > 0 && i + 7 != sf {
                if slot.rssi - 10 * log10(sum) < m.threshold(wanted: sf, interferer: i + 7) { return .interSF }
            }
        }
        return nil
    }

    private func transmitting(_ g: Int, _ start: Int64, _ end: Int64) -> Bool {
        var list = gatewayTX[g]
        if list.isEmpty { return false }
        // Forget transmissions that ended before anything still on air started.
        var drop = 0
        while drop < list.count, list[drop].end <= start, list[drop].end <= lastStart - 60 * Time.second { drop += 1 }
        if drop > 0 { list.removeFirst(drop); gatewayTX[g] = list }
        for iv in list {
            if iv.start >= end { break }
            if iv.end > start { return true }
        }
        return false
    }

    private static let emptySlot = Slot(gateway: 0, rssi: 0, mw: 0, snr: 0, sameSum: 0, sameMax: -.infinity,
                                        interSF: (0, 0, 0, 0, 0, 0), preset: nil, demod: false)

    private func rebuildSlots() {
        let old = slots, oldStride = stride
        stride = slotsPerPacket
        slots = Array(repeating: RadioChannel.emptySlot, count: active.count * stride)
        for i in 0..<active.count where active[i].inUse {
            for s in 0..<Int(active[i].slotCount) { slots[i * stride + s] = old[i * oldStride + s] }
        }
    }

    /// A standard normal draw from the device's shadowing stream (Box–Muller; each pair of uniforms gives two).
    @inline(__always)
    private func normal(device: Int) -> Double {
        let spare = spareNormal[device]
        if !spare.isNaN {
            spareNormal[device] = .nan
            return spare
        }
        let (c, s) = shadowRNG[device].nextNormalPair()
        spareNormal[device] = s
        return c
    }
}

extension LossCause {
    @inline(__always) public var index: Int {
        switch self {
        case .collision: return 0
        case .captureLost: return 1
        case .belowSensitivity: return 2
        case .noFreeDemodulator: return 3
        case .gatewayTransmitting: return 4
        case .interSF: return 5
        case .dutyCycle: return 6
        case .noGateway: return 7
        case .gatewayDown: return 8
        }
    }
}
