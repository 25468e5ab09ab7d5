import Foundation
import HarnessCore
import LoRaWAN
import Testing
import TestSupport

/// A field the vector file should have and does not.
private struct MissingField: Error, CustomStringConvertible {
    let id: String
    let name: String
    var description: String { "\(id): no field '\(name)'" }
}

/// One vector of Fixtures/lorawan/lorawan11-vectors.json, read without force unwraps. Keys come back as
/// `AES128Key`/`CryptoKey`, whose text form is ‹key›, so a failing expectation never prints key bytes.
private struct Vector {
    let d: [String: Any]
    var id: String { d["id"] as? String ?? "?" }
    func has(_ k: String) -> Bool { d[k] != nil }
    func s(_ k: String) throws -> String {
        guard let v = d[k] as? String else { throw MissingField(id: id, name: k) }
        return v
    }
    func int(_ k: String) throws -> Int {
        guard let v = d[k] as? Int else { throw MissingField(id: id, name: k) }
        return v
    }
    func u8(_ k: String) throws -> UInt8 { UInt8(truncatingIfNeeded: try int(k)) }
    func u16(_ k: String) throws -> UInt16 { UInt16(truncatingIfNeeded: try int(k)) }
    func u32(_ k: String) throws -> UInt32 { UInt32(truncatingIfNeeded: try int(k)) }
    func bytes(_ k: String) throws -> [UInt8] { try Hex.decode(try s(k)) }
    func key(_ k: String) throws -> AES128Key { try AES128Key(hex: try s(k)) }
    func cryptoKey(_ k: String) throws -> CryptoKey { CryptoKey(try key(k)) }
    func eui(_ k: String) throws -> EUI64 { try EUI64(hex: try s(k)) }
    func devAddr(_ k: String) throws -> DevAddr { try DevAddr(hex: try s(k)) }
    /// NetIDs and MICs are written as big-endian hex.
    func hexNumber(_ k: String) throws -> UInt32 {
        guard let v = UInt32(try s(k), radix: 16) else { throw MissingField(id: id, name: k) }
        return v
    }
    func direction() throws -> Direction { try s("direction") == "uplink" ? .uplink : .downlink }
}

private let zeroKey = CryptoKey((try? AES128Key(bytes: [UInt8](repeating: 0, count: 16))) ?? {
    preconditionFailure("16 bytes make a key")
}())

/// LoRaWAN 1.1 vectors from brocaar/lorawan, chirpstack, TTN lorawan-stack and lora-packet
/// (Fixtures/lorawan/lorawan11-vectors.json names each source; /work/research/lorawan11.md checks them).
@Suite struct LoRaWAN11VectorTests {
    let doc = (try? TestPaths.loadJSON("lorawan/lorawan11-vectors.json")) as? [String: Any] ?? [:]
    private func list(_ name: String) -> [Vector] { (doc[name] as? [[String: Any]] ?? []).map(Vector.init) }

    // MARK: keyDerivation11

    /// §6.1.1.4 and §6.2.3: the 1.1 session keys (OptNeg set), the OptNeg-unset fallback, JSIntKey/JSEncKey.
    @Test func keyDerivation11() throws {
        let vectors = list("keyDerivation11")
        #expect(vectors.count == 8)
        var checked = 0
        for v in vectors {
            if v.has("fNwkSIntKey") {
                let k = LoRaWANCrypto.sessionKeys11(nwkKey: try v.cryptoKey("nwkKey"), appKey: try v.cryptoKey("appKey"),
                                                    joinNonce: try v.u32("joinNonce"), joinEUI: try v.eui("joinEUI"),
                                                    devNonce: try v.u16("devNonce"))
                #expect(k.fNwkSIntKey.key == (try v.key("fNwkSIntKey")), "\(v.id) FNwkSIntKey")
                #expect(k.sNwkSIntKey.key == (try v.key("sNwkSIntKey")), "\(v.id) SNwkSIntKey")
                #expect(k.nwkSEncKey.key == (try v.key("nwkSEncKey")), "\(v.id) NwkSEncKey")
                #expect(k.appSKey.key == (try v.key("appSKey")), "\(v.id) AppSKey")
                checked += 1
            } else if v.has("nwkSKey") {
                let k = LoRaWANCrypto.sessionKeys11(optNegUnset: try v.cryptoKey("nwkKey"), joinNonce: try v.u32("joinNonce"),
                                                    netID: try v.hexNumber("netID"), devNonce: try v.u16("devNonce"))
                let nwkSKey = try v.key("nwkSKey")
                #expect(k.fNwkSIntKey.key == nwkSKey && k.sNwkSIntKey.key == nwkSKey && k.nwkSEncKey.key == nwkSKey,
                        "\(v.id) network keys")
                #expect(k.appSKey.key == (try v.key("appSKey")), "\(v.id) AppSKey")
                checked += 1
            }
            if v.has("jsIntKey") {
                let js = LoRaWANCrypto.joinServerKeys(nwkKey: try v.cryptoKey("nwkKey"), devEUI: try v.eui("devEUI"))
                #expect(js.jsIntKey.key == (try v.key("jsIntKey")), "\(v.id) JSIntKey")
                #expect(js.jsEncKey.key == (try v.key("jsEncKey")), "\(v.id) JSEncKey")
                checked += 1
            }
        }
        #expect(checked == 8)
    }

    /// A one-bit change of any derivation input changes the key.
    @Test func keyDerivation11ChangedInputFails() throws {
        for v in list("keyDerivation11") {
            if v.has("fNwkSIntKey") {
                let k = LoRaWANCrypto.sessionKeys11(nwkKey: try v.cryptoKey("nwkKey"), appKey: try v.cryptoKey("appKey"),
                                                    joinNonce: try v.u32("joinNonce"), joinEUI: try v.eui("joinEUI"),
                                                    devNonce: try v.u16("devNonce") ^ 0x0001)
                #expect(k.fNwkSIntKey.key != (try v.key("fNwkSIntKey")), "\(v.id)")
                #expect(k.appSKey.key != (try v.key("appSKey")), "\(v.id)")
                let e = LoRaWANCrypto.sessionKeys11(nwkKey: try v.cryptoKey("nwkKey"), appKey: try v.cryptoKey("appKey"),
                                                    joinNonce: try v.u32("joinNonce"),
                                                    joinEUI: EUI64(try v.eui("joinEUI").value ^ 0x0100_0000_0000_0000),
                                                    devNonce: try v.u16("devNonce"))
                #expect(e.sNwkSIntKey.key != (try v.key("sNwkSIntKey")), "\(v.id)")
                #expect(e.nwkSEncKey.key != (try v.key("nwkSEncKey")), "\(v.id)")
            } else if v.has("nwkSKey") {
                let k = LoRaWANCrypto.sessionKeys11(optNegUnset: try v.cryptoKey("nwkKey"), joinNonce: try v.u32("joinNonce") ^ 1,
                                                    netID: try v.hexNumber("netID"), devNonce: try v.u16("devNonce"))
                #expect(k.fNwkSIntKey.key != (try v.key("nwkSKey")), "\(v.id)")
            }
            if v.has("jsIntKey") {
                let js = LoRaWANCrypto.joinServerKeys(nwkKey: try v.cryptoKey("nwkKey"), devEUI: EUI64(try v.eui("devEUI").value ^ 1))
                #expect(try js.jsIntKey.key != (try v.key("jsIntKey")) && js.jsEncKey.key != (try v.key("jsEncKey")), "\(v.id)")
            }
        }
    }

    /// The two lora-packet key tests that disagree with §6.2.3 (NetID in the JoinEUI slot): not expected values.
    /// Only their FNwkSIntKey is what the OptNeg-unset rule gives; the other three must not come out.
    @Test func nonConformingKeysAreNotReproduced() throws {
        let vectors = list("nonConforming")
        #expect(vectors.count == 2)
        for v in vectors {
            let k = LoRaWANCrypto.sessionKeys11(optNegUnset: try v.cryptoKey("nwkKey"), joinNonce: try v.u32("joinNonce"),
                                                netID: try v.hexNumber("netID"), devNonce: try v.u16("devNonce"))
            #expect(k.fNwkSIntKey.key == (try v.key("fNwkSIntKey")), "\(v.id)")
            #expect(k.sNwkSIntKey.key != (try v.key("sNwkSIntKey")), "\(v.id)")
            #expect(k.nwkSEncKey.key != (try v.key("nwkSEncKey")), "\(v.id)")
            #expect(k.appSKey.key != (try v.key("appSKey")), "\(v.id)")
        }
    }

    // MARK: joinAccept11

    private func accept(_ v: Vector) throws -> JoinAccept {
        let dl = try v.u8("dlSettings")
        return JoinAccept(joinNonce: try v.u32("joinNonce"), netID: try v.hexNumber("netID"), devAddr: try v.devAddr("devAddr"),
                          rx1DROffset: (dl >> 4) & 0x07, rx2DataRate: dl & 0x0F, optNeg: dl & 0x80 != 0,
                          rxDelay: try v.u8("rxDelay"))
    }

    /// The JSIntKey a vector uses: given, or derived from NwkKey and DevEUI (§6.1.1.4) as the TTN join server does.
    private func jsIntKey(_ v: Vector) throws -> CryptoKey {
        if v.has("jsIntKey") { return try v.cryptoKey("jsIntKey") }
        return LoRaWANCrypto.joinServerKeys(nwkKey: try v.cryptoKey("nwkKey"), devEUI: try v.eui("devEUI")).jsIntKey
    }

    /// §6.2.3: the MIC over JoinReqType | JoinEUI | DevNonce | MHDR … (OptNeg set) or the 1.0 MIC under NwkKey
    /// (OptNeg clear), encryption under NwkKey, fields read back.
    @Test func joinAccept11() throws {
        let vectors = list("joinAccept11")
        #expect(vectors.count == 5)
        var checked = 0
        for v in vectors {
            let joinEUI = try v.eui("joinEUI"), devNonce = try v.u16("devNonce")
            let joinReqType: UInt8 = try v.has("joinReqType") ? v.u8("joinReqType") : 0xFF
            if v.has("plaintextNoMIC") {
                // JA11-2: the MIC primitive alone.
                let plain = try v.bytes("plaintextNoMIC")
                let mic = LoRaWANCrypto.joinAcceptMIC11(jsIntKey: try v.cryptoKey("jsIntKey"), joinReqType: joinReqType,
                                                        joinEUI: joinEUI, devNonce: devNonce, message: plain[...])
                #expect(mic == (try v.hexNumber("mic")), "\(v.id) MIC")
                checked += 1
                continue
            }
            let nwkKey = try v.cryptoKey("nwkKey"), js = try jsIntKey(v)
            let fields = try accept(v)
            #expect(fields.optNeg == (v.d["optNeg"] as? Bool ?? false), "\(v.id) OptNeg")
            let raw = try JoinCodec.encodeAccept11(fields, key: nwkKey, jsIntKey: js, joinReqType: joinReqType,
                                                   joinEUI: joinEUI, devNonce: devNonce)
            if v.has("phyPayload") { #expect(raw == (try v.bytes("phyPayload")), "\(v.id) on air") }
            var body = Array(raw.dropFirst())
            LoRaWANCrypto.decryptJoinAccept(&body, key: nwkKey)
            #expect([raw[0]] + body == (try v.bytes("plaintext")), "\(v.id) plaintext")
            let (a, valid) = try JoinCodec.decryptAccept11(raw, key: nwkKey, jsIntKey: js, joinReqType: joinReqType,
                                                           joinEUI: joinEUI, devNonce: devNonce)
            #expect(valid, "\(v.id) MIC valid")
            #expect(a.mic == (try v.hexNumber("mic")), "\(v.id) MIC")
            #expect(a.joinNonce == fields.joinNonce && a.netID == fields.netID && a.devAddr == fields.devAddr, "\(v.id) fields")
            #expect(a.optNeg == fields.optNeg && a.rx1DROffset == fields.rx1DROffset && a.rx2DataRate == fields.rx2DataRate
                    && a.rxDelay == fields.rxDelay && a.cfList == nil, "\(v.id) settings")
            checked += 1
        }
        #expect(checked == 5)
    }

    @Test func joinAccept11ChangedByteFails() throws {
        for v in list("joinAccept11") {
            let joinEUI = try v.eui("joinEUI"), devNonce = try v.u16("devNonce")
            let joinReqType: UInt8 = try v.has("joinReqType") ? v.u8("joinReqType") : 0xFF
            if v.has("plaintextNoMIC") {
                var plain = try v.bytes("plaintextNoMIC")
                plain[5] ^= 0x01
                let mic = LoRaWANCrypto.joinAcceptMIC11(jsIntKey: try v.cryptoKey("jsIntKey"), joinReqType: joinReqType,
                                                        joinEUI: joinEUI, devNonce: devNonce, message: plain[...])
                #expect(mic != (try v.hexNumber("mic")), "\(v.id)")
                continue
            }
            let nwkKey = try v.cryptoKey("nwkKey"), js = try jsIntKey(v)
            let fields = try accept(v)
            let raw = try JoinCodec.encodeAccept11(fields, key: nwkKey, jsIntKey: js, joinReqType: joinReqType,
                                                   joinEUI: joinEUI, devNonce: devNonce)
            for at in [1, raw.count - 1] {
                var bad = raw
                bad[at] ^= 0x01
                #expect(try !JoinCodec.decryptAccept11(bad, key: nwkKey, jsIntKey: js, joinReqType: joinReqType,
                                                       joinEUI: joinEUI, devNonce: devNonce).micValid, "\(v.id) byte \(at)")
            }
            if fields.optNeg {
                // The MIC binds the request: another JoinReqType or DevNonce fails.
                #expect(try !JoinCodec.decryptAccept11(raw, key: nwkKey, jsIntKey: js, joinReqType: 0x00,
                                                       joinEUI: joinEUI, devNonce: devNonce).micValid, "\(v.id) JoinReqType")
                #expect(try !JoinCodec.decryptAccept11(raw, key: nwkKey, jsIntKey: js, joinReqType: joinReqType,
                                                       joinEUI: joinEUI, devNonce: devNonce &+ 1).micValid, "\(v.id) DevNonce")
            }
        }
        #expect(throws: FrameError.self) {
            try JoinCodec.decryptAccept11([0x20, 1, 2], key: zeroKey, jsIntKey: zeroKey, joinEUI: EUI64(0), devNonce: 0)
        }
    }

    /// Not in the published vectors: a join-accept answering a Rejoin-request (JSEncKey, JoinReqType 0…2), with a
    /// CFList. Round trip and binding of the JoinReqType only.
    @Test func joinAccept11AfterRejoinRoundTrip() throws {
        let nwkKey = CryptoKey(try AES128Key(hex: "4242ffffffffffffffffffffffffffff"))
        let js = LoRaWANCrypto.joinServerKeys(nwkKey: nwkKey, devEUI: EUI64(0x4242_FFFF_FFFF_FFFF))
        var a = JoinAccept(joinNonce: 0x123456, netID: 0x000013, devAddr: DevAddr(0x2601_1BDA), rx1DROffset: 2,
                           rx2DataRate: 3, optNeg: true, rxDelay: 1, cfList: Array(1...16))
        for type: UInt8 in [0, 1, 2] {
            let raw = try JoinCodec.encodeAccept11(a, key: js.jsEncKey, jsIntKey: js.jsIntKey, joinReqType: type,
                                                   joinEUI: EUI64(0x42), devNonce: 7)
            #expect(raw.count == 33)
            let (back, valid) = try JoinCodec.decryptAccept11(raw, key: js.jsEncKey, jsIntKey: js.jsIntKey, joinReqType: type,
                                                              joinEUI: EUI64(0x42), devNonce: 7)
            #expect(valid)
            a.mic = back.mic
            #expect(back == a)
            #expect(try !JoinCodec.decryptAccept11(raw, key: js.jsEncKey, jsIntKey: js.jsIntKey, joinReqType: 0xFF,
                                                   joinEUI: EUI64(0x42), devNonce: 7).micValid)
        }
    }

    // MARK: joinRequest11

    /// §6.2.2: the join-request MIC under NwkKey (the existing codec with NwkKey in the AppKey's place).
    @Test func joinRequest11() throws {
        let vectors = list("joinRequest11")
        #expect(vectors.count == 2)
        for v in vectors {
            let raw = try v.bytes("phyPayload")
            guard case .joinRequest(let j) = try FrameDecoder.decode(raw, lorawan11: true) else {
                Issue.record("\(v.id): not a join-request"); continue
            }
            #expect(try j.joinEUI == (try v.eui("joinEUI")) && j.devEUI == (try v.eui("devEUI")), "\(v.id) EUIs")
            #expect(j.devNonce == (try v.u16("devNonce")), "\(v.id) DevNonce")
            #expect(j.mic == (try v.hexNumber("mic")), "\(v.id) MIC")
            let nwkKey = try v.cryptoKey("nwkKey")
            #expect(JoinCodec.verifyRequest(raw, appKey: nwkKey).valid, "\(v.id) MIC valid")
            #expect(JoinCodec.encodeRequest(joinEUI: j.joinEUI, devEUI: j.devEUI, devNonce: j.devNonce, appKey: nwkKey) == raw,
                    "\(v.id) re-encoded")
        }
    }

    @Test func joinRequest11ChangedByteFails() throws {
        for v in list("joinRequest11") {
            let raw = try v.bytes("phyPayload")
            for at in [0, 17, 22] {
                var bad = raw
                bad[at] ^= 0x01
                #expect(!JoinCodec.verifyRequest(bad, appKey: try v.cryptoKey("nwkKey")).valid, "\(v.id) byte \(at)")
            }
        }
    }

    // MARK: rejoinRequest

    private func rejoinRaw(_ v: Vector) throws -> [UInt8] {
        if v.has("phyPayload") { return try v.bytes("phyPayload") }
        let mic = try v.hexNumber("mic")
        return try v.bytes("phyPayloadNoMIC") + [UInt8(mic >> 24), UInt8(mic >> 16 & 0xFF), UInt8(mic >> 8 & 0xFF), UInt8(mic & 0xFF)]
    }

    private func verify(_ v: Vector, _ raw: [UInt8]) throws -> (request: RejoinRequest, valid: Bool, expected: UInt32) {
        let key = try v.cryptoKey("key")
        return try v.s("keyRole") == "JSIntKey" ? JoinCodec.verifyRejoin(raw, jsIntKey: key)
            : JoinCodec.verifyRejoin(raw, sNwkSIntKey: key)
    }

    /// §6.2.4: types 0 and 2 under SNwkSIntKey, type 1 under JSIntKey; fields read from the decoder's body.
    @Test func rejoinRequest() throws {
        let vectors = list("rejoinRequest")
        #expect(vectors.count == 5)
        for v in vectors {
            let raw = try rejoinRaw(v)
            let (r, valid, expected) = try verify(v, raw)
            #expect(valid, "\(v.id) MIC valid")
            #expect(expected == (try v.hexNumber("mic")), "\(v.id) MIC")
            #expect(r.type == (try v.u8("rejoinType")), "\(v.id) type")
            #expect(r.devEUI == (try v.eui("devEUI")), "\(v.id) DevEUI")
            #expect(r.rjCount == (try v.u16("rjCount")), "\(v.id) RJcount")
            if r.type == 1 {
                let joinEUI = try v.eui("joinEUI")
                #expect(r.joinEUI == joinEUI && r.netID == nil, "\(v.id) JoinEUI")
            } else {
                let netID = try v.hexNumber("netID")
                #expect(r.netID == netID && r.joinEUI == nil, "\(v.id) NetID")
            }
            // The same request built from its fields.
            let built: RejoinRequest
            if r.type == 1 {
                built = RejoinRequest(joinEUI: try v.eui("joinEUI"), devEUI: r.devEUI, rjCount: r.rjCount)
            } else {
                built = try RejoinRequest(type: r.type, netID: try v.hexNumber("netID"), devEUI: r.devEUI, rjCount: r.rjCount)
            }
            #expect(JoinCodec.encodeRejoin(built, key: try v.cryptoKey("key")) == raw, "\(v.id) re-encoded")
            #expect(LoRaWANCrypto.rejoinMIC(key: try v.cryptoKey("key"), message: built.bytesWithoutMIC[...]) == expected)
        }
    }

    @Test func rejoinRequestChangedByteFails() throws {
        for v in list("rejoinRequest") {
            let raw = try rejoinRaw(v)
            for at in [2, raw.count - 5, raw.count - 1] {
                var bad = raw
                bad[at] ^= 0x01
                #expect(try !verify(v, bad).valid, "\(v.id) byte \(at)")
            }
            // The other key role: type 1 needs the JSIntKey, types 0/2 the SNwkSIntKey.
            let key = try v.cryptoKey("key")
            #expect(throws: FrameError.self) {
                try v.s("keyRole") == "JSIntKey" ? JoinCodec.verifyRejoin(raw, sNwkSIntKey: key)
                    : JoinCodec.verifyRejoin(raw, jsIntKey: key)
            }
        }
        // Type and length must agree; unknown types are refused.
        #expect(throws: FrameError.self) { try RejoinRequest(type: 1, body: [UInt8](repeating: 0, count: 13), mic: 0) }
        #expect(throws: FrameError.self) { try RejoinRequest(type: 3, body: [UInt8](repeating: 0, count: 13), mic: 0) }
        #expect(throws: FrameError.self) { try RejoinRequest.parse([0xC0, 0x00]) }
    }

    // MARK: dataMIC11

    private func keys(_ v: Vector) throws -> LoRaWAN11Keys {
        func k(_ name: String) throws -> CryptoKey { try v.has(name) ? v.cryptoKey(name) : zeroKey }
        return LoRaWAN11Keys(fNwkSIntKey: try k("fNwkSIntKey"), sNwkSIntKey: try k("sNwkSIntKey"),
                             nwkSEncKey: try k("nwkSEncKey"), appSKey: try k("appSKey"))
    }

    /// The ConfFCnt the test passed (brocaar passes one and zeroes it when ACK is clear; so do `open11`/`encode11`).
    private func confFCnt(_ v: Vector) throws -> UInt16 { try v.u16(v.has("confFCntArg") ? "confFCntArg" : "confFCnt") }
    private func txDr(_ v: Vector) throws -> UInt8 { try v.has("txDr") ? v.u8("txDr") : 0 }
    private func txCh(_ v: Vector) throws -> UInt8 { try v.has("txCh") ? v.u8("txCh") : 0 }

    private func open(_ v: Vector, _ raw: [UInt8]) throws -> OpenedDataFrame? {
        guard case .data(let f) = try FrameDecoder.decode(raw, lorawan11: true) else { return nil }
        return try DataFrameCodec.open11(raw, frame: f, fcnt: UInt32(f.fcnt), keys: try keys(v), confFCnt: try confFCnt(v),
                                         txDr: try txDr(v), txCh: try txCh(v))
    }

    /// §4.4: uplink MIC = cmacS[0..1] | cmacF[0..1] with B1 (ConfFCnt, TxDr, TxCh), downlink MIC under SNwkSIntKey
    /// with ConfFCnt in B0; FOpts and FRMPayload decrypted; frames rebuilt byte for byte.
    @Test func dataMIC11() throws {
        let vectors = list("dataMIC11")
        #expect(vectors.count == 11)
        let onlyIn11 = ["RekeyInd", "ResetInd", "ADRParamSetupAns", "RejoinParamSetupAns", "DeviceModeInd"]
        for v in vectors {
            let direction = try v.direction()
            if v.has("message") {
                // M11-10/11: the MIC primitives over the given bytes.
                let message = try v.bytes("message"), devAddr = try v.devAddr("devAddr"), fcnt = try v.u32("fcnt")
                let k = try keys(v)
                let mic = direction == .uplink
                    ? LoRaWANCrypto.uplinkMIC11(fNwkSIntKey: k.fNwkSIntKey, sNwkSIntKey: k.sNwkSIntKey, confFCnt: try confFCnt(v),
                                                txDr: try txDr(v), txCh: try txCh(v), devAddr: devAddr, fcnt: fcnt, message: message[...])
                    : LoRaWANCrypto.downlinkMIC11(sNwkSIntKey: k.sNwkSIntKey, confFCnt: try confFCnt(v), devAddr: devAddr,
                                                  fcnt: fcnt, message: message[...])
                #expect(mic == (try v.hexNumber("mic")), "\(v.id) MIC")
                continue
            }
            let raw = try v.bytes("phyPayload")
            guard let o = try open(v, raw) else { Issue.record("\(v.id): not a data frame"); continue }
            let f = o.frame
            #expect(f.direction == direction, "\(v.id) direction")
            #expect(f.devAddr == (try v.devAddr("devAddr")), "\(v.id) DevAddr")
            #expect(try f.fctrl.byte == (try v.u8("fctrl")) && f.fcnt == (try v.u16("fcnt")), "\(v.id) FCtrl, FCnt")
            let fport: UInt8? = try v.has("fport") ? v.u8("fport") : nil
            #expect(f.fport == fport, "\(v.id) FPort")
            #expect(f.mic == (try v.hexNumber("mic")), "\(v.id) MIC as sent")
            #expect(o.micValid, "\(v.id) MIC valid")
            #expect(o.expectedMIC == (try v.hexNumber("mic")), "\(v.id) MIC")
            if v.has("foptsEncrypted") {
                #expect(Hex.encode(f.fopts) == (try v.s("fopts")), "\(v.id) FOpts decrypted")
                guard case .data(let sent) = try FrameDecoder.decode(raw, lorawan11: true) else { continue }
                #expect(Hex.encode(sent.fopts) == (try v.s("foptsEncrypted")), "\(v.id) FOpts as sent")
            }
            // FRMPayload: only where the test used the key §4.3.3 names (not M11-5; M11-8 has no NwkSEncKey).
            let specKey = f.fport == 0 ? "nwkSEncKey" : "appSKey"
            var conforming = v.has(specKey)
            if conforming, v.has("frmPayloadKey") { conforming = try v.s("frmPayloadKey") == v.s(specKey) }
            if v.has("plaintext"), conforming {
                #expect(Hex.encode(o.payload) == (try v.s("plaintext")), "\(v.id) FRMPayload")
                if let names = v.d["macCommands"] as? [String], conforming,
                   !names.contains(where: { n in onlyIn11.contains(where: n.hasPrefix) }) {
                    #expect(o.macCommands.map(\.name) == names.map { String($0.prefix(while: { $0 != " " })) },
                            "\(v.id) MAC commands")
                }
            }
            if v.id == "M11-3" {
                #expect(o.macCommands == [.linkCheckAns(margin: 7, gatewayCount: 1)], "M11-3 LinkCheckAns")
            }
            // Built again from the decrypted content with the same keys and parameters: the same bytes.
            let again = try DataFrameCodec.encode11(mtype: f.mtype, devAddr: f.devAddr, fcnt: o.fcnt, fctrl: f.fctrl,
                                                    fopts: f.fopts, fport: f.fport, payload: o.payload, keys: try keys(v),
                                                    confFCnt: try confFCnt(v), txDr: try txDr(v), txCh: try txCh(v))
            #expect(again == raw, "\(v.id) re-encoded")
        }
    }

    @Test func dataMIC11ChangedByteFails() throws {
        for v in list("dataMIC11") {
            if v.has("message") {
                var message = try v.bytes("message")
                message[message.count - 1] ^= 0x01
                let k = try keys(v), devAddr = try v.devAddr("devAddr"), fcnt = try v.u32("fcnt")
                let mic = try v.direction() == .uplink
                    ? LoRaWANCrypto.uplinkMIC11(fNwkSIntKey: k.fNwkSIntKey, sNwkSIntKey: k.sNwkSIntKey, confFCnt: 0, txDr: 0,
                                                txCh: 0, devAddr: devAddr, fcnt: fcnt, message: message[...])
                    : LoRaWANCrypto.downlinkMIC11(sNwkSIntKey: k.sNwkSIntKey, confFCnt: 0, devAddr: devAddr, fcnt: fcnt,
                                                  message: message[...])
                #expect(mic != (try v.hexNumber("mic")), "\(v.id)")
                continue
            }
            let raw = try v.bytes("phyPayload")
            // A byte of the header, of FOpts or the payload, and of the MIC.
            for at in [6, raw.count - 5, raw.count - 1] {
                var bad = raw
                bad[at] ^= 0x01
                // Rejected either way: a MIC that fails, or bytes that no longer read as a frame.
                #expect((try? open(v, bad))?.micValid != true, "\(v.id) byte \(at)")
            }
            guard case .data(let f) = try FrameDecoder.decode(raw, lorawan11: true) else { continue }
            if f.direction == .uplink {
                // TxCh and TxDr enter B1: a wrong channel breaks the cmacS half only.
                let o = try DataFrameCodec.open11(raw, frame: f, fcnt: UInt32(f.fcnt), keys: try keys(v),
                                                  confFCnt: try confFCnt(v), txDr: try txDr(v), txCh: try txCh(v) ^ 1)
                #expect(!o.micValid, "\(v.id) TxCh")
                #expect(o.expectedMIC & 0xFFFF == f.mic & 0xFFFF && o.expectedMIC >> 16 != f.mic >> 16, "\(v.id) cmacF half kept")
            }
            if f.fctrl.ack {
                // M11-2: with ACK set the ConfFCnt counts.
                let o = try DataFrameCodec.open11(raw, frame: f, fcnt: UInt32(f.fcnt), keys: try keys(v),
                                                  confFCnt: try confFCnt(v) &+ 1, txDr: try txDr(v), txCh: try txCh(v))
                #expect(!o.micValid, "\(v.id) ConfFCnt")
            }
            // The 32-bit counter must end in the frame's 16 bits.
            #expect(throws: FrameError.self) {
                try DataFrameCodec.open11(raw, frame: f, fcnt: UInt32(f.fcnt) + 1, keys: try keys(v))
            }
        }
    }

    /// Not in the published vectors (lorawan11.md, gaps): a downlink with ACK set and ConfFCnt ≠ 0, and an
    /// uplink with encrypted FOpts and a MIC. Round trips through `encode11`/`open11`, and the ConfFCnt binding.
    @Test func dataFrames11RoundTrip() throws {
        func k(_ b: UInt8) throws -> AES128Key { try AES128Key(bytes: [UInt8](repeating: b, count: 16)) }
        let keys = LoRaWAN11Keys(fNwkSIntKey: try k(1), sNwkSIntKey: try k(2), nwkSEncKey: try k(3), appSKey: try k(4))
        let devAddr = DevAddr(0x2601_1BDA)
        let down = try DataFrameCodec.encode11(mtype: .unconfirmedDataDown, devAddr: devAddr, fcnt: 0x1_0002,
                                               fctrl: FCtrl(ack: true), fopts: [0x02, 0x07, 0x01], fport: 5,
                                               payload: [1, 2, 3], keys: keys, confFCnt: 0x1234)
        guard case .data(let fd) = try FrameDecoder.decode(down, lorawan11: true) else { Issue.record("not data"); return }
        #expect(fd.fopts != [0x02, 0x07, 0x01])
        let od = try DataFrameCodec.open11(down, frame: fd, fcnt: 0x1_0002, keys: keys, confFCnt: 0x1234)
        #expect(od.micValid && od.frame.fopts == [0x02, 0x07, 0x01] && od.payload == [1, 2, 3])
        #expect(od.macCommands == [.linkCheckAns(margin: 7, gatewayCount: 1)])
        #expect(try !DataFrameCodec.open11(down, frame: fd, fcnt: 0x1_0002, keys: keys, confFCnt: 0).micValid)
        // FPort > 0 downlink: FOpts under the AFCntDwn block; the NFCntDwn block reads it differently.
        #expect(try DataFrameCodec.open11(down, frame: fd, fcnt: 0x1_0002, keys: keys, confFCnt: 0x1234,
                                          aFCntDown: false).frame.fopts != [0x02, 0x07, 0x01])

        let up = try DataFrameCodec.encode11(mtype: .confirmedDataUp, devAddr: devAddr, fcnt: 7, fctrl: FCtrl(adr: true),
                                             fopts: [0x03, 0x07], fport: 1, payload: Array("hi".utf8), keys: keys,
                                             confFCnt: 0x55, txDr: 5, txCh: 2)
        guard case .data(let fu) = try FrameDecoder.decode(up, lorawan11: true) else { Issue.record("not data"); return }
        // ACK clear: ConfFCnt does not count, whatever is passed.
        let ou = try DataFrameCodec.open11(up, frame: fu, fcnt: 7, keys: keys, confFCnt: 0x99, txDr: 5, txCh: 2)
        #expect(ou.micValid && ou.frame.fopts == [0x03, 0x07] && ou.payload == Array("hi".utf8))
        #expect(try !DataFrameCodec.open11(up, frame: fu, fcnt: 7, keys: keys, txDr: 4, txCh: 2).micValid)

        // Input the codec refuses, without trapping.
        #expect(throws: FrameError.self) {
            try DataFrameCodec.encode11(mtype: .joinRequest, devAddr: devAddr, fcnt: 0, fport: 1, payload: [], keys: keys)
        }
        #expect(throws: FrameError.self) {
            try DataFrameCodec.encode11(mtype: .unconfirmedDataUp, devAddr: devAddr, fcnt: 0, fopts: [UInt8](repeating: 0, count: 16),
                                        fport: nil, payload: [], keys: keys)
        }
        #expect(throws: FrameError.self) {
            try DataFrameCodec.open11([0x40, 1], frame: fu, fcnt: 7, keys: keys)
        }
    }

    // MARK: fopts11

    /// §4.3.1.6 with the erratum A block: byte 4 = 0x01 (FCntUp, NFCntDwn) or 0x02 (AFCntDwn), byte 15 = 0x01.
    @Test func fopts11() throws {
        let vectors = list("fopts11")
        #expect(vectors.count == 4)
        for v in vectors {
            let aFCntDown = try v.s("counter") == "AFCntDown"
            #expect(try v.int("aBlockByte4") == (aFCntDown ? 2 : 1), "\(v.id) block byte 4")
            var data = try v.bytes("plaintext")
            LoRaWANCrypto.cipherFOpts11(&data, nwkSEncKey: try v.cryptoKey("key"), direction: try v.direction(),
                                        devAddr: try v.devAddr("devAddr"), fcnt: try v.u32("fcnt"), aFCntDown: aFCntDown)
            #expect(Hex.encode(data) == (try v.s("ciphertext")), "\(v.id) encrypted")
            LoRaWANCrypto.cipherFOpts11(&data, nwkSEncKey: try v.cryptoKey("key"), direction: try v.direction(),
                                        devAddr: try v.devAddr("devAddr"), fcnt: try v.u32("fcnt"), aFCntDown: aFCntDown)
            #expect(Hex.encode(data) == (try v.s("plaintext")), "\(v.id) decrypted")
        }
    }

    /// The wrong counter flag, counter, direction or key gives other bytes; a changed encrypted FOpts byte in a
    /// frame fails its MIC (M11-3 and M11-7 carry F11-3 and F11-4).
    @Test func fopts11ChangedInputFails() throws {
        for v in list("fopts11") {
            let aFCntDown = try v.s("counter") == "AFCntDown"
            let direction = try v.direction()
            func cipher(_ dir: Direction, fcnt: UInt32, flag: Bool) throws -> String {
                var data = try v.bytes("plaintext")
                LoRaWANCrypto.cipherFOpts11(&data, nwkSEncKey: try v.cryptoKey("key"), direction: dir,
                                            devAddr: try v.devAddr("devAddr"), fcnt: fcnt, aFCntDown: flag)
                return Hex.encode(data)
            }
            let fcnt = try v.u32("fcnt"), expected = try v.s("ciphertext")
            #expect(try cipher(direction, fcnt: fcnt &+ 1, flag: aFCntDown) != expected, "\(v.id) FCnt")
            #expect(try cipher(direction == .uplink ? .downlink : .uplink, fcnt: fcnt, flag: false) != expected, "\(v.id) Dir")
            if direction == .downlink {
                #expect(try cipher(direction, fcnt: fcnt, flag: !aFCntDown) != expected, "\(v.id) counter flag")
            }
        }
        for v in list("dataMIC11") where v.id == "M11-3" || v.id == "M11-7" {
            var raw = try v.bytes("phyPayload")
            raw[8] ^= 0x80   // the first encrypted FOpts byte
            #expect(try open(v, raw)?.micValid == false, "\(v.id)")
        }
    }

    // MARK: frames10x

    /// The 1.0.x frames of the same sources, with the 1.0 codec: and where 1.1 must agree with 1.0 (a join-accept
    /// with OptNeg clear; a downlink MIC with ConfFCnt 0 under SNwkSIntKey = NwkSKey), with the 1.1 code too.
    @Test func frames10x() throws {
        let vectors = list("frames10x")
        #expect(vectors.count == 6)
        for v in vectors {
            switch try v.s("kind") {
            case "joinAccept":
                let raw = try v.bytes("phyPayload"), appKey = try v.cryptoKey("appKey")
                let (a, valid) = try JoinCodec.decryptAccept(raw, appKey: appKey)
                #expect(try valid && a.mic == (try v.hexNumber("mic")), "\(v.id) MIC")
                #expect(try a.joinNonce == (try v.u32("joinNonce")) && a.netID == (try v.hexNumber("netID"))
                        && a.devAddr == (try v.devAddr("devAddr")) && a.dlSettingsByte == (try v.u8("dlSettings"))
                        && a.rxDelay == (try v.u8("rxDelay")), "\(v.id) fields")
                #expect(try JoinCodec.encodeAccept(a, appKey: appKey) == raw, "\(v.id) re-encoded")
                // OptNeg clear: the 1.1 reader falls back to the 1.0 MIC under the same key.
                let (b, valid11) = try JoinCodec.decryptAccept11(raw, key: appKey, jsIntKey: zeroKey, joinEUI: EUI64(0), devNonce: 0)
                #expect(valid11 && b == a, "\(v.id) 1.1 reader")
                #expect(try JoinCodec.encodeAccept11(a, key: appKey, jsIntKey: zeroKey, joinEUI: EUI64(0), devNonce: 0) == raw)
            case "joinAcceptPlaintext":
                let plain = try v.bytes("plaintext"), appKey = try v.cryptoKey("appKey")
                let mic = LoRaWANCrypto.joinMIC(key: appKey, message: plain[0..<(plain.count - 4)])
                #expect(mic == (try v.hexNumber("mic")), "\(v.id) join-accept MIC")
                #expect(JoinCodec.verifyRequest(try v.bytes("joinRequest"), appKey: appKey).valid, "\(v.id) join-request MIC")
            default:
                let raw = try v.bytes("phyPayload")
                guard case .data(let f) = try FrameDecoder.decode(raw) else { Issue.record("\(v.id): not data"); continue }
                #expect(try f.devAddr == (try v.devAddr("devAddr")) && f.fctrl.byte == (try v.u8("fctrl"))
                        && f.fcnt == (try v.u16("fcnt")) && Hex.encode(f.fopts) == (try v.s("fopts"))
                        && f.fport == (try v.u8("fport")), "\(v.id) fields")
                let nwkSKey = try v.cryptoKey("nwkSKey")
                let mic = LoRaWANCrypto.dataMIC(key: nwkSKey, direction: f.direction, devAddr: f.devAddr, fcnt: UInt32(f.fcnt),
                                                message: raw[0..<(raw.count - 4)])
                let expectedMIC = try v.hexNumber("mic")
                #expect(mic == expectedMIC && f.mic == mic, "\(v.id) MIC")
                if f.direction == .downlink {
                    let same = LoRaWAN11Keys(fNwkSIntKey: nwkSKey, sNwkSIntKey: nwkSKey, nwkSEncKey: nwkSKey,
                                             appSKey: try v.has("frmPayloadKey") ? v.cryptoKey("frmPayloadKey") : nwkSKey)
                    let o = try DataFrameCodec.open11(raw, frame: f, fcnt: UInt32(f.fcnt), keys: same)
                    #expect(o.micValid, "\(v.id) 1.1 downlink MIC with ConfFCnt 0")
                    if v.has("plaintext") { #expect(Hex.encode(o.payload) == (try v.s("plaintext")), "\(v.id) plaintext") }
                }
            }
        }
    }

    @Test func frames10xChangedByteFails() throws {
        for v in list("frames10x") {
            switch try v.s("kind") {
            case "joinAccept":
                var raw = try v.bytes("phyPayload")
                raw[raw.count - 1] ^= 0x01
                #expect(try !JoinCodec.decryptAccept(raw, appKey: try v.cryptoKey("appKey")).micValid, "\(v.id)")
            case "joinAcceptPlaintext":
                var plain = try v.bytes("plaintext")
                plain[1] ^= 0x01
                #expect(LoRaWANCrypto.joinMIC(key: try v.cryptoKey("appKey"), message: plain[0..<(plain.count - 4)])
                        != (try v.hexNumber("mic")), "\(v.id)")
            default:
                var raw = try v.bytes("phyPayload")
                raw[raw.count - 5] ^= 0x01
                guard case .data(let f) = try FrameDecoder.decode(raw) else { continue }
                let mic = LoRaWANCrypto.dataMIC(key: try v.cryptoKey("nwkSKey"), direction: f.direction, devAddr: f.devAddr,
                                                fcnt: UInt32(f.fcnt), message: raw[0..<(raw.count - 4)])
                #expect(mic != f.mic, "\(v.id)")
            }
        }
    }
}

private extension JoinAccept {
    /// DLSettings as sent (the module's own accessor is internal).
    var dlSettingsByte: UInt8 { (optNeg ? 0x80 : 0) | (rx1DROffset & 0x07) << 4 | (rx2DataRate & 0x0F) }
}
