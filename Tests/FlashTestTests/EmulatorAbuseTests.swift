import Foundation
import HarnessCore
import Serial
import Testing
@testable import Emulator

/// The emulator under abuse: floods of binary noise, lines of 1 MiB, many boards at once in one process. After the
/// abuse, the next valid command is still answered correctly, and memory stays bounded.
@Suite(.serialized) struct EmulatorAbuseTests {
    /// Writes `bytes` to the port from another thread (the board answers while we write; reading and writing at
    /// once keeps both sides of the pty from filling up).
    /// The semaphore is signalled at the end; `written` counts the bytes the port took (all of them, or the test
    /// would check nothing).
    static func writeInBackground(_ t: SerialTransport, _ bytes: [UInt8], written: Locked<Int>) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let port = t
        Thread {
            var i = 0
            while i < bytes.count {
                let j = min(bytes.count, i + 4096)
                do { try port.write(Array(bytes[i..<j])) } catch { break }
                written.update { $0 += j - i }
                i = j
            }
            done.signal()
        }.start()
        return done
    }

    /// 64 RUI3 boards in this process, each sent 256 KiB of binary noise and a line of 1 MiB without an end, then a
    /// line end and `AT+VER=?`: every board answers its version. (The memory bound is checked on an `emulate`
    /// process of its own, where nothing else shares the figure: CLITests `emulateUnderAbuseStaysSmall`.)
    @Test func noiseAndLongLinesOn64Boards() throws {
        let seed: UInt64 = 1616
        print("noiseAndLongLinesOn64Boards: noise from seed \(seed)")
        var o = EmulatorOptions(profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir))
        o.timeScale = 100
        var boards: [Emulator] = []
        for _ in 0..<64 {
            let e = try Emulator(options: o)
            e.start()
            boards.append(e)
        }
        defer { for e in boards { e.stop() } }
        var rng = SeededRandom(seed: seed)
        let noise = (0..<(256 * 1024)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let longLine = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
        let abuse = noise + Array("\r\n".utf8) + longLine + Array("\r\n".utf8)
        let answered = Locked(0)
        let paths = boards.map(\.path)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            guard let t = try? SerialPorts.open(paths[i], settings: SerialSettings()) else { return }
            let session = LineSession(transport: t)
            defer { session.close() }
            let written = Locked(0)
            let writing = Self.writeInBackground(t, abuse, written: written)
            // Drain the answers to the junk while it is written.
            while writing.wait(timeout: .now()) == .timedOut { _ = try? session.readLine(timeout: 10 * Time.millisecond) }
            guard written.value == abuse.count else { return }
            try? session.drainInput(quiet: 300 * Time.millisecond)
            try? session.send("AT+VER=?")
            let r = try? session.expect([.exact("AT+VER=RUI_4.0.6_RAK3172-E")], timeout: 20 * Time.second)
            if r?.line != nil { answered.update { $0 += 1 } }
        }
        // A board counts only when all 1.25 MiB went in and the version came back after it.
        #expect(answered.value == 64)
    }

    /// A flood without any line end (a wrong baud rate's stream) on one board: it keeps answering the next command.
    @Test func floodWithoutLineEnds() throws {
        var o = EmulatorOptions(profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir))
        o.timeScale = 100
        let e = try Emulator(options: o)
        e.start()
        defer { e.stop() }
        let t = try SerialPorts.open(e.path, settings: SerialSettings())
        let session = LineSession(transport: t)
        defer { session.close() }
        let flood = [UInt8](repeating: 0x55, count: 4 << 20)
        let written = Locked(0)
        let writing = Self.writeInBackground(t, flood, written: written)
        while writing.wait(timeout: .now()) == .timedOut { _ = try? session.readLine(timeout: 10 * Time.millisecond) }
        #expect(written.value == flood.count)
        try session.send("")   // ends the flood's line: answered as a bad command, or ignored
        try session.drainInput(quiet: 300 * Time.millisecond)
        try session.send("AT+VER=?")
        let r = try session.expect([.exact("AT+VER=RUI_4.0.6_RAK3172-E")], timeout: 20 * Time.second)
        #expect(r.line != nil, "\(r.before.suffix(3).map(\.text))")
    }
}

/// A value shared between threads of a test.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
