import Device
import Fleet
import HarnessCore

func registerDeviceBenchmarks() {
    Benchmark.add("device: one device-year, bay sensor at a busy site (firmware in the loop)", unit: "run", iterations: 1) { _ in
        var o = DeviceRun.Options()
        o.kind = .bay
        o.traffic = .busySite
        o.duration = 365 * Time.day
        let r = DeviceRun(options: o)
        r.recordTimeline = false
        return r.run().uplinks
    }
    Benchmark.add("device: one device-year, gate counter at a busy site", unit: "run", iterations: 1) { _ in
        var o = DeviceRun.Options()
        o.kind = .gate
        o.traffic = .busySite
        o.duration = 365 * Time.day
        let r = DeviceRun(options: o)
        r.recordTimeline = false
        return r.run().uplinks
    }
}
