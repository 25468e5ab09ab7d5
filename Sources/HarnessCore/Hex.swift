/// Hexadecimal and Base64 text for byte strings, with errors that name the offending character's offset.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C, uppercase: Bool = false) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        let s = String(decoding: out, as: UTF8.self)
        return uppercase ? s.uppercased() : s
    }

    /// Decodes hex, ignoring spaces, colons and dashes between byte pairs and an optional 0x prefix.
    public static func decode(_ text: String) throws(InputError) -> [UInt8] {
        var chars = Array(text.utf8)
        if chars.count >= 2, chars[0] == UInt8(ascii: "0"), chars[1] | 0x20 == UInt8(ascii: "x") { chars.removeFirst(2) }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var high: UInt8? = nil
        for (i, c) in chars.enumerated() {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") {
                if high != nil { throw InputError("hex digit pair split at character \(i)") }
                continue
            }
            guard let v = value(c) else {
                throw InputError("'\(Character(Unicode.Scalar(c)))' at character \(i) is not a hex digit")
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        if high != nil { throw InputError("odd number of hex digits (\(chars.filter { value($0) != nil }.count))") }
        return out
    }

    @inline(__always) static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// True when every character is a hex digit (and there is an even number of them).
    public static func looksLikeHex(_ text: String) -> Bool {
        let u = Array(text.utf8)
        return !u.isEmpty && u.count % 2 == 0 && u.allSatisfy { value($0) != nil }
    }

    /// Bytes given as hex or base64 on a command line. Only hex digits (or a `0x` prefix) means hex, so a hex string
    /// with a digit missing is an odd-length error, not some other bytes read as base64; anything else is base64.
    public static func decodeHexOrBase64(_ text: String) throws(InputError) -> [UInt8] {
        var t = Substring(text)
        let prefixed = t.hasPrefix("0x") || t.hasPrefix("0X")
        if prefixed { t = t.dropFirst(2) }
        let u = Array(t.utf8)
        if prefixed || (!u.isEmpty && u.allSatisfy { value($0) != nil }) {
            guard u.count % 2 == 0 else { throw InputError("\(u.count) hex digits: an odd number (a digit is missing or extra)") }
            return try decode(String(t))
        }
        return try Base64.decode(text)
    }
}

public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        t[Int(UInt8(ascii: "-"))] = 62  // URL-safe alphabet too
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            var n = UInt32(bytes[i]) << 16
            if rest == 2 { n |= UInt32(bytes[i + 1]) << 8 }
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            out.append(rest == 2 ? alphabet[Int((n >> 6) & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard or URL-safe Base64, padding optional; errors name the character offset.
    public static func decode(_ text: String) throws(InputError) -> [UInt8] {
        var out = [UInt8]()
        var acc: UInt32 = 0
        var bits = 0
        var padding = 0
        for (i, c) in text.utf8.enumerated() {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") || c == UInt8(ascii: " ") { continue }
            guard padding == 0 else { throw InputError("base64 data after '=' padding at character \(i)") }
            let v = reverse[Int(c)]
            guard v >= 0 else { throw InputError("'\(Character(Unicode.Scalar(c)))' at character \(i) is not base64") }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        if bits >= 6 { throw InputError("base64 text has a dangling character (length not valid)") }
        return out
    }
}
