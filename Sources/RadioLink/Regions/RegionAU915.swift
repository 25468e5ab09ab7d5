import HarnessCore

extension RegionParameters {
    /// AU915-928 (LoRaWAN Regional Parameters RP002-1.0.4 §2.6).
    static let au915 = RegionParameters(
        id: .au915,
        source: "RP002-1.0.4 §2.6 (AU915-928)",
        notes: [
            "Uplink dwell time is set by TxParamSetupReq; LoRaMac-node starts with it on (AU915_DEFAULT_UPLINK_DWELL_TIME 1).",
            "Joins alternate as LoRaMac-node does: eight at DR2 on 125 kHz channels, then one at DR6 on a 500 kHz channel.",
            "LoRaMac-node allows RX1DROffset 6 but its table has columns for 0–5 only; offsets 0–5 are modelled.",
            "DR7 (LR-FHSS) was added in RP002-1.0.3; its time on air is not modelled.",
        ],
        frequencyRangeHz: 915_000_000...928_000_000,
        dataRates: [
            DataRate(0, .lora(12, .bw125), downlink: false), DataRate(1, .lora(11, .bw125), downlink: false),
            DataRate(2, .lora(10, .bw125), downlink: false), DataRate(3, .lora(9, .bw125), downlink: false),
            DataRate(4, .lora(8, .bw125), downlink: false), DataRate(5, .lora(7, .bw125), downlink: false),
            DataRate(6, .lora(8, .bw500), downlink: false),
            DataRate(7, .lrFHSS(occupiedBandwidthHz: 1_523_000, codingRate: "1/3"), downlink: false),
            DataRate(8, .lora(12, .bw500), uplink: false), DataRate(9, .lora(11, .bw500), uplink: false),
            DataRate(10, .lora(10, .bw500), uplink: false), DataRate(11, .lora(9, .bw500), uplink: false),
            DataRate(12, .lora(8, .bw500), uplink: false), DataRate(13, .lora(7, .bw500), uplink: false),
        ],
        maxPayload: [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 6: 242, 7: 50,
                     8: 53, 9: 129, 10: 242, 11: 242, 12: 242, 13: 242],
        maxPayloadRepeater: [0: 51, 1: 51, 2: 51, 3: 115, 4: 222, 5: 222, 6: 222, 7: 50,
                             8: 53, 9: 129, 10: 222, 11: 222, 12: 222, 13: 222],
        maxPayloadDwell: [2: 11, 3: 53, 4: 125, 5: 242, 6: 242, 7: 50,
                          8: 53, 9: 129, 10: 242, 11: 242, 12: 242, 13: 242],
        dwellTime: .configurable(defaultOn: true),
        defaultChannels: [],
        joinDataRates: 0...6,
        uplinkChannels: (0..<64).map { Channel(915_200_000 + Int64($0) * 200_000, dr: 0...5) }
            + (0..<8).map { Channel(915_900_000 + Int64($0) * 1_600_000, dr: 6...6) },
        downlinkChannels: (0..<8).map { Channel(923_300_000 + Int64($0) * 600_000, dr: 8...13) },
        rx1: .table([0: [8, 8, 8, 8, 8, 8], 1: [9, 8, 8, 8, 8, 8], 2: [10, 9, 8, 8, 8, 8], 3: [11, 10, 9, 8, 8, 8],
                     4: [12, 11, 10, 9, 8, 8], 5: [13, 12, 11, 10, 9, 8], 6: [13, 13, 12, 11, 10, 9],
                     7: [9, 8, 8, 8, 8, 8]]),
        rx2FrequencyHz: 923_300_000,
        rx2DataRate: 8,
        receiveDelay1: 1 * Time.second,
        receiveDelay2: 2 * Time.second,
        joinAcceptDelay1: 5 * Time.second,
        joinAcceptDelay2: 6 * Time.second,
        maxEIRPdBm: 30,
        txPowerOffsetsdB: (0...14).map { Double(2 * $0) },
        subBands: [SubBand("915–928 MHz", 915_000_000, 928_000_000, denominator: 1)],
        alternativeSubBandTables: [:],
        defaultSubBandTable: "acma",
        dutyCycleEnforced: false,
        // RP002-1.0.4 §2.7.10: 923.3 + 0.6·n MHz (n = 0…7), DR8 (SF12, 500 kHz),
        // BCNPayload RFU 5 | Time 4 | CRC 2 | GwSpecific 7 | RFU 3 | CRC 2 (23 bytes).
        beacon: BeaconParameters(frequenciesHz: (0..<8).map { 923_300_000 + Int64($0) * 600_000 }, dataRate: 8, rfu1: 5, rfu2: 3)
    )
}
