import ArgumentParser
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Traces

struct FrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame",
        abstract: "Build and read LoRaWAN 1.0.x and 1.1 frames: encryption, MIC, MAC commands, pcap output.",
        discussion: """
            Keys come from a keys file (--keys FILE, see the README) or the environment (LORAHARNESS_KEYS, \
            LORAHARNESS_APPKEY, LORAHARNESS_NWKSKEY, LORAHARNESS_APPSKEY), never from arguments, and are never printed.
            """,
        subcommands: [FrameEncodeCommand.self, FrameDecodeCommand.self]
    )
}

/// Options that pick the keys.
struct KeyOptions: ParsableArguments {
    @Option(help: "Keys file (YAML or JSON). Without it: the LORAHARNESS_* environment variables.")
    var keys: String?

    func load(console: Console) throws -> KeyStore {
        do throws(InputError) {
            return try KeyStore.resolve(path: keys, warn: console.warn)
        } catch {
            throw error.located(keys.map { .file($0) } ?? .argument("environment"))
        }
    }
}

struct FrameEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Build a frame and print its PHYPayload as hex and base64.",
        discussion: """
            Fields come from flags or from a JSON object (--from FILE, '-' for stdin) with the same names as \
            'frame decode --json' prints (type, devAddr, fcnt, fport, payload, adr, ack, macCommands, …). \
            MAC commands: --mac 'LinkADRAns:powerACK=1,dataRateACK=1,channelMaskACK=1' (repeat for more); \
            they go in FOpts, or in an FPort 0 payload with --fport 0.

            Examples:
              loraharness frame encode --keys keys.yaml --dev-addr 26011BDA --fcnt 1 \\
                  --fport 2 --payload 0102
              loraharness frame encode --keys keys.yaml --type join-request --dev-eui \\
                  70B3D57ED0000001 --dev-nonce 7
              loraharness frame encode --keys keys.yaml --dev-addr 26011BDA --fcnt 70000 --mac DevStatusAns:battery=200,margin=7 \\
                  --pcap out.pcap --region EU868 --dr 5 --frequency 868.1MHz
              loraharness frame encode --keys keys11.yaml --lorawan 1.1 --dev-addr 01020304 --fcnt 1 \\
                  --fport 1 --payload 68656c6c6f --tx-dr 2 --tx-ch 3
              loraharness frame encode --keys keys11.yaml --type rejoin-request --rejoin-type 0 \\
                  --dev-eui 0102030405060708 --net-id 010203 --rj-count 1 --dev-addr 01020304
            """
    )

    @Option(help: "Frame type: unconfirmed-up, confirmed-up, unconfirmed-down, confirmed-down, join-request, join-accept, rejoin-request.")
    var type: String?
    @Option(help: "LoRaWAN version of a data frame: 1.0 or 1.1 (default: as the session in the keys).") var lorawan: String?
    @Option(help: "LoRaWAN 1.1 uplink: data rate of the transmission (in the MIC).") var txDr: UInt8?
    @Option(help: "LoRaWAN 1.1 uplink: channel index of the transmission (in the MIC).") var txCh: UInt8?
    @Option(help: "LoRaWAN 1.1 with --ack: FCnt of the acknowledged frame (in the MIC).") var confFcnt: UInt16?
    @Flag(help: "Join-accept with OptNeg (LoRaWAN 1.1): keys from the device's nwkKey; needs --dev-eui, --dev-nonce.") var optNeg = false
    @Option(help: "Rejoin-request type: 0, 1 or 2.") var rejoinType: UInt8?
    @Option(help: "Rejoin-request RJcount0 (types 0, 2) or RJcount1 (type 1).") var rjCount: UInt16?
    @Option(help: "DevAddr (8 hex digits).") var devAddr: String?
    @Option(help: "32-bit frame counter.") var fcnt: UInt32?
    @Option(help: "FPort (0 to 255; 0 puts MAC commands in the payload).") var fport: Int?
    @Option(help: "Application payload in hex (plaintext; it is encrypted).") var payload: String?
    @Option(help: "Raw FOpts in hex.") var fopts: String?
    @Option(name: .customLong("mac"), help: "A MAC command, e.g. LinkCheckReq or DevStatusAns:battery=254,margin=5.")
    var macCommands: [String] = []
    @Flag(help: "Set FCtrl.ADR.") var adr = false
    @Flag(help: "Set FCtrl.ADRACKReq (uplink).") var adrAckReq = false
    @Flag(help: "Set FCtrl.ACK.") var ack = false
    @Flag(help: "Set FCtrl bit 4: ClassB (uplink) or FPending (downlink).") var fpending = false
    @Option(help: "DevEUI (join-request, rejoin-request; join-accept: whose root keys to use).") var devEUI: String?
    @Option(help: "JoinEUI / AppEUI (join-request, rejoin-request type 1; OptNeg join-accept).") var joinEUI: String?
    @Option(help: "DevNonce (join-request; OptNeg join-accept: of the request it answers).") var devNonce: UInt16?
    @Option(help: "JoinNonce / AppNonce (join-accept, 24 bits).") var joinNonce: UInt32?
    @Option(help: "NetID (join-accept, rejoin-request types 0 and 2; 6 hex digits).") var netID: String?
    @Option(help: "RX1DROffset (join-accept).") var rx1DROffset: UInt8 = 0
    @Option(help: "RX2 data rate (join-accept).") var rx2DR: UInt8 = 0
    @Option(help: "RX1 delay in seconds (join-accept).") var rxDelay: UInt8 = 1
    @Option(help: "CFList in hex, 16 bytes (join-accept).") var cflist: String?
    @Option(help: "Read the fields from a JSON object in this file ('-' for stdin).") var from: String?
    @Option(help: "Check the frame against this region's maximum at --dr.", transform: regionArgument) var region: RegionID?
    @Option(help: "Data rate for the size check and the pcap's SF/bandwidth.") var dr: Int?
    @Option(help: "Append the frame to this pcap (LoRaTap, link type 270).") var pcap: String?
    @Option(help: "Frequency for the pcap record.", transform: frequencyArgument) var frequency: Int64 = 868_100_000
    @Option(parsing: .unconditional, help: "RSSI in dBm for the pcap record.") var rssi: Double?
    @Option(parsing: .unconditional, help: "SNR in dB for the pcap record.") var snr: Double?
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        var spec = FrameSpec()
        if let from {
            let text: String
            if from == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let d = FileManager.default.contents(atPath: from) else { throw InputError("cannot read the file", at: .file(from)) }
                text = String(decoding: d, as: UTF8.self)
            }
            spec = try FrameSpec.parse(DocumentNode.parse(text, file: from == "-" ? "stdin" : from))
        }
        try applyFlags(to: &spec)
        let keys = try keyOptions.load(console: common.console)
        let frame = try FrameBuilder.build(spec, keys: keys)
        if let region, let dr {
            do throws(FrameError) { try FrameDecoder.checkSize(frame.count, region: region.parameters, dataRate: dr) }
            catch { throw InputError(error.message, at: .argument("--region/--dr")) }
        }
        if let pcap {
            try writePcap(frame, to: pcap)
        }
        let result = EncodedFrame(hex: Hex.encode(frame), base64: Base64.encode(frame), length: frame.count, pcap: pcap)
        try common.emit(result, text: "hex     \(result.hex)\nbase64  \(result.base64)\nlength  \(result.length) bytes"
                        + (pcap.map { "\npcap    appended to \($0)" } ?? ""))
    }

    private func applyFlags(to s: inout FrameSpec) throws {
        if let type { s.type = try parseArgument(type, option: "--type", MType.parse) }
        if let devAddr { s.devAddr = try parseArgument(devAddr, option: "--dev-addr", DevAddr.init(hex:)) }
        if let fcnt { s.fcnt = fcnt }
        if let fport {
            try require((0...255).contains(fport), "FPort \(fport) is not allowed; allowed: 0 to 255", option: "--fport")
            s.fport = UInt8(fport)
        }
        if let payload { s.payload = try parseArgument(payload, option: "--payload", Hex.decode) }
        if let fopts { s.fopts = try parseArgument(fopts, option: "--fopts", Hex.decode) }
        for m in macCommands { s.macCommands.append(try parseArgument(m, option: "--mac", MACCommand.parse)) }
        if adr { s.fctrl.adr = true }
        if adrAckReq { s.fctrl.adrAckReq = true }
        if ack { s.fctrl.ack = true }
        if fpending { s.fctrl.classBOrFPending = true }
        if let devEUI { s.devEUI = try parseArgument(devEUI, option: "--dev-eui", EUI64.init(hex:)) }
        if let joinEUI { s.joinEUI = try parseArgument(joinEUI, option: "--join-eui", EUI64.init(hex:)) }
        if let devNonce { s.devNonce = devNonce }
        if let joinNonce { s.joinNonce = joinNonce }
        if let netID {
            guard let v = UInt32(netID, radix: 16), v <= 0xFF_FFFF else {
                throw InputError("NetID '\(netID)' is not 6 hex digits", at: .argument("--net-id"))
            }
            s.netID = v
        }
        if rx1DROffset != 0 { s.rx1DROffset = rx1DROffset }
        if rx2DR != 0 { s.rx2DataRate = rx2DR }
        if rxDelay != 1 { s.rxDelay = rxDelay }
        if let cflist { s.cfList = try parseArgument(cflist, option: "--cflist", Hex.decode) }
        if let lorawan { s.lorawan = try parseArgument(lorawan, option: "--lorawan", LoRaWANVersion.parse) }
        if let txDr {
            try require(txDr <= 15, "TxDr \(txDr) is not a data rate (0 to 15)", option: "--tx-dr")
            s.txDr = txDr
        }
        if let txCh { s.txCh = txCh }
        if let confFcnt { s.confFCnt = confFcnt }
        if optNeg { s.optNeg = true }
        if let rejoinType {
            try require(rejoinType <= 2, "rejoin type \(rejoinType) is not defined; allowed: 0, 1, 2", option: "--rejoin-type")
            s.rejoinType = rejoinType
        }
        if let rjCount { s.rjCount = rjCount }
        if s.optNeg, s.type != .joinAccept { throw InputError("--opt-neg is for join-accepts (--type join-accept)", at: .argument("--opt-neg")) }
        if s.rejoinType != nil, s.type != .rejoinRequest { throw InputError("--rejoin-type is for --type rejoin-request", at: .argument("--rejoin-type")) }
    }

    private func writePcap(_ frame: [UInt8], to path: String) throws {
        var sf: UInt8 = 7, steps: UInt8 = 1
        if let region, let dr, let m = region.parameters.dataRate(dr)?.modulation.lora {
            sf = UInt8(m.spreadingFactor)
            steps = UInt8(max(1, 4 / m.bandwidth.rawValue))
        }
        let header = LoRaTapHeader(frequencyHz: UInt32(clamping: frequency), bandwidthSteps: steps, spreadingFactor: sf,
                                   rssidBm: rssi, snrdB: snr)
        let writer = try PcapWriter(path: path, linkType: .loraTap)
        writer.write(header.bytes + frame, timestampNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        try writer.close()
    }
}

struct EncodedFrame: Codable {
    var hex: String
    var base64: String
    var length: Int
    var pcap: String?
}

struct FrameDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Read a PHYPayload: every field, the MIC status, the decrypted payload and MAC commands.",
        discussion: """
            The frame is hex or base64; '-' reads one frame per line from stdin. Exit status 1 when a MIC does not \
            match, 2 when a frame cannot be read (the error names the byte offset and field). LoRaWAN 1.1 frames are read \
            with a 1.1 session's keys (fNwkSIntKey, sNwkSIntKey, nwkSEncKey, appSKey): an uplink's MIC is checked in full \
            with --tx-dr and --tx-ch (and --conf-fcnt when ACK is set), else only its FNwkSIntKey half ('partially \
            checked'). An OptNeg join-accept needs --dev-nonce (and --join-eui unless the keys file has the device's \
            joinEUI); a rejoin-request of type 0 or 2 is checked with the session named by --dev-addr.

            Examples:
              loraharness frame decode 40da1b0126000100021bc97cd05b69 --keys keys.yaml
              loraharness frame decode QNobASYAAQACG8l80Ftp --keys keys.yaml \\
                  --last-fcnt 65535 --json
              loraharness frame decode <hex> --region EU868 --dr 0
              loraharness frame decode 400403020180010001a6946426157612366a --keys keys11.yaml \\
                  --tx-dr 2 --tx-ch 3
            """
    )

    @Argument(help: "The PHYPayload in hex or base64, or '-' to read lines from stdin.") var frame: String
    @Option(help: "The session's last 32-bit frame counter (to rebuild this frame's 32-bit counter).") var lastFcnt: UInt32?
    @Option(help: "This frame's full 32-bit counter, when known.") var fcnt: UInt32?
    @Option(help: "Frame-counter rule: 1.0.4 (no gap limit) or 1.0.3 (MAX_FCNT_GAP 16384).") var fcntRule: String = "1.0.4"
    @Option(help: "Check the size against this region's maximum at --dr.", transform: regionArgument) var region: RegionID?
    @Option(help: "Data rate for the size check.") var dr: Int?
    @Option(help: "LoRaWAN 1.1 uplink: data rate of the transmission (for the MIC's SNwkSIntKey half).") var txDr: UInt8?
    @Option(help: "LoRaWAN 1.1 uplink: channel index of the transmission (for the MIC's SNwkSIntKey half).") var txCh: UInt8?
    @Option(help: "LoRaWAN 1.1, ACK set: FCnt of the acknowledged frame.") var confFcnt: UInt16?
    @Option(help: "OptNeg join-accept: JoinEUI of the join-request it answers (default: the device's joinEUI).") var joinEUI: String?
    @Option(help: "OptNeg join-accept: DevNonce of the join-request it answers.") var devNonce: UInt16?
    @Option(help: "Rejoin-request type 0 or 2: DevAddr of the session whose SNwkSIntKey checks it.") var devAddr: String?
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(txDr.map { $0 <= 15 } ?? true, "TxDr is a data rate, 0 to 15", option: "--tx-dr")
        try require((region == nil) == (dr == nil), "--region and --dr go together", option: "--region")
        try require(FCntRule(rawValue: fcntRule) != nil, "FCnt rule '\(fcntRule)' is unknown; allowed: 1.0.4, 1.0.3", option: "--fcnt-rule")
    }

    func run() throws {
        let keys = try keyOptions.load(console: common.console)
        let options = InspectionOptions(keys: keys, lastFCnt: lastFcnt, fcnt: fcnt, fcntRule: FCntRule(rawValue: fcntRule) ?? .lorawan104,
                                        region: region?.parameters, dataRate: dr, txDr: txDr, txCh: txCh, confFCnt: confFcnt,
                                        joinEUI: try joinEUI.map { try parseArgument($0, option: "--join-eui", EUI64.init(hex:)) },
                                        devNonce: devNonce,
                                        devAddr: try devAddr.map { try parseArgument($0, option: "--dev-addr", DevAddr.init(hex:)) })
        let inputs: [(String, String)]
        if frame == "-" {
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            inputs = text.textLines.enumerated()
                .map { ("stdin:\($0.offset + 1)", String($0.element).trimmingCharacters(in: .whitespaces)) }
                .filter { !$0.1.isEmpty }
        } else {
            inputs = [("<frame>", frame)]
        }
        var anyMICFailed = false
        var reports: [FrameReport] = []
        var firstError: InputError?
        for (source, text) in inputs {
            do {
                let bytes = try decodeBytes(text, source: source)
                let report: FrameReport
                do throws(FrameError) { report = try FrameInspector.inspect(bytes, options: options) }
                catch { throw InputError(error.message, at: .byteOffset(source: (source.hasPrefix("stdin:") ? source : "argument " + source) + (error.field.map { ", field \($0)" } ?? ""), offset: error.offset ?? 0)) }
                anyMICFailed = anyMICFailed || report.micFailed
                reports.append(report)
                if !common.json { common.console.say((inputs.count > 1 ? "# \(source)\n" : "") + report.text) }
            } catch let e as InputError {
                // Report and go on: one bad line does not lose the others.
                if inputs.count == 1 { throw e }
                StandardStreams.err("error: \(e)\n")
                firstError = firstError ?? e
            }
        }
        if common.json {
            print(try JSONOutput.encode(inputs.count == 1 && frame != "-" ? AnyEncodable(reports.first) : AnyEncodable(reports)))
        }
        if firstError != nil { throw ExitCode(ExitStatus.badInput.rawValue) }
        if anyMICFailed { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }

    private func decodeBytes(_ text: String, source: String) throws -> [UInt8] {
        do throws(InputError) {
            let bytes = try Hex.decodeHexOrBase64(text)
            // The LoRa PHY carries at most 255 bytes (SX1276 RegPayloadLength, LoRaWAN's M limits are lower still).
            guard bytes.count <= 255 else { throw InputError("\(bytes.count) bytes: a LoRa frame holds at most 255") }
            return bytes
        } catch {
            // `source` is `<frame>` (the argument) or `stdin:N` (a line of standard input).
            throw InputError("the frame is neither hex nor base64: \(error.message)", at: source.hasPrefix("stdin:") ? .file(source) : .argument(source))
        }
    }
}

/// Wraps a value of any Encodable type.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ v: T) { encodeValue = v.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
