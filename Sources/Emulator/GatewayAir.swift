import Device
import Foundation
import HarnessCore
import RadioLink
import Traces

/// The emulated board's air through a bench gateway: each uplink goes to a network server as a packet forwarder
/// sends it (Semtech UDP `rxpk`, stamped with the concentrator time of its end), and each `txpk` the server sends
/// back is received in the window whose opening its `tmst` names. Instead of the emulator's built-in network server.
final class GatewayAir: Air {
    let gateway: VirtualGateway
    /// txpk's waiting for their window: concentrator time (µs), the frame, its time on air.
    private var waiting: [(tmst: UInt32, frame: [UInt8], airtime: Nanoseconds)] = []
    /// Corrupt the MIC of each data uplink on the way (the badMIC fault; join-requests go through intact).
    var corruptMIC = false
    /// Wall time the board's clock stood still waiting for the server (see `uplink`).
    private(set) var heldWall: UInt64 = 0
    /// The longest the board waits for a PUSH_ACK.
    static let ackWait: Nanoseconds = 500 * Time.millisecond

    init(host: String, port: UInt16, eui: [UInt8]) throws(InputError) {
        gateway = try VirtualGateway(host: host, port: port, eui: eui)
        gateway.onDownlink = { [unowned self] tx in take(tx) }
        gateway.service()
    }

    /// The concentrator's microsecond counter for a virtual time: 32 bits, wrapping as the real one does.
    static func tmst(_ t: Nanoseconds) -> UInt32 { UInt32(truncatingIfNeeded: max(0, t) / 1000) }

    func uplink(device: Int, frame: [UInt8], transmission tx: UplinkAir) {
        var bytes = frame
        if corruptMIC, let first = bytes.first, first >> 5 != 0, let last = bytes.indices.last { bytes[last] ^= 0xFF }
        let rxpk: JSONValue = .object([
            "tmst": .number(Double(GatewayAir.tmst(tx.start + tx.airtime))), "chan": .number(0), "rfch": .number(0),
            "freq": .number(Double(tx.frequencyHz) / 1e6), "stat": .number(1), "modu": .string("LORA"),
            "datr": .string("SF\(tx.spreadingFactor)BW\(Int(tx.bandwidth.hertz / 1000))"), "codr": .string("4/5"),
            "rssi": .number(-40), "lsnr": .number(9.5), "size": .number(Double(bytes.count)), "data": .string(Base64.encode(bytes)),
        ])
        gateway.forward(rxpk)
        // A real network server has the whole receive delay (1 s, 5 s for a join) to answer; at a time scale of
        // 100 that would be 10 ms of wall time, less than a loaded machine takes to schedule it. So the board's
        // clock stands still until the server has acknowledged the uplink (the bench gateway acknowledges after
        // it has answered), at most `ackWait`: the board sees the network as fast as it is at scale 1.
        let before = DispatchTime.now().uptimeNanoseconds
        gateway.awaitPushAcks(timeout: GatewayAir.ackWait)
        heldWall += DispatchTime.now().uptimeNanoseconds - before
    }

    private func take(_ tx: JSONValue) {
        guard case .record(let r) = SemtechDatagram.downlink(.object(["txpk": tx])), let frame = r.phyPayload,
              let t = tx["tmst"]?.numberValue, t >= 0, t < 4_294_967_296,
              let sf = r.spreadingFactor, let bw = r.bandwidthHz.flatMap({ LoRaBandwidth(hertz: $0) }) else { return }
        var m = LoRaModulation(spreadingFactor: sf, bandwidth: bw)
        m.crc = false
        waiting.append((UInt32(t), frame, AirtimeCalculator.loraUnchecked(m, payloadBytes: frame.count).nanoseconds))
    }

    /// Keeps the gateway's link up and takes what the server sent.
    func service() { gateway.service() }

    func downlink(device: Int, window: Int, at: Nanoseconds, frequencyHz: Int64, dataRate: Int) -> (frame: [UInt8], airtime: Nanoseconds)? {
        gateway.service()
        let opening = GatewayAir.tmst(at)
        // A frame sent for this window starts as it opens (within 20 ms: the server's arithmetic, the timer's).
        guard let i = waiting.firstIndex(where: { Int32(bitPattern: $0.tmst &- opening).magnitude <= 20_000 }) else { return nil }
        let d = waiting.remove(at: i)
        return (d.frame, d.airtime)
    }
}
