/* prof/fpwalk.h - stack traces by walking frame pointers, safe inside a
 * signal handler.
 *
 * cdebug and the programs it profiles are built with -fno-omit-frame-pointer
 * (x86-64: each frame starts with the caller's rbp, then the return
 * address; aarch64: the same frame record of x29 and x30). The walk follows
 * that chain and stops at the first frame pointer that is not inside the
 * thread's stack, not 8-byte aligned, or not above the previous one, so code
 * without frame pointers
 * gives a truncated stack, never a fault: every load is from the thread's
 * own stack, whose bounds were read when the thread registered
 * (cd__fpwalk_thread_init). Depth is capped by the caller's buffer
 * (CD__FPWALK_MAX frames at most).
 *
 * Async-signal-safe: no allocation, no lock, no library call.
 */
#ifndef CDEBUG_PROF_FPWALK_H
#define CDEBUG_PROF_FPWALK_H

#include <stddef.h>
#include <stdint.h>

#define CD__FPWALK_MAX 64 /* deepest stack recorded; deeper ones are cut */

/* Records the calling thread's stack bounds (pthread_getattr_np) in
 * thread-local storage. Call once per thread before walking in it (the
 * thread registry does it for every thread it registers). Not
 * async-signal-safe. Returns 0 or a negative errno. */
int cd__fpwalk_thread_init(void);

/* The stack of the interrupted code, from a signal handler's ucontext
 * (void *: ucontext_t *): out[0] is the interrupted pc, then return
 * addresses. Returns the number of frames stored (<= max). 0 when the
 * thread's bounds are unknown. Async-signal-safe. */
size_t cd__fpwalk_ucontext(const void *uc, uintptr_t *out, size_t max);

/* The calling code's stack: out[0] is the return address of the caller of
 * the function that calls cd__fpwalk_here, after `skip` more frames.
 * Async-signal-safe. */
size_t cd__fpwalk_here(uintptr_t *out, size_t max, unsigned skip);

#endif /* CDEBUG_PROF_FPWALK_H */
