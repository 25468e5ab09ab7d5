import HarnessCore
import LoRaWAN
import RadioLink

// The simulation kernel's seams, below the device and the network: what a device's MAC hands to the air and
// gets back, how a device joins, and the event queue every simulated clock runs on (TimeHeap).

/// What the radio answers a send request (the firmware's HAL codes).
public enum SendResult: Sendable, Equatable {
    case ok
    case busy
    case dutyCycle(wait: Nanoseconds)
    case notJoined
    case tooLong
}

/// The air between a device's MAC and the network: uplinks go out when they start, downlinks are asked for when a
/// receive window opens. Every simulated sensor meets the same network server (`NetworkServer`) through it, behind a
/// perfect, lossy or radio channel; the emulator's bench-gateway mode puts a packet forwarder's UDP behind it.
public protocol Air: AnyObject {
    /// An uplink starts. The network hears it (or not) and may queue an answer for the receive windows.
    func uplink(device: Int, frame: [UInt8], transmission: UplinkAir)
    /// A receive window opens: the downlink sent to this device in this window, if any (frame, its airtime).
    func downlink(device: Int, window: Int, at: Nanoseconds, frequencyHz: Int64, dataRate: Int) -> (frame: [UInt8], airtime: Nanoseconds)?
    /// Asked when an uplink ends: false when the network already knows it sends nothing in this uplink's receive
    /// windows (the MAC then accounts both windows at once instead of opening each).
    func mayAnswer(device: Int) -> Bool
}

extension Air {
    public func mayAnswer(device: Int) -> Bool { true }
}

/// The radio side of an uplink.
public struct UplinkAir: Sendable {
    public var start: Nanoseconds
    public var airtime: Nanoseconds
    public var frequencyHz: Int64
    public var dataRate: Int
    public var spreadingFactor: Int
    public var bandwidth: LoRaBandwidth
    public var txPowerdBm: Double

    public init(start: Nanoseconds, airtime: Nanoseconds, frequencyHz: Int64, dataRate: Int, spreadingFactor: Int,
                bandwidth: LoRaBandwidth, txPowerdBm: Double) {
        self.start = start; self.airtime = airtime; self.frequencyHz = frequencyHz; self.dataRate = dataRate
        self.spreadingFactor = spreadingFactor; self.bandwidth = bandwidth; self.txPowerdBm = txPowerdBm
    }
}

/// How a device joins.
public enum Activation: Sendable {
    case otaa(devEUI: EUI64, joinEUI: EUI64, appKey: AES128Key)
    case abp(devAddr: DevAddr, nwkSKey: AES128Key, appSKey: AES128Key)
}

