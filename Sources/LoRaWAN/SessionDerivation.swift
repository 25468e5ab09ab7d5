import Foundation
import HarnessCore
#if canImport(Glibc)
import Glibc
#endif

/// An OTAA session computed from a join-request and the join-accept that answers it, with what it came from.
/// Keys have no text form; `session` holds them for a keys file.
public struct DerivedSession: Sendable {
    public var session: KeyStore.Session
    /// The root keys used (the device's row of the keys file).
    public var device: KeyStore.Device
    /// The join's fields; nil for a session taken from a capture's validation (which keeps only the keys).
    public var joinEUI: EUI64?
    public var devNonce: UInt16?
    public var joinNonce: UInt32?
    public var netID: UInt32?
    /// The join-accept's OptNeg bit: a LoRaWAN 1.1 join server (four session keys).
    public var optNeg: Bool?
    /// False when the join-accept may answer several join-requests and none has been confirmed by a frame
    /// (captures: `TraceValidator.derivedSessions`).
    public var settled: Bool = true

    public init(session: KeyStore.Session, device: KeyStore.Device, joinEUI: EUI64? = nil, devNonce: UInt16? = nil,
                joinNonce: UInt32? = nil, netID: UInt32? = nil, optNeg: Bool? = nil, settled: Bool = true) {
        self.session = session; self.device = device; self.joinEUI = joinEUI; self.devNonce = devNonce
        self.joinNonce = joinNonce; self.netID = netID; self.optNeg = optNeg; self.settled = settled
    }

    /// "1.1" for a session with the four 1.1 keys, else "1.0.x".
    public var version: String { session.isLoRaWAN11 ? "1.1" : "1.0.x" }
}

/// Session keys from a join (LoRaWAN 1.0.4 §6.2.5; LoRaWAN 1.1 §6.2.3).
public enum SessionDerivation {
    /// Derives the session that `joinAccept` opens for the device of `joinRequest`, with the root keys in `keys`.
    ///
    /// - A LoRaWAN 1.0.x device (one root key): the join-accept is decrypted and checked under the AppKey;
    ///   NwkSKey/AppSKey = aes128_encrypt(AppKey, 0x01/0x02 | JoinNonce | NetID | DevNonce | pad16).
    /// - A LoRaWAN 1.1 device (`nwkKey` and `appKey`): the join-accept is decrypted under the NwkKey. OptNeg set:
    ///   its MIC is checked under JSIntKey (derived from NwkKey and DevEUI) over JoinReqType 0xFF | JoinEUI |
    ///   DevNonce | …, and the four 1.1 keys are derived. OptNeg clear (a 1.0 network): the 1.0 MIC and
    ///   derivation with the NwkKey in the AppKey's place, a 1.0 session.
    ///
    /// Throws `InputError` when the frames cannot be read or the device has no root key, and `CheckFailure` when a
    /// MIC does not verify (wrong keys, or a join-accept that answers another join-request).
    public static func derive(joinRequest: [UInt8], joinAccept: [UInt8], keys: KeyStore,
                              requestSource: InputLocation = .argument("--join-request"),
                              acceptSource: InputLocation = .argument("--join-accept")) throws -> DerivedSession {
        let phy: PHYPayload
        do throws(FrameError) { phy = try FrameDecoder.decode(joinRequest) } catch {
            throw InputError(error.message + (error.field.map { " (field \($0))" } ?? ""), at: requestSource)
        }
        guard case .joinRequest(let request) = phy else {
            throw InputError("not a join-request (MHDR MType \(joinRequest.first.map { $0 >> 5 } ?? 0))", at: requestSource)
        }
        guard joinAccept.first.map({ $0 >> 5 }) == MType.joinAccept.rawValue else {
            throw InputError("not a join-accept (MHDR MType \(joinAccept.first.map { $0 >> 5 } ?? 0))", at: acceptSource)
        }
        guard let device = keys.device(for: request.devEUI) else {
            throw InputError("no root key for DevEUI \(request.devEUI) in the keys", at: .argument("--keys"))
        }
        let root = CryptoKey(device.rootNetworkKey)
        guard JoinCodec.verifyRequest(joinRequest, appKey: root).valid else {
            throw CheckFailure("the join-request's MIC does not verify with the \(device.isLoRaWAN11 ? "NwkKey" : "AppKey") of DevEUI \(request.devEUI): no session derived")
        }
        let accept: JoinAccept
        let valid: Bool
        do throws(FrameError) {
            if let nwkKey = device.nwkKey {
                let js = LoRaWANCrypto.joinServerKeys(nwkKey: CryptoKey(nwkKey), devEUI: request.devEUI)
                (accept, valid) = try JoinCodec.decryptAccept11(joinAccept, key: root, jsIntKey: js.jsIntKey, joinReqType: 0xFF,
                                                                joinEUI: request.joinEUI, devNonce: request.devNonce)
            } else {
                (accept, valid) = try JoinCodec.decryptAccept(joinAccept, appKey: root)
            }
        } catch {
            throw InputError(error.message, at: acceptSource)
        }
        guard valid else {
            if device.isLoRaWAN11 {
                throw CheckFailure("the join-accept's MIC does not verify with the NwkKey of DevEUI \(request.devEUI) (OptNeg \(accept.optNeg ? "set: JSIntKey over this join-request's JoinEUI and DevNonce" : "clear: the 1.0 MIC")): no session derived")
            }
            throw CheckFailure("the join-accept's MIC does not verify with the AppKey of DevEUI \(request.devEUI)"
                               + (accept.optNeg ? " (it reads with OptNeg set, as from a LoRaWAN 1.1 join server: give the device's nwkKey and appKey)" : "")
                               + ": no session derived")
        }
        let session: KeyStore.Session
        if let nwkKey = device.nwkKey, accept.optNeg {
            let k = LoRaWANCrypto.sessionKeys11(nwkKey: CryptoKey(nwkKey), appKey: CryptoKey(device.appKey), joinNonce: accept.joinNonce,
                                                joinEUI: request.joinEUI, devNonce: request.devNonce)
            session = KeyStore.Session(devAddr: accept.devAddr, fNwkSIntKey: k.fNwkSIntKey.key, sNwkSIntKey: k.sNwkSIntKey.key,
                                       nwkSEncKey: k.nwkSEncKey.key, appSKey: k.appSKey.key, devEUI: request.devEUI)
        } else {
            // 1.0.x, or a 1.1 device on a 1.0 network (OptNeg clear): the 1.0 derivation under the root key.
            let k = LoRaWANCrypto.sessionKeys10(appKey: root, appNonce: accept.joinNonce, netID: accept.netID, devNonce: request.devNonce)
            session = KeyStore.Session(devAddr: accept.devAddr, nwkSKey: k.nwkSKey, appSKey: k.appSKey, devEUI: request.devEUI)
        }
        return DerivedSession(session: session, device: device, joinEUI: request.joinEUI, devNonce: request.devNonce,
                              joinNonce: accept.joinNonce, netID: accept.netID, optNeg: accept.optNeg)
    }
}

/// Writes keys files: `devices:` and `sessions:` rows in the format `KeyStore.load` reads (hex upper-case).
public enum KeysFile {
    /// The `devices:` rows that make a file with these sessions complete: every device of `keys`, and for a root
    /// key given without a DevEUI (environment) one row per DevEUI of the sessions that has no entry.
    public static func devices(of keys: KeyStore, for sessions: [KeyStore.Session]) -> [KeyStore.Device] {
        var out = keys.devices
        for eui in sessions.compactMap(\.devEUI) where out[eui] == nil {
            if let d = keys.device(for: eui) { out[eui] = d }
        }
        return out.values.sorted { $0.devEUI < $1.devEUI }
    }

    /// The text of a keys file (YAML). It holds keys: write it only with `write(_:to:overwrite:)`.
    public static func text(devices: [KeyStore.Device], sessions: [KeyStore.Session], comment: String? = nil) -> String {
        func hex(_ k: AES128Key) -> String { Hex.encode(k.bytes, uppercase: true) }
        var lines: [String] = []
        if let comment { lines += comment.split(separator: "\n").map { "# " + $0 } }
        if !devices.isEmpty {
            lines.append("devices:")
            for d in devices {
                lines.append("  - devEUI: \(d.devEUI)")
                if let j = d.joinEUI { lines.append("    joinEUI: \(j)") }
                lines.append("    appKey: \(hex(d.appKey))")
                if let n = d.nwkKey { lines.append("    nwkKey: \(hex(n))") }
            }
        }
        if !sessions.isEmpty {
            lines.append("sessions:")
            for s in sessions {
                lines.append("  - devAddr: \(s.devAddr)")
                if let e = s.devEUI { lines.append("    devEUI: \(e)") }
                if let k = s.lorawan11 {
                    lines.append("    fNwkSIntKey: \(hex(s.nwkSKey))")
                    lines.append("    sNwkSIntKey: \(hex(k.sNwkSIntKey))")
                    lines.append("    nwkSEncKey: \(hex(k.nwkSEncKey))")
                } else {
                    lines.append("    nwkSKey: \(hex(s.nwkSKey))")
                }
                lines.append("    appSKey: \(hex(s.appSKey))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path` with mode 600, never readable by others at any moment: a new file is made beside
    /// it (O_EXCL, mode 600) and linked in place (refused when `path` exists) or, with `overwrite`, renamed over
    /// it. The directory is made when missing. Errors are placed at `location` and never show the text.
    public static func write(_ text: String, to path: String, overwrite: Bool, location: InputLocation) throws(InputError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw InputError("\(path) is a directory, not a file", at: location) }
            if !overwrite { throw InputError("\(path) exists: give --force to replace it", at: location) }
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !fm.fileExists(atPath: dir) {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            catch { throw InputError("cannot make the directory \(dir): \(String(cString: strerror(errno)))", at: location) }
        }
        let temp = (dir.isEmpty ? "" : dir + "/") + ".\((path as NSString).lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw InputError("cannot write the file: \(String(cString: strerror(errno)))", at: location) }
        let bytes = Array(text.utf8)
        var done = 0
        var failure: Int32 = 0
        if fchmod(fd, 0o600) != 0 { failure = errno }
        while failure == 0, done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno != EINTR { failure = errno } } else { done += n }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 {
            if overwrite {
                if rename(temp, path) != 0 { failure = errno }
            } else if link(temp, path) != 0 {
                failure = errno
            }
        }
        unlink(temp)
        if failure == EEXIST { throw InputError("\(path) exists: give --force to replace it", at: location) }
        if failure != 0 { throw InputError("cannot write the file: \(String(cString: strerror(failure)))", at: location) }
    }
}
