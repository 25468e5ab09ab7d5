/*
 * Self-checking test of the firmware core (src/sensor_core.c, include/sensor_core.h).
 *
 *   test_sensor [seed|time [random_rounds]]    (defaults: time 40)
 *
 * Every test drives the core through a fake HAL on a virtual clock (nothing sleeps): the fake records every
 * radio_send attempt (time, bytes, answer), every console line (with its time), the storage record and the armed
 * timer, and delivers timer expiries and TX-done events in time order. Payloads captured from radio_send are
 * decoded with occ_decode and checked field by field; acks are also checked byte for byte.
 *
 * (a) scenario tests with exact timelines: boot banner and boot message, bay debounce, hold-off, report interval,
 *     gate counting and lane hold-off, heartbeat, every downlink command and its config_ack, malformed downlinks
 *     (PAYLOAD.md 4.5), send priorities, retries on every refusal, receive windows, storage across resets and
 *     damaged records, payload budgets, every console command;
 * (b) two devices driven interleaved give exactly what each gives alone (no shared state);
 * (c) seeded random runs against a per-millisecond reference model of the debounce and gate rules, with radio
 *     refusals at random, plus fuzzed console lines and downlinks; invariants checked after every call.
 *
 * Prints a summary; exits 1 on any failure.
 */
#include "occupancy_codec.h"
#include "sensor_core.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REPORTED_FAILURES 60
#define MAX_LINES 6000u
#define MAX_SENDS 1500u
#define HB_MS 21600000u /* default heartbeat: 360 min */

/* ------------------------------------------------------------------------------------------- checking */

static unsigned long failures = 0;
static unsigned long checks = 0;
static const char *current_test = "";

static void fail_msg(int line, const char *fmt, ...)
{
    va_list ap;
    failures++;
    if (failures <= MAX_REPORTED_FAILURES) {
        printf("FAIL [%s] line %d: ", current_test, line);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    } else if (failures == MAX_REPORTED_FAILURES + 1) {
        printf("(further failures not shown)\n");
    }
}

static int check_(int ok, const char *what, int line)
{
    checks++;
    if (!ok) {
        fail_msg(line, "%s", what);
    }
    return ok;
}

static int check_u_(uint64_t got, uint64_t want, const char *what, int line)
{
    checks++;
    if (got != want) {
        fail_msg(line, "%s: got %llu, expected %llu", what, (unsigned long long)got, (unsigned long long)want);
        return 0;
    }
    return 1;
}

static int check_s_(const char *got, const char *want, const char *what, int line)
{
    checks++;
    if (got == NULL || strcmp(got, want) != 0) {
        fail_msg(line, "%s: got \"%s\", expected \"%s\"", what, got == NULL ? "(none)" : got, want);
        return 0;
    }
    return 1;
}

#define CHECK(c) check_((c) != 0, #c, __LINE__)
#define CHECK_U(a, b) check_u_((uint64_t)(a), (uint64_t)(b), #a, __LINE__)
#define CHECK_S(a, b) check_s_((a), (b), #a, __LINE__)

/* ------------------------------------------------------------------------------------------- fake HAL */

typedef struct {
    uint64_t at;
    uint8_t fport;
    size_t len;
    uint8_t bytes[OCC_MAX_MESSAGE_BYTES];
    sensor_radio_result_t result;
    uint32_t retry_after;
} send_rec_t;

typedef struct {
    uint64_t now;
    /* timer */
    int timer_armed;
    uint64_t timer_at;
    unsigned long timer_sets;
    /* radio */
    int joined;
    uint32_t airtime_ms;
    uint32_t rx_windows_ms;
    uint64_t busy_until;
    int txdone_pending;
    uint64_t txdone_start, txdone_end;
    sensor_radio_result_t script[64];
    uint32_t script_retry[64];
    size_t script_n, script_pos;
    int random_radio;     /* answer at random (random test) */
    uint64_t rng;
    unsigned long send_while_tx, confirmed_sends, attempts;
    size_t budget;
    send_rec_t sends[MAX_SENDS];
    size_t nsends;
    /* sensors */
    uint32_t battery_mv;
    int temp_valid;
    int32_t temp_dc;
    /* storage */
    uint8_t storage[SENSOR_STORAGE_BYTES];
    size_t storage_len;
    unsigned long storage_writes;
    /* console */
    char lines[MAX_LINES][SENSOR_CONSOLE_LINE_MAX];
    uint64_t line_at[MAX_LINES];
    size_t nlines;
    unsigned long lines_total, long_lines;
    unsigned long logs;
} fake_t;

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n) { return n == 0u ? 0u : (uint32_t)(rng_next(s) % n); }

static uint64_t f_now(void *u) { return ((fake_t *)u)->now; }

static void f_set_timer(void *u, uint64_t at)
{
    fake_t *f = (fake_t *)u;
    f->timer_armed = 1;
    f->timer_at = at;
    f->timer_sets++;
}

static sensor_radio_result_t f_send(void *u, uint8_t fport, const uint8_t *data, size_t len, int confirmed,
                                    uint32_t *retry_after)
{
    fake_t *f = (fake_t *)u;
    sensor_radio_result_t r;
    uint32_t ra = 0u;
    f->attempts++;
    if (f->txdone_pending) {
        f->send_while_tx++;
    }
    if (confirmed) {
        f->confirmed_sends++;
    }
    if (f->script_pos < f->script_n) {
        r = f->script[f->script_pos];
        ra = f->script_retry[f->script_pos];
        f->script_pos++;
    } else if (f->random_radio && rng_below(&f->rng, 10u) < 3u) {
        r = (sensor_radio_result_t)(1u + rng_below(&f->rng, 5u));
        ra = rng_below(&f->rng, 3u) * 1500u;
    } else if (!f->joined) {
        r = SENSOR_RADIO_NOT_JOINED;
    } else if (f->now < f->busy_until) {
        r = SENSOR_RADIO_BUSY;
    } else {
        r = SENSOR_RADIO_OK;
    }
    if (r == SENSOR_RADIO_DUTY_CYCLE) {
        *retry_after = ra;
    }
    if (r == SENSOR_RADIO_OK) {
        f->txdone_pending = 1;
        f->txdone_start = f->now;
        f->txdone_end = f->now + f->airtime_ms;
        f->busy_until = f->txdone_end + f->rx_windows_ms;
    }
    if (f->nsends < MAX_SENDS) {
        send_rec_t *s = &f->sends[f->nsends++];
        s->at = f->now;
        s->fport = fport;
        s->len = len;
        memset(s->bytes, 0, sizeof s->bytes);
        if (len <= sizeof s->bytes) {
            memcpy(s->bytes, data, len);
        }
        s->result = r;
        s->retry_after = ra;
    }
    return r;
}

static size_t f_budget(void *u) { return ((fake_t *)u)->budget; }
static uint32_t f_battery(void *u) { return ((fake_t *)u)->battery_mv; }

static int f_temp(void *u, int32_t *dc)
{
    fake_t *f = (fake_t *)u;
    if (!f->temp_valid) {
        return 0;
    }
    *dc = f->temp_dc;
    return 1;
}

static size_t f_storage_read(void *u, uint8_t *buf, size_t cap)
{
    fake_t *f = (fake_t *)u;
    size_t n = f->storage_len < cap ? f->storage_len : cap;
    memcpy(buf, f->storage, n);
    return n;
}

static void f_storage_write(void *u, const uint8_t *buf, size_t len)
{
    fake_t *f = (fake_t *)u;
    f->storage_writes++;
    if (len > sizeof f->storage) {
        len = sizeof f->storage; /* checked separately: the core never writes more than SENSOR_STORAGE_BYTES */
    }
    memcpy(f->storage, buf, len);
    f->storage_len = len;
}

static void f_console(void *u, const char *line)
{
    fake_t *f = (fake_t *)u;
    size_t n = strlen(line);
    f->lines_total++;
    if (n >= SENSOR_CONSOLE_LINE_MAX) {
        f->long_lines++;
        n = SENSOR_CONSOLE_LINE_MAX - 1u;
    }
    if (f->nlines < MAX_LINES) {
        memcpy(f->lines[f->nlines], line, n);
        f->lines[f->nlines][n] = '\0';
        f->line_at[f->nlines] = f->now;
        f->nlines++;
    }
}

static void f_log(void *u, const char *line)
{
    fake_t *f = (fake_t *)u;
    (void)line;
    f->logs++;
}

static fake_t fakes[3];

/* A fresh fake with defaults: joined, airtime 100 ms, no receive windows, budget 51 bytes, battery 3600 mV,
 * temperature 21.5 C, empty storage. */
static fake_t *fake_reset(unsigned which)
{
    fake_t *f = &fakes[which];
    memset(f, 0, sizeof *f);
    f->joined = 1;
    f->airtime_ms = 100u;
    f->budget = 51u;
    f->battery_mv = 3600u;
    f->temp_valid = 1;
    f->temp_dc = 215;
    f->rng = 12345u;
    return f;
}

static sensor_hal_t fake_hal(fake_t *f)
{
    sensor_hal_t h;
    h.user = f;
    h.now_ms = f_now;
    h.set_timer = f_set_timer;
    h.radio_send = f_send;
    h.payload_budget = f_budget;
    h.battery_mv = f_battery;
    h.temperature_dc = f_temp;
    h.storage_read = f_storage_read;
    h.storage_write = f_storage_write;
    h.console_write = f_console;
    h.log = f_log;
    return h;
}

static void script(fake_t *f, sensor_radio_result_t r, uint32_t retry_after)
{
    if (f->script_n < COUNT_OF(f->script)) {
        f->script[f->script_n] = r;
        f->script_retry[f->script_n] = retry_after;
        f->script_n++;
    }
}

/* Invariant after every call into the core: exactly one wake-up is armed, in the future. */
static void after_call(fake_t *f, const sensor_ctx_t *ctx, int line)
{
    checks++;
    if (!f->timer_armed || f->timer_at <= f->now || f->timer_at != ctx->timer_at_ms) {
        fail_msg(line, "timer not armed in the future after a call (armed %d at %llu, now %llu)", f->timer_armed,
                 (unsigned long long)f->timer_at, (unsigned long long)f->now);
    }
}

/* Delivers every TX-done and timer event up to t (in time order; TX-done first at equal times), then sets now=t. */
static void advance(fake_t *f, sensor_ctx_t *ctx, uint64_t t)
{
    unsigned long guard = 0;
    for (;;) {
        uint64_t next = UINT64_MAX;
        int which = 0;
        if (f->txdone_pending) {
            next = f->txdone_end;
            which = 1;
        }
        if (f->timer_armed) {
            uint64_t ta = f->timer_at > f->now ? f->timer_at : f->now;
            if (ta < next) {
                next = ta;
                which = 2;
            }
        }
        if (which == 0 || next > t) {
            break;
        }
        if (++guard > 200000ul) {
            fail_msg(__LINE__, "the core keeps waking up at %llu: stopped", (unsigned long long)f->timer_at);
            printf("%lu checks, %lu failures: FAIL\n", checks, failures);
            exit(1);
        }
        if (next > f->now) {
            f->now = next;
        }
        if (which == 1) {
            f->txdone_pending = 0;
            sensor_on_tx_done(ctx, f->txdone_start, f->txdone_end);
        } else {
            f->timer_armed = 0;
            sensor_on_timer(ctx);
        }
        after_call(f, ctx, __LINE__);
    }
    if (t > f->now) {
        f->now = t;
    }
}

static void boot_dev(fake_t *f, sensor_ctx_t *ctx, occ_kind_t kind, const uint8_t eui[8], occ_reset_cause_t cause)
{
    sensor_hal_t h = fake_hal(f);
    sensor_init(ctx, &h, kind, eui, cause);
    after_call(f, ctx, __LINE__);
}

static void det(fake_t *f, sensor_ctx_t *ctx, uint64_t t, int raw)
{
    advance(f, ctx, t);
    sensor_on_detection(ctx, raw);
    after_call(f, ctx, __LINE__);
}

static void veh(fake_t *f, sensor_ctx_t *ctx, uint64_t t, int lane, int active)
{
    advance(f, ctx, t);
    sensor_on_vehicle(ctx, lane, active);
    after_call(f, ctx, __LINE__);
}

static void dl(fake_t *f, sensor_ctx_t *ctx, uint64_t t, uint8_t fport, const uint8_t *data, size_t len)
{
    advance(f, ctx, t);
    sensor_on_downlink(ctx, fport, data, len);
    after_call(f, ctx, __LINE__);
}

/* Types a console line at the current time; returns the index of the first line of the answer. */
static size_t con(fake_t *f, sensor_ctx_t *ctx, const char *line)
{
    size_t first = f->nlines;
    sensor_console_line(ctx, line);
    after_call(f, ctx, __LINE__);
    return first;
}

/* The console lines from index `first` on are exactly `want`. */
static void expect_lines_(fake_t *f, size_t first, const char *const *want, size_t n, int line)
{
    size_t i;
    checks++;
    if (f->nlines - first != n) {
        fail_msg(line, "%u console lines, expected %u", (unsigned)(f->nlines - first), (unsigned)n);
        for (i = first; i < f->nlines && i < first + 8u; i++) {
            printf("    got: \"%s\"\n", f->lines[i]);
        }
        return;
    }
    for (i = 0; i < n; i++) {
        check_s_(f->lines[first + i], want[i], "console line", line);
    }
}

#define EXPECT_LINES(f, first, ...)                                                                                \
    expect_lines_((f), (first), (const char *const[]){__VA_ARGS__},                                                \
                  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), __LINE__)

/* Index of the console line equal to s at or after `from` (or SIZE_MAX). */
static size_t find_line(const fake_t *f, size_t from, const char *s)
{
    size_t i;
    for (i = from; i < f->nlines; i++) {
        if (strcmp(f->lines[i], s) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t count_prefix(const fake_t *f, size_t from, const char *prefix)
{
    size_t i, n = 0, pl = strlen(prefix);
    for (i = from; i < f->nlines; i++) {
        if (strncmp(f->lines[i], prefix, pl) == 0) {
            n++;
        }
    }
    return n;
}

/* The n-th (0-based) send attempt accepted by the radio, or NULL. */
static const send_rec_t *nth_ok(const fake_t *f, size_t n)
{
    size_t i;
    for (i = 0; i < f->nsends; i++) {
        if (f->sends[i].result == SENSOR_RADIO_OK) {
            if (n == 0u) {
                return &f->sends[i];
            }
            n--;
        }
    }
    return NULL;
}

static size_t count_ok(const fake_t *f)
{
    size_t i, n = 0;
    for (i = 0; i < f->nsends; i++) {
        n += f->sends[i].result == SENSOR_RADIO_OK;
    }
    return n;
}

static const send_rec_t *last_ok(const fake_t *f)
{
    size_t n = count_ok(f);
    return n == 0u ? NULL : nth_ok(f, n - 1u);
}

/* Decodes a captured uplink: FPort 10, OCC_OK. Returns 1 on success (m zeroed otherwise). */
static int decode_rec_(const send_rec_t *s, occ_message_t *m, int line)
{
    occ_status_t st;
    memset(m, 0, sizeof *m);
    checks++;
    if (s == NULL) {
        fail_msg(line, "no such send");
        return 0;
    }
    if (s->fport != OCC_PORT_UPLINK) {
        fail_msg(line, "uplink on fport %u", s->fport);
        return 0;
    }
    st = occ_decode(s->fport, s->bytes, s->len, m);
    if (st != OCC_OK) {
        fail_msg(line, "captured uplink does not decode: %s", occ_status_name(st));
        return 0;
    }
    return 1;
}

#define DECODE(s, m) decode_rec_((s), (m), __LINE__)

static void hex_of(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    static const char hx[] = "0123456789abcdef";
    for (i = 0; i < n && o + 2u < cap; i++) {
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15u];
    }
    out[o] = '\0';
}

/* The exact bytes of a config_ack (PAYLOAD.md 4.5), built here independently of the encoder. */
static void expect_ack_(const send_rec_t *s, uint8_t seq, uint8_t command, uint8_t result, uint32_t hash, int line)
{
    uint8_t want[7];
    char gh[40], wh[40];
    want[0] = (uint8_t)((1u << 5) | 5u);
    want[1] = seq;
    want[2] = (uint8_t)((unsigned)(command << 3) | result);
    want[3] = (uint8_t)(hash >> 24);
    want[4] = (uint8_t)(hash >> 16);
    want[5] = (uint8_t)(hash >> 8);
    want[6] = (uint8_t)hash;
    checks++;
    if (s == NULL) {
        fail_msg(line, "no config_ack sent");
        return;
    }
    hex_of(s->bytes, s->len, gh, sizeof gh);
    hex_of(want, sizeof want, wh, sizeof wh);
    if (s->fport != 10u || s->len != 7u || memcmp(s->bytes, want, 7u) != 0) {
        fail_msg(line, "config_ack bytes %s (fport %u), expected %s", gh, s->fport, wh);
    }
}

#define EXPECT_ACK(s, seq, cmd, res, hash) expect_ack_((s), (seq), (cmd), (res), (hash), __LINE__)

static const uint8_t EUI[8] = {0x70, 0xB3, 0xD5, 0x7E, 0xD0, 0x00, 0x12, 0x34};
static const uint8_t EUI2[8] = {0x00, 0x04, 0xA3, 0x0B, 0x00, 0xFF, 0xEE, 0x01};

static uint32_t hash_of(uint32_t interval_s, uint32_t period_min, uint32_t debounce_cs, uint32_t holdoff_s,
                        uint32_t capacity, occ_kind_t kind)
{
    return occ_config_hash(interval_s, period_min, debounce_cs, holdoff_s, capacity, (uint8_t)kind);
}

/* ------------------------------------------------------------------------------------------- (a) scenarios */

static void test_boot(void)
{
    static sensor_ctx_t ctx;
    fake_t *f;
    occ_message_t m;
    size_t i;
    static const char *const causes[8] = {"power_on", "brown_out", "watchdog", "software",
                                          "external_pin", "lockup", "low_power", "unknown"};
    char want[80];

    current_test = "boot";
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    EXPECT_LINES(f, 0, "OCCUPANCY SENSOR v1.0.0 payload format 1", "KIND BAY DEVEUI 70B3D57ED0001234 RESET power_on");
    CHECK_U(f->nsends, 1);
    CHECK_U(f->sends[0].at, 0);
    CHECK_U(f->sends[0].len, 8);
    CHECK_U(f->confirmed_sends, 0);
    if (DECODE(&f->sends[0], &m)) {
        CHECK_U(m.type, OCC_BOOT);
        CHECK_U(m.kind, OCC_KIND_BAY);
        CHECK_U(m.fw_major, 1);
        CHECK_U(m.fw_minor, 0);
        CHECK_U(m.fw_patch, 0);
        CHECK_U(m.reset_cause, OCC_RESET_POWER_ON);
        CHECK_U(m.config_hash, 0x9e193f57u); /* PAYLOAD.md section 6 */
    }
    CHECK_U(f->storage_writes, 1);
    CHECK_U(ctx.counters.resets, 1);
    CHECK_U(ctx.uplinks, 1);
    CHECK_U(ctx.last_fport, 10);
    CHECK_U(ctx.last_payload_len, 8);
    CHECK(memcmp(ctx.last_payload, f->sends[0].bytes, 8) == 0);
    CHECK_U(f->timer_at, HB_MS); /* TX in the air: only the heartbeat is ahead */
    advance(f, &ctx, 100);
    EXPECT_LINES(f, 2, "+EVT:TX=0,100");
    CHECK_U(f->line_at[2], 100);
    CHECK_U(ctx.last_tx_start_ms, 0);
    CHECK_U(ctx.last_tx_end_ms, 100);
    CHECK_U(f->timer_at, HB_MS);
    CHECK_U(f->nsends, 1);

    /* a gate counter, started later on the clock, by the watchdog; every reset cause name */
    for (i = 0; i < 9u; i++) {
        f = fake_reset(0);
        f->now = 5000u + i;
        boot_dev(f, &ctx, i % 2u ? OCC_KIND_GATE : OCC_KIND_BAY, EUI2, (occ_reset_cause_t)i);
        snprintf(want, sizeof want, "KIND %s DEVEUI 0004A30B00FFEE01 RESET %s", i % 2u ? "GATE" : "BAY",
                 causes[i < 8u ? i : 7u]);
        CHECK_S(f->lines[1], want);
        if (DECODE(&f->sends[0], &m)) {
            CHECK_U(m.reset_cause, i < 8u ? i : 7u);
            CHECK_U(m.kind, i % 2u);
            CHECK_U(m.config_hash, hash_of(60, 360, 50, 5, 100, i % 2u ? OCC_KIND_GATE : OCC_KIND_BAY));
        }
        CHECK_U(f->sends[0].at, 5000u + i);
        CHECK_U(f->timer_at, 5000u + i + HB_MS);
    }
}

static void test_bay_debounce(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    size_t mark;
    current_test = "bay debounce";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);

    /* a 300 ms blip is ignored (debounce 50 cs) */
    det(f, &ctx, 10000, 1);
    CHECK_U(f->timer_at, 10500);
    det(f, &ctx, 10300, 0);
    CHECK_U(f->timer_at, HB_MS);
    advance(f, &ctx, 20000);
    CHECK_U(count_prefix(f, 0, "+EVT:OCC"), 0);
    CHECK_U(ctx.counters.changes, 0);
    CHECK_U(ctx.occupied, 0);
    CHECK_U(f->nsends, 1);
    /* a 499 ms blip too */
    det(f, &ctx, 20000, 1);
    det(f, &ctx, 20499, 0);
    advance(f, &ctx, 20900);
    CHECK_U(ctx.counters.changes, 0);

    /* held 500 ms: accepted at exactly raw + 500 ms, recorded with the raw time */
    mark = f->nlines;
    det(f, &ctx, 20900, 1);
    CHECK_U(f->timer_at, 21400);
    det(f, &ctx, 21000, 1); /* the same raw value again changes nothing */
    CHECK_U(f->timer_at, 21400);
    advance(f, &ctx, 21399);
    CHECK_U(ctx.counters.changes, 0);
    CHECK_U(f->nlines, mark);
    advance(f, &ctx, 21400);
    EXPECT_LINES(f, mark, "+EVT:OCC=1,1");
    CHECK_U(f->line_at[mark], 21400);
    CHECK_U(ctx.occupied, 1);
    CHECK_U(ctx.counters.changes, 1);
    CHECK_U(ctx.history_len, 1);
    CHECK_U(ctx.history[0].at_s, 20);
    CHECK_U(ctx.holdoff_until_ms, 26400);
    CHECK_U(f->storage_writes, 2);
    CHECK_U(f->nsends, 2);
    CHECK_U(f->sends[1].at, 21400);
    if (DECODE(&f->sends[1], &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.occupied, 1);
        CHECK_U(m.changes, 1);
        CHECK_U(m.history_len, 1);
        CHECK_U(m.history[0].age_s, 1); /* now_s 21 - at_s 20 */
        CHECK_U(m.history[0].change, 1);
        CHECK_U(m.history[0].occupied, 1);
    }
    CHECK_U(ctx.last_report_ms, 21400);
    mark = con(f, &ctx, "ATC+STATE=?");
    EXPECT_LINES(f, mark, "ATC+STATE=1", "OK");
}

static void test_holdoff(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    current_test = "hold-off";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);

    det(f, &ctx, 1000, 1);
    advance(f, &ctx, 1500);
    CHECK_U(ctx.counters.changes, 1);
    CHECK_U(ctx.holdoff_until_ms, 6500);
    CHECK_U(f->sends[1].at, 1500); /* the first report goes at once */
    /* a change inside the hold-off: its debounce starts at the hold-off end */
    det(f, &ctx, 3000, 0);
    CHECK_U(f->timer_at, 7000);
    advance(f, &ctx, 6999);
    CHECK_U(ctx.counters.changes, 1);
    advance(f, &ctx, 7000);
    CHECK_U(ctx.counters.changes, 2);
    CHECK_U(ctx.occupied, 0);
    CHECK_U(ctx.history[1].at_s, 6); /* the start of the debounce period: 6500 ms */
    CHECK(find_line(f, 0, "+EVT:OCC=0,2") != SIZE_MAX);
    CHECK_U(ctx.holdoff_until_ms, 12000);
    /* raw toggles inside the hold-off: cancelled, then restarted; the debounce still starts at 12000 */
    det(f, &ctx, 8000, 1);
    CHECK_U(f->timer_at, 12500);
    det(f, &ctx, 9000, 0);
    CHECK_U(f->timer_at, 61500); /* nothing pending but the report, due at 1500 + 60 s */
    det(f, &ctx, 10000, 1);
    CHECK_U(f->timer_at, 12500);
    advance(f, &ctx, 12500);
    CHECK_U(ctx.counters.changes, 3);
    CHECK_U(ctx.history[2].at_s, 12);
    CHECK_U(f->nsends, 2);
    advance(f, &ctx, 61499);
    CHECK_U(f->nsends, 2);
    advance(f, &ctx, 61500);
    CHECK_U(f->nsends, 3);
    CHECK_U(f->sends[2].at, 61500);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.occupied, 1);
        CHECK_U(m.changes, 3);
        CHECK_U(m.history_len, 3);
        CHECK_U(m.history[0].age_s, 49);
        CHECK_U(m.history[1].age_s, 55);
        CHECK_U(m.history[2].age_s, 60);
        CHECK_U(m.history[0].occupied, 1);
        CHECK_U(m.history[1].occupied, 0);
        CHECK_U(m.history[2].occupied, 1);
        CHECK_U(m.history[2].change, 1);
    }
}

static void test_report_interval(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    current_test = "report interval";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    det(f, &ctx, 100000, 1);
    advance(f, &ctx, 100500);
    CHECK_U(f->nsends, 2);
    CHECK_U(f->sends[1].at, 100500);
    det(f, &ctx, 110000, 0);
    advance(f, &ctx, 110500);
    CHECK_U(ctx.counters.changes, 2);
    CHECK_U(f->nsends, 2);
    CHECK_U(f->timer_at, 160500);
    advance(f, &ctx, 160499);
    CHECK_U(f->nsends, 2);
    advance(f, &ctx, 160500);
    CHECK_U(f->nsends, 3);
    CHECK_U(f->sends[2].at, 160500);
    CHECK_U(ctx.last_report_ms, 160500);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.occupied, 0);
        CHECK_U(m.changes, 2);
        CHECK_U(m.history_len, 2);
        CHECK_U(m.history[0].change, 2);
        CHECK_U(m.history[0].age_s, 50);
        CHECK_U(m.history[0].occupied, 0);
        CHECK_U(m.history[1].change, 1);
        CHECK_U(m.history[1].age_s, 60);
        CHECK_U(m.history[1].occupied, 1);
    }
    /* a later change after a quiet period goes at once (the interval has passed) */
    det(f, &ctx, 300000, 1);
    advance(f, &ctx, 300500);
    CHECK_U(f->nsends, 4);
    CHECK_U(f->sends[3].at, 300500);
}

static void test_gate(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    size_t mark;
    current_test = "gate counting";
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);

    veh(f, &ctx, 1000, 0, 1);
    veh(f, &ctx, 1300, 0, 0); /* 300 ms: too short */
    CHECK_U(ctx.counters.count_in, 0);
    veh(f, &ctx, 1400, 0, 1);
    veh(f, &ctx, 1899, 0, 0); /* 499 ms: too short */
    CHECK_U(ctx.counters.count_in, 0);
    mark = f->nlines;
    veh(f, &ctx, 2000, 0, 1);
    veh(f, &ctx, 2500, 0, 0); /* 500 ms: counted at the end */
    EXPECT_LINES(f, mark, "+EVT:GATE=IN,1,0");
    CHECK_U(f->line_at[mark], 2500);
    CHECK_U(ctx.counters.count_in, 1);
    CHECK_U(ctx.lane_holdoff_until_ms[0], 7500);
    CHECK_U(f->nsends, 2);
    CHECK_U(f->sends[1].at, 2500);
    if (DECODE(&f->sends[1], &m)) {
        CHECK_U(m.type, OCC_GATE_COUNTS);
        CHECK_U(m.count_in, 1);
        CHECK_U(m.count_out, 0);
        CHECK_U(m.history_len, 0); /* no earlier report */
    }
    CHECK_U(ctx.history_len, 1);
    CHECK_U(ctx.history[0].at_s, 2);

    veh(f, &ctx, 4000, 0, 1);
    veh(f, &ctx, 4000, 1, 1);
    veh(f, &ctx, 4600, 1, 0); /* lane 1 has its own hold-off: counted */
    CHECK_U(ctx.counters.count_out, 1);
    CHECK(find_line(f, mark, "+EVT:GATE=OUT,1,1") != SIZE_MAX);
    veh(f, &ctx, 6000, 0, 0); /* started at 4000, inside lane 0's hold-off (until 7500): not counted */
    CHECK_U(ctx.counters.count_in, 1);
    veh(f, &ctx, 7500, 0, 1); /* starts exactly at the hold-off end */
    veh(f, &ctx, 8000, 0, 0);
    CHECK_U(ctx.counters.count_in, 2);
    CHECK(find_line(f, mark, "+EVT:GATE=IN,2,1") != SIZE_MAX);
    veh(f, &ctx, 9599, 1, 1); /* lane 1 hold-off until 9600: one ms early */
    veh(f, &ctx, 10500, 1, 0);
    CHECK_U(ctx.counters.count_out, 1);
    CHECK_U(f->nsends, 2);
    CHECK_U(f->timer_at, 62500);
    advance(f, &ctx, 62500);
    CHECK_U(f->nsends, 3);
    CHECK_U(f->sends[2].at, 62500);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_GATE_COUNTS);
        CHECK_U(m.count_in, 2);
        CHECK_U(m.count_out, 1);
        CHECK_U(m.history_len, 1);
        CHECK_U(m.history[0].age_s, 60);
        CHECK_U(m.history[0].count_in, 1);
        CHECK_U(m.history[0].count_out, 0);
    }
    /* a repeated start keeps the first start; an end without a start, or another lane, is ignored */
    veh(f, &ctx, 70000, 0, 1);
    veh(f, &ctx, 70400, 0, 1);
    veh(f, &ctx, 70500, 0, 0);
    CHECK_U(ctx.counters.count_in, 3);
    veh(f, &ctx, 71000, 1, 0);
    veh(f, &ctx, 71000, 2, 1);
    veh(f, &ctx, 72000, 2, 0);
    veh(f, &ctx, 72000, -1, 1);
    veh(f, &ctx, 73000, -1, 0);
    CHECK_U(ctx.counters.count_out, 1);
    CHECK_U(ctx.counters.count_in, 3);
    sensor_on_detection(&ctx, 1); /* a gate has no bay input */
    after_call(f, &ctx, __LINE__);
    advance(f, &ctx, 80000);
    CHECK_U(ctx.counters.changes, 0);
    advance(f, &ctx, 122500);
    CHECK_U(f->nsends, 4);
    CHECK_U(f->sends[3].at, 122500);
    if (DECODE(&f->sends[3], &m)) {
        CHECK_U(m.count_in, 3);
        CHECK_U(m.count_out, 1);
        CHECK_U(m.history_len, 2);
        CHECK_U(m.history[0].age_s, 60);
        CHECK_U(m.history[0].count_in, 2);
        CHECK_U(m.history[0].count_out, 1);
        CHECK_U(m.history[1].age_s, 120);
        CHECK_U(m.history[1].count_in, 1);
        CHECK_U(m.history[1].count_out, 0);
    }
    /* a bay sensor has no vehicle input */
    f = fake_reset(1);
    {
        static sensor_ctx_t bay;
        boot_dev(f, &bay, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
        veh(f, &bay, 1000, 0, 1);
        veh(f, &bay, 2000, 0, 0);
        CHECK_U(bay.counters.count_in, 0);
        CHECK_U(count_prefix(f, 0, "+EVT:GATE"), 0);
    }
}

static void test_heartbeat(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    current_test = "heartbeat";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    det(f, &ctx, 1000, 1);
    advance(f, &ctx, HB_MS - 1u);
    CHECK_U(f->nsends, 2);
    advance(f, &ctx, HB_MS);
    CHECK_U(f->nsends, 3);
    CHECK_U(f->sends[2].at, HB_MS);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.kind, OCC_KIND_BAY);
        CHECK_U(m.has_battery, 1);
        CHECK_U(m.battery_mv, 3600);
        CHECK_U(m.has_temperature, 1);
        CHECK_U(m.temperature_dc, 215);
        CHECK_U(m.uptime_min, 360);
        CHECK_U(m.resets, 1);
        CHECK_U(m.occupied, 1);
        CHECK_U(m.changes, 1);
    }
    CHECK_U(f->timer_at, 2u * HB_MS);
    f->battery_mv = 0u;
    f->temp_valid = 0;
    advance(f, &ctx, 2u * HB_MS);
    CHECK_U(f->nsends, 4);
    CHECK_U(f->sends[3].at, 2u * HB_MS);
    if (DECODE(&f->sends[3], &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.has_battery, 0);
        CHECK_U(m.has_temperature, 0);
        CHECK_U(m.uptime_min, 720);
    }
    f->battery_mv = 3305u; /* floors to 3300 */
    f->temp_valid = 1;
    f->temp_dc = -35;
    advance(f, &ctx, 3u * HB_MS);
    CHECK_U(f->sends[4].at, 3u * HB_MS);
    if (DECODE(&f->sends[4], &m)) {
        CHECK_U(m.battery_mv, 3300);
        CHECK_U(m.temperature_dc, -35);
        CHECK_U(m.uptime_min, 1080);
    }

    /* a gate counter's status carries in/out */
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_SOFTWARE);
    veh(f, &ctx, 1000, 1, 1);
    veh(f, &ctx, 2000, 1, 0);
    advance(f, &ctx, HB_MS);
    CHECK_U(f->nsends, 3);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.kind, OCC_KIND_GATE);
        CHECK_U(m.count_in, 0);
        CHECK_U(m.count_out, 1);
        CHECK_U(m.uptime_min, 360);
    }
}

static void test_downlinks(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    size_t mark;
    unsigned long writes;
    static const uint8_t set_interval[] = {0x30, 0x01, 0x01, 0x2c}; /* PAYLOAD.md section 9: 300 s */
    static const uint8_t set_heartbeat[] = {0x31, 0x02, 0x00, 0x0a};
    static const uint8_t set_debounce[] = {0x32, 0x03, 0x01, 0x40, 0x02}; /* 20 cs, 2 s */
    static const uint8_t set_capacity[] = {0x33, 0x04, 0x00, 0x78};       /* 120 */
    static const uint8_t request_status[] = {0x34, 0x05};
    static const uint8_t reset_changes[] = {0x35, 0x06, 0x80};
    uint8_t set_time[6] = {0x36, 0x07, 0, 0, 0, 0};
    const uint32_t unix_time = 1795000000u;

    current_test = "downlinks";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    advance(f, &ctx, 1000);

    /* set_report_interval */
    writes = f->storage_writes;
    mark = f->nlines;
    dl(f, &ctx, 5000, 11, set_interval, sizeof set_interval);
    EXPECT_LINES(f, mark, "+EVT:CMD=16,ok");
    CHECK_U(ctx.config.interval_s, 300);
    CHECK_U(f->storage_writes, writes + 1u);
    CHECK_U(last_ok(f)->at, 5000);
    EXPECT_ACK(last_ok(f), 1, 16, 0, hash_of(300, 360, 50, 5, 100, OCC_KIND_BAY));
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.type, OCC_CONFIG_ACK);
        CHECK_U(m.seq, 1);
        CHECK_U(m.command, 16);
        CHECK_U(m.result, OCC_RESULT_OK);
        CHECK_U(m.config_hash, sensor_config_hash(&ctx));
    }
    advance(f, &ctx, 6000);
    mark = con(f, &ctx, "ATC+CFG=?");
    {
        char want[80];
        snprintf(want, sizeof want, "ATC+CFG=300,360,50,5,100,%08lx",
                 (unsigned long)hash_of(300, 360, 50, 5, 100, OCC_KIND_BAY));
        EXPECT_LINES(f, mark, want, "OK");
    }

    /* set_heartbeat: the next heartbeat is now + the new period */
    dl(f, &ctx, 10000, 11, set_heartbeat, sizeof set_heartbeat);
    CHECK_U(ctx.config.period_min, 10);
    CHECK_U(ctx.next_heartbeat_ms, 610000);
    EXPECT_ACK(last_ok(f), 2, 17, 0, hash_of(300, 10, 50, 5, 100, OCC_KIND_BAY));

    /* set_debounce: 200 ms debounce, 2 s hold-off */
    dl(f, &ctx, 20000, 11, set_debounce, sizeof set_debounce);
    CHECK_U(ctx.config.debounce_cs, 20);
    CHECK_U(ctx.config.holdoff_s, 2);
    EXPECT_ACK(last_ok(f), 3, 18, 0, hash_of(300, 10, 20, 2, 100, OCC_KIND_BAY));
    det(f, &ctx, 30000, 1);
    CHECK_U(f->timer_at, 30200);
    advance(f, &ctx, 30200);
    CHECK_U(ctx.counters.changes, 1);
    CHECK_U(last_ok(f)->at, 30200); /* first state report: at once */
    det(f, &ctx, 31000, 0);
    CHECK_U(f->timer_at, 32400); /* hold-off ends at 32200 */
    advance(f, &ctx, 32400);
    CHECK_U(ctx.counters.changes, 2);

    /* set_capacity */
    dl(f, &ctx, 40000, 11, set_capacity, sizeof set_capacity);
    CHECK_U(ctx.config.capacity, 120);
    EXPECT_ACK(last_ok(f), 4, 19, 0, hash_of(300, 10, 20, 2, 120, OCC_KIND_BAY));
    advance(f, &ctx, 41000);
    mark = con(f, &ctx, "ATC+CFG=?");
    {
        char want[80];
        snprintf(want, sizeof want, "ATC+CFG=300,10,20,2,120,%08lx",
                 (unsigned long)hash_of(300, 10, 20, 2, 120, OCC_KIND_BAY));
        EXPECT_LINES(f, mark, want, "OK");
    }

    /* request_status: the ack first, then the status when the radio is free again */
    dl(f, &ctx, 50000, 11, request_status, sizeof request_status);
    EXPECT_ACK(last_ok(f), 5, 20, 0, hash_of(300, 10, 20, 2, 120, OCC_KIND_BAY));
    CHECK_U(last_ok(f)->at, 50000);
    advance(f, &ctx, 50100);
    CHECK_U(last_ok(f)->at, 50100);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.changes, 2);
        CHECK_U(m.uptime_min, 0);
    }

    /* reset_counters (changes only): counters and history zeroed */
    dl(f, &ctx, 60000, 11, reset_changes, sizeof reset_changes);
    EXPECT_ACK(last_ok(f), 6, 21, 0, hash_of(300, 10, 20, 2, 120, OCC_KIND_BAY));
    CHECK_U(ctx.counters.changes, 0);
    CHECK_U(ctx.counters.resets, 1);
    CHECK_U(ctx.history_len, 0);
    advance(f, &ctx, 61000);
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=0,0,0,1", "OK");

    /* set_time */
    set_time[2] = (uint8_t)(unix_time >> 24);
    set_time[3] = (uint8_t)(unix_time >> 16);
    set_time[4] = (uint8_t)(unix_time >> 8);
    set_time[5] = (uint8_t)unix_time;
    dl(f, &ctx, 70000, 11, set_time, sizeof set_time);
    CHECK_U(ctx.time_offset_s, unix_time - 70u);
    EXPECT_ACK(last_ok(f), 7, 22, 0, hash_of(300, 10, 20, 2, 120, OCC_KIND_BAY));
    CHECK(find_line(f, 0, "+EVT:CMD=22,ok") != SIZE_MAX);

    /* the pending report (second change at 32400, interval now 300 s) goes at 30200 + 300 s, after the reset */
    advance(f, &ctx, 330199);
    CHECK_U(f->sends[f->nsends - 1u].at, 70000);
    advance(f, &ctx, 330200);
    CHECK_U(last_ok(f)->at, 330200);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.changes, 0);
        CHECK_U(m.occupied, 0);
        CHECK_U(m.history_len, 0);
    }
    /* the heartbeat set at 10000 with 10 min: 610000, then every 10 min */
    advance(f, &ctx, 609999);
    CHECK(last_ok(f)->at == 330200);
    advance(f, &ctx, 610000);
    CHECK_U(last_ok(f)->at, 610000);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.type, OCC_STATUS);
    }
    CHECK_U(f->timer_at, 1210000);

    /* other FPorts are ignored */
    advance(f, &ctx, 700000);
    writes = f->storage_writes;
    mark = f->nlines;
    dl(f, &ctx, 700000, 12, set_capacity, sizeof set_capacity);
    dl(f, &ctx, 700001, 10, set_capacity, sizeof set_capacity);
    advance(f, &ctx, 710000);
    CHECK_U(f->nlines, mark);
    CHECK_U(f->storage_writes, writes);
    CHECK_U(last_ok(f)->at, 610000);
    CHECK_U(ctx.ack_pending, 0);

    /* a gate counter: reset_counters of `in` only */
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);
    veh(f, &ctx, 1000, 0, 1);
    veh(f, &ctx, 2000, 0, 0);
    veh(f, &ctx, 1000 + 2000, 1, 1);
    veh(f, &ctx, 4000, 1, 0);
    CHECK_U(ctx.counters.count_in, 1);
    CHECK_U(ctx.counters.count_out, 1);
    {
        static const uint8_t reset_in[] = {0x35, 0x08, 0x40};
        static const uint8_t reset_all[] = {0x35, 0x09, 0xE0};
        dl(f, &ctx, 10000, 11, reset_in, sizeof reset_in);
        CHECK_U(ctx.counters.count_in, 0);
        CHECK_U(ctx.counters.count_out, 1);
        CHECK_U(ctx.history_len, 0);
        EXPECT_ACK(last_ok(f), 8, 21, 0, hash_of(60, 360, 50, 5, 100, OCC_KIND_GATE));
        dl(f, &ctx, 20000, 11, reset_all, sizeof reset_all);
        CHECK_U(ctx.counters.count_out, 0);
        CHECK_U(ctx.counters.resets, 1);
    }
}

static void test_bad_downlinks(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    size_t i;
    const uint32_t h = 0x9e193f57u;
    struct {
        const char *note;
        uint8_t bytes[8];
        size_t len;
        uint8_t seq, command, result;
        const char *event;
    } cases[] = {
        {"version 2", {0x50, 0x09, 0x01, 0x2c}, 4, 9, 16, 3, "+EVT:CMD=16,unsupported_version"},
        {"version 0", {0x10, 0x0d}, 2, 13, 16, 3, "+EVT:CMD=16,unsupported_version"},
        {"unknown type 31", {0x3F, 0x0A}, 2, 10, 31, 2, "+EVT:CMD=31,unknown_command"},
        {"uplink type on port 11", {0x21, 0x0B, 0x80, 0x28, 0x00}, 5, 11, 1, 2, "+EVT:CMD=1,unknown_command"},
        {"truncated", {0x30, 0x07}, 2, 7, 16, 1, "+EVT:CMD=16,out_of_range"},
        {"interval out of range", {0x30, 0x08, 0x00, 0x05}, 4, 8, 16, 1, "+EVT:CMD=16,out_of_range"},
        {"heartbeat 0", {0x31, 0x0E, 0x00, 0x00}, 4, 14, 17, 1, "+EVT:CMD=17,out_of_range"},
        {"capacity 0", {0x33, 0x0F, 0x00, 0x00}, 4, 15, 19, 1, "+EVT:CMD=19,out_of_range"},
        {"reserved bits", {0x35, 0x0C, 0x81}, 3, 12, 21, 1, "+EVT:CMD=21,out_of_range"},
        {"set_debounce + 1 byte", {0x32, 0x10, 0x01, 0x40, 0x02, 0x00}, 6, 16, 18, 1, "+EVT:CMD=18,out_of_range"},
        {"trailing byte", {0x30, 0x11, 0x01, 0x2c, 0x00}, 5, 17, 16, 1, "+EVT:CMD=16,out_of_range"},
        {"one byte", {0x30}, 1, 0, 16, 1, "+EVT:CMD=16,out_of_range"},
        {"empty", {0}, 0, 0, 0, 1, "+EVT:CMD=0,out_of_range"},
    };
    current_test = "malformed downlinks";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    for (i = 0; i < COUNT_OF(cases); i++) {
        uint64_t t = 10000u * (i + 1u);
        size_t mark;
        unsigned long writes;
        advance(f, &ctx, t);
        mark = f->nlines;
        writes = f->storage_writes;
        dl(f, &ctx, t, 11, cases[i].bytes, cases[i].len);
        current_test = cases[i].note;
        EXPECT_LINES(f, mark, cases[i].event);
        CHECK_U(last_ok(f)->at, t);
        EXPECT_ACK(last_ok(f), cases[i].seq, cases[i].command, cases[i].result, h);
        CHECK_U(f->storage_writes, writes);
        CHECK_U(sensor_config_hash(&ctx), h);
    }
    current_test = "malformed downlinks";
    /* NULL data is an empty downlink */
    dl(f, &ctx, 500000, 11, NULL, 3);
    EXPECT_ACK(last_ok(f), 0, 0, 1, h);
}

static void test_priorities(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    static const uint8_t request_status[] = {0x34, 0x21};
    current_test = "send priorities";
    f->joined = 0;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    CHECK_U(f->sends[0].result, SENSOR_RADIO_NOT_JOINED);
    CHECK_U(f->timer_at, 10000);
    /* before the join: a downlink cannot really arrive, but a pending ack outranks the boot message */
    det(f, &ctx, 2000, 1);
    advance(f, &ctx, 2500); /* a change: report pending too */
    dl(f, &ctx, 3000, 11, request_status, sizeof request_status);
    CHECK_U(f->nsends, 1); /* still waiting for the retry */
    f->joined = 1;
    advance(f, &ctx, 10000);
    CHECK_U(f->nsends, 2);
    if (DECODE(&f->sends[1], &m)) {
        CHECK_U(m.type, OCC_CONFIG_ACK);
    }
    advance(f, &ctx, 10100);
    if (DECODE(&f->sends[2], &m)) {
        CHECK_U(m.type, OCC_BOOT);
    }
    CHECK_U(f->sends[2].at, 10100);
    advance(f, &ctx, 10200);
    if (DECODE(&f->sends[3], &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.history[0].age_s, 8); /* encoded at 10 s, change at 2 s */
    }
    CHECK_U(f->sends[3].at, 10200);
    advance(f, &ctx, 10300);
    if (DECODE(&f->sends[4], &m)) {
        CHECK_U(m.type, OCC_STATUS);
    }
    CHECK_U(f->sends[4].at, 10300);
    advance(f, &ctx, 20000);
    CHECK_U(f->nsends, 5);
    CHECK_U(ctx.retries, 1);
    CHECK_U(ctx.uplinks, 4);

    /* a status does not wait behind a report held by the interval */
    det(f, &ctx, 20000, 0);
    advance(f, &ctx, 20500);
    CHECK_U(f->nsends, 5);
    con(f, &ctx, "ATC+SEND=STATUS");
    CHECK_U(f->nsends, 6);
    if (DECODE(&f->sends[5], &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.changes, 2);
    }
    advance(f, &ctx, 70199);
    CHECK_U(f->nsends, 6);
    advance(f, &ctx, 70200);
    CHECK_U(f->nsends, 7);
    if (DECODE(&f->sends[6], &m)) {
        CHECK_U(m.type, OCC_BAY_STATE);
        CHECK_U(m.changes, 2);
    }
}

static void test_retries(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    size_t i;
    static const uint64_t at[] = {0, 10000, 20000, 21000, 26000, 27000, 37000};
    static const sensor_radio_result_t res[] = {SENSOR_RADIO_NOT_JOINED, SENSOR_RADIO_NOT_JOINED,
                                                SENSOR_RADIO_BUSY,       SENSOR_RADIO_DUTY_CYCLE,
                                                SENSOR_RADIO_DUTY_CYCLE, SENSOR_RADIO_ERROR, SENSOR_RADIO_OK};
    current_test = "retries";
    script(f, SENSOR_RADIO_NOT_JOINED, 0);
    script(f, SENSOR_RADIO_NOT_JOINED, 0);
    script(f, SENSOR_RADIO_BUSY, 0);
    script(f, SENSOR_RADIO_DUTY_CYCLE, 5000);
    script(f, SENSOR_RADIO_DUTY_CYCLE, 0);
    script(f, SENSOR_RADIO_ERROR, 0);
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    CHECK_U(f->timer_at, 10000);
    advance(f, &ctx, 40000);
    CHECK_U(f->nsends, COUNT_OF(at));
    for (i = 0; i < COUNT_OF(at) && i < f->nsends; i++) {
        CHECK_U(f->sends[i].at, at[i]);
        CHECK_U(f->sends[i].result, res[i]);
        if (DECODE(&f->sends[i], &m)) {
            CHECK_U(m.type, OCC_BOOT);
        }
    }
    CHECK_U(ctx.retries, 6);
    CHECK_U(ctx.uplinks, 1);
    CHECK_U(ctx.retry_at_ms, 0);

    /* TOO_LONG: the retry a second later goes without history, the report after that with history again */
    det(f, &ctx, 50000, 1);
    advance(f, &ctx, 50500); /* first report */
    det(f, &ctx, 60000, 0);
    advance(f, &ctx, 60500);
    det(f, &ctx, 70000, 1);
    advance(f, &ctx, 70500);
    CHECK_U(ctx.counters.changes, 3);
    script(f, SENSOR_RADIO_TOO_LONG, 0);
    {
        size_t first = f->nsends;
        advance(f, &ctx, 110500);
        CHECK_U(f->nsends, first + 1u);
        CHECK_U(f->timer_at, 111500);
        advance(f, &ctx, 111500);
        CHECK_U(f->nsends, first + 2u);
        CHECK_U(f->sends[first].at, 110500);
        CHECK_U(f->sends[first].result, SENSOR_RADIO_TOO_LONG);
        if (DECODE(&f->sends[first], &m)) {
            CHECK_U(m.history_len, 3);
        }
        CHECK_U(f->sends[first + 1u].at, 111500);
        CHECK_U(f->sends[first + 1u].result, SENSOR_RADIO_OK);
        CHECK_U(f->sends[first + 1u].len, 4);
        if (DECODE(&f->sends[first + 1u], &m)) {
            CHECK_U(m.type, OCC_BAY_STATE);
            CHECK_U(m.changes, 3);
            CHECK_U(m.history_len, 0);
        }
        CHECK_U(ctx.base_form_only, 0);
        CHECK_U(ctx.last_report_ms, 111500);
        advance(f, &ctx, 120000);
        con(f, &ctx, "ATC+SEND=STATE");
        CHECK_U(f->nsends, first + 3u);
        if (DECODE(&f->sends[first + 2u], &m)) {
            CHECK_U(m.history_len, 3);
        }
        CHECK_U(ctx.retries, 7);
    }

    /* the receive windows: BUSY after TX-done until they close */
    f = fake_reset(0);
    f->rx_windows_ms = 2000u;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    advance(f, &ctx, 50);
    con(f, &ctx, "ATC+SEND=STATUS"); /* the boot frame is in the air: no attempt */
    CHECK_U(f->nsends, 1);
    CHECK_U(f->send_while_tx, 0);
    advance(f, &ctx, 5000);
    CHECK_U(f->nsends, 4);
    CHECK_U(f->sends[1].at, 100);
    CHECK_U(f->sends[1].result, SENSOR_RADIO_BUSY);
    CHECK_U(f->sends[2].at, 1100);
    CHECK_U(f->sends[2].result, SENSOR_RADIO_BUSY);
    CHECK_U(f->sends[3].at, 2100);
    CHECK_U(f->sends[3].result, SENSOR_RADIO_OK);
    if (DECODE(&f->sends[3], &m)) {
        CHECK_U(m.type, OCC_STATUS);
    }
    CHECK_U(ctx.retries, 2);
    CHECK(find_line(f, 0, "+EVT:TX=0,100") != SIZE_MAX);
    CHECK(find_line(f, 0, "+EVT:TX=2100,2200") != SIZE_MAX);

    /* a TX-done that never comes: the radio is taken as free 60 s after the accepted send, at the next event */
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    f->txdone_pending = 0; /* lost */
    advance(f, &ctx, 1000);
    con(f, &ctx, "ATC+SEND=STATUS");
    CHECK_U(f->nsends, 1);
    advance(f, &ctx, 60000);
    con(f, &ctx, "ATC+SEND=STATUS");
    CHECK_U(f->nsends, 2);
    CHECK_U(f->sends[1].at, 60000);
}

static void test_storage(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    size_t mark;
    static const uint8_t set_interval[] = {0x30, 0x01, 0x00, 0x78}; /* 120 s */
    uint8_t saved[SENSOR_STORAGE_BYTES];
    size_t saved_len;
    current_test = "storage";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    CHECK(f->storage_len > 0u && f->storage_len <= SENSOR_STORAGE_BYTES);
    det(f, &ctx, 1000, 1);
    det(f, &ctx, 20000, 0);
    dl(f, &ctx, 30000, 11, set_interval, sizeof set_interval);
    advance(f, &ctx, 40000);
    CHECK_U(ctx.counters.changes, 2);
    memcpy(saved, f->storage, sizeof saved);
    saved_len = f->storage_len;

    /* a reset: the same storage, a new start of the clock */
    f->now = 0;
    f->txdone_pending = 0;
    f->timer_armed = 0;
    f->nlines = 0;
    f->nsends = 0;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_WATCHDOG);
    EXPECT_LINES(f, 0, "OCCUPANCY SENSOR v1.0.0 payload format 1", "KIND BAY DEVEUI 70B3D57ED0001234 RESET watchdog");
    CHECK_U(ctx.counters.changes, 2);
    CHECK_U(ctx.counters.resets, 2);
    CHECK_U(ctx.config.interval_s, 120);
    CHECK_U(ctx.occupied, 0);
    CHECK_U(ctx.history_len, 0);
    if (DECODE(&f->sends[0], &m)) {
        CHECK_U(m.type, OCC_BOOT);
        CHECK_U(m.reset_cause, OCC_RESET_WATCHDOG);
        CHECK_U(m.config_hash, hash_of(120, 360, 50, 5, 100, OCC_KIND_BAY));
    }
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=2,0,0,2", "OK");
    /* and once more */
    f->now = 0;
    f->txdone_pending = 0;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_BROWN_OUT);
    CHECK_U(ctx.counters.resets, 3);

    /* every single damaged byte of the record, a short record, an empty one: zero counters, default config */
    {
        size_t i;
        int all_reset = 1;
        for (i = 0; i < saved_len; i++) {
            f = fake_reset(0);
            memcpy(f->storage, saved, sizeof saved);
            f->storage_len = saved_len;
            f->storage[i] ^= (uint8_t)(1u << (i % 8u));
            boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
            if (ctx.counters.changes != 0u || ctx.counters.resets != 1u || ctx.config.interval_s != 60u) {
                all_reset = 0;
            }
        }
        CHECK(all_reset);
        f = fake_reset(0);
        memcpy(f->storage, saved, sizeof saved);
        f->storage_len = saved_len - 1u;
        boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
        CHECK_U(ctx.counters.resets, 1);
        mark = con(f, &ctx, "ATC+CFG=?");
        EXPECT_LINES(f, mark, "ATC+CFG=60,360,50,5,100,9e193f57", "OK");
        mark = con(f, &ctx, "ATC+COUNT=?");
        EXPECT_LINES(f, mark, "ATC+COUNT=0,0,0,1", "OK");
        /* the damaged record was replaced by a good one */
        CHECK_U(f->storage_len, saved_len);
        /* erased flash (all 0xFF) */
        f = fake_reset(0);
        memset(f->storage, 0xFF, sizeof f->storage);
        f->storage_len = sizeof f->storage;
        boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
        CHECK_U(ctx.counters.resets, 1);
        CHECK_U(ctx.config.period_min, 360);
    }
    /* a record with a good CRC but a configuration no downlink could set (interval 5 s): damaged */
    {
        uint8_t rec[45];
        uint32_t crc = 0xFFFFFFFFu;
        size_t i;
        unsigned k;
        memcpy(rec, saved, sizeof rec);
        rec[21] = 0;
        rec[22] = 0;
        rec[23] = 0;
        rec[24] = 5; /* interval_s, big-endian at offset 21 (README: storage record) */
        for (i = 0; i < 41u; i++) {
            crc ^= rec[i];
            for (k = 0; k < 8u; k++) {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
            }
        }
        crc ^= 0xFFFFFFFFu;
        rec[41] = (uint8_t)(crc >> 24);
        rec[42] = (uint8_t)(crc >> 16);
        rec[43] = (uint8_t)(crc >> 8);
        rec[44] = (uint8_t)crc;
        f = fake_reset(0);
        memcpy(f->storage, rec, sizeof rec);
        f->storage_len = sizeof rec;
        boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
        CHECK_U(ctx.config.interval_s, 60);
        CHECK_U(ctx.counters.changes, 0);
        /* the same record with interval 10 s is good */
        rec[24] = 10;
        crc = 0xFFFFFFFFu;
        for (i = 0; i < 41u; i++) {
            crc ^= rec[i];
            for (k = 0; k < 8u; k++) {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
            }
        }
        crc ^= 0xFFFFFFFFu;
        rec[41] = (uint8_t)(crc >> 24);
        rec[42] = (uint8_t)(crc >> 16);
        rec[43] = (uint8_t)(crc >> 8);
        rec[44] = (uint8_t)crc;
        f = fake_reset(0);
        memcpy(f->storage, rec, sizeof rec);
        f->storage_len = sizeof rec;
        boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
        CHECK_U(ctx.config.interval_s, 10);
        CHECK_U(ctx.counters.changes, 2);
        CHECK_U(ctx.counters.resets, 2);
    }
    /* counters are written on every counted change */
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);
    veh(f, &ctx, 1000, 0, 1);
    veh(f, &ctx, 2000, 0, 0);
    CHECK_U(f->storage_writes, 2);
    memcpy(saved, f->storage, sizeof saved);
    saved_len = f->storage_len;
    f = fake_reset(0);
    memcpy(f->storage, saved, sizeof saved);
    f->storage_len = saved_len;
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);
    CHECK_U(ctx.counters.count_in, 1);
    CHECK_U(ctx.counters.resets, 2);
}

static void test_provision(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    sensor_config_t c = {300u, 60u, 100u, 10u, 20u};
    sensor_config_t bad = {5u, 60u, 100u, 10u, 20u}; /* interval below 10 s (PAYLOAD.md section 5) */
    size_t mark;
    unsigned long writes, nsends;
    current_test = "provision";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    advance(f, &ctx, 5000);
    writes = f->storage_writes;
    nsends = f->nsends;
    f->now = 7000;
    CHECK(sensor_provision(&ctx, &c) == 1);
    CHECK_U(f->storage_writes, writes + 1u);
    CHECK_U(f->nsends, nsends); /* provisioning sends nothing */
    CHECK_U(ctx.next_heartbeat_ms, 7000u + 60u * 60000u);
    CHECK(f->timer_armed && f->timer_at <= ctx.next_heartbeat_ms);
    mark = con(f, &ctx, "ATC+CFG=?");
    CHECK(f->nlines > mark && strncmp(f->lines[mark], "ATC+CFG=300,60,100,10,20,", 25) == 0);
    /* out of range: refused, nothing changes */
    CHECK(sensor_provision(&ctx, &bad) == 0);
    CHECK(sensor_provision(&ctx, NULL) == 0);
    CHECK_U(ctx.config.interval_s, 300);
    CHECK_U(f->storage_writes, writes + 1u);
    /* kept across a reset */
    f->now = 0;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_BROWN_OUT);
    CHECK_U(ctx.config.interval_s, 300);
    CHECK_U(ctx.config.period_min, 60);
    CHECK_U(ctx.config.debounce_cs, 100);
    CHECK_U(ctx.config.holdoff_s, 10);
    CHECK_U(ctx.config.capacity, 20);
}

static void test_budget(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    occ_message_t m;
    static const uint8_t fast[] = {0x32, 0x01, 0x00, 0x00, 0x00}; /* debounce 0, hold-off 0 */
    uint64_t t = 1000;
    unsigned i;
    current_test = "payload budget";
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    dl(f, &ctx, 500, 11, fast, sizeof fast);
    for (i = 0; i < 40u; i++) {
        det(f, &ctx, t, (int)((i + 1u) % 2u));
        t += 1000u;
    }
    CHECK_U(ctx.counters.changes, 40);
    CHECK_U(ctx.history_len, SENSOR_HISTORY_SLOTS);
    CHECK_U(ctx.history[0].at_s, 10); /* the ring keeps the last 31: changes 10 ... 40 */
    CHECK_U(ctx.history[30].at_s, 40);
    /* budget 0 means 11 bytes: 26 + 12 K <= 88 bits, K = 5 */
    f->budget = 0u;
    advance(f, &ctx, 100000);
    con(f, &ctx, "ATC+SEND=STATE");
    CHECK_U(last_ok(f)->len, 11);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.changes, 40);
        CHECK_U(m.occupied, 0);
        CHECK_U(m.history_len, 5);
        CHECK_U(m.history[0].age_s, 60);
        CHECK_U(m.history[4].age_s, 64);
        CHECK_U(m.history[4].change, 36);
    }
    /* 51 bytes: all 31 (50 bytes) */
    f->budget = 51u;
    advance(f, &ctx, 101000);
    con(f, &ctx, "ATC+SEND=STATE");
    CHECK_U(last_ok(f)->len, 50);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.history_len, 31);
        CHECK_U(m.history[30].change, 10);
        CHECK_U(m.history[30].age_s, 91);
        CHECK_U(m.history[30].occupied, 0); /* change 10 freed the bay */
    }
    /* 4 bytes: base form only */
    f->budget = 4u;
    advance(f, &ctx, 102000);
    con(f, &ctx, "ATC+SEND=STATE");
    CHECK_U(last_ok(f)->len, 4);
    /* 11 bytes again, the newest change 2160 s old (an 18-bit age): 26 + 18 + 3 x 12 = 80 bits, K = 4 (12 bytes
     * would hold K = 5) */
    f->budget = 0u;
    advance(f, &ctx, 2200000);
    con(f, &ctx, "ATC+SEND=STATE");
    CHECK_U(last_ok(f)->len, 10);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.history_len, 4);
        CHECK_U(m.history[0].age_s, 2160);
    }
}

static void test_console(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    size_t mark;
    char want[2u * OCC_MAX_MESSAGE_BYTES + 40u];
    char hex[2u * OCC_MAX_MESSAGE_BYTES + 1u];
    current_test = "console (bay)";
    f->joined = 0;
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    mark = con(f, &ctx, "ATC+PAYLOAD=?");
    EXPECT_LINES(f, mark, "ATC+PAYLOAD=", "OK");
    mark = con(f, &ctx, "ATC+TXTIME=?");
    EXPECT_LINES(f, mark, "ATC+TXTIME=0,0", "OK");
    f->joined = 1;
    advance(f, &ctx, 10100);
    mark = con(f, &ctx, "ATC+PAYLOAD=?");
    hex_of(f->sends[1].bytes, f->sends[1].len, hex, sizeof hex);
    snprintf(want, sizeof want, "ATC+PAYLOAD=10:%s", hex);
    EXPECT_LINES(f, mark, want, "OK");
    CHECK_U(strlen(want), 15u + 16u);
    mark = con(f, &ctx, "ATC+TXTIME=?");
    EXPECT_LINES(f, mark, "ATC+TXTIME=10000,10100", "OK");

    mark = con(f, &ctx, "ATC+VER=?");
    EXPECT_LINES(f, mark, "ATC+VER=1.0.0,1", "OK");
    mark = con(f, &ctx, "atc+ver=?");
    EXPECT_LINES(f, mark, "ATC+VER=1.0.0,1", "OK");
    mark = con(f, &ctx, "Atc+Ver=?\r\n");
    EXPECT_LINES(f, mark, "ATC+VER=1.0.0,1", "OK");
    mark = con(f, &ctx, "ATC+DEVEUI=?");
    EXPECT_LINES(f, mark, "ATC+DEVEUI=70B3D57ED0001234", "OK");
    mark = con(f, &ctx, "ATC+KIND=?");
    EXPECT_LINES(f, mark, "ATC+KIND=BAY", "OK");
    mark = con(f, &ctx, "ATC+CFG=?");
    EXPECT_LINES(f, mark, "ATC+CFG=60,360,50,5,100,9e193f57", "OK");
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=0,0,0,1", "OK");
    mark = con(f, &ctx, "ATC+STATE=?");
    EXPECT_LINES(f, mark, "ATC+STATE=0", "OK");

    /* ATC+DETECT: the same as the detector input */
    mark = con(f, &ctx, "ATC+DETECT=1");
    EXPECT_LINES(f, mark, "OK");
    CHECK_U(f->timer_at, 10600);
    advance(f, &ctx, 10600);
    EXPECT_LINES(f, mark, "OK", "+EVT:OCC=1,1");
    CHECK_U(f->line_at[mark + 1u], 10600);
    advance(f, &ctx, 11000);
    EXPECT_LINES(f, mark, "OK", "+EVT:OCC=1,1", "+EVT:TX=10600,10700");
    mark = con(f, &ctx, "ATC+STATE=?");
    EXPECT_LINES(f, mark, "ATC+STATE=1", "OK");
    mark = con(f, &ctx, "ATC+DETECT=2");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+DETECT=");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+DETECT=10");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+DETECT");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+VEHICLE=IN");
    EXPECT_LINES(f, mark, "AT_ERROR");
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=1,0,0,1", "OK");

    /* ATC+SEND=STATE ignores the interval; ATC+SEND=STATUS */
    mark = con(f, &ctx, "ATC+SEND=STATE");
    EXPECT_LINES(f, mark, "OK");
    CHECK_U(last_ok(f)->at, 11000);
    advance(f, &ctx, 12000);
    mark = con(f, &ctx, "atc+send=status");
    EXPECT_LINES(f, mark, "OK");
    {
        occ_message_t m;
        if (DECODE(last_ok(f), &m)) {
            CHECK_U(m.type, OCC_STATUS);
        }
    }
    mark = con(f, &ctx, "ATC+SEND=BOOT");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+SEND");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");

    /* ATC+RESETCNT: everything, resets included, and the history */
    advance(f, &ctx, 13000);
    {
        unsigned long writes = f->storage_writes;
        mark = con(f, &ctx, "ATC+RESETCNT");
        EXPECT_LINES(f, mark, "OK");
        CHECK_U(f->storage_writes, writes + 1u);
    }
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=0,0,0,0", "OK");
    CHECK_U(ctx.history_len, 0);
    mark = con(f, &ctx, "ATC+RESETCNT=1");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");

    /* wrong forms, unknown commands, lines that are not ours */
    mark = con(f, &ctx, "ATC+VER=1");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+VER");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+CFG=1,2,3");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+FOO=?");
    EXPECT_LINES(f, mark, "AT_COMMAND_NOT_FOUND");
    mark = con(f, &ctx, "ATC+VERSION=?");
    EXPECT_LINES(f, mark, "AT_COMMAND_NOT_FOUND");
    mark = con(f, &ctx, "ATC+");
    EXPECT_LINES(f, mark, "AT_COMMAND_NOT_FOUND");
    mark = con(f, &ctx, "ATC+=?");
    EXPECT_LINES(f, mark, "AT_COMMAND_NOT_FOUND");
    mark = con(f, &ctx, "AT+DEVEUI=?");
    CHECK_U(f->nlines, mark);
    mark = con(f, &ctx, "AT+JOIN=1:0:10:8");
    CHECK_U(f->nlines, mark);
    mark = con(f, &ctx, "ATC");
    CHECK_U(f->nlines, mark);
    mark = con(f, &ctx, "");
    CHECK_U(f->nlines, mark);
    mark = con(f, &ctx, "hello");
    CHECK_U(f->nlines, mark);
    sensor_console_line(&ctx, NULL);
    CHECK_U(f->nlines, mark);

    /* gate */
    current_test = "console (gate)";
    f = fake_reset(0);
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);
    advance(f, &ctx, 1000);
    mark = con(f, &ctx, "ATC+KIND=?");
    EXPECT_LINES(f, mark, "ATC+KIND=GATE", "OK");
    mark = con(f, &ctx, "ATC+DEVEUI=?");
    EXPECT_LINES(f, mark, "ATC+DEVEUI=0004A30B00FFEE01", "OK");
    mark = con(f, &ctx, "ATC+CFG=?");
    snprintf(want, sizeof want, "ATC+CFG=60,360,50,5,100,%08lx",
             (unsigned long)hash_of(60, 360, 50, 5, 100, OCC_KIND_GATE));
    EXPECT_LINES(f, mark, want, "OK");
    mark = con(f, &ctx, "ATC+STATE=?");
    EXPECT_LINES(f, mark, "AT_ERROR");
    mark = con(f, &ctx, "ATC+DETECT=1");
    EXPECT_LINES(f, mark, "AT_ERROR");
    mark = con(f, &ctx, "ATC+VEHICLE=IN");
    EXPECT_LINES(f, mark, "+EVT:GATE=IN,1,0", "OK");
    CHECK_U(ctx.lane_holdoff_until_ms[0], 6000);
    advance(f, &ctx, 3000);
    mark = con(f, &ctx, "ATC+VEHICLE=IN"); /* started at 2500, inside the hold-off: not counted */
    EXPECT_LINES(f, mark, "OK");
    advance(f, &ctx, 6500);
    mark = con(f, &ctx, "ATC+VEHICLE=in"); /* started at 6000: the hold-off end */
    EXPECT_LINES(f, mark, "+EVT:GATE=IN,2,0", "OK");
    mark = con(f, &ctx, "ATC+VEHICLE=OUT");
    EXPECT_LINES(f, mark, "+EVT:GATE=OUT,2,1", "OK");
    mark = con(f, &ctx, "ATC+VEHICLE=LEFT");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+VEHICLE");
    EXPECT_LINES(f, mark, "AT_PARAM_ERROR");
    mark = con(f, &ctx, "ATC+COUNT=?");
    EXPECT_LINES(f, mark, "ATC+COUNT=0,2,1,1", "OK");

    /* a payload too long for one line continues on lines of hex digits */
    current_test = "console (long payload)";
    f->budget = 242u;
    {
        unsigned i;
        const send_rec_t *s;
        size_t total;
        for (i = 0; i < 33u; i++) {
            advance(f, &ctx, 10000u + 3000000u * i);
            con(f, &ctx, "ATC+SEND=STATE");
        }
        s = last_ok(f);
        CHECK(s != NULL && s->len > 72u);
        if (s != NULL) {
            mark = con(f, &ctx, "ATC+PAYLOAD=?");
            hex_of(s->bytes, s->len, hex, sizeof hex);
            total = f->nlines - mark;
            CHECK_U(total, 2u + (s->len - 1u) / 72u);
            CHECK_U(strncmp(f->lines[mark], "ATC+PAYLOAD=10:", 15), 0);
            CHECK_U(strlen(f->lines[mark]), 15u + 144u);
            {
                char joined[2u * OCC_MAX_MESSAGE_BYTES + 1u];
                size_t i2, o = 0;
                for (i2 = 0; i2 + 1u < total; i2++) {
                    const char *p = f->lines[mark + i2] + (i2 == 0u ? 15u : 0u);
                    size_t n = strlen(p);
                    memcpy(joined + o, p, n);
                    o += n;
                }
                joined[o] = '\0';
                CHECK_S(joined, hex);
            }
            CHECK_S(f->lines[f->nlines - 1u], "OK");
        }
    }
    CHECK_U(f->long_lines, 0);
}

/* The core's HAL may leave out the optional calls (log, budget, battery, temperature, storage). */
static void test_minimal_hal(void)
{
    static sensor_ctx_t ctx;
    fake_t *f = fake_reset(0);
    sensor_hal_t h = fake_hal(f);
    occ_message_t m;
    current_test = "minimal HAL";
    h.log = NULL;
    h.payload_budget = NULL;
    h.battery_mv = NULL;
    h.temperature_dc = NULL;
    h.storage_read = NULL;
    h.storage_write = NULL;
    sensor_init(&ctx, &h, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    after_call(f, &ctx, __LINE__);
    CHECK_U(f->nsends, 1);
    con(f, &ctx, "ATC+SEND=STATUS");
    advance(f, &ctx, 1000);
    if (DECODE(last_ok(f), &m)) {
        CHECK_U(m.type, OCC_STATUS);
        CHECK_U(m.has_battery, 0);
        CHECK_U(m.has_temperature, 0);
    }
    CHECK_U(f->storage_writes, 0);
    CHECK_U(f->logs, 0);
}

/* ------------------------------------------------------------------------------------------- (b) isolation */

/* One step of a fixed scenario for device `d` (bay) at virtual time t. */
static void scenario_step(fake_t *f, sensor_ctx_t *ctx, unsigned step)
{
    uint64_t t = 1000u + 7919u * step;
    static const uint8_t cmd[] = {0x30, 0x01, 0x00, 0x0a};
    switch (step % 7u) {
    case 0:
    case 3:
        det(f, ctx, t, 1);
        break;
    case 1:
    case 5:
        det(f, ctx, t, 0);
        break;
    case 2:
        dl(f, ctx, t, 11, cmd, sizeof cmd);
        break;
    case 4:
        advance(f, ctx, t);
        con(f, ctx, "ATC+SEND=STATUS");
        break;
    default:
        advance(f, ctx, t);
        break;
    }
}

static void test_isolation(void)
{
    static sensor_ctx_t solo, a, b;
    fake_t *fs = fake_reset(0), *fa = fake_reset(1), *fb = fake_reset(2);
    unsigned step;
    size_t i;
    int same = 1;
    current_test = "isolation";
    boot_dev(fs, &solo, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    for (step = 0; step < 120u; step++) {
        scenario_step(fs, &solo, step);
    }
    advance(fs, &solo, 2000000u);

    boot_dev(fa, &a, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    boot_dev(fb, &b, OCC_KIND_GATE, EUI2, OCC_RESET_SOFTWARE);
    for (step = 0; step < 120u; step++) {
        scenario_step(fa, &a, step);
        veh(fb, &b, 1000u + 4001u * step, (int)(step % 2u), (int)((step / 2u) % 2u));
        con(fb, &b, "ATC+COUNT=?");
    }
    advance(fa, &a, 2000000u);
    advance(fb, &b, 2000000u);

    CHECK_U(fa->nsends, fs->nsends);
    CHECK_U(fa->nlines, fs->nlines);
    for (i = 0; i < fs->nsends && i < fa->nsends; i++) {
        if (fs->sends[i].at != fa->sends[i].at || fs->sends[i].len != fa->sends[i].len ||
            memcmp(fs->sends[i].bytes, fa->sends[i].bytes, fs->sends[i].len) != 0) {
            same = 0;
        }
    }
    for (i = 0; i < fs->nlines && i < fa->nlines; i++) {
        if (strcmp(fs->lines[i], fa->lines[i]) != 0 || fs->line_at[i] != fa->line_at[i]) {
            same = 0;
        }
    }
    CHECK(same);
    CHECK(fs->nsends > 20u);
}

/* ------------------------------------------------------------------------------------------- (c) random */

typedef struct {
    uint64_t at;
    int raw;
} raw_event_t;

#define RANDOM_EVENTS 600u

/* Bay: random raw input against a per-millisecond model of the debounce rule; random radio refusals. */
static void random_bay(uint64_t seed)
{
    static sensor_ctx_t ctx;
    static raw_event_t ev[RANDOM_EVENTS];
    static uint64_t model_at[RANDOM_EVENTS + 1u];
    static uint32_t model_start_s[RANDOM_EVENTS + 1u];
    uint64_t rng = seed, t = 500, horizon, ms;
    uint32_t d_cs, h_s;
    size_t n_model = 0, i, e, n_got = 0;
    int raw = 0, occ = 0, ok = 1;
    uint64_t raw_since = 0, holdoff = 0;
    uint64_t last_report = 0;
    int have_report = 0, spacing_ok = 1, decode_ok = 1;
    fake_t *f = fake_reset(0);
    uint8_t cmd[5];

    f->random_radio = 1;
    f->rng = seed ^ 0xA5A5u;
    f->airtime_ms = 50u + rng_below(&rng, 2000u);
    f->rx_windows_ms = rng_below(&rng, 3000u);
    f->budget = rng_below(&rng, 4u) == 0u ? 0u : 11u + rng_below(&rng, 232u);
    boot_dev(f, &ctx, OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    d_cs = rng_below(&rng, 3u) == 0u ? 0u : rng_below(&rng, 120u);
    h_s = rng_below(&rng, 4u);
    cmd[0] = 0x32;
    cmd[1] = 0x01;
    cmd[2] = (uint8_t)(d_cs >> 4);
    cmd[3] = (uint8_t)(((d_cs & 15u) << 4) | (h_s >> 8));
    cmd[4] = (uint8_t)h_s;
    dl(f, &ctx, 100, 11, cmd, sizeof cmd);
    CHECK_U(ctx.config.debounce_cs, d_cs);
    CHECK_U(ctx.config.holdoff_s, h_s);

    for (i = 0; i < RANDOM_EVENTS; i++) {
        uint32_t gap = rng_below(&rng, 6u) == 0u ? 2000u + rng_below(&rng, 90000u) : rng_below(&rng, 1500u);
        t += gap;
        raw = rng_below(&rng, 5u) == 0 ? raw : !raw;
        ev[i].at = t;
        ev[i].raw = raw;
    }
    horizon = t + 200000u;

    /* the model, one millisecond at a time: first acceptance, then the raw input of that millisecond */
    raw = 0;
    e = 0;
    for (ms = 100; ms <= horizon; ms++) {
        int step = 0;
        do {
            if (step > 0) { /* then each input of this millisecond, checked again after it */
                if (ev[e].raw != raw) {
                    raw = ev[e].raw;
                    raw_since = ms;
                }
                e++;
            }
            if (raw != occ) {
                uint64_t start = raw_since > holdoff ? raw_since : holdoff;
                if (ms >= start + (uint64_t)d_cs * 10u) {
                    occ = raw;
                    model_at[n_model] = ms;
                    model_start_s[n_model] = (uint32_t)(start / 1000u);
                    n_model++;
                    holdoff = ms + (uint64_t)h_s * 1000u;
                }
            }
            step++;
        } while (e < RANDOM_EVENTS && ev[e].at == ms);
    }

    for (i = 0; i < RANDOM_EVENTS; i++) {
        det(f, &ctx, ev[i].at, ev[i].raw);
        if (rng_below(&rng, 50u) == 0u) {
            con(f, &ctx, "ATC+SEND=STATUS");
        }
    }
    advance(f, &ctx, horizon);

    for (i = 0; i < f->nlines; i++) {
        if (strncmp(f->lines[i], "+EVT:OCC=", 9) == 0) {
            if (n_got >= n_model || f->line_at[i] != model_at[n_got]) {
                ok = 0;
            }
            n_got++;
        }
    }
    checks++;
    if (!ok || n_got != n_model) {
        fail_msg(__LINE__, "bay seed %llu: %u accepted changes, model %u (first difference at or before %u)",
                 (unsigned long long)seed, (unsigned)n_got, (unsigned)n_model, (unsigned)n_got);
    }
    CHECK_U(ctx.counters.changes, n_model);
    /* the ring holds the last changes with the start times of the model */
    for (i = 0; i < ctx.history_len && i < n_model; i++) {
        size_t k = n_model - ctx.history_len + i;
        if (ctx.history[i].at_s != model_start_s[k]) {
            ok = 0;
        }
    }
    CHECK(ok);
    /* every accepted frame decodes; state reports respect the interval (no forced reports here) */
    for (i = 0; i < f->nsends; i++) {
        occ_message_t m;
        const send_rec_t *s = &f->sends[i];
        if (occ_decode(s->fport, s->bytes, s->len, &m) != OCC_OK || s->fport != 10u) {
            decode_ok = 0;
            continue;
        }
        if (s->result == SENSOR_RADIO_OK && m.type == OCC_BAY_STATE) {
            if (have_report && s->at < last_report + 60000u) {
                spacing_ok = 0;
            }
            have_report = 1;
            last_report = s->at;
            if (f->budget != 0u && s->len > f->budget && m.history_len > 0u) {
                decode_ok = 0;
            }
        }
    }
    CHECK(decode_ok);
    CHECK(spacing_ok);
    CHECK_U(f->send_while_tx, 0);
    CHECK_U(f->long_lines, 0);
    CHECK_U(ctx.retries + ctx.uplinks, f->attempts);
    CHECK_U(ctx.report_pending, 0);
}

/* Gate: random pulses on both lanes against the counting rule (with repeated starts and stray ends). */
static void random_gate(uint64_t seed)
{
    static sensor_ctx_t ctx;
    uint64_t rng = seed, t = 1000, since[2] = {0, 0}, holdoff[2] = {0, 0}, d_ms, h_ms;
    uint32_t want[2] = {0, 0};
    int active[2] = {0, 0};
    fake_t *f = fake_reset(0);
    unsigned i;
    uint8_t cmd[5];
    uint32_t d_cs = rng_below(&rng, 100u), h_s = rng_below(&rng, 8u);
    f->random_radio = 1;
    f->rng = seed ^ 0x5A5Au;
    boot_dev(f, &ctx, OCC_KIND_GATE, EUI2, OCC_RESET_POWER_ON);
    cmd[0] = 0x32;
    cmd[1] = 0x02;
    cmd[2] = (uint8_t)(d_cs >> 4);
    cmd[3] = (uint8_t)(((d_cs & 15u) << 4) | (h_s >> 8));
    cmd[4] = (uint8_t)h_s;
    dl(f, &ctx, 500, 11, cmd, sizeof cmd);
    d_ms = (uint64_t)d_cs * 10u;
    h_ms = (uint64_t)h_s * 1000u;
    for (i = 0; i < 4u * RANDOM_EVENTS; i++) {
        unsigned lane = rng_below(&rng, 2u);
        int a = rng_below(&rng, 10u) == 0u ? active[lane] : !active[lane];
        t += rng_below(&rng, 8u) == 0u ? rng_below(&rng, 9000u) : rng_below(&rng, 1200u);
        veh(f, &ctx, t, (int)lane, a);
        if (a && !active[lane]) {
            active[lane] = 1;
            since[lane] = t;
        } else if (!a && active[lane]) {
            active[lane] = 0;
            if (t - since[lane] >= d_ms && since[lane] >= holdoff[lane]) {
                want[lane]++;
                holdoff[lane] = t + h_ms;
            }
        }
    }
    advance(f, &ctx, t + 200000u);
    CHECK_U(ctx.counters.count_in, want[0]);
    CHECK_U(ctx.counters.count_out, want[1]);
    CHECK_U(f->send_while_tx, 0);
    CHECK_U(ctx.report_pending, 0);
    CHECK_U(count_prefix(f, 0, "+EVT:GATE="), want[0] + want[1]);
    {
        const send_rec_t *s = NULL;
        occ_message_t m;
        size_t k;
        for (k = f->nsends; k > 0u; k--) {
            if (f->sends[k - 1u].result == SENSOR_RADIO_OK && f->sends[k - 1u].bytes[0] == 0x22) {
                s = &f->sends[k - 1u];
                break;
            }
        }
        if (s != NULL && DECODE(s, &m)) {
            CHECK_U(m.count_in, want[0]);
            CHECK_U(m.count_out, want[1]);
        } else {
            CHECK_U(want[0] + want[1], 0);
        }
    }
}

/* Random console lines and downlinks: never out of bounds, always a well-formed answer or ack. */
static void random_fuzz(uint64_t seed)
{
    static sensor_ctx_t ctx;
    static const char *const words[] = {"ATC+", "atc+", "VER", "DEVEUI", "KIND", "CFG", "COUNT", "STATE", "DETECT",
                                        "VEHICLE", "PAYLOAD", "TXTIME", "SEND", "RESETCNT", "=", "?", "IN", "OUT",
                                        "STATUS", "1", "0", "AT+", " ", "\r", ",", "x"};
    uint64_t rng = seed;
    fake_t *f = fake_reset(0);
    unsigned i, j;
    int answers_ok = 1, config_ok = 1;
    f->random_radio = 1;
    boot_dev(f, &ctx, rng_below(&rng, 2u) ? OCC_KIND_GATE : OCC_KIND_BAY, EUI, OCC_RESET_POWER_ON);
    for (i = 0; i < 3000u; i++) {
        char line[400];
        size_t n = 0;
        uint8_t bytes[12];
        size_t len = rng_below(&rng, sizeof bytes + 1u);
        advance(f, &ctx, f->now + rng_below(&rng, 5000u));
        if (rng_below(&rng, 2u) == 0u) {
            unsigned parts = 1u + rng_below(&rng, 6u);
            for (j = 0; j < parts; j++) {
                const char *w = words[rng_below(&rng, (uint32_t)COUNT_OF(words))];
                size_t wl = strlen(w);
                if (n + wl < sizeof line - 1u) {
                    memcpy(line + n, w, wl);
                    n += wl;
                }
            }
            if (rng_below(&rng, 20u) == 0u) {
                while (n < sizeof line - 1u) {
                    line[n++] = (char)(1 + rng_below(&rng, 126u));
                }
            }
            line[n] = '\0';
            {
                size_t mark = con(f, &ctx, line);
                if (f->nlines > mark) {
                    const char *last = f->lines[f->nlines - 1u];
                    if (strcmp(last, "OK") != 0 && strcmp(last, "AT_ERROR") != 0 &&
                        strcmp(last, "AT_PARAM_ERROR") != 0 && strcmp(last, "AT_COMMAND_NOT_FOUND") != 0) {
                        answers_ok = 0;
                    }
                }
            }
        } else {
            for (j = 0; j < len; j++) {
                bytes[j] = (uint8_t)rng_next(&rng);
            }
            if (len > 0u && rng_below(&rng, 2u) == 0u) {
                bytes[0] = (uint8_t)(0x20u | (bytes[0] & 0x1Fu)); /* version 1: reach the field checks */
            }
            sensor_on_downlink(&ctx, (uint8_t)(rng_below(&rng, 3u) == 0u ? rng_next(&rng) : 11u), bytes, len);
            after_call(f, &ctx, __LINE__);
        }
        if (ctx.config.interval_s < 10u || ctx.config.period_min < 1u || ctx.config.capacity < 1u ||
            ctx.config.debounce_cs > 4095u || ctx.config.holdoff_s > 4095u) {
            config_ok = 0;
        }
        if (f->nlines > MAX_LINES - 64u) {
            f->nlines = 0;
        }
        if (f->nsends > MAX_SENDS - 64u) {
            f->nsends = 0;
        }
    }
    CHECK(answers_ok);
    CHECK(config_ok);
    CHECK_U(f->long_lines, 0);
    CHECK_U(f->send_while_tx, 0);
}

/* ------------------------------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    uint64_t seed;
    unsigned rounds = 40, r;
    if (argc > 1 && strcmp(argv[1], "time") != 0) {
        seed = strtoull(argv[1], NULL, 10);
    } else {
        seed = (uint64_t)time(NULL);
    }
    if (argc > 2) {
        rounds = (unsigned)strtoul(argv[2], NULL, 10);
    }
    printf("firmware core test, seed %llu (repeat with: test_sensor %llu %u)\n", (unsigned long long)seed,
           (unsigned long long)seed, rounds);

    test_boot();
    test_bay_debounce();
    test_holdoff();
    test_report_interval();
    test_gate();
    test_heartbeat();
    test_downlinks();
    test_bad_downlinks();
    test_priorities();
    test_retries();
    test_storage();
    test_provision();
    test_budget();
    test_console();
    test_minimal_hal();
    test_isolation();
    for (r = 0; r < rounds; r++) {
        uint64_t s = seed * 1000003u + r;
        current_test = "random bay";
        random_bay(s);
        current_test = "random gate";
        random_gate(s);
        current_test = "random fuzz";
        random_fuzz(s);
    }
    printf("scenarios: 16; random: %u rounds (bay model, gate model, console and downlink fuzz)\n", rounds);
    printf("%lu checks, %lu failures: %s\n", checks, failures, failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
