import Foundation
import Testing
@testable import HarnessCore

/// Atomic outputs and documents that aliases would blow up.
@Suite struct FileWritingTests {
    static func temp(_ name: String) -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-filewriting-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return (d as NSString).appendingPathComponent(name)
    }

    static func temporaries(beside path: String) -> [String] {
        let dir = (path as NSString).deletingLastPathComponent, base = (path as NSString).lastPathComponent
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("." + base + ".tmp-") }
    }

    /// Until `commit`, the final name holds the previous file whole; the bytes are in a temporary file beside it.
    /// A commit replaces it with everything written; an abandoned file leaves nothing behind.
    @Test func theFinalNameChangesOnlyOnCommit() throws {
        let path = Self.temp("atomic.txt")
        try "previous\n".write(toFile: path, atomically: false, encoding: .utf8)
        let f = try AtomicFile(path: path)
        for i in 0..<20_000 { try f.write("line \(i)\n") }   // more than the 64 KiB buffer: some bytes are on disk
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous\n")
        #expect(Self.temporaries(beside: path).count == 1)
        try f.commit()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("line 0\n") && text.hasSuffix("line 19999\n"))
        #expect(Self.temporaries(beside: path).isEmpty)

        let g = try AtomicFile(path: path)
        try g.write("half a file")
        g.abandon()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(Self.temporaries(beside: path).isEmpty)
        // A writer dropped without a commit (an error unwound the stack) is abandoned too.
        do { let h = try AtomicFile(path: path); try h.write("dropped") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(Self.temporaries(beside: path).isEmpty)
    }

    /// Appending (a pcap): the new file starts as a copy of the old one, which stays whole until the commit.
    @Test func keepingContentsAppends() throws {
        let path = Self.temp("append.bin")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let f = try AtomicFile(path: path, keepingContents: true)
        try f.write([4, 5])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        try f.commit()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3, 4, 5]))
    }

    /// A device that refuses the bytes (/dev/full: ENOSPC on every write) is an error naming it, not a success.
    @Test func aFullDeviceIsAnError() throws {
        do {
            let f = try AtomicFile(path: "/dev/full")
            try f.write([UInt8](repeating: 0x41, count: 100_000))
            try f.commit()
            Issue.record("writing to /dev/full succeeded")
        } catch {
            #expect(error.message.contains("No space left on device"), "\(error)")
            #expect(error.location == .file("/dev/full"))
        }
    }

    /// "Billion laughs": nine lines whose aliases stand for 10^8 values. The document is refused before anything
    /// walks it; the same values written out without aliases are read.
    @Test func aliasExpansionIsBounded() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        do {
            _ = try DocumentNode.parse(yaml, file: "laughs.yaml")
            Issue.record("accepted a document of 10^8 values")
        } catch {
            #expect(error.message.contains("aliases expand it to more than 1000000 values"), "\(error)")
            #expect(error.location == .file("laughs.yaml"))
        }
        // A modest use of aliases (what scenarios do: a site template) is fine.
        let ok = "base: &b {bays: 2, gates: 1}\nsites: [*b, *b, *b]\n"
        let doc = try DocumentNode.parse(ok, file: "ok.yaml")
        #expect(try doc.require("sites").array().count == 3)
    }
}
