import Foundation

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

    /// An independent generator for (seed, ids…): the same seed and ids always give the same stream, and any
    /// other seed or ids an unrelated one. Seed and each id go through splitmix64's finaliser (Steele, Lea and Flood,
    /// "Fast splittable pseudorandom number generators", OOPSLA 2014) before they are combined: a plain XOR of seed
    /// and id made seed 1 of device 2 the stream of seed 2 of device 1, so consecutive seeds only shuffled a fleet's
    /// streams among its devices instead of giving a new run.
    public static func stream(seed: UInt64, _ ids: UInt64...) -> SeededRandom {
        var h = mix(seed &+ 0x6A09_E667_F3BC_C908)
        for id in ids {
            h = mix(h ^ mix(id &+ 0x9E37_79B9_7F4A_7C15))
        }
        return SeededRandom(seed: h)
    }

    /// A seed for a sub-run (a replica, a device) derived from (seed, ids…) by the same mixing as `stream`.
    public static func derive(seed: UInt64, _ ids: UInt64...) -> UInt64 {
        var h = mix(seed &+ 0x6A09_E667_F3BC_C908)
        for id in ids { h = mix(h ^ mix(id &+ 0x9E37_79B9_7F4A_7C15)) }
        return mix(h &+ 0xD1B5_4A32_D192_ED03)
    }

    /// splitmix64's finaliser: a bijection of 64-bit words whose every output bit depends on every input bit.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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

    /// A standard normal draw: Box–Muller, the cosine branch of one pair of uniforms (the simulation's one
    /// normal draw; `nextNormalPair` gives both branches).
    @inline(__always)
    public mutating func nextNormal() -> Double {
        let u1 = max(nextDouble(), 1e-300), u2 = nextDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Both Box–Muller draws of one pair of uniforms (cosine, sine): two independent standard normals.
    @inline(__always)
    public mutating func nextNormalPair() -> (Double, Double) {
        let u1 = max(nextDouble(), 1e-300), u2 = nextDouble()
        let r = (-2 * log(u1)).squareRoot(), a = 2 * Double.pi * u2
        return (r * cos(a), r * sin(a))
    }

    /// An exponential draw with mean 1 (inversion; a uniform of 0 is taken as 1e-300).
    @inline(__always)
    public mutating func nextExponential() -> Double { -log(max(nextDouble(), 1e-300)) }
}
