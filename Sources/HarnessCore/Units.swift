import Foundation

/// Time in the library is integer nanoseconds. LoRa symbol times are exact in this unit for every LoRa
/// bandwidth (each is 500 kHz divided by a whole number), so sums over millions of packets stay exact.
public typealias Nanoseconds = Int64

public enum Time {
    public static let nanosecond: Nanoseconds = 1
    public static let microsecond: Nanoseconds = 1_000
    public static let millisecond: Nanoseconds = 1_000_000
    public static let second: Nanoseconds = 1_000_000_000
    public static let minute: Nanoseconds = 60 * second
    public static let hour: Nanoseconds = 60 * minute
    public static let day: Nanoseconds = 24 * hour
}

public enum DurationFormat {
    private static let units: [(String, Nanoseconds)] = [
        ("d", Time.day), ("h", Time.hour), ("m", Time.minute), ("s", Time.second),
        ("ms", Time.millisecond), ("us", Time.microsecond), ("ns", 1),
    ]

    /// Parses `500ms`, `90s`, `10m`, `6h`, `7d`, `1.5s`, `1h30m`. A bare number is rejected: the unit is required.
    public static func parse(_ text: String) throws(InputError) -> Nanoseconds {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { throw InputError("empty duration; write it with a unit, e.g. 500ms, 90s, 10m, 6h, 7d") }
        var total: Nanoseconds = 0
        var rest = Substring(s)
        var sawPart = false
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !number.isEmpty else {
                throw InputError("'\(text)' is not a duration; write it with a unit, e.g. 500ms, 90s, 10m, 6h, 7d")
            }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix(while: { $0.isLetter || $0 == "µ" })
            rest = rest.dropFirst(unitText.count)
            let unitName = unitText == "µs" ? "us" : String(unitText).lowercased()
            guard let unit = units.first(where: { $0.0 == unitName })?.1 else {
                throw InputError("'\(text)' has no valid unit; use ns, us, ms, s, m, h or d (e.g. 500ms, 90s, 7d)")
            }
            guard let value = exactScaled(String(number), by: unit) else {
                throw InputError("'\(text)' is not a duration this tool can represent (up to 292 years, at most 9 decimals)")
            }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw InputError("'\(text)' is too long a duration") }
            total = sum
            sawPart = true
        }
        guard sawPart else { throw InputError("'\(text)' is not a duration") }
        return total
    }

    /// `decimal` × `unit` computed exactly in integers ("1.5" × 1 s = 1_500_000_000).
    private static func exactScaled(_ decimal: String, by unit: Nanoseconds) -> Nanoseconds? {
        let parts = decimal.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let intPart = Int64(parts[0].isEmpty ? "0" : String(parts[0])) else { return nil }
        var (value, o1) = intPart.multipliedReportingOverflow(by: unit)
        guard !o1 else { return nil }
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 9, let f = Int64(frac) else { return nil }
            var scale: Int64 = 1
            for _ in 0..<frac.count { scale *= 10 }
            let (scaled, o2) = f.multipliedReportingOverflow(by: unit)
            guard !o2, scaled % scale == 0 else { return nil }
            (value, o1) = value.addingReportingOverflow(scaled / scale)
            guard !o1 else { return nil }
        }
        return value
    }

    /// Human form: `46.336 ms`, `1.482 s`, `2 h 5 m`, `7 d`. Exact to the shown precision.
    public static func human(_ ns: Nanoseconds) -> String {
        let sign = ns < 0 ? "-" : ""
        let v = ns.magnitude
        if v < 1_000 { return "\(sign)\(v) ns" }
        if v < 1_000_000 { return sign + fixed(v, Time.microsecond, 3) + " µs" }
        if v < 1_000_000_000 { return sign + fixed(v, Time.millisecond, 3) + " ms" }
        if v < UInt64(Time.minute) { return sign + fixed(v, Time.second, 3) + " s" }
        if v < UInt64(Time.hour) {
            let m = v / UInt64(Time.minute), s = v % UInt64(Time.minute)
            return "\(sign)\(m) m " + fixed(s, Time.second, 1) + " s"
        }
        if v < UInt64(Time.day) {
            let h = v / UInt64(Time.hour), m = (v % UInt64(Time.hour)) / UInt64(Time.minute)
            return "\(sign)\(h) h \(m) m"
        }
        let d = v / UInt64(Time.day), h = (v % UInt64(Time.day)) / UInt64(Time.hour)
        return h == 0 ? "\(sign)\(d) d" : "\(sign)\(d) d \(h) h"
    }

    /// Milliseconds with three decimals, exact (`46.336`).
    public static func milliseconds(_ ns: Nanoseconds) -> String {
        (ns < 0 ? "-" : "") + fixed(ns.magnitude, Time.millisecond, 3)
    }

    /// Seconds with `digits` decimals, rounded half up.
    public static func seconds(_ ns: Nanoseconds, digits: Int = 3) -> String {
        (ns < 0 ? "-" : "") + fixed(ns.magnitude, Time.second, digits)
    }

    /// `value / unit` as a decimal with `digits` places, rounded half up ("46.336").
    /// Exact for every value: the fraction is computed in 128 bits (a value near 2^64 times 10^digits overflows 64).
    public static func fixed(_ value: UInt64, _ unit: Int64, _ digits: Int) -> String {
        let u = UInt64(max(1, unit))
        let places = min(max(0, digits), 18)
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        var whole = value / u
        // The remainder times the scale, over the unit: below the scale, so the 128-bit quotient fits 64 bits.
        let (q, r) = u.dividingFullWidth((value % u).multipliedFullWidth(by: scale))
        var fraction = q
        // Round half up at the requested precision (r / u ≥ 1/2), carrying into the whole part.
        if r >= u - r { fraction += 1 }
        if fraction == scale { fraction = 0; whole += 1 }
        if places == 0 { return "\(whole)" }
        var frac = String(fraction)
        while frac.count < places { frac = "0" + frac }
        return "\(whole).\(frac)"
    }
}

public enum FrequencyFormat {
    /// Parses `868100000`, `868.1MHz`, `868100kHz`, `868.1 MHz`. Returns whole hertz.
    public static func parse(_ text: String) throws(InputError) -> Int64 {
        let s = text.replacingOccurrences(of: " ", with: "")
        let lower = s.lowercased()
        let (digits, scale): (Substring, Int64)
        if lower.hasSuffix("mhz") { (digits, scale) = (s.dropLast(3), 1_000_000) }
        else if lower.hasSuffix("khz") { (digits, scale) = (s.dropLast(3), 1_000) }
        else if lower.hasSuffix("ghz") { (digits, scale) = (s.dropLast(3), 1_000_000_000) }
        else if lower.hasSuffix("hz") { (digits, scale) = (s.dropLast(2), 1) }
        else { (digits, scale) = (Substring(s), 1) }
        guard let hz = exactDecimal(digits, scale: scale), hz > 0 else {
            throw InputError("'\(text)' is not a frequency; write it in Hz or with a unit, e.g. 868100000 or 868.1MHz")
        }
        return hz
    }

    private static func exactDecimal(_ text: Substring, scale: Int64) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let whole = Int64(parts[0]) else { return nil }
        // Numbers from outside: every step checked for overflow (a frequency beyond Int64 hertz is not one).
        var (value, o1) = whole.multipliedReportingOverflow(by: scale)
        guard !o1 else { return nil }
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 9, frac.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let f = Int64(frac) else { return nil }
            var div: Int64 = 1
            for _ in 0..<frac.count { div *= 10 }
            let (scaled, o2) = f.multipliedReportingOverflow(by: scale)
            guard !o2, scaled % div == 0 else { return nil }  // sub-hertz precision is refused
            (value, o1) = value.addingReportingOverflow(scaled / div)
            guard !o1 else { return nil }
        }
        return value
    }

    /// `868.1 MHz`, `869.525 MHz`, `923.3 MHz`.
    public static func megahertz(_ hz: Int64) -> String {
        var s = (hz < 0 ? "-" : "") + DurationFormat.fixed(hz.magnitude, 1_000_000, 6)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s + " MHz"
    }
}
