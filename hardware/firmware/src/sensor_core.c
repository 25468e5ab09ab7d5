/*
 * Occupancy sensor firmware core: the implementation of include/sensor_core.h.
 *
 * C99, no heap, no floating point, no static mutable state (only const tables): everything a device holds lives in
 * its sensor_ctx_t. The payloads are built with the codec of src/occupancy_codec.c (hardware/PAYLOAD.md).
 *
 * SPECIFICATION (the behaviour this file implements)
 *
 * BAY SENSOR (kind 0). sensor_on_detection(raw) gives the raw detector input. A change of the debounced state
 * `occupied` is accepted when the raw input has differed from `occupied` continuously for debounce_cs * 10 ms,
 * where that debounce period starts at max(the time raw last changed, holdoff_until_ms). The change's time (for
 * the history) is that start time, not the acceptance time, in device seconds = floor(ms / 1000). On acceptance:
 * occupied = raw, counters.changes += 1, a history event {at_s, occupied} is pushed, holdoff_until_ms =
 * acceptance time + holdoff_s * 1000, the counters are written to storage, the console gets
 * "+EVT:OCC=<0|1>,<changes>" and a state report is requested. The HAL timer wakes the core at the end of debounce
 * periods (acceptance happens in sensor_on_timer when the time has come). A raw change that arrives while a
 * debounce runs restarts the debounce from the new raw change; if raw now equals occupied, the pending change is
 * cancelled.
 *
 * GATE COUNTER (kind 1). sensor_on_vehicle(lane, active): lane 0 counts in, lane 1 counts out. A vehicle is counted
 * at the END of a pulse (active 1 then 0) when the pulse lasted at least debounce_cs * 10 ms and its start was at
 * or after that lane's lane_holdoff_until_ms. On counting: count_in or count_out += 1, the lane's hold-off lasts
 * until end + holdoff_s * 1000, the counters are written to storage, the console gets
 * "+EVT:GATE=<IN|OUT>,<in>,<out>" and a state report is requested.
 *
 * STATE REPORTS. A requested report is sent at max(now, last_report_ms + interval_s * 1000) (immediately if no
 * report was ever sent). It is encoded at the moment of each send attempt: bay_state with occupied, changes and the
 * history (newest first, age_s = now_s - at_s; the ring keeps the last SENSOR_HISTORY_SLOTS changes); gate_counts
 * with count_in, count_out and as history the snapshots of the previous accepted gate reports (newest first, each
 * {at_s, count_in, count_out}; a snapshot is pushed each time a gate report is accepted by the radio). The byte
 * budget is hal.payload_budget(), passed as max_bytes (11 when it returns 0). If base_form_only is set, the report
 * is encoded with no history and the flag is cleared after that attempt.
 *
 * HEARTBEAT. A status message every period_min minutes, the first at init + period_min: kind, battery
 * (hal.battery_mv, 0 = not measured), temperature (hal.temperature_dc), uptime_min = now_ms / 60000, resets, and
 * the bay's occupied/changes or the gate's in/out.
 *
 * BOOT. sensor_init loads storage (a record with magic, record version, counters, config and a CRC-32; a missing or
 * damaged record starts from zero counters and the default config: interval_s 60, period_min 360, debounce_cs 50,
 * holdoff_s 5, capacity 100), increments counters.resets and writes storage, prints the boot banner
 * ("OCCUPANCY SENSOR v<M.m.p> payload format 1", then "KIND <BAY|GATE> DEVEUI <16 uppercase hex> RESET <reset
 * cause name as in PAYLOAD.md>"), queues the boot message (config hash of sensor_config_hash) and schedules the
 * heartbeat.
 *
 * SENDING. One send attempt at a time, in priority order: config_ack, boot, state report, status. On
 * SENSOR_RADIO_OK: the payload (last_fport/last_payload) and counters (uplinks += 1) are recorded, that pending flag
 * is cleared, and for state reports last_report_ms = now. On BUSY: retry in 1000 ms. On DUTY_CYCLE: retry after
 * retry_after_ms (1000 ms when it is 0). On NOT_JOINED: retry in 10000 ms. On TOO_LONG: base_form_only is set,
 * retry in 1000 ms. On ERROR (and any unknown answer): retry in 10000 ms. Every refused attempt counts in
 * ctx->retries. sensor_on_tx_done records last_tx_start_ms/last_tx_end_ms, prints "+EVT:TX=<start_ms>,<end_ms>"
 * and tries the next pending message (the HAL answers BUSY while the receive windows are open, which is fine).
 * Exactly one timer is always armed, for the earliest of: debounce end, report time, retry time, heartbeat.
 *
 * DOWNLINKS. sensor_on_downlink on FPort 11 decodes with occ_decode and applies set_report_interval,
 * set_heartbeat (next heartbeat = now + new period), set_debounce, set_capacity, request_status (queues a status),
 * reset_counters (zeroes the selected counters and the history), set_time (time_offset_s = unix_time - now_s);
 * writes config and counters to storage; queues config_ack with the seq, command, result (decoding errors mapped
 * as PAYLOAD.md 4.5 says) and the new config hash; prints "+EVT:CMD=<type>,<result name>". Other FPorts are
 * ignored.
 *
 * CONSOLE (RUI3-style custom commands; the last line of every answer is OK, AT_ERROR, AT_PARAM_ERROR or
 * AT_COMMAND_NOT_FOUND). sensor_console_line handles, with the command name case-insensitive:
 *   ATC+VER=?            "ATC+VER=1.0.0,1" (firmware version, payload format version)
 *   ATC+DEVEUI=?         "ATC+DEVEUI=<16 uppercase hex>"
 *   ATC+KIND=?           "ATC+KIND=BAY" or "ATC+KIND=GATE"
 *   ATC+CFG=?            "ATC+CFG=<interval_s>,<period_min>,<debounce_cs>,<holdoff_s>,<capacity>,<hash, 8 lc hex>"
 *   ATC+COUNT=?          "ATC+COUNT=<changes>,<in>,<out>,<resets>"
 *   ATC+STATE=?          bay: "ATC+STATE=<0|1>"; gate: AT_ERROR
 *   ATC+DETECT=<0|1>     bay: as sensor_on_detection; gate: AT_ERROR; another value: AT_PARAM_ERROR
 *   ATC+VEHICLE=<IN|OUT> gate: a pulse that started debounce_cs * 10 ms ago and ends now (counted unless in
 *                        hold-off); bay: AT_ERROR
 *   ATC+PAYLOAD=?        "ATC+PAYLOAD=<fport>:<lowercase hex of the last payload accepted by the radio>", or
 *                        "ATC+PAYLOAD=" when there is none
 *   ATC+TXTIME=?         "ATC+TXTIME=<last_tx_start_ms>,<last_tx_end_ms>"
 *   ATC+SEND=STATE|STATUS  queues that message now (such a state report ignores the interval)
 *   ATC+RESETCNT         zeroes all counters including resets, and the history; writes storage
 * Any other ATC+ command gives AT_COMMAND_NOT_FOUND; lines not starting with ATC+ are not the core's and get no
 * answer (RUI3 answers its own AT+ commands). Lines are at most SENSOR_CONSOLE_LINE_MAX - 1 characters.
 *
 * DECISIONS WHERE THE SPECIFICATION IS SILENT (also in hardware/CONSOLE.md and the firmware README)
 *   - Acceptance time of a bay change = the end of its debounce period (start + debounce), which is `now` when the
 *     timer fires on time; a late timer or an input processed first does not shift the hold-off. Any entry point
 *     first completes what became due (a debounce that ended, a heartbeat) before handling its own event.
 *   - Only a real change of the raw input restarts a debounce: repeating the current raw value does nothing.
 *     Likewise a repeated vehicle start keeps the first start, and an end without a start is ignored.
 *   - The bay's debounced state starts free (0) at every start; it is not stored.
 *   - After SENSOR_RADIO_OK no other send is tried until sensor_on_tx_done (if that never comes, the radio is
 *     assumed free 60 s after the accepted send, at the next event). A retry wait holds every pending message.
 *   - base_form_only is cleared after the next state-report attempt (other messages carry no history anyway).
 *   - reset_counters clears the history whatever counters it selects, and does not zero `resets` (only ATC+RESETCNT
 *     does). Undecodable downlinks change nothing and write no storage. One config_ack slot: a newer downlink's ack
 *     replaces one not yet sent (in class A the pending ack is the very next uplink anyway).
 *   - set_time with a unix time not after the device's own seconds leaves time_offset_s at 0 (unknown).
 *   - Console: a known command in another form (e.g. "ATC+VER=1", "ATC+RESETCNT=1", "ATC+DETECT=?") answers
 *     AT_PARAM_ERROR; command values (IN, OUT, STATE, STATUS) are case-insensitive too; trailing spaces, CR and LF
 *     are ignored. A payload too long for one console line continues on further lines of hex digits only, before
 *     the OK. Event lines that a command causes come before its final answer line.
 */
#include "sensor_core.h"

#include <string.h>

#define DEFAULT_INTERVAL_S 60u
#define DEFAULT_PERIOD_MIN 360u
#define DEFAULT_DEBOUNCE_CS 50u
#define DEFAULT_HOLDOFF_S 5u
#define DEFAULT_CAPACITY 100u
#define DEFAULT_BUDGET_BYTES 11u

#define RETRY_BUSY_MS 1000u
#define RETRY_DUTY_DEFAULT_MS 1000u
#define RETRY_NOT_JOINED_MS 10000u
#define RETRY_TOO_LONG_MS 1000u
#define RETRY_ERROR_MS 10000u
#define TX_DONE_TIMEOUT_MS 60000u

/* Storage record: magic "OCCS", record version, 4 counters, 5 config values (big-endian uint32), CRC-32. */
#define RECORD_VERSION 1u
#define RECORD_COUNTERS_AT 5u
#define RECORD_CONFIG_AT 21u
#define RECORD_CRC_AT 41u
#define RECORD_BYTES 45u

/* Payload hex digits per console line: "ATC+PAYLOAD=10:" leaves room for 72 bytes in SENSOR_CONSOLE_LINE_MAX - 1
 * characters; continuation lines carry the same amount. */
#define PAYLOAD_BYTES_PER_LINE 72u

typedef enum { MSG_NONE = 0, MSG_ACK, MSG_BOOT, MSG_REPORT, MSG_STATUS } msg_kind_t;

static const char *const RESET_NAMES[8] = {"power_on", "brown_out", "watchdog", "software",
                                           "external_pin", "lockup", "low_power", "unknown"};
static const char *const RESULT_NAMES[4] = {"ok", "out_of_range", "unknown_command", "unsupported_version"};
static const char *const MSG_NAMES[5] = {"none", "config_ack", "boot", "state report", "status"};
static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

/* ------------------------------------------------------------------------------------------- small helpers */

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint32_t sat_u32(uint64_t v) { return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v; }

/* One console or log line, built without printf; silently truncated at SENSOR_CONSOLE_LINE_MAX - 1 characters. */
typedef struct {
    char s[SENSOR_CONSOLE_LINE_MAX];
    size_t n;
} line_t;

static void l_init(line_t *l)
{
    l->n = 0u;
    l->s[0] = '\0';
}

static void l_chr(line_t *l, char c)
{
    if (l->n + 1u < sizeof l->s) {
        l->s[l->n++] = c;
        l->s[l->n] = '\0';
    }
}

static void l_str(line_t *l, const char *str)
{
    while (*str != '\0') {
        l_chr(l, *str++);
    }
}

static void l_u64(line_t *l, uint64_t v)
{
    char digits[20];
    unsigned n = 0u;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        l_chr(l, digits[--n]);
    }
}

static void l_hex8(line_t *l, uint8_t b, const char *digits)
{
    l_chr(l, digits[b >> 4]);
    l_chr(l, digits[b & 0x0Fu]);
}

static void l_hex32(line_t *l, uint32_t v)
{
    unsigned i;
    for (i = 0u; i < 4u; i++) {
        l_hex8(l, (uint8_t)(v >> (24u - 8u * i)), HEX_LOWER);
    }
}

static void l_deveui(line_t *l, const sensor_ctx_t *ctx)
{
    unsigned i;
    for (i = 0u; i < 8u; i++) {
        l_hex8(l, ctx->dev_eui[i], HEX_UPPER);
    }
}

/* ------------------------------------------------------------------------------------------- HAL wrappers */

static uint64_t hal_now(const sensor_ctx_t *ctx)
{
    return ctx->hal.now_ms != NULL ? ctx->hal.now_ms(ctx->hal.user) : 0u;
}

static void hal_console(const sensor_ctx_t *ctx, const char *line)
{
    if (ctx->hal.console_write != NULL) {
        ctx->hal.console_write(ctx->hal.user, line);
    }
}

static void hal_log(const sensor_ctx_t *ctx, const line_t *l)
{
    if (ctx->hal.log != NULL) {
        ctx->hal.log(ctx->hal.user, l->s);
    }
}

static void emit_line(const sensor_ctx_t *ctx, const line_t *l) { hal_console(ctx, l->s); }

/* ------------------------------------------------------------------------------------------- storage */

static uint32_t crc32_bytes(const uint8_t *b, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    unsigned k;
    for (i = 0u; i < n; i++) {
        crc ^= b[i];
        for (k = 0u; k < 8u; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void default_config(sensor_config_t *c)
{
    c->interval_s = DEFAULT_INTERVAL_S;
    c->period_min = DEFAULT_PERIOD_MIN;
    c->debounce_cs = DEFAULT_DEBOUNCE_CS;
    c->holdoff_s = DEFAULT_HOLDOFF_S;
    c->capacity = DEFAULT_CAPACITY;
}

/* The ranges a downlink may set (PAYLOAD.md section 5); a stored config outside them is damage. */
static int config_valid(const sensor_config_t *c)
{
    return c->interval_s >= 10u && c->interval_s <= 65535u && c->period_min >= 1u && c->period_min <= 65535u &&
           c->debounce_cs <= 4095u && c->holdoff_s <= 4095u && c->capacity >= 1u && c->capacity <= 65535u;
}

static void storage_save(const sensor_ctx_t *ctx)
{
    uint8_t rec[RECORD_BYTES];
    rec[0] = 'O';
    rec[1] = 'C';
    rec[2] = 'C';
    rec[3] = 'S';
    rec[4] = (uint8_t)RECORD_VERSION;
    put_be32(rec + RECORD_COUNTERS_AT, ctx->counters.changes);
    put_be32(rec + RECORD_COUNTERS_AT + 4u, ctx->counters.count_in);
    put_be32(rec + RECORD_COUNTERS_AT + 8u, ctx->counters.count_out);
    put_be32(rec + RECORD_COUNTERS_AT + 12u, ctx->counters.resets);
    put_be32(rec + RECORD_CONFIG_AT, ctx->config.interval_s);
    put_be32(rec + RECORD_CONFIG_AT + 4u, ctx->config.period_min);
    put_be32(rec + RECORD_CONFIG_AT + 8u, ctx->config.debounce_cs);
    put_be32(rec + RECORD_CONFIG_AT + 12u, ctx->config.holdoff_s);
    put_be32(rec + RECORD_CONFIG_AT + 16u, ctx->config.capacity);
    put_be32(rec + RECORD_CRC_AT, crc32_bytes(rec, RECORD_CRC_AT));
    if (ctx->hal.storage_write != NULL) {
        ctx->hal.storage_write(ctx->hal.user, rec, sizeof rec);
    }
}

/* Returns 1 and fills counters and config from a valid record; 0 (and nothing changed) otherwise. */
static int storage_load(sensor_ctx_t *ctx)
{
    uint8_t rec[SENSOR_STORAGE_BYTES];
    sensor_config_t c;
    size_t n = 0u;
    memset(rec, 0, sizeof rec);
    if (ctx->hal.storage_read != NULL) {
        n = ctx->hal.storage_read(ctx->hal.user, rec, sizeof rec);
    }
    if (n < RECORD_BYTES || n > sizeof rec || rec[0] != 'O' || rec[1] != 'C' || rec[2] != 'C' || rec[3] != 'S' ||
        rec[4] != RECORD_VERSION || get_be32(rec + RECORD_CRC_AT) != crc32_bytes(rec, RECORD_CRC_AT)) {
        return 0;
    }
    c.interval_s = get_be32(rec + RECORD_CONFIG_AT);
    c.period_min = get_be32(rec + RECORD_CONFIG_AT + 4u);
    c.debounce_cs = get_be32(rec + RECORD_CONFIG_AT + 8u);
    c.holdoff_s = get_be32(rec + RECORD_CONFIG_AT + 12u);
    c.capacity = get_be32(rec + RECORD_CONFIG_AT + 16u);
    if (!config_valid(&c)) {
        return 0;
    }
    ctx->config = c;
    ctx->counters.changes = get_be32(rec + RECORD_COUNTERS_AT);
    ctx->counters.count_in = get_be32(rec + RECORD_COUNTERS_AT + 4u);
    ctx->counters.count_out = get_be32(rec + RECORD_COUNTERS_AT + 8u);
    ctx->counters.resets = get_be32(rec + RECORD_COUNTERS_AT + 12u);
    return 1;
}

/* ------------------------------------------------------------------------------------------- history */

static void history_push(sensor_ctx_t *ctx, const sensor_event_t *e)
{
    unsigned i;
    if (ctx->history_len >= SENSOR_HISTORY_SLOTS) {
        for (i = 1u; i < SENSOR_HISTORY_SLOTS; i++) {
            ctx->history[i - 1u] = ctx->history[i];
        }
        ctx->history_len = (uint8_t)(SENSOR_HISTORY_SLOTS - 1u);
    }
    ctx->history[ctx->history_len] = *e;
    ctx->history_len++;
}

static void history_clear(sensor_ctx_t *ctx)
{
    memset(ctx->history, 0, sizeof ctx->history);
    ctx->history_len = 0u;
}

/* ------------------------------------------------------------------------------------------- bay sensor */

static uint64_t debounce_ms(const sensor_ctx_t *ctx) { return (uint64_t)ctx->config.debounce_cs * 10u; }

static int bay_pending(const sensor_ctx_t *ctx)
{
    return ctx->kind == (uint8_t)OCC_KIND_BAY && ctx->raw != ctx->occupied;
}

static uint64_t bay_debounce_start(const sensor_ctx_t *ctx) { return max_u64(ctx->raw_since_ms, ctx->holdoff_until_ms); }

static uint64_t bay_debounce_end(const sensor_ctx_t *ctx) { return bay_debounce_start(ctx) + debounce_ms(ctx); }

/* Accepts the pending change if its debounce period is over at `now`. */
static void bay_service(sensor_ctx_t *ctx, uint64_t now)
{
    uint64_t start, end;
    sensor_event_t e;
    line_t l;
    if (!bay_pending(ctx)) {
        return;
    }
    start = bay_debounce_start(ctx);
    end = start + debounce_ms(ctx);
    if (now < end) {
        return;
    }
    ctx->occupied = ctx->raw;
    ctx->counters.changes++;
    memset(&e, 0, sizeof e);
    e.at_s = sat_u32(start / 1000u);
    e.occupied = ctx->occupied;
    history_push(ctx, &e);
    ctx->holdoff_until_ms = end + (uint64_t)ctx->config.holdoff_s * 1000u;
    storage_save(ctx);
    l_init(&l);
    l_str(&l, "+EVT:OCC=");
    l_u64(&l, ctx->occupied);
    l_chr(&l, ',');
    l_u64(&l, ctx->counters.changes);
    emit_line(ctx, &l);
    ctx->report_pending = 1u;
}

static void bay_raw(sensor_ctx_t *ctx, int raw_occupied, uint64_t now)
{
    uint8_t r = raw_occupied ? 1u : 0u;
    if (r != ctx->raw) {
        ctx->raw = r;
        ctx->raw_since_ms = now;
    }
}

/* ------------------------------------------------------------------------------------------- gate counter */

/* A pulse on `lane` from start to end; check_length: 0 when the caller guarantees the debounce length. */
static void gate_pulse(sensor_ctx_t *ctx, unsigned lane, uint64_t start, uint64_t end, int check_length)
{
    line_t l;
    if (check_length && end - start < debounce_ms(ctx)) {
        return;
    }
    if (start < ctx->lane_holdoff_until_ms[lane]) {
        return;
    }
    if (lane == 0u) {
        ctx->counters.count_in++;
    } else {
        ctx->counters.count_out++;
    }
    ctx->lane_holdoff_until_ms[lane] = end + (uint64_t)ctx->config.holdoff_s * 1000u;
    storage_save(ctx);
    l_init(&l);
    l_str(&l, lane == 0u ? "+EVT:GATE=IN," : "+EVT:GATE=OUT,");
    l_u64(&l, ctx->counters.count_in);
    l_chr(&l, ',');
    l_u64(&l, ctx->counters.count_out);
    emit_line(ctx, &l);
    ctx->report_pending = 1u;
}

/* ------------------------------------------------------------------------------------------- heartbeat */

static uint64_t period_ms(const sensor_ctx_t *ctx) { return (uint64_t)ctx->config.period_min * 60000u; }

static void heartbeat_service(sensor_ctx_t *ctx, uint64_t now)
{
    if (now < ctx->next_heartbeat_ms) {
        return;
    }
    ctx->status_pending = 1u;
    ctx->next_heartbeat_ms += period_ms(ctx);
    if (ctx->next_heartbeat_ms <= now) { /* the wake-up came more than a period late: no burst of heartbeats */
        ctx->next_heartbeat_ms = now + period_ms(ctx);
    }
}

/* ------------------------------------------------------------------------------------------- sending */

static uint64_t report_due(const sensor_ctx_t *ctx)
{
    if (ctx->report_forced || !ctx->reported_once) {
        return 0u;
    }
    return ctx->last_report_ms + (uint64_t)ctx->config.interval_s * 1000u;
}

/* The highest-priority message that may be sent at `now`. */
static msg_kind_t next_message(const sensor_ctx_t *ctx, uint64_t now)
{
    if (ctx->ack_pending) {
        return MSG_ACK;
    }
    if (ctx->boot_pending) {
        return MSG_BOOT;
    }
    if (ctx->report_pending && now >= report_due(ctx)) {
        return MSG_REPORT;
    }
    if (ctx->status_pending) {
        return MSG_STATUS;
    }
    return MSG_NONE;
}

/* Builds the message of kind k as of `now`. */
static void build_message(const sensor_ctx_t *ctx, msg_kind_t k, uint64_t now, occ_message_t *m)
{
    uint32_t now_s = sat_u32(now / 1000u);
    unsigned i, n;
    int32_t dc = 0;
    memset(m, 0, sizeof *m);
    switch (k) {
    case MSG_ACK:
        m->type = (uint8_t)OCC_CONFIG_ACK;
        m->seq = ctx->ack_seq;
        m->command = (uint8_t)(ctx->ack_command & 0x1Fu);
        m->result = ctx->ack_result;
        m->config_hash = ctx->ack_config_hash;
        break;
    case MSG_BOOT:
        m->type = (uint8_t)OCC_BOOT;
        m->kind = ctx->kind;
        m->fw_major = (uint8_t)SENSOR_FW_MAJOR;
        m->fw_minor = (uint8_t)SENSOR_FW_MINOR;
        m->fw_patch = (uint8_t)SENSOR_FW_PATCH;
        m->reset_cause = ctx->reset_cause;
        m->config_hash = sensor_config_hash(ctx);
        break;
    case MSG_REPORT:
        n = ctx->base_form_only ? 0u : ctx->history_len;
        if (n > OCC_MAX_HISTORY) {
            n = OCC_MAX_HISTORY;
        }
        m->history_len = (uint8_t)n;
        for (i = 0u; i < n; i++) {
            const sensor_event_t *e = &ctx->history[ctx->history_len - 1u - i]; /* newest first */
            m->history[i].age_s = now_s >= e->at_s ? now_s - e->at_s : 0u;
            m->history[i].count_in = e->count_in;
            m->history[i].count_out = e->count_out;
        }
        if (ctx->kind == (uint8_t)OCC_KIND_GATE) {
            m->type = (uint8_t)OCC_GATE_COUNTS;
            m->count_in = ctx->counters.count_in;
            m->count_out = ctx->counters.count_out;
        } else {
            m->type = (uint8_t)OCC_BAY_STATE;
            m->occupied = ctx->occupied;
            m->changes = ctx->counters.changes;
        }
        break;
    case MSG_STATUS:
        m->type = (uint8_t)OCC_STATUS;
        m->kind = ctx->kind;
        m->battery_mv = ctx->hal.battery_mv != NULL ? ctx->hal.battery_mv(ctx->hal.user) : 0u;
        m->has_battery = m->battery_mv != 0u ? 1u : 0u;
        if (ctx->hal.temperature_dc != NULL && ctx->hal.temperature_dc(ctx->hal.user, &dc) != 0) {
            m->has_temperature = 1u;
            m->temperature_dc = dc;
        }
        m->uptime_min = sat_u32(now / 60000u);
        m->resets = ctx->counters.resets;
        if (ctx->kind == (uint8_t)OCC_KIND_GATE) {
            m->count_in = ctx->counters.count_in;
            m->count_out = ctx->counters.count_out;
        } else {
            m->occupied = ctx->occupied;
            m->changes = ctx->counters.changes;
        }
        break;
    default:
        break;
    }
}

static void clear_pending(sensor_ctx_t *ctx, msg_kind_t k)
{
    switch (k) {
    case MSG_ACK:
        ctx->ack_pending = 0u;
        break;
    case MSG_BOOT:
        ctx->boot_pending = 0u;
        break;
    case MSG_REPORT:
        ctx->report_pending = 0u;
        ctx->report_forced = 0u;
        break;
    case MSG_STATUS:
        ctx->status_pending = 0u;
        break;
    default:
        break;
    }
}

static void log_send(const sensor_ctx_t *ctx, msg_kind_t k, size_t len, const char *what, uint64_t retry_at)
{
    line_t l;
    if (ctx->hal.log == NULL) {
        return;
    }
    l_init(&l);
    l_str(&l, "send ");
    l_str(&l, MSG_NAMES[k]);
    l_str(&l, " (");
    l_u64(&l, len);
    l_str(&l, " bytes): ");
    l_str(&l, what);
    if (retry_at != 0u) {
        l_str(&l, ", retry at ");
        l_u64(&l, retry_at);
    }
    hal_log(ctx, &l);
}

/* At most one send attempt: the highest-priority ready message, unless a frame is in the air or a retry waits. */
static void try_send(sensor_ctx_t *ctx, uint64_t now)
{
    for (;;) {
        occ_message_t m;
        uint8_t buf[OCC_MAX_MESSAGE_BYTES];
        size_t len = 0u, budget;
        uint8_t fport = 0u;
        uint32_t retry_after = 0u;
        uint64_t delay;
        sensor_radio_result_t r;
        msg_kind_t k;
        int base_form;

        if (ctx->tx_busy) {
            if (now - ctx->tx_accepted_ms < TX_DONE_TIMEOUT_MS) {
                return;
            }
            ctx->tx_busy = 0u; /* the TX-done never came */
        }
        if (ctx->retry_at_ms != 0u) {
            if (now < ctx->retry_at_ms) {
                return;
            }
            ctx->retry_at_ms = 0u;
        }
        k = next_message(ctx, now);
        if (k == MSG_NONE) {
            return;
        }
        build_message(ctx, k, now, &m);
        base_form = k == MSG_REPORT && ctx->base_form_only;
        budget = ctx->hal.payload_budget != NULL ? ctx->hal.payload_budget(ctx->hal.user) : 0u;
        if (budget == 0u) {
            budget = DEFAULT_BUDGET_BYTES;
        }
        if (occ_encode(&m, budget, buf, sizeof buf, &len, &fport) != OCC_OK) {
            log_send(ctx, k, 0u, "cannot encode, dropped", 0u); /* not expected: every field is in range */
            clear_pending(ctx, k);
            continue;
        }
        if (ctx->hal.radio_send == NULL) {
            r = SENSOR_RADIO_ERROR;
        } else {
            r = ctx->hal.radio_send(ctx->hal.user, fport, buf, len, 0, &retry_after);
        }
        if (base_form) {
            ctx->base_form_only = 0u;
        }
        switch (r) {
        case SENSOR_RADIO_OK:
            ctx->last_fport = fport;
            memcpy(ctx->last_payload, buf, len);
            ctx->last_payload_len = (uint8_t)len;
            ctx->uplinks++;
            ctx->tx_busy = 1u;
            ctx->tx_accepted_ms = now;
            if (k == MSG_REPORT) {
                ctx->last_report_ms = now;
                ctx->reported_once = 1u;
                if (ctx->kind == (uint8_t)OCC_KIND_GATE) {
                    sensor_event_t e;
                    memset(&e, 0, sizeof e);
                    e.at_s = sat_u32(now / 1000u);
                    e.count_in = ctx->counters.count_in;
                    e.count_out = ctx->counters.count_out;
                    history_push(ctx, &e);
                }
            }
            clear_pending(ctx, k);
            log_send(ctx, k, len, "ok", 0u);
            return;
        case SENSOR_RADIO_BUSY:
            delay = RETRY_BUSY_MS;
            break;
        case SENSOR_RADIO_DUTY_CYCLE:
            delay = retry_after != 0u ? retry_after : RETRY_DUTY_DEFAULT_MS;
            break;
        case SENSOR_RADIO_NOT_JOINED:
            delay = RETRY_NOT_JOINED_MS;
            break;
        case SENSOR_RADIO_TOO_LONG:
            ctx->base_form_only = 1u;
            delay = RETRY_TOO_LONG_MS;
            break;
        case SENSOR_RADIO_ERROR:
        default:
            delay = RETRY_ERROR_MS;
            break;
        }
        ctx->retries++;
        ctx->retry_at_ms = now + delay;
        log_send(ctx, k, len,
                 r == SENSOR_RADIO_BUSY          ? "busy"
                 : r == SENSOR_RADIO_DUTY_CYCLE  ? "duty cycle"
                 : r == SENSOR_RADIO_NOT_JOINED  ? "not joined"
                 : r == SENSOR_RADIO_TOO_LONG    ? "too long"
                                                 : "error",
                 ctx->retry_at_ms);
        return;
    }
}

/* The earliest time a send may happen (UINT64_MAX: nothing to send, or a frame is in the air). */
static uint64_t next_send_time(const sensor_ctx_t *ctx)
{
    uint64_t t = UINT64_MAX;
    if (ctx->tx_busy) {
        return UINT64_MAX;
    }
    if (ctx->ack_pending || ctx->boot_pending || ctx->status_pending) {
        t = 0u;
    }
    if (ctx->report_pending) {
        t = min_u64(t, report_due(ctx));
    }
    if (t == UINT64_MAX) {
        return t;
    }
    return max_u64(t, ctx->retry_at_ms);
}

static void arm_timer(sensor_ctx_t *ctx)
{
    uint64_t t = ctx->next_heartbeat_ms;
    if (bay_pending(ctx)) {
        t = min_u64(t, bay_debounce_end(ctx));
    }
    t = min_u64(t, next_send_time(ctx));
    ctx->timer_at_ms = t;
    if (ctx->hal.set_timer != NULL) {
        ctx->hal.set_timer(ctx->hal.user, t);
    }
}

/* Everything due at `now`, then the one wake-up. */
static void run(sensor_ctx_t *ctx, uint64_t now)
{
    bay_service(ctx, now);
    heartbeat_service(ctx, now);
    try_send(ctx, now);
    arm_timer(ctx);
}

/* ------------------------------------------------------------------------------------------- public API */

int sensor_provision(sensor_ctx_t *ctx, const sensor_config_t *config)
{
    if (config == NULL || !config_valid(config)) {
        return 0;
    }
    ctx->config = *config;
    ctx->next_heartbeat_ms = hal_now(ctx) + period_ms(ctx);
    storage_save(ctx);
    arm_timer(ctx);
    return 1;
}

uint32_t sensor_config_hash(const sensor_ctx_t *ctx)
{
    return occ_config_hash(ctx->config.interval_s, ctx->config.period_min, ctx->config.debounce_cs,
                           ctx->config.holdoff_s, ctx->config.capacity, ctx->kind);
}

void sensor_init(sensor_ctx_t *ctx, const sensor_hal_t *hal, occ_kind_t kind, const uint8_t dev_eui[8],
                 occ_reset_cause_t cause)
{
    uint64_t now;
    line_t l;
    int loaded;

    memset(ctx, 0, sizeof *ctx);
    if (hal != NULL) {
        ctx->hal = *hal;
    }
    ctx->kind = kind == OCC_KIND_GATE ? (uint8_t)OCC_KIND_GATE : (uint8_t)OCC_KIND_BAY;
    if (dev_eui != NULL) {
        memcpy(ctx->dev_eui, dev_eui, sizeof ctx->dev_eui);
    }
    ctx->reset_cause = (unsigned)cause <= (unsigned)OCC_RESET_UNKNOWN ? (uint8_t)cause : (uint8_t)OCC_RESET_UNKNOWN;
    now = hal_now(ctx);

    default_config(&ctx->config);
    loaded = storage_load(ctx);
    ctx->counters.resets++;
    storage_save(ctx);

    l_init(&l);
    l_str(&l, loaded ? "storage: record loaded" : "storage: no valid record, counters and config reset");
    hal_log(ctx, &l);

    l_init(&l);
    l_str(&l, "OCCUPANCY SENSOR v");
    l_u64(&l, SENSOR_FW_MAJOR);
    l_chr(&l, '.');
    l_u64(&l, SENSOR_FW_MINOR);
    l_chr(&l, '.');
    l_u64(&l, SENSOR_FW_PATCH);
    l_str(&l, " payload format ");
    l_u64(&l, OCC_FORMAT_VERSION);
    emit_line(ctx, &l);
    l_init(&l);
    l_str(&l, ctx->kind == (uint8_t)OCC_KIND_GATE ? "KIND GATE DEVEUI " : "KIND BAY DEVEUI ");
    l_deveui(&l, ctx);
    l_str(&l, " RESET ");
    l_str(&l, RESET_NAMES[ctx->reset_cause]);
    emit_line(ctx, &l);

    ctx->raw_since_ms = now;
    ctx->boot_pending = 1u;
    ctx->next_heartbeat_ms = now + period_ms(ctx);
    run(ctx, now);
}

void sensor_on_detection(sensor_ctx_t *ctx, int raw_occupied)
{
    uint64_t now = hal_now(ctx);
    if (ctx->kind == (uint8_t)OCC_KIND_BAY) {
        bay_service(ctx, now); /* a debounce that ended before this input counts first */
        bay_raw(ctx, raw_occupied, now);
    }
    run(ctx, now);
}

void sensor_on_vehicle(sensor_ctx_t *ctx, int lane, int active)
{
    uint64_t now = hal_now(ctx);
    if (ctx->kind == (uint8_t)OCC_KIND_GATE && (lane == 0 || lane == 1)) {
        unsigned ln = (unsigned)lane;
        if (active && !ctx->lane_active[ln]) {
            ctx->lane_active[ln] = 1u;
            ctx->lane_since_ms[ln] = now;
        } else if (!active && ctx->lane_active[ln]) {
            ctx->lane_active[ln] = 0u;
            gate_pulse(ctx, ln, ctx->lane_since_ms[ln], now, 1);
        }
    }
    run(ctx, now);
}

void sensor_on_timer(sensor_ctx_t *ctx) { run(ctx, hal_now(ctx)); }

void sensor_on_tx_done(sensor_ctx_t *ctx, uint64_t start_ms, uint64_t end_ms)
{
    uint64_t now = hal_now(ctx);
    line_t l;
    ctx->last_tx_start_ms = start_ms;
    ctx->last_tx_end_ms = end_ms;
    ctx->tx_busy = 0u;
    l_init(&l);
    l_str(&l, "+EVT:TX=");
    l_u64(&l, start_ms);
    l_chr(&l, ',');
    l_u64(&l, end_ms);
    emit_line(ctx, &l);
    run(ctx, now);
}

static uint8_t result_of_error(occ_status_t st)
{
    switch (st) {
    case OCC_ERR_UNKNOWN_VERSION:
        return (uint8_t)OCC_RESULT_UNSUPPORTED_VERSION;
    case OCC_ERR_UNKNOWN_TYPE:
        return (uint8_t)OCC_RESULT_UNKNOWN_COMMAND;
    default:
        return (uint8_t)OCC_RESULT_OUT_OF_RANGE;
    }
}

static void reset_counters(sensor_ctx_t *ctx, int changes, int in, int out, int resets)
{
    if (changes) {
        ctx->counters.changes = 0u;
    }
    if (in) {
        ctx->counters.count_in = 0u;
    }
    if (out) {
        ctx->counters.count_out = 0u;
    }
    if (resets) {
        ctx->counters.resets = 0u;
    }
    history_clear(ctx);
}

static void apply_command(sensor_ctx_t *ctx, const occ_message_t *m, uint64_t now)
{
    uint64_t now_s = now / 1000u;
    switch ((occ_type_t)m->type) {
    case OCC_SET_REPORT_INTERVAL:
        ctx->config.interval_s = m->interval_s;
        break;
    case OCC_SET_HEARTBEAT:
        ctx->config.period_min = m->period_min;
        ctx->next_heartbeat_ms = now + period_ms(ctx);
        break;
    case OCC_SET_DEBOUNCE:
        ctx->config.debounce_cs = m->debounce_cs;
        ctx->config.holdoff_s = m->holdoff_s;
        break;
    case OCC_SET_CAPACITY:
        ctx->config.capacity = m->capacity;
        break;
    case OCC_REQUEST_STATUS:
        ctx->status_pending = 1u;
        break;
    case OCC_RESET_COUNTERS:
        reset_counters(ctx, m->reset_changes, m->reset_in, m->reset_out, 0);
        break;
    case OCC_SET_TIME:
        ctx->time_offset_s = (uint64_t)m->unix_time > now_s ? (uint64_t)m->unix_time - now_s : 0u;
        break;
    default:
        break;
    }
}

void sensor_on_downlink(sensor_ctx_t *ctx, uint8_t fport, const uint8_t *data, size_t len)
{
    uint64_t now = hal_now(ctx);
    occ_message_t m;
    occ_status_t st;
    line_t l;

    bay_service(ctx, now);
    if (fport != (uint8_t)OCC_PORT_DOWNLINK) {
        run(ctx, now);
        return;
    }
    if (data == NULL) {
        len = 0u;
    }
    st = occ_decode(fport, data, len, &m);
    if (st == OCC_OK) {
        apply_command(ctx, &m, now);
        storage_save(ctx);
        ctx->ack_seq = m.seq;
        ctx->ack_command = m.type;
        ctx->ack_result = (uint8_t)OCC_RESULT_OK;
    } else {
        ctx->ack_seq = len >= 2u ? data[1] : 0u;
        ctx->ack_command = len >= 1u ? (uint8_t)(data[0] & 0x1Fu) : 0u;
        ctx->ack_result = result_of_error(st);
    }
    ctx->ack_config_hash = sensor_config_hash(ctx);
    ctx->ack_pending = 1u;

    l_init(&l);
    l_str(&l, "+EVT:CMD=");
    l_u64(&l, ctx->ack_command);
    l_chr(&l, ',');
    l_str(&l, RESULT_NAMES[ctx->ack_result & 3u]);
    emit_line(ctx, &l);
    run(ctx, now);
}

/* ------------------------------------------------------------------------------------------- console */

static char upper_ascii(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

/* s[0..n) equals word (given in upper case), ignoring case. */
static int equals_ci(const char *s, size_t n, const char *word)
{
    size_t i;
    for (i = 0u; i < n; i++) {
        if (word[i] == '\0' || upper_ascii(s[i]) != word[i]) {
            return 0;
        }
    }
    return word[n] == '\0';
}

typedef enum {
    CMD_UNKNOWN = 0,
    CMD_VER,
    CMD_DEVEUI,
    CMD_KIND,
    CMD_CFG,
    CMD_COUNT,
    CMD_STATE,
    CMD_DETECT,
    CMD_VEHICLE,
    CMD_PAYLOAD,
    CMD_TXTIME,
    CMD_SEND,
    CMD_RESETCNT
} console_cmd_t;

typedef struct {
    const char *name;
    console_cmd_t cmd;
} console_entry_t;

static const console_entry_t COMMANDS[] = {
    {"VER", CMD_VER},         {"DEVEUI", CMD_DEVEUI},   {"KIND", CMD_KIND},     {"CFG", CMD_CFG},
    {"COUNT", CMD_COUNT},     {"STATE", CMD_STATE},     {"DETECT", CMD_DETECT}, {"VEHICLE", CMD_VEHICLE},
    {"PAYLOAD", CMD_PAYLOAD}, {"TXTIME", CMD_TXTIME},   {"SEND", CMD_SEND},     {"RESETCNT", CMD_RESETCNT},
};

#define ANSWER_OK "OK"
#define ANSWER_ERROR "AT_ERROR"
#define ANSWER_PARAM "AT_PARAM_ERROR"
#define ANSWER_NOT_FOUND "AT_COMMAND_NOT_FOUND"

static void answer_payload(const sensor_ctx_t *ctx)
{
    line_t l;
    size_t i;
    l_init(&l);
    l_str(&l, "ATC+PAYLOAD=");
    if (ctx->last_payload_len == 0u) {
        emit_line(ctx, &l);
        return;
    }
    l_u64(&l, ctx->last_fport);
    l_chr(&l, ':');
    for (i = 0u; i < ctx->last_payload_len; i++) {
        if (i != 0u && i % PAYLOAD_BYTES_PER_LINE == 0u) {
            emit_line(ctx, &l);
            l_init(&l);
        }
        l_hex8(&l, ctx->last_payload[i], HEX_LOWER);
    }
    emit_line(ctx, &l);
}

/* Runs one console command; returns the final answer line. arg: the text after '=' (NULL without '='). */
static const char *console_command(sensor_ctx_t *ctx, console_cmd_t cmd, const char *arg, size_t arg_len,
                                   uint64_t now)
{
    line_t l;
    int query = arg != NULL && arg_len == 1u && arg[0] == '?';
    int is_bay = ctx->kind == (uint8_t)OCC_KIND_BAY;

    l_init(&l);
    switch (cmd) {
    case CMD_VER:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+VER=");
        l_u64(&l, SENSOR_FW_MAJOR);
        l_chr(&l, '.');
        l_u64(&l, SENSOR_FW_MINOR);
        l_chr(&l, '.');
        l_u64(&l, SENSOR_FW_PATCH);
        l_chr(&l, ',');
        l_u64(&l, OCC_FORMAT_VERSION);
        break;
    case CMD_DEVEUI:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+DEVEUI=");
        l_deveui(&l, ctx);
        break;
    case CMD_KIND:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, is_bay ? "ATC+KIND=BAY" : "ATC+KIND=GATE");
        break;
    case CMD_CFG:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+CFG=");
        l_u64(&l, ctx->config.interval_s);
        l_chr(&l, ',');
        l_u64(&l, ctx->config.period_min);
        l_chr(&l, ',');
        l_u64(&l, ctx->config.debounce_cs);
        l_chr(&l, ',');
        l_u64(&l, ctx->config.holdoff_s);
        l_chr(&l, ',');
        l_u64(&l, ctx->config.capacity);
        l_chr(&l, ',');
        l_hex32(&l, sensor_config_hash(ctx));
        break;
    case CMD_COUNT:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+COUNT=");
        l_u64(&l, ctx->counters.changes);
        l_chr(&l, ',');
        l_u64(&l, ctx->counters.count_in);
        l_chr(&l, ',');
        l_u64(&l, ctx->counters.count_out);
        l_chr(&l, ',');
        l_u64(&l, ctx->counters.resets);
        break;
    case CMD_STATE:
        if (!is_bay) {
            return ANSWER_ERROR;
        }
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+STATE=");
        l_u64(&l, ctx->occupied);
        break;
    case CMD_DETECT:
        if (!is_bay) {
            return ANSWER_ERROR;
        }
        if (arg == NULL || arg_len != 1u || (arg[0] != '0' && arg[0] != '1')) {
            return ANSWER_PARAM;
        }
        bay_raw(ctx, arg[0] == '1', now);
        return ANSWER_OK;
    case CMD_VEHICLE:
        if (is_bay) {
            return ANSWER_ERROR;
        }
        if (arg != NULL && (equals_ci(arg, arg_len, "IN") || equals_ci(arg, arg_len, "OUT"))) {
            uint64_t d = debounce_ms(ctx);
            gate_pulse(ctx, equals_ci(arg, arg_len, "IN") ? 0u : 1u, now >= d ? now - d : 0u, now, 0);
            return ANSWER_OK;
        }
        return ANSWER_PARAM;
    case CMD_PAYLOAD:
        if (!query) {
            return ANSWER_PARAM;
        }
        answer_payload(ctx);
        return ANSWER_OK;
    case CMD_TXTIME:
        if (!query) {
            return ANSWER_PARAM;
        }
        l_str(&l, "ATC+TXTIME=");
        l_u64(&l, ctx->last_tx_start_ms);
        l_chr(&l, ',');
        l_u64(&l, ctx->last_tx_end_ms);
        break;
    case CMD_SEND:
        if (arg != NULL && equals_ci(arg, arg_len, "STATE")) {
            ctx->report_pending = 1u;
            ctx->report_forced = 1u;
            return ANSWER_OK;
        }
        if (arg != NULL && equals_ci(arg, arg_len, "STATUS")) {
            ctx->status_pending = 1u;
            return ANSWER_OK;
        }
        return ANSWER_PARAM;
    case CMD_RESETCNT:
        if (arg != NULL) {
            return ANSWER_PARAM;
        }
        reset_counters(ctx, 1, 1, 1, 1);
        storage_save(ctx);
        return ANSWER_OK;
    default:
        return ANSWER_NOT_FOUND;
    }
    emit_line(ctx, &l);
    return ANSWER_OK;
}

void sensor_console_line(sensor_ctx_t *ctx, const char *line)
{
    size_t n, name_len, i;
    const char *name, *arg = NULL, *answer;
    size_t arg_len = 0u;
    console_cmd_t cmd = CMD_UNKNOWN;
    uint64_t now;

    if (line == NULL) {
        return;
    }
    n = strlen(line);
    while (n > 0u && (line[n - 1u] == '\r' || line[n - 1u] == '\n' || line[n - 1u] == ' ' || line[n - 1u] == '\t')) {
        n--;
    }
    if (n < 4u || !equals_ci(line, 4u, "ATC+")) {
        return; /* not ours: RUI3 answers AT+ commands */
    }
    name = line + 4u;
    name_len = 0u;
    while (4u + name_len < n && name[name_len] != '=') {
        name_len++;
    }
    if (4u + name_len < n) {
        arg = name + name_len + 1u;
        arg_len = n - 4u - name_len - 1u;
    }
    for (i = 0u; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (equals_ci(name, name_len, COMMANDS[i].name)) {
            cmd = COMMANDS[i].cmd;
            break;
        }
    }

    now = hal_now(ctx);
    bay_service(ctx, now); /* what became due before this line counts first */
    answer = console_command(ctx, cmd, arg, arg_len, now);
    run(ctx, now);
    hal_console(ctx, answer);
}
