/* reader/reader_io.c - the reader's input: buffered fd or memory, record
 * framing (kind, length, payload, CRC) and truncation.
 *
 * The fd path reads sequentially into one buffer that grows only when it is
 * full of bytes actually read, so a record claiming 64 MiB in a 100-byte
 * file costs no 64 MiB allocation: memory is at most twice the bytes really
 * present (plus the initial buffer: 256 KiB, less for a small regular
 * file). Memory input is used in place. It is an input window (consumed
 * from the front, refilled by read(2), its bytes viewed in place by the
 * decoder), not an output buffer: base/buf.h's does not fit it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc.h"
#include "reader/reader_int.h"

#define IO_INITIAL_CAP (256u * 1024)
#define IO_MIN_CAP     4096u

void cd__tr_io_init_mem(cd__tr_io *io, const void *data, size_t len)
{
    memset(io, 0, sizeof(*io));
    io->fd = -1;
    io->eof = true;
    io->data = data;
    io->end = len;
}

int cd__tr_io_init_fd(cd__tr_io *io, int fd, bool own_fd)
{
    memset(io, 0, sizeof(*io));
    io->fd = fd;
    io->own_fd = own_fd;
    /* A small regular file gets a small buffer (it still grows if the file
     * does, e.g. one still being written). */
    size_t cap = IO_INITIAL_CAP;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size < IO_INITIAL_CAP - IO_MIN_CAP)
        cap = IO_MIN_CAP + (size_t)st.st_size;
    io->buf = malloc(cap);
    if (io->buf == NULL)
        return -ENOMEM;
    io->cap = cap;
    io->data = io->buf;
    return 0;
}

void cd__tr_io_free(cd__tr_io *io)
{
    if (io->own_fd && io->fd >= 0)
        close(io->fd);
    free(io->buf);
    memset(io, 0, sizeof(*io));
    io->fd = -1;
}

/* One read(2) into the free tail of the buffer, which must not be empty. */
static int fill(cd__tr_io *io)
{
    for (;;) {
        ssize_t n = read(io->fd, io->buf + io->end, io->cap - io->end);
        if (n > 0) {
            io->end += (size_t)n;
            return 0;
        }
        if (n == 0) {
            io->eof = true;
            return 0;
        }
        if (errno != EINTR)
            return errno > 0 ? -errno : -EIO;
    }
}

int cd__tr_io_need(cd__tr_io *io, size_t n)
{
    while (io->end - io->pos < n) {
        if (io->eof)
            return 0;
        if (io->pos > 0) { /* keep the unread tail, drop the rest */
            memmove(io->buf, io->buf + io->pos, io->end - io->pos);
            io->end -= io->pos;
            io->pos = 0;
        }
        if (io->end == io->cap) {
            /* Full of real data and still short: double. Growth is driven
             * by bytes read, never by the claimed n. */
            size_t ncap = io->cap * 2;
            uint8_t *nb = realloc(io->buf, ncap);
            if (nb == NULL)
                return -ENOMEM;
            io->buf = nb;
            io->data = nb;
            io->cap = ncap;
        }
        int rc = fill(io);
        if (rc < 0)
            return rc;
    }
    return 1;
}

void cd__tr_io_consume(cd__tr_io *io, size_t n)
{
    io->pos += n;
    io->offset += n;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int cd__tr_io_record(cd__tr_io *io, cd__tr_record *rec, char *err, size_t errlen)
{
    /* kind + the longest length varint, or whatever is left. */
    int rc = cd__tr_io_need(io, 1 + CD__TR_MAX_UV);
    if (rc < 0) {
        snprintf(err, errlen, "read error at offset %llu", (unsigned long long)io->offset);
        return rc;
    }
    size_t avail = io->end - io->pos;
    if (avail == 0)
        return CD__IO_EOF;

    const uint8_t *start = io->data + io->pos;
    const uint8_t *p = start + 1;
    uint64_t len;
    switch (cd__tr_uv(&p, start + avail, &len)) {
    case CD__UV_OK:
        break;
    case CD__UV_SHORT:
        snprintf(err, errlen, "truncated in the header of a record at offset %llu",
                 (unsigned long long)io->offset);
        return -ENODATA;
    default:
        snprintf(err, errlen, "record at offset %llu: malformed length varint",
                 (unsigned long long)io->offset);
        return -EPROTO;
    }
    if (len > CD__TR_MAX_RECORD) {
        snprintf(err, errlen, "record at offset %llu: length %llu above the 64 MiB limit",
                 (unsigned long long)io->offset, (unsigned long long)len);
        return -EPROTO;
    }
    size_t head = (size_t)(p - start);
    size_t total = head + (size_t)len + 4;

    rc = cd__tr_io_need(io, total);
    if (rc < 0) {
        snprintf(err, errlen, "read error at offset %llu", (unsigned long long)io->offset);
        return rc;
    }
    if (rc == 0) {
        snprintf(err, errlen,
                 "truncated in a record at offset %llu (kind %u, %zu of %zu bytes present)",
                 (unsigned long long)io->offset, io->data[io->pos], io->end - io->pos, total);
        return -ENODATA;
    }
    start = io->data + io->pos; /* the buffer may have moved */
    rec->kind = start[0];
    rec->payload = start + head;
    rec->len = (size_t)len;
    rec->offset = io->offset;
    rec->size = total;
    uint32_t want = get_u32(start + head + len);
    cd__tr_io_consume(io, total);
    if (cd__crc32(rec->payload, rec->len) != want) {
        snprintf(err, errlen, "record at offset %llu (kind %u, %zu bytes): CRC mismatch",
                 (unsigned long long)rec->offset, rec->kind, rec->len);
        return CD__IO_BADCRC;
    }
    return CD__IO_RECORD;
}
