import ArgumentParser
import Codecs
import Fleet
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Serial
import Traces

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Read captured traces, validate them, write them in other formats, replay them to a network server, a board or the simulator.",
        discussion: """
            Formats (recognised from the content, or --format; gzip read directly): Semtech packet-forwarder rxpk \
            lines, The Things Stack v3 uplink messages and ChirpStack v4 uplink events (NDJSON or a JSON array), pcap \
            and pcapng with LoRaTap (v0, v1) or bare PHYPayloads under a user link type (--linktype 147…162) or \
            Semtech PUSH_DATA in UDP, and this tool's serial session logs.

            Checks: MIC and decryption with --keys (keys never printed), FCnt gaps, resets, repeats and replays, \
            gateway duplicates, stated airtime against the radio-link model, duty cycle in a sliding hour and the \
            fair-use budget, payload decoding, an expected-output diff, the occupancy timeline per site.

            Exit status: 0 nothing rejected and every check held, 1 something was rejected or a check failed, 2 bad \
            arguments or an unreadable file.

            Examples:
              loraharness replay Fixtures/traces/tts-uplinks.ndjson
              loraharness replay capture.pcapng.gz --keys keys.yaml --pcap clean.pcap \\
                  --anonymise
              loraharness replay uplinks.ndjson --expected decoded-v1.ndjson
              loraharness replay gateway.log --to udp:localhost:1700 --speed 10
              loraharness replay uplinks.ndjson --to serial:/dev/ttyUSB0 --profile \\
                  rak3172-rui3 --speed 60
            """
    )

    @Argument(help: "Trace files.") var files: [String]
    @Option(help: "auto, semtech, tts, chirpstack, pcap or serial.") var format: String = "auto"
    @Option(help: "A pcap user link type (147…162) that holds bare PHYPayloads.") var linktype: UInt32?
    @Option(help: "Gateway name for packet-forwarder lines (they do not carry one).") var gateway: String = "gateway"
    @Option(help: "Keys file (YAML or JSON) for MIC checks and decryption.") var keys: String?
    @Option(help: "Payload codec: auto (FPort 10 occupancy), occupancy, cayenne, none.") var codec: String = "auto"
    @Option(help: "Region for sub-bands and duty cycle.", transform: regionArgument) var region: RegionID = .eu868
    @Option(help: "Sites CSV dev_eui,site,kind,slot, for the occupancy timeline.") var sites: String?
    @Option(help: "Expected decodings (NDJSON dev_eui, fcnt, decoded) to compare with.") var expected: String?
    @Option(help: "Write the decodings in the expected-output format.") var writeDecoded: String?
    @Option(help: "Write the normalised records as NDJSON.") var ndjson: String?
    @Option(help: "Write records with a PHYPayload as pcap (LoRaTap v0).") var pcap: String?
    @Option(help: "Write the occupancy timeline (CSV) per site (needs --sites).") var timeline: String?
    @Flag(help: "Replace DevEUIs and DevAddrs consistently in what is written.") var anonymise = false
    @Option(help: "Also write the JSON report to this file.") var report: String?
    @Option(help: "Write one self-contained HTML report (rejections, counters, airtime, signal, occupancy, differences).") var html: String?
    @Option(help: "Replay target: udp:HOST:PORT (virtual gateway), serial:PORT (a board), or simulate:SCENARIO.") var to: String?
    @Option(help: "Replay speed: 1 real time, 60 a minute per second.") var speed: Double = 1
    @Option(help: "Serial replay: the board's dialect profile.") var profile: String = "rak3172-rui3"
    @Option(help: "Virtual gateway EUI (16 hex digits).") var gatewayEui: String = "AA555A0000000000"
    @Option(help: "Simulator replay: copies of the captured traffic (×N).") var scale: Int = 1
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(!files.isEmpty, "give at least one trace file", option: "FILES")
        try require(TraceFormatChoice(rawValue: format) != nil, "format is one of " + TraceFormatChoice.allCases.map(\.rawValue).joined(separator: ", "), option: "--format")
        try require(ValidationOptions.Codec(rawValue: codec) != nil, "codec is auto, occupancy, cayenne or none", option: "--codec")
        try require(linktype.map { (147...162).contains($0) } ?? true, "user link types are 147…162", option: "--linktype")
        try require(speed > 0 && speed.isFinite, "the speed is a positive number", option: "--speed")
        try require(scale >= 1 && scale <= 1000, "scale is 1…1000", option: "--scale")
        try require(timeline == nil || sites != nil, "the timeline needs --sites", option: "--timeline")
        if let to { _ = try ReplayTarget.parse(to) }
        try refuseOverwriting(inputs: files + [keys, sites, expected].compactMap { $0 },
                              outputs: [("--pcap", pcap), ("--ndjson", ndjson), ("--timeline", timeline), ("--write-decoded", writeDecoded), ("--report", report), ("--html", html)])
    }

    func run() throws {
        // Ctrl-C or SIGTERM: stop reading, report what was read (marked partial), keep the outputs, exit 130/143.
        Interruption.install(graceful: true)
        var options = ValidationOptions()
        options.region = region.parameters
        options.codec = ValidationOptions.Codec(rawValue: codec) ?? .auto
        if let keys { options.keys = try KeyStore.load(path: keys) { common.console.warn($0) } }
        if let sites { options.places = try SensorPlace.load(path: sites) }
        if let expected { try options.loadExpected(path: expected) }
        let validator = TraceValidator(options: options, files: files)
        // --verbose: every problem as it is found (the report keeps the first 50). Not when anonymising: the lines
        // name devices before the anonymiser has seen them all.
        if common.verbose && !anonymise { validator.onProblem = { common.console.detail($0) } }

        let anon = anonymise ? Anonymiser() : nil
        let nd = try ndjson.map { try LineWriter(path: $0) }
        let decodedOut = try writeDecoded.map { try LineWriter(path: $0) }
        let tl = try timeline.map { try LineWriter(path: $0) }
        tl?.write("time,site,bays_occupied,in,out")
        let pcapOut = try pcap.map { try PcapWriter(path: $0, linkType: .loraTap, append: false) }
        var noPHY = 0
        var kept: [TraceRecord] = []
        let keep = to != nil
        // Records are handed out only to a writer or a replay target (decodings are made as JSON only for them).
        let listen = keep || nd != nil || decodedOut != nil || pcapOut != nil
        if listen { validator.onRecord = { r, decoded in
            let out = anon?.apply(r) ?? r
            nd?.write(TraceJSON.line(out, decoded: decoded))
            if let d = decoded, let line = TraceJSON.expectedLine(out, decoded: d) { decodedOut?.write(line) }
            if let w = pcapOut {
                if let phy = out.phyPayload {
                    let h = LoRaTapHeader(frequencyHz: UInt32(clamping: out.frequencyHz ?? 0), bandwidthSteps: UInt8(clamping: (out.bandwidthHz ?? 125_000) / 125_000),
                                          spreadingFactor: UInt8(clamping: out.spreadingFactor ?? 7), rssidBm: out.receptions.first?.rssi, snrdB: out.receptions.first?.snr)
                    w.write(h.bytes + phy, timestampNanoseconds: out.time ?? 0)
                } else {
                    noPHY += 1
                }
            }
            if keep { kept.append(out) }
        } }
        validator.onTimeline = { t, site, bays, ins, outs in tl?.write("\(TraceTime.format(t)),\(site),\(bays),\(ins),\(outs)") }

        // A file without records checked nothing: that fails the run (a pipe that delivered nothing is not a pass).
        var empty: [String] = []
        for f in files where !Interruption.requested {
            let reader = try TraceReaders.open(path: f, choice: TraceFormatChoice(rawValue: format) ?? .auto, userLinkType: linktype, gateway: gateway)
            let before = validator.report.read
            while !Interruption.requested, let item = try reader.next() { validator.consume(item) }
            if validator.report.read == before && !Interruption.requested { empty.append(f == "-" ? "standard input" : f) }
        }
        // Anonymised, the report too: its devices and problem lines name DevEUIs and DevAddrs.
        var result = anon.map { $0.apply(validator.finish()) } ?? validator.finish()
        if Interruption.requested {
            result.interrupted = Interruption.signalName
            result.passed = false
        }
        try nd?.close(); try decodedOut?.close(); try tl?.close(); try pcapOut?.close()
        if noPHY > 0 { common.console.warn("\(noPHY) records have no PHYPayload (network-server exports): not in the pcap") }
        if let report { try writeFile(report, try JSONOutput.encode(result), option: "--report") }
        if let html { try writeFile(html, result.html(series: anon.map { $0.apply(validator.series) } ?? validator.series), option: "--html") }

        if let to, !Interruption.requested {
            try replay(kept, to: to)
        } else {
            try common.emit(result, text: result.text)
        }
        if Interruption.requested { throw Interrupted("after \(result.read) records; the report and outputs hold what was read") }
        if !result.passed || !empty.isEmpty {
            var why: [String] = []
            if !empty.isEmpty { why.append(empty.joined(separator: ", ") + (empty.count == 1 ? " holds" : " hold") + " no records: nothing was checked") }
            // The first rejection goes with it: with --quiet it is the only line printed.
            if result.rejected > 0 { why.append("\(result.rejected) of \(result.read) records rejected" + (result.firstRejection.map { "; first: " + $0 } ?? "")) }
            if result.dutyCycleViolations > 0 { why.append("\(result.dutyCycleViolations) duty-cycle violations") }
            if result.airtimeMismatches > 0 { why.append("\(result.airtimeMismatches) stated airtimes differ from the radio-link model") }
            if !result.decodeErrors.isEmpty { why.append("\(result.decodeErrors.values.reduce(0, +)) payloads do not decode") }
            if result.expectedEntries == 0 {
                why.append("\(expected ?? "the expected file") holds no entries: nothing was compared")
            } else if result.expectedMismatched + result.expectedMissing + result.unexpected > 0 {
                why.append("against \(expected ?? "the expected file"): \(result.expectedMismatched) decodings differ, \(result.expectedMissing) expected ones are not in the trace, \(result.unexpected) decodings are not in it")
            }
            throw CheckFailure(why.joined(separator: "; "))
        }
    }

    private func replay(_ records: [TraceRecord], to target: String) throws {
        let sorted = records.enumerated().sorted { ($0.element.time ?? 0, $0.offset) < ($1.element.time ?? 0, $1.offset) }.map(\.element)
        switch try ReplayTarget.parse(target) {
        case .udp(let host, let port):
            let rest = target.dropFirst(4)
            let eui = try parseArgument(gatewayEui, option: "--gateway-eui") { (s: String) throws(InputError) in try EUI64(hex: s).bigEndianBytes }
            let gw = try VirtualGateway(host: host, port: port, eui: eui)
            gw.speed = speed
            gw.replay(sorted)
            let s = gw.stats
            try common.emit(s, text: "virtual gateway \(gatewayEui) → \(rest): \(s.pushData) rxpk sent, \(s.pushAcks) PUSH_ACK (rxpk and stat), \(s.statMessages) stat, "
                            + "\(s.pullData) PULL_DATA, \(s.pullAcks) PULL_ACK, \(s.pullResp) PULL_RESP answered with \(s.txAcks) TX_ACK; "
                            + "\(s.skippedWithoutPHY) records without a PHYPayload skipped")
            if s.refused > 0 && s.pushAcks == 0 {
                throw InputError("nothing is listening at \(host) port \(port) (the host refused the datagrams)", at: .argument("--to"))
            }
            if s.pushAcks < s.pushData + s.statMessages { throw CheckFailure("\(s.pushData + s.statMessages - s.pushAcks) PUSH_DATA were not acknowledged") }
        case .serial(let port):
            try replaySerial(sorted, port: port)
        case .simulate(let scenario):
            try replaySimulation(sorted, scenario: scenario)
        }
    }

    /// Each application payload through the board's send command, at the captured times (joined first).
    private func replaySerial(_ records: [TraceRecord], port: String) throws {
        let p = try DialectProfile.load(profile)
        let transport: SerialTransport
        do { transport = try SerialPorts.open(port, settings: p.serial) } catch { throw error.inputError(argument: "--to serial:\(port)") }
        let s = LineSession(transport: transport)
        s.lineEnding = p.lineEnding
        s.eventMatchers = p.matchers("events")
        s.redactor = p.redactor
        defer { s.close() }
        func ask(_ c: String?, _ wait: Nanoseconds = 2 * Time.second) throws -> Bool {
            guard let c else { return true }
            try s.send(c)
            let r = try s.expect(p.matchers("ok") + p.matchers("error"), timeout: wait)
            return r.line != nil && r.which < p.matchers("ok").count
        }
        // The board keeps its own clock: its timeouts are the profile's, whatever the replay speed.
        do {
            var rng = SystemRandomNumberGenerator()
            let key = (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255, using: &rng)) }.joined()
            _ = try ask(p.regions[region.rawValue].flatMap { p.command("setRegion", ["region": $0]) })
            _ = try ask(p.command("setAppKey", ["appKey": key]))
            try s.send(p.command("join") ?? "AT+JOIN")
            let j = try s.expect(p.matchers("joined") + p.matchers("joinFailed"), timeout: p.timeout("join", default: 60 * Time.second))
            guard j.line != nil, j.which < p.matchers("joined").count else { throw CheckFailure("the board did not join (\(j.line?.text ?? "no answer"))") }
            let t0 = records.compactMap(\.time).min() ?? 0
            let start = DispatchTime.now().uptimeNanoseconds
            var sent = 0, refused = 0, skipped = 0
            for r in records {
                guard let payload = r.frmPayload, let fport = r.fport, fport > 0 else { skipped += 1; continue }
                let due = start + UInt64(max(0, Double((r.time ?? t0) - t0) / speed))
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { Thread.sleep(forTimeInterval: Double(due - now) / 1e9) }
                if let setPort = p.command("setPort", ["port": String(fport)]) { _ = try ask(setPort) }
                guard let cmd = p.command("send", ["port": String(fport), "hex": Hex.encode(payload, uppercase: true)]) else { break }
                try s.send(cmd)
                let a = try s.expect(p.matchers("ok") + p.matchers("error"), timeout: 2 * Time.second)
                if a.line != nil && a.which < p.matchers("ok").count {
                    _ = try s.expect(p.matchers("txDone") + p.matchers("txFailed"), timeout: p.timeout("send", default: 30 * Time.second))
                    sent += 1
                } else {
                    refused += 1
                }
            }
            if sent + refused == 0 && skipped > 0 {
                common.console.warn("no record has an application payload to send (a gateway capture needs --keys to decrypt its frames)")
            }
            common.console.say("serial replay to \(port) (\(p.name)): \(sent) payloads sent, \(refused) refused (duty cycle or busy), \(skipped) records without an application payload skipped")
        } catch let e as SerialError {
            throw e.inputError
        }
    }

    /// The captured traffic as other transmitters in a fleet scenario, ×scale, and the fleet's results with it.
    private func replaySimulation(_ records: [TraceRecord], scenario: String) throws {
        // A channel scenario (no sites, no firmware in the loop) cannot take captured traffic: say so, not which field.
        let doc = try DocumentNode.load(path: scenario)
        if (try? doc.optional("sites")) == nil {
            throw InputError("\(scenario) is not a fleet scenario (it has no sites); replay into one such as Fixtures/scenarios/lorient.yaml", at: .argument("--to"))
        }
        var sc = try FleetScenario.load(path: scenario)
        var traffic: [TraceTransmission] = []
        for r in records {
            guard let t = r.time, let sf = r.spreadingFactor, let f = r.frequencyHz else { continue }
            let length = r.phyPayload?.count ?? ((r.frmPayload?.count ?? 0) + 13)
            traffic.append(TraceTransmission(device: r.deviceKey ?? "?", time: t, frequencyHz: f, spreadingFactor: sf,
                                             bandwidthHz: r.bandwidthHz ?? 125_000, bytes: length))
        }
        guard !traffic.isEmpty else { throw InputError("no record has time, frequency and spreading factor: nothing to replay", at: .argument("--to")) }
        sc.traceBackground = TraceBackground(transmissions: traffic, scale: scale)
        let runner = FleetRunner(scenario: sc)
        let partial = runner.run()
        let result = FleetReport(scenario: sc, partial: partial)
        common.console.say("captured traffic: \(traffic.count) transmissions of \(Set(traffic.map(\.device)).count) devices, ×\(scale), replayed over \(scenario)")
        try common.emit(result, text: result.text)
        if !result.passed { throw CheckFailure(result.failures.joined(separator: "; ")) }
    }
}

/// Where `replay --to` sends the trace.
enum ReplayTarget: Equatable {
    case udp(host: String, port: UInt16)
    case serial(String)
    case simulate(String)

    static func parse(_ text: String) throws(InputError) -> ReplayTarget {
        let at = InputLocation.argument("--to")
        if text.hasPrefix("udp:") {
            let rest = text.dropFirst(4)
            // HOST:PORT, with an IPv6 address in brackets ([::1]:1700) or bare (::1:1700, the last colon is the port's).
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
                throw InputError("write udp:HOST:PORT with a port from 1 to 65535, e.g. udp:localhost:1700", at: at)
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw InputError("write udp:HOST:PORT: the host is missing", at: at) }
            return .udp(host: host, port: port)
        }
        if text.hasPrefix("serial:") {
            let port = String(text.dropFirst(7))
            guard !port.isEmpty else { throw InputError("write serial:PORT, e.g. serial:/dev/ttyUSB0", at: at) }
            return .serial(port)
        }
        if text.hasPrefix("simulate:") {
            let path = String(text.dropFirst(9))
            guard !path.isEmpty else { throw InputError("write simulate:SCENARIO, e.g. simulate:Fixtures/scenarios/lorient.yaml", at: at) }
            guard FileManager.default.fileExists(atPath: path) else { throw InputError("no scenario file \(path)", at: at) }
            return .simulate(path)
        }
        throw InputError("the target is udp:HOST:PORT, serial:PORT or simulate:SCENARIO", at: at)
    }
}
