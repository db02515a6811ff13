/* base/symbolize.c - see symbolize.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include "base/dlhist.h"
#include "base/symbolize.h"

/* Whether a module's own ELF file carries its line table (.debug_line):
 * remembered per module for cd__sym_lookup_local. */
typedef struct local_lines {
    Dwfl_Module *mod;
    bool has;
} local_lines;

/* An executable mapping of any kind (a file's, anonymous, the vdso):
 * [lo, hi), for cd__sym_cut. */
typedef struct code_range {
    uintptr_t lo, hi;
} code_range;

/* An unloaded library's file, opened on first use at its old load bias. */
typedef struct grave {
    const char *path; /* interned by base/dlhist.c */
    uintptr_t bias;
    Dwfl *dwfl; /* NULL: the file could not be read */
} grave;

struct cd__symctx {
    Dwfl *dwfl;
    cd__mapping *maps;
    size_t nmaps, capmaps;
    size_t nlive;     /* maps[0..nlive): /proc/self/maps; then unloaded ones */
    code_range *code; /* every executable mapping, in address order */
    size_t ncode, capcode;
    cd__dlgone *gone; /* the unloads so far, in epoch order */
    size_t ngone;
    size_t *gone_map; /* per unload: 1 + its index in maps, 0 not made yet */
    size_t *canon;    /* per unload: 1 + canonical(), 0 not known yet */
    grave *graves;    /* opened files of unloaded libraries */
    size_t ngraves;
    local_lines *local; /* modules asked about so far (a few dozen) */
    size_t nlocal;
    char **names; /* the FILE+0xADDR names handed out, freed at the end */
    size_t nnames, capnames;
};

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static char *hex(const unsigned char *p, int n)
{
    char *s = malloc((size_t)n * 2 + 1);
    if (s == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* The mapping's range in its file's own addresses (obj_*), given the
 * file's load bias. A profile's addresses are the file's own because
 * `go tool pprof`'s object tool (Go's cmd/pprof, not upstream pprof's
 * binutils) relocates nothing: it disassembles and looks lines up at the
 * addresses the profile gives, and takes a mapping's start as the file's
 * load address, its first executable PT_LOAD's p_vaddr. That segment
 * starts on a page boundary in GNU ld's layout; lld's puts it mid-page
 * (p_vaddr 0x14b0 for a mapping from 0x1000), so the start moves up to it
 * and the offset with it: the same file page still maps to the same
 * address, and upstream pprof's base computation (start - offset +
 * p_offset - p_vaddr) gives 0 either way. */
static void obj_range(cd__mapping *m, Elf *elf, GElf_Addr bias)
{
    m->obj_start = m->start - bias;
    m->obj_limit = m->limit - bias;
    m->obj_offset = m->offset;
    size_t n;
    if (elf_getphdrnum(elf, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD ||
            (ph.p_flags & PF_X) == 0)
            continue;
        if (ph.p_vaddr > m->obj_start && ph.p_vaddr < m->obj_limit) {
            m->obj_offset += ph.p_vaddr - m->obj_start;
            m->obj_start = ph.p_vaddr;
        }
        return; /* the first executable segment only, as Go's tool */
    }
}

/* Room for one more element in the array v of n used of *cap elements of
 * sz bytes (first elements at first, doubled after): v itself or where
 * realloc moved it, *cap updated; NULL on out of memory, v and *cap left
 * as they were. */
static void *grow(void *v, size_t n, size_t *cap, size_t sz, size_t first)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? *cap * 2 : first;
    void *w = realloc(v, c * sz);
    if (w != NULL)
        *cap = c;
    return w;
}

/* Room for one more mapping. */
static bool grow_maps(cd__symctx *c)
{
    cd__mapping *v = grow(c->maps, c->nmaps, &c->capmaps, sizeof *v, 16);
    if (v == NULL)
        return false;
    c->maps = v;
    return true;
}

/* The mapping's build id: hex, "" if none (NULL on out of memory). */
static char *build_id(Dwfl_Module *mod)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = mod != NULL ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
    return n > 0 ? hex(bits, n) : strdup("");
}

/* Records [lo, hi) as executable; false on out of memory. */
static bool add_code(cd__symctx *c, uintptr_t lo, uintptr_t hi)
{
    code_range *v = grow(c->code, c->ncode, &c->capcode, sizeof *v, 32);
    if (v == NULL)
        return false;
    c->code = v;
    c->code[c->ncode++] = (code_range){lo, hi};
    return true;
}

/* The r-x file mappings of /proc/self/maps: what pprof calls Mappings;
 * and every executable mapping, files' or not (c->code). */
static int read_maps(cd__symctx *c)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return -errno;
    char line[4096 + 128];
    int rc = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        uintptr_t start, end, off;
        char perms[8];
        int pos = 0;
        int got = sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNxPTR " %*s %*s %n", &start,
                         &end, perms, &off, &pos);
        if (got >= 3 && perms[2] == 'x' && !add_code(c, start, end)) {
            rc = -ENOMEM;
            break;
        }
        if (got < 4 || pos == 0)
            continue;
        char *path = line + pos;
        path[strcspn(path, "\n")] = '\0';
        if (perms[2] != 'x' || path[0] != '/')
            continue;
        if (!grow_maps(c)) {
            rc = -ENOMEM;
            break;
        }
        cd__mapping *m = &c->maps[c->nmaps];
        m->start = m->obj_start = start;
        m->limit = m->obj_limit = end;
        m->offset = m->obj_offset = off;
        m->file = strdup(path);
        m->build_id = NULL;
        if (m->file == NULL) {
            rc = -ENOMEM;
            break;
        }
        c->nmaps++;
        GElf_Addr bias;
        Dwfl_Module *mod = dwfl_addrmodule(c->dwfl, start);
        /* The build id and the program headers are read from the ELF
         * file, which libdwfl opens on first use. A file it cannot read
         * keeps the process's addresses, as its pcs do (cd__sym.objaddr). */
        Elf *elf = mod != NULL ? dwfl_module_getelf(mod, &bias) : NULL;
        if (elf == NULL)
            mod = NULL;
        else
            obj_range(m, elf, bias);
        m->build_id = build_id(mod);
        if (m->build_id == NULL) {
            rc = -ENOMEM;
            break;
        }
    }
    fclose(f);
    return rc;
}

int cd__sym_begin(cd__symctx **out)
{
    *out = NULL;
    cd__symctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    int rc = -EIO;
    c->dwfl = dwfl_begin(&callbacks);
    if (c->dwfl == NULL)
        goto fail;
    dwfl_report_begin(c->dwfl);
    if (dwfl_linux_proc_report(c->dwfl, getpid()) != 0)
        goto fail;
    if (dwfl_report_end(c->dwfl, NULL, NULL) != 0)
        goto fail;
    rc = read_maps(c);
    if (rc < 0)
        goto fail;
    c->nlive = c->nmaps;
    rc = cd__dl_history(&c->gone, &c->ngone);
    if (rc < 0)
        goto fail;
    c->gone_map = calloc(c->ngone ? c->ngone : 1, sizeof *c->gone_map);
    c->canon = calloc(c->ngone ? c->ngone : 1, sizeof *c->canon);
    rc = -ENOMEM;
    if (c->gone_map == NULL || c->canon == NULL)
        goto fail;
    *out = c;
    return 0;
fail:
    cd__sym_end(c);
    return rc;
}

/* Whether mod's mapped ELF file has a .debug_line section (its DWARF is
 * its own, not in a separate debug file). Reads the section headers once
 * per module. */
static bool has_local_lines(cd__symctx *c, Dwfl_Module *mod)
{
    for (size_t i = 0; i < c->nlocal; i++)
        if (c->local[i].mod == mod)
            return c->local[i].has;
    bool has = false;
    GElf_Addr bias;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    size_t shstrndx;
    if (elf != NULL && elf_getshdrstrndx(elf, &shstrndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL && !has;
             scn = elf_nextscn(elf, scn)) {
            GElf_Shdr sh;
            const char *name =
                gelf_getshdr(scn, &sh) != NULL ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
            has = name != NULL && strcmp(name, ".debug_line") == 0;
        }
    }
    local_lines *v = realloc(c->local, (c->nlocal + 1) * sizeof *v);
    if (v != NULL) { /* else asked again next time */
        c->local = v;
        c->local[c->nlocal++] = (local_lines){mod, has};
    }
    return has;
}

void cd__sym_lookup(cd__symctx *c, uintptr_t pc, cd__sym *out)
{
    cd__sym_lookup_local(c, pc, out, false);
}

/* "FILE+0xADDR": path's base name and an address in the file. Kept until
 * cd__sym_end; "?" on out of memory. */
static const char *path_name(cd__symctx *c, const char *path, uintptr_t objaddr)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    char **v = grow(c->names, c->nnames, &c->capnames, sizeof *v, 16);
    if (v == NULL)
        return "?";
    c->names = v;
    int n = snprintf(NULL, 0, "%s+0x%" PRIxPTR, base, objaddr);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL)
        return "?";
    snprintf(s, (size_t)n + 1, "%s+0x%" PRIxPTR, base, objaddr);
    c->names[c->nnames++] = s;
    return s;
}

/* "FILE+0xADDR" for a pc that mod's file has no symbol for: the file's
 * base name and the pc's address in it. */
static const char *file_name(cd__symctx *c, Dwfl_Module *mod, uintptr_t objaddr)
{
    const char *path = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    return path != NULL ? path_name(c, path, objaddr) : "?";
}

/* The lookup in dwfl (the live one or an unloaded library's). */
static void lookup(cd__symctx *c, Dwfl *dwfl, uintptr_t pc, cd__sym *out, bool local)
{
    Dwfl_Module *mod = dwfl != NULL ? dwfl_addrmodule(dwfl, pc) : NULL;
    if (mod == NULL)
        return;
    GElf_Addr bias;
    if (dwfl_module_getelf(mod, &bias) != NULL)
        out->objaddr = pc - bias;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    if (name != NULL) {
        out->func = name;
        out->start = pc - off;
        out->named = true;
    } else {
        out->func = file_name(c, mod, out->objaddr);
    }
    if (local && !has_local_lines(c, mod))
        return;
    Dwfl_Line *ln = dwfl_module_getsrc(mod, pc);
    int lineno = 0;
    const char *src = ln != NULL ? dwfl_lineinfo(ln, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (src != NULL) {
        out->file = src;
        out->line = lineno;
    }
}

void cd__sym_lookup_local(cd__symctx *c, uintptr_t pc, cd__sym *out, bool local)
{
    *out = (cd__sym){.func = "?", .file = "", .objaddr = pc};
    for (size_t i = 0; i < c->nlive; i++)
        if (pc >= c->maps[i].start && pc < c->maps[i].limit) {
            out->mapping = i + 1;
            break;
        }
    lookup(c, c->dwfl, pc, out, local);
}

/* The first unload of the same segment of the same file at the same
 * address as unload i: a library loaded and unloaded many times at one
 * place is one Mapping, and each of its pcs one Location. Memoized. */
static size_t canonical(cd__symctx *c, size_t i)
{
    if (c->canon[i] != 0)
        return c->canon[i] - 1;
    const cd__dlgone *g = &c->gone[i];
    size_t j = 0;
    while (j < i && !(c->gone[j].path == g->path && c->gone[j].bias == g->bias &&
                      c->gone[j].lo == g->lo && c->gone[j].hi == g->hi))
        j++; /* paths are interned: equal paths are one pointer */
    c->canon[i] = j + 1;
    return j;
}

uint32_t cd__sym_which(cd__symctx *c, uintptr_t pc, uint32_t epoch)
{
    for (size_t i = 0; i < c->ngone; i++) /* in epoch order: the first unload after epoch */
        if (c->gone[i].epoch > epoch && pc >= c->gone[i].lo && pc < c->gone[i].hi)
            return (uint32_t)canonical(c, i) + 1;
    return 0;
}

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* The unloaded library g's file, reported at its old bias (opened once per
 * context); NULL when it cannot be read. */
static Dwfl *grave_dwfl(cd__symctx *c, const cd__dlgone *g)
{
    for (size_t i = 0; i < c->ngraves; i++)
        if (c->graves[i].path == g->path && c->graves[i].bias == g->bias)
            return c->graves[i].dwfl;
    grave *v = realloc(c->graves, (c->ngraves + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    c->graves = v;
    Dwfl *d = dwfl_begin(&offline_callbacks);
    if (d != NULL) {
        dwfl_report_begin(d);
        const char *base = strrchr(g->path, '/');
        /* add_p_vaddr: the first segment at bias + its p_vaddr, i.e. the
         * bias is the library's, whatever its layout. */
        Dwfl_Module *mod =
            dwfl_report_elf(d, base != NULL ? base + 1 : g->path, g->path, -1, g->bias, true);
        if (dwfl_report_end(d, NULL, NULL) != 0 || mod == NULL) {
            dwfl_end(d);
            d = NULL;
        }
    }
    c->graves[c->ngraves++] = (grave){g->path, g->bias, d};
    return d;
}

/* The Mapping of unload i (made on first use; 0 on out of memory). */
static size_t grave_mapping(cd__symctx *c, size_t i, Dwfl *d)
{
    if (c->gone_map[i] != 0 || !grow_maps(c))
        return c->gone_map[i];
    const cd__dlgone *g = &c->gone[i];
    cd__mapping *m = &c->maps[c->nmaps];
    *m = (cd__mapping){.start = g->lo,
                       .limit = g->hi,
                       .offset = g->offset,
                       .obj_start = g->lo - g->bias,
                       .obj_limit = g->hi - g->bias,
                       .obj_offset = g->offset};
    Dwfl_Module *mod = d != NULL ? dwfl_addrmodule(d, g->lo) : NULL;
    GElf_Addr bias;
    Elf *elf = mod != NULL ? dwfl_module_getelf(mod, &bias) : NULL;
    if (elf != NULL)
        obj_range(m, elf, bias);
    m->file = strdup(g->path);
    m->build_id = build_id(elf != NULL ? mod : NULL);
    if (m->file == NULL || m->build_id == NULL) {
        free((char *)m->file);
        free((char *)m->build_id);
        return 0;
    }
    c->nmaps++;
    c->gone_map[i] = c->nmaps;
    return c->gone_map[i];
}

void cd__sym_lookup_in(cd__symctx *c, uintptr_t pc, uint32_t which, cd__sym *out)
{
    if (which == 0 || which > c->ngone) {
        cd__sym_lookup_local(c, pc, out, false);
        return;
    }
    size_t i = which - 1;
    const cd__dlgone *g = &c->gone[i];
    Dwfl *d = grave_dwfl(c, g);
    /* A file that cannot be read any more: its name and the address in
     * it, never what is mapped at pc now. */
    *out = (cd__sym){.func = "?", .file = "", .objaddr = pc - g->bias};
    out->mapping = grave_mapping(c, i, d);
    lookup(c, d, pc, out, false);
    if (!out->named && strcmp(out->func, "?") == 0)
        out->func = path_name(c, g->path, out->objaddr);
}

void cd__sym_lookup_epoch(cd__symctx *c, uintptr_t pc, uint32_t epoch, cd__sym *out)
{
    cd__sym_lookup_in(c, pc, cd__sym_which(c, pc, epoch), out);
}

/* Whether pc lies in an executable mapping of the context's time. Binary
 * search: /proc/self/maps lists them in address order. */
static bool in_code(const cd__symctx *c, uintptr_t pc)
{
    size_t l = 0, r = c->ncode;
    while (l < r) {
        size_t m = l + (r - l) / 2;
        if (pc < c->code[m].lo)
            r = m;
        else if (pc >= c->code[m].hi)
            l = m + 1;
        else
            return true;
    }
    return false;
}

size_t cd__sym_cut(cd__symctx *c, const uintptr_t *pcs, size_t n, uint32_t epoch, bool ret)
{
    size_t k = n > 0 ? 1 : 0;
    for (; k < n; k++) {
        uintptr_t pc = pcs[k] - (ret ? 1 : 0);
        if (pcs[k] == 0 || (!in_code(c, pc) && cd__sym_which(c, pc, epoch) == 0))
            break;
    }
    return k;
}

size_t cd__sym_mappings(cd__symctx *c, const cd__mapping **maps)
{
    *maps = c->maps;
    return c->nmaps;
}

void cd__sym_end(cd__symctx *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nmaps; i++) {
        free((char *)c->maps[i].file);
        free((char *)c->maps[i].build_id);
    }
    free(c->maps);
    free(c->code);
    free(c->local);
    free(c->gone);
    free(c->gone_map);
    free(c->canon);
    for (size_t i = 0; i < c->ngraves; i++)
        if (c->graves[i].dwfl != NULL)
            dwfl_end(c->graves[i].dwfl);
    free(c->graves);
    for (size_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    free(c->names);
    if (c->dwfl != NULL)
        dwfl_end(c->dwfl);
    free(c);
}
