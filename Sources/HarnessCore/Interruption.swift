import CInterrupt
import Foundation

/// SIGINT (Ctrl-C) and SIGTERM (a CI timeout, `kill`). A command that has something meaningful to keep (replay's
/// report of what was read, flash-test's JUnit with the remaining steps skipped, emulate's session log) installs
/// the graceful mode and polls `requested` in its loops; the others (simulate, merge) exit at once. Either way the
/// temporary files of writes under way are removed, nothing is left truncated under a final name, and the exit
/// status is 128 + the signal: 130 for SIGINT, 143 for SIGTERM. A second signal always exits at once.
public enum Interruption {
    public static func install(graceful: Bool) { lh_interrupt_install(graceful ? 1 : 0) }

    /// The signal received, or 0.
    public static var signal: Int32 { lh_interrupt_signal() }
    public static var requested: Bool { lh_interrupt_signal() != 0 }
    /// 130 after SIGINT, 143 after SIGTERM.
    public static var exitStatus: Int32 { 128 + lh_interrupt_signal() }
    public static var signalName: String {
        switch lh_interrupt_signal() {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case 0: return "no signal"
        case let s: return "signal \(s)"
        }
    }

    private static let lock = NSLock()

    /// Registers a temporary file for removal on an immediate exit; the slot to give back, or -1.
    static func register(_ path: String) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        return lh_temp_register(path)
    }

    /// mkstemp and register in one step with SIGINT and SIGTERM blocked: no signal can come between the two.
    static func createTemporary(_ template: UnsafeMutablePointer<CChar>, slot: inout Int32) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        return lh_temp_create(template, &slot)
    }

    static func unregister(_ slot: Int32) {
        lock.lock(); defer { lock.unlock() }
        lh_temp_unregister(slot)
    }
}
