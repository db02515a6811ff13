/* tests/unit/test_symbolize.c - the symbolizer's addresses (base/symbolize.c):
 *   - a function of this (position-independent) executable is named, and its
 *     pc in the file's own addresses (objaddr) is the pc less the load base
 *     (dladdr's dli_fbase: the first segment's p_vaddr is 0);
 *   - the executable mapping holding it gives, in the file's own addresses,
 *     a range holding objaddr and the same file offset for it as the
 *     process's range does (so pprof, which relocates with start - offset,
 *     finds the same byte of the file);
 *   - every mapping's file range is inside its process range, shifted by one
 *     bias, and its offset moved with its start;
 *   - a pc in no mapped file is "?", unnamed, objaddr the pc itself;
 *   - cd__sym_cut ends a stack before its first pc, the innermost aside, in
 *     no executable mapping (data a frame-pointer walk took for a return
 *     address), return addresses tested as the call before them; an
 *     anonymous executable mapping and the vdso are code.
 * test_pprof_source.sh checks the rest through `go tool pprof`: libraries,
 * lld's layout, stripped files (FILE+0xADDR).
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/dlhist.h"
#include "base/symbolize.h"

__attribute__((noinline)) void symbolize_probe(void)
{
    __asm__ volatile("");
}

static void test_own_function(void **state)
{
    (void)state;
    cd__symctx *c;
    assert_int_equal(cd__sym_begin(&c), 0);
    uintptr_t pc = (uintptr_t)&symbolize_probe; /* optimized, it is one ret */
    cd__sym s;
    cd__sym_lookup(c, pc, &s);
    assert_string_equal(s.func, "symbolize_probe");
    assert_true(s.named);
    assert_int_equal(s.start, (uintptr_t)&symbolize_probe);
    Dl_info info;
    assert_int_not_equal(dladdr((void *)pc, &info), 0);
    assert_int_equal(s.objaddr, pc - (uintptr_t)info.dli_fbase);

    const cd__mapping *m;
    size_t n = cd__sym_mappings(c, &m);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (pc < m[i].start || pc >= m[i].limit)
            continue;
        found = true;
        assert_true(s.objaddr >= m[i].obj_start && s.objaddr < m[i].obj_limit);
        assert_int_equal(s.objaddr - m[i].obj_start + m[i].obj_offset,
                         pc - m[i].start + m[i].offset);
    }
    assert_true(found);
    cd__sym_end(c);
}

static void test_mappings(void **state)
{
    (void)state;
    cd__symctx *c;
    assert_int_equal(cd__sym_begin(&c), 0);
    const cd__mapping *m;
    size_t n = cd__sym_mappings(c, &m);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        uintptr_t bias = m[i].start - (m[i].obj_start - (m[i].obj_offset - m[i].offset));
        assert_int_equal(m[i].limit - bias, m[i].obj_limit);
        assert_true(m[i].obj_start >= m[i].start - bias);
        assert_true(m[i].obj_start < m[i].obj_limit);
        assert_true(m[i].obj_offset >= m[i].offset);
        assert_non_null(m[i].file);
        assert_non_null(m[i].build_id);
    }
    cd__sym_end(c);
}

static void test_no_file(void **state)
{
    (void)state;
    cd__symctx *c;
    assert_int_equal(cd__sym_begin(&c), 0);
    cd__sym s;
    cd__sym_lookup(c, 16, &s);
    assert_string_equal(s.func, "?");
    assert_false(s.named);
    assert_int_equal(s.objaddr, 16);
    assert_string_equal(s.file, "");
    assert_int_equal(s.line, 0);
    cd__sym_end(c);
}

static void test_cut(void **state)
{
    (void)state;
    void *anon = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(anon != MAP_FAILED);
    char *heap = malloc(64);
    assert_non_null(heap);
    cd__symctx *c;
    assert_int_equal(cd__sym_begin(&c), 0);
    uintptr_t fn = (uintptr_t)&symbolize_probe + 1, a = (uintptr_t)anon + 16;
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR) + 1;
    uintptr_t garbage[] = {(uintptr_t)heap + 8, 0x12340, 0x8389239d92aa41ffull, 0};
    for (size_t g = 0; g < sizeof garbage / sizeof *garbage; g++) {
        uintptr_t st[] = {fn, fn, a, vdso, garbage[g], fn};
        size_t n = sizeof st / sizeof *st;
        assert_int_equal(cd__sym_cut(c, st, n, CD__DL_EPOCH_NOW, true), vdso > 1 ? 4 : 3);
        assert_int_equal(cd__sym_cut(c, st, n, CD__DL_EPOCH_NOW, false), vdso > 1 ? 4 : 3);
        /* The innermost pc stays, mapped or not. */
        uintptr_t leaf[] = {garbage[g], fn, garbage[g], fn};
        assert_int_equal(cd__sym_cut(c, leaf, 4, CD__DL_EPOCH_NOW, true), 2);
    }
    /* A return address just past its mapping's end is the call before it:
     * in the mapping as a return address, not as an exact pc. */
    uintptr_t end = (uintptr_t)anon + 4096, st[] = {fn, end};
    if (mmap((void *)end, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
             0) == (void *)end) {
        cd__sym_end(c);
        assert_int_equal(cd__sym_begin(&c), 0);
        assert_int_equal(cd__sym_cut(c, st, 2, CD__DL_EPOCH_NOW, true), 2);
        assert_int_equal(cd__sym_cut(c, st, 2, CD__DL_EPOCH_NOW, false), 1);
        munmap((void *)end, 4096);
    }
    assert_int_equal(cd__sym_cut(c, st, 0, CD__DL_EPOCH_NOW, true), 0);
    cd__sym_end(c);
    free(heap);
    munmap(anon, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_function),
        cmocka_unit_test(test_mappings),
        cmocka_unit_test(test_no_file),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
