import Foundation
import HarnessCore

/// A bounded series for the replay report's charts: every marked point (a gap, a reset, a replay) is kept, ordinary
/// points are thinned by doubling the stride whenever the series is full, so memory stays bounded whatever the trace.
public struct ThinnedSeries: Sendable {
    public struct Point: Sendable, Equatable {
        public var t: Nanoseconds
        public var value: Double
        public var mark: String?
    }
    public private(set) var points: [Point] = []
    private var stride = 1
    private var seen = 0
    public let capacity: Int

    public init(capacity: Int = 400) { self.capacity = capacity }

    public mutating func add(_ t: Nanoseconds, _ value: Double, mark: String? = nil) {
        seen += 1
        guard mark != nil || seen % stride == 0 else { return }
        points.append(Point(t: t, value: value, mark: mark))
        if points.count > capacity {
            stride *= 2
            var keep: [Point] = []
            var ordinary = 0
            for p in points {
                if p.mark != nil { keep.append(p); continue }
                if ordinary % 2 == 0 { keep.append(p) }
                ordinary += 1
            }
            points = keep
        }
    }
}

/// What the replay report's charts draw, gathered as the validator goes (`TraceValidator.series`): per device its
/// frame counter over time and its share of a sliding hour on air, per gateway its RSSI and SNR, per site its
/// occupancy, and the first rejection of each reason. Per-device series are kept for the first `maxDevices`
/// devices seen.
public final class ReplaySeries: @unchecked Sendable {
    public var maxDevices = 500
    public private(set) var fcnt: [String: ThinnedSeries] = [:]
    public private(set) var hourShare: [String: ThinnedSeries] = [:]
    /// The duty-cycle limit of the band each device used first (0.01 for 1 %).
    public private(set) var dutyLimit: [String: Double] = [:]
    public private(set) var rssi: [String: ThinnedSeries] = [:]
    public private(set) var snr: [String: ThinnedSeries] = [:]
    public private(set) var occupancy: [String: ThinnedSeries] = [:]
    public private(set) var firstByReason: [String: String] = [:]
    /// The expected-output comparison's differences: (entry, expected, got), the first 200.
    public private(set) var expectedDiff: [(entry: String, expected: String, got: String)] = []
    public init() {}

    /// A copy with every name and line passed through `rename` (the anonymiser's replacements).
    func renamed(_ rename: (String) -> String) -> ReplaySeries {
        let out = ReplaySeries()
        out.maxDevices = maxDevices
        out.fcnt = Dictionary(fcnt.map { (rename($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        out.hourShare = Dictionary(hourShare.map { (rename($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        out.dutyLimit = Dictionary(dutyLimit.map { (rename($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        out.rssi = rssi
        out.snr = snr
        out.occupancy = occupancy
        out.firstByReason = firstByReason.mapValues(rename)
        out.expectedDiff = expectedDiff.map { (rename($0.entry), rename($0.expected), rename($0.got)) }
        return out
    }

    func difference(_ entry: String, expected: String, got: String) {
        if expectedDiff.count < 200 { expectedDiff.append((entry, expected, got)) }
    }

    private func admits(_ device: String) -> Bool { fcnt[device] != nil || hourShare[device] != nil || fcnt.count < maxDevices }

    func counter(_ device: String, at t: Nanoseconds?, _ value: UInt32, mark: String?) {
        guard let t, admits(device) else { return }
        fcnt[device, default: ThinnedSeries()].add(t, Double(value), mark: mark)
    }

    func share(_ device: String, at t: Nanoseconds, _ share: Double, limit: Double) {
        guard admits(device) else { return }
        hourShare[device, default: ThinnedSeries()].add(t, share)
        if dutyLimit[device] == nil { dutyLimit[device] = limit }
    }

    func reception(gateway: String, at t: Nanoseconds, rssi r: Double?, snr s: Double?) {
        if let r { rssi[gateway, default: ThinnedSeries()].add(t, r) }
        if let s { snr[gateway, default: ThinnedSeries()].add(t, s) }
    }

    func site(_ site: String, at t: Nanoseconds, occupancy value: Int) { occupancy[site, default: ThinnedSeries()].add(t, Double(value)) }

    func rejection(_ reason: String, _ line: String) { if firstByReason[reason] == nil { firstByReason[reason] = line } }
}
