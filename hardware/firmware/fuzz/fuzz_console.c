/*
 * libFuzzer target for the serial console of the firmware core (sensor_console_line, hardware/CONSOLE.md).
 *
 * The input (first FUZZ_MAX_INPUT bytes) is typed on the console of a fresh bay sensor and then of a fresh gate
 * counter, each with a stub HAL like tests/test_sensor.c's: a virtual clock; a radio with 60 ms airtime that
 * joins after two attempts, then refuses some sends and loses some TX-done events in a fixed pattern; a payload
 * budget cycling through 11, 51 and 242 bytes; RAM storage. The stub splits the input into lines at LF; like a
 * UART line buffer it keeps the first SENSOR_CONSOLE_LINE_MAX - 1 bytes of a line and drops the rest, and the
 * core sees a line up to its first NUL. Each line is typed 1 s after the previous one, an empty line 10 min after
 * (so that heartbeats and long history ages are reachable); timer and TX-done events due in between are
 * delivered first. Checked (abort() after a one-line message on stderr):
 *   - after every call into the core one wake-up is armed, in the future, and the context is in range;
 *   - every payload handed to the radio fits the budget just returned;
 *   - every console line is shorter than SENSOR_CONSOLE_LINE_MAX;
 *   - a line not starting with ATC+ gets no answer; an ATC+ line gets exactly one final answer (OK, AT_ERROR,
 *     AT_PARAM_ERROR, AT_COMMAND_NOT_FOUND), last, the one CONSOLE.md gives for that command, form and kind,
 *     preceded only by event lines and the command's value lines, which are checked against the context;
 *   - the configuration never changes (only downlinks change it);
 *   - afterwards, a LF (ending any partial line) and then ATC+VER=?, ATC+KIND=? and ATC+CFG=? are answered
 *     correctly.
 */
#include "occupancy_codec.h"
#include "sensor_core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 4096u
#define LINE_STEP_MS 1000u
#define EMPTY_LINE_STEP_MS 600000u
#define AIRTIME_MS 60u
#define MAX_OUT 32u        /* console lines one call may write */
#define MAX_EVENTS 1000u   /* timer and TX-done deliveries between two lines */

typedef struct {
    uint64_t now;
    int timer_armed;
    uint64_t timer_at;
    int txdone_pending;
    uint64_t txdone_start, txdone_end;
    unsigned long attempts, budget_calls;
    size_t last_budget;
    uint8_t storage[SENSOR_STORAGE_BYTES];
    size_t storage_len;
    char out[MAX_OUT][SENSOR_CONSOLE_LINE_MAX];
    size_t nout;
    int out_overflow;
} stub_t;

static const uint8_t EUI[8] = {0x70, 0xB3, 0xD5, 0x7E, 0xD0, 0x00, 0x12, 0x34};
static const char *const FINALS[4] = {"OK", "AT_ERROR", "AT_PARAM_ERROR", "AT_COMMAND_NOT_FOUND"};

static void violation(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_console: %s: %s\n", what, detail);
    abort();
}

/* ------------------------------------------------------------------------------------------- stub HAL */

static uint64_t s_now(void *u) { return ((stub_t *)u)->now; }

static void s_set_timer(void *u, uint64_t at)
{
    stub_t *s = (stub_t *)u;
    s->timer_armed = 1;
    s->timer_at = at;
}

static sensor_radio_result_t s_send(void *u, uint8_t fport, const uint8_t *data, size_t len, int confirmed,
                                    uint32_t *retry_after)
{
    stub_t *s = (stub_t *)u;
    (void)fport;
    (void)confirmed;
    if (data == NULL || len == 0u || len > OCC_MAX_MESSAGE_BYTES) {
        violation("radio_send", "empty or oversized payload");
    }
    if (len > s->last_budget) {
        violation("radio_send", "payload longer than the budget");
    }
    s->attempts++;
    if (s->attempts <= 2u) {
        return SENSOR_RADIO_NOT_JOINED; /* the first 20 s: not joined yet */
    }
    if (s->txdone_pending || s->attempts % 5u == 3u) {
        return SENSOR_RADIO_BUSY;
    }
    if (s->attempts % 11u == 7u) {
        *retry_after = 1500u;
        return SENSOR_RADIO_DUTY_CYCLE;
    }
    if (s->attempts % 13u == 5u) {
        return SENSOR_RADIO_TOO_LONG;
    }
    s->txdone_pending = s->attempts % 17u != 9u; /* now and then the TX-done is lost */
    s->txdone_start = s->now;
    s->txdone_end = s->now + AIRTIME_MS;
    return SENSOR_RADIO_OK;
}

static size_t s_budget(void *u)
{
    static const size_t BUDGETS[3] = {11u, 51u, 242u};
    stub_t *s = (stub_t *)u;
    s->last_budget = BUDGETS[s->budget_calls++ % 3u];
    return s->last_budget;
}

static uint32_t s_battery(void *u)
{
    (void)u;
    return 3600u;
}

static int s_temp(void *u, int32_t *dc)
{
    (void)u;
    *dc = 215;
    return 1;
}

static size_t s_storage_read(void *u, uint8_t *buf, size_t cap)
{
    stub_t *s = (stub_t *)u;
    size_t n = s->storage_len < cap ? s->storage_len : cap;
    memcpy(buf, s->storage, n);
    return n;
}

static void s_storage_write(void *u, const uint8_t *buf, size_t len)
{
    stub_t *s = (stub_t *)u;
    if (len > sizeof s->storage) {
        violation("storage_write", "record longer than SENSOR_STORAGE_BYTES");
    }
    memcpy(s->storage, buf, len);
    s->storage_len = len;
}

static void s_console(void *u, const char *line)
{
    stub_t *s = (stub_t *)u;
    size_t n = strlen(line);
    if (n >= SENSOR_CONSOLE_LINE_MAX) {
        violation("console_write", "line longer than SENSOR_CONSOLE_LINE_MAX - 1");
    }
    if (s->nout >= MAX_OUT) {
        s->out_overflow = 1;
        return;
    }
    memcpy(s->out[s->nout], line, n + 1u);
    s->nout++;
}

static void s_log(void *u, const char *line)
{
    (void)u;
    if (strlen(line) >= SENSOR_CONSOLE_LINE_MAX) {
        violation("log", "line longer than SENSOR_CONSOLE_LINE_MAX - 1");
    }
}

/* ------------------------------------------------------------------------------------------- state checks */

static void check_state(const stub_t *s, const sensor_ctx_t *ctx, occ_kind_t kind)
{
    if (!s->timer_armed || s->timer_at <= s->now || s->timer_at != ctx->timer_at_ms) {
        violation("timer", "no wake-up armed in the future after a call");
    }
    if (ctx->kind != (uint8_t)kind || ctx->history_len > SENSOR_HISTORY_SLOTS || ctx->occupied > 1u ||
        ctx->raw > 1u || ctx->last_payload_len > OCC_MAX_MESSAGE_BYTES || ctx->lane_active[0] != 0u ||
        ctx->lane_active[1] != 0u) {
        violation("context", "field out of range");
    }
    if (ctx->config.interval_s != 60u || ctx->config.period_min != 360u || ctx->config.debounce_cs != 50u ||
        ctx->config.holdoff_s != 5u || ctx->config.capacity != 100u) {
        violation("context", "the console changed the configuration");
    }
    if (s->out_overflow) {
        violation("console_write", "more than MAX_OUT lines from one call");
    }
}

/* Delivers every TX-done and timer event up to t, in time order (TX-done first at equal times). */
static void advance(stub_t *s, sensor_ctx_t *ctx, occ_kind_t kind, uint64_t t)
{
    unsigned events = 0u;
    for (;;) {
        uint64_t next = UINT64_MAX;
        int which = 0;
        if (s->txdone_pending) {
            next = s->txdone_end;
            which = 1;
        }
        if (s->timer_armed && s->timer_at < next) {
            next = s->timer_at;
            which = 2;
        }
        if (which == 0 || next > t) {
            break;
        }
        if (++events > MAX_EVENTS) {
            violation("timer", "the core keeps waking up");
        }
        if (next > s->now) {
            s->now = next;
        }
        s->nout = 0u;
        if (which == 1) {
            s->txdone_pending = 0;
            sensor_on_tx_done(ctx, s->txdone_start, s->txdone_end);
        } else {
            s->timer_armed = 0;
            sensor_on_timer(ctx);
        }
        check_state(s, ctx, kind);
    }
    if (t > s->now) {
        s->now = t;
    }
}

/* ------------------------------------------------------------------------------------------- answer model */

static char up(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

/* s[0..n) is word (upper case), ignoring case. */
static int is_word(const char *s, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) {
        return 0;
    }
    for (i = 0u; i < n; i++) {
        if (up(s[i]) != word[i]) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    int ours;               /* starts with ATC+: answered */
    const char *final;      /* expected final answer */
    const char *name;       /* known command name (upper case) when the final is OK, else NULL */
} expect_t;

/* What CONSOLE.md says a line gets on a device of this kind (trailing spaces, tabs, CR and LF ignored). */
static expect_t expected_answer(const char *line, occ_kind_t kind)
{
    static const char *const NAMES[] = {"VER",     "DEVEUI",  "KIND",   "CFG",  "COUNT",   "STATE",
                                        "DETECT",  "VEHICLE", "PAYLOAD", "TXTIME", "SEND", "RESETCNT"};
    expect_t e;
    size_t n = strlen(line), name_len = 0u, arg_len = 0u, i;
    const char *name, *arg = NULL, *cmd = NULL;
    int query, bay = kind == OCC_KIND_BAY;

    e.ours = 0;
    e.final = NULL;
    e.name = NULL;
    while (n > 0u && (line[n - 1u] == ' ' || line[n - 1u] == '\t' || line[n - 1u] == '\r' || line[n - 1u] == '\n')) {
        n--;
    }
    if (n < 4u || !is_word(line, 4u, "ATC+")) {
        return e;
    }
    e.ours = 1;
    name = line + 4u;
    while (4u + name_len < n && name[name_len] != '=') {
        name_len++;
    }
    if (4u + name_len < n) {
        arg = name + name_len + 1u;
        arg_len = n - 4u - name_len - 1u;
    }
    for (i = 0u; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (is_word(name, name_len, NAMES[i])) {
            cmd = NAMES[i];
        }
    }
    query = arg != NULL && arg_len == 1u && arg[0] == '?';
    if (cmd == NULL) {
        e.final = "AT_COMMAND_NOT_FOUND";
    } else if (strcmp(cmd, "STATE") == 0 || strcmp(cmd, "DETECT") == 0) {
        if (!bay) {
            e.final = "AT_ERROR";
        } else if (strcmp(cmd, "STATE") == 0) {
            e.final = query ? "OK" : "AT_PARAM_ERROR";
        } else {
            e.final = arg != NULL && arg_len == 1u && (arg[0] == '0' || arg[0] == '1') ? "OK" : "AT_PARAM_ERROR";
        }
    } else if (strcmp(cmd, "VEHICLE") == 0) {
        if (bay) {
            e.final = "AT_ERROR";
        } else {
            e.final = arg != NULL && (is_word(arg, arg_len, "IN") || is_word(arg, arg_len, "OUT")) ? "OK"
                                                                                                   : "AT_PARAM_ERROR";
        }
    } else if (strcmp(cmd, "SEND") == 0) {
        e.final = arg != NULL && (is_word(arg, arg_len, "STATE") || is_word(arg, arg_len, "STATUS")) ? "OK"
                                                                                                       : "AT_PARAM_ERROR";
    } else if (strcmp(cmd, "RESETCNT") == 0) {
        e.final = arg == NULL ? "OK" : "AT_PARAM_ERROR";
    } else {
        e.final = query ? "OK" : "AT_PARAM_ERROR"; /* the read-only queries */
    }
    if (strcmp(e.final, "OK") == 0) {
        e.name = cmd;
    }
    return e;
}

static int is_final(const char *l)
{
    unsigned i;
    for (i = 0u; i < 4u; i++) {
        if (strcmp(l, FINALS[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_lower_hex(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static void hex_bytes(const uint8_t *b, size_t n, char *out)
{
    static const char HEX[] = "0123456789abcdef";
    size_t i;
    for (i = 0u; i < n; i++) {
        out[2u * i] = HEX[b[i] >> 4];
        out[2u * i + 1u] = HEX[b[i] & 0x0Fu];
    }
    out[2u * n] = '\0';
}

/* The value lines a successful query prints, from the context as it was before the line. */
static size_t value_lines(const char *cmd, const sensor_ctx_t *before, occ_kind_t kind,
                          char lines[][2u * OCC_MAX_MESSAGE_BYTES + 32u])
{
    if (strcmp(cmd, "VER") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+VER=%u.%u.%u,%u", SENSOR_FW_MAJOR, SENSOR_FW_MINOR, SENSOR_FW_PATCH,
                 OCC_FORMAT_VERSION);
    } else if (strcmp(cmd, "DEVEUI") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+DEVEUI=70B3D57ED0001234");
    } else if (strcmp(cmd, "KIND") == 0) {
        snprintf(lines[0], sizeof lines[0], "%s", kind == OCC_KIND_BAY ? "ATC+KIND=BAY" : "ATC+KIND=GATE");
    } else if (strcmp(cmd, "CFG") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+CFG=60,360,50,5,100,%08lx",
                 (unsigned long)occ_config_hash(60u, 360u, 50u, 5u, 100u, (uint8_t)kind));
    } else if (strcmp(cmd, "COUNT") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+COUNT=%lu,%lu,%lu,%lu", (unsigned long)before->counters.changes,
                 (unsigned long)before->counters.count_in, (unsigned long)before->counters.count_out,
                 (unsigned long)before->counters.resets);
    } else if (strcmp(cmd, "STATE") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+STATE=%u", (unsigned)before->occupied);
    } else if (strcmp(cmd, "TXTIME") == 0) {
        snprintf(lines[0], sizeof lines[0], "ATC+TXTIME=%llu,%llu", (unsigned long long)before->last_tx_start_ms,
                 (unsigned long long)before->last_tx_end_ms);
    } else if (strcmp(cmd, "PAYLOAD") == 0) {
        /* the whole payload on one line here; the caller joins the continuation lines */
        char hex[2u * OCC_MAX_MESSAGE_BYTES + 1u];
        if (before->last_payload_len == 0u) {
            snprintf(lines[0], sizeof lines[0], "ATC+PAYLOAD=");
        } else {
            hex_bytes(before->last_payload, before->last_payload_len, hex);
            snprintf(lines[0], sizeof lines[0], "ATC+PAYLOAD=%u:%s", (unsigned)before->last_fport, hex);
        }
    } else {
        return 0u; /* actions: no value line */
    }
    return 1u;
}

/* Types one line and checks the answer. */
static void type_line(stub_t *s, sensor_ctx_t *ctx, occ_kind_t kind, const char *line)
{
    static sensor_ctx_t before;
    char want[1][2u * OCC_MAX_MESSAGE_BYTES + 32u];
    char got[2u * OCC_MAX_MESSAGE_BYTES + 32u];
    expect_t e = expected_answer(line, kind);
    size_t i, nvalues = 0u, gotlen = 0u;
    int first_value = 1;

    before = *ctx;
    s->nout = 0u;
    sensor_console_line(ctx, line);
    check_state(s, ctx, kind);
    if (!e.ours) {
        if (s->nout != 0u) {
            violation("console", "a line not starting with ATC+ was answered");
        }
        return;
    }
    if (s->nout == 0u || strcmp(s->out[s->nout - 1u], e.final) != 0) {
        fprintf(stderr, "fuzz_console: line \"%s\": last answer \"%s\", expected \"%s\"\n", line,
                s->nout == 0u ? "(none)" : s->out[s->nout - 1u], e.final);
        abort();
    }
    if (e.name != NULL) {
        nvalues = value_lines(e.name, &before, kind, want);
    }
    /* everything before the final: event lines, then the value line and (PAYLOAD) continuation lines */
    got[0] = '\0';
    for (i = 0u; i + 1u < s->nout; i++) {
        const char *l = s->out[i];
        size_t n = strlen(l);
        if (is_final(l)) {
            violation("console", "more than one final answer to one line");
        }
        if (strncmp(l, "+EVT:", 5u) == 0) {
            continue;
        }
        if (nvalues == 0u) {
            fprintf(stderr, "fuzz_console: line \"%s\": unexpected answer line \"%s\"\n", line, l);
            abort();
        }
        if (!first_value && (strcmp(e.name, "PAYLOAD") != 0 || !is_lower_hex(l))) {
            violation("console", "a value line after the first that is not a PAYLOAD continuation");
        }
        if (gotlen + n >= sizeof got) {
            violation("console", "value lines longer than any payload");
        }
        memcpy(got + gotlen, l, n + 1u);
        gotlen += n;
        first_value = 0;
    }
    if (nvalues != 0u && strcmp(got, want[0]) != 0) {
        fprintf(stderr, "fuzz_console: line \"%s\": answer \"%s\", expected \"%s\"\n", line, got, want[0]);
        abort();
    }
}

/* ------------------------------------------------------------------------------------------- driver */

static void run_device(occ_kind_t kind, const uint8_t *data, size_t size)
{
    static stub_t s;
    static sensor_ctx_t ctx;
    static const char *const AFTER[] = {"ATC+VER=?", "ATC+KIND=?", "ATC+CFG=?"};
    sensor_hal_t h;
    char line[SENSOR_CONSOLE_LINE_MAX];
    size_t n = 0u, i;

    memset(&s, 0, sizeof s);
    memset(&h, 0, sizeof h);
    h.user = &s;
    h.now_ms = s_now;
    h.set_timer = s_set_timer;
    h.radio_send = s_send;
    h.payload_budget = s_budget;
    h.battery_mv = s_battery;
    h.temperature_dc = s_temp;
    h.storage_read = s_storage_read;
    h.storage_write = s_storage_write;
    h.console_write = s_console;
    h.log = s_log;
    sensor_init(&ctx, &h, kind, EUI, OCC_RESET_POWER_ON);
    check_state(&s, &ctx, kind);
    if (s.nout != 2u || strcmp(s.out[0], "OCCUPANCY SENSOR v1.0.0 payload format 1") != 0 ||
        strcmp(s.out[1], kind == OCC_KIND_BAY ? "KIND BAY DEVEUI 70B3D57ED0001234 RESET power_on"
                                              : "KIND GATE DEVEUI 70B3D57ED0001234 RESET power_on") != 0) {
        violation("boot", "banner differs from CONSOLE.md");
    }

    for (i = 0u; i < size; i++) {
        char c = (char)data[i];
        if (c == '\n') {
            line[n] = '\0';
            advance(&s, &ctx, kind, s.now + (n == 0u ? EMPTY_LINE_STEP_MS : LINE_STEP_MS));
            type_line(&s, &ctx, kind, line);
            n = 0u;
        } else if (n + 1u < sizeof line) {
            line[n++] = c;
        }
    }
    /* a LF ends any partial line; then valid commands still get their answers */
    line[n] = '\0';
    advance(&s, &ctx, kind, s.now + LINE_STEP_MS);
    type_line(&s, &ctx, kind, line);
    for (i = 0u; i < sizeof AFTER / sizeof AFTER[0]; i++) {
        advance(&s, &ctx, kind, s.now + LINE_STEP_MS);
        s.nout = 0u;
        type_line(&s, &ctx, kind, AFTER[i]);
        if (s.nout < 2u || strcmp(s.out[s.nout - 1u], "OK") != 0) {
            violation("after the input", "a valid query was not answered OK");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT) {
        size = FUZZ_MAX_INPUT;
    }
    run_device(OCC_KIND_BAY, data, size);
    run_device(OCC_KIND_GATE, data, size);
    return 0;
}
