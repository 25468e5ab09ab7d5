import FuzzSupport
import HarnessCore
import Serial

/// What a board sends, split into lines and matched against a profile's answer and event patterns (RUI3), with the
/// session log's redaction. After the hostile bytes, a line end and a known event line: properties are that the
/// event is still read and recognised, and that a key sent in a key command never survives redaction.
final class Bytes: SerialTransport {
    var chunks: [[UInt8]]
    init(_ chunks: [[UInt8]]) { self.chunks = chunks }
    var port: String { "fuzz" }
    var transportName: String { "memory" }
    func write(_ bytes: [UInt8]) throws(SerialError) {}
    func read(max: Int, timeout: Nanoseconds) throws(SerialError) -> [UInt8] {
        guard !chunks.isEmpty else { return [] }
        var c = chunks.removeFirst()
        if c.count > max { chunks.insert(Array(c[max...]), at: 0); c = Array(c.prefix(max)) }
        return c
    }
    func drain() throws(SerialError) {}
    func close() {}
}

let profile = try? DialectProfile.load(Fuzz.root + "/hardware/profiles/rak3172-rui3.yaml")
/// Keys for the check; the one used is one the input does not hold (a key in the input, outside any key command,
/// is text the redaction cannot know to be a key).
let keys = ["2B7E151628AED2A6ABF7158809CF4F3C", "000102030405060708090A0B0C0D0E0F", "F1E2D3C4B5A697887766554433221100"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let profile else { Fuzz.check(false, "the RUI3 profile does not load from \(Fuzz.root)"); return 0 }
    let input = Fuzz.bytes(data, size)
    let lowered = String(decoding: input, as: UTF8.self).uppercased()
    guard let key = keys.first(where: { !lowered.contains($0) }) else { return 0 }
    let tail = Array("\r\nAT+APPKEY=\(key)\r\n+EVT:JOINED\r\n".utf8)
    let session = LineSession(transport: Bytes([input, tail]))
    session.eventMatchers = profile.matchers("events")
    session.redactor = profile.redactor
    var last: Line?
    for _ in 0..<(input.count + 4) {
        guard let line = try? session.readLine(timeout: 100 * Time.millisecond) else { break }
        last = line
        if line.text == "+EVT:JOINED" { break }
    }
    Fuzz.check(last?.text == "+EVT:JOINED", "the event line after the input was not read (last: \(last?.text.count ?? -1) characters)")
    Fuzz.check(session.eventMatchers.contains { $0.match("+EVT:JOINED") != nil }, "+EVT:JOINED is not an event of the profile")
    for l in session.recent { Fuzz.check(!l.text.contains(key), "a key survived redaction") }
    return 0
}
