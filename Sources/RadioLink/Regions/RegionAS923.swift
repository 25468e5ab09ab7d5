import HarnessCore

extension RegionParameters {
    /// AS923 groups 1–4 (LoRaWAN Regional Parameters RP002-1.0.4 §2.7): one table, with the default
    /// channels, RX2 and band shifted by the group's frequency offset.
    static func as923(group: Int) -> RegionParameters {
        // RP002-1.0.4 §2.7: AS923-1 offset 0, AS923-2 −1.8 MHz, AS923-3 −6.6 MHz, AS923-4 −5.9 MHz.
        let offsets: [Int: Int64] = [1: 0, 2: -1_800_000, 3: -6_600_000, 4: -5_900_000]
        let ranges: [Int: ClosedRange<Int64>] = [
            // LoRaMac-node RegionAS923.c checks 915–928 MHz for groups 1–3; group 4 is 917–920 MHz
            // (STM32CubeWL's port of LoRaMac-node; not in the Lora-net sources read).
            1: 915_000_000...928_000_000, 2: 915_000_000...928_000_000,
            3: 915_000_000...928_000_000, 4: 917_000_000...920_000_000,
        ]
        let ids: [Int: RegionID] = [1: .as923_1, 2: .as923_2, 3: .as923_3, 4: .as923_4]
        let offset = offsets[group] ?? 0
        let range = ranges[group] ?? 915_000_000...928_000_000
        return RegionParameters(
            id: ids[group] ?? .as923_1,
            source: "RP002-1.0.4 §2.7 (AS923-\(group))",
            notes: [
                "Whether dwell time applies is country-specific; LoRaMac-node starts with uplink dwell time on.",
                "Listen-before-talk is required in some countries (Japan, Korea); not modelled here.",
                "Duty cycle is not enforced by LoRaMac-node by default (one 1 % band); the join back-off still is.",
                "RP002-1.0.5 adds DR12/DR13 and sizes downlinks with the dwell-off table; not modelled.",
            ],
            frequencyRangeHz: range,
            dataRates: [
                DataRate(0, .lora(12, .bw125)), DataRate(1, .lora(11, .bw125)), DataRate(2, .lora(10, .bw125)),
                DataRate(3, .lora(9, .bw125)), DataRate(4, .lora(8, .bw125)), DataRate(5, .lora(7, .bw125)),
                DataRate(6, .lora(7, .bw250)), DataRate(7, .fsk50),
            ],
            // RP002-1.0.4 §2.7.6 (as The Things Stack as_923_rp2_v1_0_4.go and LoRaMac-node RegionAS923.h have it);
            // RP001 and RP002-1.0.0 had DR2 = 51.
            maxPayload: [0: 51, 1: 51, 2: 115, 3: 115, 4: 242, 5: 242, 6: 242, 7: 242],
            maxPayloadRepeater: [0: 51, 1: 51, 2: 115, 3: 115, 4: 222, 5: 222, 6: 222, 7: 222],
            maxPayloadDwell: [2: 11, 3: 53, 4: 125, 5: 242, 6: 242, 7: 242],
            dwellTime: .configurable(defaultOn: true),
            defaultChannels: [Channel(923_200_000 + offset, dr: 0...5), Channel(923_400_000 + offset, dr: 0...5)],
            joinDataRates: 2...5,
            uplinkChannels: [],
            downlinkChannels: [],
            rx1: .as923,
            rx2FrequencyHz: 923_200_000 + offset,
            rx2DataRate: 2,
            receiveDelay1: 1 * Time.second,
            receiveDelay2: 2 * Time.second,
            joinAcceptDelay1: 5 * Time.second,
            joinAcceptDelay2: 6 * Time.second,
            maxEIRPdBm: 16,
            txPowerOffsetsdB: [0, 2, 4, 6, 8, 10, 12, 14],
            subBands: [SubBand("AS923-\(group)", range.lowerBound, range.upperBound, denominator: 100)],
            alternativeSubBandTables: [:],
            defaultSubBandTable: "as923",
            dutyCycleEnforced: false
        )
    }
}
