// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
registerLoRaWANBenchmarks()
registerCryptoPartBenchmarks()
runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
