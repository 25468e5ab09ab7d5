import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HarnessCore
import LoRaWAN
import Serial
import Testing
import TestSupport
@testable import Emulator
@testable import FlashTest

/// Issue 17 (flash-test): the HTML report of a jig of two boards, one of them the wrong kind. It parses as HTML
/// (libxml2's `xmllint --html`), its charts are well-formed SVG whose numbers are the JSON result's, and headless
/// Chromium renders it.
@Suite struct HTMLReportTests {
    static func boards() throws -> [BoardResult] {
        try withEmulator("occupancy-rak3172") { bay in
            var go = EmulatorOptions(profile: try DialectProfile.load("occupancy-rak3172", directory: profilesDir))
            go.kind = .gate
            go.timeScale = 100
            go.devEUI = EUI64(0x70B3_D57E_D000_5678)
            let gate = try Emulator(options: go)
            gate.start()
            defer { gate.stop() }
            do {
                var o = FlashTestOptions()
                o.timeScale = 100
                let plan = try FlashTestPlan.load(path: planPath("occupancy-bay"))
                let profile = try DialectProfile.load("occupancy-rak3172", directory: profilesDir)
                return FlashTestJig.run(plan: plan, profile: profile, boards: [.init(port: bay.path, entry: nil, sessionLog: nil),
                                                                               .init(port: gate.path, entry: nil, sessionLog: nil)], options: o) { _, _ in }
            }
        }
    }


    /// An attribute of each node an XPath finds.
    static func values(_ doc: XMLDocument, _ path: String, _ attribute: String) throws -> [String] {
        try doc.nodes(forXPath: path + "/@" + attribute).map { $0.stringValue ?? "" }
    }

    /// The page's charts, decoded from their data: URIs.
    static func charts(_ html: String) throws -> [XMLDocument] {
        var docs: [XMLDocument] = []
        var rest = html[...]
        while let r = rest.range(of: "src=\"data:image/svg+xml;base64,") {
            let tail = rest[r.upperBound...]
            guard let end = tail.firstIndex(of: "\"") else { break }
            let data = try #require(Data(base64Encoded: String(tail[..<end])))
            docs.append(try XMLDocument(data: data))
            rest = tail[end...]
        }
        return docs
    }

    @Test func theReportShowsWhatTheResultsSay() throws {
        let results = try Self.boards()
        #expect(results.map(\.passed) == [true, false])
        let html = FlashTestReport.html(results, plan: "occupancy-bay")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("flash-\(getpid()).html").path
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        // libxml2's HTML parser: no errors (Debian's libxml2-utils, installed by make deps).
        let lint = try Tool.run("xmllint", ["--html", "--noout", path])
        #expect(lint.status == 0 && lint.err.isEmpty, "xmllint: \(lint.err.prefix(500))")

        // The charts: well-formed SVG, each with a title; the numbers drawn are the results'.
        let charts = try Self.charts(html)
        #expect(charts.count == 2 + results.count)   // production summary, transmit times, a step chart per board
        for c in charts { #expect(try c.nodes(forXPath: "/*[local-name()='svg']/*[local-name()='title']").count == 1) }
        #expect(try Self.values(charts[0], "//*[@class='bar']", "data-label") == ["passed", "failed at identity"])
        #expect(try Self.values(charts[0], "//*[@class='bar']", "data-value") == ["1", "1"])
        let timed = results.flatMap(\.steps).filter { $0.measuredMilliseconds != nil }
        let xs = try Self.values(charts[1], "//*[@class='point']", "data-x").compactMap(Double.init)
        let ys = try Self.values(charts[1], "//*[@class='point']", "data-y").compactMap(Double.init)
        #expect(xs.count == timed.count && ys.count == timed.count && !timed.isEmpty)
        for (i, s) in timed.enumerated() where i < xs.count && i < ys.count {
            #expect(xs[i] == s.modelMilliseconds)
            #expect(abs(ys[i] - (s.measuredMilliseconds ?? 0)) < 1e-6)
        }
        for (chart, board) in zip(charts.dropFirst(2), results) {
            #expect(try Self.values(chart, "//*[@class='bar']", "data-label") == board.steps.map(\.name))
            let values = try Self.values(chart, "//*[@class='bar']", "data-value").compactMap(Double.init)
            #expect(values.count == board.steps.count)
            for (v, s) in zip(values, board.steps) { #expect(abs(v - s.seconds) < 1e-6, "\(v) \(s.seconds)") }
        }
        // Every step of every board is a table row.
        #expect(html.components(separatedBy: "<tr class=\"").count - 1 == results.count + results.flatMap(\.steps).count)

        // Headless Chromium (Debian's chromium, installed by make deps) renders it: the DOM has the tables and the
        // charts' images, a screenshot is written, and the console has no errors.
        let shot = path + ".png"
        defer { try? FileManager.default.removeItem(atPath: shot) }
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--window-size=1100,1500"]
        let dom = try Tool.run("chromium", flags + ["--dump-dom", "file://" + path])
        #expect(dom.status == 0, "\(dom.err.suffix(500))")
        #expect(dom.out.components(separatedBy: "<img class=\"chart\"").count - 1 == charts.count)
        #expect(dom.out.contains("<h2>FAIL  \(results[1].port)"))
        let png = try Tool.run("chromium", flags + ["--screenshot=" + shot, "file://" + path])
        #expect(png.status == 0)
        let bytes = try #require(FileManager.default.contents(atPath: shot))
        #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // A blank 1100 × 1500 page compresses to a few kilobytes; this one has text, tables and charts.
        #expect(bytes.count > 40_000, "\(bytes.count) bytes")
        for log in [dom.err, png.err] { #expect(!log.contains(":CONSOLE("), "\(log)") }
    }
}
