/*
 * Occupancy sensor payload codec, format version 1 (hardware/PAYLOAD.md).
 *
 * C99, no heap, no floating point, no static mutable state. Shared by the firmware and, through the Swift
 * package's CFirmware target, by the simulator and tests, which check it bit for bit against the Swift and
 * JavaScript codecs.
 */
#ifndef OCCUPANCY_CODEC_H
#define OCCUPANCY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCC_FORMAT_VERSION 1u
#define OCC_PORT_UPLINK 10u
#define OCC_PORT_DOWNLINK 11u
#define OCC_MAX_HISTORY 31u
/* The largest message: gate_counts with 31 entries of the longest codes (45 + 31 x 60 bits). */
#define OCC_MAX_MESSAGE_BYTES 239u
#define OCC_AGE_MAX 4194303u

typedef enum {
    OCC_OK = 0,
    OCC_ERR_UNKNOWN_PORT = 1,
    OCC_ERR_TRUNCATED = 2,
    OCC_ERR_TRAILING_BYTES = 3,
    OCC_ERR_UNKNOWN_VERSION = 4,
    OCC_ERR_UNKNOWN_TYPE = 5,
    OCC_ERR_RESERVED_BITS = 6,
    OCC_ERR_OUT_OF_RANGE = 7,
    /* Not a format error: the caller's output buffer is smaller than the message. */
    OCC_ERR_BUFFER_TOO_SMALL = 8
} occ_status_t;

typedef enum {
    OCC_BAY_STATE = 1,
    OCC_GATE_COUNTS = 2,
    OCC_STATUS = 3,
    OCC_BOOT = 4,
    OCC_CONFIG_ACK = 5,
    OCC_SET_REPORT_INTERVAL = 16,
    OCC_SET_HEARTBEAT = 17,
    OCC_SET_DEBOUNCE = 18,
    OCC_SET_CAPACITY = 19,
    OCC_REQUEST_STATUS = 20,
    OCC_RESET_COUNTERS = 21,
    OCC_SET_TIME = 22
} occ_type_t;

typedef enum { OCC_KIND_BAY = 0, OCC_KIND_GATE = 1 } occ_kind_t;

typedef enum {
    OCC_RESET_POWER_ON = 0,
    OCC_RESET_BROWN_OUT = 1,
    OCC_RESET_WATCHDOG = 2,
    OCC_RESET_SOFTWARE = 3,
    OCC_RESET_EXTERNAL_PIN = 4,
    OCC_RESET_LOCKUP = 5,
    OCC_RESET_LOW_POWER = 6,
    OCC_RESET_UNKNOWN = 7
} occ_reset_cause_t;

typedef enum {
    OCC_RESULT_OK = 0,
    OCC_RESULT_OUT_OF_RANGE = 1,
    OCC_RESULT_UNKNOWN_COMMAND = 2,
    OCC_RESULT_UNSUPPORTED_VERSION = 3
} occ_result_t;

/* One history entry. Encoder input: age_s (cumulative seconds before the message, non-decreasing along the
 * list) and, for gate_counts, the cumulative counters count_in/count_out at that snapshot. Decoder output: all
 * fields (change and occupied for bay_state; count_in/count_out for gate_counts; saturated for both). */
typedef struct {
    uint32_t age_s;
    uint32_t count_in;
    uint32_t count_out;
    uint16_t change;
    uint8_t occupied;
    uint8_t saturated;
} occ_history_t;

/* Every message in one flat structure; each type uses the fields PAYLOAD.md lists for it. Encoders take the
 * counters modulo their width (wrap) and saturate what PAYLOAD.md says saturates; decoders fill only the fields
 * of the decoded type and zero the others. */
typedef struct {
    uint8_t type;          /* occ_type_t */
    uint8_t seq;           /* config_ack and every downlink */
    /* bay_state, status of a bay sensor */
    uint8_t occupied;
    uint32_t changes;      /* encoder: mod 4096 */
    /* gate_counts, status of a gate counter */
    uint32_t count_in;     /* encoder: mod 65536 */
    uint32_t count_out;
    /* bay_state, gate_counts: encoder input holds history_len entries (up to OCC_MAX_HISTORY are used);
     * decoder output holds K entries */
    uint8_t history_len;
    occ_history_t history[OCC_MAX_HISTORY];
    /* status, boot */
    uint8_t kind;          /* occ_kind_t */
    uint8_t has_battery;
    uint32_t battery_mv;
    uint8_t has_temperature;
    int32_t temperature_dc; /* tenths of a degree Celsius; the format carries half degrees (encoder floors) */
    uint32_t uptime_min;
    uint32_t resets;       /* encoder: mod 256 */
    /* boot */
    uint8_t fw_major, fw_minor, fw_patch;
    uint8_t reset_cause;   /* occ_reset_cause_t */
    uint32_t config_hash;  /* boot, config_ack */
    /* config_ack */
    uint8_t command;       /* the downlink type answered, 0 ... 31 */
    uint8_t result;        /* occ_result_t */
    /* downlinks */
    uint32_t interval_s;
    uint32_t period_min;
    uint32_t debounce_cs;
    uint32_t holdoff_s;
    uint32_t capacity;
    uint32_t unix_time;
    uint8_t reset_changes, reset_in, reset_out;
} occ_message_t;

/* Encodes `m`. max_bytes limits the message length (0: no limit): bay_state and gate_counts then carry the
 * largest number of leading history entries that fits. On OCC_OK, *out_len holds the length and *fport the
 * FPort (10 or 11). Returns OCC_ERR_OUT_OF_RANGE for values the format cannot hold (PAYLOAD.md section 7) and
 * OCC_ERR_BUFFER_TOO_SMALL when out_cap is too small; then nothing useful is in `out`.
 * Details of this implementation (src/occupancy_codec.c):
 *   - a type that is not in occ_type_t gives OCC_ERR_UNKNOWN_TYPE; kind other than 0/1 (status, boot) gives
 *     OCC_ERR_OUT_OF_RANGE; flags (occupied, has_battery, has_temperature, reset_*) are true when nonzero;
 *   - history: the first min(history_len, OCC_MAX_HISTORY) entries are checked (ages non-decreasing, else
 *     OCC_ERR_OUT_OF_RANGE, even for entries the budget then drops) and packed; age deltas above OCC_AGE_MAX
 *     saturate; max_bytes only limits the history: the base form is written even if it is longer;
 *   - out_cap only needs to hold the message; nothing is written at or past out[*out_len]; out_len and fport may
 *     be NULL; m == NULL gives OCC_ERR_OUT_OF_RANGE, out == NULL gives OCC_ERR_BUFFER_TOO_SMALL. */
occ_status_t occ_encode(const occ_message_t *m, size_t max_bytes, uint8_t *out, size_t out_cap, size_t *out_len,
                        uint8_t *fport);

/* Decodes `len` bytes received on `fport` into `m`, checking in the order of PAYLOAD.md section 7. Accepts any
 * bytes and any length (in == NULL reads as empty). `m` is zeroed first; on an error it is left all zero (a
 * device answering an undecodable downlink takes seq and command from the raw bytes). Decoded flags are 0 or 1;
 * temperature_dc is a multiple of 5; m == NULL gives OCC_ERR_BUFFER_TOO_SMALL. */
occ_status_t occ_decode(uint8_t fport, const uint8_t *in, size_t len, occ_message_t *m);

/* The status code's name as PAYLOAD.md writes it ("truncated", ...). */
const char *occ_status_name(occ_status_t status);

/* CRC-32 (IEEE 802.3) configuration hash of PAYLOAD.md section 6. */
uint32_t occ_config_hash(uint32_t interval_s, uint32_t period_min, uint32_t debounce_cs, uint32_t holdoff_s,
                         uint32_t capacity, uint8_t kind);

#ifdef __cplusplus
}
#endif

#endif /* OCCUPANCY_CODEC_H */
