import Foundation
import HarnessCore
import LoRaWAN
import Testing

/// The seed of randomized tests: LORAHARNESS_TEST_SEED when set, else a fresh one; always printed.
func testSeed(_ name: String) -> UInt64 {
    let seed = ProcessInfo.processInfo.environment["LORAHARNESS_TEST_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 1...UInt64.max)
    print("\(name): seed \(seed) (set LORAHARNESS_TEST_SEED=\(seed) to repeat)")
    return seed
}

@Suite struct FramePropertyTests {
    /// Random keys, DevAddr, FCnt (up to 2^32 − 1), FOpts and payloads: encode → decode is the identity.
    @Test func encodeDecodeIsTheIdentity() throws {
        let seed = testSeed("encodeDecodeIsTheIdentity")
        var rng = SeededRandom(seed: seed)
        for i in 0..<2000 {
            let keys = SessionKeys(nwkSKey: try AES128Key(bytes: rng.bytes(16)), appSKey: try AES128Key(bytes: rng.bytes(16)))
            let mtype = [MType.unconfirmedDataUp, .confirmedDataUp, .unconfirmedDataDown, .confirmedDataDown][Int(rng.next() % 4)]
            let devAddr = DevAddr(UInt32(truncatingIfNeeded: rng.next()))
            let fcnt = UInt32(truncatingIfNeeded: rng.next() >> UInt64(rng.next() % 48))  // spread small and large
            let payload = rng.bytes(Int(rng.next() % 60))
            let fport: UInt8? = payload.isEmpty && rng.next() % 2 == 0 ? nil : UInt8(1 + rng.next() % 223)
            let fopts = mtype.isUplink ? MACCommand.encode([.linkCheckReq, .devStatusAns(battery: 200, margin: -3)].prefix(Int(rng.next() % 3)).map { $0 })
                                       : MACCommand.encode([.devStatusReq].prefix(Int(rng.next() % 2)).map { $0 })
            let fctrl = FCtrl(adr: rng.next() % 2 == 0, ack: rng.next() % 2 == 0)
            let raw = try DataFrameCodec.encode(mtype: mtype, devAddr: devAddr, fcnt: fcnt, fctrl: fctrl, fopts: fopts,
                                                fport: fport, payload: payload, keys: keys)
            guard case .data(let f) = try FrameDecoder.decode(raw) else { Issue.record("seed \(seed) case \(i): not data"); return }
            let last = fcnt > 3 ? fcnt - UInt32(rng.next() % 3) - 1 : nil
            guard let rebuilt = FCnt.reconstruct(f.fcnt, last: last).value else { Issue.record("seed \(seed) case \(i): FCnt"); return }
            #expect(rebuilt == fcnt || last == nil, "seed \(seed) case \(i)")
            let opened = try DataFrameCodec.open(raw, frame: f, fcnt: fcnt, keys: keys)
            #expect(opened.micValid && opened.payload == payload && f.devAddr == devAddr && f.mtype == mtype
                    && f.fport == fport && f.fopts == fopts && f.fctrl.adr == fctrl.adr, "seed \(seed) case \(i)")
        }
    }

    /// A single flipped bit anywhere is reported as a bad MIC or a decode error, never accepted silently.
    @Test func everySingleBitFlipIsCaught() throws {
        let seed = testSeed("everySingleBitFlipIsCaught")
        var rng = SeededRandom(seed: seed)
        var flips = 0
        for _ in 0..<40 {
            let keys = SessionKeys(nwkSKey: try AES128Key(bytes: rng.bytes(16)), appSKey: try AES128Key(bytes: rng.bytes(16)))
            let devAddr = DevAddr(UInt32(truncatingIfNeeded: rng.next()))
            let fcnt = UInt32(truncatingIfNeeded: rng.next())
            let raw = try DataFrameCodec.encode(mtype: .confirmedDataUp, devAddr: devAddr, fcnt: fcnt,
                                                fopts: MACCommand.encode([.linkCheckReq]), fport: 2,
                                                payload: rng.bytes(1 + Int(rng.next() % 30)), keys: keys)
            for bit in 0..<(raw.count * 8) {
                var bad = raw
                bad[bit / 8] ^= 1 << UInt8(bit % 8)
                flips += 1
                do {
                    guard case .data(let f) = try FrameDecoder.decode(bad) else { continue }  // another frame type: rejected upstream
                    // The receiver knows its session: same DevAddr and a 32-bit counter rebuilt from its last one.
                    guard f.devAddr == devAddr, let c = FCnt.reconstruct(f.fcnt, last: fcnt &- 1).value else { continue }
                    let opened = try DataFrameCodec.open(bad, frame: f, fcnt: c, keys: keys)
                    #expect(!opened.micValid, "seed \(seed): bit \(bit) of \(Hex.encode(raw)) accepted")
                } catch {
                    // a decode error is a detection too
                }
            }
        }
        #expect(flips > 5000)
    }

    /// Random bytes never trap the decoder: each gives a frame or a FrameError with an offset in range.
    @Test func decoderNeverTraps() {
        let seed = testSeed("decoderNeverTraps")
        var rng = SeededRandom(seed: seed)
        var errors = 0
        for _ in 0..<50_000 {
            let bytes = rng.bytes(Int(rng.next() % 40))
            do {
                let phy = try FrameDecoder.decode(bytes)
                if case .data(let f) = phy {
                    _ = try MACCommand.decode(f.fopts[...], direction: f.direction)
                }
            } catch {
                errors += 1
                #expect((error.offset ?? 0) <= bytes.count, "seed \(seed): offset past the end for \(Hex.encode(bytes))")
            }
        }
        #expect(errors > 0)
    }
}

@Suite struct FrameErrorTests {
    @Test func namedErrorsWithOffsets() throws {
        func err(_ h: String) -> FrameError? {
            guard let bytes = try? Hex.decode(h) else { return nil }
            do { _ = try FrameDecoder.decode(bytes); return nil } catch { return error }
        }
        #expect(err("")?.kind == .truncated)
        #expect(err("40040302")?.kind == .truncated)
        #expect(err("40040302")?.field == "FHDR.DevAddr")
        // FCtrl says 15 bytes of FOpts in a 12-byte frame.
        let past = err("400403020f0000aabbccdd")
        #expect(past?.kind == .truncated)
        let past2 = err("40040302010f0000aabbccddee")
        #expect(past2?.kind == .foptsPastEnd && past2?.offset == 5)
        // FOpts and FPort 0 at once.
        let both = err("40040302010100000200112233445566")
        #expect(both?.kind == .macCommandsInBoth && both?.offset == 9)
        #expect(err("c00403020100000001020304")?.kind == .unknownMType)   // MType 6 is RFU in LoRaWAN 1.0.x
        #expect(err("410403020100000001020304")?.kind == .unknownMajor)
        #expect(err("0001")?.kind == .truncated)
        #expect(err("20aabb")?.kind == .truncated)
    }

    @Test func macCommandErrors() {
        do {
            _ = try MACCommand.decode([0x03, 0x52][...], direction: .downlink, baseOffset: 8)
            Issue.record("accepted a truncated LinkADRReq")
        } catch {
            #expect(error.kind == .truncated && error.offset == 8)
        }
        do {
            _ = try MACCommand.decode([0x02, 0x40][...], direction: .uplink, baseOffset: 8)
            Issue.record("accepted CID 0x40")
        } catch {
            #expect(error.kind == .unknownMACCommand && error.offset == 9)
        }
    }

    @Test func tooLongForTheDataRate() {
        // EU868 DR0: M = 59, so a PHYPayload of 65 bytes (MACPayload 60) is too long; 64 fits.
        #expect(throws: FrameError.self) { try FrameDecoder.checkSize(65, region: RegionIDs.eu868, dataRate: 0) }
        #expect(throws: Never.self) { try FrameDecoder.checkSize(64, region: RegionIDs.eu868, dataRate: 0) }
    }

    @Test func fcntRules() {
        // 1.0.4: any forward step; the smallest value ≥ last with the same low 16 bits.
        #expect(FCnt.reconstruct(5, last: nil) == .next(5, gap: 1))
        #expect(FCnt.reconstruct(0x0001, last: 0xFFFF) == .next(0x1_0001, gap: 2))
        #expect(FCnt.reconstruct(0x1234, last: 0x1234) == .repeated(0x1234))
        #expect(FCnt.reconstruct(0x0000, last: 0x2_FFFF) == .next(0x3_0000, gap: 1))
        #expect(FCnt.reconstruct(0x0010, last: 0xFFFF_FFF0) == .exhausted)
        // 1.0.3: a step over MAX_FCNT_GAP = 16384 is refused.
        #expect(FCnt.reconstruct(16_385, last: 0, rule: .lorawan103) == .gapTooLarge(16_385))
        #expect(FCnt.reconstruct(16_384, last: 0, rule: .lorawan103) == .next(16_384, gap: 16_384))
        #expect(FCnt.reconstruct(16_385, last: 0, rule: .lorawan104) == .next(16_385, gap: 16_385))
    }
}

@Suite struct CMACAgreementTests {
    /// The block-function CMAC that data frames use agrees with swift-crypto's AES.CMAC (RFC 4493) on random
    /// keys and every message length from 0 to 80 bytes after the 16-byte head.
    @Test func blockCMACMatchesSwiftCrypto() throws {
        let seed = testSeed("blockCMACMatchesSwiftCrypto")
        var rng = SeededRandom(seed: seed)
        for length in 0...80 {
            for _ in 0..<5 {
                let key = CryptoKey(try AES128Key(bytes: rng.bytes(16)))
                let head = rng.bytes(16), message = rng.bytes(length)
                let reference = key.cmac(head + message)
                let expected = UInt32(reference[0]) << 24 | UInt32(reference[1]) << 16 | UInt32(reference[2]) << 8 | UInt32(reference[3])
                #expect(key.blockCMAC4(head: head, message: message) == expected, "seed \(seed), length \(length)")
            }
        }
    }

    /// The block function with the key expanded once (BoringSSL's schedule) gives what swift-crypto's public AES gives,
    /// block for block, on random keys; and the FIPS-197 Appendix C.1 AES-128 example.
    @Test func expandedKeyMatchesSwiftCryptoAES() throws {
        let fips = CryptoKey(try AES128Key(bytes: Array(0...15)))
        #expect(fips.expandedEncryptBlock((0..<16).map { UInt8($0 * 0x11) }) == (try Hex.decode("69c4e0d86a7b0430d8cdb78070b4c55a")))
        let seed = testSeed("expandedKeyMatchesSwiftCryptoAES")
        var rng = SeededRandom(seed: seed)
        for _ in 0..<500 {
            let key = CryptoKey(try AES128Key(bytes: rng.bytes(16)))
            let block = rng.bytes(16)
            #expect(key.expandedEncryptBlock(block) == key.swiftCryptoEncryptBlock(block), "seed \(seed)")
        }
    }
}
