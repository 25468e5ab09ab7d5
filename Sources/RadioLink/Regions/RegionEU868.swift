import HarnessCore

extension RegionParameters {
    /// EU863-870 (LoRaWAN Regional Parameters RP002-1.0.4 §2.4).
    static let eu868 = RegionParameters(
        id: .eu868,
        source: "RP002-1.0.4 §2.4 (EU863-870)",
        notes: [
            "DR8–DR11 (LR-FHSS) were added in RP002-1.0.3; their time on air is not modelled.",
            "Sub-bands default to EN 300 220-2 v3 (863–865 MHz at 0.1 %, 865–868 MHz at 1 %), as LoRaMac-node v4.5+ and The Things Stack use; 'legacy' selects the older g/g1–g4 table.",
        ],
        frequencyRangeHz: 863_000_000...870_000_000,
        dataRates: [
            DataRate(0, .lora(12, .bw125)), DataRate(1, .lora(11, .bw125)), DataRate(2, .lora(10, .bw125)),
            DataRate(3, .lora(9, .bw125)), DataRate(4, .lora(8, .bw125)), DataRate(5, .lora(7, .bw125)),
            DataRate(6, .lora(7, .bw250)), DataRate(7, .fsk50),
            DataRate(8, .lrFHSS(occupiedBandwidthHz: 137_000, codingRate: "1/3"), downlink: false),
            DataRate(9, .lrFHSS(occupiedBandwidthHz: 137_000, codingRate: "2/3"), downlink: false),
            DataRate(10, .lrFHSS(occupiedBandwidthHz: 336_000, codingRate: "1/3"), downlink: false),
            DataRate(11, .lrFHSS(occupiedBandwidthHz: 336_000, codingRate: "2/3"), downlink: false),
        ],
        // RP002-1.0.4 Table 10 (not repeater compatible)
        maxPayload: [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 6: 242, 7: 242, 8: 50, 9: 115, 10: 50, 11: 115],
        // RP002-1.0.4 Table 9 (repeater compatible)
        maxPayloadRepeater: [0: 51, 1: 51, 2: 51, 3: 115, 4: 222, 5: 222, 6: 222, 7: 222, 8: 50, 9: 115, 10: 50, 11: 115],
        maxPayloadDwell: nil,
        dwellTime: .none,
        defaultChannels: [
            Channel(868_100_000, dr: 0...5), Channel(868_300_000, dr: 0...5), Channel(868_500_000, dr: 0...5),
        ],
        joinDataRates: 0...5,
        uplinkChannels: [],
        downlinkChannels: [],
        // RP002-1.0.4 Table 14 (The Things Stack eu863870DownlinkDRTable): max(DR − offset, 0); LR-FHSS rows apart.
        rx1: .table([0: [0, 0, 0, 0, 0, 0], 1: [1, 0, 0, 0, 0, 0], 2: [2, 1, 0, 0, 0, 0], 3: [3, 2, 1, 0, 0, 0],
                     4: [4, 3, 2, 1, 0, 0], 5: [5, 4, 3, 2, 1, 0], 6: [6, 5, 4, 3, 2, 1], 7: [7, 6, 5, 4, 3, 2],
                     8: [1, 0, 0, 0, 0, 0], 9: [2, 1, 0, 0, 0, 0], 10: [1, 0, 0, 0, 0, 0], 11: [2, 1, 0, 0, 0, 0]]),
        rx2FrequencyHz: 869_525_000,
        rx2DataRate: 0,
        receiveDelay1: 1 * Time.second,
        receiveDelay2: 2 * Time.second,
        joinAcceptDelay1: 5 * Time.second,
        joinAcceptDelay2: 6 * Time.second,
        maxEIRPdBm: 16,
        txPowerOffsetsdB: [0, 2, 4, 6, 8, 10, 12, 14],
        // EN 300 220-2 v3 Annex B as LoRaMac-node RegionEU868.h (v4.5+) encodes it, in its band order: the first
        // band that holds a frequency wins, so 865.0 MHz and 868.0 MHz fall in the 865–868 MHz band.
        subBands: [
            SubBand("865.0–868.0 MHz", 865_000_000, 868_000_000, denominator: 100),
            SubBand("868.0–868.6 MHz", 868_000_000, 868_600_000, denominator: 100),
            SubBand("868.7–869.2 MHz", 868_700_000, 869_200_000, denominator: 1000),
            SubBand("869.4–869.65 MHz", 869_400_000, 869_650_000, denominator: 10),
            SubBand("869.7–870.0 MHz", 869_700_000, 870_000_000, denominator: 100),
            SubBand("863.0–865.0 MHz", 863_000_000, 865_000_000, denominator: 1000),
        ],
        alternativeSubBandTables: [
            // The older ERC Rec 70-03 naming (g, g1 … g4) used by LoRaWAN 1.0 and LoRaMac-node before v4.5,
            // which had no 863–865 MHz band; g is taken here as 863–868 MHz at 1 %, as the older table wrote it.
            "legacy": [
                SubBand("g 863.0–868.0 MHz", 863_000_000, 868_000_000, denominator: 100),
                SubBand("g1 868.0–868.6 MHz", 868_000_000, 868_600_000, denominator: 100),
                SubBand("g2 868.7–869.2 MHz", 868_700_000, 869_200_000, denominator: 1000),
                SubBand("g3 869.4–869.65 MHz", 869_400_000, 869_650_000, denominator: 10),
                SubBand("g4 869.7–870.0 MHz", 869_700_000, 870_000_000, denominator: 100),
            ],
        ],
        defaultSubBandTable: "etsi-v3",
        dutyCycleEnforced: true,
        // RP002-1.0.4 §2.4.10: 869.525 MHz, DR3, BCNPayload RFU 2 | Time 4 | CRC 2 | GwSpecific 7 | CRC 2 (17 bytes).
        beacon: BeaconParameters(frequenciesHz: [869_525_000], dataRate: 3, rfu1: 2, rfu2: 0)
    )
}
