import Foundation

/// Where a long simulation stands: the share of simulated work done and the uplinks sent so far.
public struct SimulationProgress: Sendable, Equatable {
    public var share: Double
    public var uplinks: Int
    public init(share: Double, uplinks: Int) {
        self.share = share
        self.uplinks = uplinks
    }
}

/// A progress report on stderr. On a terminal one line rewritten at most five times a second; elsewhere (a CI
/// log) a line every `interval` (5 s), the first after one interval, with the simulated time reached, the uplinks
/// sent and their rate, and an estimated end, so that a long job shows it is alive and when it should finish.
/// The clock and the writer can be replaced (tests).
public final class ProgressReporter: @unchecked Sendable {
    public let enabled: Bool
    public let terminal: Bool
    private let simulated: Nanoseconds
    private let interval: Double
    private let clock: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private let start: Double
    private var last: Double?

    /// `simulated`: the simulated duration the whole run covers (0: unknown); `clock`: seconds, monotonic.
    public init(enabled: Bool, simulated: Nanoseconds = 0, terminal: Bool = isatty(2) == 1, interval: Double = 5,
                clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
                write: @escaping @Sendable (String) -> Void = { StandardStreams.err($0) }) {
        self.enabled = enabled
        self.terminal = terminal
        self.simulated = simulated
        self.interval = terminal ? 0.2 : interval
        self.clock = clock
        self.write = write
        start = clock()
    }

    public func update(_ p: SimulationProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = clock()
        guard now - (last ?? start) >= interval else { return }
        last = now
        write(terminal ? "\r" + line(p, elapsed: now - start) + "   " : "progress: " + line(p, elapsed: now - start) + "\n")
    }

    /// The report's text: `42.0 % (2 d 22 h of 7 d simulated) in 10 s, 123456 uplinks (12346/s), about 14 s left`.
    public func line(_ p: SimulationProgress, elapsed: Double) -> String {
        let share = min(1, max(0, p.share))
        var text = String(format: "%.1f %%", share * 100)
        if simulated > 0 {
            text += " (\(DurationFormat.human(Int64(Double(simulated) * share))) of \(DurationFormat.human(simulated)) simulated)"
        }
        text += String(format: " in %.0f s", elapsed)
        if elapsed > 0 {
            text += ", \(p.uplinks) uplinks (\(Int((Double(p.uplinks) / elapsed).rounded()))/s)"
        }
        if share > 0.01 {
            text += String(format: ", about %.0f s left", elapsed * (1 - share) / share)
        }
        return text
    }

    /// Ends a terminal's rewritten line.
    public func clear() {
        guard enabled, terminal else { return }
        write("\r\u{1B}[K")
    }
}
