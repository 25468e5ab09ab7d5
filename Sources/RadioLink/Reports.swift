import HarnessCore

/// The answer of `loraharness airtime`: one packet's time on air and, with a region, what it means there.
public struct AirtimeReport: Sendable, Codable {
    public struct RegionContext: Sendable, Codable {
        public var region: String
        public var dataRate: Int
        public var applicationBytes: Int
        public var foptsBytes: Int
        public var maxApplicationBytes: Int
        public var direction: String
        public var dwellLimitApplies: Bool
        public var withinDwellLimit: Bool
        public var subBand: String?
        public var dutyCycle: String?
        public var offTimeNanoseconds: Nanoseconds?
        public var uplinksPerHour: Int64?
        public var uplinksPerDayFairUse: Int64
    }

    public var modulation: String
    public var settings: [String: String]
    public var phyPayloadBytes: Int
    public var airtimeNanoseconds: Nanoseconds
    public var symbolNanoseconds: Nanoseconds
    public var preambleSymbols: Double
    public var payloadSymbols: Int64
    public var lowDataRateOptimization: Bool
    public var loRaMacMilliseconds: Int64
    public var region: RegionContext?

    public static func forLoRa(_ m: LoRaModulation, payloadBytes: Int) throws(InputError) -> AirtimeReport {
        let a = try AirtimeCalculator.lora(m, payloadBytes: payloadBytes)
        return AirtimeReport(
            modulation: "LoRa \(m.shortName) CR\(m.codingRate.name)",
            settings: [
                "preamble": "\(a.effectivePreambleSymbols) symbols",
                "header": m.explicitHeader ? "explicit" : "implicit",
                "crc": m.crc ? "on" : "off",
                "ldro": a.lowDataRateOptimization ? "on" : "off",
            ],
            phyPayloadBytes: payloadBytes, airtimeNanoseconds: a.nanoseconds, symbolNanoseconds: a.symbolNanoseconds,
            preambleSymbols: a.preambleSymbols, payloadSymbols: a.payloadSymbols,
            lowDataRateOptimization: a.lowDataRateOptimization, loRaMacMilliseconds: a.loRaMacMilliseconds, region: nil)
    }

    public static func forFSK(_ f: FSKModulation, payloadBytes: Int) throws(InputError) -> AirtimeReport {
        let a = try AirtimeCalculator.fsk(f, payloadBytes: payloadBytes)
        return AirtimeReport(
            modulation: "FSK \(f.bitrate / 1000) kbit/s",
            settings: ["preamble": "\(f.preambleBytes) bytes", "sync word": "\(f.syncWordBytes) bytes",
                       "length byte": f.variableLength ? "yes" : "no", "crc": f.crc ? "on" : "off"],
            phyPayloadBytes: payloadBytes, airtimeNanoseconds: a.nanoseconds, symbolNanoseconds: 0,
            preambleSymbols: 0, payloadSymbols: 0, lowDataRateOptimization: false,
            loRaMacMilliseconds: a.loRaMacMilliseconds, region: nil)
    }

    /// A LoRaWAN frame at a region's data rate: checks the payload against the DR's maximum.
    public static func forRegion(_ region: RegionParameters, dr: Int, applicationBytes: Int, foptsBytes: Int,
                                 dwell: Bool?, downlink: Bool) throws(InputError) -> AirtimeReport {
        guard let rate = region.dataRate(dr) else {
            let known = region.dataRates.map { String($0.index) }.joined(separator: ", ")
            throw InputError("DR\(dr) does not exist in \(region.id.rawValue); allowed: \(known)", at: .argument("--dr"))
        }
        if downlink ? !rate.downlink : !rate.uplink {
            throw InputError("DR\(dr) is not used for \(downlink ? "downlinks" : "uplinks") in \(region.id.rawValue)",
                             at: .argument("--dr"))
        }
        if dwell != nil, case .none = region.dwellTime {
            throw InputError("\(region.id.rawValue) has no dwell-time setting; leave out --dwell", at: .argument("--dwell"))
        }
        let dwellOn = region.dwellOn(dwell)
        guard let maxApp = PayloadBudget.maxApplicationBytes(region: region, dr: dr, foptsBytes: foptsBytes, dwell: dwell) else {
            throw InputError("DR\(dr) is not allowed in \(region.id.rawValue) with uplink dwell time on; allowed: "
                + region.uplinkDataRates.map(\.index).filter { region.maxApplicationPayload(dr: $0, dwell: true) != nil }
                    .map { "DR\($0)" }.joined(separator: ", "), at: .argument("--dr"))
        }
        guard applicationBytes <= maxApp else {
            throw InputError("application payload of \(applicationBytes) bytes is over the maximum of \(maxApp) bytes at "
                + "\(region.id.rawValue) DR\(dr)" + (foptsBytes > 0 ? " with \(foptsBytes) bytes of FOpts" : "")
                + (dwellOn ? " with dwell time" : ""), at: .argument("--app-payload"))
        }
        let phy = PayloadBudget.phyPayloadBytes(applicationBytes: applicationBytes, foptsBytes: foptsBytes)
        var report: AirtimeReport
        switch rate.modulation {
        case .lora(var m):
            m.crc = !downlink
            report = try forLoRa(m, payloadBytes: phy)
        case .fsk(let f):
            report = try forFSK(f, payloadBytes: phy)
        case .lrFHSS:
            throw InputError("DR\(dr) of \(region.id.rawValue) is LR-FHSS, whose time on air is not modelled", at: .argument("--dr"))
        }
        let band = PayloadBudget.defaultSubBand(region: region, subBands: region.subBands)
        let dutyCycled = region.dutyCycleEnforced && (band?.dutyCycleDenominator ?? 1) > 1
        let ns = report.airtimeNanoseconds
        report.region = RegionContext(
            region: region.id.rawValue, dataRate: dr, applicationBytes: applicationBytes, foptsBytes: foptsBytes,
            maxApplicationBytes: maxApp, direction: downlink ? "downlink" : "uplink", dwellLimitApplies: dwellOn,
            withinDwellLimit: !dwellOn || ns <= region.dwellLimit,
            subBand: dutyCycled ? band?.name : nil, dutyCycle: dutyCycled ? band?.dutyCycleText : nil,
            offTimeNanoseconds: dutyCycled ? band.map { $0.offTime(after: ns) } : nil,
            uplinksPerHour: dutyCycled ? band.map { Time.hour / (ns * $0.dutyCycleDenominator) } : nil,
            uplinksPerDayFairUse: FairUseTracker.ttnUplinkAirtime / ns)
        return report
    }

    public var text: String {
        var lines: [String] = []
        if let r = region {
            lines.append("\(r.region) DR\(r.dataRate) \(r.direction): \(r.applicationBytes) application bytes"
                + (r.foptsBytes > 0 ? " + \(r.foptsBytes) FOpts bytes" : "")
                + " → \(phyPayloadBytes)-byte PHYPayload (maximum at this DR: \(r.maxApplicationBytes) application bytes)")
        }
        let settingsText = settings.keys.sorted().map { "\($0) \(settings[$0] ?? "")" }.joined(separator: ", ")
        lines.append("\(modulation), \(phyPayloadBytes)-byte payload (\(settingsText))")
        var t = TextTable(["", "value"], alignments: [.left, .left])
        if symbolNanoseconds > 0 {
            t.add(["symbol time", DurationFormat.milliseconds(symbolNanoseconds) + " ms"])
            t.add(["preamble", "\(formatSymbols(preambleSymbols)) symbols"])
            t.add(["header + payload", "\(payloadSymbols) symbols"])
        }
        t.add(["time on air", DurationFormat.milliseconds(airtimeNanoseconds) + " ms (\(airtimeNanoseconds) ns)"])
        t.add(["LoRaMac-node", "\(loRaMacMilliseconds) ms (rounded up to whole ms)"])
        if let r = region {
            if r.dwellLimitApplies {
                t.add(["dwell limit 400 ms", r.withinDwellLimit ? "within" : "EXCEEDED"])
            }
            if let band = r.subBand, let dc = r.dutyCycle, let off = r.offTimeNanoseconds, let perHour = r.uplinksPerHour {
                t.add(["sub-band", "\(band) at \(dc)"])
                t.add(["off-time after it", DurationFormat.human(off)])
                t.add(["uplinks per hour", "\(perHour) (duty cycle)"])
            }
            t.add(["uplinks per day", "\(r.uplinksPerDayFairUse) (fair use: 30 s of airtime per 24 h)"])
        }
        return lines.joined(separator: "\n") + "\n" + t.render()
    }

    private func formatSymbols(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}

/// The answer of `loraharness budget`.
public struct BudgetReport: Sendable, Codable {
    public var region: String
    public var applicationBytes: Int
    public var foptsBytes: Int
    public var dwellTime: Bool
    public var repeater: Bool
    public var subBand: String?
    public var dutyCycle: String?
    public var rows: [BudgetRow]
    public var fitsAt: [Int]

    public init(_ q: BudgetQuery) {
        region = q.region.id.rawValue
        applicationBytes = q.applicationBytes
        foptsBytes = q.foptsBytes
        dwellTime = q.dwellOn
        repeater = q.repeater
        let band = q.region.dutyCycleEnforced ? PayloadBudget.defaultSubBand(region: q.region, subBands: q.subBands) : nil
        subBand = band?.name
        dutyCycle = band?.dutyCycleText
        rows = PayloadBudget.table(q)
        fitsAt = rows.filter { $0.fits && !$0.exceedsDwellLimit }.map(\.dataRate)
    }

    public var text: String {
        var head = "\(region): \(applicationBytes) application bytes"
        if foptsBytes > 0 { head += " + \(foptsBytes) FOpts bytes" }
        head += ", PHYPayload \(PayloadBudget.phyPayloadBytes(applicationBytes: applicationBytes, foptsBytes: foptsBytes)) bytes"
        if dwellTime { head += ", uplink dwell time on (400 ms)" }
        if repeater { head += ", repeater-compatible sizes" }
        var lines = [head]
        if let subBand, let dutyCycle {
            lines.append("Default channels in sub-band \(subBand) at \(dutyCycle) duty cycle; fair use: 30 s of uplink airtime per 24 h.")
        } else {
            lines.append("No duty cycle enforced in this region; fair use: 30 s of uplink airtime per 24 h.")
        }
        var t = TextTable(["DR", "modulation", "max app", "fits", "airtime ms", "LoRaMac ms", "off-time",
                           "uplinks/h", "uplinks/day"],
                          alignments: [.left, .left, .right, .left, .right, .right, .right, .right, .right])
        for r in rows {
            let fits: String
            if r.maxApplicationBytes == nil { fits = "n/a" }
            else if !r.fits { fits = "no" }
            else if r.exceedsDwellLimit { fits = "dwell" }
            else { fits = "yes" }
            t.add([
                "DR\(r.dataRate)", r.modulation, r.maxApplicationBytes.map(String.init) ?? "-", fits,
                r.airtimeNanoseconds.map(DurationFormat.milliseconds) ?? "-",
                r.loRaMacMilliseconds.map(String.init) ?? "-",
                r.offTimeNanoseconds.map(DurationFormat.human) ?? "-",
                r.uplinksPerHour.map(String.init) ?? (r.airtimeNanoseconds == nil ? "-" : "no limit"),
                r.uplinksPerDayFairUse.map(String.init) ?? "-",
            ])
        }
        lines.append(t.render())
        if fitsAt.isEmpty {
            lines.append("The payload fits at no data rate.")
        } else {
            lines.append("Fits at " + fitsAt.map { "DR\($0)" }.joined(separator: ", ") + ".")
        }
        return lines.joined(separator: "\n")
    }
}

/// One line of `loraharness regions`.
public struct RegionSummary: Sendable, Codable {
    public var id: String
    public var source: String
    public var frequencyRange: String
    public var uplinkDataRates: String
    public var defaultChannels: String
    public var rx2: String
    public var maxEIRPdBm: Double
    public var dutyCycle: Bool
    public var dwellTime: String

    public init(_ r: RegionParameters) {
        id = r.id.rawValue
        source = r.source
        frequencyRange = "\(FrequencyFormat.megahertz(r.frequencyRangeHz.lowerBound))–\(FrequencyFormat.megahertz(r.frequencyRangeHz.upperBound))"
        let ups = r.uplinkDataRates.map(\.index)
        uplinkDataRates = ups.isEmpty ? "-" : "DR\(ups.min() ?? 0)–DR\(ups.max() ?? 0)"
        defaultChannels = r.defaultChannels.map { FrequencyFormat.megahertz($0.frequencyHz) }.joined(separator: ", ")
        if defaultChannels.isEmpty, let f = r.uplinkChannels.first, let l = r.uplinkChannels.last {
            defaultChannels = "\(r.uplinkChannels.count) channels \(FrequencyFormat.megahertz(f.frequencyHz))–\(FrequencyFormat.megahertz(l.frequencyHz))"
        }
        rx2 = "\(FrequencyFormat.megahertz(r.rx2FrequencyHz)) DR\(r.rx2DataRate)"
        maxEIRPdBm = r.maxEIRPdBm
        dutyCycle = r.dutyCycleEnforced
        switch r.dwellTime {
        case .none: dwellTime = "none"
        case .always: dwellTime = "400 ms always"
        case .configurable(let on): dwellTime = "400 ms, default " + (on ? "on" : "off")
        }
    }

    public static func table(_ list: [RegionSummary]) -> String {
        var t = TextTable(["region", "band", "uplink DRs", "default channels", "RX2", "max EIRP", "duty cycle", "dwell time"],
                          alignments: [.left, .left, .left, .left, .left, .right, .left, .left])
        for s in list {
            t.add([s.id, s.frequencyRange, s.uplinkDataRates, s.defaultChannels, s.rx2,
                   String(format: "%.0f dBm", s.maxEIRPdBm), s.dutyCycle ? "yes" : "no", s.dwellTime])
        }
        return t.render() + "Tables follow LoRaWAN Regional Parameters RP002-1.0.4; 'loraharness regions NAME' shows one in full.\n"
    }
}

/// `loraharness regions NAME`: one region's tables.
public struct RegionReport: Sendable, Codable {
    public struct DataRateRow: Sendable, Codable {
        public var dataRate: Int
        public var modulation: String
        public var uplink: Bool
        public var downlink: Bool
        public var maxApplicationBytes: Int?
        public var maxApplicationBytesRepeater: Int?
        public var maxApplicationBytesDwell: Int?
        public var macPayloadMax: Int?
    }
    public struct ChannelRow: Sendable, Codable {
        public var frequencyHz: Int64
        public var dataRates: String
    }
    public struct SubBandRow: Sendable, Codable {
        public var table: String
        public var name: String
        public var lowHz: Int64
        public var highHz: Int64
        public var dutyCycle: String
    }

    public var summary: RegionSummary
    public var notes: [String]
    public var dataRates: [DataRateRow]
    public var defaultChannels: [ChannelRow]
    public var uplinkChannelCount: Int
    public var downlinkChannels: [ChannelRow]
    public var rx1: [String]
    public var receiveDelay1Nanoseconds: Nanoseconds
    public var receiveDelay2Nanoseconds: Nanoseconds
    public var joinAcceptDelay1Nanoseconds: Nanoseconds
    public var joinAcceptDelay2Nanoseconds: Nanoseconds
    public var txPower: [String]
    public var subBands: [SubBandRow]

    public init(_ r: RegionParameters) {
        summary = RegionSummary(r)
        notes = r.notes
        let hasDwellTable = r.maxPayloadDwell != nil
        dataRates = r.dataRates.map { d in
            DataRateRow(dataRate: d.index, modulation: d.modulation.shortName, uplink: d.uplink, downlink: d.downlink,
                        maxApplicationBytes: r.maxPayload[d.index], maxApplicationBytesRepeater: r.maxPayloadRepeater[d.index],
                        maxApplicationBytesDwell: hasDwellTable ? r.maxPayloadDwell?[d.index] : nil,
                        macPayloadMax: r.maxPayload[d.index].map { $0 + 8 })
        }
        defaultChannels = r.defaultChannels.map { ChannelRow(frequencyHz: $0.frequencyHz, dataRates: "DR\($0.minDR)–DR\($0.maxDR)") }
        uplinkChannelCount = max(r.uplinkChannels.count, r.defaultChannels.count)
        downlinkChannels = r.downlinkChannels.map { ChannelRow(frequencyHz: $0.frequencyHz, dataRates: "DR\($0.minDR)–DR\($0.maxDR)") }
        rx1 = r.uplinkDataRates.map { d in
            let row = (0...7).compactMap { r.rx1DataRate(uplinkDR: d.index, offset: $0) }
            return "DR\(d.index) → " + row.map { "DR\($0)" }.joined(separator: " ")
        }
        receiveDelay1Nanoseconds = r.receiveDelay1
        receiveDelay2Nanoseconds = r.receiveDelay2
        joinAcceptDelay1Nanoseconds = r.joinAcceptDelay1
        joinAcceptDelay2Nanoseconds = r.joinAcceptDelay2
        txPower = r.txPowerOffsetsdB.indices.map { i in
            String(format: "%d: %.0f dBm", i, r.txPowerdBm(index: i) ?? 0)
        }
        var bands = r.subBands.map { SubBandRow(table: r.defaultSubBandTable, name: $0.name, lowHz: $0.lowHz, highHz: $0.highHz,
                                                dutyCycle: $0.dutyCycleText) }
        for (name, table) in r.alternativeSubBandTables.sorted(by: { $0.key < $1.key }) {
            bands += table.map { SubBandRow(table: name, name: $0.name, lowHz: $0.lowHz, highHz: $0.highHz, dutyCycle: $0.dutyCycleText) }
        }
        subBands = bands
    }

    public var text: String {
        var out = "\(summary.id) — \(summary.source)\n"
        for n in notes { out += "  note: \(n)\n" }
        out += "\nData rates (N = maximum application bytes; M = N + 8)\n"
        var t = TextTable(["DR", "modulation", "up", "down", "N", "N repeater", "N dwell"])
        for d in dataRates {
            t.add(["DR\(d.dataRate)", d.modulation, d.uplink ? "yes" : "-", d.downlink ? "yes" : "-",
                   d.maxApplicationBytes.map(String.init) ?? "-", d.maxApplicationBytesRepeater.map(String.init) ?? "-",
                   d.maxApplicationBytesDwell.map(String.init) ?? (summary.dwellTime.contains("default") ? "not allowed" : "-")])
        }
        out += t.render(indent: "  ")
        out += "\nDefault channels\n"
        for c in defaultChannels { out += "  \(FrequencyFormat.megahertz(c.frequencyHz))  \(c.dataRates)\n" }
        if uplinkChannelCount > defaultChannels.count { out += "  (\(uplinkChannelCount) uplink channels in the fixed plan)\n" }
        if !downlinkChannels.isEmpty {
            out += "Downlink channels: " + downlinkChannels.map { FrequencyFormat.megahertz($0.frequencyHz) }.joined(separator: ", ") + "\n"
        }
        out += "\nRX1 data rate by RX1DROffset 0, 1, …\n"
        for line in rx1 { out += "  \(line)\n" }
        out += "RX2: \(summary.rx2)\n"
        out += "Delays: RX1 \(DurationFormat.human(receiveDelay1Nanoseconds)), RX2 \(DurationFormat.human(receiveDelay2Nanoseconds)), "
            + "join-accept \(DurationFormat.human(joinAcceptDelay1Nanoseconds)) / \(DurationFormat.human(joinAcceptDelay2Nanoseconds))\n"
        out += "TX power (EIRP): " + txPower.joined(separator: ", ") + "\n"
        if !subBands.isEmpty {
            out += "\nDuty-cycle sub-bands" + (summary.dutyCycle ? "" : " (not enforced by default)") + "\n"
            var b = TextTable(["table", "sub-band", "duty cycle"], alignments: [.left, .left, .right])
            for s in subBands { b.add([s.table, s.name, s.dutyCycle]) }
            out += b.render(indent: "  ")
        }
        return out
    }
}
