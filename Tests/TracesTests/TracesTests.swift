import Codecs
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Testing
import TestSupport
@testable import Traces
#if canImport(Glibc)
import Glibc
#endif

func tracesFixture(_ name: String) -> String { TestPaths.fixture("traces/" + name).path }

func tempFile(_ name: String, _ contents: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("traces-\(getpid())-\(name)").path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func tempBytes(_ name: String, _ bytes: [UInt8]) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("traces-\(getpid())-\(name)").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// Reads a file through the validator; returns the report and the accepted records.
func validate(_ paths: [String], keys: String? = nil, places: String? = nil, expected: String? = nil, choice: TraceFormatChoice = .auto,
              linkType: UInt32? = nil) throws -> (TraceReport, [TraceRecord], [JSONValue?]) {
    var o = ValidationOptions()
    if let keys { o.keys = try KeyStore.load(path: keys) }
    if let places { o.places = try SensorPlace.load(path: places) }
    if let expected { try o.loadExpected(path: expected) }
    let v = TraceValidator(options: o, files: paths)
    var records: [TraceRecord] = []
    var decoded: [JSONValue?] = []
    v.onRecord = { r, d in records.append(r); decoded.append(d) }
    for p in paths {
        let reader = try TraceReaders.open(path: p, choice: choice, userLinkType: linkType)
        while let item = try reader.next() { v.consume(item) }
    }
    return (v.finish(), records, decoded)
}

/// A TTS uplink line (shape of The Things Stack's uplink message) for hand-built cases.
func ttsLine(eui: String = "70B3D57ED0000101", fcnt: Int, payload: [UInt8], time: String, sf: Int = 7, frequency: Int = 868_100_000,
             airtime: String? = nil, port: Int = 10) -> String {
    var up = "\"f_port\":\(port),\"f_cnt\":\(fcnt),\"frm_payload\":\"\(Base64.encode(payload))\",\"settings\":{\"data_rate\":{\"lora\":{\"bandwidth\":125000,\"spreading_factor\":\(sf),\"coding_rate\":\"4/5\"}},\"frequency\":\"\(frequency)\"}"
    if let airtime { up += ",\"consumed_airtime\":\"\(airtime)\"" }
    return "{\"end_device_ids\":{\"dev_eui\":\"\(eui)\"},\"received_at\":\"\(time)\",\"uplink_message\":{\(up)}}"
}

@Suite struct JSONAndTimeTests {
    @Test func parsesJSON() throws {
        let v = try JSONParser.parse(#"{"a": [1, -2.5e1, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}}"#[...])
        #expect(v["a"] == .array([.number(1), .number(-25), .bool(true), .bool(false), .null]))
        #expect(v["s"] == .string("x\"\\/\né😀"))
        #expect(v["o"] == .object([:]))
        #expect(try JSONParser.parse("9007199254740993"[...]) == .number(9007199254740992))   // beyond 2^53: Double
        for (bad, offset) in [("{\"a\":1,}", 7), ("[1 2]", 3), ("\"abc", 4), ("tru", 0), ("{\"a\" 1}", 5), ("[1]x", 3), ("01", 1)] {
            do {
                _ = try JSONParser.parse(bad[...])
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.offset == offset, "\(bad): \(error)")
            }
        }
    }

    /// Views read fields on demand; one tape serves line after line (storage grown past its first size), and an
    /// escaped member name still matches.
    @Test func tapeViewsReadFieldsAndSurviveReuse() throws {
        let tape = JSONTape()
        let first = try tape.parse(Array(#"{"up": {"f_cnt": 42, "frm_payload": "IQ==", "rx": [{"id": "gw-a"}, {"id": "gw-b"}]}, "n\u0061me": "x", "e": 1.5e3, "neg": -7}"#.utf8)[...])
        #expect(first["up"]?["f_cnt"]?.number == 42)
        #expect(first["up"]?["frm_payload"]?.string == "IQ==")
        #expect(first["up"]?["rx"]?.elements.map { $0["id"]?.string } == ["gw-a", "gw-b"])
        #expect(first["name"]?.string == "x")
        #expect(first["e"]?.number == 1500)
        #expect(first["neg"]?.number == -7)
        #expect(first["missing"] == nil)
        #expect(first["up"]?["f_cnt"]?.string == nil)   // a number is not a string
        #expect(first["up"]?["rx"]?["id"] == nil)       // an array has no members
        // 1000 elements: more nodes than the tape starts with.
        let big = "[" + (0..<1000).map { "{\"i\":\($0)}" }.joined(separator: ",") + "]"
        let second = try tape.parse(Array(big.utf8)[...])
        let items = second.elements
        #expect(items.count == 1000)
        #expect(items[999]["i"]?.number == 999)
        #expect(second.value == .array((0..<1000).map { .object(["i": .number(Double($0))]) }))
        // A failed parse leaves the tape usable for the next line.
        #expect(throws: JSONParser.Failure.self) { _ = try tape.parse(Array("{\"a\":".utf8)[...]) }
        #expect(try tape.parse(Array("{\"a\":true}".utf8)[...])["a"]?.bool == true)
    }

    /// ISO 8601 times against Foundation's parser (an independent implementation).
    @Test func isoTimes() throws {
        let f = ISO8601DateFormatter()
        for text in ["2026-06-06T09:00:00Z", "2024-02-29T23:59:59Z", "1970-01-01T00:00:00Z", "2038-01-19T03:14:08Z", "2000-03-01T12:00:00+02:00"] {
            let expected = try #require(f.date(from: text))
            #expect(TraceTime.parse(text) == Int64(expected.timeIntervalSince1970) * 1_000_000_000, "\(text)")
        }
        #expect(TraceTime.parse("2026-06-06T09:00:00.123456789Z") == 1_780_736_400_123_456_789)
        #expect(TraceTime.parse("2026-06-06T09:00:00.1Z") == 1_780_736_400_100_000_000)
        #expect(TraceTime.format(1_780_736_400_123_456_789) == "2026-06-06T09:00:00.123456Z")
        #expect(TraceTime.parse("2026-13-01T00:00:00Z") == nil)
        #expect(TraceTime.parse("yesterday") == nil)
    }
}

@Suite struct ReaderTests {
    /// The packet-forwarder log: 11 rxpk (one heard by two gateways), two log lines that are not records.
    @Test func semtechLog() throws {
        let (report, records, _) = try validate([tracesFixture("semtech-gateway.log")], keys: tracesFixture("keys.yaml"))
        #expect(report.read == 10 && report.skippedLines == 2)
        #expect(report.accepted == 10 && report.rejected == 0)
        #expect(report.gatewayCopies == 1)
        #expect(report.uplinks == 8 && report.joinRequests == 1)
        #expect(report.micValid == 8 && report.unverified == 1)   // the unknown device 26FFFFFF
        // Unknown to the keys file: counted once, reported at line 11 of the log, where make.sh put its frame.
        #expect(report.unknownDevices == 1)
        #expect(report.problems.contains { $0.hasPrefix("unknown device addr:26FFFFFF: ") && $0.hasSuffix("semtech-gateway.log:11)") }, "\(report.problems)")
        #expect(report.lost == 1)                                  // FCnt 4 of 26011BDA
        let first = try #require(records.first)
        #expect(first.frequencyHz == 868_100_000 && first.spreadingFactor == 7 && first.bandwidthHz == 125_000 && first.codingRate == "4/5")
        #expect(first.receptions == [GatewayReception(gateway: "gateway", rssi: -71, snr: 9.5)])
        #expect(first.time == TraceTime.parse("2026-06-06T09:00:00.1Z"))
        #expect(first.devAddr == DevAddr(0x2601_1BDA) && first.fcnt == 1 && first.fport == 10)
        // Decrypted with the session keys: the bay_state of make.sh (occupied, 1 change).
        let m = try OccupancyCodec.decode(port: 10, try #require(first.frmPayload))
        guard case .bayState(let b) = m else { Issue.record("not a bay_state"); return }
        #expect(b.occupied && b.changes == 1)
    }

    @Test func theThingsStackAndChirpStack() throws {
        let (tts, ttsRecords, _) = try validate([tracesFixture("tts-uplinks.ndjson")])
        #expect(tts.read == 7 && tts.accepted == 7 && tts.uplinks == 7 && tts.lost == 1)
        #expect(tts.airtimeChecked == 7 && tts.airtimeMismatches == 0)
        #expect(ttsRecords[2].devEUI == (try EUI64(hex: "70B3D57ED0000102")) && ttsRecords[2].spreadingFactor == 9 && ttsRecords[2].fcnt == 7)
        #expect(ttsRecords[2].receptions == [GatewayReception(gateway: "gw-lorient", rssi: -71, snr: 9.5)])
        let (cs, csRecords, _) = try validate([tracesFixture("chirpstack-up.ndjson")])
        #expect(cs.read == 4 && cs.accepted == 4 && cs.decoded == 4)
        #expect(csRecords[0].frmPayload == ttsRecords[0].frmPayload && csRecords[0].codingRate == "4/5" && csRecords[0].devAddr == DevAddr(0x2601_1BDA))
        #expect(csRecords[0].receptions == [GatewayReception(gateway: "0016c001ff10a235", rssi: -71, snr: 9.5)])
        // A JSON array document (an export) reads the same as NDJSON.
        let lines = try String(contentsOfFile: tracesFixture("tts-uplinks.ndjson"), encoding: .utf8).split(separator: "\n")
        let arrayFile = try tempFile("tts-array.json", "[\n" + lines.joined(separator: ",\n") + "\n]\n")
        let (arr, arrRecords, _) = try validate([arrayFile], choice: .tts)
        #expect(arr.accepted == 7 && arrRecords.map(\.frmPayload) == ttsRecords.map(\.frmPayload))
        // Older releases of The Things Stack put coding_rate in settings, beside data_rate.
        let old = #"{"end_device_ids":{"dev_eui":"70B3D57ED0000101"},"received_at":"2026-06-06T09:00:00Z","uplink_message":{"f_port":10,"f_cnt":1,"frm_payload":"IYAIQAA=","settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":12}},"coding_rate":"4/8","frequency":"868100000"}}}"#
        let (_, oldRecords, _) = try validate([try tempFile("tts-old.ndjson", old)], choice: .tts)
        #expect(oldRecords.first?.codingRate == "4/8" && oldRecords.first?.spreadingFactor == 12)
    }

    /// Damaged input is counted with its line, reading goes on, and the totals reconcile.
    @Test func badInputIsCountedAndReadingGoesOn() throws {
        let good = ttsLine(fcnt: 1, payload: [0x21, 0x80, 0x08, 0x40, 0x00], time: "2026-06-06T09:00:00Z")
        let text = [good,
                    "{\"end_device_ids\": {\"dev_eui\": \"70B3D57ED0000101\"}, \"uplink_message\": {\"frm_payload\": \"###\"}}",
                    "{not json",
                    ttsLine(fcnt: 2, payload: [0x41], time: "2026-06-06T09:01:00Z"),
                    "{\"something\": \"else\"}",
                    ttsLine(fcnt: 3, payload: [0x21, 0x00, 0x10, 0x80, 0x00, 0x01, 0x80], time: "2026-06-06T08:00:00Z")].joined(separator: "\n")
        let path = try tempFile("bad.ndjson", text)
        let (r, _, _) = try validate([path], choice: .tts)
        #expect(r.read == 6)
        #expect(r.read == r.accepted + r.rejected)
        #expect(r.rejectedByReason == ["invalid_base64": 1, "malformed_line": 2])
        #expect(r.decodeErrors == ["unknown_version": 1])   // 0x41: version 2
        #expect(r.clockJumps == 1)                          // 09:01 → 08:00
        #expect(r.problems.contains { $0.contains("bad.ndjson:2") && $0.hasPrefix("invalid_base64") })
        #expect(r.problems.contains { $0.contains("bad.ndjson:3") && $0.contains("not valid JSON") })
        #expect(!r.passed)
    }

    /// Fields present with values they cannot have are rejected with their line, never read as something else:
    /// a time outside what Int64 nanoseconds hold (1678–2262), a negative counter, SF 99, a negative frequency.
    @Test func impossibleFieldValuesAreRejected() throws {
        #expect(TraceTime.parse("2300-01-01T00:00:00Z") == nil && TraceTime.parse("1600-01-01T00:00:00Z") == nil)
        #expect(TraceTime.parse("2262-04-11T23:47:16Z") == 9_223_372_036_000_000_000)   // 2^63 ns is 23:47:16.854775807
        let good = ttsLine(fcnt: 1, payload: [0x21, 0x80, 0x08, 0x40, 0x00], time: "2026-06-06T09:00:00Z")
        let lines = [
            good,
            good.replacingOccurrences(of: "2026-06-06T09:00:00Z", with: "2300-06-06T09:00:00Z"),
            good.replacingOccurrences(of: "2026-06-06T09:00:00Z", with: "2026-13-45T99:99:99Z"),
            good.replacingOccurrences(of: "\"f_cnt\":1", with: "\"f_cnt\":-3"),
            good.replacingOccurrences(of: "\"spreading_factor\":7", with: "\"spreading_factor\":99"),
            good.replacingOccurrences(of: "\"frequency\":\"868100000\"", with: "\"frequency\":\"-5\""),
            good.replacingOccurrences(of: "\"coding_rate\":\"4/5\"", with: "\"coding_rate\":\"banana\""),
            ttsLine(fcnt: 2, payload: [0x21, 0x80, 0x08, 0x40, 0x00], time: "2026-06-06T09:10:00Z", airtime: "zz0.05s"),
        ]
        let (r, records, _) = try validate([try tempFile("fields.ndjson", lines.joined(separator: "\n"))], choice: .tts)
        #expect(records.count == 1 && r.rejectedByReason == ["invalid_field": 7] && r.read == 8)
        for (line, words) in [(2, "received_at '2300-06-06T09:00:00Z'"), (3, "received_at '2026-13-45T99:99:99Z'"), (4, "f_cnt -3"),
                              (5, "spreading factor 99"), (6, "settings.frequency -5"), (7, "coding rate 'banana'"), (8, "consumed_airtime 'zz0.05s'")] {
            #expect(r.problems.contains { $0.hasPrefix("invalid_field: " + words) && $0.hasSuffix("fields.ndjson:\(line))") }, "line \(line): \(r.problems)")
        }
        // A Semtech line with SF99 and a negative frequency.
        let rx = #"{"rxpk":[{"time":"2026-06-06T09:00:00Z","freq":-5,"stat":1,"modu":"LORA","datr":"SF99BW125","codr":"4/5","size":18,"data":"QNobASYAAQAK83Os3JOEQJEQ"}]}"#
        let (s, _, _) = try validate([try tempFile("rx.log", rx)], choice: .semtech)
        #expect(s.rejectedByReason == ["invalid_field": 1] && s.problems.first?.hasPrefix("invalid_field: rxpk[0].freq -5 is not a frequency") == true)
    }

    @Test func wrongKeysFailTheMIC() throws {
        let keys = try tempFile("wrong-keys.yaml", "sessions:\n  - devAddr: 26011BDA\n    nwkSKey: 00000000000000000000000000000001\n    appSKey: 00000000000000000000000000000001\n")
        chmod(keys, 0o600)
        let (r, _, _) = try validate([tracesFixture("semtech-gateway.log")], keys: keys)
        // 26011BDA's five frames, and the second gateway's copy of its first: a rejected frame's copy is checked on
        // its own, not merged into the rejection.
        #expect(r.rejectedByReason == ["mic_mismatch": 6])
        #expect(r.micInvalid == 6 && r.gatewayCopies == 0 && r.read == r.accepted + r.rejected)
        #expect(!r.problems.joined().contains("00000000000000000000000000000001"))
    }

    /// Counters: a repeat (same FCnt and payload), a replay (same FCnt, other payload; an old FCnt), a reset.
    @Test func counterChecks() throws {
        let p: [UInt8] = [0x21, 0x80, 0x08, 0x40, 0x00]
        let lines = [ttsLine(fcnt: 40, payload: p, time: "2026-06-06T09:00:00Z"),
                     ttsLine(fcnt: 40, payload: p, time: "2026-06-06T09:00:05Z"),
                     ttsLine(fcnt: 40, payload: [0x21, 0x00, 0x10, 0x80, 0x00, 0x01, 0x80], time: "2026-06-06T09:00:10Z"),
                     ttsLine(fcnt: 43, payload: p, time: "2026-06-06T09:01:00Z"),
                     ttsLine(fcnt: 41, payload: p, time: "2026-06-06T09:02:00Z"),
                     ttsLine(fcnt: 0, payload: p, time: "2026-06-06T09:03:00Z")]
        let (r, _, _) = try validate([try tempFile("counters.ndjson", lines.joined(separator: "\n"))], choice: .tts)
        #expect(r.repeats == 1 && r.replays == 2 && r.lost == 2 && r.resets == 1)
        #expect(r.rejectedByReason == ["replay": 2])
        #expect(r.uplinks == 3)
    }

    /// Airtime: a stated airtime 10 ms off is flagged. Duty cycle: a 51-byte frame at SF12 lasts 75.25 symbols of
    /// 32.768 ms = 2,465.792 ms (Semtech AN1200.13, LDRO on); 36 s of an hour (1 %) hold 14 of them, so sending one a
    /// minute, the 15th and every later one in the hour is over; 20 of them are 49.3 s, over the 30 s fair use.
    @Test func airtimeDutyCycleAndFairUse() throws {
        var lines = [ttsLine(fcnt: 1, payload: [1, 2, 3, 4, 5], time: "2026-06-06T08:00:00Z", airtime: "0.061456s")]   // model: 51.456 ms
        for i in 0..<20 {
            lines.append(ttsLine(eui: "70B3D57ED0000999", fcnt: i + 1, payload: [UInt8](repeating: 0xA5, count: 38),
                                 time: String(format: "2026-06-06T09:%02d:00Z", i), sf: 12, port: 2))
        }
        let (r, _, _) = try validate([try tempFile("air.ndjson", lines.joined(separator: "\n"))], choice: .tts)
        #expect(r.airtimeChecked == 1 && r.airtimeMismatches == 1)
        let busy = try #require(r.devices.first { $0.device == "70B3D57ED0000999" })
        #expect(busy.airtime == 20 * 2_465_792_000)
        #expect(busy.dutyCycleViolations == 6)
        #expect(r.dutyCycleViolations == 6)
        #expect(busy.fairUseDaysOver == 1 && busy.maxDayAirtime == 20 * 2_465_792_000)
        #expect(!r.passed)
    }

    /// The expected-output diff: the fixture's decodings written, then compared; an edited entry differs, a removed
    /// one is unexpected, an extra one is missing.
    @Test func expectedOutputDiff() throws {
        var o = ValidationOptions()
        let v = TraceValidator(options: o, files: [])
        var lines: [String] = []
        v.onRecord = { r, d in if let d, let l = TraceJSON.expectedLine(r, decoded: d) { lines.append(l) } }
        let reader = try TraceReaders.open(path: tracesFixture("tts-uplinks.ndjson"))
        while let item = try reader.next() { v.consume(item) }
        #expect(lines.count == 7)
        let same = try tempFile("expected-same.ndjson", lines.joined(separator: "\n"))
        let (ok, _, _) = try validate([tracesFixture("tts-uplinks.ndjson")], expected: same)
        #expect(ok.expectedMatched == 7 && ok.expectedMismatched == 0 && ok.expectedMissing == 0 && ok.passed)
        var edited = lines
        edited[0] = edited[0].replacingOccurrences(of: "\"occupied\":true", with: "\"occupied\":false")
        edited.removeLast()
        edited.append("{\"dev_eui\":\"70B3D57ED0000101\",\"fcnt\":99,\"decoded\":{}}")
        o = ValidationOptions()
        let changed = try tempFile("expected-changed.ndjson", edited.joined(separator: "\n"))
        let (bad, _, _) = try validate([tracesFixture("tts-uplinks.ndjson")], expected: changed)
        #expect(bad.expectedMatched == 5 && bad.expectedMismatched == 1 && bad.unexpected == 1 && bad.expectedMissing == 1)
        #expect(bad.problems.contains { $0.contains("expected-changed.ndjson:1") })
        #expect(!bad.passed)
    }

    @Test func occupancyTimeline() throws {
        var o = ValidationOptions()
        o.places = try SensorPlace.load(path: tracesFixture("sites.csv"))
        let v = TraceValidator(options: o, files: [])
        var rows: [String] = []
        v.onTimeline = { t, site, bays, i, out in rows.append("\(TraceTime.format(t)) \(site) \(bays) \(i) \(out)") }
        let reader = try TraceReaders.open(path: tracesFixture("tts-uplinks.ndjson"))
        while let item = try reader.next() { v.consume(item) }
        // make.sh: parks 09:00, leaves 09:10, gate 3 in 1 out at 09:12, parks 09:30, gate 5/2 09:31, (09:40 still
        // occupied: no change), leaves 09:55.
        #expect(rows == ["2026-06-06T09:00:00.100000Z rc-01 1 0 0", "2026-06-06T09:10:00.250000Z rc-01 0 0 0",
                         "2026-06-06T09:12:00.500000Z rc-01 0 3 1", "2026-06-06T09:30:00.000000Z rc-01 1 3 1",
                         "2026-06-06T09:31:00.000000Z rc-01 1 5 2", "2026-06-06T09:55:00.000000Z rc-01 0 5 2"])
    }

    /// Sites files as spreadsheets write them: CR LF line ends, quoted fields; a sensor in two places and an empty
    /// file are errors naming the line or the file.
    @Test func sitesFiles() throws {
        let crlf = try tempFile("sites-crlf.csv", "dev_eui,site,kind,slot\r\n\"70b3d57ed0000101\",\"rc-01\",bay,0\r\n70B3D57ED0000102,rc-01,gate,0\r\n")
        let places = try SensorPlace.load(path: crlf)
        #expect(places[EUI64(0x70B3_D57E_D000_0101)] == SensorPlace(site: "rc-01", kind: .bay, slot: 0))
        #expect(places[EUI64(0x70B3_D57E_D000_0102)] == SensorPlace(site: "rc-01", kind: .gate, slot: 0))
        let twice = try tempFile("sites-twice.csv", "dev_eui,site,kind,slot\n70B3D57ED0000101,rc-01,bay,0\n70B3D57ED0000101,rc-02,bay,3\n")
        #expect(throws: InputError.self) { _ = try SensorPlace.load(path: twice) }
        do { _ = try SensorPlace.load(path: twice) } catch { #expect("\(error)".contains("sites-twice.csv:3"), "\(error)") }
        let empty = try tempFile("sites-empty.csv", "dev_eui,site,kind,slot\n")
        do {
            _ = try SensorPlace.load(path: empty)
            Issue.record("an empty sites file was accepted")
        } catch {
            #expect("\(error)".contains("no sensors in the sites file"), "\(error)")
        }
    }
}

@Suite struct PcapTraceTests {
    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
    static func pcap(linkType: UInt32, packets: [[UInt8]]) -> [UInt8] {
        var b: [UInt8] = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(linkType)
        for (i, p) in packets.enumerated() { b += le32(1_780_736_400 + UInt32(i)) + le32(0) + le32(UInt32(p.count)) + le32(UInt32(p.count)) + p }
        return b
    }

    /// Written with the LoRaTap v0 writer (checked by tshark in LoRaWANTests), read back: the same frames.
    @Test func pcapRoundTripAndPcapng() throws {
        let (_, records, _) = try validate([tracesFixture("semtech-gateway.log")])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("traces-\(getpid())-rt.pcap").path
        let w = try PcapWriter(path: path, linkType: .loraTap, append: false)
        for r in records {
            guard let phy = r.phyPayload else { continue }
            let h = LoRaTapHeader(frequencyHz: UInt32(r.frequencyHz ?? 0), bandwidthSteps: 1, spreadingFactor: UInt8(r.spreadingFactor ?? 7),
                                  rssidBm: r.receptions.first?.rssi, snrdB: r.receptions.first?.snr)
            w.write(h.bytes + phy, timestampNanoseconds: r.time ?? 0)
        }
        try w.close()
        let (back, again, _) = try validate([path])
        #expect(back.read == records.count && records.count == 9 && back.rejected == 0)   // 8 uplinks and a join-request
        #expect(again.map(\.phyPayload) == records.map(\.phyPayload))
        #expect(again.map(\.frequencyHz) == records.map(\.frequencyHz))
        #expect(again.map(\.spreadingFactor) == records.map(\.spreadingFactor))
        #expect(again.map { $0.time.map { $0 / 1000 } } == records.map { $0.time.map { $0 / 1000 } })   // microseconds in pcap
        #expect(again.map { $0.receptions.first?.rssi } == records.map { $0.receptions.first?.rssi })
        // pcapng, converted by Wireshark's editcap (an independent writer), reads the same.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/editcap") {
            let ng = path + "ng"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/editcap")
            p.arguments = ["-F", "pcapng", path, ng]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let (ngReport, ngRecords, _) = try validate([ng])
            #expect(ngReport.read == 9 && ngRecords.map(\.phyPayload) == records.map(\.phyPayload))
            #expect(ngRecords.map(\.time) == again.map(\.time))
        }
        // gzip, read directly.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") || FileManager.default.isExecutableFile(atPath: "/bin/gzip") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip") ? "/usr/bin/gzip" : "/bin/gzip")
            p.arguments = ["-kf", path]
            try p.run()
            p.waitUntilExit()
            let (gz, gzRecords, _) = try validate([path + ".gz"])
            #expect(gz.read == 9 && gzRecords.map(\.phyPayload) == records.map(\.phyPayload))
            // The same gzip without its 8-byte trailer (CRC-32 and length, RFC 1952 §2.3): every record still read,
            // and the cut reported where the data ends.
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
            let cut = tempBytes("cut.pcap.gz", Array(whole.dropLast(8)))
            let (c, cRecords, _) = try validate([cut])
            #expect(cRecords.count == 9 && c.rejectedByReason == ["truncated_record": 1] && c.read == c.accepted + c.rejected)
            let size = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))).count
            #expect(c.problems.contains { $0.contains("gzip stream ends early") && $0.hasSuffix("byte offset \(size))") }, "\(c.problems)")
        }
    }

    /// A pcapng section header claiming 4 GiB is refused at once (no allocation of what the file does not hold).
    /// Issue 16: pcapng time resolutions beyond 64 bits (if_tsresol 10^20, 2^64) and time stamps past the Int64
    /// nanoseconds range are rejections with their offset, never a trap.
    @Test func pcapngTimeResolutionsAndStampsOutOfRange() throws {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            let total = UInt32(12 + padded.count)
            return le32(type) + le32(total) + padded + le32(total)
        }
        let shb = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        func idb(_ tsresol: UInt8) -> [UInt8] { block(1, [0x0E, 0x01, 0, 0] + le32(65535) + [9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]) }
        let frame = loraTapV1(frequency: 868_100_000, sf: 7, flags: 0x08) + [0x40, 0xDA, 0x1B, 0x01, 0x26, 0x00, 0x01, 0x00, 0x0A, 0xF3, 0x73, 0xAC, 0xDC, 0x83, 0x29, 0x58, 0x50, 0x39]
        func epb(_ high: UInt32, _ low: UInt32) -> [UInt8] { block(6, le32(0) + le32(high) + le32(low) + le32(UInt32(frame.count)) + le32(UInt32(frame.count)) + frame) }
        for (resol, high, low) in [(UInt8(20), UInt32(0), UInt32(1)), (0x80 | 64, 0, 1), (9, 0xFFFF_FFFF, 0xFFFF_FFFF), (0, 0xFFFF_FFFF, 0xFFFF_FFFF)] {
            let path = tempBytes("tsresol-\(resol)-\(high).pcapng", shb + idb(resol) + epb(high, low))
            let (r, _, _) = try validate([path])
            #expect(r.read == 1 && r.rejectedByReason == ["invalid_field": 1], "tsresol \(resol): \(r.problems)")
        }
        // A plausible one still reads: nanoseconds, a 2026 time.
        let ok = tempBytes("tsresol-ok.pcapng", shb + idb(9) + epb(0x18B6_5A3D, 0))
        let (r, rec, _) = try validate([ok])
        #expect(r.accepted == 1 && rec.first?.time == Int64(0x18B6_5A3D) << 32)
    }

    @Test func implausiblePcapngSectionHeader() throws {
        let shb: [UInt8] = [0x0A, 0x0D, 0x0D, 0x0A, 0x00, 0xFF, 0xFF, 0xFF, 0x4D, 0x3C, 0x2B, 0x1A] + [UInt8](repeating: 0, count: 24)
        let path = tempBytes("huge-shb.pcapng", shb)
        do {
            _ = try validate([path])
            Issue.record("accepted a 4 GiB section header")
        } catch {
            #expect("\(error)".contains("section header length 4294967040 is not plausible"), "\(error)")
        }
    }

    /// LoRaTap version 1 (the 35-byte header of alpov/LoRaTap's loratap1.h, with coding rate), a bare PHYPayload under user link type 147, and a
    /// Semtech PUSH_DATA datagram in Ethernet/IPv4/UDP and Ethernet/IPv6/UDP, each built byte by byte here.
    @Test func otherEncapsulations() throws {
        let phy: [UInt8] = [0x40, 0xDA, 0x1B, 0x01, 0x26, 0x00, 0x01, 0x00, 0x0A, 0xF3, 0x73, 0xAC, 0xDC, 0x83, 0x29, 0x58, 0x50, 0x39]
        let v1 = loraTapV1(frequency: 868_100_000, sf: 9, packetRSSI: UInt8(139 - 100), snrQuarters: 12, flags: 0x08, cr: 6)
        let (r1, rec1, _) = try validate([tempBytes("v1.pcap", Self.pcap(linkType: 270, packets: [v1 + phy]))])
        #expect(r1.read == 1 && r1.rejected == 0)
        #expect(rec1.first?.frequencyHz == 868_100_000 && rec1.first?.spreadingFactor == 9 && rec1.first?.codingRate == "4/6")
        #expect(rec1.first?.receptions.first?.rssi == -100 && rec1.first?.receptions.first?.snr == 3)
        #expect(rec1.first?.phyPayload == phy)

        let user = tempBytes("dlt147.pcap", Self.pcap(linkType: 147, packets: [phy]))
        let (refused, _, _) = try validate([user])
        #expect(refused.rejectedByReason == ["unsupported_link_type": 1])
        let (r2, rec2, _) = try validate([user], linkType: 147)
        #expect(r2.accepted == 1 && rec2.first?.phyPayload == phy)

        let json = Array("{\"rxpk\":[{\"tmst\":1,\"freq\":868.3,\"stat\":1,\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"rssi\":-60,\"lsnr\":7.5,\"size\":18,\"data\":\"\(Base64.encode(phy))\"}]}".utf8)
        let semtech: [UInt8] = [2, 0x12, 0x34, 0x00, 0xAA, 0x55, 0x5A, 0, 0, 0, 0, 1] + json
        let udpLen = 8 + semtech.count
        let udp: [UInt8] = [0xC3, 0x50, 0x06, 0xA4, UInt8(udpLen >> 8), UInt8(udpLen & 0xFF), 0, 0] + semtech
        let ipLen = 20 + udp.count
        let ip: [UInt8] = [0x45, 0, UInt8(ipLen >> 8), UInt8(ipLen & 0xFF), 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1] + udp
        let eth: [UInt8] = [UInt8](repeating: 0x11, count: 6) + [UInt8](repeating: 0x22, count: 6) + [0x08, 0x00] + ip
        let (r3, rec3, _) = try validate([tempBytes("push.pcap", Self.pcap(linkType: 1, packets: [eth]))])
        #expect(r3.accepted == 1)
        #expect(rec3.first?.receptions == [GatewayReception(gateway: "AA555A0000000001", rssi: -60, snr: 7.5)])
        #expect(rec3.first?.phyPayload == phy && rec3.first?.frequencyHz == 868_300_000)
        // The same datagram over IPv6 (fixed 40-byte header, next header 17 = UDP; RFC 8200 §3).
        let ip6: [UInt8] = [0x60, 0, 0, 0, UInt8(udp.count >> 8), UInt8(udp.count & 0xFF), 17, 64]
            + [UInt8](repeating: 0, count: 15) + [2] + [UInt8](repeating: 0, count: 15) + [1] + udp
        let eth6: [UInt8] = [UInt8](repeating: 0x11, count: 6) + [UInt8](repeating: 0x22, count: 6) + [0x86, 0xDD] + ip6
        let (r4, rec4, _) = try validate([tempBytes("push6.pcap", Self.pcap(linkType: 1, packets: [eth6]))])
        #expect(r4.accepted == 1 && rec4.first?.phyPayload == phy)
    }

    @Test func truncatedPcapIsCountedWithItsOffset() throws {
        var bytes = Self.pcap(linkType: 147, packets: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]])
        bytes.removeLast(5)
        let (r, _, _) = try validate([tempBytes("cut.pcap", bytes)], linkType: 147)
        #expect(r.read == 2 && r.rejectedByReason["truncated_record"] == 1)
        #expect(r.problems.contains { $0.contains("record cut short (7 of 12 bytes)") && $0.contains("byte offset 52") })
    }
}

@Suite struct WriterAndGatewayTests {
    @Test func anonymiserIsConsistent() throws {
        let (_, records, _) = try validate([tracesFixture("semtech-gateway.log")])
        let a = Anonymiser()
        let out = records.map(a.apply)
        let addrs = Set(out.compactMap { r in r.phyPayload.flatMap { try? FrameDecoder.decode($0) }.flatMap { f -> DevAddr? in if case .data(let d) = f { return d.devAddr }; return nil } })
        #expect(addrs == [DevAddr(0xFE00_0001), DevAddr(0xFE00_0002), DevAddr(0xFE00_0003)])
        #expect(a.addr(DevAddr(0x2601_1BDA)) == DevAddr(0xFE00_0001))   // the first seen, always the same
        let join = out.compactMap { r in r.phyPayload.flatMap { try? FrameDecoder.decode($0) } }.compactMap { f -> EUI64? in if case .joinRequest(let j) = f { return j.devEUI }; return nil }
        #expect(join == [EUI64(0xFFFF_FF00_0000_0001)])
        #expect(!out.map { TraceJSON.line($0, decoded: nil) }.joined().lowercased().contains("26011bda"))
        // The report too: devices and problem lines, also a device that was only ever rejected.
        let keys = try tempFile("anon-wrong.yaml", "sessions:\n  - devAddr: 26011BDB\n    nwkSKey: 00000000000000000000000000000001\n    appSKey: 00000000000000000000000000000001\n")
        chmod(keys, 0o600)
        let (report, _, _) = try validate([tracesFixture("semtech-gateway.log")], keys: keys)
        let shared = a.apply(report)
        let text = String(decoding: try JSONEncoder().encode(shared), as: UTF8.self) + shared.text
        for id in ["26011BDA", "26011BDB", "26FFFFFF", "70B3D57ED0000101", "70B3D57ED0000104"] {
            #expect(!text.uppercased().contains(id), "\(id) left in the anonymised report")
        }
        #expect(shared.devices.count == report.devices.count && shared.problems.count == report.problems.count)
    }

    /// The virtual gateway against a network server on loopback: every rxpk acknowledged, a PULL_RESP answered
    /// with TX_ACK, the rxpk carrying the same PHYPayload.
    @Test func virtualGatewaySpeaksSemtechUDP() throws {
        let (server, port) = loopbackUDPSocket()
        let received = ServerLog()
        let thread = Thread {
            var buf = [UInt8](repeating: 0, count: 65_536)
            var peer = sockaddr_storage()
            var plen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var sentResp = false
            while true {
                let n = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(server, &buf, buf.count, 0, $0, &plen) } }
                if n <= 0 { break }
                let d = Array(buf.prefix(n))
                received.add(d)
                var answer: [UInt8]?
                switch d[3] {
                case 0x00: answer = [2, d[1], d[2], 0x01]
                case 0x02: answer = [2, d[1], d[2], 0x04]
                case 0x05: break
                default: break
                }
                if let a = answer {
                    _ = withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(server, a, a.count, 0, $0, plen) } }
                }
                if d[3] == 0x02 && !sentResp {
                    sentResp = true
                    let resp: [UInt8] = [2, 0xBE, 0xEF, 0x03] + Array(#"{"txpk":{"imme":true,"freq":869.525,"rfch":0,"powe":27,"modu":"LORA","datr":"SF12BW125","codr":"4/5","ipol":true,"size":1,"data":"AA=="}}"#.utf8)
                    _ = withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(server, resp, resp.count, 0, $0, plen) } }
                }
            }
        }
        thread.start()
        let (_, records, _) = try validate([tracesFixture("semtech-gateway.log")])
        let gw = try VirtualGateway(host: "127.0.0.1", port: port, eui: [0xAA, 0x55, 0x5A, 0, 0, 0, 0, 7])
        gw.speed = 100_000
        gw.replay(records)
        let s = gw.stats
        #expect(s.pushData == 9 && s.skippedWithoutPHY == 0)   // the gateway copy was merged by the validator
        #expect(s.pushAcks == s.pushData + s.statMessages)
        // A stat with the first record, then with each record 30 s of trace time or more after the last stat: all
        // but the join-request 29.9 s after the first uplink.
        #expect(s.statMessages == 8)
        #expect(s.pullData >= 1 && s.pullAcks == s.pullData && s.pullResp == 1 && s.txAcks == 1)
        Thread.sleep(forTimeInterval: 0.2)
        let datagrams = received.all
        let txAck = try #require(datagrams.first { $0.count > 3 && $0[3] == 0x05 })
        #expect(txAck[1] == 0xBE && txAck[2] == 0xEF && Array(txAck[4..<12]) == [0xAA, 0x55, 0x5A, 0, 0, 0, 0, 7])
        let rx = try #require(datagrams.first { $0.count > 12 && $0[3] == 0x00 && String(decoding: $0[12...], as: UTF8.self).contains("rxpk") })
        let json = try JSONParser.parse(Array(rx[12...]))
        guard case .array(let list)? = json["rxpk"], case .string(let data)? = list.first?["data"] else { Issue.record("no rxpk"); return }
        #expect(try Base64.decode(data) == records[0].phyPayload)
        #expect(list.first?["datr"] == .string("SF7BW125") && list.first?["freq"] == .number(868.1))
        close(server)
    }
}

final class ServerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[UInt8]] = []
    func add(_ d: [UInt8]) { lock.lock(); items.append(d); lock.unlock() }
    var all: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return items }
}
