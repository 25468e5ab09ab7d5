import Device
import Foundation
import HarnessCore
import LoRaWAN
import Network
import RadioLink
import Testing

/// Drives a Class A MAC directly against the network server (perfect channel, no network-side ADR) on a virtual clock.
final class MACRig {
    let mac: ClassAMAC
    let network: NetworkServer
    var events: [(Nanoseconds, MACEvent)] = []
    init(region: RegionParameters = eu, activation: Activation = abp, dataRate: Int = 0, adr: Bool = true,
         networkADR: Bool = false, dutyCycle: DutyCyclePolicy? = nil, latency: Nanoseconds = 200 * Time.millisecond,
         downlinkLoss: Double = 0) {
        var config = NetworkServer.Config()
        config.adr = networkADR
        config.latency = latency
        let channel = downlinkLoss > 0 ? LossyChannel(uplinkLoss: 0, downlinkLoss: downlinkLoss, seed: 1) : PerfectChannel()
        network = NetworkServer(config: config, region: region, channel: channel, seed: 1)
        mac = ClassAMAC(device: 0, activation: activation,
                        settings: MACSettings(region: region, dutyCyclePolicy: dutyCycle, adr: adr, dataRate: dataRate), seed: 7)
        network.register(device: 0, activation: activation)
        mac.air = network
        mac.onEvent = { [unowned self] t, e in events.append((t, e)) }
    }

    /// Runs the MAC's own events until it is idle or `until`.
    func settle(until: Nanoseconds = .max) -> Nanoseconds {
        var last: Nanoseconds = 0
        while let t = mac.nextEventTime, t <= until {
            mac.advance(to: t)
            last = t
        }
        return last
    }

    var uplinks: [(Nanoseconds, UInt32, Int, [UInt8])] {
        events.compactMap { t, e in
            if case .uplink(let fcnt, _, _, _, let dr, _, let bytes, _, _, _) = e { return (t, fcnt, dr, bytes) }
            return nil
        }
    }
}

@Suite struct ClassAMACTests {
    /// RX1 opens RECEIVE_DELAY1 = 1 s after the uplink ends, RX2 one second later (RP002-1.0.4 §2.4.7); the
    /// answer to a confirmed uplink comes in RX2 when the network is too slow for RX1 (1.5 s from the uplink's end).
    @Test func receiveWindowTiming() {
        let rig = MACRig(latency: 1500 * Time.millisecond)
        #expect(rig.mac.send(fport: 10, payload: [1, 2, 3], confirmed: true, now: 0) == .ok)
        _ = rig.settle()
        let end = sf12(16)   // 13 + 3 bytes
        let windows = rig.events.compactMap { t, e -> (Nanoseconds, Int, Bool)? in
            if case .receiveWindow(let w, _, _, let got) = e { return (t, w, got) }
            return nil
        }
        #expect(windows.count == 2)
        #expect(windows[0].0 == end + Time.second && windows[0].1 == 1 && !windows[0].2)
        #expect(windows[1].0 == end + 2 * Time.second && windows[1].1 == 2 && windows[1].2)
        #expect(rig.events.contains { if case .downlink(_, _, _, true, _) = $0.1 { return true } else { return false } })
        #expect(rig.uplinks.count == 1)
    }

    /// A confirmed uplink that is never acknowledged goes out 8 times with the same FCnt, each after RX2 closes
    /// (8 SF12 symbols = 262.144 ms with no preamble) plus RETRANSMIT_TIMEOUT of 2 ± 1 s.
    @Test func confirmedRetransmissions() {
        let rig = MACRig(downlinkLoss: 1)
        #expect(rig.mac.send(fport: 10, payload: [7], confirmed: true, now: 0) == .ok)
        _ = rig.settle()
        let ups = rig.uplinks
        #expect(ups.count == 8)
        #expect(Set(ups.map(\.1)) == [0])
        let airtime = sf12(14)
        for i in 1..<ups.count {
            let rx2Closed = ups[i - 1].0 + airtime + 2 * Time.second + 262_144_000
            let gap = ups[i].0 - rx2Closed
            #expect(gap >= Time.second && gap <= 3 * Time.second, "transmission \(i + 1) at \(ups[i].0)")
        }
        #expect(rig.events.contains { if case .confirmedFailed(0) = $0.1 { return true } else { return false } })
    }

    /// LoRaWAN 1.0.4 §4.3.1.1: ADRACKReq from the 64th uplink without a downlink; at 96 (64 + 32) the TX power
    /// goes back to the default, at 128 the data rate steps down, at 160 again.
    @Test func adrBackoff() {
        // The network's answers to ADRACKReq never reach the device: nothing resets its ADR_ACK_CNT.
        let rig = MACRig(dataRate: 5, dutyCycle: DutyCyclePolicy.none, downlinkLoss: 1)
        var t: Nanoseconds = 0
        var adrAckReqFrom: Int?
        rig.mac.adrTestHook_setPower(2)
        var drAt: [Int: Int] = [:]
        var powerAt: [Int: Int] = [:]
        for n in 1...170 {
            #expect(rig.mac.send(fport: 1, payload: [0], confirmed: false, now: t) == .ok)
            powerAt[n] = rig.mac.txPowerIndex
            drAt[n] = rig.mac.dataRate
            t = rig.settle() + 10 * Time.second
            if let last = rig.uplinks.last, adrAckReqFrom == nil, case .data(let f)? = try? FrameDecoder.decode(last.3), f.fctrl.adrAckReq {
                adrAckReqFrom = n
            }
        }
        #expect(adrAckReqFrom == 64)
        #expect(powerAt[95] == 2 && powerAt[96] == 0)
        #expect(drAt[127] == 5 && drAt[128] == 4 && drAt[160] == 3)
    }

    /// A US915 device on sub-band 2 (channels 8–15 and 65) meets the network's ADR: its LinkADRReq (mask 0xFF00,
    /// ChMaskCntl 0: channels 8–15 of block 0–15) raises the data rate and leaves the nine channels as they were,
    /// answered with every ACK bit set (RP002-1.0.4 §2.5.5). The channel numbers follow from 902.3 MHz + 200 kHz·n
    /// and 903.0 MHz + 1.6 MHz·(n − 64) (§2.5.2).
    @Test func us915LinkADRKeepsSubBandTwo() throws {
        let us = RegionID.us915.parameters
        let rig = MACRig(region: us, dataRate: 0, networkADR: true)
        let start = rig.mac.channels.map(\.frequencyHz)
        #expect(start == [903_900_000, 904_100_000, 904_300_000, 904_500_000, 904_700_000, 904_900_000, 905_100_000,
                          905_300_000, 904_600_000])
        var t: Nanoseconds = 0
        for n in 1...30 {
            #expect(rig.mac.send(fport: 1, payload: [0], confirmed: false, now: t) == .ok, "uplink \(n)")
            t = rig.settle() + 60 * Time.second
        }
        #expect(rig.network.counters.linkADRRequests == 1)
        #expect(rig.mac.dataRate > 0)
        #expect(rig.mac.channels.map(\.frequencyHz) == start)
        // The answer went up with all three ACK bits: the network saw no refusal.
        let answered = rig.uplinks.contains { up in
            guard case .data(let f)? = try? FrameDecoder.decode(up.3) else { return false }
            return f.fopts == [0x03, 0x07]
        }
        #expect(answered)
    }

    /// A downlink scripted for a test's own uplink (FPort 2, the flash-test downlink step's) is not taken by the
    /// application's report on FPort 10 that goes first; it comes in the answer to the FPort 2 uplink.
    @Test func scriptedDownlinkWaitsForItsFPort() {
        let rig = MACRig(dutyCycle: DutyCyclePolicy.none)
        rig.network.script(device: 0, NetworkServer.Scripted(at: 0, fport: 3, payload: [1, 2], answering: 2))
        #expect(rig.mac.send(fport: 10, payload: [0x21], confirmed: false, now: 0) == .ok)
        let t = rig.settle() + Time.second
        #expect(rig.mac.send(fport: 2, payload: [0x01], confirmed: false, now: t) == .ok)
        _ = rig.settle()
        let downlinks = rig.events.compactMap { _, e -> (UInt32, UInt8?, [UInt8])? in
            if case .downlink(let fcnt, let port, let payload, _, _) = e { return (fcnt, port, payload) }
            return nil
        }
        #expect(downlinks.count == 1)
        #expect(downlinks.first?.1 == 3 && downlinks.first?.2 == [1, 2])
        #expect(rig.uplinks.map(\.1) == [0, 1])
    }

    /// Time-credit duty cycle (LoRaMac-node v4.5): SF12 uplinks of 14 bytes cost 1155 ms × 100 of credit; from
    /// full credits (one hour) the device sends while its credits exceed the cost, then the MAC refuses with the
    /// exact wait until they do.
    @Test func dutyCycleWait() {
        let rig = MACRig()
        var t: Nanoseconds = 0
        var credits: Int64 = 3600 * Time.second
        let costMs: Int64 = 1156   // LoRaMac-node rounds 1155.072 ms up
        let cost = costMs * 100 * Time.millisecond
        var sent = 0
        while true {
            let r = rig.mac.send(fport: 1, payload: [0], confirmed: false, now: t)
            if credits > cost {
                #expect(r == .ok, "send \(sent + 1)")
                credits -= cost
                sent += 1
            } else {
                #expect(r == .dutyCycle(wait: cost - credits + 1), "after \(sent) sends")
                break
            }
            let next = rig.settle() + Time.second   // after RX2 has closed
            credits = min(3600 * Time.second, credits + (next - t))
            t = next
        }
        #expect(sent > 20 && sent < 40)
    }

    /// The network's LinkADRReq sets data rate, power and NbTrans, and the answer rides on the next uplink.
    @Test func linkADRReqApplied() {
        let rig = MACRig(dataRate: 0)
        rig.network.script(device: 0, NetworkServer.Scripted(at: 0, macCommands: [
            .linkADRReq(dataRate: 5, txPower: 3, channelMask: 0x0007, channelMaskControl: 0, nbTrans: 1)]))
        #expect(rig.mac.send(fport: 1, payload: [1], confirmed: false, now: 0) == .ok)
        let t = rig.settle()
        #expect(rig.mac.dataRate == 5 && rig.mac.txPowerIndex == 3)
        #expect(rig.mac.send(fport: 1, payload: [2], confirmed: false, now: t + Time.minute) == .ok)
        _ = rig.settle()
        let answered = rig.events.contains {
            if case .uplink(_, _, _, _, 5, _, _, _, _, let cmds) = $0.1 { return cmds.contains { $0.hasPrefix("LinkADRAns power ACK") } }
            return false
        }
        #expect(answered)
    }
}
