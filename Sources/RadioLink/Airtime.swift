import HarnessCore

/// The time on air of one packet, with how it was made up.
public struct Airtime: Sendable, Hashable, Codable {
    @inlinable
    public init(nanoseconds: Nanoseconds, symbolNanoseconds: Nanoseconds, preambleQuarterSymbols: Int64,
                payloadSymbols: Int64, effectivePreambleSymbols: Int, lowDataRateOptimization: Bool,
                loRaMacMilliseconds: Int64) {
        self.nanoseconds = nanoseconds
        self.symbolNanoseconds = symbolNanoseconds
        self.preambleQuarterSymbols = preambleQuarterSymbols
        self.payloadSymbols = payloadSymbols
        self.effectivePreambleSymbols = effectivePreambleSymbols
        self.lowDataRateOptimization = lowDataRateOptimization
        self.loRaMacMilliseconds = loRaMacMilliseconds
    }

    /// Exact time on air in nanoseconds.
    public var nanoseconds: Nanoseconds
    /// Symbol time in nanoseconds (0 for FSK).
    public var symbolNanoseconds: Nanoseconds
    /// Preamble length in quarter symbols, including the 4.25 symbols of sync word and SFD
    /// (so 8 programmed symbols give 49 quarters = 12.25 symbols).
    public var preambleQuarterSymbols: Int64
    /// Symbols after the preamble: 8 header/start symbols plus the coded payload (SF5/SF6: plus 2).
    public var payloadSymbols: Int64
    /// The preamble length the radio actually sends (SX126x raises it to 12 for SF5/SF6).
    public var effectivePreambleSymbols: Int
    public var lowDataRateOptimization: Bool
    /// LoRaMac-node's value: whole milliseconds, rounded up with integer arithmetic, as firmware schedules with.
    public var loRaMacMilliseconds: Int64

    public var preambleSymbols: Double { Double(preambleQuarterSymbols) / 4 }
    public var totalSymbols: Double { preambleSymbols + Double(payloadSymbols) }
    public var preambleNanoseconds: Nanoseconds { preambleQuarterSymbols * symbolNanoseconds / 4 }
    public var payloadNanoseconds: Nanoseconds { nanoseconds - preambleNanoseconds }
}

public enum AirtimeCalculator {
    /// Largest PHY payload a LoRa radio sends (an 8-bit length field).
    public static let maxPayloadBytes = 255

    /// LoRa time on air (Semtech AN1200.13; SX1276 datasheet §4.1.1.6; SX126x datasheet §6.1.4):
    ///
    ///     Tsym      = 2^SF / BW
    ///     Tpreamble = (Npreamble + 4.25) · Tsym
    ///     Npayload  = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
    ///
    /// For SF5 and SF6 the SX126x rules apply (as LoRaMac-node's src/radio/sx126x/radio.c computes them):
    /// the preamble is at least 12 symbols, the numerator drops its +8 term, the denominator is 4·SF
    /// (no low-data-rate term) and 2 symbols are added.
    public static func lora(_ m: LoRaModulation, payloadBytes: Int) throws(InputError) -> Airtime {
        try m.validate()
        guard (0...maxPayloadBytes).contains(payloadBytes) else {
            throw InputError("payload of \(payloadBytes) bytes is not allowed; allowed: 0 to \(maxPayloadBytes) bytes")
        }
        return loraUnchecked(m, payloadBytes: payloadBytes)
    }

    /// The same, for callers that validated their inputs already (the simulator's hot path).
    @inlinable
    public static func loraUnchecked(_ m: LoRaModulation, payloadBytes: Int) -> Airtime {
        let sf = Int64(m.spreadingFactor)
        let pl = Int64(payloadBytes)
        let crc: Int64 = m.crc ? 1 : 0
        let ih: Int64 = m.explicitHeader ? 0 : 1
        let de: Int64 = m.lowDataRateOptimizationOn ? 1 : 0
        let cr = Int64(m.codingRate.rawValue)
        let smallSF = sf <= 6
        let preamble = smallSF ? max(m.preambleSymbols, 12) : m.preambleSymbols

        let numerator: Int64
        let denominator: Int64
        if smallSF {
            numerator = 8 * pl - 4 * sf + 20 * (1 - ih) + 16 * crc
            denominator = 4 * sf
        } else {
            numerator = 8 * pl - 4 * sf + 28 + 16 * crc - 20 * ih
            denominator = 4 * (sf - 2 * de)
        }
        let blocks = numerator > 0 ? (numerator + denominator - 1) / denominator : 0
        let payloadSymbols = 8 + blocks * (cr + 4) + (smallSF ? 2 : 0)
        let preambleQuarters = 4 * Int64(preamble) + 17
        let quarters = preambleQuarters + 4 * payloadSymbols
        let tsym = m.symbolNanoseconds
        let ns = quarters * (tsym / 4)  // tsym is a multiple of 8000 ns, so tsym/4 is exact

        // LoRaMac-node: ceil(1000 · quarters · 2^(SF−2) / BW_Hz) with its whole-hertz bandwidths.
        let macNumerator = 1000 * quarters * (Int64(1) << (sf - 2))
        let bwHz = m.bandwidth.loRaMacHertz
        let ms = (macNumerator + bwHz - 1) / bwHz

        return Airtime(nanoseconds: ns, symbolNanoseconds: tsym, preambleQuarterSymbols: preambleQuarters,
                       payloadSymbols: payloadSymbols, effectivePreambleSymbols: preamble,
                       lowDataRateOptimization: smallSF ? false : de == 1, loRaMacMilliseconds: ms)
    }

    /// FSK time on air as LoRaMac-node computes it (`RadioGetGfskTimeOnAirNumerator`, src/radio/sx126x/radio.c):
    /// bits = 8 · (preamble + sync word + length byte + payload + 2-byte CRC); time = bits / bitrate.
    public static func fsk(_ f: FSKModulation, payloadBytes: Int) throws(InputError) -> Airtime {
        guard (0...maxPayloadBytes).contains(payloadBytes) else {
            throw InputError("payload of \(payloadBytes) bytes is not allowed; allowed: 0 to \(maxPayloadBytes) bytes")
        }
        guard f.bitrate > 0 else { throw InputError("FSK bitrate must be positive") }
        let bytes = Int64(f.preambleBytes + f.syncWordBytes + (f.variableLength ? 1 : 0) + payloadBytes + (f.crc ? 2 : 0))
        let bits = 8 * bytes
        // 1e9 / 50000 = 20000 ns per bit exactly; for other bitrates the result is rounded up to the nanosecond.
        let ns = (bits * Time.second + f.bitrate - 1) / f.bitrate
        let ms = (bits * 1000 + f.bitrate - 1) / f.bitrate
        return Airtime(nanoseconds: ns, symbolNanoseconds: 0, preambleQuarterSymbols: 0, payloadSymbols: 0,
                       effectivePreambleSymbols: f.preambleBytes * 8, lowDataRateOptimization: false,
                       loRaMacMilliseconds: ms)
    }

    public static func airtime(_ modulation: Modulation, payloadBytes: Int) throws(InputError) -> Airtime {
        switch modulation {
        case .lora(let m): return try lora(m, payloadBytes: payloadBytes)
        case .fsk(let f): return try fsk(f, payloadBytes: payloadBytes)
        case .lrFHSS:
            throw InputError("time on air for LR-FHSS data rates is not modelled; choose a LoRa or FSK data rate")
        }
    }
}
