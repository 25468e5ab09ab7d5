#!/usr/bin/env python3
"""Independent reference for LoRa time on air, written from the published formula, not from the Swift code.

Source of the formula: Semtech AN1200.13 "LoRa Modem Designer's Guide" and the SX1276 datasheet §4.1.1.6
(SF7–SF12); SX1261/2 datasheet §6.1.4 and LoRaMac-node src/radio/sx126x/radio.c for SF5/SF6.
It uses exact rational arithmetic (fractions.Fraction), so every value is exact in nanoseconds.
It also computes LoRaMac-node's millisecond value: ceil(1000 · symbols · 2^SF / BW_Hz) with the whole-hertz
bandwidths of RadioGetLoRaBandwidthInHz.

Run: python3 Fixtures/airtime/semtech_formula.py > Fixtures/airtime/formula-vectors.json
"""
import json
from fractions import Fraction
from math import ceil

# kHz name → exact bandwidth in Hz (each is 500 kHz / n) and LoRaMac-node's whole-hertz value
BANDWIDTHS = {
    "7.8": (Fraction(500000, 64), 7812), "10.4": (Fraction(500000, 48), 10417),
    "15.6": (Fraction(500000, 32), 15625), "20.8": (Fraction(500000, 24), 20833),
    "31.25": (Fraction(500000, 16), 31250), "41.7": (Fraction(500000, 12), 41667),
    "62.5": (Fraction(500000, 8), 62500), "125": (Fraction(125000), 125000),
    "250": (Fraction(250000), 250000), "500": (Fraction(500000), 500000),
}


def time_on_air(sf, bw, cr, pl, preamble=8, explicit=True, crc=True, ldro="auto"):
    bw_hz, mac_hz = BANDWIDTHS[bw]
    tsym = Fraction(2 ** sf) / bw_hz  # seconds
    if ldro == "auto":
        de = 1 if tsym >= Fraction(16384, 1000000) else 0
    else:
        de = 1 if ldro == "on" else 0
    ih = 0 if explicit else 1
    c = 1 if crc else 0
    if sf in (5, 6):
        npre = max(preamble, 12)
        num = 8 * pl - 4 * sf + 20 * (1 - ih) + 16 * c
        den = 4 * sf
        extra = 2
        de = 0
    else:
        npre = preamble
        num = 8 * pl - 4 * sf + 28 + 16 * c - 20 * ih
        den = 4 * (sf - 2 * de)
        extra = 0
    n_payload = 8 + max(ceil(Fraction(num, den)), 0) * (cr + 4) + extra
    symbols = Fraction(npre) + Fraction(17, 4) + n_payload
    seconds = symbols * tsym
    ns = seconds * 10 ** 9
    assert ns.denominator == 1, (sf, bw, pl)
    mac_ms = ceil(Fraction(1000) * symbols * 2 ** sf / mac_hz)
    return {
        "sf": sf, "bw": bw, "cr": f"4/{cr + 4}", "payload": pl, "preamble": preamble,
        "explicitHeader": explicit, "crc": crc, "ldro": ldro,
        "nanoseconds": int(ns), "payloadSymbols": n_payload, "lowDataRateOptimization": bool(de),
        "loRaMacMilliseconds": mac_ms,
    }


def main():
    cases = []
    for sf in range(5, 13):
        for bw in ("125", "250", "500"):
            for cr in range(1, 5):
                for pl in (0, 1, 13, 24, 51, 115, 222, 255):
                    cases.append(time_on_air(sf, bw, cr, pl))
    # header, CRC and LDRO variants, odd preambles, narrow bandwidths
    for sf in range(5, 13):
        for bw in BANDWIDTHS:
            for explicit in (True, False):
                for crc in (True, False):
                    for ldro in ("auto", "on", "off"):
                        for pre in (6, 8, 12, 16):
                            cases.append(time_on_air(sf, bw, 1 if sf % 2 else 3, 20, pre, explicit, crc, ldro))
    source = ("computed by Fixtures/airtime/semtech_formula.py from Semtech AN1200.13 / SX1276 §4.1.1.6 / "
              "SX1261-2 §6.1.4 with exact fractions; independent of the Swift implementation")
    print('{"source": ' + json.dumps(source) + ',\n "cases": [')
    print(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
    print("]}")


if __name__ == "__main__":
    main()
