#include "cinterrupt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
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

/* A temporary file being made and registered (on any thread), and a signal's exit that waits for it: a signal
 * delivered to another thread between mkstemp and the registration would otherwise leave the file behind.
 * Lock-free atomics are async-signal-safe. */
static atomic_int creating = 0;
static atomic_int exiting = 0;
static atomic_int deferred = 0;

static void exit_now(int sig) {
    remove_temporaries();
    static const char interrupted[] = "error: stopped by SIGINT\n";
    static const char terminated[] = "error: stopped by SIGTERM\n";
    if (sig == SIGINT) (void)!write(2, interrupted, sizeof interrupted - 1);
    else (void)!write(2, terminated, sizeof terminated - 1);
    _exit(128 + sig);
}

static void on_signal(int sig) {
    if (received || !graceful_mode) {
        atomic_store(&exiting, 1);
        if (atomic_load(&creating) > 0) {
            /* The thread making a file exits once it is registered. */
            atomic_store(&deferred, sig);
            return;
        }
        exit_now(sig);
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

int lh_temp_create(char *template_path, int *slot) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    atomic_fetch_add(&creating, 1);
    if (atomic_load(&exiting)) {
        /* Another thread's handler is removing the files and exiting: make none. */
        atomic_fetch_sub(&creating, 1);
        int sig = atomic_load(&deferred);
        if (sig) exit_now(sig);
        for (;;) pause();
    }
    int fd = mkstemp(template_path);
    int saved = errno;
    *slot = fd >= 0 ? lh_temp_register(template_path) : -1;
    int left = atomic_fetch_sub(&creating, 1) - 1;
    int sig = atomic_load(&deferred);
    if (sig && left == 0) exit_now(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return fd;
}

int lh_flush_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) return errno ? errno : EIO;
    return 0;
}
