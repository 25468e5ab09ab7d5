/*
 * Occupancy sensor payload codec, format version 1: the implementation of include/occupancy_codec.h.
 * The specification is hardware/PAYLOAD.md; section numbers below refer to it.
 *
 * C99, no heap, no floating point, no static mutable state. Every read and write is bounds-checked: the
 * decoder accepts any bytes of any length, the encoder never writes past out_cap.
 */
#include "occupancy_codec.h"

#include <string.h>

#define HEADER_BITS 8u
#define BAY_STATE_BASE_BITS 26u  /* header 8, occupied 1, changes 12, count 5 */
#define GATE_COUNTS_BASE_BITS 45u /* header 8, in 16, out 16, count 5 */
#define UPTIME_MAX 1048575u
#define BATTERY_NULL 255u
#define TEMPERATURE_NULL 0x80u
/* No message needs more bytes than this; longer inputs are trailing bytes in any case. Capping the length the
 * bit reader sees keeps len * 8 from overflowing size_t. */
#define READ_LIMIT_BYTES 4096u

/* ------------------------------------------------------------------------------------------- bit writer */

/* buf == NULL: only counts bits (used to size the message before writing it). */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t pos; /* bits written */
} bit_writer_t;

static void put_bits(bit_writer_t *w, uint32_t value, unsigned width)
{
    unsigned i = width;
    if (w->buf == NULL) { /* counting pass: only the length matters */
        w->pos += width;
        return;
    }
    while (i > 0u) {
        i--;
        if (((value >> i) & 1u) != 0u) {
            size_t byte = w->pos >> 3;
            if (byte < w->cap) {
                w->buf[byte] = (uint8_t)(w->buf[byte] | (0x80u >> (w->pos & 7u)));
            }
        }
        w->pos++;
    }
}

static uint32_t saturate_age(uint32_t v) { return v > OCC_AGE_MAX ? OCC_AGE_MAX : v; }

/* Sizes of the shortest forms (section 2.1). */
static unsigned age_bits(uint32_t v)
{
    v = saturate_age(v);
    return v < 2048u ? 12u : (v < 65536u ? 18u : 24u);
}

static unsigned count_bits(uint32_t v) { return v < 16u ? 5u : (v < 256u ? 10u : 18u); }

static void put_age(bit_writer_t *w, uint32_t v)
{
    v = saturate_age(v);
    if (v < 2048u) {
        put_bits(w, 0u, 1u);
        put_bits(w, v, 11u);
    } else if (v < 65536u) {
        put_bits(w, 2u, 2u);
        put_bits(w, v, 16u);
    } else {
        put_bits(w, 3u, 2u);
        put_bits(w, v, 22u);
    }
}

static void put_count(bit_writer_t *w, uint32_t v)
{
    if (v < 16u) {
        put_bits(w, 0u, 1u);
        put_bits(w, v, 4u);
    } else if (v < 256u) {
        put_bits(w, 2u, 2u);
        put_bits(w, v, 8u);
    } else {
        put_bits(w, 3u, 2u);
        put_bits(w, v & 0xFFFFu, 16u);
    }
}

/* ------------------------------------------------------------------------------------------- bit reader */

typedef struct {
    const uint8_t *buf;
    size_t bits; /* bits available */
    size_t pos;  /* bits read */
} bit_reader_t;

/* Returns 0 when the field runs past the end of the payload (nothing is read then). width <= 32. */
static int get_bits(bit_reader_t *r, unsigned width, uint32_t *value)
{
    uint32_t v = 0u;
    unsigned i;
    if (width > r->bits - r->pos) {
        return 0;
    }
    for (i = 0u; i < width; i++) {
        uint32_t bit = (uint32_t)(r->buf[r->pos >> 3] >> (7u - (unsigned)(r->pos & 7u))) & 1u;
        v = (v << 1) | bit;
        r->pos++;
    }
    *value = v;
    return 1;
}

static int get_age(bit_reader_t *r, uint32_t *value)
{
    uint32_t p = 0u;
    if (!get_bits(r, 1u, &p)) {
        return 0;
    }
    if (p == 0u) {
        return get_bits(r, 11u, value);
    }
    if (!get_bits(r, 1u, &p)) {
        return 0;
    }
    return get_bits(r, p == 0u ? 16u : 22u, value);
}

static int get_count(bit_reader_t *r, uint32_t *value)
{
    uint32_t p = 0u;
    if (!get_bits(r, 1u, &p)) {
        return 0;
    }
    if (p == 0u) {
        return get_bits(r, 4u, value);
    }
    if (!get_bits(r, 1u, &p)) {
        return 0;
    }
    return get_bits(r, p == 0u ? 8u : 16u, value);
}

/* ------------------------------------------------------------------------------------------- helpers */

static int is_uplink_type(uint32_t t) { return t >= (uint32_t)OCC_BAY_STATE && t <= (uint32_t)OCC_CONFIG_ACK; }

static int is_downlink_type(uint32_t t)
{
    return t >= (uint32_t)OCC_SET_REPORT_INTERVAL && t <= (uint32_t)OCC_SET_TIME;
}

static uint8_t history_entries(const occ_message_t *m)
{
    return m->history_len > OCC_MAX_HISTORY ? (uint8_t)OCC_MAX_HISTORY : m->history_len;
}

/* Age delta of encoder history entry i (validated non-decreasing beforehand). */
static uint32_t age_delta(const occ_message_t *m, unsigned i)
{
    uint32_t prev = i == 0u ? 0u : m->history[i - 1u].age_s;
    return m->history[i].age_s - prev;
}

static uint32_t in_step(const occ_message_t *m, unsigned i)
{
    uint32_t prev = i == 0u ? m->count_in : m->history[i - 1u].count_in;
    return (prev - m->history[i].count_in) & 0xFFFFu;
}

static uint32_t out_step(const occ_message_t *m, unsigned i)
{
    uint32_t prev = i == 0u ? m->count_out : m->history[i - 1u].count_out;
    return (prev - m->history[i].count_out) & 0xFFFFu;
}

static unsigned entry_bits(const occ_message_t *m, unsigned i)
{
    if (m->type == (uint8_t)OCC_BAY_STATE) {
        return age_bits(age_delta(m, i));
    }
    return age_bits(age_delta(m, i)) + count_bits(in_step(m, i)) + count_bits(out_step(m, i));
}

/* Battery in mV to the 8-bit field (section 4.3): saturate, floor to 10 mV, 255 when not measured. */
static uint32_t battery_field(const occ_message_t *m)
{
    uint32_t v;
    if (!m->has_battery) {
        return BATTERY_NULL;
    }
    if (m->battery_mv < 2000u) {
        return 0u;
    }
    v = (m->battery_mv - 2000u) / 10u;
    return v > 254u ? 254u : v;
}

/* Temperature in tenths of a degree to the 8-bit two's complement field of half degrees: floor, saturate. */
static uint32_t temperature_field(const occ_message_t *m)
{
    int32_t half;
    if (!m->has_temperature) {
        return TEMPERATURE_NULL;
    }
    /* floor(temperature_dc / 5) without overflow for any int32_t. */
    half = m->temperature_dc / 5;
    if (m->temperature_dc % 5 != 0 && m->temperature_dc < 0) {
        half--;
    }
    if (half < -127) {
        half = -127;
    } else if (half > 127) {
        half = 127;
    }
    return (uint32_t)(half < 0 ? half + 256 : half);
}

/* Checks what the format cannot hold (section 7, encoders). */
static occ_status_t validate(const occ_message_t *m)
{
    unsigned i, n;
    switch ((occ_type_t)m->type) {
    case OCC_BAY_STATE:
    case OCC_GATE_COUNTS:
        n = history_entries(m);
        for (i = 1u; i < n; i++) {
            if (m->history[i].age_s < m->history[i - 1u].age_s) {
                return OCC_ERR_OUT_OF_RANGE;
            }
        }
        return OCC_OK;
    case OCC_STATUS:
        return m->kind > (uint8_t)OCC_KIND_GATE ? OCC_ERR_OUT_OF_RANGE : OCC_OK;
    case OCC_BOOT:
        if (m->kind > (uint8_t)OCC_KIND_GATE || m->fw_major > 15u || m->fw_minor > 63u || m->fw_patch > 63u ||
            m->reset_cause > (uint8_t)OCC_RESET_UNKNOWN) {
            return OCC_ERR_OUT_OF_RANGE;
        }
        return OCC_OK;
    case OCC_CONFIG_ACK:
        return (m->command > 31u || m->result > (uint8_t)OCC_RESULT_UNSUPPORTED_VERSION) ? OCC_ERR_OUT_OF_RANGE
                                                                                          : OCC_OK;
    case OCC_SET_REPORT_INTERVAL:
        return (m->interval_s < 10u || m->interval_s > 65535u) ? OCC_ERR_OUT_OF_RANGE : OCC_OK;
    case OCC_SET_HEARTBEAT:
        return (m->period_min < 1u || m->period_min > 65535u) ? OCC_ERR_OUT_OF_RANGE : OCC_OK;
    case OCC_SET_DEBOUNCE:
        return (m->debounce_cs > 4095u || m->holdoff_s > 4095u) ? OCC_ERR_OUT_OF_RANGE : OCC_OK;
    case OCC_SET_CAPACITY:
        return (m->capacity < 1u || m->capacity > 65535u) ? OCC_ERR_OUT_OF_RANGE : OCC_OK;
    case OCC_REQUEST_STATUS:
    case OCC_RESET_COUNTERS:
    case OCC_SET_TIME:
        return OCC_OK;
    default:
        return OCC_ERR_UNKNOWN_TYPE;
    }
}

/* The number of leading history entries that fit in max_bytes (0: no limit), up to 31 (section 8). */
static unsigned fit_history(const occ_message_t *m, size_t max_bytes)
{
    unsigned n = history_entries(m);
    unsigned k = 0u;
    size_t bits = m->type == (uint8_t)OCC_BAY_STATE ? BAY_STATE_BASE_BITS : GATE_COUNTS_BASE_BITS;
    while (k < n) {
        size_t next = bits + entry_bits(m, k);
        if (max_bytes != 0u && (next + 7u) / 8u > max_bytes) {
            break;
        }
        bits = next;
        k++;
    }
    return k;
}

/* Writes the whole message (or, with w->buf == NULL, counts its bits). k: history entries to carry. */
static void emit(const occ_message_t *m, unsigned k, bit_writer_t *w)
{
    unsigned i;
    put_bits(w, OCC_FORMAT_VERSION, 3u);
    put_bits(w, m->type, 5u);
    switch ((occ_type_t)m->type) {
    case OCC_BAY_STATE:
        put_bits(w, m->occupied ? 1u : 0u, 1u);
        put_bits(w, m->changes & 0xFFFu, 12u);
        put_bits(w, k, 5u);
        for (i = 0u; i < k; i++) {
            put_age(w, age_delta(m, i));
        }
        break;
    case OCC_GATE_COUNTS:
        put_bits(w, m->count_in & 0xFFFFu, 16u);
        put_bits(w, m->count_out & 0xFFFFu, 16u);
        put_bits(w, k, 5u);
        for (i = 0u; i < k; i++) {
            put_age(w, age_delta(m, i));
            put_count(w, in_step(m, i));
            put_count(w, out_step(m, i));
        }
        break;
    case OCC_STATUS:
        put_bits(w, m->kind, 1u);
        put_bits(w, battery_field(m), 8u);
        put_bits(w, temperature_field(m), 8u);
        put_bits(w, m->uptime_min > UPTIME_MAX ? UPTIME_MAX : m->uptime_min, 20u);
        put_bits(w, m->resets & 0xFFu, 8u);
        if (m->kind == (uint8_t)OCC_KIND_GATE) {
            put_bits(w, m->count_in & 0xFFFFu, 16u);
            put_bits(w, m->count_out & 0xFFFFu, 16u);
        } else {
            put_bits(w, m->occupied ? 1u : 0u, 1u);
            put_bits(w, m->changes & 0xFFFu, 12u);
        }
        break;
    case OCC_BOOT:
        put_bits(w, m->kind, 1u);
        put_bits(w, m->fw_major, 4u);
        put_bits(w, m->fw_minor, 6u);
        put_bits(w, m->fw_patch, 6u);
        put_bits(w, m->reset_cause, 4u);
        put_bits(w, m->config_hash, 32u);
        put_bits(w, 0u, 3u); /* reserved */
        break;
    case OCC_CONFIG_ACK:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->command, 5u);
        put_bits(w, m->result, 3u);
        put_bits(w, m->config_hash, 32u);
        break;
    case OCC_SET_REPORT_INTERVAL:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->interval_s, 16u);
        break;
    case OCC_SET_HEARTBEAT:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->period_min, 16u);
        break;
    case OCC_SET_DEBOUNCE:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->debounce_cs, 12u);
        put_bits(w, m->holdoff_s, 12u);
        break;
    case OCC_SET_CAPACITY:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->capacity, 16u);
        break;
    case OCC_REQUEST_STATUS:
        put_bits(w, m->seq, 8u);
        break;
    case OCC_RESET_COUNTERS:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->reset_changes ? 1u : 0u, 1u);
        put_bits(w, m->reset_in ? 1u : 0u, 1u);
        put_bits(w, m->reset_out ? 1u : 0u, 1u);
        put_bits(w, 0u, 5u); /* reserved */
        break;
    case OCC_SET_TIME:
        put_bits(w, m->seq, 8u);
        put_bits(w, m->unix_time, 32u);
        break;
    default:
        break; /* rejected by validate() */
    }
}

/* ------------------------------------------------------------------------------------------- public API */

occ_status_t occ_encode(const occ_message_t *m, size_t max_bytes, uint8_t *out, size_t out_cap, size_t *out_len,
                        uint8_t *fport)
{
    occ_status_t st;
    unsigned k = 0u;
    size_t nbytes;
    bit_writer_t w;

    if (m == NULL) {
        return OCC_ERR_OUT_OF_RANGE;
    }
    st = validate(m);
    if (st != OCC_OK) {
        return st;
    }
    if (m->type == (uint8_t)OCC_BAY_STATE || m->type == (uint8_t)OCC_GATE_COUNTS) {
        k = fit_history(m, max_bytes);
    }

    w.buf = NULL;
    w.cap = 0u;
    w.pos = 0u;
    emit(m, k, &w);
    nbytes = (w.pos + 7u) / 8u;
    if (out == NULL || out_cap < nbytes) {
        return OCC_ERR_BUFFER_TOO_SMALL;
    }

    memset(out, 0, nbytes); /* padding and reserved bits are zero */
    w.buf = out;
    w.cap = nbytes;
    w.pos = 0u;
    emit(m, k, &w);

    if (out_len != NULL) {
        *out_len = nbytes;
    }
    if (fport != NULL) {
        *fport = (uint8_t)(is_uplink_type(m->type) ? OCC_PORT_UPLINK : OCC_PORT_DOWNLINK);
    }
    return OCC_OK;
}

/* Reads a field into a uint32_t, or fails the decode with truncated. */
#define GET(width, var)                                                                                            \
    do {                                                                                                           \
        if (!get_bits(&r, (width), &(var))) {                                                                      \
            return fail(m, OCC_ERR_TRUNCATED);                                                                     \
        }                                                                                                          \
    } while (0)

static occ_status_t fail(occ_message_t *m, occ_status_t st)
{
    memset(m, 0, sizeof *m);
    return st;
}

static occ_status_t decode_history(bit_reader_t *r, occ_message_t *m, uint32_t k)
{
    uint32_t i, total = 0u, prev_in = m->count_in, prev_out = m->count_out;
    uint8_t saturated = 0u;
    for (i = 0u; i < k && i < OCC_MAX_HISTORY; i++) {
        occ_history_t *e = &m->history[i];
        uint32_t d = 0u;
        if (!get_age(r, &d)) {
            return OCC_ERR_TRUNCATED;
        }
        total += d; /* at most 31 x 4194303: no overflow */
        if (d == OCC_AGE_MAX) {
            saturated = 1u;
        }
        e->age_s = total;
        e->saturated = saturated;
        if (m->type == (uint8_t)OCC_BAY_STATE) {
            e->change = (uint16_t)((m->changes - i) & 0xFFFu);
            e->occupied = (uint8_t)(m->occupied ^ (uint8_t)(i & 1u));
        } else {
            uint32_t di = 0u, dout = 0u;
            if (!get_count(r, &di) || !get_count(r, &dout)) {
                return OCC_ERR_TRUNCATED;
            }
            prev_in = (prev_in - di) & 0xFFFFu;
            prev_out = (prev_out - dout) & 0xFFFFu;
            e->count_in = prev_in;
            e->count_out = prev_out;
        }
        m->history_len = (uint8_t)(i + 1u);
    }
    return OCC_OK;
}

occ_status_t occ_decode(uint8_t fport, const uint8_t *in, size_t len, occ_message_t *m)
{
    bit_reader_t r;
    uint32_t version, type, v = 0u, v2 = 0u, v3 = 0u;
    occ_status_t st;

    if (m == NULL) {
        return OCC_ERR_BUFFER_TOO_SMALL;
    }
    memset(m, 0, sizeof *m);

    /* 1. port */
    if (fport != OCC_PORT_UPLINK && fport != OCC_PORT_DOWNLINK) {
        return OCC_ERR_UNKNOWN_PORT;
    }
    /* 2. empty */
    if (in == NULL || len == 0u) {
        return OCC_ERR_TRUNCATED;
    }
    r.buf = in;
    r.bits = (len > READ_LIMIT_BYTES ? (size_t)READ_LIMIT_BYTES : len) * 8u;
    r.pos = 0u;
    GET(3u, version);
    GET(5u, type);
    /* 3. version */
    if (version != OCC_FORMAT_VERSION) {
        return fail(m, OCC_ERR_UNKNOWN_VERSION);
    }
    /* 4. type for the port */
    if (fport == OCC_PORT_UPLINK ? !is_uplink_type(type) : !is_downlink_type(type)) {
        return fail(m, OCC_ERR_UNKNOWN_TYPE);
    }
    m->type = (uint8_t)type;

    /* 5. fields, in order */
    switch ((occ_type_t)type) {
    case OCC_BAY_STATE:
        GET(1u, v);
        m->occupied = (uint8_t)v;
        GET(12u, m->changes);
        GET(5u, v); /* K: 5 bits never exceed OCC_MAX_HISTORY */
        st = decode_history(&r, m, v);
        if (st != OCC_OK) {
            return fail(m, st);
        }
        break;
    case OCC_GATE_COUNTS:
        GET(16u, m->count_in);
        GET(16u, m->count_out);
        GET(5u, v);
        st = decode_history(&r, m, v);
        if (st != OCC_OK) {
            return fail(m, st);
        }
        break;
    case OCC_STATUS:
        GET(1u, v);
        m->kind = (uint8_t)v;
        GET(8u, v);
        if (v != BATTERY_NULL) {
            m->has_battery = 1u;
            m->battery_mv = 2000u + 10u * v;
        }
        GET(8u, v);
        if (v != TEMPERATURE_NULL) {
            m->has_temperature = 1u;
            m->temperature_dc = (v >= 128u ? (int32_t)v - 256 : (int32_t)v) * 5;
        }
        GET(20u, m->uptime_min);
        GET(8u, m->resets);
        if (m->kind == (uint8_t)OCC_KIND_GATE) {
            GET(16u, m->count_in);
            GET(16u, m->count_out);
        } else {
            GET(1u, v);
            m->occupied = (uint8_t)v;
            GET(12u, m->changes);
        }
        break;
    case OCC_BOOT:
        GET(1u, v);
        m->kind = (uint8_t)v;
        GET(4u, v);
        m->fw_major = (uint8_t)v;
        GET(6u, v);
        m->fw_minor = (uint8_t)v;
        GET(6u, v);
        m->fw_patch = (uint8_t)v;
        GET(4u, v);
        if (v > (uint32_t)OCC_RESET_UNKNOWN) {
            return fail(m, OCC_ERR_OUT_OF_RANGE);
        }
        m->reset_cause = (uint8_t)v;
        GET(32u, m->config_hash);
        GET(3u, v);
        if (v != 0u) {
            return fail(m, OCC_ERR_RESERVED_BITS);
        }
        break;
    case OCC_CONFIG_ACK:
        GET(8u, v);
        m->seq = (uint8_t)v;
        GET(5u, v);
        m->command = (uint8_t)v;
        GET(3u, v);
        if (v > (uint32_t)OCC_RESULT_UNSUPPORTED_VERSION) {
            return fail(m, OCC_ERR_OUT_OF_RANGE);
        }
        m->result = (uint8_t)v;
        GET(32u, m->config_hash);
        break;
    case OCC_SET_REPORT_INTERVAL:
    case OCC_SET_HEARTBEAT:
    case OCC_SET_DEBOUNCE:
    case OCC_SET_CAPACITY:
    case OCC_REQUEST_STATUS:
    case OCC_RESET_COUNTERS:
    case OCC_SET_TIME:
        GET(8u, v);
        m->seq = (uint8_t)v;
        switch ((occ_type_t)type) {
        case OCC_SET_REPORT_INTERVAL:
            GET(16u, m->interval_s);
            if (m->interval_s < 10u) {
                return fail(m, OCC_ERR_OUT_OF_RANGE);
            }
            break;
        case OCC_SET_HEARTBEAT:
            GET(16u, m->period_min);
            if (m->period_min < 1u) {
                return fail(m, OCC_ERR_OUT_OF_RANGE);
            }
            break;
        case OCC_SET_DEBOUNCE:
            GET(12u, m->debounce_cs); /* 12 bits: always within 0 ... 4095 */
            GET(12u, m->holdoff_s);
            break;
        case OCC_SET_CAPACITY:
            GET(16u, m->capacity);
            if (m->capacity < 1u) {
                return fail(m, OCC_ERR_OUT_OF_RANGE);
            }
            break;
        case OCC_RESET_COUNTERS:
            GET(1u, v);
            GET(1u, v2);
            GET(1u, v3);
            m->reset_changes = (uint8_t)v;
            m->reset_in = (uint8_t)v2;
            m->reset_out = (uint8_t)v3;
            GET(5u, v);
            if (v != 0u) {
                return fail(m, OCC_ERR_RESERVED_BITS);
            }
            break;
        case OCC_SET_TIME:
            GET(32u, m->unix_time);
            break;
        default: /* request_status: no field after seq */
            break;
        }
        break;
    default:
        return fail(m, OCC_ERR_UNKNOWN_TYPE); /* not reached: the type was checked above */
    }

    /* 6. padding of the last byte */
    while ((r.pos & 7u) != 0u) {
        GET(1u, v);
        if (v != 0u) {
            return fail(m, OCC_ERR_RESERVED_BITS);
        }
    }
    /* 7. trailing bytes */
    if (r.pos / 8u < len) {
        return fail(m, OCC_ERR_TRAILING_BYTES);
    }
    return OCC_OK;
}

#undef GET

const char *occ_status_name(occ_status_t status)
{
    switch (status) {
    case OCC_OK:
        return "ok";
    case OCC_ERR_UNKNOWN_PORT:
        return "unknown_port";
    case OCC_ERR_TRUNCATED:
        return "truncated";
    case OCC_ERR_TRAILING_BYTES:
        return "trailing_bytes";
    case OCC_ERR_UNKNOWN_VERSION:
        return "unknown_version";
    case OCC_ERR_UNKNOWN_TYPE:
        return "unknown_type";
    case OCC_ERR_RESERVED_BITS:
        return "reserved_bits";
    case OCC_ERR_OUT_OF_RANGE:
        return "out_of_range";
    case OCC_ERR_BUFFER_TOO_SMALL:
        return "buffer_too_small";
    default:
        return "unknown_status";
    }
}

uint32_t occ_config_hash(uint32_t interval_s, uint32_t period_min, uint32_t debounce_cs, uint32_t holdoff_s,
                         uint32_t capacity, uint8_t kind)
{
    uint8_t cfg[12];
    uint32_t crc = 0xFFFFFFFFu;
    unsigned i, b;

    cfg[0] = (uint8_t)(interval_s >> 8);
    cfg[1] = (uint8_t)interval_s;
    cfg[2] = (uint8_t)(period_min >> 8);
    cfg[3] = (uint8_t)period_min;
    cfg[4] = (uint8_t)(debounce_cs >> 8);
    cfg[5] = (uint8_t)debounce_cs;
    cfg[6] = (uint8_t)(holdoff_s >> 8);
    cfg[7] = (uint8_t)holdoff_s;
    cfg[8] = (uint8_t)(capacity >> 8);
    cfg[9] = (uint8_t)capacity;
    cfg[10] = kind;
    cfg[11] = 0x01u; /* format version */

    for (i = 0u; i < sizeof cfg; i++) {
        crc ^= cfg[i];
        for (b = 0u; b < 8u; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}
