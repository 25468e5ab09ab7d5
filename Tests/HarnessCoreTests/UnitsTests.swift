import HarnessCore
import Testing

@Suite struct DurationParsingTests {
    // Expected values are the definitions of the units: 1 s = 10^9 ns, 1 m = 60 s, 1 h = 3600 s, 1 d = 86400 s.
    @Test(arguments: [
        ("500ms", Int64(500_000_000)), ("90s", 90_000_000_000), ("10m", 600_000_000_000),
        ("6h", 21_600_000_000_000), ("7d", 604_800_000_000_000), ("1.5s", 1_500_000_000),
        ("1h30m", 5_400_000_000_000), ("100s1ns", 100_000_000_001), ("250us", 250_000), ("0.001ms", 1_000),
    ])
    func parses(text: String, ns: Int64) throws {
        #expect(try DurationFormat.parse(text) == ns)
    }

    @Test(arguments: ["", "10", "5x", "ms", "1.2.3s", "-5s", "1.0000000001s", "999999999d"])
    func rejects(text: String) {
        #expect(throws: InputError.self) { try DurationFormat.parse(text) }
    }

    @Test func humanForms() {
        #expect(DurationFormat.human(46_336_000) == "46.336 ms")
        #expect(DurationFormat.human(146_793_000_000) == "2 m 26.8 s")
        #expect(DurationFormat.human(7 * Time.day) == "7 d")
        #expect(DurationFormat.milliseconds(1_482_752_000) == "1482.752")
    }
}

@Suite struct FrequencyParsingTests {
    @Test(arguments: [("868100000", Int64(868_100_000)), ("868.1MHz", 868_100_000), ("869.525 MHz", 869_525_000),
                      ("868100kHz", 868_100_000), ("923.3mhz", 923_300_000), ("865.0625MHz", 865_062_500)])
    func parses(text: String, hz: Int64) throws {
        #expect(try FrequencyFormat.parse(text) == hz)
    }

    @Test(arguments: ["", "MHz", "868.1.1MHz", "abc", "-868MHz", "868.0000001MHz"])
    func rejects(text: String) {
        #expect(throws: InputError.self) { try FrequencyFormat.parse(text) }
    }

    @Test func formats() {
        #expect(FrequencyFormat.megahertz(869_525_000) == "869.525 MHz")
        #expect(FrequencyFormat.megahertz(868_000_000) == "868 MHz")
        // Issue 16 (found by fuzz-units): values whose hertz times 10^6 overflow 64 bits, and the 64-bit ends,
        // written exactly (the quotients computed by hand: 86,810,081,000,808 / 10^6; (2^64 − 1) / 10^6 and / 10^3).
        #expect(FrequencyFormat.megahertz(86_810_081_000_808) == "86810081.000808 MHz")
        #expect(FrequencyFormat.megahertz(Int64.min) == "-9223372036854.775808 MHz")
        #expect(DurationFormat.fixed(UInt64.max, 1_000_000, 6) == "18446744073709.551615")
        #expect(DurationFormat.fixed(UInt64.max, 1_000, 0) == "18446744073709552")
        #expect(DurationFormat.fixed(1_500, 1_000, 0) == "2" && DurationFormat.fixed(1_499, 1_000, 0) == "1")
        #expect(DurationFormat.fixed(999_949, 1_000_000, 4) == "0.9999" && DurationFormat.fixed(999_950, 1_000_000, 4) == "1.0000")
    }
}

@Suite struct TextTableTests {
    @Test func alignsColumns() {
        var t = TextTable(["DR", "ms"])
        t.add(["DR0", "1482.752"])
        t.add(["DR5", "61.696"])
        #expect(t.render() == """
            DR         ms
            ---  --------
            DR0  1482.752
            DR5    61.696

            """)
    }
}

@Suite struct XMLTextTests {
    /// The five predefined entities of XML 1.0 (§4.6) and the control characters it cannot hold (§2.2: only tab,
    /// LF and CR below 0x20).
    @Test func escapesEntitiesAndControlCharacters() {
        #expect(XMLText.escape(#"a<b & "c" > 'd'"#) == "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;")
        #expect(XMLText.escape("line\none\ttab\rcr\u{1}bell\u{7}") == "line\none\ttab\rcr?bell?")
        #expect(XMLText.escape("é 😀") == "é 😀")
    }

    /// Issue 16: frequencies whose hertz overflow Int64 (from the CLI or a scenario) are refused, never a trap.
    @Test(arguments: ["80000000004ghz", "9223372036854775807ghz", "9223372036.854775808ghz", "99999999999999999999"])
    func hugeFrequenciesAreRefused(_ text: String) {
        #expect(throws: InputError.self) { try FrequencyFormat.parse(text) }
    }
}

/// Issue 15: the progress line a CI log gets every five seconds, with simulated time, uplinks per second and an
/// estimated end; the figures worked out by hand from the clock and the shares fed in.
@Suite struct ProgressReporterTests {
    final class Clock: @unchecked Sendable {
        var seconds = 0.0
        var written: [String] = []
    }

    @Test func aLineEveryFiveSecondsInALog() {
        let c = Clock()
        let p = ProgressReporter(enabled: true, simulated: 7 * Time.day, terminal: false, clock: { c.seconds }, write: { c.written.append($0) })
        c.seconds = 1; p.update(SimulationProgress(share: 0.05, uplinks: 9_000))      // before the first five seconds
        c.seconds = 5; p.update(SimulationProgress(share: 0.25, uplinks: 50_000))
        c.seconds = 7; p.update(SimulationProgress(share: 0.30, uplinks: 60_000))      // two seconds after the last line
        c.seconds = 11; p.update(SimulationProgress(share: 0.5, uplinks: 105_000))
        // 0.25 × 7 d = 1 d 18 h; 50,000 / 5 s; 5 s × 0.75 / 0.25 = 15 s. Then 105,000 / 11 s = 9545.45; 11 × 0.5 / 0.5.
        #expect(c.written == [
            "progress: 25.0 % (1 d 18 h of 7 d simulated) in 5 s, 50000 uplinks (10000/s), about 15 s left\n",
            "progress: 50.0 % (3 d 12 h of 7 d simulated) in 11 s, 105000 uplinks (9545/s), about 11 s left\n",
        ])
        p.clear()
        #expect(c.written.count == 2)   // nothing to clear in a log
    }

    @Test func aRewrittenLineOnATerminal() {
        let c = Clock()
        let p = ProgressReporter(enabled: true, simulated: 0, terminal: true, clock: { c.seconds }, write: { c.written.append($0) })
        c.seconds = 0.1; p.update(SimulationProgress(share: 0.1, uplinks: 10))
        c.seconds = 2; p.update(SimulationProgress(share: 0.005, uplinks: 400))
        p.clear()
        #expect(c.written == ["\r0.5 % in 2 s, 400 uplinks (200/s)   ", "\r\u{1B}[K"])
    }

    @Test func disabledWritesNothing() {
        let c = Clock()
        let p = ProgressReporter(enabled: false, terminal: false, clock: { c.seconds }, write: { c.written.append($0) })
        c.seconds = 100; p.update(SimulationProgress(share: 0.5, uplinks: 1))
        p.clear()
        #expect(c.written.isEmpty)
    }
}
