import Foundation
import HarnessCore
import RadioLink
import Testing
import TestSupport

private func modulation(_ c: [String: Any]) throws -> LoRaModulation {
    LoRaModulation(
        spreadingFactor: c["sf"] as! Int,
        bandwidth: try LoRaBandwidth.parse(c["bw"] as! String),
        codingRate: try CodingRate.parse(c["cr"] as? String ?? "4/5"),
        preambleSymbols: c["preamble"] as? Int ?? 8,
        explicitHeader: !(c["implicitHeader"] as? Bool ?? false) && (c["explicitHeader"] as? Bool ?? true),
        crc: c["crc"] as? Bool ?? true,
        lowDataRateOptimization: LowDataRateOptimization(rawValue: c["ldro"] as? String ?? "auto") ?? .auto)
}

@Suite struct AirtimeTests {
    /// Every case of the published test suites (The Things Stack, the TTN calculator, brocaar/lorawan, ns-3,
    /// LoRaMac-node), exact unless the source states a tolerance.
    @Test func publishedVectors() throws {
        let doc = try TestPaths.loadJSON("airtime/published-vectors.json") as! [String: Any]
        var checked = 0
        for group in doc["groups"] as! [[String: Any]] {
            let tolerance = Int64(group["toleranceNanoseconds"] as! Int)
            let source = group["source"] as! String
            for c in group["cases"] as! [[String: Any]] {
                let payload = c["payload"] as! Int
                let a: Airtime
                if c["fsk"] as? Bool == true {
                    a = try AirtimeCalculator.fsk(FSKModulation(), payloadBytes: payload)
                } else {
                    a = try AirtimeCalculator.lora(try modulation(c), payloadBytes: payload)
                }
                if let us = c["microseconds"] as? Int {
                    let expected = Int64(us) * 1000
                    #expect(abs(a.nanoseconds - expected) <= tolerance, "\(source): \(c)")
                }
                if let symbols = c["payloadSymbols"] as? Int {
                    #expect(a.payloadSymbols == Int64(symbols), "\(source): \(c)")
                }
                if let ms = c["loRaMacMilliseconds"] as? Int {
                    #expect(a.loRaMacMilliseconds == Int64(ms), "\(source): \(c)")
                }
                checked += 1
            }
        }
        #expect(checked == 58)
    }

    /// 4,608 cases computed with exact fractions by Fixtures/airtime/semtech_formula.py: every SF 5–12, every
    /// bandwidth, every coding rate, header/CRC/LDRO variants, preambles 6–16, and LoRaMac-node's milliseconds.
    @Test func formulaVectors() throws {
        let doc = try TestPaths.loadJSON("airtime/formula-vectors.json") as! [String: Any]
        let cases = doc["cases"] as! [[String: Any]]
        #expect(cases.count == 4608)
        var mismatches = 0
        for c in cases {
            let a = try AirtimeCalculator.lora(try modulation(c), payloadBytes: c["payload"] as! Int)
            let ok = a.nanoseconds == Int64(c["nanoseconds"] as! Int)
                && a.payloadSymbols == Int64(c["payloadSymbols"] as! Int)
                && a.lowDataRateOptimization == (c["lowDataRateOptimization"] as! Bool)
                && a.loRaMacMilliseconds == Int64(c["loRaMacMilliseconds"] as! Int)
            if !ok {
                mismatches += 1
                if mismatches <= 5 { Issue.record("mismatch for \(c): got \(a)") }
            }
        }
        #expect(mismatches == 0)
    }

    /// SX126x SF5/SF6: the preamble is raised to 12 symbols (LoRaMac-node sx126x radio.c).
    @Test func smallSpreadingFactorsRaiseThePreamble() throws {
        let m = LoRaModulation(spreadingFactor: 5, bandwidth: .bw125, preambleSymbols: 8)
        let a = try AirtimeCalculator.lora(m, payloadBytes: 10)
        #expect(a.effectivePreambleSymbols == 12)
        // 8·10 − 20 + 20 + 16 = 96 bits over 4·5 = 20 → 5 blocks × 5 + 8 + 2 = 35 symbols; (12 + 4.25 + 35)
        // × 256 µs = 13.12 ms.
        #expect(a.payloadSymbols == 35)
        #expect(a.nanoseconds == 13_120_000)
    }

    @Test func lowDataRateOptimisationFollowsSymbolTime() {
        // Tsym ≥ 16.384 ms: 125 kHz SF11 (16.384 ms) and SF12, 250 kHz SF12; not 250 kHz SF11 (8.192 ms).
        #expect(LoRaModulation(spreadingFactor: 11, bandwidth: .bw125).lowDataRateOptimizationOn)
        #expect(!LoRaModulation(spreadingFactor: 10, bandwidth: .bw125).lowDataRateOptimizationOn)
        #expect(LoRaModulation(spreadingFactor: 12, bandwidth: .bw250).lowDataRateOptimizationOn)
        #expect(!LoRaModulation(spreadingFactor: 11, bandwidth: .bw250).lowDataRateOptimizationOn)
        #expect(LoRaModulation(spreadingFactor: 10, bandwidth: .bw62_5).lowDataRateOptimizationOn)
    }

    /// Bandwidths as captures state them in whole hertz: 500 kHz divided by the divisor, rounded (the definition,
    /// SX1276 datasheet Table 12's list); anything else is not a LoRa bandwidth.
    @Test func bandwidthFromWholeHertz() {
        for bw in LoRaBandwidth.allCases {
            #expect(LoRaBandwidth(hertz: Int((500_000.0 / Double(bw.rawValue)).rounded())) == bw)
        }
        #expect(LoRaBandwidth(hertz: 300_000) == nil && LoRaBandwidth(hertz: 125) == nil)
    }

    @Test func symbolTimesAreExactForEveryBandwidth() {
        // Tsym = 2^SF / BW: SF7 at 7.8125 kHz = 128 / 7812.5 s = 16.384 ms; SF12 at 500 kHz = 8.192 ms.
        #expect(LoRaModulation(spreadingFactor: 7, bandwidth: .bw7_8).symbolNanoseconds == 16_384_000)
        #expect(LoRaModulation(spreadingFactor: 12, bandwidth: .bw500).symbolNanoseconds == 8_192_000)
        // 10.4 kHz = 500/48 kHz: SF7 → 128 × 48 / 500000 s = 12.288 ms.
        #expect(LoRaModulation(spreadingFactor: 7, bandwidth: .bw10_4).symbolNanoseconds == 12_288_000)
    }

    @Test func fskAsLoRaMacNode() throws {
        // (PL + 5 preamble + 3 sync + 1 length + 2 CRC) × 8 bits at 50 kbit/s (20 µs a bit):
        // 24 bytes → 280 bits → 5.6 ms; LoRaMac-node rounds up to 6 ms.
        let a = try AirtimeCalculator.fsk(FSKModulation(), payloadBytes: 24)
        #expect(a.nanoseconds == 5_600_000)
        #expect(a.loRaMacMilliseconds == 6)
    }

    @Test func rejectsBadInput() {
        #expect(throws: InputError.self) { try AirtimeCalculator.lora(.init(spreadingFactor: 13, bandwidth: .bw125), payloadBytes: 10) }
        #expect(throws: InputError.self) { try AirtimeCalculator.lora(.init(spreadingFactor: 7, bandwidth: .bw125), payloadBytes: 256) }
        #expect(throws: InputError.self) { try AirtimeCalculator.lora(.init(spreadingFactor: 7, bandwidth: .bw125), payloadBytes: -1) }
        #expect(throws: InputError.self) { try LoRaBandwidth.parse("300") }
        #expect(throws: InputError.self) { try CodingRate.parse("4/9") }
    }

    @Test(arguments: [("125", LoRaBandwidth.bw125), ("125kHz", .bw125), ("7.8", .bw7_8), ("7812.5", .bw7_8),
                      ("500000", .bw500), ("31.25k", .bw31_25)])
    func parsesBandwidths(text: String, bw: LoRaBandwidth) throws {
        #expect(try LoRaBandwidth.parse(text) == bw)
    }
}
