import Foundation
import HarnessCore
import RadioLink

/// Everything `frame decode` shows about one PHYPayload: fields, MIC status, decrypted payload, MAC commands.
/// Keys are used, never shown.
public struct FrameReport: Sendable, Codable, Equatable {
    /// `partiallyChecked`: a LoRaWAN 1.1 uplink whose FNwkSIntKey half (the MIC's last two bytes) matches and whose
    /// SNwkSIntKey half was not checked (TxDr/TxCh not given).
    public enum MICStatus: String, Sendable, Codable {
        case valid, invalid, notChecked = "not checked", partiallyChecked = "partially checked"
    }

    public var phyPayload: String
    public var length: Int
    public var mtype: String
    public var major: Int
    public var direction: String?
    /// "1.1" when the frame was read with LoRaWAN 1.1 keys (a 1.1 session, an OptNeg join-accept, a rejoin-request).
    public var lorawan: String?
    // data frames
    public var devAddr: String?
    public var adr: Bool?
    public var adrAckReq: Bool?
    public var ack: Bool?
    public var classB: Bool?
    public var fPending: Bool?
    public var foptsLength: Int?
    public var fopts: String?
    /// LoRaWAN 1.1: FOpts decrypted under NwkSEncKey.
    public var decryptedFOpts: String?
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
    public var optNeg: Bool?
    // rejoin-requests
    public var rejoinType: Int?
    public var rjCount: Int?
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
    /// LoRaWAN 1.1 uplink MIC (§4.4.2, block B1): the data rate and channel index of the transmission. Without
    /// both only the FNwkSIntKey half of the MIC is checked (status `partiallyChecked`).
    public var txDr: UInt8?
    public var txCh: UInt8?
    /// LoRaWAN 1.1, a frame with ACK set: the acknowledged frame's FCnt (mod 2^16), which its MIC covers.
    public var confFCnt: UInt16?
    /// LoRaWAN 1.1 join-accept with OptNeg: the JoinEUI and DevNonce of the join-request it answers (its MIC covers
    /// them). JoinEUI defaults to the device's `joinEUI` in the keys.
    public var joinEUI: EUI64?
    public var devNonce: UInt16?
    /// The session whose SNwkSIntKey checks a rejoin-request of type 0 or 2 (else the only 1.1 session tied to the
    /// request's DevEUI).
    public var devAddr: DevAddr?

    public init(keys: KeyStore = KeyStore(), lastFCnt: UInt32? = nil, fcnt: UInt32? = nil, fcntRule: FCntRule = .lorawan104,
                region: RegionParameters? = nil, dataRate: Int? = nil, dwell: Bool? = nil, txDr: UInt8? = nil, txCh: UInt8? = nil,
                confFCnt: UInt16? = nil, joinEUI: EUI64? = nil, devNonce: UInt16? = nil, devAddr: DevAddr? = nil) {
        self.keys = keys; self.lastFCnt = lastFCnt; self.fcnt = fcnt; self.fcntRule = fcntRule
        self.region = region; self.dataRate = dataRate; self.dwell = dwell
        self.txDr = txDr; self.txCh = txCh; self.confFCnt = confFCnt
        self.joinEUI = joinEUI; self.devNonce = devNonce; self.devAddr = devAddr
    }
}

public enum FrameInspector {
    /// Decodes and checks one frame. Structural problems throw `FrameError`; a wrong MIC is reported in the result.
    public static func inspect(_ raw: [UInt8], options: InspectionOptions) throws(FrameError) -> FrameReport {
        if let region = options.region, let dr = options.dataRate {
            try FrameDecoder.checkSize(raw.count, region: region, dataRate: dr, dwell: options.dwell)
        }
        // MType 6 is read as a LoRaWAN 1.1 rejoin-request.
        let phy = try FrameDecoder.decode(raw, lorawan11: true)
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
            let keys11 = options.keys.lorawan11Keys(for: f.devAddr)
            // FOpts are never encrypted in 1.0.x: decode them without keys (in 1.1 they are, below).
            if keys11 == nil, !f.fopts.isEmpty {
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
            if let keys11 {
                try inspect11(raw, frame: f, fcnt: fcnt, keys: keys11, options: options, into: &r)
                return r
            }
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
            if let key = options.keys.rootNetworkKey(for: j.devEUI) {
                // The NwkKey of a 1.1 device, the AppKey of a 1.0.x one.
                let check = JoinCodec.verifyRequest(raw, appKey: CryptoKey(key))
                r.micStatus = check.valid ? .valid : .invalid
                r.expectedMIC = check.valid ? nil : hex32(check.expected)
            } else {
                r.notes.append("no AppKey for DevEUI \(j.devEUI): MIC not checked")
            }
        case .joinAccept:
            r.direction = "downlink"
            try inspectJoinAccept(raw, options: options, into: &r)
        case .rejoinRequest(let type, let body, let mic):
            r.direction = "uplink"
            r.lorawan = "1.1"
            r.mic = hex32(mic)
            let q = try RejoinRequest(type: type, body: body, mic: mic)
            r.rejoinType = Int(q.type)
            r.netID = q.netID.map { String(format: "%06x", $0) }
            r.joinEUI = q.joinEUI?.description
            r.devEUI = q.devEUI.description
            r.rjCount = Int(q.rjCount)
            let key: CryptoKey?
            if q.type == 1 {
                // JSIntKey = aes128_encrypt(NwkKey, 0x06 | DevEUI | pad16) (§6.1.1.4).
                key = options.keys.rootNetworkKey(for: q.devEUI).map {
                    LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey($0), devEUI: q.devEUI).jsIntKey
                }
                if key == nil { r.notes.append("no NwkKey for DevEUI \(q.devEUI) (its JSIntKey signs a type 1 rejoin-request): MIC not checked") }
            } else if let s = options.keys.session11(devEUI: q.devEUI, devAddr: options.devAddr), let k = s.lorawan11 {
                key = CryptoKey(k.sNwkSIntKey)
                if options.devAddr == nil { r.notes.append("MIC checked with the SNwkSIntKey of session \(s.devAddr), the only LoRaWAN 1.1 session of DevEUI \(q.devEUI) in the keys") }
            } else {
                key = nil
                if let a = options.devAddr {
                    r.notes.append(options.keys.sessions[a] == nil
                        ? "no session keys for DevAddr \(a): MIC not checked"
                        : "the session of DevAddr \(a) is LoRaWAN 1.0.x (no SNwkSIntKey): MIC not checked")
                } else {
                    r.notes.append("a type \(q.type) rejoin-request is signed with its session's SNwkSIntKey and names no DevAddr: give --dev-addr (or tie one LoRaWAN 1.1 session to DevEUI \(q.devEUI) in the keys): MIC not checked")
                }
            }
            if let key {
                let expected = LoRaWANCrypto.rejoinMIC(key: key, message: raw[0..<(raw.count - 4)])
                r.micStatus = expected == mic ? .valid : .invalid
                r.expectedMIC = expected == mic ? nil : hex32(expected)
            }
        case .proprietary(_, let body):
            r.mic = "none"
            r.notes.append("proprietary frame, \(body.count) bytes after MHDR")
        }
        return r
    }
}

extension FrameInspector {
    static func hex32(_ v: UInt32) -> String { String(format: "%08x", v) }

    /// A data frame of a LoRaWAN 1.1 session (§4.3.1.6, §4.3.3, §4.4): MIC, FOpts and FRMPayload.
    static func inspect11(_ raw: [UInt8], frame f: DataFrame, fcnt: UInt32, keys: LoRaWAN11Keys, options: InspectionOptions,
                          into r: inout FrameReport) throws(FrameError) {
        r.lorawan = "1.1"
        let uplink = f.direction == .uplink
        let confKnown = !f.fctrl.ack || options.confFCnt != nil
        let txKnown = !uplink || (options.txDr != nil && options.txCh != nil)
        let o = try DataFrameCodec.open11(raw, frame: f, fcnt: fcnt, keys: keys, confFCnt: options.confFCnt ?? 0,
                                          txDr: options.txDr ?? 0, txCh: options.txCh ?? 0)
        if txKnown && confKnown {
            r.micStatus = o.micValid ? .valid : .invalid
            r.expectedMIC = o.micValid ? nil : hex32(o.expectedMIC)
            if !o.micValid {
                r.notes.append("MIC does not match (wrong keys, wrong 32-bit FCnt" + (uplink ? ", TxDr or TxCh" : "")
                               + (f.fctrl.ack ? ", wrong ConfFCnt" : "") + ", or a corrupted frame); payload shown as decrypted anyway")
            }
        } else if uplink {
            // MIC = cmacS[0..1] | cmacF[0..1]: cmacF's block B0 holds no ConfFCnt, TxDr or TxCh, so that half is checked.
            let fHalf = o.expectedMIC & 0xFFFF
            let matches = fHalf == f.mic & 0xFFFF
            r.micStatus = matches ? .partiallyChecked : .invalid
            if !matches { r.expectedMIC = "????" + String(format: "%04x", fHalf) }
            var missing: [String] = []
            if options.txDr == nil { missing.append("--tx-dr") }
            if options.txCh == nil { missing.append("--tx-ch") }
            if !confKnown { missing.append("--conf-fcnt (ACK is set)") }
            r.notes.append("the MIC's SNwkSIntKey half (its first 2 bytes) covers TxDr, TxCh and ConfFCnt and was not checked (give "
                           + missing.joined(separator: ", ") + "); its FNwkSIntKey half (last 2 bytes) "
                           + (matches ? "matches" : "does not match (wrong keys, wrong 32-bit FCnt, or a corrupted frame)"))
        } else {
            r.micStatus = .notChecked
            r.notes.append("ACK is set: a LoRaWAN 1.1 downlink's MIC covers the acknowledged uplink's FCnt; give --conf-fcnt: MIC not checked")
        }
        if !o.frame.fopts.isEmpty { r.decryptedFOpts = Hex.encode(o.frame.fopts) }
        if f.fport != nil { r.decryptedPayload = Hex.encode(o.payload) }
        if !o.macCommands.isEmpty {
            r.macCommands = o.macCommands.map(MACCommandRecord.init)
        } else if !o.frame.fopts.isEmpty || (f.fport == 0 && !o.payload.isEmpty) {
            r.notes.append("the MAC commands do not read as LoRaWAN 1.0.4 commands (LoRaWAN 1.1-only commands such as RekeyInd are not decoded, or the keys are wrong): shown as bytes only")
        }
    }

    /// A join-accept: decrypted and checked with each root key held until one verifies (§6.2.3 for 1.1 devices).
    static func inspectJoinAccept(_ raw: [UInt8], options: InspectionOptions, into r: inout FrameReport) throws(FrameError) {
        // The join-accept says nothing of its device: try the root keys we hold until one gives a valid MIC.
        var attempts: [(accept: JoinAccept, status: FrameReport.MICStatus, device: KeyStore.Device?)] = []
        var devices = options.keys.devices.values.sorted { $0.devEUI < $1.devEUI }.map { Optional($0) }
        if options.keys.anyDeviceAppKey != nil { devices.append(nil) }
        for device in devices {
            if let device, let nwkKey = device.nwkKey {
                // LoRaWAN 1.1: encrypted under NwkKey; with OptNeg the MIC is under JSIntKey over JoinReqType 0xFF |
                // JoinEUI | DevNonce | MHDR …, without it the 1.0 MIC under NwkKey.
                let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwkKey), devEUI: device.devEUI).jsIntKey
                let joinEUI = options.joinEUI ?? device.joinEUI
                let a = try JoinCodec.decryptAccept11(raw, key: CryptoKey(nwkKey), jsIntKey: js, joinReqType: 0xFF,
                                                      joinEUI: joinEUI ?? EUI64(0), devNonce: options.devNonce ?? 0)
                let checkable = !a.accept.optNeg || (joinEUI != nil && options.devNonce != nil)
                attempts.append((a.accept, checkable ? (a.micValid ? .valid : .invalid) : .notChecked, device))
            } else if let key = device?.appKey ?? options.keys.anyDeviceAppKey {
                let a = try JoinCodec.decryptAccept(raw, appKey: CryptoKey(key))
                attempts.append((a.accept, a.micValid ? .valid : .invalid, device))
            }
            if attempts.last?.status == .valid { break }
        }
        // The first that verifies; else a 1.1 device's reading whose MIC needs the join-request; else the frame is
        // invalid (read with the first key, for its fields), however many keys were tried.
        guard let chosen = attempts.first(where: { $0.status == .valid }) ?? attempts.first(where: { $0.status == .notChecked })
                ?? attempts.first else {
            r.mic = "encrypted"
            r.notes.append("join-accept is encrypted: give the device's root key (appKey, and nwkKey for LoRaWAN 1.1; --keys or LORAHARNESS_APPKEY) to read it")
            return
        }
        let a = chosen.accept
        r.joinNonce = Int(a.joinNonce)
        r.netID = String(format: "%06x", a.netID)
        r.devAddr = a.devAddr.description
        r.rx1DROffset = Int(a.rx1DROffset)
        r.rx2DataRate = Int(a.rx2DataRate)
        r.rxDelay = Int(a.rxDelay)
        r.cfList = a.cfList.map { Hex.encode($0) }
        r.optNeg = a.optNeg
        r.mic = hex32(a.mic)
        r.micStatus = chosen.status
        if let d = chosen.device, d.isLoRaWAN11, a.optNeg, chosen.status != .invalid { r.lorawan = "1.1" }
        switch chosen.status {
        case .notChecked:
            let eui = chosen.device?.devEUI.description ?? "?"
            r.notes.append("OptNeg is set (a LoRaWAN 1.1 join server): the MIC covers the join-request's JoinEUI and DevNonce; give --dev-nonce"
                           + (options.joinEUI == nil && chosen.device?.joinEUI == nil ? " and --join-eui (or joinEUI in the keys file)" : "")
                           + " to check it; fields as decrypted with the NwkKey of DevEUI \(eui)")
        case .invalid:
            r.notes.append("none of the \(attempts.count) root keys held (AppKey; NwkKey for LoRaWAN 1.1 devices) gives a valid MIC for this join-accept; fields shown as read with the first")
        case .valid, .partiallyChecked:
            if let d = chosen.device, d.isLoRaWAN11 { r.notes.append("verified with the root keys of DevEUI \(d.devEUI) (LoRaWAN 1.1)") }
        }
    }
}

extension FrameReport {
    /// The report for people: one field per line.
    public var text: String {
        var rows: [(String, String)] = []
        func add(_ k: String, _ v: String?) { if let v { rows.append((k, v)) } }
        func flag(_ b: Bool?) -> String? { b.map { $0 ? "yes" : "no" } }
        add("type", "\(mtype) (Major \(major))")
        add("LoRaWAN", lorawan)
        add("length", "\(length) bytes")
        add("DevAddr", devAddr)
        add("ADR", flag(adr)); add("ADRACKReq", flag(adrAckReq)); add("ACK", flag(ack))
        add("ClassB", flag(classB)); add("FPending", flag(fPending))
        add("FOptsLen", foptsLength.map(String.init)); add("FOpts", fopts)
        add("FOpts plain", decryptedFOpts)
        if let fcnt16 { add("FCnt", "\(fcnt16) on air" + (fcnt.map { ", 32-bit \($0)" } ?? "")) }
        add("FCnt note", fcntNote)
        add("FPort", fport.map(String.init)); add("FRMPayload", frmPayload)
        add("decrypted", decryptedPayload)
        add("JoinEUI", joinEUI); add("DevEUI", devEUI); add("DevNonce", devNonce.map(String.init))
        add("JoinNonce", joinNonce.map(String.init)); add("NetID", netID)
        add("RX1DROffset", rx1DROffset.map(String.init)); add("RX2 DR", rx2DataRate.map(String.init))
        add("RxDelay", rxDelay.map(String.init)); add("CFList", cfList); add("OptNeg", flag(optNeg))
        add("RejoinType", rejoinType.map(String.init)); add("RJcount", rjCount.map(String.init))
        add("MIC", mic + " (\(micStatus.rawValue)" + (expectedMIC.map { ", expected \($0)" } ?? "") + ")")
        var out = rows.map { $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + " " + $0.1 }.joined(separator: "\n") + "\n"
        if let cmds = macCommands, !cmds.isEmpty {
            out += "MAC commands:\n" + cmds.map { "  \($0.summary)" }.joined(separator: "\n") + "\n"
        }
        for n in notes { out += "note: \(n)\n" }
        return out
    }
}
