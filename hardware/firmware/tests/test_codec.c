/*
 * Self-checking test of the occupancy payload codec (hardware/PAYLOAD.md, src/occupancy_codec.c).
 *
 *   test_codec [seed|time [random_messages [fuzz_inputs]]]    (defaults: time 100000 200000)
 *
 * (a) every case of Fixtures/payload/vectors.json (through tests/vectors.inc): encode gives exactly the expected
 *     bytes and FPort, decode of those bytes gives exactly the expected fields; (b) every error vector gives
 *     exactly the expected error; (c) the worked examples of PAYLOAD.md section 9; encoder range errors;
 *     (d) a seeded randomized round trip checked against an independent model of the saturation, wrap and
 *     packing rules; (e) random and mutated byte strings of 0 ... 300 bytes on both ports (and others) decode to
 *     a valid status without touching memory they should not (run it under -fsanitize=address,undefined);
 *     (f) the configuration hash of the defaults against Python's zlib.crc32.
 *
 * Prints a summary; exits 1 on any failure. The seed is printed so that a failing run can be repeated.
 */
#include "occupancy_codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *note;
    occ_message_t msg;       /* encoder input */
    size_t max_bytes;        /* 0: no limit */
    occ_status_t encode_status;
    uint8_t fport;
    size_t len;
    uint8_t bytes[OCC_MAX_MESSAGE_BYTES];
    occ_message_t decoded;   /* expected decoder output */
} vec_case_t;

typedef struct {
    const char *note;
    uint8_t fport;
    size_t len;
    uint8_t bytes[32];
    occ_status_t error;
} vec_error_t;

#include "vectors.inc"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REPORTED_FAILURES 40

static unsigned long failures = 0;
static unsigned long checks = 0;

static void failf(const char *what, const char *detail)
{
    failures++;
    if (failures <= MAX_REPORTED_FAILURES) {
        printf("FAIL %s: %s\n", what, detail);
    } else if (failures == MAX_REPORTED_FAILURES + 1) {
        printf("(further failures not shown)\n");
    }
}

static void check(int ok, const char *what, const char *detail)
{
    checks++;
    if (!ok) {
        failf(what, detail);
    }
}

static void hex_string(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    out[0] = '\0';
    for (i = 0; i < n && o + 3 < cap; i++) {
        o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
    }
}

/* ------------------------------------------------------------------------------------ message comparison */

/* Writes the first differing field into why (empty when equal). Compares every field, the unused ones included
 * (the decoder zeroes them). */
static int same_message(const occ_message_t *a, const occ_message_t *b, char *why, size_t cap)
{
    unsigned i;
#define F(f)                                                                                                       \
    if (a->f != b->f) {                                                                                            \
        snprintf(why, cap, "%s: got %ld, expected %ld", #f, (long)a->f, (long)b->f);                               \
        return 0;                                                                                                  \
    }
    F(type) F(seq) F(occupied) F(changes) F(count_in) F(count_out) F(history_len) F(kind) F(has_battery)
    F(battery_mv) F(has_temperature) F(temperature_dc) F(uptime_min) F(resets) F(fw_major) F(fw_minor) F(fw_patch)
    F(reset_cause) F(config_hash) F(command) F(result) F(interval_s) F(period_min) F(debounce_cs) F(holdoff_s)
    F(capacity) F(unix_time) F(reset_changes) F(reset_in) F(reset_out)
#undef F
    for (i = 0; i < OCC_MAX_HISTORY; i++) {
        const occ_history_t *x = &a->history[i], *y = &b->history[i];
#define H(f)                                                                                                       \
    if (x->f != y->f) {                                                                                            \
        snprintf(why, cap, "history[%u].%s: got %ld, expected %ld", i, #f, (long)x->f, (long)y->f);                \
        return 0;                                                                                                  \
    }
        H(age_s) H(count_in) H(count_out) H(change) H(occupied) H(saturated)
#undef H
    }
    why[0] = '\0';
    return 1;
}

static int all_zero(const occ_message_t *m)
{
    static const occ_message_t zero; /* const: not mutable state */
    char why[160];
    return same_message(m, &zero, why, sizeof why);
}

/* ------------------------------------------------------------------------------------ (a) (b) vectors */

static unsigned long test_vector_cases(void)
{
    size_t i;
    char what[160], detail[1200], gh[600], eh[600];
    unsigned long n = 0;
    for (i = 0; i < COUNT_OF(VEC_CASES); i++) {
        const vec_case_t *v = &VEC_CASES[i];
        uint8_t out[OCC_MAX_MESSAGE_BYTES + 8];
        size_t len = 0, cut;
        uint8_t port = 0;
        occ_status_t st;
        occ_message_t d, again;

        n++;
        snprintf(what, sizeof what, "vector case %s", v->note);
        memset(out, 0xA5, sizeof out);
        st = occ_encode(&v->msg, v->max_bytes, out, OCC_MAX_MESSAGE_BYTES, &len, &port);
        if (v->encode_status != OCC_OK) {
            snprintf(detail, sizeof detail, "encode gave %s, expected %s", occ_status_name(st),
                     occ_status_name(v->encode_status));
            check(st == v->encode_status, what, detail);
            continue;
        }
        hex_string(out, st == OCC_OK ? len : 0, gh, sizeof gh);
        hex_string(v->bytes, v->len, eh, sizeof eh);
        snprintf(detail, sizeof detail, "encode: %s fport %u %s, expected fport %u %s", occ_status_name(st), port, gh,
                 v->fport, eh);
        check(st == OCC_OK && port == v->fport && len == v->len && memcmp(out, v->bytes, v->len) == 0, what,
              detail);

        /* the exact size is enough, one byte less is buffer_too_small (and nothing is written past it) */
        if (v->len > 0) {
            memset(out, 0xA5, sizeof out);
            st = occ_encode(&v->msg, v->max_bytes, out, v->len, &len, &port);
            check(st == OCC_OK && out[v->len] == 0xA5, what, "encode into an exact-size buffer");
            memset(out, 0xA5, sizeof out);
            st = occ_encode(&v->msg, v->max_bytes, out, v->len - 1, &len, &port);
            check(st == OCC_ERR_BUFFER_TOO_SMALL && out[v->len - 1] == 0xA5, what,
                  "encode into a buffer one byte short is not buffer_too_small");
        }

        st = occ_decode(v->fport, v->bytes, v->len, &d);
        if (st != OCC_OK) {
            snprintf(detail, sizeof detail, "decode gave %s", occ_status_name(st));
            check(0, what, detail);
            continue;
        }
        check(same_message(&d, &v->decoded, detail, sizeof detail), what, detail);

        /* the decoded form re-encodes to the same bytes (the reference writes shortest codes) */
        st = occ_encode(&d, 0, out, sizeof out, &len, &port);
        check(st == OCC_OK && len == v->len && memcmp(out, v->bytes, v->len) == 0 && port == v->fport, what,
              "re-encoding the decoded message changes the bytes");

        /* every proper prefix is truncated; one more byte is trailing_bytes */
        for (cut = 0; cut < v->len; cut++) {
            st = occ_decode(v->fport, v->bytes, cut, &again);
            if (st != OCC_ERR_TRUNCATED) {
                snprintf(detail, sizeof detail, "prefix of %u bytes gave %s", (unsigned)cut, occ_status_name(st));
                check(0, what, detail);
                break;
            }
        }
        checks++;
        memcpy(out, v->bytes, v->len);
        out[v->len] = 0;
        st = occ_decode(v->fport, out, v->len + 1, &again);
        check(st == OCC_ERR_TRAILING_BYTES, what, "an extra byte is not trailing_bytes");
        /* the other port refuses it */
        st = occ_decode(v->fport == OCC_PORT_UPLINK ? OCC_PORT_DOWNLINK : OCC_PORT_UPLINK, v->bytes, v->len, &again);
        check(st == OCC_ERR_UNKNOWN_TYPE, what, "the other port does not answer unknown_type");
    }
    return n;
}

static unsigned long test_vector_errors(void)
{
    size_t i;
    char what[160], detail[200];
    for (i = 0; i < COUNT_OF(VEC_ERRORS); i++) {
        const vec_error_t *e = &VEC_ERRORS[i];
        occ_message_t d;
        occ_status_t st = occ_decode(e->fport, e->bytes, e->len, &d);
        snprintf(what, sizeof what, "error vector %s", e->note);
        snprintf(detail, sizeof detail, "gave %s, expected %s", occ_status_name(st), occ_status_name(e->error));
        check(st == e->error, what, detail);
        check(all_zero(&d), what, "the message is not zeroed after an error");
    }
    return (unsigned long)COUNT_OF(VEC_ERRORS);
}

/* ------------------------------------------------------------------------------------ (c) worked examples */

static void expect_encode(const char *what, const occ_message_t *m, const uint8_t *bytes, size_t n, uint8_t fport)
{
    uint8_t out[OCC_MAX_MESSAGE_BYTES];
    size_t len = 0;
    uint8_t port = 0;
    char gh[600], eh[600], detail[1300];
    occ_status_t st = occ_encode(m, 0, out, sizeof out, &len, &port);
    hex_string(out, st == OCC_OK ? len : 0, gh, sizeof gh);
    hex_string(bytes, n, eh, sizeof eh);
    snprintf(detail, sizeof detail, "%s fport %u %s, expected fport %u %s", occ_status_name(st), port, gh, fport, eh);
    check(st == OCC_OK && len == n && memcmp(out, bytes, n) == 0 && port == fport, what, detail);
}

static void expect_decode_error(const char *what, uint8_t fport, const uint8_t *bytes, size_t n, occ_status_t want)
{
    occ_message_t d;
    char detail[200];
    occ_status_t st = occ_decode(fport, bytes, n, &d);
    snprintf(detail, sizeof detail, "gave %s, expected %s", occ_status_name(st), occ_status_name(want));
    check(st == want, what, detail);
}

static void expect_encode_error(const char *what, const occ_message_t *m, occ_status_t want)
{
    uint8_t out[OCC_MAX_MESSAGE_BYTES];
    size_t len = 0;
    uint8_t port = 0;
    char detail[200];
    occ_status_t st = occ_encode(m, 0, out, sizeof out, &len, &port);
    snprintf(detail, sizeof detail, "gave %s, expected %s", occ_status_name(st), occ_status_name(want));
    check(st == want, what, detail);
}

static void test_worked_examples(void)
{
    occ_message_t m, d;
    static const uint8_t ex1[] = {0x21, 0x80, 0x28, 0x00};
    static const uint8_t ex2[] = {0x21, 0x7f, 0xf8, 0x80, 0x28, 0x0f, 0x00};
    static const uint8_t ex3[] = {0x30, 0x01, 0x01, 0x2c};
    static const uint8_t err1[] = {0x41};
    static const uint8_t err2[] = {0x21, 0x80, 0x28, 0x01};
    static const uint8_t err3[] = {0x21, 0x80, 0x28, 0x00, 0x00};
    static const uint8_t err4[] = {0x21, 0x80, 0x28, 0x40};
    static const uint8_t bits23[] = {0x23, 0x80};
    char detail[200];

    /* bay_state, occupied, change 5, no history */
    memset(&m, 0, sizeof m);
    m.type = OCC_BAY_STATE;
    m.occupied = 1;
    m.changes = 5;
    expect_encode("section 9 example 1", &m, ex1, sizeof ex1, OCC_PORT_UPLINK);

    /* bay_state, free, change 4095, ages 10 s and 70 s */
    memset(&m, 0, sizeof m);
    m.type = OCC_BAY_STATE;
    m.occupied = 0;
    m.changes = 4095;
    m.history_len = 2;
    m.history[0].age_s = 10;
    m.history[1].age_s = 70;
    expect_encode("section 9 example 2", &m, ex2, sizeof ex2, OCC_PORT_UPLINK);
    check(occ_decode(OCC_PORT_UPLINK, ex2, sizeof ex2, &d) == OCC_OK && d.type == OCC_BAY_STATE && d.occupied == 0 &&
              d.changes == 4095 && d.history_len == 2 && d.history[0].change == 4095 && d.history[0].age_s == 10 &&
              d.history[0].occupied == 0 && d.history[0].saturated == 0 && d.history[1].change == 4094 &&
              d.history[1].age_s == 70 && d.history[1].occupied == 1 && d.history[1].saturated == 0,
          "section 9 example 2", "decoded entries differ");

    /* set_report_interval, seq 1, 300 s */
    memset(&m, 0, sizeof m);
    m.type = OCC_SET_REPORT_INTERVAL;
    m.seq = 1;
    m.interval_s = 300;
    expect_encode("section 9 example 3", &m, ex3, sizeof ex3, OCC_PORT_DOWNLINK);
    check(occ_decode(OCC_PORT_DOWNLINK, ex3, sizeof ex3, &d) == OCC_OK && d.type == OCC_SET_REPORT_INTERVAL &&
              d.seq == 1 && d.interval_s == 300,
          "section 9 example 3", "decode");

    expect_decode_error("section 9 error 41", OCC_PORT_UPLINK, err1, sizeof err1, OCC_ERR_UNKNOWN_VERSION);
    expect_decode_error("section 9 error 21802801", OCC_PORT_UPLINK, err2, sizeof err2, OCC_ERR_RESERVED_BITS);
    expect_decode_error("section 9 error 2180280000", OCC_PORT_UPLINK, err3, sizeof err3, OCC_ERR_TRAILING_BYTES);
    expect_decode_error("section 9 error 21802840", OCC_PORT_UPLINK, err4, sizeof err4, OCC_ERR_TRUNCATED);
    /* section 2: 001 00011 1 -> 23 80 is bay_state... only as bits; as a message it is truncated */
    expect_decode_error("section 2 example as a payload", OCC_PORT_UPLINK, bits23, sizeof bits23, OCC_ERR_TRUNCATED);
    expect_decode_error("unknown port 0", 0, ex1, sizeof ex1, OCC_ERR_UNKNOWN_PORT);
    expect_decode_error("unknown port 255", 255, ex1, sizeof ex1, OCC_ERR_UNKNOWN_PORT);
    expect_decode_error("NULL input", OCC_PORT_UPLINK, NULL, 4, OCC_ERR_TRUNCATED);
    check(occ_decode(OCC_PORT_UPLINK, ex1, sizeof ex1, NULL) == OCC_ERR_BUFFER_TOO_SMALL, "decode into NULL",
          "not buffer_too_small");

    /* section 7: the port is checked before the length, the length before the version */
    expect_decode_error("empty on port 12", 12, ex1, 0, OCC_ERR_UNKNOWN_PORT);
    /* a field check comes before truncation of later fields: boot with reset cause 9, cut after it */
    {
        static const uint8_t boot_cause9[] = {0x24, 0x00, 0x00, 0x48};
        static const uint8_t ack_result5[] = {0x25, 0x01, 0x85};
        expect_decode_error("boot cause 9, truncated later", OCC_PORT_UPLINK, boot_cause9, sizeof boot_cause9,
                            OCC_ERR_OUT_OF_RANGE);
        expect_decode_error("config_ack result 5, truncated later", OCC_PORT_UPLINK, ack_result5,
                            sizeof ack_result5, OCC_ERR_OUT_OF_RANGE);
    }
    /* decoders accept any form of a variable-length code: delta 10 written with the 18-bit form (10 prefix).
     * 001 00001 | 0 000000000001 00001 | 10 0000000000001010 | 0000 -> 21 00 08 60 00 a0 (checked with
     * Fixtures/payload/reference.py's decoder) */
    {
        static const uint8_t long_form[] = {0x21, 0x00, 0x08, 0x60, 0x00, 0xa0};
        check(occ_decode(OCC_PORT_UPLINK, long_form, sizeof long_form, &d) == OCC_OK && d.history_len == 1 &&
                  d.history[0].age_s == 10 && d.changes == 1,
              "longer AGE form", "not accepted");
    }

    /* status names */
    {
        static const char *const names[] = {"ok", "unknown_port", "truncated", "trailing_bytes", "unknown_version",
                                            "unknown_type", "reserved_bits", "out_of_range", "buffer_too_small"};
        unsigned i;
        for (i = 0; i < COUNT_OF(names); i++) {
            snprintf(detail, sizeof detail, "status %u is %s, expected %s", i, occ_status_name((occ_status_t)i),
                     names[i]);
            check(strcmp(occ_status_name((occ_status_t)i), names[i]) == 0, "occ_status_name", detail);
        }
    }
}

static void test_encoder_errors(void)
{
    occ_message_t m;
    uint8_t out[OCC_MAX_MESSAGE_BYTES];
    size_t len = 0;
    uint8_t port = 0;
    static const uint8_t bad_types[] = {0, 6, 15, 23, 31, 32, 255};
    unsigned i;

    /* ages going backwards, bay and gate, also past the entries the budget keeps */
    memset(&m, 0, sizeof m);
    m.type = OCC_BAY_STATE;
    m.history_len = 3;
    m.history[0].age_s = 100;
    m.history[1].age_s = 99;
    m.history[2].age_s = 200;
    expect_encode_error("bay ages backwards", &m, OCC_ERR_OUT_OF_RANGE);
    m.history[1].age_s = 150;
    m.history[2].age_s = 149;
    check(occ_encode(&m, 4, out, sizeof out, &len, &port) == OCC_ERR_OUT_OF_RANGE, "bay ages backwards after budget",
          "not out_of_range");
    m.type = OCC_GATE_COUNTS;
    expect_encode_error("gate ages backwards", &m, OCC_ERR_OUT_OF_RANGE);
    /* equal ages are fine; entries past the 31st are not used */
    memset(&m, 0, sizeof m);
    m.type = OCC_BAY_STATE;
    m.history_len = 200;
    for (i = 0; i < OCC_MAX_HISTORY; i++) {
        m.history[i].age_s = 5;
    }
    check(occ_encode(&m, 0, out, sizeof out, &len, &port) == OCC_OK && len == (26 + 31 * 12 + 7) / 8,
          "history_len 200", "not 31 entries");

    memset(&m, 0, sizeof m);
    m.type = OCC_BOOT;
    m.fw_major = 16;
    expect_encode_error("boot major 16", &m, OCC_ERR_OUT_OF_RANGE);
    m.fw_major = 15;
    m.fw_minor = 64;
    expect_encode_error("boot minor 64", &m, OCC_ERR_OUT_OF_RANGE);
    m.fw_minor = 63;
    m.fw_patch = 64;
    expect_encode_error("boot patch 64", &m, OCC_ERR_OUT_OF_RANGE);
    m.fw_patch = 63;
    m.reset_cause = 8;
    expect_encode_error("boot reset cause 8", &m, OCC_ERR_OUT_OF_RANGE);
    m.reset_cause = 7;
    m.kind = 2;
    expect_encode_error("boot kind 2", &m, OCC_ERR_OUT_OF_RANGE);
    m.kind = 1;
    expect_encode_error("boot maximum values", &m, OCC_OK);

    memset(&m, 0, sizeof m);
    m.type = OCC_STATUS;
    m.kind = 2;
    expect_encode_error("status kind 2", &m, OCC_ERR_OUT_OF_RANGE);

    memset(&m, 0, sizeof m);
    m.type = OCC_CONFIG_ACK;
    m.command = 32;
    expect_encode_error("config_ack command 32", &m, OCC_ERR_OUT_OF_RANGE);
    m.command = 31;
    m.result = 4;
    expect_encode_error("config_ack result 4", &m, OCC_ERR_OUT_OF_RANGE);
    m.result = 3;
    expect_encode_error("config_ack maximum values", &m, OCC_OK);

    memset(&m, 0, sizeof m);
    m.type = OCC_SET_REPORT_INTERVAL;
    m.interval_s = 9;
    expect_encode_error("interval 9", &m, OCC_ERR_OUT_OF_RANGE);
    m.interval_s = 65536;
    expect_encode_error("interval 65536", &m, OCC_ERR_OUT_OF_RANGE);
    m.interval_s = 10;
    expect_encode_error("interval 10", &m, OCC_OK);
    m.type = OCC_SET_HEARTBEAT;
    m.period_min = 0;
    expect_encode_error("heartbeat 0", &m, OCC_ERR_OUT_OF_RANGE);
    m.period_min = 65536;
    expect_encode_error("heartbeat 65536", &m, OCC_ERR_OUT_OF_RANGE);
    m.type = OCC_SET_DEBOUNCE;
    m.debounce_cs = 4096;
    expect_encode_error("debounce 4096", &m, OCC_ERR_OUT_OF_RANGE);
    m.debounce_cs = 4095;
    m.holdoff_s = 4096;
    expect_encode_error("holdoff 4096", &m, OCC_ERR_OUT_OF_RANGE);
    m.holdoff_s = 4095;
    expect_encode_error("debounce maximum values", &m, OCC_OK);
    m.type = OCC_SET_CAPACITY;
    m.capacity = 0;
    expect_encode_error("capacity 0", &m, OCC_ERR_OUT_OF_RANGE);
    m.capacity = 65536;
    expect_encode_error("capacity 65536", &m, OCC_ERR_OUT_OF_RANGE);

    for (i = 0; i < COUNT_OF(bad_types); i++) {
        memset(&m, 0, sizeof m);
        m.type = bad_types[i];
        expect_encode_error("unknown type", &m, OCC_ERR_UNKNOWN_TYPE);
    }
    memset(&m, 0, sizeof m);
    m.type = OCC_REQUEST_STATUS;
    check(occ_encode(&m, 0, NULL, 0, &len, &port) == OCC_ERR_BUFFER_TOO_SMALL, "encode into NULL", "");
    check(occ_encode(NULL, 0, out, sizeof out, &len, &port) == OCC_ERR_OUT_OF_RANGE, "encode NULL message", "");
    /* a budget below the base form does not shrink it (the base form is always written) */
    memset(&m, 0, sizeof m);
    m.type = OCC_STATUS;
    m.kind = OCC_KIND_GATE;
    check(occ_encode(&m, 3, out, sizeof out, &len, &port) == OCC_OK && len == 11, "status with a 3-byte budget", "");
}

/* ------------------------------------------------------------------------------------ (f) config hash */

static void test_config_hash(void)
{
    char detail[120];
    /* Computed independently with Python:
     *   import zlib, struct
     *   hex(zlib.crc32(struct.pack('>HHHHHBB', 60, 360, 50, 5, 100, 0, 1)))  -> 0x9e193f57
     *   hex(zlib.crc32(struct.pack('>HHHHHBB', 60, 360, 50, 5, 100, 1, 1)))  -> 0x87020e16 (kind 1, gate) */
    uint32_t h = occ_config_hash(60, 360, 50, 5, 100, 0);
    snprintf(detail, sizeof detail, "0x%08lx, expected 0x9e193f57", (unsigned long)h);
    check(h == 0x9e193f57u, "config hash of the defaults (bay)", detail);
    h = occ_config_hash(60, 360, 50, 5, 100, 1);
    snprintf(detail, sizeof detail, "0x%08lx, expected 0x87020e16", (unsigned long)h);
    check(h == 0x87020e16u, "config hash of the defaults (gate)", detail);
}

/* ------------------------------------------------------------------------------------ random numbers */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t next64(rng_t *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t next32(rng_t *r) { return (uint32_t)(next64(r) >> 32); }

/* uniform in 0 ... n - 1 (n > 0; the tiny modulo bias does not matter here) */
static uint32_t below(rng_t *r, uint32_t n) { return (uint32_t)(next64(r) % n); }

static uint32_t range_u(rng_t *r, uint32_t lo, uint32_t hi) { return lo + below(r, hi - lo + 1u); }

static uint8_t random_bool(rng_t *r)
{
    /* mostly 0/1; sometimes another nonzero byte, which is true */
    uint32_t x = below(r, 10);
    return x < 4 ? 0u : (x < 8 ? 1u : (uint8_t)range_u(r, 1, 255));
}

static uint32_t random_age_delta(rng_t *r)
{
    switch (below(r, 12)) {
    case 0: return 0;
    case 1: return 2047;
    case 2: return 2048;
    case 3: return 65535;
    case 4: return 65536;
    case 5: return OCC_AGE_MAX;
    case 6: return OCC_AGE_MAX + 1u;
    case 7: return range_u(r, OCC_AGE_MAX, 12000000u);
    case 8: return range_u(r, 2048, 65535);
    case 9: return range_u(r, 65536, OCC_AGE_MAX);
    default: return below(r, 2048);
    }
}

static uint32_t random_step(rng_t *r)
{
    switch (below(r, 10)) {
    case 0: return 0;
    case 1: return 15;
    case 2: return 16;
    case 3: return 255;
    case 4: return 256;
    case 5: return 65535;
    case 6: return range_u(r, 16, 255);
    case 7: return range_u(r, 256, 65535);
    case 8: return next32(r); /* steps are taken mod 65536 */
    default: return below(r, 16);
    }
}

static uint32_t random_counter(rng_t *r)
{
    switch (below(r, 4)) {
    case 0: return next32(r);
    case 1: return below(r, 70000);
    case 2: return 65535u + below(r, 3);
    default: return below(r, 5000);
    }
}

static const uint8_t ALL_TYPES[] = {OCC_BAY_STATE, OCC_GATE_COUNTS, OCC_STATUS, OCC_BOOT, OCC_CONFIG_ACK,
                                    OCC_SET_REPORT_INTERVAL, OCC_SET_HEARTBEAT, OCC_SET_DEBOUNCE, OCC_SET_CAPACITY,
                                    OCC_REQUEST_STATUS, OCC_RESET_COUNTERS, OCC_SET_TIME};

/* A random message the encoder must accept. */
static void random_message(rng_t *r, occ_message_t *m)
{
    unsigned i, n;
    uint32_t age = 0;
    memset(m, 0, sizeof *m);
    m->type = ALL_TYPES[below(r, (uint32_t)COUNT_OF(ALL_TYPES))];
    switch ((occ_type_t)m->type) {
    case OCC_BAY_STATE:
    case OCC_GATE_COUNTS:
        m->occupied = random_bool(r);
        m->changes = below(r, 3) == 0 ? next32(r) : below(r, 4096);
        m->count_in = random_counter(r);
        m->count_out = random_counter(r);
        m->history_len = (uint8_t)(below(r, 4) == 0 ? range_u(r, 31, 255) : below(r, 32));
        n = m->history_len < OCC_MAX_HISTORY ? m->history_len : OCC_MAX_HISTORY;
        for (i = 0; i < n; i++) {
            age += random_age_delta(r); /* at most 31 x 12000000: no overflow */
            m->history[i].age_s = age;
            m->history[i].count_in = (i == 0 ? m->count_in : m->history[i - 1].count_in) - random_step(r);
            m->history[i].count_out = (i == 0 ? m->count_out : m->history[i - 1].count_out) - random_step(r);
        }
        if (m->type == OCC_BAY_STATE) {
            m->count_in = m->count_out = 0; /* not part of bay_state */
            for (i = 0; i < n; i++) {
                m->history[i].count_in = m->history[i].count_out = 0;
            }
        } else {
            m->occupied = 0;
            m->changes = 0;
        }
        break;
    case OCC_STATUS:
        m->kind = (uint8_t)below(r, 2);
        m->has_battery = random_bool(r);
        m->battery_mv = below(r, 3) == 0 ? next32(r) : range_u(r, 1500, 5000);
        m->has_temperature = random_bool(r);
        switch (below(r, 4)) {
        case 0: m->temperature_dc = (int32_t)next32(r); break;
        case 1: m->temperature_dc = (int32_t)range_u(r, 0, 2000) - 1000; break;
        case 2: m->temperature_dc = below(r, 2) ? INT32_MIN : INT32_MAX; break;
        default: m->temperature_dc = (int32_t)range_u(r, 0, 1300) - 650; break;
        }
        m->uptime_min = below(r, 2) ? next32(r) : below(r, 1100000);
        m->resets = below(r, 2) ? next32(r) : below(r, 300);
        if (m->kind == OCC_KIND_GATE) {
            m->count_in = random_counter(r);
            m->count_out = random_counter(r);
        } else {
            m->occupied = random_bool(r);
            m->changes = below(r, 2) ? next32(r) : below(r, 5000);
        }
        break;
    case OCC_BOOT:
        m->kind = (uint8_t)below(r, 2);
        m->fw_major = (uint8_t)below(r, 16);
        m->fw_minor = (uint8_t)below(r, 64);
        m->fw_patch = (uint8_t)below(r, 64);
        m->reset_cause = (uint8_t)below(r, 8);
        m->config_hash = next32(r);
        break;
    case OCC_CONFIG_ACK:
        m->seq = (uint8_t)below(r, 256);
        m->command = (uint8_t)below(r, 32);
        m->result = (uint8_t)below(r, 4);
        m->config_hash = next32(r);
        break;
    default:
        m->seq = (uint8_t)below(r, 256);
        m->interval_s = range_u(r, 10, 65535);
        m->period_min = range_u(r, 1, 65535);
        m->debounce_cs = below(r, 4096);
        m->holdoff_s = below(r, 4096);
        m->capacity = range_u(r, 1, 65535);
        m->unix_time = next32(r);
        m->reset_changes = random_bool(r);
        m->reset_in = random_bool(r);
        m->reset_out = random_bool(r);
        break;
    }
}

/* ------------------------------------------------------------------------------------ (d) model */

/* Sizes of the shortest codes, from the tables of PAYLOAD.md section 2.1. */
static unsigned model_age_bits(uint32_t d)
{
    if (d > OCC_AGE_MAX) {
        d = OCC_AGE_MAX;
    }
    if (d <= 2047u) return 12;
    if (d <= 65535u) return 18;
    return 24;
}

static unsigned model_count_bits(uint32_t s)
{
    if (s <= 15u) return 5;
    if (s <= 255u) return 10;
    return 18;
}

static uint32_t model_in_step(const occ_message_t *m, unsigned i)
{
    uint32_t prev = i == 0 ? m->count_in : m->history[i - 1].count_in;
    return (uint32_t)(((uint64_t)prev + 0x100000000ull - m->history[i].count_in) % 65536u);
}

static uint32_t model_out_step(const occ_message_t *m, unsigned i)
{
    uint32_t prev = i == 0 ? m->count_out : m->history[i - 1].count_out;
    return (uint32_t)(((uint64_t)prev + 0x100000000ull - m->history[i].count_out) % 65536u);
}

static unsigned model_entry_bits(const occ_message_t *m, unsigned i)
{
    uint32_t d = m->history[i].age_s - (i == 0 ? 0u : m->history[i - 1].age_s);
    unsigned bits = model_age_bits(d);
    if (m->type == OCC_GATE_COUNTS) {
        bits += model_count_bits(model_in_step(m, i)) + model_count_bits(model_out_step(m, i));
    }
    return bits;
}

/* What the decoder must return for m encoded with budget max_bytes. */
static void model_decoded(const occ_message_t *m, size_t max_bytes, occ_message_t *e)
{
    unsigned i, n, k;
    memset(e, 0, sizeof *e);
    e->type = m->type;
    switch ((occ_type_t)m->type) {
    case OCC_BAY_STATE:
    case OCC_GATE_COUNTS: {
        unsigned long bits = m->type == OCC_BAY_STATE ? 26ul : 45ul;
        uint32_t total = 0;
        uint8_t sat = 0;
        n = m->history_len < 31 ? m->history_len : 31;
        for (k = 0; k < n; k++) {
            unsigned long more = bits + model_entry_bits(m, k);
            if (max_bytes != 0 && (more + 7) / 8 > max_bytes) {
                break;
            }
            bits = more;
        }
        e->history_len = (uint8_t)k;
        if (m->type == OCC_BAY_STATE) {
            e->occupied = m->occupied != 0;
            e->changes = m->changes % 4096u;
        } else {
            e->count_in = m->count_in % 65536u;
            e->count_out = m->count_out % 65536u;
        }
        for (i = 0; i < k; i++) {
            uint32_t d = m->history[i].age_s - (i == 0 ? 0u : m->history[i - 1].age_s);
            if (d >= OCC_AGE_MAX) {
                d = OCC_AGE_MAX;
                sat = 1;
            }
            total += d;
            e->history[i].age_s = total;
            e->history[i].saturated = sat;
            if (m->type == OCC_BAY_STATE) {
                e->history[i].change = (uint16_t)((e->changes + 4096u * 8u - i) % 4096u);
                e->history[i].occupied = (uint8_t)((i % 2 == 1) ? !e->occupied : e->occupied);
            } else {
                e->history[i].count_in = m->history[i].count_in % 65536u;
                e->history[i].count_out = m->history[i].count_out % 65536u;
            }
        }
        break;
    }
    case OCC_STATUS: {
        e->kind = m->kind;
        if (m->has_battery) {
            uint32_t v = m->battery_mv < 2000u ? 0u : (m->battery_mv - 2000u) / 10u;
            e->has_battery = 1;
            e->battery_mv = 2000u + 10u * (v > 254u ? 254u : v);
        }
        if (m->has_temperature) {
            /* floor division by 5 in 64 bits: subtract the non-negative remainder first */
            int64_t dc = m->temperature_dc;
            int64_t rem = ((dc % 5) + 5) % 5;
            int64_t half = (dc - rem) / 5;
            if (half < -127) half = -127;
            if (half > 127) half = 127;
            e->has_temperature = 1;
            e->temperature_dc = (int32_t)(half * 5);
        }
        e->uptime_min = m->uptime_min > 1048575u ? 1048575u : m->uptime_min;
        e->resets = m->resets % 256u;
        if (m->kind == OCC_KIND_GATE) {
            e->count_in = m->count_in % 65536u;
            e->count_out = m->count_out % 65536u;
        } else {
            e->occupied = m->occupied != 0;
            e->changes = m->changes % 4096u;
        }
        break;
    }
    case OCC_BOOT:
        e->kind = m->kind;
        e->fw_major = m->fw_major;
        e->fw_minor = m->fw_minor;
        e->fw_patch = m->fw_patch;
        e->reset_cause = m->reset_cause;
        e->config_hash = m->config_hash;
        break;
    case OCC_CONFIG_ACK:
        e->seq = m->seq;
        e->command = m->command;
        e->result = m->result;
        e->config_hash = m->config_hash;
        break;
    default:
        e->seq = m->seq;
        if (m->type == OCC_SET_REPORT_INTERVAL) e->interval_s = m->interval_s;
        if (m->type == OCC_SET_HEARTBEAT) e->period_min = m->period_min;
        if (m->type == OCC_SET_DEBOUNCE) {
            e->debounce_cs = m->debounce_cs;
            e->holdoff_s = m->holdoff_s;
        }
        if (m->type == OCC_SET_CAPACITY) e->capacity = m->capacity;
        if (m->type == OCC_RESET_COUNTERS) {
            e->reset_changes = m->reset_changes != 0;
            e->reset_in = m->reset_in != 0;
            e->reset_out = m->reset_out != 0;
        }
        if (m->type == OCC_SET_TIME) e->unix_time = m->unix_time;
        break;
    }
}

static size_t random_budget(rng_t *r)
{
    static const size_t budgets[] = {0, 0, 11, 24, 51, 53, 115, 125, 242};
    if (below(r, 4) == 0) {
        return range_u(r, 1, 250);
    }
    return budgets[below(r, (uint32_t)COUNT_OF(budgets))];
}

static void test_round_trip(rng_t *r, unsigned long count)
{
    unsigned long it;
    char what[160], detail[300];
    for (it = 0; it < count; it++) {
        occ_message_t m, d, e, d2;
        uint8_t out[OCC_MAX_MESSAGE_BYTES], out2[OCC_MAX_MESSAGE_BYTES];
        size_t len = 0, len2 = 0, budget;
        uint8_t port = 0, port2 = 0;
        occ_status_t st;

        random_message(r, &m);
        budget = random_budget(r);
        snprintf(what, sizeof what, "round trip #%lu (type %u, budget %u)", it, m.type, (unsigned)budget);
        st = occ_encode(&m, budget, out, sizeof out, &len, &port);
        if (st != OCC_OK) {
            snprintf(detail, sizeof detail, "encode gave %s", occ_status_name(st));
            check(0, what, detail);
            continue;
        }
        checks++;
        if (port != (m.type < 16 ? OCC_PORT_UPLINK : OCC_PORT_DOWNLINK) || len == 0 || len > OCC_MAX_MESSAGE_BYTES ||
            (budget >= 11 && len > budget)) {
            snprintf(detail, sizeof detail, "fport %u, %u bytes", port, (unsigned)len);
            failf(what, detail);
            continue;
        }
        st = occ_decode(port, out, len, &d);
        if (st != OCC_OK) {
            snprintf(detail, sizeof detail, "decode gave %s", occ_status_name(st));
            check(0, what, detail);
            continue;
        }
        model_decoded(&m, budget, &e);
        check(same_message(&d, &e, detail, sizeof detail), what, detail);
        /* the budget is used as fully as possible: one more entry would not fit */
        if (budget != 0 && (m.type == OCC_BAY_STATE || m.type == OCC_GATE_COUNTS) &&
            d.history_len < (m.history_len < 31 ? m.history_len : 31)) {
            unsigned long bits = (m.type == OCC_BAY_STATE ? 26ul : 45ul);
            unsigned i;
            for (i = 0; i <= d.history_len; i++) {
                bits += model_entry_bits(&m, i);
            }
            check((bits + 7) / 8 > budget, what, "one more history entry would have fitted");
        }
        /* re-encoding the decoded form gives the same bytes */
        st = occ_encode(&d, 0, out2, sizeof out2, &len2, &port2);
        check(st == OCC_OK && len2 == len && port2 == port && memcmp(out, out2, len) == 0, what,
              "re-encoding the decoded message changes the bytes");
        /* and decoding those again is stable */
        st = occ_decode(port2, out2, len2, &d2);
        check(st == OCC_OK && same_message(&d2, &d, detail, sizeof detail), what, "second decode differs");
    }
}

/* ------------------------------------------------------------------------------------ (e) fuzz */

static int valid_decode_status(occ_status_t st)
{
    return st == OCC_OK || st == OCC_ERR_UNKNOWN_PORT || st == OCC_ERR_TRUNCATED || st == OCC_ERR_TRAILING_BYTES ||
           st == OCC_ERR_UNKNOWN_VERSION || st == OCC_ERR_UNKNOWN_TYPE || st == OCC_ERR_RESERVED_BITS ||
           st == OCC_ERR_OUT_OF_RANGE;
}

#define FUZZ_MAX 300

static unsigned long fuzz_ok = 0;

/* Decodes len bytes placed at the very end of a heap block of exactly len bytes (the sanitizer build catches
 * any read past it) and checks the result. */
static void fuzz_one(uint8_t fport, const uint8_t *data, size_t len, unsigned long it)
{
    uint8_t *buf = (uint8_t *)malloc(len == 0 ? 1 : len);
    occ_message_t d, d2;
    occ_status_t st;
    char what[120], detail[300];
    if (buf == NULL) {
        failf("fuzz", "out of memory");
        return;
    }
    if (len > 0) {
        memcpy(buf, data, len);
    }
    st = occ_decode(fport, buf, len, &d);
    snprintf(what, sizeof what, "fuzz #%lu (port %u, %u bytes)", it, fport, (unsigned)len);
    snprintf(detail, sizeof detail, "invalid status %d", (int)st);
    check(valid_decode_status(st), what, detail);
    check(memcmp(buf, data, len) == 0, what, "the input was modified");
    if (st != OCC_OK) {
        check(all_zero(&d), what, "the message is not zeroed after an error");
    } else {
        uint8_t out[OCC_MAX_MESSAGE_BYTES];
        size_t olen = 0;
        uint8_t oport = 0;
        fuzz_ok++;
        check(fport == OCC_PORT_UPLINK || fport == OCC_PORT_DOWNLINK, what, "decoded on an unknown port");
        check(d.history_len <= OCC_MAX_HISTORY && len <= OCC_MAX_MESSAGE_BYTES, what, "impossible message");
        st = occ_encode(&d, 0, out, sizeof out, &olen, &oport);
        check(st == OCC_OK && oport == fport && olen <= len, what, "the decoded message does not re-encode");
        if (st == OCC_OK) {
            st = occ_decode(oport, out, olen, &d2);
            check(st == OCC_OK && same_message(&d2, &d, detail, sizeof detail), what,
                  "the re-encoded message decodes differently");
        }
    }
    free(buf);
}

static void test_fuzz(rng_t *r, unsigned long count)
{
    unsigned long it;
    uint8_t data[FUZZ_MAX];
    for (it = 0; it < count; it++) {
        size_t len, i;
        uint8_t fport;
        uint32_t mode = below(r, 4);
        uint32_t p = below(r, 20);
        fport = p < 9 ? OCC_PORT_UPLINK : (p < 18 ? OCC_PORT_DOWNLINK : (uint8_t)below(r, 256));
        if (mode == 0) {
            /* a valid message, mutated: bits flipped, cut or extended */
            occ_message_t m;
            size_t mlen = 0;
            uint8_t mport = 0;
            uint32_t flips = below(r, 4);
            random_message(r, &m);
            if (occ_encode(&m, random_budget(r), data, sizeof data, &mlen, &mport) != OCC_OK) {
                failf("fuzz", "a random valid message does not encode");
                continue;
            }
            fport = p < 18 ? mport : fport;
            len = mlen;
            switch (below(r, 3)) {
            case 0: len = below(r, (uint32_t)mlen + 1u); break;
            case 1:
                len = mlen + below(r, 4);
                for (i = mlen; i < len; i++) {
                    data[i] = below(r, 2) ? 0u : (uint8_t)next32(r);
                }
                break;
            default: break;
            }
            for (i = 0; i < flips && len > 0; i++) {
                uint32_t bit = below(r, (uint32_t)len * 8u);
                data[bit / 8] = (uint8_t)(data[bit / 8] ^ (0x80u >> (bit % 8)));
            }
        } else {
            len = mode == 1 ? below(r, FUZZ_MAX + 1) : below(r, 16);
            for (i = 0; i < len; i++) {
                data[i] = (uint8_t)next32(r);
            }
            if (len > 0 && below(r, 4) != 0) {
                /* mostly version 1, so the fields get parsed */
                data[0] = (uint8_t)(0x20u | (data[0] & 0x1Fu));
            }
            if (mode == 3) {
                /* sparse bits, so padding and reserved fields are often zero */
                for (i = 1; i < len; i++) {
                    data[i] = (uint8_t)(data[i] & next32(r) & next32(r));
                }
            }
        }
        fuzz_one(fport, data, len, it);
    }
}

/* ------------------------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    uint64_t seed;
    unsigned long n_random = 100000ul, n_fuzz = 200000ul, n_cases, n_errors;
    rng_t r;

    if (argc > 1 && strcmp(argv[1], "time") != 0) {
        seed = (uint64_t)strtoull(argv[1], NULL, 0);
    } else {
        seed = (uint64_t)time(NULL);
    }
    if (argc > 2) {
        n_random = strtoul(argv[2], NULL, 0);
    }
    if (argc > 3) {
        n_fuzz = strtoul(argv[3], NULL, 0);
    }
    printf("occupancy codec test, seed %llu (repeat with: test_codec %llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);

    n_cases = test_vector_cases();
    n_errors = test_vector_errors();
    test_worked_examples();
    test_encoder_errors();
    test_config_hash();
    r.s = seed;
    test_round_trip(&r, n_random);
    test_fuzz(&r, n_fuzz);

    printf("vectors: %lu cases, %lu errors; round trip: %lu random messages; fuzz: %lu inputs (%lu decoded ok)\n",
           n_cases, n_errors, n_random, n_fuzz, fuzz_ok);
    printf("%lu checks, %lu failures: %s\n", checks, failures, failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
