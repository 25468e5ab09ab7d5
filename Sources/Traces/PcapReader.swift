import Foundation
import HarnessCore
import LoRaWAN

/// pcap and pcapng captures (gzip or not), streamed: LoRaTap (link type 270, header versions 0 and 1), bare
/// PHYPayloads under a user link type (147–162, named by an option), and Semtech PUSH_DATA datagrams inside UDP
/// (Ethernet, raw IP, Linux cooked captures).
public final class PcapReader: TraceReader {
    private let input: ByteInput
    private let path: String
    private let userLinkType: UInt32?
    private var ng = false
    private var bigEndian = false
    private var nanoseconds = false
    private var linkType: UInt32 = 0
    /// pcapng: per interface, its link type and time-stamp units per second.
    private var interfaces: [(linkType: UInt32, unitsPerSecond: UInt64)] = []
    private var queue: [TraceItem] = []
    /// For PUSH_DATA datagrams (Semtech UDP inside Ethernet/IP/UDP).
    private let tape = JSONTape()
    private var done = false
    private var started = false

    init(input: ByteInput, userLinkType: UInt32?) {
        self.path = input.path
        self.userLinkType = userLinkType
        self.input = input
    }

    private func u32(_ b: ArraySlice<UInt8>, _ o: Int, big: Bool) -> UInt32 {
        let i = b.startIndex + o
        return big ? UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
                   : UInt32(b[i + 3]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i])
    }
    private func u16(_ b: ArraySlice<UInt8>, _ o: Int, big: Bool) -> UInt16 {
        let i = b.startIndex + o
        return big ? UInt16(b[i]) << 8 | UInt16(b[i + 1]) : UInt16(b[i + 1]) << 8 | UInt16(b[i])
    }

    private func start() throws(InputError) {
        started = true
        let head = try input.readExactly(4)
        guard head.count == 4 else { throw InputError("not a pcap file (shorter than its header)", at: .byteOffset(source: path, offset: 0)) }
        let m = UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3])
        switch m {
        case 0x0A0D_0D0A:
            ng = true
            try readSectionHeader(afterType: head)
        case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1:
            bigEndian = m == 0xA1B2_C3D4 || m == 0xA1B2_3C4D
            nanoseconds = m == 0xA1B2_3C4D || m == 0x4D3C_B2A1
            let rest = try input.readExactly(20)
            guard rest.count == 20 else { throw InputError("truncated pcap header", at: .byteOffset(source: path, offset: 4)) }
            linkType = u32(rest[...], 16, big: bigEndian) & 0x0FFF_FFFF
        default:
            throw InputError("not a pcap or pcapng file (magic \(String(format: "%08x", m)))", at: .byteOffset(source: path, offset: 0))
        }
    }

    private func readSectionHeader(afterType: [UInt8]) throws(InputError) {
        let at = input.offset - 4
        let lenAndMagic = try input.readExactly(8)
        guard lenAndMagic.count == 8 else { throw InputError("truncated pcapng section header", at: .byteOffset(source: path, offset: at)) }
        let magic = u32(lenAndMagic[...], 4, big: false)
        switch magic {
        case 0x1A2B_3C4D: bigEndian = false
        case 0x4D3C_2B1A: bigEndian = true
        default: throw InputError("bad pcapng byte-order magic", at: .byteOffset(source: path, offset: at + 8))
        }
        let total = Int(u32(lenAndMagic[...], 0, big: bigEndian))
        guard total >= 28, total % 4 == 0, total <= 16 << 20 else {
            throw InputError("pcapng section header length \(total) is not plausible", at: .byteOffset(source: path, offset: at + 4))
        }
        let rest = try input.readExactly(total - 12)
        guard rest.count == total - 12 else { throw InputError("truncated pcapng section header", at: .byteOffset(source: path, offset: at)) }
        interfaces = []
    }

    public func next() throws(InputError) -> TraceItem? {
        if !started { try start() }
        while queue.isEmpty && !done {
            if ng { try nextBlock() } else { try nextRecord() }
        }
        // One record at a time, mostly: the last is taken without shifting the rest.
        if queue.count == 1 { return queue.popLast() }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    private func nextRecord() throws(InputError) {
        let at = input.offset
        // The header's fields, read from a view of the input's buffer that ends here (before the next read).
        let (sec, frac, incl): (UInt32, UInt32, Int)
        do {
            let h = try input.readSlice(16)
            if h.isEmpty { done = true; if input.truncated { queue.append(.truncatedGzip(path, at: input.offset)) }; return }
            guard h.count == 16 else {
                queue.append(.rejected(reason: .truncatedRecord, detail: "record header cut short (\(h.count) of 16 bytes)", at: .byteOffset(source: path, offset: at)))
                done = true
                return
            }
            (sec, frac, incl) = (u32(h, 0, big: bigEndian), u32(h, 4, big: bigEndian), Int(u32(h, 8, big: bigEndian)))
        }
        guard incl <= 262_144 else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "record length \(incl) is not plausible", at: .byteOffset(source: path, offset: at)))
            done = true
            return
        }
        let data = try input.readSlice(incl)
        guard data.count == incl else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "record cut short (\(data.count) of \(incl) bytes)", at: .byteOffset(source: path, offset: at)))
            done = true
            return
        }
        let t = Int64(sec) * 1_000_000_000 + Int64(frac) * (nanoseconds ? 1 : 1000)
        packet(data, linkType: linkType, time: t, at: .byteOffset(source: path, offset: at))
    }

    /// The largest pcapng block read (1 MiB; a LoRa frame is at most 255 bytes): a longer stated length is refused.
    static let maxBlockBytes = 1 << 20

    private func nextBlock() throws(InputError) {
        let at = input.offset
        let h = try input.readExactly(8)
        if h.isEmpty { done = true; if input.truncated { queue.append(.truncatedGzip(path, at: input.offset)) }; return }
        guard h.count == 8 else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "block header cut short", at: .byteOffset(source: path, offset: at)))
            done = true
            return
        }
        let type = u32(h[...], 0, big: bigEndian)
        if type == 0x0A0D_0D0A {
            // A new section: its own byte order.
            let magic = try input.readExactly(4)
            guard magic.count == 4 else { done = true; return }
            let m = u32(magic[...], 0, big: false)
            bigEndian = m == 0x4D3C_2B1A
            let total = Int(u32(h[...], 4, big: bigEndian))
            // A forged length must not become an allocation: blocks are read whole, and no real one is over 1 MiB.
            guard total >= 28, total % 4 == 0, total <= Self.maxBlockBytes else {
                queue.append(.rejected(reason: .truncatedRecord, detail: "section header block length \(total) is not plausible",
                                       at: .byteOffset(source: path, offset: at)))
                done = true
                return
            }
            _ = try input.readExactly(total - 12)
            interfaces = []
            return
        }
        let total = Int(u32(h[...], 4, big: bigEndian))
        guard total >= 12, total % 4 == 0, total <= Self.maxBlockBytes else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "block length \(total) is not plausible", at: .byteOffset(source: path, offset: at)))
            done = true
            return
        }
        let body = try input.readExactly(total - 8)
        guard body.count == total - 8 else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "block cut short (\(body.count + 8) of \(total) bytes)", at: .byteOffset(source: path, offset: at)))
            done = true
            return
        }
        let b = body[..<(body.count - 4)]
        switch type {
        case 1:   // interface description
            guard b.count >= 8 else { return }
            var units: UInt64 = 1_000_000
            var o = 8
            while o + 4 <= b.count {
                let code = u16(b, o, big: bigEndian), len = Int(u16(b, o + 2, big: bigEndian))
                if code == 0 { break }
                if code == 9, len >= 1, o + 4 < b.count {
                    // if_tsresol: 10^-n or 2^-n seconds; units beyond what 64 bits hold (10^20, 2^64) are refused.
                    let v = b[b.startIndex + o + 4]
                    let exp = Int(v & 0x7F)
                    if v & 0x80 == 0 { units = exp <= 19 ? (0..<exp).reduce(UInt64(1)) { a, _ in a * 10 } : 0 } else { units = exp <= 63 ? UInt64(1) << UInt64(exp) : 0 }
                }
                o += 4 + (len + 3) / 4 * 4
            }
            interfaces.append((UInt32(u16(b, 0, big: bigEndian)), units))
        case 6:   // enhanced packet
            guard b.count >= 20 else { queue.append(.rejected(reason: .truncatedRecord, detail: "enhanced packet block too short", at: .byteOffset(source: path, offset: at))); return }
            let iface = Int(u32(b, 0, big: bigEndian))
            let ts = UInt64(u32(b, 4, big: bigEndian)) << 32 | UInt64(u32(b, 8, big: bigEndian))
            let cap = Int(u32(b, 12, big: bigEndian))
            guard iface < interfaces.count, 20 + cap <= b.count else {
                queue.append(.rejected(reason: .truncatedRecord, detail: "enhanced packet block with a bad interface or length", at: .byteOffset(source: path, offset: at)))
                return
            }
            let units = interfaces[iface].unitsPerSecond
            // Seconds and the fraction, each checked: a time stamp past the Int64-nanosecond range is a rejection.
            let secs = units > 0 ? ts / units : 0, frac = units > 0 ? ts % units : 0
            let (whole, o1) = Int64(exactly: secs).map { $0.multipliedReportingOverflow(by: 1_000_000_000) } ?? (0, true)
            let fracNs = frac.multipliedFullWidth(by: 1_000_000_000)
            let sub = units > 0 ? Int64(truncatingIfNeeded: units.dividingFullWidth(fracNs).quotient) : 0
            let (t, o2) = whole.addingReportingOverflow(sub)
            guard units > 0, !o1, !o2 else {
                emitRejection(.invalidField, units == 0 ? "interface time resolution beyond 64 bits" : "time stamp past the years 1678–2262", at: at)
                return
            }
            packet(b[(b.startIndex + 20)..<(b.startIndex + 20 + cap)], linkType: interfaces[iface].linkType, time: t, at: .byteOffset(source: path, offset: at))
        case 3:   // simple packet
            guard b.count >= 4, let first = interfaces.first else { return }
            packet(b[(b.startIndex + 4)...], linkType: first.linkType, time: nil, at: .byteOffset(source: path, offset: at))
        default:
            return   // statistics, name resolution, custom blocks: nothing for us
        }
    }

    private func emitRejection(_ reason: RejectReason, _ detail: String, at offset: Int) {
        queue.append(.rejected(reason: reason, detail: detail, at: .byteOffset(source: path, offset: offset)))
    }

    /// One captured packet by its link type.
    private func packet(_ data: ArraySlice<UInt8>, linkType: UInt32, time: Int64?, at: InputLocation) {
        if linkType == 270 {
            loraTap(data, time: time, at: at)
        } else if (147...162).contains(linkType) {
            guard userLinkType == linkType else {
                queue.append(.rejected(reason: .unsupportedLinkType, detail: "user link type \(linkType): give --linktype \(linkType) if it holds bare PHYPayloads", at: at))
                return
            }
            var r = TraceRecord(format: .pcap, source: at)
            r.time = time
            r.phyPayload = Array(data)
            queue.append(.checked(r))
        } else if linkType == 1 || linkType == 101 || linkType == 113 || linkType == 228 || linkType == 229 {
            udp(data, linkType: linkType, time: time, at: at)
        } else {
            queue.append(.rejected(reason: .unsupportedLinkType, detail: "link type \(linkType) is not LoRaTap, a user type or IP", at: at))
        }
    }

    /// LoRaTap, version 0 (eriknl/LoRaTap, 15 bytes) or version 1 (the alpov/LoRaTap fork's `loratap1.h`, 35 bytes,
    /// which Wireshark 4.2 and later dissect). Fields are big-endian; the payload starts at the header's length.
    /// v0: frequency (Hz), bandwidth (125 kHz steps), SF, packet/max/current RSSI (−139 + value dBm; the packet RSSI
    /// is value/4 − 139 for a negative SNR), SNR (signed, 0.25 dB), sync word. v1 appends the source gateway's EUI
    /// (offset 15), the concentrator's time stamp (23), flags (27: 0x01 FSK, 0x02 IQ inverted, 0x04 implicit header,
    /// 0x08 CRC OK, 0x10 CRC bad, 0x20 no CRC), the coding rate (28: 5…8 for 4/5…4/8, 0 none), the FSK data rate in
    /// bit/s (29, 2 bytes), the IF channel (31), the RF chain (32) and a tag (33, 2 bytes); an RSSI of 255 is "not
    /// available".
    private func loraTap(_ d: ArraySlice<UInt8>, time: Int64?, at: InputLocation) {
        let s = d.startIndex
        guard d.count >= 4 else { queue.append(.rejected(reason: .truncatedRecord, detail: "LoRaTap header cut short", at: at)); return }
        let version = d[s]
        let length = Int(UInt16(d[s + 2]) << 8 | UInt16(d[s + 3]))
        let minimum = version == 0 ? 15 : 35
        guard version <= 1, length >= minimum, length <= d.count else {
            queue.append(.rejected(reason: .truncatedRecord, detail: "LoRaTap version \(version), length \(length) (of \(d.count) bytes): not a header this reader knows", at: at))
            return
        }
        var r = TraceRecord(format: .pcap, source: at)
        r.time = time
        r.frequencyHz = Int64(UInt32(d[s + 4]) << 24 | UInt32(d[s + 5]) << 16 | UInt32(d[s + 6]) << 8 | UInt32(d[s + 7]))
        r.bandwidthHz = Int(d[s + 8]) * 125_000
        r.spreadingFactor = Int(d[s + 9])
        let snr = Double(Int8(bitPattern: d[s + 13])) / 4
        let packetRSSI = d[s + 10], currentRSSI = d[s + 12]
        var rssi: Double? = packetRSSI == 255 ? nil : (snr >= 0 ? -139 + Double(packetRSSI) : -139 + Double(packetRSSI) / 4)
        var gateway = "capture"
        if version == 1 {
            // The packet RSSI, else the current RSSI (what packet-forwarder converters fill in).
            if rssi == nil, currentRSSI != 255 { rssi = -139 + Double(currentRSSI) }
            let eui = d[(s + 15)..<(s + 23)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if eui != 0 { gateway = EUI64(eui).description }
            let flags = d[s + 27]
            if flags & 0x10 != 0 { r.crc = .bad } else if flags & 0x08 != 0 { r.crc = .ok } else if flags & 0x20 != 0 { r.crc = CRCStatus.none }
            // IQ inversion (0x02) is not read as the direction: converters set it per receiving gateway, not per
            // packet; the frame's MType says which way it went.
            let cr = d[s + 28]
            if (5...8).contains(cr) { r.codingRate = "4/\(cr)" }
            if flags & 0x01 != 0 {
                // FSK: the bit rate instead of a LoRa data rate.
                r.fskBitrate = Int(UInt16(d[s + 29]) << 8 | UInt16(d[s + 30]))
                r.spreadingFactor = nil
                r.bandwidthHz = nil
                if r.fskBitrate == 0 { r.fskBitrate = 50_000 }
            }
            r.channel = Int(d[s + 31])
        }
        r.receptions = [GatewayReception(gateway: gateway, rssi: rssi, snr: r.fskBitrate == nil ? snr : nil)]
        r.phyPayload = Array(d[(s + length)...])
        if d[s + 14] != 0x34 && r.fskBitrate == nil {
            queue.append(.rejected(reason: .notLoRaWAN, detail: String(format: "sync word 0x%02x (LoRaWAN uses 0x34)", d[s + 14]), at: at))
            return
        }
        queue.append(.checked(r))
    }

    /// IPv4/IPv6 → UDP → a Semtech PUSH_DATA datagram (protocol version 1 or 2, identifier 0x00).
    private func udp(_ d: ArraySlice<UInt8>, linkType: UInt32, time: Int64?, at: InputLocation) {
        var o = d.startIndex
        switch linkType {
        case 1:   // Ethernet (one VLAN tag allowed)
            guard d.count >= 14 else { return }
            var etherType = UInt16(d[o + 12]) << 8 | UInt16(d[o + 13])
            o += 14
            if etherType == 0x8100, d.endIndex - o >= 4 { etherType = UInt16(d[o + 2]) << 8 | UInt16(d[o + 3]); o += 4 }
            guard etherType == 0x0800 || etherType == 0x86DD else { return }
        case 113:
            guard d.count >= 16 else { return }
            o += 16
        case 276:
            guard d.count >= 20 else { return }
            o += 20
        default:
            break
        }
        guard d.endIndex - o >= 1 else { return }
        var payloadStart: Int
        let ipVersion = d[o] >> 4
        if ipVersion == 4 {
            let ihl = Int(d[o] & 0x0F) * 4
            guard d.endIndex - o >= ihl + 8, d[o + 9] == 17 else { return }
            payloadStart = o + ihl + 8
        } else if ipVersion == 6 {
            guard d.endIndex - o >= 48, d[o + 6] == 17 else { return }
            payloadStart = o + 40 + 8
        } else {
            return
        }
        let p = d[payloadStart...]
        guard p.count >= 12, p[p.startIndex] == 1 || p[p.startIndex] == 2, p[p.startIndex + 3] == 0x00 else { return }   // not PUSH_DATA
        let eui = p[(p.startIndex + 4)..<(p.startIndex + 12)].map { String(format: "%02X", $0) }.joined()
        payloadStart = p.startIndex + 12
        do {
            let json = try tape.parse(d[payloadStart...])
            for var item in JSONTraceReader.rxpk(json, at: at, gateway: eui) {
                if case .record(var r) = item {
                    r.format = .pcap
                    if r.time == nil { r.time = time }
                    item = .record(r)
                }
                queue.append(item)
            }
        } catch {
            queue.append(.rejected(reason: .malformedLine, detail: "PUSH_DATA with invalid JSON: \(error.message)", at: at))
        }
    }
}
