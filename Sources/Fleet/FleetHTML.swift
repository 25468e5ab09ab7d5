import Charts
import Foundation
import HarnessCore
import Network
import RadioLink

extension FleetReport {
    /// The fleet run as one self-contained HTML page, from the same results as the JSON report: the assertions
    /// first, the sites worst first (longest p99 staleness), their occupancy shown against true over time and their
    /// staleness distributions, delivery by spreading factor and by distance to the nearest gateway, losses by cause,
    /// a map, duty-cycle use and battery life across the sensors, downlinks per gateway. Large fleets are summarised:
    /// the worst sites are drawn, devices are binned.
    public func html(scenario sc: FleetScenario, partial: FleetPartial, worstSites: Int = 6) -> String {
        var page = HTMLPage(title: "Fleet \(scenario): \(passed ? "PASS" : "FAIL")")
        page.paragraph("\(DurationFormat.human(duration)) simulated, seed \(seed)\(replicas > 1 ? ", \(replicas) replicas" : ""); \(sensors) sensors at "
                       + "\(sites) sites, \(gateways) gateways, \(backgroundDevices) other transmitters; \(framesSent) frames sent, \(framesDelivered) delivered.",
                       cssClass: passed ? "verdict-pass" : "verdict-fail")

        // Assertions first.
        if !assertions.isEmpty || !(baseline ?? []).isEmpty {
            page.heading("Assertions")
            var rows: [[String]] = [], classes: [String?] = []
            for a in assertions {
                let metric = FleetMetric.named(a.metric)
                let f = { (v: Double) in metric?.format(v) ?? HTML.number(v) }
                let interval = a.interval.map { "\(f($0.low)) … \(f($0.high)) (\($0.replicas) replicas)" } ?? ""
                rows.append([a.passed ? "PASS" : "FAIL", a.assertion, f(a.measured), f(a.bound), interval])
                classes.append(a.passed ? "pass" : "fail")
            }
            for b in baseline ?? [] {
                let metric = FleetMetric.named(b.metric)
                rows.append([b.passed ? "PASS" : "FAIL", "baseline: \(b.metric)", metric?.format(b.measured) ?? HTML.number(b.measured),
                             "\(metric?.format(b.baseline) ?? HTML.number(b.baseline)) (tolerance \(b.tolerance))", ""])
                classes.append(b.passed ? "pass" : "fail")
            }
            page.table(["result", "assertion", "measured", "bound", "95 % interval"], rows, classes: classes, numeric: [2, 3])
        }

        // Sites, worst first.
        let order = siteResults.sorted { $0.staleness.p99 != $1.staleness.p99 ? $0.staleness.p99 > $1.staleness.p99 : $0.name < $1.name }
        page.heading("Sites, worst first")
        let listed = order.prefix(200)
        if order.count > listed.count { page.paragraph("The \(listed.count) worst of \(order.count) sites; every site is in the JSON report (--report).") }
        page.table(["site", "bays", "gates", "visits", "PDR", "stale p50", "p99", "max", "error mean", "error max"],
                   listed.map { s in [s.name, String(s.bays), String(s.gates), String(s.visits), String(format: "%.4f", s.pdr),
                                     DurationFormat.human(s.staleness.p50), DurationFormat.human(s.staleness.p99), DurationFormat.human(s.staleness.max),
                                     String(format: "%.3f", s.occupancyErrorMean), String(s.occupancyErrorMax)] },
                   numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let outages: [(from: Double, to: Double, label: String)] = sc.faults.compactMap { f in
            if case .gatewayDown(let g, let from, let to) = f, g < sc.gateways.count {
                return (Double(from), Double(to), "\(sc.gateways[g].name) down \(DurationFormat.human(from)) to \(DurationFormat.human(to))")
            }
            return nil
        }
        let firstReplica = partial.cells.filter { $0.replica == 0 }.flatMap(\.sites)
        let drawn = order.prefix(worstSites)
        if !drawn.isEmpty {
            page.heading("Occupancy shown against true, the \(drawn.count) worst sites", level: 3)
            for s in drawn {
                guard let r = firstReplica.first(where: { $0.name == s.name }), !r.timeline.isEmpty, r.sampleEvery > 0 else { continue }
                let t = { (i: Int) in Double(Int64(i + 1) * r.sampleEvery) }
                var chart = LineChart(title: "\(s.name): occupancy", description: "vehicles on site as residents were shown it and as it was, sampled every "
                                      + DurationFormat.human(r.sampleEvery) + (outages.isEmpty ? "" : "; gateway outages shaded"),
                                      series: [LineChart.Series(name: "true", points: r.timeline.enumerated().map { (t($0.offset), Double($0.element.count > 1 ? $0.element[1] : 0)) },
                                                                colour: Palette.grey),
                                               LineChart.Series(name: "shown", points: r.timeline.enumerated().map { (t($0.offset), Double($0.element.first ?? 0)) },
                                                                colour: Palette.blue)],
                                      xLabel: "time since start", yLabel: "vehicles")
                chart.step = true
                chart.xFormat = { shortDuration($0) }
                chart.xTicks = timeTicks(0, Double(duration))
                chart.bands = outages
                page.figure(chart.svg, caption: "\(s.name): staleness p99 \(DurationFormat.human(s.staleness.p99)), occupancy error mean "
                            + String(format: "%.3f", s.occupancyErrorMean) + " vehicles, max \(s.occupancyErrorMax).")
            }
            // Staleness distributions.
            let pooled = Dictionary(grouping: partial.cells.flatMap(\.sites), by: \.name)
            var series: [LineChart.Series] = []
            var histograms: [(String, DurationHistogram)] = []
            for s in drawn {
                var h = DurationHistogram()
                for r in pooled[s.name] ?? [] { h.merge(r.staleness) }
                if h.count > 0 { histograms.append((s.name, h)) }
            }
            // Up to the largest p99 of these sites: the tail beyond is in the table.
            let reach = Double(histograms.map { $0.1.percentile(0.99) }.max() ?? 0)
            for (i, (name, h)) in histograms.enumerated() {
                var points: [(x: Double, y: Double)] = []
                for q in stride(from: 0, through: 99, by: 1) {
                    let x = Double(h.percentile(Double(q) / 100))
                    if x <= reach { points.append((x, Double(q) / 100)) }
                }
                series.append(LineChart.Series(name: name, points: points, colour: Palette.series[i % Palette.series.count]))
            }
            if !series.isEmpty {
                var cdf = LineChart(title: "Staleness distribution", description: "share of changes shown within a given time, per site (the worst sites)",
                                    series: series, xLabel: "time until shown", yLabel: "share of changes")
                cdf.xFormat = { shortDuration($0) }
                cdf.yFormat = { String(format: "%.0f %%", $0 * 100) }
                cdf.yRange = 0...1
                cdf.xTicks = timeTicks(0, reach)
                page.figure(cdf.svg, caption: "Cumulative distribution of the time from a change on site to the app showing it, to the largest p99 of these sites.")
            }
        }

        // Delivery by spreading factor and by distance.
        let devices = partial.cells.flatMap(\.devices)
        page.heading("Delivery")
        var bySF: [Int: (total: Int, good: Int)] = [:]
        for d in devices {
            let sf = sc.region.dataRate(d.finalDataRate)?.modulation.lora?.spreadingFactor ?? 0
            bySF[sf, default: (0, 0)].total += d.framesSent
            bySF[sf, default: (0, 0)].good += d.framesDelivered
        }
        page.figure(BarChart(title: "Delivery ratio by spreading factor", description: "frames delivered over frames sent, by each sensor's final data rate",
                             bars: ratioBars(bySF) { sf, n in "SF\(sf) (\(n) frames)" }, unit: "PDR").svg,
                    caption: "Sensors are counted at the spreading factor they ended the run on.")
        var byDistance: [Int: (total: Int, good: Int)] = [:]
        for d in devices {
            let bin = Int((sc.gateways.map { hypot($0.x - d.x, $0.y - d.y) }.min() ?? 0) / 1000)
            byDistance[bin, default: (0, 0)].total += d.framesSent
            byDistance[bin, default: (0, 0)].good += d.framesDelivered
        }
        page.figure(BarChart(title: "Delivery ratio by distance to the nearest gateway", description: "per 1 km band",
                             bars: ratioBars(byDistance) { k, n in "\(k)–\(k + 1) km (\(n) frames)" }, unit: "PDR").svg,
                    caption: "Frames of the sensors in each band of distance to their nearest gateway.")
        page.figure(BarChart(title: "Losses by cause", description: "sensor transmissions no gateway received, by the cause at the strongest gateway",
                             bars: losses.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
                                 Bar(label: $0.key, value: Double($0.value), colour: Palette.vermillion, shown: String($0.value))
                             }, unit: "frames").svg,
                    caption: "\(losses.values.reduce(0, +)) sensor transmissions received by no gateway.")

        // The map.
        var marks: [MapChart.Mark] = []
        for g in sc.background {
            let (x, y): (Double, Double)
            switch g.placement {
            case .disc(let cx, let cy, _): (x, y) = (cx, cy)
            case .rectangle(let x0, let y0, let x1, let y1): (x, y) = ((x0 + x1) / 2, (y0 + y1) / 2)
            case .positions(let p): (x, y) = (p.first?.x ?? 0, p.first?.y ?? 0)
            }
            marks.append(MapChart.Mark(label: "\(g.name) (\(g.count))", x: x, y: y, colour: Palette.grey, shape: "square", note: "\(g.count) other transmitters around here"))
        }
        // Many sites: unlabelled dots (the page stays small), labels only for a readable number.
        let pdrOf = Dictionary(siteResults.map { ($0.name, $0.pdr) }, uniquingKeysWith: { a, _ in a })
        for s in sc.sites {
            let r = pdrOf[s.name] ?? 1
            marks.append(MapChart.Mark(label: s.name, x: s.x, y: s.y, colour: ratioColour(r), shape: sc.sites.count > 60 ? "dot" : "circle", value: r,
                                       note: String(format: "PDR %.4f", r)))
        }
        for (i, g) in sc.gateways.enumerated() {
            let down = outages.filter { $0.label.hasPrefix(g.name + " ") }.map(\.label).joined(separator: "; ")
            let received = i < gatewayResults.count ? gatewayResults[i].received : 0
            marks.append(MapChart.Mark(label: g.name, x: g.x, y: g.y, colour: Palette.green, shape: "triangle", value: Double(received),
                                       note: down.isEmpty ? "\(received) frames received" : down))
        }
        var map = MapChart(title: "Map", description: "gateways (triangles, a dashed ring when one was down), sites coloured by delivery ratio, other transmitters' groups (squares); metres east and north",
                           marks: marks)
        map.legend = [(Palette.blue, "PDR ≥ 0.99"), (Palette.sky, "0.97 ≤ PDR < 0.99"), (Palette.orange, "0.90 ≤ PDR < 0.97"), (Palette.vermillion, "PDR < 0.90")]
        page.heading("Map")
        page.figure(map.svg, caption: "Positions in metres east and north of the scenario's origin.")

        // Duty cycle, battery, downlinks.
        page.heading("Sensors")
        func histogram(_ values: [Double], step: Double, label: (Double) -> String) -> [Bar] {
            var bins: [Int: Int] = [:]
            for v in values where v.isFinite { bins[Int((v / step).rounded(.down)), default: 0] += 1 }
            return bins.keys.sorted().map { k in Bar(label: label(Double(k) * step), value: Double(bins[k] ?? 0), colour: Palette.blue, shown: String(bins[k] ?? 0)) }
        }
        page.figure(BarChart(title: "Duty-cycle use", description: "sensors by the busiest sliding hour's share on air in one sub-band",
                             bars: histogram(devices.map { $0.maxHourShare * 100 }, step: 0.1) { String(format: "%.1f–%.1f %%", $0, $0 + 0.1) },
                             unit: "sensors").svg,
                    caption: "The regional limit is 1 % in EU868's default sub-band; LoRaMac-node's time credits can reach 2 % of a sliding hour.")
        page.figure(BarChart(title: "Battery life", description: "sensors by estimated battery life",
                             bars: histogram(devices.map(\.batteryLifeYears), step: 0.5) { String(format: "%.1f–%.1f years", $0, $0 + 0.5) },
                             unit: "sensors").svg,
                    caption: "From each sensor's energy ledger over the run.")
        page.figure(BarChart(title: "Downlinks per gateway", description: "downlinks each gateway sent",
                             bars: gatewayResults.map { Bar(label: $0.name, value: Double($0.downlinks), colour: Palette.green, shown: String($0.downlinks)) },
                             unit: "downlinks").svg,
                    caption: "Join-accepts, acknowledgements and MAC commands together.")
        return page.rendered
    }
}
