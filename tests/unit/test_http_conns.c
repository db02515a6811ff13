/* tests/unit/test_http_conns.c - the debug server's admission table
 * (http/conns.c) driven with socket pairs: which connection a newcomer
 * closes, when a newcomer is refused, and how a connection admitted but
 * not yet started by libmicrohttpd counts.
 *
 * Each "connection" is one end of a socketpair, as libmicrohttpd's socket
 * would be; the other end plays the client: bytes written there are unread
 * on the server's end, and a closed connection reads as end of stream
 * there. evict_after_ns is set to 0 so that no test waits a second.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/conns.h"

typedef struct pair {
    int server, client;
    cd__http_conn *k;
} pair;

/* A connection admitted (cd__http_conns_add), and started by
 * libmicrohttpd unless `started` is false. */
static void open_pair_as(cd__http_conns *t, pair *p, bool started)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->server = sv[0];
    p->client = sv[1];
    p->k = cd__http_conns_add(t, p->server);
    assert_non_null(p->k);
    if (started)
        assert_ptr_equal(cd__http_conns_start(t, p->server), p->k);
}

static void open_pair(cd__http_conns *t, pair *p)
{
    open_pair_as(t, p, true);
}

/* True when the server end of p was shut down (the client reads EOF). */
static bool closed(const pair *p)
{
    char c;
    return recv(p->client, &c, 1, MSG_DONTWAIT) == 0;
}

static void close_pair(cd__http_conns *t, pair *p)
{
    cd__http_conns_remove(t, p->k);
    close(p->server);
    close(p->client);
}

static void tick(void)
{
    usleep(2000); /* distinct cd__nanotime() values: an order of age */
}

/* Below the limit: admitted, nobody closed. */
static void test_below_soft(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 2);
    t.evict_after_ns = 0;
    pair a;
    open_pair(&t, &a);
    assert_true(cd__http_conns_admit_one(&t));
    assert_false(closed(&a));
    assert_int_equal(t.evicted, 0);
    close_pair(&t, &a);
}

/* At the limit the oldest waiter goes; a busy connection never does. */
static void test_oldest_waiter_goes(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 3);
    t.evict_after_ns = 0;
    pair busy, old, young;
    open_pair(&t, &busy);
    tick();
    open_pair(&t, &old);
    tick();
    open_pair(&t, &young);
    cd__http_conn_set_busy(busy.k, true);
    assert_true(cd__http_conns_admit_one(&t));
    assert_true(closed(&old));
    assert_false(closed(&busy));
    assert_false(closed(&young));
    assert_int_equal(t.evicted, 1);
    assert_int_equal(t.live, 2);
    close_pair(&t, &busy);
    close_pair(&t, &old);
    close_pair(&t, &young);
    assert_int_equal(t.live, 0);
}

/* A connection whose next request has just come in (unread bytes) is
 * spared while another qualifies... */
static void test_unread_spared(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 2);
    t.evict_after_ns = 0;
    pair old, young;
    open_pair(&t, &old);
    tick();
    open_pair(&t, &young);
    assert_int_equal(write(old.client, "G", 1), 1);
    assert_true(cd__http_conns_admit_one(&t));
    assert_false(closed(&old));
    assert_true(closed(&young));
    close_pair(&t, &old);
    close_pair(&t, &young);
}

/* ...but not always: when every waiter has a byte in flight (tricklers
 * that keep one unread), the oldest still goes. */
static void test_all_unread_oldest_goes(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 2);
    t.evict_after_ns = 0;
    pair a, b;
    open_pair(&t, &a);
    tick();
    open_pair(&t, &b);
    assert_int_equal(write(a.client, "G", 1), 1);
    assert_int_equal(write(b.client, "G", 1), 1);
    assert_true(cd__http_conns_admit_one(&t));
    assert_int_equal(t.evicted, 1);
    char c;
    assert_int_equal(read(a.server, &c, 1), 1); /* the trickler's byte */
    assert_true(closed(&a));
    close_pair(&t, &a);
    close_pair(&t, &b);
}

/* Nobody has waited long enough: admitted up to hard, then refused. */
static void test_young_then_hard(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 1); /* hard = 2 */
    pair a, b;
    open_pair(&t, &a); /* evict_after_ns stays 1 s: nobody qualifies */
    assert_true(cd__http_conns_admit_one(&t));
    open_pair(&t, &b);
    assert_false(cd__http_conns_admit_one(&t));
    assert_int_equal(t.refused, 1);
    assert_int_equal(t.evicted, 0);
    assert_false(closed(&a));
    assert_false(closed(&b));
    close_pair(&t, &a);
    close_pair(&t, &b);
}

/* Admitted and not started yet (libmicrohttpd starts a connection handed
 * in on its own thread, later): counted towards the limits, so that a
 * burst cannot pass `hard`, and never closed, since its socket may not be
 * libmicrohttpd's yet. */
static void test_unstarted_counts_never_closed(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 1); /* hard = 2 */
    t.evict_after_ns = 0;       /* anyone started could be closed */
    pair a, b;
    open_pair_as(&t, &a, false);
    open_pair_as(&t, &b, false);
    assert_int_equal(t.live, 2);
    assert_false(cd__http_conns_admit_one(&t));
    assert_int_equal(t.refused, 1);
    assert_int_equal(t.evicted, 0);
    assert_false(closed(&a));
    assert_false(closed(&b));
    /* Started, the same record: counted once; now it may be closed. */
    assert_ptr_equal(cd__http_conns_start(&t, a.server), a.k);
    assert_int_equal(t.live, 2);
    assert_true(cd__http_conns_admit_one(&t));
    assert_true(closed(&a));
    assert_false(closed(&b));
    close_pair(&t, &a);
    close_pair(&t, &b);
    assert_int_equal(t.live, 0);
}

/* One libmicrohttpd never starts (it closed it on its own thread) is
 * forgotten after start_within_ns, without touching its socket; started
 * after all, it is counted again. */
static void test_unstarted_forgotten(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 1);
    t.start_within_ns = 0;
    pair a;
    open_pair_as(&t, &a, false);
    assert_true(cd__http_conns_admit_one(&t));
    assert_int_equal(t.unstarted, 1);
    assert_int_equal(t.live, 0);
    assert_null(t.head);
    assert_false(closed(&a));
    a.k = cd__http_conns_start(&t, a.server);
    assert_non_null(a.k);
    assert_int_equal(t.live, 1);
    close_pair(&t, &a);
}

/* A descriptor number reused while an older record of it waits unstarted
 * (libmicrohttpd closed that one unreported): the start goes to the newest
 * admission; the stale record stays unstarted (for expiry to forget). */
static void test_start_takes_newest(void **state)
{
    (void)state;
    cd__http_conns t;
    cd__http_conns_init(&t, 2);
    t.start_within_ns = 0;
    pair a;
    open_pair_as(&t, &a, false); /* the stale record */
    tick();
    cd__http_conn *fresh = cd__http_conns_add(&t, a.server);
    assert_non_null(fresh);
    assert_ptr_equal(cd__http_conns_start(&t, a.server), fresh);
    assert_int_equal(t.live, 2);
    /* At the limit, the admission forgets the stale one only. */
    assert_true(cd__http_conns_admit_one(&t));
    assert_int_equal(t.unstarted, 1);
    assert_int_equal(t.live, 1);
    assert_ptr_equal(t.head, fresh);
    a.k = fresh;
    close_pair(&t, &a);
    assert_int_equal(t.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_below_soft),
        cmocka_unit_test(test_oldest_waiter_goes),
        cmocka_unit_test(test_unread_spared),
        cmocka_unit_test(test_all_unread_oldest_goes),
        cmocka_unit_test(test_young_then_hard),
        cmocka_unit_test(test_unstarted_counts_never_closed),
        cmocka_unit_test(test_unstarted_forgotten),
        cmocka_unit_test(test_start_takes_newest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
