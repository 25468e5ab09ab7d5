import Foundation
import HarnessCore
#if canImport(Glibc)
import Glibc
#endif

/// A tty through POSIX termios: raw mode, the line settings, an exclusive lock (flock) so two programs do not
/// talk to one board, reads with poll(2) timeouts. Works on pseudo-terminals, which libserialport refuses on Linux.
public final class TermiosTransport: SerialTransport {
    public let port: String
    public let transportName = "termios"
    private var fd: Int32

    public init(path: String, settings: SerialSettings = SerialSettings(), exclusive: Bool = true) throws(SerialError) {
        port = path
        fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TermiosTransport.error(errno, path: path, while: "opening") }
        if exclusive && flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            Glibc.close(fd)
            fd = -1
            if e == EWOULDBLOCK { throw SerialError(.busy, port: path, transport: "termios", "another program has the port open (locked)") }
            throw TermiosTransport.error(e, path: path, while: "locking")
        }
        guard isatty(fd) == 1 else {
            Glibc.close(fd)
            fd = -1
            throw SerialError(.unsupported, port: path, transport: "termios", "not a terminal device")
        }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { let e = errno; Glibc.close(fd); fd = -1; throw TermiosTransport.error(e, path: path, while: "reading its settings") }
        cfmakeraw(&t)
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        t.c_cflag &= ~tcflag_t(CSIZE)
        switch settings.dataBits {
        case 5: t.c_cflag |= tcflag_t(CS5)
        case 6: t.c_cflag |= tcflag_t(CS6)
        case 7: t.c_cflag |= tcflag_t(CS7)
        default: t.c_cflag |= tcflag_t(CS8)
        }
        switch settings.parity {
        case .none: t.c_cflag &= ~tcflag_t(PARENB)
        case .even: t.c_cflag |= tcflag_t(PARENB); t.c_cflag &= ~tcflag_t(PARODD)
        case .odd: t.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        if settings.stopBits == 2 { t.c_cflag |= tcflag_t(CSTOPB) } else { t.c_cflag &= ~tcflag_t(CSTOPB) }
        if settings.flowControl == .rtscts { t.c_cflag |= tcflag_t(CRTSCTS) } else { t.c_cflag &= ~tcflag_t(CRTSCTS) }
        if settings.flowControl == .xonxoff { t.c_iflag |= tcflag_t(IXON | IXOFF) }
        if let speed = TermiosTransport.speed(settings.baud) {
            cfsetispeed(&t, speed)
            cfsetospeed(&t, speed)
        } else {
            Glibc.close(fd)
            fd = -1
            throw SerialError(.unsupported, port: path, transport: "termios", "\(settings.baud) baud is not a standard rate")
        }
        guard tcsetattr(fd, TCSANOW, &t) == 0 else { let e = errno; Glibc.close(fd); fd = -1; throw TermiosTransport.error(e, path: path, while: "applying its settings") }
    }

    deinit { close() }

    static let speeds: [Int: Int32] = [1200: B1200, 2400: B2400, 4800: B4800, 9600: B9600, 19200: B19200, 38400: B38400, 57600: B57600,
                                       115_200: B115200, 230_400: B230400, 460_800: B460800, 921_600: B921600]

    /// The baud rates a probe tries, most common first for LoRa modules (RUI3 and RN2483 defaults first).
    public static let commonBauds = [115_200, 57_600, 9_600, 19_200, 38_400, 230_400, 460_800, 921_600]

    /// The baud rate of a termios speed, the inverse of `speed`.
    static func baud(_ speed: speed_t) -> Int? { speeds.first { speed_t($0.value) == speed }?.key }

    static func speed(_ baud: Int) -> speed_t? {
        speeds[baud].map { speed_t($0) }
    }

    static func error(_ e: Int32, path: String, while doing: String) -> SerialError {
        let text = String(cString: strerror(e)) + " (while \(doing))"
        switch e {
        case ENOENT, ENODEV, ENXIO: return SerialError(.notFound, port: path, transport: "termios", text)
        case EACCES, EPERM: return SerialError(.permission, port: path, transport: "termios", text + "; on Linux, add yourself to the dialout group")
        case EBUSY: return SerialError(.busy, port: path, transport: "termios", text)
        case EIO, EBADF: return SerialError(.disconnected, port: path, transport: "termios", text)
        default: return SerialError(.io, port: path, transport: "termios", text)
        }
    }

    /// TIOCMBIS/TIOCMBIC (tty_ioctl(4)); a pseudo-terminal has no modem lines and refuses them.
    public func setLine(_ line: ModemLine, _ asserted: Bool) throws(SerialError) {
        guard fd >= 0 else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        var bits: Int32 = line == .dtr ? TIOCM_DTR : TIOCM_RTS
        guard ioctl(fd, UInt(asserted ? TIOCMBIS : TIOCMBIC), &bits) == 0 else {
            throw SerialError(.unsupported, port: port, transport: transportName,
                              "cannot set \(line.rawValue.uppercased()): \(String(cString: strerror(errno))) (a pseudo-terminal or a port without modem lines)")
        }
    }

    public func write(_ bytes: [UInt8]) throws(SerialError) {
        guard fd >= 0 else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { b -> Int in
                guard let base = b.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, bytes.count - offset)
            }
            if n < 0 {
                let e = errno
                if e == EAGAIN || e == EINTR {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                throw TermiosTransport.error(e, path: port, while: "writing")
            }
            offset += n
        }
    }

    public func read(max: Int, timeout: Nanoseconds) throws(SerialError) -> [UInt8] {
        guard fd >= 0 else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(clamping: (timeout + 999_999) / 1_000_000)
        let r = poll(&p, 1, ms)
        if r < 0 {
            if errno == EINTR { return [] }
            throw TermiosTransport.error(errno, path: port, while: "waiting for data")
        }
        if r == 0 { return [] }
        if p.revents & Int16(POLLIN) == 0 && p.revents & Int16(POLLHUP | POLLERR) != 0 {
            throw SerialError(.disconnected, port: port, transport: transportName, "the other end hung up")
        }
        var buf = [UInt8](repeating: 0, count: Swift.max(1, max))
        let n = buf.withUnsafeMutableBytes { b -> Int in
            guard let base = b.baseAddress else { return 0 }
            return Glibc.read(fd, base, b.count)
        }
        if n < 0 {
            let e = errno
            if e == EAGAIN || e == EINTR { return [] }
            throw TermiosTransport.error(e, path: port, while: "reading")
        }
        if n == 0 { throw SerialError(.disconnected, port: port, transport: transportName, "end of file") }
        return Array(buf.prefix(n))
    }

    public func drain() throws(SerialError) {
        guard fd >= 0 else { return }
        if tcdrain(fd) != 0 && errno != EINTR { throw TermiosTransport.error(errno, path: port, while: "draining") }
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
