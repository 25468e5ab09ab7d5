import Codecs
import RadioLink
import Foundation
import HarnessCore
import Serial

/// One step of a flash-test plan.
public enum PlanStep: Sendable {
    /// Runs the profile's flashing command with the firmware image.
    case flash(firmware: String?)
    /// Resets the board and waits for its boot banner.
    case boot
    /// Firmware version (and payload format), DevEUI format, kind.
    case identity(firmware: String?, payloadFormat: Int?, kind: SensorKind?)
    /// Region, data rate and keys (from the manifest, or generated for a lab board).
    case configure
    case join(timeout: Nanoseconds?)
    /// A sensor event through the firmware's test commands: a detection (bay) or a vehicle (gate).
    case sensor(detect: Bool?, vehicle: String?)
    /// An uplink triggered and its payload read back and checked bit for bit against the Swift reference encoder,
    /// with expected decoded fields.
    case uplink(expect: [String: String], payloadHex: String?, port: UInt8)
    /// The last transmission's duration against the airtime model.
    case txTime(tolerance: Nanoseconds, relative: Double)
    /// Sends at a low data rate until the duty cycle refuses, within `attempts`.
    case dutyCycle(dataRate: Int, payloadBytes: Int, attempts: Int)
    /// Any command and the answer expected (a regular expression).
    case command(send: String, expect: String, timeout: Nanoseconds?)
    /// A program that cuts and restores the board's power (a USB hub's port, a relay), run with the port closed;
    /// the port is opened again (a USB board comes back as its port reappears) within the timeout.
    case powerCycle(command: String, timeout: Nanoseconds)
    /// Through the bench gateway (`--gateway`): a downlink queued for the board's next uplink, which the step sends;
    /// the board must report the downlink's port and payload.
    case downlink(port: UInt8, payload: [UInt8])
}

public struct NamedStep: Sendable {
    public var name: String
    public var step: PlanStep
    public var line: Int
}

/// A flash-test plan (`hardware/plans/*.yaml`).
public struct FlashTestPlan: Sendable {
    public var name: String
    public var profile: String
    public var region: String
    public var dataRate: Int
    public var steps: [NamedStep]
    public var file: String

    public static func load(path: String) throws(InputError) -> FlashTestPlan {
        try parse(try DocumentNode.load(path: path), file: path)
    }

    /// The bundled plans' directory: `LORAHARNESS_PLANS`, `hardware/plans` here, or beside the executable.
    public static func directory(root: String? = nil) -> String {
        BundledFiles.directory("hardware/plans", variable: "LORAHARNESS_PLANS", root: root)
    }

    /// A plan by name (`occupancy-bay`, a file of the bundled plans) or by path.
    public static func load(named nameOrPath: String, directory: String? = nil) throws(InputError) -> FlashTestPlan {
        try load(path: try BundledFiles.find(nameOrPath, in: directory ?? FlashTestPlan.directory(), what: "plan"))
    }

    public static func parse(_ doc: DocumentNode, file: String) throws(InputError) -> FlashTestPlan {
        try doc.allowOnly(["name", "description", "profile", "region", "dataRate", "steps"])
        var steps: [NamedStep] = []
        let known = ["flash", "boot", "identity", "configure", "join", "sensor", "uplink", "txTime", "dutyCycle", "command", "powerCycle", "downlink"]
        for n in try doc.require("steps").array() {
            let kindNode = try n.require("step")
            let kind = try kindNode.string()
            let name = try n.optional("name")?.string() ?? kind
            let step: PlanStep
            switch kind {
            case "flash":
                try n.allowOnly(["step", "name", "firmware"])
                step = .flash(firmware: try n.optional("firmware")?.string())
            case "boot":
                try n.allowOnly(["step", "name"])
                step = .boot
            case "identity":
                try n.allowOnly(["step", "name", "firmware", "payloadFormat", "kind"])
                var k: SensorKind?
                if let kn = try n.optional("kind") {
                    guard let v = SensorKind(rawValue: try kn.string().lowercased()) else { throw kn.error("kind is bay or gate") }
                    k = v
                }
                step = .identity(firmware: try n.optional("firmware")?.string(), payloadFormat: try n.optional("payloadFormat")?.int(in: 0...7), kind: k)
            case "configure":
                try n.allowOnly(["step", "name"])
                step = .configure
            case "join":
                try n.allowOnly(["step", "name", "timeout"])
                step = .join(timeout: try n.optional("timeout")?.duration())
            case "sensor":
                try n.allowOnly(["step", "name", "detect", "vehicle"])
                let detect = try n.optional("detect")?.int(in: 0...1)
                let vehicle = try n.optional("vehicle")?.string().uppercased()
                guard (detect == nil) != (vehicle == nil) else { throw n.error("a sensor step has detect (0 or 1) or vehicle (in or out)") }
                if let v = vehicle, v != "IN" && v != "OUT" { throw try n.require("vehicle").error("vehicle is in or out") }
                step = .sensor(detect: detect.map { $0 == 1 }, vehicle: vehicle)
            case "uplink":
                try n.allowOnly(["step", "name", "expect", "payload", "port"])
                var expect: [String: String] = [:]
                if let e = try n.optional("expect") {
                    for (k, v) in try e.entries() {
                        guard OccupancyJSON.uplinkFields.contains(k) else {
                            throw InputError("unknown field '\(k)' in expect; an uplink's fields are "
                                             + OccupancyJSON.uplinkFields.sorted().joined(separator: ", "), at: .line(file: file, line: v.line))
                        }
                        expect[k] = try v.string()
                    }
                }
                let hex = try n.optional("payload")?.string()
                if let hex { do { _ = try Hex.decode(hex) } catch { throw try n.require("payload").error(error.message) } }
                step = .uplink(expect: expect, payloadHex: hex, port: UInt8(try n.optional("port")?.int(in: 1...223) ?? 2))
            case "txTime":
                try n.allowOnly(["step", "name", "tolerance"])
                var abs = 2 * Time.millisecond, rel = 0.0
                if let t = try n.optional("tolerance") {
                    let text = try t.string()
                    if text.hasSuffix("%"), let v = Double(text.dropLast()) { rel = v / 100; abs = 0 } else { abs = try t.duration() }
                }
                step = .txTime(tolerance: abs, relative: rel)
            case "dutyCycle":
                try n.allowOnly(["step", "name", "dataRate", "payload", "attempts"])
                step = .dutyCycle(dataRate: try n.optional("dataRate")?.int(in: 0...15) ?? 0, payloadBytes: try n.optional("payload")?.int(in: 1...222) ?? 40,
                                  attempts: try n.optional("attempts")?.int(in: 1...1000) ?? 40)
            case "command":
                try n.allowOnly(["step", "name", "send", "expect", "timeout"])
                let expectNode = try n.require("expect")
                let re = try expectNode.string()
                if let problem = Matcher.validRegex(re) { throw expectNode.error(problem) }
                step = .command(send: try n.require("send").string(), expect: re, timeout: try n.optional("timeout")?.duration())
            case "powerCycle":
                try n.allowOnly(["step", "name", "command", "timeout"])
                step = .powerCycle(command: try n.require("command").string(), timeout: try n.optional("timeout")?.duration() ?? 30 * Time.second)
            case "downlink":
                try n.allowOnly(["step", "name", "port", "payload"])
                let payloadNode = try n.require("payload")
                let bytes: [UInt8]
                do { bytes = try Hex.decode(try payloadNode.string()) } catch { throw payloadNode.error(error.message) }
                step = .downlink(port: UInt8(try n.optional("port")?.int(in: 1...223) ?? 3), payload: bytes)
            default:
                throw kindNode.error("unknown step '\(kind)'; steps: " + known.joined(separator: ", "))
            }
            steps.append(NamedStep(name: name, step: step, line: n.line))
        }
        guard !steps.isEmpty else { throw try doc.require("steps").error("a plan needs at least one step") }
        var region = "EU868"
        if let r = try doc.optional("region") {
            region = try r.string()
            // A region of the radio-link tables (EU869 is a typo, not a region).
            do { _ = try RegionID.parse(region) } catch { throw r.error(error.message) }
        }
        return FlashTestPlan(name: try doc.require("name").string(), profile: try doc.require("profile").string(),
                             region: region, dataRate: try doc.optional("dataRate")?.int(in: 0...15) ?? 5,
                             steps: steps, file: file)
    }
}

extension FlashTestPlan {
    /// What this plan asks of a profile (and of the run) that it does not give: each a problem at the step's line,
    /// found before any board is touched (a plan for this project's firmware on a stock module, a downlink step
    /// without a bench gateway).
    public func problems(profile: DialectProfile, gateway: Bool) -> [InputError] {
        var out: [InputError] = []
        var uplinkSeen = false
        func at(_ step: NamedStep, _ message: String) { out.append(InputError(message, at: .line(file: file, line: step.line))) }
        let console = "this project's firmware console (ATC+ commands, hardware/CONSOLE.md)"
        for step in steps {
            switch step.step {
            case .sensor where !profile.firmwareConsole:
                at(step, "step '\(step.name)' needs \(console); profile \(profile.name) has none")
            case .uplink(_, let hex, _):
                if hex == nil && !profile.firmwareConsole {
                    at(step, "step '\(step.name)' reads the payload back through \(console); profile \(profile.name) has none (give the step a payload: to send one)")
                }
                uplinkSeen = true
            case .identity(_, let format, let kind) where (format != nil || kind != nil) && !profile.firmwareConsole:
                at(step, "step '\(step.name)' checks the payload format or kind through \(console); profile \(profile.name) has none")
            case .boot where profile.patterns["boot"]?.isEmpty ?? true:
                at(step, "step '\(step.name)' waits for a boot banner; profile \(profile.name) has no boot pattern")
            case .boot where profile.command("reset") == nil && profile.resetLine == nil:
                at(step, "step '\(step.name)' resets the board; profile \(profile.name) has no reset command or reset line")
            case .txTime where !uplinkSeen && !profile.firmwareConsole:
                at(step, "step '\(step.name)' times the last uplink; no uplink step comes before it")
            case .downlink where !gateway:
                at(step, "step '\(step.name)' needs --gateway udp:HOST:PORT (the bench gateway sends the downlink)")
            default:
                break
            }
        }
        return out
    }
}

/// One board's identity and keys for production (never logged): from a manifest CSV
/// `port,usb_serial,dev_eui,join_eui,app_key` (a row matches a board by port or USB serial number).
public struct ManifestEntry: Sendable {
    public var port: String?
    public var usbSerial: String?
    public var devEUI: String
    public var joinEUI: String
    public var appKey: String

    public static func load(path: String) throws(InputError) -> [ManifestEntry] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the manifest", at: .file(path)) }
        var out: [ManifestEntry] = []
        for (i, raw) in String(decoding: data, as: UTF8.self).textLines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || (i == 0 && line.lowercased().hasPrefix("port,")) { continue }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let at = InputLocation.line(file: path, line: i + 1)
            guard f.count == 5 else { throw InputError("a manifest row has 5 fields: port,usb_serial,dev_eui,join_eui,app_key (got \(f.count))", at: at) }
            guard f[2].count == 16, UInt64(f[2], radix: 16) != nil else { throw InputError("dev_eui is 16 hex digits", at: at) }
            guard f[3].count == 16, UInt64(f[3], radix: 16) != nil else { throw InputError("join_eui is 16 hex digits", at: at) }
            guard f[4].count == 32, f[4].allSatisfy(\.isHexDigit) else { throw InputError("app_key is 32 hex digits", at: at) }   // the value is never repeated
            out.append(ManifestEntry(port: f[0].isEmpty ? nil : f[0], usbSerial: f[1].isEmpty ? nil : f[1], devEUI: f[2].uppercased(),
                                     joinEUI: f[3].uppercased(), appKey: f[4].uppercased()))
        }
        return out
    }
}
