import HarnessCore

/// A frequency range with one duty-cycle limit. Duty cycle is accounted per sub-band, not per channel.
public struct SubBand: Sendable, Hashable, Codable {
    public var name: String
    /// Lowest frequency, hertz, inclusive.
    public var lowHz: Int64
    /// Highest frequency, hertz, inclusive (LoRaMac-node compares `freq >= min && freq <= max`).
    public var highHz: Int64
    /// 1 / duty cycle: 100 for 1 %, 1000 for 0.1 %, 10 for 10 %; 1 for no limit.
    public var dutyCycleDenominator: Int64

    public init(_ name: String, _ lowHz: Int64, _ highHz: Int64, denominator: Int64) {
        self.name = name
        self.lowHz = lowHz
        self.highHz = highHz
        self.dutyCycleDenominator = denominator
    }

    public func contains(_ hz: Int64) -> Bool { hz >= lowHz && hz <= highHz }

    /// "1 %", "0.1 %", "10 %".
    public var dutyCycleText: String {
        if dutyCycleDenominator <= 1 { return "none" }
        let percentTimes1000 = 100_000 / dutyCycleDenominator
        var s = DurationFormat.fixed(UInt64(percentTimes1000), 1000, 3)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s + " %"
    }

    /// Per-transmission off-time after a transmission of `airtime`: T_off = ToA/dc − ToA (ETSI EN 300 220).
    public func offTime(after airtime: Nanoseconds) -> Nanoseconds { airtime * (dutyCycleDenominator - 1) }
}

/// The ways a device can be held to a duty cycle.
public enum DutyCyclePolicy: String, Sendable, CaseIterable, Codable {
    /// After each transmission the sub-band is closed for T_off = ToA/dc − ToA.
    case offTime = "off-time"
    /// EN 300 220 measures duty cycle over one hour: the airtime in any hour-long window stays within dc · 1 h.
    case slidingWindow = "sliding-window"
    /// LoRaMac-node v4.5+ (the base of RUI3): per band, time credits over an observation period
    /// (1 h once joined), a transmission costs ToA / dc and is allowed while the credits exceed that cost.
    case timeCredit = "time-credit"
    /// No limit (regions without duty cycle, or a tracker switched off).
    case none
}

/// What a tracker answers for a planned transmission.
public enum TransmitPermission: Sendable, Equatable {
    /// May start at this time (the asked time, or later).
    case at(Nanoseconds)
    /// Can never be sent under this limit (longer than the dwell limit, or costlier than the largest budget).
    case never(String)

    public var time: Nanoseconds? {
        if case .at(let t) = self { return t }
        return nil
    }
}

/// Answers "when may this device next transmit on this frequency" under one policy, accounting per sub-band.
/// Times are virtual nanoseconds; one tracker per device.
public struct DutyCycleTracker: Sendable {
    public let policy: DutyCyclePolicy
    public let bands: [SubBand]
    /// Maximum time on air of one transmission (400 ms where a dwell limit applies), or nil.
    public var dwellLimit: Nanoseconds?
    /// Time credit only: whether the device has joined. Before it has, the join-request back-off of
    /// LoRaWAN 1.0.4 §7 applies on top of the band's limit: 1 % in the first hour after start,
    /// 0.1 % until 11 h, 0.01 % after (LoRaMac-node `RegionCommonGetJoinDc`).
    public var joined: Bool
    /// Time credit only: when the device started (the join back-off counts from here).
    public var startup: Nanoseconds
    /// Time credit only: the observation period, whose length is the credit ceiling once joined. LoRaMac-node
    /// v4.5 (`DUTY_CYCLE_TIME_PERIOD`, the base of RUI3) uses one hour; its later master uses 30 minutes.
    public var observationPeriod: Nanoseconds

    // Per band state. Off-time: when the band opens again. Time credit: credits, ceiling, last update.
    // Sliding window: the transmissions of the last hour.
    private var openAt: [Nanoseconds]
    private var credits: [Nanoseconds]
    private var maxCredits: [Nanoseconds]
    private var lastUpdate: [Nanoseconds?]
    private var history: [[(start: Nanoseconds, end: Nanoseconds)]]
    /// Airtime (ns) and number of transmissions per band, kept for reports.
    public private(set) var airtimeUsed: [Nanoseconds]
    public private(set) var transmissions: [Int]

    /// ETSI EN 300 220: duty cycle is measured over one hour.
    public static let window: Nanoseconds = Time.hour

    public init(policy: DutyCyclePolicy, bands: [SubBand], dwellLimit: Nanoseconds? = nil,
                joined: Bool = true, startup: Nanoseconds = 0, observationPeriod: Nanoseconds = Time.hour) {
        self.policy = policy
        self.bands = bands
        self.dwellLimit = dwellLimit
        self.joined = joined
        self.startup = startup
        self.observationPeriod = observationPeriod
        let n = bands.count
        openAt = Array(repeating: Int64.min, count: n)
        credits = Array(repeating: 0, count: n)
        maxCredits = Array(repeating: observationPeriod, count: n)
        lastUpdate = Array(repeating: nil, count: n)
        history = Array(repeating: [], count: n)
        airtimeUsed = Array(repeating: 0, count: n)
        transmissions = Array(repeating: 0, count: n)
    }

    /// The sub-band index holding `frequency` (the first listed band that holds it), or nil.
    public func band(for frequencyHz: Int64) -> Int? {
        bands.firstIndex { $0.contains(frequencyHz) }
    }

    /// The earliest time at or after `now` a transmission of `airtime` may start on `frequencyHz`.
    public mutating func earliestStart(frequencyHz: Int64, airtime: Nanoseconds, now: Nanoseconds) -> TransmitPermission {
        if let dwell = dwellLimit, airtime > dwell {
            return .never("time on air \(DurationFormat.human(airtime)) exceeds the dwell limit of \(DurationFormat.human(dwell))")
        }
        if policy == .none { return .at(now) }
        guard let b = band(for: frequencyHz) else {
            return .never("\(FrequencyFormat.megahertz(frequencyHz)) is in no sub-band of this region")
        }
        let denominator = effectiveDenominator(band: b, now: now)
        switch policy {
        case .none:
            return .at(now)
        case .offTime:
            return .at(max(now, openAt[b]))
        case .slidingWindow:
            let budget = DutyCycleTracker.window / denominator
            guard airtime <= budget else {
                return .never("time on air \(DurationFormat.human(airtime)) exceeds the hourly budget of \(DurationFormat.human(budget))")
            }
            // The hour that ends when this transmission ends holds the most past airtime of any hour holding
            // it. Walking back from the newest transmission, find where the rest of the budget runs out: the
            // window may start no earlier than that point, so the transmission may end no earlier than an hour later.
            let remaining = budget - airtime
            var used: Nanoseconds = 0
            for tx in history[b].reversed() {
                let length = tx.end - tx.start
                if used + length > remaining {
                    let windowStart = tx.end - (remaining - used)
                    return .at(max(now, windowStart + DutyCycleTracker.window - airtime))
                }
                used += length
            }
            return .at(now)
        case .timeCredit:
            refreshCredits(band: b, now: now)
            let cost = airtime * denominator
            if credits[b] > cost { return .at(now) }
            guard maxCredits[b] > cost else {
                return .never("time on air \(DurationFormat.human(airtime)) costs more credit than the band ever holds")
            }
            // Credits grow by one nanosecond per nanosecond; LoRaMac-node needs them strictly above the cost.
            return .at(now + (cost - credits[b]) + 1)
        }
    }

    /// Records a transmission that started at `start` and lasted `airtime`.
    public mutating func record(frequencyHz: Int64, start: Nanoseconds, airtime: Nanoseconds) {
        guard let b = band(for: frequencyHz) else { return }
        airtimeUsed[b] += airtime
        transmissions[b] += 1
        let denominator = effectiveDenominator(band: b, now: start)
        switch policy {
        case .none:
            break
        case .offTime:
            // T_off = ToA/dc − ToA after the end: the band opens ToA/dc after the start.
            openAt[b] = start + airtime * denominator
        case .slidingWindow:
            history[b].append((start, start + airtime))
            let horizon = start - DutyCycleTracker.window
            if let firstKept = history[b].firstIndex(where: { $0.end > horizon }), firstKept > 0 {
                history[b].removeFirst(firstKept)
            }
        case .timeCredit:
            refreshCredits(band: b, now: start)
            let cost = airtime * denominator
            credits[b] = credits[b] > cost ? credits[b] - cost : 0
        }
    }

    /// The duty-cycle denominator that applies: the band's, or before joining the stricter join back-off.
    private func effectiveDenominator(band b: Int, now: Nanoseconds) -> Int64 {
        let own = max(bands[b].dutyCycleDenominator, 1)
        guard policy == .timeCredit, !joined else { return own }
        return max(own, DutyCycleTracker.joinBackoffDenominator(sinceStartup: now - startup))
    }

    /// LoRaWAN 1.0.4 §7 join-request back-off as LoRaMac-node applies it (`RegionCommonGetJoinDc`):
    /// 1 % before 3600 s after start, 0.1 % before 39 600 s, 0.01 % after.
    public static func joinBackoffDenominator(sinceStartup t: Nanoseconds) -> Int64 {
        if t < Time.hour { return 100 }
        if t < 11 * Time.hour { return 1000 }
        return 10_000
    }

    /// LoRaMac-node v4.5 `SetMaxTimeCredits`: the ceiling is the observation period once joined, and before
    /// joining the period × (denominator / 100): ×1, ×10, ×100 for 1 %, 0.1 %, 0.01 %. Credits start full on
    /// a band's first use and grow by elapsed time up to the ceiling.
    private mutating func refreshCredits(band b: Int, now: Nanoseconds) {
        let denominator = effectiveDenominator(band: b, now: now)
        let ceiling = joined ? observationPeriod : observationPeriod * max(1, denominator / 100)
        maxCredits[b] = ceiling
        guard let last = lastUpdate[b] else {
            credits[b] = ceiling
            lastUpdate[b] = now
            return
        }
        credits[b] = min(ceiling, credits[b] + max(0, now - last))
        lastUpdate[b] = max(last, now)
    }

    /// Credits a band holds now (time-credit policy), for reports and tests.
    public mutating func credits(band b: Int, now: Nanoseconds) -> Nanoseconds {
        refreshCredits(band: b, now: now)
        return credits[b]
    }
}

/// The Things Network fair-use policy: at most 30 s of uplink airtime and 10 downlinks per device per 24 h.
/// Kept apart from the regulatory duty cycle: it is a network's rule, not the law.
public struct FairUseTracker: Sendable {
    public var uplinkAirtimeBudget: Nanoseconds
    public var downlinkBudget: Int
    public var window: Nanoseconds
    private var uplinks: [(start: Nanoseconds, end: Nanoseconds)] = []
    private var downlinks: [Nanoseconds] = []

    public static let ttnUplinkAirtime: Nanoseconds = 30 * Time.second
    public static let ttnDownlinksPerDay = 10

    public init(uplinkAirtimeBudget: Nanoseconds = FairUseTracker.ttnUplinkAirtime,
                downlinkBudget: Int = FairUseTracker.ttnDownlinksPerDay, window: Nanoseconds = Time.day) {
        self.uplinkAirtimeBudget = uplinkAirtimeBudget
        self.downlinkBudget = downlinkBudget
        self.window = window
    }

    /// Uplink airtime used in the window ending at `now`.
    public func uplinkAirtimeUsed(at now: Nanoseconds) -> Nanoseconds {
        let from = now - window
        return uplinks.reduce(0) { $0 + max(0, min($1.end, now) - max($1.start, from)) }
    }

    /// Whether an uplink of `airtime` starting at `now` keeps the 24 h ending with it within the budget.
    public func allowsUplink(airtime: Nanoseconds, at now: Nanoseconds) -> Bool {
        uplinkAirtimeUsed(at: now + airtime) + airtime <= uplinkAirtimeBudget
    }

    public func allowsDownlink(at now: Nanoseconds) -> Bool {
        downlinks.filter { $0 > now - window }.count < downlinkBudget
    }

    public mutating func recordUplink(start: Nanoseconds, airtime: Nanoseconds) {
        uplinks.append((start, start + airtime))
        let horizon = start - window
        uplinks.removeAll { $0.end <= horizon }
    }

    public mutating func recordDownlink(at t: Nanoseconds) {
        downlinks.append(t)
        downlinks.removeAll { $0 <= t - window }
    }
}
