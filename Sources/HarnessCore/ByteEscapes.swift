/// Bytes as text, reversibly: printable ASCII as is, `\\`, `\r`, `\n`, `\t`, and `\xNN` for the rest (the serial
/// session log's record format, which the trace readers read back).
public enum ByteEscapes {
    public static func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = ""
        for b in bytes {
            switch b {
            case 0x5C: s += "\\\\"
            case 0x0D: s += "\\r"
            case 0x0A: s += "\\n"
            case 0x09: s += "\\t"
            case 0x20...0x7E: s.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789abcdef".utf8)
                s += "\\x"
                s.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                s.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return s
    }

    /// The bytes of escaped text; nil when an escape is malformed.
    public static func unescape(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let c = it.first {
            it = it.dropFirst()
            guard c == 0x5C else { out.append(c); continue }
            guard let e = it.first else { return nil }
            it = it.dropFirst()
            switch e {
            case 0x5C: out.append(0x5C)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "x"):
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                it = it.dropFirst(2)
            default: return nil
            }
        }
        return out
    }
}
