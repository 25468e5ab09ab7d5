import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HarnessCore
import Testing

/// Issue 15: one CSV quoter and one JUnit writer for every report.
@Suite struct WritersTests {
    /// RFC 4180 §2: fields with commas, quotes or line breaks are enclosed in quotes, inner quotes doubled.
    @Test func csvFields() {
        #expect(CSV.field("rc-01") == "rc-01")
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("cr\rhere") == "\"cr\rhere\"")
    }

    /// A document of each outcome: counts per suite and in all, escapes, read back by an XML parser.
    @Test func junitDocument() throws {
        let cases = [
            JUnit.TestCase(classname: "c", name: "ok <1>", time: "0.5", outcome: .passed(output: "fine & well")),
            JUnit.TestCase(classname: "c", name: "bad", time: "1", outcome: .failed(message: "no \"way\"", type: "step", body: "body")),
            JUnit.TestCase(classname: "c", name: "port", time: "0", outcome: .error(message: "gone", type: "port", body: "")),
            JUnit.TestCase(classname: "c", name: "later", time: "0", outcome: .skipped(message: "after a failed step")),
        ]
        let text = JUnit.document(name: "all", time: "2.000", suites: [JUnit.Suite(name: "s", time: "2.000", properties: [("port", "/dev/a")], cases: cases)])
        let xml = try XMLDocument(xmlString: text)
        #expect(try xml.nodes(forXPath: "/testsuites/@tests").first?.stringValue == "4")
        #expect(try xml.nodes(forXPath: "/testsuites/@failures").first?.stringValue == "1")
        #expect(try xml.nodes(forXPath: "/testsuites/@errors").first?.stringValue == "1")
        #expect(try xml.nodes(forXPath: "//testsuite/@skipped").first?.stringValue == "1")
        #expect(try xml.nodes(forXPath: "//testcase[@name='ok <1>']/system-out").first?.stringValue == "fine & well")
        #expect(try xml.nodes(forXPath: "//failure/@message").first?.stringValue == "no \"way\"")
        #expect(try xml.nodes(forXPath: "//property[@name='port']/@value").first?.stringValue == "/dev/a")
    }
}
