import FuzzSupport

/// The semtech trace reader on any bytes, through the validator with the public captures' keys.
/// Property: every record read is accepted or rejected, and rejections by reason add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzz.readTrace(Fuzz.bytes(data, size), format: .semtech)
    return 0
}
