import CPty
import Foundation
import HarnessCore
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair: the emulator holds the master side and a harness opens the slave path like a serial
/// port.
public final class PseudoTerminal {
    public private(set) var masterFD: Int32
    public let slavePath: String
    /// Keeps the slave side open, so the master does not see a hang-up while no harness is attached.
    private var keeper: Int32

    public init() throws(SerialError) {
        var name = [CChar](repeating: 0, count: 128)
        let m = lh_open_pty(&name, name.count)
        guard m >= 0 else { throw SerialError(.io, port: "/dev/ptmx", transport: "pty", String(cString: strerror(errno))) }
        masterFD = m
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        keeper = Glibc.open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        // Raw mode on the line: no echo, no CR/LF translation; what the device writes arrives as it is.
        if keeper >= 0 {
            var t = termios()
            if tcgetattr(keeper, &t) == 0 {
                cfmakeraw(&t)
                tcsetattr(keeper, TCSANOW, &t)
            }
        }
        _ = fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// The baud rate the harness set on its side of the line (Linux shares one termios between the two sides of a
    /// pseudo-terminal): an emulated board configured for another rate sees garbage, as a real UART would.
    public var lineBaud: Int? {
        guard masterFD >= 0 else { return nil }
        var t = termios()
        guard tcgetattr(masterFD, &t) == 0 else { return nil }
        return TermiosTransport.baud(cfgetospeed(&t))
    }

    /// Writes to the harness side.
    public func write(_ bytes: [UInt8]) {
        guard masterFD >= 0 else { return }
        var offset = 0
        var tries = 0
        while offset < bytes.count && tries < 1000 {
            let n = bytes.withUnsafeBytes { b -> Int in
                guard let base = b.baseAddress else { return 0 }
                return Glibc.write(masterFD, base + offset, bytes.count - offset)
            }
            if n > 0 { offset += n } else {
                tries += 1
                var p = pollfd(fd: masterFD, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 10)
            }
        }
    }

    /// Bytes from the harness, waiting at most `timeout`.
    public func read(timeout: Nanoseconds) -> [UInt8] {
        guard masterFD >= 0 else { return [] }
        var p = pollfd(fd: masterFD, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(clamping: max(0, timeout) / 1_000_000)) > 0, p.revents & Int16(POLLIN) != 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { b -> Int in
            guard let base = b.baseAddress else { return 0 }
            return Glibc.read(masterFD, base, b.count)
        }
        return n > 0 ? Array(buf.prefix(n)) : []
    }

    /// Hangs up: the harness side sees the line drop (a disconnect).
    public func close() {
        if keeper >= 0 { Glibc.close(keeper); keeper = -1 }
        if masterFD >= 0 { Glibc.close(masterFD); masterFD = -1 }
    }
}
