/* zlib (Debian: zlib1g-dev), found through pkg-config `zlib`: gzip traces are read directly. */
#include <zlib.h>
