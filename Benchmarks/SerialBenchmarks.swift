import Emulator
import Foundation
import HarnessCore
import Serial

/// The harness's overhead per command: `AT` → `OK` with the emulated board on a pseudo-terminal (both ends in
/// this process, on two threads), through the termios transport, the line splitter, the session log and expect.
func registerSerialBenchmarks() {
    Benchmark.add("serial: command round trip over a pty (AT → OK, emulated RUI3 board)", unit: "command", iterations: 2000) { n in
        guard let profile = try? DialectProfile.load("rak3172-rui3"), let e = try? Emulator(options: EmulatorOptions(profile: profile)) else { return 0 }
        e.start()
        defer { e.stop() }
        guard let t = try? TermiosTransport(path: e.path), let log = try? SessionLog(path: "/dev/null", header: "bench") else { return 0 }
        let s = LineSession(transport: t, log: log)
        _ = try? s.drainInput(quiet: 50 * Time.millisecond)   // the banner
        var ok = 0
        for _ in 0..<n {
            guard (try? s.send("AT")) != nil, let r = try? s.expect([.exact("OK")], timeout: Time.second), r.line != nil else { break }
            ok += 1
        }
        s.close()
        return ok
    }
}
