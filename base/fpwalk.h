/* base/fpwalk.h - stack traces by walking frame pointers, safe inside a
 * signal handler.
 *
 * cdebug and the programs it profiles are built with -fno-omit-frame-pointer
 * (x86-64: each frame starts with the caller's rbp, then the return
 * address; aarch64: the same frame record of x29 and x30). The walk follows
 * that chain. Code without frame pointers (most of libc, libdw,
 * libmicrohttpd) uses the register for data, often a pointer into its own
 * stack, so the chain it leaves is garbage: the walk must stop on it, never
 * fault, and gives a truncated stack.
 *
 * Bounds. A thread's stack is walked only by that thread: from its own
 * frame (cd__fpwalk_here) or from a signal handler's context
 * (cd__fpwalk_ucontext; prof/threadstack.h asks another thread's stack by
 * signalling it). The walk reads only inside the stack it starts on, from
 * the starting frame or stack pointer up to that stack's top:
 *   - the thread's stack, whose bounds were read when the thread
 *     registered (cd__fpwalk_thread_init);
 *   - or the signal alternate stack (sigaltstack), when the walk starts on
 *     it (a handler installed with SA_ONSTACK, or code it interrupted). A
 *     handler's first frame links to the code it interrupted, on the
 *     thread's stack, so such a walk may go on there, once, within the
 *     part of the thread's stack known to be mapped (below).
 * A stack pointer just below the thread's stack (by at most
 * CD__FPWALK_OVERFLOW, and not on the alternate stack) is an overflow
 * caught on the alternate stack (the crash report): the walk reads the
 * thread's stack from its end, [lo, top). A thread's stack is mapped whole;
 * the main thread's grew to its limit to overflow, so at most the few
 * pages its arguments and environment take at the top are missing at the
 * bottom, where only a garbage frame pointer would lead.
 * A frame pointer outside the current stack, not 8-byte aligned, or not
 * above the previous one ends the walk. A walk that starts on neither
 * stack (a coroutine's stack of the program's own) gives no frames.
 *
 * The main thread. pthread_getattr_np reports the most its stack may grow
 * to (the stack rlimit below the top), not what is mapped; a load below
 * the mapping faults or grows it. Every load of a walk that starts there is
 * above the stack pointer, so mapped; a walk coming from the alternate
 * stack may enter the main thread's stack only above the deepest point a
 * walk or the registration has seen it mapped. A program that puts its
 * alternate stack inside its thread stack (a local array) has it treated as
 * the thread's stack: the handler's frames are walked, not the interrupted
 * ones below them.
 *
 * Sanitizers. The words a walk loads are raw stack memory: through a
 * garbage frame pointer, a redzone ASan poisons between the locals of a
 * live frame, or a local another thread writes (its address was shared).
 * cd__fpwalk_load reads them without instrumentation; ASan's fake stacks
 * (detect_stack_use_after_return) hold locals only, never the frame
 * records, so they change nothing.
 *
 * Depth is capped by the caller's buffer (CD__FPWALK_MAX frames at most).
 * Async-signal-safe: no allocation, no lock, no library call but
 * sigaltstack(2) (in glibc a bare system call) when a walk starts outside
 * the thread's stack.
 */
#ifndef CDEBUG_BASE_FPWALK_H
#define CDEBUG_BASE_FPWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CD__FPWALK_MAX 64 /* deepest stack recorded; deeper ones are cut */

/* How far below its stack a stack pointer may be and still be the
 * thread's, overflowed: a frame that crossed the guard page. */
#define CD__FPWALK_OVERFLOW (64 * 1024)

/* Records the calling thread's stack bounds (pthread_getattr_np) in
 * thread-local storage. Call once per thread before walking in it (the
 * thread registry does it for every thread it registers). Not
 * async-signal-safe. Returns 0 or a negative errno. */
int cd__fpwalk_thread_init(void);

/* The stack of the interrupted code, from a signal handler's ucontext
 * (void *: ucontext_t *) on the interrupted thread: out[0] is the
 * interrupted pc, then return addresses. Returns the number of frames
 * stored (<= max): 0 when the thread's bounds are unknown, 1 (the pc)
 * when the interrupted stack pointer is on neither the thread's stack nor
 * the alternate stack. Async-signal-safe. */
size_t cd__fpwalk_ucontext(const void *uc, uintptr_t *out, size_t max);

/* The interrupted pc of a signal handler's context (void *: ucontext_t
 * *); 0 on the architectures cdebug does not walk. Async-signal-safe; a
 * load. */
uintptr_t cd__fpwalk_pc(const void *uc);

/* Whether [lo, hi) is readable code within one mapping: the caller's test
 * (a table of the executable mappings, /proc/self/maps), async-signal-safe
 * where cd__fpwalk_fix_leaf is called from a handler. */
typedef bool cd__fpwalk_code_fn(uintptr_t lo, uintptr_t hi);

/* Repairs a walk from a signal handler's context (cd__fpwalk_ucontext's
 * out[0..n), n >= 1: out[0] the interrupted pc) stopped in a frameless
 * leaf. GCC (12) gives no frame to a leaf function that needs no stack,
 * even with -fno-omit-frame-pointer, and so does hand-written or libc
 * code: the walk then starts at the caller's frame and misses the leaf's
 * caller (a profile charges the leaf's time to its caller's caller, a
 * crash report skips a frame). The return address is then the word at the
 * stack pointer, as it is at a function's first instruction and at its
 * `ret`. It is inserted as out[1] when it is a return address: is_code
 * says the 6 bytes before it are readable code, they end with a call
 * instruction, and the walk did not already find it there. The bytes are
 * copied with a read that fails rather than faults on an unmapped address
 * (process_vm_readv), so a table older than a dlclose costs a missed
 * repair, never a crash. A framed
 * function's lowest stack slot is a local or the saved frame pointer,
 * which almost never passes both tests. The word is read only where it is
 * mapped: the stack pointer lies in the thread's known stack or its
 * alternate stack (not past the stack's end, as after an overflow), or,
 * the thread's bounds unknown, the handler runs on the interrupted stack
 * below it (the kernel wrote the signal frame between; never from the
 * alternate stack, which may lie right below an overflowed stack).
 * Returns the new count (<= max; the
 * outermost frame drops when out is full). x86-64 only (on aarch64 the
 * leaf's caller is in x30, not yet used): elsewhere returns n.
 * Async-signal-safe when is_code is; a load, is_code, one system call. */
size_t cd__fpwalk_fix_leaf(const void *uc, uintptr_t *out, size_t n, size_t max,
                           cd__fpwalk_code_fn *is_code);

/* The calling code's stack: out[0] is the return address of the caller of
 * the function that calls cd__fpwalk_here, after `skip` more frames. 0
 * frames when the thread's bounds are unknown or it runs on neither its
 * stack nor the alternate stack. Async-signal-safe. */
size_t cd__fpwalk_here(uintptr_t *out, size_t max, unsigned skip);

/* One word of a stack frame, at addr: the caller has checked that addr is
 * 8-byte aligned and lies in a stack the calling thread runs on (its own
 * stack above its stack pointer, or its alternate stack), so mapped, and
 * the load cannot fault. Not instrumented by ASan or TSan, on purpose: the
 * word may be one ASan poisons (a redzone of a live frame, reached through
 * a frame pointer that code without frame pointers used for data) or one
 * another thread is writing (a local whose address was shared). The value
 * is only stored as a pc or checked as the next frame pointer, never
 * dereferenced unchecked. A thread never reads another thread's stack
 * here. Async-signal-safe; a load. */
__attribute__((no_sanitize("address", "thread"))) static inline uintptr_t
cd__fpwalk_load(uintptr_t addr)
{
    return *(const uintptr_t *)addr;
}

#endif /* CDEBUG_BASE_FPWALK_H */
