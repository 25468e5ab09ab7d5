import Foundation
import HarnessCore
import LoRaWAN
import Testing
import Traces

@Suite struct PcapTests {
    @Test func loraTapHeaderLayout() {
        // LoRaTap v0 (eriknl/LoRaTap README): version 0, padding, length 15 (BE), frequency (BE), bandwidth in
        // 125 kHz steps, SF, packet/max/current RSSI (−139 + value), SNR × 4, sync word 0x34.
        let h = LoRaTapHeader(frequencyHz: 868_100_000, bandwidthSteps: 1, spreadingFactor: 7, rssidBm: -97, snrdB: 7.5)
        #expect(h.bytes == [0x00, 0x00, 0x00, 0x0F, 0x33, 0xBE, 0x27, 0xA0, 0x01, 0x07, 42, 42, 42, 30, 0x34])
    }

    @Test func writesAndAppends() throws {
        let path = temporaryDirectory().appendingPathComponent("a.pcap").path
        do {
            let w = try PcapWriter(path: path, linkType: .loraTap)
            w.write([1, 2, 3], timestampNanoseconds: 1_700_000_000_123_456_000)
            try w.close()
        }
        do {
            let w = try PcapWriter(path: path, linkType: .loraTap)
            w.write([4, 5], timestampNanoseconds: 1_700_000_001_000_000_000)
            try w.close()
        }
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // global header 24 + (16 + 3) + (16 + 2)
        #expect(d.count == 24 + 19 + 18)
        #expect(Array(d[0..<4]) == [0xD4, 0xC3, 0xB2, 0xA1])
        #expect(Array(d[20..<24]) == [0x0E, 0x01, 0, 0])      // 270
        #expect(Array(d[24..<28]) == [0x00, 0xF1, 0x53, 0x65]) // 1700000000 s
        #expect(Array(d[28..<32]) == [0x40, 0xE2, 0x01, 0x00]) // 123456 µs
        // Appending with another link type is refused.
        #expect(throws: InputError.self) { try PcapWriter(path: path, linkType: .ethernet) }
    }

    /// Wireshark's own LoRaTap and LoRaWAN dissectors read what we write: fields, a verified MIC and the
    /// decrypted payload, given the session keys in a Wireshark profile (never on a command line).
    @Test func wiresharkReadsOurFrames() throws {
        let dir = temporaryDirectory()
        let nwk = try AES128Key(hex: "02020202020202020202020202020202"), app = try AES128Key(hex: "01010101010101010101010101010101")
        let frame = try DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: DevAddr(0x0102_0304), fcnt: 1,
                                              fctrl: FCtrl(adr: true), fport: 1, payload: Array("hello".utf8),
                                              keys: SessionKeys(nwkSKey: nwk, appSKey: app))
        let pcap = dir.appendingPathComponent("w.pcap").path
        let w = try PcapWriter(path: pcap, linkType: .loraTap)
        w.write(LoRaTapHeader(frequencyHz: 868_300_000, bandwidthSteps: 1, spreadingFactor: 9, rssidBm: -110, snrdB: 2).bytes + frame,
                timestampNanoseconds: 1_700_000_000_000_000_000)
        try w.close()
        // Wireshark 4.0 reads the UAT's DevAddr in on-air (little-endian) byte order.
        let config = dir.appendingPathComponent("config/wireshark")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try "\"04030201\",\"\(Hex.encode(nwk.bytes))\",\"\(Hex.encode(app.bytes))\",\"0000000000000000\"\n"
            .write(to: config.appendingPathComponent("encryption_keys_lorawan"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tshark", "-r", pcap, "-V"]
        p.environment = ["XDG_CONFIG_HOME": dir.appendingPathComponent("config").path, "HOME": dir.path,
                         "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "tshark must be installed (make deps installs it)")
        #expect(text.contains("Frequency: 868300000Hz"))
        #expect(text.contains("Spreading Factor: 9"))
        #expect(text.contains("Packet: -110 dBm"))
        #expect(text.contains("Device Address: 0x01020304"))
        #expect(text.contains("Frame Counter: 1"))
        #expect(text.contains("Decrypted Frame Payload: 68656c6c6f"))
        #expect(text.contains("[Message Integrity Code Status: Good]"))
    }
}
