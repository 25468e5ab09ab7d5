import Foundation
import HarnessCore

/// Link types used by this project (tcpdump.org link-layer header types).
public enum LinkType: UInt32, Sendable {
    /// LINKTYPE_LORATAP: a LoRaTap header, then the PHYPayload.
    case loraTap = 270
    /// LINKTYPE_ETHERNET (packet-forwarder UDP captures).
    case ethernet = 1
    /// LINKTYPE_RAW (IPv4/IPv6 without link header).
    case raw = 101
    /// LINKTYPE_LINUX_SLL.
    case linuxSLL = 113
}

/// The LoRaTap version 0 header (https://github.com/eriknl/LoRaTap, big-endian fields, 15 bytes): the radio
/// metadata Wireshark's LoRaTap dissector shows before handing the PHYPayload to its LoRaWAN dissector
/// (sync word 0x34).
public struct LoRaTapHeader: Sendable, Equatable {
    public var frequencyHz: UInt32
    /// Bandwidth in 125 kHz steps: 1 = 125 kHz, 2 = 250 kHz, 4 = 500 kHz.
    public var bandwidthSteps: UInt8
    public var spreadingFactor: UInt8
    /// Packet RSSI in dBm (stored as −139 + value when SNR ≥ 0).
    public var rssidBm: Double?
    public var snrdB: Double?
    public var syncWord: UInt8 = 0x34

    public static let length = 15

    public init(frequencyHz: UInt32, bandwidthSteps: UInt8, spreadingFactor: UInt8, rssidBm: Double? = nil,
                snrdB: Double? = nil, syncWord: UInt8 = 0x34) {
        self.frequencyHz = frequencyHz
        self.bandwidthSteps = bandwidthSteps
        self.spreadingFactor = spreadingFactor
        self.rssidBm = rssidBm
        self.snrdB = snrdB
        self.syncWord = syncWord
    }

    public var bytes: [UInt8] {
        var b: [UInt8] = [0, 0, 0, UInt8(LoRaTapHeader.length)]
        b += [UInt8(frequencyHz >> 24), UInt8(truncatingIfNeeded: frequencyHz >> 16),
              UInt8(truncatingIfNeeded: frequencyHz >> 8), UInt8(truncatingIfNeeded: frequencyHz)]
        b.append(bandwidthSteps)
        b.append(spreadingFactor)
        // Values from captures may be anything a JSON number holds: clamped before they become bytes.
        func whole(_ x: Double) -> Int { x.isFinite ? Int(max(-100_000, min(100_000, x)).rounded()) : 0 }
        let snr = snrdB.map { $0.isFinite ? $0 : 0 } ?? 0
        // packet_rssi: dBm = −139 + value when SNR ≥ 0, −139 + value/4 otherwise; 255 = not available.
        if let rssi = rssidBm {
            let raw = snr >= 0 ? rssi + 139 : (rssi + 139) * 4
            b.append(UInt8(clamping: whole(raw)))
            // max_rssi and current_rssi (dBm = −139 + value): the packet's RSSI is the best we know.
            let plain = UInt8(clamping: whole(rssi + 139))
            b.append(plain)
            b.append(plain)
        } else {
            b += [255, 255, 255]  // not available
        }
        b.append(UInt8(bitPattern: Int8(clamping: whole(snr * 4))))
        b.append(syncWord)
        return b
    }
}

/// Writes classic pcap files (microsecond timestamps, little-endian), appending to an existing file of the same
/// link type. Written through `AtomicFile`: the file under its name changes only when `close` commits it (an
/// appended file is copied first), so a stopped or failed run leaves the previous file whole. The first write
/// error is kept and thrown by `close`.
public final class PcapWriter {
    public let path: String
    public let linkType: LinkType
    private let file: AtomicFile
    private var failure: InputError?

    public init(path: String, linkType: LinkType, snapLength: UInt32 = 65535, append: Bool = true) throws(InputError) {
        self.path = path
        self.linkType = linkType
        var existingBytes = 0
        if append, FileManager.default.fileExists(atPath: path) {
            guard let existing = FileHandle(forReadingAtPath: path) else { throw InputError("cannot read the existing pcap", at: .file(path)) }
            let header = existing.readData(ofLength: 24)
            try? existing.close()
            if header.count > 0 {
                guard header.count == 24 else { throw InputError("an existing file too short to be a pcap", at: .byteOffset(source: path, offset: header.count)) }
                let h = [UInt8](header)
                guard h[0...3] == [0xD4, 0xC3, 0xB2, 0xA1] else {
                    throw InputError("can only append to a little-endian microsecond pcap; this file's magic differs",
                                     at: .byteOffset(source: path, offset: 0))
                }
                let lt = UInt32(h[20]) | UInt32(h[21]) << 8 | UInt32(h[22]) << 16 | UInt32(h[23]) << 24
                guard lt == linkType.rawValue else {
                    throw InputError("the existing pcap has link type \(lt), not \(linkType.rawValue)", at: .byteOffset(source: path, offset: 20))
                }
                existingBytes = header.count
            }
        }
        file = try AtomicFile(path: path, keepingContents: existingBytes > 0)
        if existingBytes == 0 {
            var g = [UInt8]()
            Self.le32(&g, 0xA1B2_C3D4)
            Self.le16(&g, 2); Self.le16(&g, 4)
            Self.le32(&g, 0); Self.le32(&g, 0)
            Self.le32(&g, snapLength)
            Self.le32(&g, linkType.rawValue)
            try file.write(g)
        }
    }

    /// Writes one record with a timestamp in nanoseconds since the Unix epoch (stored to the microsecond).
    public func write(_ packet: [UInt8], timestampNanoseconds: Int64) {
        guard failure == nil else { return }
        var r = [UInt8]()
        let us = timestampNanoseconds / 1000
        Self.le32(&r, UInt32(truncatingIfNeeded: us / 1_000_000))
        Self.le32(&r, UInt32(truncatingIfNeeded: us % 1_000_000))
        Self.le32(&r, UInt32(packet.count))
        Self.le32(&r, UInt32(packet.count))
        r += packet
        do throws(InputError) { try file.write(r) } catch { failure = error }
    }

    /// Writes out what is buffered and renames the file into place.
    public func close() throws(InputError) {
        if let failure { file.abandon(); throw failure }
        try file.commit()
    }

    public func abandon() { file.abandon() }

    static func le32(_ b: inout [UInt8], _ v: UInt32) {
        b += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
    }
    static func le16(_ b: inout [UInt8], _ v: UInt16) { b += [UInt8(truncatingIfNeeded: v), UInt8(v >> 8)] }
}
