import Foundation
import HarnessCore
import LoRaWAN
import Testing

func temporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct KeyStoreTests {
    let yaml = """
        devices:
          - devEUI: 0203040502030405
            joinEUI: 0102030401020304
            appKey: 01010101010101010101010101010101
        sessions:
          - devAddr: 01020304
            nwkSKey: 02020202020202020202020202020202
            appSKey: 01010101010101010101010101010101
        """

    func write(_ text: String, mode: Int = 0o600) throws -> String {
        let path = temporaryDirectory().appendingPathComponent("keys.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func loadsYAMLAndJSON() throws {
        var warnings: [String] = []
        let store = try KeyStore.load(path: try write(yaml)) { warnings.append($0) }
        #expect(warnings.isEmpty)
        #expect(store.appKey(for: try EUI64(hex: "0203040502030405"))?.bytes == [UInt8](repeating: 1, count: 16))
        #expect(store.sessionKeys(for: try DevAddr(hex: "01020304"))?.nwkSKey.bytes == [UInt8](repeating: 2, count: 16))
        let json = #"{"sessions": [{"devAddr": "26011BDA", "nwkSKey": "000102030405060708090a0b0c0d0e0f", "appSKey": "0f0e0d0c0b0a09080706050403020100"}]}"#
        let s2 = try KeyStore.load(path: try write(json))
        #expect(s2.sessionKeys(for: try DevAddr(hex: "26011BDA")) != nil)
    }

    @Test func warnsWhenOthersCanRead() throws {
        var warnings: [String] = []
        _ = try KeyStore.load(path: try write(yaml, mode: 0o644)) { warnings.append($0) }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("mode 644") == true)
        #expect(warnings.first?.contains("0101010101") == false)
    }

    /// Errors name the file, line and field, and never repeat a key.
    @Test func errorsNameTheLineNotTheKey() throws {
        let bad = yaml.replacingOccurrences(of: "nwkSKey: 02020202020202020202020202020202", with: "nwkSKey: 0202020202020202020202020202020Z")
        let path = try write(bad)
        do {
            _ = try KeyStore.load(path: path)
            Issue.record("accepted a bad key")
        } catch {
            #expect(error.location == .field(file: path, line: 7, field: "sessions[0].nwkSKey"))
            #expect(!error.description.contains("0202020202"))
        }
        let unknown = try write("devices:\n  - devEUI: 0203040502030405\n    appkey: 01010101010101010101010101010101\n")
        #expect(throws: InputError.self) { try KeyStore.load(path: unknown) }
        do { _ = try KeyStore.load(path: unknown) } catch {
            #expect(error.description.contains("unknown field 'appkey'") && error.description.contains(":3"))
        }
        #expect(throws: InputError.self) { try KeyStore.load(path: "/nonexistent/keys.yaml") }
    }

    /// Syntax errors (a control character after a key, a field given twice) name the line and never echo the text.
    @Test func syntaxErrorsDoNotShowTheKeys() throws {
        let control = try write(yaml.replacingOccurrences(of: "nwkSKey: 02020202020202020202020202020202", with: "nwkSKey: 02020202020202020202020202020202\u{1}"))
        let twice = try write(yaml.replacingOccurrences(of: "nwkSKey: 02020202020202020202020202020202",
                                                        with: "nwkSKey: 02020202020202020202020202020202\n    nwkSKey: 03030303030303030303030303030303"))
        for (path, says) in [(control, "control characters"), (twice, "a field is given twice: 'nwkSKey'")] {
            do {
                _ = try KeyStore.load(path: path)
                Issue.record("accepted \(path)")
            } catch {
                let text = error.description
                #expect(text.contains(says) && text.contains(path + ":"), "\(text)")
                #expect(!text.contains("0202020202") && !text.contains("0303030303") && !text.contains("0101010101") && !text.contains("\n"), "\(text)")
            }
        }
    }

    @Test func environment() throws {
        let store = try KeyStore.fromEnvironment([
            "LORAHARNESS_NWKSKEY": "02020202020202020202020202020202",
            "LORAHARNESS_APPSKEY": "01010101010101010101010101010101",
        ])
        #expect(store.sessionKeys(for: DevAddr(0x1234)) != nil)
        do {
            _ = try KeyStore.fromEnvironment(["LORAHARNESS_APPKEY": "nothex-secret-value"])
            Issue.record("accepted a bad key")
        } catch {
            #expect(error.description.contains("LORAHARNESS_APPKEY"))
            #expect(!error.description.contains("secret"))
        }
        #expect(throws: InputError.self) { try KeyStore.fromEnvironment(["LORAHARNESS_NWKSKEY": "02020202020202020202020202020202"]) }
    }

    @Test func keysHaveNoTextForm() throws {
        let k = try AES128Key(hex: "2B7E151628AED2A6ABF7158809CF4F3C")
        #expect("\(k)" == "‹key›")
        #expect(String(reflecting: k) == "‹key›")
    }
}
