import Crypto
import CryptoExtras
import LoRaWAN

func registerCryptoPartBenchmarks() {
    let sk = SymmetricKey(data: [UInt8](repeating: 7, count: 16))
    Benchmark.add("lorawan parts: swift-crypto AES.permute, one block", unit: "block", iterations: 500_000) { n in
        var b = [UInt8](repeating: 1, count: 16)
        for _ in 0..<n { try? AES.permute(&b, key: sk) }
        return Int(b[0])
    }
    let template = try? AES.CMAC(key: sk)
    let msg = [UInt8](repeating: 3, count: 45)
    Benchmark.add("lorawan parts: swift-crypto AES.CMAC over 45 bytes", unit: "mac", iterations: 300_000) { n in
        var acc = 0
        for _ in 0..<n {
            guard var m = template else { return 0 }
            msg.withUnsafeBytes { m.update(bufferPointer: $0) }
            acc &+= m.finalize().withUnsafeBytes { Int($0[0]) }
        }
        return acc
    }
}
