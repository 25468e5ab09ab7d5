// loraharness benchmarks. Usage: loraharness-bench [name filter]
registerRadioLinkBenchmarks()
runBenchmarks(filter: CommandLine.arguments.dropFirst().first)
