import CLibSerialPort
import Foundation
import HarnessCore

/// A port as libserialport lists it.
public struct PortInfo: Sendable, Codable, Equatable {
    public var name: String
    public var description: String
    /// `native`, `usb`, `bluetooth`.
    public var transport: String
    public var vid: UInt16?
    public var pid: UInt16?
    public var manufacturer: String?
    public var product: String?
    public var serialNumber: String?

    /// `0483:5740`.
    public var usbID: String? {
        guard let vid, let pid else { return nil }
        return String(format: "%04x:%04x", vid, pid)
    }
}

public enum LibSerialPort {
    static func text(_ p: UnsafeMutablePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    /// The serial ports the system knows (libserialport's enumeration: /sys/class/tty on Linux).
    public static func list() throws(SerialError) -> [PortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        guard sp_list_ports(&list) == SP_OK, let list else {
            throw SerialError(.io, port: "(all)", transport: "libserialport", lastError())
        }
        defer { sp_free_port_list(list) }
        var out: [PortInfo] = []
        var i = 0
        while let p = list[i] {
            out.append(info(p))
            i += 1
        }
        return out.sorted { $0.name < $1.name }
    }

    static func info(_ p: OpaquePointer) -> PortInfo {
        let t = sp_get_port_transport(p)
        var info = PortInfo(name: text(sp_get_port_name(p)) ?? "?", description: text(sp_get_port_description(p)) ?? "",
                            transport: t == SP_TRANSPORT_USB ? "usb" : (t == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native"))
        if t == SP_TRANSPORT_USB {
            var vid: Int32 = 0, pid: Int32 = 0
            if sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK {
                info.vid = UInt16(truncatingIfNeeded: vid)
                info.pid = UInt16(truncatingIfNeeded: pid)
            }
            info.manufacturer = text(sp_get_port_usb_manufacturer(p))
            info.product = text(sp_get_port_usb_product(p))
            info.serialNumber = text(sp_get_port_usb_serial(p))
        }
        return info
    }

    /// Whether libserialport can handle this path (it knows real serial ports; it refuses Linux pseudo-terminals).
    public static func knows(_ path: String) -> Bool {
        var port: OpaquePointer?
        guard sp_get_port_by_name(path, &port) == SP_OK, let port else { return false }
        defer { sp_free_port(port) }
        return true
    }

    static func lastError() -> String {
        guard let m = sp_last_error_message() else { return "unknown error" }
        defer { sp_free_error_message(m) }
        return String(cString: m)
    }

    /// libserialport's error for a call, as a SerialError naming the port.
    static func check(_ r: sp_return, port: String, doing: String) throws(SerialError) {
        guard r.rawValue < 0 else { return }
        let detail = (r == SP_ERR_FAIL ? lastError() : "\(r)") + " (while \(doing))"
        let code = sp_last_error_code()
        switch code {
        case ENOENT, ENODEV, ENXIO: throw SerialError(.notFound, port: port, transport: "libserialport", detail)
        case EACCES, EPERM: throw SerialError(.permission, port: port, transport: "libserialport", detail + "; on Linux, add yourself to the dialout group")
        case EBUSY: throw SerialError(.busy, port: port, transport: "libserialport", detail)
        default: throw SerialError(r == SP_ERR_ARG ? .badSpec : .io, port: port, transport: "libserialport", detail)
        }
    }
}

/// A real serial port through libserialport.
public final class LibSerialPortTransport: SerialTransport {
    public let port: String
    public let transportName = "libserialport"
    private var handle: OpaquePointer?

    public init(name: String, settings: SerialSettings = SerialSettings()) throws(SerialError) {
        port = name
        var p: OpaquePointer?
        try LibSerialPort.check(sp_get_port_by_name(name, &p), port: name, doing: "looking the port up")
        guard let p else { throw SerialError(.notFound, port: name, transport: transportName, "no such port") }
        handle = p
        do {
            try LibSerialPort.check(sp_open(p, SP_MODE_READ_WRITE), port: name, doing: "opening")
            try LibSerialPort.check(sp_set_baudrate(p, Int32(settings.baud)), port: name, doing: "setting \(settings.baud) baud")
            try LibSerialPort.check(sp_set_bits(p, Int32(settings.dataBits)), port: name, doing: "setting \(settings.dataBits) data bits")
            let parity: sp_parity = settings.parity == .none ? SP_PARITY_NONE : (settings.parity == .odd ? SP_PARITY_ODD : SP_PARITY_EVEN)
            try LibSerialPort.check(sp_set_parity(p, parity), port: name, doing: "setting the parity")
            try LibSerialPort.check(sp_set_stopbits(p, Int32(settings.stopBits)), port: name, doing: "setting the stop bits")
            let flow: sp_flowcontrol = settings.flowControl == .none ? SP_FLOWCONTROL_NONE : (settings.flowControl == .rtscts ? SP_FLOWCONTROL_RTSCTS : SP_FLOWCONTROL_XONXOFF)
            try LibSerialPort.check(sp_set_flowcontrol(p, flow), port: name, doing: "setting the flow control")
        } catch {
            sp_free_port(p)
            handle = nil
            throw error
        }
    }

    deinit { close() }

    public func setLine(_ line: ModemLine, _ asserted: Bool) throws(SerialError) {
        guard let h = handle else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        let r = line == .dtr ? sp_set_dtr(h, asserted ? SP_DTR_ON : SP_DTR_OFF) : sp_set_rts(h, asserted ? SP_RTS_ON : SP_RTS_OFF)
        try LibSerialPort.check(r, port: port, doing: "setting \(line.rawValue.uppercased())")
    }

    public func write(_ bytes: [UInt8]) throws(SerialError) {
        guard let h = handle else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        let r = bytes.withUnsafeBytes { sp_blocking_write(h, $0.baseAddress, bytes.count, 2000) }
        try LibSerialPort.check(r, port: port, doing: "writing")
        guard r.rawValue == bytes.count else { throw SerialError(.timeout, port: port, transport: transportName, "only \(r.rawValue) of \(bytes.count) bytes written in 2 s") }
    }

    public func read(max: Int, timeout: Nanoseconds) throws(SerialError) -> [UInt8] {
        guard let h = handle else { throw SerialError(.disconnected, port: port, transport: transportName, "the port is closed") }
        var buf = [UInt8](repeating: 0, count: Swift.max(1, max))
        let ms = UInt32(clamping: Swift.max(1, (timeout + 999_999) / 1_000_000))
        let r = buf.withUnsafeMutableBytes { sp_blocking_read_next(h, $0.baseAddress, $0.count, ms) }
        try LibSerialPort.check(r, port: port, doing: "reading")
        return Array(buf.prefix(Int(r.rawValue)))
    }

    public func drain() throws(SerialError) {
        guard let h = handle else { return }
        try LibSerialPort.check(sp_drain(h), port: port, doing: "draining")
    }

    public func close() {
        if let h = handle {
            sp_close(h)
            sp_free_port(h)
            handle = nil
        }
    }
}
