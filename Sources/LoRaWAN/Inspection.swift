import Foundation
import HarnessCore
import RadioLink

/// Everything `frame decode` shows about one PHYPayload: fields, MIC status, decrypted payload, MAC commands.
/// Keys are used, never shown.
public struct FrameReport: Sendable, Codable, Equatable {
    public enum MICStatus: String, Sendable, Codable { case valid, invalid, notChecked = "not checked" }

    public var phyPayload: String
    public var length: Int
    public var mtype: String
    public var major: Int
    public var direction: String?
    // data frames
    public var devAddr: String?
    public var adr: Bool?
    public var adrAckReq: Bool?
    public var ack: Bool?
    public var classB: Bool?
    public var fPending: Bool?
    public var foptsLength: Int?
    public var fopts: String?
    public var fcnt16: Int?
    public var fcnt: UInt32?
    public var fcntNote: String?
    public var fport: Int?
    public var frmPayload: String?
    public var decryptedPayload: String?
    public var macCommands: [MACCommandRecord]?
    // joins
    public var joinEUI: String?
    public var devEUI: String?
    public var devNonce: Int?
    public var joinNonce: Int?
    public var netID: String?
    public var rx1DROffset: Int?
    public var rx2DataRate: Int?
    public var rxDelay: Int?
    public var cfList: String?
    // integrity
    public var mic: String
    public var micStatus: MICStatus
    public var expectedMIC: String?
    public var notes: [String]

    public var micFailed: Bool { micStatus == .invalid }
}

public struct InspectionOptions: Sendable {
    public var keys: KeyStore
    /// The session's last 32-bit uplink or downlink counter, to rebuild this frame's counter.
    public var lastFCnt: UInt32?
    /// The full 32-bit counter, when known.
    public var fcnt: UInt32?
    public var fcntRule: FCntRule
    public var region: RegionParameters?
    public var dataRate: Int?
    public var dwell: Bool?

    public init(keys: KeyStore = KeyStore(), lastFCnt: UInt32? = nil, fcnt: UInt32? = nil, fcntRule: FCntRule = .lorawan104,
                region: RegionParameters? = nil, dataRate: Int? = nil, dwell: Bool? = nil) {
        self.keys = keys; self.lastFCnt = lastFCnt; self.fcnt = fcnt; self.fcntRule = fcntRule
        self.region = region; self.dataRate = dataRate; self.dwell = dwell
    }
}

public enum FrameInspector {
    /// Decodes and checks one frame. Structural problems throw `FrameError`; a wrong MIC is reported in the result.
    public static func inspect(_ raw: [UInt8], options: InspectionOptions) throws(FrameError) -> FrameReport {
        if let region = options.region, let dr = options.dataRate {
            try FrameDecoder.checkSize(raw.count, region: region, dataRate: dr, dwell: options.dwell)
        }
        let phy = try FrameDecoder.decode(raw)
        var r = FrameReport(phyPayload: Hex.encode(raw), length: raw.count, mtype: phy.mtype.name,
                            major: Int(raw[0] & 0x03), mic: "", micStatus: .notChecked, notes: [])
        func hex32(_ v: UInt32) -> String { String(format: "%08x", v) }
        switch phy {
        case .data(let f):
            r.direction = f.direction == .uplink ? "uplink" : "downlink"
            r.devAddr = f.devAddr.description
            r.adr = f.fctrl.adr
            if f.direction == .uplink { r.adrAckReq = f.fctrl.adrAckReq; r.classB = f.fctrl.classBOrFPending }
            else { r.fPending = f.fctrl.classBOrFPending }
            r.ack = f.fctrl.ack
            r.foptsLength = Int(f.fctrl.foptsLength)
            r.fopts = f.fopts.isEmpty ? nil : Hex.encode(f.fopts)
            r.fcnt16 = Int(f.fcnt)
            r.fport = f.fport.map(Int.init)
            r.frmPayload = f.fport == nil ? nil : Hex.encode(f.frmPayload)
            r.mic = hex32(f.mic)
            // FOpts are never encrypted in 1.0.x: decode them without keys.
            if !f.fopts.isEmpty {
                r.macCommands = try MACCommand.decode(f.fopts[...], direction: f.direction, baseOffset: 8).map(MACCommandRecord.init)
            }
            let fcnt: UInt32
            if let full = options.fcnt {
                fcnt = full
            } else {
                switch FCnt.reconstruct(f.fcnt, last: options.lastFCnt, rule: options.fcntRule) {
                case .repeated(let v):
                    fcnt = v
                    r.fcntNote = "same counter as the last frame (retransmission or duplicate)"
                case .next(let v, let gap):
                    fcnt = v
                    if options.lastFCnt != nil, gap > 1 { r.fcntNote = "\(gap - 1) frame(s) missing since the last one" }
                case .gapTooLarge(let v):
                    fcnt = v
                    r.fcntNote = "more than MAX_FCNT_GAP (16384) ahead of the last counter: LoRaWAN 1.0.3 drops it"
                case .exhausted:
                    throw FrameError(.fcntOutOfRange, at: 6, field: "FHDR.FCnt", "the counter would pass 2^32: the session must end")
                }
            }
            r.fcnt = fcnt
            guard let sk = options.keys.sessionKeys(for: f.devAddr) else {
                r.notes.append("no session keys for DevAddr \(f.devAddr): MIC not checked, payload not decrypted")
                return r
            }
            let opened = try DataFrameCodec.open(raw, frame: f, fcnt: fcnt, keys: SessionKeys(nwkSKey: sk.nwkSKey, appSKey: sk.appSKey))
            r.micStatus = opened.micValid ? .valid : .invalid
            r.expectedMIC = opened.micValid ? nil : hex32(opened.expectedMIC)
            if !opened.micValid {
                r.notes.append("MIC does not match (wrong keys, wrong 32-bit FCnt, or a corrupted frame); payload shown as decrypted anyway")
            }
            if f.fport != nil { r.decryptedPayload = Hex.encode(opened.payload) }
            if !opened.macCommands.isEmpty { r.macCommands = opened.macCommands.map(MACCommandRecord.init) }
        case .joinRequest(let j):
            r.direction = "uplink"
            r.joinEUI = j.joinEUI.description
            r.devEUI = j.devEUI.description
            r.devNonce = Int(j.devNonce)
            r.mic = hex32(j.mic)
            if let key = options.keys.appKey(for: j.devEUI) {
                let check = JoinCodec.verifyRequest(raw, appKey: CryptoKey(key))
                r.micStatus = check.valid ? .valid : .invalid
                r.expectedMIC = check.valid ? nil : hex32(check.expected)
            } else {
                r.notes.append("no AppKey for DevEUI \(j.devEUI): MIC not checked")
            }
        case .joinAccept:
            r.direction = "downlink"
            // The join-accept says nothing of its device: try the AppKeys we hold until one gives a valid MIC.
            var candidates = options.keys.devices.values.map(\.appKey)
            if let any = options.keys.anyDeviceAppKey { candidates.append(any) }
            // The first that verifies; when none does, the frame is invalid (read with the first key, for its fields),
            // however many keys were tried.
            var opened: (JoinAccept, Bool)? = nil
            for key in candidates {
                let attempt = try JoinCodec.decryptAccept(raw, appKey: CryptoKey(key))
                if attempt.micValid { opened = attempt; break }
                if opened == nil { opened = attempt }
            }
            guard let (a, valid) = opened else {
                r.mic = "encrypted"
                r.notes.append("join-accept is encrypted: give the AppKey (--keys or LORAHARNESS_APPKEY) to read it")
                return r
            }
            r.joinNonce = Int(a.joinNonce)
            r.netID = String(format: "%06x", a.netID)
            r.devAddr = a.devAddr.description
            r.rx1DROffset = Int(a.rx1DROffset)
            r.rx2DataRate = Int(a.rx2DataRate)
            r.rxDelay = Int(a.rxDelay)
            r.cfList = a.cfList.map { Hex.encode($0) }
            r.mic = hex32(a.mic)
            r.micStatus = valid ? .valid : .invalid
            if !valid { r.notes.append("none of the \(candidates.count) AppKeys held gives a valid MIC for this join-accept; fields shown as read with the first") }
        case .rejoinRequest(let type, let body, let mic):
            r.direction = "uplink"
            r.mic = hex32(mic)
            r.notes.append("LoRaWAN 1.1 rejoin-request type \(type), \(body.count) bytes; not checked (1.0.x only)")
        case .proprietary(_, let body):
            r.mic = "none"
            r.notes.append("proprietary frame, \(body.count) bytes after MHDR")
        }
        return r
    }
}

extension FrameReport {
    /// The report for people: one field per line.
    public var text: String {
        var rows: [(String, String)] = []
        func add(_ k: String, _ v: String?) { if let v { rows.append((k, v)) } }
        func flag(_ b: Bool?) -> String? { b.map { $0 ? "yes" : "no" } }
        add("type", "\(mtype) (Major \(major))")
        add("length", "\(length) bytes")
        add("DevAddr", devAddr)
        add("ADR", flag(adr)); add("ADRACKReq", flag(adrAckReq)); add("ACK", flag(ack))
        add("ClassB", flag(classB)); add("FPending", flag(fPending))
        add("FOptsLen", foptsLength.map(String.init)); add("FOpts", fopts)
        if let fcnt16 { add("FCnt", "\(fcnt16) on air" + (fcnt.map { ", 32-bit \($0)" } ?? "")) }
        add("FCnt note", fcntNote)
        add("FPort", fport.map(String.init)); add("FRMPayload", frmPayload)
        add("decrypted", decryptedPayload)
        add("JoinEUI", joinEUI); add("DevEUI", devEUI); add("DevNonce", devNonce.map(String.init))
        add("JoinNonce", joinNonce.map(String.init)); add("NetID", netID)
        add("RX1DROffset", rx1DROffset.map(String.init)); add("RX2 DR", rx2DataRate.map(String.init))
        add("RxDelay", rxDelay.map(String.init)); add("CFList", cfList)
        add("MIC", mic + " (\(micStatus.rawValue)" + (expectedMIC.map { ", expected \($0)" } ?? "") + ")")
        var out = rows.map { $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + " " + $0.1 }.joined(separator: "\n") + "\n"
        if let cmds = macCommands, !cmds.isEmpty {
            out += "MAC commands:\n" + cmds.map { "  \($0.summary)" }.joined(separator: "\n") + "\n"
        }
        for n in notes { out += "note: \(n)\n" }
        return out
    }
}
