import ArgumentParser
import Foundation
import HarnessCore
import RadioLink

struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Link budget: path loss, received power, SNR, sensitivity, margin and mean range.",
        discussion: """
            Path-loss presets: lorasim (Bor et al. 2016: d0 40 m, 127.41 dB, γ 2.08, σ 3.57 dB) and oulu \
            (Petäjäjärvi et al. 2015: d0 1 km, 128.95 dB, n 2.32, σ 7.8 dB). Receivers: SX1276, SX1272 (end \
            devices), SX1301, SX1302 (gateways), LoRaSim (measured).

            Examples:
              loraharness link --sf 12 --distance 5000 --receiver SX1302 --model oulu
              loraharness link --sf 7 --bw 125 --distance 800 --tx-power 14 --json
            """
    )

    @Option(parsing: .unconditional, help: "Spreading factor, 5 to 12.") var sf: Int
    @Option(help: "Bandwidth in kHz.", transform: bandwidthArgument) var bw: LoRaBandwidth = .bw125
    @Option(parsing: .unconditional, help: "Distance in metres.") var distance: Double
    @Option(parsing: .unconditional, help: "Transmit power EIRP in dBm.") var txPower: Double = 14
    @Option(help: "Receiver antenna gain in dBi.") var rxGain: Double = 0
    @Option(help: "Receiver: SX1276, SX1272, SX1301, SX1302, LoRaSim.") var receiver: String = "SX1302"
    @Option(help: "Path-loss model: lorasim or oulu.") var model: String = "oulu"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(LoRaModulation.spreadingFactors.contains(sf), "spreading factor \(sf) is not allowed; allowed: 5 to 12",
                    option: "--sf")
        try require(distance > 0 && distance.isFinite, "distance \(distance) is not allowed; give metres above 0",
                    option: "--distance")
        try require((-30...40).contains(txPower), "TX power \(txPower) dBm is not allowed; allowed: -30 to 40 dBm",
                    option: "--tx-power")
    }

    func run() throws {
        let rx: ReceiverModel
        let pl: PathLossModel
        do throws(InputError) { rx = try ReceiverModel.named(receiver) } catch { throw error.located(.argument("--receiver")) }
        do throws(InputError) { pl = try PathLossModel.named(model) } catch { throw error.located(.argument("--model")) }
        let r = LinkBudget.evaluate(txPowerdBm: txPower, receiverGaindBi: rxGain, meters: distance, sf: sf,
                                    bandwidth: bw, receiver: rx, pathLoss: pl)
        let text = """
            SF\(sf)BW\(bw.kHzName), \(fmt(txPower)) dBm EIRP, \(fmt(distance)) m, \(rx.name) receiver, \(pl.name) path loss
              path loss (mean)     \(fmt(r.pathLossdB)) dB
              received power       \(fmt(r.receivedPowerdBm)) dBm
              noise floor          \(fmt(r.noiseFloordBm)) dBm (NF \(fmt(rx.noiseFigure)) dB)
              SNR                  \(fmt(r.snrdB)) dB (floor \(fmt(r.snrFloordB)) dB)
              sensitivity          \(fmt(r.sensitivitydBm)) dBm (\(rx.source))
              link margin          \(fmt(r.margindB)) dB
              mean range           \(fmt(r.rangeMeters)) m (shadowing σ \(fmt(pl.shadowingSigmadB)) dB spreads it)
              receivable           \(r.receivable ? "yes" : "no")
            """
        try common.emit(r, text: text)
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
