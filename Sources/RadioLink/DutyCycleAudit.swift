import HarnessCore

/// The duty-cycle audit of one device: for each transmission, the airtime in the same sub-band during the hour
/// that ends with it (ETSI EN 300 220-2 observes duty cycle over one hour), against the sub-band's limit. It is
/// independent of the device's own duty-cycle policy, so a policy that bursts beyond the limit shows up.
public struct SlidingHourAudit: Sendable {
    private var recent: [(end: Int64, airtime: Int64, band: Int)] = []
    public private(set) var maxShare = 0.0
    public private(set) var violations = 0

    public init() {}

    /// Records a transmission in sub-band `band` whose limit is `limit` (0.01 for 1 %); returns its hour's share.
    @discardableResult
    public mutating func record(start: Nanoseconds, airtime: Nanoseconds, band: Int, limit: Double) -> Double {
        let end = start + airtime
        let from = end - Time.hour
        var drop = 0
        while drop < recent.count, recent[drop].end <= from { drop += 1 }
        if drop > 0 { recent.removeFirst(drop) }
        recent.append((end, airtime, band))
        var used: Int64 = 0
        // Only the part of each transmission inside the window counts.
        for e in recent where e.band == band { used += min(e.airtime, e.end - from) }
        let share = Double(used) / Double(Time.hour)
        if share > maxShare { maxShare = share }
        if share > limit * (1 + 1e-9) { violations += 1 }
        return share
    }
}
