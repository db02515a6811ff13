/* elf.c - the ELF header and program header reader (see elf.h). */
#include "elf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The few numbers of the ELF specification used here (<elf.h> has them
 * under longer names; spelled out so the checks read on their own). */
#define EI_NIDENT   16
#define ELFCLASS32  1
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define EV_CURRENT  1
#define PT_DYNAMIC  2
#define PT_INTERP   3
#define DT_NULL     0
#define DT_FLAGS_1  0x6ffffffb
#define DF_1_PIE    0x08000000
#define PN_XNUM     0xffff /* the real e_phnum is in section header 0's sh_info */

/* Above this many dynamic entries the section is not a real one (a large
 * library has a few hundred). */
#define DYNNUM_MAX 65536

/* Above this many program headers the file is not one a loader accepts
 * (the kernel's limit is 64 KiB of headers). */
#define PHNUM_MAX 65535

typedef struct reader {
    int fd;
    uint64_t size; /* the file's length */
    bool msb;      /* big-endian fields */
} reader;

/* Reads n bytes at off into buf: 0, or -EINVAL when [off, off+n) is not
 * inside the file, or the pread's negative errno. */
static int read_at(const reader *r, uint64_t off, void *buf, size_t n)
{
    if (off > r->size || n > r->size - off)
        return -EINVAL;
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(r->fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            return -EINVAL; /* the file shrank under us */
        done += (size_t)got;
    }
    return 0;
}

static uint64_t get(const reader *r, const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[r->msb ? n - 1 - i : i] << (8 * i);
    return v;
}

static int bad(char *why, const char *text, uint64_t size)
{
    snprintf(why, RUN_ELF_WHY_MAX, "%s (the file has %llu bytes)", text, (unsigned long long)size);
    return -EINVAL;
}

int run_elf_read(int fd, run_elf_info *info, char why[RUN_ELF_WHY_MAX])
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        snprintf(why, RUN_ELF_WHY_MAX, "fstat: %s", strerror(e));
        return -e;
    }
    reader r = {.fd = fd, .size = (uint64_t)st.st_size, .msb = false};

    unsigned char id[EI_NIDENT];
    if (read_at(&r, 0, id, 4) != 0 || memcmp(id, "\177ELF", 4) != 0)
        return -ENOEXEC;
    if (read_at(&r, 0, id, sizeof id) != 0)
        return bad(why, "truncated ELF file: no whole identification", r.size);
    if (id[4] != ELFCLASS32 && id[4] != ELFCLASS64)
        return bad(why, "corrupt ELF file: unknown class", r.size);
    if (id[5] != ELFDATA2LSB && id[5] != ELFDATA2MSB)
        return bad(why, "corrupt ELF file: unknown byte order", r.size);
    if (id[6] != EV_CURRENT)
        return bad(why, "corrupt ELF file: unknown version", r.size);
    r.msb = id[5] == ELFDATA2MSB;
    bool is64 = id[4] == ELFCLASS64;

    /* The fields after e_ident, at their offsets in Elf32_Ehdr/Elf64_Ehdr. */
    unsigned char eh[64];
    size_t ehsize = is64 ? 64 : 52;
    if (read_at(&r, 0, eh, ehsize) != 0)
        return bad(why, "truncated ELF file: no whole ELF header", r.size);
    info->type = (unsigned)get(&r, eh + 16, 2);
    uint64_t phoff = is64 ? get(&r, eh + 32, 8) : get(&r, eh + 28, 4);
    uint64_t shoff = is64 ? get(&r, eh + 40, 8) : get(&r, eh + 32, 4);
    size_t phentsize = (size_t)get(&r, eh + (is64 ? 54 : 42), 2);
    uint64_t phnum = get(&r, eh + (is64 ? 56 : 44), 2);
    size_t shentsize = (size_t)get(&r, eh + (is64 ? 58 : 46), 2);
    size_t want_phent = is64 ? 56 : 32;

    if (phnum == PN_XNUM) {
        /* More headers than e_phnum holds: section header 0's sh_info
         * (offset 44 in Elf64_Shdr, 28 in Elf32_Shdr) has the count. */
        unsigned char sh[64];
        if (shentsize != (is64 ? 64u : 40u) || read_at(&r, shoff, sh, shentsize) != 0)
            return bad(
                why, "corrupt ELF file: e_phnum is PN_XNUM and section header 0 is not in the file",
                r.size);
        phnum = get(&r, sh + (is64 ? 44 : 28), 4);
    }
    if (phnum == 0)
        return bad(why, "corrupt ELF file: no program headers", r.size);
    if (phnum > PHNUM_MAX)
        return bad(why, "corrupt ELF file: too many program headers", r.size);
    if (phentsize != want_phent)
        return bad(why, "corrupt ELF file: wrong program header size", r.size);
    if (phoff > r.size || phnum * phentsize > r.size - phoff)
        return bad(why, "truncated ELF file: program headers end past its end", r.size);

    info->has_interp = false;
    info->pie = false;
    uint64_t dyn_off = 0, dyn_len = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        unsigned char ph[56];
        int rc = read_at(&r, phoff + i * phentsize, ph, phentsize);
        if (rc != 0) {
            snprintf(why, RUN_ELF_WHY_MAX, "cannot read a program header: %s", strerror(-rc));
            return rc;
        }
        uint64_t type = get(&r, ph, 4);
        if (type == PT_DYNAMIC) {
            dyn_off = is64 ? get(&r, ph + 8, 8) : get(&r, ph + 4, 4);
            dyn_len = is64 ? get(&r, ph + 32, 8) : get(&r, ph + 16, 4);
        }
        if (type != PT_INTERP)
            continue;
        /* p_offset and p_filesz: the interpreter's path, which the kernel
         * reads from the file and wants NUL-terminated. */
        uint64_t off = is64 ? get(&r, ph + 8, 8) : get(&r, ph + 4, 4);
        uint64_t len = is64 ? get(&r, ph + 32, 8) : get(&r, ph + 16, 4);
        unsigned char last;
        if (len < 2 || len > 4096 || off > r.size || len > r.size - off ||
            read_at(&r, off + len - 1, &last, 1) != 0 || last != '\0')
            return bad(why, "corrupt ELF file: its program interpreter's path is not in the file",
                       r.size);
        info->has_interp = true;
    }
    /* The dynamic entries (d_tag, d_val): 16 bytes each in ELF64, 8 in
     * ELF32, up to DT_NULL. */
    size_t dynent = is64 ? 16 : 8;
    if (dyn_len > 0 &&
        (dyn_off > r.size || dyn_len > r.size - dyn_off || dyn_len / dynent > DYNNUM_MAX))
        return bad(why, "corrupt ELF file: its dynamic section is not in the file", r.size);
    for (uint64_t i = 0; i < dyn_len / dynent; i++) {
        unsigned char d[16];
        int rc = read_at(&r, dyn_off + i * dynent, d, dynent);
        if (rc != 0) {
            snprintf(why, RUN_ELF_WHY_MAX, "cannot read a dynamic entry: %s", strerror(-rc));
            return rc;
        }
        uint64_t tag = get(&r, d, dynent / 2);
        if (tag == DT_NULL)
            break;
        if (tag == DT_FLAGS_1 && (get(&r, d + dynent / 2, dynent / 2) & DF_1_PIE) != 0)
            info->pie = true;
    }
    return 0;
}
