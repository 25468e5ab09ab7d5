import Foundation
import HarnessCore

/// Runs the JavaScript network-server codec (hardware/codec/occupancy-codec.js) under node, through its test
/// harness's batch mode: one process for a whole batch of requests, one JSON line in and out per request.
public struct JSCodecRunner: Sendable {
    public var harness: String
    public var node: String

    public init(harness: String = "hardware/codec/test/run.js", node: String = "node") {
        self.harness = harness
        self.node = node
    }

    /// Sends every request and returns the responses in order.
    public func run(_ requests: [JSONValue]) throws(InputError) -> [JSONValue] {
        guard FileManager.default.fileExists(atPath: harness) else {
            throw InputError("the JavaScript codec harness is missing (run from the repository root, or give its path)", at: .file(harness))
        }
        // node must be found first: a harness that cannot start would otherwise show up as a broken pipe.
        let found = node.contains("/") ? FileManager.default.isExecutableFile(atPath: node)
            : (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(node)")
            }
        guard found else { throw InputError("\(node) is not on PATH; node 20 is needed for the JavaScript codec") }
        // While node reads our requests, a harness that stops early must give EPIPE on the write, not kill us.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [node, harness, "--batch"]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        do { try p.run() } catch {
            throw InputError("cannot start node (\(error.localizedDescription)); node 20 is needed for the JavaScript codec")
        }
        var buffer = Data()
        for r in requests { buffer.append(Data((r.compact + "\n").utf8)) }
        let input = buffer
        let writer = Thread {
            // Throwing write: if the harness stops early, EPIPE is an error here, not a crash.
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw InputError("the JavaScript codec harness failed (exit \(p.terminationStatus)): \(errText.split(separator: "\n").first ?? "")")
        }
        var responses: [JSONValue] = []
        for (i, line) in output.split(separator: UInt8(ascii: "\n")).enumerated() {
            do { responses.append(try JSONValue.parse(Data(line))) }
            catch { throw InputError("the JavaScript codec answered line \(i + 1) with invalid JSON") }
        }
        guard responses.count == requests.count else {
            throw InputError("the JavaScript codec answered \(responses.count) of \(requests.count) requests")
        }
        return responses
    }

    /// The bytes of an encode response, or its error code.
    public static func encoded(_ r: JSONValue) -> Result<(port: UInt8, bytes: [UInt8]), OccupancyCodecError> {
        if let e = firstError(r) { return .failure(e) }
        guard let arr = r["bytes"]?.arrayValue, let port = r["fPort"]?.int(in: 0...255) else {
            return .failure(OccupancyCodecError(.outOfRange, "JavaScript codec: no bytes (\(r.compact))"))
        }
        return .success((UInt8(port), arr.compactMap { $0.int(in: 0...255).map { UInt8($0) } }))
    }

    /// The data of a decode response, or its error code.
    public static func decoded(_ r: JSONValue) -> Result<JSONValue, OccupancyCodecError> {
        if let e = firstError(r) { return .failure(e) }
        guard let data = r["data"] else { return .failure(OccupancyCodecError(.outOfRange, "JavaScript codec: no data")) }
        return .success(data)
    }

    static func firstError(_ r: JSONValue) -> OccupancyCodecError? {
        if let ex = r["exception"]?.stringValue {
            return OccupancyCodecError(.outOfRange, "JavaScript codec threw: \(ex)")
        }
        guard let errors = r["errors"]?.arrayValue, let first = errors.first?.stringValue else { return nil }
        let code = first.split(separator: ":").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? first
        guard let c = OccupancyErrorCode(rawValue: code) else {
            return OccupancyCodecError(.outOfRange, "JavaScript codec: unknown error '\(first)'")
        }
        return OccupancyCodecError(c, "JavaScript codec: \(first)")
    }
}
