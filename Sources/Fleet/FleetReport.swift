import Foundation
import HarnessCore
import Network

/// What a fleet run measured, the assertions and (optionally) the comparison with a baseline report.
public struct FleetReport: Sendable, Codable {
    public static let formatName = "loraharness-fleet-report/1"

    public struct Staleness: Sendable, Codable, Equatable {
        public var changes: Int
        public var shown: Int
        public var p50: Nanoseconds
        public var p99: Nanoseconds
        public var max: Nanoseconds
        public var superseded: Int
        public var pending: Int
        /// Vehicles the gate counters did not count.
        public var missed: Int
    }

    public struct SiteSummary: Sendable, Codable, Equatable {
        public var name: String
        public var bays: Int
        public var gates: Int
        public var capacity: Int
        public var visits: Int
        public var framesSent: Int
        public var framesDelivered: Int
        public var pdr: Double
        public var staleness: Staleness
        /// Time-weighted mean and maximum of |shown − true|, vehicles and share of capacity.
        public var occupancyErrorMean: Double
        public var occupancyErrorMax: Int
        public var occupancyErrorShareMean: Double
        public var occupancyErrorShareMax: Double
    }

    public struct KindSummary: Sendable, Codable, Equatable {
        public var kind: String
        public var devices: Int
        public var framesSent: Int
        public var framesDelivered: Int
        public var meanAirtimePerDay: Nanoseconds
        public var meanMicroamps: Double
        public var minBatteryLifeYears: Double
    }

    public struct AssertionResult: Sendable, Codable, Equatable {
        public var assertion: String
        public var metric: String
        public var measured: Double
        public var bound: Double
        public var passed: Bool
        public var text: String
        /// Over the replicas, when there are several.
        public var interval: MetricInterval? = nil
    }

    public struct BaselineResult: Sendable, Codable, Equatable {
        public var metric: String
        public var baseline: Double
        public var measured: Double
        public var tolerance: String
        public var passed: Bool
        public var text: String
    }

    public var format = FleetReport.formatName
    public var scenario: String
    public var seed: UInt64
    public var replicas: Int
    public var duration: Nanoseconds
    public var sensors: Int
    public var sites: Int
    public var gateways: Int
    public var backgroundDevices: Int
    public var cells: Int
    public var metrics: [String: Double]
    public var framesSent: Int
    public var framesDelivered: Int
    public var retransmissions: Int
    public var joinRequests: Int
    public var joinAccepts: Int
    /// Sensor transmissions no gateway received, by cause.
    public var losses: [String: Int]
    public var airtime: Nanoseconds
    public var backgroundTransmissions: Int
    public var backgroundDelivered: Int
    public var staleness: Staleness
    public var kinds: [KindSummary]
    public var siteResults: [SiteSummary]
    public var gatewayResults: [GatewayResult]
    public var network: NetworkServer.Counters
    public var assertions: [AssertionResult]
    /// Each metric's mean and 95 % confidence interval over the replicas (several replicas only).
    public var intervals: [String: MetricInterval]?
    public var baseline: [BaselineResult]?
    public var passed: Bool

    // MARK: - Building

    public init(scenario sc: FleetScenario, partial: FleetPartial) {
        let devices = partial.cells.flatMap(\.devices)
        scenario = sc.name
        seed = partial.seed
        replicas = partial.replicas
        duration = partial.duration
        sensors = sc.sensorCount
        sites = sc.sites.count
        gateways = sc.gateways.count
        backgroundDevices = sc.backgroundCount
        cells = partial.totalItems / max(1, partial.replicas)
        framesSent = devices.reduce(0) { $0 + $1.framesSent }
        framesDelivered = devices.reduce(0) { $0 + $1.framesDelivered }
        retransmissions = devices.reduce(0) { $0 + $1.retransmissions }
        joinRequests = devices.reduce(0) { $0 + $1.joinRequests }
        joinAccepts = devices.reduce(0) { $0 + $1.joinAccepts }
        airtime = devices.reduce(0) { $0 + $1.airtime }
        var losses: [String: Int] = [:]
        for d in devices { for (k, v) in d.losses { losses[k, default: 0] += v } }
        self.losses = losses
        backgroundTransmissions = partial.cells.reduce(0) { $0 + $1.backgroundTransmissions }
        backgroundDelivered = partial.cells.reduce(0) { $0 + $1.backgroundDelivered }
        var network = NetworkServer.Counters()
        for c in partial.cells { network.add(c.network) }
        self.network = network
        var gws = sc.gateways.map { GatewayResult(name: $0.name, received: 0, losses: [:], downlinks: 0, downlinkAirtime: 0, dutyCycleRefusals: 0) }
        for c in partial.cells { for (i, g) in c.gateways.enumerated() where i < gws.count { gws[i].add(g) } }
        gatewayResults = gws

        // Sites, pooled over replicas, in the scenario's order.
        var pooled: [String: SiteResult] = [:]
        for c in partial.cells {
            for s in c.sites {
                if var p = pooled[s.name] {
                    p.visits += s.visits; p.changes += s.changes; p.staleness.merge(s.staleness); p.superseded += s.superseded
                    p.pending += s.pending; p.missed += s.missed; p.errorIntegral += s.errorIntegral; p.errorMax = max(p.errorMax, s.errorMax); p.duration += s.duration
                    pooled[s.name] = p
                } else {
                    pooled[s.name] = s
                }
            }
        }
        var perSite: [String: (sent: Int, delivered: Int)] = [:]
        for d in devices { perSite[d.site, default: (0, 0)].sent += d.framesSent; perSite[d.site, default: (0, 0)].delivered += d.framesDelivered }
        var all = DurationHistogram()
        var summaries: [SiteSummary] = []
        var superseded = 0, pending = 0, changes = 0, missed = 0
        for spec in sc.sites {
            guard let s = pooled[spec.name] else { continue }
            all.merge(s.staleness)
            superseded += s.superseded; pending += s.pending; changes += s.changes; missed += s.missed
            let fr = perSite[spec.name] ?? (0, 0)
            let cap = Double(max(1, s.capacity))
            summaries.append(SiteSummary(name: s.name, bays: s.bays, gates: s.gates, capacity: s.capacity, visits: s.visits,
                                         framesSent: fr.sent, framesDelivered: fr.delivered,
                                         pdr: fr.sent > 0 ? Double(fr.delivered) / Double(fr.sent) : 1,
                                         staleness: FleetReport.staleness(s.staleness, changes: s.changes, superseded: s.superseded, pending: s.pending,
                                                                                   missed: s.missed),
                                         occupancyErrorMean: s.meanError, occupancyErrorMax: s.errorMax,
                                         occupancyErrorShareMean: s.meanError / cap, occupancyErrorShareMax: Double(s.errorMax) / cap))
        }
        siteResults = summaries
        staleness = FleetReport.staleness(all, changes: changes, superseded: superseded, pending: pending, missed: missed)

        let days = max(Double(partial.duration) / Double(Time.day), 1e-9)
        kinds = ["bay", "gate"].compactMap { kind in
            let ds = devices.filter { $0.kind == kind }
            guard !ds.isEmpty else { return nil }
            return KindSummary(kind: kind, devices: ds.count / max(1, partial.replicas), framesSent: ds.reduce(0) { $0 + $1.framesSent },
                               framesDelivered: ds.reduce(0) { $0 + $1.framesDelivered },
                               meanAirtimePerDay: Int64(Double(ds.reduce(0) { $0 + $1.airtime }) / Double(ds.count) / days),
                               meanMicroamps: ds.reduce(0) { $0 + $1.averageMicroamps } / Double(ds.count),
                               minBatteryLifeYears: ds.map(\.batteryLifeYears).min() ?? .infinity)
        }

        var m: [String: Double] = [:]
        m["pdr"] = framesSent > 0 ? Double(framesDelivered) / Double(framesSent) : 1
        m["staleness.p50"] = Double(staleness.p50)
        m["staleness.p99"] = Double(staleness.p99)
        m["staleness.max"] = Double(staleness.max)
        m["staleness.unresolved"] = Double(staleness.superseded + staleness.pending)
        m["missed_changes"] = Double(staleness.missed)
        m["occupancy_error.mean"] = summaries.isEmpty ? 0 : summaries.reduce(0) { $0 + $1.occupancyErrorMean } / Double(summaries.count)
        m["occupancy_error.max"] = Double(summaries.map(\.occupancyErrorMax).max() ?? 0)
        m["occupancy_error_share.mean"] = summaries.isEmpty ? 0 : summaries.reduce(0) { $0 + $1.occupancyErrorShareMean } / Double(summaries.count)
        m["occupancy_error_share.max"] = summaries.map(\.occupancyErrorShareMax).max() ?? 0
        m["duty_cycle_violations"] = Double(devices.reduce(0) { $0 + $1.dutyCycleViolations })
        m["duty_cycle_use.max"] = devices.map(\.maxHourShare).max() ?? 0
        m["airtime_per_device_day"] = Double(devices.map(\.maxDayAirtime).max() ?? 0)
        m["airtime_per_device_day.mean"] = devices.isEmpty ? 0 : Double(airtime) / Double(devices.count) / days
        m["downlinks_per_device_day"] = Double(devices.map(\.maxDayDownlinks).max() ?? 0)
        m["retransmissions"] = Double(retransmissions)
        m["join_requests"] = Double(joinRequests)
        m["joins"] = Double(joinAccepts)
        m["unjoined_devices"] = Double(devices.filter { !$0.joined }.count)
        m["missed_downlinks"] = Double(network.downlinksMissed)
        m["battery_life_years.min"] = devices.map(\.batteryLifeYears).min() ?? 0
        m["average_current_ua.max"] = devices.map(\.averageMicroamps).max() ?? 0
        m["worst_site.pdr"] = summaries.map(\.pdr).min() ?? 1
        m["worst_site.staleness.p99"] = Double(summaries.map(\.staleness.p99).max() ?? 0)
        m["worst_site.occupancy_error.mean"] = summaries.map(\.occupancyErrorMean).max() ?? 0
        metrics = m

        // Over the replicas: each replica's metrics as a run of its own, their mean and 95 % interval.
        var intervals: [String: MetricInterval]?
        if partial.replicas > 1 {
            let perReplica = (0..<partial.replicas).map { r -> [String: Double] in
                var one = partial
                one.cells = partial.cells.filter { $0.replica == r }
                one.replicas = 1
                one.totalItems = partial.totalItems / partial.replicas
                var plain = sc
                plain.assertions = []
                return FleetReport(scenario: plain, partial: one).metrics
            }
            var all: [String: MetricInterval] = [:]
            for name in m.keys { all[name] = MetricInterval(perReplica.compactMap { $0[name] }) }
            intervals = all
        }
        self.intervals = intervals
        assertions = sc.assertions.map { a in
            let v = m[a.metric] ?? .nan
            let metric = FleetMetric.named(a.metric)
            let shown = metric?.format(v) ?? String(v)
            let bound = metric?.format(a.bound) ?? String(a.bound)
            let interval = intervals?[a.metric]
            guard a.onInterval else {
                let ok = a.holds(v)
                return AssertionResult(assertion: a.text, metric: a.metric, measured: v, bound: a.bound, passed: ok,
                                       text: "\(a.metric) = \(shown), \(ok ? "within" : "NOT within") \(a.op.rawValue) \(bound)", interval: interval)
            }
            // On the interval: the end that must hold the bound (the whole interval for == and !=).
            guard let i = interval, i.replicas > 1 else {
                return AssertionResult(assertion: a.text, metric: a.metric, measured: v, bound: a.bound, passed: false,
                                       text: "\(a.metric) @95% needs two replicas or more (--replicas N); this run has one")
            }
            let ok: Bool
            switch a.op {
            case .ge, .gt: ok = a.holds(i.low)
            case .le, .lt: ok = a.holds(i.high)
            case .eq, .ne: ok = a.holds(i.low) && a.holds(i.high)
            }
            let f = { (x: Double) in metric?.format(x) ?? String(x) }
            return AssertionResult(assertion: a.text, metric: a.metric, measured: v, bound: a.bound, passed: ok,
                                   text: "\(a.metric) 95 % interval \(f(i.low)) … \(f(i.high)) over \(i.replicas) replicas (mean \(f(i.mean))), "
                                       + "\(ok ? "within" : "NOT within") \(a.op.rawValue) \(bound)", interval: i)
        }
        passed = assertions.allSatisfy(\.passed)
    }

    static func staleness(_ h: DurationHistogram, changes: Int, superseded: Int, pending: Int, missed: Int) -> Staleness {
        Staleness(changes: changes, shown: h.count, p50: h.percentile(0.5), p99: h.percentile(0.99), max: h.max, superseded: superseded,
                  pending: pending, missed: missed)
    }

    /// Compares with an earlier report: each metric with a tolerance must not move the wrong way by more than it.
    /// A baseline of another scenario or another duration measures something else: refused, naming both.
    public mutating func compare(with old: FleetReport, tolerances: [String: Tolerance], baselineFile: String = "baseline") throws(InputError) {
        guard old.scenario == scenario, old.duration == duration else {
            throw InputError("the baseline is of scenario '\(old.scenario)' over \(DurationFormat.human(old.duration)); this run is '\(scenario)' over "
                             + "\(DurationFormat.human(duration))", at: .file(baselineFile))
        }
        var results: [BaselineResult] = []
        for name in tolerances.keys.sorted() {
            guard let metric = FleetMetric.named(name), var tol = tolerances[name], let was = old.metrics[name], let now = metrics[name] else { continue }
            if tol.fromInterval {
                guard let i = intervals?[name], i.replicas > 1 else {
                    throw InputError("the tolerance of \(name) is ci, which needs two replicas or more (--replicas N)")
                }
                tol = Tolerance(absolute: (i.high - i.low) / 2, relative: 0)
            }
            let ok = tol.allows(baseline: was, measured: now, higherIsBetter: metric.higherIsBetter)
            let shownTolerance = tolerances[name]?.fromInterval == true ? "ci ±\(metric.format(tol.absolute))" : tol.text
            results.append(BaselineResult(metric: name, baseline: was, measured: now, tolerance: shownTolerance, passed: ok,
                                          text: "\(name): \(metric.format(was)) → \(metric.format(now)) (tolerance \(shownTolerance), \(metric.higherIsBetter ? "higher" : "lower") is better)"))
        }
        baseline = results
        passed = assertions.allSatisfy(\.passed) && results.allSatisfy(\.passed)
    }

    public static func load(path: String) throws(InputError) -> FleetReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the file", at: .file(path)) }
        do {
            let r = try JSONDecoder().decode(FleetReport.self, from: data)
            guard r.format == formatName else { throw InputError("not a fleet report (format '\(r.format)')", at: .file(path)) }
            return r
        } catch let e as InputError {
            throw e
        } catch {
            throw InputError("not a fleet report written by --report: \(JSONErrors.describe(error))", at: .file(path))
        }
    }

    // MARK: - Output

    public var failures: [String] {
        assertions.filter { !$0.passed }.map { "assertion failed: \($0.assertion) (\($0.text))" }
            + (baseline ?? []).filter { !$0.passed }.map { "regression: \($0.text)" }
    }

    public var text: String {
        var out: [String] = []
        let dur = DurationFormat.human(duration)
        out.append("fleet \(scenario): \(dur), seed \(seed)\(replicas > 1 ? ", \(replicas) replicas" : ""); \(sensors) sensors at \(sites) sites, "
                   + "\(gateways) gateways, \(backgroundDevices) other transmitters; \(cells) radio cell\(cells == 1 ? "" : "s")")
        let pdr = metrics["pdr"] ?? 0
        out.append("  delivery    \(framesSent) frames sent, \(framesDelivered) delivered (PDR \(String(format: "%.4f", pdr))); "
                   + "\(retransmissions) retransmissions; \(joinAccepts) joins for \(joinRequests) join-requests")
        if !losses.isEmpty {
            out.append("  losses      " + losses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                       + " (transmissions no gateway received)")
        }
        out.append("  staleness   \(staleness.changes) changes on site: p50 \(DurationFormat.human(staleness.p50)), p99 \(DurationFormat.human(staleness.p99)), "
                   + "max \(DurationFormat.human(staleness.max)); \(staleness.superseded) superseded, \(staleness.pending) pending at the end, "
                   + "\(staleness.missed) vehicles the gates did not count")
        out.append(String(format: "  occupancy   error mean %.3f vehicles (%.2f %% of capacity), max %d vehicles (%.1f %%)",
                          metrics["occupancy_error.mean"] ?? 0, 100 * (metrics["occupancy_error_share.mean"] ?? 0),
                          Int(metrics["occupancy_error.max"] ?? 0), 100 * (metrics["occupancy_error_share.max"] ?? 0)))
        out.append("  airtime     busiest device-day \(DurationFormat.human(Int64(metrics["airtime_per_device_day"] ?? 0))), mean per device-day "
                   + "\(DurationFormat.human(Int64(metrics["airtime_per_device_day.mean"] ?? 0))); duty-cycle use max "
                   + String(format: "%.3f %%", 100 * (metrics["duty_cycle_use.max"] ?? 0)) + " of an hour; \(Int(metrics["duty_cycle_violations"] ?? 0)) violations")
        for k in kinds {
            out.append(String(format: "  energy      %@: %.1f µA mean, shortest battery life %.1f years", k.kind, k.meanMicroamps, k.minBatteryLifeYears))
        }
        out.append("  network     \(network.uplinksAccepted) frames accepted from \(network.gatewayCopies) gateway copies; \(network.downlinksScheduled) downlinks "
                   + "(\(network.acks) ACKs, \(network.linkADRRequests) ADR), \(network.downlinksMissed) missed, \(network.downlinksLostAtDevice) lost at the device")
        if backgroundTransmissions > 0 {
            out.append("  background  \(backgroundTransmissions) transmissions, \(backgroundDelivered) received")
        }
        var t = TextTable(["site", "bays", "gates", "visits", "changes", "PDR", "stale p50", "p99", "max", "err mean", "err max"],
                          alignments: [.left] + Array(repeating: .right, count: 10))
        for s in siteResults.prefix(40) {
            t.add([s.name, String(s.bays), String(s.gates), String(s.visits), String(s.staleness.changes), String(format: "%.4f", s.pdr),
                   DurationFormat.human(s.staleness.p50), DurationFormat.human(s.staleness.p99), DurationFormat.human(s.staleness.max),
                   String(format: "%.3f", s.occupancyErrorMean), String(s.occupancyErrorMax)])
        }
        out.append("")
        out.append(t.render(indent: "  ").trimmingCharacters(in: .newlines))
        if siteResults.count > 40 { out.append("  … and \(siteResults.count - 40) more sites (--json or --report for all)") }
        let active = gatewayResults.filter { $0.received > 0 || $0.downlinks > 0 || !$0.losses.isEmpty }
        if !active.isEmpty {
            var g = TextTable(["gateway", "received", "not received", "downlinks", "DL airtime", "DC refusals"],
                              alignments: [.left, .right, .right, .right, .right, .right])
            for r in active.prefix(20) {
                g.add([r.name, String(r.received), String(r.losses.values.reduce(0, +)), String(r.downlinks), DurationFormat.human(r.downlinkAirtime),
                       String(r.dutyCycleRefusals)])
            }
            out.append("")
            out.append(g.render(indent: "  ").trimmingCharacters(in: .newlines))
            if active.count > 20 { out.append("  … and \(active.count - 20) more gateways") }
        }
        if let iv = intervals, replicas > 1 {
            var parts: [String] = []
            for name in ["pdr", "staleness.p99", "occupancy_error.mean", "airtime_per_device_day"] {
                guard let i = iv[name], let metric = FleetMetric.named(name) else { continue }
                parts.append("\(name) \(metric.format(i.mean)) (\(metric.format(i.low)) … \(metric.format(i.high)))")
            }
            out.append("  replicas    \(replicas), mean and 95 % interval: " + parts.joined(separator: ", "))
        }
        if !assertions.isEmpty {
            out.append("")
            out.append("assertions:")
            for a in assertions { out.append("  \(a.passed ? "PASS" : "FAIL")  \(a.assertion)    (\(a.text))") }
        }
        if let b = baseline {
            out.append("")
            out.append("baseline:")
            for r in b { out.append("  \(r.passed ? "PASS" : "FAIL")  \(r.text)") }
        }
        return out.joined(separator: "\n")
    }

    /// Per-device CSV (one row per sensor and replica).
    public static func csv(_ partial: FleetPartial) -> String {
        var lines = ["replica,fleet_id,site,kind,dev_eui,x_m,y_m,frames_sent,frames_delivered,pdr,retransmissions,join_requests,join_accepts,joined,"
                     + "downlinks,confirmed_failures,losses,airtime_ms,max_day_airtime_ms,max_day_downlinks,max_hour_share,duty_cycle_violations,"
                     + "firmware_retries,final_dr,final_tx_power_index,average_ua,battery_life_years"]
        for c in partial.cells {
            for d in c.devices {
                let losses = d.losses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
                var row: [String] = [String(d.replica), String(d.fleetID), csvField(d.site), d.kind, d.devEUI]
                row += [String(format: "%.1f", d.x), String(format: "%.1f", d.y), String(d.framesSent), String(d.framesDelivered)]
                row += [String(format: "%.4f", d.deliveryRatio), String(d.retransmissions), String(d.joinRequests), String(d.joinAccepts)]
                row += [d.joined ? "1" : "0", String(d.downlinks), String(d.confirmedFailures), losses]
                row += [DurationFormat.milliseconds(d.airtime), DurationFormat.milliseconds(d.maxDayAirtime), String(d.maxDayDownlinks)]
                row += [String(format: "%.6f", d.maxHourShare), String(d.dutyCycleViolations), String(d.firmwareRetries)]
                row += [String(d.finalDataRate), String(d.finalTxPowerIndex), String(format: "%.3f", d.averageMicroamps)]
                row.append(String(format: "%.2f", d.batteryLifeYears))
                lines.append(row.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String { CSV.field(s) }

    /// JUnit XML: one test case per assertion (and per baseline comparison), failures with the measured value.
    public func junit(elapsedSeconds: Double = 0) -> String {
        let suite = "fleet." + scenario
        var cases = assertions.map { a in
            JUnit.TestCase(classname: suite, name: a.assertion, time: "0",
                           outcome: a.passed ? .passed(output: a.text) : .failed(message: a.text, type: "assertion", body: "measured \(a.text)"))
        }
        for b in baseline ?? [] {
            cases.append(JUnit.TestCase(classname: suite + ".baseline", name: "\(b.metric) no regression", time: "0",
                                        outcome: b.passed ? .passed(output: b.text) : .failed(message: b.text, type: "regression", body: b.text)))
        }
        let time = String(format: "%.3f", elapsedSeconds)
        return JUnit.document(name: "loraharness", time: time, suites: [JUnit.Suite(name: suite, time: time, cases: cases)])
    }
}

enum JSONErrors {
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing '\(key.stringValue)' at \(path(ctx.codingPath))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "unexpected value at \(path(ctx.codingPath))"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(ctx.codingPath))"
        default:
            return "unreadable"
        }
    }

    static func path(_ p: [CodingKey]) -> String { p.isEmpty ? "the top level" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
}
