/// MSB-first bit packing (PAYLOAD.md section 2).
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var bitCount = 0

    init() { bytes.reserveCapacity(32) }

    mutating func put(_ value: UInt64, _ width: Int) {
        var remaining = width
        while remaining > 0 {
            let offset = bitCount & 7
            if offset == 0 { bytes.append(0) }
            let take = min(8 - offset, remaining)
            let chunk = UInt8(truncatingIfNeeded: (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1))
            bytes[bytes.count - 1] |= chunk << UInt8(8 - offset - take)
            bitCount += take
            remaining -= take
        }
    }

    mutating func put(_ flag: Bool) { put(flag ? 1 : 0, 1) }

    /// AGE code: `0`+11, `10`+16, `11`+22 bits (shortest form).
    mutating func age(_ seconds: UInt64) {
        let v = min(seconds, UInt64(OccupancyCodec.ageMax))
        if v < 2048 { put(0, 1); put(v, 11) }
        else if v < 65536 { put(0b10, 2); put(v, 16) }
        else { put(0b11, 2); put(v, 22) }
    }

    /// COUNT code: `0`+4, `10`+8, `11`+16 bits (shortest form).
    mutating func count(_ v: UInt64) {
        if v < 16 { put(0, 1); put(v, 4) }
        else if v < 256 { put(0b10, 2); put(v, 8) }
        else { put(0b11, 2); put(v, 16) }
    }

    static func ageBits(_ seconds: UInt64) -> Int {
        let v = min(seconds, UInt64(OccupancyCodec.ageMax))
        return v < 2048 ? 12 : (v < 65536 ? 18 : 24)
    }

    static func countBits(_ v: UInt64) -> Int { v < 16 ? 5 : (v < 256 ? 10 : 18) }
}

struct BitReader {
    let bytes: [UInt8]
    private(set) var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func get(_ width: Int, field: @autoclosure () -> String) throws(OccupancyCodecError) -> UInt64 {
        guard position + width <= bytes.count * 8 else {
            throw OccupancyCodecError(.truncated, "payload ends inside \(field())", bit: position)
        }
        var v: UInt64 = 0
        var remaining = width
        while remaining > 0 {
            let byte = bytes[position >> 3]
            let offset = position & 7
            let take = min(8 - offset, remaining)
            let chunk = (UInt64(byte) >> UInt64(8 - offset - take)) & ((1 << UInt64(take)) - 1)
            v = v << UInt64(take) | chunk
            position += take
            remaining -= take
        }
        return v
    }

    mutating func flag(_ field: @autoclosure () -> String) throws(OccupancyCodecError) -> Bool { try get(1, field: field()) == 1 }

    mutating func age(_ field: @autoclosure () -> String) throws(OccupancyCodecError) -> UInt64 {
        if try get(1, field: field()) == 0 { return try get(11, field: field()) }
        return try get(1, field: field()) == 0 ? try get(16, field: field()) : try get(22, field: field())
    }

    mutating func count(_ field: @autoclosure () -> String) throws(OccupancyCodecError) -> UInt64 {
        if try get(1, field: field()) == 0 { return try get(4, field: field()) }
        return try get(1, field: field()) == 0 ? try get(8, field: field()) : try get(16, field: field())
    }

    /// Padding must be zero, and no byte may follow.
    mutating func finish() throws(OccupancyCodecError) {
        while position % 8 != 0 {
            let at = position
            if try get(1, field: "padding") != 0 {
                throw OccupancyCodecError(.reservedBits, "a padding bit is set", bit: at)
            }
        }
        if position / 8 < bytes.count {
            throw OccupancyCodecError(.trailingBytes, "\(bytes.count - position / 8) byte(s) after the message", bit: position)
        }
    }
}
