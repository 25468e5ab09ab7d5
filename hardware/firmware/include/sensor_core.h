/*
 * Occupancy sensor firmware core: the sensor logic of both kinds (bay sensor, gate counter), written against a
 * small hardware abstraction (HAL). The same code runs on the board (RAK3172 / STM32WL under RUI3, see
 * PORTING.md) and inside the simulator, which provides the HAL on a virtual clock.
 *
 * C99. No heap, no floating point, no static mutable state: everything a device holds lives in its
 * sensor_ctx_t, so thousands of devices run side by side in one process and on several threads.
 *
 * Time is the HAL's monotonic millisecond clock since start (now_ms). The core never sleeps or blocks: it asks
 * for one wake-up (set_timer) and the HAL calls sensor_on_timer at or after that time.
 */
#ifndef SENSOR_CORE_H
#define SENSOR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "occupancy_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SENSOR_FW_MAJOR 1u
#define SENSOR_FW_MINOR 0u
#define SENSOR_FW_PATCH 0u
#define SENSOR_HISTORY_SLOTS 31u
#define SENSOR_CONSOLE_LINE_MAX 160u
#define SENSOR_STORAGE_BYTES 64u

/* What the radio says to a send request. */
typedef enum {
    SENSOR_RADIO_OK = 0,          /* accepted: the frame will be sent; sensor_on_tx_done follows */
    SENSOR_RADIO_BUSY = 1,        /* a transmission or receive window is in progress: try again later */
    SENSOR_RADIO_DUTY_CYCLE = 2,  /* the duty cycle forbids sending now; *retry_after_ms says for how long */
    SENSOR_RADIO_NOT_JOINED = 3,  /* no network session yet */
    SENSOR_RADIO_TOO_LONG = 4,    /* longer than the current data rate allows (should not happen: see payload_budget) */
    SENSOR_RADIO_ERROR = 5        /* anything else */
} sensor_radio_result_t;

typedef struct {
    void *user; /* passed back to every call */
    /* Monotonic milliseconds since the device started. */
    uint64_t (*now_ms)(void *user);
    /* One wake-up: the HAL calls sensor_on_timer at or after at_ms. A later call replaces the earlier one. */
    void (*set_timer)(void *user, uint64_t at_ms);
    /* Sends an application payload. On SENSOR_RADIO_DUTY_CYCLE, *retry_after_ms holds the wait (0 if unknown). */
    sensor_radio_result_t (*radio_send)(void *user, uint8_t fport, const uint8_t *data, size_t len, int confirmed,
                                        uint32_t *retry_after_ms);
    /* Application bytes the next uplink may carry at the current data rate (after pending FOpts). */
    size_t (*payload_budget)(void *user);
    /* Battery voltage in mV, 0 when not measured. */
    uint32_t (*battery_mv)(void *user);
    /* Temperature in tenths of a degree Celsius; returns 0 when not measured, 1 when *dc holds a value. */
    int (*temperature_dc)(void *user, int32_t *dc);
    /* Persistent storage (survives resets): read returns the number of bytes read (0 when empty). */
    size_t (*storage_read)(void *user, uint8_t *buf, size_t cap);
    void (*storage_write)(void *user, const uint8_t *buf, size_t len);
    /* One line of console output (without line terminator); the HAL adds CR LF. */
    void (*console_write)(void *user, const char *line);
    /* Diagnostic log line (may be NULL). */
    void (*log)(void *user, const char *line);
} sensor_hal_t;

/* Configuration; changed by downlinks (PAYLOAD.md section 5), defaults in PAYLOAD.md section 6. */
typedef struct {
    uint32_t interval_s;   /* minimum time between two state reports */
    uint32_t period_min;   /* heartbeat (status) period */
    uint32_t debounce_cs;  /* a raw detection must hold this long (hundredths of a second) to count */
    uint32_t holdoff_s;    /* after a counted change, raw changes are ignored this long */
    uint32_t capacity;     /* places at the site (kept, hashed, reported by the console) */
} sensor_config_t;

/* Counters kept in persistent storage across resets. */
typedef struct {
    uint32_t changes;      /* bay: accepted state changes */
    uint32_t count_in;     /* gate: vehicles in */
    uint32_t count_out;    /* gate: vehicles out */
    uint32_t resets;       /* resets since the counters were last reset */
} sensor_counters_t;

typedef struct {
    uint32_t at_s;         /* device seconds (now_ms / 1000) when the change or snapshot happened */
    uint32_t count_in;     /* gate snapshot */
    uint32_t count_out;
    uint8_t occupied;      /* bay: state after the change */
} sensor_event_t;

/* Everything one device holds. Treat as opaque; the fields are public only so it can live anywhere. */
typedef struct {
    sensor_hal_t hal;
    uint8_t kind;                  /* occ_kind_t */
    uint8_t dev_eui[8];
    sensor_config_t config;
    sensor_counters_t counters;
    uint8_t reset_cause;           /* occ_reset_cause_t of the current start */
    /* bay: debounced state and the raw input */
    uint8_t occupied;
    uint8_t raw;
    uint64_t raw_since_ms;
    uint64_t holdoff_until_ms;
    /* gate: per lane (0 in, 1 out), whether a vehicle is in front of the detector and since when */
    uint8_t lane_active[2];
    uint64_t lane_since_ms[2];
    uint64_t lane_holdoff_until_ms[2];
    /* history ring: bay changes or gate report snapshots, newest last */
    sensor_event_t history[SENSOR_HISTORY_SLOTS];
    uint8_t history_len;
    /* reporting */
    uint8_t report_pending;        /* a state report waits to be sent */
    uint8_t boot_pending;
    uint8_t status_pending;
    uint8_t ack_pending;
    uint8_t ack_seq, ack_command, ack_result;
    uint64_t last_report_ms;       /* when the last state report was accepted by the radio */
    uint64_t next_heartbeat_ms;
    uint64_t retry_at_ms;          /* when a refused send is tried again (0: none) */
    uint32_t retries;              /* refused send attempts, total */
    uint32_t uplinks;              /* sends accepted by the radio, total */
    uint64_t time_offset_s;        /* set_time: unix time = offset + now_ms / 1000 (0: unknown) */
    uint8_t base_form_only;        /* the radio refused a payload as too long: send the next one without history */
    /* last transmission, for the console */
    uint8_t last_fport;
    uint8_t last_payload[OCC_MAX_MESSAGE_BYTES];
    uint8_t last_payload_len;
    uint64_t last_tx_start_ms, last_tx_end_ms;
    /* added by src/sensor_core.c (bookkeeping of the send and report logic) */
    uint8_t tx_busy;               /* a frame accepted by the radio has not reported sensor_on_tx_done yet */
    uint64_t tx_accepted_ms;       /* when it was accepted (after 60 s without TX done, the radio is assumed free) */
    uint8_t reported_once;         /* a state report was accepted since the start: last_report_ms is valid */
    uint8_t report_forced;         /* the pending state report ignores the interval (ATC+SEND=STATE) */
    uint32_t ack_config_hash;      /* config_ack: the configuration hash after the command */
    uint64_t timer_at_ms;          /* the wake-up last given to hal.set_timer */
} sensor_ctx_t;

/* Starts the device: loads the counters from storage (a missing or damaged record starts from zero), counts
 * the reset, prints the boot banner, queues the boot message (and tries to send it at once), schedules the
 * heartbeat. The HAL is copied into the context. `dev_eui` is 8 bytes, big-endian. */
void sensor_init(sensor_ctx_t *ctx, const sensor_hal_t *hal, occ_kind_t kind, const uint8_t dev_eui[8],
                 occ_reset_cause_t cause);

/* The raw detector input of a bay sensor changed (1: something above the sensor). */
void sensor_on_detection(sensor_ctx_t *ctx, int raw_occupied);

/* A gate counter's detector saw the start (active = 1) or end (0) of a vehicle on lane 0 (in) or 1 (out). */
void sensor_on_vehicle(sensor_ctx_t *ctx, int lane, int active);

/* The timer set through hal.set_timer has expired. */
void sensor_on_timer(sensor_ctx_t *ctx);

/* The radio finished a transmission that started at start_ms and ended at end_ms (milliseconds, HAL clock). */
void sensor_on_tx_done(sensor_ctx_t *ctx, uint64_t start_ms, uint64_t end_ms);

/* A downlink arrived: commands on FPort 11 are applied and acknowledged with config_ack. */
void sensor_on_downlink(sensor_ctx_t *ctx, uint8_t fport, const uint8_t *data, size_t len);

/* One line typed on the serial console (without terminator). Answers go to hal.console_write, the final answer
 * (OK, AT_ERROR, AT_PARAM_ERROR, AT_COMMAND_NOT_FOUND) last; lines not starting with ATC+ get no answer
 * (hardware/CONSOLE.md). */
void sensor_console_line(sensor_ctx_t *ctx, const char *line);

/* Factory provisioning: replaces the configuration (the ranges of PAYLOAD.md section 5 apply, else nothing
 * changes and 0 is returned), stores it with the counters, restarts the heartbeat period from now. No uplink. */
int sensor_provision(sensor_ctx_t *ctx, const sensor_config_t *config);

/* The configuration hash (PAYLOAD.md section 6) of the current configuration. */
uint32_t sensor_config_hash(const sensor_ctx_t *ctx);

#ifdef __cplusplus
}
#endif

#endif /* SENSOR_CORE_H */
