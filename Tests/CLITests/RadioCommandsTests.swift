import Foundation
import Testing
import TestSupport

/// The command-line tool run as a user runs it: real process, real exit status, real output.
@Suite struct RadioCommandsTests {
    @Test func airtimeTableAndJSON() throws {
        let r = try CLI.run(["airtime", "--sf", "7", "--bw", "125", "--payload", "14"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("46.336 ms (46336000 ns)"))   // TTN calculator: PL 14 SF7BW125 = 46.336 ms
        // A downlink has no payload CRC (LoRaWAN 1.0.4 §3.2): Semtech's formula with CRC = 0 gives
        // 8 + ceil(8·14/28)·5 = 28 payload symbols + 12.25 preamble = 40.25 × 1.024 ms = 41.216 ms.
        let d = try CLI.run(["airtime", "--sf", "7", "--bw", "125", "--payload", "14", "--downlink"])
        #expect(d.status == 0 && d.stdout.contains("41.216 ms (41216000 ns)"), "\(d.stdout)")
        let j = try CLI.run(["airtime", "--sf", "11", "--bw", "125", "--payload", "14", "--json"])
        #expect(j.status == 0)
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect(obj?["airtimeNanoseconds"] as? Int == 659_456_000)  // TTN calculator: 659.456 ms
        #expect(obj?["lowDataRateOptimization"] as? Bool == true)
    }

    @Test func airtimeForRegion() throws {
        let r = try CLI.run(["airtime", "--region", "EU868", "--dr", "3", "--app-payload", "11", "--fopts", "3", "--json"])
        #expect(r.status == 0)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(obj?["phyPayloadBytes"] as? Int == 27)
        // SF9BW125, 27 bytes: ceil((216 − 36 + 44)/36) = 7 blocks → 43 symbols + 12.25 → 55.25 × 4.096 ms.
        #expect(obj?["airtimeNanoseconds"] as? Int == 226_304_000)
    }

    /// Bad arguments: one line on stderr naming the value and what is allowed, exit status 2, nothing on stdout.
    @Test(arguments: [
        (["airtime", "--sf", "13", "--bw", "125", "--payload", "10"], "spreading factor 13"),
        (["airtime", "--sf", "7", "--bw", "300", "--payload", "10"], "'300' is not a LoRa bandwidth"),
        (["airtime", "--sf", "7", "--bw", "125", "--payload", "-4"], "payload -4"),
        (["airtime", "--region", "EU99", "--dr", "0", "--app-payload", "1"], "unknown region 'EU99'"),
        (["airtime", "--region", "EU868", "--dr", "0", "--app-payload", "52"], "over the maximum of 51 bytes"),
        (["airtime", "--region", "AS923-1", "--dr", "1", "--app-payload", "5", "--dwell", "on"], "not allowed in AS923-1 with uplink dwell time"),
        (["budget", "--region", "EU868", "--app-payload", "-1"], "negative"),
        (["budget", "--region", "EU868", "--app-payload", "9223372036854775807"], "more than a LoRa frame holds; allowed: 0 to 255 bytes"),
        (["budget", "--region", "EU868", "--app-payload", "5", "--sub-bands", "old"], "unknown sub-band table 'old'"),
        (["regions", "XX1"], "unknown region 'XX1'"),
        (["airtime", "--sf", "7", "--bw", "125", "--payload", "10", "--nonsense"], "Unknown option '--nonsense'"),
        (["link", "--sf", "7", "--distance", "-5"], "distance -5.0"),
    ])
    func badArguments(arguments: [String], mentions: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(arguments)")
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: "))
        #expect(r.stderr.contains(mentions), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test func budgetDemo() throws {
        let r = try CLI.run(["budget", "--region", "EU868", "--app-payload", "11"])
        #expect(r.status == 0)
        // DR0: 1482.752 ms, 1483 ms LoRaMac-node, off-time 146.792448 s, 24 per hour, 20 per day.
        #expect(r.stdout.contains("DR0   SF12BW125"))
        #expect(r.stdout.contains("1482.752        1483  2 m 26.8 s         24           20"))
    }

    @Test func regionsListAndDetail() throws {
        let list = try CLI.run(["regions"])
        #expect(list.status == 0)
        for id in ["EU868", "US915", "AU915", "AS923-1", "AS923-2", "AS923-3", "AS923-4", "IN865", "KR920"] {
            #expect(list.stdout.contains(id))
        }
        let eu = try CLI.run(["regions", "EU868", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(eu.stdout.utf8)) as? [String: Any]
        let rows = obj?["dataRates"] as? [[String: Any]]
        #expect(rows?.count == 12)
        #expect(rows?.first?["maxApplicationBytes"] as? Int == 51)
    }

    @Test func helpAndVersion() throws {
        for command in ["airtime", "budget", "regions", "link"] {
            let r = try CLI.run([command, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Example"), "\(command) --help has an example")
        }
        let v = try CLI.run(["--version"])
        #expect(v.status == 0 && v.stdout.hasPrefix("loraharness "))
    }

    @Test func noColourWhenPiped() throws {
        let r = try CLI.run(["budget", "--app-payload", "11"], environment: ["NO_COLOR": ""])
        #expect(!r.stdout.contains("\u{1B}["))
    }
}
