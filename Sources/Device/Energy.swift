import Foundation
import HarnessCore

/// Current drawn in each state, and where each figure comes from. Charge is integrated in nanocoulombs
/// (mA × ns = pC; kept as Double microcoulombs for reports).
public struct EnergyProfile: Sendable, Codable {
    public var name: String
    /// Sleep with the RTC running (µA).
    public var sleepMicroamps: Double
    /// Average draw of the detector between samples (µA): magnetometer sampling for a bay sensor, the beam or
    /// loop detector for a gate counter.
    public var sensingMicroamps: Double
    /// MCU awake handling one event (mA) and for how long (ns).
    public var mcuActiveMilliamps: Double
    public var mcuActivePerEvent: Nanoseconds
    /// Radio receiving (mA).
    public var rxMilliamps: Double
    /// Radio transmitting at TXPower index 0, 1, 2, … (mA).
    public var txMilliampsByPowerIndex: [Double]
    public var sources: [String]

    /// RAK3172 (STM32WLE5 with its sub-GHz radio) running RUI3, EU868 through the high-power PA.
    public static let rak3172 = EnergyProfile(
        name: "RAK3172 (STM32WLE5, RUI3), EU868",
        sleepMicroamps: 1.69,
        sensingMicroamps: 8.0,
        mcuActiveMilliamps: 3.6,
        mcuActivePerEvent: 4 * Time.millisecond,
        rxMilliamps: 5.22,
        txMilliampsByPowerIndex: [86, 77, 70, 63, 59, 52, 46, 46],
        sources: [
            "sleep 1.69 µA and RX 5.22 mA: RAK3172 module datasheet (RAKwireless)",
            "TX by power index (14 dBm 86 mA … 2 dBm 46 mA): STM32WLE5 module measured with ST's firmware on the HP PA, as reported on the Seeed forum thread 'LoRa-E5 FW bug, TX EU868 => 85mA'; RAK3172 has the same radio path",
            "MCU active 3.6 mA for 4 ms per event: assumption (STM32WLE5 run mode at 48 MHz, a few milliseconds per firmware call)",
            "sensing 8 µA: assumption for a magnetometer sampled a few times a second (bay sensor) or a gate detector",
        ])

    public func txMilliamps(powerIndex: Int) -> Double {
        txMilliampsByPowerIndex[min(max(powerIndex, 0), txMilliampsByPowerIndex.count - 1)]
    }
}

/// Charge drawn, by what drew it.
public struct EnergyLedger: Sendable, Codable {
    public var txMicrocoulombs = 0.0
    public var rxMicrocoulombs = 0.0
    public var mcuMicrocoulombs = 0.0
    public var sleepMicrocoulombs = 0.0
    public var sensingMicrocoulombs = 0.0
    public var txTime: Nanoseconds = 0
    public var rxTime: Nanoseconds = 0
    public var mcuTime: Nanoseconds = 0

    public init() {}

    public var totalMicrocoulombs: Double {
        txMicrocoulombs + rxMicrocoulombs + mcuMicrocoulombs + sleepMicrocoulombs + sensingMicrocoulombs
    }

    /// mA × ns → µC: 1 mA for 1 ns is 1 pC = 1e-6 µC.
    @inline(__always) static func charge(milliamps: Double, _ ns: Nanoseconds) -> Double { milliamps * Double(ns) * 1e-6 }

    public mutating func tx(_ ns: Nanoseconds, milliamps: Double) { txMicrocoulombs += EnergyLedger.charge(milliamps: milliamps, ns); txTime += ns }
    public mutating func rx(_ ns: Nanoseconds, milliamps: Double) { rxMicrocoulombs += EnergyLedger.charge(milliamps: milliamps, ns); rxTime += ns }
    public mutating func mcu(_ ns: Nanoseconds, milliamps: Double) { mcuMicrocoulombs += EnergyLedger.charge(milliamps: milliamps, ns); mcuTime += ns }

    /// Closes the ledger over `duration`: sleep fills the time not spent transmitting, receiving or computing;
    /// sensing runs all the time.
    public func closed(over duration: Nanoseconds, profile: EnergyProfile) -> EnergyLedger {
        var l = self
        let asleep = max(0, duration - txTime - rxTime - mcuTime)
        l.sleepMicrocoulombs = EnergyLedger.charge(milliamps: profile.sleepMicroamps / 1000, asleep)
        l.sensingMicrocoulombs = EnergyLedger.charge(milliamps: profile.sensingMicroamps / 1000, duration)
        return l
    }
}

/// A battery: capacity and nominal voltage.
public struct Battery: Sendable, Codable {
    public var name: String
    public var capacityMilliampHours: Double
    public var nominalMillivolts: Int
    /// Usable share of the capacity (self-discharge, cut-off voltage, cold).
    public var usableFraction: Double

    /// A 3.6 V 2.6 Ah lithium–thionyl chloride AA cell (e.g. Saft LS14500 class), 85 % usable.
    public static let lithiumAA = Battery(name: "3.6 V 2.6 Ah Li-SOCl2 cell", capacityMilliampHours: 2600, nominalMillivolts: 3600, usableFraction: 0.85)

    /// Years until empty at the average current drawn over a period.
    public func lifeYears(microcoulombs: Double, over duration: Nanoseconds) -> Double {
        guard microcoulombs > 0, duration > 0 else { return .infinity }
        let averageMilliamps = microcoulombs / (Double(duration) * 1e-6)   // µC / (ns·1e-6) = mA
        let hours = capacityMilliampHours * usableFraction / averageMilliamps
        return hours / (24 * 365.25)
    }

    /// A simple discharge curve for the firmware's battery reading: flat near nominal, dropping in the last 10 %.
    public func millivolts(usedMicrocoulombs: Double) -> UInt32 {
        let used = usedMicrocoulombs / (capacityMilliampHours * 3.6e6)   // mAh → µC: × 3600 s × 1000 µC/mC
        if used < 0.9 { return UInt32(Double(nominalMillivolts) + 50 - used * 150) }
        return UInt32(max(2000, Double(nominalMillivolts) - 85 - (used - 0.9) * 10 * 1200))
    }
}
