/*
 * Occupancy sensor payload codec, format version 1 (hardware/PAYLOAD.md).
 *
 * LoRaWAN Payload Codec API (LoRa Alliance TS013-1.0.0):
 *   decodeUplink({bytes, fPort})   -> {data, warnings, errors}   FPort 10
 *   encodeDownlink({data})         -> {bytes, fPort, warnings, errors}   FPort 11
 *   decodeDownlink({bytes, fPort}) -> {data, warnings, errors}   FPort 11
 * and, for tests and simulators (not part of TS013):
 *   encodeUplink({data, maxBytes}) -> {bytes, fPort, warnings, errors}   FPort 10
 *
 * On failure the result is {errors: ["<code>: <detail>"], warnings: []}, where <code> is one of the error codes
 * of PAYLOAD.md section 7. The functions never throw.
 *
 * Plain ECMAScript 5.1 (The Things Stack runs codecs in goja, ChirpStack v4 in QuickJS): no let/const, arrow
 * functions, classes, typed arrays, require, console or other host APIs; no state survives a call. JavaScript
 * bitwise operators are 32-bit signed, so values of more than 30 bits are built with arithmetic.
 */

/* The codec, in one closure: no global but OccupancyCodec and the four entry points below. */
var OccupancyCodec = (function () {
  /* Built-ins are copied to local names once: a global lookup is slow in some hosts (goja, Node's vm contexts). */
  var floor = Math.floor;
  var isFiniteNumber = isFinite;
  var parseInteger = parseInt;
  var toStringOf = Object.prototype.toString;
  var hasOwn = Object.prototype.hasOwnProperty;
  var OCC_POW2 = (function () {
    var out = [];
    var v = 1;
    var i;
    for (i = 0; i <= 32; i++) {
      out.push(v);
      v = v * 2;
    }
    return out;
  }());

  var OCC_VERSION = 1;
  var OCC_PORT_UP = 10;
  var OCC_PORT_DOWN = 11;
  var OCC_AGE_MAX = 4194303;
  var OCC_MAX_HISTORY = 31;
  var OCC_UPLINK_TYPES = { 1: "bay_state", 2: "gate_counts", 3: "status", 4: "boot", 5: "config_ack" };
  var OCC_DOWNLINK_TYPES = {
    16: "set_report_interval", 17: "set_heartbeat", 18: "set_debounce", 19: "set_capacity",
    20: "request_status", 21: "reset_counters", 22: "set_time"
  };
  var OCC_RESET_CAUSES = ["power_on", "brown_out", "watchdog", "software", "external_pin", "lockup", "low_power",
    "unknown"];
  var OCC_RESULTS = ["ok", "out_of_range", "unknown_command", "unsupported_version"];

  /* ------------------------------------------------------------------------------------------------ helpers */

  /* Thrown inside the codec only, caught by the four entry points. */
  function OccFailure(code, detail) {
    this.code = code;
    this.detail = detail;
  }

  function occFail(code, detail) {
    throw new OccFailure(code, detail);
  }

  /* The header byte: version (3 bits) then type (5 bits). */
  function occHeader(type) {
    return OCC_VERSION * 32 + type;
  }

  function occPow2(n) {
    return OCC_POW2[n];
  }

  /* Non-negative modulo of an integer-valued number (exact for any integer-valued double). */
  function occMod(v, m) {
    var r = v % m;
    return r < 0 ? r + m : r;
  }

  function occIsInt(v) {
    return typeof v === "number" && isFiniteNumber(v) && floor(v) === v;
  }

  function occInt(obj, key, where) {
    var v = obj[key];
    if (!occIsInt(v)) {
      occFail("out_of_range", (where || "") + key + " must be an integer");
    }
    return v;
  }

  function occIntRange(obj, key, min, max, where) {
    var v = occInt(obj, key, where);
    if (v < min || v > max) {
      occFail("out_of_range", (where || "") + key + " " + v + " is outside " + min + " ... " + max);
    }
    return v;
  }

  function occBool(obj, key, where) {
    var v = obj[key];
    if (v === true || v === 1) {
      return 1;
    }
    if (v === false || v === 0) {
      return 0;
    }
    occFail("out_of_range", (where || "") + key + " must be true or false");
  }

  function occKind(obj) {
    var v = obj.kind;
    if (v === "bay") {
      return 0;
    }
    if (v === "gate") {
      return 1;
    }
    occFail("out_of_range", "kind must be \"bay\" or \"gate\"");
  }

  function occIndexOf(list, v) {
    var i;
    for (i = 0; i < list.length; i++) {
      if (list[i] === v) {
        return i;
      }
    }
    return -1;
  }

  function occHash(obj) {
    var v = obj.config_hash;
    var s;
    var i;
    var h = 0;
    var c;
    if (occIsInt(v) && v >= 0 && v <= 4294967295) {
      return v;
    }
    if (typeof v !== "string") {
      occFail("out_of_range", "config_hash must be a string of 1 to 8 hexadecimal digits");
    }
    s = v;
    if (s.length > 2 && (s.substr(0, 2) === "0x" || s.substr(0, 2) === "0X")) {
      s = s.substr(2);
    }
    if (s.length < 1 || s.length > 8) {
      occFail("out_of_range", "config_hash must be a string of 1 to 8 hexadecimal digits");
    }
    for (i = 0; i < s.length; i++) {
      c = "0123456789abcdef".indexOf(s.charAt(i).toLowerCase());
      if (c < 0) {
        occFail("out_of_range", "config_hash must be a string of 1 to 8 hexadecimal digits");
      }
      h = h * 16 + c;
    }
    return h;
  }

  function occHex32(v) {
    var s = v.toString(16);
    while (s.length < 8) {
      s = "0" + s;
    }
    return s;
  }

  /* ------------------------------------------------------------------------------------------------ bit writer */

  function OccWriter() {
    this.bytes = [];
    this.bits = 0; /* bits written */
  }

  /* Writes the `width` low bits of the non-negative integer `value` (width <= 32), most significant bit first. */
  OccWriter.prototype.put = function (value, width) {
    var left = width;
    var free;
    var n;
    var chunk;
    while (left > 0) {
      free = 8 - (this.bits % 8);
      if (free === 8) {
        this.bytes.push(0);
      }
      n = left < free ? left : free;
      chunk = floor(value / occPow2(left - n)) % occPow2(n);
      this.bytes[this.bytes.length - 1] += chunk * occPow2(free - n);
      this.bits += n;
      left -= n;
    }
  };

  OccWriter.prototype.age = function (v) {
    if (v < 2048) {
      this.put(0, 1);
      this.put(v, 11);
    } else if (v < 65536) {
      this.put(2, 2);
      this.put(v, 16);
    } else {
      this.put(3, 2);
      this.put(v, 22);
    }
  };

  OccWriter.prototype.count = function (v) {
    if (v < 16) {
      this.put(0, 1);
      this.put(v, 4);
    } else if (v < 256) {
      this.put(2, 2);
      this.put(v, 8);
    } else {
      this.put(3, 2);
      this.put(v, 16);
    }
  };

  function occAgeBits(v) {
    return v < 2048 ? 12 : (v < 65536 ? 18 : 24);
  }

  function occCountBits(v) {
    return v < 16 ? 5 : (v < 256 ? 10 : 18);
  }

  /* ------------------------------------------------------------------------------------------------ bit reader */

  function OccReader(bytes) {
    this.bytes = bytes;
    this.pos = 0; /* bits read */
  }

  /* Reads `width` bits (width <= 32) as a non-negative integer; a field past the end is `truncated`. */
  OccReader.prototype.get = function (width, name) {
    var v = 0;
    var left = width;
    var avail;
    var n;
    var b;
    if (this.pos + width > this.bytes.length * 8) {
      occFail("truncated", (name || "a field") + " runs past the end of the payload");
    }
    while (left > 0) {
      avail = 8 - (this.pos % 8);
      n = left < avail ? left : avail;
      b = this.bytes[(this.pos - (this.pos % 8)) / 8];
      v = v * occPow2(n) + ((b >> (avail - n)) & (occPow2(n) - 1));
      this.pos += n;
      left -= n;
    }
    return v;
  };

  OccReader.prototype.age = function (name) {
    if (this.get(1, name) === 0) {
      return this.get(11, name);
    }
    return this.get(1, name) === 0 ? this.get(16, name) : this.get(22, name);
  };

  OccReader.prototype.count = function (name) {
    if (this.get(1, name) === 0) {
      return this.get(4, name);
    }
    return this.get(1, name) === 0 ? this.get(8, name) : this.get(16, name);
  };

  OccReader.prototype.finish = function () {
    var used;
    while (this.pos % 8 !== 0) {
      if (this.get(1, "padding") !== 0) {
        occFail("reserved_bits", "a padding bit of the last byte is not zero");
      }
    }
    used = this.pos / 8;
    if (used < this.bytes.length) {
      occFail("trailing_bytes", (this.bytes.length - used) + " byte(s) after the end of the message");
    }
  };

  /* ------------------------------------------------------------------------------------------------ encoding */

  /* Largest number of leading entries whose message fits in maxBytes (null: no limit, up to 31 entries). */
  function occFit(base, sizes, maxBytes) {
    var k = 0;
    var bits = base;
    var i;
    for (i = 0; i < sizes.length; i++) {
      if (maxBytes !== null && floor((bits + sizes[i] + 7) / 8) > maxBytes) {
        break;
      }
      bits += sizes[i];
      k++;
    }
    return k;
  }

  function occHistory(msg) {
    var h = msg.history;
    var out = [];
    var i;
    if (h === undefined || h === null) {
      return out;
    }
    if (toStringOf.call(h) !== "[object Array]") {
      occFail("out_of_range", "history must be a list");
    }
    for (i = 0; i < h.length && i < OCC_MAX_HISTORY; i++) {
      if (h[i] === null || typeof h[i] !== "object") {
        occFail("out_of_range", "history[" + i + "] must be an object");
      }
      out.push(h[i]);
    }
    return out;
  }

  /* Age deltas of the entries (unsaturated); ages must not go backwards. */
  function occDeltas(hist) {
    var out = [];
    var prev = 0;
    var i;
    var a;
    for (i = 0; i < hist.length; i++) {
      a = occInt(hist[i], "age_s", "history[" + i + "].");
      if (a < prev) {
        occFail("out_of_range", "history[" + i + "].age_s " + a + " goes backwards (previous " + prev + ")");
      }
      out.push(a - prev);
      prev = a;
    }
    return out;
  }

  function occSatAge(v) {
    return v > OCC_AGE_MAX ? OCC_AGE_MAX : v;
  }

  function occEncodeUplinkMessage(msg, maxBytes, w) {
    var t = msg.type;
    var hist;
    var deltas;
    var sizes;
    var ins;
    var outs;
    var k;
    var i;
    var occ;
    var changes;
    var cin;
    var cout;
    var pin;
    var pout;
    var kind;
    var mv;
    var tc;
    var half;
    var uptime;
    var resets;
    var fw;
    var parts;
    var major;
    var minor;
    var patch;
    var cause;
    var hash;
    var seq;
    var command;
    var result;
    var ein;
    var eout;
    if (t === "bay_state") {
      occ = occBool(msg, "occupied");
      changes = occMod(occInt(msg, "changes"), 4096);
      hist = occHistory(msg);
      deltas = occDeltas(hist);
      sizes = [];
      for (i = 0; i < deltas.length; i++) {
        deltas[i] = occSatAge(deltas[i]);
        sizes.push(occAgeBits(deltas[i]));
      }
      k = occFit(26, sizes, maxBytes);
      w.put(occHeader(1), 8);
      w.put(occ, 1);
      w.put(changes, 12);
      w.put(k, 5);
      for (i = 0; i < k; i++) {
        w.age(deltas[i]);
      }
    } else if (t === "gate_counts") {
      cin = occInt(msg, "in");
      cout = occInt(msg, "out");
      hist = occHistory(msg);
      deltas = occDeltas(hist);
      ins = [];
      outs = [];
      sizes = [];
      pin = cin;
      pout = cout;
      for (i = 0; i < hist.length; i++) {
        ein = occInt(hist[i], "in", "history[" + i + "].");
        eout = occInt(hist[i], "out", "history[" + i + "].");
        ins.push(occMod(pin - ein, 65536));
        outs.push(occMod(pout - eout, 65536));
        pin = ein;
        pout = eout;
        deltas[i] = occSatAge(deltas[i]);
        sizes.push(occAgeBits(deltas[i]) + occCountBits(ins[i]) + occCountBits(outs[i]));
      }
      k = occFit(45, sizes, maxBytes);
      w.put(occHeader(2), 8);
      w.put(occMod(cin, 65536), 16);
      w.put(occMod(cout, 65536), 16);
      w.put(k, 5);
      for (i = 0; i < k; i++) {
        w.age(deltas[i]);
        w.count(ins[i]);
        w.count(outs[i]);
      }
    } else if (t === "status") {
      kind = occKind(msg);
      mv = msg.battery_mv;
      if (mv === null || mv === undefined) {
        mv = 255;
      } else {
        if (typeof mv !== "number" || mv !== mv) {
          occFail("out_of_range", "battery_mv must be a number or null");
        }
        mv = floor((mv - 2000) / 10);
        mv = mv < 0 ? 0 : (mv > 254 ? 254 : mv);
      }
      tc = msg.temperature_c;
      if (tc === null || tc === undefined) {
        half = 128;
      } else {
        if (typeof tc !== "number" || tc !== tc) {
          occFail("out_of_range", "temperature_c must be a number or null");
        }
        half = floor(tc * 2);
        half = half < -127 ? -127 : (half > 127 ? 127 : half);
        half = occMod(half, 256);
      }
      uptime = occInt(msg, "uptime_min");
      if (uptime < 0) {
        occFail("out_of_range", "uptime_min must not be negative");
      }
      uptime = uptime > 1048575 ? 1048575 : uptime;
      resets = occMod(occInt(msg, "resets"), 256);
      if (kind === 1) {
        cin = occMod(occInt(msg, "in"), 65536);
        cout = occMod(occInt(msg, "out"), 65536);
      } else {
        occ = occBool(msg, "occupied");
        changes = occMod(occInt(msg, "changes"), 4096);
      }
      w.put(occHeader(3), 8);
      w.put(kind, 1);
      w.put(mv, 8);
      w.put(half, 8);
      w.put(uptime, 20);
      w.put(resets, 8);
      if (kind === 1) {
        w.put(cin, 16);
        w.put(cout, 16);
      } else {
        w.put(occ, 1);
        w.put(changes, 12);
      }
    } else if (t === "boot") {
      kind = occKind(msg);
      fw = msg.firmware;
      parts = typeof fw === "string" ? fw.split(".") : [];
      if (parts.length !== 3 || !/^[0-9]+$/.test(parts[0]) || !/^[0-9]+$/.test(parts[1]) ||
          !/^[0-9]+$/.test(parts[2])) {
        occFail("out_of_range", "firmware must be \"major.minor.patch\"");
      }
      major = parseInteger(parts[0], 10);
      minor = parseInteger(parts[1], 10);
      patch = parseInteger(parts[2], 10);
      if (major > 15 || minor > 63 || patch > 63) {
        occFail("out_of_range", "firmware " + fw + " is outside 15.63.63");
      }
      cause = occIndexOf(OCC_RESET_CAUSES, msg.reset_cause);
      if (cause < 0) {
        occFail("out_of_range", "unknown reset_cause");
      }
      hash = occHash(msg);
      w.put(occHeader(4), 8);
      w.put(kind, 1);
      w.put(major, 4);
      w.put(minor, 6);
      w.put(patch, 6);
      w.put(cause, 4);
      w.put(hash, 32);
      w.put(0, 3);
    } else if (t === "config_ack") {
      seq = occIntRange(msg, "seq", 0, 255);
      command = occIntRange(msg, "command", 0, 31);
      result = occIndexOf(OCC_RESULTS, msg.result);
      if (result < 0) {
        occFail("out_of_range", "unknown result");
      }
      hash = occHash(msg);
      w.put(occHeader(5), 8);
      w.put(seq, 8);
      w.put(command, 5);
      w.put(result, 3);
      w.put(hash, 32);
    } else {
      occFail("unknown_type", "\"" + t + "\" is not an uplink type");
    }
  }

  function occEncodeDownlinkMessage(msg, w) {
    var t = msg.type;
    var code = -1;
    var key;
    var seq;
    var a;
    var b;
    var c;
    for (key in OCC_DOWNLINK_TYPES) {
      if (hasOwn.call(OCC_DOWNLINK_TYPES, key) && OCC_DOWNLINK_TYPES[key] === t) {
        code = parseInteger(key, 10);
      }
    }
    if (code < 0) {
      occFail("unknown_type", "\"" + t + "\" is not a downlink type");
    }
    seq = occIntRange(msg, "seq", 0, 255);
    if (t === "set_report_interval") {
      a = occIntRange(msg, "interval_s", 10, 65535);
    } else if (t === "set_heartbeat") {
      a = occIntRange(msg, "period_min", 1, 65535);
    } else if (t === "set_debounce") {
      a = occIntRange(msg, "debounce_cs", 0, 4095);
      b = occIntRange(msg, "holdoff_s", 0, 4095);
    } else if (t === "set_capacity") {
      a = occIntRange(msg, "capacity", 1, 65535);
    } else if (t === "reset_counters") {
      a = occBool(msg, "changes");
      b = occBool(msg, "in");
      c = occBool(msg, "out");
    } else if (t === "set_time") {
      a = occIntRange(msg, "unix_time", 0, 4294967295);
    }
    w.put(occHeader(code), 8);
    w.put(seq, 8);
    if (t === "set_report_interval" || t === "set_heartbeat" || t === "set_capacity") {
      w.put(a, 16);
    } else if (t === "set_debounce") {
      w.put(a, 12);
      w.put(b, 12);
    } else if (t === "reset_counters") {
      w.put(a, 1);
      w.put(b, 1);
      w.put(c, 1);
      w.put(0, 5);
    } else if (t === "set_time") {
      w.put(a, 32);
    }
  }

  /* ------------------------------------------------------------------------------------------------ decoding */

  function occCheckBytes(bytes) {
    var i;
    var b;
    if (bytes === null || typeof bytes !== "object" || typeof bytes.length !== "number") {
      occFail("truncated", "no payload bytes");
    }
    for (i = 0; i < bytes.length; i++) {
      b = bytes[i];
      if (!occIsInt(b) || b < 0 || b > 255) {
        occFail("out_of_range", "byte " + i + " is not an integer 0 ... 255");
      }
    }
  }

  function occDecodeMessage(input, port) {
    var ok = input !== null && typeof input === "object";
    var bytes = ok ? input.bytes : undefined;
    var fPort = ok ? input.fPort : undefined;
    var r;
    var version;
    var t;
    var name;
    var m;
    var i;
    var k;
    var d;
    var di;
    var dout;
    var total;
    var sat;
    var hist;
    var occ;
    var changes;
    var pin;
    var pout;
    var gate;
    var battery;
    var temp;
    var cause;
    var res;
    if (fPort !== port) {
      occFail("unknown_port", "FPort " + fPort + " is not " + (port === OCC_PORT_UP ? "the uplink port 10" :
        "the downlink port 11"));
    }
    occCheckBytes(bytes);
    if (bytes.length === 0) {
      occFail("truncated", "the payload is empty");
    }
    r = new OccReader(bytes);
    version = r.get(3, "version");
    t = r.get(5, "type");
    if (version !== OCC_VERSION) {
      occFail("unknown_version", "version " + version + " is not 1");
    }
    name = port === OCC_PORT_UP ? OCC_UPLINK_TYPES[t] : OCC_DOWNLINK_TYPES[t];
    if (name === undefined) {
      occFail("unknown_type", "type " + t + " is not defined on FPort " + port);
    }
    m = { type: name };
    if (name === "bay_state") {
      occ = r.get(1, "occupied") === 1;
      changes = r.get(12, "changes");
      k = r.get(5, "count");
      m.occupied = occ;
      m.changes = changes;
      hist = [];
      total = 0;
      sat = false;
      for (i = 0; i < k; i++) {
        d = r.age("history[" + i + "] age");
        total += d;
        sat = sat || d === OCC_AGE_MAX;
        hist.push({ change: occMod(changes - i, 4096), age_s: total, occupied: i % 2 === 1 ? !occ : occ,
          saturated: sat });
      }
      m.history = hist;
    } else if (name === "gate_counts") {
      pin = r.get(16, "in");
      pout = r.get(16, "out");
      k = r.get(5, "count");
      m["in"] = pin;
      m.out = pout;
      hist = [];
      total = 0;
      sat = false;
      for (i = 0; i < k; i++) {
        d = r.age("history[" + i + "] age");
        di = r.count("history[" + i + "] in step");
        dout = r.count("history[" + i + "] out step");
        total += d;
        sat = sat || d === OCC_AGE_MAX;
        pin = occMod(pin - di, 65536);
        pout = occMod(pout - dout, 65536);
        hist.push({ age_s: total, "in": pin, out: pout, saturated: sat });
      }
      m.history = hist;
    } else if (name === "status") {
      gate = r.get(1, "kind") === 1;
      battery = r.get(8, "battery");
      temp = r.get(8, "temperature");
      m.kind = gate ? "gate" : "bay";
      m.battery_mv = battery === 255 ? null : 2000 + 10 * battery;
      temp = temp >= 128 ? temp - 256 : temp;
      m.temperature_c = temp === -128 ? null : temp / 2;
      m.uptime_min = r.get(20, "uptime");
      m.resets = r.get(8, "resets");
      if (gate) {
        m["in"] = r.get(16, "in");
        m.out = r.get(16, "out");
      } else {
        m.occupied = r.get(1, "occupied") === 1;
        m.changes = r.get(12, "changes");
      }
    } else if (name === "boot") {
      m.kind = r.get(1, "kind") === 1 ? "gate" : "bay";
      m.firmware = r.get(4, "firmware major") + "." + r.get(6, "firmware minor") + "." + r.get(6, "firmware patch");
      cause = r.get(4, "reset cause");
      if (cause > 7) {
        occFail("out_of_range", "reset cause " + cause + " is not defined");
      }
      m.reset_cause = OCC_RESET_CAUSES[cause];
      m.config_hash = occHex32(r.get(32, "config hash"));
      if (r.get(3, "reserved") !== 0) {
        occFail("reserved_bits", "the reserved field of boot is not zero");
      }
    } else if (name === "config_ack") {
      m.seq = r.get(8, "seq");
      m.command = r.get(5, "command");
      res = r.get(3, "result");
      if (res > 3) {
        occFail("out_of_range", "result " + res + " is not defined");
      }
      m.result = OCC_RESULTS[res];
      m.config_hash = occHex32(r.get(32, "config hash"));
    } else {
      m.seq = r.get(8, "seq");
      if (name === "set_report_interval") {
        m.interval_s = r.get(16, "interval_s");
        if (m.interval_s < 10) {
          occFail("out_of_range", "interval_s " + m.interval_s + " is below 10");
        }
      } else if (name === "set_heartbeat") {
        m.period_min = r.get(16, "period_min");
        if (m.period_min < 1) {
          occFail("out_of_range", "period_min 0 is below 1");
        }
      } else if (name === "set_debounce") {
        m.debounce_cs = r.get(12, "debounce_cs");
        m.holdoff_s = r.get(12, "holdoff_s");
      } else if (name === "set_capacity") {
        m.capacity = r.get(16, "capacity");
        if (m.capacity < 1) {
          occFail("out_of_range", "capacity 0 is below 1");
        }
      } else if (name === "reset_counters") {
        m.changes = r.get(1, "changes") === 1;
        m["in"] = r.get(1, "in") === 1;
        m.out = r.get(1, "out") === 1;
        if (r.get(5, "reserved") !== 0) {
          occFail("reserved_bits", "the reserved field of reset_counters is not zero");
        }
      } else if (name === "set_time") {
        m.unix_time = r.get(32, "unix_time");
      }
    }
    r.finish();
    return m;
  }

  /* ---------------------------------------------------------------------------------------------- results */

  function occFailure(e) {
    if (e instanceof OccFailure) {
      return { errors: [e.code + ": " + e.detail], warnings: [] };
    }
    /* Not expected: a bug, or a host object the codec does not understand. The tests treat it as a failure. */
    return { errors: ["out_of_range: internal error: " + (e && e.message ? e.message : e)], warnings: [] };
  }

  function occMessageOf(input) {
    if (input === null || typeof input !== "object" || input.data === null || typeof input.data !== "object") {
      occFail("out_of_range", "input.data must be an object");
    }
    return input.data;
  }

  return {
    encodeUplink: function (input) {
      var w;
      var maxBytes;
      var msg;
      try {
        msg = occMessageOf(input);
        maxBytes = input.maxBytes;
        if (maxBytes === undefined || maxBytes === null) {
          maxBytes = null;
        } else if (typeof maxBytes !== "number" || maxBytes !== maxBytes) {
          occFail("out_of_range", "maxBytes must be a number or null");
        }
        w = new OccWriter();
        occEncodeUplinkMessage(msg, maxBytes, w);
        return { bytes: w.bytes, fPort: OCC_PORT_UP, warnings: [], errors: [] };
      } catch (e) {
        return occFailure(e);
      }
    },
    encodeDownlink: function (input) {
      var w;
      var msg;
      try {
        msg = occMessageOf(input);
        w = new OccWriter();
        occEncodeDownlinkMessage(msg, w);
        return { bytes: w.bytes, fPort: OCC_PORT_DOWN, warnings: [], errors: [] };
      } catch (e) {
        return occFailure(e);
      }
    },
    decodeUplink: function (input) {
      try {
        return { data: occDecodeMessage(input, OCC_PORT_UP), warnings: [], errors: [] };
      } catch (e) {
        return occFailure(e);
      }
    },
    decodeDownlink: function (input) {
      try {
        return { data: occDecodeMessage(input, OCC_PORT_DOWN), warnings: [], errors: [] };
      } catch (e) {
        return occFailure(e);
      }
    }
  };
}());

/* ------------------------------------------------------------------------------------------------ TS013 API */

function encodeUplink(input) {
  return OccupancyCodec.encodeUplink(input);
}

function encodeDownlink(input) {
  return OccupancyCodec.encodeDownlink(input);
}

function decodeUplink(input) {
  return OccupancyCodec.decodeUplink(input);
}

function decodeDownlink(input) {
  return OccupancyCodec.decodeDownlink(input);
}
