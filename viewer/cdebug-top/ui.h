/* ui.h - cdebug-top's two front ends.
 *
 * ui_tty.c: the ncurses screen (one column per service, one panel per var
 * with a sparkline, current and max values, status markers; q quits).
 * ui_dummy.c: -dummy, plain lines on stdout for scripts and logs.
 * Both run on the main thread only.
 */
#ifndef CDEBUG_TOP_UI_H
#define CDEBUG_TOP_UI_H

#include <stdbool.h>
#include <stdio.h>

#include "app.h"

/* Takes over the terminal. Fails (message in err) when stdin or stdout is
 * not a terminal or the terminal type is unknown. */
int top_tty_init(char *err, size_t errlen);

/* Redraws everything from app. Cost: O(services x vars x width). */
void top_tty_draw(const top_app *app);

/* Consumes pending key presses; returns true when the user asked to quit. */
bool top_tty_input(void);

/* Adopts the terminal's new size (after SIGWINCH); the caller redraws. */
void top_tty_resize(void);

/* Gives the terminal back. Safe to call when init failed. */
void top_tty_end(void);

/* Prints one completed round:
 *   15:04:05 02/01
 *   127.0.0.1:6060: memstats.Alloc: 1.2MB, requests: 1234, missing: n/a
 *   127.0.0.1:6061: failed: connection refused
 *   127.0.0.1:6062: restarted: memstats.NumGC went backwards (12 -> 3)
 * (the restarted line comes before that service's values, once). */
void top_dummy_round(FILE *out, const top_app *app);

#endif
