// swift-tools-version:6.1
// Coverage-guided fuzz targets (libFuzzer) for every parser of loraharness, apart from the main package so that its
// build stays lean. Built by `make fuzz-build` with the toolchain's fuzzer and address sanitizers:
//   swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address   (in this directory;
//   swiftc keeps only its last -sanitize=, so the combined one goes last)
// Each executable is one target: `-max_total_time=N corpus/` fuzzes, `file …` replays inputs once. The README's "Reliability" section tells how to run them.
import Foundation
import PackageDescription

// The main package is the parent directory; a path dependency is known by its directory's name, whatever the clone is called.
let parent = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent
let kit: Target.Dependency = .product(name: "LoRaHarnessKit", package: parent)
let names = [
    "frame", "occupancy", "cayenne", "json", "semtech", "tts", "chirpstack", "session-log", "pcap",
    "channel-scenario", "fleet-scenario", "plan", "profile", "keys", "stimuli", "units", "at-lines", "semtech-udp",
]

let package = Package(
    name: "loraharness-fuzz",
    dependencies: [.package(path: "..")],
    targets: [.target(name: "FuzzSupport", dependencies: [kit])]
        + names.map { .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzSupport", kit], path: "Sources/fuzz-\($0)") }
)
