import Network
import SimKernel
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Traces
#if canImport(Glibc)
import Glibc
#endif

/// One packet a bench gateway received, with what the network made of it.
public struct AirUplink: Sendable {
    /// The concentrator's time of the end of the packet (µs, 32 bits).
    public var tmst: UInt32?
    /// When the harness got it (its monotonic clock).
    public var received: Nanoseconds
    public var frequencyHz: Int64?
    public var spreadingFactor: Int?
    public var bandwidthHz: Int?
    public var codingRate: String?
    public var bytes: [UInt8]
    public var verdict: UplinkVerdict
    /// The downlink sent back through PULL_RESP for it (a join-accept, an acknowledgement, a queued downlink).
    public var answered: [UInt8]?

    /// "SF7BW125".
    public var dataRateText: String { "SF\(spreadingFactor ?? 0)BW\((bandwidthHz ?? 0) / 1000)" }
}

/// The network server of a bench gateway: a packet forwarder (Semtech UDP, PROTOCOL.TXT) pointed at the harness
/// sends what it receives; this answers PUSH_DATA and PULL_DATA, verifies join-requests and uplinks with the keys of
/// the boards under test (the one network server of the simulations, on a perfect channel and without network-side ADR), and sends join-accepts,
/// acknowledgements and queued downlinks back through PULL_RESP, timed from the uplink's `tmst` for RX1.
public final class BenchGateway: @unchecked Sendable {
    public let region: RegionParameters
    public let address: String
    private let fd: Int32
    private let lock = NSLock()
    private let network: NetworkServer
    private var devices: [EUI64: Int] = [:]
    private var heard: [AirUplink] = []
    /// Where each gateway (by EUI) listens for PULL_RESP: the source of its last PULL_DATA.
    private var downPaths: [[UInt8]: (address: sockaddr_storage, length: socklen_t)] = [:]
    private var thread: Thread?
    private var running = true
    private let start = DispatchTime.now().uptimeNanoseconds
    public private(set) var pullResps = 0
    /// A line for each thing the gateway's server does (for --verbose).
    public var onEvent: (@Sendable (String) -> Void)?

    /// Listens on `udp:HOST:PORT` (`udp:0.0.0.0:1700`, the packet forwarder's default port; port 0 picks a free one).
    public init(spec: String, region: RegionParameters) throws(InputError) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "udp", let port = UInt16(parts[2]) else {
            throw InputError("the gateway is udp:HOST:PORT (for example udp:0.0.0.0:1700), not '\(spec)'", at: .argument("--gateway"))
        }
        self.region = region
        var config = NetworkServer.Config()
        config.adr = false
        config.gatewayTransmitters = false
        network = NetworkServer(config: config, region: region, channel: PerfectChannel(), seed: 1)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(parts[1].isEmpty ? nil : parts[1], parts[2], &hints, &res) == 0, let a = res else {
            throw InputError("cannot resolve \(parts[1])", at: .argument("--gateway \(spec)"))
        }
        defer { freeaddrinfo(res) }
        let s = socket(a.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw InputError("cannot open a UDP socket: " + String(cString: strerror(errno)), at: .argument("--gateway \(spec)")) }
        guard bind(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
            let e = String(cString: strerror(errno))
            Glibc.close(s)
            throw InputError("cannot listen on \(parts[1]):\(port): \(e)", at: .argument("--gateway \(spec)"))
        }
        fd = s
        var bound = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var actual = port
        withUnsafeMutablePointer(to: &bound) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                if getsockname(s, sp, &len) == 0 {
                    if Int32(sp.pointee.sa_family) == AF_INET {
                        sp.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { actual = UInt16(bigEndian: $0.pointee.sin_port) }
                    } else if Int32(sp.pointee.sa_family) == AF_INET6 {
                        sp.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { actual = UInt16(bigEndian: $0.pointee.sin6_port) }
                    }
                }
            }
        }
        address = "udp:\(parts[1]):\(actual)"
        network.onVerdict = { [unowned self] v in lastVerdict = v }
        let t = Thread { [unowned self] in loop() }
        t.name = "bench-gateway"
        thread = t
        t.start()
    }

    /// For a plan: its region's timing and data rates.
    public convenience init(spec: String, plan: FlashTestPlan) throws(InputError) {
        try self.init(spec: spec, region: try RegionID.parse(plan.region).parameters)
    }

    /// The port it listens on.
    public var port: UInt16 { UInt16(address.split(separator: ":").last ?? "") ?? 0 }

    public func stop() {
        lock.lock(); running = false; lock.unlock()
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    deinit { Glibc.close(fd) }

    /// A board's keys, so that its join-request is answered (several boards may share the gateway).
    public func register(devEUI: EUI64, joinEUI: EUI64, appKey: AES128Key) {
        lock.lock(); defer { lock.unlock() }
        let index = devices[devEUI] ?? devices.count
        devices[devEUI] = index
        network.register(device: index, activation: .otaa(devEUI: devEUI, joinEUI: joinEUI, appKey: appKey))
    }

    /// A downlink to send in the receive window of the device's next uplink (on FPort `answering`, when given: the
    /// uplink a test step sends, not one the board's application sends meanwhile).
    public func queueDownlink(devEUI: EUI64, port: UInt8, payload: [UInt8], answering: UInt8? = nil) {
        lock.lock(); defer { lock.unlock() }
        guard let d = devices[devEUI] else { return }
        network.script(device: d, NetworkServer.Scripted(at: 0, fport: port, payload: payload, answering: answering))
    }

    public var now: Nanoseconds { Int64(DispatchTime.now().uptimeNanoseconds - start) }

    /// Whether a gateway has sent PULL_DATA: without it there is no way to send it a downlink.
    public var hasDownlinkPath: Bool { lock.lock(); defer { lock.unlock() }; return !downPaths.isEmpty }

    /// Waits up to `timeout` for a gateway's PULL_DATA (a packet forwarder sends one every keepalive_interval,
    /// 10 s by default).
    public func waitForDownlinkPath(timeout: Nanoseconds) -> Bool {
        let deadline = now + timeout
        while !hasDownlinkPath && now < deadline && !Interruption.requested { Thread.sleep(forTimeInterval: 0.02) }
        return hasDownlinkPath
    }

    /// What was heard since `since` (harness time).
    public func heard(since: Nanoseconds) -> [AirUplink] {
        lock.lock(); defer { lock.unlock() }
        return heard.filter { $0.received >= since }
    }

    /// Waits up to `timeout` for a packet heard since `since` that `matches`.
    public func wait(since: Nanoseconds, timeout: Nanoseconds, _ matches: (AirUplink) -> Bool) -> AirUplink? {
        let deadline = now + timeout
        repeat {
            if let u = heard(since: since).first(where: matches) { return u }
            Thread.sleep(forTimeInterval: 0.01)
        } while now < deadline && !Interruption.requested
        return nil
    }

    // MARK: - The protocol

    private var lastVerdict: UplinkVerdict?

    private func loop() {
        var buf = [UInt8](repeating: 0, count: SemtechDatagram.maxBytes)
        while true {
            lock.lock(); let on = running; lock.unlock()
            guard on else { return }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&p, 1, 100) > 0 else { continue }
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buf.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { f in
                    f.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &fromLength) }
                }
            }
            guard n > 0 else { continue }
            handle(Array(buf.prefix(n)), from: from, length: fromLength)
        }
    }

    private func send(_ bytes: [UInt8], to address: sockaddr_storage, length: socklen_t) {
        var a = address
        _ = bytes.withUnsafeBytes { b in
            withUnsafeMutablePointer(to: &a) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
    }

    private func handle(_ datagram: [UInt8], from: sockaddr_storage, length: socklen_t) {
        guard let d = try? SemtechDatagram.parse(datagram) else { return }
        switch d {
        case let .pullData(version, token, eui):
            lock.lock()
            let new = downPaths[eui] == nil
            downPaths[eui] = (from, length)
            lock.unlock()
            if new { onEvent?("gateway: PULL_DATA from \(Hex.encode(eui, uppercase: true)): the way down to it is open") }
            send(SemtechDatagram.pullAck(version: version, token: token).bytes, to: from, length: length)
        case let .pushData(version, token, eui, json):
            for (item, tmst) in SemtechDatagram.uplinks(json) {
                guard case .record(let r) = item, let bytes = r.phyPayload, r.crc != .bad else { continue }
                received(r, bytes: bytes, tmst: tmst, version: version, gateway: eui)
            }
            // Acknowledged once answered: a gateway that waits for the PUSH_ACK (the emulator at a time scale)
            // then has the PULL_RESP too, sent before it (on one socket, as the emulator uses, the order holds).
            send(SemtechDatagram.pushAck(version: version, token: token).bytes, to: from, length: length)
        default:
            break
        }
    }

    /// One uplink: through the network's logic; its answer (if any) goes back at the uplink's end + RX1 delay.
    /// The answer goes back through the gateway that heard it (its `tmst` is that gateway's clock).
    private func received(_ r: TraceRecord, bytes: [UInt8], tmst: UInt32?, version: UInt8, gateway eui: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        let phy = try? FrameDecoder.decode(bytes)
        var device: Int?
        switch phy {
        case .joinRequest(let jr)?: device = devices[jr.devEUI]
        case .data(let f)?: device = network.device(devAddr: f.devAddr)
        default: break
        }
        let dr = region.uplinkDataRates.first { d in
            guard let m = d.modulation.lora else { return false }
            return m.spreadingFactor == r.spreadingFactor && Int(m.bandwidth.hertz) == r.bandwidthHz
        }?.index
        var air = AirUplink(tmst: tmst, received: now, frequencyHz: r.frequencyHz, spreadingFactor: r.spreadingFactor,
                            bandwidthHz: r.bandwidthHz, codingRate: r.codingRate, bytes: bytes, verdict: .other("no registered board sent it"))
        if let device, let dr, let sf = r.spreadingFactor, let bw = r.bandwidthHz.flatMap({ LoRaBandwidth(hertz: $0) }) {
            var m = LoRaModulation(spreadingFactor: sf, bandwidth: bw)
            m.crc = true
            let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: bytes.count).nanoseconds
            lastVerdict = nil
            // The packet ended as it was heard (the harness's clock; the forwarder's tmst is its own).
            let end = now
            network.uplink(device: device, frame: bytes, transmission: UplinkAir(start: end - airtime, airtime: airtime, frequencyHz: r.frequencyHz ?? 0,
                                                                                 dataRate: dr, spreadingFactor: sf, bandwidth: bw, txPowerdBm: 14))
            air.verdict = lastVerdict ?? .other("no verdict")
            if let down = network.takeDownlink(device: device), let tmst, let gw = downPaths[eui] {
                // The server's window, frequency and data rate (the region's RX1 or RX2 rules), its start after the
                // uplink's end carried over to the forwarder's clock.
                if let m = region.dataRate(down.dataRate)?.modulation.lora {
                    let frame = down.frame
                    let txpk: JSONValue = .object(["txpk": .object([
                        "imme": .bool(false), "tmst": .number(Double(tmst &+ UInt32(truncatingIfNeeded: (down.at - end) / 1000))),
                        "freq": .number(Double(down.frequencyHz) / 1e6), "rfch": .number(0), "powe": .number(14), "modu": .string("LORA"),
                        "datr": .string("SF\(m.spreadingFactor)BW\(Int(m.bandwidth.hertz / 1000))"), "codr": .string("4/5"),
                        "ipol": .bool(true), "size": .number(Double(frame.count)), "data": .string(Base64.encode(frame)),
                    ])])
                    let token = UInt16.random(in: 0...UInt16.max)
                    send(SemtechDatagram.pullResp(version: version, token: version >= 2 ? token : 0, json: txpk).bytes, to: gw.address, length: gw.length)
                    pullResps += 1
                    air.answered = frame
                }
            }
        }
        onEvent?("gateway: \(air.dataRateText) \(bytes.count) bytes at tmst \(tmst.map(String.init) ?? "?"): \(air.verdict.summary)"
                 + (air.answered.map { "; answered with \($0.count) bytes through PULL_RESP" } ?? ""))
        heard.append(air)
        if heard.count > 10_000 { heard.removeFirst(heard.count - 10_000) }
    }
}

extension UplinkVerdict {
    /// One line for people.
    public var summary: String {
        switch self {
        case .joinAccepted(let e, let n, let a): return "join-request from \(e) DevNonce \(n) accepted as \(a)"
        case .joinRefused(let e, let why): return "join-request from \(e) refused: \(why)"
        case .data(let a, let f, let p, let payload, let c, let r):
            return "\(c ? "confirmed" : "unconfirmed") uplink from \(a) FCnt \(f)\(r ? " (repeated)" : "") FPort \(p.map(String.init) ?? "none") "
                + "\(payload.count) byte\(payload.count == 1 ? "" : "s")"
        case .dataRefused(let a, let why): return "uplink from \(a) refused: \(why)"
        case .other(let s): return s
        }
    }
}
