import ArgumentParser
import HarnessCore
import RadioLink

struct RegionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regions",
        abstract: "List the regions, or show one region's tables (data rates, payload sizes, channels, duty cycle).",
        discussion: """
            Examples:
              loraharness regions
              loraharness regions EU868
              loraharness regions AS923-2 --json
            """
    )

    @Argument(help: "A region to show in full, e.g. EU868.", transform: regionArgument) var region: RegionID?
    @OptionGroup var common: CommonOptions

    func run() throws {
        if let region {
            let report = RegionReport(region.parameters)
            try common.emit(report, text: report.text)
        } else {
            let list = RegionID.allCases.map { RegionSummary($0.parameters) }
            try common.emit(list, text: RegionSummary.table(list))
        }
    }
}
