import HarnessCore
import RadioLink
import Testing

/// The regions' channel-plan functions against LoRaWAN Regional Parameters RP002-1.0.4: US915 uplink channel n at
/// 902.3 MHz + 200 kHz·n (n < 64) and 903.0 MHz + 1.6 MHz·(n − 64), downlink channel n mod 8 at 923.3 MHz +
/// 600 kHz·(n mod 8) (§2.5.2, §2.5.7); AU915 uplinks at 915.2 MHz + 200 kHz·n and 915.9 MHz + 1.6 MHz·(n − 64), the
/// same downlinks (§2.7.2, §2.7.7); ChMaskCntl per §2.5.5 / §2.7.5; CFList per §2.4.4 and RP002's CFList section.
@Suite struct ChannelPlanTests {
    private static let mhz: Int64 = 1_000_000

    @Test(arguments: [
        // (region, uplink Hz, expected RX1 Hz)
        (RegionID.eu868, Int64(868_100_000), Int64(868_100_000)),
        (.eu868, 868_500_000, 868_500_000),
        (.us915, 903_900_000, 923_300_000),    // channel 8 → downlink 0
        (.us915, 905_300_000, 927_500_000),    // channel 15 → downlink 7
        (.us915, 902_300_000, 923_300_000),    // channel 0 → downlink 0
        (.us915, 904_600_000, 923_900_000),    // channel 65 (500 kHz) → downlink 1
        (.au915, 915_200_000, 923_300_000),    // channel 0 → downlink 0
        (.au915, 916_600_000, 927_500_000),    // channel 7 → downlink 7
    ])
    func rx1Frequency(region: RegionID, uplink: Int64, rx1: Int64) {
        #expect(region.parameters.rx1FrequencyHz(uplink: uplink) == rx1)
    }

    @Test func fixedAndDynamicPlans() {
        #expect(RegionID.us915.parameters.hasFixedChannelPlan)
        #expect(RegionID.au915.parameters.hasFixedChannelPlan)
        #expect(!RegionID.eu868.parameters.hasFixedChannelPlan)
        #expect(!RegionID.as923_1.parameters.hasFixedChannelPlan)
        // EU868 starts on its three default channels (§2.4.2); US915 on sub-band 2 (channels 8–15) and channel 65.
        #expect(RegionID.eu868.parameters.initialChannels.map(\.frequencyHz) == [868_100_000, 868_300_000, 868_500_000])
        let us = RegionID.us915.parameters.initialChannels.map(\.frequencyHz)
        #expect(us == [903_900_000, 904_100_000, 904_300_000, 904_500_000, 904_700_000, 904_900_000, 905_100_000,
                       905_300_000, 904_600_000])
    }

    /// The CFList The Things Network's EU868 plan sends (867.1, 867.3, 867.5, 867.7, 867.9 MHz), the bytes written
    /// out by hand from the rule: each frequency / 100 Hz as 24 bits little-endian, then the type byte 0.
    /// 8 671 000 = 0x844F18 → 18 4F 84, 8 673 000 = 0x8456E8, 8 675 000 = 0x845EB8, 8 677 000 = 0x846688,
    /// 8 679 000 = 0x846E58.
    @Test func cfListOfTheTTNPlan() throws {
        let bytes = try Hex.decode("184F84E85684B85E84886684586E8400")
        let channels = RegionID.eu868.parameters.cfListChannels(bytes)
        #expect(channels.map(\.frequencyHz) == [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000])
        #expect(channels.allSatisfy { $0.minDR == 0 && $0.maxDR == 5 })
        // A list of another type, a short list and a fixed plan's region give no channels.
        var typed = bytes
        typed[15] = 1
        #expect(RegionID.eu868.parameters.cfListChannels(typed).isEmpty)
        #expect(RegionID.eu868.parameters.cfListChannels(Array(bytes.prefix(15))).isEmpty)
        #expect(RegionID.us915.parameters.cfListChannels(bytes).isEmpty)
        // Zero frequencies are unused slots.
        let two = try Hex.decode("184F84E8568400000000000000000000")
        #expect(RegionID.eu868.parameters.cfListChannels(two).map(\.frequencyHz) == [867_100_000, 867_300_000])
    }

    @Test func us915Masks() throws {
        let us = RegionID.us915.parameters
        let start = us.initialChannels
        func numbers(_ c: [Channel]?) -> [Int]? {
            c.map { $0.compactMap { ch in us.uplinkChannels.firstIndex { $0.frequencyHz == ch.frequencyHz } } }
        }
        // ChMaskCntl 0, mask 0xFF00: channels 8–15 on, 0–7 off, the rest (65) untouched: the same nine channels.
        #expect(numbers(us.applyChannelMask(0xFF00, control: 0, to: start)) == [8, 9, 10, 11, 12, 13, 14, 15, 65])
        // ChMaskCntl 7 (all 125 kHz off), mask 0x0002 on channels 64–71: only channel 65.
        #expect(numbers(us.applyChannelMask(0x0002, control: 7, to: start)) == [65])
        // ChMaskCntl 6 (all 125 kHz on), mask 0: channels 0–63.
        #expect(numbers(us.applyChannelMask(0x0000, control: 6, to: start)) == Array(0..<64))
        // ChMaskCntl 1, mask 0x00FF: channels 16–23 added to the nine.
        #expect(numbers(us.applyChannelMask(0x00FF, control: 1, to: start)) == Array(8..<24) + [65])
        // ChMaskCntl 4 sets channels 64–71: mask 0 takes 65 away and leaves 8–15.
        #expect(numbers(us.applyChannelMask(0x0000, control: 4, to: start)) == Array(8..<16))
        // Everything off, or ChMaskCntl 5 (RFU here), is refused.
        #expect(us.applyChannelMask(0x0000, control: 7, to: start) == nil)
        #expect(us.applyChannelMask(0xFFFF, control: 5, to: start) == nil)
    }

    @Test func eu868Masks() {
        let eu = RegionID.eu868.parameters
        let start = eu.initialChannels
        let added = start + [Channel(867_100_000, dr: 0...5), Channel(867_300_000, dr: 0...5)]
        #expect(eu.applyChannelMask(0x0007, control: 0, to: start)?.map(\.frequencyHz) == [868_100_000, 868_300_000, 868_500_000])
        #expect(eu.applyChannelMask(0x0018, control: 0, to: added)?.map(\.frequencyHz) == [867_100_000, 867_300_000])
        // ChMaskCntl 6: every channel of the table on.
        #expect(eu.applyChannelMask(0x0000, control: 6, to: Array(added.prefix(1)))?.count == 3)
        // Refused: an empty mask, a bit for a channel that is not defined, ChMaskCntl 5.
        #expect(eu.applyChannelMask(0x0000, control: 0, to: start) == nil)
        #expect(eu.applyChannelMask(0x0008, control: 0, to: start) == nil)
        #expect(eu.applyChannelMask(0x000F, control: 0, to: start) == nil)    // three good bits and one undefined
        #expect(eu.applyChannelMask(0x0007, control: 5, to: start) == nil)
    }
}
