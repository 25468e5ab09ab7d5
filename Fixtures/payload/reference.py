#!/usr/bin/env python3
"""An independent implementation of hardware/PAYLOAD.md (version 1), written from the specification alone, used to
generate Fixtures/payload/vectors.json and the K table of PAYLOAD.md section 3.1. The Swift, C and JavaScript
codecs are tested against its output.

Run: python3 Fixtures/payload/reference.py > Fixtures/payload/vectors.json
     python3 Fixtures/payload/reference.py --k-table
"""
import json
import random
import sys

AGE_MAX = 4194303
UP, DOWN = 10, 11
UPLINK_TYPES = {1: "bay_state", 2: "gate_counts", 3: "status", 4: "boot", 5: "config_ack"}
DOWNLINK_TYPES = {16: "set_report_interval", 17: "set_heartbeat", 18: "set_debounce", 19: "set_capacity",
                  20: "request_status", 21: "reset_counters", 22: "set_time"}
RESET_CAUSES = ["power_on", "brown_out", "watchdog", "software", "external_pin", "lockup", "low_power", "unknown"]
RESULTS = ["ok", "out_of_range", "unknown_command", "unsupported_version"]


class CodecError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Writer:
    def __init__(self):
        self.bits = []

    def put(self, value, width):
        for i in range(width - 1, -1, -1):
            self.bits.append((value >> i) & 1)

    def age(self, v):
        v = min(v, AGE_MAX)
        if v < 2048:
            self.put(0, 1); self.put(v, 11)
        elif v < 65536:
            self.put(0b10, 2); self.put(v, 16)
        else:
            self.put(0b11, 2); self.put(v, 22)

    def count(self, v):
        if v < 16:
            self.put(0, 1); self.put(v, 4)
        elif v < 256:
            self.put(0b10, 2); self.put(v, 8)
        else:
            self.put(0b11, 2); self.put(v, 16)

    def bytes(self):
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def get(self, width):
        if self.pos + width > len(self.data) * 8:
            raise CodecError("truncated")
        v = 0
        for _ in range(width):
            byte = self.data[self.pos // 8]
            v = (v << 1) | ((byte >> (7 - self.pos % 8)) & 1)
            self.pos += 1
        return v

    def age(self):
        if self.get(1) == 0:
            return self.get(11)
        return self.get(16) if self.get(1) == 0 else self.get(22)

    def count(self):
        if self.get(1) == 0:
            return self.get(4)
        return self.get(8) if self.get(1) == 0 else self.get(16)

    def finish(self):
        while self.pos % 8:
            if self.get(1):
                raise CodecError("reserved_bits")
        if self.pos // 8 < len(self.data):
            raise CodecError("trailing_bytes")


def age_bits(v):
    v = min(v, AGE_MAX)
    return 12 if v < 2048 else (18 if v < 65536 else 24)


def count_bits(v):
    return 5 if v < 16 else (10 if v < 256 else 18)


# ---------------------------------------------------------------- encoding

def encode(msg, max_bytes=None):
    """Returns (fport, bytes). Raises CodecError('out_of_range') for values the format cannot hold."""
    t = msg["type"]
    w = Writer()
    if t in UPLINK_TYPES.values():
        code = [k for k, v in UPLINK_TYPES.items() if v == t][0]
        w.put(1, 3); w.put(code, 5)
        if t == "bay_state":
            ages = [e["age_s"] for e in msg.get("history", [])][:31]
            deltas = deltas_of(ages)
            base = 26
            k = fit(base, [age_bits(d) for d in deltas], max_bytes)
            w.put(1 if msg["occupied"] else 0, 1); w.put(msg["changes"] % 4096, 12); w.put(k, 5)
            for d in deltas[:k]:
                w.age(d)
        elif t == "gate_counts":
            hist = msg.get("history", [])[:31]
            ages = deltas_of([e["age_s"] for e in hist])
            ins, outs, prev_in, prev_out = [], [], msg["in"], msg["out"]
            for e in hist:
                ins.append((prev_in - e["in"]) % 65536); outs.append((prev_out - e["out"]) % 65536)
                prev_in, prev_out = e["in"], e["out"]
            sizes = [age_bits(a) + count_bits(i) + count_bits(o) for a, i, o in zip(ages, ins, outs)]
            k = fit(45, sizes, max_bytes)
            w.put(msg["in"] % 65536, 16); w.put(msg["out"] % 65536, 16); w.put(k, 5)
            for j in range(k):
                w.age(ages[j]); w.count(ins[j]); w.count(outs[j])
        elif t == "status":
            gate = msg["kind"] == "gate"
            w.put(1 if gate else 0, 1)
            mv = msg.get("battery_mv")
            w.put(255 if mv is None else max(0, min(254, (mv - 2000) // 10)), 8)
            tc = msg.get("temperature_c")
            if tc is None:
                w.put(0x80, 8)
            else:
                half = int(tc * 2 // 1)  # floor to the half degree
                half = max(-127, min(127, half))
                w.put(half & 0xFF, 8)
            w.put(min(msg["uptime_min"], 1048575), 20)
            w.put(msg["resets"] % 256, 8)
            if gate:
                w.put(msg["in"] % 65536, 16); w.put(msg["out"] % 65536, 16)
            else:
                w.put(1 if msg["occupied"] else 0, 1); w.put(msg["changes"] % 4096, 12)
        elif t == "boot":
            w.put(1 if msg["kind"] == "gate" else 0, 1)
            major, minor, patch = (int(x) for x in msg["firmware"].split("."))
            if not (0 <= major <= 15 and 0 <= minor <= 63 and 0 <= patch <= 63):
                raise CodecError("out_of_range")
            w.put(major, 4); w.put(minor, 6); w.put(patch, 6)
            w.put(RESET_CAUSES.index(msg["reset_cause"]), 4)
            w.put(int(msg["config_hash"], 16), 32)
            w.put(0, 3)
        elif t == "config_ack":
            w.put(msg["seq"], 8); w.put(msg["command"], 5); w.put(RESULTS.index(msg["result"]), 3)
            w.put(int(msg["config_hash"], 16), 32)
        return UP, w.bytes()
    code = [k for k, v in DOWNLINK_TYPES.items() if v == t][0]
    w.put(1, 3); w.put(code, 5); w.put(msg["seq"], 8)
    if t == "set_report_interval":
        check(10 <= msg["interval_s"] <= 65535); w.put(msg["interval_s"], 16)
    elif t == "set_heartbeat":
        check(1 <= msg["period_min"] <= 65535); w.put(msg["period_min"], 16)
    elif t == "set_debounce":
        check(0 <= msg["debounce_cs"] <= 4095 and 0 <= msg["holdoff_s"] <= 4095)
        w.put(msg["debounce_cs"], 12); w.put(msg["holdoff_s"], 12)
    elif t == "set_capacity":
        check(1 <= msg["capacity"] <= 65535); w.put(msg["capacity"], 16)
    elif t == "reset_counters":
        w.put(int(msg["changes"]), 1); w.put(int(msg["in"]), 1); w.put(int(msg["out"]), 1); w.put(0, 5)
    elif t == "set_time":
        check(0 <= msg["unix_time"] <= 0xFFFFFFFF); w.put(msg["unix_time"], 32)
    return DOWN, w.bytes()


def check(ok):
    if not ok:
        raise CodecError("out_of_range")


def deltas_of(ages):
    out, prev = [], 0
    for a in ages:
        if a < prev:
            raise CodecError("out_of_range")
        out.append(a - prev)
        prev = a
    return out


def fit(base, sizes, max_bytes):
    k, bits = 0, base
    for s in sizes:
        if max_bytes is not None and (bits + s + 7) // 8 > max_bytes:
            break
        bits += s
        k += 1
    return k


# ---------------------------------------------------------------- decoding

def decode(fport, data):
    if fport not in (UP, DOWN):
        raise CodecError("unknown_port")
    r = Reader(data)
    if not data:
        raise CodecError("truncated")
    version, t = r.get(3), r.get(5)
    if version != 1:
        raise CodecError("unknown_version")
    table = UPLINK_TYPES if fport == UP else DOWNLINK_TYPES
    if t not in table:
        raise CodecError("unknown_type")
    name = table[t]
    m = {"type": name}
    if name == "bay_state":
        occ = r.get(1) == 1
        changes = r.get(12)
        k = r.get(5)
        m.update(occupied=occ, changes=changes)
        hist, total, sat = [], 0, False
        for i in range(k):
            d = r.age()
            total += d
            sat = sat or d == AGE_MAX
            hist.append({"change": (changes - i) % 4096, "age_s": total, "occupied": occ ^ (i % 2 == 1), "saturated": sat})
        m["history"] = hist
    elif name == "gate_counts":
        cin, cout, k = r.get(16), r.get(16), r.get(5)
        m.update({"in": cin, "out": cout})
        hist, total, sat, pin, pout = [], 0, False, cin, cout
        for _ in range(k):
            d, di, do = r.age(), r.count(), r.count()
            total += d
            sat = sat or d == AGE_MAX
            pin, pout = (pin - di) % 65536, (pout - do) % 65536
            hist.append({"age_s": total, "in": pin, "out": pout, "saturated": sat})
        m["history"] = hist
    elif name == "status":
        gate = r.get(1) == 1
        b = r.get(8)
        tt = r.get(8)
        m.update(kind="gate" if gate else "bay", battery_mv=None if b == 255 else 2000 + 10 * b)
        tt = tt - 256 if tt >= 128 else tt
        m["temperature_c"] = None if tt == -128 else tt / 2
        m["uptime_min"] = r.get(20)
        m["resets"] = r.get(8)
        if gate:
            m["in"], m["out"] = r.get(16), r.get(16)
        else:
            m["occupied"], m["changes"] = r.get(1) == 1, r.get(12)
    elif name == "boot":
        m["kind"] = "gate" if r.get(1) else "bay"
        m["firmware"] = "%d.%d.%d" % (r.get(4), r.get(6), r.get(6))
        cause = r.get(4)
        if cause > 7:
            raise CodecError("out_of_range")
        m["reset_cause"] = RESET_CAUSES[cause]
        m["config_hash"] = "%08x" % r.get(32)
        if r.get(3):
            raise CodecError("reserved_bits")
    elif name == "config_ack":
        m["seq"], m["command"] = r.get(8), r.get(5)
        res = r.get(3)
        if res > 3:
            raise CodecError("out_of_range")
        m["result"] = RESULTS[res]
        m["config_hash"] = "%08x" % r.get(32)
    else:
        m["seq"] = r.get(8)
        if name == "set_report_interval":
            m["interval_s"] = r.get(16); check(m["interval_s"] >= 10)
        elif name == "set_heartbeat":
            m["period_min"] = r.get(16); check(m["period_min"] >= 1)
        elif name == "set_debounce":
            m["debounce_cs"], m["holdoff_s"] = r.get(12), r.get(12)
        elif name == "set_capacity":
            m["capacity"] = r.get(16); check(m["capacity"] >= 1)
        elif name == "reset_counters":
            m["changes"], m["in"], m["out"] = r.get(1) == 1, r.get(1) == 1, r.get(1) == 1
            if r.get(5):
                raise CodecError("reserved_bits")
        elif name == "set_time":
            m["unix_time"] = r.get(32)
    r.finish()
    return m


# ---------------------------------------------------------------- vectors

def k_table():
    rows = [("EU868 DR0 (SF12)", 51), ("EU868 DR1 (SF11)", 51), ("EU868 DR2 (SF10)", 51), ("EU868 DR3 (SF9)", 115),
            ("EU868 DR4 (SF8)", 242), ("EU868 DR5 (SF7)", 242), ("EU868 DR6 (SF7/250)", 242), ("EU868 DR7 (FSK)", 242),
            ("US915 DR0 (SF10)", 11), ("US915 DR1 (SF9)", 53), ("US915 DR2 (SF8)", 125), ("US915 DR3 (SF7)", 242),
            ("US915 DR4 (SF8/500)", 242)]
    print("| region, DR | N (bytes) | bay_state typical | bay_state guaranteed | gate_counts typical | gate_counts guaranteed |")
    print("|---|---|---|---|---|---|")
    for name, n in rows:
        def k(base, per):
            return fit(base, [per] * 31, n)
        print(f"| {name} | {n} | {k(26, 12)} | {k(26, 24)} | {k(45, 22)} | {k(45, 60)} |")


def random_message(rng):
    t = rng.choice(list(UPLINK_TYPES.values()) + list(DOWNLINK_TYPES.values()))
    def age():
        return rng.choice([0, 1, 2047, 2048, 65535, 65536, AGE_MAX, AGE_MAX + 100, rng.randrange(0, 3000), rng.randrange(0, 200000)])
    if t == "bay_state":
        ages, a = [], 0
        for _ in range(rng.randrange(0, 35)):
            a += age(); ages.append(a)
        return {"type": t, "occupied": rng.random() < 0.5, "changes": rng.randrange(0, 4096), "history": [{"age_s": x} for x in ages]}
    if t == "gate_counts":
        cin, cout = rng.randrange(0, 65536), rng.randrange(0, 65536)
        hist, a, pi, po = [], 0, cin, cout
        for _ in range(rng.randrange(0, 35)):
            a += age()
            pi = (pi - rng.choice([0, 1, 15, 16, 255, 256, 65535, rng.randrange(0, 20)])) % 65536
            po = (po - rng.choice([0, 3, 16, 300, rng.randrange(0, 20)])) % 65536
            hist.append({"age_s": a, "in": pi, "out": po})
        return {"type": t, "in": cin, "out": cout, "history": hist}
    if t == "status":
        m = {"type": t, "kind": rng.choice(["bay", "gate"]),
             "battery_mv": rng.choice([None, 1500, 2000, 2009, 3600, 4540, 4541, 5000, rng.randrange(2000, 4600)]),
             "temperature_c": rng.choice([None, -70.0, -63.5, -0.5, 0.0, 21.5, 63.5, 64.0, rng.randrange(-130, 130) / 2]),
             "uptime_min": rng.choice([0, 1048575, 2000000, rng.randrange(0, 100000)]), "resets": rng.randrange(0, 300)}
        if m["kind"] == "gate":
            m["in"], m["out"] = rng.randrange(0, 70000), rng.randrange(0, 70000)
        else:
            m["occupied"], m["changes"] = rng.random() < 0.5, rng.randrange(0, 5000)
        return m
    if t == "boot":
        return {"type": t, "kind": rng.choice(["bay", "gate"]),
                "firmware": "%d.%d.%d" % (rng.randrange(0, 16), rng.randrange(0, 64), rng.randrange(0, 64)),
                "reset_cause": rng.choice(RESET_CAUSES), "config_hash": "%08x" % rng.randrange(0, 1 << 32)}
    if t == "config_ack":
        return {"type": t, "seq": rng.randrange(0, 256), "command": rng.randrange(0, 32), "result": rng.choice(RESULTS),
                "config_hash": "%08x" % rng.randrange(0, 1 << 32)}
    m = {"type": t, "seq": rng.randrange(0, 256)}
    if t == "set_report_interval":
        m["interval_s"] = rng.choice([10, 60, 65535, rng.randrange(10, 65536)])
    elif t == "set_heartbeat":
        m["period_min"] = rng.choice([1, 360, 65535])
    elif t == "set_debounce":
        m["debounce_cs"], m["holdoff_s"] = rng.randrange(0, 4096), rng.randrange(0, 4096)
    elif t == "set_capacity":
        m["capacity"] = rng.choice([1, 120, 65535])
    elif t == "reset_counters":
        m["changes"], m["in"], m["out"] = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    elif t == "set_time":
        m["unix_time"] = rng.choice([0, 1795000000, 0xFFFFFFFF])
    return m


def main():
    if "--k-table" in sys.argv:
        k_table()
        return
    rng = random.Random(20261129)
    cases = []
    fixed = [
        ({"type": "bay_state", "occupied": True, "changes": 5, "history": []}, None, "bay sensor, base form"),
        ({"type": "bay_state", "occupied": False, "changes": 4095, "history": [{"age_s": 10}, {"age_s": 70}]}, None, "PAYLOAD.md section 9"),
        ({"type": "bay_state", "occupied": True, "changes": 4096 + 7, "history": [{"age_s": 0}]}, None, "counter wraps at 4096"),
        ({"type": "bay_state", "occupied": True, "changes": 1, "history": [{"age_s": a * 600} for a in range(1, 40)]}, 11, "history packed to 11 bytes"),
        ({"type": "bay_state", "occupied": True, "changes": 1, "history": [{"age_s": a * 600} for a in range(1, 40)]}, 51, "history packed to 51 bytes (31 entries max)"),
        ({"type": "bay_state", "occupied": False, "changes": 9, "history": [{"age_s": 5000000}, {"age_s": 5000001}]}, None, "ages saturate"),
        ({"type": "gate_counts", "in": 65535, "out": 0, "history": [{"age_s": 300, "in": 65530, "out": 65000}]}, None, "gate counters wrap"),
        ({"type": "gate_counts", "in": 120, "out": 100, "history": [{"age_s": 60 * i, "in": 120 - 2 * i, "out": 100 - i} for i in range(1, 10)]}, 11, "gate history at 11 bytes"),
        ({"type": "status", "kind": "bay", "battery_mv": 3610, "temperature_c": 21.5, "uptime_min": 14400, "resets": 2, "occupied": False, "changes": 1022}, None, "bay heartbeat"),
        ({"type": "status", "kind": "gate", "battery_mv": None, "temperature_c": -3.0, "uptime_min": 60, "resets": 0, "in": 7, "out": 2}, None, "gate heartbeat, battery not measured"),
        ({"type": "status", "kind": "bay", "battery_mv": 9999, "temperature_c": -99.0, "uptime_min": 99999999, "resets": 257, "occupied": True, "changes": 4097}, None, "saturation and wrap"),
        ({"type": "boot", "kind": "bay", "firmware": "1.4.2", "reset_cause": "watchdog", "config_hash": "5f2a91c0"}, None, "boot"),
        ({"type": "config_ack", "seq": 7, "command": 16, "result": "ok", "config_hash": "5f2a91c0"}, None, "ack"),
        ({"type": "set_report_interval", "seq": 1, "interval_s": 300}, None, "PAYLOAD.md section 9"),
        ({"type": "set_heartbeat", "seq": 2, "period_min": 360}, None, ""),
        ({"type": "set_debounce", "seq": 3, "debounce_cs": 50, "holdoff_s": 10}, None, ""),
        ({"type": "set_capacity", "seq": 4, "capacity": 120}, None, ""),
        ({"type": "request_status", "seq": 5}, None, ""),
        ({"type": "reset_counters", "seq": 6, "changes": True, "in": False, "out": False}, None, ""),
        ({"type": "set_time", "seq": 7, "unix_time": 1795000000}, None, ""),
    ]
    for msg, budget, note in fixed:
        add(cases, msg, budget, note)
    for _ in range(400):
        msg = random_message(rng)
        budget = rng.choice([None, None, 11, 24, 51, 115, 242])
        add(cases, msg, budget, "random")
    errors = []
    def err(fport, hexs, code, note):
        try:
            decode(fport, bytes.fromhex(hexs))
            got = None
        except CodecError as e:
            got = e.code
        assert got == code, (hexs, got, code)
        errors.append({"fport": fport, "hex": hexs, "error": code, "note": note})
    err(12, "218028", "unknown_port", "FPort 12 is not this format")
    err(10, "", "truncated", "empty")
    err(10, "41", "unknown_version", "version 2")
    err(10, "01", "unknown_version", "version 0")
    err(10, "26", "unknown_type", "uplink type 6")
    err(10, "30012c01", "unknown_type", "a downlink type on the uplink port")
    err(11, "21802800", "unknown_type", "an uplink type on the downlink port")
    err(10, "2180", "truncated", "bay_state cut after the counter's first bits")
    err(10, "21802801", "reserved_bits", "a padding bit set")
    err(10, "2180280000", "trailing_bytes", "one byte too many")
    err(10, "21802840", "truncated", "count 1 but no entry")
    err(10, "8120e520d65c009f81", "unknown_version", "version 4")
    err(10, "8460000000000000", "unknown_version", "version 4 boot")
    err(10, "84" , "unknown_version", "version 4, one byte")
    # boot with reset cause 9
    _, b = encode({"type": "boot", "kind": "bay", "firmware": "1.0.0", "reset_cause": "power_on", "config_hash": "00000000"})
    bb = bytearray(b); bb[3] |= 0x09 << 3; err(10, bb.hex(), "out_of_range", "boot reset cause 9")
    bb = bytearray(b); bb[7] |= 0x01; err(10, bb.hex(), "reserved_bits", "boot reserved bits set")
    _, a = encode({"type": "config_ack", "seq": 1, "command": 16, "result": "ok", "config_hash": "00000000"})
    aa = bytearray(a); aa[2] |= 0x05; err(10, aa.hex(), "out_of_range", "config_ack result 5")
    err(11, "30010009", "out_of_range", "report interval 9 s")
    err(11, "31020000", "out_of_range", "heartbeat 0 min")
    err(11, "33040000", "out_of_range", "capacity 0")
    err(11, "358601", "reserved_bits", "reset_counters reserved bits")
    err(11, "3607", "truncated", "set_time without its time")
    err(11, "340500", "trailing_bytes", "request_status with a byte too many")
    err(11, "2f01", "unknown_type", "downlink type 15")
    print(json.dumps({
        "about": "Vectors for hardware/PAYLOAD.md version 1, generated by Fixtures/payload/reference.py (an implementation written from the specification alone, seed 20261129). 'message' is the encoder input, 'maxBytes' the budget (null: none), 'hex' the encoded bytes, 'decoded' what every decoder returns. 'errors' are malformed payloads and the error each decoder must report.",
        "cases": cases, "errors": errors}, indent=None, separators=(",", ":")).replace('},{"message"', '},\n{"message"'))


def add(cases, msg, budget, note):
    try:
        port, data = encode(msg, budget)
    except CodecError as e:
        cases.append({"message": msg, "maxBytes": budget, "encodeError": e.code, "note": note})
        return
    decoded = decode(port, data)
    cases.append({"message": msg, "maxBytes": budget, "fport": port, "hex": data.hex(), "decoded": decoded, "note": note})


if __name__ == "__main__":
    main()
