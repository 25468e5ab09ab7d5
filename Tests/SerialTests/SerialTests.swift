import Foundation
import HarnessCore
import Testing
@testable import Serial
#if canImport(Glibc)
import Glibc
#endif

/// The far end of a pseudo-terminal, for driving a LineSession by hand.
final class PeerLine {
    let pty: PseudoTerminal
    init() throws { pty = try PseudoTerminal() }
    func say(_ text: String) { pty.write(Array(text.utf8)) }
    func heard(timeout: Nanoseconds = 500 * Time.millisecond) -> String { String(decoding: pty.read(timeout: timeout), as: UTF8.self) }
}

@Suite struct PortSpecTests {
    @Test func portNamesChooseTheTransport() throws {
        #expect(try PortSpec.parse("/dev/ttyUSB0") == .path("/dev/ttyUSB0"))
        #expect(try PortSpec.parse("tcp://lab-server:4001") == .tcp(host: "lab-server", port: 4001))
        #expect(try PortSpec.parse("tcp://[::1]:4001") == .tcp(host: "::1", port: 4001))
        #expect(try PortSpec.parse("usb:0483:5740") == .usb(vid: 0x0483, pid: 0x5740, serial: nil))
        #expect(try PortSpec.parse("usb:10c4:ea60:0001A2") == .usb(vid: 0x10C4, pid: 0xEA60, serial: "0001A2"))
        for bad in ["tcp://host", "tcp://:4001", "tcp://host:0", "usb:483:5740", "usb:zzzz:5740", ""] {
            #expect(throws: SerialError.self, "\(bad)") { try PortSpec.parse(bad) }
        }
    }
}

@Suite struct LineSessionTests {
    func session(_ peer: PeerLine, log: SessionLog? = nil) throws -> LineSession {
        LineSession(transport: try TermiosTransport(path: peer.pty.slavePath), log: log)
    }

    /// CR, LF and CR LF each end a line once; a line split over several writes is whole; empty lines are dropped.
    @Test func linesAndPartialLines() throws {
        let peer = try PeerLine()
        let s = try session(peer)
        peer.say("A\r\nB\nC\rD")
        #expect(try s.readLine(timeout: Time.second)?.text == "A")
        #expect(try s.readLine(timeout: Time.second)?.text == "B")
        #expect(try s.readLine(timeout: Time.second)?.text == "C")
        #expect(try s.readLine(timeout: 100 * Time.millisecond) == nil)   // "D" is not finished
        peer.say("E\r")
        peer.say("\n\r\nF\n")
        let de = try s.readLine(timeout: Time.second)
        #expect(de?.text == "DE")
        #expect(try s.readLine(timeout: Time.second)?.text == "F")
        if let t = de?.at { #expect(t > 0) }
        s.close()
    }

    /// Expect: exact, prefix and regular-expression matches with captures; event lines arriving meanwhile are kept
    /// apart; a timeout gives no line.
    @Test func expectMatchesAndCollectsEvents() throws {
        let peer = try PeerLine()
        let s = try session(peer)
        s.eventMatchers = [.regex("^\\+EVT:")]
        peer.say("+EVT:TX_DONE\r\nnoise\r\nAT+VER=RUI_4.0.6\r\nOK\r\n")
        let r = try s.expect([.regex("^AT\\+VER=(.+)$")], timeout: Time.second)
        #expect(r.line?.text == "AT+VER=RUI_4.0.6")
        #expect(r.captures == ["AT+VER=RUI_4.0.6", "RUI_4.0.6"])
        #expect(r.before.map(\.text) == ["noise"])
        #expect(s.takeEvents().map(\.text) == ["+EVT:TX_DONE"])
        #expect(try s.expect([.exact("OK")], timeout: Time.second).line?.text == "OK")
        #expect(try s.expect([.prefix("never")], timeout: 100 * Time.millisecond).line == nil)
        #expect(Matcher.validRegex("([") != nil)
        s.close()
    }

    /// The session log records every byte both ways with its time, escaped, keys redacted; the escapes read back.
    @Test func sessionLogRedactsKeys() throws {
        let peer = try PeerLine()
        let log = try SessionLog(path: nil, header: "test")
        log.keepInMemory = true
        let s = try session(peer, log: log)
        try s.send("AT+APPKEY=2B7E151628AED2A6ABF7158809CF4F3C")
        #expect(peer.heard() == "AT+APPKEY=2B7E151628AED2A6ABF7158809CF4F3C\r\n")
        peer.say("AT+APPKEY=2B7E151628AED2A6ABF7158809CF4F3C\r\nOK\r\n\u{01}bin\\ary\n")
        _ = try s.readLine(timeout: Time.second)
        _ = try s.readLine(timeout: Time.second)
        _ = try s.readLine(timeout: Time.second)
        s.close()
        let records = log.text.filter { !$0.hasPrefix("#") }
        #expect(records.count == 4)
        #expect(records[0].hasSuffix(" > AT+APPKEY=<redacted>\\r\\n"))
        #expect(records[1].hasSuffix(" < AT+APPKEY=<redacted>\\r\\n"))
        #expect(records[2].hasSuffix(" < OK\\r\\n"))
        #expect(records[3].hasSuffix(" < \\x01bin\\\\ary\\n"))
        #expect(!log.text.joined().contains("2B7E1516"))
        // Time stamps: seconds with microseconds.
        #expect(records[0].range(of: #"^\d+\.\d{6} > "#, options: .regularExpression) != nil)
        #expect(SessionLog.unescape("\\x01bin\\\\ary\\n"[...]) == [1] + Array("bin\\ary\n".utf8))
        #expect(SessionLog.unescape("bad\\q"[...]) == nil)
        // Other dialects' key commands.
        let r = Redactor.keyCommands
        #expect(r.redact("mac set appkey 2B7E151628AED2A6ABF7158809CF4F3C") == "mac set appkey <redacted>")
        #expect(r.redact("AT+KEY=APPKEY,\"2B7E151628AED2A6ABF7158809CF4F3C\"") == "AT+KEY=APPKEY,\"<redacted>\"")
        #expect(r.redact("+KEY: APPKEY 2B7E151628AED2A6ABF7158809CF4F3C") == "+KEY: APPKEY <redacted>")
    }
}

@Suite struct TransportErrorTests {
    @Test func missingPort() {
        do {
            _ = try SerialPorts.open("/dev/ttyNOSUCHPORT")
            Issue.record("opened")
        } catch {
            #expect(error.kind == .notFound)
            #expect(error.description.hasPrefix("/dev/ttyNOSUCHPORT (termios): not found: No such file or directory"))
        }
    }

    /// A board already open elsewhere (an exclusive lock on the tty) is busy.
    @Test func busyPort() throws {
        let peer = try PeerLine()
        let first = try TermiosTransport(path: peer.pty.slavePath)
        do {
            _ = try TermiosTransport(path: peer.pty.slavePath)
            Issue.record("opened twice")
        } catch {
            #expect(error.kind == .busy)
            #expect(error.description.contains("another program has the port open"))
        }
        first.close()
        // Free again once closed.
        _ = try TermiosTransport(path: peer.pty.slavePath)
    }

    @Test func notATerminal() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-tty-\(getpid())").path
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SerialError.self) { try TermiosTransport(path: path) }
    }

    /// The line drops (the board is unplugged): reads report a disconnect.
    @Test func disconnectIsReported() throws {
        let peer = try PeerLine()
        let t = try TermiosTransport(path: peer.pty.slavePath)
        peer.pty.close()
        var kinds: [SerialError.Kind] = []
        for _ in 0..<3 {
            do { _ = try t.read(max: 10, timeout: 100 * Time.millisecond) } catch { kinds.append(error.kind) }
        }
        #expect(kinds.contains(.disconnected))
    }

    /// libserialport enumerates (whatever this machine has), refuses pseudo-terminals, and names its errors.
    @Test func libserialport() throws {
        let ports = try LibSerialPort.list()
        #expect(ports.allSatisfy { !$0.name.isEmpty })
        let peer = try PeerLine()
        #expect(!LibSerialPort.knows(peer.pty.slavePath))
        do {
            _ = try LibSerialPortTransport(name: "/dev/ttyNOSUCHPORT")
            Issue.record("opened")
        } catch {
            #expect(error.transport == "libserialport")
        }
        // A path libserialport does not know goes through termios.
        let t = try SerialPorts.open(peer.pty.slavePath)
        #expect(t.transportName == "termios")
        do {
            _ = try SerialPorts.open("usb:ffff:fffe")
            Issue.record("found")
        } catch {
            #expect(error.kind == .notFound && error.transport == "usb")
        }
    }

    /// A lab serial server over TCP: bytes both ways; a closed port is refused.
    @Test func tcpTransport() throws {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, len) } }
        listen(server, 1)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        let t = try SerialPorts.open("tcp://127.0.0.1:\(port)")
        let conn = accept(server, nil, nil)
        #expect(conn >= 0)
        try t.write(Array("AT\r\n".utf8))
        var buf = [UInt8](repeating: 0, count: 16)
        let n = recv(conn, &buf, 16, 0)
        #expect(Array(buf.prefix(max(0, n))) == Array("AT\r\n".utf8))
        _ = send(conn, "OK\r\n", 4, 0)
        #expect(try t.read(max: 16, timeout: Time.second) == Array("OK\r\n".utf8))
        close(conn)
        #expect(throws: SerialError.self) { _ = try t.read(max: 16, timeout: Time.second) }
        t.close()
        close(server)
        #expect(throws: SerialError.self) { _ = try SerialPorts.open("tcp://127.0.0.1:\(port)") }
    }
}

@Suite struct ProfileTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("hardware/profiles").path

    @Test(arguments: ["occupancy-rak3172", "rak3172-rui3", "wio-e5", "rn2483"])
    func bundledProfilesLoad(name: String) throws {
        let p = try DialectProfile.load(name, directory: Self.dir)
        #expect(p.name == name)
        for role in ["ok", "error", "busy", "joined", "txDone", "version", "devEUI"] { #expect(!(p.patterns[role] ?? []).isEmpty, "\(name): \(role)") }
        for c in ["version", "getDevEUI", "setDevEUI", "setJoinEUI", "setAppKey", "join", "send"] { #expect(p.commands[c] != nil, "\(name): \(c)") }
        #expect(p.redactor.redact(p.command("setAppKey", ["appKey": "2B7E151628AED2A6ABF7158809CF4F3C"]) ?? "").contains(Redactor.marker))
    }

    @Test func badProfilesNameTheLine() throws {
        let cases: [(String, String, Int)] = [
            ("name: x\ndialect: morse\n", "dialect is one of", 2),
            ("name: x\ndialect: rui3\npatterns:\n  ok: [\"(\"]\n", "not a valid regular expression", 4),
            ("name: x\ndialect: rui3\nserial: {baud: 12}\n", "12", 3),
        ]
        for (yaml, mentions, line) in cases {
            do {
                _ = try DialectProfile.parse(try DocumentNode.parse(yaml, file: "p.yaml"), file: "p.yaml")
                Issue.record("accepted \(yaml)")
            } catch {
                #expect(error.message.contains(mentions), "\(error)")
                #expect("\(error)".contains("p.yaml:\(line)"), "\(error)")
            }
        }
        #expect(throws: InputError.self) { try DialectProfile.load("no-such-profile", directory: Self.dir) }
    }
}
