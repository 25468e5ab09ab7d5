import FuzzSupport

/// The session-log reader (flash-test and emulate logs) on any bytes, through the validator.
/// Property: every record read is accepted or rejected, and rejections by reason add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzz.readTrace(Fuzz.bytes(data, size), format: .serial)
    return 0
}
