import LoRaWAN

func registerLoRaWANBenchmarks() {
    let keys = SessionKeys(nwkSKey: (try? AES128Key(hex: "2B7E151628AED2A6ABF7158809CF4F3C")) ?? fallbackKey(),
                           appSKey: (try? AES128Key(hex: "000102030405060708090A0B0C0D0E0F")) ?? fallbackKey())
    let payload = [UInt8](repeating: 0xA5, count: 20)
    let devAddr = DevAddr(0x2601_1BDA)
    Benchmark.add("lorawan: encode + encrypt + MIC, 20-byte uplink", unit: "frame", iterations: 200_000) { n in
        var acc = 0
        for i in 0..<n {
            if let f = try? DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: devAddr, fcnt: UInt32(i), fport: 1,
                                                  payload: payload, keys: keys) { acc &+= Int(f[f.count - 1]) }
        }
        return acc
    }
    let frames: [[UInt8]] = (0..<1024).compactMap {
        try? DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: devAddr, fcnt: UInt32($0), fport: 1, payload: payload, keys: keys)
    }
    Benchmark.add("lorawan: decode + verify MIC + decrypt, 20-byte uplink", unit: "frame", iterations: 200_000) { n in
        var acc = 0
        for i in 0..<n {
            let raw = frames[i & 1023]
            guard case .data(let f)? = try? FrameDecoder.decode(raw),
                  let o = try? DataFrameCodec.open(raw, frame: f, fcnt: UInt32(i & 1023), keys: keys) else { continue }
            acc &+= o.micValid ? 1 : 0
        }
        return acc
    }
}

private func fallbackKey() -> AES128Key {
    // Unreachable: the literal keys above are valid.
    guard let k = try? AES128Key(bytes: [UInt8](repeating: 0, count: 16)) else { preconditionFailure("16-byte key refused") }
    return k
}
