import Foundation
import HarnessCore

/// Line settings of a serial port.
public struct SerialSettings: Sendable, Equatable {
    public enum Parity: String, Sendable, CaseIterable { case none, odd, even }
    public enum FlowControl: String, Sendable, CaseIterable { case none, rtscts, xonxoff }
    public var baud: Int
    public var dataBits: Int
    public var parity: Parity
    public var stopBits: Int
    public var flowControl: FlowControl

    public init(baud: Int = 115_200, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1, flowControl: FlowControl = .none) {
        self.baud = baud; self.dataBits = dataBits; self.parity = parity; self.stopBits = stopBits; self.flowControl = flowControl
    }

    /// `115200 8N1`.
    public var description: String { "\(baud) \(dataBits)\(parity.rawValue.prefix(1).uppercased())\(stopBits)" + (flowControl == .none ? "" : " \(flowControl.rawValue)") }
}

/// What went wrong with a port: which port, through which transport, and what the system said.
public struct SerialError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case notFound = "not found", busy, permission = "permission denied", io = "I/O error",
                                         disconnected, timeout, badSpec = "bad port", unsupported,
                                         interrupted }
    public var kind: Kind
    public var port: String
    public var transport: String
    public var detail: String

    public init(_ kind: Kind, port: String, transport: String, _ detail: String) {
        self.kind = kind; self.port = port; self.transport = transport; self.detail = detail
    }

    public var description: String { "\(port) (\(transport)): \(kind.rawValue): \(detail)" }

    /// The same error as bad input for the command line (exit status 2), placed at the port.
    public var inputError: InputError { inputError(argument: "--port \(port)") }
    /// The same, located at another argument (a command that names the port otherwise, such as `--to serial:PORT`).
    public func inputError(argument: String) -> InputError { InputError("\(transport) port \(kind.rawValue): \(detail)", at: .argument(argument)) }
}

/// A byte stream to a device: a serial port, a pseudo-terminal, a TCP serial server.
/// The modem control lines an evaluation board may wire to its reset or boot pins.
public enum ModemLine: String, Sendable, CaseIterable { case dtr, rts }

public protocol SerialTransport: AnyObject {
    /// The port as the user named it.
    var port: String { get }
    /// `libserialport`, `termios` or `tcp`.
    var transportName: String { get }
    func write(_ bytes: [UInt8]) throws(SerialError)
    /// Up to `max` bytes, waiting at most `timeout`; empty when nothing came in time.
    func read(max: Int, timeout: Nanoseconds) throws(SerialError) -> [UInt8]
    /// Waits until everything written has gone out.
    func drain() throws(SerialError)
    func close()
    /// Asserts (true) or releases a modem control line.
    func setLine(_ line: ModemLine, _ asserted: Bool) throws(SerialError)
}

extension SerialTransport {
    public func setLine(_ line: ModemLine, _ asserted: Bool) throws(SerialError) {
        throw SerialError(.unsupported, port: port, transport: transportName, "a \(transportName) port has no \(line.rawValue.uppercased()) line")
    }
}

/// How the user names a port: a device path, `tcp://host:port`, or `usb:VID:PID[:SERIAL]`.
public enum PortSpec: Sendable, Equatable {
    case path(String)
    case tcp(host: String, port: UInt16)
    case usb(vid: UInt16, pid: UInt16, serial: String?)

    /// The USB serial number a port names (`usb:VID:PID:SERIAL`), if it names one.
    public static func usbSerial(of text: String) -> String? {
        if case .usb(_, _, let serial)? = try? parse(text) { return serial }
        return nil
    }

    public static func parse(_ text: String) throws(SerialError) -> PortSpec {
        if text.hasPrefix("tcp://") {
            let rest = text.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0,
                  !rest[..<colon].isEmpty else {
                throw SerialError(.badSpec, port: text, transport: "tcp", "write tcp://host:port, e.g. tcp://lab-server:4001")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return .tcp(host: host, port: port)
        }
        if text.hasPrefix("usb:") {
            let parts = text.dropFirst(4).split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let vid = UInt16(parts[0], radix: 16), let pid = UInt16(parts[1], radix: 16),
                  parts[0].count == 4, parts[1].count == 4 else {
                throw SerialError(.badSpec, port: text, transport: "usb", "write usb:VID:PID or usb:VID:PID:SERIAL with 4 hex digits each, e.g. usb:0483:5740")
            }
            return .usb(vid: vid, pid: pid, serial: parts.count == 3 && !parts[2].isEmpty ? String(parts[2]) : nil)
        }
        guard !text.isEmpty else { throw SerialError(.badSpec, port: text, transport: "serial", "empty port name") }
        return .path(text)
    }
}

public enum SerialPorts {
    /// Opens a port by its name: TCP for `tcp://`, the USB port with that identity for `usb:`, and for a path
    /// libserialport when it knows the port (real serial ports), else POSIX termios (pseudo-terminals, which
    /// libserialport refuses on Linux).
    public static func open(_ name: String, settings: SerialSettings = SerialSettings(), exclusive: Bool = true) throws(SerialError) -> SerialTransport {
        switch try PortSpec.parse(name) {
        case .tcp(let host, let port):
            return try TCPTransport(name: name, host: host, port: port, timeout: 5 * Time.second)
        case .usb(let vid, let pid, let serial):
            let matches = try LibSerialPort.list().filter { $0.vid == vid && $0.pid == pid && (serial == nil || $0.serialNumber == serial) }
            guard let first = matches.first else {
                throw SerialError(.notFound, port: name, transport: "usb", "no connected USB serial port has this identity (see loraharness ports)")
            }
            guard matches.count == 1 else {
                throw SerialError(.badSpec, port: name, transport: "usb", "\(matches.count) ports match (\(matches.map(\.name).joined(separator: ", "))); add the serial number")
            }
            return try open(first.name, settings: settings, exclusive: exclusive)
        case .path(let path):
            if LibSerialPort.knows(path) {
                return try LibSerialPortTransport(name: name, settings: settings)
            }
            return try TermiosTransport(path: path, settings: settings, exclusive: exclusive)
        }
    }
}
