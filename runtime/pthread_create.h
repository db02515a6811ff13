/* runtime/pthread_create.h - every thread the program creates, seen.
 *
 * libcdebug defines pthread_create. A program linked with it (or a library
 * it loads: libmicrohttpd, bdwgc's parallel markers, the program's own
 * pools) gets cdebug's, which forwards to the next definition in the
 * process (glibc's, or a sanitizer's interceptor) with a start routine of
 * its own: the new thread joins the thread registry (runtime/thread.h) as
 * CD__THREAD_PTHREAD, with the creating stack for the threadcreate
 * profile, before it runs the program's routine, and leaves it when it
 * exits (a thread-specific-data destructor, so on return, pthread_exit and
 * cancellation alike). The layers above see it through the registry's
 * hooks: the CPU profiler arms its timer as for any kit thread.
 *
 * The one change it makes to the new thread: SIGPROF is unblocked, so the
 * CPU profiler samples it (bdwgc's markers start with every signal
 * blocked). It never changes the thread's attributes or its other signals,
 * never registers it with bdwgc (cd_thread_register still does that), or fail a
 * creation the next pthread_create would have made: when its own small
 * allocation fails, the thread is created unseen.
 *
 * Limits. A thread created before libcdebug's constructor ran is seen only
 * if it was created through this function (which a loaded libcdebug
 * provides from the start); one made with clone(2) directly, or by code
 * bound to glibc's pthread_create by symbol version or -Bsymbolic, is not:
 * prof/cpuprof.c finds those in /proc/self/task. In a fully static
 * executable there is no next definition to forward to. A TSan build wraps
 * nothing (TSan's own start routine must run first in a new thread) and
 * scans nothing (its background thread must not take SIGPROF): there only
 * the kit's threads and cd_thread_register'ed ones are seen.
 */
#ifndef CDEBUG_RUNTIME_PTHREAD_CREATE_H
#define CDEBUG_RUNTIME_PTHREAD_CREATE_H

#include <pthread.h>

/* pthread_create for the kit's own threads, which register themselves
 * with their own kind (cd__thread_spawn): the call goes through the
 * program's binding of pthread_create (a sanitizer's interceptor first,
 * when one comes before libcdebug, so that it knows the thread), and
 * cdebug's definition, when reached, forwards it unwrapped. Returns what
 * pthread_create returns (0 or an errno value). Thread-safe; not
 * async-signal-safe. */
int cd__pthread_create_kit(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg);

#endif /* CDEBUG_RUNTIME_PTHREAD_CREATE_H */
