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

    public init() {}

    /// Reads a JSON (or YAML) object; field names as `frame decode --json` prints them.
    public static func parse(_ doc: DocumentNode) throws(InputError) -> FrameSpec {
        var s = FrameSpec()
        try doc.allowOnly(["type", "mtype", "devAddr", "fcnt", "adr", "adrAckReq", "ack", "classB", "fPending", "fport",
                           "payload", "decryptedPayload", "fopts", "macCommands", "devEUI", "joinEUI", "devNonce",
                           "joinNonce", "netID", "rx1DROffset", "rx2DataRate", "rxDelay", "cfList"])
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
        return s
    }
}

public enum FrameBuilder {
    /// Builds the PHYPayload with the keys the spec's device or session has in `keys`.
    public static func build(_ s: FrameSpec, keys: KeyStore) throws(InputError) -> [UInt8] {
        switch s.type {
        case .joinRequest:
            guard let devEUI = s.devEUI else { throw InputError("a join-request needs a DevEUI", at: .argument("--dev-eui")) }
            guard let key = keys.appKey(for: devEUI) else {
                throw InputError("no AppKey for DevEUI \(devEUI) in the keys", at: .argument("--keys"))
            }
            return JoinCodec.encodeRequest(joinEUI: s.joinEUI ?? EUI64(0), devEUI: devEUI, devNonce: s.devNonce ?? 0,
                                           appKey: CryptoKey(key))
        case .joinAccept:
            guard let devAddr = s.devAddr else { throw InputError("a join-accept needs a DevAddr", at: .argument("--dev-addr")) }
            let key: AES128Key?
            if let eui = s.devEUI { key = keys.appKey(for: eui) } else { key = keys.anyDeviceAppKey ?? keys.devices.values.first?.appKey }
            guard let key else { throw InputError("no AppKey for this join-accept in the keys (give --dev-eui)", at: .argument("--keys")) }
            let a = JoinAccept(joinNonce: s.joinNonce ?? 0, netID: s.netID ?? 0, devAddr: devAddr, rx1DROffset: s.rx1DROffset,
                               rx2DataRate: s.rx2DataRate, rxDelay: s.rxDelay, cfList: s.cfList)
            do { return try JoinCodec.encodeAccept(a, appKey: CryptoKey(key)) } catch { throw error.inputError }
        case .proprietary, .rejoinRequest:
            throw InputError("building \(s.type.name) frames is not supported", at: .argument("--type"))
        default:
            guard let devAddr = s.devAddr else { throw InputError("a data frame needs a DevAddr", at: .argument("--dev-addr")) }
            guard let sk = keys.sessionKeys(for: devAddr) else {
                throw InputError("no session keys for DevAddr \(devAddr) in the keys", at: .argument("--keys"))
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
            do {
                return try DataFrameCodec.encode(mtype: s.type, devAddr: devAddr, fcnt: s.fcnt, fctrl: s.fctrl, fopts: fopts,
                                                 fport: s.fport, payload: payload,
                                                 keys: SessionKeys(nwkSKey: sk.nwkSKey, appSKey: sk.appSKey))
            } catch { throw error.inputError }
        }
    }
}
