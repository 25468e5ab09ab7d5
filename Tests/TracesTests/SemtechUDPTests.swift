import Foundation
import HarnessCore
import Testing
import TestSupport
@testable import Traces

/// The Semtech UDP datagram parser (Semtech packet forwarder, PROTOCOL.TXT, protocol version 2) and the virtual
/// gateway under a server that misbehaves.
@Suite struct SemtechUDPTests {
    static let eui: [UInt8] = [0xAA, 0x55, 0x5A, 0x00, 0x00, 0x00, 0x01, 0x01]

    /// PROTOCOL.TXT §6's PULL_RESP example, byte for byte: version 2, a token, identifier 0x03, the txpk object.
    @Test func protocolExamplePullResp() throws {
        let text = #"{"txpk":{"imme":true,"freq":864.123456,"rfch":0,"powe":14,"modu":"LORA","datr":"SF11BW125","codr":"4/6","ipol":false,"size":32,"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"}}"#
        let d = try SemtechDatagram.parse([2, 0x12, 0x34, 0x03] + Array(text.utf8))
        guard case let .pullResp(version, token, json) = d else { Issue.record("not a PULL_RESP: \(d)"); return }
        #expect(version == 2 && token == 0x1234)
        #expect(json["txpk"]?["freq"] == .number(864.123456))
        // 43 base64 characters without padding are 32 bytes: the example's size holds.
        guard case .record(let r) = SemtechDatagram.downlink(json) else { Issue.record("the example's txpk does not read"); return }
        #expect(r.phyPayload?.count == 32)
        #expect(r.frequencyHz == 864_123_500)   // PROTOCOL.TXT gives MHz with 6 decimals; the reader keeps 100 Hz steps
        #expect(r.spreadingFactor == 11 && r.bandwidthHz == 125_000 && r.codingRate == "4/6")
        #expect(r.uplink == false)
    }

    @Test func identifiersAndLengths() throws {
        #expect(try SemtechDatagram.parse([2, 0xAB, 0xCD, 0x01]) == .pushAck(version: 2, token: 0xABCD))
        #expect(try SemtechDatagram.parse([1, 0, 7, 0x04]) == .pullAck(version: 1, token: 7))
        #expect(try SemtechDatagram.parse([2, 0, 7, 0x02] + Self.eui) == .pullData(version: 2, token: 7, gateway: Self.eui))
        #expect(try SemtechDatagram.parse([2, 0, 7, 0x05] + Self.eui) == .txAck(version: 2, token: 7, gateway: Self.eui, json: nil))
        #expect(try SemtechDatagram.parse([2, 0, 7, 0x05] + Self.eui + [0]) == .txAck(version: 2, token: 7, gateway: Self.eui, json: nil))
        // Each malformed datagram is refused with the byte offset of the problem.
        let bad: [([UInt8], Int, String)] = [
            ([2, 0, 1], 3, "at least 4 bytes"),
            ([3, 0, 1, 0x01], 0, "protocol version 3"),
            ([2, 0, 1, 0x09], 3, "unknown identifier 0x09"),
            ([2, 0, 1, 0x02, 1, 2, 3], 7, "gateway EUI needs 8 bytes"),
            ([2, 0, 1, 0x02] + Self.eui + [0], 12, "PULL_DATA is 12 bytes"),
            ([2, 0, 1, 0x03] + Array(#"{"txpk":"#.utf8), 12, "not JSON"),
            ([2, 0, 1, 0x03] + Array("[1,2]".utf8), 4, "not an object"),
            ([2, 0, 1, 0x00] + Self.eui + Array("{\"rxpk\":[".utf8), 21, "not JSON"),
        ]
        for (bytes, offset, words) in bad {
            do {
                _ = try SemtechDatagram.parse(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.offset == offset, "\(error)")
                #expect(error.message.contains(words), "\(error)")
            }
        }
        #expect(throws: SemtechDatagram.Failure.self) { try SemtechDatagram.parse([2, 0, 0, 0x01] + [UInt8](repeating: 0, count: 65_504)) }
    }

    /// What a datagram writes parses back to itself.
    @Test func writtenDatagramsReadBack() throws {
        let all: [SemtechDatagram] = [
            .pushData(version: 2, token: 1, gateway: Self.eui, json: .object(["stat": .object(["rxnb": .number(2)])])),
            .pushAck(version: 2, token: 2), .pullData(version: 2, token: 3, gateway: Self.eui),
            .pullResp(version: 2, token: 4, json: .object(["txpk": .object(["imme": .bool(true)])])), .pullAck(version: 1, token: 5),
            .txAck(version: 2, token: 6, gateway: Self.eui, json: .object(["txpk_ack": .object(["error": .string("NONE")])])),
        ]
        for d in all { #expect(try SemtechDatagram.parse(d.bytes) == d) }
    }

    /// PULL_RESP txpk that do not read: no data, bad base64, a size that is not the data's, an unknown modulation.
    @Test(arguments: [
        (#"{"txpk":{"freq":869.525,"modu":"LORA","datr":"SF9BW125","size":1}}"#, "no data"),
        (#"{"txpk":{"freq":869.525,"modu":"LORA","datr":"SF9BW125","size":1,"data":"@@"}}"#, "not base64"),
        (#"{"txpk":{"freq":869.525,"modu":"LORA","datr":"SF9BW125","size":9,"data":"AA=="}}"#, "size 9 but 1 bytes"),
        (#"{"txpk":[1]}"#, "no txpk object"),
        (#"{"nothing":1}"#, "no txpk object"),
    ])
    func badDownlinks(json: String, words: String) throws {
        let v = try JSONParser.parse(Array(json.utf8))
        guard case .rejected(_, let detail, _) = SemtechDatagram.downlink(v) else { Issue.record("accepted \(json)"); return }
        #expect(detail.contains(words), "\(detail)")
    }

    /// The virtual gateway's handling of what a server sends, datagram by datagram: duplicated and stray PUSH_ACKs
    /// count once or not at all, junk is counted and ignored, a malformed PULL_RESP gets no TX_ACK, and the next
    /// valid PULL_RESP is still answered with TX_ACK "NONE" under its own token.
    @Test func gatewayHandlesWhatAServerSends() throws {
        let (sink, port) = loopbackUDPSocket()
        defer { close(sink) }
        let gw = try VirtualGateway(host: "127.0.0.1", port: port, eui: Self.eui)
        var junk = 0
        var rng = SeededRandom(seed: 16)
        print("gatewayHandlesWhatAServerSends: junk from seed 16")
        for n in [0, 1, 3, 4, 5, 200, 65_507, 70_000] {
            var b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if b.count >= 4 { b[0] = 7 }   // never a valid version
            #expect(gw.handle(b) == nil)
            junk += 1
        }
        // A gateway's own messages sent back by a confused server.
        #expect(gw.handle([2, 0, 1, 0x00] + Self.eui + Array("{}".utf8)) == nil)
        #expect(gw.handle([2, 0, 1, 0x02] + Self.eui) == nil)
        junk += 2
        // PUSH_ACKs for tokens this gateway never sent.
        for t: UInt8 in [1, 2, 2] { #expect(gw.handle([2, 0, t, 0x01]) == nil) }
        #expect(gw.stats.pushAcks == 0)
        // A malformed PULL_RESP, then a good one.
        #expect(gw.handle([2, 0xAA, 0x01, 0x03] + Array(#"{"txpk":{"freq":869.525,"size":1,"data":"@@"}}"#.utf8)) == nil)
        let ack = gw.handle([2, 0xBE, 0xEF, 0x03] + Array(#"{"txpk":{"imme":true,"freq":869.525,"rfch":0,"powe":27,"modu":"LORA","datr":"SF12BW125","codr":"4/5","ipol":true,"size":1,"data":"AA=="}}"#.utf8))
        let a = try #require(ack)
        #expect(Array(a.prefix(12)) == [2, 0xBE, 0xEF, 0x05] + Self.eui)
        #expect(String(decoding: a[12...], as: UTF8.self) == #"{"txpk_ack":{"error":"NONE"}}"#)
        // Version 1 has no TX_ACK.
        #expect(gw.handle([1, 0, 0, 0x03] + Array(#"{"txpk":{"imme":true,"freq":869.525,"modu":"LORA","datr":"SF12BW125","size":1,"data":"AA=="}}"#.utf8)) == nil)
        let s = gw.stats
        #expect(s.unknownDatagrams == junk)
        #expect(s.pullResp == 3 && s.malformedDownlinks == 1 && s.txAcks == 1)
    }
}
