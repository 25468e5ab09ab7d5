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
