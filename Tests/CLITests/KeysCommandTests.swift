import Foundation
import Testing
import TestSupport

/// `loraharness keys derive`. Expected session keys were computed independently of this code with Python's
/// `cryptography` (AES-ECB) from LoRaWAN 1.0.4 §6.2.5 and 1.1 §6.2.3, for published join pairs of
/// Fixtures/lorawan/lorawan11-vectors.json (X10-2, JA11-3: their join-accept plaintexts encrypted for the air the
/// same way), or are the keys published with the alpov/LoRaTap capture (Fixtures/traces/public/alpov-keys.yaml).
@Suite struct KeysCommandTests {
    func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lh-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func file(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map { $0 & 0o777 }
    }

    /// No key, in upper or lower case, in any output.
    func expectNoKeys(_ r: CLIResult, _ keys: [String], _ what: String) {
        for k in keys {
            for form in [k.lowercased(), k.uppercased()] {
                #expect(!r.stdout.contains(form) && !r.stderr.contains(form), "\(what): a key appears in the output")
            }
        }
    }

    // X10-2: TTN lorawan-stack's 1.0 join-request and join-accept (JoinNonce 1, NetID 42ffff, DevNonce 1).
    let request10 = "00ffffffffffffff42ffffffffffff42420100c40850cf"
    let accept10 = "209643b75f006d5db5c113aeb02498d516"
    let appKey10 = "42ffffffffffffffffffffffffffffff"
    let nwkSKey10 = "8AA19760F9CA2E7FE48FBC06EF5BE14D", appSKey10 = "04E53A8D3446BF461C624DA227AC7D51"

    @Test func derives10FromAJoin() throws {
        let dir = try directory()
        let keys = try file(dir, "root.yaml", "devices:\n  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10)\n")
        let out = dir.appendingPathComponent("out/session.yaml").path
        let r = try CLI.run(["keys", "derive", "--keys", keys, "--join-request", request10, "--join-accept", accept10, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("wrote \(out) (mode 600): 1 session, 1 device"), "\(r.stdout)")
        #expect(r.stdout.contains("DevAddr 42FFFFFF  DevEUI 4242FFFFFFFFFFFF  LoRaWAN 1.0.x  JoinNonce 1  DevNonce 1"), "\(r.stdout)")
        expectNoKeys(r, [appKey10, nwkSKey10, appSKey10], "derive 1.0")
        #expect(mode(out) == 0o600)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("""
            sessions:
              - devAddr: 42FFFFFF
                devEUI: 4242FFFFFFFFFFFF
                nwkSKey: \(nwkSKey10)
                appSKey: \(appSKey10)
            """))
        #expect(text.contains("devices:\n  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10.uppercased())\n"))
        // The file is a keys file: with it the join-request verifies, and no warning about its mode.
        let d = try CLI.run(["frame", "decode", request10, "--keys", out])
        #expect(d.status == 0 && d.stdout.contains("(valid)") && d.stderr.isEmpty, "\(d.stdout)\(d.stderr)")

        // An existing file is kept without --force (exit 2) and replaced with it.
        try "devices:\n".write(toFile: out, atomically: true, encoding: .utf8)
        let again = try CLI.run(["keys", "derive", "--keys", keys, "--join-request", request10, "--join-accept", accept10, "--out", out])
        #expect(again.status == 2 && again.stderr.contains("exists: give --force") && again.stderr.split(separator: "\n").count == 1, "\(again.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "devices:\n")
        let forced = try CLI.run(["keys", "derive", "--keys", keys, "--join-request", request10, "--join-accept", accept10, "--out", out, "--force"])
        let replaced = try String(contentsOfFile: out, encoding: .utf8)
        #expect(forced.status == 0 && replaced == text && mode(out) == 0o600)
        expectNoKeys(again, [appKey10, nwkSKey10, appSKey10], "refused")
        expectNoKeys(forced, [appKey10, nwkSKey10, appSKey10], "forced")
    }

    /// The root key from the environment (no DevEUI): the devices row takes the join-request's DevEUI.
    @Test func derivesWithTheEnvironmentsKey() throws {
        let dir = try directory()
        let out = dir.appendingPathComponent("s.yaml").path
        let r = try CLI.run(["keys", "derive", "--join-request", request10, "--join-accept", accept10, "--out", out, "--json"],
                            environment: ["LORAHARNESS_APPKEY": appKey10])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let rows = o?["sessions"] as? [[String: Any]]
        #expect(rows?.count == 1 && rows?.first?["devAddr"] as? String == "42FFFFFF" && rows?.first?["lorawan"] as? String == "1.0.x")
        #expect(o?["devices"] as? Int == 1)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10.uppercased())") && text.contains("nwkSKey: \(nwkSKey10)"))
        expectNoKeys(r, [appKey10, nwkSKey10, appSKey10], "environment")
    }

    /// JA11-3: TTN's LoRaWAN 1.1 join server test (NwkKey, AppKey; OptNeg): the four 1.1 keys.
    @Test func derives11FromAJoin() throws {
        let dir = try directory()
        let nwkKey = "4242ffffffffffffffffffffffffffff"
        let keys = try file(dir, "root.yaml", "devices:\n  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10)\n    nwkKey: \(nwkKey)\n")
        let out = dir.appendingPathComponent("s11.yaml").path
        let f = "7A06EBF97DEFD12B1770554B7C0A35E1", s = "D748B8EFE331499E723203680829ED72"
        let e = "41267DB82DBFA49DEBE55BFDDF04CBB5", a = "370CE5D9497BEB034C53DD0349C847BF"
        let r = try CLI.run(["keys", "derive", "--keys", keys, "--join-request", "00ffffffffffffff42ffffffffffff424200005517548e",
                             "--join-accept", "20004edc793dbf25a42fc7e92bc8f2fd3f", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("DevAddr 42FFFFFF  DevEUI 4242FFFFFFFFFFFF  LoRaWAN 1.1  JoinNonce 1  DevNonce 0"), "\(r.stdout)")
        expectNoKeys(r, [appKey10, nwkKey, f, s, e, a], "derive 1.1")
        #expect(mode(out) == 0o600)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("    fNwkSIntKey: \(f)\n    sNwkSIntKey: \(s)\n    nwkSEncKey: \(e)\n    appSKey: \(a)\n"), "\(text)")
        #expect(text.contains("    nwkKey: \(nwkKey.uppercased())") && !text.contains("nwkSKey"))
        // The same join with only the AppKey (a 1.0 device): the join-request does not verify: exit 1, no file.
        let only = try file(dir, "only.yaml", "devices:\n  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10)\n")
        let out2 = dir.appendingPathComponent("none.yaml").path
        let bad = try CLI.run(["keys", "derive", "--keys", only, "--join-request", "00ffffffffffffff42ffffffffffff424200005517548e",
                               "--join-accept", "20004edc793dbf25a42fc7e92bc8f2fd3f", "--out", out2])
        #expect(bad.status == 1 && bad.stderr.contains("does not verify") && !FileManager.default.fileExists(atPath: out2), "\(bad.stderr)")
        expectNoKeys(bad, [appKey10, nwkKey], "refused 1.1")
    }

    @Test(arguments: [
        (["--join-request", "00ff", "--join-accept", "209643b75f006d5db5c113aeb02498d516"], "join-request is 23 bytes"),
        (["--join-request", "zz!", "--join-accept", "209643b75f006d5db5c113aeb02498d516"], "(where: argument --join-request)"),
        (["--join-request", "209643b75f006d5db5c113aeb02498d516", "--join-accept", "209643b75f006d5db5c113aeb02498d516"], "not a join-request"),
        ([String](), "give --join-request and --join-accept, or --from TRACE"),
        (["--from", "x.pcap", "--join-request", "00"], "--from takes the joins from the capture"),
    ])
    func badInput(arguments: [String], says: String) throws {
        let dir = try directory()
        let keys = try file(dir, "root.yaml", "devices:\n  - devEUI: 4242FFFFFFFFFFFF\n    appKey: \(appKey10)\n")
        let out = dir.appendingPathComponent("o.yaml").path
        let r = try CLI.run(["keys", "derive", "--keys", keys, "--out", out] + arguments)
        #expect(r.status == 2 && r.stderr.hasPrefix("error: ") && r.stderr.contains(says) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // --out naming the keys file is refused before anything is written.
        let same = try CLI.run(["keys", "derive", "--keys", keys, "--out", keys, "--join-request", request10, "--join-accept", accept10, "--force"])
        #expect(same.status == 2 && same.stderr.contains("is also an input"), "\(same.stderr)")
    }

    /// The alpov/LoRaTap capture `06_Encrypted` (rebuilt from Fixtures/traces/public/alpov-06-encrypted.ndjson as
    /// `PublicCaptures.alpov06()` does) with only the device row of alpov-keys.yaml: both joins' sessions are written,
    /// 01E65DDC with the session keys the capture's author published, and the file opens that session's frames.
    @Test func derivesFromACapture() throws {
        let table = try String(contentsOf: TestPaths.fixture("traces/public/alpov-06-encrypted.ndjson"), encoding: .utf8)
        let rows = table.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("{\"source\"") }
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        func bytes(_ hex: String) throws -> [UInt8] {
            let c = Array(hex.utf8)
            return try stride(from: 0, to: c.count, by: 2).map { i in try #require(UInt8(String(decoding: c[i..<(i + 2)], as: UTF8.self), radix: 16)) }
        }
        var pcap = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(270)
        var frame01E65DDC: String?
        for row in rows {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: String])
            let time = try #require(o["pcap_time"]).split(separator: ".")
            let payload = try #require(o["payload"])
            let b = try bytes(try #require(o["loratap"])) + bytes(payload)
            pcap += le32(UInt32(time[0]) ?? 0) + le32(UInt32(time.count > 1 ? time[1] : "0") ?? 0) + le32(UInt32(b.count)) + le32(UInt32(b.count)) + b
            if frame01E65DDC == nil, payload.hasPrefix("40dc5de601") { frame01E65DDC = payload }
        }
        let dir = try directory()
        let capture = dir.appendingPathComponent("alpov-06.pcap").path
        try Data(pcap).write(to: URL(fileURLWithPath: capture))
        let appKey = "D494D49A7B4053302BDCF96F1DEFA65A"
        let keys = try file(dir, "root.yaml", "devices:\n  - devEUI: 70B3D5CEE0000042\n    appKey: \(appKey)\n")
        let out = dir.appendingPathComponent("sessions.yaml").path
        let r = try CLI.run(["keys", "derive", "--keys", keys, "--from", capture, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("2 sessions, 1 device"), "\(r.stdout)")
        #expect(r.stdout.contains("DevAddr 008DA639  DevEUI 70B3D5CEE0000042  LoRaWAN 1.0.x"), "\(r.stdout)")
        #expect(r.stdout.contains("DevAddr 01E65DDC  DevEUI 70B3D5CEE0000042  LoRaWAN 1.0.x"), "\(r.stdout)")
        let published = ["E2898779A03DE59E2317B149ABF00238", "59CA1AC91922887093BC7B236BD1B07F"]
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("  - devAddr: 01E65DDC\n    devEUI: 70B3D5CEE0000042\n    nwkSKey: \(published[0])\n    appSKey: \(published[1])\n"), "\(text)")
        #expect(text.contains("  - devAddr: 008DA639\n    devEUI: 70B3D5CEE0000042\n    nwkSKey: "))
        #expect(text.contains("devices:\n  - devEUI: 70B3D5CEE0000042\n    appKey: \(appKey)\n"))
        #expect(mode(out) == 0o600)
        // Every key of the file, none in the output.
        let written = text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 && parts[0].hasSuffix("Key") ? parts[1] : nil
        }
        #expect(written.count == 5)
        expectNoKeys(r, written, "derive --from")
        let frame = try #require(frame01E65DDC)
        let d = try CLI.run(["frame", "decode", frame, "--keys", out])
        #expect(d.status == 0 && d.stdout.contains("(valid)"), "\(d.stdout)")
        // A capture without a join the keys open: exit 1, nothing written.
        let other = try file(dir, "other.yaml", "devices:\n  - devEUI: 70B3D5CEE0000042\n    appKey: 00000000000000000000000000000001\n")
        let none = dir.appendingPathComponent("none.yaml").path
        let n = try CLI.run(["keys", "derive", "--keys", other, "--from", capture, "--out", none])
        #expect(n.status == 1 && n.stderr.contains("no join") && !FileManager.default.fileExists(atPath: none), "\(n.stderr)")
    }
}
