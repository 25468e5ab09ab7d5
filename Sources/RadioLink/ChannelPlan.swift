import HarnessCore

/// The channel-plan behaviour of a region, as functions of its tables: the channels a device starts with, the
/// RX1 frequency of an uplink, a join-accept's CFList, a LinkADRReq's channel mask. The device's MAC and the network
/// server both use these (LoRaWAN Regional Parameters RP002-1.0.4, each region's "channel frequencies",
/// "CFList", "LinkAdrReq command" and "receive windows" sections).
extension RegionParameters {
    /// A fixed channel plan (US915, AU915: 64 + 8 uplink channels given by the region) rather than a dynamic one
    /// (EU868 and the others: default channels, more added by the network).
    public var hasFixedChannelPlan: Bool { defaultChannels.isEmpty && !uplinkChannels.isEmpty }

    /// The channels a device uses before the network says otherwise: the default channels, or on a fixed plan the
    /// second sub-band (125 kHz channels 8–15 and 500 kHz channel 65), as most networks of those regions use.
    public var initialChannels: [Channel] {
        guard hasFixedChannelPlan else { return defaultChannels }
        guard uplinkChannels.count > 65 else { return uplinkChannels }
        return Array(uplinkChannels[8..<16]) + [uplinkChannels[65]]
    }

    /// RX1's frequency for an uplink's: the same channel on a dynamic plan; on a fixed plan the downlink channel
    /// (uplink channel number) mod 8 (RP002-1.0.4 §2.5.7 US915, §2.7.7 AU915: 923.3 MHz + 600 kHz × (n mod 8)).
    public func rx1FrequencyHz(uplink f: Int64) -> Int64 {
        guard !downlinkChannels.isEmpty, let i = uplinkChannels.firstIndex(where: { $0.frequencyHz == f }) else { return f }
        return downlinkChannels[i % downlinkChannels.count].frequencyHz
    }

    /// The channels of a join-accept's CFList of type 0 (a dynamic plan's list of up to five frequencies, 24 bits
    /// each in units of 100 Hz, little-endian, byte 15 the type; RP002-1.0.4 §2.2.4 and the others): each frequency
    /// that is not 0, with the region's default channels' data-rate range. Empty for any other list.
    public func cfListChannels(_ cf: [UInt8]) -> [Channel] {
        guard !hasFixedChannelPlan, cf.count == 16, cf[15] == 0 else { return [] }
        let range = defaultChannels.first.map { $0.minDR...$0.maxDR } ?? 0...5
        var out: [Channel] = []
        for i in 0..<5 {
            let hz = (Int64(cf[3 * i]) | Int64(cf[3 * i + 1]) << 8 | Int64(cf[3 * i + 2]) << 16) * 100
            if hz > 0 { out.append(Channel(hz, dr: range)) }
        }
        return out
    }

    /// The enabled channels after a LinkADRReq's channel mask and ChMaskCntl, or nil when the device must refuse
    /// the mask (its ChannelMaskACK is 0).
    /// - Dynamic plans: ChMaskCntl 0 applies the mask to the device's channel table (the default channels first,
    ///   then those the network added), refused when it enables a channel the table does not hold; 6 switches every
    ///   channel of the table on; anything else is refused.
    /// - Fixed plans (72 channels): ChMaskCntl 0–3 apply the mask to 125 kHz channels 16·k … 16·k + 15 and leave the
    ///   others as they are, 4 to channels 64–71; 6 switches channels 0–63 on and 7 off, the mask applying to 64–71
    ///   (RP002-1.0.4 §2.5.5, §2.7.5).
    /// A mask that leaves no channel enabled is refused.
    public func applyChannelMask(_ mask: UInt16, control: UInt8, to channels: [Channel]) -> [Channel]? {
        if !hasFixedChannelPlan {
            let table = defaultChannels + channels.filter { c in !defaultChannels.contains { $0.frequencyHz == c.frequencyHz } }
            switch control {
            case 0:
                // A bit for a channel the table does not hold makes the device refuse the whole command
                // (LoRaWAN 1.0.4 §5.3: "enables a yet undefined channel … SHALL be discarded").
                guard table.count >= 16 || mask >> UInt16(table.count) == 0 else { return nil }
                let enabled = table.enumerated().filter { $0.offset < 16 && mask & (1 << UInt16($0.offset)) != 0 }.map(\.element)
                return enabled.isEmpty ? nil : enabled
            case 6:
                return table
            default:
                return nil
            }
        }
        let all = uplinkChannels
        var on = Set(channels.compactMap { c in all.firstIndex { $0.frequencyHz == c.frequencyHz } })
        func setBlock(_ first: Int, _ bits: UInt16) {
            for k in 0..<16 where first + k < all.count {
                if bits & (1 << UInt16(k)) != 0 { on.insert(first + k) } else { on.remove(first + k) }
            }
        }
        switch control {
        case 0...3: setBlock(16 * Int(control), mask)
        case 4: setBlock(64, mask & 0x00FF)
        case 6, 7:
            for k in 0..<min(64, all.count) { if control == 6 { on.insert(k) } else { on.remove(k) } }
            setBlock(64, mask & 0x00FF)
        default: return nil
        }
        guard !on.isEmpty else { return nil }
        return on.sorted().map { all[$0] }
    }
}
