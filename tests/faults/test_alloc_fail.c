/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure: runs one scenario — runtime open, spawn, join, a
 * timer, an I/O registration, a blocking job, channels, close — once per
 * allocation it makes, failing exactly that allocation, on the executor
 * and reactor named on the command line.  Each run must report -ENOMEM
 * from the step that could not allocate, must not crash, and must give
 * back every byte: the counting allocator's balance is checked after each
 * close, and Valgrind checks the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/channel.h>
#include <weft/weft.h>

static atomic_ulong calls;   /* allocations attempted in this run */
static atomic_ulong fail_at; /* the one to fail (1-based), 0: none */
static atomic_long live;     /* allocations not yet freed */

static void *
fa_alloc(void *ud, size_t size)
{
	void *p;

	(void)ud;
	if (atomic_fetch_add(&calls, 1) + 1 == atomic_load(&fail_at))
		return NULL;
	p = malloc(size);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

static void
fa_free(void *ud, void *p)
{
	(void)ud;
	atomic_fetch_sub(&live, 1);
	free(p);
}

static const struct weft_allocator counting = {
    .version = WEFT_ALLOCATOR_VERSION,
    .alloc = fa_alloc,
    .free = fa_free,
};

/* The first error a step of the scenario saw, or 0. */
static int first_err;

static void
note(int r)
{
	if (r < 0 && first_err == 0)
		first_err = r;
}

/* A spawned child: sleeps a millisecond, then outputs 7. */
struct child {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	int out;
};

static weft_poll
child_poll(struct weft_future *f, struct weft_context *cx)
{
	struct child *c = (struct child *)f;

	WEFT_BEGIN(&c->co);
	weft_sleep_init(&c->sleep, WEFT_MSEC);
	WEFT_AWAIT(&c->co, cx, &c->sleep);
	note(c->sleep.status);
	c->out = 7;
	WEFT_END(&c->co);
}

static void
child_drop(struct weft_future *f)
{
	weft_future_drop(&((struct child *)f)->sleep.base);
}

static const struct weft_future_vtable child_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct child),
    .output_offset = offsetof(struct child, out),
    .output_size = sizeof(int),
    .poll = child_poll,
    .drop = child_drop,
};

static void
blocking_job(void *arg)
{
	atomic_store((atomic_int *)arg, 1);
}

struct root {
	struct weft_future base;
	struct weft_coro co;
	struct weft_join_future joinf;
	struct weft_sleep sleep;
	int out;
	int fds[2];
	uint64_t io;
	atomic_int job_done;
	int job_queued;
};

static int
channels(void)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct weft_oneshot_tx *otx;
	struct weft_oneshot_rx *orx;
	int i, v, r;

	r = weft_mpsc_new(sizeof(int), WEFT_MPSC_UNBOUNDED, &tx, &rx);
	if (r < 0)
		return r;
	/* Enough messages for the ring to grow a few times. */
	for (i = 0; i < 100 && r == 0; i++)
		r = weft_mpsc_try_send(tx, &i);
	while (weft_mpsc_try_recv(rx, &v) == 0)
		;
	weft_mpsc_tx_free(tx);
	weft_mpsc_rx_free(rx);
	if (r < 0)
		return r;
	r = weft_oneshot_new(sizeof(int), &otx, &orx);
	if (r < 0)
		return r;
	weft_oneshot_tx_free(otx);
	weft_oneshot_rx_free(orx);
	return 0;
}

static weft_poll
root_poll(struct weft_future *f, struct weft_context *cx)
{
	struct root *s = (struct root *)f;
	struct weft_join *join = NULL;
	struct weft_waker done;
	struct child c = {.base = {&child_vt}};
	uint32_t ready;
	int r;

	WEFT_BEGIN(&s->co);
	r = weft_executor_spawn(cx->executor, &c.base, &join);
	note(r);
	if (r == 0) {
		weft_join_future_init(&s->joinf, join, &s->out, sizeof(s->out));
		WEFT_AWAIT(&s->co, cx, &s->joinf);
		note(s->joinf.status);
	}
	weft_sleep_init(&s->sleep, WEFT_MSEC);
	WEFT_AWAIT(&s->co, cx, &s->sleep);
	note(s->sleep.status);

	r = weft_driver_io_add(cx->driver, s->fds[0], WEFT_READABLE, &s->io);
	note(r);
	if (r == 0) {
		if (write(s->fds[1], "x", 1) != 1)
			note(-EIO);
		WEFT_AWAIT_POLL(&s->co, weft_driver_io_poll(
		                             cx->driver, s->io, WEFT_READABLE,
		                             cx, &ready) != WEFT_PENDING);
		weft_driver_io_del(cx->driver, s->io);
		s->io = 0;
	}

	done = weft_waker_clone(&cx->waker);
	r = weft_driver_blocking(cx->driver, blocking_job, &s->job_done, &done);
	note(r);
	weft_waker_drop(&done); /* still ours on failure; empty on success */
	if (r == 0)
		WEFT_AWAIT_POLL(&s->co, atomic_load(&s->job_done));

	note(channels());
	WEFT_END(&s->co);
}

static void
root_drop(struct weft_future *f)
{
	struct root *s = (struct root *)f;

	weft_future_drop(&s->joinf.base);
	weft_future_drop(&s->sleep.base);
}

static const struct weft_future_vtable root_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct root),
    .poll = root_poll,
    .drop = root_drop,
};

/* One run failing allocation n (0: none); returns the error it saw. */
static int
run_once(const char *ex, const char *re, unsigned long n, char *err,
         size_t errlen)
{
	struct weft_config *cfg;
	struct weft_runtime *rt;
	struct root s;
	int r;

	memset(&s, 0, sizeof(s));
	s.base.vtable = &root_vt;
	first_err = 0;
	/* The configuration itself is made before counting starts. */
	if (weft_config_new(&cfg) < 0)
		return -ENOMEM;
	weft_config_set(cfg, "executor", ex, NULL, 0);
	weft_config_set(cfg, "reactor", re, NULL, 0);
	weft_config_set_allocator(cfg, &counting);
	if (pipe2(s.fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		weft_config_free(cfg);
		return -errno;
	}
	atomic_store(&calls, 0);
	atomic_store(&fail_at, n);
	r = weft_runtime_open(&rt, cfg, err, errlen);
	weft_config_free(cfg);
	if (r == 0) {
		r = weft_block_on(rt, &s.base);
		note(r);
		weft_future_drop(&s.base);
		weft_runtime_close(rt);
		r = first_err;
	}
	close(s.fds[0]);
	close(s.fds[1]);
	atomic_store(&fail_at, 0);
	return r;
}

static int
run_pair(const char *ex, const char *re)
{
	unsigned long n, total;
	char err[512];
	int r, bad = 0;

	r = run_once(ex, re, 0, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s x %s: unfailed run: %s (%s)\n", ex, re,
		        weft_strerror(r), r == first_err ? "" : err);
		return 1;
	}
	total = atomic_load(&calls);
	for (n = 1; n <= total; n++) {
		err[0] = '\0';
		r = run_once(ex, re, n, err, sizeof(err));
		if (atomic_load(&live) != 0) {
			fprintf(stderr,
			        "%s x %s: failing allocation %lu of %lu "
			        "leaked %ld allocations\n",
			        ex, re, n, total, atomic_load(&live));
			atomic_store(&live, 0);
			bad++;
		}
		if (r != -ENOMEM) {
			fprintf(stderr,
			        "%s x %s: failing allocation %lu of %lu gave "
			        "%d (%s) instead of -ENOMEM %s\n",
			        ex, re, n, total, r, weft_strerror(r), err);
			bad++;
		}
	}
	printf("%s x %s: %lu allocations, each failed once: %s\n", ex, re,
	       total, bad ? "FAILED" : "every failure reported, no leak");
	return bad != 0;
}

int
main(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR [...]\n", argv[0]);
		return 2;
	}
	/* Channels made outside any runtime count through the default. */
	if (weft_set_default_allocator(&counting) < 0)
		return 1;
	for (i = 1; i + 1 < argc; i += 2)
		bad += run_pair(argv[i], argv[i + 1]);
	weft_set_default_allocator(NULL);
	return bad ? 1 : 0;
}
