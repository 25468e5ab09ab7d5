/// JUnit XML as CI servers read it (the Ant JUnit schema that GitLab, Jenkins and GitHub's test reporters accept):
/// `<testsuites>` of `<testsuite>`s of `<testcase>`s, each passed (its output in `<system-out>`), failed
/// (`<failure>`, a check that did not hold), in error (`<error>`, the run could not check: a port that failed) or
/// skipped. The one writer of the project: fleets, channel assertions and flash-test use it.
public enum JUnit {
    public enum Outcome: Sendable {
        case passed(output: String)
        case failed(message: String, type: String, body: String)
        case error(message: String, type: String, body: String)
        case skipped(message: String)
    }

    public struct TestCase: Sendable {
        public var classname: String
        public var name: String
        /// As written in the `time` attribute (seconds).
        public var time: String
        public var outcome: Outcome
        public init(classname: String, name: String, time: String, outcome: Outcome) {
            self.classname = classname; self.name = name; self.time = time; self.outcome = outcome
        }
    }

    public struct Suite: Sendable {
        public var name: String
        public var time: String
        public var properties: [(name: String, value: String)]
        public var cases: [TestCase]
        public init(name: String, time: String, properties: [(name: String, value: String)] = [], cases: [TestCase]) {
            self.name = name; self.time = time; self.properties = properties; self.cases = cases
        }
        var failures: Int { cases.filter { if case .failed = $0.outcome { return true }; return false }.count }
        var errors: Int { cases.filter { if case .error = $0.outcome { return true }; return false }.count }
        var skipped: Int { cases.filter { if case .skipped = $0.outcome { return true }; return false }.count }
    }

    /// The document: a `<testsuites>` named `name` holding `suites`.
    public static func document(name: String, time: String, suites: [Suite]) -> String {
        let esc = XMLText.escape
        let tests = suites.reduce(0) { $0 + $1.cases.count }, failures = suites.reduce(0) { $0 + $1.failures }, errors = suites.reduce(0) { $0 + $1.errors }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(esc(name))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(esc(time))\">\n"
        for s in suites {
            out += "  <testsuite name=\"\(esc(s.name))\" tests=\"\(s.cases.count)\" failures=\"\(s.failures)\" errors=\"\(s.errors)\" skipped=\"\(s.skipped)\" time=\"\(esc(s.time))\">\n"
            if !s.properties.isEmpty {
                out += "    <properties>\n"
                for p in s.properties { out += "      <property name=\"\(esc(p.name))\" value=\"\(esc(p.value))\"/>\n" }
                out += "    </properties>\n"
            }
            for c in s.cases {
                out += "    <testcase classname=\"\(esc(c.classname))\" name=\"\(esc(c.name))\" time=\"\(esc(c.time))\">\n"
                switch c.outcome {
                case .passed(let output): out += "      <system-out>\(esc(output))</system-out>\n"
                case .skipped(let message): out += "      <skipped message=\"\(esc(message))\"/>\n"
                case .failed(let message, let type, let body): out += "      <failure message=\"\(esc(message))\" type=\"\(esc(type))\">\(esc(body))</failure>\n"
                case .error(let message, let type, let body): out += "      <error message=\"\(esc(message))\" type=\"\(esc(type))\">\(esc(body))</error>\n"
                }
                out += "    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }
}

/// CSV as RFC 4180 writes it: a field with a comma, a double quote or a line end is quoted, its quotes doubled.
/// The one quoter of the project's CSV writers.
public enum CSV {
    public static func field(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
