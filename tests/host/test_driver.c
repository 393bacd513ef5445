/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O driver's fd registrations (runtime/driver_io.c)
 * over the real epoll reactor, loaded from the path in WEFT_TEST_REACTOR:
 * readiness and wakers, stale events, lost edges, HUP, level mode, ids.
 * Timers, park and the blocking pool are in test_driver_park.c.
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
socketpair_readiness_wakes_stored_waker(void **state)
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
	assert_int_not_equal(id, 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(atomic_load(&c.refs), 1);
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(weft_driver_park(fx.d, 5000 * MS), 1);
	assert_int_equal(atomic_load(&c.wakes), 1);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	assert_true(ready & WEFT_READABLE);
	drain(sv[0]);
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	assert_int_equal(atomic_load(&c.refs), 0);
	assert_int_equal(atomic_load(&c.wakes), 1);
	assert_int_equal(weft_driver_io_del(fx.d, id), -ENOENT);
	close(sv[0]);
	close(sv[1]);
}


static void
io_del_discards_events_of_the_batch(void **state)
{
	struct counter a = {0}, b = {0};
	struct weft_context cxa = context_of(&a, fx.d);
	struct weft_context cxb = context_of(&b, fx.d);
	uint64_t ida, idb;
	uint32_t ready;
	int sa[2], sb[2];

	(void)state;
	open_driver(true, fx.iface->flags);
	socket_pair(sa);
	socket_pair(sb);
	assert_int_equal(weft_driver_io_add(fx.d, sa[0], WEFT_READABLE, &ida),
	                 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, ida, WEFT_READABLE, &cxa, &ready),
	    WEFT_PENDING);
	/* Readiness the kernel has queued must die with the registration. */
	assert_int_equal(write(sa[1], "x", 1), 1);
	assert_int_equal(weft_driver_io_del(fx.d, ida), 0);
	assert_int_equal(atomic_load(&a.refs), 0);

	/* B takes A's slot; an event still carrying A's token is stale. */
	assert_int_equal(weft_driver_io_add(fx.d, sb[0], WEFT_READABLE, &idb),
	                 0);
	assert_int_not_equal(idb, ida);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, idb, WEFT_READABLE, &cxb, &ready),
	    WEFT_PENDING);
	fx.wrap.inject[0] = (struct weft_reactor_event){ida, WEFT_READABLE, 0};
	fx.wrap.n_inject = 1;
	assert_int_equal(weft_driver_park(fx.d, 0), 0);
	assert_int_equal(atomic_load(&a.wakes), 0);
	assert_int_equal(atomic_load(&b.wakes), 0);

	/* The live token in the same kind of batch does wake. */
	fx.wrap.inject[0] = (struct weft_reactor_event){idb, WEFT_READABLE, 0};
	fx.wrap.n_inject = 1;
	assert_int_equal(weft_driver_park(fx.d, 0), 1);
	assert_int_equal(atomic_load(&b.wakes), 1);
	assert_int_equal(weft_driver_io_del(fx.d, idb), 0);
	close(sa[0]);
	close(sa[1]);
	close(sb[0]);
	close(sb[1]);
	close_driver(state);
}


static void
io_clear_keeps_an_edge_that_came_late(void **state)
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
	assert_int_equal(write(sv[1], "a", 1), 1);
	assert_true(weft_driver_park(fx.d, 5000 * MS) >= 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	drain(sv[0]);
	/* New data after the caller's EAGAIN but before its io_clear. */
	assert_int_equal(write(sv[1], "b", 1), 1);
	assert_true(weft_driver_park(fx.d, 5000 * MS) >= 0);
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	drain(sv[0]);
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	assert_int_equal(atomic_load(&c.refs), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
hup_is_reported(void **state)
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
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	assert_true(ready & WEFT_HUP);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	close(sv[0]);
}


/*
 * The peer shuts down only its sending side while our writes are blocked:
 * the writer sees HUP, gets EAGAIN, clears, and must then wait instead of
 * spinning, while the reader still finds its EOF.
 */
static void
half_close_does_not_spin_the_writer(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	uint32_t ready = 0;
	char buf[4096] = {0};
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(
	    weft_driver_io_add(fx.d, sv[0], WEFT_READABLE | WEFT_WRITABLE, &id),
	    0);
	assert_true(weft_driver_park(fx.d, 0) >= 0);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready),
	    WEFT_READY);
	while (write(sv[0], buf, sizeof(buf)) > 0)
		;
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(weft_driver_park(fx.d, 5000 * MS), 1);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready),
	    WEFT_READY);
	assert_true(ready & WEFT_HUP);
	assert_true(write(sv[0], buf, sizeof(buf)) < 0);
	weft_driver_io_clear(fx.d, id, ready);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready),
	    WEFT_READY);
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	assert_int_equal(atomic_load(&c.refs), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
level_reactor_is_disarmed_until_clear(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	uint32_t ready = 0;
	uint64_t id;
	int sv[2];

	(void)state;
	open_driver(true, WEFT_REACTOR_LEVEL);
	socket_pair(sv);
	assert_int_equal(
	    weft_driver_io_add(fx.d, sv[0], WEFT_READABLE | WEFT_WRITABLE, &id),
	    0);
	assert_int_equal(fx.wrap.last_interest, WEFT_READABLE | WEFT_WRITABLE);
	/* A fresh socket is writable: the reactor stops watching that. */
	assert_true(weft_driver_park(fx.d, 5000 * MS) >= 0);
	assert_int_equal(fx.wrap.last_interest, WEFT_READABLE);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, id, WEFT_WRITABLE, &cx, &ready),
	    WEFT_READY);
	weft_driver_io_clear(fx.d, id, WEFT_WRITABLE);
	assert_int_equal(fx.wrap.last_interest, WEFT_READABLE | WEFT_WRITABLE);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	close(sv[0]);
	close(sv[1]);
	close_driver(state);
}


static void
stale_and_foreign_ids_are_refused(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, fx.d);
	struct weft__driver *other;
	uint64_t tid, iid;
	uint32_t ready;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, 0, WEFT_READABLE, &cx, &ready), -ENOENT);
	assert_int_equal(weft_driver_timer_poll(fx.d, 12345, &cx), -ENOENT);
	assert_int_equal(weft_driver_io_add(fx.d, -1, WEFT_READABLE, &iid),
	                 -EBADF);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], 0, &iid), -EINVAL);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, &iid),
	                 0);
	assert_int_equal(weft_driver_timer_add(fx.d, 1, &tid), 0);
	/* A timer id is not an io id, nor the reverse. */
	assert_int_equal(
	    weft_driver_io_poll(fx.d, tid, WEFT_READABLE, &cx, &ready),
	    -ENOENT);
	assert_int_equal(weft_driver_timer_poll(fx.d, iid, &cx), -ENOENT);
	/* Ids of one driver mean nothing to another. */
	assert_int_equal(
	    weft__driver_new(&other, fx.epoll, WEFT_REACTOR_EDGE, 0, NULL, 0),
	    0);
	assert_int_equal(
	    weft_driver_timer_poll(weft__driver_public(other), tid, &cx),
	    -ENOENT);
	assert_int_equal(weft_driver_io_del(weft__driver_public(other), iid),
	                 -ENOENT);
	weft__driver_free(other);
	weft_driver_timer_del(fx.d, tid);
	weft_driver_io_del(fx.d, iid);
	weft_driver_io_clear(fx.d, iid, WEFT_READABLE);
	assert_int_equal(atomic_load(&c.refs), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
free_drops_what_is_left(void **state)
{
	struct counter c = {0};
	struct weft_context cx;
	uint64_t tid, iid;
	uint32_t ready;
	int sv[2];

	(void)state;
	open_driver(false, WEFT_REACTOR_EDGE);
	cx = context_of(&c, fx.d);
	socket_pair(sv);
	assert_int_equal(weft_driver_io_add(
	                     fx.d, sv[0], WEFT_READABLE | WEFT_WRITABLE, &iid),
	                 0);
	assert_int_equal(weft_driver_timer_add(fx.d, UINT64_MAX - 1, &tid), 0);
	assert_int_equal(weft_driver_timer_poll(fx.d, tid, &cx), WEFT_PENDING);
	assert_int_equal(
	    weft_driver_io_poll(fx.d, iid, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	assert_int_equal(atomic_load(&c.refs), 2);
	close_driver(state);
	assert_int_equal(atomic_load(&c.refs), 0);
	assert_int_equal(atomic_load(&c.wakes), 0);
	close(sv[0]);
	close(sv[1]);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        socketpair_readiness_wakes_stored_waker, open_edge,
	        close_driver),
	    cmocka_unit_test(io_del_discards_events_of_the_batch),
	    cmocka_unit_test_setup_teardown(
	        io_clear_keeps_an_edge_that_came_late, open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(hup_is_reported, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(half_close_does_not_spin_the_writer,
	                                    open_edge, close_driver),
	    cmocka_unit_test(level_reactor_is_disarmed_until_clear),
	    cmocka_unit_test_setup_teardown(stale_and_foreign_ids_are_refused,
	                                    open_edge, close_driver),
	    cmocka_unit_test(free_drops_what_is_left),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
