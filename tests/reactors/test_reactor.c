/* SPDX-License-Identifier: MIT */
/*
 * Reactor-specific tests, run once per reactor plugin: hang-up on close and
 * half-close, an fd closed while registered, 10,000 registered sockets,
 * readiness and a wakeup in the same wait, events beyond the capacity of
 * one wait, and the timing of waits.
 *
 * The plugin named by WEFT_TEST_REACTOR is loaded with dlopen and driven
 * through its iface directly, without the host, so that what is tested is
 * the reactor's own behaviour.  Tests accept both edge- and level-triggered
 * reactors: the flags decide only whether a report may repeat.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <weft/abi.h>

#define MSEC  1000000LL
#define SEC   1000000000LL
#define BATCH 64
/* 5,000 socketpairs, both ends registered. */
#define MANY 10000

static const struct weft_reactor_iface *ops;
static void *plugin;


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}


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
	    desc->kind != WEFT_PLUGIN_REACTOR)
		return -1;
	ops = desc->iface;
	print_message("%s: %s-triggered\n", desc->name,
	              ops->flags & WEFT_REACTOR_EDGE ? "edge" : "level");
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


static int
setup(void **state)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = BATCH,
	};
	struct weft_reactor *r = calloc(1, ops->instance_size);

	if (!r)
		return -1;
	r->version = ops->version;
	r->ops = ops;
	if (ops->init(r, &params) < 0) {
		free(r);
		return -1;
	}
	*state = r;
	return 0;
}


static int
teardown(void **state)
{
	struct weft_reactor *r = *state;

	ops->fini(r);
	free(r);
	return 0;
}


static void
make_pair(int sv[2])
{
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}


/*
 * Waits up to timeout_ms in total for an event of token carrying all of
 * `want`; returns the readiness seen, or 0.  Every event must carry a
 * token the test registered (below `limit`).
 */
static uint32_t
wait_for(struct weft_reactor *r, uint64_t token, uint32_t want, long timeout_ms,
         uint64_t limit)
{
	struct weft_reactor_event ev[BATCH];
	uint64_t end = now_ns() + (uint64_t)timeout_ms * MSEC;
	int n, i;

	while (now_ns() < end) {
		n = weft_reactor_wait(r, ev, BATCH, 20 * MSEC);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			assert_true(ev[i].token < limit);
			if (ev[i].token == token &&
			    (ev[i].ready & want) == want)
				return ev[i].ready;
		}
	}
	return 0;
}


static void
test_readable_token(void **state)
{
	struct weft_reactor *r = *state;
	int sv[2];

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 42), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_true(wait_for(r, 42, WEFT_READABLE, 5000, 43));
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
test_peer_close_hup(void **state)
{
	struct weft_reactor *r = *state;
	int sv[2];

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 1), 0);
	close(sv[1]);
	assert_true(wait_for(r, 1, WEFT_HUP, 5000, 2));
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	close(sv[0]);
}


static void
test_half_close_hup(void **state)
{
	struct weft_reactor *r = *state;
	int sv[2];

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 1), 0);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_true(wait_for(r, 1, WEFT_HUP | WEFT_READABLE, 5000, 2));
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}


/* A writer learns of the peer's close as a hang-up too. */
static void
test_writer_peer_close(void **state)
{
	struct weft_reactor *r = *state;
	int sv[2];

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_WRITABLE, 1), 0);
	assert_true(wait_for(r, 1, WEFT_WRITABLE, 5000, 2));
	close(sv[1]);
	assert_true(wait_for(r, 1, WEFT_HUP, 5000, 2) & WEFT_HUP);
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	close(sv[0]);
}


/*
 * Closing an fd before del is the caller's mistake, but the reactor must
 * survive it: the fd is dropped or reported with an error, del may fail,
 * and the reactor goes on working with the fd number reused.
 */
static void
test_closed_while_registered(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	int sv[2], again[2], n, i;

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 1), 0);
	close(sv[0]);
	n = weft_reactor_wait(r, ev, BATCH, 50 * MSEC);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].token, 1);
		assert_true(ev[i].ready & WEFT_ERROR);
	}
	n = weft_reactor_del(r, sv[0]);
	assert_true(n == 0 || n < 0);
	make_pair(again);
	assert_int_equal(weft_reactor_add(r, again[0], WEFT_READABLE, 2), 0);
	assert_int_equal(write(again[1], "x", 1), 1);
	assert_true(wait_for(r, 2, WEFT_READABLE, 5000, 3));
	assert_int_equal(weft_reactor_del(r, again[0]), 0);
	close(sv[1]);
	close(again[0]);
	close(again[1]);
}


static void
test_del_then_silent(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	int sv[2];

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 1), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 30 * MSEC), 0);
	close(sv[0]);
	close(sv[1]);
}


/* Three fds ready at once, read one event per wait: none is lost. */
static void
test_capacity_one(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev;
	int sv[3][2], i, n, seen = 0;
	uint64_t end = now_ns() + 5 * SEC;

	for (i = 0; i < 3; i++) {
		make_pair(sv[i]);
		assert_int_equal(
		    weft_reactor_add(r, sv[i][0], WEFT_READABLE, (uint64_t)i),
		    0);
		assert_int_equal(write(sv[i][1], "x", 1), 1);
	}
	while (seen != 7 && now_ns() < end) {
		n = weft_reactor_wait(r, &ev, 1, 20 * MSEC);
		assert_true(n == 0 || n == 1);
		if (n == 1) {
			assert_true(ev.token < 3);
			seen |= 1 << ev.token;
		}
	}
	assert_int_equal(seen, 7);
	for (i = 0; i < 3; i++) {
		assert_int_equal(weft_reactor_del(r, sv[i][0]), 0);
		close(sv[i][0]);
		close(sv[i][1]);
	}
}


static void
test_readiness_and_wakeup(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	int sv[2], n;
	char c;

	make_pair(sv);
	assert_int_equal(weft_reactor_add(r, sv[0], WEFT_READABLE, 5), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(weft_reactor_wakeup(r), 0);
	/* The wakeup is never reported as an event of its own. */
	n = weft_reactor_wait(r, ev, BATCH, 5 * SEC);
	if (n == 0)
		n = weft_reactor_wait(r, ev, BATCH, 5 * SEC);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].token, 5);
	assert_true(ev[0].ready & WEFT_READABLE);
	assert_int_equal(read(sv[0], &c, 1), 1);
	n = weft_reactor_wait(r, ev, BATCH, 30 * MSEC);
	assert_int_equal(n, 0);
	assert_int_equal(weft_reactor_del(r, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
test_timeout_not_early(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	const int64_t timeouts[] = {1, 999 * 1000, 1500 * 1000, 30 * MSEC + 1};
	uint64_t t0;
	size_t i;

	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		t0 = now_ns();
		assert_int_equal(weft_reactor_wait(r, ev, BATCH, timeouts[i]),
		                 0);
		assert_true(now_ns() - t0 >= (uint64_t)timeouts[i]);
	}
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 0), 0);
}


struct later {
	struct weft_reactor *r;
	int fd; /* -1: wake up instead of writing */
};


static void *
act_later(void *p)
{
	struct later *l = p;

	sleep_ms(50);
	if (l->fd < 0)
		weft_reactor_wakeup(l->r);
	else if (write(l->fd, "x", 1) != 1)
		abort();
	return NULL;
}


static void
test_wakeup_cross_thread(void **state)
{
	struct later l = {.r = *state, .fd = -1};
	struct weft_reactor_event ev[BATCH];
	pthread_t th;
	uint64_t t0 = now_ns();

	assert_int_equal(pthread_create(&th, NULL, act_later, &l), 0);
	assert_int_equal(
	    weft_reactor_wait(l.r, ev, BATCH, WEFT_TIMEOUT_INFINITE), 0);
	assert_true(now_ns() - t0 < 5 * SEC);
	pthread_join(th, NULL);
}


/* Readiness ends a long timed wait as soon as it comes. */
static void
test_io_ends_timed_wait(void **state)
{
	struct later l = {.r = *state};
	struct weft_reactor_event ev[BATCH];
	int sv[2], n;
	pthread_t th;
	uint64_t t0;

	make_pair(sv);
	l.fd = sv[1];
	assert_int_equal(weft_reactor_add(l.r, sv[0], WEFT_READABLE, 3), 0);
	t0 = now_ns();
	assert_int_equal(pthread_create(&th, NULL, act_later, &l), 0);
	n = weft_reactor_wait(l.r, ev, BATCH, 10 * SEC);
	assert_true(now_ns() - t0 < 5 * SEC);
	pthread_join(th, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].token, 3);
	assert_int_equal(weft_reactor_del(l.r, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}


/* A regular file is refused by some systems: an error, never a crash. */
static void
test_regular_file(void **state)
{
	struct weft_reactor *r = *state;
	FILE *f = tmpfile();
	int rc;

	assert_non_null(f);
	rc = weft_reactor_add(r, fileno(f), WEFT_READABLE, 1);
	if (rc == 0)
		assert_int_equal(weft_reactor_del(r, fileno(f)), 0);
	else
		assert_true(rc < 0);
	fclose(f);
}


static bool
raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return false;
	if (rl.rlim_cur >= need)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return false;
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}


static void
test_many_sockets(void **state)
{
	struct weft_reactor *r = *state;
	struct weft_reactor_event ev[BATCH];
	int *fds = calloc(MANY, sizeof(int));
	uint8_t *seen = calloc(MANY, 1);
	uint64_t end;
	int i, n, count = 0;

	assert_non_null(fds);
	assert_non_null(seen);
	if (!raise_nofile(MANY + 256)) {
		free(fds);
		free(seen);
		print_message("cannot raise RLIMIT_NOFILE to %d: skipped\n",
		              MANY + 256);
		skip();
	}
	for (i = 0; i < MANY; i += 2)
		make_pair(&fds[i]);
	for (i = 0; i < MANY; i++)
		assert_int_equal(
		    weft_reactor_add(r, fds[i], WEFT_READABLE, (uint64_t)i), 0);
	/* A byte each way makes every one of the 10,000 readable. */
	for (i = 0; i < MANY; i++)
		assert_int_equal(write(fds[i], "x", 1), 1);
	end = now_ns() + 60 * SEC;
	while (count < MANY && now_ns() < end) {
		n = weft_reactor_wait(r, ev, BATCH, 100 * MSEC);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			assert_true(ev[i].token < MANY);
			assert_true(ev[i].ready & WEFT_READABLE);
			if (!seen[ev[i].token]++)
				count++;
		}
	}
	assert_int_equal(count, MANY);
	for (i = 0; i < MANY; i++)
		assert_int_equal(weft_reactor_del(r, fds[i]), 0);
	for (i = 0; i < MANY; i++)
		assert_int_equal(write(fds[i], "y", 1), 1);
	assert_int_equal(weft_reactor_wait(r, ev, BATCH, 30 * MSEC), 0);
	for (i = 0; i < MANY; i++)
		close(fds[i]);
	free(fds);
	free(seen);
}


#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_readable_token),
	    T(test_peer_close_hup),
	    T(test_half_close_hup),
	    T(test_writer_peer_close),
	    T(test_closed_while_registered),
	    T(test_del_then_silent),
	    T(test_capacity_one),
	    T(test_readiness_and_wakeup),
	    T(test_timeout_not_early),
	    T(test_wakeup_cross_thread),
	    T(test_io_ends_timed_wait),
	    T(test_regular_file),
	    T(test_many_sockets),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
