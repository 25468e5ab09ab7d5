import Device
import FuzzSupport

/// Stimuli files (`device run --stimuli`): times, detections, vehicles, downlinks, console lines, resets.
/// Property: the stimuli come out in time order, none before zero.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = Fuzz.text(data, size), let list = try? StimuliFile.parse(text, file: "fuzz-input") else { return 0 }
    for s in list { Fuzz.check(s.at >= 0, "a stimulus at \(s.at) ns, before the start") }
    return 0
}
