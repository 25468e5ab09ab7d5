import Foundation

/// A small benchmark runner: each benchmark runs a batch of `iterations` operations, repeated until at least
/// `minimumTime` has passed (and at least 5 rounds); the report gives the median of the rounds.
struct Benchmark {
    var name: String
    var unit: String
    var iterations: Int
    var body: (Int) -> Int

    nonisolated(unsafe) static var all: [Benchmark] = []

    static func add(_ name: String, unit: String = "op", iterations: Int, _ body: @escaping (Int) -> Int) {
        all.append(Benchmark(name: name, unit: unit, iterations: iterations, body: body))
    }
}

@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

func runBenchmarks(filter: String?) {
    let minimumTime = 0.5
    print("machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB; one thread")
    func pad(_ s: String, _ n: Int, left: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return left ? s + fill : fill + s
    }
    print(pad("benchmark", 64, left: true) + pad("ns per op", 14, left: false) + pad("ops per second", 16, left: false))
    for b in Benchmark.all where filter.map({ b.name.contains($0) }) ?? true {
        var rounds: [Double] = []
        var total = 0.0
        var sink = 0
        if b.iterations < 1_000_000 && b.iterations > 1 { sink &+= b.body(max(1, b.iterations / 10)) }  // warm-up
        let minimumRounds = b.iterations >= 1_000_000 || b.iterations == 1 ? 3 : 5
        while total < minimumTime || rounds.count < minimumRounds {
            let start = DispatchTime.now().uptimeNanoseconds
            sink &+= b.body(b.iterations)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            rounds.append(elapsed / Double(b.iterations))
            total += elapsed
        }
        blackHole(sink)
        rounds.sort()
        let median = rounds[rounds.count / 2]
        print(pad("\(b.name) (per \(b.unit))", 64, left: true) + pad(String(format: "%.1f", median * 1e9), 14, left: false)
              + pad(String(format: "%.0f", 1 / median), 16, left: false))
    }
}
