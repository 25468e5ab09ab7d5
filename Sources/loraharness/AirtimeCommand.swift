import ArgumentParser
import HarnessCore
import RadioLink

struct AirtimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airtime",
        abstract: "Time on air of one LoRa or FSK packet, exact to the nanosecond.",
        discussion: """
            Give the radio settings and the PHY payload size, or a region, data rate and application payload.

            Examples:
              loraharness airtime --sf 9 --bw 125 --cr 4/5 --payload 24
              loraharness airtime --region EU868 --dr 3 --app-payload 11 --fopts 3
              loraharness airtime --sf 7 --bw 125 --payload 14 --json
            """
    )

    @Option(parsing: .unconditional, help: "Spreading factor, 5 to 12.") var sf: Int?
    @Option(help: "Bandwidth in kHz: 7.8, 10.4, 15.6, 20.8, 31.25, 41.7, 62.5, 125, 250, 500.",
            transform: bandwidthArgument) var bw: LoRaBandwidth?
    @Option(help: "Coding rate: 4/5, 4/6, 4/7, 4/8.", transform: codingRateArgument) var cr: CodingRate = .cr4_5
    @Option(parsing: .unconditional, help: "PHY payload length in bytes (0 to 255).") var payload: Int?
    @Option(parsing: .unconditional, help: "Programmed preamble length in symbols.") var preamble: Int = 8
    @Flag(help: "Implicit header (no header sent).") var implicitHeader = false
    @Flag(help: "No payload CRC (LoRaWAN downlinks send none).") var noCrc = false
    @Option(help: "Low-data-rate optimisation: auto, on, off.") var ldro: LowDataRateOptimization = .auto
    @Flag(help: "FSK at 50 kbit/s (LoRaWAN DR7 in EU868) instead of LoRa.") var fsk = false

    @Option(help: "Region, e.g. EU868, US915, AS923-1 (with --dr).", transform: regionArgument) var region: RegionID?
    @Option(parsing: .unconditional, help: "Data rate index of the region.") var dr: Int?
    @Option(parsing: .unconditional, help: "Application payload (FRMPayload) bytes; with --region.") var appPayload: Int?
    @Option(parsing: .unconditional, help: "FOpts bytes (0 to 15); with --region.") var fopts: Int = 0
    @Option(help: "Uplink dwell time on or off (regions that have the setting).", transform: switchArgument) var dwell: Bool?
    @Flag(help: "A downlink (no CRC) rather than an uplink.") var downlink = false

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if region != nil || dr != nil || appPayload != nil {
            guard region != nil else { throw InputError("--dr and --app-payload need --region", at: .argument("--region")) }
            guard dr != nil else { throw InputError("--region needs --dr (a data rate index)", at: .argument("--dr")) }
            guard let app = appPayload else {
                throw InputError("--region needs --app-payload (application bytes)", at: .argument("--app-payload"))
            }
            try require(sf == nil && bw == nil && payload == nil && !fsk,
                        "give either --region/--dr/--app-payload or --sf/--bw/--payload, not both", option: "--region")
            try require(app >= 0, "application payload \(app) is negative; allowed: 0 or more bytes", option: "--app-payload")
            try require((0...15).contains(fopts), "FOpts of \(fopts) bytes is not allowed; allowed: 0 to 15", option: "--fopts")
            return
        }
        if !fsk {
            guard let sf else {
                throw InputError("give --sf, --bw and --payload, or --region, --dr and --app-payload", at: .argument("--sf"))
            }
            try require(LoRaModulation.spreadingFactors.contains(sf),
                        "spreading factor \(sf) is not allowed; allowed: 5 to 12", option: "--sf")
            try require(bw != nil, "--sf needs --bw (bandwidth in kHz)", option: "--bw")
            try require((1...65535).contains(preamble), "preamble \(preamble) is not allowed; allowed: 1 to 65535 symbols",
                        option: "--preamble")
        }
        guard let payload else { throw InputError("--payload (PHY payload bytes) is required", at: .argument("--payload")) }
        try require((0...255).contains(payload), "payload \(payload) is not allowed; allowed: 0 to 255 bytes", option: "--payload")
    }

    func run() throws {
        let result: AirtimeReport
        if let region, let dr, let appPayload {
            result = try AirtimeReport.forRegion(region.parameters, dr: dr, applicationBytes: appPayload,
                                                 foptsBytes: fopts, dwell: dwell, downlink: downlink)
        } else if fsk, let payload {
            result = try AirtimeReport.forFSK(FSKModulation(), payloadBytes: payload)
        } else if let sf, let bw, let payload {
            let m = LoRaModulation(spreadingFactor: sf, bandwidth: bw, codingRate: cr, preambleSymbols: preamble,
                                   explicitHeader: !implicitHeader, crc: !(noCrc || downlink), lowDataRateOptimization: ldro)
            result = try AirtimeReport.forLoRa(m, payloadBytes: payload)
        } else {
            throw InputError("nothing to compute")
        }
        try common.emit(result, text: result.text)
    }
}
