import FuzzSupport
import Serial

/// Dialect profile YAML (serial settings, command templates, patterns, timeouts).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let doc = Fuzz.document(data, size) else { return 0 }
    _ = try? DialectProfile.parse(doc, file: "fuzz-input")
    return 0
}
