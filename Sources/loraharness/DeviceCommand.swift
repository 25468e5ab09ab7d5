import ArgumentParser
import Codecs
import Device
import Fleet
import Foundation
import HarnessCore
import RadioLink

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Simulated devices: the firmware core in the loop with a LoRaWAN Class A MAC.",
        subcommands: [DeviceRunCommand.self]
    )
}

struct DeviceRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one simulated sensor (firmware in the loop) and print its timeline, energy and battery life.",
        discussion: """
            The firmware (hardware/firmware) runs on a virtual clock against a Class A MAC (OTAA join, RX1/RX2, \
            ADR, MAC commands, duty cycle) and the network server the fleets use (joins, FCnt and MIC checks, \
            network-side ADR, acknowledgements, queued downlinks) on a perfect or lossy channel. Stimuli come from a file (--stimuli, format in the README) or from \
            generated traffic (--traffic busy-site or quiet-site: vehicles on a recycling-centre week, local time).

            Examples:
              loraharness device run --kind bay --traffic busy-site --duration 7d --seed 1
              loraharness device run --kind gate --stimuli \\
                  Fixtures/stimuli/gate-morning.txt --duration 2h
              loraharness device run --kind bay --traffic quiet-site --duration 30d \\
                  --quiet
            """
    )

    @Option(help: "Sensor kind: bay or gate.") var kind: String = "bay"
    @Option(help: "A stimuli file.") var stimuli: String?
    @Option(help: "Generated traffic: busy-site or quiet-site.") var traffic: String?
    @Option(help: "Simulated duration (e.g. 7d).", transform: durationArgument) var duration: Nanoseconds = 7 * Time.day
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Region.", transform: regionArgument) var region: RegionID = .eu868
    @Option(help: "Fixed data rate (default: the region's lowest; ADR may change it).") var dr: Int?
    @Flag(help: "Switch device-side ADR off.") var noAdr = false
    @Flag(help: "Send confirmed uplinks.") var confirmed = false
    @Option(help: "Share of uplinks the network does not hear (0…1).") var uplinkLoss: Double = 0
    @Option(help: "Share of downlinks the device does not hear (0…1).") var downlinkLoss: Double = 0
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(["bay", "gate"].contains(kind), "kind '\(kind)' is unknown; allowed: bay, gate", option: "--kind")
        try require(stimuli == nil || traffic == nil, "give --stimuli or --traffic, not both", option: "--stimuli")
        try require(duration > 0, "the duration must be positive", option: "--duration")
        try require((0...1).contains(uplinkLoss), "losses are shares from 0 to 1", option: "--uplink-loss")
        try require((0...1).contains(downlinkLoss), "losses are shares from 0 to 1", option: "--downlink-loss")
    }

    func run() throws {
        var o = DeviceRun.Options()
        o.kind = kind == "gate" ? .gate : .bay
        o.region = region.parameters
        o.duration = duration
        o.seed = seed
        o.adr = !noAdr
        o.confirmed = confirmed
        o.uplinkLoss = uplinkLoss
        o.downlinkLoss = downlinkLoss
        if let dr {
            try require(region.parameters.dataRate(dr)?.modulation.lora != nil, "DR\(dr) is not a LoRa data rate of \(region.rawValue)", option: "--dr")
            o.dataRate = dr
        }
        if let stimuli { o.stimuli = try StimuliFile.load(path: stimuli) }
        if let traffic { o.traffic = try parseArgument(traffic, option: "--traffic", TrafficProfile.named) }
        let runner = DeviceRun(options: o)
        runner.recordTimeline = false
        let console = common.console
        runner.onEntry = { e in
            if common.json {
                var f = e.fields
                f["time_ns"] = .number(Double(e.time))
                f["kind"] = .string(e.kind)
                f["text"] = .string(e.text)
                print(JSONValue.object(f).compact)
            } else {
                console.say("\(runner.stamp(e.time))  \(e.kind.padding(toLength: 14, withPad: " ", startingAt: 0)) \(e.text)")
            }
        }
        let s = runner.run()
        if common.json {
            var summary = (try? JSONValue.parse(JSONOutput.encode(s, pretty: false))) ?? .null
            if case .object(var o) = summary { o["kind"] = .string("summary"); o["sensor"] = .string(s.kind); summary = .object(o) }
            print(summary.compact)
            return
        }
        let e = s.energy
        var out = "\nSummary: \(s.kind) sensor, \(DurationFormat.human(s.duration))"
        if let v = s.visits { out += ", \(v) visits to the site" }
        out += "\n  uplinks \(s.uplinks) (+ \(s.retransmissions) retransmissions), joins \(s.joins), downlinks \(s.downlinks), "
            + "duty-cycle waits \(s.dutyCycleWaits), firmware retries \(s.firmwareRetries)\n"
        out += "  airtime \(DurationFormat.human(s.airtime)); counters " + s.counters.keys.sorted().map { "\($0) \(s.counters[$0] ?? 0)" }.joined(separator: ", ") + "\n"
        out += String(format: "  charge: TX %.1f mC, RX %.1f mC, MCU %.1f mC, sensing %.1f mC, sleep %.1f mC; average %.2f µA\n",
                      e.txMicrocoulombs / 1000, e.rxMicrocoulombs / 1000, e.mcuMicrocoulombs / 1000, e.sensingMicrocoulombs / 1000,
                      e.sleepMicrocoulombs / 1000, s.averageMicroamps)
        out += String(format: "  battery life: %.1f years on a %@ (%.0f %% usable)\n", s.batteryLifeYears, s.battery,
                      o.battery.usableFraction * 100)
        common.console.say(out)
    }
}
