import HarnessCore
import Foundation

/// Cayenne Low Power Payload (myDevices; the IPSO Smart Object types it uses), decoded in Swift only: many
/// off-the-shelf sensors speak it. Each item is channel (1 byte), type (1 byte), then a big-endian value.
public enum CayenneLPP {
    public struct Item: Sendable, Equatable {
        public var channel: UInt8
        public var type: UInt8
        public var name: String
        /// The value(s): one number, or x/y/z, or latitude/longitude/altitude.
        public var values: [String: Double]
    }

    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public init(offset: Int, message: String) { self.offset = offset; self.message = message }
        public var description: String { "\(message) (where: byte offset \(offset))" }
    }

    /// (type, name, size, fields with their divisor and signedness), from the Cayenne LPP reference.
    struct Kind {
        let name: String
        let size: Int
        let fields: [(String, Int, Double, Bool)]  // name, bytes, divisor, signed
    }

    static let kinds: [UInt8: Kind] = [
        0: Kind(name: "digital_input", size: 1, fields: [("value", 1, 1, false)]),
        1: Kind(name: "digital_output", size: 1, fields: [("value", 1, 1, false)]),
        2: Kind(name: "analog_input", size: 2, fields: [("value", 2, 100, true)]),
        3: Kind(name: "analog_output", size: 2, fields: [("value", 2, 100, true)]),
        101: Kind(name: "illuminance", size: 2, fields: [("value", 2, 1, false)]),
        102: Kind(name: "presence", size: 1, fields: [("value", 1, 1, false)]),
        103: Kind(name: "temperature", size: 2, fields: [("value", 2, 10, true)]),
        104: Kind(name: "relative_humidity", size: 1, fields: [("value", 1, 2, false)]),
        113: Kind(name: "accelerometer", size: 6, fields: [("x", 2, 1000, true), ("y", 2, 1000, true), ("z", 2, 1000, true)]),
        115: Kind(name: "barometric_pressure", size: 2, fields: [("value", 2, 10, false)]),
        134: Kind(name: "gyrometer", size: 6, fields: [("x", 2, 100, true), ("y", 2, 100, true), ("z", 2, 100, true)]),
        136: Kind(name: "gps", size: 9, fields: [("latitude", 3, 10000, true), ("longitude", 3, 10000, true), ("altitude", 3, 100, true)]),
    ]

    /// Items as JSON: `[{"channel": 1, "type": "temperature", "value": 21.5}, …]` (several values as an object).
    public static func json(_ items: [Item]) -> JSONValue {
        .array(items.map { i in
            .object(["channel": .number(Double(i.channel)), "type": .string(i.name),
                     "value": i.values.count == 1 && i.values["value"] != nil ? .number(i.values["value"] ?? 0)
                        : .object(i.values.mapValues { .number($0) })])
        })
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> [Item] {
        var items: [Item] = []
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { throw DecodeError(offset: i, message: "a channel without a type") }
            let channel = bytes[i], type = bytes[i + 1]
            guard let kind = kinds[type] else { throw DecodeError(offset: i + 1, message: "unknown Cayenne LPP type \(type)") }
            guard i + 2 + kind.size <= bytes.count else {
                throw DecodeError(offset: i + 2, message: "\(kind.name) needs \(kind.size) bytes, \(bytes.count - i - 2) left")
            }
            var at = i + 2
            var values: [String: Double] = [:]
            for (name, size, divisor, signed) in kind.fields {
                var raw: Int64 = 0
                for k in 0..<size { raw = raw << 8 | Int64(bytes[at + k]) }
                if signed, raw & (Int64(1) << Int64(8 * size - 1)) != 0 { raw -= Int64(1) << Int64(8 * size) }
                values[name] = Double(raw) / divisor
                at += size
            }
            items.append(Item(channel: channel, type: type, name: kind.name, values: values))
            i = at
        }
        return items
    }
}
