import Foundation
import HarnessCore
import LoRaWAN
import Testing

/// Keys files with LoRaWAN 1.1 root and session keys (README, Keys).
@Suite struct KeyStore11Tests {
    func write(_ text: String) throws -> String {
        let path = temporaryDirectory().appendingPathComponent("keys.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    static let keys: [AES128Key] = (0...9).compactMap { try? AES128Key(bytes: [UInt8](repeating: UInt8($0), count: 16)) }
    func key(_ b: UInt8) -> AES128Key { Self.keys[Int(b)] }

    /// One root key (appKey, or nwkKey alone) is a 1.0.x device whose AppKey is that key; both make a 1.1 device.
    @Test func devicesWithOneOrTwoRootKeys() throws {
        let store = try KeyStore.load(path: try write("""
            devices:
              - devEUI: 000000000000000A
                appKey: 01010101010101010101010101010101
              - devEUI: 000000000000000B
                nwkKey: 02020202020202020202020202020202
              - devEUI: 000000000000000C
                joinEUI: 0102030405060708
                appKey: 03030303030303030303030303030303
                nwkKey: 04040404040404040404040404040404
            """))
        let a = try #require(store.devices[EUI64(0xA)]), b = try #require(store.devices[EUI64(0xB)]), c = try #require(store.devices[EUI64(0xC)])
        #expect(a.appKey == (key(1)) && a.nwkKey == nil && !a.isLoRaWAN11 && a.rootNetworkKey == (key(1)))
        #expect(b.appKey == (key(2)) && b.nwkKey == nil && !b.isLoRaWAN11 && b.rootNetworkKey == (key(2)))
        #expect(c.appKey == (key(3)) && c.nwkKey == (key(4)) && c.isLoRaWAN11 && c.rootNetworkKey == (key(4)))
        #expect(c.joinEUI == EUI64(0x0102_0304_0506_0708))
        #expect(store.rootNetworkKey(for: EUI64(0xC)) == (key(4)))
        #expect(store.appKey(for: EUI64(0xC)) == (key(3)))
        #expect(store.rootNetworkKey(for: EUI64(0xD)) == nil)
    }

    /// A 1.1 session: nwkSKey holds FNwkSIntKey, lorawan11 the other two, `lorawan11Keys` all four in their roles.
    @Test func lorawan11Session() throws {
        let store = try KeyStore.load(path: try write("""
            sessions:
              - devAddr: 01020304
                devEUI: 0102030405060708
                fNwkSIntKey: 01010101010101010101010101010101
                sNwkSIntKey: 02020202020202020202020202020202
                nwkSEncKey: 03030303030303030303030303030303
                appSKey: 04040404040404040404040404040404
              - devAddr: 01020305
                nwkSKey: 05050505050505050505050505050505
                appSKey: 06060606060606060606060606060606
            """))
        let s11 = try #require(store.sessions[DevAddr(0x0102_0304)])
        #expect(s11.isLoRaWAN11 && s11.nwkSKey == (key(1)) && s11.appSKey == (key(4)))
        #expect(s11.lorawan11 == KeyStore.Session11Keys(sNwkSIntKey: key(2), nwkSEncKey: key(3)))
        let k = try #require(store.lorawan11Keys(for: DevAddr(0x0102_0304)))
        #expect(k.fNwkSIntKey.key == (key(1)) && k.sNwkSIntKey.key == (key(2)) && k.nwkSEncKey.key == (key(3))
                && k.appSKey.key == (key(4)))
        // The 1.0 view of a 1.1 session: FNwkSIntKey and AppSKey.
        #expect(store.sessionKeys(for: DevAddr(0x0102_0304))?.nwkSKey == (key(1)))
        let s10 = try #require(store.sessions[DevAddr(0x0102_0305)])
        #expect(!s10.isLoRaWAN11 && s10.lorawan11 == nil && store.lorawan11Keys(for: DevAddr(0x0102_0305)) == nil)
        #expect(s10.nwkSKey == (key(5)) && s10.appSKey == (key(6)))
        // The session that checks a rejoin-request type 0/2: named by DevAddr, else the only 1.1 session of the DevEUI.
        #expect(store.session11(devEUI: EUI64(0x0102_0304_0506_0708), devAddr: nil)?.devAddr == DevAddr(0x0102_0304))
        #expect(store.session11(devEUI: EUI64(0x0102_0304_0506_0709), devAddr: nil) == nil)
        #expect(store.session11(devEUI: EUI64(0), devAddr: DevAddr(0x0102_0304))?.devAddr == DevAddr(0x0102_0304))
        #expect(store.session11(devEUI: EUI64(0), devAddr: DevAddr(0x0102_0305)) == nil)
    }

    /// The existing initialiser still makes a 1.0.x session; the 1.1 one fills the two other keys.
    @Test func initialisers() throws {
        let s = KeyStore.Session(devAddr: DevAddr(7), nwkSKey: key(1), appSKey: key(2), devEUI: nil)
        #expect(s.lorawan11 == nil && s.lorawan11Keys == nil && !s.isLoRaWAN11)
        let t = KeyStore.Session(devAddr: DevAddr(7), fNwkSIntKey: key(1), sNwkSIntKey: key(3), nwkSEncKey: key(4),
                                 appSKey: key(2), devEUI: nil)
        #expect(t.nwkSKey == (key(1)) && t.lorawan11?.sNwkSIntKey == (key(3)) && t.lorawan11?.nwkSEncKey == (key(4)))
        #expect(t.lorawan11Keys?.appSKey.key == (key(2)))
        let d = KeyStore.Device(devEUI: EUI64(1), joinEUI: nil, appKey: key(1))
        #expect(d.nwkKey == nil && !d.isLoRaWAN11)
    }

    /// Mixing 1.0 and 1.1 session fields, or part of the 1.1 set, is an error naming the line and field, never a key.
    @Test func mixedOrPartialSessionsAreErrors() throws {
        let head = "sessions:\n  - devAddr: 01020304\n"
        let f = "    fNwkSIntKey: 01010101010101010101010101010101\n"
        let s = "    sNwkSIntKey: 02020202020202020202020202020202\n"
        let e = "    nwkSEncKey: 03030303030303030303030303030303\n"
        let a = "    appSKey: 04040404040404040404040404040404\n"
        let n = "    nwkSKey: 05050505050505050505050505050505\n"
        let cases: [(text: String, line: Int, field: String, says: String)] = [
            (head + n + f + s + e + a, 3, "sessions[0].nwkSKey", "nwkSKey is a LoRaWAN 1.0 key and this session gives LoRaWAN 1.1 keys (fNwkSIntKey, sNwkSIntKey, nwkSEncKey)"),
            (head + s + n + a, 4, "sessions[0].nwkSKey", "LoRaWAN 1.1 keys (sNwkSIntKey)"),
            (head + f + a, 2, "sessions[0]", "field 'sNwkSIntKey' is missing"),
            (head + f + s + a, 2, "sessions[0]", "field 'nwkSEncKey' is missing"),
            (head + f + s + e, 2, "sessions[0]", "missing field 'appSKey'"),
        ]
        for c in cases {
            let path = try write(c.text)
            do {
                _ = try KeyStore.load(path: path)
                Issue.record("accepted: \(c.says)")
            } catch {
                #expect(error.location == .field(file: path, line: c.line, field: c.field), "\(error)")
                #expect(error.message.contains(c.says), "\(error)")
                for b in ["01", "02", "03", "04", "05"] {
                    #expect(!error.description.contains(String(repeating: b, count: 8)), "\(error)")
                }
            }
        }
        // A device with neither root key.
        let path = try write("devices:\n  - devEUI: 0102030405060708\n    joinEUI: 0102030405060708\n")
        #expect(throws: InputError.self) { try KeyStore.load(path: path) }
    }
}
