#ifndef LORAHARNESS_CPTY_H
#define LORAHARNESS_CPTY_H
#include <stddef.h>

/* Opens a pseudo-terminal master (non-blocking, close-on-exec), grants and unlocks its slave, and writes the
 * slave's path into `name`. Returns the master's file descriptor, or -1 with errno set. */
int lh_open_pty(char *name, size_t cap);

#endif
