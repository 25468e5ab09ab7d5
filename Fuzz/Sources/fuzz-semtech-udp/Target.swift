import FuzzSupport
import HarnessCore
import Traces

/// Semtech UDP datagrams (PUSH_DATA, PUSH_ACK, PULL_DATA, PULL_RESP with txpk, PULL_ACK, TX_ACK), as the virtual
/// gateway receives them from a server. Properties: a datagram that parses is written back and parses to itself;
/// a PULL_RESP's downlink reads or is refused, never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = Fuzz.bytes(data, size)
    guard let d = try? SemtechDatagram.parse(b) else { return 0 }
    Fuzz.check((try? SemtechDatagram.parse(d.bytes)) == d, "a datagram written back parses otherwise")
    if case .pullResp(_, _, let json) = d { _ = SemtechDatagram.downlink(json) }
    return 0
}
