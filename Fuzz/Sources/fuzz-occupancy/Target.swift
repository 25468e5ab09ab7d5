import Codecs
import FuzzSupport

/// The occupancy payload codec (hardware/PAYLOAD.md): the first byte is the FPort, the rest the payload.
/// Properties: the Swift reference and the C firmware codec agree on every input (the same message, or both
/// refuse); whatever decodes re-encodes and decodes to the same message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = Fuzz.bytes(data, size)
    guard let port = b.first else { return 0 }
    let payload = Array(b.dropFirst())
    let swift = try? OccupancyCodec.decode(port: port, payload)
    let c = try? COccupancyCodec.decode(port: port, payload).get()
    Fuzz.check(swift == c, "the Swift and C codecs disagree on port \(port): \(String(describing: swift)) against \(String(describing: c))")
    guard let m = swift else { return 0 }
    guard let (p2, bytes) = try? OccupancyCodec.encode(m) else {
        Fuzz.check(false, "a decoded message does not encode: \(m)")
        return 0
    }
    Fuzz.check((try? OccupancyCodec.decode(port: p2, bytes)) == m, "decode → encode → decode changed the message \(m)")
    return 0
}
