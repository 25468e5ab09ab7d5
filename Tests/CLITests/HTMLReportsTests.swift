import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// Issue 17: every main command's --html. Each page parses with libxml2's HTML parser (`xmllint --html`), its charts
/// are well-formed SVG whose numbers are the JSON report's, and headless Chromium renders it without console errors.
@Suite(.serialized) struct HTMLReportsTests {
    static func dir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-html-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }


    /// The page's charts: each data: image decoded and parsed as XML, by its title.
    static func charts(_ html: String) throws -> [String: XMLDocument] {
        var out: [String: XMLDocument] = [:]
        var rest = html[...]
        while let r = rest.range(of: "src=\"data:image/svg+xml;base64,") {
            let tail = rest[r.upperBound...]
            guard let end = tail.firstIndex(of: "\"") else { break }
            let doc = try XMLDocument(data: try #require(Data(base64Encoded: String(tail[..<end]))))
            let title = try doc.nodes(forXPath: "/*[local-name()='svg']/*[local-name()='title']").first?.stringValue ?? "?"
            out[title] = doc
            rest = tail[end...]
        }
        return out
    }

    static func values(_ doc: XMLDocument?, _ path: String, _ attribute: String) throws -> [String] {
        try doc?.nodes(forXPath: path + "/@" + attribute).map { $0.stringValue ?? "" } ?? []
    }

    /// xmllint and headless Chromium on a page: no parser error, the DOM has its images, a PNG is drawn, no
    /// console errors.
    static func renders(_ path: String, images: Int) throws {
        let lint = try Tool.run("xmllint", ["--html", "--noout", path])
        #expect(lint.status == 0 && lint.err.isEmpty, "xmllint \(path): \(lint.err.prefix(400))")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--window-size=1100,1500"]
        let dom = try Tool.run("chromium", flags + ["--dump-dom", "file://" + path])
        #expect(dom.status == 0)
        #expect(dom.out.components(separatedBy: "<img class=\"chart\"").count - 1 == images, "\(path)")
        let shot = path + ".png"
        let png = try Tool.run("chromium", flags + ["--screenshot=" + shot, "file://" + path])
        #expect(png.status == 0)
        let bytes = FileManager.default.contents(atPath: shot) ?? Data()
        #expect(bytes.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]) && bytes.count > 30_000, "\(bytes.count) bytes")
        for log in [dom.err, png.err] { #expect(!log.contains(":CONSOLE("), "\(log)") }
    }

    @Test func fleetReport() throws {
        let d = Self.dir(), html = d + "/fleet.html", json = d + "/fleet.json"
        let r = try CLI.run(["simulate", "Fixtures/scenarios/two-sites.yaml", "--html", html, "--report", json, "--quiet"], currentDirectory: TestPaths.root)
        #expect(r.status == 1, "\(r.stderr)")   // its assertions fail (the README's example): the page says so
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(page.contains("<title>Fleet two-sites: FAIL</title>"))
        let charts = try Self.charts(page)
        // Losses by cause: the JSON report's losses, bar for bar.
        let losses = try #require(report["losses"] as? [String: Int])
        let labels = try Self.values(charts["Losses by cause"], "//*[@class='bar']", "data-label")
        let counts = try Self.values(charts["Losses by cause"], "//*[@class='bar']", "data-value").compactMap(Int.init)
        #expect(Dictionary(uniqueKeysWithValues: zip(labels, counts)) == losses)
        // Sites worst first: by p99 staleness, as the JSON gives them.
        let sites = try #require(report["siteResults"] as? [[String: Any]])
        let byP99 = sites.sorted { (($0["staleness"] as? [String: Any])?["p99"] as? Int ?? 0) > (($1["staleness"] as? [String: Any])?["p99"] as? Int ?? 0) }
            .compactMap { $0["name"] as? String }
        let order = byP99.compactMap { name in page.range(of: "<tr><td>\(name)</td>").map { (name, $0.lowerBound) } }.sorted { $0.1 < $1.1 }.map(\.0)
        #expect(order == byP99)
        // The map: every site and gateway of the scenario, at its position.
        let marks = try Self.values(charts["Map"], "//*[@class='mark']", "data-label")
        for s in byP99 { #expect(marks.contains(s)) }
        #expect(charts.keys.contains { $0.hasSuffix(": occupancy") } && charts["Staleness distribution"] != nil)
        try Self.renders(html, images: charts.count)
    }

    @Test func channelReport() throws {
        let d = Self.dir(), html = d + "/channel.html", json = d + "/channel.json"
        let r = try CLI.run(["simulate", "Fixtures/scenarios/small-site.yaml", "--html", html, "--report", json, "--quiet"], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let charts = try Self.charts(page)
        let losses = try #require(report["losses"] as? [String: Int])
        let labels = try Self.values(charts["Losses by cause"], "//*[@class='bar']", "data-label")
        let counts = try Self.values(charts["Losses by cause"], "//*[@class='bar']", "data-value").compactMap(Int.init)
        #expect(Dictionary(uniqueKeysWithValues: zip(labels, counts)) == losses.filter { $0.value > 0 })
        #expect(try Self.values(charts["Map"], "//*[@class='mark']", "data-label").count == (report["devices"] as? Int ?? 0) + 2)
        try Self.renders(html, images: charts.count)
    }

    @Test func replayReport() throws {
        let d = Self.dir(), html = d + "/replay.html", json = d + "/replay.json"
        let r = try CLI.run(["replay", "Fixtures/traces/tts-uplinks.ndjson", "--keys", "Fixtures/traces/keys.yaml", "--sites", "Fixtures/traces/sites.csv",
                             "--html", html, "--report", json, "--quiet"], currentDirectory: TestPaths.root)
        #expect(r.status == 0, "\(r.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let charts = try Self.charts(page)
        // A device's frame counter: one point per accepted uplink of it (a short trace is not thinned), its gap marked.
        let devices = try #require(report["devices"] as? [[String: Any]])
        for dev in devices {
            guard let name = dev["device"] as? String, let chart = charts["\(name): frame counter"] else { continue }
            let points = try Self.values(chart, "//*[@class='series']", "data-points").first?.split(separator: " ") ?? []
            #expect(points.count == dev["uplinks"] as? Int ?? -1, "\(name)")
            let gaps = try Self.values(chart, "//*[@class='marker'][@data-name='gap']", "data-y")
            #expect((dev["lost"] as? Int ?? 0) == 0 ? gaps.isEmpty : !gaps.isEmpty, "\(name)")
        }
        #expect(charts["RSSI per gateway"] != nil && charts["rc-01: occupancy"] != nil)
        try Self.renders(html, images: charts.count)
    }

    /// A replay with rejections and an expected file that disagrees: the rejections by reason are the report's, the
    /// differences are listed.
    @Test func replayRejectionsAndDifferences() throws {
        let d = Self.dir(), html = d + "/bad.html", json = d + "/bad.json", expected = d + "/expected.ndjson"
        let lines = try String(contentsOf: TestPaths.root.appendingPathComponent("Fixtures/traces/tts-uplinks.ndjson"), encoding: .utf8)
        try (lines + "{not json\n").write(toFile: d + "/trace.ndjson", atomically: true, encoding: .utf8)
        try "{\"dev_eui\":\"70B3D57ED0000101\",\"fcnt\":1,\"decoded\":{\"type\":\"nothing\"}}\n".write(toFile: expected, atomically: true, encoding: .utf8)
        _ = try CLI.run(["replay", d + "/trace.ndjson", "--keys", "Fixtures/traces/keys.yaml", "--expected", expected, "--html", html, "--report", json, "--quiet"],
                        currentDirectory: TestPaths.root)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let charts = try Self.charts(page)
        let byReason = try #require(report["rejectedByReason"] as? [String: Int])
        #expect(!byReason.isEmpty)
        let labels = try Self.values(charts["Rejections by reason"], "//*[@class='bar']", "data-label")
        let counts = try Self.values(charts["Rejections by reason"], "//*[@class='bar']", "data-value").compactMap(Int.init)
        #expect(Dictionary(uniqueKeysWithValues: zip(labels, counts)) == byReason)
        #expect(page.contains("<h2>Expected output</h2>") && page.contains("{&quot;type&quot;:&quot;nothing&quot;}"))
        try Self.renders(html, images: charts.count)
    }
}
