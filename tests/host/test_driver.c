/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O driver (plugins/src/driver.c) over the real epoll
 * reactor, loaded from the path in WEFT_TEST_REACTOR.  Some tests put a
 * thin wrapper between the driver and epoll that injects events or records
 * interest changes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define MS (1000000ll)

/* ---- a counting waker ---------------------------------------------- */

struct counter {
	atomic_int wakes;
	atomic_int refs; /* clones alive */
};

static struct weft_waker counter_clone(const void *data);

static void
counter_wake(const void *data)
{
	struct counter *c = (struct counter *)data;

	/*
	 * The clone is gone before the wake shows, so a test that saw the
	 * wake may check refs and let the counter go out of scope.
	 */
	atomic_fetch_sub(&c->refs, 1);
	atomic_fetch_add(&c->wakes, 1);
}


static void
counter_wake_by_ref(const void *data)
{
	atomic_fetch_add(&((struct counter *)data)->wakes, 1);
}


static void
counter_drop(const void *data)
{
	atomic_fetch_sub(&((struct counter *)data)->refs, 1);
}


static const struct weft_waker_vtable counter_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = counter_clone,
    .wake = counter_wake,
    .wake_by_ref = counter_wake_by_ref,
    .drop = counter_drop,
};

static struct weft_waker
counter_clone(const void *data)
{
	atomic_fetch_add(&((struct counter *)data)->refs, 1);
	return (struct weft_waker){&counter_vtable, data};
}


/* A context whose borrowed waker wakes c, as an executor would build. */
static struct weft_context
context_of(struct counter *c, struct weft_driver *d)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){&counter_vtable, c}, NULL,
	                  d);
	return cx;
}


/* ---- a wrapper reactor: injects events, records interest changes ---- */

struct wrap {
	struct weft_reactor head;
	struct weft_reactor *inner;
	struct weft_reactor_event inject[8];
	uint32_t n_inject;
	uint32_t last_interest;
	int modifies;
};

static int
wrap_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t tok)
{
	struct wrap *w = (struct wrap *)self;

	w->last_interest = interest;
	return weft_reactor_add(w->inner, fd, interest, tok);
}


static int
wrap_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t tok)
{
	struct wrap *w = (struct wrap *)self;

	w->last_interest = interest;
	w->modifies++;
	return weft_reactor_modify(w->inner, fd, interest, tok);
}


static int
wrap_del(struct weft_reactor *self, int fd)
{
	return weft_reactor_del(((struct wrap *)self)->inner, fd);
}


static int
wrap_wait(struct weft_reactor *self, struct weft_reactor_event *ev,
          uint32_t cap, int64_t timeout_ns)
{
	struct wrap *w = (struct wrap *)self;
	uint32_t n = w->n_inject;
	int got;

	memcpy(ev, w->inject, n * sizeof(*ev));
	w->n_inject = 0;
	got = weft_reactor_wait(w->inner, ev + n, cap - n, n ? 0 : timeout_ns);
	return got < 0 ? got : got + (int)n;
}


static int
wrap_wakeup(struct weft_reactor *self)
{
	return weft_reactor_wakeup(((struct wrap *)self)->inner);
}


static const struct weft_reactor_iface wrap_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .instance_size = sizeof(struct wrap),
    .add = wrap_add,
    .modify = wrap_modify,
    .del = wrap_del,
    .wait = wrap_wait,
    .wakeup = wrap_wakeup,
};

/* ---- fixture -------------------------------------------------------- */

struct fixture {
	void *so;
	const struct weft_reactor_iface *iface;
	struct weft_reactor *epoll;
	struct wrap wrap;
	struct weft__driver *drv;
	struct weft_driver *d;
};

static struct fixture fx;

static int
load_reactor(void **state)
{
	const char *path = getenv("WEFT_TEST_REACTOR");
	const struct weft_plugin_descriptor *desc = NULL;
	struct weft_negotiate neg = {1, WEFT_ABI_VERSION, WEFT_ABI_VERSION, 0};
	weft_plugin_entry_fn entry;

	(void)state;
	if (!path)
		return -1;
	fx.so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!fx.so)
		return -1;
	*(void **)&entry = dlsym(fx.so, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry || entry(&neg, 0, &desc) != 1 ||
	    desc->kind != WEFT_PLUGIN_REACTOR)
		return -1;
	fx.iface = desc->iface;
	return 0;
}


static int
unload_reactor(void **state)
{
	(void)state;
	if (fx.so && !getenv("WEFT_NO_DLCLOSE"))
		dlclose(fx.so);
	return 0;
}


/*
 * A fresh epoll instance and a driver over it, or over the wrapper when
 * wrapped; flags are the reactor flags the driver is told.
 */
static void
open_driver(bool wrapped, uint32_t flags)
{
	struct weft_reactor_params params = {WEFT_REACTOR_PARAMS_VERSION, 256};
	char err[256] = "";

	fx.epoll = calloc(1, fx.iface->instance_size);
	assert_non_null(fx.epoll);
	fx.epoll->version = fx.iface->version;
	fx.epoll->ops = fx.iface;
	assert_int_equal(fx.iface->init(fx.epoll, &params), 0);
	fx.wrap = (struct wrap){.head = {1, &wrap_iface}, .inner = fx.epoll};
	assert_int_equal(weft__driver_new(&fx.drv,
	                                  wrapped ? &fx.wrap.head : fx.epoll,
	                                  flags, 0, err, sizeof(err)),
	                 0);
	fx.d = weft__driver_public(fx.drv);
}


static int
open_edge(void **state)
{
	(void)state;
	open_driver(false, fx.iface->flags);
	return 0;
}


/* As open_edge, but the driver must interrupt a wait to change the set. */
static int
open_serial(void **state)
{
	(void)state;
	open_driver(false, fx.iface->flags & ~WEFT_REACTOR_CONCURRENT_CTL);
	return 0;
}


static int
close_driver(void **state)
{
	(void)state;
	weft__driver_free(fx.drv);
	fx.iface->fini(fx.epoll);
	free(fx.epoll);
	fx.drv = NULL;
	return 0;
}


static int64_t
elapsed_since(uint64_t start)
{
	return (int64_t)(weft_driver_now(fx.d) - start);
}


static void
socket_pair(int sv[2])
{
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}


static void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}


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
	    weft__driver_new(&other, fx.epoll, WEFT_REACTOR_EDGE, 0, NULL, 0), 0);
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
	    cmocka_unit_test_setup_teardown(
	        io_clear_keeps_an_edge_that_came_late, open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(hup_is_reported, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(half_close_does_not_spin_the_writer,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(concurrent_use_while_parking,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(concurrent_use_while_parking_serial,
	                                    open_serial, close_driver),
	    cmocka_unit_test_setup_teardown(blocking_runs_and_wakes, open_edge,
	                                    close_driver),
	    cmocka_unit_test(level_reactor_is_disarmed_until_clear),
	    cmocka_unit_test_setup_teardown(stale_and_foreign_ids_are_refused,
	                                    open_edge, close_driver),
	    cmocka_unit_test(free_drops_what_is_left),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
