// swift-tools-version:6.1
// loraharness: simulate and test LoRa occupancy sensors from the firmware side.
// Layers (each a module, lower ones know nothing of higher ones):
//   HarnessCore → RadioLink → LoRaWAN → SimKernel → Device, Network → Fleet
// beside them: Codecs, Serial, FlashTest, Traces. The executable only parses arguments.
import PackageDescription

/// Library code is optimised even in debug builds: the test suite runs hundreds of thousands of messages,
/// frames and simulated packets, and is several times faster that way.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "loraharness",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "loraharness", targets: ["loraharness"]),
        .library(name: "RadioLink", targets: ["RadioLink"]),
        // Every library module at once: what the fuzz targets (Fuzz/, a package of their own) are built against.
        .library(name: "LoRaHarnessKit", targets: ["HarnessCore", "RadioLink", "LoRaWAN", "SimKernel", "Codecs", "Device", "Network", "Fleet",
                                                   "Serial", "Emulator", "FlashTest", "Traces", "Charts"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // SIGINT/SIGTERM handlers and the temporary files they remove (async-signal-safe, so in C).
        .target(name: "CInterrupt", path: "Sources/CInterrupt"),
        .target(name: "HarnessCore", dependencies: ["CInterrupt", .product(name: "Yams", package: "Yams")], swiftSettings: optimised),
        .target(name: "RadioLink", dependencies: ["HarnessCore"], swiftSettings: optimised),
        // AES-128 blocks with a key expanded once, through the BoringSSL that swift-crypto builds in (see aesblock.c).
        .target(name: "CAESBlock", path: "Sources/CAESBlock", cSettings: [.unsafeFlags(["-O2"])]),
        .target(
            name: "LoRaWAN",
            dependencies: [
                "HarnessCore", "RadioLink", "CAESBlock",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: optimised
        ),
        // SimKernel: the simulation's seams below the device and the network (the Air protocol between a MAC and the
        // network, activation, the event queue every virtual clock runs on).
        .target(name: "SimKernel", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN"], swiftSettings: optimised),
        // Network: the channels (perfect, lossy, the radio channel engine) and the one network server.
        // Its hot loops run hundreds of millions of times: exclusivity is checked statically, not at run time.
        .target(name: "Network", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "SimKernel", "Charts"],
                swiftSettings: optimised + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The C firmware core and payload codec, compiled into the package so Swift calls it directly.
        .target(
            name: "CFirmware",
            path: "hardware/firmware",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: [.unsafeFlags(["-std=c99", "-Wall", "-Wextra", "-O2"])]
        ),
        // Device: the firmware core in the loop, the Class A MAC, energy, stimuli.
        .target(name: "Device", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "SimKernel", "Codecs", "CFirmware"],
                swiftSettings: optimised),
        // Codecs: the occupancy payload format (Swift reference), CayenneLPP, and the three-way verification.
        .target(name: "Codecs", dependencies: ["HarnessCore", "RadioLink", "CFirmware"], swiftSettings: optimised),
        // Fleet: sites, firmware-in-the-loop sensors, the network server on the channel, what residents see; cells, shards.
        .target(name: "Fleet", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "Device", "Network", "Codecs", "CFirmware", "Charts"],
                swiftSettings: optimised),
        // libserialport, found through pkg-config (Debian: libserialport-dev).
        .systemLibrary(name: "CLibSerialPort", pkgConfig: "libserialport", providers: [.apt(["libserialport-dev"])]),
        // Serial: transports (libserialport, termios, TCP), lines and expect, session logs, dialect profiles.
        .target(name: "CPty", path: "Sources/CPty"),
        .target(name: "Serial", dependencies: ["HarnessCore", "CLibSerialPort", "CPty"], swiftSettings: optimised),
        // Emulator: a simulated board on a pseudo-terminal, speaking a profile's dialect.
        .target(name: "Emulator", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "SimKernel", "Device", "Network", "Codecs", "Serial", "CFirmware", "Traces"],
                swiftSettings: optimised),
        // FlashTest: plans and their runner against a board (real or emulated), JUnit, production logs.
        // Charts: self-contained HTML reports (inline SVG and CSS) for the commands' results.
        .target(name: "Charts", dependencies: [], swiftSettings: optimised),
        .target(name: "FlashTest", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "SimKernel", "Device", "Network", "Codecs", "Serial", "Traces", "Charts"],
                swiftSettings: optimised),
        // Traces: readers (packet-forwarder, The Things Stack, ChirpStack, pcap/pcapng, session logs; gzip), the validation
        // pipeline, writers, the Semtech UDP virtual gateway.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Its per-record path runs hundreds of thousands of times a second: exclusivity is checked statically, not at run time.
        .target(name: "Traces", dependencies: ["HarnessCore", "RadioLink", "LoRaWAN", "Codecs", "CZlib", "Serial", "Charts"],
                swiftSettings: optimised + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .executableTarget(
            name: "loraharness",
            dependencies: [
                "HarnessCore", "RadioLink", "LoRaWAN", "Traces", "Codecs", "Network", "Device", "Fleet", "Serial", "Emulator", "FlashTest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: `make bench` builds this in release mode and runs it; figures go in the README.
        .executableTarget(
            name: "loraharness-bench",
            dependencies: [
                "RadioLink", "HarnessCore", "LoRaWAN", "Codecs", "CFirmware", "Network", "Device", "Fleet", "Serial", "Emulator", "Traces",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Benchmarks"
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HarnessCoreTests", dependencies: ["HarnessCore"]),
        .testTarget(name: "RadioLinkTests", dependencies: ["RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "LoRaWANTests", dependencies: ["LoRaWAN", "Traces", "RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "CodecTests", dependencies: ["Codecs", "CFirmware", "HarnessCore", "RadioLink", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "SimKernel", "LoRaWAN", "RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "DeviceTests", dependencies: ["Device", "Network", "Fleet", "SimKernel", "Codecs", "CFirmware", "LoRaWAN", "RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Network", "Device", "Codecs", "LoRaWAN", "RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "TracesTests", dependencies: ["Traces", "Codecs", "LoRaWAN", "RadioLink", "HarnessCore", "TestSupport"]),
        .testTarget(name: "SerialTests", dependencies: ["Serial", "HarnessCore"]),
        .testTarget(name: "FlashTestTests", dependencies: ["FlashTest", "Emulator", "Network", "Serial", "Codecs", "HarnessCore", "RadioLink", "LoRaWAN", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["loraharness", "HarnessCore", "TestSupport"]),
    ]
)
