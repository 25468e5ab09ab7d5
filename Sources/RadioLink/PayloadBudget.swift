import HarnessCore

/// What a payload costs at one data rate of a region.
public struct BudgetRow: Sendable, Codable, Equatable {
    public var dataRate: Int
    public var modulation: String
    /// N − FOpts length: application bytes that fit at this DR (nil: DR not allowed with these settings).
    public var maxApplicationBytes: Int?
    public var fits: Bool
    public var phyPayloadBytes: Int
    /// Time on air, exact (nil when the payload does not fit or the modulation is not modelled).
    public var airtimeNanoseconds: Nanoseconds?
    public var loRaMacMilliseconds: Int64?
    public var exceedsDwellLimit: Bool
    /// Per-transmission off-time in the sub-band of the default channels.
    public var offTimeNanoseconds: Nanoseconds?
    /// Uplinks per hour the duty cycle allows (steady state, one sub-band); nil where no duty cycle applies.
    public var uplinksPerHour: Int64?
    /// Uplinks per 24 h the fair-use policy (30 s of airtime) allows.
    public var uplinksPerDayFairUse: Int64?
}

public struct BudgetQuery: Sendable {
    public var region: RegionParameters
    public var applicationBytes: Int
    public var foptsBytes: Int
    public var dwell: Bool?
    public var repeater: Bool
    public var subBands: [SubBand]

    public init(region: RegionParameters, applicationBytes: Int, foptsBytes: Int = 0, dwell: Bool? = nil,
                repeater: Bool = false, subBands: [SubBand]? = nil) throws(InputError) {
        guard applicationBytes >= 0 else {
            throw InputError("application payload of \(applicationBytes) bytes is not allowed; allowed: 0 or more bytes")
        }
        guard (0...15).contains(foptsBytes) else {
            throw InputError("FOpts of \(foptsBytes) bytes is not allowed; allowed: 0 to 15 bytes")
        }
        if dwell == true, case .none = region.dwellTime {
            throw InputError("\(region.id.rawValue) has no dwell-time setting; leave out --dwell")
        }
        self.region = region
        self.applicationBytes = applicationBytes
        self.foptsBytes = foptsBytes
        self.dwell = dwell
        self.repeater = repeater
        self.subBands = subBands ?? region.subBands
    }

    public var dwellOn: Bool { region.dwellOn(dwell) }
}

public enum PayloadBudget {
    /// LoRaWAN 1.0.x PHYPayload length: MHDR 1 + FHDR 7 + FOpts + (FPort 1 + FRMPayload, when there is a payload) + MIC 4.
    public static func phyPayloadBytes(applicationBytes: Int, foptsBytes: Int) -> Int {
        // Saturating: a caller's absurd size gives an absurd frame, not an overflow trap.
        let app = applicationBytes > 0 ? 1 &+ min(applicationBytes, Int.max / 2) : 0
        return 12 + min(max(foptsBytes, 0), 15) + app
    }

    /// Application bytes that fit at `dr`, after FOpts (nil: the DR does not exist or is not allowed).
    public static func maxApplicationBytes(region: RegionParameters, dr: Int, foptsBytes: Int = 0,
                                           dwell: Bool? = nil, repeater: Bool = false) -> Int? {
        guard let n = region.maxApplicationPayload(dr: dr, dwell: dwell, repeater: repeater) else { return nil }
        return max(0, n - foptsBytes)
    }

    /// The sub-band the region's default uplink channels fall in (the first default channel's band).
    public static func defaultSubBand(region: RegionParameters, subBands: [SubBand]) -> SubBand? {
        guard let f = region.defaultChannels.first?.frequencyHz else { return nil }
        return subBands.first { $0.contains(f) }
    }

    public static func row(_ q: BudgetQuery, dr: DataRate) -> BudgetRow {
        let maxApp = maxApplicationBytes(region: q.region, dr: dr.index, foptsBytes: q.foptsBytes,
                                         dwell: q.dwell, repeater: q.repeater)
        let fits = maxApp.map { q.applicationBytes <= $0 } ?? false
        let phy = phyPayloadBytes(applicationBytes: q.applicationBytes, foptsBytes: q.foptsBytes)
        var row = BudgetRow(dataRate: dr.index, modulation: dr.modulation.shortName, maxApplicationBytes: maxApp,
                            fits: fits, phyPayloadBytes: phy, airtimeNanoseconds: nil, loRaMacMilliseconds: nil,
                            exceedsDwellLimit: false, offTimeNanoseconds: nil, uplinksPerHour: nil,
                            uplinksPerDayFairUse: nil)
        guard fits, phy <= AirtimeCalculator.maxPayloadBytes,
              let airtime = try? AirtimeCalculator.airtime(dr.modulation, payloadBytes: phy) else { return row }
        let ns = airtime.nanoseconds
        row.airtimeNanoseconds = ns
        row.loRaMacMilliseconds = airtime.loRaMacMilliseconds
        row.exceedsDwellLimit = q.dwellOn && ns > q.region.dwellLimit
        row.uplinksPerDayFairUse = FairUseTracker.ttnUplinkAirtime / ns
        if q.region.dutyCycleEnforced, let band = defaultSubBand(region: q.region, subBands: q.subBands),
           band.dutyCycleDenominator > 1 {
            row.offTimeNanoseconds = band.offTime(after: ns)
            row.uplinksPerHour = Time.hour / (ns * band.dutyCycleDenominator)
        }
        return row
    }

    /// One row per uplink data rate of the region.
    public static func table(_ q: BudgetQuery) -> [BudgetRow] {
        q.region.uplinkDataRates.map { row(q, dr: $0) }
    }

    /// The uplink DRs at which the payload fits.
    public static func dataRatesThatFit(_ q: BudgetQuery) -> [Int] {
        table(q).filter { $0.fits && !$0.exceedsDwellLimit }.map(\.dataRate)
    }
}
