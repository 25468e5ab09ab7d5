import HarnessCore

/// The duty-cycle audit of one device: for each transmission, the airtime in the same sub-band during the hour
/// that ends with it (ETSI EN 300 220-2 observes duty cycle over one hour), against the sub-band's limit. It is
/// independent of the device's own duty-cycle policy, so a policy that bursts beyond the limit shows up.
/// Running sums per sub-band keep the cost per transmission constant, however many the hour holds.
public struct SlidingHourAudit: Sendable {
    private struct Transmission { var end: Int64; var airtime: Int64; var band: Int }
    private var window: [Transmission] = []
    private var head = 0
    /// Airtime in the window per sub-band (by index; regions have a handful).
    private var sums: [Int64] = []
    public private(set) var maxShare = 0.0
    public private(set) var violations = 0

    public init() {}

    /// Records a transmission in sub-band `band` whose limit is `limit` (0.01 for 1 %); returns its hour's share.
    @discardableResult
    public mutating func record(start: Nanoseconds, airtime: Nanoseconds, band: Int, limit: Double) -> Double {
        guard band >= 0 && band < 1 << 16 else { return 0 }
        // Times from captures reach the ends of Int64 nanoseconds (years 1678 and 2262): saturate, never trap.
        let (sum, o1) = start.addingReportingOverflow(airtime)
        let end = o1 ? Int64.max : sum
        let (back, o2) = end.subtractingReportingOverflow(Time.hour)
        let from = o2 ? Int64.min : back
        // Transmissions wholly before the window leave it.
        while head < window.count, window[head].end <= from {
            sums[window[head].band] -= window[head].airtime
            head += 1
        }
        if head > 1024 && head * 2 > window.count {
            window.removeFirst(head)
            head = 0
        }
        if band >= sums.count { sums += [Int64](repeating: 0, count: band + 1 - sums.count) }
        window.append(Transmission(end: end, airtime: airtime, band: band))
        sums[band] += airtime
        // Only the part of a transmission inside the window counts: those that started before it are the oldest.
        var used = sums[band]
        var i = head
        while i < window.count, window[i].end - window[i].airtime < from {
            if window[i].band == band { used -= window[i].airtime - (window[i].end - from) }
            i += 1
        }
        let share = Double(used) / Double(Time.hour)
        if share > maxShare { maxShare = share }
        if share > limit * (1 + 1e-9) { violations += 1 }
        return share
    }
}
