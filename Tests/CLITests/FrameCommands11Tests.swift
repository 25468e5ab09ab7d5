import Foundation
import Testing
import TestSupport

/// `frame encode`/`frame decode` with LoRaWAN 1.1 keys: the published vectors of
/// Fixtures/lorawan/lorawan11-vectors.json (brocaar/lorawan, TTN lorawan-stack, lora-packet) through the command.
@Suite struct FrameCommands11Tests {
    let vectors = (try? TestPaths.loadJSON("lorawan/lorawan11-vectors.json")) as? [String: Any] ?? [:]

    func vector(_ list: String, _ id: String) throws -> [String: Any] {
        let all = vectors[list] as? [[String: Any]] ?? []
        return try #require(all.first { $0["id"] as? String == id }, "\(id)")
    }

    func file(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lh-cli11-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("keys.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    /// A keys file with the 1.1 session of a dataMIC11 vector (keys it does not give are filled with 0xEE…).
    func sessionKeys(_ v: [String: Any]) throws -> String {
        func k(_ name: String) -> String { v[name] as? String ?? String(repeating: "ee", count: 16) }
        return try file("""
            sessions:
              - devAddr: \(try #require(v["devAddr"] as? String))
                fNwkSIntKey: \(k("fNwkSIntKey"))
                sNwkSIntKey: \(k("sNwkSIntKey"))
                nwkSEncKey: \(k("nwkSEncKey"))
                appSKey: \(k("appSKey"))
            """)
    }

    func json(_ r: CLIResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    /// M11-1 (uplink, TxDr 2, TxCh 3) and M11-2 (ACK, ConfFCnt 1): published fields, MIC valid, payload decrypted.
    @Test func uplinkVectorsDecode() throws {
        for (id, extra) in [("M11-1", [String]()), ("M11-2", ["--conf-fcnt", "1"])] {
            let v = try vector("dataMIC11", id)
            let keys = try sessionKeys(v)
            let phy = try #require(v["phyPayload"] as? String)
            let r = try CLI.run(["frame", "decode", phy, "--keys", keys, "--tx-dr", "2", "--tx-ch", "3", "--json"] + extra)
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let o = json(r)
            #expect(o["micStatus"] as? String == "valid", "\(id)")
            #expect(o["mic"] as? String == v["mic"] as? String, "\(id)")
            #expect(o["lorawan"] as? String == "1.1")
            #expect(o["devAddr"] as? String == v["devAddr"] as? String && o["fcnt"] as? Int == v["fcnt"] as? Int
                    && o["fport"] as? Int == v["fport"] as? Int, "\(id)")
            #expect(o["decryptedPayload"] as? String == v["plaintext"] as? String, "\(id)")
            #expect(o["ack"] as? Bool == ((v["fctrl"] as? Int ?? 0) & 0x20 != 0), "\(id)")
            // Another channel: the SNwkSIntKey half fails, exit 1.
            let bad = try CLI.run(["frame", "decode", phy, "--keys", keys, "--tx-dr", "2", "--tx-ch", "4"] + extra)
            #expect(bad.status == 1 && bad.stdout.contains("(invalid, expected"), "\(id): \(bad.stdout)")
        }
    }

    /// Without TxDr/TxCh the FNwkSIntKey half alone is checked: "partially checked", exit 0, and a note says so;
    /// a changed payload byte fails that half (exit 1).
    @Test func uplinkWithoutTxParametersIsPartlyChecked() throws {
        let v = try vector("dataMIC11", "M11-1")
        let keys = try sessionKeys(v)
        let r = try CLI.run(["frame", "decode", "400403020180010001a6946426157612366a", "--keys", keys])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("MIC          7612366a (partially checked)"), "\(r.stdout)")
        #expect(r.stdout.contains("SNwkSIntKey half") && r.stdout.contains("was not checked (give --tx-dr, --tx-ch)"), "\(r.stdout)")
        let bad = try CLI.run(["frame", "decode", "400403020180010001a7946426157612366a", "--keys", keys])
        #expect(bad.status == 1 && bad.stdout.contains("(invalid, expected ????"), "\(bad.stdout)")
    }

    /// M11-3 (FOpts under NwkSEncKey, NFCntDwn) and M11-7 (FOpts under the AFCntDwn block, FPort 1).
    @Test func downlinkVectorsDecryptFOpts() throws {
        for id in ["M11-3", "M11-7"] {
            let v = try vector("dataMIC11", id)
            let r = try CLI.run(["frame", "decode", try #require(v["phyPayload"] as? String), "--keys", try sessionKeys(v), "--json"])
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let o = json(r)
            #expect(o["micStatus"] as? String == "valid", "\(id)")
            #expect(o["fopts"] as? String == v["foptsEncrypted"] as? String, "\(id) as sent")
            #expect(o["decryptedFOpts"] as? String == v["fopts"] as? String, "\(id) decrypted")
            let cmds = o["macCommands"] as? [[String: Any]]
            #expect(cmds?.first?["name"] as? String == "LinkCheckAns", "\(id)")
            #expect((cmds?.first?["fields"] as? [String: Any])?["margin"] as? Int == 7, "\(id)")
            if let plain = v["plaintext"] as? String { #expect(o["decryptedPayload"] as? String == plain, "\(id)") }
        }
    }

    /// Encoding with --lorawan 1.1 gives the published frames byte for byte, and decodes back.
    @Test func encodeGivesThePublishedFrames() throws {
        let m1 = try vector("dataMIC11", "M11-1"), m3 = try vector("dataMIC11", "M11-3"), m7 = try vector("dataMIC11", "M11-7")
        let cases: [([String: Any], [String])] = [
            (m1, ["--fcnt", "1", "--fport", "1", "--payload", "68656c6c6f", "--adr", "--tx-dr", "2", "--tx-ch", "3"]),
            (try vector("dataMIC11", "M11-2"), ["--fcnt", "1", "--fport", "1", "--payload", "68656c6c6f", "--adr", "--ack", "--conf-fcnt", "1",
                                                "--tx-dr", "2", "--tx-ch", "3"]),
            (m3, ["--type", "unconfirmed-down", "--fcnt", "0", "--mac", "LinkCheckAns:margin=7,gatewayCount=1"]),
            (m7, ["--type", "unconfirmed-down", "--fcnt", "0", "--fopts", "020701", "--fport", "1", "--payload", "01020304"]),
        ]
        for (v, args) in cases {
            let id = v["id"] as? String ?? "?"
            let keys = try sessionKeys(v)
            let r = try CLI.run(["frame", "encode", "--keys", keys, "--lorawan", "1.1", "--dev-addr", "01020304", "--json"] + args)
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let hex = json(r)["hex"] as? String
            #expect(hex == v["phyPayload"] as? String, "\(id)")
        }
    }

    /// Bad combinations are one-line errors naming the option (exit 2).
    @Test func encodeRefusals() throws {
        let keys11 = try sessionKeys(try vector("dataMIC11", "M11-1"))
        let keys10 = try file("sessions:\n  - devAddr: 01020304\n    nwkSKey: 02020202020202020202020202020202\n    appSKey: 01010101010101010101010101010101\n")
        let cases: [([String], String)] = [
            (["--keys", keys11, "--dev-addr", "01020304", "--fport", "1", "--payload", "01"], "give --tx-dr and --tx-ch (where: argument --tx-dr)"),
            (["--keys", keys11, "--dev-addr", "01020304", "--ack", "--tx-dr", "1", "--tx-ch", "1"], "give --conf-fcnt"),
            (["--keys", keys11, "--lorawan", "1.0", "--dev-addr", "01020304"], "a 1.0 frame needs nwkSKey and appSKey (where: argument --lorawan)"),
            (["--keys", keys10, "--lorawan", "1.1", "--dev-addr", "01020304"], "(where: argument --lorawan)"),
            (["--keys", keys10, "--dev-addr", "01020304", "--tx-dr", "1"], "--tx-dr is for LoRaWAN 1.1 frames"),
            (["--keys", keys11, "--lorawan", "2.0", "--dev-addr", "01020304"], "unknown LoRaWAN version '2.0'"),
            (["--keys", keys11, "--type", "rejoin-request", "--rejoin-type", "3", "--dev-eui", "0102030405060708"], "rejoin type 3 is not defined"),
            (["--keys", keys11, "--type", "rejoin-request", "--rejoin-type", "0", "--dev-eui", "0102030405060708", "--net-id", "010203"], "give --dev-addr"),
            (["--keys", keys10, "--type", "join-accept", "--opt-neg", "--dev-addr", "01020304"], "give --dev-eui"),
        ]
        for (args, says) in cases {
            let r = try CLI.run(["frame", "encode"] + args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(says) && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
    }

    /// JA11-3 (TTN join server, OptNeg, JSIntKey derived from NwkKey and DevEUI): its published plaintext encrypted
    /// for the air with Python `cryptography` (AES-ECB decrypt under NwkKey). Checked with --dev-nonce; without
    /// it, not checked; with another DevNonce, invalid (exit 1). `frame encode --opt-neg` rebuilds it.
    @Test func optNegJoinAccept() throws {
        let v = try vector("joinAccept11", "JA11-3")
        let keys = try file("""
            devices:
              - devEUI: \(try #require(v["devEUI"] as? String))
                joinEUI: \(try #require(v["joinEUI"] as? String))
                appKey: \(try #require(v["appKey"] as? String))
                nwkKey: \(try #require(v["nwkKey"] as? String))
            """)
        let onAir = "20004edc793dbf25a42fc7e92bc8f2fd3f"
        let r = try CLI.run(["frame", "decode", onAir, "--keys", keys, "--dev-nonce", "0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = json(r)
        #expect(o["micStatus"] as? String == "valid" && o["mic"] as? String == v["mic"] as? String)
        #expect(o["optNeg"] as? Bool == true && o["lorawan"] as? String == "1.1")
        #expect(o["joinNonce"] as? Int == v["joinNonce"] as? Int && o["netID"] as? String == v["netID"] as? String)
        #expect((o["devAddr"] as? String)?.lowercased() == v["devAddr"] as? String && o["rxDelay"] as? Int == v["rxDelay"] as? Int)
        #expect(o["rx1DROffset"] as? Int == 7 && o["rx2DataRate"] as? Int == 15)
        let unchecked = try CLI.run(["frame", "decode", onAir, "--keys", keys])
        #expect(unchecked.status == 0 && unchecked.stdout.contains("(not checked)") && unchecked.stdout.contains("give --dev-nonce"), "\(unchecked.stdout)")
        let wrong = try CLI.run(["frame", "decode", onAir, "--keys", keys, "--dev-nonce", "1"])
        #expect(wrong.status == 1 && wrong.stdout.contains("(invalid)"), "\(wrong.stdout)")
        let e = try CLI.run(["frame", "encode", "--keys", keys, "--type", "join-accept", "--opt-neg", "--dev-eui", "4242ffffffffffff",
                             "--dev-nonce", "0", "--join-nonce", "1", "--net-id", "42ffff", "--dev-addr", "42ffffff",
                             "--rx1-dr-offset", "7", "--rx2-dr", "15", "--rx-delay", "66", "--json"])
        #expect(json(e)["hex"] as? String == onAir, "\(e.stderr)")
        // The join-request it answers (JR11-2) verifies under the NwkKey.
        let jr = try CLI.run(["frame", "decode", try #require(v["joinRequest"] as? String), "--keys", keys])
        #expect(jr.status == 0 && jr.stdout.contains("(valid)"), "\(jr.stdout)")
    }

    /// Rejoin-requests: RJ-4 (type 2) and RJ-1 (type 0, MIC under SNwkSIntKey) from the vectors; a type 1 request
    /// built from K11-8 (NwkKey 01…01, DevEUI 0000000000000001, whose published JSIntKey is 6b9cc9b0…), its MIC
    /// computed independently with Python `cryptography` (AES-CMAC under that JSIntKey).
    @Test func rejoinRequests() throws {
        let keys = try file("""
            devices:
              - devEUI: 0000000000000001
                appKey: 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
                nwkKey: 01010101010101010101010101010101
            sessions:
              - devAddr: 0A0B0C0D
                fNwkSIntKey: 03030303030303030303030303030303
                sNwkSIntKey: 00000000000000000000000000000000
                nwkSEncKey: 04040404040404040404040404040404
                appSKey: 05050505050505050505050505050505
              - devAddr: 0A0B0C0E
                fNwkSIntKey: 03030303030303030303030303030303
                sNwkSIntKey: 01010101010101010101010101010101
                nwkSEncKey: 04040404040404040404040404040404
                appSKey: 05050505050505050505050505050505
            """)
        let rj4 = try vector("rejoinRequest", "RJ-4"), rj1 = try vector("rejoinRequest", "RJ-1")
        let rj1Frame = try #require(rj1["phyPayloadNoMIC"] as? String) + (try #require(rj1["mic"] as? String))
        for (v, phy, addr) in [(rj4, try #require(rj4["phyPayload"] as? String), "0A0B0C0D"), (rj1, rj1Frame, "0A0B0C0E")] {
            let id = v["id"] as? String ?? "?"
            let r = try CLI.run(["frame", "decode", phy, "--keys", keys, "--dev-addr", addr, "--json"])
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let o = json(r)
            #expect(o["micStatus"] as? String == "valid" && o["mic"] as? String == v["mic"] as? String, "\(id)")
            #expect(o["rejoinType"] as? Int == v["rejoinType"] as? Int && o["rjCount"] as? Int == v["rjCount"] as? Int, "\(id)")
            #expect(o["devEUI"] as? String == v["devEUI"] as? String && o["netID"] as? String == v["netID"] as? String, "\(id)")
            // Without a session named: not checked, with a note; the other session: invalid.
            let none = try CLI.run(["frame", "decode", phy, "--keys", keys])
            #expect(none.status == 0 && none.stdout.contains("(not checked)") && none.stdout.contains("give --dev-addr"), "\(id): \(none.stdout)")
            let other = try CLI.run(["frame", "decode", phy, "--keys", keys, "--dev-addr", addr == "0A0B0C0D" ? "0A0B0C0E" : "0A0B0C0D"])
            #expect(other.status == 1, "\(id): \(other.stdout)")
        }
        // RJ-4 rebuilt with frame encode.
        let e = try CLI.run(["frame", "encode", "--keys", keys, "--type", "rejoin-request", "--rejoin-type", "2", "--dev-eui", "0102030405060708",
                             "--net-id", "010203", "--rj-count", "219", "--dev-addr", "0A0B0C0D", "--json"])
        #expect(json(e)["hex"] as? String == rj4["phyPayload"] as? String, "\(e.stderr)")
        // Type 1 under JSIntKey.
        let type1 = "c00102000000000000000100000000000000050053bc87e2"
        let d = try CLI.run(["frame", "decode", type1, "--keys", keys, "--json"])
        let o = json(d)
        #expect(d.status == 0 && o["micStatus"] as? String == "valid" && o["rejoinType"] as? Int == 1, "\(d.stdout)")
        #expect(o["joinEUI"] as? String == "0000000000000002" && o["devEUI"] as? String == "0000000000000001" && o["rjCount"] as? Int == 5)
        let e1 = try CLI.run(["frame", "encode", "--keys", keys, "--type", "rejoin-request", "--rejoin-type", "1", "--dev-eui", "0000000000000001",
                              "--join-eui", "0000000000000002", "--rj-count", "5", "--json"])
        #expect(json(e1)["hex"] as? String == type1, "\(e1.stderr)")
        var flipped = Array(type1)
        flipped[10] = flipped[10] == "0" ? "1" : "0"   // a JoinEUI byte
        #expect(try CLI.run(["frame", "decode", String(flipped), "--keys", keys]).status == 1)
    }

    /// Round trip through the commands: a confirmed 1.1 uplink with MAC commands in (encrypted) FOpts.
    @Test func roundTrip() throws {
        let keys = try sessionKeys(try vector("dataMIC11", "M11-1"))
        let e = try CLI.run(["frame", "encode", "--keys", keys, "--type", "confirmed-up", "--dev-addr", "01020304", "--fcnt", "70000",
                             "--fport", "9", "--payload", "a1b2c3", "--mac", "LinkCheckReq", "--mac", "DevStatusAns:battery=200,margin=7",
                             "--ack", "--conf-fcnt", "12", "--tx-dr", "5", "--tx-ch", "2", "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        let hex = try #require(json(e)["hex"] as? String)
        let d = try CLI.run(["frame", "decode", hex, "--keys", keys, "--last-fcnt", "69999", "--tx-dr", "5", "--tx-ch", "2",
                             "--conf-fcnt", "12", "--json"])
        #expect(d.status == 0, "\(d.stderr)")
        let o = json(d)
        #expect(o["micStatus"] as? String == "valid" && o["fcnt"] as? Int == 70000 && o["decryptedPayload"] as? String == "a1b2c3")
        #expect(o["decryptedFOpts"] as? String == "0206c807" && o["fopts"] as? String != "0206c807")
        #expect((o["macCommands"] as? [[String: Any]])?.map { $0["name"] as? String } == ["LinkCheckReq", "DevStatusAns"])
        // ConfFCnt is in the MIC when ACK is set.
        let wrong = try CLI.run(["frame", "decode", hex, "--keys", keys, "--last-fcnt", "69999", "--tx-dr", "5", "--tx-ch", "2", "--conf-fcnt", "13"])
        #expect(wrong.status == 1)
    }
}
