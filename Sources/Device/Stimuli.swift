import Foundation
import HarnessCore

/// Something that happens to a device from outside.
public enum Stimulus: Sendable, Equatable {
    /// The bay sensor's raw detector: something above it (true) or not.
    case detect(Bool)
    /// A gate counter's detector on lane 0 (in) or 1 (out) starts or stops seeing a vehicle.
    case lane(Int, active: Bool)
    /// A downlink the network sends at the next opportunity (FPort, bytes).
    case downlink(port: UInt8, bytes: [UInt8])
    /// A line typed on the serial console.
    case console(String)
    /// The device resets (power cut, watchdog, …).
    case reset(cause: String)
}

public struct TimedStimulus: Sendable, Equatable {
    public var at: Nanoseconds
    public var stimulus: Stimulus
    public init(at: Nanoseconds, _ stimulus: Stimulus) { self.at = at; self.stimulus = stimulus }
}

/// A stimuli file: one event per line, `TIME EVENT [ARGS]`, times from the start (`90s`, `1h30m`), `#` comments.
///
///     0s     detect 1              # bay sensor: raw detection on
///     12m    detect 0
///     1h     vehicle in            # gate counter: a 2 s pulse on lane 0 (or `vehicle out 3s`)
///     2h     downlink 11 3001012c  # FPort and hex payload, sent in the next receive window
///     3h     console ATC+COUNT=?
///     5h     reset watchdog        # power_on, brown_out, watchdog, software, external_pin, lockup, low_power
public enum StimuliFile {
    public static func parse(_ text: String, file: String) throws(InputError) -> [TimedStimulus] {
        var out: [TimedStimulus] = []
        for (i, raw) in text.textLines.enumerated() {
            let lineNo = i + 1
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            let at = InputLocation.line(file: file, line: lineNo)
            func fail(_ m: String) -> InputError { InputError(m, at: at) }
            let t: Nanoseconds
            do { t = try DurationFormat.parse(words[0]) } catch { throw fail("'\(words[0])' is not a time: \(error.message)") }
            guard words.count >= 2 else { throw fail("a time without an event; events: detect, vehicle, lane, downlink, console, reset") }
            let args = Array(words.dropFirst(2))
            switch words[1].lowercased() {
            case "detect":
                guard args.count == 1, args[0] == "1" || args[0] == "0" else { throw fail("detect takes 1 or 0") }
                out.append(TimedStimulus(at: t, .detect(args[0] == "1")))
            case "vehicle":
                guard (1...2).contains(args.count), let lane = ["in": 0, "out": 1][args[0].lowercased()] else {
                    throw fail("vehicle takes in or out, and optionally a pulse length (default 2s)")
                }
                var length = 2 * Time.second
                if args.count == 2 {
                    do { length = try DurationFormat.parse(args[1]) } catch { throw fail("'\(args[1])' is not a pulse length") }
                }
                let (end, overflow) = t.addingReportingOverflow(length)
                guard !overflow else { throw fail("the pulse ends past the last representable time (about 292 years)") }
                out.append(TimedStimulus(at: t, .lane(lane, active: true)))
                out.append(TimedStimulus(at: end, .lane(lane, active: false)))
            case "lane":
                guard args.count == 2, let lane = Int(args[0]), (0...1).contains(lane), args[1] == "1" || args[1] == "0" else {
                    throw fail("lane takes a lane (0 in, 1 out) and 1 or 0")
                }
                out.append(TimedStimulus(at: t, .lane(lane, active: args[1] == "1")))
            case "downlink":
                guard args.count == 2, let port = UInt8(args[0]), port > 0 else { throw fail("downlink takes an FPort (1…255) and a hex payload") }
                let bytes: [UInt8]
                do { bytes = try Hex.decode(args[1]) } catch { throw fail("downlink payload: \(error.message)") }
                out.append(TimedStimulus(at: t, .downlink(port: port, bytes: bytes)))
            case "console":
                guard !args.isEmpty else { throw fail("console takes a command line") }
                out.append(TimedStimulus(at: t, .console(args.joined(separator: " "))))
            case "reset":
                let cause = args.first ?? "power_on"
                guard ["power_on", "brown_out", "watchdog", "software", "external_pin", "lockup", "low_power", "unknown"].contains(cause) else {
                    throw fail("unknown reset cause '\(cause)'")
                }
                out.append(TimedStimulus(at: t, .reset(cause: cause)))
            default:
                throw fail("unknown event '\(words[1])'; events: detect, vehicle, lane, downlink, console, reset")
            }
        }
        return out.sorted { $0.at < $1.at }
    }

    public static func load(path: String) throws(InputError) -> [TimedStimulus] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file", at: .file(path))
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}

/// When vehicles come to a site: a weekly profile of visits per hour in the site's local time (summer time
/// included), dwell times from a log-normal distribution, bays taken at random among the free ones.
public struct TrafficProfile: Sendable {
    public var name: String
    /// Visits per week.
    public var visitsPerWeek: Double
    /// Relative weight of each hour, Monday 0–23 … Sunday 0–23 (local time).
    public var hourlyWeights: [[Double]]
    public var dwellMedian: Nanoseconds
    /// σ of the logarithm of the dwell time.
    public var dwellSigma: Double
    public var bays: Int
    /// Gate counters at the site's barrier; each visit passes one of them, in and out.
    public var gates: Int = 1
    public var timeZone: String

    public init(name: String, visitsPerWeek: Double, hourlyWeights: [[Double]], dwellMedian: Nanoseconds, dwellSigma: Double,
                bays: Int, gates: Int = 1, timeZone: String) {
        self.name = name; self.visitsPerWeek = visitsPerWeek; self.hourlyWeights = hourlyWeights; self.dwellMedian = dwellMedian
        self.dwellSigma = dwellSigma; self.bays = bays; self.gates = gates; self.timeZone = timeZone
    }

    /// A recycling centre like those of Lorient Agglomération: about 100,000 visits a year for one site
    /// (≈ 1,900 a week), open 9:00–12:00 and 14:00–18:00 on weekdays, 9:00–18:00 on Saturdays (busiest in the
    /// morning), 9:00–12:00 on Sundays; stays of about ten minutes. Assumptions, stated in the README.
    public static let busySite = TrafficProfile(name: "busy-site", visitsPerWeek: 1900, hourlyWeights: recyclingWeek(), dwellMedian: 10 * Time.minute,
                                                dwellSigma: 0.5, bays: 30, timeZone: "Europe/Paris")
    /// A small rural site: a fifth of the visits, the same opening hours.
    public static let quietSite = TrafficProfile(name: "quiet-site", visitsPerWeek: 380, hourlyWeights: recyclingWeek(), dwellMedian: 8 * Time.minute,
                                                 dwellSigma: 0.5, bays: 12, timeZone: "Europe/Paris")

    public static let all = [busySite, quietSite]

    public static func named(_ name: String) throws(InputError) -> TrafficProfile {
        if let p = all.first(where: { $0.name == name }) { return p }
        throw InputError("unknown traffic '\(name)'; known: " + all.map(\.name).joined(separator: ", "))
    }

    public static func recyclingWeek() -> [[Double]] {
        var week = [[Double]](repeating: [Double](repeating: 0, count: 24), count: 7)
        for day in 0..<5 {
            for h in 9..<12 { week[day][h] = 1.0 }
            for h in 14..<18 { week[day][h] = h == 17 ? 1.3 : 0.9 }
        }
        for h in 9..<18 { week[5][h] = h < 12 ? 3.0 : 1.8 }   // Saturday, peak in the morning
        for h in 9..<12 { week[6][h] = 1.5 }                   // Sunday morning
        return week
    }
}

/// One detector event at a site: `target` is a bay index (0…) or a gate (`SiteEvent.gate(g)`, negative); `real`
/// says whether it changes what is true on site (a car parks or leaves, a car passes a gate) or is only a signal
/// the firmware must handle (the end of a gate pulse, a car driving over a neighbouring bay).
public struct SiteEvent: Sendable, Equatable {
    public var at: Nanoseconds
    public var target: Int
    public var stimulus: Stimulus
    public var real: Bool
    public init(at: Nanoseconds, target: Int, stimulus: Stimulus, real: Bool) {
        self.at = at; self.target = target; self.stimulus = stimulus; self.real = real
    }
    public static func gate(_ g: Int) -> Int { -1 - g }
    /// The gate index of a target, nil for a bay.
    public static func gateIndex(_ target: Int) -> Int? { target < 0 ? -1 - target : nil }
}

/// The vehicles of one site over time, and the detector events they cause at each bay and at the gate.
public struct SiteTraffic {
    public let profile: TrafficProfile
    /// Virtual time 0 is this instant (seconds since the Unix epoch).
    public let startUnixSeconds: Int64
    private var rng: SeededRandom
    private let tz: TimeZone
    private var events: [SiteEvent] = []
    private var baysFreeAt: [Nanoseconds]
    /// Per gate and lane (gate × 2 + lane): the times vehicles pass, recent ones only (the barrier lets one through
    /// every `barrierCycle`).
    private var passages: [[Nanoseconds]]
    /// One vehicle through a barrier lane at most this often (an assumption: the barrier opens, the car drives
    /// through, it closes).
    public static let barrierCycle: Nanoseconds = 8 * Time.second
    private var nextArrival: Nanoseconds = 0
    private let peakRate: Double   // visits per nanosecond at the busiest hour
    private let totalWeight: Double
    /// The UTC offset of the last hour asked for (time-zone look-ups are slow): hour index since the start, offset.
    private var offsetCache: (hour: Int64, seconds: Int64) = (-1, 0)
    public private(set) var visits = 0

    public init(profile: TrafficProfile, startUnixSeconds: Int64, seed: UInt64, site: Int = 0) {
        self.profile = profile
        self.startUnixSeconds = startUnixSeconds
        rng = SeededRandom.stream(seed: seed, 0x517E, UInt64(site))
        tz = TimeZone(identifier: profile.timeZone) ?? TimeZone(secondsFromGMT: 0) ?? .current
        baysFreeAt = Array(repeating: 0, count: max(profile.bays, 1))
        passages = Array(repeating: [], count: 2 * max(profile.gates, 1))
        let total = profile.hourlyWeights.flatMap { $0 }.reduce(0, +)
        let maxW = profile.hourlyWeights.flatMap { $0 }.max() ?? 0
        totalWeight = total
        peakRate = total > 0 ? profile.visitsPerWeek * maxW / total / Double(Time.hour) : 0
        nextArrival = drawArrival(after: 0)
    }

    /// Local weekday (0 Monday) and hour at virtual time t.
    public func localWeekdayHour(_ t: Nanoseconds) -> (Int, Int) {
        let unix = startUnixSeconds + t / Time.second
        let offset = Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(unix))))
        return SiteTraffic.weekdayHour(unix: unix, offset: offset)
    }

    /// The same, with the time-zone offset looked up once per hour.
    private mutating func cachedWeekdayHour(_ t: Nanoseconds) -> (Int, Int) {
        let unix = startUnixSeconds + t / Time.second
        let hour = unix / 3600
        if hour != offsetCache.hour {
            offsetCache = (hour, Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(hour * 3600)))))
        }
        return SiteTraffic.weekdayHour(unix: unix, offset: offsetCache.seconds)
    }

    static func weekdayHour(unix: Int64, offset: Int64) -> (Int, Int) {
        let local = unix + offset
        let days = Int((local >= 0 ? local : local - 86_399) / 86_400)
        let weekday = ((days + 3) % 7 + 7) % 7   // 1970-01-01 was a Thursday
        let hour = Int(((local % 86_400) + 86_400) % 86_400 / 3600)
        return (weekday, hour)
    }

    private mutating func rate(at t: Nanoseconds) -> Double {
        guard totalWeight > 0 else { return 0 }
        let (d, h) = cachedWeekdayHour(t)
        return profile.visitsPerWeek * profile.hourlyWeights[d][h] / totalWeight / Double(Time.hour)
    }

    /// Next arrival of the non-homogeneous Poisson process after t (thinning against the peak rate).
    private mutating func drawArrival(after t: Nanoseconds) -> Nanoseconds {
        guard peakRate > 0 else { return .max }
        var time = t
        for _ in 0..<1_000_000 {
            time += Int64(rng.nextExponential() / peakRate)
            if rng.nextDouble() * peakRate <= rate(at: time) { return time }
        }
        return .max
    }

    /// All detector events up to `until`, in time order, for the bay `bay` (0-based) or the first gate (nil).
    public mutating func events(until: Nanoseconds, bay: Int?) -> [TimedStimulus] {
        let target = bay ?? SiteEvent.gate(0)
        return allEvents(until: until).filter { $0.target == target }.map { TimedStimulus(at: $0.at, $0.stimulus) }
    }

    /// Every detector event of the site up to `until`, in time order (ties in the order they were drawn).
    public mutating func allEvents(until: Nanoseconds) -> [SiteEvent] {
        while nextArrival <= until {
            let arrival = nextArrival
            nextArrival = drawArrival(after: arrival)
            visits += 1
            let dwell = Int64(Double(profile.dwellMedian) * exp(profile.dwellSigma * normal()))
            let gate = profile.gates > 1 ? SiteEvent.gate(Int(rng.next() % UInt64(profile.gates))) : SiteEvent.gate(0)
            // The gate sees the car come in (after the cars queued before it); it drives to a free bay (20 s),
            // stays, drives out (30 s, and through the exit barrier in turn).
            var entered = arrival
            if profile.gates > 0 {
                entered = pass(gate: SiteEvent.gateIndex(gate) ?? 0, lane: 0, at: arrival)
                events.append(SiteEvent(at: entered, target: gate, stimulus: .lane(0, active: true), real: true))
                events.append(SiteEvent(at: entered + 2 * Time.second, target: gate, stimulus: .lane(0, active: false), real: false))
            }
            let parked = entered + 20 * Time.second
            var leave = parked + 3 * Time.minute   // no free bay: waits, then gives up
            if profile.bays > 0 {
                let free = baysFreeAt.indices.filter { baysFreeAt[$0] <= parked }
                if let b = free.isEmpty ? nil : free[Int(rng.next() % UInt64(free.count))] {
                    leave = parked + max(Time.minute, dwell)
                    baysFreeAt[b] = leave
                    events.append(SiteEvent(at: parked, target: b, stimulus: .detect(true), real: true))
                    events.append(SiteEvent(at: leave, target: b, stimulus: .detect(false), real: true))
                    // A car passing over a neighbouring bay now and then: a short blip the debounce must ignore.
                    if rng.nextDouble() < 0.2 {
                        let n = (b + 1) % baysFreeAt.count
                        if baysFreeAt[n] <= parked {
                            events.append(SiteEvent(at: parked - 5 * Time.second, target: n, stimulus: .detect(true), real: false))
                            events.append(SiteEvent(at: parked - 5 * Time.second + 300 * Time.millisecond, target: n,
                                                    stimulus: .detect(false), real: false))
                        }
                    }
                }
            }
            if profile.gates > 0 {
                let out = pass(gate: SiteEvent.gateIndex(gate) ?? 0, lane: 1, at: leave + 30 * Time.second)
                events.append(SiteEvent(at: out, target: gate, stimulus: .lane(1, active: true), real: true))
                events.append(SiteEvent(at: out + 2 * Time.second, target: gate, stimulus: .lane(1, active: false), real: false))
            }
        }
        // A stable sort: events at the same instant keep the order they were drawn in.
        let sorted = events.enumerated().sorted { a, b in a.element.at != b.element.at ? a.element.at < b.element.at : a.offset < b.offset }
        var out: [SiteEvent] = []
        var keep: [SiteEvent] = []
        for (_, e) in sorted {
            if e.at <= until { out.append(e) } else { keep.append(e) }
        }
        events = keep
        return out
    }

    /// The first time at or after `t` a vehicle can pass the lane, at least a barrier cycle from every other
    /// passage; reserves it.
    private mutating func pass(gate: Int, lane: Int, at t: Nanoseconds) -> Nanoseconds {
        let k = gate * 2 + lane
        guard k < passages.count else { return t }
        let gap = SiteTraffic.barrierCycle
        // Passages long gone cannot conflict any more (exits come at most a few hours after arrivals).
        if let first = passages[k].first, first < t - 12 * Time.hour {
            passages[k].removeAll { $0 < t - 12 * Time.hour }
        }
        var time = t
        var moved = true
        while moved {
            moved = false
            for p in passages[k] where p > time - gap && p < time + gap {
                time = p + gap
                moved = true
            }
        }
        let i = passages[k].firstIndex { $0 > time } ?? passages[k].count
        passages[k].insert(time, at: i)
        return time
    }

    private mutating func normal() -> Double {
        rng.nextNormal()
    }
}
