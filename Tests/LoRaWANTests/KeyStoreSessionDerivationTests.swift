import Foundation
import HarnessCore
import LoRaWAN
import Testing
import TestSupport

/// `SessionDerivation` and `KeysFile` (`loraharness keys derive`). Expected keys are the published ones of
/// Fixtures/lorawan/lorawan11-vectors.json (keyDerivation11: TTN lorawan-stack, ChirpStack, lora-packet), or were
/// computed independently of this code with Python's `cryptography` (AES-ECB) from the formulas of LoRaWAN 1.0.4
/// §6.2.5 / 1.1 §6.2.3, where a published join-request/join-accept pair has no published session keys.
@Suite struct KeyStoreSessionDerivationTests {
    let vectors = (try? TestPaths.loadJSON("lorawan/lorawan11-vectors.json")) as? [String: Any] ?? [:]

    func list(_ name: String) -> [[String: Any]] { vectors[name] as? [[String: Any]] ?? [] }
    func str(_ v: [String: Any], _ k: String) throws -> String { try #require(v[k] as? String, "\(k)") }
    func int(_ v: [String: Any], _ k: String) throws -> Int { try #require(v[k] as? Int, "\(k)") }
    func key(_ v: [String: Any], _ k: String) throws -> AES128Key { try AES128Key(hex: try str(v, k)) }
    func hexKey(_ s: String) throws -> AES128Key { try AES128Key(hex: s) }

    func store(devEUI: EUI64, appKey: AES128Key, nwkKey: AES128Key? = nil) -> KeyStore {
        var s = KeyStore()
        s.add(KeyStore.Device(devEUI: devEUI, joinEUI: nil, appKey: appKey, nwkKey: nwkKey))
        return s
    }

    /// 1.0.x: a join built with the vector's inputs gives the published NwkSKey/AppSKey (K11-2 TTN legacy,
    /// K11-5 ChirpStack; both keys from the one root key).
    @Test func lorawan10FromPublishedKeys() throws {
        var checked = 0
        for v in list("keyDerivation11") where v["nwkSKey"] != nil {
            let root = try key(v, "nwkKey")
            let devEUI = EUI64(0x70B3_D57E_D000_0001), joinEUI = EUI64(0x0102_0304_0506_0708)
            let devNonce = UInt16(try int(v, "devNonce")), joinNonce = UInt32(try int(v, "joinNonce"))
            let netID = try #require(UInt32(try str(v, "netID"), radix: 16))
            let request = JoinCodec.encodeRequest(joinEUI: joinEUI, devEUI: devEUI, devNonce: devNonce, appKey: CryptoKey(root))
            let accept = try JoinCodec.encodeAccept(JoinAccept(joinNonce: joinNonce, netID: netID, devAddr: DevAddr(0x2601_1BDA),
                                                               rx1DROffset: 0, rx2DataRate: 0, rxDelay: 1), appKey: CryptoKey(root))
            let d = try SessionDerivation.derive(joinRequest: request, joinAccept: accept, keys: store(devEUI: devEUI, appKey: root))
            #expect(d.session.nwkSKey == (try key(v, "nwkSKey")), "\(v["id"] ?? "?") NwkSKey")
            #expect(d.session.appSKey == (try key(v, "appSKey")), "\(v["id"] ?? "?") AppSKey")
            #expect(!d.session.isLoRaWAN11 && d.version == "1.0.x" && d.session.devAddr == DevAddr(0x2601_1BDA) && d.session.devEUI == devEUI)
            #expect(d.devNonce == devNonce && d.joinNonce == joinNonce && d.netID == netID && d.optNeg == false)
            checked += 1
        }
        #expect(checked == 2)
    }

    /// 1.1 with OptNeg: a join built with the vector's inputs gives the published four keys (K11-1 TTN, K11-4
    /// ChirpStack, K11-6 lora-packet).
    @Test func lorawan11FromPublishedKeys() throws {
        var checked = 0
        for v in list("keyDerivation11") where v["fNwkSIntKey"] != nil {
            let nwkKey = try key(v, "nwkKey"), appKey = try key(v, "appKey")
            let devEUI = EUI64(0x0011_2233_4455_6677), joinEUI = try EUI64(hex: try str(v, "joinEUI"))
            let devNonce = UInt16(try int(v, "devNonce")), joinNonce = UInt32(try int(v, "joinNonce"))
            let request = JoinCodec.encodeRequest(joinEUI: joinEUI, devEUI: devEUI, devNonce: devNonce, appKey: CryptoKey(nwkKey))
            let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwkKey), devEUI: devEUI)
            let accept = try JoinCodec.encodeAccept11(JoinAccept(joinNonce: joinNonce, netID: 0x13, devAddr: DevAddr(0x2601_1BDB), rx1DROffset: 0,
                                                                 rx2DataRate: 0, optNeg: true, rxDelay: 1),
                                                      key: CryptoKey(nwkKey), jsIntKey: js.jsIntKey, joinEUI: joinEUI, devNonce: devNonce)
            let d = try SessionDerivation.derive(joinRequest: request, joinAccept: accept,
                                                 keys: store(devEUI: devEUI, appKey: appKey, nwkKey: nwkKey))
            let id = v["id"] as? String ?? "?"
            #expect(d.session.isLoRaWAN11 && d.version == "1.1" && d.optNeg == true, "\(id)")
            #expect(d.session.nwkSKey == (try key(v, "fNwkSIntKey")), "\(id) FNwkSIntKey")
            #expect(d.session.lorawan11?.sNwkSIntKey == (try key(v, "sNwkSIntKey")), "\(id) SNwkSIntKey")
            #expect(d.session.lorawan11?.nwkSEncKey == (try key(v, "nwkSEncKey")), "\(id) NwkSEncKey")
            #expect(d.session.appSKey == (try key(v, "appSKey")), "\(id) AppSKey")
            // The same accept answering another DevNonce does not verify (the OptNeg MIC covers it).
            let other = JoinCodec.encodeRequest(joinEUI: joinEUI, devEUI: devEUI, devNonce: devNonce &+ 1, appKey: CryptoKey(nwkKey))
            #expect(throws: CheckFailure.self) {
                try SessionDerivation.derive(joinRequest: other, joinAccept: accept, keys: store(devEUI: devEUI, appKey: appKey, nwkKey: nwkKey))
            }
            checked += 1
        }
        #expect(checked == 3)
    }

    /// Published join-request/join-accept pairs (the accepts' plaintexts, encrypted for the air with Python):
    /// X10-2 (TTN, 1.0), JA11-3 (TTN join server, 1.1 OptNeg), JA11-5 (a 1.1 device on a 1.0.3 network: OptNeg
    /// clear, the 1.0 derivation under NwkKey). Keys computed independently with Python `cryptography`.
    @Test func publishedPairs() throws {
        let devEUI = EUI64(0x4242_FFFF_FFFF_FFFF)
        let app = try hexKey("42ffffffffffffffffffffffffffffff"), nwk = try hexKey("4242ffffffffffffffffffffffffffff")
        let x = try SessionDerivation.derive(joinRequest: try Hex.decode("00ffffffffffffff42ffffffffffff42420100c40850cf"),
                                             joinAccept: try Hex.decode("209643b75f006d5db5c113aeb02498d516"),
                                             keys: store(devEUI: devEUI, appKey: app))
        #expect(x.session.nwkSKey == (try hexKey("8aa19760f9ca2e7fe48fbc06ef5be14d")))
        #expect(x.session.appSKey == (try hexKey("04e53a8d3446bf461c624da227ac7d51")))
        #expect(x.session.devAddr == DevAddr(0x42FF_FFFF) && x.devNonce == 1 && x.joinNonce == 1 && x.netID == 0x42FFFF)

        let t = try SessionDerivation.derive(joinRequest: try Hex.decode("00ffffffffffffff42ffffffffffff424200005517548e"),
                                             joinAccept: try Hex.decode("20004edc793dbf25a42fc7e92bc8f2fd3f"),
                                             keys: store(devEUI: devEUI, appKey: app, nwkKey: nwk))
        #expect(t.session.nwkSKey == (try hexKey("7a06ebf97defd12b1770554b7c0a35e1")))
        #expect(t.session.lorawan11 == KeyStore.Session11Keys(sNwkSIntKey: try hexKey("d748b8efe331499e723203680829ed72"),
                                                               nwkSEncKey: try hexKey("41267db82dbfa49debe55bfddf04cbb5")))
        #expect(t.session.appSKey == (try hexKey("370ce5d9497beb034c53dd0349c847bf")))

        let u = try SessionDerivation.derive(joinRequest: try Hex.decode("00ffffffffffffff42ffffffffffff4242010029a8e57d"),
                                             joinAccept: try Hex.decode("203a7c2fb71fa8e918cde3ba08c1fb3a87"),
                                             keys: store(devEUI: devEUI, appKey: app, nwkKey: nwk))
        #expect(!u.session.isLoRaWAN11 && u.optNeg == false)
        #expect(u.session.nwkSKey == (try hexKey("7dc939e625843e69200697bd61134b65")))
        #expect(u.session.appSKey == (try hexKey("926f6684f5de7f2ebc79a981b1434d77")))
    }

    @Test func refusals() throws {
        let devEUI = EUI64(0x4242_FFFF_FFFF_FFFF)
        let request = try Hex.decode("00ffffffffffffff42ffffffffffff42420100c40850cf")
        let accept = try Hex.decode("209643b75f006d5db5c113aeb02498d516")
        // Wrong root key: the join-request does not verify.
        #expect(throws: CheckFailure.self) {
            try SessionDerivation.derive(joinRequest: request, joinAccept: accept, keys: store(devEUI: devEUI, appKey: try hexKey("42ffffffffffffffffffffffffffff00")))
        }
        // The right key, one bit of the join-accept changed: its MIC does not verify.
        var bad = accept
        bad[16] ^= 0x01
        #expect(throws: CheckFailure.self) {
            try SessionDerivation.derive(joinRequest: request, joinAccept: bad, keys: store(devEUI: devEUI, appKey: try hexKey("42ffffffffffffffffffffffffffffff")))
        }
        // No device; the frames swapped; a truncated frame.
        #expect(throws: InputError.self) { try SessionDerivation.derive(joinRequest: request, joinAccept: accept, keys: KeyStore()) }
        #expect(throws: InputError.self) {
            try SessionDerivation.derive(joinRequest: accept, joinAccept: request, keys: store(devEUI: devEUI, appKey: try hexKey("42ffffffffffffffffffffffffffffff")))
        }
        #expect(throws: InputError.self) {
            try SessionDerivation.derive(joinRequest: request, joinAccept: [0x20, 1, 2], keys: store(devEUI: devEUI, appKey: try hexKey("42ffffffffffffffffffffffffffffff")))
        }
    }

    /// The file written reads back as the same keys, has mode 600, and is not replaced without `overwrite`.
    @Test func keysFileRoundTrip() throws {
        let keys = (0...9).compactMap { try? AES128Key(bytes: [UInt8](repeating: UInt8($0), count: 16)) }
        try #require(keys.count == 10)
        func k(_ b: UInt8) -> AES128Key { keys[Int(b)] }
        let devices = [KeyStore.Device(devEUI: EUI64(1), joinEUI: EUI64(2), appKey: k(1), nwkKey: k(2)),
                       KeyStore.Device(devEUI: EUI64(3), joinEUI: nil, appKey: k(3))]
        let sessions = [KeyStore.Session(devAddr: DevAddr(0x10), nwkSKey: k(4), appSKey: k(5), devEUI: EUI64(3)),
                        KeyStore.Session(devAddr: DevAddr(0x11), fNwkSIntKey: k(6), sNwkSIntKey: k(7), nwkSEncKey: k(8),
                                         appSKey: k(9), devEUI: EUI64(1))]
        let path = temporaryDirectory().appendingPathComponent("sub/derived.yaml").path
        let text = KeysFile.text(devices: devices, sessions: sessions, comment: "test")
        try KeysFile.write(text, to: path, overwrite: false, location: .argument("--out"))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600)
        var warned = false
        let back = try KeyStore.load(path: path) { _ in warned = true }
        #expect(!warned)
        #expect(back.devices[EUI64(1)]?.nwkKey == (k(2)) && back.devices[EUI64(1)]?.appKey == (k(1)) && back.devices[EUI64(1)]?.joinEUI == EUI64(2))
        #expect(back.devices[EUI64(3)]?.appKey == (k(3)) && back.devices[EUI64(3)]?.nwkKey == nil)
        #expect(back.sessions[DevAddr(0x10)]?.nwkSKey == (k(4)) && back.sessions[DevAddr(0x10)]?.lorawan11 == nil)
        #expect(back.sessions[DevAddr(0x11)]?.lorawan11 == KeyStore.Session11Keys(sNwkSIntKey: k(7), nwkSEncKey: k(8)))
        #expect(back.sessions[DevAddr(0x11)]?.nwkSKey == (k(6)) && back.sessions[DevAddr(0x11)]?.appSKey == (k(9)))
        // Not replaced without overwrite; replaced with it, still mode 600.
        do {
            try KeysFile.write("x\n", to: path, overwrite: false, location: .argument("--out"))
            Issue.record("replaced an existing file")
        } catch {
            #expect(error.message.contains("exists") && error.location == .argument("--out"))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try KeysFile.write("devices:\n", to: path, overwrite: true, location: .argument("--out"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "devices:\n")
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)
        // No temporary file is left beside it.
        let dir = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["derived.yaml"])
    }
}
