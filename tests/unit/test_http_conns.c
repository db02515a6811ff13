/* tests/unit/test_http_conns.c - the debug server's admission table
 * (http/conns.c) driven with socket pairs: which connection a newcomer
 * closes, and when a newcomer is refused.
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

static void open_pair(cd__http_conns *t, pair *p)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->server = sv[0];
    p->client = sv[1];
    p->k = cd__http_conns_add(t, p->server);
    assert_non_null(p->k);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_below_soft),
        cmocka_unit_test(test_oldest_waiter_goes),
        cmocka_unit_test(test_unread_spared),
        cmocka_unit_test(test_all_unread_oldest_goes),
        cmocka_unit_test(test_young_then_hard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
