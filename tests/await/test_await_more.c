/* SPDX-License-Identifier: MIT */
/*
 * The later block of <weft/await.h> on a real runtime (the executor and
 * reactor named on the command line): timeout_at, mutex lock, broadcast
 * receive with its lag report, TCP connect on loopback, and the fiber
 * tasks of a task tracker with its wait.  Each await does what the future
 * it wraps does and answers -EINVAL for a missing handle and -EPERM
 * outside a fiber.
 *
 * Fibers report failures with CHECK (tests/common/pair.h), never cmocka.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Outside a fiber                                                     */
/* ------------------------------------------------------------------ */

static int
nothing(void *arg)
{
	(void)arg;
	return 0;
}

static void
test_outside_fiber(void **state)
{
	struct weft_mutex *m;
	struct weft_tracker *t;
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	struct weft_io *s = (struct weft_io *)&s;
	struct weft_addr addr;
	struct weft_sleep sleep;
	uint64_t msg, missed = 7;

	(void)state;
	assert_int_equal(weft_mutex_new(&m), 0);
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	assert_int_equal(weft_broadcast_new(sizeof(msg), 2, &tx, &rx), 0);
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 1), 0);

	/* Consumed even so: a sleep dropped unpolled holds nothing. */
	weft_sleep_init(&sleep, WEFT_MSEC);
	assert_int_equal(weft_timeout_at_await(&sleep.base, 0), -EPERM);
	assert_int_equal(weft_mutex_lock_await(m), -EPERM);
	assert_int_equal(weft_mutex_try_lock(m), 0); /* it was not taken */
	weft_mutex_unlock(m);
	assert_int_equal(weft_broadcast_recv_await(rx, &msg, &missed), -EPERM);
	assert_int_equal(missed, 7);
	assert_int_equal(weft_connect_await(&addr, &s), -EPERM);
	assert_null(s);
	assert_int_equal(weft_tracker_spawn_fiber(t, nothing, NULL, NULL),
	                 -EPERM);
	assert_int_equal(weft_tracker_len(t), 0);
	assert_int_equal(weft_tracker_wait_await(t), -EPERM);

	/* Missing handles, before anything else is looked at. */
	assert_int_equal(weft_timeout_at_await(NULL, 0), -EINVAL);
	assert_int_equal(weft_mutex_lock_await(NULL), -EINVAL);
	assert_int_equal(weft_broadcast_recv_await(NULL, &msg, NULL), -EINVAL);
	assert_int_equal(weft_broadcast_recv_await(rx, NULL, NULL), -EINVAL);
	assert_int_equal(weft_connect_await(NULL, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(weft_connect_await(&addr, NULL), -EINVAL);
	assert_int_equal(weft_tracker_spawn_fiber(NULL, nothing, NULL, NULL),
	                 -EINVAL);
	assert_int_equal(weft_tracker_spawn_fiber(t, NULL, NULL, NULL),
	                 -EINVAL);
	assert_int_equal(weft_tracker_wait_await(NULL), -EINVAL);

	weft_broadcast_rx_free(rx);
	weft_broadcast_tx_free(tx);
	weft_tracker_free(t);
	weft_mutex_free(m);
}

/* ------------------------------------------------------------------ */
/* timeout_at                                                          */
/* ------------------------------------------------------------------ */

static int
timeout_at_fiber(void *arg)
{
	struct weft_sleep slow, fast, ready;
	uint64_t start = weft_now(), deadline = start + 30 * WEFT_MSEC;

	(void)arg;
	/* Two awaits share one deadline: the first leaves time over, the
	 * second runs out of it. */
	weft_sleep_init(&fast, 5 * WEFT_MSEC);
	CHECK(weft_timeout_at_await(&fast.base, deadline) == 0);
	CHECK(fast.status == 0);
	weft_sleep_init(&slow, 10 * WEFT_SEC);
	CHECK(weft_timeout_at_await(&slow.base, deadline) == WEFT_ETIMEDOUT);
	CHECK(weft_now() >= deadline);
	CHECK(weft_now() - start < 5 * WEFT_SEC); /* not the 10 s sleep */

	/* A deadline already past still polls the future once. */
	weft_sleep_until_init(&ready, start);
	CHECK(weft_timeout_at_await(&ready.base, start) == 0);
	weft_sleep_init(&slow, 10 * WEFT_SEC);
	CHECK(weft_timeout_at_await(&slow.base, start) == WEFT_ETIMEDOUT);
	return 0;
}

static void
test_timeout_at(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(timeout_at_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Mutex                                                               */
/* ------------------------------------------------------------------ */

struct locker {
	struct weft_mutex *m;
	atomic_int held; /* 1 while the locker holds m */
};

static int
locker(void *arg)
{
	struct locker *l = arg;
	int r = weft_mutex_lock_await(l->m);

	if (r < 0)
		return r;
	atomic_store(&l->held, 1);
	weft_mutex_unlock(l->m);
	return 0;
}

static int
mutex_fiber(void *arg)
{
	struct locker l = {.m = arg};
	struct weft_join *join;
	int result = -1;

	CHECK(weft_mutex_lock_await(l.m) == 0);
	CHECK(weft_mutex_try_lock(l.m) == -EAGAIN);
	CHECK(weft_spawn_fiber(locker, &l, &join) == 0);
	/* The other task waits for the lock as long as this one holds it. */
	CHECK(weft_sleep_ms(30) == 0);
	CHECK(atomic_load(&l.held) == 0);
	weft_mutex_unlock(l.m);
	CHECK(weft_task_await(join, &result, sizeof(result)) == 0);
	CHECK(result == 0);
	CHECK(atomic_load(&l.held) == 1);
	CHECK(weft_mutex_try_lock(l.m) == 0); /* and it let go */
	weft_mutex_unlock(l.m);
	return 0;
}

static void
test_mutex(void **state)
{
	struct weft_mutex *m;

	(void)state;
	assert_int_equal(weft_mutex_new(&m), 0);
	assert_int_equal(run_fiber(mutex_fiber, m), 0);
	weft_mutex_free(m);
}

/* ------------------------------------------------------------------ */
/* Broadcast                                                           */
/* ------------------------------------------------------------------ */

static int
broadcast_fiber(void *arg)
{
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	uint64_t msg = 0, missed = 0;

	(void)arg;
	CHECK(weft_broadcast_new(sizeof(msg), 2, &tx, &rx) == 0);
	for (uint64_t i = 1; i <= 5; i++)
		CHECK(weft_broadcast_send(tx, &i) == 1);
	/* Capacity 2: 1, 2 and 3 were overwritten; 4 and 5 are held. */
	CHECK(weft_broadcast_recv_await(rx, &msg, &missed) == WEFT_ELAGGED);
	CHECK(missed == 3);
	CHECK(weft_broadcast_recv_await(rx, &msg, NULL) == 0 && msg == 4);
	CHECK(weft_broadcast_recv_await(rx, &msg, &missed) == 0 && msg == 5);
	CHECK(missed == 3); /* left alone when nothing was lost */
	weft_broadcast_tx_free(tx);
	CHECK(weft_broadcast_recv_await(rx, &msg, NULL) == WEFT_ECLOSED);
	weft_broadcast_rx_free(rx);
	return 0;
}

static void
test_broadcast(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(broadcast_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* connect                                                             */
/* ------------------------------------------------------------------ */

static int
connect_fiber(void *arg)
{
	struct weft_listener *l;
	struct weft_accept acc;
	struct weft_addr addr;
	struct weft_io *s = (struct weft_io *)&s;
	int r;

	(void)arg;
	CHECK(weft_addr_ip(&addr, "127.0.0.1", 0) == 0);
	CHECK(weft_listen(&l, &addr, 0) == 0);
	CHECK(weft_listener_local_addr(l, &addr) == 0);
	r = weft_connect_await(&addr, &s);
	CHECK(r == 0 && s != NULL);
	weft_accept_init(&acc, l);
	CHECK(weft_await(&acc.base) == 0 && acc.status == 0);
	weft_io_close(acc.stream);
	weft_io_close(s);

	/* Nobody listens there any more: refused, and no stream. */
	weft_listener_close(l);
	s = (struct weft_io *)&s;
	CHECK(weft_connect_await(&addr, &s) == -ECONNREFUSED);
	CHECK(s == NULL);
	return 0;
}

static void
test_connect(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(connect_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Task tracker                                                        */
/* ------------------------------------------------------------------ */

static atomic_int ran;

/* A tracked task: waits for the token arg, then counts itself. */
static int
tracked(void *arg)
{
	int r = weft_cancelled_await(arg);

	if (r == 0)
		atomic_fetch_add(&ran, 1);
	return r;
}

static int
tracker_fiber(void *arg)
{
	struct weft_tracker *t;
	struct weft_cancel_token *go;
	struct weft_join *join;
	int status = -1;

	(void)arg;
	atomic_store(&ran, 0);
	CHECK(weft_cancel_token_new(&go) == 0);
	CHECK(weft_tracker_new(&t, NULL) == 0);
	CHECK(weft_tracker_spawn_fiber(t, tracked, go, &join) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(weft_tracker_spawn_fiber(t, tracked, go, NULL) == 0);
	CHECK(weft_sleep_ms(10) == 0);
	CHECK(weft_tracker_len(t) == 4 && atomic_load(&ran) == 0);
	weft_tracker_close(t);
	weft_cancel_token_cancel(go);
	CHECK(weft_tracker_wait_await(t) == 0);
	CHECK(atomic_load(&ran) == 4);
	CHECK(weft_tracker_len(t) == 0);
	/* The handle's output is the tracked task's status. */
	CHECK(weft_task_await(join, &status, sizeof(status)) == 0);
	CHECK(status == 0);

	/* Cancelled: a task that has not run never does, and the wait
	 * still completes. */
	weft_tracker_reopen(t);
	weft_tracker_cancel(t);
	CHECK(weft_tracker_spawn_fiber(t, tracked, go, &join) == 0);
	weft_tracker_close(t);
	CHECK(weft_tracker_wait_await(t) == 0);
	CHECK(weft_task_await(join, &status, sizeof(status)) == 0);
	CHECK(status == WEFT_ECANCELED);
	CHECK(atomic_load(&ran) == 4);
	weft_tracker_free(t);
	weft_cancel_token_free(go);
	return 0;
}

static void
test_tracker(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(tracker_fiber, NULL), 0);
	assert_int_equal(weft_fiber_live(), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outside_fiber),
	    cmocka_unit_test(test_timeout_at),
	    cmocka_unit_test(test_mutex),
	    cmocka_unit_test(test_broadcast),
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_tracker),
	};

	return run_group(argc, argv, "await", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
