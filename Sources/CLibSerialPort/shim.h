/* libserialport (Debian: libserialport-dev), found through pkg-config `libserialport`. */
#include <libserialport.h>
