import CAESBlock
import Crypto
import CryptoExtras
import Foundation
import HarnessCore

/// An AES-128 key expanded once (BoringSSL's schedule, as swift-crypto ships it): a block costs the cipher alone.
final class ExpandedAESKey: @unchecked Sendable {
    let schedule: UnsafeMutablePointer<lh_aes_key>
    let valid: Bool
    init(_ bytes: [UInt8]) {
        let s = UnsafeMutablePointer<lh_aes_key>.allocate(capacity: 1)
        s.initialize(to: lh_aes_key())
        schedule = s
        valid = bytes.count == 16 && bytes.withUnsafeBufferPointer { b in b.baseAddress.map { lh_aes_expand(s, $0) == 0 } ?? false }
    }
    deinit { schedule.deallocate() }
}

/// An AES-128 key made ready for LoRaWAN's two primitives, the AES block function (encryption keystream,
/// join-accept) and AES-CMAC (message integrity codes), both from swift-crypto. Build one per key and reuse it:
/// the CMAC key schedule is set up once and copied per message.
public struct CryptoKey: @unchecked Sendable {
    public let key: AES128Key
    let symmetric: SymmetricKey
    let cmacTemplate: AES.CMAC
    /// RFC 4493 subkeys K1 and K2, derived once from AES(K, 0^128).
    let k1: [UInt8]
    let k2: [UInt8]
    /// The key expanded once, for the block function of MICs and keystreams.
    let expanded: ExpandedAESKey

    public init(_ key: AES128Key) {
        self.key = key
        symmetric = key.symmetricKey
        expanded = ExpandedAESKey(key.symmetricKey.withUnsafeBytes { Array($0) })
        do {
            cmacTemplate = try AES.CMAC(key: symmetric)
        } catch {
            // AES128Key holds exactly 16 bytes, which AES-CMAC always accepts: an invariant, not input.
            preconditionFailure("AES-CMAC refused a 16-byte key: \(error)")
        }
        var l = [UInt8](repeating: 0, count: 16)
        try? AES.permute(&l, key: symmetric)
        let k1 = CryptoKey.doubled(l)
        self.k1 = k1
        k2 = CryptoKey.doubled(k1)
    }

    /// Multiplication by x in GF(2^128) as RFC 4493 §2.3 defines it: shift left one bit, XOR 0x87 on carry.
    static func doubled(_ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 {
            out[i] = b[i] << 1 | (i < 15 ? b[i + 1] >> 7 : 0)
        }
        if b[0] & 0x80 != 0 { out[15] ^= 0x87 }
        return out
    }

    /// AES-128 encryption of one 16-byte block, in place, with the key expanded once (swift-crypto's BoringSSL AES;
    /// `swiftCryptoEncryptBlock` is the same through swift-crypto's public API, which tests compare it with).
    @inline(__always)
    func encryptBlock(_ block: inout [UInt8]) {
        guard expanded.valid, block.count == 16 else { try? AES.permute(&block, key: symmetric); return }
        block.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress else { return }
            lh_aes_encrypt_block(expanded.schedule, p, p)
        }
    }

    /// One block through swift-crypto's public AES (the key expanded for this block alone).
    public func swiftCryptoEncryptBlock(_ block: [UInt8]) -> [UInt8] {
        var b = block
        try? AES.permute(&b, key: symmetric)
        return b
    }

    /// One block through the expanded key (for tests).
    public func expandedEncryptBlock(_ block: [UInt8]) -> [UInt8] {
        var b = block
        encryptBlock(&b)
        return b
    }

    /// AES-128 decryption of one 16-byte block, in place.
    @inline(__always)
    func decryptBlock(_ block: inout [UInt8]) {
        try? AES.inversePermute(&block, key: symmetric)
    }

    /// The first four bytes of AES-CMAC (RFC 4493) over `head` (exactly 16 bytes: B0) followed by `message`, as a
    /// big-endian number in the order they are sent. Built on the AES block function with the subkeys
    /// precomputed, so a data frame's MIC costs one block operation per 16 bytes and no allocation beyond
    /// `scratch`; tests check it against swift-crypto's AES.CMAC.
    @inline(__always)
    func cmac4(head: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, scratch x: inout [UInt8]) -> UInt32 {
        // x holds the next block to encrypt, already XORed with the running CBC value.
        for j in 0..<16 { x[j] = head[j] }
        if message.isEmpty {
            // the head is the only, complete block
            for j in 0..<16 { x[j] ^= k1[j] }
        } else {
            var m = 0
            while message.count - m > 16 {
                encryptBlock(&x)
                for j in 0..<16 { x[j] ^= message[m + j] }
                m += 16
            }
            encryptBlock(&x)
            let rest = message.count - m
            if rest == 16 {
                for j in 0..<16 { x[j] ^= message[m + j] ^ k1[j] }
            } else {
                for j in 0..<16 {
                    let byte: UInt8 = j < rest ? message[m + j] : (j == rest ? 0x80 : 0)
                    x[j] ^= byte ^ k2[j]
                }
            }
        }
        encryptBlock(&x)
        return UInt32(x[0]) << 24 | UInt32(x[1]) << 16 | UInt32(x[2]) << 8 | UInt32(x[3])
    }

    /// The first four bytes of swift-crypto's AES-CMAC over `message`.
    func cmac4(_ message: UnsafeRawBufferPointer) -> UInt32 {
        var mac = cmacTemplate
        mac.update(bufferPointer: message)
        return mac.finalize().withUnsafeBytes { b in
            UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        }
    }

    /// The full 16-byte AES-CMAC from swift-crypto (RFC 4493).
    public func cmac(_ message: [UInt8]) -> [UInt8] {
        var mac = cmacTemplate
        message.withUnsafeBytes { mac.update(bufferPointer: $0) }
        return mac.finalize().withUnsafeBytes { Array($0) }
    }

    /// The same, computed with the block-function CMAC that data frames use (for tests).
    public func blockCMAC4(head: [UInt8], message: [UInt8]) -> UInt32 {
        var x = [UInt8](repeating: 0, count: 16)
        return head.withUnsafeBytes { h in message.withUnsafeBytes { cmac4(head: h, message: $0, scratch: &x) } }
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
        var scratch = [UInt8](repeating: 0, count: 16)
        cipherFRMPayload(&payload, range: 0..<payload.count, key: key, direction: direction, devAddr: devAddr,
                         fcnt: fcnt, scratch: &scratch)
    }

    /// Encrypts or decrypts `buffer[range]` in place, with a caller's 16-byte scratch block (no allocation).
    @inline(__always)
    static func cipherFRMPayload(_ buffer: inout [UInt8], range: Range<Int>, key: CryptoKey, direction: Direction,
                                 devAddr: DevAddr, fcnt: UInt32, scratch a: inout [UInt8]) {
        var i = range.lowerBound
        var counter: UInt8 = 1
        while i < range.upperBound {
            a[0] = 0x01; a[1] = 0; a[2] = 0; a[3] = 0; a[4] = 0
            a[5] = direction.rawValue
            a[6] = UInt8(truncatingIfNeeded: devAddr.value); a[7] = UInt8(truncatingIfNeeded: devAddr.value >> 8)
            a[8] = UInt8(truncatingIfNeeded: devAddr.value >> 16); a[9] = UInt8(truncatingIfNeeded: devAddr.value >> 24)
            a[10] = UInt8(truncatingIfNeeded: fcnt); a[11] = UInt8(truncatingIfNeeded: fcnt >> 8)
            a[12] = UInt8(truncatingIfNeeded: fcnt >> 16); a[13] = UInt8(truncatingIfNeeded: fcnt >> 24)
            a[14] = 0
            a[15] = counter
            key.encryptBlock(&a)
            let n = min(16, range.upperBound - i)
            for j in 0..<n { buffer[i + j] ^= a[j] }
            i += 16
            counter &+= 1
        }
    }

    /// Data-frame MIC: the first 4 bytes of AES-CMAC(NwkSKey, B0 | msg), B0 = 0x49 | 4 × 0x00 | Dir |
    /// DevAddr (LE) | FCnt (32-bit LE) | 0x00 | len(msg); msg = MHDR … FRMPayload.
    public static func dataMIC(key: CryptoKey, direction: Direction, devAddr: DevAddr, fcnt: UInt32,
                               message: UnsafeRawBufferPointer) -> UInt32 {
        var scratch = [UInt8](repeating: 0, count: 16)
        return dataMIC(key: key, direction: direction, devAddr: devAddr, fcnt: fcnt, message: message, scratch: &scratch)
    }

    @inline(__always)
    static func dataMIC(key: CryptoKey, direction: Direction, devAddr: DevAddr, fcnt: UInt32,
                        message: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> UInt32 {
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
            return key.cmac4(head: UnsafeRawBufferPointer(b), message: message, scratch: &scratch)
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
