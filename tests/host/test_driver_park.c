/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O driver's timers, park, unpark and blocking pool
 * (runtime/driver.c) over the real epoll reactor, loaded from the path
 * in WEFT_TEST_REACTOR, including registrations made while another thread
 * parks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver_fixture.h"

/* ---- tests ---------------------------------------------------------- */

static void
timer_never_fires_early(void **state)
{
	static const int64_t delays[] = {1, 1 * MS, 5 * MS, 20 * MS, 30 * MS};
	enum { N = sizeof(delays) / sizeof(delays[0]) };
	struct counter c[N];
	uint64_t ids[N], deadlines[N], start = weft_driver_now(fx.d);
	int i, fired = 0, rounds = 0;

	(void)state;
	memset(c, 0, sizeof(c));
	for (i = 0; i < N; i++) {
		struct weft_context cx = context_of(&c[i], fx.d);

		deadlines[i] = start + (uint64_t)delays[i];
		assert_int_equal(
		    weft_driver_timer_add(fx.d, deadlines[i], &ids[i]), 0);
		assert_int_not_equal(ids[i], 0);
		if (weft_driver_timer_poll(fx.d, ids[i], &cx) == WEFT_READY)
			assert_true(weft_driver_now(fx.d) >= deadlines[i]);
	}
	while (fired < N && rounds++ < 1000) {
		assert_true(weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE) >= 0);
		for (i = 0, fired = 0; i < N; i++) {
			struct weft_context cx = context_of(&c[i], fx.d);

			if (atomic_load(&c[i].wakes) == 0 &&
			    atomic_load(&c[i].refs) == 1)
				continue;
			/* Woken or ready: the deadline must have passed. */
			assert_true(weft_driver_now(fx.d) >= deadlines[i]);
			assert_int_equal(
			    weft_driver_timer_poll(fx.d, ids[i], &cx),
			    WEFT_READY);
			fired++;
		}
	}
	assert_int_equal(fired, N);
	assert_true(elapsed_since(start) >= 30 * MS);
	for (i = 0; i < N; i++) {
		weft_driver_timer_del(fx.d, ids[i]);
		assert_int_equal(atomic_load(&c[i].refs), 0);
	}
}


static void
timer_del_drops_waker_unwoken(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	uint64_t id;

	(void)state;
	assert_int_equal(
	    weft_driver_timer_add(fx.d, weft_driver_now(fx.d) + 1000 * MS, &id),
	    0);
	assert_int_equal(weft_driver_timer_poll(fx.d, id, &cx), WEFT_PENDING);
	/* Polling again with the same task keeps one stored clone. */
	assert_int_equal(weft_driver_timer_poll(fx.d, id, &cx), WEFT_PENDING);
	assert_int_equal(atomic_load(&c.refs), 1);
	weft_driver_timer_del(fx.d, id);
	assert_int_equal(atomic_load(&c.refs), 0);
	assert_int_equal(atomic_load(&c.wakes), 0);
	assert_int_equal(weft_driver_timer_poll(fx.d, id, &cx), -ENOENT);
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
}


static void
park_timeout_returns(void **state)
{
	uint64_t start = weft_driver_now(fx.d);

	(void)state;
	assert_int_equal(weft_driver_park(fx.d, 20 * MS), 0);
	assert_true(elapsed_since(start) >= 20 * MS);
	start = weft_driver_now(fx.d);
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
	assert_true(elapsed_since(start) < 10000 * MS);
}


static void *
unpark_later(void *arg)
{
	struct timespec ts = {0, 50 * MS};

	nanosleep(&ts, NULL);
	weft_driver_unpark(arg);
	return NULL;
}


static void
unpark_wakes_infinite_park(void **state)
{
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, unpark_later, fx.d), 0);
	assert_int_equal(weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE), 0);
	pthread_join(t, NULL);
	/* An unpark with nobody parked makes the next park return. */
	assert_int_equal(weft_driver_unpark(fx.d), 0);
	assert_int_equal(weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE), 0);
}


struct register_job {
	int fd;
	int add_rc, del_rc;
	uint64_t timer, deadline;
};

static void *
register_while_parked(void *arg)
{
	struct register_job *job = arg;
	struct timespec ts = {0, 50 * MS};
	uint64_t id = 0;

	nanosleep(&ts, NULL);
	job->add_rc = weft_driver_io_add(fx.d, job->fd, WEFT_READABLE, &id);
	job->del_rc = weft_driver_io_del(fx.d, id);
	return NULL;
}


static void
register_during_park_completes(void **state)
{
	struct register_job job = {0};
	pthread_t t;
	int sv[2];

	(void)state;
	socket_pair(sv);
	job.fd = sv[0];
	assert_int_equal(pthread_create(&t, NULL, register_while_parked, &job),
	                 0);
	/* The registering thread must get the reactor: this park returns. */
	assert_int_equal(weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE), 0);
	pthread_join(t, NULL);
	assert_int_equal(job.add_rc, 0);
	assert_int_equal(job.del_rc, 0);
	close(sv[0]);
	close(sv[1]);
}


static void *
add_timer_later(void *arg)
{
	struct register_job *job = arg;
	struct timespec ts = {0, 50 * MS};

	nanosleep(&ts, NULL);
	job->deadline = weft_driver_now(fx.d) + 10 * MS;
	job->add_rc = weft_driver_timer_add(fx.d, job->deadline, &job->timer);
	return NULL;
}


static void
timer_added_during_park_shortens_it(void **state)
{
	struct register_job job = {0};
	pthread_t t;
	int rounds = 0;
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, add_timer_later, &job), 0);
	assert_int_equal(weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE), 0);
	pthread_join(t, NULL);
	assert_int_equal(job.add_rc, 0);
	while (weft_driver_timer_poll(fx.d, job.timer, &cx) == WEFT_PENDING &&
	       rounds++ < 100)
		weft_driver_park(fx.d, WEFT_TIMEOUT_INFINITE);
	assert_true(rounds < 100);
	assert_true(weft_driver_now(fx.d) >= job.deadline);
	weft_driver_timer_del(fx.d, job.timer);
	assert_int_equal(atomic_load(&c.refs), 0);
}


struct churn {
	atomic_int *running;
	int errors;
	/*
	 * Here rather than on the churning thread's stack: the parker may
	 * still be waking a clone when that thread has finished.
	 */
	struct counter c;
};


/* Registers, polls and drops fds and timers while another thread parks. */
static void *
churn(void *arg)
{
	struct churn *job = arg;
	struct weft_context cx = context_of(&job->c, fx.d);
	uint64_t tid, iid;
	uint32_t ready;
	int i, sv[2];

	for (i = 0; i < 200; i++) {
		if (weft_driver_timer_add(fx.d, weft_driver_now(fx.d) + MS,
		                          &tid) < 0)
			job->errors++;
		if (weft_driver_timer_poll(fx.d, tid, &cx) < 0)
			job->errors++;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) <
		        0 ||
		    weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, &iid) < 0) {
			job->errors++;
			break;
		}
		if (weft_driver_io_poll(fx.d, iid, WEFT_READABLE, &cx, &ready) <
		        0 ||
		    write(sv[1], "x", 1) != 1)
			job->errors++;
		if (weft_driver_io_del(fx.d, iid) < 0)
			job->errors++;
		weft_driver_timer_del(fx.d, tid);
		close(sv[0]);
		close(sv[1]);
	}
	atomic_fetch_sub(job->running, 1);
	weft_driver_unpark(fx.d);
	return NULL;
}


static void
concurrent_use_while_parking(void **state)
{
	enum { THREADS = 4 };
	atomic_int running = THREADS;
	struct churn jobs[THREADS];
	pthread_t t[THREADS];
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++) {
		jobs[i] = (struct churn){.running = &running};
		assert_int_equal(pthread_create(&t[i], NULL, churn, &jobs[i]),
		                 0);
	}
	/* Bounded parks: with concurrent ctl, churn need not interrupt one. */
	while (atomic_load(&running) > 0)
		assert_true(weft_driver_park(fx.d, 10 * MS) >= 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(jobs[i].errors, 0);
		/* Every park has returned, so every taken waker was woken. */
		assert_int_equal(atomic_load(&jobs[i].c.refs), 0);
	}
}


/* The same, on a driver that must interrupt the wait for every change. */
static void
concurrent_use_while_parking_serial(void **state)
{
	concurrent_use_while_parking(state);
}


static void
set_flag(void *arg)
{
	atomic_store((atomic_int *)arg, 1);
}


static void
blocking_runs_and_wakes(void **state)
{
	struct counter c = {0};
	struct weft_waker done = counter_clone(&c);
	atomic_int flag = 0;
	int rounds = 0;

	(void)state;
	assert_int_equal(weft_driver_blocking(fx.d, set_flag, &flag, &done), 0);
	assert_null(done.vtable);
	while (atomic_load(&c.wakes) == 0 && rounds++ < 5000) {
		struct timespec ts = {0, MS};

		nanosleep(&ts, NULL);
	}
	assert_int_equal(atomic_load(&flag), 1);
	assert_int_equal(atomic_load(&c.wakes), 1);
	assert_int_equal(atomic_load(&c.refs), 0);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(timer_never_fires_early, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(timer_del_drops_waker_unwoken,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(park_timeout_returns, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(unpark_wakes_infinite_park,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(register_during_park_completes,
	                                    open_serial, close_driver),
	    cmocka_unit_test_setup_teardown(timer_added_during_park_shortens_it,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(concurrent_use_while_parking,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(concurrent_use_while_parking_serial,
	                                    open_serial, close_driver),
	    cmocka_unit_test_setup_teardown(blocking_runs_and_wakes, open_edge,
	                                    close_driver),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
