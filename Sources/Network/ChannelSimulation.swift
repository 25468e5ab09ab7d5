import Foundation
import HarnessCore
import RadioLink
import SimKernel

/// Synthetic traffic on the radio channel: the engine of issue "radio channel", before the firmware-in-the-loop
/// devices take the transmitters' place.
public struct ChannelSimulation {
    public struct DeviceResult: Sendable, Codable {
        public var device: Int
        public var group: String
        public var x: Double
        public var y: Double
        public var sf: Int
        public var generated: Int
        public var transmitted: Int
        public var delivered: Int
        public var dutyCycleDelayed: Int
        public var dutyCycleDropped: Int
        public var airtimeNanoseconds: Nanoseconds
        public var bestGatewayLossdB: Double?
    }

    public struct Report: Sendable, Codable {
        public struct PerSF: Sendable, Codable { public var sf: Int; public var generated: Int; public var delivered: Int }
        public struct PerGateway: Sendable, Codable {
            public var name: String
            public var received: Int
            public var losses: [String: Int]
        }
        public var scenario: String
        public var seed: UInt64
        public var durationNanoseconds: Nanoseconds
        public var devices: Int
        public var generated: Int
        public var transmitted: Int
        public var delivered: Int
        public var deliveryRatio: Double
        public var losses: [String: Int]
        public var dutyCycleDelayed: Int
        public var perSF: [PerSF]
        public var perGateway: [PerGateway]
        public var airtimeNanoseconds: Nanoseconds
        /// Mean share of time on air per device (airtime / duration).
        public var meanDutyCycleUse: Double
        /// The largest share of time on air of any device.
        public var maxDutyCycleUse: Double
    }

    public let scenario: Scenario
    public private(set) var deviceResults: [DeviceResult] = []

    public init(scenario: Scenario) { self.scenario = scenario }

    /// Runs for the scenario's duration (or `duration`), with its seed (or `seed`).
    public mutating func run(duration: Nanoseconds? = nil, seed: UInt64? = nil, progress: ((SimulationProgress) -> Void)? = nil) -> Report {
        let seed = seed ?? scenario.seed
        let duration = duration ?? scenario.duration
        let channel = RadioChannel(model: scenario.model, gateways: scenario.gateways, seed: seed)
        channel.detailedOutcomes = false

        // Devices: positions, SF, airtime, channel list, streams.
        struct Dev {
            var group: Int
            var interval: Int64
            var exponentialTraffic: Bool
            var jitter: Int64
            var payload: Int
            var freqStart: Int
            var freqCount: Int
            var sf: Int
            var bw: LoRaBandwidth
            var airtime: Int64
            var power: Double
            var traffic: SeededRandom
            var channelPick: SeededRandom
            var tracker: DutyCycleTracker?
            var pendingFrequency: Int64 = 0
            var pendingGeneration: Int64 = -1
            var generation: Int64 = 0
        }
        var devs: [Dev] = []
        var results: [DeviceResult] = []
        var groupFrequencies: [Int64] = []
        var groupFreqStart: [Int] = []
        for g in scenario.groups {
            groupFreqStart.append(groupFrequencies.count)
            groupFrequencies += g.frequencies
        }
        devs.reserveCapacity(scenario.deviceCount)
        results.reserveCapacity(scenario.deviceCount)
        for (gi, g) in scenario.groups.enumerated() {
            for k in 0..<g.count {
                let id = devs.count
                var place = SeededRandom.stream(seed: seed, UInt64(id), 3)
                let (x, y) = g.placement.position(k, rng: &place)
                channel.addDevice(x: x, y: y, maxTxPowerdBm: g.txPowerdBm)
                let links = channel.links(device: id)
                let bestLoss = links.map(\.lossdB).min()
                let (sf, bw): (Int, LoRaBandwidth)
                switch g.radio {
                case .fixed(let s, let b): (sf, bw) = (s, b)
                case .random(let sfs, let b):
                    var pick = SeededRandom.stream(seed: seed, UInt64(id), 4)
                    (sf, bw) = (sfs[Int(pick.next() % UInt64(sfs.count))], b)
                case .auto(let margin, let b):
                    var chosen = 12
                    if let loss = bestLoss {
                        for s in 7...12 where g.txPowerdBm - loss >= scenario.model.receiver.sensitivitydBm(sf: s, bandwidth: b) + margin {
                            chosen = s
                            break
                        }
                    }
                    (sf, bw) = (chosen, b)
                }
                let m = LoRaModulation(spreadingFactor: sf, bandwidth: bw, codingRate: g.codingRate)
                let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: g.traffic.payloadBytes).nanoseconds
                let tracker: DutyCycleTracker? = g.dutyCycle == .none ? nil : DutyCycleTracker(policy: g.dutyCycle, bands: scenario.subBands)
                devs.append(Dev(group: gi, interval: g.traffic.interval, exponentialTraffic: g.traffic.distribution == .exponential,
                                jitter: g.traffic.jitter, payload: g.traffic.payloadBytes, freqStart: groupFreqStart[gi],
                                freqCount: g.frequencies.count, sf: sf, bw: bw, airtime: airtime, power: g.txPowerdBm,
                                traffic: SeededRandom.stream(seed: seed, UInt64(id), 1),
                                channelPick: SeededRandom.stream(seed: seed, UInt64(id), 2), tracker: tracker))
                results.append(DeviceResult(device: id, group: g.name, x: x, y: y, sf: sf, generated: 0, transmitted: 0, delivered: 0,
                                            dutyCycleDelayed: 0, dutyCycleDropped: 0, airtimeNanoseconds: 0, bestGatewayLossdB: bestLoss))
            }
        }

        var perSFGenerated = [Int](repeating: 0, count: 13)
        var dutyDropped = 0
        var generatedCount = ContiguousArray<Int>(repeating: 0, count: devs.count)
        var transmittedCount = ContiguousArray<Int>(repeating: 0, count: devs.count)

        // Events: id = device × 2 (generate) or × 2 + 1 (send a packet the duty cycle held back).
        var heap = TimeHeap(capacity: devs.count)
        for i in 0..<devs.count {
            // The first packet of each device comes at a uniform time within its first interval.
            let first = Int64(Double(devs[i].interval) * devs[i].traffic.nextDouble())
            heap.push(first, Int32(i * 2))
        }
        var nextDownlink: [Int64] = []
        var dlRNG: [SeededRandom] = []
        for (g, dl) in scenario.downlinks.enumerated() {
            var r = SeededRandom.stream(seed: seed, 0xD0, UInt64(g))
            nextDownlink.append(dl.map { Int64(r.nextExponential() * 3600e9 / max($0.perHour, 1e-9)) } ?? .max)
            dlRNG.append(r)
        }
        let lookahead = 10 * Time.second
        var lastProgress = 0.0

        while let t = heap.minTime, t < duration, let id = heap.minID {
            let dev = Int(id >> 1)
            let deferred = id & 1 == 1
            // Gateway downlinks scheduled up to shortly after now.
            for g in 0..<nextDownlink.count where nextDownlink[g] <= t + lookahead {
                while nextDownlink[g] <= t + lookahead, let dl = scenario.downlinks[g] {
                    channel.gatewayTransmits(g, start: nextDownlink[g], end: nextDownlink[g] + dl.airtime)
                    nextDownlink[g] += max(1, Int64(dlRNG[g].nextExponential() * 3600e9 / max(dl.perHour, 1e-9)))
                }
            }
            var sendFrequency: Int64? = nil
            if deferred {
                heap.pop()
                if devs[dev].pendingGeneration >= 0 { sendFrequency = devs[dev].pendingFrequency; devs[dev].pendingGeneration = -1 }
            } else {
                // Next generation.
                let next: Int64
                if devs[dev].exponentialTraffic {
                    next = t + max(1, Int64(devs[dev].traffic.nextExponential() * Double(devs[dev].interval)))
                } else {
                    let jitter = devs[dev].jitter
                    let j = jitter > 0 ? Int64((devs[dev].traffic.nextDouble() * 2 - 1) * Double(jitter)) : 0
                    next = t + max(1, devs[dev].interval + j)
                }
                heap.replaceMin(next, id)
                generatedCount[dev] += 1
                let f = groupFrequencies[devs[dev].freqStart + Int(devs[dev].channelPick.next() % UInt64(devs[dev].freqCount))]
                if devs[dev].pendingGeneration >= 0 {
                    // A held-back packet is replaced by the newer one.
                    results[dev].dutyCycleDropped += 1
                    dutyDropped += 1
                    devs[dev].pendingGeneration = -1
                }
                if devs[dev].tracker != nil {
                    let airtime = devs[dev].airtime
                    let answer = devs[dev].tracker?.earliestStart(frequencyHz: f, airtime: airtime, now: t) ?? .at(t)
                    switch answer {
                    case .at(let at) where at <= t:
                        sendFrequency = f
                    case .at(let at):
                        results[dev].dutyCycleDelayed += 1
                        devs[dev].generation += 1
                        devs[dev].pendingGeneration = devs[dev].generation
                        devs[dev].pendingFrequency = f
                        heap.push(at, Int32(dev * 2 + 1))
                    case .never:
                        results[dev].dutyCycleDropped += 1
                        dutyDropped += 1
                    }
                } else {
                    sendFrequency = f
                }
            }
            if let f = sendFrequency {
                let airtime = devs[dev].airtime
                devs[dev].tracker?.record(frequencyHz: f, start: t, airtime: airtime)
                transmittedCount[dev] += 1
                channel.transmit(Transmission(device: dev, start: t, airtime: airtime, frequencyHz: f, spreadingFactor: devs[dev].sf,
                                              bandwidth: devs[dev].bw, txPowerdBm: devs[dev].power, payloadBytes: devs[dev].payload))
            }
            if let progress, Double(t) / Double(duration) - lastProgress >= 0.01 {
                lastProgress = Double(t) / Double(duration)
                progress(SimulationProgress(share: lastProgress, uplinks: channel.sent))
            }
        }
        channel.finish()
        var perSFDelivered = [Int](repeating: 0, count: 13)
        for i in 0..<results.count {
            results[i].generated = generatedCount[i]
            results[i].transmitted = transmittedCount[i]
            results[i].airtimeNanoseconds = Int64(transmittedCount[i]) * devs[i].airtime
            results[i].delivered = channel.deliveredPerDevice[i]
            perSFGenerated[devs[i].sf] += generatedCount[i]
            perSFDelivered[devs[i].sf] += channel.deliveredPerDevice[i]
        }
        deviceResults = results

        let generated = results.reduce(0) { $0 + $1.generated }
        var losses: [String: Int] = [:]
        for (k, v) in channel.losses { losses[k.rawValue] = v }
        if dutyDropped > 0 { losses[LossCause.dutyCycle.rawValue] = dutyDropped }
        let uses = results.map { Double($0.airtimeNanoseconds) / Double(duration) }
        return Report(
            scenario: scenario.name, seed: seed, durationNanoseconds: duration, devices: results.count, generated: generated,
            transmitted: channel.sent, delivered: channel.delivered,
            deliveryRatio: generated > 0 ? Double(channel.delivered) / Double(generated) : 0,
            losses: losses, dutyCycleDelayed: results.reduce(0) { $0 + $1.dutyCycleDelayed },
            perSF: (7...12).compactMap { perSFGenerated[$0] > 0 ? Report.PerSF(sf: $0, generated: perSFGenerated[$0], delivered: perSFDelivered[$0]) : nil },
            perGateway: scenario.gateways.enumerated().map { g, spec in
                Report.PerGateway(name: spec.name, received: channel.gatewayReceived[g],
                                  losses: Dictionary(uniqueKeysWithValues: channel.gatewayLosses[g].map { ($0.key.rawValue, $0.value) }))
            },
            airtimeNanoseconds: channel.airtimeTotal,
            meanDutyCycleUse: uses.isEmpty ? 0 : uses.reduce(0, +) / Double(uses.count),
            maxDutyCycleUse: uses.max() ?? 0)
    }
}


extension ChannelSimulation.Report {
    public var text: String {
        var out = "Scenario \(scenario): \(devices) devices, \(DurationFormat.human(durationNanoseconds)) simulated, seed \(seed)\n"
        out += "  generated   \(generated)\n  transmitted \(transmitted)\n  delivered   \(delivered)\n"
        out += String(format: "  delivery ratio %.4f\n", deliveryRatio)
        if dutyCycleDelayed > 0 { out += "  held back by the duty cycle \(dutyCycleDelayed)\n" }
        out += "  airtime \(DurationFormat.human(airtimeNanoseconds)); per device: mean \(String(format: "%.4f", meanDutyCycleUse * 100)) %, max \(String(format: "%.4f", maxDutyCycleUse * 100)) % of the time\n"
        if !losses.isEmpty {
            out += "\nLosses by cause\n"
            var t = TextTable(["cause", "packets", "share"], alignments: [.left, .right, .right])
            for (k, v) in losses.sorted(by: { $0.value > $1.value }) {
                t.add([k, String(v), String(format: "%.2f %%", generated > 0 ? 100 * Double(v) / Double(generated) : 0)])
            }
            out += t.render(indent: "  ")
        }
        out += "\nPer spreading factor\n"
        var sfT = TextTable(["SF", "generated", "delivered", "ratio"])
        for s in perSF {
            sfT.add(["SF\(s.sf)", String(s.generated), String(s.delivered), String(format: "%.4f", s.generated > 0 ? Double(s.delivered) / Double(s.generated) : 0)])
        }
        out += sfT.render(indent: "  ")
        out += "\nPer gateway\n"
        let causes = LossCause.allCases.map(\.rawValue).filter { c in perGateway.contains { ($0.losses[c] ?? 0) > 0 } }
        var gT = TextTable(["gateway", "received"] + causes)
        for g in perGateway { gT.add([g.name, String(g.received)] + causes.map { String(g.losses[$0] ?? 0) }) }
        out += gT.render(indent: "  ")
        return out
    }
}

extension ChannelSimulation {
    /// Per-device results as CSV (RFC 4180; a header line, one line per device).
    public func csv() -> String {
        var out = "device,group,x_m,y_m,sf,generated,transmitted,delivered,delivery_ratio,duty_cycle_delayed,duty_cycle_dropped,airtime_s,best_gateway_loss_db\n"
        for r in deviceResults {
            let ratio = r.generated > 0 ? Double(r.delivered) / Double(r.generated) : 0
            let group = CSV.field(r.group)
            out += "\(r.device),\(group),\(String(format: "%.1f", r.x)),\(String(format: "%.1f", r.y)),\(r.sf),\(r.generated),\(r.transmitted),\(r.delivered),"
            out += String(format: "%.4f", ratio) + ",\(r.dutyCycleDelayed),\(r.dutyCycleDropped),\(DurationFormat.seconds(r.airtimeNanoseconds, digits: 6)),"
            out += r.bestGatewayLossdB.map { String(format: "%.2f", $0) } ?? ""
            out += "\n"
        }
        return out
    }
}
