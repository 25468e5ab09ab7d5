import CFirmware
import Foundation
import HarnessCore

/// The firmware core (hardware/firmware/src/sensor_core.c) running in-process on a virtual clock, with the HAL
/// provided by the simulator. One per simulated device; its C context lives at a stable address it owns.
public final class FirmwareDevice {
    public let kind: occ_kind_t
    public let devEUI: [UInt8]
    let ctx: UnsafeMutablePointer<sensor_ctx_t>
    private var hal = sensor_hal_t()

    /// The virtual time of the current call (set by the simulator before calling in).
    public var now: Nanoseconds = 0
    /// When the firmware wants its timer (nil: not armed).
    public private(set) var timerAt: Nanoseconds?
    /// Persistent storage: survives resets.
    public var storage: [UInt8] = []

    /// The radio: sends an application payload (FPort, bytes, confirmed).
    public var radioSend: ((UInt8, [UInt8], Bool) -> SendResult)?
    public var payloadBudget: (() -> Int)?
    public var batteryMillivolts: (() -> UInt32)?
    public var temperatureTenths: (() -> Int32?)?
    /// Every console line the firmware writes.
    public var onConsoleLine: ((String) -> Void)?
    /// Called once per call into the firmware (the MCU wakes up: the energy model counts it).
    public var onWake: (() -> Void)?

    public init(kind: occ_kind_t, devEUI: [UInt8]) {
        self.kind = kind
        self.devEUI = devEUI.count == 8 ? devEUI : [UInt8](repeating: 0, count: 8)
        ctx = UnsafeMutablePointer<sensor_ctx_t>.allocate(capacity: 1)
        ctx.initialize(to: sensor_ctx_t())
    }

    deinit {
        ctx.deinitialize(count: 1)
        ctx.deallocate()
    }

    private static func me(_ user: UnsafeMutableRawPointer?) -> FirmwareDevice? {
        guard let user else { return nil }
        return Unmanaged<FirmwareDevice>.fromOpaque(user).takeUnretainedValue()
    }

    private func makeHAL() -> sensor_hal_t {
        var h = sensor_hal_t()
        h.user = Unmanaged.passUnretained(self).toOpaque()
        h.now_ms = { user in UInt64(max(0, FirmwareDevice.me(user)?.now ?? 0) / 1_000_000) }
        h.set_timer = { user, at in
            guard let d = FirmwareDevice.me(user) else { return }
            d.timerAt = Int64(clamping: at) &* 1_000_000
        }
        h.radio_send = { user, port, data, len, confirmed, retry in
            guard let d = FirmwareDevice.me(user), let data else { return SENSOR_RADIO_ERROR }
            let bytes = Array(UnsafeBufferPointer(start: data, count: len))
            switch d.radioSend?(port, bytes, confirmed != 0) ?? .busy {
            case .ok: return SENSOR_RADIO_OK
            case .busy: return SENSOR_RADIO_BUSY
            case .dutyCycle(let wait):
                retry?.pointee = UInt32(clamping: (wait + 999_999) / 1_000_000)
                return SENSOR_RADIO_DUTY_CYCLE
            case .notJoined: return SENSOR_RADIO_NOT_JOINED
            case .tooLong: return SENSOR_RADIO_TOO_LONG
            }
        }
        h.payload_budget = { user in FirmwareDevice.me(user)?.payloadBudget?() ?? 11 }
        h.battery_mv = { user in FirmwareDevice.me(user)?.batteryMillivolts?() ?? 0 }
        h.temperature_dc = { user, dc in
            guard let d = FirmwareDevice.me(user), let t = d.temperatureTenths?() else { return 0 }
            dc?.pointee = t
            return 1
        }
        h.storage_read = { user, buf, cap in
            guard let d = FirmwareDevice.me(user), let buf else { return 0 }
            let n = min(cap, d.storage.count)
            for i in 0..<n { buf[i] = d.storage[i] }
            return n
        }
        h.storage_write = { user, buf, len in
            guard let d = FirmwareDevice.me(user), let buf else { return }
            d.storage = Array(UnsafeBufferPointer(start: buf, count: len))
        }
        h.console_write = { user, line in
            guard let d = FirmwareDevice.me(user), let line else { return }
            d.onConsoleLine?(String(cString: line))
        }
        h.log = nil
        return h
    }

    /// Starts (or restarts after a reset) the firmware at `now`.
    public func start(at time: Nanoseconds, cause: occ_reset_cause_t) {
        now = time
        timerAt = nil
        hal = makeHAL()
        onWake?()
        devEUI.withUnsafeBufferPointer { eui in
            withUnsafePointer(to: &hal) { h in sensor_init(ctx, h, kind, eui.baseAddress, cause) }
        }
    }

    /// Factory provisioning of the report policy (`sensor_provision`): false when a value is out of the ranges
    /// of PAYLOAD.md section 5 (nothing changes then).
    @discardableResult
    public func provision(intervalSeconds: UInt32, periodMinutes: UInt32, debounceCentiseconds: UInt32, holdoffSeconds: UInt32,
                          capacity: UInt32, at time: Nanoseconds) -> Bool {
        now = time
        var c = sensor_config_t(interval_s: intervalSeconds, period_min: periodMinutes, debounce_cs: debounceCentiseconds,
                                holdoff_s: holdoffSeconds, capacity: capacity)
        return sensor_provision(ctx, &c) == 1
    }

    public func detection(_ occupied: Bool, at time: Nanoseconds) { call(time) { sensor_on_detection($0, occupied ? 1 : 0) } }
    public func vehicle(lane: Int, active: Bool, at time: Nanoseconds) { call(time) { sensor_on_vehicle($0, Int32(lane), active ? 1 : 0) } }

    public func timer(at time: Nanoseconds) {
        timerAt = nil
        call(time) { sensor_on_timer($0) }
    }

    public func txDone(start: Nanoseconds, end: Nanoseconds, at time: Nanoseconds) {
        call(time) { sensor_on_tx_done($0, UInt64(max(0, start) / 1_000_000), UInt64(max(0, end) / 1_000_000)) }
    }

    public func downlink(port: UInt8, _ bytes: [UInt8], at time: Nanoseconds) {
        call(time) { c in bytes.withUnsafeBufferPointer { sensor_on_downlink(c, port, $0.baseAddress, $0.count) } }
    }

    public func console(_ line: String, at time: Nanoseconds) {
        call(time) { c in line.withCString { sensor_console_line(c, $0) } }
    }

    private func call(_ time: Nanoseconds, _ body: (UnsafeMutablePointer<sensor_ctx_t>) -> Void) {
        now = time
        onWake?()
        body(ctx)
    }

    // Read-only views for reports and tests.
    public var counters: (changes: UInt32, countIn: UInt32, countOut: UInt32, resets: UInt32) {
        let c = ctx.pointee.counters
        return (c.changes, c.count_in, c.count_out, c.resets)
    }
    public var occupied: Bool { ctx.pointee.occupied != 0 }
    public var configHash: UInt32 { sensor_config_hash(ctx) }
    public var config: (intervalSeconds: UInt32, periodMinutes: UInt32, debounceCentiseconds: UInt32, holdoffSeconds: UInt32, capacity: UInt32) {
        let c = ctx.pointee.config
        return (c.interval_s, c.period_min, c.debounce_cs, c.holdoff_s, c.capacity)
    }
    public var retries: UInt32 { ctx.pointee.retries }
    public var uplinks: UInt32 { ctx.pointee.uplinks }
}
