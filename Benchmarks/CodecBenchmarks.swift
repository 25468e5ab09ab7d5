import CFirmware
import Codecs

func registerCodecBenchmarks() {
    let bay = OccupancyMessage.bayState(BayState(occupied: true, changes: 1021,
                                                 history: (1...8).map { HistoryEntry(ageSeconds: UInt32($0 * 420)) }))
    var gateHistory: [HistoryEntry] = []
    for i in 1...4 {
        let n = UInt32(i)
        gateHistory.append(HistoryEntry(ageSeconds: n * 300, countIn: 5123 - 3 * n, countOut: 5098 - 2 * n))
    }
    let gate = OccupancyMessage.gateCounts(GateCounts(countIn: 5123, countOut: 5098, history: gateHistory))
    let bayBytes = (try? OccupancyCodec.encode(bay, maxBytes: 11).bytes) ?? []
    Benchmark.add("codec: Swift encode bay_state, 11-byte budget", unit: "message", iterations: 200_000) { n in
        var acc = 0
        for _ in 0..<n { acc &+= (try? OccupancyCodec.encode(bay, maxBytes: 11).bytes.count) ?? 0 }
        return acc
    }
    Benchmark.add("codec: Swift decode bay_state (11 bytes, K = 5)", unit: "message", iterations: 200_000) { n in
        var acc = 0
        for _ in 0..<n { if case .bayState(let b)? = try? OccupancyCodec.decode(port: 10, bayBytes) { acc &+= b.history.count } }
        return acc
    }
    Benchmark.add("codec: Swift encode + decode gate_counts (K = 4)", unit: "message", iterations: 100_000) { n in
        var acc = 0
        for _ in 0..<n {
            if let e = try? OccupancyCodec.encode(gate, maxBytes: 51), (try? OccupancyCodec.decode(port: 10, e.bytes)) != nil { acc &+= 1 }
        }
        return acc
    }
    var cBay = COccupancyCodec.cMessage(bay)
    Benchmark.add("codec: C encode bay_state, 11-byte budget", unit: "message", iterations: 1_000_000) { n in
        var out = [UInt8](repeating: 0, count: 64)
        var len = 0, port: UInt8 = 0, acc = 0
        for _ in 0..<n {
            _ = out.withUnsafeMutableBufferPointer { occ_encode(&cBay, 11, $0.baseAddress, $0.count, &len, &port) }
            acc &+= len
        }
        return acc
    }
    Benchmark.add("codec: C decode bay_state (11 bytes, K = 5)", unit: "message", iterations: 1_000_000) { n in
        var m = occ_message_t()
        var acc = 0
        for _ in 0..<n {
            _ = bayBytes.withUnsafeBufferPointer { occ_decode(10, $0.baseAddress, $0.count, &m) }
            acc &+= Int(m.history_len)
        }
        return acc
    }
    var cGate = COccupancyCodec.cMessage(gate)
    Benchmark.add("codec: C encode + decode gate_counts (K = 4)", unit: "message", iterations: 1_000_000) { n in
        var out = [UInt8](repeating: 0, count: 64)
        var m = occ_message_t()
        var len = 0, port: UInt8 = 0, acc = 0
        for _ in 0..<n {
            _ = out.withUnsafeMutableBufferPointer { occ_encode(&cGate, 51, $0.baseAddress, $0.count, &len, &port) }
            _ = out.withUnsafeBufferPointer { occ_decode(10, $0.baseAddress, len, &m) }
            acc &+= Int(m.history_len)
        }
        return acc
    }
}
