import HarnessCore

extension RegionParameters {
    /// US902-928 (LoRaWAN Regional Parameters RP002-1.0.4 §2.5).
    static let us915 = RegionParameters(
        id: .us915,
        source: "RP002-1.0.4 §2.5 (US902-928)",
        notes: [
            "Uplink dwell time is limited to 400 ms (FCC); the maximum payload sizes already respect it.",
            "DR5/DR6 (LR-FHSS) were added in RP002-1.0.3; their time on air is not modelled.",
            "No duty cycle; channels are fixed: 64 × 125 kHz, 8 × 500 kHz uplink, 8 × 500 kHz downlink.",
            "Joins alternate as LoRaMac-node does: eight at DR0 on 125 kHz channels, then one at DR4 on a 500 kHz channel.",
            "The Things Stack's RP002-1.0.3 file has DR8/DR9 at 41/117 bytes (M); its pull request #6098 calls that a bug.",
        ],
        frequencyRangeHz: 902_000_000...928_000_000,
        dataRates: [
            DataRate(0, .lora(10, .bw125), downlink: false), DataRate(1, .lora(9, .bw125), downlink: false),
            DataRate(2, .lora(8, .bw125), downlink: false), DataRate(3, .lora(7, .bw125), downlink: false),
            DataRate(4, .lora(8, .bw500), downlink: false),
            DataRate(5, .lrFHSS(occupiedBandwidthHz: 1_523_000, codingRate: "1/3"), downlink: false),
            DataRate(6, .lrFHSS(occupiedBandwidthHz: 1_523_000, codingRate: "2/3"), downlink: false),
            DataRate(8, .lora(12, .bw500), uplink: false), DataRate(9, .lora(11, .bw500), uplink: false),
            DataRate(10, .lora(10, .bw500), uplink: false), DataRate(11, .lora(9, .bw500), uplink: false),
            DataRate(12, .lora(8, .bw500), uplink: false), DataRate(13, .lora(7, .bw500), uplink: false),
        ],
        maxPayload: [0: 11, 1: 53, 2: 125, 3: 242, 4: 242, 5: 50, 6: 125,
                     8: 53, 9: 129, 10: 242, 11: 242, 12: 242, 13: 242],
        // Repeater sizes: ChirpStack lrwn us915.rs for RP002-1.0.2/1.0.3 (RP002-1.0.0/1.0.1 had DR8/DR9 at 33/109).
        maxPayloadRepeater: [0: 11, 1: 53, 2: 125, 3: 222, 4: 222, 5: 50, 6: 125,
                             8: 53, 9: 129, 10: 222, 11: 222, 12: 222, 13: 222],
        maxPayloadDwell: nil,
        dwellTime: .always,
        defaultChannels: [],
        joinDataRates: 0...4,
        uplinkChannels: (0..<64).map { Channel(902_300_000 + Int64($0) * 200_000, dr: 0...3) }
            + (0..<8).map { Channel(903_000_000 + Int64($0) * 1_600_000, dr: 4...4) },
        downlinkChannels: (0..<8).map { Channel(923_300_000 + Int64($0) * 600_000, dr: 8...13) },
        // RP002-1.0.4 Table 27: rows uplink DR, columns RX1DROffset 0…3
        rx1: .table([0: [10, 9, 8, 8], 1: [11, 10, 9, 8], 2: [12, 11, 10, 9], 3: [13, 12, 11, 10],
                     4: [13, 13, 12, 11], 5: [10, 9, 8, 8], 6: [11, 10, 9, 8]]),
        rx2FrequencyHz: 923_300_000,
        rx2DataRate: 8,
        receiveDelay1: 1 * Time.second,
        receiveDelay2: 2 * Time.second,
        joinAcceptDelay1: 5 * Time.second,
        joinAcceptDelay2: 6 * Time.second,
        maxEIRPdBm: 30,
        txPowerOffsetsdB: (0...14).map { Double(2 * $0) },
        subBands: [SubBand("902–928 MHz", 902_000_000, 928_000_000, denominator: 1)],
        alternativeSubBandTables: [:],
        defaultSubBandTable: "fcc",
        dutyCycleEnforced: false,
        // RP002-1.0.4 §2.5.10: 923.3 + 0.6·n MHz (n = 0…7), DR8 (SF12, 500 kHz),
        // BCNPayload RFU 5 | Time 4 | CRC 2 | GwSpecific 7 | RFU 3 | CRC 2 (23 bytes).
        beacon: BeaconParameters(frequenciesHz: (0..<8).map { 923_300_000 + Int64($0) * 600_000 }, dataRate: 8, rfu1: 5, rfu2: 3)
    )
}
