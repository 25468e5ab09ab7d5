import Foundation
import HarnessCore
import RadioLink
import Testing

@Suite struct BudgetTests {
    @Test func phyPayloadSize() {
        // MHDR 1 + FHDR 7 + FOpts + FPort 1 + FRMPayload + MIC 4 (LoRaWAN 1.0.4 §4).
        #expect(PayloadBudget.phyPayloadBytes(applicationBytes: 11, foptsBytes: 0) == 24)
        #expect(PayloadBudget.phyPayloadBytes(applicationBytes: 11, foptsBytes: 3) == 27)
        #expect(PayloadBudget.phyPayloadBytes(applicationBytes: 0, foptsBytes: 2) == 14)
    }

    /// An 11-byte bay-sensor uplink in EU868. Airtimes from the Semtech formula for a 24-byte PHYPayload
    /// (SF12: 33 payload symbols × 32.768 ms + 12.25 preamble symbols = 1482.752 ms; SF7: 61.696 ms);
    /// uplinks per hour = ⌊3600 s / (ToA × 100)⌋ at 1 %; per day = ⌊30 s / ToA⌋.
    @Test func euBaySensor() throws {
        let q = try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: 11)
        let rows = PayloadBudget.table(q)
        let dr0 = try #require(rows.first { $0.dataRate == 0 })
        #expect(dr0.airtimeNanoseconds == 1_482_752_000)
        #expect(dr0.uplinksPerHour == 24)
        #expect(dr0.uplinksPerDayFairUse == 20)
        #expect(dr0.offTimeNanoseconds == 146_792_448_000)
        let dr5 = try #require(rows.first { $0.dataRate == 5 })
        #expect(dr5.airtimeNanoseconds == 61_696_000)
        #expect(dr5.uplinksPerHour == 583)    // 3600 / 6.1696 = 583.5
        #expect(dr5.uplinksPerDayFairUse == 486)  // 30 / 0.061696 = 486.26
    }

    @Test func doesNotFit() throws {
        let q = try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: 60)
        #expect(PayloadBudget.dataRatesThatFit(q).filter { $0 <= 7 } == [3, 4, 5, 6, 7])
        let withFOpts = try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: 48, foptsBytes: 5)
        #expect(PayloadBudget.maxApplicationBytes(region: withFOpts.region, dr: 0, foptsBytes: 5) == 46)
        #expect(!PayloadBudget.table(withFOpts)[0].fits)
    }

    @Test func dwellLimitMarksLongPackets() throws {
        // AS923 DR2 (SF10/125) with dwell: N = 11; an 11-byte uplink is 24 bytes on air: 370.688 ms < 400 ms.
        let q = try BudgetQuery(region: RegionID.as923_1.parameters, applicationBytes: 11, dwell: true)
        let dr2 = try #require(PayloadBudget.table(q).first { $0.dataRate == 2 })
        #expect(dr2.fits && !dr2.exceedsDwellLimit)
        #expect(dr2.airtimeNanoseconds == 370_688_000)
        #expect(PayloadBudget.table(q)[0].maxApplicationBytes == nil)
    }

    @Test func rejectsBadQueries() {
        #expect(throws: InputError.self) { try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: -1) }
        #expect(throws: InputError.self) { try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: 1, foptsBytes: 16) }
        #expect(throws: InputError.self) { try BudgetQuery(region: RegionID.eu868.parameters, applicationBytes: 1, dwell: true) }
    }
}

@Suite struct LinkBudgetTests {
    @Test func pathLossPresets() {
        // Oulu: 128.95 dB at 1 km, + 10 · 2.32 dB per decade → 152.15 dB at 10 km.
        #expect(abs(PathLossModel.oulu.meanLossdB(meters: 1000) - 128.95) < 1e-9)
        #expect(abs(PathLossModel.oulu.meanLossdB(meters: 10_000) - 152.15) < 1e-9)
        // LoRaSim: 127.41 dB at 40 m, + 20.8 dB per decade → 148.21 dB at 400 m.
        #expect(abs(PathLossModel.loraSim.meanLossdB(meters: 400) - 148.21) < 1e-9)
        #expect(abs(PathLossModel.oulu.distanceMeters(forLossdB: 152.15) - 10_000) < 1e-6)
    }

    @Test func noiseAndSNR() {
        // −174 + 10·log10(125000) + 6 = −117.0309 dBm.
        #expect(abs(LinkBudget.noiseFloordBm(bandwidthHz: 125_000, noiseFigure: 6) - (-117.03089987)) < 1e-6)
        // SX1276 Table 13: SF7 −7.5 dB … SF12 −20 dB.
        #expect(LinkBudget.snrFloordB(sf: 7) == -7.5)
        #expect(LinkBudget.snrFloordB(sf: 12) == -20)
    }

    @Test func marginAndRange() {
        // 14 dBm at 1 km (Oulu 128.95 dB) into an SX1302 at SF12 (−141 dBm): −114.95 dBm, margin 26.05 dB.
        let r = LinkBudget.evaluate(txPowerdBm: 14, meters: 1000, sf: 12, bandwidth: .bw125,
                                    receiver: .sx1302, pathLoss: .oulu)
        #expect(abs(r.receivedPowerdBm - (-114.95)) < 1e-9)
        #expect(abs(r.margindB - 26.05) < 1e-9)
        #expect(r.receivable)
        // Range where the loss is 155 dB: 1000 · 10^((155 − 128.95)/23.2) m.
        #expect(abs(r.rangeMeters - 1000 * pow(10, 26.05 / 23.2)) < 1e-6)
        #expect(ReceiverModel.sx1276.sensitivitydBm(sf: 12, bandwidth: .bw125) == -136)
    }
}
