import Foundation
import HarnessCore
import RadioLink
import Testing
@testable import Fleet

/// Builds a scenario from YAML text (the file name in errors is `test.yaml`).
func scenario(_ yaml: String) throws -> FleetScenario {
    try FleetScenario.parse(try DocumentNode.parse(yaml, file: "test.yaml"), text: yaml)
}

func runFleet(_ yaml: String, jobs: Int = 1) throws -> (FleetReport, FleetPartial) {
    let sc = try scenario(yaml)
    let partial = FleetRunner(scenario: sc, jobs: jobs).run()
    return (FleetReport(scenario: sc, partial: partial), partial)
}

@Suite struct MetricsTests {
    /// Buckets: whole milliseconds below 1,024 ms; then 512 per power of two (PAYLOAD of this file's doc comment).
    @Test func histogramBuckets() {
        #expect(DurationHistogram.bucket(milliseconds: 0) == 0)
        #expect(DurationHistogram.bucket(milliseconds: 1023) == 1023)
        #expect(DurationHistogram.bucket(milliseconds: 1024) == 1024)     // 1024 >> 1 = 512: first bucket of 2^10…2^11
        #expect(DurationHistogram.bucket(milliseconds: 1025) == 1024)
        #expect(DurationHistogram.bucket(milliseconds: 2047) == 1535)     // 2047 >> 1 = 1023
        #expect(DurationHistogram.bucket(milliseconds: 2048) == 1536)     // 2048 >> 2 = 512, next power of two
        #expect(DurationHistogram.upperEdge(1024) == 1025)
        #expect(DurationHistogram.upperEdge(1535) == 2047)
        #expect(DurationHistogram.upperEdge(1536) == 2051)                // 2048…2051 share a bucket (4 ms wide)
        // 10 minutes = 600,000 ms: 600000 >> 10 = 585 (e = 10), bucket 1024 + 9·512 + 73.
        #expect(DurationHistogram.bucket(milliseconds: 600_000) == 1024 + 9 * 512 + 73)
    }

    @Test func percentilesAreNearestRank() {
        var h = DurationHistogram()
        for ms in 1...100 { h.add(Int64(ms) * Time.millisecond) }
        // Nearest rank: p50 is the 50th of 100 sorted samples, p99 the 99th.
        #expect(h.percentile(0.5) == 50 * Time.millisecond)
        #expect(h.percentile(0.99) == 99 * Time.millisecond)
        #expect(h.percentile(1) == 100 * Time.millisecond)
        #expect(h.max == 100 * Time.millisecond)
        // Above 1,024 ms a percentile is its bucket's upper edge, clamped to the exact maximum.
        var big = DurationHistogram()
        big.add(1500 * Time.millisecond)
        big.add(1700 * Time.millisecond + 300 * Time.microsecond)
        #expect(big.percentile(0.5) == 1501 * Time.millisecond)       // 1500 ms: bucket 1500…1501 ms
        #expect(big.percentile(1) == 1700 * Time.millisecond + 300 * Time.microsecond)   // the exact maximum
        #expect(DurationHistogram().percentile(0.5) == 0)
    }

    @Test func histogramsMergeExactlyAndRoundTrip() throws {
        var a = DurationHistogram(), b = DurationHistogram(), all = DurationHistogram()
        var r = SeededRandom(seed: 11)
        print("histogram merge seed 11")
        for i in 0..<5000 {
            let v = Int64(r.nextDouble() * 4e12)
            if i % 3 == 0 { a.add(v) } else { b.add(v) }
            all.add(v)
        }
        var m = a
        m.merge(b)
        #expect(m == all)
        let back = try JSONDecoder().decode(DurationHistogram.self, from: try JSONEncoder().encode(all))
        #expect(back == all)
    }

    @Test func assertionsParse() throws {
        let a = try FleetAssertion.parse("pdr >= 98%")
        #expect(a.metric == "pdr" && a.op == .ge && a.bound == 0.98)
        let b = try FleetAssertion.parse("staleness.p99<=10m")
        #expect(b.metric == "staleness.p99" && b.op == .le && b.bound == 600e9)
        let c = try FleetAssertion.parse("duty_cycle_violations == 0")
        #expect(c.holds(0) && !c.holds(1))
        #expect(try FleetAssertion.parse("airtime_per_device_day < 30s").holds(29.9e9))
        #expect(!(try FleetAssertion.parse("airtime_per_device_day < 30s").holds(30e9)))
        for (text, mentions) in [("latency <= 3s", "unknown metric 'latency'"), ("pdr about 0.9", "not an assertion"),
                                 ("staleness.p99 <= 10", "no valid unit"), ("duty_cycle_violations == 1.5", "whole number")] {
            #expect(throws: InputError.self) { try FleetAssertion.parse(text) }
            do { _ = try FleetAssertion.parse(text) } catch { #expect(error.message.contains(mentions), "\(error)") }
        }
    }

    @Test func tolerances() throws {
        let rel = try Tolerance.parse("10%")
        // Lower is better: 100 → 110 is within 10 %, 111 is not.
        #expect(rel.allows(baseline: 100, measured: 110, higherIsBetter: false))
        #expect(!rel.allows(baseline: 100, measured: 111, higherIsBetter: false))
        let abs = try Tolerance.parse("0.01")
        // Higher is better: 0.98 → 0.97 allowed, 0.969 not; improvements always allowed.
        #expect(abs.allows(baseline: 0.98, measured: 0.97, higherIsBetter: true))
        #expect(!abs.allows(baseline: 0.98, measured: 0.969, higherIsBetter: true))
        #expect(abs.allows(baseline: 0.98, measured: 0.999, higherIsBetter: true))
        #expect(try Tolerance.parse("30s").absolute == 30e9)
        #expect(throws: InputError.self) { try Tolerance.parse("a lot") }
    }

    /// 1 % of an hour is 36 s: 36 one-second transmissions fit, the 37th in the same hour does not.
    @Test func slidingHourAudit() {
        var audit = SlidingHourAudit()
        for i in 0..<36 { audit.record(start: Int64(i) * 60 * Time.second, airtime: Time.second, band: 0, limit: 0.01) }
        #expect(audit.violations == 0)
        #expect(audit.maxShare == 0.01)
        audit.record(start: 36 * 60 * Time.second, airtime: Time.second, band: 0, limit: 0.01)
        #expect(audit.violations == 1)
        // Another sub-band has its own budget.
        audit.record(start: 37 * 60 * Time.second, airtime: Time.second, band: 1, limit: 0.01)
        #expect(audit.violations == 1)
        // Two hours later the window is empty again; a transmission half inside the window counts by half.
        var b = SlidingHourAudit()
        b.record(start: 0, airtime: 10 * Time.second, band: 0, limit: 0.01)
        let share = b.record(start: Time.hour + 5 * Time.second - 2 * Time.second, airtime: 2 * Time.second, band: 0, limit: 0.01)
        // The window is [5 s, 1 h 5 s]: 5 s of the first transmission and all 2 s of the second.
        #expect(share == 7.0 / 3600)
    }
}

@Suite struct ScenarioFileTests {
    static let minimal = """
        name: t
        gateways:
          - {name: gw, position: [0, 0]}
        sites:
          - {name: a, position: [100, 0], bays: 2, gates: 1, visitsPerYear: 1000}
        """

    @Test func minimalScenarioHasDefaults() throws {
        let sc = try scenario(Self.minimal)
        #expect(sc.sensorCount == 3)
        #expect(sc.duration == Time.day)
        #expect(sc.sites[0].traffic.timeZone == "Europe/Paris")
        // 1,000 visits a year is 1000 / (365.25 / 7) a week.
        #expect(abs(sc.sites[0].traffic.visitsPerWeek - 1000 * 7 / 365.25) < 1e-9)
        #expect(sc.bay.dutyCycle == .timeCredit && sc.gate.reportIntervalSeconds == 60)
        #expect(sc.tolerances["pdr"] == Tolerance(absolute: 0.005, relative: 0))
    }

    @Test func badScenariosNameTheLineAndField() throws {
        let cases: [(String, String, Int)] = [
            (Self.minimal + "\ncolour: blue", "colour", 6),
            (Self.minimal.replacingOccurrences(of: "bays: 2, gates: 1, ", with: ""), "bays or gates", 5),
            (Self.minimal + "\nfaults:\n  - {gatewayDown: gw-9, from: 1h, to: 2h}", "no gateway named 'gw-9'", 7),
            (Self.minimal + "\nfaults:\n  - {latency: 2s, from: 3h, to: 2h}", "after 'from'", 7),
            (Self.minimal + "\nassertions:\n  - pdr > high", "not a ratio", 7),
            (Self.minimal.replacingOccurrences(of: "visitsPerYear: 1000", with: "visitsPerYear: 1000, timeZone: Mars/Olympus"), "unknown time zone", 5),
            (Self.minimal + "\ndevices:\n  bay: {reportInterval: 5s}", "reportInterval is 10…65535", 7),
            (Self.minimal + "\ndevices:\n  gate: {dataRate: 7}", "not an uplink LoRa data rate", 7),
            (Self.minimal + "\nbaseline:\n  speed: 10%", "unknown metric 'speed'", 7),
            (Self.minimal.replacingOccurrences(of: "{name: a,", with: "{name: a, script: [{at: 1h, bay: 5, occupied: true}],"), "5", 5),
            // 2026 is not a leap year: the formatter alone would roll 30 February over to 2 March.
            (Self.minimal + "\nstart: 2026-02-30T00:00:00+01:00", "2026-02-30 is not a calendar date", 6),
            // Issue 16: sizes and times from outside that trapped: a gateway grid over an enormous area, a battery of
            // 1e300 mAh, a scripted pulse ending past Int64 nanoseconds.
            (Self.minimal.replacingOccurrences(of: "  - {name: gw, position: [0, 0]}", with: "  grid: {from: [0, 0], to: [1e300, 1e300], spacing: 1}"), "more than this tool handles", 3),
            (Self.minimal + "\ndevices:\n  bay: {batteryCapacity: 1e300}", "at most 1,000,000,000", 7),
            (Self.minimal.replacingOccurrences(of: "{name: a,", with: "{name: a, script: [{at: 106751d, gate: 0, lane: in, pulse: 1000d}],"), "past the last representable time", 5),
        ]
        for (yaml, mentions, line) in cases {
            do {
                _ = try scenario(yaml)
                Issue.record("accepted: \(yaml)")
            } catch let e as InputError {
                #expect(e.message.contains(mentions), "\(e)")
                if case .field(let file, let l, _)? = e.location {
                    #expect(file == "test.yaml" && l == line, "\(e) (expected line \(line))")
                } else if case .line(let file, let l)? = e.location {
                    #expect(file == "test.yaml" && l == line, "\(e) (expected line \(line))")
                } else {
                    Issue.record("no line in \(e)")
                }
            }
        }
    }

    /// Issue 16: a 200-byte scenario that repeats one `generate: 1000000` entry ten times through YAML aliases
    /// asked for ten million sites (9.4 GB before it was killed); the number of sites is bounded before any is made.
    @Test func aliasesCannotMultiplyTheSites() throws {
        let yaml = """
            name: t
            gateways:
              - {name: gw, position: [0, 0]}
            sites:
              - &g {generate: 1000000, area: {from: [0, 0], to: [1000, 1000]}, bays: 1, visitsPerYear: 1}
              - *g
              - *g
            """
        do {
            _ = try scenario(yaml)
            Issue.record("accepted three million sites")
        } catch let e as InputError {
            #expect(e.message.contains("2000000 sites; at most 1000000"), "\(e)")
        }
    }

    /// Sites whose sensors reach disjoint sets of gateways are separate cells; shards cover every cell once.
    @Test func radioCellsAndShards() throws {
        let sc = try scenario("""
            channel: {shadowing: false}
            gateways:
              - {name: w, position: [0, 0]}
              - {name: e, position: [200000, 0]}
              - {name: far, position: [0, 400000]}
            sites:
              - {name: a, position: [100, 0], bays: 2, visitsPerYear: 0}
              - {name: b, position: [200100, 0], bays: 3, visitsPerYear: 0}
              - {name: c, position: [-100, 0], bays: 1, visitsPerYear: 0}
            """)
        let plan = FleetPlan(sc)
        #expect(plan.cells.count == 2)
        #expect(plan.cells[0].sites == [0, 2] && plan.cells[0].gateways == [0])
        #expect(plan.cells[1].sites == [1] && plan.cells[1].gateways == [1])
        #expect(plan.cells.map(\.sensors) == [[0, 1, 5], [2, 3, 4]])
        for n in 1...4 {
            let shards = (0..<n).map { plan.cells(shard: $0, of: n) }
            #expect(shards.flatMap { $0 }.sorted() == [0, 1], "\(n) shards: \(shards)")
        }
    }
}
