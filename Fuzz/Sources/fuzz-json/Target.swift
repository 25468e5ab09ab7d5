import FuzzSupport
import HarnessCore

/// The project's JSON parser (trace lines, reports, expected files). Properties: a value that parses is written
/// compactly and parses back to itself; the tape parser the readers use agrees with it; a failure's offset is
/// inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = Fuzz.bytes(data, size)
    let tape = JSONTape()
    do {
        let v = try JSONParser.parse(b)
        let again = try? JSONParser.parse(Array(v.compact.utf8))
        Fuzz.check(again == v, "parse → write → parse changed the value")
        let viaTape = try? tape.parse(b[...]).value
        Fuzz.check(viaTape == v, "the tape parser reads another value")
    } catch {
        Fuzz.check(error.offset >= 0 && error.offset <= b.count, "a failure at offset \(error.offset) of \(b.count) bytes")
        Fuzz.check((try? tape.parse(b[...])) == nil, "the tape parser accepts what the parser refuses")
    }
    return 0
}
