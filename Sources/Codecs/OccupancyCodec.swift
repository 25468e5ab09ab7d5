extension OccupancyCodec {
    /// Encodes a message; `maxBytes` limits its length (history is packed to fit). Returns the FPort and bytes.
    public static func encode(_ message: OccupancyMessage, maxBytes: Int? = nil) throws(OccupancyCodecError) -> (port: UInt8, bytes: [UInt8]) {
        var w = BitWriter()
        w.put(UInt64(formatVersion), 3)
        w.put(UInt64(message.typeCode), 5)
        switch message {
        case .bayState(let m):
            let deltas = try ageDeltas(m.history.prefix(maxHistory).map(\.ageSeconds))
            let k = fit(base: 26, sizes: deltas.map { BitWriter.ageBits($0) }, maxBytes: maxBytes)
            w.put(m.occupied)
            w.put(UInt64(m.changes % 4096), 12)
            w.put(UInt64(k), 5)
            for d in deltas.prefix(k) { w.age(d) }
        case .gateCounts(let m):
            let entries = Array(m.history.prefix(maxHistory))
            let ages = try ageDeltas(entries.map(\.ageSeconds))
            var steps: [(UInt64, UInt64)] = []
            var previous = (m.countIn, m.countOut)
            for e in entries {
                steps.append((UInt64((previous.0 &- e.countIn) & 0xFFFF), UInt64((previous.1 &- e.countOut) & 0xFFFF)))
                previous = (e.countIn, e.countOut)
            }
            let sizes = zip(ages, steps).map { BitWriter.ageBits($0) + BitWriter.countBits($1.0) + BitWriter.countBits($1.1) }
            let k = fit(base: 45, sizes: sizes, maxBytes: maxBytes)
            w.put(UInt64(m.countIn & 0xFFFF), 16)
            w.put(UInt64(m.countOut & 0xFFFF), 16)
            w.put(UInt64(k), 5)
            for j in 0..<k {
                w.age(ages[j]); w.count(steps[j].0); w.count(steps[j].1)
            }
        case .status(let s):
            w.put(s.kind == .gate)
            if let mv = s.batteryMillivolts {
                w.put(UInt64(max(0, min(254, (mv - 2000) / 10 - ((mv - 2000) % 10 < 0 ? 1 : 0)))), 8)
            } else {
                w.put(255, 8)
            }
            if let half = s.temperatureHalfDegrees {
                w.put(UInt64(UInt8(bitPattern: Int8(max(-127, min(127, half))))), 8)
            } else {
                w.put(0x80, 8)
            }
            w.put(min(s.uptimeMinutes, 1_048_575), 20)
            w.put(s.resets % 256, 8)
            if s.kind == .gate {
                w.put(UInt64(s.countIn & 0xFFFF), 16); w.put(UInt64(s.countOut & 0xFFFF), 16)
            } else {
                w.put(s.occupied); w.put(UInt64(s.changes % 4096), 12)
            }
        case .boot(let b):
            guard (0...15).contains(b.firmware.major), (0...63).contains(b.firmware.minor), (0...63).contains(b.firmware.patch) else {
                throw OccupancyCodecError(.outOfRange, "firmware \(b.firmwareText) does not fit 4.6.6 bits")
            }
            w.put(b.kind == .gate)
            w.put(UInt64(b.firmware.major), 4); w.put(UInt64(b.firmware.minor), 6); w.put(UInt64(b.firmware.patch), 6)
            w.put(UInt64(ResetCause.allCases.firstIndex(of: b.resetCause) ?? 7), 4)
            w.put(UInt64(b.configHash), 32)
            w.put(0, 3)
        case .configAck(let a):
            guard a.command < 32 else { throw OccupancyCodecError(.outOfRange, "command \(a.command) does not fit 5 bits") }
            w.put(UInt64(a.seq), 8); w.put(UInt64(a.command), 5)
            w.put(UInt64(AckResult.allCases.firstIndex(of: a.result) ?? 0), 3)
            w.put(UInt64(a.configHash), 32)
        case .setReportInterval(let seq, let s):
            try require(10...65535, s, "interval_s")
            w.put(UInt64(seq), 8); w.put(UInt64(s), 16)
        case .setHeartbeat(let seq, let m):
            try require(1...65535, m, "period_min")
            w.put(UInt64(seq), 8); w.put(UInt64(m), 16)
        case .setDebounce(let seq, let d, let h):
            try require(0...4095, d, "debounce_cs"); try require(0...4095, h, "holdoff_s")
            w.put(UInt64(seq), 8); w.put(UInt64(d), 12); w.put(UInt64(h), 12)
        case .setCapacity(let seq, let c):
            try require(1...65535, c, "capacity")
            w.put(UInt64(seq), 8); w.put(UInt64(c), 16)
        case .requestStatus(let seq):
            w.put(UInt64(seq), 8)
        case .resetCounters(let seq, let c, let i, let o):
            w.put(UInt64(seq), 8); w.put(c); w.put(i); w.put(o); w.put(0, 5)
        case .setTime(let seq, let t):
            w.put(UInt64(seq), 8); w.put(UInt64(t), 32)
        }
        return (message.port, w.bytes)
    }

    private static func require(_ range: ClosedRange<UInt32>, _ v: UInt32, _ field: String) throws(OccupancyCodecError) {
        guard range.contains(v) else {
            throw OccupancyCodecError(.outOfRange, "\(field) \(v) is outside \(range.lowerBound)…\(range.upperBound)")
        }
    }

    /// Cumulative ages → deltas; ages going backwards cannot be encoded.
    private static func ageDeltas(_ ages: [UInt32]) throws(OccupancyCodecError) -> [UInt64] {
        var out: [UInt64] = []
        var previous: UInt32 = 0
        for (i, a) in ages.enumerated() {
            guard a >= previous else {
                throw OccupancyCodecError(.outOfRange, "history entry \(i) is younger (\(a) s) than the one before (\(previous) s)")
            }
            out.append(UInt64(a - previous))
            previous = a
        }
        return out
    }

    /// The number of leading entries whose message fits `maxBytes`.
    private static func fit(base: Int, sizes: [Int], maxBytes: Int?) -> Int {
        var bits = base, k = 0
        for s in sizes {
            if let maxBytes, (bits + s + 7) / 8 > maxBytes { break }
            bits += s
            k += 1
        }
        return k
    }

    /// Decodes a payload received on `port`, with the checks of PAYLOAD.md section 7 in their order.
    public static func decode(port: UInt8, _ bytes: [UInt8]) throws(OccupancyCodecError) -> OccupancyMessage {
        guard port == uplinkPort || port == downlinkPort else {
            throw OccupancyCodecError(.unknownPort, "FPort \(port) is not 10 (uplink) or 11 (downlink)")
        }
        guard !bytes.isEmpty else { throw OccupancyCodecError(.truncated, "empty payload", bit: 0) }
        var r = BitReader(bytes)
        let version = try r.get(3, field: "version")
        guard version == UInt64(formatVersion) else {
            throw OccupancyCodecError(.unknownVersion, "version \(version) (this decoder reads version 1)", bit: 0)
        }
        let type = UInt8(try r.get(5, field: "type"))
        let uplink = port == uplinkPort
        guard let name = OccupancyMessage.typeNames[type], (type < 16) == uplink else {
            throw OccupancyCodecError(.unknownType, "type \(type) is not defined on FPort \(port)", bit: 3)
        }
        let message: OccupancyMessage
        switch type {
        case 1:
            let occupied = try r.flag("occupied")
            let changes = UInt32(try r.get(12, field: "changes"))
            let k = Int(try r.get(5, field: "count"))
            var history: [HistoryEntry] = []
            var total: UInt32 = 0, saturated = false
            for i in 0..<k {
                let d = UInt32(try r.age("history[\(i)].age"))
                total += d
                saturated = saturated || d == ageMax
                history.append(HistoryEntry(ageSeconds: total, change: UInt16((changes &+ 4096 &- UInt32(i)) % 4096),
                                            occupied: occupied != (i % 2 == 1), saturated: saturated))
            }
            message = .bayState(BayState(occupied: occupied, changes: changes, history: history))
        case 2:
            let cin = UInt32(try r.get(16, field: "in")), cout = UInt32(try r.get(16, field: "out"))
            let k = Int(try r.get(5, field: "count"))
            var history: [HistoryEntry] = []
            var total: UInt32 = 0, saturated = false, pin = cin, pout = cout
            for i in 0..<k {
                let d = UInt32(try r.age("history[\(i)].age"))
                let di = UInt32(try r.count("history[\(i)].in")), dout = UInt32(try r.count("history[\(i)].out"))
                total += d
                saturated = saturated || d == ageMax
                pin = (pin &- di) & 0xFFFF
                pout = (pout &- dout) & 0xFFFF
                history.append(HistoryEntry(ageSeconds: total, countIn: pin, countOut: pout, saturated: saturated))
            }
            message = .gateCounts(GateCounts(countIn: cin, countOut: cout, history: history))
        case 3:
            let gate = try r.flag("kind")
            let b = Int(try r.get(8, field: "battery"))
            let t = Int(Int8(bitPattern: UInt8(try r.get(8, field: "temperature"))))
            var s = DeviceStatus(kind: gate ? .gate : .bay, batteryMillivolts: b == 255 ? nil : 2000 + 10 * b,
                                 temperatureHalfDegrees: t == -128 ? nil : t,
                                 uptimeMinutes: try r.get(20, field: "uptime"), resets: try r.get(8, field: "resets"))
            if gate {
                s.countIn = UInt32(try r.get(16, field: "in")); s.countOut = UInt32(try r.get(16, field: "out"))
            } else {
                s.occupied = try r.flag("occupied"); s.changes = UInt32(try r.get(12, field: "changes"))
            }
            message = .status(s)
        case 4:
            let gate = try r.flag("kind")
            let major = Int(try r.get(4, field: "firmware major")), minor = Int(try r.get(6, field: "firmware minor"))
            let patch = Int(try r.get(6, field: "firmware patch"))
            let at = r.position
            let cause = Int(try r.get(4, field: "reset cause"))
            guard cause < ResetCause.allCases.count else {
                throw OccupancyCodecError(.outOfRange, "reset cause \(cause) is not defined", bit: at)
            }
            let hash = UInt32(try r.get(32, field: "config hash"))
            let reservedAt = r.position
            guard try r.get(3, field: "reserved") == 0 else {
                throw OccupancyCodecError(.reservedBits, "reserved bits are set", bit: reservedAt)
            }
            message = .boot(BootInfo(kind: gate ? .gate : .bay, firmware: (major, minor, patch),
                                     resetCause: ResetCause.allCases[cause], configHash: hash))
        case 5:
            let seq = UInt8(try r.get(8, field: "seq")), command = UInt8(try r.get(5, field: "command"))
            let at = r.position
            let result = Int(try r.get(3, field: "result"))
            guard result < AckResult.allCases.count else {
                throw OccupancyCodecError(.outOfRange, "result \(result) is not defined", bit: at)
            }
            message = .configAck(ConfigAck(seq: seq, command: command, result: AckResult.allCases[result],
                                           configHash: UInt32(try r.get(32, field: "config hash"))))
        default:
            let seq = UInt8(try r.get(8, field: "seq"))
            func ranged(_ width: Int, _ field: String, _ range: ClosedRange<UInt32>) throws(OccupancyCodecError) -> UInt32 {
                let at = r.position
                let v = UInt32(try r.get(width, field: field))
                guard range.contains(v) else {
                    throw OccupancyCodecError(.outOfRange, "\(field) \(v) is outside \(range.lowerBound)…\(range.upperBound)", bit: at)
                }
                return v
            }
            switch type {
            case 16: message = .setReportInterval(seq: seq, intervalSeconds: try ranged(16, "interval_s", 10...65535))
            case 17: message = .setHeartbeat(seq: seq, periodMinutes: try ranged(16, "period_min", 1...65535))
            case 18: message = .setDebounce(seq: seq, debounceCentiseconds: try ranged(12, "debounce_cs", 0...4095),
                                            holdoffSeconds: try ranged(12, "holdoff_s", 0...4095))
            case 19: message = .setCapacity(seq: seq, capacity: try ranged(16, "capacity", 1...65535))
            case 20: message = .requestStatus(seq: seq)
            case 21:
                let c = try r.flag("changes"), i = try r.flag("in"), o = try r.flag("out")
                let at = r.position
                guard try r.get(5, field: "reserved") == 0 else {
                    throw OccupancyCodecError(.reservedBits, "reserved bits are set", bit: at)
                }
                message = .resetCounters(seq: seq, changes: c, countIn: i, countOut: o)
            default:
                message = .setTime(seq: seq, unixTime: UInt32(try r.get(32, field: "unix_time")))
            }
            _ = name
        }
        try r.finish()
        return message
    }

    /// PAYLOAD.md section 6: CRC-32 (IEEE 802.3) over interval_s, period_min, debounce_cs, holdoff_s, capacity
    /// (2 bytes each, big-endian), kind (1 byte) and 0x01.
    public static func configHash(intervalSeconds: UInt32, periodMinutes: UInt32, debounceCentiseconds: UInt32,
                                  holdoffSeconds: UInt32, capacity: UInt32, kind: SensorKind) -> UInt32 {
        var bytes: [UInt8] = []
        for v in [intervalSeconds, periodMinutes, debounceCentiseconds, holdoffSeconds, capacity] {
            bytes.append(UInt8(truncatingIfNeeded: v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v))
        }
        bytes.append(kind == .gate ? 1 : 0)
        bytes.append(0x01)
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
