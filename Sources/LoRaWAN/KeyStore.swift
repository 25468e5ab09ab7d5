import Foundation
import HarnessCore

/// The keys of devices and sessions, from one keys file (YAML or JSON) or environment variables. Keys never come
/// from command-line arguments (which `ps` shows) and are never printed: `AES128Key` has no text form.
///
/// Keys file:
///
///     devices:                       # OTAA root keys, per DevEUI
///       - devEUI: 70B3D57ED0000001
///         joinEUI: 0000000000000000  # optional (AppEUI)
///         appKey: 2B7E151628AED2A6ABF7158809CF4F3C
///         nwkKey: ...                # optional: with appKey, a LoRaWAN 1.1 device
///     sessions:                      # session keys, per DevAddr (ABP, or an OTAA session captured)
///       - devAddr: 26011BDA
///         nwkSKey: ...
///         appSKey: ...
///         devEUI: 70B3D57ED0000001   # optional: ties the session to its device
///       - devAddr: 26011BDB          # a LoRaWAN 1.1 session: four keys instead of nwkSKey
///         fNwkSIntKey: ...
///         sNwkSIntKey: ...
///         nwkSEncKey: ...
///         appSKey: ...
///
/// A device with one root key (`appKey`, or `nwkKey` alone, an alias) is LoRaWAN 1.0.x: that key is the AppKey and
/// plays the NwkKey's part too. With both it is LoRaWAN 1.1 (join-requests and join-accepts under the NwkKey, the
/// AppSKey derived from the AppKey). A session gives either the 1.0 pair or the whole 1.1 set; a mix, or part of
/// the 1.1 set, is an error naming the line and field.
///
/// Environment: `LORAHARNESS_KEYS` names a keys file; `LORAHARNESS_APPKEY` (with `LORAHARNESS_DEVEUI`),
/// `LORAHARNESS_NWKSKEY` and `LORAHARNESS_APPSKEY` (with `LORAHARNESS_DEVADDR`) give one device's keys.
public struct KeyStore: Sendable {
    public struct Device: Sendable {
        public var devEUI: EUI64
        public var joinEUI: EUI64?
        /// The AppKey; for a LoRaWAN 1.0.x device (`nwkKey` nil) the only root key.
        public var appKey: AES128Key
        /// The LoRaWAN 1.1 NwkKey; nil for a 1.0.x device.
        public var nwkKey: AES128Key?

        public init(devEUI: EUI64, joinEUI: EUI64?, appKey: AES128Key, nwkKey: AES128Key? = nil) {
            self.devEUI = devEUI; self.joinEUI = joinEUI; self.appKey = appKey; self.nwkKey = nwkKey
        }

        /// A LoRaWAN 1.1 device (both root keys known).
        public var isLoRaWAN11: Bool { nwkKey != nil }
        /// The key in the NwkKey's part: it signs join-requests (and rejoin-requests type 1 through JSIntKey) and
        /// encrypts join-accepts. NwkKey for 1.1, the AppKey for 1.0.x.
        public var rootNetworkKey: AES128Key { nwkKey ?? appKey }
    }

    /// The two network session keys a LoRaWAN 1.1 session has besides FNwkSIntKey (held in `Session.nwkSKey`).
    public struct Session11Keys: Sendable, Equatable {
        public var sNwkSIntKey: AES128Key
        public var nwkSEncKey: AES128Key
        public init(sNwkSIntKey: AES128Key, nwkSEncKey: AES128Key) {
            self.sNwkSIntKey = sNwkSIntKey; self.nwkSEncKey = nwkSEncKey
        }
    }

    public struct Session: Sendable {
        public var devAddr: DevAddr
        /// NwkSKey in LoRaWAN 1.0.x; FNwkSIntKey in a 1.1 session.
        public var nwkSKey: AES128Key
        public var appSKey: AES128Key
        public var devEUI: EUI64?
        /// SNwkSIntKey and NwkSEncKey of a LoRaWAN 1.1 session; nil for 1.0.x.
        public var lorawan11: Session11Keys?

        /// A LoRaWAN 1.0.x session.
        public init(devAddr: DevAddr, nwkSKey: AES128Key, appSKey: AES128Key, devEUI: EUI64?) {
            self.devAddr = devAddr; self.nwkSKey = nwkSKey; self.appSKey = appSKey; self.devEUI = devEUI
        }

        /// A LoRaWAN 1.1 session.
        public init(devAddr: DevAddr, fNwkSIntKey: AES128Key, sNwkSIntKey: AES128Key, nwkSEncKey: AES128Key,
                    appSKey: AES128Key, devEUI: EUI64?) {
            self.init(devAddr: devAddr, nwkSKey: fNwkSIntKey, appSKey: appSKey, devEUI: devEUI)
            lorawan11 = Session11Keys(sNwkSIntKey: sNwkSIntKey, nwkSEncKey: nwkSEncKey)
        }

        public var isLoRaWAN11: Bool { lorawan11 != nil }

        /// The four keys of a LoRaWAN 1.1 session, made ready for use; nil for a 1.0.x session.
        public var lorawan11Keys: LoRaWAN11Keys? {
            guard let k = lorawan11 else { return nil }
            return LoRaWAN11Keys(fNwkSIntKey: nwkSKey, sNwkSIntKey: k.sNwkSIntKey, nwkSEncKey: k.nwkSEncKey, appSKey: appSKey)
        }
    }

    public private(set) var devices: [EUI64: Device] = [:]
    public private(set) var sessions: [DevAddr: Session] = [:]
    /// A device key given without a DevEUI (environment), used for any DevEUI.
    public private(set) var anyDeviceAppKey: AES128Key?
    /// Session keys given without a DevAddr (environment), used for any DevAddr.
    public private(set) var anySession: (nwkSKey: AES128Key, appSKey: AES128Key)?
    /// Where the keys came from, for messages (never the keys themselves).
    public private(set) var sources: [String] = []

    public init() {}

    public var isEmpty: Bool { devices.isEmpty && sessions.isEmpty && anyDeviceAppKey == nil && anySession == nil }

    public mutating func add(_ d: Device) { devices[d.devEUI] = d }
    public mutating func add(_ s: Session) { sessions[s.devAddr] = s }

    public func appKey(for devEUI: EUI64) -> AES128Key? { devices[devEUI]?.appKey ?? anyDeviceAppKey }

    /// The device's root keys: its entry, or a 1.0.x device with the key given for any DevEUI.
    public func device(for devEUI: EUI64) -> Device? {
        if let d = devices[devEUI] { return d }
        return anyDeviceAppKey.map { Device(devEUI: devEUI, joinEUI: nil, appKey: $0) }
    }

    /// The key that signs this device's join-requests and encrypts its join-accepts (`Device.rootNetworkKey`).
    public func rootNetworkKey(for devEUI: EUI64) -> AES128Key? { device(for: devEUI)?.rootNetworkKey }

    /// The LoRaWAN 1.1 session keys for a DevAddr; nil when its session is 1.0.x or unknown.
    public func lorawan11Keys(for devAddr: DevAddr) -> LoRaWAN11Keys? { sessions[devAddr]?.lorawan11Keys }

    /// The LoRaWAN 1.1 session that checks a rejoin-request of type 0 or 2 from `devEUI`: the one named by
    /// `devAddr` when given, else the only 1.1 session tied to that DevEUI. Nil when there is none or several.
    public func session11(devEUI: EUI64, devAddr: DevAddr?) -> Session? {
        if let devAddr { return sessions[devAddr].flatMap { $0.isLoRaWAN11 ? $0 : nil } }
        let tied = sessions.values.filter { $0.isLoRaWAN11 && $0.devEUI == devEUI }
        return tied.count == 1 ? tied.first : nil
    }

    public func sessionKeys(for devAddr: DevAddr) -> (nwkSKey: AES128Key, appSKey: AES128Key)? {
        if let s = sessions[devAddr] { return (s.nwkSKey, s.appSKey) }
        return anySession
    }

    /// Loads a keys file. Errors name file, line and field, never a key's value. A file that others can read
    /// gives a warning through `warn`.
    public static func load(path: String, warn: (String) -> Void = { _ in }) throws(InputError) -> KeyStore {
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path), attrs[.type] as? FileAttributeType == .typeRegular,
           let mode = attrs[.posixPermissions] as? Int, mode & 0o077 != 0 {
            warn("keys file \(path) is readable by other users (mode \(String(mode & 0o777, radix: 8))); run 'chmod 600 \(path)'")
        }
        var store = try parse(try DocumentNode.load(path: path))
        store.sources = [path]
        return store
    }

    /// Reads a keys document (the `devices` and `sessions` lists); errors name line and field, never a key's value.
    public static func parse(_ doc: DocumentNode) throws(InputError) -> KeyStore {
        var store = KeyStore()
        store.sources = [doc.file]
        try doc.allowOnly(["devices", "sessions"])
        for d in try doc.optional("devices")?.array() ?? [] {
            try d.allowOnly(["devEUI", "joinEUI", "appEUI", "appKey", "nwkKey", "name"])
            let eui = try d.require("devEUI").eui()
            let join = try d.optional(anyOf: "joinEUI", "appEUI")?.eui()
            let app = try d.optional("appKey")?.aesKey(), nwk = try d.optional("nwkKey")?.aesKey()
            if store.devices[eui] != nil { throw d.error("DevEUI \(eui) is listed twice") }
            switch (app, nwk) {
            case let (app?, nwk?): store.add(Device(devEUI: eui, joinEUI: join, appKey: app, nwkKey: nwk))
            // One root key: LoRaWAN 1.0.x, where the AppKey is the root key (nwkKey alone is an alias).
            case let (key?, nil), let (nil, key?): store.add(Device(devEUI: eui, joinEUI: join, appKey: key))
            case (nil, nil): throw d.error("missing field 'appKey'")
            }
        }
        let keys11 = ["fNwkSIntKey", "sNwkSIntKey", "nwkSEncKey"]
        for s in try doc.optional("sessions")?.array() ?? [] {
            try s.allowOnly(Set(["devAddr", "nwkSKey", "appSKey", "devEUI", "name"] + keys11))
            let addr = try s.require("devAddr").devAddr()
            if store.sessions[addr] != nil { throw s.error("DevAddr \(addr) is listed twice") }
            let devEUI = try s.optional("devEUI")?.eui()
            var given11: [String] = []
            for k in keys11 { if try s.optional(k) != nil { given11.append(k) } }
            if given11.isEmpty {
                store.add(Session(devAddr: addr, nwkSKey: try s.require("nwkSKey").aesKey(),
                                  appSKey: try s.require("appSKey").aesKey(), devEUI: devEUI))
                continue
            }
            if let n = try s.optional("nwkSKey") {
                throw n.error("nwkSKey is a LoRaWAN 1.0 key and this session gives LoRaWAN 1.1 keys (\(given11.joined(separator: ", "))): give nwkSKey and appSKey (1.0), or fNwkSIntKey, sNwkSIntKey, nwkSEncKey and appSKey (1.1)")
            }
            for k in keys11 where !given11.contains(k) {
                throw s.error("a LoRaWAN 1.1 session needs fNwkSIntKey, sNwkSIntKey, nwkSEncKey and appSKey: field '\(k)' is missing")
            }
            store.add(Session(devAddr: addr, fNwkSIntKey: try s.require("fNwkSIntKey").aesKey(),
                              sNwkSIntKey: try s.require("sNwkSIntKey").aesKey(), nwkSEncKey: try s.require("nwkSEncKey").aesKey(),
                              appSKey: try s.require("appSKey").aesKey(), devEUI: devEUI))
        }
        return store
    }

    /// Keys from the environment (see the type's documentation). Errors name the variable, never its value.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment,
                                       warn: (String) -> Void = { _ in }) throws(InputError) -> KeyStore {
        var store = KeyStore()
        if let path = env["LORAHARNESS_KEYS"], !path.isEmpty {
            store = try load(path: path, warn: warn)
        }
        func key(_ name: String) throws(InputError) -> AES128Key? {
            guard let v = env[name], !v.isEmpty else { return nil }
            do { return try AES128Key(hex: v) } catch { throw InputError(error.message, at: .argument("environment variable \(name)")) }
        }
        if let appKey = try key("LORAHARNESS_APPKEY") {
            if let e = env["LORAHARNESS_DEVEUI"], !e.isEmpty {
                do { store.add(Device(devEUI: try EUI64(hex: e), joinEUI: nil, appKey: appKey)) }
                catch { throw InputError(error.message, at: .argument("environment variable LORAHARNESS_DEVEUI")) }
            } else {
                store.anyDeviceAppKey = appKey
            }
            store.sources.append("LORAHARNESS_APPKEY")
        }
        let nwk = try key("LORAHARNESS_NWKSKEY"), app = try key("LORAHARNESS_APPSKEY")
        if (nwk == nil) != (app == nil) {
            throw InputError("set both LORAHARNESS_NWKSKEY and LORAHARNESS_APPSKEY, or neither",
                             at: .argument("environment"))
        }
        if let nwk, let app {
            if let a = env["LORAHARNESS_DEVADDR"], !a.isEmpty {
                do { store.add(Session(devAddr: try DevAddr(hex: a), nwkSKey: nwk, appSKey: app, devEUI: nil)) }
                catch { throw InputError(error.message, at: .argument("environment variable LORAHARNESS_DEVADDR")) }
            } else {
                store.anySession = (nwk, app)
            }
            store.sources.append("LORAHARNESS_NWKSKEY/APPSKEY")
        }
        return store
    }

    /// A keys file when given, else the environment.
    public static func resolve(path: String?, warn: (String) -> Void = { _ in }) throws(InputError) -> KeyStore {
        if let path { return try load(path: path, warn: warn) }
        return try fromEnvironment(warn: warn)
    }
}

extension DocumentNode {
    public func eui() throws(InputError) -> EUI64 {
        let s = try string()
        do { return try EUI64(hex: s) } catch { throw self.error(error.message) }
    }

    public func devAddr() throws(InputError) -> DevAddr {
        let s = try string()
        do { return try DevAddr(hex: s) } catch { throw self.error(error.message) }
    }

    /// A key: the error names the line and field, never the value.
    public func aesKey() throws(InputError) -> AES128Key {
        let s = try string()
        do { return try AES128Key(hex: s) } catch { throw self.error(error.message) }
    }
}
