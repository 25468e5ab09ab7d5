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
///     sessions:                      # session keys, per DevAddr (ABP, or an OTAA session captured)
///       - devAddr: 26011BDA
///         nwkSKey: ...
///         appSKey: ...
///         devEUI: 70B3D57ED0000001   # optional: ties the session to its device
///
/// Environment: `LORAHARNESS_KEYS` names a keys file; `LORAHARNESS_APPKEY` (with `LORAHARNESS_DEVEUI`),
/// `LORAHARNESS_NWKSKEY` and `LORAHARNESS_APPSKEY` (with `LORAHARNESS_DEVADDR`) give one device's keys.
public struct KeyStore: Sendable {
    public struct Device: Sendable {
        public var devEUI: EUI64
        public var joinEUI: EUI64?
        public var appKey: AES128Key
    }

    public struct Session: Sendable {
        public var devAddr: DevAddr
        public var nwkSKey: AES128Key
        public var appSKey: AES128Key
        public var devEUI: EUI64?
        public init(devAddr: DevAddr, nwkSKey: AES128Key, appSKey: AES128Key, devEUI: EUI64?) {
            self.devAddr = devAddr; self.nwkSKey = nwkSKey; self.appSKey = appSKey; self.devEUI = devEUI
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
        let doc = try DocumentNode.load(path: path)
        var store = KeyStore()
        store.sources = [path]
        try doc.allowOnly(["devices", "sessions"])
        for d in try doc.optional("devices")?.array() ?? [] {
            try d.allowOnly(["devEUI", "joinEUI", "appEUI", "appKey", "nwkKey", "name"])
            let eui = try d.require("devEUI").eui()
            let join = try d.optional(anyOf: "joinEUI", "appEUI")?.eui()
            guard let keyNode = try d.optional(anyOf: "appKey", "nwkKey") else { throw d.error("missing field 'appKey'") }
            let key = try keyNode.aesKey()
            if store.devices[eui] != nil { throw d.error("DevEUI \(eui) is listed twice") }
            store.add(Device(devEUI: eui, joinEUI: join, appKey: key))
        }
        for s in try doc.optional("sessions")?.array() ?? [] {
            try s.allowOnly(["devAddr", "nwkSKey", "appSKey", "devEUI", "name"])
            let addr = try s.require("devAddr").devAddr()
            if store.sessions[addr] != nil { throw s.error("DevAddr \(addr) is listed twice") }
            store.add(Session(devAddr: addr, nwkSKey: try s.require("nwkSKey").aesKey(),
                              appSKey: try s.require("appSKey").aesKey(),
                              devEUI: try s.optional("devEUI")?.eui()))
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
