import Foundation
import HarnessCore
import LoRaWAN
import Testing
import TestSupport
@testable import Traces

/// LoRaWAN 1.1 in `replay`: data frames, downlinks and rejoin-requests of other libraries' published vectors
/// (Fixtures/lorawan/lorawan11-vectors.json, sources named there), and a whole 1.1 join built with this project's
/// 1.1 encoder (itself checked against those vectors in LoRaWAN11Tests).
@Suite struct LoRaWAN11ReplayTests {
    static let networkKeys = "    fNwkSIntKey: 02020202020202020202020202020203\n    sNwkSIntKey: 02020202020202020202020202020202\n    nwkSEncKey: 02020202020202020202020202020204\n"

    /// M11-1 (brocaar/lorawan, an uplink at TxDr 2, TxCh 3 — a channel from the device's plan, not a default one —
    /// found by trying the plan's indices) and M11-3 (a downlink on NFCntDown with FOpts encrypted under NwkSEncKey)
    /// verify; one changed byte of M11-1 fails.
    @Test func publishedDataFrames() throws {
        let keys = try keysFile("v11.yaml", "sessions:\n  - devAddr: 01020304\n" + Self.networkKeys + "    appSKey: 01010101010101010101010101010101\n")
        let up = try Hex.decode("400403020180010001a6946426157612366a")
        let down = try Hex.decode("6004030201030000dfb4f1e24f1f9f")
        let txpk = "JSON down: {\"txpk\":{\"imme\":true,\"freq\":869.525,\"rfch\":0,\"powe\":14,\"modu\":\"LORA\",\"datr\":\"SF9BW125\",\"codr\":\"4/5\",\"ipol\":true,\"size\":\(down.count),\"data\":\"\(Base64.encode(down))\"}}"
        let lines = [rxpkLine(up, time: "2026-06-06T09:00:00Z", freq: "867.100000", datr: "\"SF10BW125\""), txpk].joined(separator: "\n")
        let (r, rec, _) = try validate([try tempFile("v11.log", lines + "\n")], keys: keys)
        #expect(r.rejected == 0 && r.micValid == 2 && r.uplinks == 1 && r.downlinks == 1, "\(r.text)")
        #expect(rec.first?.frmPayload == Array("hello".utf8) && rec.first?.fcnt == 1)   // the vector's plaintext 68656c6c6f
        var bad = up
        bad[9] ^= 0x01
        let (b, _, _) = try validate([try tempFile("v11bad.log", rxpkLine(bad, freq: "867.100000", datr: "\"SF10BW125\"") + "\n")], keys: keys)
        #expect(b.rejectedByReason == ["mic_mismatch": 1])
    }

    /// RJ-4 and RJ-5 (brocaar/lorawan): a type 2 rejoin verifies with the SNwkSIntKey of the device's 1.1 session,
    /// a type 1 with the JSIntKey derived from its NwkKey — here the vector's JSIntKey is all zeros, so a device whose
    /// NwkKey gives another JSIntKey fails it.
    @Test func rejoinRequests() throws {
        let zero = "00000000000000000000000000000000"
        let keys = try keysFile("rj.yaml", "sessions:\n  - devAddr: 26000001\n    fNwkSIntKey: \(zero)\n    sNwkSIntKey: \(zero)\n    nwkSEncKey: \(zero)\n    appSKey: \(zero)\n    devEUI: 0102030405060708\n")
        let rj2 = try Hex.decode("c0020302010807060504030201db003c8642ae")
        let (r, _, _) = try validate([try tempFile("rj.log", rxpkLine(rj2) + "\n")], keys: keys)
        #expect(r.rejoinRequests == 1 && r.micValid == 1 && r.rejected == 0, "\(r.text)")
        var bad = rj2
        bad[3] ^= 0x10
        let (b, _, _) = try validate([try tempFile("rjbad.log", rxpkLine(bad) + "\n")], keys: keys)
        #expect(b.rejectedByReason == ["mic_mismatch": 1])
        let rj1 = try Hex.decode("c0010807060504030201100f0e0d0c0b0a09db00eac31072")
        let dev = try keysFile("rj1.yaml", "devices:\n  - devEUI: 090A0B0C0D0E0F10\n    appKey: \(zero)\n    nwkKey: 0102030405060708090A0B0C0D0E0F10\n")
        let (t1, _, _) = try validate([try tempFile("rj1.log", rxpkLine(rj1) + "\n")], keys: dev)
        #expect(t1.rejectedByReason == ["mic_mismatch": 1])
        let (none, _, _) = try validate([try tempFile("rj1n.log", rxpkLine(rj1) + "\n")])
        #expect(none.rejoinRequests == 1 && none.unverified == 1 && none.rejected == 0)
    }

    /// A whole 1.1 OTAA exchange (constructed with the 1.1 encoder): the join-request signed with the NwkKey, the
    /// OptNeg join-accept under JSIntKey, then uplinks and a downlink that verify with the derived 1.1 keys and
    /// nothing else in the keys file; the same capture with another AppKey still joins (the network keys come from the
    /// NwkKey) but its application payloads decrypt to other bytes.
    @Test func wholeJoinIsDerived() throws {
        let nwk = try AES128Key(hex: "0102030405060708090A0B0C0D0E0F10"), app = try AES128Key(hex: "100F0E0D0C0B0A090807060504030201")
        let devEUI = EUI64(0x70B3_D57E_D000_1111), joinEUI = EUI64(0x0000_0000_0000_0001)
        let request = JoinCodec.encodeRequest(joinEUI: joinEUI, devEUI: devEUI, devNonce: 7, appKey: CryptoKey(nwk))
        let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwk), devEUI: devEUI)
        let accept = try JoinCodec.encodeAccept11(JoinAccept(joinNonce: 0x10, netID: 0x13, devAddr: DevAddr(0x2600_0042), rx1DROffset: 0, rx2DataRate: 0,
                                                             optNeg: true, rxDelay: 1), key: CryptoKey(nwk), jsIntKey: js.jsIntKey, joinEUI: joinEUI, devNonce: 7)
        let k = LoRaWANCrypto.sessionKeys11(nwkKey: CryptoKey(nwk), appKey: CryptoKey(app), joinNonce: 0x10, joinEUI: joinEUI, devNonce: 7)
        // DR5 (SF7) on the first default channel (868.1 MHz, TxCh 0).
        let up1 = try DataFrameCodec.encode11(mtype: .unconfirmedDataUp, devAddr: DevAddr(0x2600_0042), fcnt: 0, fport: 10, payload: [0x21, 0x80], keys: k, txDr: 5, txCh: 0)
        let up2 = try DataFrameCodec.encode11(mtype: .confirmedDataUp, devAddr: DevAddr(0x2600_0042), fcnt: 1, fport: 10, payload: [0x21, 0x81], keys: k, txDr: 5, txCh: 0)
        let down = try DataFrameCodec.encode11(mtype: .unconfirmedDataDown, devAddr: DevAddr(0x2600_0042), fcnt: 0, fctrl: FCtrl(ack: true),
                                               fport: 2, payload: [0xAA], keys: k, confFCnt: 1)
        let lines = [rxpkLine(request, time: "2026-06-06T09:00:00Z"), rxpkLine(accept, time: "2026-06-06T09:00:05Z"),
                     rxpkLine(up1, time: "2026-06-06T09:01:00Z"), rxpkLine(up2, time: "2026-06-06T09:02:00Z"),
                     rxpkLine(down, time: "2026-06-06T09:02:01Z", freq: "869.525000", datr: "\"SF9BW125\"")].joined(separator: "\n")
        let log = try tempFile("join11.log", lines + "\n")
        let keys = try keysFile("join11.yaml", "devices:\n  - devEUI: 70B3D57ED0001111\n    appKey: 100F0E0D0C0B0A090807060504030201\n    nwkKey: 0102030405060708090A0B0C0D0E0F10\n")
        let (r, rec, _) = try validate([log], keys: keys)
        #expect(r.rejected == 0 && r.sessionsDerived == 1 && r.micValid == 5 && r.uplinks == 2 && r.downlinks == 1, "\(r.text)")
        #expect(rec.filter { $0.fport == 10 }.map(\.frmPayload) == [[0x21, 0x80], [0x21, 0x81]])
        #expect(rec.last?.frmPayload == [0xAA] && rec.last?.devEUI == devEUI)
        // `keys derive --from` gets the four 1.1 keys of the join (settled: the OptNeg MIC covers the DevNonce).
        let sessions = try TraceValidator.sessions(derivedFrom: log, keys: try KeyStore.load(path: keys))
        #expect(sessions.count == 1 && sessions.first?.settled == true && sessions.first?.session.devAddr == DevAddr(0x2600_0042))
        #expect(sessions.first?.session.lorawan11Keys.map { $0.sNwkSIntKey.key == k.sNwkSIntKey.key && $0.appSKey.key == k.appSKey.key } == true)
        // A corrupted 1.1 uplink after the join is rejected.
        var bad = up2
        bad[10] ^= 0x01
        let badLog = try tempFile("join11bad.log", (lines.split(separator: "\n").prefix(3).map(String.init) + [rxpkLine(bad, time: "2026-06-06T09:02:00Z")]).joined(separator: "\n") + "\n")
        let (b, _, _) = try validate([badLog], keys: keys)
        #expect(b.rejectedByReason == ["mic_mismatch": 1] && b.sessionsDerived == 1)
    }
}
