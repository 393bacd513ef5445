/* SPDX-License-Identifier: MIT */
/*
 * Races on the driver's lock-free paths (runtime/driver_io.c), over the
 * real epoll reactor: a park on one thread dispatching readiness while
 * another polls, clears and deletes.  Each test is bounded in rounds and
 * fails, rather than hangs, when a round makes no progress for seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver_fixture.h"

/* A round that sees no progress for this long has lost a wake-up. */
#define STUCK_NS (5000 * MS)

static atomic_bool stop;

/* Under Valgrind, which runs one thread at a time, a tenth of the rounds. */
static int
rounds(int n)
{
	return getenv("WEFT_UNDER_VALGRIND") ? n / 10 : n;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* The reactor's thread: parks until told to stop. */
static void *
parker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		weft_driver_park(fx.d, 2 * MS);
	return NULL;
}


static void
start_parker(pthread_t *t)
{
	atomic_store(&stop, false);
	assert_int_equal(pthread_create(t, NULL, parker, NULL), 0);
}


static void
stop_parker(pthread_t t)
{
	atomic_store(&stop, true);
	weft_driver_unpark(fx.d);
	pthread_join(t, NULL);
}


/* ---- an edge between a poll and its clear --------------------------- */

#define EDGE_ROUNDS 4000

struct writer {
	int fd;
	int rounds;
	atomic_int consumed; /* bytes the reader has read */
	atomic_int written;  /* bytes the writer has written */
};

/* Writes byte i + 1 as soon as byte i is read: right into the reader's
 * window between its EAGAIN and its io_clear. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < w->rounds && !atomic_load(&stop); i++) {
		while (atomic_load(&w->consumed) < i && !atomic_load(&stop))
			sched_yield();
		if (write(w->fd, "x", 1) != 1)
			break;
		atomic_store(&w->written, i + 1);
	}
	return NULL;
}


/*
 * The reader reads each byte, then reads on to EAGAIN and clears: the
 * writer's next byte often arrives (and the park dispatches its edge)
 * between that EAGAIN and the clear, or between the poll and the read.
 * Were the clear to forget that edge, the reader would wait for an edge
 * that never comes, since the writer waits for it in turn.
 */
static void
run_edge_race(uint32_t flags)
{
	struct counter c = {0};
	struct weft_context cx;
	struct writer w = {0};
	pthread_t pk, wr;
	uint64_t id, since;
	uint32_t ready;
	int sv[2], got = 0, wakes, rc;
	char buf[16];
	ssize_t n;

	open_driver(false, flags);
	cx = context_of(&c, fx.d);
	socket_pair(sv);
	w.fd = sv[1];
	w.rounds = rounds(EDGE_ROUNDS);
	assert_int_equal(weft_driver_io_add(fx.d, sv[0], WEFT_READABLE, &id),
	                 0);
	start_parker(&pk);
	assert_int_equal(pthread_create(&wr, NULL, writer_main, &w), 0);
	since = now_ns();
	while (got < w.rounds && now_ns() - since < STUCK_NS) {
		wakes = atomic_load(&c.wakes);
		rc = weft_driver_io_poll(fx.d, id, WEFT_READABLE, &cx, &ready);
		if (rc == WEFT_PENDING) {
			/* Wait for the wake, as a task would. */
			while (atomic_load(&c.wakes) == wakes &&
			       now_ns() - since < STUCK_NS)
				sched_yield();
			continue;
		}
		assert_int_equal(rc, WEFT_READY);
		while ((n = read(sv[0], buf, sizeof(buf))) > 0) {
			got += (int)n;
			atomic_store(&w.consumed, got);
			since = now_ns();
		}
		assert_true(n < 0 && errno == EAGAIN);
		if (got % 4 == 1) {
			/*
			 * Every fourth round, the next byte and its edge surely
			 * come before the clear: wait for the write, then give
			 * the park time to dispatch it.
			 */
			struct timespec ts = {0, 200000};

			while (atomic_load(&w.written) <= got &&
			       now_ns() - since < STUCK_NS)
				sched_yield();
			nanosleep(&ts, NULL);
		}
		weft_driver_io_clear(fx.d, id, ready);
	}
	atomic_store(&stop, true);
	pthread_join(wr, NULL);
	stop_parker(pk);
	assert_int_equal(got, w.rounds);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	assert_int_equal(atomic_load(&c.refs), 0);
	close(sv[0]);
	close(sv[1]);
	close_driver(NULL);
}


static void
edge_between_poll_and_clear_is_kept(void **state)
{
	(void)state;
	run_edge_race(fx.iface->flags);
}


/* The same in level mode, where a clear also arms the reactor again. */
static void
edge_between_poll_and_clear_is_kept_level(void **state)
{
	(void)state;
	run_edge_race(WEFT_REACTOR_LEVEL);
}


/* ---- polls racing io_del on the same id ----------------------------- */

#define DEL_ROUNDS 1500

struct poller {
	atomic_uint_fast64_t id; /* the registration to poll now */
	struct counter c;
	atomic_int bad;   /* an answer io_poll must never give */
	atomic_int polls; /* answers given */
};

static void *
poller_main(void *arg)
{
	struct poller *p = arg;
	struct weft_context cx = context_of(&p->c, fx.d);
	uint32_t ready;
	int rc;

	while (!atomic_load(&stop)) {
		uint64_t id = atomic_load(&p->id);

		rc = weft_driver_io_poll(
		    fx.d, id, WEFT_READABLE | WEFT_WRITABLE, &cx, &ready);
		if (rc == WEFT_READY)
			weft_driver_io_clear(fx.d, id, ready);
		else if (rc != WEFT_PENDING && rc != -ENOENT)
			atomic_store(&p->bad, rc);
		atomic_fetch_add(&p->polls, 1);
	}
	return NULL;
}


/*
 * A thread polls (both directions, storing wakers) and clears an id while
 * this one deletes it and registers the fd again, which reuses the slot
 * with a new generation, and a park dispatches readiness meanwhile.  The
 * stale id must only ever be refused, and every waker clone the driver
 * took must be dropped or woken exactly once: refs returns to 0.
 */
static void
poll_racing_del_loses_no_waker(void **state)
{
	struct poller p = {0};
	pthread_t pk, pl;
	uint64_t id;
	int sv[2], i, n, polls;

	(void)state;
	socket_pair(sv);
	assert_int_equal(
	    weft_driver_io_add(fx.d, sv[0], WEFT_READABLE | WEFT_WRITABLE, &id),
	    0);
	atomic_store(&p.id, id);
	start_parker(&pk);
	assert_int_equal(pthread_create(&pl, NULL, poller_main, &p), 0);
	n = rounds(DEL_ROUNDS);
	for (i = 0; i < n; i++) {
		/* Let the poller in between, so the rounds really race. */
		polls = atomic_load(&p.polls);
		while (atomic_load(&p.polls) == polls)
			sched_yield();
		if (i % 8 == 0)
			assert_int_equal(write(sv[1], "x", 1), 1);
		if (i % 8 == 4)
			drain(sv[0]);
		assert_int_equal(weft_driver_io_del(fx.d, id), 0);
		assert_int_equal(
		    weft_driver_io_add(fx.d, sv[0],
		                       WEFT_READABLE | WEFT_WRITABLE, &id),
		    0);
		atomic_store(&p.id, id);
	}
	atomic_store(&stop, true);
	pthread_join(pl, NULL);
	stop_parker(pk);
	assert_int_equal(atomic_load(&p.bad), 0);
	assert_int_equal(weft_driver_io_del(fx.d, id), 0);
	/* A registrant that met io_del wakes what it stored: all are gone. */
	assert_int_equal(atomic_load(&p.c.refs), 0);
	close(sv[0]);
	close(sv[1]);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(edge_between_poll_and_clear_is_kept),
	    cmocka_unit_test(edge_between_poll_and_clear_is_kept_level),
	    cmocka_unit_test_setup_teardown(poll_racing_del_loses_no_waker,
	                                    open_edge, close_driver),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
