/// A small, fast, seedable generator (xoshiro256**, Blackman & Vigna 2018), seeded through SplitMix64.
/// Simulations use one stream per device and purpose, derived from the run's seed with `stream(_:)`, so adding
/// one device does not change another's draws.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// An independent generator for (seed, ids…): the same ids always give the same stream.
    public static func stream(seed: UInt64, _ ids: UInt64...) -> SeededRandom {
        var h = seed ^ 0x6A09_E667_F3BC_C908
        for id in ids {
            h = (h ^ id) &* 0x100_0000_01B3 &+ 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        return SeededRandom(seed: h)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 bits.
    @inline(__always)
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
