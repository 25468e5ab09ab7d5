import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct CodecCommandsTests {
    @Test func encodeAndDecode() throws {
        // PAYLOAD.md section 9.
        let e = try CLI.run(["codec", "encode", "--message", "bay-state", "occupied=false", "changes=4095", "history=10,70", "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        #expect(obj?["hex"] as? String == "217ff880280f00")
        let d = try CLI.run(["codec", "decode", "217ff880280f00"])
        #expect(d.status == 0 && d.stdout.contains(#""changes":4095"#) && d.stdout.contains(#""age_s":70"#))
        let down = try CLI.run(["codec", "encode", "--message", "set-report-interval", "seq=1", "interval_s=300"])
        #expect(down.stdout.contains("hex      3001012c") && down.stdout.contains("FPort    11"))
    }

    @Test func budgetFromRegionAndDataRate() throws {
        // US915 DR0: 11 bytes; ten 60-second steps: five fit (26 + 5 × 12 = 86 bits).
        let ages = (1...10).map { String($0 * 60) }.joined(separator: ",")
        let r = try CLI.run(["codec", "encode", "--message", "bay-state", "occupied=true", "changes=3", "history=\(ages)",
                             "--region", "US915", "--dr", "0", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(obj?["length"] as? Int == 11)
        #expect(((obj?["decoded"] as? [String: Any])?["history"] as? [Any])?.count == 5)
    }

    @Test func cayenne() throws {
        let r = try CLI.run(["codec", "decode", "03670110056700ff", "--format", "cayenne"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("channel 3  temperature  27.2") && r.stdout.contains("channel 5  temperature  25.5"))
    }

    @Test(arguments: [
        (["codec", "decode", "41"], "unknown_version"),
        (["codec", "decode", "2180"], "truncated"),
        (["codec", "decode", "2180280000"], "trailing_bytes"),
        (["codec", "decode", "21802800", "--fport", "12"], "unknown_port"),
        (["codec", "encode", "--message", "set-report-interval", "seq=1", "interval_s=5"], "out_of_range"),
        (["codec", "encode", "--message", "parking", "x=1"], "unknown message type 'parking'"),
        (["codec", "decode", "0167ff", "--format", "cayenne"], "byte offset 2"),
    ])
    func badPayloads(arguments: [String], mentions: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(mentions), "\(r.stderr)")
    }

    /// `codec verify` from the repository root: one line per implementation and type, all agreeing.
    @Test func verify() throws {
        let r = try CLI.run(["codec", "verify", "--random", "2000", "--seed", "7"], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("All three implementations agree."))
        for impl in ["swift", "c", "javascript"] { #expect(r.stdout.contains(impl)) }
        // A deliberately wrong vector makes it fail with the first differing bit.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bad = dir.appendingPathComponent("bad.json")
        try #"{"cases": [{"message": {"type": "bay_state", "occupied": true, "changes": 5, "history": []}, "maxBytes": null, "fport": 10, "hex": "21802a00", "decoded": {"type": "bay_state", "occupied": true, "changes": 5, "history": []}}], "errors": []}"#
            .write(to: bad, atomically: true, encoding: .utf8)
        let f = try CLI.run(["codec", "verify", "--vectors", bad.path], currentDirectory: TestPaths.root)
        #expect(f.status == 1)
        #expect(f.stdout.contains("first differing bit: byte 2, bit 6"))
        #expect(f.stdout.contains("The implementations DISAGREE."))
    }
}
