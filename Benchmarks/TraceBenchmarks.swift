import Foundation
import HarnessCore
import LoRaWAN
import Traces

/// `loraharness-bench traces`: network-server NDJSON uplinks per second through every check that applies, pcap
/// records per second with MIC verification, and the peak memory for files of growing size.
func runTraceBenchmarks() {
    print("machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB; one thread")
    // LORAHARNESS_BENCH_DIR keeps the generated traces between runs (for profiling); otherwise a temporary directory.
    let keep = ProcessInfo.processInfo.environment["LORAHARNESS_BENCH_DIR"]
    let dir = keep.map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("loraharness-trace-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }
    let fixtures = "Fixtures/traces/"

    func run(_ label: String, _ path: String, keys: KeyStore? = nil) {
        var o = ValidationOptions()
        o.keys = keys
        let start = DispatchTime.now().uptimeNanoseconds
        let v = TraceValidator(options: o, files: [path])
        guard let reader = try? TraceReaders.open(path: path) else { print("\(label): cannot open"); return }
        while let item = try? reader.next() { v.consume(item) }
        let r = v.finish()
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
        print(String(format: "%@: %d records (%.0f MB) in %.2f s = %.0f records/s; MIC valid %d; decoded %d; peak RSS %.0f MiB",
                     label, r.read, Double(size) / 1e6, secs, Double(r.read) / secs, r.micValid, r.decoded, peakResidentMiB()))
    }

    // Network-server NDJSON: the fixture's first uplink from 100 devices in turn, counters growing, one a second
    // (the same devices whatever the file's size, so that memory against size shows the reader, not the devices).
    guard let tts = try? String(contentsOfFile: fixtures + "tts-uplinks.ndjson", encoding: .utf8) else { print("run from the package root"); return }
    let template = tts.split(separator: "\n")[0]
    for count in [100_000, 1_000_000] {
        let path = dir.appendingPathComponent("tts-\(count).ndjson").path
        if keep != nil, FileManager.default.fileExists(atPath: path) { run("The Things Stack NDJSON, \(count) uplinks", path); continue }
        guard writeTTSUplinks(template, count: count, to: path) else { return }
        run("The Things Stack NDJSON, \(count) uplinks", path)
    }

    // pcap with LoRaTap: the fixture's frames repeated (MIC verified with the fixture's keys).
    guard let keys = try? KeyStore.load(path: fixtures + "keys.yaml") else { return }
    // One device's uplinks, FCnt 1…1,000,000, encrypted and signed with its session keys.
    guard let session = keys.sessions[DevAddr(0x2601_1BDA)] else { return }
    let sk = SessionKeys(nwkSKey: session.nwkSKey, appSKey: session.appSKey)
    let pcapPath = dir.appendingPathComponent("frames.pcap").path
    if keep != nil, FileManager.default.fileExists(atPath: pcapPath) { run("pcap LoRaTap, 1,000,000 frames, MIC verified", pcapPath, keys: keys); return }
    guard let w = try? PcapWriter(path: pcapPath, linkType: .loraTap, append: false) else { return }
    let header = LoRaTapHeader(frequencyHz: 868_100_000, bandwidthSteps: 1, spreadingFactor: 7, rssidBm: -80, snrdB: 7)
    for i in 0..<1_000_000 {
        guard let f = try? DataFrameCodec.encode(mtype: .unconfirmedDataUp, devAddr: DevAddr(0x2601_1BDA), fcnt: UInt32(i + 1), fport: 10,
                                                 payload: [0x21, 0x80, 0x08, 0x40, 0x00], keys: sk) else { return }
        w.write(header.bytes + f, timestampNanoseconds: 1_780_736_400_000_000_000 + Int64(i) * 1_000_000_000)
    }
    do { try w.close() } catch { fatalError("cannot write the benchmark input: \(error)") }
    run("pcap LoRaTap, 1,000,000 frames, MIC verified", pcapPath, keys: keys)
}

/// The Things Stack NDJSON for the benchmarks: the fixture's first uplink from 100 devices in turn, counters
/// growing, one a second. False when the file cannot be written.
func writeTTSUplinks(_ template: Substring, count: Int, to path: String) -> Bool {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    guard let h = FileHandle(forWritingAtPath: path) else { return false }
    var chunk = ""
    for i in 0..<count {
        let eui = String(format: "70B3D57ED%07X", i % 100)
        let t = String(format: "2026-06-%02dT%02d:%02d:%02d.000Z", 6 + i / 86_400, (i / 3600) % 24, (i / 60) % 60, i % 60)
        chunk += template.replacingOccurrences(of: "70B3D57ED0000101", with: eui)
            .replacingOccurrences(of: "\"f_cnt\":1", with: "\"f_cnt\":\(i / 100 + 1)")
            .replacingOccurrences(of: "2026-06-06T09:00:00.100Z", with: t) + "\n"
        if chunk.utf8.count > 1 << 20 { h.write(Data(chunk.utf8)); chunk = "" }
    }
    h.write(Data(chunk.utf8))
    try? h.close()
    return true
}
