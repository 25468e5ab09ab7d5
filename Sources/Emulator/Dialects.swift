import CFirmware
import Foundation
import HarnessCore
import LoRaWAN
import RadioLink
import Serial

/// A board's command language on top of the emulated device: the immediate answer to a command line, and the
/// event lines the radio's happenings cause later.
protocol DialectHandler: AnyObject {
    /// The board sends each command line back before its answer.
    var echo: Bool { get set }
    func banner(emulator: Emulator) -> [String]
    func handle(_ line: String, emulator: Emulator) -> [String]
    func radioEvent(_ e: RadioEvent, emulator: Emulator)
}

private func isHex(_ s: Substring) -> Bool { !s.isEmpty && s.count % 2 == 0 && s.allSatisfy(\.isHexDigit) }

private func hexBytes(_ s: Substring) -> [UInt8]? {
    guard isHex(s) || s.isEmpty else { return nil }
    return try? Hex.decode(String(s))
}

/// RAK's RUI3 AT commands (RUI3 AT Command Manual), and for this project's sensor the firmware's ATC+ commands.
final class RUI3Dialect: DialectHandler {
    /// Off by default; `ATE` toggles it and the setting persists (RUI3 keeps it in flash).
    var echo = false
    var confirmed = false
    var lastSendConfirmed = false

    func banner(emulator: Emulator) -> [String] {
        // The firmware (when in the loop) prints its own banner after RUI3's.
        ["RAKwireless RAK3172-E Example", "------------------------------------------------------", "Version: RUI_4.0.6_RAK3172-E",
         "Current Work Mode: LoRaWAN."]
    }

    func handle(_ line: String, emulator e: Emulator) -> [String] {
        let d = e.device
        let upper = line.uppercased()
        if upper.hasPrefix("ATC+") {
            guard e.options.profile.firmwareConsole else { return ["AT_COMMAND_NOT_FOUND"] }
            d.console(line)   // the firmware writes its answer (and OK) itself
            return []
        }
        func split(_ prefix: String) -> Substring? { upper.hasPrefix(prefix) ? line.dropFirst(prefix.count) : nil }
        switch upper {
        case "AT": return ["OK"]
        case "AT+VER=?": return ["AT+VER=RUI_4.0.6_RAK3172-E", "OK"]
        case "AT+DEVEUI=?": return ["AT+DEVEUI=" + Hex.encode(d.devEUI.bigEndianBytes), "OK"]
        case "AT+APPEUI=?": return ["AT+APPEUI=" + Hex.encode(d.joinEUI.bigEndianBytes), "OK"]
        case "AT+APPKEY=?": return ["AT+APPKEY=" + (d.appKey.map { Hex.encode($0.bytes) } ?? String(repeating: "0", count: 32)), "OK"]
        case "AT+NJS=?": return ["AT+NJS=\(d.joined ? 1 : 0)", "OK"]
        case "AT+DR=?": return ["AT+DR=\(d.reportedDataRate)", "OK"]
        case "ATE":
            echo.toggle()
            return ["OK"]
        // A query of the join settings (join, auto-join, interval, attempts), not a join.
        case "AT+JOIN=?": return ["AT+JOIN=0:0:10:8", "OK"]
        case "AT+RSSI=?": return ["AT+RSSI=\(d.lastDownlink == nil ? 0 : -50)", "OK"]
        case "AT+SNR=?": return ["AT+SNR=\(d.lastDownlink == nil ? 0 : 10)", "OK"]
        case "AT+ADR=?": return ["AT+ADR=\(d.adr ? 1 : 0)", "OK"]
        case "AT+CFM=?": return ["AT+CFM=\(confirmed ? 1 : 0)", "OK"]
        case "AT+BAND=?":
            let code = e.options.profile.regions[d.region.id.rawValue] ?? "4"
            return ["AT+BAND=\(code)", "OK"]
        case "ATZ":
            e.device.boot(at: e.now, cause: OCC_RESET_SOFTWARE, dialect: self, emulator: e)
            return []
        default: break
        }
        if let v = split("AT+DEVEUI=") {
            guard v.count == 16, isHex(v), let x = UInt64(v, radix: 16) else { return ["AT_PARAM_ERROR"] }
            d.devEUI = EUI64(x)
            return ["OK"]
        }
        if let v = split("AT+APPEUI=") {
            guard v.count == 16, isHex(v), let x = UInt64(v, radix: 16) else { return ["AT_PARAM_ERROR"] }
            d.joinEUI = EUI64(x)
            return ["OK"]
        }
        if let v = split("AT+APPKEY=") {
            guard v.count == 32, let b = hexBytes(v), let k = try? AES128Key(bytes: b) else { return ["AT_PARAM_ERROR"] }
            d.appKey = k
            return ["OK"]
        }
        if let v = split("AT+BAND=") {
            guard let name = e.options.profile.regions.first(where: { $0.value == String(v) })?.key, let id = try? RegionID.parse(name) else {
                return ["AT_PARAM_ERROR"]
            }
            d.region = id.parameters
            return ["OK"]
        }
        if let v = split("AT+DR=") {
            guard let dr = Int(v), d.region.dataRate(dr)?.modulation.lora != nil, d.region.maxApplicationPayload(dr: dr) != nil else { return ["AT_PARAM_ERROR"] }
            d.setDataRate(dr)
            return ["OK"]
        }
        if let v = split("AT+ADR=") {
            guard v == "0" || v == "1" else { return ["AT_PARAM_ERROR"] }
            d.adr = v == "1"
            d.mac?.setADR(d.adr)
            return ["OK"]
        }
        if let v = split("AT+CFM=") {
            guard v == "0" || v == "1" else { return ["AT_PARAM_ERROR"] }
            confirmed = v == "1"
            return ["OK"]
        }
        if upper == "AT+JOIN" || upper.hasPrefix("AT+JOIN=") {
            guard d.appKey != nil else { return ["AT_PARAM_ERROR"] }
            guard d.join() else { return ["AT_ERROR"] }
            return ["OK"]
        }
        if let v = split("AT+SEND=") {
            let parts = v.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let port = UInt8(parts[0]), (1...223).contains(port), let bytes = hexBytes(parts[1]) else { return ["AT_PARAM_ERROR"] }
            lastSendConfirmed = confirmed
            switch d.send(port: port, payload: bytes, confirmed: confirmed) {
            case .ok: return ["OK"]
            case .notJoined: return ["AT_NO_NETWORK_JOINED"]
            case .busy: return ["AT_BUSY_ERROR"]
            // LoRaMac-node's time credits: the wait until the band has enough for this frame, in whole ms.
            case .dutyCycle(let wait): return ["Restricted_Wait_\((wait + Time.millisecond - 1) / Time.millisecond)_ms", "AT_BUSY_ERROR"]
            case .tooLong: return ["AT_PARAM_ERROR"]
            }
        }
        return ["AT_COMMAND_NOT_FOUND"]
    }

    func radioEvent(_ event: RadioEvent, emulator e: Emulator) {
        switch event {
        case .joined: e.emit("+EVT:JOINED")
        case .joinFailed: e.emit("+EVT:JOIN_FAILED_RX_TIMEOUT")
        case .sendDone(let acked, let downlink):
            if let dl = downlink { e.emit("+EVT:RX_1:-50:10:UNICAST:\(dl.port):" + Hex.encode(dl.payload)) }
            if lastSendConfirmed { e.emit(acked ? "+EVT:SEND_CONFIRMED_OK" : "+EVT:SEND_CONFIRMED_FAILED(4)") } else { e.emit("+EVT:TX_DONE") }
        }
    }
}

/// Seeed's Wio-E5 AT firmware (LoRa-E5 AT Command Specification): `+CMD: text` answers.
final class WioE5Dialect: DialectHandler {
    var echo = false
    func banner(emulator: Emulator) -> [String] { [] }

    /// `+DR: DR5` then `+DR: EU868 DR5  SF7  BW125K` (columns as a captured Wio-E5 prints them).
    private func dataRateLines(_ d: EmulatedDevice) -> [String] {
        let dr = d.reportedDataRate
        guard let m = d.region.dataRate(dr)?.modulation.lora else { return ["+DR: DR\(dr)"] }
        let sf = "SF\(m.spreadingFactor)".padding(toLength: 4, withPad: " ", startingAt: 0)
        return ["+DR: DR\(dr)", "+DR: \(d.region.id.rawValue) DR\(dr)  \(sf) BW\(Int(m.bandwidth.hertz / 1000))K"]
    }

    private func colonEUI(_ e: EUI64) -> String { e.bigEndianBytes.map { String(format: "%02X", $0) }.joined(separator: ":") }

    private func quoted(_ s: Substring) -> Substring {
        var v = s.trimmingCharacters(in: .whitespaces)[...]
        if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = v.dropFirst().dropLast() }
        return Substring(v.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: ":", with: ""))
    }

    func handle(_ line: String, emulator e: Emulator) -> [String] {
        let d = e.device
        let upper = line.uppercased()
        switch upper {
        case "AT": return ["+AT: OK"]
        case "AT+VER", "AT+VER?": return ["+VER: 4.0.11"]
        case "AT+ID=DEVEUI": return ["+ID: DevEui, " + colonEUI(d.devEUI)]
        case "AT+ID=APPEUI": return ["+ID: AppEui, " + colonEUI(d.joinEUI)]
        case "AT+RESET":
            d.boot(at: e.now, cause: OCC_RESET_SOFTWARE, dialect: self, emulator: e)
            return ["+RESET: OK"]
        case "AT+JOIN":
            guard d.appKey != nil else { return ["+JOIN: Start", "+JOIN: NORMAL", "+JOIN: Join failed", "+JOIN: Done"] }
            guard d.join() else { return ["+JOIN: ERROR(-1)"] }
            return ["+JOIN: Start", "+JOIN: NORMAL"]
        default: break
        }
        if upper.hasPrefix("AT+ID=DEVEUI,") || upper.hasPrefix("AT+ID=APPEUI,") {
            let v = quoted(line.dropFirst("AT+ID=DEVEUI,".count))
            guard v.count == 16, let x = UInt64(v, radix: 16) else { return ["+ID: ERROR(-1)"] }
            if upper.hasPrefix("AT+ID=DEVEUI,") {
                d.devEUI = EUI64(x)
                return ["+ID: DevEui, " + colonEUI(d.devEUI)]
            }
            d.joinEUI = EUI64(x)
            return ["+ID: AppEui, " + colonEUI(d.joinEUI)]
        }
        if upper.hasPrefix("AT+KEY=APPKEY,") {
            let v = quoted(line.dropFirst("AT+KEY=APPKEY,".count))
            guard v.count == 32, let b = hexBytes(v), let k = try? AES128Key(bytes: b) else { return ["+KEY: ERROR(-1)"] }
            d.appKey = k
            return ["+KEY: APPKEY " + Hex.encode(b, uppercase: true)]
        }
        if upper == "AT+DR" || upper == "AT+DR=?" { return dataRateLines(d) }
        if upper == "AT+ADR" || upper == "AT+ADR=?" { return ["+ADR: \(d.adr ? "ON" : "OFF")"] }
        if upper.hasPrefix("AT+DR=") {
            let v = line.dropFirst(6)
            if let dr = Int(v) {
                guard d.region.dataRate(dr)?.modulation.lora != nil, d.region.maxApplicationPayload(dr: dr) != nil else { return ["+DR: ERROR(-1)"] }
                d.setDataRate(dr)
                return dataRateLines(d)
            }
            guard let id = try? RegionID.parse(String(v)) else { return ["+DR: ERROR(-1)"] }
            d.region = id.parameters
            return ["+DR: \(id.rawValue)"]
        }
        if upper.hasPrefix("AT+ADR=") {
            let v = upper.dropFirst(7)
            guard v == "ON" || v == "OFF" else { return ["+ADR: ERROR(-1)"] }
            d.adr = v == "ON"
            d.mac?.setADR(d.adr)
            return ["+ADR: \(v)"]
        }
        if upper.hasPrefix("AT+PORT=") {
            guard let p = UInt8(line.dropFirst(8)), (1...223).contains(p) else { return ["+PORT: ERROR(-1)"] }
            d.port = p
            return ["+PORT: \(p)"]
        }
        if upper.hasPrefix("AT+MSGHEX=") {
            let v = quoted(line.dropFirst(10))
            guard let bytes = hexBytes(v) else { return ["+MSGHEX: ERROR(-1)"] }
            switch d.send(port: d.port, payload: bytes, confirmed: false) {
            case .ok: return ["+MSGHEX: Start"]
            case .notJoined: return ["+MSGHEX: Please join network first"]
            // The wait as LoRaMac-node-based AT firmware prints it (a host library's capture of "+MSG: No band in 13469ms").
            case .dutyCycle(let wait): return ["+MSGHEX: No band in \((wait + Time.millisecond - 1) / Time.millisecond)ms"]
            case .busy: return ["+MSGHEX: LoRaWAN modem is busy"]
            case .tooLong: return ["+MSGHEX: Length error 0"]
            }
        }
        return ["+AT: ERROR(-1)"]
    }

    func radioEvent(_ event: RadioEvent, emulator e: Emulator) {
        switch event {
        case .joined(let addr):
            e.emit("+JOIN: Network joined")
            let a = addr.value
            e.emit(String(format: "+JOIN: NetID 000013 DevAddr %02X:%02X:%02X:%02X", (a >> 24) & 0xFF, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF))
            e.emit("+JOIN: Done")
        case .joinFailed:
            e.emit("+JOIN: Join failed")
            e.emit("+JOIN: Done")
        case .sendDone(_, let downlink):
            if let dl = downlink {
                e.emit("+MSGHEX: PORT: \(dl.port); RX: \"\(Hex.encode(dl.payload, uppercase: true))\"")
                e.emit("+MSGHEX: RXWIN1, RSSI -50, SNR 10.0")
            }
            e.emit("+MSGHEX: Done")
        }
    }
}

/// Microchip RN2483 (Command Reference User's Guide DS40001784): lower-case text commands, bare answers.
final class RN2483Dialect: DialectHandler {
    var echo = false
    static let version = "RN2483 1.0.4 Oct 12 2017 14:59:25"
    var lastConfirmed = false

    func banner(emulator: Emulator) -> [String] { [RN2483Dialect.version] }

    func handle(_ line: String, emulator e: Emulator) -> [String] {
        let d = e.device
        let words = line.split(separator: " ").map(String.init)
        let lower = words.map { $0.lowercased() }
        switch lower.prefix(3).joined(separator: " ") {
        case "sys get ver": return [RN2483Dialect.version]
        case "sys get hweui", "mac get deveui": return [Hex.encode(d.devEUI.bigEndianBytes, uppercase: true)]
        case "mac get appeui": return [Hex.encode(d.joinEUI.bigEndianBytes, uppercase: true)]
        case "mac get dr": return ["\(d.reportedDataRate)"]
        case "mac get adr": return [d.adr ? "on" : "off"]
        case "sys reset":
            d.boot(at: e.now, cause: OCC_RESET_SOFTWARE, dialect: self, emulator: e)
            return []
        case "mac join otaa":
            guard d.appKey != nil else { return ["keys_not_init"] }
            guard d.join() else { return ["invalid_param"] }
            return ["ok"]
        default: break
        }
        if lower.count == 4 && lower[0] == "mac" && lower[1] == "set" {
            let v = words[3]
            switch lower[2] {
            case "deveui", "appeui":
                guard v.count == 16, let x = UInt64(v, radix: 16) else { return ["invalid_param"] }
                if lower[2] == "deveui" { d.devEUI = EUI64(x) } else { d.joinEUI = EUI64(x) }
                return ["ok"]
            case "appkey":
                guard v.count == 32, let b = hexBytes(v[...]), let k = try? AES128Key(bytes: b) else { return ["invalid_param"] }
                d.appKey = k
                return ["ok"]
            case "dr":
                guard let dr = Int(v), d.region.dataRate(dr)?.modulation.lora != nil, d.region.maxApplicationPayload(dr: dr) != nil else { return ["invalid_param"] }
                d.setDataRate(dr)
                return ["ok"]
            case "adr":
                guard v == "on" || v == "off" else { return ["invalid_param"] }
                d.adr = v == "on"
                d.mac?.setADR(d.adr)
                return ["ok"]
            default:
                return ["invalid_param"]
            }
        }
        if lower.count == 5 && lower[0] == "mac" && lower[1] == "tx" && (lower[2] == "uncnf" || lower[2] == "cnf") {
            guard let port = UInt8(lower[3]), (1...223).contains(port), let bytes = hexBytes(words[4][...]) else { return ["invalid_param"] }
            lastConfirmed = lower[2] == "cnf"
            switch d.send(port: port, payload: bytes, confirmed: lastConfirmed) {
            case .ok: return ["ok"]
            case .notJoined: return ["not_joined"]
            case .dutyCycle: return ["no_free_ch"]
            case .busy: return ["busy"]
            case .tooLong: return ["invalid_data_len"]
            }
        }
        return ["invalid_param"]
    }

    func radioEvent(_ event: RadioEvent, emulator e: Emulator) {
        switch event {
        case .joined: e.emit("accepted")
        case .joinFailed: e.emit("denied")
        case .sendDone(let acked, let downlink):
            if lastConfirmed && !acked { e.emit("mac_err"); return }
            if let dl = downlink { e.emit("mac_rx \(dl.port) " + Hex.encode(dl.payload, uppercase: true)) } else { e.emit("mac_tx_ok") }
        }
    }
}
