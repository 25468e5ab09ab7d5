import Foundation
import HarnessCore

/// Durations in a log-linear histogram that merges exactly: whole milliseconds below 1,024 ms, then 512 buckets
/// per power of two (a bucket is at most 0.2 % wide). Percentiles are the upper edge of the bucket that holds the
/// nearest-rank sample (never below the true value), clamped to the exact maximum.
public struct DurationHistogram: Sendable, Codable, Equatable {
    public private(set) var buckets: [Int32: Int] = [:]
    public private(set) var count = 0
    public private(set) var max: Nanoseconds = 0

    public init() {}

    static func bucket(milliseconds ms: Int64) -> Int32 {
        if ms < 1024 { return Int32(ms) }
        let e = (64 - ms.leadingZeroBitCount) - 10          // ms >> e is in 512…1023
        return Int32(1024 + (e - 1) * 512 + Int((ms >> e) - 512))
    }

    /// The largest millisecond value of a bucket.
    static func upperEdge(_ b: Int32) -> Int64 {
        if b < 1024 { return Int64(b) }
        let e = Int(b - 1024) / 512 + 1
        let m = Int64(Int(b - 1024) % 512 + 512)
        return ((m + 1) << e) - 1
    }

    public mutating func add(_ d: Nanoseconds) {
        let v = Swift.max(0, d)
        let ms = (v + Time.millisecond - 1) / Time.millisecond
        buckets[DurationHistogram.bucket(milliseconds: ms), default: 0] += 1
        count += 1
        if v > max { max = v }
    }

    public mutating func merge(_ o: DurationHistogram) {
        for (k, v) in o.buckets { buckets[k, default: 0] += v }
        count += o.count
        if o.max > max { max = o.max }
    }

    /// Nearest-rank percentile (p in 0…1), nanoseconds; 0 when empty.
    public func percentile(_ p: Double) -> Nanoseconds {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, Int((p * Double(count)).rounded(.up)))
        var seen = 0
        for k in buckets.keys.sorted() {
            seen += buckets[k] ?? 0
            if seen >= rank { return Swift.min(max, DurationHistogram.upperEdge(k) * Time.millisecond) }
        }
        return max
    }

    // A stable, compact JSON form: [[bucket, count], …] in bucket order.
    enum CodingKeys: String, CodingKey { case buckets, count, max }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let pairs = try c.decode([[Int64]].self, forKey: .buckets)
        for p in pairs where p.count == 2 { buckets[Int32(clamping: p[0])] = Int(p[1]) }
        count = try c.decode(Int.self, forKey: .count)
        max = try c.decode(Int64.self, forKey: .max)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(buckets.keys.sorted().map { [Int64($0), Int64(buckets[$0] ?? 0)] }, forKey: .buckets)
        try c.encode(count, forKey: .count)
        try c.encode(max, forKey: .max)
    }
}

/// What CI can assert on, by name. Each has a unit (for parsing bounds and printing) and a direction (for
/// baselines: which way is a regression).
public struct FleetMetric: Sendable, Equatable {
    public enum Unit: String, Sendable { case ratio, duration, count, number }
    public var name: String
    public var unit: Unit
    public var higherIsBetter: Bool
    public var help: String

    public static let all: [FleetMetric] = [
        FleetMetric(name: "pdr", unit: .ratio, higherIsBetter: true, help: "frames delivered to the application / frames sent (first transmissions)"),
        FleetMetric(name: "staleness.p50", unit: .duration, higherIsBetter: false, help: "median time from a change on site until the app shows it"),
        FleetMetric(name: "staleness.p99", unit: .duration, higherIsBetter: false, help: "99th percentile of the same"),
        FleetMetric(name: "staleness.max", unit: .duration, higherIsBetter: false, help: "the longest of the same"),
        FleetMetric(name: "staleness.unresolved", unit: .count, higherIsBetter: false, help: "changes the app never showed (superseded or still pending at the end)"),
        FleetMetric(name: "missed_changes", unit: .count, higherIsBetter: false, help: "vehicles the gate counters did not count"),
        FleetMetric(name: "occupancy_error.mean", unit: .number, higherIsBetter: false, help: "time-weighted mean |shown − true| in vehicles, mean over sites"),
        FleetMetric(name: "occupancy_error.max", unit: .number, higherIsBetter: false, help: "largest |shown − true| in vehicles at any site"),
        FleetMetric(name: "occupancy_error_share.mean", unit: .ratio, higherIsBetter: false, help: "the mean error as a share of capacity, mean over sites"),
        FleetMetric(name: "occupancy_error_share.max", unit: .ratio, higherIsBetter: false, help: "the largest error as a share of capacity"),
        FleetMetric(name: "duty_cycle_violations", unit: .count, higherIsBetter: false, help: "transmissions over the sub-band's duty cycle in a sliding hour"),
        FleetMetric(name: "duty_cycle_use.max", unit: .ratio, higherIsBetter: false, help: "largest share of a sliding hour any device spent on air in one sub-band"),
        FleetMetric(name: "airtime_per_device_day", unit: .duration, higherIsBetter: false, help: "airtime of the busiest device on its busiest day"),
        FleetMetric(name: "airtime_per_device_day.mean", unit: .duration, higherIsBetter: false, help: "mean airtime per device and day"),
        FleetMetric(name: "downlinks_per_device_day", unit: .count, higherIsBetter: false, help: "downlinks to the busiest device on its busiest day"),
        FleetMetric(name: "retransmissions", unit: .count, higherIsBetter: false, help: "repeated transmissions of frames"),
        FleetMetric(name: "join_requests", unit: .count, higherIsBetter: false, help: "join-requests sent"),
        FleetMetric(name: "joins", unit: .count, higherIsBetter: true, help: "join-accepts received by devices"),
        FleetMetric(name: "unjoined_devices", unit: .count, higherIsBetter: false, help: "OTAA devices without a session at the end"),
        FleetMetric(name: "missed_downlinks", unit: .count, higherIsBetter: false, help: "answers no gateway could send in RX1 or RX2"),
        FleetMetric(name: "battery_life_years.min", unit: .number, higherIsBetter: true, help: "shortest projected battery life of any sensor"),
        FleetMetric(name: "average_current_ua.max", unit: .number, higherIsBetter: false, help: "highest average current of any sensor (µA)"),
        FleetMetric(name: "worst_site.pdr", unit: .ratio, higherIsBetter: true, help: "the lowest delivery ratio of any site"),
        FleetMetric(name: "worst_site.staleness.p99", unit: .duration, higherIsBetter: false, help: "the highest p99 staleness of any site"),
        FleetMetric(name: "worst_site.occupancy_error.mean", unit: .number, higherIsBetter: false, help: "the highest mean occupancy error of any site"),
    ]

    public static var names: [String] { all.map(\.name) }
    public static func named(_ name: String) -> FleetMetric? { all.first { $0.name == name } }

    /// Parses a bound in this metric's unit: ratios as 0.98 or 98 %, durations with a unit, counts as integers.
    public func parseValue(_ text: String) throws(InputError) -> Double {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch unit {
        case .duration:
            return Double(try DurationFormat.parse(t))
        case .ratio:
            if t.hasSuffix("%"), let v = Double(t.dropLast().trimmingCharacters(in: .whitespaces)) { return v / 100 }
            guard let v = Double(t), v.isFinite else { throw InputError("'\(t)' is not a ratio for \(name); write 0.98 or 98%") }
            return v
        case .count:
            guard let v = Int(t), v >= 0 else { throw InputError("'\(t)' is not a count for \(name); write a whole number") }
            return Double(v)
        case .number:
            guard let v = Double(t), v.isFinite else { throw InputError("'\(t)' is not a number for \(name)") }
            return v
        }
    }

    public func format(_ v: Double) -> String {
        switch unit {
        case .duration: return DurationFormat.human(Int64(v))
        case .ratio: return String(format: "%.4f", v)
        case .count: return String(Int64(v))
        case .number: return String(format: "%.3f", v)
        }
    }
}

/// `metric op bound`, e.g. `pdr >= 0.98`, `staleness.p99 <= 10m`, `duty_cycle_violations == 0`.
public struct FleetAssertion: Sendable, Equatable, Codable {
    public enum Op: String, Sendable, Codable, CaseIterable { case le = "<=", lt = "<", ge = ">=", gt = ">", eq = "==", ne = "!=" }
    public var text: String
    public var metric: String
    public var op: Op
    public var bound: Double
    /// `@95%`: the bound must hold for the whole 95 % confidence interval over the replicas (its lower end for
    /// `>=`, its upper end for `<=`), not only for the pooled value.
    public var onInterval = false

    public static func parse(_ text: String) throws(InputError) -> FleetAssertion {
        var t = text.trimmingCharacters(in: .whitespaces)
        var interval = false
        if let at = t.range(of: "@") {
            let level = t[at.upperBound...].trimmingCharacters(in: .whitespaces)
            guard level == "95%" else { throw InputError("'\(t)': the confidence level is @95% (the only one the replicas' intervals give)") }
            interval = true
            t = t[..<at.lowerBound].trimmingCharacters(in: .whitespaces)
        }
        // Longest operators first, so `<=` is not read as `<`.
        for op in [Op.le, .ge, .eq, .ne, .lt, .gt] {
            guard let r = t.range(of: op.rawValue) else { continue }
            let name = t[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            let value = t[r.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let m = FleetMetric.named(name) else {
                throw InputError("unknown metric '\(name)' in assertion '\(t)'; known: " + FleetMetric.names.joined(separator: ", "))
            }
            return FleetAssertion(text: interval ? t + " @95%" : t, metric: name, op: op, bound: try m.parseValue(value), onInterval: interval)
        }
        throw InputError("'\(t)' is not an assertion; write metric op value, e.g. pdr >= 0.98 (operators: <= < >= > == !=)")
    }

    public func holds(_ v: Double) -> Bool {
        switch op {
        case .le: return v <= bound
        case .lt: return v < bound
        case .ge: return v >= bound
        case .gt: return v > bound
        case .eq: return v == bound
        case .ne: return v != bound
        }
    }
}

/// A metric over the replicas of a run: their mean and its 95 % confidence interval, mean ± t · s / √n with
/// Student's t for n − 1 degrees of freedom (two-sided 0.975 quantiles, as tabulated in the NIST/SEMATECH
/// e-Handbook of Statistical Methods, §1.3.6.7.2; the normal 1.960 beyond 30).
public struct MetricInterval: Sendable, Codable, Equatable {
    public var replicas: Int
    public var mean: Double
    public var low: Double
    public var high: Double

    static let t975: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

    public init(_ values: [Double]) {
        let n = values.count
        replicas = n
        mean = n == 0 ? .nan : values.reduce(0, +) / Double(n)
        guard n > 1 else { low = mean; high = mean; return }
        let m = mean
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)
        let t = n - 1 <= MetricInterval.t975.count ? MetricInterval.t975[n - 2] : 1.960
        let half = t * variance.squareRoot() / Double(n).squareRoot()
        low = mean - half
        high = mean + half
    }
}

/// How far a metric may move the wrong way from a baseline before it counts as a regression: an absolute
/// amount in the metric's unit, or a share of the baseline value (`10%`).
public struct Tolerance: Sendable, Equatable, Codable {
    public var absolute: Double
    public var relative: Double
    /// `ci`: the half-width of this run's 95 % interval over its replicas (what chance alone moves the metric by).
    public var fromInterval = false

    public init(absolute: Double, relative: Double, fromInterval: Bool = false) {
        self.absolute = absolute; self.relative = relative; self.fromInterval = fromInterval
    }

    public static func parse(_ text: String) throws(InputError) -> Tolerance {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "ci" { return Tolerance(absolute: 0, relative: 0, fromInterval: true) }
        if t.hasSuffix("%"), let v = Double(t.dropLast().trimmingCharacters(in: .whitespaces)), v >= 0 { return Tolerance(absolute: 0, relative: v / 100) }
        if let v = Double(t), v >= 0 { return Tolerance(absolute: v, relative: 0) }
        if let d = try? DurationFormat.parse(t) { return Tolerance(absolute: Double(d), relative: 0) }
        throw InputError("'\(t)' is not a tolerance; write an amount (0.01, 30s), a share of the baseline (10%) or ci (the replicas' 95 % interval)")
    }

    public func allows(baseline: Double, measured: Double, higherIsBetter: Bool) -> Bool {
        let slack = absolute + relative * abs(baseline)
        return higherIsBetter ? measured >= baseline - slack - 1e-12 : measured <= baseline + slack + 1e-12
    }

    public var text: String { fromInterval ? "ci" : relative > 0 ? String(format: "%g%%", relative * 100) : String(format: "%g", absolute) }

    /// Defaults: what a change of firmware or settings should not move without someone deciding it.
    public static let defaults: [String: Tolerance] = [
        "pdr": Tolerance(absolute: 0.005, relative: 0),
        "staleness.p50": Tolerance(absolute: 0, relative: 0.10),
        "staleness.p99": Tolerance(absolute: 0, relative: 0.10),
        "occupancy_error.mean": Tolerance(absolute: 0.01, relative: 0.10),
        "duty_cycle_violations": Tolerance(absolute: 0, relative: 0),
        "airtime_per_device_day": Tolerance(absolute: 0, relative: 0.05),
        "battery_life_years.min": Tolerance(absolute: 0, relative: 0.05),
        "missed_downlinks": Tolerance(absolute: 0, relative: 0.10),
    ]
}
