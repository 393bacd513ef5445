/* SPDX-License-Identifier: MIT */
/*
 * The host driver over each reactor: many timers armed and cancelled at
 * random, and a timer and I/O readiness reported by the same park.  Runs
 * through a real runtime (the reactor named by WEFT_TEST_REACTOR_NAME), and
 * calls the driver directly from the test thread: no block_on is running,
 * so this thread may park.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <weft/weft.h>

static struct weft_runtime *rt;
static struct weft_driver *drv;

/* ---- a waker that counts ------------------------------------------- */

static atomic_int wakes, live;

static struct weft_waker count_clone(const void *data);

static void
count_wake_by_ref(const void *data)
{
	(void)data;
	atomic_fetch_add(&wakes, 1);
}

static void
count_drop(const void *data)
{
	(void)data;
	atomic_fetch_sub(&live, 1);
}

static void
count_wake(const void *data)
{
	count_wake_by_ref(data);
	count_drop(data);
}

static const struct weft_waker_vtable count_vt = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = count_clone,
    .wake = count_wake,
    .wake_by_ref = count_wake_by_ref,
    .drop = count_drop,
};

static struct weft_waker
count_clone(const void *data)
{
	atomic_fetch_add(&live, 1);
	return (struct weft_waker){&count_vt, data};
}

static void
context(struct weft_context *cx)
{
	weft_context_init(cx, (struct weft_waker){&count_vt, NULL}, NULL, drv);
}

/* ---- setup ---------------------------------------------------------- */

static int
open_runtime(void **state)
{
	struct weft_config *cfg;
	char err[512];
	const char *name = getenv("WEFT_TEST_REACTOR_NAME");

	(void)state;
	if (!name || weft_config_new(&cfg) < 0)
		return -1;
	weft_config_set(cfg, "use_env", "false", NULL, 0);
	weft_config_set(cfg, "reactor", name, NULL, 0);
	weft_config_set(cfg, "plugin_path", getenv("WEFT_PLUGIN_PATH"), NULL,
	                0);
	if (weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		print_error("%s\n", err);
		weft_config_free(cfg);
		return -1;
	}
	weft_config_free(cfg);
	drv = weft_runtime_driver(rt);
	return 0;
}

static int
close_runtime(void **state)
{
	(void)state;
	weft_runtime_close(rt);
	return 0;
}

/* ---- tests ---------------------------------------------------------- */

/*
 * Arms N timers with random deadlines, cancels a random half while others
 * fire, and checks that every armed timer either fired (never early) or
 * was cancelled, and that every stored waker was woken or dropped.
 */
static void
timers_armed_and_cancelled_at_random(void **state)
{
	unsigned n = getenv("WEFT_UNDER_VALGRIND") ? 10000 : 100000;
	uint64_t *ids = calloc(n, sizeof(*ids));
	uint64_t *when = calloc(n, sizeof(*when));
	unsigned char *done = calloc(n, 1);
	struct weft_context cx;
	unsigned seed = 12345, left = n, i, early = 0;
	uint64_t start;
	int r;

	(void)state;
	assert_non_null(ids);
	assert_non_null(when);
	assert_non_null(done);
	atomic_store(&wakes, 0);
	atomic_store(&live, 0);
	context(&cx);
	start = weft_driver_now(drv);
	for (i = 0; i < n; i++) {
		when[i] = start + (rand_r(&seed) % 50) * WEFT_MSEC;
		assert_int_equal(weft_driver_timer_add(drv, when[i], &ids[i]),
		                 0);
		r = weft_driver_timer_poll(drv, ids[i], &cx);
		assert_true(r == WEFT_READY || r == WEFT_PENDING);
		if (r == WEFT_READY) { /* already due: never before `when` */
			assert_true(weft_driver_now(drv) >= when[i]);
			weft_driver_timer_del(drv, ids[i]);
			done[i] = 1;
			left--;
		}
	}
	for (i = 0; i < n; i++) {
		if (!done[i] && rand_r(&seed) % 2 == 0) {
			weft_driver_timer_del(drv, ids[i]);
			done[i] = 1;
			left--;
		}
	}
	/* Bounded: every deadline is within 50 ms; allow 20 s. */
	while (left > 0 && weft_driver_now(drv) - start < 20 * WEFT_SEC) {
		assert_true(weft_driver_park(drv, 10 * WEFT_MSEC) >= 0);
		for (i = 0; i < n; i++) {
			if (done[i] ||
			    weft_driver_timer_poll(drv, ids[i], &cx) != 1)
				continue;
			if (weft_driver_now(drv) < when[i])
				early++;
			weft_driver_timer_del(drv, ids[i]);
			done[i] = 1;
			left--;
		}
	}
	assert_int_equal(left, 0);
	assert_int_equal(early, 0);
	assert_int_equal(atomic_load(&live), 0); /* no waker leaked */
	free(ids);
	free(when);
	free(done);
}

/* A due timer and a readable socket both wake their wakers in one park. */
static void
timer_and_io_in_the_same_park(void **state)
{
	struct weft_context cx;
	uint64_t timer, io;
	uint32_t ready = 0;
	int sv[2], r;
	char b = 'x';

	(void)state;
	atomic_store(&wakes, 0);
	atomic_store(&live, 0);
	context(&cx);
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(weft_driver_io_add(drv, sv[0], WEFT_READABLE, &io), 0);
	assert_int_equal(
	    weft_driver_io_poll(drv, io, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(weft_driver_timer_add(
	                     drv, weft_driver_now(drv) + 5 * WEFT_MSEC, &timer),
	                 0);
	assert_int_equal(weft_driver_timer_poll(drv, timer, &cx), WEFT_PENDING);
	/* Let the timer fall due, then make the socket readable. */
	usleep(20000);
	assert_int_equal(write(sv[1], &b, 1), 1);
	r = weft_driver_park(drv, 1 * WEFT_SEC);
	assert_int_equal(r, 2);
	assert_int_equal(atomic_load(&wakes), 2);
	assert_int_equal(weft_driver_timer_poll(drv, timer, &cx), WEFT_READY);
	assert_int_equal(
	    weft_driver_io_poll(drv, io, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	assert_true(ready & WEFT_READABLE);
	weft_driver_timer_del(drv, timer);
	assert_int_equal(weft_driver_io_del(drv, io), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(atomic_load(&live), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(timers_armed_and_cancelled_at_random),
	    cmocka_unit_test(timer_and_io_in_the_same_park),
	};

	return cmocka_run_group_tests(tests, open_runtime, close_runtime);
}
