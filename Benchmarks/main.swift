// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
registerLoRaWANBenchmarks()
registerCryptoPartBenchmarks()
registerCodecBenchmarks()
registerChannelBenchmarks()
registerDeviceBenchmarks()
registerSerialBenchmarks()
if CommandLine.arguments.dropFirst().first == "scaling" {
    runChannelScaling()
} else if CommandLine.arguments.dropFirst().first == "fleet" {
    runFleetBenchmarks()
} else if CommandLine.arguments.dropFirst().first == "traces" {
    runTraceBenchmarks()
} else if CommandLine.arguments.dropFirst().first == "peers" {
    runPeerBenchmarks()
} else {
    runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
}
