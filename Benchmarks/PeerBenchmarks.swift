import Foundation
import HarnessCore
import LoRaWAN
import Traces

/// `loraharness-bench peers`: `replay`'s pipeline side by side with the peer tools that do the same job here, on the
/// same input, in one run, with the ratio printed (machines differ, ratios hold):
/// - a LoRaTap v0 pcap of 200,000 uplinks of 100 devices: every MIC verified and every FRMPayload decrypted, every
///   check on; against tshark's LoRaWAN dissector given the same session keys (a UAT file under a temporary HOME)
///   printing each frame's DevAddr, FCnt, MIC status and decrypted payload;
/// - the 49 MB The Things Stack NDJSON file of the trace benchmark (100,000 uplinks): every check on; against
///   `jq -c .` reading and re-printing each line.
func runPeerBenchmarks() {
    print("machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB; one thread each")
    // LORAHARNESS_BENCH_DIR keeps the generated inputs (and a keys file for `replay --keys`) for profiling.
    let keep = ProcessInfo.processInfo.environment["LORAHARNESS_BENCH_DIR"]
    let dir = keep.map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-peer-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }

    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    func replay(_ path: String, keys: KeyStore?) -> (seconds: Double, report: TraceReport)? {
        var o = ValidationOptions()
        o.keys = keys
        let start = now()
        let v = TraceValidator(options: o, files: [path])
        guard let reader = try? TraceReaders.open(path: path) else { return nil }
        while let item = try? reader.next() { v.consume(item) }
        let r = v.finish()
        return (Double(now() - start) / 1e9, r)
    }
    /// A peer command's wall time (its output discarded), or nil when it is not installed or fails.
    func peer(_ executable: String, _ args: [String], home: String? = nil) -> Double? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + args
        var env = ProcessInfo.processInfo.environment
        if let home { env["HOME"] = home; env["XDG_CONFIG_HOME"] = home + "/.config" }
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let start = now()
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? Double(now() - start) / 1e9 : nil
    }

    // 200,000 uplinks of 100 ABP devices, each with its own session keys, FCnt growing, one frame every 100 ms
    // (each device every 10 s: within the duty cycle).
    let devices = 100, frames = 200_000
    var store = KeyStore()
    var sessions: [(DevAddr, SessionKeys, String)] = []
    var uat = ""
    var yaml = "sessions:\n"
    var rng = SeededRandom(seed: 0x10AA)
    for i in 0..<devices {
        let addr = DevAddr(0x2600_0000 | UInt32(i))
        let nwk = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, app = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        guard let n = try? AES128Key(bytes: nwk), let a = try? AES128Key(bytes: app) else { return }
        store.add(KeyStore.Session(devAddr: addr, nwkSKey: n, appSKey: a, devEUI: nil))
        sessions.append((addr, SessionKeys(nwkSKey: n, appSKey: a), ""))
        // Wireshark 4.0's table: DevAddr in on-air byte order, NwkSKey, AppSKey, AppEUI.
        let le = (0..<4).map { String(format: "%02x", UInt8(truncatingIfNeeded: addr.value >> (8 * UInt32($0)))) }.joined()
        yaml += "  - devAddr: \(addr)\n    nwkSKey: \(Hex.encode(nwk, uppercase: true))\n    appSKey: \(Hex.encode(app, uppercase: true))\n"
        uat += "\"\(le)\",\"\(Hex.encode(nwk))\",\"\(Hex.encode(app))\",\"0000000000000000\"\n"
    }
    let pcapPath = dir.appendingPathComponent("uplinks-200k.pcap").path
    // Kept inputs are not made again (the keys come from the same seed).
    let reuse = keep != nil && FileManager.default.fileExists(atPath: pcapPath)
    if !reuse {
    guard let w = try? PcapWriter(path: pcapPath, linkType: .loraTap, append: false) else { return }
    let header = LoRaTapHeader(frequencyHz: 868_100_000, bandwidthSteps: 1, spreadingFactor: 7, rssidBm: -80, snrdB: 7)
    for i in 0..<frames {
        let (addr, keys, _) = sessions[i % devices]
        guard let f = try? DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: addr, fcnt: UInt32(i / devices + 1), fport: 10,
                                                 payload: [0x21, 0x80, 0x08, 0x40, 0x00], keys: keys) else { return }
        w.write(header.bytes + f, timestampNanoseconds: 1_780_736_400_000_000_000 + Int64(i) * 100_000_000)
    }
    do { try w.close() } catch { fatalError("cannot write the benchmark input: \(error)") }
    }
    if keep != nil {
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("keys.yaml").path, contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o600])
    }
    let home = dir.appendingPathComponent("home").path
    try? FileManager.default.createDirectory(atPath: home + "/.config/wireshark", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: home + "/.config/wireshark/encryption_keys_lorawan", contents: Data(uat.utf8),
                                   attributes: [.posixPermissions: 0o600])

    // Runs alternate (replay, tshark, replay, …) and the fastest of each counts: on a shared machine both meet the
    // same moments of load.
    var oursRuns: [(seconds: Double, report: TraceReport)] = []
    var tsharkRuns: [Double] = []
    let tsharkArgs = ["-r", pcapPath, "-T", "fields", "-e", "lorawan.fhdr.devaddr", "-e", "lorawan.fhdr.fcnt", "-e", "lorawan.mic.status",
                      "-e", "lorawan.frmpayload_decrypted"]
    for _ in 0..<5 {
        if let o = replay(pcapPath, keys: store) { oursRuns.append(o) }
        if let t = peer("tshark", tsharkArgs, home: home) { tsharkRuns.append(t) }
    }
    guard let ours = oursRuns.min(by: { $0.seconds < $1.seconds }) else { return }
    print(String(format: "replay, pcap of %d uplinks, MIC and decryption: %.3f s (%.0f frames/s); MIC valid %d, invalid %d",
                 ours.report.read, ours.seconds, Double(ours.report.read) / ours.seconds, ours.report.micValid, ours.report.micInvalid))
    if let t = tsharkRuns.min() {
        print(String(format: "tshark, same pcap and keys, MIC and decryption: %.3f s (%.0f frames/s)", t, Double(frames) / t))
        print(String(format: "ratio: replay is %.1f× tshark (target: at least 7×)", t / ours.seconds))
    } else {
        print("tshark: not installed (apt-get install tshark), no ratio")
    }

    // The Things Stack NDJSON: the trace benchmark's 49 MB file (100,000 uplinks of 100 devices).
    guard let tts = try? String(contentsOfFile: "Fixtures/traces/tts-uplinks.ndjson", encoding: .utf8) else { print("run from the package root"); return }
    let template = tts.split(separator: "\n")[0]
    let ndPath = dir.appendingPathComponent("tts-100k.ndjson").path
    if !(keep != nil && FileManager.default.fileExists(atPath: ndPath)) {
        guard writeTTSUplinks(template, count: 100_000, to: ndPath) else { return }
    }
    let size = ((try? FileManager.default.attributesOfItem(atPath: ndPath)[.size]) as? Int) ?? 0
    var ndRuns: [(seconds: Double, report: TraceReport)] = []
    var jqRuns: [Double] = []
    for _ in 0..<5 {
        if let o = replay(ndPath, keys: nil) { ndRuns.append(o) }
        if let j = peer("jq", ["-c", ".", ndPath]) { jqRuns.append(j) }
    }
    guard let nd = ndRuns.min(by: { $0.seconds < $1.seconds }) else { return }
    print(String(format: "replay, The Things Stack NDJSON (%.0f MB, %d uplinks), every check: %.3f s (%.0f records/s)",
                 Double(size) / 1e6, nd.report.read, nd.seconds, Double(nd.report.read) / nd.seconds))
    if let j = jqRuns.min() {
        print(String(format: "jq -c ., same file: %.3f s", j))
        print(String(format: "ratio: replay is %.2f× jq (target: faster than jq, above 1×)", j / nd.seconds))
    } else {
        print("jq: not installed (apt-get install jq), no ratio")
    }
}

