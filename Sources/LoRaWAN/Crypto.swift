import Crypto
import CryptoExtras
import Foundation
import HarnessCore

/// An AES-128 key made ready for LoRaWAN's two primitives, the AES block function (encryption keystream,
/// join-accept) and AES-CMAC (message integrity codes), both from swift-crypto. Build one per key and reuse it:
/// the CMAC key schedule is set up once and copied per message.
public struct CryptoKey: @unchecked Sendable {
    public let key: AES128Key
    let symmetric: SymmetricKey
    let cmacTemplate: AES.CMAC

    public init(_ key: AES128Key) {
        self.key = key
        symmetric = key.symmetricKey
        do {
            cmacTemplate = try AES.CMAC(key: symmetric)
        } catch {
            // AES128Key holds exactly 16 bytes, which AES-CMAC always accepts: an invariant, not input.
            preconditionFailure("AES-CMAC refused a 16-byte key: \(error)")
        }
    }

    /// AES-128 encryption of one 16-byte block, in place.
    @inline(__always)
    func encryptBlock(_ block: inout [UInt8]) {
        try? AES.permute(&block, key: symmetric)
    }

    /// AES-128 decryption of one 16-byte block, in place.
    @inline(__always)
    func decryptBlock(_ block: inout [UInt8]) {
        try? AES.inversePermute(&block, key: symmetric)
    }

    /// The first four bytes of AES-CMAC over the concatenation of `parts`, as a big-endian number in the byte
    /// order they are sent (so `String(mic, radix: 16)` reads as the bytes on air).
    func cmac4(_ parts: UnsafeRawBufferPointer...) -> UInt32 {
        var mac = cmacTemplate
        for p in parts { mac.update(bufferPointer: p) }
        let tag = mac.finalize()
        return tag.withUnsafeBytes { b in
            UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        }
    }

    /// The full 16-byte AES-CMAC (for RFC 4493 checks).
    public func cmac(_ message: [UInt8]) -> [UInt8] {
        var mac = cmacTemplate
        message.withUnsafeBytes { mac.update(bufferPointer: $0) }
        return mac.finalize().withUnsafeBytes { Array($0) }
    }
}

public enum Direction: UInt8, Sendable, Codable {
    case uplink = 0, downlink = 1
}

/// LoRaWAN 1.0.x cryptography (LoRaWAN 1.0.4 specification §4.3.3, §4.4, §6.2).
public enum LoRaWANCrypto {
    /// FRMPayload encryption and decryption (the same operation): XOR with S = AES(K, A_1) | AES(K, A_2) | …,
    /// A_i = 0x01 | 4 × 0x00 | Dir | DevAddr (LE) | FCnt (32-bit LE) | 0x00 | i. K = AppSKey for FPort > 0,
    /// NwkSKey for FPort 0.
    public static func cipherFRMPayload(_ payload: inout [UInt8], key: CryptoKey, direction: Direction,
                                        devAddr: DevAddr, fcnt: UInt32) {
        guard !payload.isEmpty else { return }
        var a = [UInt8](repeating: 0, count: 16)
        a[0] = 0x01
        a[5] = direction.rawValue
        putLE32(&a, 6, devAddr.value)
        putLE32(&a, 10, fcnt)
        var block = [UInt8](repeating: 0, count: 16)
        var i = 0
        var counter: UInt8 = 1
        while i < payload.count {
            a[15] = counter
            for j in 0..<16 { block[j] = a[j] }
            key.encryptBlock(&block)
            let n = min(16, payload.count - i)
            for j in 0..<n { payload[i + j] ^= block[j] }
            i += 16
            counter &+= 1
        }
    }

    /// Data-frame MIC: the first 4 bytes of AES-CMAC(NwkSKey, B0 | msg), B0 = 0x49 | 4 × 0x00 | Dir |
    /// DevAddr (LE) | FCnt (32-bit LE) | 0x00 | len(msg); msg = MHDR … FRMPayload.
    public static func dataMIC(key: CryptoKey, direction: Direction, devAddr: DevAddr, fcnt: UInt32,
                               message: UnsafeRawBufferPointer) -> UInt32 {
        var b0 = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &b0) { b in
            b[0] = 0x49
            b[5] = direction.rawValue
            b[6] = UInt8(truncatingIfNeeded: devAddr.value)
            b[7] = UInt8(truncatingIfNeeded: devAddr.value >> 8)
            b[8] = UInt8(truncatingIfNeeded: devAddr.value >> 16)
            b[9] = UInt8(truncatingIfNeeded: devAddr.value >> 24)
            b[10] = UInt8(truncatingIfNeeded: fcnt)
            b[11] = UInt8(truncatingIfNeeded: fcnt >> 8)
            b[12] = UInt8(truncatingIfNeeded: fcnt >> 16)
            b[13] = UInt8(truncatingIfNeeded: fcnt >> 24)
            b[15] = UInt8(truncatingIfNeeded: message.count)
            return key.cmac4(UnsafeRawBufferPointer(b), message)
        }
    }

    public static func dataMIC(key: CryptoKey, direction: Direction, devAddr: DevAddr, fcnt: UInt32,
                               message: ArraySlice<UInt8>) -> UInt32 {
        message.withUnsafeBytes { dataMIC(key: key, direction: direction, devAddr: devAddr, fcnt: fcnt, message: $0) }
    }

    /// Join-request and join-accept (1.0.x) MIC: the first 4 bytes of AES-CMAC(AppKey, msg).
    public static func joinMIC(key: CryptoKey, message: ArraySlice<UInt8>) -> UInt32 {
        message.withUnsafeBytes { key.cmac4($0) }
    }

    /// Join-accept on air = MHDR | AES-128-ECB-decrypt(AppKey, payload | MIC): the device only needs AES
    /// encryption to read it (LoRaWAN 1.0.4 §6.2.6). `body` is everything after MHDR, a multiple of 16 bytes.
    public static func encryptJoinAccept(_ body: inout [UInt8], key: CryptoKey) {
        ecb(&body) { key.decryptBlock(&$0) }
    }

    /// The inverse: what a device does on reception.
    public static func decryptJoinAccept(_ body: inout [UInt8], key: CryptoKey) {
        ecb(&body) { key.encryptBlock(&$0) }
    }

    private static func ecb(_ body: inout [UInt8], _ op: (inout [UInt8]) -> Void) {
        var block = [UInt8](repeating: 0, count: 16)
        var i = 0
        while i + 16 <= body.count {
            for j in 0..<16 { block[j] = body[i + j] }
            op(&block)
            for j in 0..<16 { body[i + j] = block[j] }
            i += 16
        }
    }

    /// LoRaWAN 1.0.x session keys (§6.2.5): NwkSKey = aes128_encrypt(AppKey, 0x01 | AppNonce | NetID | DevNonce | pad16),
    /// AppSKey the same with 0x02. AppNonce and NetID are 3 bytes, DevNonce 2, all little-endian.
    public static func sessionKeys10(appKey: CryptoKey, appNonce: UInt32, netID: UInt32, devNonce: UInt16)
        -> (nwkSKey: AES128Key, appSKey: AES128Key) {
        func derive(_ prefix: UInt8) -> AES128Key {
            var b = [UInt8](repeating: 0, count: 16)
            b[0] = prefix
            b[1] = UInt8(truncatingIfNeeded: appNonce); b[2] = UInt8(truncatingIfNeeded: appNonce >> 8)
            b[3] = UInt8(truncatingIfNeeded: appNonce >> 16)
            b[4] = UInt8(truncatingIfNeeded: netID); b[5] = UInt8(truncatingIfNeeded: netID >> 8)
            b[6] = UInt8(truncatingIfNeeded: netID >> 16)
            b[7] = UInt8(truncatingIfNeeded: devNonce); b[8] = UInt8(truncatingIfNeeded: devNonce >> 8)
            appKey.encryptBlock(&b)
            // 16 bytes in, 16 bytes out.
            return (try? AES128Key(bytes: b)) ?? appKey.key
        }
        return (derive(0x01), derive(0x02))
    }

    @inline(__always)
    static func putLE32(_ a: inout [UInt8], _ at: Int, _ v: UInt32) {
        a[at] = UInt8(truncatingIfNeeded: v)
        a[at + 1] = UInt8(truncatingIfNeeded: v >> 8)
        a[at + 2] = UInt8(truncatingIfNeeded: v >> 16)
        a[at + 3] = UInt8(truncatingIfNeeded: v >> 24)
    }
}
