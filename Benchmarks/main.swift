// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
registerLoRaWANBenchmarks()
registerCryptoPartBenchmarks()
registerCodecBenchmarks()
registerChannelBenchmarks()
runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
