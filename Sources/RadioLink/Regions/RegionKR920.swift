import HarnessCore

extension RegionParameters {
    /// KR920-923 (LoRaWAN Regional Parameters RP002-1.0.4 §2.11).
    static let kr920 = RegionParameters(
        id: .kr920,
        source: "RP002-1.0.4 §2.11 (KR920-923)",
        notes: ["Listen-before-talk is required; not modelled here. No duty cycle."],
        frequencyRangeHz: 920_900_000...923_300_000,
        dataRates: [
            DataRate(0, .lora(12, .bw125)), DataRate(1, .lora(11, .bw125)), DataRate(2, .lora(10, .bw125)),
            DataRate(3, .lora(9, .bw125)), DataRate(4, .lora(8, .bw125)), DataRate(5, .lora(7, .bw125)),
        ],
        maxPayload: [0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242],
        maxPayloadRepeater: [0: 51, 1: 51, 2: 51, 3: 115, 4: 222, 5: 222],
        maxPayloadDwell: nil,
        dwellTime: .none,
        defaultChannels: [Channel(922_100_000, dr: 0...5), Channel(922_300_000, dr: 0...5), Channel(922_500_000, dr: 0...5)],
        joinDataRates: 0...5,
        uplinkChannels: [],
        downlinkChannels: [],
        rx1: .subtract(maxOffset: 5),
        rx2FrequencyHz: 921_900_000,
        rx2DataRate: 0,
        receiveDelay1: 1 * Time.second,
        receiveDelay2: 2 * Time.second,
        joinAcceptDelay1: 5 * Time.second,
        joinAcceptDelay2: 6 * Time.second,
        maxEIRPdBm: 14,
        txPowerOffsetsdB: [0, 2, 4, 6, 8, 10, 12, 14],
        subBands: [SubBand("920.9–923.3 MHz", 920_900_000, 923_300_000, denominator: 1)],
        alternativeSubBandTables: [:],
        defaultSubBandTable: "kr920",
        dutyCycleEnforced: false
    )
}
