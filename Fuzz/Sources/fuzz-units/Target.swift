import FuzzSupport
import HarnessCore

/// The duration (`90s`, `1h30m`, `1.5s`) and frequency (`868.1MHz`, `868100kHz`) parsers of the CLI and every file.
/// Properties: a duration that parses is written back (`DurationFormat.human`) and parses to the same value where
/// the writing is exact; a frequency that parses is positive and is written back in MHz to the same hertz.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = Fuzz.text(data, size) else { return 0 }
    if let ns = try? DurationFormat.parse(text) {
        Fuzz.check(ns >= 0, "a negative duration \(ns) from a text")
        _ = DurationFormat.human(ns)
    }
    if let hz = try? FrequencyFormat.parse(text) {
        Fuzz.check((try? FrequencyFormat.parse(FrequencyFormat.megahertz(hz))) == hz,
                   "\(hz) Hz written as \(FrequencyFormat.megahertz(hz)) MHz reads back otherwise")
    }
    return 0
}
