#!/usr/bin/env python3
"""Turns Fixtures/payload/vectors.json into tests/vectors.inc, the C data test_codec.c checks the codec against.

Run from anywhere: python3 hardware/firmware/tests/gen_vectors.py
(the Makefile runs it when vectors.inc is missing or older than vectors.json).

vectors.inc defines VEC_CASES[] (vec_case_t) and VEC_ERRORS[] (vec_error_t); the two types are declared in
test_codec.c before it includes this file. Messages are occ_message_t designated initializers:
  - encoder input ('message'): history_len is the JSON history length (the codec uses at most 31 entries; only
    the first 31 are stored), temperature_c becomes temperature_dc (tenths), null battery or temperature
    becomes has_battery = 0 / has_temperature = 0;
  - expected decoder output ('decoded'): every field the decoder fills; all others are zero.
"""
import json
import os
import sys
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "Fixtures", "payload", "vectors.json"))
DST = os.path.join(HERE, "vectors.inc")

MAX_HISTORY = 31
MAX_MESSAGE_BYTES = 239
TYPES = {"bay_state": "OCC_BAY_STATE", "gate_counts": "OCC_GATE_COUNTS", "status": "OCC_STATUS",
         "boot": "OCC_BOOT", "config_ack": "OCC_CONFIG_ACK", "set_report_interval": "OCC_SET_REPORT_INTERVAL",
         "set_heartbeat": "OCC_SET_HEARTBEAT", "set_debounce": "OCC_SET_DEBOUNCE",
         "set_capacity": "OCC_SET_CAPACITY", "request_status": "OCC_REQUEST_STATUS",
         "reset_counters": "OCC_RESET_COUNTERS", "set_time": "OCC_SET_TIME"}
RESET_CAUSES = ["power_on", "brown_out", "watchdog", "software", "external_pin", "lockup", "low_power", "unknown"]
RESULTS = ["ok", "out_of_range", "unknown_command", "unsupported_version"]
ERRORS = {"unknown_port": "OCC_ERR_UNKNOWN_PORT", "truncated": "OCC_ERR_TRUNCATED",
          "trailing_bytes": "OCC_ERR_TRAILING_BYTES", "unknown_version": "OCC_ERR_UNKNOWN_VERSION",
          "unknown_type": "OCC_ERR_UNKNOWN_TYPE", "reserved_bits": "OCC_ERR_RESERVED_BITS",
          "out_of_range": "OCC_ERR_OUT_OF_RANGE"}


def c_string(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\x%02x\"\"" % (ord(ch) & 0xFF))
    return '"' + "".join(out) + '"'


def u(v):
    v = int(v)
    if not 0 <= v <= 0xFFFFFFFF:
        raise ValueError("value %d does not fit uint32_t" % v)
    return "%du" % v


def b(v):
    return "1u" if v else "0u"


def tenths(tc):
    """Degrees Celsius (a JSON number) to exact tenths; the vectors hold multiples of 0.5."""
    f = Fraction(str(tc)) * 10
    if f.denominator != 1:
        raise ValueError("temperature %r is not a whole number of tenths" % tc)
    return int(f)


def firmware(s):
    major, minor, patch = (int(x) for x in s.split("."))
    return [("fw_major", u(major)), ("fw_minor", u(minor)), ("fw_patch", u(patch))]


def history_init(entries, fields):
    items = []
    for e in entries[:MAX_HISTORY]:
        items.append("{" + ", ".join(".%s = %s" % (cf, conv(e[jf])) for cf, jf, conv in fields if jf in e) + "}")
    return "{" + ", ".join(items) + "}" if items else None


def message_fields(msg, decoded):
    """(C field, C value) pairs of an occ_message_t for a JSON message (encoder input or decoder output)."""
    t = msg["type"]
    f = [("type", TYPES[t])]
    if t in ("bay_state", "gate_counts"):
        hist = msg.get("history", [])
        if t == "bay_state":
            f += [("occupied", b(msg["occupied"])), ("changes", u(msg["changes"]))]
            spec = [("age_s", "age_s", u)]
            if decoded:
                spec += [("change", "change", u), ("occupied", "occupied", b), ("saturated", "saturated", b)]
        else:
            f += [("count_in", u(msg["in"])), ("count_out", u(msg["out"]))]
            spec = [("age_s", "age_s", u), ("count_in", "in", u), ("count_out", "out", u)]
            if decoded:
                spec += [("saturated", "saturated", b)]
        if decoded and len(hist) > MAX_HISTORY:
            raise ValueError("decoded history longer than 31")
        f.append(("history_len", u(min(len(hist), 255))))
        init = history_init(hist, spec)
        if init:
            f.append(("history", init))
    elif t == "status":
        gate = msg["kind"] == "gate"
        f.append(("kind", "OCC_KIND_GATE" if gate else "OCC_KIND_BAY"))
        if msg.get("battery_mv") is not None:
            f += [("has_battery", "1u"), ("battery_mv", u(msg["battery_mv"]))]
        if msg.get("temperature_c") is not None:
            f += [("has_temperature", "1u"), ("temperature_dc", "%d" % tenths(msg["temperature_c"]))]
        f += [("uptime_min", u(msg["uptime_min"])), ("resets", u(msg["resets"]))]
        if gate:
            f += [("count_in", u(msg["in"])), ("count_out", u(msg["out"]))]
        else:
            f += [("occupied", b(msg["occupied"])), ("changes", u(msg["changes"]))]
    elif t == "boot":
        f.append(("kind", "OCC_KIND_GATE" if msg["kind"] == "gate" else "OCC_KIND_BAY"))
        f += firmware(msg["firmware"])
        f.append(("reset_cause", u(RESET_CAUSES.index(msg["reset_cause"]))))
        f.append(("config_hash", "0x%08xu" % int(msg["config_hash"], 16)))
    elif t == "config_ack":
        f += [("seq", u(msg["seq"])), ("command", u(msg["command"])), ("result", u(RESULTS.index(msg["result"]))),
              ("config_hash", "0x%08xu" % int(msg["config_hash"], 16))]
    else:
        f.append(("seq", u(msg["seq"])))
        if t == "set_report_interval":
            f.append(("interval_s", u(msg["interval_s"])))
        elif t == "set_heartbeat":
            f.append(("period_min", u(msg["period_min"])))
        elif t == "set_debounce":
            f += [("debounce_cs", u(msg["debounce_cs"])), ("holdoff_s", u(msg["holdoff_s"]))]
        elif t == "set_capacity":
            f.append(("capacity", u(msg["capacity"])))
        elif t == "reset_counters":
            f += [("reset_changes", b(msg["changes"])), ("reset_in", b(msg["in"])), ("reset_out", b(msg["out"]))]
        elif t == "set_time":
            f.append(("unix_time", u(msg["unix_time"])))
    return "{" + ", ".join(".%s = %s" % kv for kv in f) + "}"


def byte_array(hexs, limit):
    data = bytes.fromhex(hexs)
    if len(data) > limit:
        raise ValueError("%d bytes do not fit the %d-byte array" % (len(data), limit))
    return len(data), "{" + ", ".join("0x%02x" % x for x in data) + "}" if data else "{0}"


def main():
    with open(SRC) as fh:
        vectors = json.load(fh)
    lines = ["/* Generated by hardware/firmware/tests/gen_vectors.py from Fixtures/payload/vectors.json. Do not edit. */",
             "/* %d cases, %d errors. */" % (len(vectors["cases"]), len(vectors["errors"])), ""]
    lines.append("static const vec_case_t VEC_CASES[] = {")
    for i, case in enumerate(vectors["cases"]):
        mb = case.get("maxBytes")
        note = "%d: %s" % (i, case.get("note") or case["message"]["type"])
        lines.append("    /* %d */ {%s, %s, %du," % (i, c_string(note), message_fields(case["message"], False), mb or 0))
        if "encodeError" in case:
            lines.append("        %s, 0u, 0u, {0}, {.type = 0}}," % ERRORS[case["encodeError"]])
        else:
            n, arr = byte_array(case["hex"], MAX_MESSAGE_BYTES)
            lines.append("        OCC_OK, %du, %du, %s," % (case["fport"], n, arr))
            lines.append("        %s}," % message_fields(case["decoded"], True))
    lines.append("};")
    lines.append("")
    lines.append("static const vec_error_t VEC_ERRORS[] = {")
    for i, e in enumerate(vectors["errors"]):
        n, arr = byte_array(e["hex"], 32)
        lines.append("    /* %d */ {%s, %du, %du, %s, %s}," % (i, c_string("%d: %s" % (i, e.get("note", ""))),
                                                           e["fport"], n, arr, ERRORS[e["error"]]))
    lines.append("};")
    lines.append("")
    text = "\n".join(lines)
    with open(DST, "w") as fh:
        fh.write(text)
    print("wrote %s: %d cases, %d errors" % (os.path.relpath(DST), len(vectors["cases"]), len(vectors["errors"])),
          file=sys.stderr)


if __name__ == "__main__":
    main()
