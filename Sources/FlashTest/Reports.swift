import Charts
import Foundation
import HarnessCore

public enum FlashTestReport {
    /// One self-contained HTML page for a run of one or more boards: the verdicts, the production summary (boards
    /// passed, failed by step), each step's duration per board, and measured against modelled transmit times.
    public static func html(_ boards: [BoardResult], plan: String) -> String {
        var page = HTMLPage(title: "flash-test: \(plan)")
        let passed = boards.filter(\.passed).count
        page.paragraph("\(boards.count) board\(boards.count == 1 ? "" : "s"): \(passed) passed, \(boards.count - passed) failed.",
                       cssClass: passed == boards.count ? "verdict-pass" : "verdict-fail")
        page.table(["result", "port", "DevEUI", "firmware", "failing step", "time"],
                   boards.map { [$0.passed ? "PASS" : "FAIL", $0.port, $0.devEUI ?? "", $0.firmware ?? "", $0.failingStep ?? "", String(format: "%.2f s", $0.seconds)] },
                   classes: boards.map { $0.passed ? "pass" : "fail" }, numeric: [5])
        if boards.count > 1 {
            var byStep: [String: Int] = [:]
            for b in boards where !b.passed { byStep[b.failingStep ?? "?", default: 0] += 1 }
            var bars = [Bar(label: "passed", value: Double(passed), colour: Palette.pass)]
            for (step, n) in byStep.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                bars.append(Bar(label: "failed at \(step)", value: Double(n), colour: Palette.fail))
            }
            page.heading("Production summary")
            page.figure(BarChart(title: "Boards by outcome", description: "\(passed) of \(boards.count) boards passed; the others by the step they failed at",
                                 bars: bars, unit: "boards").svg, caption: "Boards that passed, and the failed ones by failing step.")
        }
        let timed = boards.flatMap { b in b.steps.compactMap { s -> ScatterChart.Point? in
            guard let m = s.measuredMilliseconds, let e = s.modelMilliseconds else { return nil }
            return ScatterChart.Point(label: "\(b.port) \(s.name): \(HTML.number(m)) ms measured, \(HTML.number(e)) ms modelled",
                                      x: e, y: m, colour: s.status == .passed ? Palette.pass : Palette.fail)
        } }
        if !timed.isEmpty {
            page.heading("Transmit time against the airtime model")
            page.figure(ScatterChart(title: "Measured against modelled time on air", description: "one point per transmit-time step; on the dashed line they agree",
                                     xLabel: "model, ms", yLabel: "measured, ms", points: timed).svg,
                        caption: "Each transmit-time step: the time on air measured on the board against the radio-link model's.")
        }
        for b in boards {
            page.heading("\(b.passed ? "PASS" : "FAIL")  \(b.port)" + (b.devEUI.map { " (\($0))" } ?? ""))
            page.table(["step", "result", "time", "detail"],
                       b.steps.map { s in
                           var detail = s.detail
                           if let e = s.expected { detail += " — expected: \(e)" }
                           if let g = s.got { detail += "; got: \(g)" }
                           return [s.name, s.status == .passed ? "PASS" : s.status == .failed ? "FAIL" : "skip", String(format: "%.2f s", s.seconds), detail]
                       },
                       classes: b.steps.map { $0.status == .passed ? "pass" : $0.status == .failed ? "fail" : "skip" }, numeric: [2])
            page.figure(BarChart(title: "Step durations, \(b.port)", description: "seconds per step of the plan, coloured by result",
                                 bars: b.steps.map { s in
                                     Bar(label: s.name, value: s.seconds, colour: s.status == .passed ? Palette.pass : s.status == .failed ? Palette.fail : Palette.skip,
                                         shown: String(format: "%.2f s", s.seconds))
                                 }, unit: "s").svg,
                        caption: "How long each step took on \(b.port) (green passed, vermillion failed, grey skipped).")
        }
        return page.rendered
    }

    static func xml(_ s: String) -> String { XMLText.escape(s) }

    /// JUnit XML for one board: a test suite, one test case per step (skipped steps marked so).
    /// The JUnit suite's name: the plan and the board's identity (its DevEUI when known), never the port, so that a
    /// board keeps its history in CI whichever port it is on.
    public static func suiteName(_ r: BoardResult) -> String { r.devEUI.map { "\(r.plan) \($0)" } ?? r.plan }

    public static func junit(_ r: BoardResult) -> String {
        let cases = r.steps.map { s -> JUnit.TestCase in
            let outcome: JUnit.Outcome
            switch s.status {
            case .passed: outcome = .passed(output: s.detail)
            case .skipped: outcome = .skipped(message: s.detail)
            case .failed:
                var body = s.detail
                if let e = s.expected { body += "\nexpected: \(e)" }
                if let g = s.got { body += "\ngot: \(g)" }
                if !s.lastLines.isEmpty { body += "\nlast lines from the board:\n" + s.lastLines.joined(separator: "\n") }
                // A port fault is an error of the run (the board was not reached), a failed check a failure.
                outcome = s.portFault == true ? .error(message: s.detail, type: "port", body: body) : .failed(message: s.detail, type: "step", body: body)
            }
            return JUnit.TestCase(classname: "flash-test.\(r.plan)", name: s.name, time: String(format: "%.3f", s.seconds), outcome: outcome)
        }
        let time = String(format: "%.3f", r.seconds)
        let properties = [("port", r.port), ("profile", r.profile), ("devEUI", r.devEUI ?? ""), ("firmware", r.firmware ?? "")].map { (name: $0.0, value: $0.1) }
        return JUnit.document(name: "loraharness flash-test", time: time,
                              suites: [JUnit.Suite(name: suiteName(r), time: time, properties: properties, cases: cases)])
    }

    /// The diagnosis of a failed board, for people.
    public static func diagnosis(_ r: BoardResult) -> String? {
        guard let step = r.steps.first(where: { $0.status == .failed }) else { return nil }
        var lines = ["\(r.port): step '\(step.name)' failed: \(step.detail)"]
        if let e = step.expected { lines.append("  expected: \(e)") }
        if let g = step.got { lines.append("  got:      \(g)") }
        if !step.lastLines.isEmpty {
            lines.append("  last lines from the board:")
            lines += step.lastLines.map { "    " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}

/// The production log: one CSV row per board tested, appended.
/// `time,port,usb_serial,dev_eui,firmware,result,failing_step`.
public struct ProductionLog {
    public let path: String
    public static let header = "time,port,usb_serial,dev_eui,firmware,result,failing_step"

    public init(path: String) { self.path = path }

    public struct Row: Sendable, Equatable {
        public var time: String
        public var port: String
        public var usbSerial: String
        public var devEUI: String
        public var firmware: String
        public var passed: Bool
        public var failingStep: String
    }

    static func field(_ s: String) -> String { CSV.field(s) }

    public func append(_ r: BoardResult) throws(InputError) {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: Data((ProductionLog.header + "\n").utf8)) else {
                throw InputError("cannot create the production log", at: .file(path))
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw InputError("cannot append to the production log", at: .file(path)) }
        defer { try? h.close() }
        let time = ISO8601DateFormatter().string(from: Date())
        // A run stopped by a signal judged nothing: "stopped", neither passed nor failed (a --retest runs it again).
        let result = r.interrupted == true ? "stopped" : r.passed ? "pass" : "fail"
        let row = [time, r.port, r.usbSerial ?? "", r.devEUI ?? "", r.firmware ?? "", result, r.failingStep ?? ""]
            .map(ProductionLog.field).joined(separator: ",")
        do {
            _ = try h.seekToEnd()
            try h.write(contentsOf: Data((row + "\n").utf8))
        } catch {
            throw InputError("cannot append to the production log: \(error.localizedDescription)", at: .file(path))
        }
    }

    /// Every row so far (a missing log is empty); malformed rows name their line.
    public func rows() throws(InputError) -> [Row] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [Row] = []
        for (i, line) in String(decoding: data, as: UTF8.self).textLines.enumerated() where i > 0 && !line.isEmpty {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 7 else { throw InputError("a production log row has 7 fields", at: .line(file: path, line: i + 1)) }
            out.append(Row(time: f[0], port: f[1], usbSerial: f[2], devEUI: f[3], firmware: f[4], passed: f[5] == "pass", failingStep: f[6]))
        }
        return out
    }

    /// The last result per board key (DevEUI when known, else port).
    /// The last result of every board, by DevEUI, by USB serial number (`usb:SERIAL`) and by port (`port:PORT`).
    public func lastResults() throws(InputError) -> [String: Bool] {
        var last: [String: Bool] = [:]
        for r in try rows() {
            if !r.devEUI.isEmpty { last[r.devEUI] = r.passed }
            if !r.usbSerial.isEmpty { last["usb:" + r.usbSerial] = r.passed }
            last["port:" + r.port] = r.passed
        }
        return last
    }
}

/// Production checks across boards: identities must be unique.
public enum ProductionChecks {
    /// Boards of one run that report the same DevEUI fail, each naming the others' ports: two boards with one
    /// identity cannot both join a network.
    public static func flagDuplicates(_ results: inout [BoardResult]) {
        var ports: [String: [String]] = [:]
        for r in results { if let d = r.devEUI { ports[d, default: []].append(r.port) } }
        for i in results.indices {
            guard let d = results[i].devEUI, let same = ports[d], same.count > 1 else { continue }
            let others = same.filter { $0 != results[i].port }
            results[i].steps.append(StepResult(name: "unique DevEUI", status: .failed, seconds: 0,
                                               detail: "DevEUI \(d) is also reported by the board on \(others.joined(separator: ", "))",
                                               expected: "a DevEUI no other board has", got: d, lastLines: []))
            results[i].passed = false
            results[i].failingStep = results[i].failingStep ?? "unique DevEUI"
        }
    }

    /// Warnings for boards whose DevEUI already passed in the production log on another port and USB serial: a
    /// second board with the same identity, or the same board tested again.
    public static func alreadyPassed(_ results: [BoardResult], rows: [ProductionLog.Row]) -> [String] {
        var out: [String] = []
        for r in results {
            guard let d = r.devEUI, let earlier = rows.last(where: { $0.devEUI == d && $0.passed }) else { continue }
            if earlier.port == r.port || (!earlier.usbSerial.isEmpty && earlier.usbSerial == r.usbSerial) { continue }
            out.append("\(r.port): DevEUI \(d) already passed on \(earlier.port) at \(earlier.time) (production log): "
                       + "a second board with the same identity, or the same board tested again")
        }
        return out
    }
}
