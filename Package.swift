// swift-tools-version:6.1
// loraharness: simulate and test LoRa occupancy sensors from the firmware side.
// Layers (each a module, lower ones know nothing of higher ones):
//   HarnessCore → RadioLink → LoRaWAN → Device → Network → Fleet
// beside them: Codecs, Serial, FlashTest, Traces. The executable only parses arguments.
import PackageDescription

let package = Package(
    name: "loraharness",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "loraharness", targets: ["loraharness"]),
        .library(name: "RadioLink", targets: ["RadioLink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "HarnessCore"),
        .target(name: "RadioLink", dependencies: ["HarnessCore"]),
        .executableTarget(
            name: "loraharness",
            dependencies: [
                "HarnessCore", "RadioLink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: `make bench` builds this in release mode and runs it; figures go in the README.
        .executableTarget(name: "loraharness-bench", dependencies: ["RadioLink", "HarnessCore"], path: "Benchmarks"),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HarnessCoreTests", dependencies: ["HarnessCore"]),
        .testTarget(name: "RadioLinkTests", dependencies: ["RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["loraharness", "HarnessCore", "TestSupport"]),
    ]
)
