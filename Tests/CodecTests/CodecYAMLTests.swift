import Codecs
import Foundation
import HarnessCore
import Testing
import TestSupport
import Yams

/// hardware/codec/occupancy-codec.yaml is a device-repository codec definition: the JavaScript harness runs its
/// examples; here a real YAML parser reads it and the Swift reference codec must agree with every example.
@Suite struct CodecYAMLTests {
    @Test func examplesAgreeWithTheSwiftCodec() throws {
        let text = try String(contentsOf: TestPaths.root.appendingPathComponent("hardware/codec/occupancy-codec.yaml"), encoding: .utf8)
        guard let doc = try Yams.load(yaml: text) as? [String: Any] else { Issue.record("not a mapping"); return }
        var checked = 0
        for section in ["uplinkDecoder", "downlinkDecoder"] {
            let s = doc[section] as? [String: Any]
            #expect(s?["fileName"] as? String == "occupancy-codec.js")
            for ex in s?["examples"] as? [[String: Any]] ?? [] {
                let input = JSONValue(any: ex["input"] ?? NSNull()), output = JSONValue(any: ex["output"] ?? NSNull())
                let bytes = (input["bytes"]?.arrayValue ?? []).compactMap { $0.int(in: 0...255).map { UInt8($0) } }
                let port = UInt8(input["fPort"]?.int(in: 0...255) ?? 0)
                do {
                    let m = try OccupancyCodec.decode(port: port, bytes)
                    #expect(output["data"] == m.json, "\(ex["description"] ?? "")")
                } catch {
                    let first = output["errors"]?.arrayValue?.first?.stringValue ?? ""
                    #expect(first.hasPrefix(error.code.rawValue + ":"), "\(ex["description"] ?? ""): \(error)")
                }
                checked += 1
            }
        }
        for ex in (doc["downlinkEncoder"] as? [String: Any])?["examples"] as? [[String: Any]] ?? [] {
            let input = JSONValue(any: ex["input"] ?? NSNull()), output = JSONValue(any: ex["output"] ?? NSNull())
            do {
                let m = try OccupancyMessage(json: input["data"] ?? .null)
                let enc = try OccupancyCodec.encode(m)
                #expect(output["bytes"] == .array(enc.bytes.map { .number(Double($0)) }), "\(ex["description"] ?? "")")
                #expect(output["fPort"] == .number(11))
            } catch {
                #expect(output["errors"] != nil, "\(ex["description"] ?? ""): \(error)")
            }
            checked += 1
        }
        #expect(checked >= 30)
    }
}
