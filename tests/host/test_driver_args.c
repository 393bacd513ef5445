/* SPDX-License-Identifier: MIT */
/*
 * The driver on bad input: NULL and out-of-range arguments come back as
 * -EINVAL, -EBADF or -ENOENT without touching its state; a second park
 * while one is in progress is WEFT_EBUSY.  And in level mode a hang-up
 * takes the fd out of the reactor for good: io_poll reports it until the
 * reader clears it, and io_del still succeeds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver_fixture.h"
#include "timer.h"

static void
bad_arguments(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	struct weft__driver *drv = (struct weft__driver *)&drv;
	uint32_t ready = 0;
	char err[256] = "";
	uint64_t id = 0;
	int sv[2];

	(void)state;
	assert_int_equal(weft_driver_timer_add(fx.d, 1, NULL), -EINVAL);
	assert_int_equal(weft_driver_timer_add(fx.d, 1, &id), 0);
	assert_int_equal(weft_driver_timer_poll(fx.d, id, NULL), -EINVAL);
	weft_driver_timer_del(fx.d, id);

	socket_pair(sv);
	assert_int_equal(weft_driver_io_add(fx.d, -1, WEFT_READABLE, &id),
	                 -EBADF);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, NULL),
	                 -EINVAL);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], 0, &id), -EINVAL);
	assert_int_equal(
	    weft_driver_io_add(fx.d, sv[0], WEFT_READABLE | WEFT_HUP, &id),
	    -EINVAL);
	/* None of those registered the fd: this is its first add. */
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, &id),
	                 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, NULL, &ready),
	    -EINVAL);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, NULL), -EINVAL);
	assert_int_equal(weft_driver_io_poll(fx.d, id, WEFT_HUP, &cx, &ready),
	                 -EINVAL);
	/* A direction never registered would never be woken. */
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready), -EINVAL);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id + 1, WEFT_READABLE, &cx, &ready),
	    -ENOENT);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	close(sv[0]);
	close(sv[1]);

	/* The driver's own constructor and accessors. */
	assert_int_equal(weft__driver_new(&drv, NULL, 0, 0, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "no reactor given"));
	assert_int_equal(
	    weft__driver_new(NULL, fx.epoll, 0, 0, err, sizeof(err)), -EINVAL);
	assert_null(weft__driver_public(NULL));
	weft__driver_free(NULL);
	assert_false(weft__driver_is_host(NULL));
	assert_true(weft__driver_is_host(fx.d));
}


static atomic_int stop;

/*
 * Parks until told to stop.  Its own park may find the test's in progress
 * (WEFT_EBUSY): then it tries again.
 */
static void *
park_until_stopped(void *arg)
{
	struct timespec pause = {0, 1000000};
	int r;

	(void)arg;
	while (!atomic_load(&stop)) {
		r = weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE);
		if (r == WEFT_EBUSY)
			nanosleep(&pause, NULL);
		else if (r < 0)
			return (void *)(intptr_t)r;
	}
	return NULL;
}


/* One thread parks at a time: the second is told so, not queued. */
static void
second_park_is_busy(void **state)
{
	struct timespec pause = {0, 1000000};
	pthread_t t;
	void *got;
	int busy = 0;
	int i;

	(void)state;
	atomic_store(&stop, 0);
	assert_int_equal(pthread_create(&t, NULL, park_until_stopped, NULL), 0);
	/* Until the thread is inside its park: at most 10000 tries. */
	for (i = 0; i < 10000 && !busy; i++) {
		nanosleep(&pause, NULL);
		busy = weft_driver_park(fx.d, 0) == WEFT_EBUSY;
	}
	atomic_store(&stop, 1);
	assert_int_equal(weft_driver_unpark(fx.d), 0);
	assert_int_equal(pthread_join(t, &got), 0);
	assert_null(got);
	assert_true(busy);
	/* The park is over: parking again works. */
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
}


/* A level-mode driver: the reactor's own flags less WEFT_REACTOR_EDGE. */
static int
open_level(void **state)
{
	(void)state;
	open_driver(false, fx.iface->flags & ~WEFT_REACTOR_EDGE);
	return 0;
}


static void
level_hup_leaves_the_reactor(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	uint32_t ready = 0;
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, &id),
	                 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	close(sv[1]);
	assert_int_equal(weft_driver_park(fx.d, 5000 * MS), 1);
	assert_int_equal(atomic_load(&c.wakes), 1);
	/*
	 * Reported once; after the reader's clear it is not reported again,
	 * and since the fd left the reactor, no park reports it either: the
	 * reader does not spin on a hang-up it has seen.
	 */
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	assert_true(ready & WEFT_HUP);
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
	assert_int_equal(atomic_load(&c.wakes), 1);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	close(sv[0]);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(bad_arguments, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(second_park_is_busy, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(level_hup_leaves_the_reactor,
	                                    open_level, close_driver),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
