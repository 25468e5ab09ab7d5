import ArgumentParser
import Codecs
import Foundation
import HarnessCore
import RadioLink

struct CodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "The occupancy payload format (hardware/PAYLOAD.md): encode, decode, and verify the three codecs agree.",
        subcommands: [CodecEncodeCommand.self, CodecDecodeCommand.self, CodecVerifyCommand.self]
    )
}

struct CodecEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode one message with the Swift reference codec.",
        discussion: """
            Give the message type and its fields as FIELD=VALUE words (names as in PAYLOAD.md section 8), or a JSON \
            object with --from FILE ('-' for stdin). History: history=AGE,AGE,… (bay) or history=AGE:IN:OUT,… (gate). \
            --max-bytes, or --region/--dr (and --fopts), set the budget that history is packed into.

            Examples:
              loraharness codec encode --message bay-state occupied=true changes=5 \\
                  history=10,70
              loraharness codec encode --message gate-counts in=120 out=100 \\
                  history=300:118:99 --region US915 --dr 0
              loraharness codec encode --message set-report-interval seq=1 interval_s=300
            """
    )

    @Option(help: "Message type: bay-state, gate-counts, status, boot, config-ack, set-report-interval, set-heartbeat, set-debounce, set-capacity, request-status, reset-counters, set-time.")
    var message: String?
    @Argument(help: "Fields as FIELD=VALUE.") var fields: [String] = []
    @Option(help: "Read the message from a JSON object in this file ('-' for stdin).") var from: String?
    @Option(help: "Largest payload in bytes (history is packed to fit).") var maxBytes: Int?
    @Option(help: "Region for the budget (with --dr).", transform: regionArgument) var region: RegionID?
    @Option(help: "Data rate for the budget.") var dr: Int?
    @Option(help: "FOpts bytes sharing the frame (with --region).") var fopts: Int = 0
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require((message == nil) != (from == nil), "give --message TYPE with fields, or --from FILE", option: "--message")
        try require((region == nil) == (dr == nil), "--region and --dr go together", option: "--region")
        try require(maxBytes == nil || region == nil, "give --max-bytes or --region/--dr, not both", option: "--max-bytes")
        if let maxBytes { try require((1...242).contains(maxBytes), "max bytes \(maxBytes) is not allowed; allowed: 1 to 242", option: "--max-bytes") }
    }

    func run() throws {
        let json: JSONValue
        if let from {
            let data = from == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: from)
            guard let data else { throw InputError("cannot read the file", at: .file(from)) }
            do { json = try JSONValue.parse(data) } catch { throw error.located(.file(from)) }
        } else {
            json = try MessageFields.object(type: message ?? "", fields: fields)
        }
        let m: OccupancyMessage
        do { m = try OccupancyMessage(json: json) } catch { throw error.located(.argument(from ?? "--message")) }
        var budget = maxBytes
        if let region, let dr {
            guard let n = PayloadBudget.maxApplicationBytes(region: region.parameters, dr: dr, foptsBytes: fopts) else {
                throw InputError("DR\(dr) does not exist in \(region.rawValue)", at: .argument("--dr"))
            }
            budget = n
        }
        let encoded: (port: UInt8, bytes: [UInt8])
        do { encoded = try OccupancyCodec.encode(m, maxBytes: budget) }
        catch { throw InputError(error.description, at: .argument(from ?? "--message")) }
        let decoded = (try? OccupancyCodec.decode(port: encoded.port, encoded.bytes))?.json ?? .null
        let result = CodecEncodeResult(fport: Int(encoded.port), hex: Hex.encode(encoded.bytes), base64: Base64.encode(encoded.bytes),
                                       length: encoded.bytes.count, maxBytes: budget, decoded: decoded)
        try common.emit(result, text: """
            FPort    \(result.fport)
            hex      \(result.hex)
            base64   \(result.base64)
            length   \(result.length) bytes\(budget.map { " (budget \($0))" } ?? "")
            decoded  \(decoded.compact)
            """)
    }
}

struct CodecEncodeResult: Codable {
    var fport: Int
    var hex: String
    var base64: String
    var length: Int
    var maxBytes: Int?
    var decoded: JSONValue
}

struct CodecDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode an occupancy or Cayenne LPP payload (hex or base64).",
        discussion: """
            Exit status 2 with the error code of PAYLOAD.md section 7 when the payload is not valid.

            Examples:
              loraharness codec decode 217ff880280f00
              loraharness codec decode 3001012c --fport 11 --json
              loraharness codec decode 03670110056700ff --format cayenne
            """
    )

    @Argument(help: "The payload in hex or base64.") var payload: String
    @Option(help: "FPort: 10 uplink, 11 downlink.") var fport: Int = 10
    @Option(help: "Format: occupancy or cayenne.") var format: String = "occupancy"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(["occupancy", "cayenne"].contains(format), "format '\(format)' is unknown; allowed: occupancy, cayenne", option: "--format")
        try require((0...255).contains(fport), "FPort \(fport) is not allowed; allowed: 0 to 255", option: "--fport")
    }

    func run() throws {
        let bytes: [UInt8]
        do throws(InputError) {
            bytes = try Hex.decodeHexOrBase64(payload)
        } catch { throw InputError("the payload is neither hex nor base64: \(error.message)", at: .argument("<payload>")) }
        if format == "cayenne" {
            let items: [CayenneLPP.Item]
            do throws(CayenneLPP.DecodeError) { items = try CayenneLPP.decode(bytes) }
            catch { throw InputError(error.message, at: .byteOffset(source: "payload", offset: error.offset)) }
            let json = CayenneLPP.json(items)
            let lines = items.map { item in
                "channel \(item.channel)  \(item.name)  "
                    + item.values.keys.sorted().map { k in (k == "value" ? "" : k + " ") + "\(item.values[k] ?? 0)" }.joined(separator: "  ")
            }
            try common.emit(json, text: lines.joined(separator: "\n"))
            return
        }
        do {
            let m = try OccupancyCodec.decode(port: UInt8(fport), bytes)
            try common.emit(m.json, text: m.json.compact)
        } catch let e as OccupancyCodecError {
            throw InputError(e.code.rawValue + ": " + e.detail,
                             at: .byteOffset(source: "payload", offset: (e.bit ?? 0) / 8))
        }
    }
}

struct CodecVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run the vector set through the Swift, C and JavaScript codecs and compare them bit for bit.",
        discussion: """
            One line per implementation and message type; exit status 1 on any disagreement, with the first \
            differing bit shown. Needs node (for the JavaScript codec); run from the repository root or give paths.

            Examples:
              loraharness codec verify
              loraharness codec verify --random 100000 --seed 7
            """
    )

    @Option(help: "The vector file.") var vectors: String = "Fixtures/payload/vectors.json"
    @Option(help: "The JavaScript codec's test harness (run with node --batch).") var jsHarness: String = "hardware/codec/test/run.js"
    @Option(help: "Also run this many random messages through all three.") var random: Int = 0
    @Option(help: "Seed of the random messages (default: from the clock; printed).") var seed: UInt64?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(random >= 0 && random <= 10_000_000, "--random \(random) is not allowed; allowed: 0 to 10000000", option: "--random")
    }

    func run() throws {
        var verifier = ThreeWayVerifier(js: JSCodecRunner(harness: jsHarness))
        var report = try verifier.verifyVectors(path: vectors)
        if random > 0 {
            let s = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
            var v2 = ThreeWayVerifier(js: JSCodecRunner(harness: jsHarness))
            report = report.merged(with: try v2.differential(count: random, seed: s))
        }
        try common.emit(report, text: report.text)
        if !report.agree { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}
