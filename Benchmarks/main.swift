// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
registerLoRaWANBenchmarks()
registerCryptoPartBenchmarks()
registerCodecBenchmarks()
registerChannelBenchmarks()
registerDeviceBenchmarks()
if CommandLine.arguments.dropFirst().first == "scaling" {
    runChannelScaling()
} else {
    runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
}
