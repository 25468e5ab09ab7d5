import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
@_exported import SimKernel

public struct MACSettings: Sendable {
    public var region: RegionParameters
    public var subBands: [SubBand]
    public var dutyCyclePolicy: DutyCyclePolicy
    public var adr: Bool
    public var dataRate: Int
    public var txPowerIndex: Int
    /// Transmissions of a confirmed uplink without an acknowledgement, at most (LoRaMac-node's default of 8 trials
    /// for confirmed frames; NbTrans from LinkADRReq applies to unconfirmed ones).
    public var confirmedTrials: Int
    /// The join-request data rate.
    public var joinDataRate: Int
    /// Encrypt and sign data frames (off only for scale runs of the simulator, whose network then skips the MIC).
    public var crypto = true
    /// A send before joining starts the join (as LoRaMac-node's examples do); off for modems whose host joins
    /// explicitly (AT+JOIN), where a send before joining is refused.
    public var joinOnSend = true
    /// A receive window with no preamble closes after this many symbols, opening `windowLead` after its delay
    /// (LoRaMac-node computes both from its minimum of 6 symbols and its RX error; 8 and 0 by default here).
    public var windowTimeoutSymbols: Int64 = 8
    public var windowLead: Nanoseconds = 0

    public init(region: RegionParameters, subBands: [SubBand]? = nil, dutyCyclePolicy: DutyCyclePolicy? = nil, adr: Bool = true,
                dataRate: Int? = nil, txPowerIndex: Int = 0, confirmedTrials: Int = 8, joinDataRate: Int? = nil) {
        self.region = region
        self.subBands = subBands ?? region.subBands
        self.dutyCyclePolicy = dutyCyclePolicy ?? (region.dutyCycleEnforced ? .timeCredit : .none)
        self.adr = adr
        let lowest = region.uplinkDataRates.filter { region.maxApplicationPayload(dr: $0.index) != nil && $0.modulation.lora != nil }
            .map(\.index).min() ?? 0
        self.dataRate = dataRate ?? lowest
        self.txPowerIndex = txPowerIndex
        self.confirmedTrials = confirmedTrials
        self.joinDataRate = joinDataRate ?? lowest
    }
}

/// One transmission, as `ClassAMAC.onTransmit` reports it.
public struct TransmitRecord: Sendable {
    public var start: Nanoseconds
    public var airtime: Nanoseconds
    public var frequencyHz: Int64
    public var dataRate: Int
    public var isJoin: Bool
    /// 1 for the first transmission of a frame, 2… for its repetitions.
    public var trial: Int
}

/// Counts of what a MAC did.
public struct MACStats: Sendable, Codable, Equatable {
    public var joinRequests = 0
    public var joinAccepts = 0
    /// Frames sent (first transmissions).
    public var uplinks = 0
    public var retransmissions = 0
    /// Downlinks accepted (MIC and counter good).
    public var downlinks = 0
    public var confirmedFailures = 0
    /// Sends held back by the duty cycle (MAC-level waits; the firmware's own refused attempts are apart).
    public var dutyCycleWaits = 0
    public var airtime: Nanoseconds = 0
    public init() {}
}

/// What the MAC did, for the timeline.
public enum MACEvent: Sendable {
    case joinRequest(devNonce: UInt16, frequencyHz: Int64, dataRate: Int, airtime: Nanoseconds)
    case joinAccepted(devAddr: DevAddr)
    case joinNoAnswer(nextTry: Nanoseconds)
    case uplink(fcnt: UInt32, fport: UInt8?, confirmed: Bool, frequencyHz: Int64, dataRate: Int, airtime: Nanoseconds,
                bytes: [UInt8], payload: [UInt8], trial: Int, macCommands: [String])
    case receiveWindow(window: Int, dataRate: Int, frequencyHz: Int64, gotFrame: Bool)
    case downlink(fcnt: UInt32, fport: UInt8?, payload: [UInt8], ack: Bool, macCommands: [String])
    case dutyCycleWait(until: Nanoseconds)
    case retransmission(after: Nanoseconds)
    case confirmedFailed(fcnt: UInt32)
    case adrBackoff(dataRate: Int, txPowerIndex: Int)
    case adrSettings(dataRate: Int, txPowerIndex: Int, nbTrans: Int)
}

/// A LoRaWAN 1.0.4 Class A MAC on the frame layer: OTAA and ABP, frame counters, confirmed and unconfirmed
/// uplinks with their transmissions, RX1/RX2 at their delays, device-side ADR with its ADR_ACK_LIMIT/ADR_ACK_DELAY
/// back-off, the network's MAC commands, per-sub-band duty cycle, the payload budget of the data rate.
/// Event-driven on a virtual clock: `nextEventTime` says when it needs `advance(to:)` next.
public final class ClassAMAC {
    public let device: Int
    public let activation: Activation
    public private(set) var settings: MACSettings
    public weak var air: Air?
    private var rng: SeededRandom

    // Session.
    public private(set) var joined = false
    public private(set) var devAddr = DevAddr(0)
    private var keys: SessionKeys?
    public private(set) var fcntUp: UInt32 = 0
    public private(set) var fcntDown: UInt32?
    /// LoRaWAN 1.0.4: a counter kept across resets, never reused with the same JoinEUI.
    public private(set) var devNonce: UInt16 = 0

    // Radio settings the network can change.
    public private(set) var channels: [Channel]
    public private(set) var dataRate: Int
    public private(set) var txPowerIndex: Int
    public private(set) var nbTrans = 1
    public private(set) var rx1DROffset = 0
    public private(set) var rx2DataRate: Int
    public private(set) var rx2FrequencyHz: Int64
    public private(set) var rx1Delay: Nanoseconds
    public private(set) var maxDutyCycleExponent = 0
    public private(set) var uplinkDwell: Bool
    private var downlinkChannelFrequency: [Int64: Int64] = [:]   // uplink frequency → RX1 frequency (DlChannelReq)
    public private(set) var adrAckCount = 0
    public private(set) var lastDownlinkSNR: Double = 0
    public private(set) var linkCheck: (margin: Int, gateways: Int)?
    public private(set) var networkTime: (gpsSeconds: UInt32, at: Nanoseconds)?

    // MAC answers waiting to go up (sticky ones repeat until a downlink arrives).
    private var pendingAnswers: [MACCommand] = []
    private var stickyAnswers: [MACCommand] = []

    public private(set) var tracker: DutyCycleTracker
    /// The join back-off where the region's duty cycle does not already carry it (LoRaWAN 1.0.4 §7).
    private var joinBackoff = DutyCycleTracker(policy: .timeCredit, bands: [SubBand("join back-off", Int64.min, Int64.max, denominator: 1)],
                                               joined: false, startup: 0)
    private var aggregatedOpenAt: Nanoseconds = 0

    // The transmission in progress and its windows.
    private struct Pending {
        var frameSpec: FrameShape
        var trial: Int
        var maxTrials: Int
        var confirmed: Bool
        var isJoin: Bool
    }
    private struct FrameShape {
        var fport: UInt8?
        var payload: [UInt8]
        var fcnt: UInt32
        var foptsCommands: [MACCommand]
    }
    private var pending: Pending?
    private var acked = false
    private var txStart: Nanoseconds = 0
    private var lastUplinkEnd: Nanoseconds = 0
    private var txEnd: Nanoseconds?
    private var rx1At: Nanoseconds?
    private var rx2At: Nanoseconds?
    /// A receive window in progress: when it ends, which window, and the frame heard (if any).
    private var rxDone: (at: Nanoseconds, window: Int, frame: [UInt8]?)?
    private var rxBusyUntil: Nanoseconds = 0
    private var retryAt: Nanoseconds?
    private var lastUplinkFrequency: Int64 = 0
    private var lastUplinkDR = 0
    private var joining = false

    /// Observers.
    public var onEvent: ((Nanoseconds, MACEvent) -> Void)?
    /// A transmission ended: start and end (for the firmware's TX-done callback).
    public var onTxDone: ((Nanoseconds, Nanoseconds) -> Void)?
    /// An application downlink (FPort ≥ 1) for the firmware.
    public var onApplicationDownlink: ((UInt8, [UInt8]) -> Void)?
    /// Radio time for the energy model: (receiving?, duration, TX power index).
    public var onRadioTime: ((Bool, Nanoseconds, Int) -> Void)?
    /// Every transmission as it starts, without the cost of building an event (for fleets).
    public var onTransmit: ((TransmitRecord) -> Void)?
    /// What the MAC has done so far.
    public private(set) var stats = MACStats()

    public init(device: Int, activation: Activation, settings: MACSettings, seed: UInt64, devNonce: UInt16 = 0) {
        self.device = device
        self.activation = activation
        self.settings = settings
        rng = SeededRandom.stream(seed: seed, UInt64(device), 0x3AC)
        let region = settings.region
        channels = region.initialChannels
        dataRate = settings.dataRate
        txPowerIndex = settings.txPowerIndex
        rx2DataRate = region.rx2DataRate
        rx2FrequencyHz = region.rx2FrequencyHz
        rx1Delay = region.receiveDelay1
        uplinkDwell = region.dwellOn(nil)
        self.devNonce = devNonce
        tracker = DutyCycleTracker(policy: settings.dutyCyclePolicy, bands: settings.subBands,
                                   dwellLimit: region.dwellOn(nil) ? region.dwellLimit : nil, joined: false, startup: 0)
        if case .abp(let addr, let nwk, let app) = activation {
            devAddr = addr
            keys = SessionKeys(nwkSKey: nwk, appSKey: app)
            joined = true
            tracker.joined = true
        }
    }

    /// Starts over after a reset at `now`: the session is lost (OTAA devices join again), DevNonce is kept.
    public func reset(at now: Nanoseconds) {
        if case .otaa = activation {
            joined = false
            keys = nil
            fcntUp = 0
            fcntDown = nil
        }
        pending = nil
        txEnd = nil; rx1At = nil; rx2At = nil; retryAt = nil
        joining = false
        rxBusyUntil = now
        tracker = DutyCycleTracker(policy: settings.dutyCyclePolicy, bands: settings.subBands,
                                   dwellLimit: uplinkDwell ? settings.region.dwellLimit : nil, joined: joined, startup: now)
        joinBackoff = DutyCycleTracker(policy: .timeCredit, bands: [SubBand("join back-off", Int64.min, Int64.max, denominator: 1)],
                                       joined: false, startup: now)
    }

    public var isBusy: Bool { pending != nil }

    /// Continues an earlier session's duty-cycle accounting: a modem that joins again without a reboot keeps its
    /// bands' time credits (LoRaMac-node initialises the bands when the stack starts, not when it joins).
    public func continueDutyCycle(_ previous: DutyCycleTracker) {
        var t = previous
        t.joined = joined
        t.dwellLimit = tracker.dwellLimit
        tracker = t
    }

    /// The next time the MAC needs `advance(to:)`.
    public var nextEventTime: Nanoseconds? {
        [txEnd, rx1At, rx2At, rxDone?.at, retryAt].compactMap { $0 }.min()
    }

    // MARK: - Sending

    /// Application bytes the next uplink may carry (after the MAC answers that will ride in FOpts).
    public var payloadBudget: Int {
        let fopts = min(15, MACCommand.encode(answersToSend()).count)
        return max(0, (settings.region.maxApplicationPayload(dr: dataRate, dwell: uplinkDwell) ?? 0) - fopts)
    }

    /// The firmware asks to send an application payload.
    public func send(fport: UInt8, payload: [UInt8], confirmed: Bool, now: Nanoseconds) -> SendResult {
        guard joined else {
            if settings.joinOnSend, !joining, case .otaa = activation { startJoin(now: now) }
            return .notJoined
        }
        if pending != nil || now < rxBusyUntil { return .busy }
        let answers = answersToSend()
        guard payload.count <= payloadBudget else { return .tooLong }
        let shape = FrameShape(fport: fport, payload: payload, fcnt: fcntUp, foptsCommands: answers)
        switch transmit(shape, isJoin: false, now: now, dryRun: true) {
        case .dutyCycle(let w):
            return .dutyCycle(wait: w)
        default:
            break
        }
        fcntUp &+= 1
        pendingAnswers.removeAll()
        if settings.adr { adrAckCount += 1; adrBackoffIfDue(now: now) }
        pending = Pending(frameSpec: shape, trial: 1, maxTrials: confirmed ? max(settings.confirmedTrials, nbTrans) : nbTrans,
                          confirmed: confirmed, isJoin: false)
        acked = false
        let result = transmit(shape, isJoin: false, now: now, dryRun: false)
        if result == .tooLong {
            // The frame layer refused it after all: nothing was sent, the counter is not used.
            pending = nil
            fcntUp &-= 1
        }
        return result
    }

    private func answersToSend() -> [MACCommand] {
        var list = pendingAnswers + stickyAnswers
        // FOpts holds 15 bytes: keep the answers that fit, in order.
        var out: [MACCommand] = []
        var size = 0
        for c in list {
            let n = MACCommand.encode([c]).count
            if size + n > 15 { break }
            out.append(c); size += n
        }
        list = out
        return list
    }

    /// The data rate's modulation (LoRa only: the MAC does not use FSK or LR-FHSS here).
    private func modulation(dr: Int, uplink: Bool) -> LoRaModulation {
        var m = settings.region.dataRate(dr)?.modulation.lora ?? LoRaModulation(spreadingFactor: 12, bandwidth: .bw125)
        m.crc = uplink
        return m
    }

    /// Chooses a channel the duty cycle allows and transmits (or, with dryRun, only checks).
    private func transmit(_ shape: FrameShape, isJoin: Bool, now: Nanoseconds, dryRun: Bool) -> SendResult {
        let dr = isJoin ? settings.joinDataRate : dataRate
        // The PHYPayload length without encoding it: a join-request is 23 bytes; a data frame is MHDR, FHDR
        // (7 bytes and FOpts), FPort and FRMPayload, MIC (LoRaWAN 1.0.4 §4).
        let foptsBytes = isJoin ? [] : MACCommand.encode(shape.foptsCommands)
        let length = isJoin ? 23 : 12 + min(foptsBytes.count, 15) + (shape.fport == nil ? 0 : 1 + shape.payload.count)
        let m = modulation(dr: dr, uplink: true)
        let airtime = AirtimeCalculator.loraUnchecked(m, payloadBytes: length)
        // The duty cycle is accounted with LoRaMac-node's whole-millisecond airtime, as the firmware does.
        let accounted = airtime.loRaMacMilliseconds * Time.millisecond
        var allowed: [Int64] = []
        var earliest = Int64.max
        for c in channels where c.allows(dr: dr) {
            switch tracker.earliestStart(frequencyHz: c.frequencyHz, airtime: accounted, now: now) {
            case .at(let t):
                let t2 = max(t, aggregatedOpenAt)
                if t2 <= now { allowed.append(c.frequencyHz) } else { earliest = min(earliest, t2) }
            case .never:
                continue
            }
        }
        // LoRaWAN 1.0.4 §7: the join back-off holds in every region, with or without a duty cycle (1 % of the
        // first hour after start, 0.1 % until 11 h, 0.01 % after). A time-credit tracker already applies it to
        // join-requests; for the others, a tracker of its own over all frequencies.
        if isJoin && tracker.policy != .timeCredit && !allowed.isEmpty,
           let t = joinBackoff.earliestStart(frequencyHz: 0, airtime: accounted, now: now).time, t > now {
            return .dutyCycle(wait: t - now)
        }
        if allowed.isEmpty {
            return .dutyCycle(wait: earliest == .max ? Time.hour : earliest - now)
        }
        if dryRun { return .ok }
        if isJoin && tracker.policy != .timeCredit { joinBackoff.record(frequencyHz: 0, start: now, airtime: accounted) }
        let frame: [UInt8]
        if isJoin {
            guard case .otaa(let devEUI, let joinEUI, let appKey) = activation else { return .notJoined }
            frame = JoinCodec.encodeRequest(joinEUI: joinEUI, devEUI: devEUI, devNonce: devNonce, appKey: CryptoKey(appKey))
        } else {
            guard let keys else { return .notJoined }
            var fctrl = FCtrl(adr: settings.adr)
            fctrl.adrAckReq = settings.adr && adrAckCount >= 64
            let type: MType = pending?.confirmed ?? false ? .confirmedDataUp : .unconfirmedDataUp
            if !settings.crypto {
                frame = DataFrameCodec.encodeWithoutCrypto(mtype: type, devAddr: devAddr, fcnt: shape.fcnt, fctrl: fctrl,
                                                           fopts: foptsBytes, fport: shape.fport, payload: shape.payload)
            } else {
                do {
                    frame = try DataFrameCodec.encode(mtype: type, devAddr: devAddr, fcnt: shape.fcnt, fctrl: fctrl,
                                                      fopts: foptsBytes, fport: shape.fport, payload: shape.payload, keys: keys)
                } catch {
                    return .tooLong
                }
            }
        }
        let f = allowed[Int(rng.next() % UInt64(allowed.count))]
        tracker.record(frequencyHz: f, start: now, airtime: accounted)
        if maxDutyCycleExponent > 0 {
            aggregatedOpenAt = now + accounted * (Int64(1) << Int64(maxDutyCycleExponent))
        }
        let power = settings.region.txPowerdBm(index: txPowerIndex) ?? settings.region.maxEIRPdBm
        let end = now + airtime.nanoseconds
        lastUplinkFrequency = f
        lastUplinkDR = dr
        txStart = now
        txEnd = end
        lastUplinkEnd = end
        let delay1 = isJoin ? settings.region.joinAcceptDelay1 : rx1Delay
        let delay2 = isJoin ? settings.region.joinAcceptDelay2 : rx1Delay + Time.second
        rx1At = end + delay1
        rx2At = end + delay2
        rxBusyUntil = rx2At ?? end
        onRadioTime?(false, airtime.nanoseconds, txPowerIndex)
        let trial = pending?.trial ?? 1
        if isJoin { stats.joinRequests += 1 } else if trial > 1 { stats.retransmissions += 1 } else { stats.uplinks += 1 }
        stats.airtime += airtime.nanoseconds
        onTransmit?(TransmitRecord(start: now, airtime: airtime.nanoseconds, frequencyHz: f, dataRate: dr, isJoin: isJoin, trial: trial))
        if isJoin {
            onEvent?(now, .joinRequest(devNonce: devNonce, frequencyHz: f, dataRate: dr, airtime: airtime.nanoseconds))
        } else {
            onEvent?(now, .uplink(fcnt: shape.fcnt, fport: shape.fport, confirmed: pending?.confirmed ?? false, frequencyHz: f,
                                  dataRate: dr, airtime: airtime.nanoseconds, bytes: frame, payload: shape.payload,
                                  trial: pending?.trial ?? 1, macCommands: shape.foptsCommands.map(\.summary)))
        }
        air?.uplink(device: device, frame: frame, transmission: UplinkAir(start: now, airtime: airtime.nanoseconds, frequencyHz: f,
                                                                           dataRate: dr, spreadingFactor: m.spreadingFactor,
                                                                           bandwidth: m.bandwidth, txPowerdBm: power))
        return .ok
    }

    // MARK: - Joining

    /// Starts an OTAA join now (a modem's join command); nothing when already joining.
    public func startJoinNow(now: Nanoseconds) {
        guard !joining, case .otaa = activation else { return }
        startJoin(now: now)
    }

    private func startJoin(now: Nanoseconds) {
        joining = true
        pending = Pending(frameSpec: FrameShape(fport: nil, payload: [], fcnt: 0, foptsCommands: []), trial: 1, maxTrials: 1,
                          confirmed: false, isJoin: true)
        tryJoin(now: now)
    }

    private func tryJoin(now: Nanoseconds) {
        guard let p = pending, p.isJoin else { return }
        switch transmit(p.frameSpec, isJoin: true, now: now, dryRun: false) {
        case .dutyCycle(let wait):
            retryAt = now + wait
            stats.dutyCycleWaits += 1
            onEvent?(now, .dutyCycleWait(until: now + wait))
        default:
            devNonce &+= 1
        }
    }

    // MARK: - Time

    /// Handles everything due at or before `time`.
    public func advance(to time: Nanoseconds) {
        while let t = nextEventTime, t <= time {
            if let e = txEnd, e == t {
                txEnd = nil
                onTxDone?(txStart, e)
                if let r1 = rx1At, let r2 = rx2At, air?.mayAnswer(device: device) == false {
                    // Nothing will come: both windows listen for a preamble and close, with the same radio time
                    // and the same end as when each is opened.
                    let m1 = modulation(dr: settings.region.rx1DataRate(uplinkDR: lastUplinkDR, offset: rx1DROffset) ?? lastUplinkDR, uplink: false)
                    let m2 = modulation(dr: rx2DataRate, uplink: false)
                    let n = settings.windowTimeoutSymbols, lead = settings.windowLead
                    onRadioTime?(true, n * m1.symbolNanoseconds, 0)
                    onRadioTime?(true, n * m2.symbolNanoseconds, 0)
                    rx1At = nil
                    rx2At = nil
                    rxDone = (max(r1 + lead + n * m1.symbolNanoseconds, r2) + lead + n * m2.symbolNanoseconds, 2, nil)
                }
                continue
            }
            if let r = rx1At, r == t {
                rx1At = nil
                receiveWindow(1, at: t)
                continue
            }
            if let r = rx2At, r == t {
                rx2At = nil
                receiveWindow(2, at: t)
                continue
            }
            if let d = rxDone, d.at == t {
                rxDone = nil
                windowEnded(d.window, frame: d.frame, at: t)
                continue
            }
            if let r = retryAt, r == t {
                retryAt = nil
                if let p = pending {
                    if p.isJoin { tryJoin(now: t) } else { retransmit(now: t) }
                }
                continue
            }
            break
        }
    }

    private func receiveWindow(_ window: Int, at t: Nanoseconds) {
        let dr: Int
        let f: Int64
        if window == 1 {
            dr = settings.region.rx1DataRate(uplinkDR: lastUplinkDR, offset: rx1DROffset) ?? lastUplinkDR
            f = downlinkChannelFrequency[lastUplinkFrequency] ?? settings.region.rx1FrequencyHz(uplink: lastUplinkFrequency)
        } else {
            dr = rx2DataRate
            f = rx2FrequencyHz
        }
        let m = modulation(dr: dr, uplink: false)
        let got = air?.downlink(device: device, window: window, at: t, frequencyHz: f, dataRate: dr)
        // Without a preamble the receiver gives up after 8 symbols; with a frame it listens to its end.
        let listen = got?.airtime ?? (settings.windowLead + settings.windowTimeoutSymbols * m.symbolNanoseconds)
        onRadioTime?(true, listen, 0)
        onEvent?(t, .receiveWindow(window: window, dataRate: dr, frequencyHz: f, gotFrame: got != nil))
        // The frame is handled when it has been received, at the end of the window.
        rxDone = (t + listen, window, got?.frame)
        if got != nil, window == 1 { rx2At = nil }
    }

    private func windowEnded(_ window: Int, frame: [UInt8]?, at t: Nanoseconds) {
        let isJoin = pending?.isJoin ?? false
        var accepted = false
        if let frame {
            accepted = isJoin ? handleJoinAccept(frame, at: t) : handleDownlink(frame, at: t)
        }
        if !accepted && window == 1 {
            // Nothing usable in RX1: RX2 is still to come (it was cancelled if RX1 had a frame).
            if rx2At == nil {
                rx2At = max(t, lastUplinkEnd + (isJoin ? settings.region.joinAcceptDelay2 : rx1Delay + Time.second))
            }
            return
        }
        rx1At = nil
        rx2At = nil
        rxBusyUntil = t
        windowsClosed(at: t, gotDownlink: accepted)
    }

    private func windowsClosed(at t: Nanoseconds, gotDownlink: Bool) {
        guard let p = pending else { return }
        if p.isJoin {
            if joined {
                pending = nil
                joining = false
            } else {
                // No join-accept: try again once the join back-off allows, after a random 1–3 s.
                let delay = Time.second + Int64(rng.nextDouble() * Double(2 * Time.second))
                retryAt = t + delay
                onEvent?(t, .joinNoAnswer(nextTry: t + delay))
            }
            return
        }
        let done = p.confirmed ? acked : gotDownlink
        if done || p.trial >= p.maxTrials {
            if p.confirmed && !acked {
                stats.confirmedFailures += 1
                onEvent?(t, .confirmedFailed(fcnt: p.frameSpec.fcnt))
            }
            pending = nil
            return
        }
        // Another transmission of the same frame (same FCnt) after RETRANSMIT_TIMEOUT, 2 ± 1 s (LoRaWAN 1.0.4 §19).
        let delay = Time.second + Int64(rng.nextDouble() * Double(2 * Time.second))
        retryAt = t + delay
        onEvent?(t, .retransmission(after: delay))
    }

    private func retransmit(now: Nanoseconds) {
        guard var p = pending else { return }
        p.trial += 1
        pending = p
        switch transmit(p.frameSpec, isJoin: false, now: now, dryRun: false) {
        case .dutyCycle(let wait):
            p.trial -= 1
            pending = p
            retryAt = now + wait
            stats.dutyCycleWaits += 1
            onEvent?(now, .dutyCycleWait(until: now + wait))
        default:
            break
        }
    }

    // MARK: - Downlinks

    private func handleJoinAccept(_ frame: [UInt8], at t: Nanoseconds) -> Bool {
        guard case .otaa(_, _, let appKey) = activation,
              let (accept, valid) = try? JoinCodec.decryptAccept(frame, appKey: CryptoKey(appKey)), valid else { return false }
        let derived = LoRaWANCrypto.sessionKeys10(appKey: CryptoKey(appKey), appNonce: accept.joinNonce, netID: accept.netID,
                                                  devNonce: devNonce &- 1)
        keys = SessionKeys(nwkSKey: derived.nwkSKey, appSKey: derived.appSKey)
        devAddr = accept.devAddr
        rx1DROffset = Int(accept.rx1DROffset)
        rx2DataRate = Int(accept.rx2DataRate)
        rx1Delay = Int64(max(1, accept.rxDelay)) * Time.second
        if let cf = accept.cfList { channels += settings.region.cfListChannels(cf) }
        joined = true
        fcntUp = 0
        fcntDown = nil
        adrAckCount = 0
        tracker.joined = true
        stats.joinAccepts += 1
        onEvent?(t, .joinAccepted(devAddr: devAddr))
        return true
    }

    private func handleDownlink(_ frame: [UInt8], at t: Nanoseconds) -> Bool {
        guard let keys, case .data(let f)? = try? FrameDecoder.decode(frame), f.devAddr == devAddr,
              f.direction == .downlink, let fcnt = FCnt.reconstruct(f.fcnt, last: fcntDown).value,
              fcntDown == nil || fcnt > (fcntDown ?? 0) else { return false }
        let opened: OpenedDataFrame
        if settings.crypto {
            guard let o = try? DataFrameCodec.open(frame, frame: f, fcnt: fcnt, keys: keys), o.micValid else { return false }
            opened = o
        } else {
            var cmds = (try? MACCommand.decode(f.fopts[...], direction: .downlink)) ?? []
            if f.fport == 0 { cmds += (try? MACCommand.decode(f.frmPayload[...], direction: .downlink)) ?? [] }
            opened = OpenedDataFrame(frame: f, fcnt: fcnt, micValid: true, expectedMIC: 0, payload: f.frmPayload, macCommands: cmds)
        }
        fcntDown = fcnt
        adrAckCount = 0
        stickyAnswers.removeAll()
        if f.fctrl.ack { acked = true }
        stats.downlinks += 1
        var names: [String] = []
        for c in opened.macCommands {
            names.append(c.summary)
            apply(c, at: t)
        }
        onEvent?(t, .downlink(fcnt: fcnt, fport: f.fport, payload: f.fport.map { $0 > 0 ? opened.payload : [] } ?? [],
                              ack: f.fctrl.ack, macCommands: names))
        if let port = f.fport, port > 0 { onApplicationDownlink?(port, opened.payload) }
        return true
    }

    /// Applies a network MAC command and queues its answer.
    private func apply(_ c: MACCommand, at t: Nanoseconds) {
        let region = settings.region
        switch c {
        case .linkADRReq(let dr, let power, let mask, let cntl, let nb):
            let drOK = dr == 15 || (region.dataRate(Int(dr))?.uplink ?? false)
            let powerOK = power == 15 || region.txPowerdBm(index: Int(power)) != nil
            let masked = region.applyChannelMask(mask, control: cntl, to: channels)
            let maskOK = masked != nil
            if drOK && powerOK && maskOK {
                if dr != 15 { dataRate = Int(dr) }
                if power != 15 { txPowerIndex = Int(power) }
                nbTrans = nb == 0 ? 1 : Int(nb)
                if let masked { channels = masked }
                onEvent?(t, .adrSettings(dataRate: dataRate, txPowerIndex: txPowerIndex, nbTrans: nbTrans))
            }
            pendingAnswers.append(.linkADRAns(powerACK: powerOK, dataRateACK: drOK, channelMaskACK: maskOK))
        case .dutyCycleReq(let m):
            maxDutyCycleExponent = Int(m)
            pendingAnswers.append(.dutyCycleAns)
        case .rxParamSetupReq(let offset, let dr, let f):
            let ok = region.dataRate(Int(dr)) != nil
            if ok { rx1DROffset = Int(offset); rx2DataRate = Int(dr); rx2FrequencyHz = f }
            stickyAnswers.append(.rxParamSetupAns(rx1DROffsetACK: ok, rx2DataRateACK: ok, channelACK: ok))
        case .devStatusReq:
            let margin = Int8(clamping: Int(lastDownlinkSNR.rounded()))
            pendingAnswers.append(.devStatusAns(battery: batteryLevel?() ?? 255, margin: max(-32, min(31, margin))))
        case .newChannelReq(let index, let f, let minDR, let maxDR):
            let i = Int(index)
            if f == 0 {
                if i < channels.count && i >= region.defaultChannels.count { channels.remove(at: i) }
            } else if i < 16 {
                let ch = Channel(f, dr: Int(minDR)...Int(max(minDR, maxDR)))
                if i < channels.count { channels[i] = ch } else { channels.append(ch) }
            }
            pendingAnswers.append(.newChannelAns(dataRateRangeOK: true, channelFrequencyOK: true))
        case .rxTimingSetupReq(let d):
            rx1Delay = Int64(max(1, Int(d))) * Time.second
            stickyAnswers.append(.rxTimingSetupAns)
        case .txParamSetupReq(_, let ud, _):
            uplinkDwell = ud
            tracker.dwellLimit = ud ? region.dwellLimit : nil
            pendingAnswers.append(.txParamSetupAns)
        case .dlChannelReq(let index, let f):
            let i = Int(index)
            let exists = i < channels.count
            if exists { downlinkChannelFrequency[channels[i].frequencyHz] = f }
            stickyAnswers.append(.dlChannelAns(uplinkFrequencyExists: exists, channelFrequencyOK: true))
        case .linkCheckAns(let margin, let gw):
            linkCheck = (Int(margin), Int(gw))
        case .deviceTimeAns(let s, _):
            networkTime = (s, t)
        default:
            break
        }
    }

    /// The host sets the data rate (a modem's AT+DR): used from the next uplink; false when the region has no
    /// such uplink data rate.
    @discardableResult
    public func setDataRate(_ dr: Int) -> Bool {
        guard settings.region.dataRate(dr)?.modulation.lora != nil, settings.region.maxApplicationPayload(dr: dr) != nil else { return false }
        dataRate = dr
        return true
    }

    /// The host switches ADR on or off (a modem's AT+ADR).
    public func setADR(_ on: Bool) { settings.adr = on }

    /// For tests and the emulator: sets the TX power index directly (as a LinkADRReq would).
    public func adrTestHook_setPower(_ index: Int) { txPowerIndex = index }

    /// The SNR the device measured on its last downlink (for DevStatusAns).
    public func noteDownlinkSNR(_ snr: Double) { lastDownlinkSNR = snr }

    /// The firmware's battery level for DevStatusAns (1…254, 0 external power, 255 unknown).
    public var batteryLevel: (() -> UInt8)?

    /// LoRaWAN 1.0.4 §4.3.1.1: after ADR_ACK_LIMIT (64) uplinks without a downlink the device sets ADRACKReq;
    /// after ADR_ACK_DELAY (32) more it first raises its power to the default, then lowers its data rate one
    /// step every further ADR_ACK_DELAY uplinks; at the lowest it re-enables the default channels.
    private func adrBackoffIfDue(now: Nanoseconds) {
        let limit = 64, delay = 32
        guard adrAckCount >= limit + delay, (adrAckCount - limit) % delay == 0 else { return }
        let lowest = settings.region.uplinkDataRates.map(\.index).min() ?? 0
        if txPowerIndex != 0 {
            txPowerIndex = 0
        } else if dataRate > lowest {
            dataRate -= 1
        } else {
            let defaults = settings.region.defaultChannels
            if !defaults.isEmpty { channels = defaults + channels.filter { c in !defaults.contains { $0.frequencyHz == c.frequencyHz } } }
            nbTrans = 1
        }
        onEvent?(now, .adrBackoff(dataRate: dataRate, txPowerIndex: txPowerIndex))
    }
}
