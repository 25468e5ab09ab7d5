import Foundation
import HarnessCore
import LoRaWAN
import Serial
import Testing
@testable import Traces

/// What the fuzz targets found (Fixtures/fuzz/crashes/ keeps each input; `make test` replays them through the
/// targets), and the bounds they hold to, as ordinary tests with exact expectations.
@Suite struct FuzzFindingsTests {
    /// fuzz-json: `4e44444408` is beyond a double; read as infinity it was written back as `inf`, which is not JSON.
    /// RFC 8259 §6 lets a parser limit the range: refused, with the offset of the number.
    @Test func numbersBeyondADoubleAreRefused() throws {
        for (text, offset) in [("4e44444408", 0), ("[1, -1e309]", 4), (#"{"a":1E400}"#, 5)] {
            do {
                _ = try JSONParser.parse(Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.offset == offset && error.message.contains("beyond the range of a double"), "\(text): \(error)")
            }
        }
        // The largest finite double and a long integer still read; infinity and NaN are written as null.
        #expect(try JSONParser.parse(Array("1.7976931348623157e308".utf8)) == .number(.greatestFiniteMagnitude))
        #expect(try JSONParser.parse(Array(String(repeating: "1", count: 305).utf8)) != .null)
        #expect(JSONValue.array([.number(.infinity), .number(.nan)]).compact == "[null,null]")
    }

    /// fuzz-keys: an unknown or repeated field whose name holds a key (a key pasted on the wrong line) was quoted in
    /// the error. Such text is described, never shown.
    @Test func keysFilesNeverQuoteAKey() throws {
        let key = "2B7E151628AED2A6ABF7158809CF4F3C"
        for yaml in ["devices:\n  - {devEUI: 70B3D57ED0001234, appKey\(key): 1}\n",
                     "sessions: []\n\(key): 1\n",
                     "devices: []\nx\(key): 1\nx\(key): 2\n"] {
            do {
                _ = try KeyStore.parse(try DocumentNode.parse(yaml, file: "keys.yaml"))
                Issue.record("accepted \(yaml)")
            } catch {
                #expect(!error.description.contains(key), "\(error)")
                #expect(error.description.contains("not shown"), "\(error)")
            }
        }
        #expect(DocumentNode.shown("colour") == "'colour'")
    }

    /// fuzz-at-lines: an echo mangled by noise (`ATT+APPKEY=…`) matched none of the key-command patterns and went
    /// to the log with its key. Any line naming a key and then giving 32 hex digits is redacted.
    @Test func mangledKeyCommandsAreRedacted() throws {
        let key = "2B7E151628AED2A6ABF7158809CF4F3C"
        for line in ["ATT+APPKEY=\(key)", "\u{1}AT+NWKSKEY=\(key)", "AppSKey: \(key)", "+KEY: APPKEY \(key)", "AT+APPKEY=\(key)"] {
            let r = Redactor.keyCommands.redact(line)
            #expect(!r.contains(key) && r.hasSuffix(Redactor.marker), "\(line) → \(r)")
        }
        // A DevEUI (16 digits) or a frame in hex after another word is not a key.
        #expect(Redactor.keyCommands.redact("AT+DEVEUI=70B3D57ED0001234") == "AT+DEVEUI=70B3D57ED0001234")
    }

    /// pcapng block lengths come from the file: a forged one (4 GiB in a 40-byte file) is refused before anything is
    /// allocated for it, for a section header block as for any other block.
    @Test func forgedPcapngLengthsAreRefused() throws {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        let shb = le32(0x0A0D_0D0A) + le32(28) + le32(0x1A2B_3C4D) + [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8) + le32(28)
        // The first section header: the file is not a capture (an error naming the offset).
        do {
            let first = le32(0x0A0D_0D0A) + le32(0xFFFF_FFF0) + le32(0x1A2B_3C4D) + [UInt8](repeating: 0, count: 28)
            let reader = try TraceReaders.open(ByteInput(bytes: first, name: "forged.pcapng"), choice: .pcap)
            while try reader.next() != nil {}
            Issue.record("read a forged section header")
        } catch {
            #expect(error.message.contains("section header length 4294967280 is not plausible") && error.location == .byteOffset(source: "forged.pcapng", offset: 4), "\(error)")
        }
        // Later blocks: a rejection, and the reading stops there.
        let cases: [([UInt8], String)] = [
            (shb + le32(0x0A0D_0D0A) + le32(0xFFFF_FFF0) + le32(0x1A2B_3C4D) + [UInt8](repeating: 0, count: 24), "section header block length 4294967280"),
            (shb + le32(6) + le32(0xFFFF_FFF0) + [UInt8](repeating: 0, count: 24), "block length 4294967280 is not plausible"),
        ]
        for (bytes, words) in cases {
            let reader = try TraceReaders.open(ByteInput(bytes: bytes, name: "forged.pcapng"), choice: .pcap)
            var rejections: [String] = []
            while let item = try reader.next() {
                if case .rejected(let reason, let detail, _) = item { rejections.append("\(reason.rawValue): \(detail)") }
            }
            #expect(rejections.count == 1 && rejections[0].contains(words), "\(rejections)")
        }
    }
}
