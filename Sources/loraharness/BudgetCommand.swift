import ArgumentParser
import HarnessCore
import RadioLink

struct BudgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "What a payload costs at every data rate of a region: airtime, off-time, uplinks per hour and day.",
        discussion: """
            For each uplink data rate: the application bytes that fit (after FOpts), whether the payload fits, \
            its PHYPayload size and time on air, the off-time the duty cycle imposes in the sub-band of the \
            default channels, how many uplinks per hour the duty cycle allows, and how many per day the \
            fair-use policy (30 s of uplink airtime per 24 h) allows.

            Examples:
              loraharness budget --region EU868 --app-payload 11
              loraharness budget --region AS923-1 --app-payload 20 --dwell on
              loraharness budget --region EU868 --app-payload 11 --sub-bands legacy --json
            """
    )

    @Option(help: "Region, e.g. EU868, US915, AU915, AS923-1 … AS923-4, IN865, KR920.", transform: regionArgument)
    var region: RegionID = .eu868
    @Option(parsing: .unconditional, help: "Application payload (FRMPayload) bytes.") var appPayload: Int
    @Option(parsing: .unconditional, help: "FOpts bytes (0 to 15).") var fopts: Int = 0
    @Option(help: "Uplink dwell time on or off (AS923, AU915).", transform: switchArgument) var dwell: Bool?
    @Flag(help: "Use the repeater-compatible maximum payload sizes.") var repeater = false
    @Option(help: "Sub-band table (EU868: etsi-v3, the default, or legacy).") var subBands: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(appPayload >= 0, "application payload \(appPayload) is negative; allowed: 0 to 255 bytes", option: "--app-payload")
        try require(appPayload <= 255, "application payload of \(appPayload) bytes is more than a LoRa frame holds; allowed: 0 to 255 bytes",
                    option: "--app-payload")
        try require((0...15).contains(fopts), "FOpts of \(fopts) bytes is not allowed; allowed: 0 to 15", option: "--fopts")
    }

    func run() throws {
        let params = region.parameters
        let bands: [SubBand]
        do throws(InputError) { bands = try params.subBands(table: subBands) } catch { throw error.located(.argument("--sub-bands")) }
        let query: BudgetQuery
        do throws(InputError) {
            query = try BudgetQuery(region: params, applicationBytes: appPayload, foptsBytes: fopts, dwell: dwell,
                                    repeater: repeater, subBands: bands)
        } catch { throw error.located(.argument("--dwell")) }
        let report = BudgetReport(query)
        try common.emit(report, text: report.text)
    }
}
