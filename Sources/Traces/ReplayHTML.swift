import Charts
import Foundation
import HarnessCore

extension TraceReport {
    /// The replay as one self-contained HTML page, from the same results as the JSON report and the series the
    /// validator kept: rejections by reason with their first lines; per device the frame counter over time with its
    /// gaps, resets and replays marked, and its share of a sliding hour on air against the duty-cycle limit; RSSI and
    /// SNR per gateway over time; the occupancy per site (with --sites); the expected-output differences.
    /// The values' range widened by `pad` on each side.
    static func span(_ values: [Double], pad: Double) -> ClosedRange<Double> {
        let lo = (values.min() ?? 0) - pad, hi = (values.max() ?? 0) + pad
        return lo...max(hi, lo + 1)
    }

    public func html(series: ReplaySeries, worstDevices: Int = 6) -> String {
        var page = HTMLPage(title: "Replay of \(files.joined(separator: ", ")): \(passed ? "PASS" : "FAIL")")
        page.paragraph("\(read) records read: \(accepted) accepted, \(rejected) rejected; \(uplinks) uplinks, \(gatewayCopies) gateway copies, "
                       + "\(joinRequests) join-requests, \(downlinks) downlinks; MIC \(micValid) valid, \(micInvalid) invalid, \(unverified) unverified; "
                       + "\(lost) frames lost, \(resets) resets, \(replays) replays; \(dutyCycleViolations) duty-cycle violations."
                       + (interrupted.map { " Stopped by \($0): what was read so far." } ?? ""),
                       cssClass: passed ? "verdict-pass" : "verdict-fail")
        let allTimes = (series.fcnt.values.flatMap(\.points) + series.rssi.values.flatMap(\.points)).map(\.t)
        let t0 = allTimes.min() ?? 0, t1 = allTimes.max() ?? 0
        let since = t0 != 0 ? " since \(TraceTime.format(t0))" : ""
        func relative(_ s: ThinnedSeries) -> [(x: Double, y: Double)] { s.points.map { (Double($0.t - t0), $0.value) } }
        func timeChart(_ title: String, _ description: String, _ series: [LineChart.Series], y: String, yFormat: ((Double) -> String)? = nil,
                       range: ClosedRange<Double>? = nil, step: Bool = false) -> String {
            var c = LineChart(title: title, description: description, series: series, xLabel: "time" + since, yLabel: y)
            c.xFormat = { "+" + shortDuration($0) }
            c.xTicks = timeTicks(0, Double(t1 - t0))
            if let yFormat { c.yFormat = yFormat }
            c.yRange = range
            c.step = step
            return c.svg
        }

        if !rejectedByReason.isEmpty {
            page.heading("Rejections")
            let rows = rejectedByReason.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            page.figure(BarChart(title: "Rejections by reason", description: "records the pipeline refused, by reason",
                                 bars: rows.map { Bar(label: $0.key, value: Double($0.value), colour: Palette.vermillion, shown: String($0.value)) },
                                 unit: "records").svg, caption: "\(rejected) records rejected.")
            page.table(["reason", "records", "first"], rows.map { [$0.key, String($0.value), series.firstByReason[$0.key] ?? ""] }, numeric: [1])
        }

        // Devices, worst first: lost frames, resets and replays.
        let badness = { (d: DeviceFindings) in d.lost + 10 * (d.resets + d.replays) }
        let worst = devices.sorted { badness($0) != badness($1) ? badness($0) > badness($1) : $0.device < $1.device }.prefix(worstDevices)
        if !worst.isEmpty {
            page.heading("Frame counters, the \(worst.count) devices with the most gaps, resets and replays")
            for d in worst {
                guard let s = series.fcnt[d.device], !s.points.isEmpty else { continue }
                var lines = [LineChart.Series(name: "FCnt", points: relative(s), colour: Palette.blue)]
                for (mark, colour) in [("gap", Palette.orange), ("reset", Palette.purple), ("replay", Palette.vermillion)] {
                    let points = s.points.filter { $0.mark == mark }.map { (x: Double($0.t - t0), y: $0.value) }
                    if !points.isEmpty { lines.append(LineChart.Series(name: mark, points: points, colour: colour, dots: true)) }
                }
                page.figure(timeChart("\(d.device): frame counter", "uplink frame counter over time, gaps, resets and replays marked", lines, y: "FCnt"),
                            caption: "\(d.device): \(d.uplinks) uplinks, \(d.lost) lost, \(d.resets) resets, \(d.replays) replays.")
            }
            let busiest = devices.sorted { $0.maxHourShare != $1.maxHourShare ? $0.maxHourShare > $1.maxHourShare : $0.device < $1.device }.prefix(worstDevices)
            var shares: [LineChart.Series] = []
            var limit = 0.0
            for (i, d) in busiest.enumerated() {
                guard let s = series.hourShare[d.device], !s.points.isEmpty else { continue }
                shares.append(LineChart.Series(name: d.device, points: relative(s), colour: Palette.series[i % Palette.series.count]))
                limit = max(limit, series.dutyLimit[d.device] ?? 0)
            }
            if !shares.isEmpty {
                if limit > 0 {
                    shares.append(LineChart.Series(name: "limit", points: [(0, limit), (Double(t1 - t0), limit)], colour: Palette.vermillion, dashed: true))
                }
                page.heading("Airtime in the sliding hour")
                page.figure(timeChart("Share of the sliding hour on air", "per device (the busiest), at each uplink, against the band's duty-cycle limit", shares,
                                      y: "share of the hour", yFormat: { String(format: "%.2f %%", $0 * 100) }),
                            caption: "The share of the hour ending at each uplink spent on air in its sub-band; the dashed line is the limit.")
            }
        }

        if !series.rssi.isEmpty {
            page.heading("Gateways")
            let names = series.rssi.keys.sorted()
            page.figure(timeChart("RSSI per gateway", "received signal strength of each copy, dBm",
                                  names.enumerated().map { LineChart.Series(name: $0.element, points: relative(series.rssi[$0.element] ?? ThinnedSeries()),
                                                                           colour: Palette.series[$0.offset % Palette.series.count], dots: true) },
                                  y: "dBm", yFormat: { HTML.number($0) }, range: Self.span(series.rssi.values.flatMap(\.points).map(\.value), pad: 3)),
                        caption: "Each gateway's copies of the uplinks over time.")
            page.figure(timeChart("SNR per gateway", "signal-to-noise ratio of each copy, dB",
                                  names.enumerated().map { LineChart.Series(name: $0.element, points: relative(series.snr[$0.element] ?? ThinnedSeries()),
                                                                           colour: Palette.series[$0.offset % Palette.series.count], dots: true) },
                                  y: "dB", range: Self.span(series.snr.values.flatMap(\.points).map(\.value), pad: 1)),
                        caption: "Each gateway's copies of the uplinks over time.")
        }

        if !series.occupancy.isEmpty {
            page.heading("Occupancy per site")
            for name in series.occupancy.keys.sorted() {
                guard let s = series.occupancy[name] else { continue }
                page.figure(timeChart("\(name): occupancy", "vehicles on site as the decoded reports give it", [LineChart.Series(name: name, points: relative(s), colour: Palette.blue)],
                                      y: "vehicles", step: true), caption: "\(name), from the sensors' reports (--sites).")
            }
        }

        if expectedEntries != nil || !series.expectedDiff.isEmpty {
            page.heading("Expected output")
            page.paragraph("\(expectedMatched) match, \(expectedMismatched) differ, \(expectedMissing) missing from the trace, \(unexpected) not in the expected file.",
                           cssClass: expectedMismatched + expectedMissing + unexpected == 0 ? "verdict-pass" : "verdict-fail")
            if !series.expectedDiff.isEmpty {
                page.table(["entry", "expected", "decoded"], series.expectedDiff.map { [$0.entry, $0.expected, $0.got] }, classes: series.expectedDiff.map { _ in "fail" })
            }
        }
        if !problems.isEmpty {
            page.heading("Problems")
            page.table(["problem"], problems.prefix(200).map { [$0] })
        }
        return page.rendered
    }
}
