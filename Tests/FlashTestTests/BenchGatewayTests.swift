import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Serial
import Testing
@testable import Emulator
@testable import FlashTest

/// Issue 14 (9): the harness as the network server of a bench gateway. The emulated board transmits through the
/// project's Semtech UDP gateway (`VirtualGateway`, as a packet forwarder would) to the harness's `BenchGateway`,
/// which answers its join-request with a join-accept through PULL_RESP, checks its uplinks on air, and sends a
/// downlink the board must report.
@Suite struct BenchGatewayTests {
    static let plan = """
          - {step: identity}
          - {step: configure}
          - {step: join}
          - {step: uplink, payload: "0102030405060708", port: 2}
          - {step: downlink, port: 3, payload: "CAFE"}
          - {step: uplink, name: second uplink, payload: "A1A2", port: 4}

        """

    /// Runs the plan through a bench gateway on a free port of 127.0.0.1; the emulator's faults as given.
    static func run(faults: String = "", profile: String = "rak3172-rui3", headStart: Double = 0) throws -> (BoardResult, [AirUplink]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid())-\(UUID().uuidString).yaml").path
        try "name: bench\nprofile: \(profile)\nregion: EU868\ndataRate: 5\nsteps:\n\(plan)".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = try FlashTestPlan.load(path: path)
        let gateway = try BenchGateway(spec: "udp:127.0.0.1:0", plan: p)
        defer { gateway.stop() }
        var o = EmulatorOptions(profile: try DialectProfile.load(profile, directory: profilesDir))
        o.timeScale = 20
        o.faults = try EmulatorFaults.parse(faults)
        o.gateway = ("127.0.0.1", gateway.port)
        let e = try Emulator(options: o)
        e.start()
        defer { e.stop() }
        Thread.sleep(forTimeInterval: headStart)
        var options = FlashTestOptions()
        options.timeScale = 20
        options.gateway = gateway
        let r = FlashTestRunner(plan: p, profile: try DialectProfile.load(profile, directory: profilesDir), port: e.path, options: options).run()
        return (r, gateway.heard(since: 0))
    }

    static func detail(_ r: BoardResult, _ step: String) -> String { r.steps.first { $0.name == step }?.detail ?? "(no step \(step))" }

    @Test func aBoardJoinsThroughTheBenchGatewayAndIsCheckedOnAir() throws {
        let (r, heard) = try Self.run()
        #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
        #expect(Self.detail(r, "join").contains("through the bench gateway: join-request DevNonce"), "\(Self.detail(r, "join"))")
        // LoRaWAN 1.0.4 §6.2.5: a join-request is MHDR 0x00, JoinEUI and DevEUI little-endian, DevNonce, MIC: 23 bytes.
        let join = try #require(heard.first { $0.bytes.first == 0x00 && $0.bytes.count == 23 })
        #expect(Hex.encode(join.bytes[9..<17].reversed(), uppercase: true) == "70B3D57ED0001234")
        #expect(join.answered?.first == 0x20 && join.answered?.count == 17)   // MHDR join-accept, no CFList
        // 8 bytes on FPort 2: MHDR, FHDR (7), FPort, payload, MIC = 21 bytes; at DR5 (SF7, 125 kHz) 56.576 ms.
        #expect(Self.detail(r, "uplink").hasSuffix("on air: FCnt 0, FPort 2, MIC valid, payload as sent, SF7BW125 4/5 21 bytes (56.576 ms on air)"),
                "\(Self.detail(r, "uplink"))")
        #expect(Self.detail(r, "downlink").hasPrefix("the board reported the downlink: +EVT:RX_1:") && Self.detail(r, "downlink").contains(":3:cafe"),
                "\(Self.detail(r, "downlink"))")
        #expect(Self.detail(r, "second uplink").contains("on air: FCnt 2, FPort 4"), "\(Self.detail(r, "second uplink"))")
    }

    /// A board whose uplinks arrive with a wrong MIC passes everything it says about itself; the gateway's check fails it.
    @Test func aWrongMICOnAirFails() throws {
        let (r, _) = try Self.run(faults: "badMIC")
        #expect(!r.passed && r.failingStep == "uplink", "\(FlashTestReport.diagnosis(r) ?? "")")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.detail == "the uplink heard by the bench gateway does not verify: the MIC does not verify with the session's NwkSKey (FCnt 0)", "\(f.detail)")
    }

    /// A module that reports DR5 and transmits at DR3: the gateway hears SF9.
    @Test func theDataRateOnAirIsTheGatewaysView() throws {
        let (r, _) = try Self.run(faults: "txDR=3")
        #expect(!r.passed && r.failingStep == "uplink", "\(FlashTestReport.diagnosis(r) ?? "")")
        let f = try #require(r.steps.first { $0.status == .failed })
        #expect(f.detail == "the uplink came at SF9BW125, not DR5's SF7BW125" && f.expected == "SF7BW125" && f.got == "SF9BW125", "\(f.detail)")
    }

    /// Nothing listens for the board's PULL_DATA on the gateway's side: the join step says there is no way down.
    @Test func noPacketForwarderIsNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-none-\(getpid()).yaml").path
        try "name: bench\nprofile: rak3172-rui3\nsteps:\n  - {step: configure}\n  - {step: join}\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = try FlashTestPlan.load(path: path)
        let gateway = try BenchGateway(spec: "udp:127.0.0.1:0", plan: p)
        defer { gateway.stop() }
        let r = try withEmulator("rak3172-rui3", timeScale: 100) { e -> BoardResult in
            var options = FlashTestOptions()
            options.timeScale = 100
            options.gateway = gateway
            options.gatewayWait = 500 * Time.millisecond
            return FlashTestRunner(plan: p, profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir), port: e.path, options: options).run()
        }
        #expect(!r.passed && r.failingStep == "join")
        #expect(r.steps.last?.detail.hasPrefix("no packet forwarder has sent PULL_DATA to udp:127.0.0.1:") == true, "\(r.steps.last?.detail ?? "")")
    }

    /// Two boards, each behind its own packet forwarder, on one bench gateway's port: each answer goes back
    /// through the gateway that heard the uplink (its PULL_DATA's address), so both join at once and both pass.
    @Test func twoForwardersOnOnePort() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-two-\(getpid()).yaml").path
        try "name: bench\nprofile: rak3172-rui3\nregion: EU868\ndataRate: 5\nsteps:\n\(Self.plan)".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = try FlashTestPlan.load(path: path)
        let gateway = try BenchGateway(spec: "udp:127.0.0.1:0", plan: p)
        defer { gateway.stop() }
        var emulators: [Emulator] = []
        for eui: UInt64 in [0x70B3_D57E_D000_0001, 0x70B3_D57E_D000_0002] {
            var o = EmulatorOptions(profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir))
            o.timeScale = 20
            o.devEUI = EUI64(eui)
            o.gateway = ("127.0.0.1", gateway.port)
            let e = try Emulator(options: o)
            e.start()
            emulators.append(e)
        }
        defer { for e in emulators { e.stop() } }
        var options = FlashTestOptions()
        options.timeScale = 20
        options.gateway = gateway
        let results = FlashTestJig.run(plan: p, profile: try DialectProfile.load("rak3172-rui3", directory: profilesDir),
                                       boards: emulators.map { .init(port: $0.path, entry: nil, sessionLog: nil) }, options: options) { _, _ in }
        for r in results {
            #expect(r.passed, "\(FlashTestReport.diagnosis(r) ?? "")")
            // The first join-request answered: DevNonce 0 (a lost join-accept would have made the board retry).
            #expect(Self.detail(r, "join").contains("join-request DevNonce 0 "), "\(Self.detail(r, "join"))")
        }
    }

    @Test func badGatewaySpecs() throws {
        let region = try RegionID.parse("EU868").parameters
        for (spec, says) in [("udp:0.0.0.0", "the gateway is udp:HOST:PORT"), ("tcp:1.2.3.4:1700", "the gateway is udp:HOST:PORT"),
                             ("udp:0.0.0.0:99999", "the gateway is udp:HOST:PORT")] {
            #expect(throws: InputError.self) { try BenchGateway(spec: spec, region: region) }
            do { _ = try BenchGateway(spec: spec, region: region) } catch { #expect(error.message.hasPrefix(says), "\(error)") }
        }
        #expect(throws: InputError.self) { try EmulatorOptions.parseGateway("udp:host") }
    }
}
