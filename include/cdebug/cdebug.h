/* cdebug/cdebug.h - umbrella header: include this one.
 *
 * cdebug gives C programs the diagnostics Go programs get from their runtime.
 * See README.md and docs/cdebug.md.
 */
#ifndef CDEBUG_CDEBUG_H
#define CDEBUG_CDEBUG_H

#include <cdebug/runtime.h>
#include <cdebug/sched.h>

#endif /* CDEBUG_CDEBUG_H */
