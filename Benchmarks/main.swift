// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
registerLoRaWANBenchmarks()
registerCryptoPartBenchmarks()
registerCodecBenchmarks()
runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
