import FuzzSupport

/// The pcap and pcapng reader on a whole file (forged lengths, time resolutions, link types), through the
/// validator. Property: every record read is accepted or rejected, and rejections by reason add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzz.readTrace(Fuzz.bytes(data, size), format: .pcap)
    return 0
}
