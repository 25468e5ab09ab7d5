import Foundation
import HarnessCore

/// MAC commands as text and as field maps: `LinkADRReq:dataRate=5,txPower=1,channelMask=0x0007,nbTrans=1`, and
/// `{"name": "LinkADRReq", "fields": {...}}` in JSON. Field names are those of the `MACCommand` cases.
extension MACCommand {
    struct Spec: Sendable {
        let name: String
        let fields: [String]
        let build: @Sendable ([String: Int64]) -> MACCommand
    }

    @Sendable static func b(_ v: Int64?) -> Bool { (v ?? 0) != 0 }
    @Sendable static func u8(_ v: Int64?) -> UInt8 { UInt8(clamping: v ?? 0) }

    static let specs: [Spec] = {
        return [
            Spec(name: "LinkCheckReq", fields: []) { _ in .linkCheckReq },
            Spec(name: "LinkADRAns", fields: ["powerACK", "dataRateACK", "channelMaskACK"]) {
                .linkADRAns(powerACK: b($0["powerACK"]), dataRateACK: b($0["dataRateACK"]), channelMaskACK: b($0["channelMaskACK"])) },
            Spec(name: "DutyCycleAns", fields: []) { _ in .dutyCycleAns },
            Spec(name: "RXParamSetupAns", fields: ["rx1DROffsetACK", "rx2DataRateACK", "channelACK"]) {
                .rxParamSetupAns(rx1DROffsetACK: b($0["rx1DROffsetACK"]), rx2DataRateACK: b($0["rx2DataRateACK"]), channelACK: b($0["channelACK"])) },
            Spec(name: "DevStatusAns", fields: ["battery", "margin"]) {
                .devStatusAns(battery: u8($0["battery"]), margin: Int8(clamping: max(-32, min(31, $0["margin"] ?? 0)))) },
            Spec(name: "NewChannelAns", fields: ["dataRateRangeOK", "channelFrequencyOK"]) {
                .newChannelAns(dataRateRangeOK: b($0["dataRateRangeOK"]), channelFrequencyOK: b($0["channelFrequencyOK"])) },
            Spec(name: "RXTimingSetupAns", fields: []) { _ in .rxTimingSetupAns },
            Spec(name: "TxParamSetupAns", fields: []) { _ in .txParamSetupAns },
            Spec(name: "DlChannelAns", fields: ["uplinkFrequencyExists", "channelFrequencyOK"]) {
                .dlChannelAns(uplinkFrequencyExists: b($0["uplinkFrequencyExists"]), channelFrequencyOK: b($0["channelFrequencyOK"])) },
            Spec(name: "DeviceTimeReq", fields: []) { _ in .deviceTimeReq },
            Spec(name: "PingSlotInfoReq", fields: ["periodicity"]) { .pingSlotInfoReq(periodicity: u8($0["periodicity"])) },
            Spec(name: "PingSlotChannelAns", fields: ["dataRateOK", "channelFrequencyOK"]) {
                .pingSlotChannelAns(dataRateOK: b($0["dataRateOK"]), channelFrequencyOK: b($0["channelFrequencyOK"])) },
            Spec(name: "BeaconFreqAns", fields: ["beaconFrequencyOK"]) { .beaconFreqAns(beaconFrequencyOK: b($0["beaconFrequencyOK"])) },
            Spec(name: "BeaconTimingReq", fields: []) { _ in .beaconTimingReq },
            Spec(name: "LinkCheckAns", fields: ["margin", "gatewayCount"]) {
                .linkCheckAns(margin: u8($0["margin"]), gatewayCount: u8($0["gatewayCount"])) },
            Spec(name: "LinkADRReq", fields: ["dataRate", "txPower", "channelMask", "channelMaskControl", "nbTrans"]) {
                .linkADRReq(dataRate: u8($0["dataRate"]), txPower: u8($0["txPower"]), channelMask: UInt16(clamping: $0["channelMask"] ?? 0),
                            channelMaskControl: u8($0["channelMaskControl"]), nbTrans: u8($0["nbTrans"])) },
            Spec(name: "DutyCycleReq", fields: ["maxDutyCycle"]) { .dutyCycleReq(maxDutyCycle: u8($0["maxDutyCycle"])) },
            Spec(name: "RXParamSetupReq", fields: ["rx1DROffset", "rx2DataRate", "frequencyHz"]) {
                .rxParamSetupReq(rx1DROffset: u8($0["rx1DROffset"]), rx2DataRate: u8($0["rx2DataRate"]), frequencyHz: $0["frequencyHz"] ?? 0) },
            Spec(name: "DevStatusReq", fields: []) { _ in .devStatusReq },
            Spec(name: "NewChannelReq", fields: ["channelIndex", "frequencyHz", "minDataRate", "maxDataRate"]) {
                .newChannelReq(channelIndex: u8($0["channelIndex"]), frequencyHz: $0["frequencyHz"] ?? 0,
                               minDataRate: u8($0["minDataRate"]), maxDataRate: u8($0["maxDataRate"])) },
            Spec(name: "RXTimingSetupReq", fields: ["delaySeconds"]) { .rxTimingSetupReq(delaySeconds: u8($0["delaySeconds"])) },
            Spec(name: "TxParamSetupReq", fields: ["downlinkDwellTime", "uplinkDwellTime", "maxEIRPIndex"]) {
                .txParamSetupReq(downlinkDwellTime: b($0["downlinkDwellTime"]), uplinkDwellTime: b($0["uplinkDwellTime"]),
                                 maxEIRPIndex: u8($0["maxEIRPIndex"])) },
            Spec(name: "DlChannelReq", fields: ["channelIndex", "frequencyHz"]) {
                .dlChannelReq(channelIndex: u8($0["channelIndex"]), frequencyHz: $0["frequencyHz"] ?? 0) },
            Spec(name: "DeviceTimeAns", fields: ["gpsSeconds", "fraction"]) {
                .deviceTimeAns(gpsSeconds: UInt32(clamping: $0["gpsSeconds"] ?? 0), fraction: u8($0["fraction"])) },
            Spec(name: "PingSlotInfoAns", fields: []) { _ in .pingSlotInfoAns },
            Spec(name: "PingSlotChannelReq", fields: ["frequencyHz", "dataRate"]) {
                .pingSlotChannelReq(frequencyHz: $0["frequencyHz"] ?? 0, dataRate: u8($0["dataRate"])) },
            Spec(name: "BeaconFreqReq", fields: ["frequencyHz"]) { .beaconFreqReq(frequencyHz: $0["frequencyHz"] ?? 0) },
            Spec(name: "BeaconTimingAns", fields: ["delay", "channel"]) {
                .beaconTimingAns(delay: UInt16(clamping: $0["delay"] ?? 0), channel: u8($0["channel"])) },
        ]
    }()

    /// Builds a command from its name and field values; unknown names and fields are errors naming what is allowed.
    public static func make(name: String, fields: [String: Int64]) throws(InputError) -> MACCommand {
        guard let spec = specs.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw InputError("unknown MAC command '\(name)'; known: " + specs.map(\.name).joined(separator: ", "))
        }
        for key in fields.keys where !spec.fields.contains(key) {
            throw InputError("\(spec.name) has no field '\(key)'; its fields: "
                + (spec.fields.isEmpty ? "none" : spec.fields.joined(separator: ", ")))
        }
        return spec.build(fields)
    }

    /// Parses `Name` or `Name:field=value,field=value`; values are integers (0x… hex), true/false, or
    /// frequencies with a unit for fields ending in Hz.
    public static func parse(_ text: String) throws(InputError) -> MACCommand {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw InputError("empty MAC command") }
        var fields: [String: Int64] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { throw InputError("'\(pair)' in MAC command \(name) is not field=value") }
                fields[kv[0]] = try fieldValue(kv[1], field: kv[0])
            }
        }
        return try make(name: name, fields: fields)
    }

    static func fieldValue(_ v: String, field: String) throws(InputError) -> Int64 {
        switch v.lowercased() {
        case "true", "yes", "on": return 1
        case "false", "no", "off": return 0
        default: break
        }
        if v.lowercased().hasPrefix("0x"), let n = Int64(v.dropFirst(2), radix: 16) { return n }
        if let n = Int64(v) { return n }
        if field.hasSuffix("Hz") { return try FrequencyFormat.parse(v) }
        throw InputError("'\(v)' is not a value for field \(field)")
    }

    /// The command's fields by name, for JSON output and round trips.
    public var fields: [String: Int64] {
        var out: [String: Int64] = [:]
        guard let payload = Mirror(reflecting: self).children.first?.value else { return out }
        for child in Mirror(reflecting: payload).children {
            guard let label = child.label else { continue }
            switch child.value {
            case let v as Bool: out[label] = v ? 1 : 0
            case let v as UInt8: out[label] = Int64(v)
            case let v as Int8: out[label] = Int64(v)
            case let v as UInt16: out[label] = Int64(v)
            case let v as UInt32: out[label] = Int64(v)
            case let v as Int64: out[label] = v
            default: break
            }
        }
        return out
    }
}

/// A MAC command in reports.
public struct MACCommandRecord: Sendable, Codable, Equatable {
    public var cid: Int
    public var name: String
    public var fields: [String: Int64]
    public var summary: String

    public init(_ c: MACCommand) {
        cid = Int(c.cid)
        name = c.name
        fields = c.fields
        summary = c.summary
    }
}
