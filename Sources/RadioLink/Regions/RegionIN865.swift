import HarnessCore

extension RegionParameters {
    /// IN865-867 (LoRaWAN Regional Parameters RP002-1.0.4 §2.12).
    static let in865 = RegionParameters(
        id: .in865,
        source: "RP002-1.0.4 §2.12 (IN865-867)",
        notes: [
            "No duty cycle (LoRaMac-node 4.4.4 disabled its enforcement for IN865).",
            "DR6 is RFU in RP002 and The Things Stack; LoRaMac-node treats it as SF7/250 kHz. RFU here.",
            "RX1 data rates follow the table of STM32CubeWL's LoRaMac-node port (RP002-1.0.1), the only one found that never answers the RFU DR6; ChirpStack and The Things Stack differ for DR5 and DR7.",
            "RP002-1.0.5 lowers the default max EIRP to 29.2 dBm and adds DR12/DR13; not modelled.",
        ],
        frequencyRangeHz: 865_000_000...867_000_000,
        dataRates: [
            DataRate(0, .lora(12, .bw125)), DataRate(1, .lora(11, .bw125)), DataRate(2, .lora(10, .bw125)),
            DataRate(3, .lora(9, .bw125)), DataRate(4, .lora(8, .bw125)), DataRate(5, .lora(7, .bw125)),
            DataRate(7, .fsk50),
        ],
        maxPayload: [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 7: 242],
        maxPayloadRepeater: [0: 51, 1: 51, 2: 51, 3: 115, 4: 222, 5: 222, 7: 222],
        maxPayloadDwell: nil,
        dwellTime: .none,
        defaultChannels: [Channel(865_062_500, dr: 0...5), Channel(865_402_500, dr: 0...5), Channel(865_985_000, dr: 0...5)],
        joinDataRates: 0...5,
        uplinkChannels: [],
        downlinkChannels: [],
        rx1: .table([0: [0, 0, 0, 0, 0, 0, 1, 2], 1: [1, 0, 0, 0, 0, 0, 2, 3], 2: [2, 1, 0, 0, 0, 0, 3, 4],
                     3: [3, 2, 1, 0, 0, 0, 4, 5], 4: [4, 3, 2, 1, 0, 0, 5, 5], 5: [5, 4, 3, 2, 1, 0, 5, 7],
                     7: [7, 5, 5, 4, 3, 2, 7, 7]]),
        rx2FrequencyHz: 866_550_000,
        rx2DataRate: 2,
        receiveDelay1: 1 * Time.second,
        receiveDelay2: 2 * Time.second,
        joinAcceptDelay1: 5 * Time.second,
        joinAcceptDelay2: 6 * Time.second,
        maxEIRPdBm: 30,
        txPowerOffsetsdB: (0...10).map { Double(2 * $0) },
        subBands: [SubBand("865–867 MHz", 865_000_000, 867_000_000, denominator: 1)],
        alternativeSubBandTables: [:],
        defaultSubBandTable: "in865",
        dutyCycleEnforced: false
    )
}
