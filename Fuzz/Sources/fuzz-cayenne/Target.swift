import Codecs
import FuzzSupport
import HarnessCore

/// CayenneLPP decoding. Properties: whatever decodes gives items whose JSON parses back to the same value; a
/// refusal names an offset inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = Fuzz.bytes(data, size)
    do {
        let items = try CayenneLPP.decode(b)
        let json = CayenneLPP.json(items)
        Fuzz.check((try? JSONParser.parse(Array(json.compact.utf8))) == json, "the items' JSON does not read back")
    } catch {
        Fuzz.check(error.offset >= 0 && error.offset <= b.count, "a refusal at offset \(error.offset) of \(b.count) bytes")
    }
    return 0
}
