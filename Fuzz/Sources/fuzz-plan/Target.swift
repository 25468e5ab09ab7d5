import FlashTest
import FuzzSupport

/// Flash-test plan YAML: steps, expectations, regular expressions.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let doc = Fuzz.document(data, size) else { return 0 }
    _ = try? FlashTestPlan.parse(doc, file: "fuzz-input")
    return 0
}
