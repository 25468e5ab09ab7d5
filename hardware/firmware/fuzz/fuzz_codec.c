/*
 * libFuzzer target for the occupancy payload decoder (src/occupancy_codec.c, hardware/PAYLOAD.md).
 *
 * The input is one payload; it is decoded on both ports (10, 11) and on one other port. Checked (abort() after a
 * one-line message on stderr):
 *   - the status is a format status (never buffer_too_small); on an error the message is all zero; other ports
 *     give unknown_port; NULL input gives truncated;
 *   - a decoded message is in range: type of its port, flags 0/1, temperature a multiple of 5, history <= 31,
 *     counters within their widths, history entries consistent with the header;
 *   - it re-encodes (no budget) to at most `size` bytes on the same port (the encoder writes the shortest codes,
 *     the decoder accepts any), the re-encoding decodes to the same message, and encoding that gives the same
 *     bytes again: decode(encode(decode(x))) == decode(x) and encode is canonical;
 *   - with a budget one byte short of that length, bay_state and gate_counts keep a strict prefix of the history.
 * ASan checks that the decoder reads nothing outside the `size` bytes libFuzzer hands over; re-encoded bytes are
 * decoded from a heap copy of exactly their length for the same reason.
 */
#include "occupancy_codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void violation(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_codec: %s: %s\n", what, detail);
    abort();
}

static int all_zero(const occ_message_t *m)
{
    static const occ_message_t zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

/* Name of the first field where a and b differ, NULL when they are equal. */
static const char *first_difference(const occ_message_t *a, const occ_message_t *b)
{
    unsigned i;
#define SAME(f)                                                                                                    \
    do {                                                                                                           \
        if (a->f != b->f) {                                                                                        \
            return #f;                                                                                             \
        }                                                                                                          \
    } while (0)
    SAME(type);
    SAME(seq);
    SAME(occupied);
    SAME(changes);
    SAME(count_in);
    SAME(count_out);
    SAME(history_len);
    SAME(kind);
    SAME(has_battery);
    SAME(battery_mv);
    SAME(has_temperature);
    SAME(temperature_dc);
    SAME(uptime_min);
    SAME(resets);
    SAME(fw_major);
    SAME(fw_minor);
    SAME(fw_patch);
    SAME(reset_cause);
    SAME(config_hash);
    SAME(command);
    SAME(result);
    SAME(interval_s);
    SAME(period_min);
    SAME(debounce_cs);
    SAME(holdoff_s);
    SAME(capacity);
    SAME(unix_time);
    SAME(reset_changes);
    SAME(reset_in);
    SAME(reset_out);
    for (i = 0u; i < OCC_MAX_HISTORY; i++) {
        SAME(history[i].age_s);
        SAME(history[i].count_in);
        SAME(history[i].count_out);
        SAME(history[i].change);
        SAME(history[i].occupied);
        SAME(history[i].saturated);
    }
#undef SAME
    return NULL;
}

static int is_flag(uint32_t v) { return v == 0u || v == 1u; }

/* Range checks on a successfully decoded message; returns what is wrong, NULL when nothing. */
static const char *check_ranges(uint8_t fport, const occ_message_t *m)
{
    unsigned i;
    int uplink = m->type >= (uint8_t)OCC_BAY_STATE && m->type <= (uint8_t)OCC_CONFIG_ACK;
    int downlink = m->type >= (uint8_t)OCC_SET_REPORT_INTERVAL && m->type <= (uint8_t)OCC_SET_TIME;
    if (fport == OCC_PORT_UPLINK ? !uplink : !downlink) {
        return "type not of its port";
    }
    if (!is_flag(m->occupied) || !is_flag(m->has_battery) || !is_flag(m->has_temperature) || !is_flag(m->kind) ||
        !is_flag(m->reset_changes) || !is_flag(m->reset_in) || !is_flag(m->reset_out)) {
        return "flag or kind not 0/1";
    }
    if (m->temperature_dc % 5 != 0 || m->temperature_dc < -635 || m->temperature_dc > 635) {
        return "temperature_dc not a multiple of 5 in -635 ... 635";
    }
    if (m->has_battery ? (m->battery_mv < 2000u || m->battery_mv > 4540u) : m->battery_mv != 0u) {
        return "battery_mv out of range";
    }
    if (m->history_len > OCC_MAX_HISTORY) {
        return "history_len > 31";
    }
    if (m->changes > 0xFFFu || m->count_in > 0xFFFFu || m->count_out > 0xFFFFu || m->resets > 0xFFu ||
        m->uptime_min > 1048575u) {
        return "counter wider than its field";
    }
    if (m->reset_cause > (uint8_t)OCC_RESET_UNKNOWN || m->result > (uint8_t)OCC_RESULT_UNSUPPORTED_VERSION ||
        m->command > 31u || m->fw_major > 15u || m->fw_minor > 63u || m->fw_patch > 63u) {
        return "enumeration or version out of range";
    }
    if (m->type == (uint8_t)OCC_SET_REPORT_INTERVAL && (m->interval_s < 10u || m->interval_s > 65535u)) {
        return "interval_s out of range";
    }
    if (m->type == (uint8_t)OCC_SET_HEARTBEAT && (m->period_min < 1u || m->period_min > 65535u)) {
        return "period_min out of range";
    }
    if (m->debounce_cs > 4095u || m->holdoff_s > 4095u) {
        return "debounce_cs or holdoff_s out of range";
    }
    if (m->type == (uint8_t)OCC_SET_CAPACITY && (m->capacity < 1u || m->capacity > 65535u)) {
        return "capacity out of range";
    }
    if (m->history_len != 0u && m->type != (uint8_t)OCC_BAY_STATE && m->type != (uint8_t)OCC_GATE_COUNTS) {
        return "history on a type without one";
    }
    for (i = 0u; i < m->history_len; i++) {
        const occ_history_t *e = &m->history[i];
        if (i > 0u && (e->age_s < m->history[i - 1u].age_s || (m->history[i - 1u].saturated && !e->saturated))) {
            return "history ages decrease or saturation clears";
        }
        if (!is_flag(e->occupied) || !is_flag(e->saturated) || e->count_in > 0xFFFFu || e->count_out > 0xFFFFu) {
            return "history entry field out of range";
        }
        if (m->type == (uint8_t)OCC_BAY_STATE &&
            (e->change != (uint16_t)((m->changes - i) & 0xFFFu) || e->occupied != (m->occupied ^ (i & 1u)))) {
            return "bay history entry does not follow from the header";
        }
    }
    for (i = m->history_len; i < OCC_MAX_HISTORY; i++) {
        const occ_history_t *e = &m->history[i];
        if (e->age_s != 0u || e->count_in != 0u || e->count_out != 0u || e->change != 0u || e->occupied != 0u ||
            e->saturated != 0u) {
            return "history entry past history_len not zero";
        }
    }
    return NULL;
}

/* Decodes a heap copy of exactly len bytes, so that ASan sees any read past them. */
static occ_status_t decode_copy(uint8_t fport, const uint8_t *bytes, size_t len, occ_message_t *m)
{
    occ_status_t st;
    uint8_t *copy = (uint8_t *)malloc(len == 0u ? 1u : len);
    if (copy == NULL) {
        violation("setup", "out of memory");
    }
    memcpy(copy, bytes, len);
    st = occ_decode(fport, copy, len, m);
    free(copy);
    return st;
}

static void round_trip(uint8_t fport, const uint8_t *data, size_t size)
{
    occ_message_t m, m2, m3;
    uint8_t buf[OCC_MAX_MESSAGE_BYTES], buf2[OCC_MAX_MESSAGE_BYTES];
    size_t len = 0u, len2 = 0u;
    uint8_t port = 0u, port2 = 0u;
    occ_status_t st;
    const char *why;

    st = occ_decode(fport, data, size, &m);
    if (st == OCC_ERR_BUFFER_TOO_SMALL || (unsigned)st > (unsigned)OCC_ERR_OUT_OF_RANGE) {
        violation("decode", "status outside the format's error codes");
    }
    if (st != OCC_OK) {
        if (!all_zero(&m)) {
            violation("decode", "message not all zero after an error");
        }
        return;
    }
    why = check_ranges(fport, &m);
    if (why != NULL) {
        violation("decoded message", why);
    }

    /* decode -> encode */
    st = occ_encode(&m, 0u, buf, sizeof buf, &len, &port);
    if (st != OCC_OK) {
        violation("re-encode", occ_status_name(st));
    }
    if (port != fport) {
        violation("re-encode", "FPort differs from the port it was decoded on");
    }
    if (len > size) {
        violation("re-encode", "longer than the input (the encoder writes the shortest forms)");
    }

    /* encode -> decode */
    st = decode_copy(port, buf, len, &m2);
    if (st != OCC_OK) {
        violation("decode of re-encoding", occ_status_name(st));
    }
    why = first_difference(&m, &m2);
    if (why != NULL) {
        violation("decode(encode(decode(x))) != decode(x), field", why);
    }

    /* the encoder is canonical: the same message gives the same bytes */
    st = occ_encode(&m2, 0u, buf2, sizeof buf2, &len2, &port2);
    if (st != OCC_OK || len2 != len || port2 != port || memcmp(buf, buf2, len) != 0) {
        violation("re-encode", "encode(decode(encode(m))) differs from encode(m)");
    }

    /* a budget one byte short keeps a strict prefix of the history */
    if ((m.type == (uint8_t)OCC_BAY_STATE || m.type == (uint8_t)OCC_GATE_COUNTS) && m.history_len > 0u) {
        size_t base = m.type == (uint8_t)OCC_BAY_STATE ? 4u : 6u;
        unsigned i;
        st = occ_encode(&m, len - 1u, buf2, sizeof buf2, &len2, &port2);
        if (st != OCC_OK) {
            violation("budget encode", occ_status_name(st));
        }
        if (len2 > (len - 1u > base ? len - 1u : base)) {
            violation("budget encode", "longer than the budget and the base form");
        }
        st = decode_copy(port2, buf2, len2, &m3);
        if (st != OCC_OK) {
            violation("decode of budget encoding", occ_status_name(st));
        }
        if (m3.history_len >= m.history_len) {
            violation("budget encode", "history not shortened");
        }
        for (i = 0u; i < m3.history_len; i++) {
            if (m3.history[i].age_s != m.history[i].age_s || m3.history[i].count_in != m.history[i].count_in ||
                m3.history[i].count_out != m.history[i].count_out ||
                m3.history[i].saturated != m.history[i].saturated) {
                violation("budget encode", "history is not a prefix of the full one");
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    occ_message_t m;
    uint8_t other = size > 0u ? data[0] : 0u; /* some port that is not 10 or 11 */
    if (other == OCC_PORT_UPLINK || other == OCC_PORT_DOWNLINK) {
        other = 12u;
    }
    round_trip(OCC_PORT_UPLINK, data, size);
    round_trip(OCC_PORT_DOWNLINK, data, size);
    if (occ_decode(other, data, size, &m) != OCC_ERR_UNKNOWN_PORT || !all_zero(&m)) {
        violation("decode", "a port other than 10/11 is not unknown_port with a zero message");
    }
    if (occ_decode(OCC_PORT_UPLINK, NULL, size, &m) != OCC_ERR_TRUNCATED || !all_zero(&m)) {
        violation("decode", "NULL input is not truncated with a zero message");
    }
    return 0;
}
