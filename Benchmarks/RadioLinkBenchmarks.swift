import RadioLink

func registerRadioLinkBenchmarks() {
    let mods = (7...12).map { LoRaModulation(spreadingFactor: $0, bandwidth: .bw125) }
    Benchmark.add("radio: airtime, exact ns (SF7–12, 1–255 bytes)", iterations: 2_000_000) { n in
        var acc = 0
        for i in 0..<n {
            acc &+= Int(AirtimeCalculator.loraUnchecked(mods[i % 6], payloadBytes: i & 0xFF).nanoseconds)
        }
        return acc
    }
    Benchmark.add("radio: airtime with validation", iterations: 1_000_000) { n in
        var acc = 0
        for i in 0..<n {
            acc &+= Int((try? AirtimeCalculator.lora(mods[i % 6], payloadBytes: i & 0xFF))?.nanoseconds ?? 0)
        }
        return acc
    }
    let eu = RegionID.eu868.parameters
    Benchmark.add("radio: budget table, EU868 all DRs (one query)", unit: "query", iterations: 20_000) { n in
        var acc = 0
        for i in 0..<n {
            guard let q = try? BudgetQuery(region: eu, applicationBytes: i % 50) else { continue }
            acc &+= PayloadBudget.table(q).count
        }
        return acc
    }
    Benchmark.add("radio: max application payload lookup", iterations: 2_000_000) { n in
        var acc = 0
        for i in 0..<n { acc &+= eu.maxApplicationPayload(dr: i & 7) ?? 0 }
        return acc
    }
    let bands = eu.subBands
    Benchmark.add("radio: duty-cycle tracker, time credit, ask + record", iterations: 1_000_000) { n in
        var t = DutyCycleTracker(policy: .timeCredit, bands: bands)
        var now: Int64 = 0
        var acc = 0
        for _ in 0..<n {
            if let at = t.earliestStart(frequencyHz: 868_100_000, airtime: 61_696_000, now: now).time {
                t.record(frequencyHz: 868_100_000, start: at, airtime: 61_696_000)
                now = at + 61_696_000
                acc &+= 1
            }
        }
        return acc
    }
}
