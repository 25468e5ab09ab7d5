import Foundation
import HarnessCore
#if canImport(Glibc)
import Glibc
#endif

/// A serial port exposed over raw TCP by a lab serial server (ser2net and the like): `tcp://host:port`.
public final class TCPTransport: SerialTransport {
    public let port: String
    public let transportName = "tcp"
    private var fd: Int32 = -1

    public init(name: String, host: String, port: UInt16, timeout: Nanoseconds) throws(SerialError) {
        self.port = name
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SerialError(.notFound, port: name, transport: "tcp", "cannot resolve \(host): " + String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s >= 0 {
                if connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                    var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
                    if poll(&p, 1, Int32(clamping: timeout / 1_000_000)) == 1 {
                        var err: Int32 = 0
                        var len = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len)
                        if err == 0 {
                            fd = s
                            var one: Int32 = 1
                            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                            return
                        }
                        lastError = String(cString: strerror(err))
                    } else {
                        lastError = "no answer within \(DurationFormat.human(timeout))"
                    }
                } else {
                    lastError = String(cString: strerror(errno))
                }
                Glibc.close(s)
            }
            ai = a.pointee.ai_next
        }
        throw SerialError(lastError.contains("refused") ? .notFound : .io, port: name, transport: "tcp", "cannot connect to \(host):\(port): \(lastError)")
    }

    deinit { close() }

    public func write(_ bytes: [UInt8]) throws(SerialError) {
        guard fd >= 0 else { throw SerialError(.disconnected, port: port, transport: transportName, "the connection is closed") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { b -> Int in
                guard let base = b.baseAddress else { return 0 }
                return send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                throw SerialError(.disconnected, port: port, transport: transportName, String(cString: strerror(errno)) + " (while writing)")
            }
            offset += n
        }
    }

    public func read(max: Int, timeout: Nanoseconds) throws(SerialError) -> [UInt8] {
        guard fd >= 0 else { throw SerialError(.disconnected, port: port, transport: transportName, "the connection is closed") }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, Int32(clamping: (timeout + 999_999) / 1_000_000))
        if r <= 0 { return [] }
        var buf = [UInt8](repeating: 0, count: Swift.max(1, max))
        let n = buf.withUnsafeMutableBytes { b -> Int in
            guard let base = b.baseAddress else { return 0 }
            return recv(fd, base, b.count, 0)
        }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return [] }
            throw SerialError(.disconnected, port: port, transport: transportName, String(cString: strerror(errno)) + " (while reading)")
        }
        if n == 0 { throw SerialError(.disconnected, port: port, transport: transportName, "the server closed the connection") }
        return Array(buf.prefix(n))
    }

    public func drain() throws(SerialError) {}

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
