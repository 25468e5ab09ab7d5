/// The occupancy payload format, version 1 (hardware/PAYLOAD.md): the Swift reference codec.
public enum OccupancyCodec {
    public static let formatVersion = 1
    public static let uplinkPort: UInt8 = 10
    public static let downlinkPort: UInt8 = 11
    public static let maxHistory = 31
    public static let ageMax: UInt32 = 4_194_303
}

/// The error codes all three implementations share (PAYLOAD.md section 7).
public enum OccupancyErrorCode: String, Sendable, Codable, CaseIterable {
    case unknownPort = "unknown_port"
    case truncated
    case trailingBytes = "trailing_bytes"
    case unknownVersion = "unknown_version"
    case unknownType = "unknown_type"
    case reservedBits = "reserved_bits"
    case outOfRange = "out_of_range"
}

public struct OccupancyCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: OccupancyErrorCode
    public var detail: String
    /// The bit offset where the problem was found (decoding), when known.
    public var bit: Int?

    public init(_ code: OccupancyErrorCode, _ detail: String, bit: Int? = nil) {
        self.code = code
        self.detail = detail
        self.bit = bit
    }

    public var description: String {
        "\(code.rawValue): \(detail)" + (bit.map { " (byte offset \($0 / 8), bit \($0 % 8))" } ?? "")
    }
}

public enum SensorKind: String, Sendable, Codable, CaseIterable {
    case bay, gate
}

public enum ResetCause: String, Sendable, Codable, CaseIterable {
    case powerOn = "power_on", brownOut = "brown_out", watchdog, software, externalPin = "external_pin"
    case lockup, lowPower = "low_power", unknown
}

public enum AckResult: String, Sendable, Codable, CaseIterable {
    case ok, outOfRange = "out_of_range", unknownCommand = "unknown_command", unsupportedVersion = "unsupported_version"
}

/// A history entry. Encoders read `ageSeconds` (cumulative seconds before the message) and, for gate counts,
/// `countIn`/`countOut` (the counters at that snapshot); decoders fill every field.
public struct HistoryEntry: Sendable, Equatable, Hashable {
    public var ageSeconds: UInt32
    public var countIn: UInt32 = 0
    public var countOut: UInt32 = 0
    public var change: UInt16 = 0
    public var occupied = false
    public var saturated = false

    public init(ageSeconds: UInt32, countIn: UInt32 = 0, countOut: UInt32 = 0, change: UInt16 = 0,
                occupied: Bool = false, saturated: Bool = false) {
        self.ageSeconds = ageSeconds; self.countIn = countIn; self.countOut = countOut
        self.change = change; self.occupied = occupied; self.saturated = saturated
    }
}

public struct BayState: Sendable, Equatable {
    public var occupied: Bool
    /// State changes since the counters were reset (the encoder takes it mod 4096).
    public var changes: UInt32
    public var history: [HistoryEntry]
    public init(occupied: Bool, changes: UInt32, history: [HistoryEntry] = []) {
        self.occupied = occupied; self.changes = changes; self.history = history
    }
}

public struct GateCounts: Sendable, Equatable {
    public var countIn: UInt32
    public var countOut: UInt32
    public var history: [HistoryEntry]
    public init(countIn: UInt32, countOut: UInt32, history: [HistoryEntry] = []) {
        self.countIn = countIn; self.countOut = countOut; self.history = history
    }
}

public struct DeviceStatus: Sendable, Equatable {
    public var kind: SensorKind
    public var batteryMillivolts: Int?
    /// Half degrees Celsius (21.5 °C = 43); nil: not measured.
    public var temperatureHalfDegrees: Int?
    public var uptimeMinutes: UInt64
    public var resets: UInt64
    public var occupied = false
    public var changes: UInt32 = 0
    public var countIn: UInt32 = 0
    public var countOut: UInt32 = 0

    public init(kind: SensorKind, batteryMillivolts: Int?, temperatureHalfDegrees: Int?, uptimeMinutes: UInt64,
                resets: UInt64, occupied: Bool = false, changes: UInt32 = 0, countIn: UInt32 = 0, countOut: UInt32 = 0) {
        self.kind = kind; self.batteryMillivolts = batteryMillivolts; self.temperatureHalfDegrees = temperatureHalfDegrees
        self.uptimeMinutes = uptimeMinutes; self.resets = resets; self.occupied = occupied; self.changes = changes
        self.countIn = countIn; self.countOut = countOut
    }
}

public struct BootInfo: Sendable, Equatable {
    public var kind: SensorKind
    public var firmware: (major: Int, minor: Int, patch: Int)
    public var resetCause: ResetCause
    public var configHash: UInt32

    public init(kind: SensorKind, firmware: (major: Int, minor: Int, patch: Int), resetCause: ResetCause, configHash: UInt32) {
        self.kind = kind; self.firmware = firmware; self.resetCause = resetCause; self.configHash = configHash
    }

    public static func == (a: BootInfo, b: BootInfo) -> Bool {
        a.kind == b.kind && a.firmware == b.firmware && a.resetCause == b.resetCause && a.configHash == b.configHash
    }

    public var firmwareText: String { "\(firmware.major).\(firmware.minor).\(firmware.patch)" }
}

public struct ConfigAck: Sendable, Equatable {
    public var seq: UInt8
    public var command: UInt8
    public var result: AckResult
    public var configHash: UInt32
    public init(seq: UInt8, command: UInt8, result: AckResult, configHash: UInt32) {
        self.seq = seq; self.command = command; self.result = result; self.configHash = configHash
    }
}

/// Every message of the format.
public enum OccupancyMessage: Sendable, Equatable {
    case bayState(BayState)
    case gateCounts(GateCounts)
    case status(DeviceStatus)
    case boot(BootInfo)
    case configAck(ConfigAck)
    case setReportInterval(seq: UInt8, intervalSeconds: UInt32)
    case setHeartbeat(seq: UInt8, periodMinutes: UInt32)
    case setDebounce(seq: UInt8, debounceCentiseconds: UInt32, holdoffSeconds: UInt32)
    case setCapacity(seq: UInt8, capacity: UInt32)
    case requestStatus(seq: UInt8)
    case resetCounters(seq: UInt8, changes: Bool, countIn: Bool, countOut: Bool)
    case setTime(seq: UInt8, unixTime: UInt32)

    public var typeCode: UInt8 {
        switch self {
        case .bayState: return 1
        case .gateCounts: return 2
        case .status: return 3
        case .boot: return 4
        case .configAck: return 5
        case .setReportInterval: return 16
        case .setHeartbeat: return 17
        case .setDebounce: return 18
        case .setCapacity: return 19
        case .requestStatus: return 20
        case .resetCounters: return 21
        case .setTime: return 22
        }
    }

    public var typeName: String { OccupancyMessage.typeNames[typeCode] ?? "unknown" }

    public static let typeNames: [UInt8: String] = [
        1: "bay_state", 2: "gate_counts", 3: "status", 4: "boot", 5: "config_ack",
        16: "set_report_interval", 17: "set_heartbeat", 18: "set_debounce", 19: "set_capacity",
        20: "request_status", 21: "reset_counters", 22: "set_time",
    ]

    public var isUplink: Bool { typeCode < 16 }
    public var port: UInt8 { isUplink ? OccupancyCodec.uplinkPort : OccupancyCodec.downlinkPort }
}
