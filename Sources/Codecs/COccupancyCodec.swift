import CFirmware

/// The firmware's C codec (hardware/firmware/src/occupancy_codec.c), called directly: the same code that ships
/// on the sensor, checked here against the Swift reference.
public enum COccupancyCodec {
    static func errorCode(_ s: occ_status_t) -> OccupancyErrorCode? {
        switch s {
        case OCC_ERR_UNKNOWN_PORT: return .unknownPort
        case OCC_ERR_TRUNCATED: return .truncated
        case OCC_ERR_TRAILING_BYTES: return .trailingBytes
        case OCC_ERR_UNKNOWN_VERSION: return .unknownVersion
        case OCC_ERR_UNKNOWN_TYPE: return .unknownType
        case OCC_ERR_RESERVED_BITS: return .reservedBits
        case OCC_ERR_OUT_OF_RANGE: return .outOfRange
        default: return nil
        }
    }

    static func error(_ s: occ_status_t) -> OccupancyCodecError {
        let name = String(cString: occ_status_name(s))
        return OccupancyCodecError(errorCode(s) ?? .outOfRange, "C codec: \(name)")
    }

    /// The Swift message as the C structure.
    public static func cMessage(_ m: OccupancyMessage) -> occ_message_t {
        var c = occ_message_t()
        c.type = m.typeCode
        func setHistory(_ entries: [HistoryEntry]) {
            let n = min(entries.count, Int(OCC_MAX_HISTORY))
            c.history_len = UInt8(n)
            withUnsafeMutableBytes(of: &c.history) { raw in
                let p = raw.bindMemory(to: occ_history_t.self)
                for i in 0..<n {
                    p[i] = occ_history_t(age_s: entries[i].ageSeconds, count_in: entries[i].countIn,
                                         count_out: entries[i].countOut, change: 0, occupied: 0, saturated: 0)
                }
            }
        }
        switch m {
        case .bayState(let b):
            c.occupied = b.occupied ? 1 : 0; c.changes = b.changes; setHistory(b.history)
        case .gateCounts(let g):
            c.count_in = g.countIn; c.count_out = g.countOut; setHistory(g.history)
        case .status(let s):
            c.kind = s.kind == .gate ? 1 : 0
            if let mv = s.batteryMillivolts { c.has_battery = 1; c.battery_mv = UInt32(clamping: max(0, mv)) }
            if let half = s.temperatureHalfDegrees {
                c.has_temperature = 1
                c.temperature_dc = Int32(clamping: half * 5)   // tenths: the C encoder floors them back to half degrees
            }
            c.uptime_min = UInt32(clamping: s.uptimeMinutes)
            c.resets = UInt32(truncatingIfNeeded: s.resets % 256)
            c.occupied = s.occupied ? 1 : 0; c.changes = s.changes; c.count_in = s.countIn; c.count_out = s.countOut
        case .boot(let b):
            c.kind = b.kind == .gate ? 1 : 0
            c.fw_major = UInt8(clamping: b.firmware.major); c.fw_minor = UInt8(clamping: b.firmware.minor)
            c.fw_patch = UInt8(clamping: b.firmware.patch)
            c.reset_cause = UInt8(ResetCause.allCases.firstIndex(of: b.resetCause) ?? 7)
            c.config_hash = b.configHash
        case .configAck(let a):
            c.seq = a.seq; c.command = a.command; c.result = UInt8(AckResult.allCases.firstIndex(of: a.result) ?? 0)
            c.config_hash = a.configHash
        case .setReportInterval(let seq, let v): c.seq = seq; c.interval_s = v
        case .setHeartbeat(let seq, let v): c.seq = seq; c.period_min = v
        case .setDebounce(let seq, let d, let h): c.seq = seq; c.debounce_cs = d; c.holdoff_s = h
        case .setCapacity(let seq, let v): c.seq = seq; c.capacity = v
        case .requestStatus(let seq): c.seq = seq
        case .resetCounters(let seq, let ch, let i, let o):
            c.seq = seq; c.reset_changes = ch ? 1 : 0; c.reset_in = i ? 1 : 0; c.reset_out = o ? 1 : 0
        case .setTime(let seq, let t): c.seq = seq; c.unix_time = t
        }
        return c
    }

    /// The C structure as a Swift message.
    public static func swiftMessage(_ c: occ_message_t) -> OccupancyMessage? {
        var history: [HistoryEntry] = []
        var copy = c
        withUnsafeBytes(of: &copy.history) { raw in
            let p = raw.bindMemory(to: occ_history_t.self)
            for i in 0..<min(Int(c.history_len), Int(OCC_MAX_HISTORY)) {
                history.append(HistoryEntry(ageSeconds: p[i].age_s, countIn: p[i].count_in, countOut: p[i].count_out,
                                            change: p[i].change, occupied: p[i].occupied != 0, saturated: p[i].saturated != 0))
            }
        }
        switch c.type {
        case 1:
            return .bayState(BayState(occupied: c.occupied != 0, changes: c.changes,
                                      history: history.map { HistoryEntry(ageSeconds: $0.ageSeconds, change: $0.change, occupied: $0.occupied, saturated: $0.saturated) }))
        case 2:
            return .gateCounts(GateCounts(countIn: c.count_in, countOut: c.count_out,
                                          history: history.map { HistoryEntry(ageSeconds: $0.ageSeconds, countIn: $0.countIn, countOut: $0.countOut, saturated: $0.saturated) }))
        case 3:
            var s = DeviceStatus(kind: c.kind == 1 ? .gate : .bay, batteryMillivolts: c.has_battery != 0 ? Int(c.battery_mv) : nil,
                                 temperatureHalfDegrees: c.has_temperature != 0 ? Int(c.temperature_dc) / 5 : nil,
                                 uptimeMinutes: UInt64(c.uptime_min), resets: UInt64(c.resets))
            if c.kind == 1 { s.countIn = c.count_in; s.countOut = c.count_out } else { s.occupied = c.occupied != 0; s.changes = c.changes }
            return .status(s)
        case 4:
            guard Int(c.reset_cause) < ResetCause.allCases.count else { return nil }
            return .boot(BootInfo(kind: c.kind == 1 ? .gate : .bay, firmware: (Int(c.fw_major), Int(c.fw_minor), Int(c.fw_patch)),
                                  resetCause: ResetCause.allCases[Int(c.reset_cause)], configHash: c.config_hash))
        case 5:
            guard Int(c.result) < AckResult.allCases.count else { return nil }
            return .configAck(ConfigAck(seq: c.seq, command: c.command, result: AckResult.allCases[Int(c.result)], configHash: c.config_hash))
        case 16: return .setReportInterval(seq: c.seq, intervalSeconds: c.interval_s)
        case 17: return .setHeartbeat(seq: c.seq, periodMinutes: c.period_min)
        case 18: return .setDebounce(seq: c.seq, debounceCentiseconds: c.debounce_cs, holdoffSeconds: c.holdoff_s)
        case 19: return .setCapacity(seq: c.seq, capacity: c.capacity)
        case 20: return .requestStatus(seq: c.seq)
        case 21: return .resetCounters(seq: c.seq, changes: c.reset_changes != 0, countIn: c.reset_in != 0, countOut: c.reset_out != 0)
        case 22: return .setTime(seq: c.seq, unixTime: c.unix_time)
        default: return nil
        }
    }

    public static func encode(_ m: OccupancyMessage, maxBytes: Int? = nil) -> Result<(port: UInt8, bytes: [UInt8]), OccupancyCodecError> {
        var c = cMessage(m)
        var out = [UInt8](repeating: 0, count: Int(OCC_MAX_MESSAGE_BYTES))
        var length = 0
        var port: UInt8 = 0
        let status = out.withUnsafeMutableBufferPointer { buf in
            occ_encode(&c, maxBytes ?? 0, buf.baseAddress, buf.count, &length, &port)
        }
        guard status == OCC_OK else { return .failure(error(status)) }
        return .success((port, Array(out.prefix(length))))
    }

    public static func decode(port: UInt8, _ bytes: [UInt8]) -> Result<OccupancyMessage, OccupancyCodecError> {
        var c = occ_message_t()
        let status = bytes.withUnsafeBufferPointer { occ_decode(port, $0.baseAddress, $0.count, &c) }
        guard status == OCC_OK else { return .failure(error(status)) }
        guard let m = swiftMessage(c) else { return .failure(OccupancyCodecError(.outOfRange, "C codec returned type \(c.type)")) }
        return .success(m)
    }

    public static func configHash(intervalSeconds: UInt32, periodMinutes: UInt32, debounceCentiseconds: UInt32,
                                  holdoffSeconds: UInt32, capacity: UInt32, kind: SensorKind) -> UInt32 {
        occ_config_hash(intervalSeconds, periodMinutes, debounceCentiseconds, holdoffSeconds, capacity, kind == .gate ? 1 : 0)
    }
}
