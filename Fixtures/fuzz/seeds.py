#!/usr/bin/env python3
"""Writes the seed corpora of the Swift fuzz targets (Fuzz/) from the repository's fixtures and published examples.

Each seed is one input file under Fixtures/fuzz/<target>/. Sources, by target:
  frame           Fixtures/lorawan/vectors.json and lorawan11-vectors.json (published LoRaWAN test vectors), the frames
                  of Fixtures/traces/public/alpov-*.ndjson (alpov/LoRaTap test captures)
  occupancy       Fixtures/payload/vectors.json (FPort byte, then the payload)
  cayenne         the example payloads of the Cayenne Low Power Payload reference (myDevices): temperature on
                  channels 3 and 5, accelerometer, GPS
  json            lines of the trace fixtures
  semtech, tts, chirpstack
                  the trace fixtures of each format, a few lines per seed
  session-log     Fixtures/fuzz/session-log/*.log as written by `loraharness emulate` + `flash-test --session-log`
                  (kept as they are; not written here)
  pcap            pcap (LoRaTap v1, DLT 270) and pcapng files built here from alpov frames, following the pcap and
                  pcapng specifications (IETF draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng) and alpov's loratap1.h
  channel-scenario, fleet-scenario
                  Fixtures/scenarios/*.yaml (by kind)
  plan, profile   hardware/plans/*.yaml, hardware/profiles/*.yaml
  keys            Fixtures/traces/keys.yaml, Fixtures/traces/public/alpov-keys.yaml
  stimuli         Fixtures/stimuli/*.txt
  units           durations and frequencies as the README writes them
  at-lines        RUI3 answers and events as RAK's RUI3 AT command manual writes them
  semtech-udp     datagrams of Semtech's PROTOCOL.TXT (version 2), its PULL_RESP example included
Run from the repository root: python3 Fixtures/fuzz/seeds.py
"""
import base64, glob, json, os, struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Fixtures", "fuzz")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def lines(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def alpov_frames():
    out = []
    for p in sorted(glob.glob(os.path.join(ROOT, "Fixtures/traces/public/alpov-*.ndjson"))):
        for l in lines(os.path.relpath(p, ROOT)):
            v = json.loads(l)
            r = v.get("rxpk")
            if isinstance(r, dict) and "data" in r:
                out.append((r, base64.b64decode(r["data"])))
    return out


def frames():
    seen = set()
    for name in ["vectors.json", "lorawan11-vectors.json"]:
        doc = json.load(open(os.path.join(ROOT, "Fixtures/lorawan", name)))
        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    if isinstance(v, str) and k.lower() in ("phypayload", "frame", "hex", "bytes") and all(c in "0123456789abcdefABCDEF" for c in v) and len(v) >= 2 and len(v) % 2 == 0:
                        seen.add(bytes.fromhex(v))
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
        walk(doc)
    for _, b in alpov_frames()[:40]:
        seen.add(b)
    for i, b in enumerate(sorted(seen)):
        put("frame", "frame-%03d" % i, b)


def occupancy():
    doc = json.load(open(os.path.join(ROOT, "Fixtures/payload/vectors.json")))
    n = 0
    for kind, cases in (("case", doc.get("cases", [])), ("error", doc.get("errors", []))):
        for case in cases:
            port, hx = case.get("fport"), case.get("hex")
            if port is None or hx is None:
                continue
            put("occupancy", "%s-%03d" % (kind, n), bytes([port]) + bytes.fromhex(hx))
            n += 1


def cayenne():
    # Cayenne LPP reference examples: two temperatures, an accelerometer, a GPS position.
    put("cayenne", "two-temperatures", bytes.fromhex("03670110056700FF"))
    put("cayenne", "temperature-negative", bytes.fromhex("0167FFD7"))
    put("cayenne", "accelerometer", bytes.fromhex("067104D2FB2E0000"))
    put("cayenne", "gps", bytes.fromhex("018806765FF2960A0003E8"))


TRACES = {
    "semtech": ["Fixtures/traces/semtech-gateway.log", "Fixtures/traces/public/forwarder-quoted.log",
                "Fixtures/traces/public/alpov-00-test.ndjson", "Fixtures/traces/public/alpov-06-encrypted.ndjson"],
    "tts": ["Fixtures/traces/tts-uplinks.ndjson", "Fixtures/traces/public/tts-doc-events.ndjson",
            "Fixtures/traces/public/tts-doc-fragments.ndjson", "Fixtures/traces/public/tts-doc-uplink-pretty.json"],
    "chirpstack": ["Fixtures/traces/chirpstack-up.ndjson", "Fixtures/traces/public/chirpstack-doc-events.ndjson",
                   "Fixtures/traces/public/chirpstack-doc-up-pretty.json"],
}


def traces():
    for target, files in TRACES.items():
        for f in files:
            ls = lines(f)
            stem = os.path.splitext(os.path.basename(f))[0]
            if f.endswith(".json"):
                put(target, stem, "\n".join(ls) + "\n")
                continue
            for i in range(0, min(len(ls), 24), 4):
                put(target, "%s-%02d" % (stem, i // 4), "\n".join(ls[i:i + 4]) + "\n")
            for i, l in enumerate(ls[:6]):
                put("json", "%s-%s-%d" % (target, stem, i), l)


def loratap_v1(frame, freq_hz, sf, crc_ok=True):
    # alpov loratap1.h: version 1, padding, length 35 (big-endian), then frequency, bandwidth, SF, packet RSSI,
    # max RSSI, current RSSI, SNR, sync word, then the v1 fields (source gateway EUI, timestamp, flags, CR, ...).
    hdr = struct.pack(">BBH", 1, 0, 35)
    hdr += struct.pack(">IBB", freq_hz, 1, sf)          # frequency, bandwidth (1 = 125 kHz), SF
    hdr += bytes([0x40, 0x40, 0x40, 0x14])               # RSSI fields, SNR
    hdr += bytes([0x34])                                 # sync word (public)
    hdr += bytes(range(1, 9))                            # gateway EUI
    hdr += struct.pack(">I", 123456)                     # timestamp
    hdr += bytes([0x08 if crc_ok else 0x10, 5, 0, 0])    # flags, coding rate, data rate, if channel
    hdr += bytes([0, 0, 0, 0])                           # rf chain, tx power, modulation, padding
    hdr = hdr[:35].ljust(35, b"\0")
    return hdr + frame


def pcaps():
    fs = alpov_frames()[:6]
    # Classic pcap, microsecond resolution, DLT_LORATAP (270).
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 270)
    t = 1658926792
    for i, (r, b) in enumerate(fs):
        rec = loratap_v1(b, int(round(r["freq"] * 1e6)), int(r["datr"][2:r["datr"].index("B")]))
        out += struct.pack("<IIII", t + i, 561999, len(rec), len(rec)) + rec
    put("pcap", "loratap-v1.pcap", out)
    # pcapng: SHB, IDB with if_tsresol 6 (microseconds), EPBs.
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack("<HH", 9, 1) + bytes([6, 0, 0, 0]) + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", 270, 0, 65535) + opts)
    ng = shb + idb
    for i, (r, b) in enumerate(fs):
        rec = loratap_v1(b, int(round(r["freq"] * 1e6)), int(r["datr"][2:r["datr"].index("B")]), crc_ok=i % 3 != 2)
        us = (t + i) * 1_000_000 + 561999
        ng += block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(rec), len(rec)) + rec)
    put("pcap", "loratap-v1.pcapng", ng)


def yaml_files():
    for p in sorted(glob.glob(os.path.join(ROOT, "Fixtures/scenarios/*.yaml"))):
        text = open(p).read()
        kind = "fleet-scenario" if "\nsites:" in text or text.startswith("sites:") else "channel-scenario"
        put(kind, os.path.basename(p), text)
    for p in sorted(glob.glob(os.path.join(ROOT, "hardware/plans/*.yaml"))):
        put("plan", os.path.basename(p), open(p).read())
    for p in sorted(glob.glob(os.path.join(ROOT, "hardware/profiles/*.yaml"))):
        put("profile", os.path.basename(p), open(p).read())
    for p in ["Fixtures/traces/keys.yaml", "Fixtures/traces/public/alpov-keys.yaml"]:
        put("keys", os.path.basename(p), open(os.path.join(ROOT, p)).read())
    for p in sorted(glob.glob(os.path.join(ROOT, "Fixtures/stimuli/*.txt"))):
        put("stimuli", os.path.basename(p), open(p).read())


def small_texts():
    for i, s in enumerate(["500ms", "90s", "10m", "6h", "7d", "1.5s", "1h30m", "868100000", "868.1MHz", "868100kHz",
                           "868.1 MHz", "923.2MHz", "2us", "250ns"]):
        put("units", "unit-%02d" % i, s)
    # RUI3 AT command manual: answers and events of a RAK3172.
    rui3 = ["OK", "AT_ERROR", "AT_PARAM_ERROR", "AT_BUSY_ERROR", "AT_NO_NETWORK_JOINED", "+EVT:JOINED",
            "+EVT:JOIN_FAILED_RX_TIMEOUT", "+EVT:SEND_CONFIRMED_OK", "+EVT:SEND_CONFIRMED_FAILED(4)",
            "+EVT:TX_DONE", "+EVT:RX_1:-70:8:UNICAST:2:1234", "RUI_4.0.6_RAK3172-E", "Restricted_Wait_3456_ms",
            "AT+APPKEY=2B7E151628AED2A6ABF7158809CF4F3C", "RAKwireless RAK3172-E Example", "Current Work Mode: LoRaWAN."]
    put("at-lines", "rui3-session", "\r\n".join(rui3) + "\r\n")
    for i, l in enumerate(rui3):
        put("at-lines", "rui3-%02d" % i, l + "\r\n")


def udp():
    eui = bytes.fromhex("AA555A0000000101")
    # PROTOCOL.TXT §6: the PULL_RESP example, and the other datagrams of the protocol.
    txpk = b'{"txpk":{"imme":true,"freq":864.123456,"rfch":0,"powe":14,"modu":"LORA","datr":"SF11BW125","codr":"4/6","ipol":false,"size":32,"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"}}'
    put("semtech-udp", "pull-resp-example", bytes([2, 0, 0, 3]) + txpk)
    fs = alpov_frames()
    if fs:
        data = base64.b64encode(fs[0][1]).decode()
        j = json.dumps({"txpk": {"imme": False, "tmst": 1000000, "freq": 869.525, "rfch": 0, "powe": 27, "modu": "LORA",
                                 "datr": "SF9BW125", "codr": "4/5", "ipol": True, "size": len(fs[0][1]), "data": data}},
                       separators=(",", ":")).encode()
        put("semtech-udp", "pull-resp-frame", bytes([2, 0x12, 0x34, 3]) + j)
    put("semtech-udp", "push-ack", bytes([2, 0x12, 0x34, 1]))
    put("semtech-udp", "pull-ack", bytes([2, 0x56, 0x78, 4]))
    put("semtech-udp", "pull-data", bytes([2, 0x56, 0x78, 2]) + eui)
    put("semtech-udp", "push-data-stat", bytes([2, 1, 2, 0]) + eui +
        b'{"stat":{"time":"2014-01-12 08:59:28 GMT","lati":46.24000,"long":3.25230,"alti":145,"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2}}')
    put("semtech-udp", "tx-ack-none", bytes([2, 0x12, 0x34, 5]) + eui + b'{"txpk_ack":{"error":"NONE"}}')
    put("semtech-udp", "tx-ack-empty", bytes([2, 0x12, 0x34, 5]) + eui)


def dictionary(target, words):
    """A libFuzzer dictionary: one quoted token a line; backslash, quote and non-printable bytes escaped (\\xNN)."""
    def quote(w):
        out = ""
        for b in w.encode():
            if b == 0x5C or b == 0x22:
                out += "\\" + chr(b)
            elif 0x20 <= b < 0x7F:
                out += chr(b)
            else:
                out += "\\x%02X" % b
        return '"' + out + '"'
    with open(os.path.join(OUT, target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for fuzz-%s, written by seeds.py\n" % target)
        for w in sorted(set(words)):
            f.write(quote(w) + "\n")


def dictionaries():
    json_tokens = ["{", "}", "[", "]", ":", ",", "true", "false", "null", "\\u0000", "\\n", "-0.5e-3", "1e308", "\"\""]
    semtech = ["rxpk", "txpk", "stat", "tmst", "tmms", "time", "freq", "chan", "rfch", "modu", "LORA", "FSK", "datr",
               "SF7BW125", "SF12BW500", "codr", "4/5", "OFF", "rssi", "lsnr", "size", "data", "rsig", "rssic", "imme",
               "powe", "ipol", "ncrc", "JSON up: ", "JSON down: ", "0x"]
    tts = ["end_device_ids", "uplink_message", "frm_payload", "f_port", "f_cnt", "rx_metadata", "settings", "data_rate",
           "lora", "spreading_factor", "bandwidth", "coding_rate", "frequency", "join_accept", "received_at", "dev_eui",
           "dev_addr", "join_eui", "gateway_ids", "gateway_id", "eui", "rssi", "snr", "timestamp", "consumed_airtime",
           "result", "downlink_ack", "downlink_sent", "session_key_id", "decoded_payload", "confirmed"]
    chirpstack = ["deviceInfo", "devEui", "devAddr", "fCnt", "fPort", "data", "rxInfo", "txInfo", "frequency",
                  "modulation", "lora", "spreadingFactor", "bandwidth", "codeRate", "CR_4_5", "deduplicationId", "time",
                  "gatewayId", "rssi", "snr", "phyPayload", "confirmed", "adr", "dr", "object", "joinEui"]
    dictionary("json", json_tokens + semtech + tts + chirpstack)
    dictionary("semtech", json_tokens + semtech)
    dictionary("tts", json_tokens + tts)
    dictionary("chirpstack", json_tokens + chirpstack)
    # The field names every YAML reader allows, taken from its allowOnly lists in Sources/.
    import re
    names = set()
    for p in glob.glob(os.path.join(ROOT, "Sources", "*", "*.swift")):
        for m in re.finditer(r"allowOnly\((?:Set\()?\[([^\]]*)\]", open(p).read()):
            names.update(re.findall(r'"([A-Za-z0-9_.]+)"', m.group(1)))
    yaml_tokens = [n + ": " for n in names] + ["- ", "&a ", "*a", "{", "}", "[", "]", "\n  ", "---", "|", ">", "!!str ",
                                                "1h", "500ms", "868.1MHz", "EU868", "true", "null", "0x"]
    for t in ["channel-scenario", "fleet-scenario", "plan", "profile", "keys"]:
        dictionary(t, yaml_tokens)
    dictionary("stimuli", ["detect 1", "detect 0", "vehicle in", "vehicle out", "downlink ", "console ATC+", "reset ",
                           "watchdog", "power_on", "brown_out", "#", "\n", "s ", "m ", "h ", "ms ", "3s"])
    dictionary("units", ["ms", "us", "ns", "s", "m", "h", "d", "MHz", "kHz", "GHz", "Hz", ".", " ", "9223372036854775807"])
    dictionary("at-lines", ["\r\n", "\r", "\n", "AT+", "+EVT:", "OK", "AT_ERROR", "AT_BUSY_ERROR", "AT_PARAM_ERROR",
                            "JOINED", "SEND_CONFIRMED_OK", "TX_DONE", "RX_1:", "Restricted_Wait_", "_ms", "APPKEY=",
                            "NWKSKEY=", "APPSKEY=", "RUI_", "\x1b[", "\x00"])


if __name__ == "__main__":
    frames(); occupancy(); cayenne(); traces(); pcaps(); yaml_files(); small_texts(); udp(); dictionaries()
    for d in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, d)
        if os.path.isdir(p):
            print("%-18s %d seeds" % (d, len(os.listdir(p))))
