import Crypto
import HarnessCore

/// A 64-bit extended unique identifier (DevEUI, JoinEUI/AppEUI), written big-endian in hex as people do
/// ("70B3D57ED0000001"); sent little-endian on air.
public struct EUI64: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }

    public init(hex: String) throws(InputError) {
        let bytes = try Hex.decode(hex)
        guard bytes.count == 8 else { throw InputError("an EUI is 8 bytes (16 hex digits), got \(bytes.count) bytes") }
        value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var description: String { Hex.encode(bigEndianBytes, uppercase: true) }
    public var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) } }
    public var littleEndianBytes: [UInt8] { bigEndianBytes.reversed() }
    public static func < (a: EUI64, b: EUI64) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        self = try EUI64(hex: s)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A 32-bit device address, written big-endian in hex ("26011BDA"); sent little-endian on air.
public struct DevAddr: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }

    public init(hex: String) throws(InputError) {
        let bytes = try Hex.decode(hex)
        guard bytes.count == 4 else { throw InputError("a DevAddr is 4 bytes (8 hex digits), got \(bytes.count) bytes") }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var description: String { Hex.encode(bigEndianBytes, uppercase: true) }
    public var bigEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * $0)) } }
    public static func < (a: DevAddr, b: DevAddr) -> Bool { a.value < b.value }

    /// The NwkID: the top 7 bits for a type-0 NetID (LoRaWAN Backend Interfaces §13).
    public var nwkIDType0: UInt8 { UInt8(value >> 25) }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        self = try DevAddr(hex: s)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An AES-128 key. Its text form never shows the key: keys must not reach logs, reports or errors.
public struct AES128Key: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(InputError) {
        guard bytes.count == 16 else { throw InputError("an AES-128 key is 16 bytes (32 hex digits), got \(bytes.count) bytes") }
        self.bytes = bytes
    }

    /// Parses 32 hex digits. The error never repeats the text it was given.
    public init(hex: String) throws(InputError) {
        let decoded: [UInt8]
        do { decoded = try Hex.decode(hex) } catch {
            throw InputError("the key is not hex (32 hex digits expected)")
        }
        try self.init(bytes: decoded)
    }

    public var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
    public var description: String { "‹key›" }
    public var debugDescription: String { "‹key›" }
}
