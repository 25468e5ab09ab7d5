/// Text for XML 1.0 attribute values and character data (JUnit reports).
public enum XMLText {
    /// `&`, `<`, `>`, `"` and `'` as entities; control characters other than tab, LF and CR (which XML 1.0 cannot
    /// hold at all) as `?`.
    public static func escape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            default:
                if ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r" { o += "?" } else { o.unicodeScalars.append(ch) }
            }
        }
        return o
    }
}
