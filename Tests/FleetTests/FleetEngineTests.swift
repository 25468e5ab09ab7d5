import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HarnessCore
import Network
import Testing
@testable import Fleet

/// A site 200 m from one gateway, no shadowing or fading, the sensors at DR5 without ADR: an ideal link, so every
/// outcome below follows from the firmware's rules and the LoRa airtime formula.
func idealSite(bays: Int = 1, gates: Int = 0, script: String, extra: String = "", devices: String = "", gate: String = "dataRate: 5") -> String {
    """
    name: ideal
    seed: 3
    duration: 6h
    powerUpSpread: 1s
    channel: {shadowing: false, fading: 0}
    network: {adr: false}
    gateways:
      - {name: gw, position: [0, 0]}
    sites:
      - name: s
        position: [200, 0]
        spread: 1
        bays: \(bays)
        gates: \(gates)
        visitsPerYear: 0
        script: \(script)
    devices:
      bay: {adr: false, dataRate: 5, antennaGain: 0\(devices)}
      gate: {adr: false, \(gate)\(devices)}
    \(extra)
    """
}

@Suite struct FleetEngineTests {
    /// A car parks at 2 h and leaves at 2 h 30 m. The firmware reports each change when its 0.5 s debounce ends
    /// (PAYLOAD.md section 6 defaults), in a bay_state of ceil((26 + 12 K) / 8) bytes with K history entries
    /// (PAYLOAD.md 4.1): 5 bytes, then 7. The frame adds 13 bytes (MHDR, FHDR, FPort, MIC). Airtime at SF7/125 kHz,
    /// CR 4/5, explicit header, CRC, 8-symbol preamble (Semtech AN1200.13, symbol 1.024 ms):
    /// 18 bytes → 8 + ceil((144 − 28 + 28 + 16) / 28) × 5 = 38 payload symbols + 12.25 = 51.456 ms;
    /// 20 bytes → 8 + ceil(176 / 28) × 5 = 43 + 12.25 symbols = 56.576 ms. The app shows a change when its uplink ends.
    @Test func stalenessOnAnIdealLinkIsDebouncePlusAirtime() throws {
        let (report, partial) = try runFleet(idealSite(script: "[{at: 2h, bay: 0, occupied: true}, {at: 2h30m, bay: 0, occupied: false}]"))
        let site = try #require(partial.cells.first?.sites.first)
        #expect(site.changes == 2)
        #expect(site.staleness.count == 2)
        #expect(site.staleness.max == 500 * Time.millisecond + 56_576 * Time.microsecond)
        #expect(site.staleness.percentile(0.5) == 552 * Time.millisecond)   // 551.456 ms, in its 1 ms bucket (upper edge)
        #expect(site.superseded == 0 && site.pending == 0)
        // |shown − true| is 1 vehicle during each delay and 0 otherwise.
        #expect(site.errorMax == 1)
        #expect(site.errorIntegral == Double(2 * 500 * Time.millisecond + (51_456 + 56_576) * Time.microsecond))
        #expect(report.metrics["pdr"] == 1)
        #expect(report.framesSent == report.framesDelivered)
    }

    /// The gate's hold-off (5 s after a counted pulse, PAYLOAD.md section 6) makes it miss a second car 3 s behind
    /// the first; cars a minute apart are all counted and shown.
    @Test func gateCountsAndMisses() throws {
        let script = "[{at: 2h, gate: 0, lane: in}, {at: 2h0m3s, gate: 0, lane: in}, {at: 3h, gate: 0, lane: out}, {at: 3h1m, gate: 0, lane: out}]"
        let (report, partial) = try runFleet(idealSite(bays: 0, gates: 1, script: script))
        let site = try #require(partial.cells.first?.sites.first)
        #expect(site.changes == 4)
        #expect(site.missed == 1)
        #expect(site.staleness.count == 3 && site.pending == 0)
        #expect(report.staleness.missed == 1)
        #expect(report.metrics["missed_changes"] == 1)
        #expect(report.framesSent == report.framesDelivered)
    }

    /// A gateway out of service loses the report of the 2 h change; the 3 h change overtakes it.
    @Test func gatewayDownLosesAndSupersedes() throws {
        let yaml = idealSite(script: "[{at: 2h, bay: 0, occupied: true}, {at: 3h, bay: 0, occupied: false}]",
                             extra: "faults:\n  - {gatewayDown: gw, from: 1h50m, to: 2h10m}")
        let (report, partial) = try runFleet(yaml)
        let site = try #require(partial.cells.first?.sites.first)
        let device = try #require(partial.cells.first?.devices.first)
        #expect(device.losses == ["gateway_down": 1])
        #expect(site.superseded == 1)
        #expect(site.staleness.count == 1)
        #expect(report.metrics["staleness.unresolved"] == 1)
        #expect(report.gatewayResults[0].losses["gateway_down"] == 1)
    }

    /// A network server slower than RX2 (2 s after a data uplink) misses every acknowledgement: a confirmed
    /// uplink is sent 8 times (the MAC's default trials) and fails.
    @Test func latencyBeyondRX2MissesAcknowledgements() throws {
        let yaml = idealSite(script: "[{at: 2h, bay: 0, occupied: true}]",
                             extra: "faults:\n  - {latency: 2500ms, from: 1h50m, to: 2h30m}", devices: ", confirmed: true")
        let (report, partial) = try runFleet(yaml)
        let device = try #require(partial.cells.first?.devices.first)
        #expect(device.retransmissions == 7)
        #expect(device.confirmedFailures == 1)
        #expect(report.network.downlinksMissed == 8)
        // Outside the window the boot message and heartbeats are acknowledged in RX1.
        #expect(report.network.acks >= 1)
    }

    /// After a power cut every sensor starts again and joins again (OTAA); the counters survive in storage.
    @Test func powerCutMakesEverySensorRejoin() throws {
        let yaml = idealSite(bays: 3, gates: 1, script: "[{at: 1h, bay: 1, occupied: true}]",
                             extra: "faults:\n  - {powerCut: all, at: 2h, duration: 10m}")
        let (report, partial) = try runFleet(yaml)
        #expect(report.joinAccepts == 8)
        #expect(partial.cells[0].devices.allSatisfy { $0.joinAccepts == 2 && $0.joined })
        // The bay that was occupied before the cut is still shown occupied: no change is pending or lost.
        #expect(report.staleness.pending == 0 && report.staleness.superseded == 0)
    }

    /// The time-credit policy (LoRaMac-node) can spend a full hour's credit and keep earning: up to 2 % in a
    /// sliding hour, which the audit reports; the sliding-window policy stays within 1 %.
    @Test func dutyCycleAuditCatchesTimeCreditBursts() throws {
        var script: [String] = []
        for m in stride(from: 0, to: 150, by: 1) { script.append("{at: \(60 + m)m, gate: 0, lane: \(m % 2 == 0 ? "in" : "out")}") }
        let busy = "[" + script.joined(separator: ", ") + "]"
        func run(_ policy: String) throws -> FleetReport {
            try runFleet(idealSite(bays: 0, gates: 1, script: busy, gate: "dataRate: 0, reportInterval: 10s, dutyCycle: \(policy)")).0
        }
        let credit = try run("time-credit")
        let window = try run("sliding-window")
        #expect(credit.metrics["duty_cycle_violations"]! > 0)
        #expect(credit.metrics["duty_cycle_use.max"]! > 0.01)
        #expect(window.metrics["duty_cycle_violations"] == 0)
        #expect(window.metrics["duty_cycle_use.max"]! <= 0.01)
    }

    static let twoCells = """
        name: two-towns
        seed: 9
        duration: 1d
        powerUpSpread: 10m
        channel: {shadowing: per-link, fading: 3}
        gateways:
          - {name: west, position: [0, 0], antennaGain: 3}
          - {name: east, position: [3000000, 0], antennaGain: 3}
        sites:
          - {name: w1, position: [800, 300], bays: 6, gates: 1, visitsPerYear: 60000}
          - {name: e1, position: [3000900, -200], bays: 4, gates: 1, visitsPerYear: 30000}
          - {name: w2, position: [-1500, 900], bays: 3, gates: 1, visitsPerYear: 20000}
        background:
          - {name: meters, count: 40, placement: {disc: {center: [0, 0], radius: 3000}}, traffic: {interval: 20m, payload: 20}, radio: {sf: auto}}
        assertions:
          - pdr >= 0.5
          - staleness.p99 <= 1h
        """

    /// Cells run on several threads or in shards merge to the same report, byte for byte.
    @Test func shardsAndJobsGiveTheSameResults() throws {
        let sc = try scenario(Self.twoCells)
        let runner = FleetRunner(scenario: sc)
        #expect(runner.plan.cells.count == 2)
        let whole = runner.run()
        let threaded = FleetRunner(scenario: sc, jobs: 2).run()
        let a = FleetRunner(scenario: sc).run(items: runner.items(shard: 0, of: 2), shard: "1/2")
        let b = FleetRunner(scenario: sc).run(items: runner.items(shard: 1, of: 2), shard: "2/2")
        // Through JSON, as the shard files go.
        func trip(_ p: FleetPartial) throws -> FleetPartial { try JSONDecoder().decode(FleetPartial.self, from: try JSONEncoder().encode(p)) }
        let merged = try FleetPartial.merge([("b.json", try trip(b)), ("a.json", try trip(a))])
        let reference = try JSONOutput.encode(FleetReport(scenario: sc, partial: whole))
        #expect(try JSONOutput.encode(FleetReport(scenario: sc, partial: threaded)) == reference)
        #expect(try JSONOutput.encode(FleetReport(scenario: sc, partial: merged)) == reference)
        #expect(merged.cells == whole.cells)
        // A missing or doubled shard is refused.
        #expect(throws: InputError.self) { try FleetPartial.merge([("a.json", a)]) }
        #expect(throws: InputError.self) { try FleetPartial.merge([("a.json", a), ("a2.json", a), ("b.json", b)]) }
        var other = b
        other.seed = 10
        #expect(throws: InputError.self) { try FleetPartial.merge([("a.json", a), ("b.json", other)]) }
    }

    /// Issue 15: six replicas of a one-cell fleet on three shards run two on each (they all ran on the first), and the
    /// shards merge to the unsharded report byte for byte; replicas are different runs (their delivery differs).
    @Test func replicasSpreadOverShards() throws {
        var sc = try scenario(Self.twoCells)
        sc.sites = [sc.sites[0]]
        sc.duration = 2 * Time.day
        let runner = FleetRunner(scenario: sc, replicas: 6)
        #expect(runner.plan.cells.count == 1)
        let shares = (0..<3).map { runner.items(shard: $0, of: 3) }
        #expect(shares.map(\.count) == [2, 2, 2])
        #expect(Set(shares.flatMap { $0 }) == Set(runner.items))
        let whole = runner.run()
        let parts = (0..<3).map { i in ("\(i).json", FleetRunner(scenario: sc, replicas: 6).run(items: shares[i], shard: "\(i + 1)/3")) }
        let merged = try FleetPartial.merge(parts)
        #expect(try JSONOutput.encode(FleetReport(scenario: sc, partial: merged)) == (try JSONOutput.encode(FleetReport(scenario: sc, partial: whole))))
        let sent = (0..<6).map { r in whole.cells.filter { $0.replica == r }.flatMap(\.devices).reduce(0) { $0 + $1.framesSent } }
        #expect(Set(sent).count > 1, "\(sent)")
    }

    /// Issue 15: the 95 % interval of a mean, by hand: 1…5 has mean 3, s = √2.5 = 1.5811, t(4) = 2.776 (NIST/SEMATECH
    /// table), half-width 2.776 · 1.5811 / √5 = 1.9629.
    @Test func intervalsByHand() {
        let i = MetricInterval([1, 2, 3, 4, 5])
        #expect(i.replicas == 5 && i.mean == 3)
        #expect(abs(i.low - 1.0371) < 1e-4 && abs(i.high - 4.9629) < 1e-4, "\(i)")
        let one = MetricInterval([0.9])
        #expect(one.low == 0.9 && one.high == 0.9)
    }

    /// Assertions on the replicas' interval: `pdr >= B @95%` holds when the interval's lower end does; with one
    /// replica it cannot be judged and fails saying so; a baseline of another scenario is refused naming both.
    @Test func assertionsOnTheInterval() throws {
        var sc = try scenario(Self.twoCells)
        sc.duration = 12 * Time.hour
        sc.assertions = [try FleetAssertion.parse("pdr >= 0.5 @95%"), try FleetAssertion.parse("pdr >= 0.9999 @95%"),
                         try FleetAssertion.parse("staleness.p99 <= 1h @95%")]
        let four = FleetReport(scenario: sc, partial: FleetRunner(scenario: sc, replicas: 4).run())
        let i = try #require(four.intervals?["pdr"])
        #expect(i.replicas == 4 && i.low < i.mean && i.mean < i.high)
        #expect(four.assertions.map(\.passed) == [true, false, true], "\(four.assertions.map(\.text))")
        #expect(four.assertions[0].text.hasPrefix("pdr 95 % interval ") && four.assertions[0].text.contains("over 4 replicas"), "\(four.assertions[0].text)")
        let single = FleetReport(scenario: sc, partial: FleetRunner(scenario: sc).run())
        #expect(single.assertions.allSatisfy { !$0.passed && $0.text.hasSuffix("needs two replicas or more (--replicas N); this run has one") })
        #expect(throws: InputError.self) { try FleetAssertion.parse("pdr >= 0.9 @90%") }
        var other = four
        other.scenario = "another"
        var mine = four
        do {
            try mine.compare(with: other, tolerances: Tolerance.defaults, baselineFile: "old.json")
            Issue.record("a baseline of another scenario was taken")
        } catch {
            #expect(error.message.contains("'another'") && error.message.contains("'\(four.scenario)'"), "\(error)")
        }
        // ci: the half-width of this run's interval.
        try mine.compare(with: four, tolerances: ["pdr": try Tolerance.parse("ci")])
        #expect(mine.baseline?.first?.tolerance.hasPrefix("ci ±") == true && mine.baseline?.first?.passed == true)
    }

    @Test func sameSeedSameResultsOtherSeedOtherResults() throws {
        var sc = try scenario(Self.twoCells)
        let one = try JSONOutput.encode(FleetReport(scenario: sc, partial: FleetRunner(scenario: sc).run()))
        let again = try JSONOutput.encode(FleetReport(scenario: sc, partial: FleetRunner(scenario: sc).run()))
        sc.seed = 10
        let other = try JSONOutput.encode(FleetReport(scenario: sc, partial: FleetRunner(scenario: sc).run()))
        #expect(one == again)
        #expect(one != other)
    }

    /// Conservation: every frame a sensor sent is delivered or lost for a counted reason; every change on site is
    /// shown, superseded or pending; gate counts reach the application.
    @Test func resultsAddUp() throws {
        let (report, partial) = try runFleet(Self.twoCells)
        let devices = partial.cells.flatMap(\.devices)
        let transmissions = devices.reduce(0) { $0 + $1.framesSent + $1.retransmissions + $1.joinRequests }
        let lost = devices.reduce(0) { $0 + $1.losses.values.reduce(0, +) }
        // Heard by the network = transmitted − lost (each transmission is one channel packet).
        #expect(report.network.uplinksHeard == transmissions - lost)
        #expect(report.network.joinRequests + report.network.uplinksAccepted + report.network.repeats == report.network.uplinksHeard)
        for s in partial.cells.flatMap(\.sites) {
            #expect(s.changes == s.staleness.count + s.superseded + s.pending + s.missed, "\(s.name)")
        }
        #expect(report.sensors == 16 && devices.count == 16)   // 6 + 1, 4 + 1, 3 + 1
        #expect(report.backgroundTransmissions > 0)
    }

    @Test func outputsAreRealFiles() throws {
        var (report, partial) = try runFleet(Self.twoCells)
        // JUnit: one test case per assertion, parsed by an XML parser.
        let xml = try XMLDocument(xmlString: report.junit(elapsedSeconds: 1.5))
        let cases = try xml.nodes(forXPath: "//testcase")
        #expect(cases.count == 2)
        #expect(try xml.nodes(forXPath: "/testsuites/testsuite/@tests").first?.stringValue == "2")
        // CSV: a header and one row per sensor.
        let csv = FleetReport.csv(partial).split(separator: "\n")
        #expect(csv.count == 17)
        #expect(csv[0].hasPrefix("replica,fleet_id,site,kind,dev_eui"))
        // The JSON report reads back; compared with itself it passes, with a better baseline it regresses.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-report-\(getpid()).json").path
        try JSONOutput.encode(report).write(toFile: path, atomically: true, encoding: .utf8)
        let old = try FleetReport.load(path: path)
        try report.compare(with: old, tolerances: Tolerance.defaults)
        #expect(report.passed == old.passed)
        #expect(report.baseline?.allSatisfy(\.passed) == true)
        var better = old
        better.metrics["pdr"] = (old.metrics["pdr"] ?? 0) + 0.02
        try report.compare(with: better, tolerances: Tolerance.defaults)
        #expect(!report.passed)
        #expect(report.failures.contains { $0.hasPrefix("regression: pdr") })
        // A failed comparison is a failed JUnit case.
        let failed = try XMLDocument(xmlString: report.junit())
        #expect(try failed.nodes(forXPath: "//failure").count == 1)
        try? FileManager.default.removeItem(atPath: path)
    }
}
