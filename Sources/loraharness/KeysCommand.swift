import ArgumentParser
import Foundation
import HarnessCore
import LoRaWAN
import Traces

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Work with keys files: derive OTAA session keys from joins.",
        discussion: """
            Root keys come from a keys file (--keys FILE, see the README) or the environment (LORAHARNESS_KEYS, \
            LORAHARNESS_APPKEY), never from arguments; keys are written only to the --out file, never printed.
            """,
        subcommands: [KeysDeriveCommand.self]
    )
}

struct KeysDeriveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "derive",
        abstract: "Compute a join's session keys and write them as a keys file (mode 600).",
        discussion: """
            From a join-request and its join-accept (hex or base64): LoRaWAN 1.0.x gives NwkSKey and AppSKey; a \
            LoRaWAN 1.1 device (nwkKey and appKey in the keys) with an OptNeg join-accept gives FNwkSIntKey, \
            SNwkSIntKey, NwkSEncKey and AppSKey. From a capture (--from TRACE, any format 'replay' reads): every \
            join-request/join-accept pair the root keys open (LoRaWAN 1.0.x, and 1.1 with OptNeg). The file holds \
            the sessions and the devices rows of the input keys; it is made with mode 600 and an existing file is \
            only replaced with --force. Standard output names the sessions written, never a key. Exit status 1 when \
            a MIC does not verify or the capture holds no join the keys open.

            Examples:
              loraharness keys derive --keys root.yaml --join-request 00ffffffffffffff42ffffffffffff424200005517548e \\
                  --join-accept 20004edc793dbf25a42fc7e92bc8f2fd3f --out session.yaml
              loraharness keys derive --keys root.yaml --from capture.pcap --out sessions.yaml
            """
    )

    @Option(help: "The join-request (hex or base64).") var joinRequest: String?
    @Option(help: "The join-accept that answers it, as sent (hex or base64).") var joinAccept: String?
    @Option(help: "A capture to take the joins from (pcap, forwarder log, The Things Stack or ChirpStack JSON).") var from: String?
    @Option(help: "Trace format of --from: auto, semtech, tts, chirpstack, pcap, serial.") var format: String = "auto"
    @Option(help: "The keys file to write (YAML, mode 600).") var out: String
    @Flag(help: "Replace --out when it exists.") var force = false
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if from == nil {
            try require(joinRequest != nil && joinAccept != nil, "give --join-request and --join-accept, or --from TRACE", option: "--join-request")
        } else {
            try require(joinRequest == nil && joinAccept == nil, "--from takes the joins from the capture: not with --join-request/--join-accept", option: "--from")
        }
        try require(TraceFormatChoice(rawValue: format) != nil,
                    "format is one of " + TraceFormatChoice.allCases.map(\.rawValue).joined(separator: ", "), option: "--format")
        try refuseOverwriting(inputs: [keyOptions.keys, from].compactMap { $0 }, outputs: [("--out", out)])
    }

    func run() throws {
        let keys = try keyOptions.load(console: common.console)
        var derived: [DerivedSession] = []
        if let from {
            for (session, settled) in try TraceValidator.sessions(derivedFrom: from, format: TraceFormatChoice(rawValue: format) ?? .auto, keys: keys) {
                guard let eui = session.devEUI, let device = keys.device(for: eui) else { continue }
                derived.append(DerivedSession(session: session, device: device, settled: settled))
            }
            if derived.isEmpty {
                throw CheckFailure("no join in \(from) opens with the root keys (a join-request and its join-accept): nothing written")
            }
        } else if let joinRequest, let joinAccept {
            let request = try parseArgument(joinRequest, option: "--join-request", Hex.decodeHexOrBase64)
            let accept = try parseArgument(joinAccept, option: "--join-accept", Hex.decodeHexOrBase64)
            derived.append(try SessionDerivation.derive(joinRequest: request, joinAccept: accept, keys: keys))
        }
        let sessions = derived.map(\.session)
        let devices = KeysFile.devices(of: keys, for: sessions)
        let text = KeysFile.text(devices: devices, sessions: sessions,
                                 comment: "Written by loraharness keys derive. Secret keys: keep this file mode 600.")
        try KeysFile.write(text, to: out, overwrite: force, location: .argument("--out \(out)"))

        let result = DeriveResult(file: out, devices: devices.count, sessions: derived.map {
            DeriveResult.Row(devAddr: $0.session.devAddr.description, devEUI: $0.session.devEUI?.description,
                             lorawan: $0.version, settled: $0.settled)
        })
        var lines = ["wrote \(out) (mode 600): \(derived.count) session\(derived.count == 1 ? "" : "s"), \(devices.count) device\(devices.count == 1 ? "" : "s")"]
        for d in derived {
            var line = "  DevAddr \(d.session.devAddr)  DevEUI \(d.session.devEUI?.description ?? "-")  LoRaWAN \(d.version)"
            if let n = d.joinNonce, let dn = d.devNonce { line += "  JoinNonce \(n)  DevNonce \(dn)" }
            if !d.settled {
                line += "  (not settled: several join-requests fit and no frame confirmed one; the newest is used)"
            }
            lines.append(line)
        }
        try common.emit(result, text: lines.joined(separator: "\n"))
    }
}

struct DeriveResult: Codable {
    struct Row: Codable {
        var devAddr: String
        var devEUI: String?
        var lorawan: String
        var settled: Bool
    }
    var file: String
    var devices: Int
    var sessions: [Row]
}
