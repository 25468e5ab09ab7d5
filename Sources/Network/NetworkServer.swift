import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import SimKernel

/// What the network made of one uplink (told to `NetworkServer.onVerdict`, for the bench gateway and tests).
public enum UplinkVerdict: Sendable, Equatable {
    case joinAccepted(devEUI: EUI64, devNonce: UInt16, devAddr: DevAddr)
    case joinRefused(devEUI: EUI64, reason: String)
    case data(devAddr: DevAddr, fcnt: UInt32, fport: UInt8?, payload: [UInt8], confirmed: Bool, repeated: Bool)
    case dataRefused(devAddr: DevAddr, reason: String)
    case other(String)
}

/// The network server every simulated device meets (fleets, `device run`, the emulator, the bench gateway), with a
/// channel in front of it (`UplinkChannel`: perfect, lossy, or the radio channel engine): uplinks go on the air when
/// devices start them; their fate at each gateway comes from the channel; the server deduplicates the
/// gateways' copies, checks frame counters and MICs, answers joins with real join-accepts, acknowledges confirmed
/// uplinks, sends MAC commands (network-side ADR among them) and application downlinks through a gateway in RX1
/// or RX2 — subject to the gateway's duty cycle, its half-duplex radio and the server's latency.
public final class NetworkServer: Air {
    public struct Config: Sendable {
        public var netID: UInt32 = 0x000013
        /// Time from the end of an uplink to the downlink being ready at a gateway: later than RX1 means RX2,
        /// later than RX2 means the answer is missed.
        public var latency: Nanoseconds = 200 * Time.millisecond
        public var adr = true
        /// ADR keeps this many dB above the demodulation floor (The Things Stack's default installation margin).
        public var adrMargindB: Double = 15
        public var gatewayRX1PowerdBm: Double = 14
        public var gatewayRX2PowerdBm: Double = 27
        public var crypto = true
        public var deviceReceiver: ReceiverModel = .sx1276
        /// The server keeps each gateway's transmitter: half-duplex (one downlink at a time) and its duty cycle per
        /// sub-band. Off for a bench gateway, whose real packet forwarders (one per board, perhaps) keep their own.
        public var gatewayTransmitters = true
        public init() {}
    }

    public struct Counters: Sendable, Codable {
        public var uplinksHeard = 0           // packets received by at least one (working) gateway
        public var gatewayCopies = 0          // receptions across gateways (deduplicated into the above)
        public var uplinksAccepted = 0        // new frames accepted (FCnt and MIC)
        public var repeats = 0                // the same FCnt again (retransmissions)
        public var rejected = 0               // MIC, unknown address, old FCnt
        public var joinRequests = 0
        public var joinAccepts = 0
        public var joinRejected = 0
        public var downlinksScheduled = 0
        public var downlinksMissed = 0        // no gateway could send in RX1 or RX2 (latency, duty cycle, busy, down)
        public var downlinksLostAtDevice = 0  // too weak at the device
        public var acks = 0
        public var linkADRRequests = 0
        public var gatewayDutyCycleRefusals = 0
        public init() {}
    }

    /// Per gateway: downlinks sent and their airtime.
    public struct GatewayDownlinks: Sendable, Codable {
        public var downlinks = 0
        public var airtime: Nanoseconds = 0
        public var dutyCycleRefusals = 0
    }

    public let config: Config
    public let region: RegionParameters
    public let channel: UplinkChannel
    public private(set) var counters = Counters()
    public private(set) var gatewayDownlinks: [GatewayDownlinks]

    /// Application uplinks: (device, FPort, payload, FCnt, end time of the uplink).
    public var onApplicationUplink: ((Int, UInt8, [UInt8], UInt32, Nanoseconds) -> Void)?
    /// Every finished uplink with the channel's verdict, for per-device accounting: (device, heard by the network).
    public var onUplinkOutcome: ((PacketOutcome, Bool) -> Void)?
    /// A data frame accepted (MIC and FCnt good): (device, repeated FCnt).
    public var onFrameAccepted: ((Int, Bool) -> Void)?
    /// A downlink put on the air for a device: (device, window, its airtime).
    public var onDownlinkSent: ((Int, Int, Nanoseconds) -> Void)?

    private struct DeviceInfo {
        var activation: Activation
        /// The device's number in the whole fleet: its DevAddr comes from it, so cells simulated apart agree.
        var fleetID: Int
        var joins = 0
        var joinNonce: UInt32 = 0
        var x: Double
        var y: Double
        var session: Session?
        var shadow: SeededRandom
        var snrHistory: [Double] = []
        var dataRate = 0
        var txPowerIndex = 0
    }
    private struct Session {
        var devAddr: DevAddr
        var keys: SessionKeys
        var fcntUp: UInt32?
        var fcntDown: UInt32 = 0
        var pendingMAC: [MACCommand] = []
        var pendingData: (UInt8, [UInt8])?
        var adrRequested = false
    }
    private var devices: [DeviceInfo?] = []
    private var byAddress: [DevAddr: Int] = [:]
    private var usedNonces: [EUI64: Set<UInt16>] = [:]
    private var inFlight: [Int: (device: Int, frame: [UInt8], tx: UplinkAir)] = [:]
    private var inFlightCount: [Int] = []
    private var nextTag = 0
    private var queued: [Int: (window: Int, at: Nanoseconds, frame: [UInt8], airtime: Nanoseconds, gateway: Int, frequency: Int64, dr: Int, power: Double)] = [:]
    private var gatewayTrackers: [DutyCycleTracker]
    private var gatewayBusy: [[(Nanoseconds, Nanoseconds)]]
    private var latencyWindows: [(from: Nanoseconds, to: Nanoseconds, latency: Nanoseconds)] = []
    /// Downlinks asked for ahead of time, per device: merged into the downlink of the first data uplink that ends
    /// at or after their time (with `answering`, the first on that FPort: a test's own uplink, not one the
    /// device's application sent meanwhile).
    public struct Scripted: Sendable {
        public var at: Nanoseconds
        public var macCommands: [MACCommand]
        public var fport: UInt8?
        public var payload: [UInt8]
        public var answering: UInt8?
        public init(at: Nanoseconds, macCommands: [MACCommand] = [], fport: UInt8? = nil, payload: [UInt8] = [], answering: UInt8? = nil) {
            self.at = at; self.macCommands = macCommands; self.fport = fport; self.payload = payload; self.answering = answering
        }
    }
    private var scripted: [Int: [Scripted]] = [:]
    /// Each uplink's verdict, as it is made (nil: none is built).
    public var onVerdict: ((UplinkVerdict) -> Void)?

    public init(config: Config = Config(), region: RegionParameters, channel: UplinkChannel, seed: UInt64) {
        self.config = config
        self.region = region
        self.channel = channel
        let gws = channel.gatewayCount
        gatewayTrackers = (0..<gws).map { _ in DutyCycleTracker(policy: region.dutyCycleEnforced ? .slidingWindow : .none, bands: region.subBands) }
        gatewayBusy = Array(repeating: [], count: gws)
        gatewayDownlinks = Array(repeating: GatewayDownlinks(), count: gws)
        _ = seed
        channel.detailedOutcomes = true
        channel.onOutcome = { [unowned self] o in received(o) }
    }

    /// A device of the network: `device` is its index on the channel, `fleetID` its number in the fleet, (x, y)
    /// where it stands (for the downlink path).
    public func register(device: Int, fleetID: Int, activation: Activation, x: Double, y: Double, seed: UInt64) {
        if devices.count <= device { devices += Array(repeating: nil, count: device + 1 - devices.count) }
        if case .otaa(let e, _, _) = activation, let old = devices[device], case .otaa(let o, _, _) = old.activation, o == e {
            // The same device again (a board whose host joins anew): its join count and JoinNonce go on.
            devices[device]?.activation = activation
            return
        }
        devices[device] = DeviceInfo(activation: activation, fleetID: fleetID, x: x, y: y, session: nil,
                                     shadow: SeededRandom.stream(seed: seed, UInt64(fleetID), 0xD0E))
        if case .abp(let addr, let nwk, let app) = activation {
            devices[device]?.session = Session(devAddr: addr, keys: SessionKeys(nwkSKey: nwk, appSKey: app))
            byAddress[addr] = device
        }
    }

    /// A device standing at the gateway (the bench, `device run`): its number on the channel is its number in the fleet.
    public func register(device: Int, activation: Activation) {
        register(device: device, fleetID: device, activation: activation, x: 0, y: 0, seed: 0)
    }

    /// A downlink (MAC commands, application data) to go with the device's first data uplink ending at or after `at`.
    public func script(device: Int, _ s: Scripted) {
        scripted[device, default: []].append(s)
        scripted[device]?.sort { $0.at < $1.at }
    }

    /// The device registered under a DevEUI.
    public func device(devEUI: EUI64) -> Int? {
        devices.firstIndex { d in
            if case .otaa(let e, _, _)? = d?.activation { return e == devEUI }
            return false
        }
    }
    /// The device holding a session at this address.
    public func device(devAddr: DevAddr) -> Int? { byAddress[devAddr] }
    /// The last uplink frame counter accepted from a device.
    public func lastFCntUp(device: Int) -> UInt32? { info(device)?.session?.fcntUp }

    /// The downlink waiting for the device's receive windows, taken off the queue (for a bench gateway, which sends
    /// it through a real forwarder): its window, start, frame, frequency, data rate and power.
    public func takeDownlink(device: Int) -> (window: Int, at: Nanoseconds, frame: [UInt8], frequencyHz: Int64, dataRate: Int, powerdBm: Double)? {
        guard let q = queued.removeValue(forKey: device) else { return nil }
        return (q.window, q.at, q.frame, q.frequency, q.dr, q.power)
    }

    /// A gateway out of service: it neither receives (the channel loses its copies) nor transmits.
    public func gatewayDown(_ g: Int, from: Nanoseconds, to: Nanoseconds) { channel.gatewayDown(g, from: from, to: to) }
    /// The server answers with this latency from `from` to `to`.
    public func latency(from: Nanoseconds, to: Nanoseconds, _ latency: Nanoseconds) { latencyWindows.append((from, to, latency)) }

    private func info(_ device: Int) -> DeviceInfo? { device >= 0 && device < devices.count ? devices[device] : nil }
    private func latency(at t: Nanoseconds) -> Nanoseconds { latencyWindows.last { t >= $0.from && t < $0.to }?.latency ?? config.latency }

    /// Queues a downlink for a device's next uplink (application data or MAC commands).
    public func queueDownlink(device: Int, fport: UInt8?, payload: [UInt8], macCommands: [MACCommand] = []) {
        guard info(device)?.session != nil else { return }
        if let port = fport { devices[device]?.session?.pendingData = (port, payload) }
        devices[device]?.session?.pendingMAC += macCommands
    }

    // MARK: Air

    public func uplink(device: Int, frame: [UInt8], transmission tx: UplinkAir) {
        let tag = nextTag
        nextTag += 1
        inFlight[tag] = (device, frame, tx)
        if inFlightCount.count <= device { inFlightCount += Array(repeating: 0, count: device + 1 - inFlightCount.count) }
        inFlightCount[device] += 1
        channel.transmit(Transmission(device: device, start: tx.start, airtime: tx.airtime, frequencyHz: tx.frequencyHz,
                                      spreadingFactor: tx.spreadingFactor, bandwidth: tx.bandwidth, txPowerdBm: tx.txPowerdBm,
                                      payloadBytes: frame.count, tag: tag))
    }

    /// Nothing queued and no uplink of the device still undecided on the channel: its windows stay empty.
    public func mayAnswer(device: Int) -> Bool {
        queued[device] != nil || (device < inFlightCount.count && inFlightCount[device] > 0)
    }

    public func downlink(device: Int, window: Int, at: Nanoseconds, frequencyHz: Int64, dataRate: Int) -> (frame: [UInt8], airtime: Nanoseconds)? {
        guard let q = queued[device], q.window == window else { return nil }
        queued[device] = nil
        // Does the device hear it? The channel's downlink path with the device's own draws, its receiver.
        guard var info = info(device) else { return nil }
        let m = region.dataRate(q.dr)?.modulation.lora ?? LoRaModulation(spreadingFactor: 12, bandwidth: .bw125)
        let heard = channel.downlinkHeard(device: device, gateway: q.gateway, x: info.x, y: info.y, powerdBm: q.power, modulation: m,
                                          receiver: config.deviceReceiver, draw: &info.shadow)
        devices[device] = info
        guard heard else {
            counters.downlinksLostAtDevice += 1
            return nil
        }
        return (q.frame, q.airtime)
    }

    // MARK: Uplinks

    private func received(_ o: PacketOutcome) {
        guard let f = inFlight.removeValue(forKey: o.transmission.tag) else { return }
        if f.device < inFlightCount.count { inFlightCount[f.device] -= 1 }
        let end = o.transmission.start + o.transmission.airtime
        let heardBy = o.receptions.filter { $0.loss == nil }
        onUplinkOutcome?(o, !heardBy.isEmpty)
        guard !heardBy.isEmpty, var info = info(f.device) else { return }
        counters.uplinksHeard += 1
        counters.gatewayCopies += heardBy.count
        let best = heardBy.sorted { $0.snrdB > $1.snrdB }
        guard let phy = try? FrameDecoder.decode(f.frame) else { counters.rejected += 1; onVerdict?(.other("not a LoRaWAN frame")); return }
        switch phy {
        case .joinRequest(let jr):
            counters.joinRequests += 1
            guard case .otaa(let devEUI, _, let appKey) = info.activation, devEUI == jr.devEUI else {
                counters.joinRejected += 1
                onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "unknown DevEUI"))
                return
            }
            guard JoinCodec.verifyRequest(f.frame, appKey: CryptoKey(appKey)).valid else {
                counters.joinRejected += 1
                onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "the MIC does not verify with the AppKey"))
                return
            }
            guard !usedNonces[devEUI, default: []].contains(jr.devNonce) else {
                counters.joinRejected += 1
                onVerdict?(.joinRefused(devEUI: jr.devEUI, reason: "DevNonce \(jr.devNonce) was used before"))
                return
            }
            usedNonces[devEUI, default: []].insert(jr.devNonce)
            if let old = info.session { byAddress[old.devAddr] = nil }
            // DevAddr: NetID type 0, NwkID from the low bits of the NetID (LoRaWAN Backend Interfaces §13); the
            // NwkAddr from the device's fleet number and its join count, so each join gets a fresh address.
            let nwkAddr = (UInt32(truncatingIfNeeded: info.fleetID) &* 8 &+ UInt32(info.joins % 8)) & 0x1FF_FFFF
            let addr = DevAddr(((config.netID & 0x7F) << 25) | nwkAddr)
            info.joins += 1
            // JoinNonce: a per-device counter of the join server (LoRaWAN 1.0.4 §6.2.3).
            info.joinNonce += 1
            let accept = JoinAccept(joinNonce: info.joinNonce, netID: config.netID, devAddr: addr, rx1DROffset: 0,
                                    rx2DataRate: UInt8(region.rx2DataRate), rxDelay: 1)
            let k = LoRaWANCrypto.sessionKeys10(appKey: CryptoKey(appKey), appNonce: info.joinNonce, netID: config.netID, devNonce: jr.devNonce)
            info.session = Session(devAddr: addr, keys: SessionKeys(nwkSKey: k.nwkSKey, appSKey: k.appSKey))
            info.snrHistory = []
            info.dataRate = f.tx.dataRate
            info.txPowerIndex = 0
            byAddress[addr] = f.device
            devices[f.device] = info
            if let bytes = try? JoinCodec.encodeAccept(accept, appKey: CryptoKey(appKey)) {
                if schedule(device: f.device, frame: bytes, uplink: f.tx, end: end, gateways: best.map(\.gateway),
                            delay1: region.joinAcceptDelay1, delay2: region.joinAcceptDelay2) {
                    counters.joinAccepts += 1
                }
            }
            onVerdict?(.joinAccepted(devEUI: devEUI, devNonce: jr.devNonce, devAddr: addr))
        case .data(let frame):
            guard let device = byAddress[frame.devAddr], device == f.device, var s = info.session else {
                counters.rejected += 1
                onVerdict?(.dataRefused(devAddr: frame.devAddr, reason: "no session at this DevAddr"))
                return
            }
            guard let fcnt = FCnt.reconstruct(frame.fcnt, last: s.fcntUp).value, s.fcntUp.map({ fcnt >= $0 }) ?? true else {
                counters.rejected += 1
                onVerdict?(.dataRefused(devAddr: frame.devAddr, reason: "FCnt \(frame.fcnt) is older than the last accepted, \(s.fcntUp.map(String.init) ?? "none")"))
                return
            }
            let payload: [UInt8]
            var commands: [MACCommand] = []
            if config.crypto {
                guard let opened = try? DataFrameCodec.open(f.frame, frame: frame, fcnt: fcnt, keys: s.keys), opened.micValid else {
                    counters.rejected += 1
                    onVerdict?(.dataRefused(devAddr: frame.devAddr, reason: "the MIC does not verify with the session's NwkSKey (FCnt \(frame.fcnt))"))
                    return
                }
                payload = opened.payload
                commands = opened.macCommands
            } else {
                payload = frame.frmPayload
                commands = (try? MACCommand.decode(frame.fopts[...], direction: .uplink)) ?? []
            }
            let repeated = s.fcntUp == fcnt
            s.fcntUp = fcnt
            if repeated { counters.repeats += 1 } else { counters.uplinksAccepted += 1 }
            onFrameAccepted?(device, repeated)
            for c in commands {
                if case .linkADRAns(let p, let d, let m) = c, p && d && m { s.adrRequested = false }
            }
            if !scripted.isEmpty, let list = scripted[device], let first = list.first, first.at <= end {
                // Downlinks asked for by now (and for this FPort, where they name one) ride on this uplink's answer.
                var keep: [Scripted] = []
                for d in list {
                    if d.at <= end && (d.answering == nil || d.answering == frame.fport) {
                        s.pendingMAC += d.macCommands
                        if let port = d.fport { s.pendingData = (port, d.payload) }
                    } else {
                        keep.append(d)
                    }
                }
                scripted[device] = keep
            }
            info.snrHistory.append(best.first?.snrdB ?? 0)
            if info.snrHistory.count > 20 { info.snrHistory.removeFirst(info.snrHistory.count - 20) }
            info.dataRate = f.tx.dataRate
            info.session = s
            devices[device] = info
            if !repeated, let port = frame.fport, port > 0 {
                onApplicationUplink?(device, port, payload, fcnt, end)
            }
            onVerdict?(.data(devAddr: frame.devAddr, fcnt: fcnt, fport: frame.fport, payload: payload,
                             confirmed: frame.mtype == .confirmedDataUp, repeated: repeated))
            if config.adr, frame.fctrl.adr, !(s.adrRequested) { adr(device: device) }
            let confirmed = frame.mtype == .confirmedDataUp
            let session = self.info(device)?.session
            let needs = confirmed || frame.fctrl.adrAckReq || !(session?.pendingMAC.isEmpty ?? true) || session?.pendingData != nil
            if needs { sendDown(device: device, ack: confirmed, uplink: f.tx, end: end, gateways: best.map(\.gateway)) }
        default:
            counters.rejected += 1
            onVerdict?(.other("not an uplink"))
        }
    }

    /// Network-side ADR in the manner of The Things Stack: the best SNR of the last 20 uplinks, less the
    /// demodulation floor of the data rate and the installation margin, gives steps of 3 dB: each raises the data
    /// rate by one (up to DR5), the rest lower the power by 2 dB each.
    private func adr(device: Int) {
        guard var info = info(device), info.snrHistory.count >= 20, var s = info.session,
              let m = region.dataRate(info.dataRate)?.modulation.lora else { return }
        let maxSNR = info.snrHistory.max() ?? 0
        var steps = Int(((maxSNR - LinkBudget.snrFloordB(sf: m.spreadingFactor) - config.adrMargindB) / 3).rounded(.down))
        var dr = info.dataRate
        let maxDR = region.uplinkDataRates.filter { $0.modulation.lora?.bandwidth == .bw125 }.map(\.index).max() ?? dr
        var power = info.txPowerIndex
        while steps > 0 && dr < maxDR { dr += 1; steps -= 1 }
        while steps > 0 && power < region.txPowerOffsetsdB.count - 1 { power += 1; steps -= 1 }
        guard dr != info.dataRate || power != info.txPowerIndex else { return }
        let mask: UInt16 = region.defaultChannels.isEmpty ? 0xFF00 : 0x0007
        s.pendingMAC.append(.linkADRReq(dataRate: UInt8(dr), txPower: UInt8(power), channelMask: mask, channelMaskControl: 0, nbTrans: 1))
        s.adrRequested = true
        info.session = s
        info.txPowerIndex = power
        info.snrHistory = []
        devices[device] = info
        counters.linkADRRequests += 1
    }

    private func sendDown(device: Int, ack: Bool, uplink: UplinkAir, end: Nanoseconds, gateways: [Int]) {
        guard var s = info(device)?.session else { return }
        let fopts = MACCommand.encode(s.pendingMAC)
        var fctrl = FCtrl()
        fctrl.ack = ack
        let frame: [UInt8]
        if config.crypto {
            if fopts.count <= 15 {
                guard let f = try? DataFrameCodec.encode(mtype: .unconfirmedDataDown, devAddr: s.devAddr, fcnt: s.fcntDown, fctrl: fctrl,
                                                         fopts: fopts, fport: s.pendingData?.0, payload: s.pendingData?.1 ?? [], keys: s.keys) else { return }
                frame = f
            } else {
                guard let f = try? DataFrameCodec.encode(mtype: .unconfirmedDataDown, devAddr: s.devAddr, fcnt: s.fcntDown, fctrl: fctrl,
                                                         fport: 0, payload: fopts, keys: s.keys) else { return }
                frame = f
            }
        } else {
            frame = DataFrameCodec.encodeWithoutCrypto(mtype: .unconfirmedDataDown, devAddr: s.devAddr, fcnt: s.fcntDown, fctrl: fctrl,
                                                        fopts: fopts, fport: s.pendingData?.0, payload: s.pendingData?.1 ?? [])
        }
        if schedule(device: device, frame: frame, uplink: uplink, end: end, gateways: gateways,
                    delay1: region.receiveDelay1, delay2: region.receiveDelay1 + Time.second) {
            s.fcntDown += 1
            s.pendingMAC = []
            s.pendingData = nil
            if ack { counters.acks += 1 }
            devices[device]?.session = s
        }
    }

    /// Finds a gateway and a window for a downlink: RX1 if the latency allows, else RX2; the gateway must be up,
    /// not already transmitting, and within its duty cycle.
    private func schedule(device: Int, frame: [UInt8], uplink: UplinkAir, end: Nanoseconds, gateways: [Int],
                          delay1: Nanoseconds, delay2: Nanoseconds) -> Bool {
        let ready = end + latency(at: end)
        for window in [1, 2] {
            let at = end + (window == 1 ? delay1 : delay2)
            guard ready <= at else { continue }
            let dr = window == 1 ? (region.rx1DataRate(uplinkDR: uplink.dataRate, offset: 0) ?? uplink.dataRate) : region.rx2DataRate
            let f = window == 1 ? region.rx1FrequencyHz(uplink: uplink.frequencyHz) : region.rx2FrequencyHz
            var m = region.dataRate(dr)?.modulation.lora ?? LoRaModulation(spreadingFactor: 12, bandwidth: .bw125)
            m.crc = false
            let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: frame.count).nanoseconds
            let limits = config.gatewayTransmitters
            for g in gateways where !channel.isDown(g, from: at, to: at + airtime)
                && !(limits && gatewayBusy[g].contains(where: { $0.0 < at + airtime && $0.1 > at })) {
                guard !limits || gatewayTrackers[g].earliestStart(frequencyHz: f, airtime: airtime, now: at).time.map({ $0 <= at }) == true else {
                    counters.gatewayDutyCycleRefusals += 1
                    gatewayDownlinks[g].dutyCycleRefusals += 1
                    continue
                }
                gatewayDownlinks[g].downlinks += 1
                gatewayDownlinks[g].airtime += airtime
                if limits {
                    gatewayTrackers[g].record(frequencyHz: f, start: at, airtime: airtime)
                    gatewayBusy[g].append((at, at + airtime))
                    if gatewayBusy[g].count > 64 { gatewayBusy[g].removeFirst(gatewayBusy[g].count - 64) }
                }
                channel.gatewayTransmits(g, start: at, end: at + airtime)
                let power = window == 1 ? config.gatewayRX1PowerdBm : config.gatewayRX2PowerdBm
                queued[device] = (window, at, frame, airtime, g, f, dr, power)
                counters.downlinksScheduled += 1
                onDownlinkSent?(device, window, airtime)
                return true
            }
        }
        counters.downlinksMissed += 1
        return false
    }
}
