import HarnessCore

// LoRaWAN 1.1 cryptography (LoRaWAN 1.1 Specification, LoRa Alliance, 11 October 2017, with the erratum
// "FOpts Encryption, Usage of FCntDwn", January 2018). Section numbers below are those of the 1.1 text.
//
// Byte order as in the rest of the module (§1.2): multi-octet fields go little-endian on air, EUIs included;
// `EUI64`, `DevAddr` and NetID values hold the number people write big-endian. MICs are returned as the four
// bytes in the order they are sent, read as a big-endian number (as `DataFrame.mic` holds them).

// MARK: - Session keys

/// The four session keys of a LoRaWAN 1.1 session (§6.1.2), made ready for use.
/// - FNwkSIntKey: the uplink MIC half a forwarding network checks (§6.1.2.2, §4.4.2).
/// - SNwkSIntKey: the downlink MIC and the other uplink MIC half (§6.1.2.3, §4.4).
/// - NwkSEncKey: FOpts and FPort-0 FRMPayload encryption (§6.1.2.4, §4.3.1.6, §4.3.3).
/// - AppSKey: FRMPayload encryption for FPort 1…255 (§6.1.2.5, §4.3.3).
/// Keys have no text form (`AES128Key` prints as ‹key›).
public struct LoRaWAN11Keys: Sendable {
    public let fNwkSIntKey: CryptoKey
    public let sNwkSIntKey: CryptoKey
    public let nwkSEncKey: CryptoKey
    public let appSKey: CryptoKey

    public init(fNwkSIntKey: CryptoKey, sNwkSIntKey: CryptoKey, nwkSEncKey: CryptoKey, appSKey: CryptoKey) {
        self.fNwkSIntKey = fNwkSIntKey
        self.sNwkSIntKey = sNwkSIntKey
        self.nwkSEncKey = nwkSEncKey
        self.appSKey = appSKey
    }

    public init(fNwkSIntKey: AES128Key, sNwkSIntKey: AES128Key, nwkSEncKey: AES128Key, appSKey: AES128Key) {
        self.init(fNwkSIntKey: CryptoKey(fNwkSIntKey), sNwkSIntKey: CryptoKey(sNwkSIntKey),
                  nwkSEncKey: CryptoKey(nwkSEncKey), appSKey: CryptoKey(appSKey))
    }
}

extension LoRaWANCrypto {
    /// aes128_encrypt(key, block | pad16): the derivation step of §6.1.1.4 and §6.2.3. `block` is at most 16 bytes.
    static func derive11(_ key: CryptoKey, _ block: [UInt8]) -> CryptoKey {
        var b = [UInt8](repeating: 0, count: 16)
        for (i, byte) in block.prefix(16).enumerated() { b[i] = byte }
        key.encryptBlock(&b)
        // 16 bytes in, 16 bytes out: AES128Key accepts it.
        return CryptoKey((try? AES128Key(bytes: b)) ?? key.key)
    }

    /// LoRaWAN 1.1 session keys when the join-accept has OptNeg set (§6.2.3):
    /// - FNwkSIntKey = aes128_encrypt(NwkKey, 0x01 | JoinNonce | JoinEUI | DevNonce | pad16)
    /// - SNwkSIntKey = aes128_encrypt(NwkKey, 0x03 | JoinNonce | JoinEUI | DevNonce | pad16)
    /// - NwkSEncKey  = aes128_encrypt(NwkKey, 0x04 | JoinNonce | JoinEUI | DevNonce | pad16)
    /// - AppSKey     = aes128_encrypt(AppKey, 0x02 | JoinNonce | JoinEUI | DevNonce | pad16)
    ///
    /// JoinNonce is 24 bits, DevNonce 16, all little-endian on air. After a join-accept answering a
    /// Rejoin-request, pass the request's RJcount0 or RJcount1 as `devNonce` (§6.2.4.4).
    public static func sessionKeys11(nwkKey: CryptoKey, appKey: CryptoKey, joinNonce: UInt32, joinEUI: EUI64,
                                     devNonce: UInt16) -> LoRaWAN11Keys {
        func block(_ prefix: UInt8) -> [UInt8] {
            [prefix] + le24(joinNonce) + joinEUI.littleEndianBytes + le16(devNonce)
        }
        return LoRaWAN11Keys(fNwkSIntKey: derive11(nwkKey, block(0x01)), sNwkSIntKey: derive11(nwkKey, block(0x03)),
                             nwkSEncKey: derive11(nwkKey, block(0x04)), appSKey: derive11(appKey, block(0x02)))
    }

    /// LoRaWAN 1.1 session keys when the join-accept has OptNeg clear, i.e. a 1.1 device on a 1.0 network
    /// (§6.1.1.3, §6.2.3): the 1.0 derivation with NwkKey in the place of AppKey,
    /// FNwkSIntKey = aes128_encrypt(NwkKey, 0x01 | JoinNonce | NetID | DevNonce | pad16),
    /// SNwkSIntKey = NwkSEncKey = FNwkSIntKey, AppSKey = aes128_encrypt(NwkKey, 0x02 | JoinNonce | NetID | DevNonce | pad16).
    /// NetID is 24 bits.
    public static func sessionKeys11(optNegUnset nwkKey: CryptoKey, joinNonce: UInt32, netID: UInt32,
                                     devNonce: UInt16) -> LoRaWAN11Keys {
        let (nwkSKey, appSKey) = sessionKeys10(appKey: nwkKey, appNonce: joinNonce, netID: netID, devNonce: devNonce)
        let network = CryptoKey(nwkSKey)
        return LoRaWAN11Keys(fNwkSIntKey: network, sNwkSIntKey: network, nwkSEncKey: network, appSKey: CryptoKey(appSKey))
    }

    /// The join server's lifetime keys (§6.1.1.4): JSIntKey = aes128_encrypt(NwkKey, 0x06 | DevEUI | pad16) signs
    /// Rejoin-request type 1 and 1.1 join-accepts; JSEncKey = aes128_encrypt(NwkKey, 0x05 | DevEUI | pad16)
    /// encrypts a join-accept that answers a Rejoin-request.
    public static func joinServerKeys(nwkKey: CryptoKey, devEUI: EUI64) -> (jsIntKey: CryptoKey, jsEncKey: CryptoKey) {
        (derive11(nwkKey, [0x06] + devEUI.littleEndianBytes), derive11(nwkKey, [0x05] + devEUI.littleEndianBytes))
    }

    // MARK: Join-accept, rejoin-request MICs

    /// The 1.1 join-accept MIC with OptNeg set (§6.2.3): the first 4 bytes of
    /// aes128_cmac(JSIntKey, JoinReqType | JoinEUI | DevNonce | MHDR | JoinNonce | NetID | DevAddr | DLSettings |
    /// RxDelay | CFList). `message` is MHDR … CFList as sent in clear. JoinReqType is 0xFF after a Join-request and
    /// 0x00, 0x01 or 0x02 after a Rejoin-request of that type; `devNonce` is then the request's RJcount (§6.2.4.4).
    public static func joinAcceptMIC11(jsIntKey: CryptoKey, joinReqType: UInt8, joinEUI: EUI64, devNonce: UInt16,
                                       message: ArraySlice<UInt8>) -> UInt32 {
        let full = [joinReqType] + joinEUI.littleEndianBytes + le16(devNonce) + Array(message)
        return full.withUnsafeBytes { jsIntKey.cmac4($0) }
    }

    /// The Rejoin-request MIC (§6.2.4.1, §6.2.4.2): the first 4 bytes of aes128_cmac(key, MHDR | RejoinType | … |
    /// RJcount), with key = SNwkSIntKey for types 0 and 2 and JSIntKey for type 1. `message` is the request
    /// without its MIC.
    public static func rejoinMIC(key: CryptoKey, message: ArraySlice<UInt8>) -> UInt32 {
        message.withUnsafeBytes { key.cmac4($0) }
    }

    // MARK: Data frames

    /// B0 (§4.4.1, Figure 18) and B1 (§4.4.2, Figure 20) share one layout:
    /// 0x49 | ConfFCnt (2, LE) | TxDr | TxCh | Dir | DevAddr (LE) | FCnt (4, LE) | 0x00 | len(msg).
    static func micBlock11(confFCnt: UInt16, txDr: UInt8, txCh: UInt8, direction: Direction, devAddr: DevAddr,
                           fcnt: UInt32, length: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 16)
        b[0] = 0x49
        b[1] = UInt8(truncatingIfNeeded: confFCnt)
        b[2] = UInt8(truncatingIfNeeded: confFCnt >> 8)
        b[3] = txDr
        b[4] = txCh
        b[5] = direction.rawValue
        putLE32(&b, 6, devAddr.value)
        putLE32(&b, 10, fcnt)
        b[15] = UInt8(truncatingIfNeeded: length)
        return b
    }

    static func cmacHead(_ key: CryptoKey, head: [UInt8], message: ArraySlice<UInt8>) -> [UInt8] {
        var x = [UInt8](repeating: 0, count: 16)
        let mic = head.withUnsafeBytes { h in message.withUnsafeBytes { key.cmac4(head: h, message: $0, scratch: &x) } }
        return [UInt8(mic >> 24), UInt8(truncatingIfNeeded: mic >> 16), UInt8(truncatingIfNeeded: mic >> 8),
                UInt8(truncatingIfNeeded: mic)]
    }

    /// The LoRaWAN 1.1 uplink MIC (§4.4.2): MIC = cmacS[0..1] | cmacF[0..1], where
    /// cmacF = aes128_cmac(FNwkSIntKey, B0 | msg), B0 = 0x49 | 0x0000 | 0x0000 | 0x00 | DevAddr | FCntUp | 0x00 | len(msg),
    /// cmacS = aes128_cmac(SNwkSIntKey, B1 | msg), B1 = 0x49 | ConfFCnt | TxDr | TxCh | 0x00 | DevAddr | FCntUp | 0x00 | len(msg).
    /// `message` is MHDR … FRMPayload with FOpts and FRMPayload encrypted. `confFCnt` goes into B1 as given: it is
    /// the acknowledged downlink's FCnt mod 2^16 when ACK is set and must be 0 otherwise (`encode11`/`open11`
    /// apply that rule themselves). `txDr`/`txCh` are the data rate and channel index of this transmission.
    public static func uplinkMIC11(fNwkSIntKey: CryptoKey, sNwkSIntKey: CryptoKey, confFCnt: UInt16, txDr: UInt8,
                                   txCh: UInt8, devAddr: DevAddr, fcnt: UInt32, message: ArraySlice<UInt8>) -> UInt32 {
        let b0 = micBlock11(confFCnt: 0, txDr: 0, txCh: 0, direction: .uplink, devAddr: devAddr, fcnt: fcnt,
                            length: message.count)
        let b1 = micBlock11(confFCnt: confFCnt, txDr: txDr, txCh: txCh, direction: .uplink, devAddr: devAddr,
                            fcnt: fcnt, length: message.count)
        let f = cmacHead(fNwkSIntKey, head: b0, message: message)
        let s = cmacHead(sNwkSIntKey, head: b1, message: message)
        return UInt32(s[0]) << 24 | UInt32(s[1]) << 16 | UInt32(f[0]) << 8 | UInt32(f[1])
    }

    /// The LoRaWAN 1.1 downlink MIC (§4.4.1): the first 4 bytes of aes128_cmac(SNwkSIntKey, B0 | msg),
    /// B0 = 0x49 | ConfFCnt (2, LE) | 0x0000 | 0x01 | DevAddr | AFCntDwn or NFCntDwn | 0x00 | len(msg).
    /// `confFCnt` goes into B0 as given: the acknowledged uplink's FCnt mod 2^16 when ACK is set, 0 otherwise.
    public static func downlinkMIC11(sNwkSIntKey: CryptoKey, confFCnt: UInt16, devAddr: DevAddr, fcnt: UInt32,
                                     message: ArraySlice<UInt8>) -> UInt32 {
        let b0 = micBlock11(confFCnt: confFCnt, txDr: 0, txCh: 0, direction: .downlink, devAddr: devAddr, fcnt: fcnt,
                            length: message.count)
        let m = cmacHead(sNwkSIntKey, head: b0, message: message)
        return UInt32(m[0]) << 24 | UInt32(m[1]) << 16 | UInt32(m[2]) << 8 | UInt32(m[3])
    }

    /// FOpts encryption and decryption (the same operation) under NwkSEncKey (§4.3.1.6), with the A block of the
    /// erratum "FOpts Encryption, Usage of FCntDwn" that every implementation follows:
    /// A = 0x01 | 0x00 0x00 0x00 C | Dir | DevAddr (LE) | FCnt (4, LE) | 0x00 | 0x01, FOpts XOR aes128_encrypt(NwkSEncKey, A).
    /// C = 0x02 for a downlink counted by AFCntDwn (FPort > 0; `aFCntDown`), else 0x01 (FCntUp, NFCntDwn).
    /// The literal 1.1 text (Figure 15) has 0x00 in byte 4 and byte 15; that form is not implemented.
    /// `aFCntDown` is ignored for uplinks. FOpts holds at most 15 bytes; bytes past 16 are left as they are.
    public static func cipherFOpts11(_ fopts: inout [UInt8], nwkSEncKey: CryptoKey, direction: Direction,
                                     devAddr: DevAddr, fcnt: UInt32, aFCntDown: Bool) {
        var a = [UInt8](repeating: 0, count: 16)
        a[0] = 0x01
        a[4] = direction == .downlink && aFCntDown ? 0x02 : 0x01
        a[5] = direction.rawValue
        putLE32(&a, 6, devAddr.value)
        putLE32(&a, 10, fcnt)
        a[15] = 0x01
        nwkSEncKey.encryptBlock(&a)
        for i in 0..<min(fopts.count, 16) { fopts[i] ^= a[i] }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
    static func le24(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16)]
    }
    static func be32Bytes(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
         UInt8(truncatingIfNeeded: v)]
    }
}

// MARK: - Join-accept 1.1

extension JoinCodec {
    /// MHDR | JoinNonce | NetID | DevAddr | DLSettings | RxDelay | CFList, in clear.
    static func acceptPlaintext(_ a: JoinAccept) throws(FrameError) -> [UInt8] {
        if let cf = a.cfList, cf.count != 16 {
            throw FrameError(.badLength, field: "CFList", "a CFList is 16 bytes, got \(cf.count)")
        }
        var plain: [UInt8] = [MType.joinAccept.rawValue << 5]
        plain += LoRaWANCrypto.le24(a.joinNonce)
        plain += LoRaWANCrypto.le24(a.netID)
        DataFrameCodec.appendLE32(&plain, a.devAddr.value)
        plain.append(a.dlSettings)
        plain.append(a.rxDelay)
        if let cf = a.cfList { plain += cf }
        return plain
    }

    /// A LoRaWAN 1.1 join-accept as sent (§6.2.3): MHDR | aes128_decrypt(key, JoinNonce | NetID | DevAddr |
    /// DLSettings | RxDelay | CFList | MIC).
    /// - `key`: NwkKey when answering a Join-request (`joinReqType` 0xFF), JSEncKey when answering a
    ///   Rejoin-request of type 0, 1 or 2 (`joinReqType` 0x00, 0x01, 0x02).
    /// - With `a.optNeg` set the MIC is `LoRaWANCrypto.joinAcceptMIC11` under `jsIntKey`, over JoinReqType, `joinEUI`
    ///   and `devNonce` (the request's DevNonce, or its RJcount after a rejoin). With OptNeg clear (a 1.0 network)
    ///   it is the 1.0 MIC, aes128_cmac(NwkKey, MHDR | … | CFList), under `key`, and the last three are unused.
    public static func encodeAccept11(_ a: JoinAccept, key: CryptoKey, jsIntKey: CryptoKey, joinReqType: UInt8 = 0xFF,
                                      joinEUI: EUI64, devNonce: UInt16) throws(FrameError) -> [UInt8] {
        let plain = try acceptPlaintext(a)
        let mic = a.optNeg
            ? LoRaWANCrypto.joinAcceptMIC11(jsIntKey: jsIntKey, joinReqType: joinReqType, joinEUI: joinEUI,
                                            devNonce: devNonce, message: plain[...])
            : LoRaWANCrypto.joinMIC(key: key, message: plain[...])
        var body = Array(plain.dropFirst()) + LoRaWANCrypto.be32Bytes(mic)
        LoRaWANCrypto.encryptJoinAccept(&body, key: key)
        return [plain[0]] + body
    }

    /// Decrypts a LoRaWAN 1.1 join-accept, reads its fields and checks its MIC (§6.2.3). The arguments are those
    /// of `encodeAccept11`: `key` is NwkKey after a Join-request, JSEncKey after a Rejoin-request. Which MIC applies
    /// is read from the decrypted DLSettings: OptNeg set → under `jsIntKey` with JoinReqType | JoinEUI | DevNonce in
    /// front; clear → the 1.0 MIC under `key`. Throws only when the length is not 17 or 33 bytes.
    public static func decryptAccept11(_ raw: [UInt8], key: CryptoKey, jsIntKey: CryptoKey, joinReqType: UInt8 = 0xFF,
                                       joinEUI: EUI64, devNonce: UInt16) throws(FrameError) -> (accept: JoinAccept, micValid: Bool) {
        guard raw.count == 17 || raw.count == 33 else {
            throw FrameError(raw.count < 17 ? .truncated : .badLength, at: min(raw.count, 17), field: "join-accept",
                             "a join-accept is 17 or 33 bytes, this one is \(raw.count)")
        }
        var body = Array(raw.dropFirst())
        LoRaWANCrypto.decryptJoinAccept(&body, key: key)
        let plain = [raw[0]] + body
        let micAt = plain.count - 4
        let dl = plain[11]
        var a = JoinAccept(joinNonce: UInt32(plain[1]) | UInt32(plain[2]) << 8 | UInt32(plain[3]) << 16,
                           netID: UInt32(plain[4]) | UInt32(plain[5]) << 8 | UInt32(plain[6]) << 16,
                           devAddr: DevAddr(FrameDecoder.le32(plain, 7)),
                           rx1DROffset: (dl >> 4) & 0x07, rx2DataRate: dl & 0x0F, optNeg: dl & 0x80 != 0,
                           rxDelay: plain[12], cfList: plain.count == 33 ? Array(plain[13..<29]) : nil)
        a.mic = FrameDecoder.be32(plain, micAt)
        let expected = a.optNeg
            ? LoRaWANCrypto.joinAcceptMIC11(jsIntKey: jsIntKey, joinReqType: joinReqType, joinEUI: joinEUI,
                                            devNonce: devNonce, message: plain[0..<micAt])
            : LoRaWANCrypto.joinMIC(key: key, message: plain[0..<micAt])
        return (a, expected == a.mic)
    }
}

// MARK: - Rejoin-request

/// A LoRaWAN 1.1 Rejoin-request's fields (§6.2.4). Type 0 and 2 (§6.2.4.1): MHDR | RejoinType | NetID (3) |
/// DevEUI (8) | RJcount0 (2) | MIC, 19 bytes. Type 1 (§6.2.4.2): MHDR | RejoinType | JoinEUI (8) | DevEUI (8) |
/// RJcount1 (2) | MIC, 24 bytes.
public struct RejoinRequest: Sendable, Equatable {
    /// RejoinType: 0, 1 or 2.
    public let type: UInt8
    /// Types 0 and 2: the device's current NetID (24 bits); nil for type 1.
    public let netID: UInt32?
    /// Type 1: the JoinEUI; nil for types 0 and 2.
    public let joinEUI: EUI64?
    public let devEUI: EUI64
    /// RJcount0 (types 0, 2) or RJcount1 (type 1).
    public let rjCount: UInt16
    /// The MIC as sent (0 for a request built here and not yet encoded).
    public var mic: UInt32

    /// A type 0 or type 2 request.
    public init(type: UInt8, netID: UInt32, devEUI: EUI64, rjCount: UInt16) throws(FrameError) {
        guard type == 0 || type == 2 else {
            throw FrameError(.badLength, field: "RejoinType", "a rejoin-request with a NetID is type 0 or 2, not \(type)")
        }
        self.type = type; self.netID = netID & 0xFF_FFFF; joinEUI = nil
        self.devEUI = devEUI; self.rjCount = rjCount; mic = 0
    }

    /// A type 1 request.
    public init(joinEUI: EUI64, devEUI: EUI64, rjCount: UInt16) {
        type = 1; netID = nil; self.joinEUI = joinEUI
        self.devEUI = devEUI; self.rjCount = rjCount; mic = 0
    }

    /// Reads the fields from what `FrameDecoder.decode(_:lorawan11: true)` returns as
    /// `.rejoinRequest(type:body:mic:)`: `body` is everything between RejoinType and the MIC.
    public init(type: UInt8, body: [UInt8], mic: UInt32) throws(FrameError) {
        switch type {
        case 0, 2:
            guard body.count == 13 else {
                throw FrameError(.badLength, at: 2, field: "rejoin-request",
                                 "a type \(type) rejoin-request is 19 bytes, this one is \(body.count + 6)")
            }
            self.type = type
            netID = UInt32(body[0]) | UInt32(body[1]) << 8 | UInt32(body[2]) << 16
            joinEUI = nil
            devEUI = EUI64(FrameDecoder.le64(body, 3))
            rjCount = UInt16(body[11]) | UInt16(body[12]) << 8
        case 1:
            guard body.count == 18 else {
                throw FrameError(.badLength, at: 2, field: "rejoin-request",
                                 "a type 1 rejoin-request is 24 bytes, this one is \(body.count + 6)")
            }
            self.type = 1
            netID = nil
            joinEUI = EUI64(FrameDecoder.le64(body, 0))
            devEUI = EUI64(FrameDecoder.le64(body, 8))
            rjCount = UInt16(body[16]) | UInt16(body[17]) << 8
        default:
            throw FrameError(.badLength, at: 1, field: "RejoinType", "unknown rejoin type \(type) (0, 1 and 2 are defined)")
        }
        self.mic = mic
    }

    /// Reads a whole Rejoin-request from the air.
    public static func parse(_ raw: [UInt8]) throws(FrameError) -> RejoinRequest {
        guard case .rejoinRequest(let type, let body, let mic) = try FrameDecoder.decode(raw, lorawan11: true) else {
            throw FrameError(.unknownMType, at: 0, field: "MHDR.MType", "not a rejoin-request")
        }
        return try RejoinRequest(type: type, body: body, mic: mic)
    }

    /// MHDR | RejoinType | … | RJcount: what the MIC covers.
    public var bytesWithoutMIC: [UInt8] {
        var out: [UInt8] = [MType.rejoinRequest.rawValue << 5, type]
        if type == 1 {
            out += (joinEUI ?? EUI64(0)).littleEndianBytes
        } else {
            out += LoRaWANCrypto.le24(netID ?? 0)
        }
        out += devEUI.littleEndianBytes
        out += LoRaWANCrypto.le16(rjCount)
        return out
    }
}

extension JoinCodec {
    /// A Rejoin-request as sent, with its MIC under `key`: SNwkSIntKey for types 0 and 2, JSIntKey for type 1
    /// (§6.2.4.1, §6.2.4.2).
    public static func encodeRejoin(_ r: RejoinRequest, key: CryptoKey) -> [UInt8] {
        let plain = r.bytesWithoutMIC
        return plain + LoRaWANCrypto.be32Bytes(LoRaWANCrypto.rejoinMIC(key: key, message: plain[...]))
    }

    /// Reads a Rejoin-request and checks its MIC (§6.2.4): under `sNwkSIntKey` for types 0 and 2 (the network
    /// server), under `jsIntKey` for type 1 (the join server). Throws when the frame is not a well-formed
    /// Rejoin-request or the key its type needs was not given (`.noKey`).
    public static func verifyRejoin(_ raw: [UInt8], sNwkSIntKey: CryptoKey? = nil, jsIntKey: CryptoKey? = nil)
        throws(FrameError) -> (request: RejoinRequest, valid: Bool, expected: UInt32) {
        let r = try RejoinRequest.parse(raw)
        guard let key = r.type == 1 ? jsIntKey : sNwkSIntKey else {
            throw FrameError(.noKey, field: "MIC",
                             "a type \(r.type) rejoin-request is checked with the \(r.type == 1 ? "JSIntKey" : "SNwkSIntKey"), which was not given")
        }
        let expected = LoRaWANCrypto.rejoinMIC(key: key, message: raw[0..<(raw.count - 4)])
        return (r, expected == r.mic, expected)
    }
}

// MARK: - Data frames 1.1

extension DataFrameCodec {
    /// ConfFCnt enters B0/B1 only when the frame acknowledges (ACK set); otherwise it is 0 (§4.4.1, §4.4.2).
    static func effectiveConfFCnt(_ fctrl: FCtrl, _ confFCnt: UInt16) -> UInt16 { fctrl.ack ? confFCnt : 0 }

    static func mic11(_ message: ArraySlice<UInt8>, direction: Direction, devAddr: DevAddr, fcnt: UInt32,
                      keys: LoRaWAN11Keys, confFCnt: UInt16, txDr: UInt8, txCh: UInt8) -> UInt32 {
        direction == .uplink
            ? LoRaWANCrypto.uplinkMIC11(fNwkSIntKey: keys.fNwkSIntKey, sNwkSIntKey: keys.sNwkSIntKey, confFCnt: confFCnt,
                                        txDr: txDr, txCh: txCh, devAddr: devAddr, fcnt: fcnt, message: message)
            : LoRaWANCrypto.downlinkMIC11(sNwkSIntKey: keys.sNwkSIntKey, confFCnt: confFCnt, devAddr: devAddr,
                                          fcnt: fcnt, message: message)
    }

    /// Builds a LoRaWAN 1.1 data frame.
    /// - `fopts` (plaintext MAC commands) are encrypted under NwkSEncKey with the erratum A block (§4.3.1.6).
    /// - `payload` is encrypted under NwkSEncKey for FPort 0 and AppSKey otherwise (§4.3.3).
    /// - The MIC is `LoRaWANCrypto.uplinkMIC11` or `downlinkMIC11` (§4.4), with `confFCnt` (the acknowledged
    ///   frame's FCnt mod 2^16) used only when `fctrl.ack` is set and 0 otherwise; `txDr`/`txCh` for uplinks only.
    /// - `fcnt` is FCntUp, NFCntDwn or AFCntDwn. `aFCntDown` says which downlink counter it is, for the FOpts
    ///   block; nil takes the rule of the erratum: AFCntDwn for a downlink with FPort > 0, else NFCntDwn.
    public static func encode11(mtype: MType, devAddr: DevAddr, fcnt: UInt32, fctrl: FCtrl = FCtrl(), fopts: [UInt8] = [],
                                fport: UInt8?, payload: [UInt8], keys: LoRaWAN11Keys, confFCnt: UInt16 = 0,
                                txDr: UInt8 = 0, txCh: UInt8 = 0, aFCntDown: Bool? = nil) throws(FrameError) -> [UInt8] {
        guard mtype.isData else { throw FrameError(.unknownMType, field: "MHDR.MType", "\(mtype.name) is not a data frame") }
        guard fopts.count <= 15 else { throw FrameError(.badLength, field: "FOpts", "FOpts holds at most 15 bytes, got \(fopts.count)") }
        let direction = mtype.direction
        var out = try header(mtype: mtype, devAddr: devAddr, fcnt: fcnt, fctrl: fctrl, fopts: fopts, fport: fport, payload: payload)
        var encryptedFOpts = fopts
        LoRaWANCrypto.cipherFOpts11(&encryptedFOpts, nwkSEncKey: keys.nwkSEncKey, direction: direction, devAddr: devAddr,
                                    fcnt: fcnt, aFCntDown: aFCntDown ?? ((fport ?? 0) > 0))
        out += encryptedFOpts
        var scratch = [UInt8](repeating: 0, count: 16)
        if let fport {
            out.append(fport)
            let start = out.count
            out += payload
            LoRaWANCrypto.cipherFRMPayload(&out, range: start..<out.count, key: fport == 0 ? keys.nwkSEncKey : keys.appSKey,
                                           direction: direction, devAddr: devAddr, fcnt: fcnt, scratch: &scratch)
        }
        let mic = mic11(out[...], direction: direction, devAddr: devAddr, fcnt: fcnt, keys: keys,
                        confFCnt: effectiveConfFCnt(fctrl, confFCnt), txDr: txDr, txCh: txCh)
        return out + LoRaWANCrypto.be32Bytes(mic)
    }

    /// Checks a LoRaWAN 1.1 data frame's MIC with the 32-bit counter `fcnt` and decrypts FOpts and FRMPayload
    /// (§4.3.1.6, §4.3.3, §4.4). `raw` is the whole PHYPayload and `frame` what `FrameDecoder.decode` read from it.
    /// The arguments are those of `encode11` (`confFCnt` counts only when ACK is set; `txDr`/`txCh` only for
    /// uplinks; `aFCntDown` nil = AFCntDwn for a downlink with FPort > 0).
    ///
    /// The result's `frame.fopts` holds the **decrypted** FOpts (the rest of `frame` is as sent), `payload` the
    /// decrypted FRMPayload. `macCommands` lists the commands of FOpts and of an FPort-0 payload when `MACCommand`
    /// can read them all; it is empty when it cannot (a LoRaWAN-1.1-only command such as RekeyInd, or bytes that a
    /// wrong key turned to noise), so a bad key shows as `micValid == false`, not as a thrown error.
    public static func open11(_ raw: [UInt8], frame: DataFrame, fcnt: UInt32, keys: LoRaWAN11Keys, confFCnt: UInt16 = 0,
                              txDr: UInt8 = 0, txCh: UInt8 = 0, aFCntDown: Bool? = nil) throws(FrameError) -> OpenedDataFrame {
        guard UInt16(truncatingIfNeeded: fcnt) == frame.fcnt else {
            throw FrameError(.fcntOutOfRange, field: "FHDR.FCnt", "the 32-bit FCnt \(fcnt) does not end in the frame's \(frame.fcnt)")
        }
        guard raw.count >= 12 else {
            throw FrameError(.truncated, at: raw.count, field: "MIC", "a data frame is at least 12 bytes, this one is \(raw.count)")
        }
        let direction = frame.direction
        let expected = mic11(raw[0..<(raw.count - 4)], direction: direction, devAddr: frame.devAddr, fcnt: fcnt, keys: keys,
                             confFCnt: effectiveConfFCnt(frame.fctrl, confFCnt), txDr: txDr, txCh: txCh)
        var fopts = frame.fopts
        LoRaWANCrypto.cipherFOpts11(&fopts, nwkSEncKey: keys.nwkSEncKey, direction: direction, devAddr: frame.devAddr,
                                    fcnt: fcnt, aFCntDown: aFCntDown ?? ((frame.fport ?? 0) > 0))
        var payload = frame.frmPayload
        var scratch = [UInt8](repeating: 0, count: 16)
        if let port = frame.fport {
            LoRaWANCrypto.cipherFRMPayload(&payload, range: 0..<payload.count, key: port == 0 ? keys.nwkSEncKey : keys.appSKey,
                                           direction: direction, devAddr: frame.devAddr, fcnt: fcnt, scratch: &scratch)
        }
        let foptsOffset = 8
        var commands = (try? MACCommand.decode(fopts[...], direction: direction, baseOffset: foptsOffset, field: "FOpts")) ?? []
        if frame.fport == 0 {
            commands += (try? MACCommand.decode(payload[...], direction: direction,
                                                baseOffset: foptsOffset + fopts.count + 1, field: "FRMPayload")) ?? []
        }
        var opened = frame
        opened.fopts = fopts
        return OpenedDataFrame(frame: opened, fcnt: fcnt, micValid: expected == frame.mic, expectedMIC: expected,
                               payload: payload, macCommands: commands)
    }
}
