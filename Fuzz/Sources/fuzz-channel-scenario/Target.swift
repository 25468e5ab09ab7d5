import FuzzSupport
import HarnessCore
import Network

/// Channel scenario YAML (`loraharness channel`), parsed as the loader does: the document (with its bound on
/// alias expansion), then the scenario's fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let doc = Fuzz.document(data, size) else { return 0 }
    _ = try? Scenario.parse(doc)
    return 0
}
