/* SPDX-License-Identifier: MIT */
/*
 * The one-call awaits of <weft/await.h> for signals, UDP and name
 * resolution on a real runtime (the executor and reactor named on the
 * command line): signal recv on a listener and signal, with signals sent
 * to this process; UDP send_to and recv_from on 127.0.0.1; resolve of a
 * numeric host, which needs no network.  Their -EPERM and -EINVAL answers
 * are in test_await_io.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Signals, UDP, resolve                                               */
/* ------------------------------------------------------------------ */

struct sigwait {
	atomic_int done;
	int r;
};

static int
sig_waiter(void *arg)
{
	struct sigwait *w = arg;

	w->r = weft_signal_await(WEFT_SIGNAL_BIT(SIGUSR2));
	atomic_store(&w->done, 1);
	return 0;
}

/* Sends SIGUSR2 until the waiter has seen one (at most 2 s). */
static int
sig_sender(void *arg)
{
	struct sigwait *w = arg;

	for (int i = 0; i < 400 && !atomic_load(&w->done); i++) {
		CHECK(weft_sleep_ms(5) == 0);
		if (!atomic_load(&w->done))
			CHECK(kill(getpid(), SIGUSR2) == 0);
	}
	CHECK(atomic_load(&w->done));
	return 0;
}

static int
signal_fiber(void *arg)
{
	struct weft_signal_listener *l, *guard;
	struct sigwait w = {0};
	struct weft_fiber_call calls[2] = {{sig_waiter, &w}, {sig_sender, &w}};

	(void)arg;
	/* A listener's signals are not lost between listen and recv. */
	CHECK(weft_signal_listen(&l, WEFT_SIGNAL_BIT(SIGUSR1)) == 0);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(weft_signal_recv_await(l) == SIGUSR1);
	weft_signal_listener_free(l);

	/* guard keeps SIGUSR2 caught whatever the order of the calls. */
	CHECK(weft_signal_listen(&guard, WEFT_SIGNAL_BIT(SIGUSR2)) == 0);
	CHECK(weft_join_fibers(calls, 2) == 0);
	weft_signal_listener_free(guard);
	CHECK(weft_signal_release(WEFT_SIGNAL_BIT(SIGUSR2)) == 0);
	CHECK(w.r == SIGUSR2);
	return 0;
}

static void
test_signals(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(signal_fiber, NULL), 0);
}

static int
udp_fiber(void *arg)
{
	struct weft_udp *a, *b;
	struct weft_addr any, aaddr, baddr, from;
	char buf[16];

	(void)arg;
	CHECK(weft_addr_ip(&any, "127.0.0.1", 0) == 0);
	CHECK(weft_udp_bind(&a, &any) == 0);
	CHECK(weft_udp_bind(&b, &any) == 0);
	CHECK(weft_udp_local_addr(a, &aaddr) == 0);
	CHECK(weft_udp_local_addr(b, &baddr) == 0);

	CHECK(weft_udp_send_to_await(a, "datagram", 8, &baddr) == 8);
	CHECK(weft_udp_recv_from_await(b, buf, sizeof(buf), &from) == 8);
	CHECK(memcmp(buf, "datagram", 8) == 0);
	CHECK(weft_addr_port(&from) == weft_addr_port(&aaddr));
	/* To the connected address; a short buffer truncates. */
	CHECK(weft_udp_connect(b, &aaddr) == 0);
	CHECK(weft_udp_send_to_await(b, "reply", 5, NULL) == 5);
	CHECK(weft_udp_recv_from_await(a, buf, 3, NULL) == 3);
	CHECK(memcmp(buf, "rep", 3) == 0);
	weft_udp_close(a);
	weft_udp_close(b);
	return 0;
}

static void
test_udp(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(udp_fiber, NULL), 0);
}

static int
resolve_fiber(void *arg)
{
	struct weft_addr addrs[WEFT_RESOLVE_MAX];
	char host[300], text[64];
	int n;

	(void)arg;
	/* A numeric host: getaddrinfo answers without the network. */
	n = weft_resolve_await("127.0.0.1", 8080, AF_INET, addrs,
	                       WEFT_RESOLVE_MAX);
	CHECK(n >= 1);
	CHECK(weft_addr_port(&addrs[0]) == 8080);
	weft_addr_format(&addrs[0], text, sizeof(text));
	CHECK(strcmp(text, "127.0.0.1:8080") == 0);
	CHECK(weft_resolve_await("127.0.0.1", 1, AF_INET, addrs, 1) == 1);
	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	CHECK(weft_resolve_await(host, 1, AF_UNSPEC, addrs, 1) ==
	      -ENAMETOOLONG);
	return 0;
}

static void
test_resolve(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(resolve_fiber, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_signals),
    cmocka_unit_test(test_udp),
    cmocka_unit_test(test_resolve),
};

AWAIT_TEST_MAIN(tests);
