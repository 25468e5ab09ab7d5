import Codecs
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Testing
import TestSupport
@testable import Traces

/// A packet-forwarder `JSON up:` line for one frame.
func rxpkLine(_ phy: [UInt8], time: String? = nil, freq: String = "868.100000", datr: String = "\"SF7BW125\"", modu: String = "LORA",
              stat: Int = 1, codr: String = "4/5") -> String {
    var o = "{\"tmst\":1,\"chan\":0,\"rfch\":0,\"freq\":\(freq),\"stat\":\(stat),\"modu\":\"\(modu)\",\"datr\":\(datr),\"codr\":\"\(codr)\",\"rssi\":-60,\"lsnr\":7.5,\"size\":\(phy.count),\"data\":\"\(Base64.encode(phy))\""
    if let time { o += ",\"time\":\"\(time)\"" }
    return "JSON up: {\"rxpk\":[" + o + "}]}"
}

func keysFile(_ name: String, _ yaml: String) throws -> String {
    let p = try tempFile(name, yaml)
    chmod(p, 0o600)
    return p
}

/// The LoRaTap version 1 header of the alpov/LoRaTap fork's `loratap1.h` (35 bytes, big-endian), written field by
/// field from that definition: v0's 15 bytes, source gateway, time stamp, flags, coding rate, FSK data rate, IF
/// channel, RF chain, tag.
func loraTapV1(frequency: UInt32, bandwidthSteps: UInt8 = 1, sf: UInt8, packetRSSI: UInt8 = 255, currentRSSI: UInt8 = 255, snrQuarters: Int8 = 0,
               gateway: UInt64 = 0, flags: UInt8, cr: UInt8 = 5, fskRate: UInt16 = 0, ifChannel: UInt8 = 0) -> [UInt8] {
    var h: [UInt8] = [1, 0, 0, 35]
    h += [UInt8(frequency >> 24), UInt8((frequency >> 16) & 0xFF), UInt8((frequency >> 8) & 0xFF), UInt8(frequency & 0xFF)]
    h += [bandwidthSteps, sf, packetRSSI, 255, currentRSSI, UInt8(bitPattern: snrQuarters), 0x34]
    h += (0..<8).map { UInt8((gateway >> (56 - 8 * UInt64($0))) & 0xFF) }
    h += [0, 0, 0, 42]                       // concentrator time stamp
    h += [flags, cr, UInt8(fskRate >> 8), UInt8(fskRate & 0xFF), ifChannel, 0, 0, 0]
    return h
}

@Suite struct ReplayVerdictTests {
    static let phy: [UInt8] = [0x40, 0xDA, 0x1B, 0x01, 0x26, 0x00, 0x01, 0x00, 0x0A, 0xF3, 0x73, 0xAC, 0xDC, 0x83, 0x29, 0x58, 0x50, 0x39]

    /// Point 1: every v1 field that the definition gives, and the CRC flags as verdicts (bad → crc_failed, the same
    /// as a forwarder's `"stat": -1`).
    @Test func loraTapVersion1() throws {
        let gw: UInt64 = 0xB827_EBAF_AC00_0001
        let ok = loraTapV1(frequency: 868_100_000, sf: 9, currentRSSI: 139 - 100, snrQuarters: 12, gateway: gw, flags: 0x08, cr: 6, ifChannel: 3)
        let bad = loraTapV1(frequency: 868_100_000, sf: 9, flags: 0x10)
        let noCRC = loraTapV1(frequency: 868_100_000, sf: 9, flags: 0x20)
        let (r, rec, _) = try validate([tempBytes("v1.pcap", PcapTraceTests.pcap(linkType: 270, packets: [ok + Self.phy, bad + Self.phy, noCRC + [0x40, 1]]))])
        #expect(r.read == 3)
        #expect(r.rejectedByReason == ["crc_failed": 1, "bad_frame": 1])
        #expect(r.withoutCRC == 1)
        let first = try #require(rec.first)
        #expect(first.frequencyHz == 868_100_000 && first.spreadingFactor == 9 && first.bandwidthHz == 125_000 && first.codingRate == "4/6")
        #expect(first.receptions == [GatewayReception(gateway: "B827EBAFAC000001", rssi: -100, snr: 3)])
        #expect(first.crc == .ok && first.channel == 3 && first.phyPayload == Self.phy)
        // The same packet as a forwarder logs it with stat -1: the same verdict.
        let (log, _, _) = try validate([tempFile("crc.log", rxpkLine(Self.phy, stat: -1) + "\n")])
        #expect(log.rejectedByReason == ["crc_failed": 1])
        // FSK (flag 0x01) carries its bit rate; v0 fields of a LoRa packet do not apply.
        let fsk = loraTapV1(frequency: 868_800_000, sf: 0, flags: 0x09, cr: 0, fskRate: 50_000)
        let (f, frec, _) = try validate([tempBytes("fsk.pcap", PcapTraceTests.pcap(linkType: 270, packets: [fsk + Self.phy]))])
        #expect(f.accepted == 1 && frec.first?.fskBitrate == 50_000 && frec.first?.spreadingFactor == nil)
    }

    /// Point 1, on a published capture: the alpov/LoRaTap test capture `00_Test` exported both as the sniffer's
    /// packet-forwarder log and as a LoRaTap v1 pcap (both built here from the published bytes, see
    /// Fixtures/traces/public/README.md) gives the same verdicts, record for record.
    @Test func twoExportsOfOneCaptureAgree() throws {
        let (log, pcap) = try PublicCaptures.alpov00Exports()
        let (a, ra, _) = try validate([log])
        let (b, rb, _) = try validate([pcap])
        #expect(a.read == 192 && b.read == 192)
        #expect(a.rejectedByReason == b.rejectedByReason)
        #expect(a.rejectedByReason["crc_failed"] == 48)
        for (x, y) in [(a.accepted, b.accepted), (a.uplinks, b.uplinks), (a.downlinks, b.downlinks), (a.joinAccepts, b.joinAccepts),
                       (a.beacons, b.beacons), (a.proprietary, b.proprietary), (a.repeats, b.repeats), (a.lost, b.lost), (a.downlinksLost, b.downlinksLost)] {
            #expect(x == y)
        }
        #expect(a.beacons == 4 && a.proprietary == 3)
        #expect(ra.map(\.phyPayload) == rb.map(\.phyPayload))
        #expect(ra.map(\.frequencyHz) == rb.map(\.frequencyHz) && ra.map(\.spreadingFactor) == rb.map(\.spreadingFactor))
        #expect(ra.map { $0.receptions.first?.gateway } == rb.map { $0.receptions.first?.gateway })
        #expect(a.devices.map(\.uplinks) == b.devices.map(\.uplinks) && a.devices.map(\.airtime) == b.devices.map(\.airtime))
    }

    /// Point 2 and 6 on the published encrypted capture (alpov/LoRaTap `06_Encrypted`, keys as published): with
    /// only the device's AppKey the two joins are matched to their join-requests, the sessions derived, and the
    /// device's frames (up and down) verify without any session entry; with the published session keys too, every
    /// keyed frame verifies. The 7 beacons' CRCs hold.
    @Test func publishedEncryptedCapture() throws {
        let pcap = try PublicCaptures.alpov06()
        let root = try keysFile("alpov-root.yaml", "devices:\n  - devEUI: 70B3D5CEE0000042\n    appKey: D494D49A7B4053302BDCF96F1DEFA65A\n")
        let (r, rec, _) = try validate([pcap], keys: root)
        #expect(r.rejected == 0 && r.joinRequests == 2 && r.joinAccepts == 2 && r.sessionsDerived == 2)
        #expect(r.beacons == 7)
        let device = try #require(r.devices.first { $0.device == "70B3D5CEE0000042" })
        #expect(device.joinAccepts == 2 && device.micInvalid == 0 && device.micValid >= 6)
        // Frames of the second session are the device's and decrypted.
        #expect(rec.contains { $0.devAddr?.description == "01E65DDC" && $0.devEUI?.description == "70B3D5CEE0000042" && $0.frmPayload != nil })
        let both = TestPaths.fixture("traces/public/alpov-keys.yaml").path
        chmod(both, 0o600)
        let (k, _, _) = try validate([pcap], keys: both)
        #expect(k.rejected == 0 && k.micInvalid == 0 && k.micValid == r.micValid + 4)
        #expect(k.downlinks == 14)
    }

    /// Point 2: a data downlink from another library's vectors (ChirpStack lrwn doc-test "LoRaWAN 1.0.x Relay
    /// ForwardDownlinkReq example", Fixtures/lorawan/lorawan11-vectors.json X10-6) verifies with the downlink
    /// counter and decrypts; one flipped bit is rejected; FCntDown repeats and gaps are counted (constructed).
    @Test func downlinksAreChecked() throws {
        let phy = try Hex.decode("6004030201000a00e2c9604164c97d76f9ea8e1a792ba0879b85243e5af5")
        let keys = try keysFile("dl.yaml", "sessions:\n  - devAddr: 01020304\n    nwkSKey: 08070605040302010807060504030201\n    appSKey: 08070605040302010807060504030201\n")
        func txpk(_ b: [UInt8]) -> String {
            "JSON down: {\"txpk\":{\"imme\":false,\"tmst\":1,\"freq\":869.525,\"rfch\":0,\"powe\":14,\"modu\":\"LORA\",\"datr\":\"SF9BW125\",\"codr\":\"4/5\",\"ipol\":true,\"size\":\(b.count),\"data\":\"\(Base64.encode(b))\"}}"
        }
        let (r, rec, _) = try validate([tempFile("dl.log", txpk(phy) + "\n")], keys: keys)
        #expect(r.downlinks == 1 && r.micValid == 1 && r.rejected == 0)
        #expect(rec.first?.frmPayload == (try Hex.decode("2023cf335489aae3183c0be0baa8dee5f3")) && rec.first?.fcnt == 10 && rec.first?.uplink == false)
        var bad = phy
        bad[12] ^= 0x01
        let (c, _, _) = try validate([tempFile("dlbad.log", txpk(bad) + "\n")], keys: keys)
        #expect(c.rejectedByReason == ["mic_mismatch": 1] && c.micInvalid == 1 && c.downlinks == 0)
        // Constructed with this project's encoder: FCntDown 3, 3 again (a repeat), 7 (3 missing), 5 (a replay).
        let sk = SessionKeys(nwkSKey: try AES128Key(hex: "08070605040302010807060504030201"), appSKey: try AES128Key(hex: "08070605040302010807060504030201"))
        func down(_ n: UInt32) throws -> [UInt8] {
            try DataFrameCodec.encode(mtype: .unconfirmedDataDown, devAddr: DevAddr(0x0102_0304), fcnt: n, fport: 1, payload: [UInt8(n)], keys: sk)
        }
        let lines = try [down(3), down(3), down(7), down(5)].map(txpk).joined(separator: "\n")
        let (s, _, _) = try validate([tempFile("dlseq.log", lines + "\n")], keys: keys)
        #expect(s.downlinks == 3 && s.downlinkRepeats == 1 && s.downlinksLost == 3 && s.rejectedByReason == ["replay": 1], "\(s.text)")
    }

    /// Point 3: 16-bit counters on air (constructed with this project's encoder, keys known).
    @Test func sixteenBitCounters() throws {
        let sk = SessionKeys(nwkSKey: try AES128Key(hex: "2B7E151628AED2A6ABF7158809CF4F3C"), appSKey: try AES128Key(hex: "000102030405060708090A0B0C0D0E0F"))
        let keys = try keysFile("c.yaml", "sessions:\n  - devAddr: 26011BDA\n    nwkSKey: 2B7E151628AED2A6ABF7158809CF4F3C\n    appSKey: 000102030405060708090A0B0C0D0E0F\n")
        func up(_ n: UInt32, _ p: UInt8 = 1) throws -> [UInt8] {
            try DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: DevAddr(0x2601_1BDA), fcnt: n, fport: 2, payload: [p], keys: sk)
        }
        func log(_ frames: [[UInt8]]) throws -> String {
            try tempFile("c\(frames.count)-\(frames.first?.last ?? 0).log", frames.enumerated().map { rxpkLine($1, time: String(format: "2026-06-06T09:%02d:00Z", $0)) }.joined(separator: "\n") + "\n")
        }
        // A wrap: 65534, 65535, 65536 (0 on air), 65537: no frame lost, one wrap, with keys and without.
        let wrap = try log([up(65534), up(65535), up(65536), up(65537)])
        for k in [keys, nil] {
            let (r, rec, _) = try validate([wrap], keys: k)
            #expect(r.accepted == 4 && r.lost == 0 && r.wraps == 1 && r.rejected == 0)
            #expect(rec.map(\.fcnt) == [65534, 65535, 65536, 65537])
        }
        // An old frame sent again (FCnt 2 after 3): a replay, never "65534 uplinks lost" nor a MIC failure.
        let replay = try log([up(1), up(2), up(3), up(2)])
        for k in [keys, nil] {
            let (r, _, _) = try validate([replay], keys: k)
            #expect(r.lost == 0 && r.wraps == 0 && r.rejectedByReason == ["replay": 1] && r.micInvalid == 0)
        }
        // A restart: 40, 41, then 0 and 1: a reset (below 16), not a wrap.
        let (reset, _, _) = try validate([try log([up(40), up(41), up(0), up(1)])], keys: keys)
        #expect(reset.resets == 1 && reset.lost == 0 && reset.rejected == 0)
        // Past a wrap without keys the window decides: after 65500, FCnt 5 on air is a wrap (41 frames on); after
        // 30000, FCnt 64 on air is not (a wrap would mean 35,599 frames lost): a replay. With keys the MIC says which.
        let (near, _, _) = try validate([try log([up(65500), up(65541)])])
        #expect(near.wraps == 1 && near.lost == 40)
        let far = try log([up(30000), up(65600)])
        let (farNoKeys, _, _) = try validate([far])
        #expect(farNoKeys.rejectedByReason == ["replay": 1] && farNoKeys.lost == 0)
        let (farKeys, rec, _) = try validate([far], keys: keys)
        #expect(farKeys.rejected == 0 && farKeys.wraps == 1 && farKeys.lost == 35599 && rec.last?.fcnt == 65600)
        // The limit, stated: the first frame of a session seen carries only 16 bits, so a counter already past 65,535
        // (70000) cannot be rebuilt and its MIC fails; the next frames are read from there.
        let (restart, _, _) = try validate([try log([up(70000), up(20)])], keys: keys)
        #expect(restart.micInvalid == 1 && restart.accepted == 1)
    }

    /// Point 4 and 5: packet-forwarder logs as quoted in public issue threads (Fixtures/traces/public/README.md): the
    /// forwarder's own lines are skipped, `JSON down:` lines are downlinks, the FSK uplink of packet_forwarder
    /// issue 53 is validated with its FSK airtime (5 + 3 + 1 + 29 + 2 bytes at 50 kbit/s = 6.4 ms, RP002 §2.4.3).
    @Test func forwarderLogsAndFSK() throws {
        let (r, rec, _) = try validate([TestPaths.fixture("traces/public/forwarder-quoted.log").path])
        #expect(r.skippedLines > 100)
        #expect(r.downlinks >= 3)
        // The only malformed line is a txpk the issue tracker garbled (its keys hold spaces).
        #expect(r.rejectedByReason["malformed_line"] == 1)
        let fsk = try #require(rec.first { $0.fskBitrate != nil && $0.uplink })
        #expect(fsk.fskBitrate == 50_000 && fsk.phyPayload?.count == 29)
        let d = try #require(r.devices.first { $0.devAddr == fsk.devAddr?.description })
        #expect(d.airtime == 6_400_000)
        // A clean log (the same frames without the garbled and CRC-failed lines) exits 0: nothing is malformed.
        let clean = try String(contentsOfFile: TestPaths.fixture("traces/public/forwarder-quoted.log").path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("\"datr \"") && !$0.contains("\"stat\":-1") }.joined(separator: "\n")
        let (c, _, _) = try validate([try tempFile("clean.log", clean)])
        #expect(c.rejected == 0 && c.passed)
    }

    /// Point 6: beacons by frequency, size and their CRCs: the LoRaWAN 1.0.4 §13.4 EU868 example (as quoted in a
    /// public test suite, see Fixtures/traces/public/README.md) is a beacon; one changed bit makes it a bad beacon.
    /// Proprietary frames are counted; a join-accept that no AppKey held verifies is rejected.
    @Test func frameClasses() throws {
        let beacon = try Hex.decode("0000000002CCA27E00012000008103DE55")
        #expect(Beacon.decode(beacon, layout: RegionID.eu868.parameters.beacon!)?.valid == true)
        #expect(Beacon.crc16(Array("123456789".utf8)[...]) == 0x31C3)   // CRC-16/XMODEM check value
        var broken = beacon
        broken[9] ^= 0x04
        let lines = [rxpkLine(beacon, freq: "869.525000", datr: "\"SF9BW125\"", stat: 0), rxpkLine(broken, freq: "869.525000", datr: "\"SF9BW125\"", stat: 0),
                     rxpkLine([0xE0, 1, 2, 3])].joined(separator: "\n")
        let (r, _, _) = try validate([try tempFile("classes.log", lines + "\n")])
        #expect(r.beacons == 1 && r.proprietary == 1 && r.rejectedByReason == ["bad_beacon": 1])
        // The 1.0 join-accept of brocaar/lorawan and ChirpStack (vectors X10-1): valid with its AppKey, rejected with others.
        let ja = try Hex.decode("2023cf335489aae3183c0be0baa8dee5f3")
        let good = try keysFile("ja.yaml", "devices:\n  - devEUI: 0102030405060708\n    appKey: 0102030405060708090A0B0C0D0E0F10\n")
        let wrong = try keysFile("jaw.yaml", "devices:\n  - devEUI: 0102030405060708\n    appKey: 0102030405060708090A0B0C0D0E0F11\n  - devEUI: 0102030405060709\n    appKey: 0102030405060708090A0B0C0D0E0F12\n")
        let jaLog = try tempFile("ja.log", rxpkLine(ja) + "\n")
        let (v, rec, _) = try validate([jaLog], keys: good)
        #expect(v.joinAccepts == 1 && v.micValid == 1 && v.rejected == 0 && rec.first?.devAddr == DevAddr(0x0102_0304))
        let (w, _, _) = try validate([jaLog], keys: wrong)
        #expect(w.rejectedByReason == ["mic_mismatch": 1])
    }

    /// Point 7: a repeat (NbTrans: the same frame 5 s later) is written and its airtime counted (constructed).
    @Test func repeatsAreWrittenAndCounted() throws {
        let frame = Self.phy
        let lines = [rxpkLine(frame, time: "2026-06-06T09:00:00Z"), rxpkLine(frame, time: "2026-06-06T09:00:05Z")].joined(separator: "\n")
        let (r, rec, _) = try validate([try tempFile("rep.log", lines + "\n")])
        #expect(r.repeats == 1 && r.uplinks == 1 && rec.count == 2)
        // 18 bytes at SF7/125 kHz, CR 4/5: 8 + ceil((144 − 28 + 28 + 16) / 28) · 5 = 38 payload symbols + 12.25 preamble
        // symbols of 1.024 ms = 51.456 ms each (Semtech AN1200.13), counted twice.
        let d = try #require(r.devices.first)
        #expect(d.airtime == 102_912_000)
    }

    /// Gateway copies through the ring of recent frames and its digest index, over more frames than the ring holds
    /// (constructed): every second gateway's copy 0.5 s later is merged, a repeat 10 s later is not a copy.
    @Test func gatewayCopiesAcrossTheRing() throws {
        let sk = SessionKeys(nwkSKey: try AES128Key(hex: "2B7E151628AED2A6ABF7158809CF4F3C"), appSKey: try AES128Key(hex: "000102030405060708090A0B0C0D0E0F"))
        var lines: [String] = []
        var t = 1_780_736_400 * Time.second
        for i in 0..<1500 {
            let f = try DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: DevAddr(0x2600_0000 | UInt32(i % 40)), fcnt: UInt32(i / 40 + 1),
                                              fport: 2, payload: [UInt8(i & 0xFF)], keys: sk)
            lines.append("gw-a: " + rxpkLine(f, time: TraceTime.format(t)))
            lines.append(rxpkLine(f, time: TraceTime.format(t + Time.second / 2)).replacingOccurrences(of: "JSON up:", with: "0xAA555A0000000002: "))
            if i == 700 { lines.append(rxpkLine(f, time: TraceTime.format(t + 10 * Time.second))) }
            t += 3 * Time.second
        }
        let (r, _, _) = try validate([try tempFile("copies.log", lines.joined(separator: "\n") + "\n")])
        #expect(r.uplinks == 1500 && r.gatewayCopies == 1500 && r.repeats == 1 && r.rejected == 0, "\(r.text)")
    }

    /// Issue 16: times at the ends of the Int64-nanosecond range (the first and last instants a capture can state)
    /// go through the clock, duty-cycle and fair-use checks without a trap.
    @Test func timesAtTheEndsOfTheRange() throws {
        let lines = [ttsLine(fcnt: 1, payload: [0x01, 0x02], time: "1677-09-21T00:12:44Z"),
                     ttsLine(fcnt: 2, payload: [0x01, 0x02], time: "2262-04-11T23:47:16.854775807Z")].joined(separator: "\n")
        let (r, _, _) = try validate([try tempFile("ends.ndjson", lines + "\n")])
        #expect(r.read == 2 && r.accepted == 2 && r.clockJumps == 1)
    }

    /// Point 8 and 9: The Things Stack and ChirpStack documentation examples (Fixtures/traces/public/README.md):
    /// every event kind recognised, none malformed; pretty-printed documents read as their records.
    @Test func networkServerEventsAndDocuments() throws {
        let (t, _, _) = try validate([TestPaths.fixture("traces/public/tts-doc-events.ndjson").path])
        #expect(t.rejectedByReason["malformed_line"] == nil)
        #expect(t.events["join_accept"] != nil && t.events["downlink_ack"] != nil && t.events["downlink_queued"] != nil)
        let (c, _, _) = try validate([TestPaths.fixture("traces/public/chirpstack-doc-events.ndjson").path])
        #expect(c.rejectedByReason["malformed_line"] == nil)
        #expect(Set(c.events.keys) == ["join", "ack", "txack", "status", "log", "location", "integration"] && c.uplinks == 1)
        let (p, prec, _) = try validate([TestPaths.fixture("traces/public/tts-doc-uplink-pretty.json").path])
        #expect(p.read == 1 && p.uplinks == 1 && prec.first?.devEUI != nil)
        let (cp, _, _) = try validate([TestPaths.fixture("traces/public/chirpstack-doc-up-pretty.json").path])
        #expect(cp.read == 1 && cp.uplinks == 1)
        let (bad, _, _) = try validate([TestPaths.fixture("traces/public/tts-doc-uplink-pretty-as-published-invalid.json").path])
        #expect(bad.rejectedByReason["malformed_line"] == 1)
        // Zero values omitted: no f_port, no f_cnt, no received_at (the gateway's time instead): FPort 0, FCnt 0, and
        // the airtime counts the FPort byte (13 bytes + 2 of payload at SF7: 46.336 ms, TTN airtime calculator tests).
        let line = #"{"end_device_ids":{"dev_eui":"70B3D57ED0000101"},"uplink_message":{"frm_payload":"AQI=","rx_metadata":[{"gateway_ids":{"gateway_id":"gw"},"time":"2026-06-06T09:00:00Z"}],"settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":7}},"frequency":"868100000"}}}"#
        let (z, zrec, _) = try validate([try tempFile("zero.ndjson", line + "\n")])
        #expect(z.accepted == 1 && zrec.first?.fport == 0 && zrec.first?.fcnt == 0 && zrec.first?.time == TraceTime.parse("2026-06-06T09:00:00Z"))
        #expect(z.devices.first?.airtime == 46_336_000)
    }

    /// Point 11: checks that pass without checking fail.
    @Test func checksThatPassWithoutCheckingFail() throws {
        let trace = tracesFixture("tts-uplinks.ndjson")
        let empty = try tempFile("empty-expected.ndjson", "")
        let (e, _, _) = try validate([trace], expected: empty)
        #expect(!e.passed && e.expectedEntries == 0 && e.unexpected == 7)
        let one = try tempFile("one-expected.ndjson", #"{"dev_eui":"70B3D57ED0000101","fcnt":1,"decoded":{"x":1}}"# + "\n")
        let (o, _, _) = try validate([trace], expected: one)
        #expect(!o.passed && o.unexpected == 6 && o.expectedMismatched == 1)
        // A stated airtime 10 ms off fails the verdict.
        let off = ttsLine(fcnt: 1, payload: [0x01, 0x02], time: "2026-06-06T09:00:00Z", airtime: "0.056336s")
        let (a, _, _) = try validate([try tempFile("off.ndjson", off + "\n")])
        #expect(a.airtimeMismatches == 1 && !a.passed)
        // The first rejection, not the first notice.
        let keys = try keysFile("notice.yaml", "sessions:\n  - devAddr: 26011BDB\n    nwkSKey: 00000000000000000000000000000001\n    appSKey: 00000000000000000000000000000001\n")
        let (n, _, _) = try validate([tracesFixture("semtech-gateway.log")], keys: keys)
        #expect(n.problems.first?.hasPrefix("unknown device") == true)
        #expect(n.firstRejection?.hasPrefix("mic_mismatch") == true)
    }
}

/// The published alpov/LoRaTap test captures, rebuilt from the tables in Fixtures/traces/public/ (made from the
/// published bytes: each record's LoRaTap header and payload, each log line's rxpk object as published).
enum PublicCaptures {
    static func table(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: TestPaths.fixture("traces/public/" + name).path, encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("{\"source\"") }
    }

    /// The raw text of a member's value (an object or array) in a JSON line, as written there.
    static func rawMember(_ line: String, _ name: String) -> String? {
        let b = Array(line.utf8)
        guard let r = line.range(of: "\"\(name)\":") else { return nil }
        var i = line.utf8.distance(from: line.utf8.startIndex, to: r.upperBound)
        while i < b.count, b[i] == 0x20 { i += 1 }
        let start = i
        var depth = 0, inString = false, escaped = false
        while i < b.count {
            let c = b[i]
            if inString {
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
            } else if c == 0x22 { inString = true } else if c == 0x7B || c == 0x5B { depth += 1 } else if c == 0x7D || c == 0x5D {
                depth -= 1
                if depth == 0 { return String(decoding: b[start...i], as: UTF8.self) }
            }
            i += 1
        }
        return nil
    }

    static func field(_ line: String, _ name: String) -> String? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return o[name] as? String
    }

    /// A classic pcap (little-endian, microseconds, LoRaTap link type 270) of the table's records.
    static func pcap(_ rows: [String]) throws -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        var out = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(270)
        for row in rows {
            let time = try #require(field(row, "pcap_time")).split(separator: ".")
            let bytes = try Hex.decode(try #require(field(row, "loratap"))) + Hex.decode(try #require(field(row, "payload")))
            out += le32(UInt32(time[0]) ?? 0) + le32(UInt32(time.count > 1 ? time[1] : "0") ?? 0) + le32(UInt32(bytes.count)) + le32(UInt32(bytes.count))
            out += bytes
        }
        return out
    }

    /// `00_Test` as the sniffer's packet-forwarder log (`0xEUI: {"rxpk":[…]}` lines) and as its LoRaTap v1 pcap.
    static func alpov00Exports() throws -> (log: String, pcap: String) {
        let rows = try table("alpov-00-test.ndjson")
        let log = try rows.map { row -> String in
            let gw = try #require(field(row, "gateway"))
            let rxpk = try #require(rawMember(row, "rxpk"))
            return "0x\(gw): {\"rxpk\":[\(rxpk)]}"
        }.joined(separator: "\n") + "\n"
        return (try tempFile("alpov-00.log", log), tempBytes("alpov-00-v1.pcap", try pcap(rows)))
    }

    static func alpov06() throws -> String {
        tempBytes("alpov-06.pcap", try pcap(try table("alpov-06-encrypted.ndjson")))
    }
}
