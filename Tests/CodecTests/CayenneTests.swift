import Codecs
import Testing

/// The examples of the Cayenne Low Power Payload reference (myDevices documentation, "Examples").
@Suite struct CayenneLPPTests {
    @Test func twoTemperatures() throws {
        // "03 67 01 10 05 67 00 FF": channel 3 temperature 27.2 °C, channel 5 temperature 25.5 °C.
        let items = try CayenneLPP.decode([0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xFF])
        #expect(items.map(\.channel) == [3, 5])
        #expect(items.map(\.name) == ["temperature", "temperature"])
        #expect(items[0].values["value"] == 27.2 && items[1].values["value"] == 25.5)
    }

    @Test func negativeTemperatureAndAccelerometer() throws {
        // "01 67 FF D7": −4.1 °C; "06 71 04 D2 FB 2E 00 00": accelerometer x 1.234 G, y −1.234 G, z 0.
        #expect(try CayenneLPP.decode([0x01, 0x67, 0xFF, 0xD7])[0].values["value"] == -4.1)
        let a = try CayenneLPP.decode([0x06, 0x71, 0x04, 0xD2, 0xFB, 0x2E, 0x00, 0x00])[0]
        #expect(a.values == ["x": 1.234, "y": -1.234, "z": 0])
    }

    @Test func gps() throws {
        // "01 88 06 76 5F F2 96 0A 00 03 E8": latitude 42.3519, longitude −87.9094, altitude 10 m.
        let g = try CayenneLPP.decode([0x01, 0x88, 0x06, 0x76, 0x5F, 0xF2, 0x96, 0x0A, 0x00, 0x03, 0xE8])[0]
        #expect(g.name == "gps")
        #expect(g.values == ["latitude": 42.3519, "longitude": -87.9094, "altitude": 10])
    }

    @Test func digitalPresenceAnalogHumidity() throws {
        // digital input 1, presence 1, analog input −12.34 (0xFB2E / 100), humidity 50.5 % (101 / 2).
        let items = try CayenneLPP.decode([0x01, 0x00, 0x01, 0x02, 0x66, 0x01, 0x03, 0x02, 0xFB, 0x2E, 0x04, 0x68, 0x65])
        #expect(items.map(\.name) == ["digital_input", "presence", "analog_input", "relative_humidity"])
        #expect(items.map { $0.values["value"] } == [1, 1, -12.34, 50.5])
    }

    @Test func errorsNameTheOffset() {
        #expect(throws: CayenneLPP.DecodeError(offset: 1, message: "unknown Cayenne LPP type 99")) { try CayenneLPP.decode([0x01, 0x63, 0x00]) }
        #expect(throws: CayenneLPP.DecodeError(offset: 2, message: "temperature needs 2 bytes, 1 left")) { try CayenneLPP.decode([0x01, 0x67, 0x00]) }
    }
}
