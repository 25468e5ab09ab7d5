import HarnessCore

/// What to build: the fields of `frame encode`, from flags or a JSON object.
public struct FrameSpec: Sendable {
    public var type: MType = .unconfirmedDataUp
    public var devAddr: DevAddr?
    public var fcnt: UInt32 = 0
    public var fctrl = FCtrl()
    public var fport: UInt8?
    public var payload: [UInt8] = []
    public var fopts: [UInt8] = []
    public var macCommands: [MACCommand] = []
    public var devEUI: EUI64?
    public var joinEUI: EUI64?
    public var devNonce: UInt16?
    public var joinNonce: UInt32?
    public var netID: UInt32?
    public var rx1DROffset: UInt8 = 0
    public var rx2DataRate: UInt8 = 0
    public var rxDelay: UInt8 = 1
    public var cfList: [UInt8]?
    /// The LoRaWAN version of a data frame: nil follows the session in the keys (a 1.1 session gives a 1.1 frame).
    public var lorawan: LoRaWANVersion?
    /// LoRaWAN 1.1 uplinks: data rate and channel index (block B1 of the MIC, §4.4.2).
    public var txDr: UInt8?
    public var txCh: UInt8?
    /// LoRaWAN 1.1, ACK set: the acknowledged frame's FCnt mod 2^16 (§4.4).
    public var confFCnt: UInt16?
    /// A LoRaWAN 1.1 join-accept (DLSettings.OptNeg): keys from the device's NwkKey, MIC under JSIntKey (§6.2.3).
    public var optNeg = false
    /// Rejoin-request type 0, 1 or 2 (§6.2.4) and its RJcount0/RJcount1.
    public var rejoinType: UInt8?
    public var rjCount: UInt16 = 0

    public init() {}

    /// Reads a JSON (or YAML) object; field names as `frame decode --json` prints them.
    public static func parse(_ doc: DocumentNode) throws(InputError) -> FrameSpec {
        var s = FrameSpec()
        try doc.allowOnly(["type", "mtype", "devAddr", "fcnt", "adr", "adrAckReq", "ack", "classB", "fPending", "fport",
                           "payload", "decryptedPayload", "fopts", "macCommands", "devEUI", "joinEUI", "devNonce",
                           "joinNonce", "netID", "rx1DROffset", "rx2DataRate", "rxDelay", "cfList", "lorawan", "txDr", "txCh",
                           "confFCnt", "optNeg", "rejoinType", "rjCount"])
        if let t = try doc.optional(anyOf: "type", "mtype") {
            s.type = try t.value(MType.parse)
        }
        if let v = try doc.optional("devAddr") { s.devAddr = try v.devAddr() }
        if let v = try doc.optional("fcnt") { s.fcnt = UInt32(try v.int(in: 0...Int(UInt32.max))) }
        if let v = try doc.optional("adr") { s.fctrl.adr = try v.bool() }
        if let v = try doc.optional("adrAckReq") { s.fctrl.adrAckReq = try v.bool() }
        if let v = try doc.optional("ack") { s.fctrl.ack = try v.bool() }
        if let v = try doc.optional("classB") { s.fctrl.classBOrFPending = try v.bool() }
        if let v = try doc.optional("fPending") { s.fctrl.classBOrFPending = try v.bool() }
        if let v = try doc.optional("fport") { s.fport = UInt8(try v.int(in: 0...255)) }
        if let v = try doc.optional(anyOf: "payload", "decryptedPayload") { s.payload = try v.value(Hex.decode) }
        if let v = try doc.optional("fopts") { s.fopts = try v.value(Hex.decode) }
        for c in try doc.optional("macCommands")?.array() ?? [] {
            let name = try c.require("name").string()
            var fields: [String: Int64] = [:]
            for (k, v) in try c.optional("fields")?.entries() ?? [] {
                fields[k] = Int64(try v.int())
            }
            do { s.macCommands.append(try MACCommand.make(name: name, fields: fields)) }
            catch { throw c.error(error.message) }
        }
        if let v = try doc.optional("devEUI") { s.devEUI = try v.eui() }
        if let v = try doc.optional("joinEUI") { s.joinEUI = try v.eui() }
        if let v = try doc.optional("devNonce") { s.devNonce = UInt16(try v.int(in: 0...0xFFFF)) }
        if let v = try doc.optional("joinNonce") { s.joinNonce = UInt32(try v.int(in: 0...0xFF_FFFF)) }
        if let v = try doc.optional("netID") {
            let t = try v.string()
            guard let n = UInt32(t, radix: 16), n <= 0xFF_FFFF else { throw v.error("NetID '\(t)' is not 6 hex digits") }
            s.netID = n
        }
        if let v = try doc.optional("rx1DROffset") { s.rx1DROffset = UInt8(try v.int(in: 0...7)) }
        if let v = try doc.optional("rx2DataRate") { s.rx2DataRate = UInt8(try v.int(in: 0...15)) }
        if let v = try doc.optional("rxDelay") { s.rxDelay = UInt8(try v.int(in: 0...15)) }
        if let v = try doc.optional("cfList") { s.cfList = try v.value(Hex.decode) }
        if let v = try doc.optional("lorawan") { s.lorawan = try v.value(LoRaWANVersion.parse) }
        if let v = try doc.optional("txDr") { s.txDr = UInt8(try v.int(in: 0...15)) }
        if let v = try doc.optional("txCh") { s.txCh = UInt8(try v.int(in: 0...255)) }
        if let v = try doc.optional("confFCnt") { s.confFCnt = UInt16(try v.int(in: 0...0xFFFF)) }
        if let v = try doc.optional("optNeg") { s.optNeg = try v.bool() }
        if let v = try doc.optional("rejoinType") { s.rejoinType = UInt8(try v.int(in: 0...2)) }
        if let v = try doc.optional("rjCount") { s.rjCount = UInt16(try v.int(in: 0...0xFFFF)) }
        return s
    }
}

/// The LoRaWAN version a frame is built for.
public enum LoRaWANVersion: String, Sendable, CaseIterable {
    case v10 = "1.0", v11 = "1.1"

    public static func parse(_ s: String) throws(InputError) -> LoRaWANVersion {
        switch s.lowercased() {
        case "1.0", "1.0.x", "1.0.4", "1.0.3", "1.0.2": return .v10
        case "1.1", "1.1.0": return .v11
        default: throw InputError("unknown LoRaWAN version '\(s)'; allowed: 1.0, 1.1")
        }
    }
}

public enum FrameBuilder {
    /// Builds the PHYPayload with the keys the spec's device or session has in `keys`.
    public static func build(_ s: FrameSpec, keys: KeyStore) throws(InputError) -> [UInt8] {
        switch s.type {
        case .joinRequest:
            guard let devEUI = s.devEUI else { throw InputError("a join-request needs a DevEUI", at: .argument("--dev-eui")) }
            // The NwkKey of a LoRaWAN 1.1 device, the AppKey of a 1.0.x one.
            guard let key = keys.rootNetworkKey(for: devEUI) else {
                throw InputError("no AppKey for DevEUI \(devEUI) in the keys", at: .argument("--keys"))
            }
            return JoinCodec.encodeRequest(joinEUI: s.joinEUI ?? EUI64(0), devEUI: devEUI, devNonce: s.devNonce ?? 0,
                                           appKey: CryptoKey(key))
        case .joinAccept:
            guard let devAddr = s.devAddr else { throw InputError("a join-accept needs a DevAddr", at: .argument("--dev-addr")) }
            let device: KeyStore.Device?
            if let eui = s.devEUI { device = keys.device(for: eui) }
            else { device = keys.anyDeviceAppKey.map { KeyStore.Device(devEUI: EUI64(0), joinEUI: nil, appKey: $0) } ?? keys.devices.values.sorted { $0.devEUI < $1.devEUI }.first }
            guard let device else { throw InputError("no AppKey for this join-accept in the keys (give --dev-eui)", at: .argument("--keys")) }
            let a = JoinAccept(joinNonce: s.joinNonce ?? 0, netID: s.netID ?? 0, devAddr: devAddr, rx1DROffset: s.rx1DROffset,
                               rx2DataRate: s.rx2DataRate, optNeg: s.optNeg, rxDelay: s.rxDelay, cfList: s.cfList)
            if s.optNeg {
                guard let eui = s.devEUI else {
                    throw InputError("an OptNeg join-accept is signed with a key derived from the DevEUI: give --dev-eui", at: .argument("--opt-neg"))
                }
                guard let nwkKey = device.nwkKey else {
                    throw InputError("OptNeg needs the LoRaWAN 1.1 root keys of DevEUI \(eui) (nwkKey and appKey in the keys file)", at: .argument("--opt-neg"))
                }
                guard let joinEUI = s.joinEUI ?? device.joinEUI else {
                    throw InputError("an OptNeg join-accept's MIC covers the join-request's JoinEUI: give --join-eui (or joinEUI in the keys file)", at: .argument("--join-eui"))
                }
                guard let devNonce = s.devNonce else {
                    throw InputError("an OptNeg join-accept's MIC covers the join-request's DevNonce: give --dev-nonce", at: .argument("--dev-nonce"))
                }
                let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwkKey), devEUI: eui)
                do { return try JoinCodec.encodeAccept11(a, key: CryptoKey(nwkKey), jsIntKey: js.jsIntKey, joinReqType: 0xFF, joinEUI: joinEUI, devNonce: devNonce) }
                catch { throw error.inputError }
            }
            // 1.0.x, or a 1.1 device on a 1.0 network: the 1.0 join-accept under the root key (NwkKey in 1.1).
            do { return try JoinCodec.encodeAccept(a, appKey: CryptoKey(device.rootNetworkKey)) } catch { throw error.inputError }
        case .rejoinRequest:
            return try buildRejoin(s, keys: keys)
        case .proprietary:
            throw InputError("building \(s.type.name) frames is not supported", at: .argument("--type"))
        default:
            guard let devAddr = s.devAddr else { throw InputError("a data frame needs a DevAddr", at: .argument("--dev-addr")) }
            guard let sk = keys.sessionKeys(for: devAddr) else {
                throw InputError("no session keys for DevAddr \(devAddr) in the keys", at: .argument("--keys"))
            }
            let keys11 = keys.lorawan11Keys(for: devAddr)
            switch (s.lorawan, keys11) {
            case (.v11?, nil):
                throw InputError("the session of DevAddr \(devAddr) is LoRaWAN 1.0.x: a 1.1 frame needs fNwkSIntKey, sNwkSIntKey, nwkSEncKey and appSKey in the keys", at: .argument("--lorawan"))
            case (.v10?, _?):
                throw InputError("the session of DevAddr \(devAddr) has LoRaWAN 1.1 keys: a 1.0 frame needs nwkSKey and appSKey", at: .argument("--lorawan"))
            case (_, nil):
                for (name, given) in [("--tx-dr", s.txDr != nil), ("--tx-ch", s.txCh != nil), ("--conf-fcnt", s.confFCnt != nil)] where given {
                    throw InputError("\(name) is for LoRaWAN 1.1 frames; the session of DevAddr \(devAddr) is 1.0.x", at: .argument(name))
                }
            default:
                break
            }
            var fopts = s.fopts
            var payload = s.payload
            if !s.macCommands.isEmpty {
                let encoded = MACCommand.encode(s.macCommands)
                for c in s.macCommands where c.direction != s.type.direction {
                    throw InputError("\(c.name) is sent \(c.direction == .uplink ? "up" : "down"), not in a \(s.type.name) frame",
                                     at: .argument("--mac"))
                }
                if s.fport == 0 { payload = encoded + payload } else { fopts += encoded }
            }
            if let keys11 {
                if s.type.direction == .uplink, s.txDr == nil || s.txCh == nil {
                    throw InputError("a LoRaWAN 1.1 uplink's MIC covers the data rate and channel of the transmission: give --tx-dr and --tx-ch",
                                     at: .argument(s.txDr == nil ? "--tx-dr" : "--tx-ch"))
                }
                if s.type.direction == .downlink, s.txDr != nil || s.txCh != nil {
                    throw InputError("TxDr and TxCh are in the MIC of LoRaWAN 1.1 uplinks only", at: .argument(s.txDr != nil ? "--tx-dr" : "--tx-ch"))
                }
                if s.fctrl.ack, s.confFCnt == nil {
                    throw InputError("ACK is set: a LoRaWAN 1.1 MIC covers the acknowledged frame's FCnt: give --conf-fcnt", at: .argument("--conf-fcnt"))
                }
                do {
                    return try DataFrameCodec.encode11(mtype: s.type, devAddr: devAddr, fcnt: s.fcnt, fctrl: s.fctrl, fopts: fopts, fport: s.fport,
                                                       payload: payload, keys: keys11, confFCnt: s.confFCnt ?? 0, txDr: s.txDr ?? 0, txCh: s.txCh ?? 0)
                } catch { throw error.inputError }
            }
            do {
                return try DataFrameCodec.encode(mtype: s.type, devAddr: devAddr, fcnt: s.fcnt, fctrl: s.fctrl, fopts: fopts,
                                                 fport: s.fport, payload: payload,
                                                 keys: SessionKeys(nwkSKey: sk.nwkSKey, appSKey: sk.appSKey))
            } catch { throw error.inputError }
        }
    }
}

extension FrameBuilder {
    /// A rejoin-request (§6.2.4): type 1 signed with JSIntKey (from the device's NwkKey and DevEUI), types 0 and 2
    /// with the SNwkSIntKey of the session named by the DevAddr (else the only 1.1 session tied to the DevEUI).
    static func buildRejoin(_ s: FrameSpec, keys: KeyStore) throws(InputError) -> [UInt8] {
        guard let type = s.rejoinType else { throw InputError("give the rejoin type: --rejoin-type 0, 1 or 2", at: .argument("--rejoin-type")) }
        guard let devEUI = s.devEUI else { throw InputError("a rejoin-request carries a DevEUI: give --dev-eui", at: .argument("--dev-eui")) }
        if type == 1 {
            guard let joinEUI = s.joinEUI ?? keys.device(for: devEUI)?.joinEUI else {
                throw InputError("a type 1 rejoin-request carries the JoinEUI: give --join-eui", at: .argument("--join-eui"))
            }
            guard let root = keys.rootNetworkKey(for: devEUI) else {
                throw InputError("no NwkKey for DevEUI \(devEUI) in the keys (its JSIntKey signs a type 1 rejoin-request)", at: .argument("--keys"))
            }
            let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(root), devEUI: devEUI)
            return JoinCodec.encodeRejoin(RejoinRequest(joinEUI: joinEUI, devEUI: devEUI, rjCount: s.rjCount), key: js.jsIntKey)
        }
        guard let session = keys.session11(devEUI: devEUI, devAddr: s.devAddr), let k = session.lorawan11 else {
            throw InputError(s.devAddr.map { "DevAddr \($0) has no LoRaWAN 1.1 session in the keys (a type \(type) rejoin-request is signed with its SNwkSIntKey)" }
                             ?? "a type \(type) rejoin-request is signed with its session's SNwkSIntKey: give --dev-addr", at: .argument(s.devAddr == nil ? "--dev-addr" : "--keys"))
        }
        guard let netID = s.netID else { throw InputError("a type \(type) rejoin-request carries the NetID: give --net-id", at: .argument("--net-id")) }
        let request: RejoinRequest
        do { request = try RejoinRequest(type: type, netID: netID, devEUI: devEUI, rjCount: s.rjCount) } catch { throw error.inputError }
        return JoinCodec.encodeRejoin(request, key: CryptoKey(k.sNwkSIntKey))
    }
}
