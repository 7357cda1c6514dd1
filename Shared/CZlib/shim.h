// zlib (Debian's zlib1g-dev): SPDY/3 header blocks are deflated with a preset dictionary.
#include <zlib.h>
