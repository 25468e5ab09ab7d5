import FuzzSupport
import LoRaWAN

/// LoRaWAN PHYPayload decoding (1.0 and 1.1 rules), MAC commands in FOpts and in an FPort 0 payload.
/// Properties: a data frame that decodes is rebuilt from its fields byte for byte (MIC aside), and decodes to the
/// same fields; MAC commands that decode are encoded and decode to the same commands.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = Fuzz.bytes(data, size)
    for lorawan11 in [false, true] {
        guard let phy = try? FrameDecoder.decode(b, lorawan11: lorawan11) else { continue }
        guard case .data(let f) = phy else { continue }
        let rebuilt = DataFrameCodec.encodeWithoutCrypto(mtype: f.mtype, devAddr: f.devAddr, fcnt: UInt32(f.fcnt), fctrl: f.fctrl,
                                                         fopts: f.fopts, fport: f.fport, payload: f.frmPayload)
        Fuzz.check(rebuilt.count == b.count, "a rebuilt frame is \(rebuilt.count) bytes, the original \(b.count)")
        // The MHDR's RFU bits are not written by an encoder (LoRaWAN 1.0.4 §4.2); everything else up to the MIC is.
        Fuzz.check(rebuilt.first == b.first.map { $0 & 0xE3 } && Array(rebuilt.dropFirst().prefix(b.count - 5)) == Array(b.dropFirst().prefix(b.count - 5)),
                   "a rebuilt frame differs from the original before the MIC")
        if let again = try? FrameDecoder.decode(rebuilt, lorawan11: lorawan11), case .data(var g) = again {
            g.mic = f.mic
            g.rfu = f.rfu
            Fuzz.check(g == f, "a rebuilt frame decodes to other fields")
        } else {
            Fuzz.check(false, "a rebuilt frame does not decode")
        }
        let macBytes: [UInt8]? = !f.fopts.isEmpty ? f.fopts : f.fport == 0 ? f.frmPayload : nil
        // RFU bits are not kept (LoRaWAN 1.0.4 §5: sent as zero, ignored on receipt): decoding what was encoded
        // must give the same commands, not necessarily the same bytes.
        if let macBytes, let commands = try? MACCommand.decode(macBytes[...], direction: f.direction) {
            let again = try? MACCommand.decode(MACCommand.encode(commands)[...], direction: f.direction)
            Fuzz.check(again == commands, "MAC commands decode → encode → decode changed: \(commands)")
        }
    }
    return 0
}
