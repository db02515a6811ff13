/* base/crc.h - the CRC-32 that frames every record of a trace file
 * (docs/trace-format.md): computed by the writer, checked by the reader.
 *
 * It is the CRC-32 of zlib, gzip and PNG (reflected polynomial 0xedb88320,
 * initial and final inversion); zlib's crc32() gives the same values, and
 * the tests' trace generators use it, so every reader test also checks
 * this one against an independent implementation.
 *
 * libdeflate's, not zlib's, because on a trace it is paid per byte on the
 * two paths that matter: the writer's thread shares the cores with the
 * traced program, and the reader CRCs each byte of a file it is asked to
 * read at memory speed. libdeflate folds with carry-less multiplication
 * (PCLMULQDQ, chosen at run time by the CPU's features): 0.8 ns an event
 * of a scheduler trace against zlib 1.2.13's 4.2 on the reference machine
 * (bench_trace_floors). With it the reader passes 10-13% more events per
 * second, and the writer's thread, which spent 45% of its time in zlib's
 * CRC behind a two-thread annotation loop, takes half the CPU it took.
 *
 * Pure; thread-safe; not async-signal-safe in principle (libdeflate picks
 * its implementation on the first call; no caller runs in a signal
 * handler). Cost: about 0.1 ns a byte, plus a few ns a call. */
#ifndef CDEBUG_BASE_CRC_H
#define CDEBUG_BASE_CRC_H

#include <stddef.h>
#include <stdint.h>

#include <libdeflate.h>

/* The CRC-32 of p[0..n). */
static inline uint32_t cd__crc32(const void *p, size_t n)
{
    return libdeflate_crc32(0, p, n);
}

#endif /* CDEBUG_BASE_CRC_H */
