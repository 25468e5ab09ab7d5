import Foundation
import HarnessCore
import Network

/// One sensor's results.
public struct DeviceResult: Sendable, Codable, Equatable {
    public var replica: Int
    public var fleetID: Int
    public var site: String
    public var kind: String
    public var devEUI: String
    public var x: Double
    public var y: Double
    /// Frames sent (first transmissions) and delivered to the application (MIC and counter good).
    public var framesSent: Int
    public var framesDelivered: Int
    public var retransmissions: Int
    public var joinRequests: Int
    public var joinAccepts: Int
    public var joined: Bool
    public var downlinks: Int
    public var confirmedFailures: Int
    /// Transmissions no gateway received, by cause (the cause at the strongest gateway).
    public var losses: [String: Int]
    public var airtime: Nanoseconds
    public var maxDayAirtime: Nanoseconds
    public var maxDayDownlinks: Int
    /// Largest share of a sliding hour on air in one sub-band.
    public var maxHourShare: Double
    public var dutyCycleViolations: Int
    public var firmwareRetries: Int
    public var finalDataRate: Int
    public var finalTxPowerIndex: Int
    public var averageMicroamps: Double
    public var batteryLifeYears: Double

    public var deliveryRatio: Double { framesSent > 0 ? Double(framesDelivered) / Double(framesSent) : 1 }
}

/// One site's accumulated view: truth against what residents were shown.
public struct SiteResult: Sendable, Codable, Equatable {
    public var replica: Int
    public var name: String
    public var bays: Int
    public var gates: Int
    public var capacity: Int
    public var visits: Int
    /// Real changes on site (a car parks or leaves a bay, passes a gate).
    public var changes: Int
    public var staleness: DurationHistogram
    /// Changes overtaken by the next change at the same bay or gate before the app showed them.
    public var superseded: Int
    /// Changes still not shown at the end of the run.
    public var pending: Int
    /// Vehicles a gate counter did not count (passed within its hold-off, or while it was off).
    public var missed: Int
    /// ∫ |shown − true| dt, vehicle·nanoseconds.
    public var errorIntegral: Double
    public var errorMax: Int
    public var duration: Nanoseconds
    /// Occupancy as residents were shown it and as it was, sampled at `sampleEvery` (the state just before each
    /// sample time): [shown, true] pairs, for the reports' timelines (200 samples over the run at most).
    public var timeline: [[Int]] = []
    public var sampleEvery: Nanoseconds = 0

    public var meanError: Double { duration > 0 ? errorIntegral / Double(duration) : 0 }
}

/// One gateway's counts.
public struct GatewayResult: Sendable, Codable, Equatable {
    public var name: String
    public var received: Int
    public var losses: [String: Int]
    public var downlinks: Int
    public var downlinkAirtime: Nanoseconds
    public var dutyCycleRefusals: Int

    mutating func add(_ o: GatewayResult) {
        received += o.received
        for (k, v) in o.losses { losses[k, default: 0] += v }
        downlinks += o.downlinks
        downlinkAirtime += o.downlinkAirtime
        dutyCycleRefusals += o.dutyCycleRefusals
    }
}

/// Everything one cell of one replica produced: the unit that shards write and `merge` combines.
public struct CellResult: Sendable, Codable, Equatable {
    public var replica: Int
    public var cell: Int
    public var seed: UInt64
    public var devices: [DeviceResult]
    public var sites: [SiteResult]
    /// Indexed like the scenario's gateways (zero rows for gateways outside the cell).
    public var gateways: [GatewayResult]
    public var network: NetworkServer.Counters
    public var backgroundTransmissions: Int
    public var backgroundDelivered: Int
    public var events: Int
}

extension NetworkServer.Counters: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.uplinksHeard == b.uplinksHeard && a.gatewayCopies == b.gatewayCopies && a.uplinksAccepted == b.uplinksAccepted && a.repeats == b.repeats
            && a.rejected == b.rejected && a.joinRequests == b.joinRequests && a.joinAccepts == b.joinAccepts && a.joinRejected == b.joinRejected
            && a.downlinksScheduled == b.downlinksScheduled && a.downlinksMissed == b.downlinksMissed
            && a.downlinksLostAtDevice == b.downlinksLostAtDevice && a.acks == b.acks && a.linkADRRequests == b.linkADRRequests
            && a.gatewayDutyCycleRefusals == b.gatewayDutyCycleRefusals
    }

    mutating func add(_ o: Self) {
        uplinksHeard += o.uplinksHeard; gatewayCopies += o.gatewayCopies; uplinksAccepted += o.uplinksAccepted; repeats += o.repeats
        rejected += o.rejected; joinRequests += o.joinRequests; joinAccepts += o.joinAccepts; joinRejected += o.joinRejected
        downlinksScheduled += o.downlinksScheduled; downlinksMissed += o.downlinksMissed; downlinksLostAtDevice += o.downlinksLostAtDevice
        acks += o.acks; linkADRRequests += o.linkADRRequests; gatewayDutyCycleRefusals += o.gatewayDutyCycleRefusals
    }
}

/// A shard's output (or a whole run's, before the report): the cells it simulated.
public struct FleetPartial: Sendable, Codable {
    public static let formatName = "loraharness-fleet-partial/1"
    public var format = FleetPartial.formatName
    public var scenario: String
    public var fingerprint: String
    public var seed: UInt64
    public var duration: Nanoseconds
    public var replicas: Int
    /// All the work items of the run: replicas × cells.
    public var totalItems: Int
    public var shard: String?
    public var cells: [CellResult]
}
