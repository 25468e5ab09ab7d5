import Foundation
import HarnessCore

/// Runs a fleet scenario: every (replica, cell) work item, on `jobs` threads, or the share of a shard. Results
/// are combined in (replica, cell) order whatever ran where, so they do not depend on jobs or shards.
public struct FleetRunner: Sendable {
    public let scenario: FleetScenario
    public let plan: FleetPlan
    public var jobs = 1
    public var replicas = 1

    public init(scenario: FleetScenario, jobs: Int = 1, replicas: Int = 1) {
        self.scenario = scenario
        plan = FleetPlan(scenario)
        self.jobs = max(1, jobs)
        self.replicas = max(1, replicas)
    }

    public struct Item: Sendable, Hashable { public var replica: Int; public var cell: Int }

    /// Every work item, replica-major.
    public var items: [Item] {
        (0..<replicas).flatMap { r in plan.cells.map { Item(replica: r, cell: $0.index) } }
    }

    /// The items of shard `index` of `count`: every (replica, cell) item spread by weight, heaviest first, each to the
    /// least loaded shard (ties to the lower index), so that replicas spread over shards as cells do (six replicas
    /// of one cell on three shards run two each, not six on the first).
    public func items(shard index: Int, of count: Int) -> [Item] {
        guard count > 1 else { return items }
        let all = items
        let weight = { (it: Item) in max(1, plan.cells[it.cell].weight) }
        var load = Array(repeating: 0, count: count)
        var owner = Array(repeating: 0, count: all.count)
        let order = all.indices.sorted { weight(all[$0]) != weight(all[$1]) ? weight(all[$0]) > weight(all[$1]) : $0 < $1 }
        for i in order {
            let s = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 } ?? 0
            owner[i] = s
            load[s] += weight(all[i])
        }
        return all.indices.filter { owner[$0] == index }.map { all[$0] }
    }

    /// Runs the items (all of them by default); `progress` gets the share of simulated work done and the uplinks
    /// sent so far (any thread).
    public func run(items chosen: [Item]? = nil, shard: String? = nil, progress: (@Sendable (SimulationProgress) -> Void)? = nil) -> FleetPartial {
        let work = chosen ?? items
        let weights = work.map { Double(max(1, plan.cells[$0.cell].weight)) }
        let total = weights.reduce(0, +)
        let state = RunState(count: work.count)
        let body: @Sendable (Int) -> Void = { [scenario, plan] i in
            let item = work[i]
            let engine = CellEngine(scenario: scenario, plan: plan, cell: plan.cells[item.cell], replica: item.replica, duration: scenario.duration)
            let result = engine.run(progress: progress.map { p in { share, uplinks in p(state.progress(i, share * weights[i] / total, uplinks: uplinks)) } })
            state.store(i, result)
            progress?(state.progress(i, weights[i] / total, uplinks: result.devices.reduce(0) { $0 + $1.framesSent + $1.retransmissions }))
        }
        if jobs > 1 && work.count > 1 {
            // A shared counter hands out items, biggest first, to `jobs` workers.
            let order = work.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
            let queue = WorkQueue(order)
            DispatchQueue.concurrentPerform(iterations: min(jobs, work.count)) { _ in
                while let i = queue.next() { body(i) }
            }
        } else {
            for i in work.indices { body(i) }
        }
        return FleetPartial(scenario: scenario.name, fingerprint: scenario.fingerprint, seed: scenario.seed, duration: scenario.duration,
                            replicas: replicas, totalItems: items.count, shard: shard, cells: state.results.compactMap { $0 })
    }
}

/// Results and progress shared by the worker threads.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var results: [CellResult?]
    private var done: [Double]
    private var uplinks: [Int]

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        done = Array(repeating: 0, count: count)
        uplinks = Array(repeating: 0, count: count)
    }

    func store(_ i: Int, _ r: CellResult) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
    }

    /// Records item i's share of the total done and its uplinks; returns the totals.
    func progress(_ i: Int, _ share: Double, uplinks n: Int) -> SimulationProgress {
        lock.lock(); defer { lock.unlock() }
        done[i] = share
        uplinks[i] = n
        return SimulationProgress(share: done.reduce(0, +), uplinks: uplinks.reduce(0, +))
    }
}

final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var order: [Int]
    private var position = 0
    init(_ order: [Int]) { self.order = order }
    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard position < order.count else { return nil }
        position += 1
        return order[position - 1]
    }
}

extension FleetPartial {
    /// Combines shard files of one run: the same scenario (file digest), seed, duration and replicas, every work item
    /// exactly once.
    public static func merge(_ parts: [(name: String, partial: FleetPartial)]) throws(InputError) -> FleetPartial {
        guard let first = parts.first?.partial else { throw InputError("no partial results to merge") }
        var seen: [String: String] = [:]
        var cells: [CellResult] = []
        for (name, p) in parts {
            guard p.format == FleetPartial.formatName else { throw InputError("not a fleet partial result (format '\(p.format)')", at: .file(name)) }
            guard p.fingerprint == first.fingerprint, p.seed == first.seed, p.duration == first.duration, p.replicas == first.replicas,
                  p.totalItems == first.totalItems else {
                throw InputError("comes from another run (scenario, seed, duration or replicas differ from \(parts[0].name))", at: .file(name))
            }
            for c in p.cells {
                let key = "\(c.replica)/\(c.cell)"
                if let other = seen[key] { throw InputError("replica \(c.replica) cell \(c.cell) is also in \(other)", at: .file(name)) }
                seen[key] = name
                cells.append(c)
            }
        }
        guard cells.count == first.totalItems else {
            throw InputError("\(cells.count) of \(first.totalItems) work items present; a shard is missing")
        }
        cells.sort { ($0.replica, $0.cell) < ($1.replica, $1.cell) }
        return FleetPartial(scenario: first.scenario, fingerprint: first.fingerprint, seed: first.seed, duration: first.duration,
                            replicas: first.replicas, totalItems: first.totalItems, shard: nil, cells: cells)
    }
}
