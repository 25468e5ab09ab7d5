import Foundation
import HarnessCore
import LoRaWAN
import Traces

/// What every target shares: the input as bytes or text, property checks that stop the run with a message
/// (libFuzzer keeps the input that did it), and the repository's files the targets read (profiles, keys).
public enum Fuzz {
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The input as text, as the file readers take it: nil when it is not UTF-8 (they refuse such files).
    public static func text(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String? {
        String(bytes: bytes(data, size), encoding: .utf8)
    }

    /// A property that must hold: when it does not, the message goes to standard error and the process aborts, so
    /// that libFuzzer records the input as a finding.
    public static func check(_ holds: Bool, _ what: @autoclosure () -> String) {
        guard !holds else { return }
        FileHandle.standardError.write(Data(("property violated: " + what() + "\n").utf8))
        abort()
    }

    /// The repository's root: `LORAHARNESS_ROOT`, or the working directory (`make fuzz` runs from the root).
    public static var root: String {
        ProcessInfo.processInfo.environment["LORAHARNESS_ROOT"] ?? FileManager.default.currentDirectoryPath
    }

    /// The keys of the public captures the tests use, so that the MIC, decryption and codec paths are reached.
    public static let publicKeys: KeyStore? = try? KeyStore.load(path: root + "/Fixtures/traces/public/alpov-keys.yaml")

    /// Reads `input` with one reader into the validator and checks what every reader promises: every item read is
    /// accepted or rejected (the report's counts add up), and the report is valid JSON of its own format.
    public static func readTrace(_ input: [UInt8], format: TraceFormatChoice) {
        let bytes = ByteInput(bytes: input, name: "fuzz-input")
        guard let reader = try? TraceReaders.open(bytes, choice: format) else { return }
        var options = ValidationOptions()
        options.keys = publicKeys
        let validator = TraceValidator(options: options, files: ["fuzz-input"])
        var items = 0
        while let item = try? reader.next() {
            if case .skipped = item {} else { items += 1 }
            validator.consume(item)
        }
        let report = validator.finish()
        check(report.read == items, "the report read \(report.read) records, the reader gave \(items)")
        check(report.read == report.accepted + report.rejected,
              "read \(report.read) is not accepted \(report.accepted) + rejected \(report.rejected)")
        check(report.rejectedByReason.values.reduce(0, +) == report.rejected,
              "rejections by reason add up to \(report.rejectedByReason.values.reduce(0, +)), not \(report.rejected)")
    }

    /// Parses a YAML or JSON document as the loaders do (the same bound on its size after alias expansion).
    public static func document(_ data: UnsafePointer<UInt8>?, _ size: Int) -> DocumentNode? {
        guard let text = text(data, size) else { return nil }
        return try? DocumentNode.parse(text, file: "fuzz-input")
    }
}
