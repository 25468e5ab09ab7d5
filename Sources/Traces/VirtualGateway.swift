import Foundation
import HarnessCore
#if canImport(Glibc)
import Glibc
#endif

/// A gateway speaking the Semtech UDP packet-forwarder protocol (PROTOCOL.TXT, version 2) to a network server:
/// PUSH_DATA with `rxpk` (and `stat`), PULL_DATA keep-alives, PUSH_ACK and PULL_ACK handled, PULL_RESP (`txpk`)
/// answered with TX_ACK. Records are sent at their captured times, `speed` times faster.
public final class VirtualGateway {
    public struct Stats: Sendable, Codable, Equatable {
        public var pushData = 0
        /// Datagrams the server's host refused (ICMP port unreachable: nothing listens on the port).
        public var refused = 0
        public var pushAcks = 0
        public var statMessages = 0
        public var pullData = 0
        public var pullAcks = 0
        public var pullResp = 0
        public var txAcks = 0
        public var skippedWithoutPHY = 0
        public var unknownDatagrams = 0
        /// PULL_RESP datagrams whose `txpk` does not read (no data, bad base64, size not the data's, bad radio settings).
        public var malformedDownlinks = 0
        public init() {}
    }

    public let host: String
    public let port: UInt16
    public let eui: [UInt8]
    public var speed = 1.0
    public var keepAlive: Nanoseconds = 10 * Time.second
    public private(set) var stats = Stats()
    private var fd: Int32 = -1
    private var tokens: [UInt16: Bool] = [:]
    private var rng = SystemRandomNumberGenerator()

    public init(host: String, port: UInt16, eui: [UInt8]) throws(InputError) {
        self.host = host
        self.port = port
        self.eui = eui.count == 8 ? eui : [UInt8](repeating: 0, count: 8)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let a = res else {
            throw InputError("cannot resolve \(host)", at: .argument("--to udp:\(host):\(port)"))
        }
        defer { freeaddrinfo(res) }
        fd = socket(a.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
            throw InputError("cannot open a UDP socket to \(host):\(port): " + String(cString: strerror(errno)), at: .argument("--to udp:\(host):\(port)"))
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    private func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func token() -> UInt16 { UInt16.random(in: 0...UInt16.max, using: &rng) }

    /// The `rxpk` object for a record (it needs the PHYPayload).
    public static func rxpk(_ r: TraceRecord, payload: [UInt8]) -> JSONValue {
        var o: [String: JSONValue] = [
            "chan": .number(0), "rfch": .number(0), "stat": .number(1), "modu": .string("LORA"),
            "size": .number(Double(payload.count)), "data": .string(Base64.encode(payload)),
            "datr": .string("SF\(r.spreadingFactor ?? 7)BW\((r.bandwidthHz ?? 125_000) / 1000)"),
            "codr": .string(r.codingRate ?? "4/5"),
            "freq": .number(Double(r.frequencyHz ?? 868_100_000) / 1e6),
        ]
        if let t = r.time {
            o["time"] = .string(TraceTime.format(t))
            o["tmst"] = .number(Double(UInt32(truncatingIfNeeded: t / 1000)))
        }
        if let g = r.receptions.first {
            if let v = g.rssi { o["rssi"] = .number(v.rounded()) }
            if let v = g.snr { o["lsnr"] = .number(v) }
        }
        return .object(o)
    }

    private func pushData(_ json: JSONValue) {
        let t = token()
        tokens[t] = false
        send([2, UInt8(t >> 8), UInt8(t & 0xFF), 0x00] + eui + Array(json.compact.utf8))
    }

    private func pullData() {
        let t = token()
        send([2, UInt8(t >> 8), UInt8(t & 0xFF), 0x02] + eui)
        stats.pullData += 1
    }

    /// Handles whatever the server sent, waiting up to `timeout`.
    private func poll(timeout: Nanoseconds) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var wait = Int32(clamping: max(0, timeout) / 1_000_000)
        while Glibc.poll(&p, 1, wait) > 0 {
            wait = 0
            var buf = [UInt8](repeating: 0, count: 65_536)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else {
                if errno == ECONNREFUSED { stats.refused += 1; continue }
                break
            }
            handle(Array(buf.prefix(n)))
        }
    }

    /// What the server sent, read by the protocol's one parser (`SemtechDatagram`). A PUSH_ACK counts once for a
    /// token this gateway sent (duplicates and strangers are ignored); a PULL_RESP whose `txpk` reads is answered
    /// with TX_ACK "NONE", one that does not is counted and left unanswered, as a packet forwarder does; anything
    /// else (malformed, or a gateway's message sent back) is counted as unknown. Returns what was answered.
    @discardableResult
    public func handle(_ datagram: [UInt8]) -> [UInt8]? {
        guard let d = try? SemtechDatagram.parse(datagram) else { stats.unknownDatagrams += 1; return nil }
        switch d {
        case let .pushAck(_, tok):
            if tokens[tok] == false { tokens[tok] = true; stats.pushAcks += 1 }
        case .pullAck:
            stats.pullAcks += 1
        case let .pullResp(version, tok, json):
            stats.pullResp += 1
            guard case .record = SemtechDatagram.downlink(json) else { stats.malformedDownlinks += 1; return nil }
            if let tx = json["txpk"] { onDownlink?(tx) }
            // The downlink was accepted (this gateway transmits nothing). Version 1 has no TX_ACK.
            guard version >= 2 else { return nil }
            let ack = SemtechDatagram.txAck(version: version, token: tok, gateway: eui,
                                            json: .object(["txpk_ack": .object(["error": .string("NONE")])])).bytes
            send(ack)
            stats.txAcks += 1
            return ack
        default:
            stats.unknownDatagrams += 1
        }
        return nil
    }

    // MARK: - Live: a radio (the emulator's) in front of it

    /// Each accepted PULL_RESP's `txpk`, as it comes (live mode: the radio behind this gateway transmits it).
    public var onDownlink: ((JSONValue) -> Void)?
    private var lastLivePull: UInt64 = 0

    /// Sends one received packet to the server now (an `rxpk` object, `rxpk(…)`'s shape).
    public func forward(_ rxpk: JSONValue) {
        pushData(.object(["rxpk": .array([rxpk])]))
        stats.pushData += 1
        service()
    }

    /// Waits (wall time, at most `timeout`) until the server has acknowledged every PUSH_DATA sent, handling what
    /// it sends meanwhile; false when it did not (no answer in time, or the port refused).
    @discardableResult
    public func awaitPushAcks(timeout: Nanoseconds) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, timeout))
        let refusedBefore = stats.refused
        while stats.pushAcks < stats.pushData + stats.statMessages {
            let now = DispatchTime.now().uptimeNanoseconds
            guard stats.refused == refusedBefore, now < deadline else { return false }
            poll(timeout: max(Time.millisecond, Int64(deadline - now)))
        }
        return true
    }

    /// Keeps the link up (PULL_DATA at start and every `keepAlive`) and handles what the server sent, waiting at
    /// most `timeout`.
    public func service(timeout: Nanoseconds = 0) {
        let now = DispatchTime.now().uptimeNanoseconds
        // Until the server has answered a PULL_DATA (it may start after this gateway), every 200 ms: the server
        // learns where to send PULL_RESP from it.
        let every = stats.pullAcks == 0 ? 200 * Time.millisecond : keepAlive
        if lastLivePull == 0 || now - lastLivePull >= UInt64(every) {
            pullData()
            lastLivePull = now
        }
        poll(timeout: timeout)
    }

    /// Sends every record at its time (relative to the first), a `stat` every 30 s of trace time, PULL_DATA every
    /// `keepAlive` of wall time; then waits a second for the last acknowledgements.
    public func replay(_ records: [TraceRecord]) {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let t0 = records.compactMap(\.time).min() ?? 0
        var lastPull: UInt64 = 0
        var nextStat: Nanoseconds = 0
        pullData()
        lastPull = DispatchTime.now().uptimeNanoseconds
        for r in records {
            guard let phy = r.phyPayload else { stats.skippedWithoutPHY += 1; continue }
            let due = wallStart + UInt64(max(0, Double((r.time ?? t0) - t0) / speed))
            while true {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= due { break }
                if now - lastPull >= UInt64(keepAlive) { pullData(); lastPull = now }
                poll(timeout: min(Int64(due - now), 50 * Time.millisecond))
            }
            let traceTime = (r.time ?? t0) - t0
            if traceTime >= nextStat {
                let stat: JSONValue = .object(["stat": .object(["time": .string(TraceTime.format(r.time ?? t0).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " GMT")),
                                                                 "rxnb": .number(0), "rxok": .number(0), "rxfw": .number(0), "ackr": .number(100),
                                                                 "dwnb": .number(0), "txnb": .number(0)])])
                pushData(stat)
                stats.statMessages += 1
                nextStat = traceTime + 30 * Time.second
            }
            pushData(.object(["rxpk": .array([VirtualGateway.rxpk(r, payload: phy)])]))
            stats.pushData += 1
            poll(timeout: 0)
            // Nothing listens there: stop instead of sending the rest of the trace into the void.
            if stats.refused > 0 && stats.pushAcks == 0 { break }
        }
        // The last acknowledgements: wait until every PUSH_DATA has its PUSH_ACK, at most a second.
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Time.second)
        while stats.pushAcks < stats.pushData + stats.statMessages && stats.refused == 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { break }
            poll(timeout: Int64(deadline - now))
        }
    }
}
