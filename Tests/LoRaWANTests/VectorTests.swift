import Foundation
import HarnessCore
import LoRaWAN
import Testing
import TestSupport

private func hex(_ s: String) -> [UInt8] { (try? Hex.decode(s)) ?? [] }
private func key(_ s: String) -> AES128Key { (try? AES128Key(hex: s)) ?? { fatalError("bad test key") }() }
private func u32(_ s: String) -> UInt32 { UInt32(s, radix: 16) ?? 0 }

/// Published vectors (Fixtures/lorawan/vectors.json names each source): exact bytes in and out.
@Suite struct LoRaWANVectorTests {
    let doc = (try? TestPaths.loadJSON("lorawan/vectors.json")) as? [String: Any] ?? [:]
    func list(_ name: String) -> [[String: Any]] { doc[name] as? [[String: Any]] ?? [] }

    @Test func dataFramesDecodeVerifyDecryptAndReEncode() throws {
        let frames = list("dataFrames")
        #expect(frames.count == 17)
        for v in frames {
            let id = v["id"] as! String
            let raw = hex(v["phyPayload"] as! String)
            guard case .data(let f) = try FrameDecoder.decode(raw) else { Issue.record("\(id): not a data frame"); continue }
            #expect(f.mtype.name == v["mtype"] as! String, "\(id)")
            #expect(f.devAddr.description == (v["devAddr"] as! String).uppercased(), "\(id)")
            #expect(f.fctrl.byte == UInt8(v["fctrl"] as! Int), "\(id)")
            #expect(Hex.encode(f.fopts) == v["fopts"] as! String, "\(id)")
            #expect(f.fport == (v["fport"] as? Int).map(UInt8.init), "\(id)")
            #expect(f.mic == u32(v["mic"] as! String), "\(id)")
            let fcnt = UInt32(v["fcnt"] as! Int)
            let keys = SessionKeys(nwkSKey: key(v["nwkSKey"] as! String), appSKey: key(v["appSKey"] as! String))
            let opened = try DataFrameCodec.open(raw, frame: f, fcnt: fcnt, keys: keys)
            #expect(opened.micValid, "\(id): MIC")
            var plaintext: [UInt8]? = (v["plaintext"] as? String).map(hex)
            if let text = v["plaintextText"] as? String { plaintext = Array(text.utf8) }
            if let plaintext { #expect(opened.payload == plaintext, "\(id): plaintext") }
            if let names = v["macCommands"] as? [String] {
                #expect(opened.macCommands.map(\.name) == names, "\(id): MAC commands")
            }
            // Re-encoding the decrypted content gives the same bytes.
            let again = try DataFrameCodec.encode(mtype: f.mtype, devAddr: f.devAddr, fcnt: fcnt, fctrl: f.fctrl,
                                                  fopts: f.fopts, fport: f.fport, payload: opened.payload, keys: keys)
            #expect(again == raw, "\(id): re-encoded")
        }
    }

    /// D19: a downlink at FCnt 76543; its MIC checks only with the 32-bit counter rebuilt from the 16 bits sent.
    @Test func micNeedsTheFull32BitCounter() throws {
        let raw = hex("a00403020180ff2a2a0af1a36a05d0125f885d881d49e1")
        guard case .data(let f) = try FrameDecoder.decode(raw) else { Issue.record("not data"); return }
        let keys = SessionKeys(nwkSKey: key("02020202020202020202020202020202"), appSKey: key("01010101010101010101010101010101"))
        #expect(try !DataFrameCodec.open(raw, frame: f, fcnt: 0x2AFF, keys: keys).micValid)
        let rebuilt = FCnt.reconstruct(f.fcnt, last: 76_000)
        #expect(rebuilt == .next(76_543, gap: 543))
        #expect(try DataFrameCodec.open(raw, frame: f, fcnt: 76_543, keys: keys).micValid)
    }

    @Test func encryptionPrimitives() {
        for v in list("primitives") {
            var data = hex(v["plaintext"] as! String)
            LoRaWANCrypto.cipherFRMPayload(&data, key: CryptoKey(key(v["key"] as! String)),
                                           direction: v["direction"] as! String == "uplink" ? .uplink : .downlink,
                                           devAddr: try! DevAddr(hex: v["devAddr"] as! String), fcnt: UInt32(v["fcnt"] as! Int))
            #expect(Hex.encode(data) == v["ciphertext"] as! String, "\(v["id"]!)")
        }
        #expect(list("primitives").count == 4)
    }

    @Test func dataMICs() {
        for v in list("dataMICs") {
            let mic = LoRaWANCrypto.dataMIC(key: CryptoKey(key(v["key"] as! String)),
                                            direction: v["direction"] as! String == "uplink" ? .uplink : .downlink,
                                            devAddr: try! DevAddr(hex: v["devAddr"] as! String), fcnt: UInt32(v["fcnt"] as! Int),
                                            message: hex(v["message"] as! String)[...])
            #expect(mic == u32(v["mic"] as! String), "\(v["id"]!)")
        }
        #expect(list("dataMICs").count == 6)
    }

    @Test func joinRequests() throws {
        for v in list("joinRequests") {
            let id = v["id"] as! String
            let raw = hex(v["phyPayload"] as! String)
            guard case .joinRequest(let j) = try FrameDecoder.decode(raw) else { Issue.record("\(id)"); continue }
            #expect(j.joinEUI.description == v["joinEUI"] as! String, "\(id)")
            #expect(j.devEUI.description == v["devEUI"] as! String, "\(id)")
            #expect(Int(j.devNonce) == v["devNonce"] as! Int, "\(id)")
            let appKey = CryptoKey(key(v["appKey"] as! String))
            #expect(JoinCodec.verifyRequest(raw, appKey: appKey).valid, "\(id)")
            #expect(JoinCodec.encodeRequest(joinEUI: j.joinEUI, devEUI: j.devEUI, devNonce: j.devNonce, appKey: appKey) == raw, "\(id)")
        }
        #expect(list("joinRequests").count == 7)
    }

    @Test func joinAccepts() throws {
        for v in list("joinAccepts") {
            let id = v["id"] as! String
            let raw = hex(v["phyPayload"] as! String)
            let appKey = CryptoKey(key(v["appKey"] as! String))
            let (a, valid) = try JoinCodec.decryptAccept(raw, appKey: appKey)
            #expect(valid, "\(id) MIC")
            #expect(Int(a.joinNonce) == v["joinNonce"] as! Int, "\(id)")
            #expect(a.netID == u32(v["netID"] as! String), "\(id)")
            #expect(a.devAddr.description == v["devAddr"] as! String, "\(id)")
            #expect(Int(a.rx1DROffset) == v["rx1DROffset"] as! Int && Int(a.rx2DataRate) == v["rx2DataRate"] as! Int, "\(id)")
            #expect(Int(a.rxDelay) == v["rxDelay"] as! Int, "\(id)")
            #expect(a.cfList.map { Hex.encode($0) } == v["cfList"] as? String, "\(id)")
            #expect(a.mic == u32(v["mic"] as! String), "\(id)")
            // Encrypting the same fields gives the bytes on air.
            #expect(try JoinCodec.encodeAccept(a, appKey: appKey) == raw, "\(id) re-encoded")
        }
        for v in list("joinAcceptPlaintext") {
            let plain = hex(v["plaintext"] as! String)
            let mic = LoRaWANCrypto.joinMIC(key: CryptoKey(key(v["appKey"] as! String)), message: plain[0..<(plain.count - 4)])
            #expect(mic == u32(v["mic"] as! String))
        }
    }

    @Test func sessionKeyDerivation() {
        for v in list("sessionKeys") {
            let k = LoRaWANCrypto.sessionKeys10(appKey: CryptoKey(key(v["appKey"] as! String)), appNonce: UInt32(v["appNonce"] as! Int),
                                                netID: UInt32(v["netID"] as! Int), devNonce: UInt16(v["devNonce"] as! Int))
            #expect(Hex.encode(k.nwkSKey.bytes) == (v["nwkSKey"] as! String).lowercased(), "\(v["id"]!)")
            #expect(Hex.encode(k.appSKey.bytes) == (v["appSKey"] as! String).lowercased(), "\(v["id"]!)")
        }
        #expect(list("sessionKeys").count == 6)
    }

    @Test func rfc4493() {
        let c = doc["cmac"] as! [String: Any]
        let k = CryptoKey(key(c["key"] as! String))
        let message = hex(c["message"] as! String)
        for t in c["cases"] as! [[String: Any]] {
            #expect(Hex.encode(k.cmac(Array(message.prefix(t["length"] as! Int)))) == t["mac"] as! String)
        }
    }

    @Test func macCommandEncodings() throws {
        let cases = list("macCommands")
        #expect(cases.count == 32)
        for v in cases {
            let dir: Direction = v["direction"] as! String == "uplink" ? .uplink : .downlink
            let bytes = hex(v["bytes"] as! String)
            let expected = try MACCommand.parse(v["command"] as! String)
            #expect(try MACCommand.decode(bytes[...], direction: dir) == [expected], "\(v["command"]!)")
            #expect(MACCommand.encode([expected]) == bytes, "\(v["command"]!)")
        }
    }
}
