import Charts
import Foundation
import HarnessCore

extension ChannelSimulation.Report {
    /// A channel scenario's run as one self-contained HTML page, from the same results as the JSON report: delivery
    /// by spreading factor and by distance to the nearest gateway, losses by cause, per gateway, a map of gateways and
    /// devices coloured by delivery ratio, and the devices' duty-cycle use.
    public func html(scenario sc: Scenario, devices: [ChannelSimulation.DeviceResult]) -> String {
        var page = HTMLPage(title: "Channel scenario \(scenario)")
        page.paragraph("\(DurationFormat.human(durationNanoseconds)) simulated, seed \(seed); \(self.devices) devices, \(sc.gateways.count) gateways; "
                       + "\(generated) packets generated, \(transmitted) transmitted, \(delivered) delivered (delivery ratio "
                       + String(format: "%.4f", deliveryRatio) + ").")
        page.heading("Delivery")
        page.figure(BarChart(title: "Delivery ratio by spreading factor", description: "packets delivered over packets generated, per spreading factor",
                             bars: ratioBars(Dictionary(perSF.map { ($0.sf, (total: $0.generated, good: $0.delivered)) }, uniquingKeysWith: { a, _ in a })) { sf, n in
                                 "SF\(sf) (\(n) packets)"
                             }, unit: "ratio").svg, caption: "Each device at its spreading factor.")
        var byDistance: [Int: (total: Int, good: Int)] = [:]
        for d in devices {
            let bin = Int((sc.gateways.map { hypot($0.x - d.x, $0.y - d.y) }.min() ?? 0) / 1000)
            byDistance[bin, default: (0, 0)].total += d.generated
            byDistance[bin, default: (0, 0)].good += d.delivered
        }
        page.figure(BarChart(title: "Delivery ratio by distance to the nearest gateway", description: "per 1 km band",
                             bars: ratioBars(byDistance) { k, n in "\(k)–\(k + 1) km (\(n) packets)" }, unit: "ratio").svg, caption: "Packets of the devices in each band of distance to their nearest gateway.")
        page.figure(BarChart(title: "Losses by cause", description: "packets no gateway received, by cause",
                             bars: losses.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
                                 Bar(label: $0.key, value: Double($0.value), colour: Palette.vermillion, shown: String($0.value))
                             }, unit: "packets").svg, caption: "\(losses.values.reduce(0, +)) packets lost.")
        page.heading("Gateways")
        page.table(["gateway", "received"] + Array(Set(perGateway.flatMap { $0.losses.keys })).sorted(),
                   perGateway.map { g in [g.name, String(g.received)] + Array(Set(perGateway.flatMap { $0.losses.keys })).sorted().map { String(g.losses[$0] ?? 0) } },
                   numeric: Set(1...(1 + Set(perGateway.flatMap { $0.losses.keys }).count)))
        var marks = devices.map { d in
            MapChart.Mark(label: "\(d.group) \(d.device)", x: d.x, y: d.y, colour: ratioColour(d.generated > 0 ? Double(d.delivered) / Double(d.generated) : 1),
                          shape: "dot", value: d.generated > 0 ? Double(d.delivered) / Double(d.generated) : 1, note: "SF\(d.sf), \(d.delivered) of \(d.generated) delivered")
        }
        for g in sc.gateways {
            let received = perGateway.first { $0.name == g.name }?.received ?? 0
            marks.append(MapChart.Mark(label: g.name, x: g.x, y: g.y, colour: Palette.green, shape: "triangle", value: Double(received)))
        }
        var map = MapChart(title: "Map", description: "gateways (triangles) and devices (dots) coloured by delivery ratio; metres east and north", marks: marks)
        map.legend = [(Palette.blue, "ratio ≥ 0.99"), (Palette.sky, "0.97 ≤ ratio < 0.99"), (Palette.orange, "0.90 ≤ ratio < 0.97"), (Palette.vermillion, "ratio < 0.90")]
        page.heading("Map")
        page.figure(map.svg, caption: "Positions in metres east and north of the scenario's origin.")
        var bins: [Int: Int] = [:]
        for d in devices where durationNanoseconds > 0 { bins[Int(Double(d.airtimeNanoseconds) / Double(durationNanoseconds) * 1000), default: 0] += 1 }
        page.heading("Devices")
        page.figure(BarChart(title: "Duty-cycle use", description: "devices by their share of the run on air",
                             bars: bins.keys.sorted().map { k in Bar(label: String(format: "%.1f–%.1f %%", Double(k) / 10, Double(k + 1) / 10), value: Double(bins[k] ?? 0),
                                                                     colour: Palette.blue, shown: String(bins[k] ?? 0)) }, unit: "devices").svg,
                    caption: "Airtime over the simulated duration, per device.")
        return page.rendered
    }
}
