import Foundation
import Testing
import TestSupport

@Suite struct FrameCommandsTests {
    func keysFile(mode: Int = 0o600) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lh-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("keys.yaml").path
        // brocaar/lorawan and lora-rs test keys (Fixtures/lorawan/vectors.json D1, J1).
        try """
            devices:
              - devEUI: 0203040502030405
                appKey: 01010101010101010101010101010101
            sessions:
              - devAddr: 01020304
                nwkSKey: 02020202020202020202020202020202
                appSKey: 01010101010101010101010101010101
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func encodeGivesThePublishedFrame() throws {
        let r = try CLI.run(["frame", "encode", "--keys", try keysFile(), "--dev-addr", "01020304", "--fcnt", "1",
                             "--fport", "1", "--payload", "68656c6c6f", "--adr", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(obj?["hex"] as? String == "400403020180010001a694642615d6c3b582")  // brocaar/lorawan D1
        #expect(obj?["base64"] as? String == "QAQDAgGAAQABppRkJhXWw7WC")
    }

    @Test func decodeShowsFieldsMICAndPayload() throws {
        let keys = try keysFile()
        let r = try CLI.run(["frame", "decode", "400403020180010001a694642615d6c3b582", "--keys", keys, "--json"])
        #expect(r.status == 0)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(obj?["micStatus"] as? String == "valid")
        #expect(obj?["decryptedPayload"] as? String == "68656c6c6f")
        #expect(obj?["devAddr"] as? String == "01020304")
        // base64 input too, and the keys never appear in the output.
        let b = try CLI.run(["frame", "decode", "QAQDAgGAAQABppRkJhXWw7WC", "--keys", keys])
        #expect(b.status == 0 && b.stdout.contains("MIC          d6c3b582 (valid)"))
        #expect(!b.stdout.contains("0202020202") && !b.stderr.contains("0202020202"))
    }

    @Test func wrongMICExitsOne() throws {
        // One bit of the payload flipped.
        let r = try CLI.run(["frame", "decode", "400403020180010001a794642615d6c3b582", "--keys", try keysFile()])
        #expect(r.status == 1)
        #expect(r.stdout.contains("(invalid, expected"))
    }

    @Test func joinRequestRoundTrip() throws {
        let keys = try keysFile()
        let e = try CLI.run(["frame", "encode", "--keys", keys, "--type", "join-request", "--dev-eui", "0203040502030405",
                             "--join-eui", "0102030401020304", "--dev-nonce", "4141"])
        // brocaar/lorawan TestPHYPayloadJoinRequest (J1)
        #expect(e.stdout.contains("00040302010403020105040302050403022d106a990e12"))
        let d = try CLI.run(["frame", "decode", "00040302010403020105040302050403022d106a990e12", "--keys", keys])
        #expect(d.status == 0 && d.stdout.contains("DevNonce     4141") && d.stdout.contains("(valid)"))
    }

    @Test func encodeFromJSONAndMACCommands() throws {
        let keys = try keysFile()
        let spec = #"{"type": "unconfirmed-up", "devAddr": "01020304", "fcnt": 70000, "macCommands": [{"name": "DevStatusAns", "fields": {"battery": 200, "margin": 7}}]}"#
        let r = try CLI.run(["frame", "encode", "--keys", keys, "--from", "-", "--json"], stdin: Data(spec.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let hex = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["hex"] as? String ?? ""
        let d = try CLI.run(["frame", "decode", hex, "--keys", keys, "--last-fcnt", "69999", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(d.stdout.utf8)) as? [String: Any]
        #expect(obj?["fcnt"] as? Int == 70000)
        #expect(obj?["micStatus"] as? String == "valid")
        let cmds = obj?["macCommands"] as? [[String: Any]]
        #expect(cmds?.first?["name"] as? String == "DevStatusAns")
        #expect((cmds?.first?["fields"] as? [String: Any])?["margin"] as? Int == 7)
    }

    @Test(arguments: [
        (["frame", "decode", "4004"], "byte offset"),
        (["frame", "decode", "zz!"], "neither hex nor base64"),
        // The README's frame with its last digit lost: an odd-length hex error, not base64 of something else.
        (["frame", "decode", "40da1b01260002000a394ee4821b2ca5552"], "35 hex digits: an odd number (a digit is missing or extra) (where: argument <frame>)"),
        (["frame", "decode", String(repeating: "40", count: 256)], "256 bytes: a LoRa frame holds at most 255"),
        (["frame", "decode", "40040302010f0000aabbccddee00", "--region", "EU868", "--dr", "0"], "FOptsLen"),
        (["frame", "encode", "--dev-addr", "0102", "--fcnt", "1"], "DevAddr is 4 bytes"),
        (["frame", "encode", "--dev-addr", "01020304", "--mac", "LinkADRReq:speed=5"], "has no field 'speed'"),
    ])
    func badInput(arguments: [String], mentions: String) throws {
        let r = try CLI.run(arguments, environment: ["LORAHARNESS_NWKSKEY": "02020202020202020202020202020202",
                                                     "LORAHARNESS_APPSKEY": "01010101010101010101010101010101"])
        #expect(r.status == 2, "\(arguments): \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(mentions), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func warnsAboutAReadableKeysFile() throws {
        let r = try CLI.run(["frame", "decode", "400403020180010001a694642615d6c3b582", "--keys", try keysFile(mode: 0o644)])
        #expect(r.status == 0)
        #expect(r.stderr.contains("warning: keys file") && r.stderr.contains("readable by other users"))
    }

    @Test func pcapOutputAppends() throws {
        let keys = try keysFile()
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("lh-\(UUID().uuidString).pcap").path
        for fcnt in ["1", "2"] {
            let r = try CLI.run(["frame", "encode", "--keys", keys, "--dev-addr", "01020304", "--fcnt", fcnt, "--fport", "1",
                                 "--payload", "01", "--pcap", pcap, "--region", "EU868", "--dr", "3", "--rssi", "-100", "--snr", "-3"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let size = (try FileManager.default.attributesOfItem(atPath: pcap)[.size] as? Int) ?? 0
        // 24-byte header + 2 × (16 record header + 15 LoRaTap + 14-byte frame)
        #expect(size == 24 + 2 * (16 + 15 + 14))
    }

    /// Point 12 of issue 13: a join-accept that none of several AppKeys verifies is invalid (exit 1), as with one key.
    /// The frame is brocaar/lorawan's and ChirpStack's 1.0 join-accept example (Fixtures/lorawan/lorawan11-vectors.json X10-1).
    @Test func joinAcceptWithSeveralWrongKeysIsInvalid() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ja-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let wrong = dir + "/wrong.yaml", right = dir + "/right.yaml"
        try "devices:\n  - devEUI: 0102030405060708\n    appKey: 0102030405060708090A0B0C0D0E0F11\n  - devEUI: 0102030405060709\n    appKey: 0102030405060708090A0B0C0D0E0F12\n"
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        try "devices:\n  - devEUI: 0102030405060709\n    appKey: 0102030405060708090A0B0C0D0E0F12\n  - devEUI: 0102030405060708\n    appKey: 0102030405060708090A0B0C0D0E0F10\n"
            .write(toFile: right, atomically: true, encoding: .utf8)
        chmod(wrong, 0o600); chmod(right, 0o600)
        let bad = try CLI.run(["frame", "decode", "2023cf335489aae3183c0be0baa8dee5f3", "--keys", wrong])
        #expect(bad.status == 1 && bad.stdout.contains("invalid"), "\(bad.stdout)\(bad.stderr)")
        let good = try CLI.run(["frame", "decode", "2023cf335489aae3183c0be0baa8dee5f3", "--keys", right])
        #expect(good.status == 0 && good.stdout.contains("(valid)") && good.stdout.contains("01020304"), "\(good.stdout)\(good.stderr)")
    }
}
