import Foundation
import HarnessCore

/// Runs messages through the three implementations (Swift reference, C firmware codec, JavaScript network-server
/// codec) and compares bytes and decoded values exactly.
public struct ThreeWayVerifier {
    public enum Implementation: String, CaseIterable, Sendable, Codable { case swift, c, javascript }

    public struct Line: Sendable, Codable, Equatable {
        public var implementation: Implementation
        public var messageType: String
        public var passed: Int
        public var failed: Int
        public var firstFailure: String?
    }

    public struct Report: Sendable, Codable {
        public var lines: [Line]
        public var cases: Int
        public var errorCases: Int
        public var randomMessages: Int
        public var seed: UInt64?
        public var agree: Bool { lines.allSatisfy { $0.failed == 0 } }
    }

    public var js: JSCodecRunner
    private var tallies: [String: Line] = [:]

    public init(js: JSCodecRunner = JSCodecRunner()) { self.js = js }

    private mutating func record(_ impl: Implementation, _ type: String, _ failure: String?) {
        let key = "\(impl.rawValue)|\(type)"
        var line = tallies[key] ?? Line(implementation: impl, messageType: type, passed: 0, failed: 0, firstFailure: nil)
        if let failure {
            line.failed += 1
            if line.firstFailure == nil { line.firstFailure = failure }
        } else {
            line.passed += 1
        }
        tallies[key] = line
    }

    /// One message through all three: encode with each (same bytes?), decode those bytes with each (same value?).
    /// `expected` gives the bytes and decoded value a vector states; without it Swift's own output is the reference.
    private mutating func check(_ m: OccupancyMessage, maxBytes: Int?, expected: (port: UInt8, bytes: [UInt8], decoded: JSONValue)?,
                                jsEncode: JSONValue, jsDecode: JSONValue?) {
        let type = m.typeName
        let swiftEnc = Result { () throws(OccupancyCodecError) in try OccupancyCodec.encode(m, maxBytes: maxBytes) }
        let ref: (port: UInt8, bytes: [UInt8], decoded: JSONValue)
        if let expected { ref = expected } else {
            guard case .success(let e) = swiftEnc,
                  case .success(let d) = Result(catching: { () throws(OccupancyCodecError) in try OccupancyCodec.decode(port: e.port, e.bytes) }) else {
                record(.swift, type, "the Swift codec could not encode and decode \(m.json.compact)")
                return
            }
            ref = (e.port, e.bytes, d.json)
        }
        func compareEncoding(_ impl: Implementation, _ r: Result<(port: UInt8, bytes: [UInt8]), OccupancyCodecError>) -> String? {
            switch r {
            case .failure(let e): return "encode failed: \(e)"
            case .success(let got):
                if got.port != ref.port { return "FPort \(got.port), expected \(ref.port)" }
                return ThreeWayVerifier.firstDifferingBit(expected: ref.bytes, got: got.bytes)
            }
        }
        func compareDecoding(_ r: Result<JSONValue, OccupancyCodecError>) -> String? {
            switch r {
            case .failure(let e): return "decode of \(Hex.encode(ref.bytes)) failed: \(e)"
            case .success(let got): return got == ref.decoded ? nil : "decoded \(got.compact), expected \(ref.decoded.compact)"
            }
        }
        let swiftDec = Result { () throws(OccupancyCodecError) in try OccupancyCodec.decode(port: ref.port, ref.bytes).json }
        record(.swift, type, compareEncoding(.swift, swiftEnc) ?? compareDecoding(swiftDec))
        let cDec = COccupancyCodec.decode(port: ref.port, ref.bytes).map(\.json)
        record(.c, type, compareEncoding(.c, COccupancyCodec.encode(m, maxBytes: maxBytes)) ?? compareDecoding(cDec))
        let jsDec = jsDecode.map(JSCodecRunner.decoded) ?? .failure(OccupancyCodecError(.outOfRange, "no JavaScript decode"))
        record(.javascript, type, compareEncoding(.javascript, JSCodecRunner.encoded(jsEncode)) ?? compareDecoding(jsDec))
    }

    /// "first differing bit: byte 3, bit 5 (expected 1, got 0); expected 21802800, got 21802801"
    public static func firstDifferingBit(expected: [UInt8], got: [UInt8]) -> String? {
        if expected == got { return nil }
        for i in 0..<max(expected.count, got.count) {
            let a = i < expected.count ? expected[i] : nil, b = i < got.count ? got[i] : nil
            if a != b {
                guard let a, let b else {
                    return "length \(got.count) bytes, expected \(expected.count); expected \(Hex.encode(expected)), got \(Hex.encode(got))"
                }
                let bit: Int = (0..<8).first(where: { (a ^ b) & (0x80 >> UInt8($0)) != 0 }) ?? 0
                return "first differing bit: byte \(i), bit \(bit) from the most significant (expected \((a >> UInt8(7 - bit)) & 1), got \((b >> UInt8(7 - bit)) & 1)); expected \(Hex.encode(expected)), got \(Hex.encode(got))"
            }
        }
        return nil
    }

    private func jsRequests(_ m: OccupancyMessage, maxBytes: Int?, bytes: [UInt8]?, port: UInt8) -> [JSONValue] {
        let encOp = m.isUplink ? "encodeUplink" : "encodeDownlink"
        var enc: [String: JSONValue] = ["op": .string(encOp), "data": m.json]
        if m.isUplink {
            if let maxBytes { enc["maxBytes"] = .number(Double(maxBytes)) } else { enc["maxBytes"] = .null }
        }
        var out: [JSONValue] = [.object(enc)]
        if let bytes {
            out.append(.object(["op": .string(port == OccupancyCodec.uplinkPort ? "decodeUplink" : "decodeDownlink"),
                                "bytes": .array(bytes.map { .number(Double($0)) }), "fPort": .number(Double(port))]))
        }
        return out
    }

    /// Fixtures/payload/vectors.json through all three implementations.
    public mutating func verifyVectors(path: String) throws(InputError) -> Report {
        let doc: JSONValue
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the vectors", at: .file(path)) }
        do { doc = try JSONValue.parse(data) } catch { throw error.located(.file(path)) }
        guard let cases = doc["cases"]?.arrayValue, let errors = doc["errors"]?.arrayValue else {
            throw InputError("not a vector file (no 'cases' and 'errors')", at: .file(path))
        }
        var prepared: [(OccupancyMessage, Int?, (UInt8, [UInt8], JSONValue)?)] = []
        var requests: [JSONValue] = []
        for (i, c) in cases.enumerated() {
            guard let msgJSON = c["message"] else { throw InputError("case \(i) has no message", at: .file(path)) }
            let m: OccupancyMessage
            do { m = try OccupancyMessage(json: msgJSON) } catch { throw InputError("case \(i): \(error.message)", at: .file(path)) }
            let budget = c["maxBytes"]?.int(in: 1...1000).map(Int.init)
            var expected: (UInt8, [UInt8], JSONValue)? = nil
            if let hex = c["hex"]?.stringValue, let port = c["fport"]?.int(in: 0...255), let decoded = c["decoded"],
               let bytes = try? Hex.decode(hex) {
                expected = (UInt8(port), bytes, decoded)
            }
            prepared.append((m, budget, expected))
            requests += jsRequests(m, maxBytes: budget, bytes: expected?.1, port: expected?.0 ?? m.port)
        }
        for e in errors {
            guard let hex = e["hex"]?.stringValue, let bytes = try? Hex.decode(hex), let port = e["fport"]?.int(in: 0...255) else { continue }
            requests.append(.object(["op": .string(port == 11 ? "decodeDownlink" : "decodeUplink"),
                                     "bytes": .array(bytes.map { .number(Double($0)) }), "fPort": .number(Double(port))]))
        }
        let responses = try js.run(requests)
        var k = 0
        for (m, budget, expected) in prepared {
            let enc = responses[k]; k += 1
            var dec: JSONValue? = nil
            if expected != nil { dec = responses[k]; k += 1 }
            check(m, maxBytes: budget, expected: expected.map { ($0.0, $0.1, $0.2) }, jsEncode: enc, jsDecode: dec)
        }
        var errorCount = 0
        for e in errors {
            guard let hex = e["hex"]?.stringValue, let bytes = try? Hex.decode(hex), let port = e["fport"]?.int(in: 0...255),
                  let want = e["error"]?.stringValue else { continue }
            errorCount += 1
            let p = UInt8(port)
            func verdict(_ r: Result<JSONValue, OccupancyCodecError>) -> String? {
                switch r {
                case .success(let v): return "\(hex) decoded as \(v.compact), expected \(want)"
                case .failure(let err): return err.code.rawValue == want ? nil : "\(hex) gave \(err.code.rawValue), expected \(want)"
                }
            }
            record(.swift, "malformed", verdict(Result { () throws(OccupancyCodecError) in try OccupancyCodec.decode(port: p, bytes).json }))
            record(.c, "malformed", verdict(COccupancyCodec.decode(port: p, bytes).map(\.json)))
            record(.javascript, "malformed", verdict(JSCodecRunner.decoded(responses[k]))); k += 1
        }
        return Report(lines: sortedLines(), cases: cases.count, errorCases: errorCount, randomMessages: 0, seed: nil)
    }

    /// `count` random messages (seeded): encoded by each implementation and decoded by each, compared exactly;
    /// then a mutated copy of each message's bytes, whose error class (or value) must agree across the three.
    public mutating func differential(count: Int, seed: UInt64) throws(InputError) -> Report {
        var rng = SeededRandom(seed: seed)
        var messages: [(OccupancyMessage, Int?)] = []
        var requests: [JSONValue] = []
        var mutants: [(UInt8, [UInt8])] = []
        for _ in 0..<count {
            let m = RandomMessages.message(&rng)
            let budget: Int? = [nil, nil, 11, 24, 51, 115, 242][Int(rng.next() % 7)]
            messages.append((m, budget))
            guard let enc = try? OccupancyCodec.encode(m, maxBytes: budget) else {
                requests += jsRequests(m, maxBytes: budget, bytes: nil, port: m.port)
                mutants.append((m.port, []))
                continue
            }
            requests += jsRequests(m, maxBytes: budget, bytes: enc.bytes, port: enc.port)
            let mutant = RandomMessages.mutate(enc.bytes, &rng)
            let port: UInt8 = rng.next() % 50 == 0 ? UInt8(rng.next() % 256) : enc.port
            mutants.append((port, mutant))
            requests.append(.object(["op": .string(port == 11 ? "decodeDownlink" : "decodeUplink"),
                                     "bytes": .array(mutant.map { .number(Double($0)) }), "fPort": .number(Double(port))]))
        }
        let responses = try js.run(requests)
        var k = 0
        for (i, (m, budget)) in messages.enumerated() {
            let enc = responses[k]; k += 1
            if mutants[i].1.isEmpty && (try? OccupancyCodec.encode(m, maxBytes: budget)) == nil {
                // The Swift encoder refused it: the others must refuse with the same class.
                let swiftErr = (Result { () throws(OccupancyCodecError) in try OccupancyCodec.encode(m, maxBytes: budget) }).failureCode
                record(.c, m.typeName, COccupancyCodec.encode(m, maxBytes: budget).failureCode == swiftErr ? nil : "C accepted what Swift refused: \(m.json.compact)")
                record(.javascript, m.typeName, JSCodecRunner.encoded(enc).failureCode == swiftErr ? nil : "JavaScript accepted what Swift refused: \(m.json.compact)")
                continue
            }
            let dec = responses[k]; k += 1
            check(m, maxBytes: budget, expected: nil, jsEncode: enc, jsDecode: dec)
            let (port, mutant) = mutants[i]
            let jsMut = JSCodecRunner.decoded(responses[k]); k += 1
            let swiftMut = Result { () throws(OccupancyCodecError) in try OccupancyCodec.decode(port: port, mutant).json }
            let cMut = COccupancyCodec.decode(port: port, mutant).map(\.json)
            func same(_ a: Result<JSONValue, OccupancyCodecError>, _ b: Result<JSONValue, OccupancyCodecError>) -> Bool {
                switch (a, b) {
                case (.success(let x), .success(let y)): return x == y
                case (.failure(let x), .failure(let y)): return x.code == y.code
                default: return false
                }
            }
            func describe(_ r: Result<JSONValue, OccupancyCodecError>) -> String {
                switch r { case .success(let v): return v.compact; case .failure(let e): return e.code.rawValue }
            }
            let note = "FPort \(port) bytes \(Hex.encode(mutant)): Swift \(describe(swiftMut))"
            record(.c, "mutated", same(swiftMut, cMut) ? nil : "\(note), C \(describe(cMut)) (seed \(seed))")
            record(.javascript, "mutated", same(swiftMut, jsMut) ? nil : "\(note), JavaScript \(describe(jsMut)) (seed \(seed))")
        }
        return Report(lines: sortedLines(), cases: 0, errorCases: 0, randomMessages: count, seed: seed)
    }

    private func sortedLines() -> [Line] {
        tallies.values.sorted { ($0.implementation.rawValue, $0.messageType) < ($1.implementation.rawValue, $1.messageType) }
    }
}

extension Result where Failure == OccupancyCodecError {
    var failureCode: OccupancyErrorCode? { if case .failure(let e) = self { return e.code }; return nil }
}

extension ThreeWayVerifier.Report {
    /// Both reports in one, lines of the same implementation and type added up.
    public func merged(with other: ThreeWayVerifier.Report) -> ThreeWayVerifier.Report {
        var byKey: [String: ThreeWayVerifier.Line] = [:]
        for l in lines + other.lines {
            let key = "\(l.implementation.rawValue)|\(l.messageType)"
            if var e = byKey[key] {
                e.passed += l.passed; e.failed += l.failed
                if e.firstFailure == nil { e.firstFailure = l.firstFailure }
                byKey[key] = e
            } else {
                byKey[key] = l
            }
        }
        let sorted = byKey.values.sorted { ($0.implementation.rawValue, $0.messageType) < ($1.implementation.rawValue, $1.messageType) }
        return ThreeWayVerifier.Report(lines: sorted, cases: cases + other.cases, errorCases: errorCases + other.errorCases,
                                       randomMessages: randomMessages + other.randomMessages, seed: other.seed ?? seed)
    }

    public var text: String {
        var t = TextTable(["implementation", "message type", "passed", "failed", "first failure"],
                          alignments: [.left, .left, .right, .right, .left])
        for l in lines {
            t.add([l.implementation.rawValue, l.messageType, String(l.passed), String(l.failed), l.firstFailure ?? ""])
        }
        var head = ""
        if cases > 0 { head += "\(cases) vectors and \(errorCases) malformed payloads" }
        if randomMessages > 0 { head += (head.isEmpty ? "" : ", ") + "\(randomMessages) random messages (seed \(seed ?? 0))" }
        return head + "\n" + t.render() + (agree ? "All three implementations agree.\n" : "The implementations DISAGREE.\n")
    }
}

/// Random messages covering every type, boundary values, wrap and saturation, for differential tests.
public enum RandomMessages {
    public static func message(_ rng: inout SeededRandom) -> OccupancyMessage {
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        func below(_ n: UInt64) -> UInt64 { rng.next() % n }
        func age() -> UInt32 { UInt32(pick([0, 1, 2047, 2048, 65535, 65536, 4_194_303, 4_194_400, below(3000), below(200_000)])) }
        switch below(12) {
        case 0, 1:
            var a: UInt32 = 0
            let history = (0..<Int(below(35))).map { _ -> HistoryEntry in
                a = a &+ age(); return HistoryEntry(ageSeconds: min(a, 3_000_000_000))
            }
            return .bayState(BayState(occupied: below(2) == 0, changes: UInt32(pick([0, 4095, 4096, below(10_000)])), history: history))
        case 2, 3:
            let cin = UInt32(below(70_000)), cout = UInt32(below(70_000))
            var a: UInt32 = 0, pi = cin, po = cout
            let history = (0..<Int(below(35))).map { _ -> HistoryEntry in
                a = a &+ age()
                pi = pi &- UInt32(pick([0, 1, 15, 16, 255, 256, 65535, below(20)]))
                po = po &- UInt32(pick([0, 3, 16, 300, below(20)]))
                return HistoryEntry(ageSeconds: min(a, 3_000_000_000), countIn: pi & 0xFFFF, countOut: po & 0xFFFF)
            }
            return .gateCounts(GateCounts(countIn: cin, countOut: cout, history: history))
        case 4:
            let gate = below(2) == 0
            return .status(DeviceStatus(kind: gate ? .gate : .bay,
                                        batteryMillivolts: pick([nil, 1500, 2000, 2009, 3600, 4540, 4541, 9000, Int(2000 + below(2600))]),
                                        temperatureHalfDegrees: pick([nil, -140, -127, -1, 0, 43, 127, 128, Int(below(260)) - 130]),
                                        uptimeMinutes: pick([0, 1_048_575, 2_000_000, below(100_000)]), resets: below(300),
                                        occupied: below(2) == 0, changes: UInt32(below(5000)),
                                        countIn: UInt32(below(70_000)), countOut: UInt32(below(70_000))))
        case 5:
            return .boot(BootInfo(kind: below(2) == 0 ? .bay : .gate, firmware: (Int(below(16)), Int(below(64)), Int(below(64))),
                                  resetCause: pick(ResetCause.allCases), configHash: UInt32(truncatingIfNeeded: rng.next())))
        case 6:
            return .configAck(ConfigAck(seq: UInt8(below(256)), command: UInt8(below(32)), result: pick(AckResult.allCases),
                                        configHash: UInt32(truncatingIfNeeded: rng.next())))
        default:
            let seq = UInt8(below(256))
            switch below(7) {
            case 0: return .setReportInterval(seq: seq, intervalSeconds: UInt32(pick([5, 10, 60, 65535, 70000, 10 + below(65526)])))
            case 1: return .setHeartbeat(seq: seq, periodMinutes: UInt32(pick([0, 1, 360, 65535, 1 + below(65535)])))
            case 2: return .setDebounce(seq: seq, debounceCentiseconds: UInt32(pick([0, 4095, 4096, below(4096)])), holdoffSeconds: UInt32(below(4096)))
            case 3: return .setCapacity(seq: seq, capacity: UInt32(pick([0, 1, 120, 65535, 1 + below(65535)])))
            case 4: return .requestStatus(seq: seq)
            case 5: return .resetCounters(seq: seq, changes: below(2) == 0, countIn: below(2) == 0, countOut: below(2) == 0)
            default: return .setTime(seq: seq, unixTime: UInt32(truncatingIfNeeded: rng.next()))
            }
        }
    }

    /// A damaged copy: a flipped bit, a byte cut off or added, or a changed header.
    public static func mutate(_ bytes: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = bytes
        switch rng.next() % 6 {
        case 0: if !b.isEmpty { let i = Int(rng.next() % UInt64(b.count)); b[i] ^= UInt8(1 << (rng.next() % 8)) }
        case 1: if !b.isEmpty { b.removeLast(Int(rng.next() % UInt64(b.count)) + 1) }
        case 2: b.append(UInt8(truncatingIfNeeded: rng.next()))
        case 3: if !b.isEmpty { b[0] = UInt8(truncatingIfNeeded: rng.next()) }
        case 4: if !b.isEmpty { b[b.count - 1] |= UInt8(1 << (rng.next() % 8)) }
        default: break  // unchanged: must decode identically everywhere
        }
        return b
    }
}
