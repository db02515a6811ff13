/* app.h - the state cdebug-top's front ends draw: options, vars, services,
 * the CSV recorder. Owned and mutated by the single main thread (main.c);
 * front ends only read it (except clearing per-round markers). */
#ifndef CDEBUG_TOP_APP_H
#define CDEBUG_TOP_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "csv.h"
#include "flags.h"
#include "service.h"
#include "vars_path.h"

typedef struct top_app {
    top_opts opts;
    top_var *vars;
    size_t nvars;
    top_service *svcs;
    size_t nsvcs;
    top_csv csv;                  /* csv.f == NULL when not recording */
    struct timespec last_round;   /* wall clock of the last completed round */
    uint64_t rounds;
} top_app;

#endif
