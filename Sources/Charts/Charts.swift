import Foundation

/// Self-contained HTML reports: inline SVG charts and CSS, no network, no fonts, no scripts. Each chart has a title,
/// a text alternative (`<title>`/`<desc>` and `aria-label`), and its numbers in `data-*` attributes, so a test (or a
/// reader's tool) can read back exactly what was drawn.
public enum HTML {
    /// Text for element content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and line ends are not allowed in HTML text.
                if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    /// A number as an attribute value: plain decimal, never exponent notation or NaN.
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        var t = String(format: "%.6f", v)
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t == "-0" ? "0" : t
    }
}

/// The Okabe–Ito palette (Okabe and Ito, "Color Universal Design", 2008): told apart with every common colour-vision
/// deficiency.
public enum Palette {
    public static let blue = "#0072B2", orange = "#E69F00", green = "#009E73", vermillion = "#D55E00", sky = "#56B4E9",
                      purple = "#CC79A7", yellow = "#F0E442", grey = "#7F7F7F"
    public static let series = [blue, orange, green, vermillion, sky, purple, yellow, grey]
    public static let pass = green, fail = vermillion, skip = grey
}

/// The charts' own style (an SVG shown as an image does not see the page's CSS).
let svgStyle = "<style>text{font:12px system-ui,-apple-system,sans-serif;fill:#222}text.tick{fill:#555;font-size:11px}</style>"

/// Round tick values for an axis from `low` to `high`: 1, 2 or 5 times a power of ten, about `count` of them.
public func niceTicks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
    guard high > low, low.isFinite, high.isFinite else { return [low] }
    let raw = (high - low) / Double(max(1, count))
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var ticks: [Double] = []
    var t = ceil(low / step) * step
    while t <= high + step * 1e-9 && ticks.count < 50 {
        ticks.append(abs(t) < step * 1e-9 ? 0 : t)
        t += step
    }
    return ticks
}

/// One bar of a horizontal bar chart.
public struct Bar: Sendable {
    public var label: String
    public var value: Double
    public var colour: String
    /// The value as people read it (`1.23 s`, `0.9808`).
    public var shown: String
    public init(label: String, value: Double, colour: String = Palette.blue, shown: String? = nil) {
        self.label = label; self.value = value; self.colour = colour; self.shown = shown ?? HTML.number(value)
    }
}

/// A horizontal bar chart: one row per bar, its value written at the bar's end.
public struct BarChart: Sendable {
    public var title: String
    public var description: String
    public var bars: [Bar]
    public var unit: String
    public var width = 720
    public init(title: String, description: String, bars: [Bar], unit: String) {
        self.title = title; self.description = description; self.bars = bars; self.unit = unit
    }

    public var svg: String {
        let row = 22, labelWidth = 220, top = 8, right = 90
        let height = top + row * max(1, bars.count) + 28
        let plot = Double(width - labelWidth - right)
        let maxValue = max(bars.map(\.value).max() ?? 0, 0)
        let scale = maxValue > 0 ? plot / maxValue : 0
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" aria-label=\"\(HTML.escape(title + ": " + description))\" data-chart=\"bars\" data-unit=\"\(HTML.escape(unit))\">"
        s += "<title>\(HTML.escape(title))</title><desc>\(HTML.escape(description))</desc>" + svgStyle
        for (i, b) in bars.enumerated() {
            let y = top + i * row
            let w = max(0, b.value) * scale
            s += "<g class=\"bar\" data-label=\"\(HTML.escape(b.label))\" data-value=\"\(HTML.number(b.value))\">"
            s += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(HTML.escape(b.label))</text>"
            s += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(HTML.number(w.rounded()))\" height=\"\(row - 6)\" fill=\"\(b.colour)\"/>"
            s += "<text x=\"\(labelWidth + Int(w) + 4)\" y=\"\(y + 15)\">\(HTML.escape(b.shown))</text></g>"
        }
        let axisY = top + row * max(1, bars.count) + 4
        s += "<line x1=\"\(labelWidth)\" y1=\"\(axisY)\" x2=\"\(width - right)\" y2=\"\(axisY)\" stroke=\"#444\"/>"
        for t in niceTicks(0, maxValue > 0 ? maxValue : 1, count: 4) where t <= maxValue || maxValue == 0 {
            let x = labelWidth + Int((t * scale).rounded())
            s += "<text x=\"\(x)\" y=\"\(axisY + 16)\" text-anchor=\"middle\" class=\"tick\">\(HTML.number(t))</text>"
        }
        s += "<text x=\"\(width - right + 14)\" y=\"\(axisY + 16)\" class=\"tick\">\(HTML.escape(unit))</text></svg>"
        return s
    }
}

/// Points against points: a measured value against a model's, one marker per point, the line y = x for agreement.
public struct ScatterChart: Sendable {
    public struct Point: Sendable {
        public var label: String
        public var x: Double
        public var y: Double
        public var colour: String
        public init(label: String, x: Double, y: Double, colour: String = Palette.blue) { self.label = label; self.x = x; self.y = y; self.colour = colour }
    }
    public var title: String
    public var description: String
    public var xLabel: String
    public var yLabel: String
    public var points: [Point]
    /// Draw y = x.
    public var diagonal = true
    public init(title: String, description: String, xLabel: String, yLabel: String, points: [Point]) {
        self.title = title; self.description = description; self.xLabel = xLabel; self.yLabel = yLabel; self.points = points
    }

    public var svg: String {
        let w = 420, h = 340, left = 60, bottom = 44, top = 10, right = 14
        let all = points.flatMap { [$0.x, $0.y] }
        let high = (all.max() ?? 1) * 1.1
        let hi = high > 0 ? high : 1
        func px(_ v: Double) -> Double { Double(left) + v / hi * Double(w - left - right) }
        func py(_ v: Double) -> Double { Double(h - bottom) - v / hi * Double(h - bottom - top) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
            + "aria-label=\"\(HTML.escape(title + ": " + description))\" data-chart=\"scatter\">"
        s += "<title>\(HTML.escape(title))</title><desc>\(HTML.escape(description))</desc>" + svgStyle
        s += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - right)\" y2=\"\(h - bottom)\" stroke=\"#444\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"#444\"/>"
        for t in niceTicks(0, hi, count: 4) {
            s += "<text x=\"\(HTML.number(px(t).rounded()))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\" class=\"tick\">\(HTML.number(t))</text>"
            s += "<text x=\"\(left - 6)\" y=\"\(HTML.number(py(t).rounded() + 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.number(t))</text>"
        }
        if diagonal {
            s += "<line x1=\"\(HTML.number(px(0)))\" y1=\"\(HTML.number(py(0)))\" x2=\"\(HTML.number(px(hi)))\" y2=\"\(HTML.number(py(hi)))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
        }
        for p in points {
            s += "<circle class=\"point\" cx=\"\(HTML.number(px(p.x).rounded()))\" cy=\"\(HTML.number(py(p.y).rounded()))\" r=\"5\" fill=\"\(p.colour)\" "
                + "data-label=\"\(HTML.escape(p.label))\" data-x=\"\(HTML.number(p.x))\" data-y=\"\(HTML.number(p.y))\"><title>\(HTML.escape(p.label))</title></circle>"
        }
        s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 8)\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        s += "<text x=\"14\" y=\"\((top + h - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \((top + h - bottom) / 2))\">\(HTML.escape(yLabel))</text></svg>"
        return s
    }
}

/// A page: a title, sections of headings, paragraphs, tables and charts; one file with its CSS inline.
public struct HTMLPage: Sendable {
    public var title: String
    private var body: [String] = []
    public init(title: String) { self.title = title }

    public mutating func heading(_ text: String, level: Int = 2) { body.append("<h\(level)>\(HTML.escape(text))</h\(level)>") }
    public mutating func paragraph(_ text: String, cssClass: String? = nil) {
        body.append("<p\(cssClass.map { " class=\"\($0)\"" } ?? "")>\(HTML.escape(text))</p>")
    }
    /// A chart with a caption. The SVG goes in as an image (a `data:` URI): the page stays one file, HTML parsers that
    /// know no SVG (libxml2's) read it without complaint, and the image's `alt` is the chart's text alternative.
    public mutating func figure(_ svg: String, caption: String) {
        let alt = svg.range(of: "aria-label=\"").flatMap { r in svg[r.upperBound...].firstIndex(of: "\"").map { String(svg[r.upperBound..<$0]) } } ?? ""
        let encoded = Data(svg.utf8).base64EncodedString()
        body.append("<div class=\"figure\"><img class=\"chart\" alt=\"\(alt)\" src=\"data:image/svg+xml;base64,\(encoded)\"><p class=\"caption\">\(HTML.escape(caption))</p></div>")
    }
    /// A table; `classes[i]` styles row i (`pass`, `fail`, `skip`).
    public mutating func table(_ header: [String], _ rows: [[String]], classes: [String?] = [], numeric: Set<Int> = []) {
        var s = "<table><thead><tr>" + header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for (i, r) in rows.enumerated() {
            let cls = i < classes.count ? classes[i].map { " class=\"\($0)\"" } ?? "" : ""
            s += "<tr\(cls)>" + r.enumerated().map { j, c in "<td\(numeric.contains(j) ? " class=\"num\"" : "")>\(HTML.escape(c))</td>" }.joined() + "</tr>"
        }
        body.append(s + "</tbody></table>")
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
        h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
        table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
        td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.pass td:first-child{color:#00734f;font-weight:bold}
        tr.fail td:first-child{color:#b34700;font-weight:bold}tr.skip td:first-child{color:#666}
        div.figure{margin:12px 0}p.caption{color:#555;font-size:12px;margin:2px 0}img.chart{max-width:100%;height:auto}
        .verdict-pass{color:#00734f;font-weight:bold}.verdict-fail{color:#b34700;font-weight:bold}
        """

    public var rendered: String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
            + "<title>\(HTML.escape(title))</title><style>\(HTMLPage.css)</style></head><body><h1>\(HTML.escape(title))</h1>\n"
            + body.joined(separator: "\n") + "\n</body></html>\n"
    }
}

/// Lines over an x axis (time, or a value for a CDF): each series its own colour, drawn as steps (a state held until
/// the next sample) or straight segments, with a legend.
public struct LineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var colour: String
        public var dashed = false
        /// Markers at the points instead of a line (events on a timeline: a gap, a reset).
        public var dots = false
        public init(name: String, points: [(x: Double, y: Double)], colour: String, dashed: Bool = false, dots: Bool = false) {
            self.name = name; self.points = points; self.colour = colour; self.dashed = dashed; self.dots = dots
        }
    }
    public var title: String
    public var description: String
    public var series: [Series]
    public var step = false
    public var xLabel: String
    public var yLabel: String
    /// Tick labels: the axis values as people read them (durations, percentages).
    public var xFormat: (Double) -> String = { HTML.number($0) }
    public var yFormat: (Double) -> String = { HTML.number($0) }
    /// Fixed y range (nil: from 0 to the data's maximum).
    public var yRange: ClosedRange<Double>?
    /// Tick positions on x (nil: round numbers); a time axis gives whole hours or days.
    public var xTicks: [Double]?
    /// Vertical bands to shade (an outage), x from … to.
    public var bands: [(from: Double, to: Double, label: String)] = []
    public var width = 720, height = 260

    public init(title: String, description: String, series: [Series], xLabel: String, yLabel: String) {
        self.title = title; self.description = description; self.series = series; self.xLabel = xLabel; self.yLabel = yLabel
    }

    public var svg: String {
        let left = 64, right = 150, top = 12, bottom = 40
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let x0 = xs.min() ?? 0, x1 = max(xs.max() ?? 1, x0 + 1e-9)
        var y0 = yRange?.lowerBound ?? 0, y1 = max(yRange?.upperBound ?? (ys.max() ?? 1), y0 + 1e-9)
        if y1 - y0 < 1e-6 { y0 -= 1; y1 += 1 }   // one value: a band around it, not a degenerate axis
        let pw = Double(width - left - right), ph = Double(height - top - bottom)
        func px(_ v: Double) -> Double { Double(left) + (v - x0) / (x1 - x0) * pw }
        func py(_ v: Double) -> Double { Double(top) + ph - (v - y0) / (y1 - y0) * ph }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
            + "aria-label=\"\(HTML.escape(title + ": " + description))\" data-chart=\"lines\">"
        s += "<title>\(HTML.escape(title))</title><desc>\(HTML.escape(description))</desc>" + svgStyle
        for b in bands {
            let a = px(max(x0, b.from)), z = px(min(x1, b.to))
            guard z > a else { continue }
            s += "<rect class=\"band\" x=\"\(HTML.number(a.rounded()))\" y=\"\(top)\" width=\"\(HTML.number(max(1, (z - a).rounded())))\" height=\"\(Int(ph))\" "
                + "fill=\"#F0E442\" fill-opacity=\"0.35\" data-from=\"\(HTML.number(b.from))\" data-to=\"\(HTML.number(b.to))\"><title>\(HTML.escape(b.label))</title></rect>"
        }
        s += "<line x1=\"\(left)\" y1=\"\(top + Int(ph))\" x2=\"\(width - right)\" y2=\"\(top + Int(ph))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + Int(ph))\" stroke=\"#444\"/>"
        for t in (xTicks ?? niceTicks(x0, x1, count: 5)) where t >= x0 && t <= x1 {
            s += "<text x=\"\(HTML.number(px(t).rounded()))\" y=\"\(top + Int(ph) + 16)\" text-anchor=\"middle\" class=\"tick\">\(HTML.escape(xFormat(t)))</text>"
        }
        for t in niceTicks(y0, y1, count: 4) {
            s += "<text x=\"\(left - 6)\" y=\"\(HTML.number(py(t).rounded() + 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(yFormat(t)))</text>"
            s += "<line x1=\"\(left)\" y1=\"\(HTML.number(py(t).rounded()))\" x2=\"\(width - right)\" y2=\"\(HTML.number(py(t).rounded()))\" stroke=\"#eee\"/>"
        }
        for (i, sr) in series.enumerated() where !sr.points.isEmpty {
            if sr.dots {
                for p in sr.points {
                    s += "<circle class=\"marker\" cx=\"\(HTML.number(px(p.x).rounded()))\" cy=\"\(HTML.number(py(p.y).rounded()))\" r=\"4\" fill=\"\(sr.colour)\" "
                        + "data-name=\"\(HTML.escape(sr.name))\" data-x=\"\(HTML.number(p.x))\" data-y=\"\(HTML.number(p.y))\"/>"
                }
                let ly = top + 14 + i * 16
                s += "<circle cx=\"\(width - right + 19)\" cy=\"\(ly - 4)\" r=\"4\" fill=\"\(sr.colour)\"/><text x=\"\(width - right + 32)\" y=\"\(ly)\">\(HTML.escape(sr.name))</text>"
                continue
            }
            var d = ""
            for (k, p) in sr.points.enumerated() {
                let x = HTML.number(px(p.x).rounded()), y = HTML.number(py(p.y).rounded())
                if k == 0 { d += "M\(x) \(y)" } else if step { d += "H\(x)V\(y)" } else { d += "L\(x) \(y)" }
            }
            let values = sr.points.map { "\(HTML.number($0.x)),\(HTML.number($0.y))" }.joined(separator: " ")
            s += "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(sr.colour)\" stroke-width=\"1.6\"\(sr.dashed ? " stroke-dasharray=\"5 3\"" : "") "
                + "data-name=\"\(HTML.escape(sr.name))\" data-points=\"\(values)\"/>"
            let ly = top + 14 + i * 16
            s += "<line x1=\"\(width - right + 10)\" y1=\"\(ly - 4)\" x2=\"\(width - right + 28)\" y2=\"\(ly - 4)\" stroke=\"\(sr.colour)\" stroke-width=\"2\"\(sr.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            s += "<text x=\"\(width - right + 32)\" y=\"\(ly)\">\(HTML.escape(sr.name))</text>"
        }
        s += "<text x=\"\(left + Int(pw) / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        s += "<text x=\"14\" y=\"\(top + Int(ph) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(top + Int(ph) / 2))\">\(HTML.escape(yLabel))</text></svg>"
        return s
    }
}

/// A duration in nanoseconds as a tick label: "0", "45 s", "15 min", "2 h", "1 d 6 h".
public func shortDuration(_ ns: Double) -> String {
    let s = ns / 1e9
    if abs(s) < 1e-9 { return "0" }
    if abs(s) < 60 { return HTML.number((s * 10).rounded() / 10) + " s" }
    if abs(s) < 3600 { return HTML.number((s / 60 * 10).rounded() / 10) + " min" }
    if abs(s) < 86_400 { return HTML.number((s / 3600 * 10).rounded() / 10) + " h" }
    let days = Int(s / 86_400), hours = Int((s - Double(days) * 86_400) / 3600)
    return hours == 0 ? "\(days) d" : "\(days) d \(hours) h"
}

/// Ticks for a time axis in nanoseconds from `low` to `high`: a round step (a minute … a week) giving about `count`.
public func timeTicks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
    let minute = 60e9, hour = 3600e9, day = 86_400e9
    let steps = [minute, 5 * minute, 15 * minute, 30 * minute, hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day, 7 * day, 14 * day, 30 * day]
    let step = steps.first { (high - low) / $0 <= Double(count) } ?? steps[steps.count - 1]
    var t = (low / step).rounded(.up) * step
    var out: [Double] = []
    while t <= high && out.count < 60 { out.append(t); t += step }
    return out
}

/// Positions on a plane (metres east and north): labelled markers, coloured by a value, for a map of a deployment.
public struct MapChart {
    public struct Mark {
        public var label: String
        public var x: Double, y: Double
        public var colour: String
        /// circle (a site), triangle (a gateway), square (other transmitters), dot (a device).
        public var shape: String
        public var value: Double?
        public var note: String?
        public init(label: String, x: Double, y: Double, colour: String, shape: String, value: Double? = nil, note: String? = nil) {
            self.label = label; self.x = x; self.y = y; self.colour = colour; self.shape = shape; self.value = value; self.note = note
        }
    }
    public var title: String
    public var description: String
    public var marks: [Mark]
    public var legend: [(colour: String, text: String)] = []
    public var size = 620

    public init(title: String, description: String, marks: [Mark]) { self.title = title; self.description = description; self.marks = marks }

    public var svg: String {
        let pad = 46.0, legendHeight = 18 * max(1, legend.count) + 8
        let xs = marks.map(\.x), ys = marks.map(\.y)
        let minX = xs.min() ?? 0, maxX = xs.max() ?? 1, minY = ys.min() ?? 0, maxY = ys.max() ?? 1
        let span = max(maxX - minX, maxY - minY, 1)
        let scale = (Double(size) - 2 * pad) / span
        func px(_ v: Double) -> Double { pad + (v - minX) * scale }
        func py(_ v: Double) -> Double { Double(size) - pad - (v - minY) * scale }
        let h = size + legendHeight
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"\(size)\" height=\"\(h)\" viewBox=\"0 0 \(size) \(h)\" "
            + "aria-label=\"\(HTML.escape(title + ": " + description))\" data-chart=\"map\">"
        s += "<title>\(HTML.escape(title))</title><desc>\(HTML.escape(description))</desc>" + svgStyle
        s += "<rect x=\"\(Int(pad) - 6)\" y=\"\(Int(pad) - 6)\" width=\"\(size - 2 * Int(pad) + 12)\" height=\"\(size - 2 * Int(pad) + 12)\" fill=\"none\" stroke=\"#ddd\"/>"
        // A scale bar: a round number of kilometres (or metres) about a fifth of the span.
        let target = span / 5
        let mag = pow(10, floor(log10(target)))
        let bar = [1.0, 2.0, 5.0, 10.0].map { $0 * mag }.last { $0 <= target } ?? mag
        s += "<line x1=\"\(Int(pad))\" y1=\"\(size - 14)\" x2=\"\(HTML.number((pad + bar * scale).rounded()))\" y2=\"\(size - 14)\" stroke=\"#222\" stroke-width=\"2\"/>"
        s += "<text x=\"\(Int(pad))\" y=\"\(size - 20)\" class=\"tick\">\(bar >= 1000 ? HTML.number(bar / 1000) + " km" : HTML.number(bar) + " m")</text>"
        for m in marks {
            let x = px(m.x).rounded(), y = py(m.y).rounded()
            let data = "class=\"mark\" data-label=\"\(HTML.escape(m.label))\" data-x=\"\(HTML.number(m.x))\" data-y=\"\(HTML.number(m.y))\""
                + (m.value.map { " data-value=\"\(HTML.number($0))\"" } ?? "")
            let tip = "<title>\(HTML.escape(m.label + (m.note.map { ": " + $0 } ?? "")))</title>"
            switch m.shape {
            case "triangle":
                s += "<path \(data) d=\"M\(HTML.number(x)) \(HTML.number(y - 8))L\(HTML.number(x + 7)) \(HTML.number(y + 5))L\(HTML.number(x - 7)) \(HTML.number(y + 5))Z\" fill=\"\(m.colour)\" stroke=\"#222\">\(tip)</path>"
                s += "<text x=\"\(HTML.number(x + 9))\" y=\"\(HTML.number(y + 4))\" class=\"tick\">\(HTML.escape(m.label))</text>"
            case "square":
                s += "<rect \(data) x=\"\(HTML.number(x - 2))\" y=\"\(HTML.number(y - 2))\" width=\"4\" height=\"4\" fill=\"\(m.colour)\">\(tip)</rect>"
            case "dot":
                s += "<circle \(data) cx=\"\(HTML.number(x))\" cy=\"\(HTML.number(y))\" r=\"2.5\" fill=\"\(m.colour)\">\(tip)</circle>"
            default:
                s += "<circle \(data) cx=\"\(HTML.number(x))\" cy=\"\(HTML.number(y))\" r=\"7\" fill=\"\(m.colour)\" stroke=\"#222\">\(tip)</circle>"
                s += "<text x=\"\(HTML.number(x + 9))\" y=\"\(HTML.number(y + 4))\">\(HTML.escape(m.label))</text>"
            }
            if let n = m.note, m.shape == "triangle" {
                s += "<circle cx=\"\(HTML.number(x))\" cy=\"\(HTML.number(y))\" r=\"12\" fill=\"none\" stroke=\"#D55E00\" stroke-width=\"2\" stroke-dasharray=\"3 2\"><title>\(HTML.escape(n))</title></circle>"
            }
        }
        for (i, l) in legend.enumerated() {
            let y = size + 14 + 18 * i
            s += "<rect x=\"\(Int(pad))\" y=\"\(y - 10)\" width=\"12\" height=\"12\" fill=\"\(l.colour)\"/><text x=\"\(Int(pad) + 18)\" y=\"\(y)\">\(HTML.escape(l.text))</text>"
        }
        return s + "</svg>"
    }
}

/// A colour for a ratio from 0 to 1 on a colour-blind-safe scale (vermillion below `low`, orange, sky blue, blue
/// at 1), for maps coloured by delivery ratio.
public func ratioColour(_ r: Double, low: Double = 0.9) -> String {
    if r >= 0.99 { return Palette.blue }
    if r >= 0.97 { return Palette.sky }
    if r >= low { return Palette.orange }
    return Palette.vermillion
}

/// Bars of a ratio per key (delivered over sent, per spreading factor or distance band), in key order, coloured by
/// `ratioColour`; a key with nothing counts as 1.
public func ratioBars<K: Comparable>(_ counts: [K: (total: Int, good: Int)], label: (K, Int) -> String) -> [Bar] {
    counts.keys.sorted().map { k in
        let v = counts[k] ?? (0, 0)
        let r = v.total > 0 ? Double(v.good) / Double(v.total) : 1
        return Bar(label: label(k, v.total), value: r, colour: ratioColour(r), shown: String(format: "%.4f", r))
    }
}
