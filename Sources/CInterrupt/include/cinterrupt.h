#ifndef CINTERRUPT_H
#define CINTERRUPT_H
/* SIGINT and SIGTERM for loraharness: a flag the work loops poll, and temporary files removed on the way out. */

/* Installs the handlers. graceful != 0: the first signal only sets the flag (the command finishes what it can and
 * exits); graceful == 0: the first signal removes the registered temporary files and exits at once with 128 + the
 * signal. In both modes a second signal does the latter. */
void lh_interrupt_install(int graceful);
/* The signal received (SIGINT 2, SIGTERM 15), or 0. */
int lh_interrupt_signal(void);
/* Registers a temporary file to remove on an immediate exit; returns a slot, or -1 when all are taken. */
int lh_temp_register(const char *path);
void lh_temp_unregister(int slot);
/* mkstemp(template) and lh_temp_register of the name it made, with SIGINT and SIGTERM blocked in between, so that
 * no signal can end the process with the file made and not yet registered. Returns the descriptor (or -1, errno
 * set) and stores the slot (-1 when none was free). */
int lh_temp_create(char *template_path, int *slot);
/* Flushes C's standard output; returns 0, or the errno of a write that failed now or earlier (ferror). */
int lh_flush_stdout(void);
#endif
