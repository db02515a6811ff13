/* base/clock.c - the one variable of clock.h: when the runtime started. */
#include "base/clock.h"

uint64_t cd__start_nanotime;
