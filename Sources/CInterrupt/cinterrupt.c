#include "cinterrupt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Only async-signal-safe calls in the handler (POSIX.1-2017, signal-safety(7)): unlink and _exit. */
#define LH_SLOTS 64
#define LH_PATH 4096
static volatile sig_atomic_t received = 0;
static volatile sig_atomic_t graceful_mode = 1;
static volatile sig_atomic_t used[LH_SLOTS];
static char paths[LH_SLOTS][LH_PATH];

static void remove_temporaries(void) {
    for (int i = 0; i < LH_SLOTS; i++) {
        if (used[i]) unlink(paths[i]);
    }
}

static void on_signal(int sig) {
    if (received || !graceful_mode) {
        remove_temporaries();
        static const char interrupted[] = "error: stopped by SIGINT\n";
        static const char terminated[] = "error: stopped by SIGTERM\n";
        if (sig == SIGINT) (void)!write(2, interrupted, sizeof interrupted - 1);
        else (void)!write(2, terminated, sizeof terminated - 1);
        _exit(128 + sig);
    }
    received = sig;
}

void lh_interrupt_install(int graceful) {
    graceful_mode = graceful ? 1 : 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read returns EINTR on the thread that took the signal */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int lh_interrupt_signal(void) { return received; }

int lh_temp_register(const char *path) {
    size_t n = strlen(path);
    if (n >= LH_PATH) return -1;
    for (int i = 0; i < LH_SLOTS; i++) {
        if (!used[i]) {
            memcpy(paths[i], path, n + 1);
            used[i] = 1;
            return i;
        }
    }
    return -1;
}

void lh_temp_unregister(int slot) {
    if (slot >= 0 && slot < LH_SLOTS) used[slot] = 0;
}

int lh_flush_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) return errno ? errno : EIO;
    return 0;
}
