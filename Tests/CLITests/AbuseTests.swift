import Foundation
import HarnessCore
import Serial
import Testing
import TestSupport

/// `loraharness emulate` as a process of its own under a flood: its peak memory is read from /proc.
@Suite(.serialized) struct AbuseTests {
    /// A field of /proc/PID/status in kB.
    static func status(_ pid: Int32, _ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    /// 2 MiB of binary noise (seeded), 4 lines of 1 MiB, one of 16 MiB, then `AT+VER=?`: the board answers its
    /// version, and the emulator's peak resident memory grows by less than 16 MiB (it keeps at most 512 bytes of a
    /// line: one that kept the 16 MiB line would grow by twice that, bytes and text).
    @Test func emulateUnderAbuseStaysSmall() throws {
        let (emu, path) = try SerialCommandsTests.emulator(["--profile", "rak3172-rui3", "--time-scale", "100"])
        defer { emu.terminate(); emu.waitUntilExit() }
        let pid = emu.processIdentifier
        let t = try SerialPorts.open(path, settings: SerialSettings())
        let session = LineSession(transport: t)
        defer { session.close() }
        print("emulateUnderAbuseStaysSmall: noise from seed 1617")
        var rng = SeededRandom(seed: 1617)
        var abuse = (0..<(2 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) } + [0x0D, 0x0A]
        for _ in 0..<4 { abuse += [UInt8](repeating: UInt8(ascii: "Z"), count: 1 << 20) + [0x0D, 0x0A] }
        abuse += [UInt8](repeating: UInt8(ascii: "Y"), count: 16 << 20) + [0x0D, 0x0A]
        let before = Self.status(pid, "VmHWM")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let port = t
        nonisolated(unsafe) var written = 0
        let data = abuse
        Thread {
            var i = 0
            while i < data.count {
                let j = min(data.count, i + 4096)
                do { try port.write(Array(data[i..<j])) } catch { break }
                written += j - i
                i = j
            }
            done.signal()
        }.start()
        while done.wait(timeout: .now()) == .timedOut { _ = try? session.readLine(timeout: 10 * Time.millisecond) }
        #expect(written == abuse.count)
        try session.drainInput(quiet: 300 * Time.millisecond)
        try session.send("AT+VER=?")
        let r = try session.expect([.exact("AT+VER=RUI_4.0.6_RAK3172-E")], timeout: 20 * Time.second)
        #expect(r.line != nil)
        let peak = Self.status(pid, "VmHWM")
        print("emulateUnderAbuseStaysSmall: peak resident memory \(before) kB before, \(peak) kB after")
        #expect(before > 0 && peak - before < 16 * 1024, "the emulator's peak resident memory: \(before) → \(peak) kB")
    }
}
