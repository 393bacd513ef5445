/* SPDX-License-Identifier: MIT */
/*
 * The sim reactor on its own: its virtual clock (R12) and the real fds it
 * still serves (a pipe, a loopback TCP pair).  The plugin named by
 * WEFT_TEST_REACTOR is loaded with dlopen and checked as a host checks it,
 * then driven through its iface directly.
 *
 * Nothing here measures real time: waits that jump the virtual clock are
 * checked on that clock only, and waits for real fds are bounded in count.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <weft/abi.h>

#define MSEC  1000000LL
#define SEC   1000000000LL
#define BATCH 16
/* The clock's fixed start (sim.c): the same on every run. */
#define START ((uint64_t)SEC)
/* Bound on the waits a test makes for a real fd to become ready. */
#define TRIES 200

static const struct weft_reactor_iface *ops;
static void *plugin;


static int
load(void **state)
{
	const char *path = getenv("WEFT_TEST_REACTOR");
	struct weft_negotiate neg = {
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_MAKE(1, 0),
	    .host_max = WEFT_ABI_VERSION,
	};
	const struct weft_plugin_descriptor *desc = NULL;
	weft_plugin_entry_fn entry;

	(void)state;
	if (!path) {
		fprintf(stderr, "WEFT_TEST_REACTOR is not set\n");
		return -1;
	}
	plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!plugin) {
		fprintf(stderr, "%s\n", dlerror());
		return -1;
	}
	*(void **)&entry = dlsym(plugin, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry || entry(&neg, 0, &desc) != 1 ||
	    desc->kind != WEFT_PLUGIN_REACTOR) {
		fprintf(stderr, "%s: not a reactor plugin\n", path);
		return -1;
	}
	/* The ABI 1.2 plugin, whatever the host speaks: it picked 1.2. */
	if (neg.chosen != WEFT_ABI_VERSION) {
		fprintf(stderr, "%s: negotiated 0x%x\n", path, neg.chosen);
		return -1;
	}
	ops = desc->iface;
	return 0;
}


static int
unload(void **state)
{
	(void)state;
	if (!getenv("WEFT_NO_DLCLOSE"))
		dlclose(plugin);
	return 0;
}


/* An instance made as the host makes one: zeroed, head filled, init. */
static struct weft_reactor *
open_reactor(void)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = BATCH,
	};
	struct weft_reactor *r = calloc(1, ops->instance_size);

	assert_non_null(r);
	r->version = ops->version;
	r->ops = ops;
	assert_int_equal(ops->init(r, &params), 0);
	return r;
}


static void
close_reactor(struct weft_reactor *r)
{
	ops->fini(r);
	free(r);
}


static int
setup(void **state)
{
	*state = open_reactor();
	return 0;
}


static int
teardown(void **state)
{
	close_reactor(*state);
	return 0;
}


static uint64_t
now_of(struct weft_reactor *r)
{
	return r->ops->now(r);
}


static void
write_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}


#define TOKEN(i) ((0x51ull << 32) | (i))
#define TOKENS   16

/*
 * Waits, a bounded number of times, until TOKEN(i) was reported with all
 * of want; the readiness seen for it.  seen[] keeps, per token, what every
 * wait reported (an edge reactor reports each readiness once, so an event
 * for another token must not be lost); every event carries one of ours.
 */
static uint32_t
wait_for(struct weft_reactor *r, uint32_t seen[TOKENS], unsigned i,
         uint32_t want)
{
	struct weft_reactor_event ev[BATCH];
	int n, k, e;

	for (k = 0; k < TRIES && (seen[i] & want) != want; k++) {
		n = weft_reactor_wait(r, ev, BATCH, 10 * MSEC);
		assert_true(n >= 0);
		for (e = 0; e < n; e++) {
			assert_true(ev[e].token >= TOKEN(0) &&
			            ev[e].token < TOKEN(TOKENS));
			seen[ev[e].token - TOKEN(0)] |= ev[e].ready;
		}
	}
	return seen[i];
}


static void
test_claims_a_clock(void **state)
{
	struct weft_reactor *r = *state, *again;

	assert_true(ops->version >= 2);
	assert_true(ops->flags & WEFT_REACTOR_CLOCK);
	assert_true(ops->flags & WEFT_REACTOR_EDGE);
	assert_false(ops->flags & WEFT_REACTOR_LEVEL);
	assert_true(weft_reactor_has_clock(r));
	/* A fixed start, not 0 and not the real clock: every run alike. */
	assert_int_equal(now_of(r), START);
	again = open_reactor();
	assert_int_equal(now_of(again), START);
	close_reactor(again);
}


static void
test_timeout_jumps_the_clock(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	uint64_t t0 = now_of(r);
	int p[2];

	/* Nothing registered: the clock moves by exactly the timeout. */
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 5 * SEC), 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 1), 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC + 1);
	/* A zero timeout only checks: the clock stays. */
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 0), 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC + 1);
	/* A quiet real fd (the grace in real time) changes nothing of it. */
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(weft_reactor_add(r, p[0], WEFT_READABLE, TOKEN(1)), 0);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 5 * SEC), 0);
	assert_int_equal(now_of(r), t0 + 10 * SEC + 1);
	assert_int_equal(weft_reactor_del(r, p[0]), 0);
	close(p[0]);
	close(p[1]);
}


static void
test_pipe_reported_with_token(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	uint64_t t0 = now_of(r);
	uint32_t seen[TOKENS] = {0};
	int p[2], n;

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(weft_reactor_add(r, p[0], WEFT_READABLE, TOKEN(2)), 0);
	assert_int_equal(weft_reactor_add(r, p[1], WEFT_WRITABLE, TOKEN(3)), 0);
	write_byte(p[1]);
	/* Both are ready now: reported at once, with no time passing. */
	assert_true(wait_for(r, seen, 2, WEFT_READABLE) & WEFT_READABLE);
	assert_true(wait_for(r, seen, 3, WEFT_WRITABLE) & WEFT_WRITABLE);
	/* Only what was asked for. */
	assert_false(seen[2] & WEFT_WRITABLE);
	assert_false(seen[3] & WEFT_READABLE);
	assert_int_equal(now_of(r), t0);
	/* Edge: unread data is not reported again, the clock jumps. */
	n = weft_reactor_wait(r, ev, BATCH, 5 * SEC);
	assert_int_equal(n, 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC);
	/* After del, nothing of it (R6), even a new edge. */
	assert_int_equal(weft_reactor_del(r, p[0]), 0);
	assert_int_equal(weft_reactor_del(r, p[1]), 0);
	write_byte(p[1]);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 0), 0);
	close(p[0]);
	close(p[1]);
}


static void
test_tcp_loopback(void **state)
{
	struct weft_reactor *r = *state;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	uint32_t seen[TOKENS] = {0};
	int l, c, s, rc;
	char buf[8];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(weft_reactor_add(r, l, WEFT_READABLE, TOKEN(4)), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	assert_true(rc == 0 || errno == EINPROGRESS);
	assert_int_equal(weft_reactor_add(r, c, WEFT_WRITABLE, TOKEN(5)), 0);
	assert_true(wait_for(r, seen, 4, WEFT_READABLE) & WEFT_READABLE);
	assert_true(wait_for(r, seen, 5, WEFT_WRITABLE) & WEFT_WRITABLE);
	s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(s >= 0);
	assert_int_equal(weft_reactor_add(r, s, WEFT_READABLE, TOKEN(6)), 0);
	/* Bytes from the client reach the server's side as an event. */
	assert_int_equal(send(c, "ping", 4, 0), 4);
	assert_true(wait_for(r, seen, 6, WEFT_READABLE) & WEFT_READABLE);
	assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "ping", 4);
	/* The client closes: the server's side hears of it. */
	assert_int_equal(weft_reactor_del(r, c), 0);
	close(c);
	seen[6] = 0;
	assert_true(wait_for(r, seen, 6, WEFT_HUP) & WEFT_HUP);
	assert_int_equal(weft_reactor_del(r, s), 0);
	assert_int_equal(weft_reactor_del(r, l), 0);
	close(s);
	close(l);
}


struct drain {
	int fd;
	size_t want;
	size_t got;
};


/* After a real-time pause, reads fd (blocking) until it has all of want. */
static void *
drain_later(void *arg)
{
	struct drain *d = arg;
	struct timespec ts = {0, 20 * MSEC};
	static char sink[65536];
	ssize_t n;

	nanosleep(&ts, NULL);
	while (d->got < d->want && (n = recv(d->fd, sink, sizeof(sink), 0)) > 0)
		d->got += (size_t)n;
	return NULL;
}


/*
 * A TCP sender's queue is full and its peer, on another thread, reads only
 * 20 ms of real time later: bytes are on their way, so the clock must not
 * jump past them (a jump would end this 60 s wait at once with 0 events);
 * the sender becomes writable at the virtual instant it filled up.
 */
static void
test_tcp_in_flight_holds_the_clock(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	static char buf[65536];
	struct drain d = {0};
	uint32_t ready = 0;
	pthread_t t;
	int l, c, n, i, k;
	ssize_t sent;
	uint64_t t0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	d.fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(d.fd >= 0);
	assert_int_equal(fcntl(c, F_SETFL, O_NONBLOCK), 0);
	while ((sent = send(c, buf, sizeof(buf), 0)) > 0)
		d.want += (size_t)sent;
	assert_true(sent < 0 && errno == EAGAIN);
	/* Not writable now: only the peer's reads make it so. */
	assert_int_equal(weft_reactor_add(r, c, WEFT_WRITABLE, TOKEN(10)), 0);
	t0 = now_of(r);
	assert_int_equal(pthread_create(&t, NULL, drain_later, &d), 0);
	for (k = 0; k < 50 && !(ready & WEFT_WRITABLE); k++) {
		n = weft_reactor_wait(r, ev, BATCH, 60 * SEC);
		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			if (ev[i].token == TOKEN(10))
				ready |= ev[i].ready;
		assert_int_equal(now_of(r), t0);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(ready & WEFT_WRITABLE);
	assert_int_equal(d.got, d.want);
	assert_int_equal(weft_reactor_del(r, c), 0);
	close(d.fd);
	close(c);
	close(l);
}

static void
test_wakeup_before_wait(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	uint64_t t0 = now_of(r);

	/* A pending wakeup ends the wait at once, and no time passes. */
	assert_int_equal(weft_reactor_wakeup(r), 0);
	assert_int_equal(weft_reactor_wakeup(r), 0);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 5 * SEC), 0);
	assert_int_equal(now_of(r), t0);
	/* It was consumed: the next wait is a timeout again. */
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 5 * SEC), 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC);
	/* An infinite wait ends too, on a wakeup made before it. */
	assert_int_equal(weft_reactor_wakeup(r), 0);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, WEFT_TIMEOUT_INFINITE),
	                 0);
	assert_int_equal(now_of(r), t0 + 5 * SEC);
}


struct later {
	struct weft_reactor *r;
	int fd; /* -1: wakeup instead of a write */
};


static void *
act_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = {0, 20 * MSEC};

	nanosleep(&ts, NULL);
	if (l->fd < 0)
		weft_reactor_wakeup(l->r);
	else
		write_byte(l->fd);
	return NULL;
}


/* With no limit, the wait blocks on the real fds and the wakeup only. */
static void
test_infinite_wait_ends_on_real_events(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	struct later l = {.r = r, .fd = -1};
	uint64_t t0 = now_of(r);
	pthread_t t;
	int p[2], n, k;

	assert_int_equal(pthread_create(&t, NULL, act_later, &l), 0);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, WEFT_TIMEOUT_INFINITE),
	                 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(weft_reactor_add(r, p[0], WEFT_READABLE, TOKEN(7)), 0);
	l.fd = p[1];
	assert_int_equal(pthread_create(&t, NULL, act_later, &l), 0);
	/* A 0 return (EINTR) is allowed: wait again, bounded. */
	for (k = 0, n = 0; k < 10 && n == 0; k++)
		n = weft_reactor_wait(r, ev, BATCH, WEFT_TIMEOUT_INFINITE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(ev[0].token == TOKEN(7));
	assert_true(ev[0].ready & WEFT_READABLE);
	/* Nothing of that moved the virtual clock. */
	assert_int_equal(now_of(r), t0);
	assert_int_equal(weft_reactor_del(r, p[0]), 0);
	close(p[0]);
	close(p[1]);
}


static void
test_advance(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	uint64_t t0 = now_of(r);

	assert_int_equal(weft_reactor_advance(r, 3 * SEC), 0);
	assert_int_equal(now_of(r), t0 + 3 * SEC);
	assert_int_equal(weft_reactor_advance(r, 0), 0);
	assert_int_equal(now_of(r), t0 + 3 * SEC);
	/* The clock stops at its largest value rather than wrap to the past. */
	assert_int_equal(weft_reactor_advance(r, UINT64_MAX - t0 - 3 * SEC - 1),
	                 0);
	assert_int_equal(now_of(r), UINT64_MAX - 1);
	assert_int_equal(weft_reactor_advance(r, 5), 0);
	assert_int_equal(now_of(r), UINT64_MAX);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 5 * SEC), 0);
	assert_int_equal(now_of(r), UINT64_MAX);
}


#define ADVANCERS 4
#define ADVANCES  10000


static void *
advance_many(void *arg)
{
	struct weft_reactor *r = arg;
	int i;

	for (i = 0; i < ADVANCES; i++)
		weft_reactor_advance(r, 3);
	return NULL;
}


/* now and advance from any thread: no step is lost. */
static void
test_advance_from_threads(void **state)
{
	struct weft_reactor *r = *state;
	pthread_t t[ADVANCERS];
	uint64_t t0 = now_of(r), last = t0, seen;
	int i;

	for (i = 0; i < ADVANCERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, advance_many, r),
		                 0);
	/* Read meanwhile: monotonic. */
	for (i = 0; i < ADVANCES; i++) {
		seen = now_of(r);
		assert_true(seen >= last);
		last = seen;
	}
	for (i = 0; i < ADVANCERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(now_of(r), t0 + 3ull * ADVANCERS * ADVANCES);
}


/* R10: two instances share neither clock nor wakeup. */
static void
test_instances_are_independent(void **state)
{
	struct weft_reactor *a = *state, *b = open_reactor();
	struct weft_reactor_event ev[BATCH];

	assert_int_equal(weft_reactor_advance(a, 7 * SEC), 0);
	assert_int_equal(now_of(b), START);
	assert_int_equal(weft_reactor_wakeup(a), 0);
	/* b's wait is a timeout: a's wakeup is not b's. */
	assert_int_equal(weft_reactor_wait(b, ev, BATCH, 2 * SEC), 0);
	assert_int_equal(now_of(b), START + 2 * SEC);
	assert_int_equal(weft_reactor_wait(a, ev, BATCH, 2 * SEC), 0);
	assert_int_equal(now_of(a), START + 7 * SEC);
	close_reactor(b);
}


/* R11 as epoll answers it, and the clock's own reserved token. */
static void
test_error_codes(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	FILE *file;
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(weft_reactor_add(r, -1, WEFT_READABLE, TOKEN(8)),
	                 -EBADF);
	assert_int_equal(weft_reactor_del(r, p[0]), -ENOENT);
	assert_int_equal(weft_reactor_modify(r, p[0], WEFT_READABLE, TOKEN(8)),
	                 -ENOENT);
	assert_int_equal(weft_reactor_add(r, p[0], WEFT_READABLE, TOKEN(8)), 0);
	assert_int_equal(weft_reactor_add(r, p[0], WEFT_READABLE, TOKEN(9)),
	                 -EEXIST);
	/* Tokens the reactor keeps for itself are refused, changing nothing. */
	assert_int_equal(
	    weft_reactor_add(r, p[1], WEFT_WRITABLE, UINT64_MAX - 1), -EINVAL);
	assert_int_equal(
	    weft_reactor_modify(r, p[0], WEFT_READABLE, UINT64_MAX - 1),
	    -EINVAL);
	write_byte(p[1]);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 0), 1);
	assert_true(ev[0].token == TOKEN(8));
	file = tmpfile();
	assert_non_null(file);
	assert_int_equal(
	    weft_reactor_add(r, fileno(file), WEFT_READABLE, TOKEN(9)), -EPERM);
	fclose(file);
	assert_int_equal(weft_reactor_del(r, p[0]), 0);
	close(p[0]);
	close(p[1]);
}


/* The same waits give the same virtual times, run after run. */
static void
test_same_script_same_times(void **state)
{
	static const int64_t script[] = {3 * MSEC, 0, 1, 250 * MSEC, 7 * SEC};
	struct weft_reactor *runs[2] = {*state, open_reactor()};
	struct weft_reactor_event ev[BATCH];
	uint64_t times[2][5], sum = START;
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < 5; i++) {
			assert_int_equal(
			    weft_reactor_wait(runs[k], ev, BATCH, script[i]),
			    0);
			times[k][i] = now_of(runs[k]);
		}
	for (i = 0; i < 5; i++) {
		sum += (uint64_t)script[i];
		assert_int_equal(times[0][i], sum);
		assert_int_equal(times[1][i], sum);
	}
	close_reactor(runs[1]);
}


#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_claims_a_clock),
	    T(test_timeout_jumps_the_clock),
	    T(test_pipe_reported_with_token),
	    T(test_tcp_loopback),
	    T(test_tcp_in_flight_holds_the_clock),
	    T(test_wakeup_before_wait),
	    T(test_infinite_wait_ends_on_real_events),
	    T(test_advance),
	    T(test_advance_from_threads),
	    T(test_instances_are_independent),
	    T(test_error_codes),
	    T(test_same_script_same_times),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
