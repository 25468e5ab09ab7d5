import HarnessCore
import RadioLink
import Testing

/// Region tables against the numbers of LoRaWAN Regional Parameters RP002-1.0.4 (N = M − 8), cross-checked with
/// The Things Stack pkg/band/*_rp2_v1_0_4.go and LoRaMac-node src/mac/region/Region*.h.
@Suite struct RegionTests {
    // (region, N per uplink DR without repeater and dwell time off) — RP002-1.0.4 tables of §2.4.6, §2.5.6,
    // §2.6.6, §2.7.6, §2.11.6, §2.12.6 (M values 59/123/250 → N 51/115/242; US915 DR0 M 19 → 11).
    @Test(arguments: [
        (RegionID.eu868, [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 6: 242, 7: 242]),
        (.us915, [0: 11, 1: 53, 2: 125, 3: 242, 4: 242, 8: 53, 9: 129, 10: 242, 13: 242]),
        (.au915, [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 6: 242, 8: 53, 9: 129, 13: 242]),
        (.as923_1, [0: 51, 1: 51, 2: 115, 3: 115, 4: 242, 5: 242, 6: 242, 7: 242]),
        (.as923_3, [0: 51, 1: 51, 2: 115, 3: 115, 4: 242, 5: 242, 6: 242, 7: 242]),
        (.in865, [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 7: 242]),
        (.kr920, [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242]),
    ])
    func maxPayloadNoDwell(region: RegionID, expected: [Int: Int]) {
        let r = region.parameters
        for (dr, n) in expected {
            #expect(r.maxApplicationPayload(dr: dr, dwell: false) == n, "\(region.rawValue) DR\(dr)")
        }
    }

    @Test func dwellTimeTables() {
        // AS923 with uplink dwell time: DR0/DR1 not allowed, DR2 11, DR3 53, DR4 125, DR5–7 242 (RP002-1.0.4 §2.7.6).
        let as923 = RegionID.as923_2.parameters
        #expect(as923.maxApplicationPayload(dr: 0, dwell: true) == nil)
        #expect(as923.maxApplicationPayload(dr: 1, dwell: true) == nil)
        #expect(as923.maxApplicationPayload(dr: 2, dwell: true) == 11)
        #expect(as923.maxApplicationPayload(dr: 3, dwell: true) == 53)
        #expect(as923.maxApplicationPayload(dr: 4, dwell: true) == 125)
        #expect(as923.maxApplicationPayload(dr: 7, dwell: true) == 242)
        // LoRaMac-node starts AS923 and AU915 with uplink dwell time on.
        #expect(as923.maxApplicationPayload(dr: 2) == 11)
        let au = RegionID.au915.parameters
        #expect(au.maxApplicationPayload(dr: 2) == 11)
        #expect(au.maxApplicationPayload(dr: 2, dwell: false) == 51)
        // US915 DR0 is 11 bytes whatever the setting: its 400 ms limit is built into the table.
        #expect(RegionID.us915.parameters.maxApplicationPayload(dr: 0) == 11)
    }

    @Test func repeaterSizes() {
        // RP002-1.0.4 EU863-870 repeater-compatible M for DR4–7 is 230 → N 222.
        let eu = RegionID.eu868.parameters
        #expect(eu.maxApplicationPayload(dr: 4, repeater: true) == 222)
        #expect(eu.maxApplicationPayload(dr: 3, repeater: true) == 115)
    }

    @Test func defaultChannelsAndWindows() {
        let eu = RegionID.eu868.parameters
        #expect(eu.defaultChannels.map(\.frequencyHz) == [868_100_000, 868_300_000, 868_500_000])
        #expect(eu.rx2FrequencyHz == 869_525_000 && eu.rx2DataRate == 0)
        #expect(eu.receiveDelay1 == Time.second && eu.receiveDelay2 == 2 * Time.second)
        #expect(eu.joinAcceptDelay1 == 5 * Time.second && eu.joinAcceptDelay2 == 6 * Time.second)
        // AS923 group offsets: −1.8 MHz (group 2), −6.6 MHz (group 3), −5.9 MHz (group 4).
        #expect(RegionID.as923_1.parameters.defaultChannels.map(\.frequencyHz) == [923_200_000, 923_400_000])
        #expect(RegionID.as923_2.parameters.defaultChannels.map(\.frequencyHz) == [921_400_000, 921_600_000])
        #expect(RegionID.as923_3.parameters.rx2FrequencyHz == 916_600_000)
        #expect(RegionID.as923_4.parameters.rx2FrequencyHz == 917_300_000)
        #expect(RegionID.as923_1.parameters.rx2DataRate == 2)
        #expect(RegionID.in865.parameters.defaultChannels.map(\.frequencyHz) == [865_062_500, 865_402_500, 865_985_000])
        #expect(RegionID.in865.parameters.rx2FrequencyHz == 866_550_000)
        #expect(RegionID.kr920.parameters.rx2FrequencyHz == 921_900_000)
        // US915: 64 channels from 902.3 MHz every 200 kHz, 8 from 903.0 MHz every 1.6 MHz; downlink 923.3 + 0.6k.
        let us = RegionID.us915.parameters
        #expect(us.uplinkChannels.count == 72)
        #expect(us.uplinkChannels[63].frequencyHz == 914_900_000)
        #expect(us.uplinkChannels[71].frequencyHz == 914_200_000)
        #expect(us.downlinkChannels[7].frequencyHz == 927_500_000)
        #expect(us.rx2FrequencyHz == 923_300_000 && us.rx2DataRate == 8)
        #expect(RegionID.au915.parameters.uplinkChannels[0].frequencyHz == 915_200_000)
    }

    @Test func rx1DataRates() {
        let eu = RegionID.eu868.parameters
        #expect(eu.rx1DataRate(uplinkDR: 5, offset: 2) == 3)
        #expect(eu.rx1DataRate(uplinkDR: 1, offset: 3) == 0)
        #expect(eu.rx1DataRate(uplinkDR: 5, offset: 6) == nil)
        // US915 RP002-1.0.4 table: DR4 offset 0 → DR13, DR0 offset 3 → DR8.
        let us = RegionID.us915.parameters
        #expect(us.rx1DataRate(uplinkDR: 4, offset: 0) == 13)
        #expect(us.rx1DataRate(uplinkDR: 0, offset: 3) == 8)
        #expect(us.rx1DataRate(uplinkDR: 2, offset: 4) == nil)
        // AS923: offset 6 → +1, 7 → +2; with downlink dwell time the minimum is DR2.
        let as923 = RegionID.as923_1.parameters
        #expect(as923.rx1DataRate(uplinkDR: 0, offset: 6) == 1)
        #expect(as923.rx1DataRate(uplinkDR: 0, offset: 7) == 2)
        #expect(as923.rx1DataRate(uplinkDR: 5, offset: 7) == 7)
        #expect(as923.rx1DataRate(uplinkDR: 1, offset: 0, downlinkDwell: true) == 2)
        #expect(as923.rx1DataRate(uplinkDR: 5, offset: 3, downlinkDwell: true) == 2)
        #expect(RegionID.au915.parameters.rx1DataRate(uplinkDR: 6, offset: 0) == 13)
    }

    @Test func txPower() {
        // EU868: TXPower n = MaxEIRP − 2n dB, n = 0…7, MaxEIRP 16 dBm; US915 0…14 from 30 dBm.
        let eu = RegionID.eu868.parameters
        #expect(eu.txPowerdBm(index: 0) == 16)
        #expect(eu.txPowerdBm(index: 7) == 2)
        #expect(eu.txPowerdBm(index: 8) == nil)
        #expect(RegionID.us915.parameters.txPowerdBm(index: 14) == 2)
        #expect(RegionID.kr920.parameters.txPowerdBm(index: 0) == 14)
    }

    @Test func euSubBandsFollowLoRaMacNode() throws {
        let eu = RegionID.eu868.parameters
        let t = DutyCycleTracker(policy: .offTime, bands: eu.subBands)
        func dc(_ hz: Int64) -> Int64? { t.band(for: hz).map { eu.subBands[$0].dutyCycleDenominator } }
        #expect(dc(863_500_000) == 1000)   // 863–865 MHz: 0.1 % (EN 300 220-2 v3)
        #expect(dc(865_000_000) == 100)    // 865 MHz belongs to 865–868 MHz
        #expect(dc(867_100_000) == 100)
        #expect(dc(868_100_000) == 100)
        #expect(dc(868_800_000) == 1000)
        #expect(dc(869_525_000) == 10)
        #expect(dc(869_800_000) == 100)
        #expect(dc(868_650_000) == nil)    // the gap 868.6–868.7 MHz is in no band
        let legacy = try eu.subBands(table: "legacy")
        #expect(legacy.first { $0.contains(863_500_000) }?.dutyCycleDenominator == 100)
        #expect(throws: InputError.self) { try eu.subBands(table: "nope") }
    }

    @Test func parsesRegionNames() throws {
        #expect(try RegionID.parse("eu868") == .eu868)
        #expect(try RegionID.parse("AS923") == .as923_1)
        #expect(try RegionID.parse("as923_3") == .as923_3)
        #expect(throws: InputError.self) { try RegionID.parse("EU433") }
    }
}
