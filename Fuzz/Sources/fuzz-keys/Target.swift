import FuzzSupport
import HarnessCore
import LoRaWAN

/// Keys files (devices with root keys, sessions with 1.0 or 1.1 session keys). Property: an error never shows
/// the document's text (a keys file's error must not print a key): no 32-hex-digit run of the input appears in it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = Fuzz.text(data, size) else { return 0 }
    let message: String
    do {
        let doc = try DocumentNode.parse(text, file: "fuzz-input")
        _ = try KeyStore.parse(doc)
        return 0
    } catch {
        message = error.description
    }
    let hex = Set("0123456789abcdefABCDEF")
    var run = "", runs: [String] = []
    for ch in text { if hex.contains(ch) { run.append(ch) } else { if run.count >= 32 { runs.append(run) }; run = "" } }
    if run.count >= 32 { runs.append(run) }
    for r in runs { Fuzz.check(!message.contains(r), "an error shows a key-like value of the input: \(message.count) characters") }
    return 0
}
