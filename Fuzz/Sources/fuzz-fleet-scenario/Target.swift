import Fleet
import FuzzSupport
import HarnessCore

/// Fleet scenario YAML (`loraharness simulate`): sites, generated sites, gateways and grids, devices, faults,
/// assertions, as the loader reads them (bounded sizes after alias expansion).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = Fuzz.text(data, size), let doc = try? DocumentNode.parse(text, file: "fuzz-input") else { return 0 }
    _ = try? FleetScenario.parse(doc, baseDirectory: "/nonexistent", text: text)
    return 0
}
