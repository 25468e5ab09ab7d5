import Foundation
import HarnessCore
import LoRaWAN
import RadioLink

/// The network side for a single device's run: it answers join-requests with real join-accepts, acknowledges
/// confirmed uplinks, and sends scripted MAC commands and downlinks in RX1 (or RX2). The fleet's network server
/// grows from it. The link is perfect unless losses are asked for.
/// What the network made of one uplink.
public enum UplinkVerdict: Sendable, Equatable {
    case joinAccepted(devEUI: EUI64, devNonce: UInt16, devAddr: DevAddr)
    case joinRefused(devEUI: EUI64, reason: String)
    case data(devAddr: DevAddr, fcnt: UInt32, fport: UInt8?, payload: [UInt8], confirmed: Bool, repeated: Bool)
    case dataRefused(devAddr: DevAddr, reason: String)
    case other(String)
}

public final class MiniNetwork: Air {
    public struct Scripted: Sendable {
        public var at: Nanoseconds
        public var device: Int
        public var macCommands: [MACCommand]
        public var fport: UInt8?
        public var payload: [UInt8]
        public init(at: Nanoseconds, device: Int, macCommands: [MACCommand] = [], fport: UInt8? = nil, payload: [UInt8] = []) {
            self.at = at; self.device = device; self.macCommands = macCommands; self.fport = fport; self.payload = payload
        }
    }

    public let region: RegionParameters
    public let netID: UInt32
    /// Answer in RX2 instead of RX1.
    public var answerInRX2 = false
    /// Probability an uplink or downlink is lost (seeded).
    public var uplinkLoss = 0.0
    public var downlinkLoss = 0.0
    /// SNR reported with the downlinks the device measures (for DevStatusAns).
    public var linkSNR = 5.0
    public private(set) var scripted: [Scripted] = []

    private var appKeys: [EUI64: AES128Key] = [:]
    private var deviceEUI: [Int: EUI64] = [:]
    private struct Session {
        var devAddr: DevAddr
        var keys: SessionKeys
        var fcntUp: UInt32?
        var fcntDown: UInt32 = 0
        var pendingMAC: [MACCommand] = []
        var pendingData: (UInt8, [UInt8])?
    }
    private var sessions: [Int: Session] = [:]
    private var usedNonces: [EUI64: Set<UInt16>] = [:]
    private var queued: [Int: (window: Int, frame: [UInt8], airtime: Nanoseconds)] = [:]
    private var nextJoinNonce: UInt32 = 1
    private var nextAddress: UInt32 = 0x2601_0000
    private var rng: SeededRandom

    /// What the network saw and did, for tests and the timeline.
    public private(set) var log: [(Nanoseconds, String)] = []
    public private(set) var uplinksReceived = 0
    /// Each uplink's verdict, as it is made.
    public var onVerdict: ((UplinkVerdict) -> Void)?

    /// The device index a DevEUI was registered under.
    public func device(devEUI: EUI64) -> Int? { deviceEUI.first { $0.value == devEUI }?.key }
    /// The device index holding a session at this address.
    public func device(devAddr: DevAddr) -> Int? { sessions.first { $0.value.devAddr == devAddr }?.key }
    /// The last uplink frame counter accepted from a device.
    public func lastFCntUp(device: Int) -> UInt32? { sessions[device]?.fcntUp }

    public init(region: RegionParameters, netID: UInt32 = 0x000013, seed: UInt64 = 1) {
        self.region = region
        self.netID = netID
        rng = SeededRandom.stream(seed: seed, 0x4E7)
    }

    public func register(device: Int, activation: Activation) {
        switch activation {
        case .otaa(let devEUI, _, let appKey):
            appKeys[devEUI] = appKey
            deviceEUI[device] = devEUI
        case .abp(let addr, let nwk, let app):
            sessions[device] = Session(devAddr: addr, keys: SessionKeys(nwkSKey: nwk, appSKey: app))
        }
    }

    public func script(_ s: Scripted) {
        scripted.append(s)
        scripted.sort { $0.at < $1.at }
    }

    public func uplink(device: Int, frame: [UInt8], transmission tx: UplinkAir) {
        if uplinkLoss > 0, rng.nextDouble() < uplinkLoss {
            log.append((tx.start, "uplink lost"))
            return
        }
        let end = tx.start + tx.airtime
        guard let phy = try? FrameDecoder.decode(frame) else { onVerdict?(.other("not a LoRaWAN frame")); return }
        switch phy {
        case .joinRequest(let jr):
            guard let key = appKeys[jr.devEUI] else { onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "unknown DevEUI")); return }
            guard JoinCodec.verifyRequest(frame, appKey: CryptoKey(key)).valid else {
                onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "the MIC does not verify with the AppKey"))
                return
            }
            if usedNonces[jr.devEUI, default: []].contains(jr.devNonce) {
                log.append((end, "join-request with a used DevNonce \(jr.devNonce) refused"))
                onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "DevNonce \(jr.devNonce) was used before"))
                return
            }
            usedNonces[jr.devEUI, default: []].insert(jr.devNonce)
            let addr = DevAddr(nextAddress)
            nextAddress += 1
            let accept = JoinAccept(joinNonce: nextJoinNonce, netID: netID, devAddr: addr, rx1DROffset: 0,
                                    rx2DataRate: UInt8(region.rx2DataRate), rxDelay: 1)
            let derived = LoRaWANCrypto.sessionKeys10(appKey: CryptoKey(key), appNonce: nextJoinNonce, netID: netID, devNonce: jr.devNonce)
            nextJoinNonce += 1
            sessions[device] = Session(devAddr: addr, keys: SessionKeys(nwkSKey: derived.nwkSKey, appSKey: derived.appSKey))
            guard let bytes = try? JoinCodec.encodeAccept(accept, appKey: CryptoKey(key)) else { return }
            queue(device: device, frame: bytes, uplinkDR: tx.dataRate, window: answerInRX2 ? 2 : 1)
            log.append((end, "join-request DevNonce \(jr.devNonce) accepted as \(addr)"))
            onVerdict?(.joinAccepted(devEUI: jr.devEUI, devNonce: jr.devNonce, devAddr: addr))
        case .data(let f):
            guard var s = sessions[device], f.devAddr == s.devAddr else {
                log.append((end, "uplink not accepted (address)"))
                onVerdict?(.dataRefused(devAddr: f.devAddr, reason: "no session at this DevAddr"))
                return
            }
            guard let fcnt = FCnt.reconstruct(f.fcnt, last: s.fcntUp).value,
                  let opened = try? DataFrameCodec.open(frame, frame: f, fcnt: fcnt, keys: s.keys), opened.micValid else {
                log.append((end, "uplink not accepted (MIC or address)"))
                onVerdict?(.dataRefused(devAddr: f.devAddr, reason: "the MIC does not verify with the session's NwkSKey (FCnt \(f.fcnt))"))
                return
            }
            uplinksReceived += 1
            let repeated = s.fcntUp == fcnt
            s.fcntUp = fcnt
            // Scripted actions due by now ride on this uplink's downlink.
            while let first = scripted.first, first.at <= end, first.device == device {
                scripted.removeFirst()
                s.pendingMAC += first.macCommands
                if let port = first.fport { s.pendingData = (port, first.payload) }
            }
            let confirmed = f.mtype == .confirmedDataUp
            sessions[device] = s
            if confirmed || !s.pendingMAC.isEmpty || s.pendingData != nil {
                sendDown(device: device, ack: confirmed, uplinkDR: tx.dataRate)
            }
            log.append((end, "uplink FCnt \(fcnt)\(repeated ? " (repeated)" : "") received"))
            onVerdict?(.data(devAddr: f.devAddr, fcnt: fcnt, fport: f.fport, payload: opened.payload, confirmed: confirmed, repeated: repeated))
        default:
            break
        }
    }

    private func sendDown(device: Int, ack: Bool, uplinkDR: Int) {
        guard var s = sessions[device] else { return }
        let commands = s.pendingMAC
        let fopts = MACCommand.encode(commands)
        let data = s.pendingData
        var fctrl = FCtrl()
        fctrl.ack = ack
        let frame: [UInt8]?
        if fopts.count <= 15 {
            frame = try? DataFrameCodec.encode(mtype: .unconfirmedDataDown, devAddr: s.devAddr, fcnt: s.fcntDown, fctrl: fctrl, fopts: fopts,
                                               fport: data?.0, payload: data?.1 ?? [], keys: s.keys)
        } else {
            frame = try? DataFrameCodec.encode(mtype: .unconfirmedDataDown, devAddr: s.devAddr, fcnt: s.fcntDown, fctrl: fctrl,
                                               fport: 0, payload: fopts, keys: s.keys)
        }
        guard let frame else { return }
        s.fcntDown += 1
        s.pendingMAC = []
        s.pendingData = nil
        sessions[device] = s
        queue(device: device, frame: frame, uplinkDR: uplinkDR, window: answerInRX2 ? 2 : 1)
    }

    private func queue(device: Int, frame: [UInt8], uplinkDR: Int, window: Int) {
        let dr = window == 1 ? (region.rx1DataRate(uplinkDR: uplinkDR, offset: 0) ?? uplinkDR) : region.rx2DataRate
        var m = region.dataRate(dr)?.modulation.lora ?? LoRaModulation(spreadingFactor: 12, bandwidth: .bw125)
        m.crc = false
        let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: frame.count).nanoseconds
        queued[device] = (window, frame, airtime)
    }

    public func downlink(device: Int, window: Int, at: Nanoseconds, frequencyHz: Int64, dataRate: Int) -> (frame: [UInt8], airtime: Nanoseconds)? {
        guard let q = queued[device], q.window == window else { return nil }
        queued[device] = nil
        if downlinkLoss > 0, rng.nextDouble() < downlinkLoss {
            log.append((at, "downlink lost"))
            return nil
        }
        return (q.frame, q.airtime)
    }
}
