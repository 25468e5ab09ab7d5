import Foundation
import HarnessCore
import RadioLink
import Testing
import TestSupport

@Suite struct DutyCycleTests {
    /// Runs the hand-derived scenarios of Fixtures/dutycycle/scenarios.json.
    @Test func scenarios() throws {
        let doc = try TestPaths.loadJSON("dutycycle/scenarios.json") as! [String: Any]
        let scenarios = doc["scenarios"] as! [[String: Any]]
        #expect(scenarios.count == 6)
        var asks = 0
        for s in scenarios {
            let name = s["name"] as! String
            let region = try RegionID.parse(s["region"] as! String).parameters
            let policy = DutyCyclePolicy(rawValue: s["policy"] as! String)!
            let bands = try region.subBands(table: s["subBandTable"] as? String)
            let dwell = (s["dwell"] as? Bool ?? false) ? region.dwellLimit : nil
            var tracker = DutyCycleTracker(policy: policy, bands: bands, dwellLimit: dwell,
                                           joined: s["joined"] as? Bool ?? true)
            for step in s["steps"] as! [[String: Any]] {
                if let send = step["send"] as? [String: Any] {
                    tracker.record(frequencyHz: Int64(send["frequencyHz"] as! Int),
                                   start: try DurationFormat.parse(send["at"] as! String),
                                   airtime: try DurationFormat.parse(send["airtime"] as! String))
                } else if let ask = step["ask"] as? [String: Any] {
                    let answer = tracker.earliestStart(
                        frequencyHz: Int64(ask["frequencyHz"] as! Int),
                        airtime: try DurationFormat.parse(ask["airtime"] as! String),
                        now: try DurationFormat.parse(ask["at"] as! String))
                    let expected = step["expect"] as! String
                    if expected == "never" {
                        #expect(answer.time == nil, "\(name): \(step)")
                    } else {
                        #expect(answer.time == (try DurationFormat.parse(expected)), "\(name): \(step) got \(answer)")
                    }
                    asks += 1
                }
            }
        }
        #expect(asks == 96)
    }

    @Test func offTimeFormula() {
        // T_off = ToA / dc − ToA: 1.482752 s at 1 % → 146.792448 s.
        let band = SubBand("g1", 868_000_000, 868_600_000, denominator: 100)
        #expect(band.offTime(after: 1_482_752_000) == 146_792_448_000)
        #expect(band.dutyCycleText == "1 %")
        #expect(SubBand("g2", 0, 1, denominator: 1000).dutyCycleText == "0.1 %")
    }

    @Test func joinBackoffStages() {
        // LoRaWAN 1.0.4 §7: 1 % in the first hour, 0.1 % to 11 h, 0.01 % after.
        #expect(DutyCycleTracker.joinBackoffDenominator(sinceStartup: 3599 * Time.second) == 100)
        #expect(DutyCycleTracker.joinBackoffDenominator(sinceStartup: Time.hour) == 1000)
        #expect(DutyCycleTracker.joinBackoffDenominator(sinceStartup: 11 * Time.hour - 1) == 1000)
        #expect(DutyCycleTracker.joinBackoffDenominator(sinceStartup: 11 * Time.hour) == 10_000)
    }

    @Test func fairUse() {
        // 30 s per 24 h: twenty 1.482752 s uplinks use 29.65504 s; a twenty-first would reach 31.137792 s.
        var f = FairUseTracker()
        let toa: Nanoseconds = 1_482_752_000
        for i in 0..<20 {
            let t = Int64(i) * 10 * Time.minute
            #expect(f.allowsUplink(airtime: toa, at: t))
            f.recordUplink(start: t, airtime: toa)
        }
        #expect(f.uplinkAirtimeUsed(at: 200 * Time.minute) == 20 * toa)
        #expect(!f.allowsUplink(airtime: toa, at: 200 * Time.minute))
        // The first uplink leaves the 24 h window at 24 h + ToA after its start.
        #expect(f.allowsUplink(airtime: toa, at: Time.day))
        for i in 0..<10 {
            #expect(f.allowsDownlink(at: Int64(i) * Time.minute))
            f.recordDownlink(at: Int64(i) * Time.minute)
        }
        #expect(!f.allowsDownlink(at: 10 * Time.minute))
        #expect(f.allowsDownlink(at: Time.day + 1))
    }
}
