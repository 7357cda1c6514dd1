// The PostgreSQL parser as a C library: Debian's libpg-query-dev (PostgreSQL 15's grammar).
#include <pg_query.h>
