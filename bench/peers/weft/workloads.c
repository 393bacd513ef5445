/* SPDX-License-Identifier: MIT */
/*
 * The weft side of bench/run: the workloads its tokio, libuv and libevent
 * peers run, on one executor x reactor pair given on the command line.
 *
 *   spawn_many     a task spawns N trivial tasks: ns per task.
 *   yield_many     1,000 tasks yield 1,000/DIV times each: ns per yield.
 *   ping_pong      1,000 pairs of tasks, 1,000/DIV round trips each; a
 *                  round trip is two fresh oneshot channels of the async
 *                  library, the first message carrying the next round's
 *                  channels: ns per round trip.
 *   chained_spawn  each task spawns the next, to a depth of N: ns per
 *                  spawn.
 *   sleeps         a task spawns N tasks that each sleep a pseudo-random
 *                  0..100 ms: ns per sleeping task, wall clock.
 *   pending_tasks  a task spawns N tasks that never finish: ns per spawn;
 *                  the peak RSS is the point.
 *
 * N is 1,000,000/DIV.  Prints one line: ns per operation, peak RSS in KiB
 * and the size of each task's future in bytes (0 where that is not the
 * point).  The teardown is not measured (the process exits at once).
 *
 * Usage: weft-bench-peer-weft EXECUTOR REACTOR WORKLOAD DIV
 *
 * WEFT_BENCH_OBSERVE=console (console = on) or =slow (slow_poll_ms = 100)
 * opens the runtime observed, for bench/overhead; unset, nothing changes.
 *
 * Built with WEFT_STATIC_PLUGINS (weft-bench-peer-weft-static), the same
 * program has libweft and every plugin linked in and refuses to run on a
 * plugin loaded from a file: the difference between the two prices the
 * plugin boundary.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/channel.h>
#include <weft/weft.h>

#ifndef WEFT_BENCH_PLUGIN_PATH
#define WEFT_BENCH_PLUGIN_PATH ""
#endif

#define MILLION 1000000L
#define PAIRS   1000
#define TASKS   1000

static long div_by = 1;
static long ops;
/* Bytes of the future each task of the workload holds (0: not reported). */
static size_t future_bytes;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same pseudo-random sequence as the other peers (xorshift64). */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/*
 * Peak RSS of this process image in KiB.  Not ru_maxrss: that one keeps
 * the high-water mark of the image before execve (the runner's).
 */
static long
peak_rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, weft_strerror(rc));
	_exit(1);
}


/* ---- the root: block_on's future, ready when a count reaches zero --- */

struct root {
	struct weft_future base;
	atomic_long left;
	pthread_mutex_t lock; /* a late wake against the drop */
	struct weft_waker waker;
	void (*start)(struct root *r, struct weft_context *cx);
	bool started;
};

static weft_poll
root_poll(struct weft_future *f, struct weft_context *cx)
{
	struct root *r = (struct root *)f;

	if (!r->started) {
		r->started = true;
		pthread_mutex_lock(&r->lock);
		r->waker = weft_waker_clone(&cx->waker);
		pthread_mutex_unlock(&r->lock);
		r->start(r, cx);
	}
	return atomic_load(&r->left) == 0 ? WEFT_READY : WEFT_PENDING;
}

static void
root_drop(struct weft_future *f)
{
	struct root *r = (struct root *)f;

	pthread_mutex_lock(&r->lock);
	weft_waker_drop(&r->waker);
	pthread_mutex_unlock(&r->lock);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(root_vtable, struct root, root_poll, root_drop);

static void
root_done(struct root *r)
{
	if (atomic_fetch_sub(&r->left, 1) == 1) {
		pthread_mutex_lock(&r->lock);
		weft_waker_wake_by_ref(&r->waker);
		pthread_mutex_unlock(&r->lock);
	}
}

static void
spawn(struct weft_context *cx, struct weft_future *f)
{
	int rc = weft_executor_spawn(cx->executor, f, NULL);

	if (rc < 0)
		die("spawn", rc);
}


/* ---- spawn_many ----------------------------------------------------- */

struct trivial {
	struct weft_future base;
	struct root *root;
};

static weft_poll
trivial_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)cx;
	root_done(((struct trivial *)f)->root);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(trivial_vtable, struct trivial, trivial_poll,
                             NULL);

/* Spawns `ops` copies of *proto, then is done. */
struct spawner {
	struct weft_future base;
	struct weft_future *proto;
	void (*vary)(struct weft_future *proto, uint64_t *rng);
	struct root *done; /* counted down once all are spawned, or NULL */
};

static weft_poll
spawner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct spawner *s = (struct spawner *)f;
	uint64_t rng = 0x9e3779b97f4a7c15u;

	for (long i = 0; i < ops; i++) {
		if (s->vary)
			s->vary(s->proto, &rng);
		spawn(cx, s->proto);
	}
	if (s->done)
		root_done(s->done);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(spawner_vtable, struct spawner, spawner_poll,
                             NULL);

static struct trivial the_trivial = {.base.vtable = &trivial_vtable};

static void
spawn_many_start(struct root *r, struct weft_context *cx)
{
	struct spawner s = {.base.vtable = &spawner_vtable,
	                    .proto = &the_trivial.base};

	ops = MILLION / div_by;
	the_trivial.root = r;
	atomic_store(&r->left, ops);
	spawn(cx, &s.base);
}


/* ---- yield_many ----------------------------------------------------- */

struct yielder {
	struct weft_future base;
	struct root *root;
	long left;
};

static weft_poll
yielder_poll(struct weft_future *f, struct weft_context *cx)
{
	struct yielder *y = (struct yielder *)f;

	if (y->left-- == 0) {
		root_done(y->root);
		return WEFT_READY;
	}
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(yielder_vtable, struct yielder, yielder_poll,
                             NULL);

static void
yield_many_start(struct root *r, struct weft_context *cx)
{
	struct yielder y = {.base.vtable = &yielder_vtable,
	                    .root = r,
	                    .left = 1000 / div_by};

	ops = TASKS * (1000 / div_by);
	atomic_store(&r->left, TASKS);
	for (int i = 0; i < TASKS; i++)
		spawn(cx, &y.base);
}


/* ---- ping_pong over the library's oneshot channels ------------------ */

/* Round r's message to pong: round r+1's channels (NULL after the last). */
struct ping_msg {
	struct weft_oneshot_rx *rx;
	struct weft_oneshot_tx *tx;
};

struct pong {
	struct weft_future base;
	struct weft_oneshot_rx *rx;
	struct weft_oneshot_tx *tx;
};

static weft_poll
pong_poll(struct weft_future *f, struct weft_context *cx)
{
	struct pong *p = (struct pong *)f;
	struct ping_msg m;
	char ack = 1;
	int rc;

	for (;;) {
		rc = weft_oneshot_poll_recv(p->rx, cx, &m);
		if (rc == 0)
			return WEFT_PENDING;
		if (rc < 0)
			die("pong recv", rc);
		weft_oneshot_rx_free(p->rx);
		rc = weft_oneshot_send(p->tx, &ack);
		if (rc < 0)
			die("pong send", rc);
		p->rx = m.rx;
		p->tx = m.tx;
		if (!p->rx)
			return WEFT_READY;
	}
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(pong_vtable, struct pong, pong_poll, NULL);

struct ping {
	struct weft_future base;
	struct root *root;
	struct weft_oneshot_tx *tx; /* this round's, to pong */
	struct weft_oneshot_rx *rx; /* this round's, from pong */
	struct ping_msg next;
	long round, rounds;
	bool started, sent;
};

static void
oneshot_pair(struct weft_oneshot_tx **tx, struct weft_oneshot_rx **rx,
             size_t size)
{
	int rc = weft_oneshot_new(size, tx, rx);

	if (rc < 0)
		die("oneshot", rc);
}

static weft_poll
ping_poll(struct weft_future *f, struct weft_context *cx)
{
	struct ping *p = (struct ping *)f;
	struct ping_msg m = {NULL, NULL};
	struct weft_oneshot_tx *next_tx = NULL;
	char ack;
	int rc;

	if (!p->started) {
		struct pong pg = {.base.vtable = &pong_vtable};

		p->started = true;
		oneshot_pair(&p->tx, &pg.rx, sizeof(struct ping_msg));
		oneshot_pair(&pg.tx, &p->rx, 1);
		spawn(cx, &pg.base);
	}
	while (p->round < p->rounds) {
		if (!p->sent) {
			m.rx = NULL;
			m.tx = NULL;
			next_tx = NULL;
			p->next.rx = NULL;
			if (p->round + 1 < p->rounds) {
				oneshot_pair(&next_tx, &m.rx,
				             sizeof(struct ping_msg));
				oneshot_pair(&m.tx, &p->next.rx, 1);
			}
			p->next.tx = next_tx;
			rc = weft_oneshot_send(p->tx, &m);
			if (rc < 0)
				die("ping send", rc);
			p->sent = true;
		}
		rc = weft_oneshot_poll_recv(p->rx, cx, &ack);
		if (rc == 0)
			return WEFT_PENDING;
		if (rc < 0)
			die("ping recv", rc);
		weft_oneshot_rx_free(p->rx);
		p->tx = p->next.tx;
		p->rx = p->next.rx;
		p->sent = false;
		p->round++;
	}
	root_done(p->root);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(ping_vtable, struct ping, ping_poll, NULL);

static void
ping_pong_start(struct root *r, struct weft_context *cx)
{
	struct ping p = {.base.vtable = &ping_vtable,
	                 .root = r,
	                 .rounds = 1000 / div_by};

	ops = PAIRS * p.rounds;
	atomic_store(&r->left, PAIRS);
	for (int i = 0; i < PAIRS; i++)
		spawn(cx, &p.base);
}


/* ---- chained_spawn -------------------------------------------------- */

struct link {
	struct weft_future base;
	struct root *root;
	long left;
};

static weft_poll
link_poll(struct weft_future *f, struct weft_context *cx)
{
	struct link *l = (struct link *)f;
	struct link next = *l;

	if (l->left == 0) {
		root_done(l->root);
		return WEFT_READY;
	}
	next.left--;
	spawn(cx, &next.base);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(link_vtable, struct link, link_poll, NULL);

static void
chained_start(struct root *r, struct weft_context *cx)
{
	struct link l = {.base.vtable = &link_vtable, .root = r};

	ops = MILLION / div_by;
	l.left = ops;
	atomic_store(&r->left, 1);
	spawn(cx, &l.base);
}


/* ---- sleeps --------------------------------------------------------- */

struct sleeper {
	struct weft_future base;
	struct weft_sleep sleep;
	struct root *root;
	uint64_t ms;
	bool started;
};

static weft_poll
sleeper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	if (!s->started) {
		s->started = true;
		weft_sleep_init(&s->sleep, s->ms * WEFT_MSEC);
	}
	if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	if (s->sleep.status < 0)
		die("sleep", s->sleep.status);
	root_done(s->root);
	return WEFT_READY;
}

static void
sleeper_drop(struct weft_future *f)
{
	struct sleeper *s = (struct sleeper *)f;

	if (s->started)
		weft_future_drop(&s->sleep.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(sleeper_vtable, struct sleeper, sleeper_poll,
                             sleeper_drop);

static struct sleeper the_sleeper = {.base.vtable = &sleeper_vtable};

static void
sleeper_vary(struct weft_future *proto, uint64_t *rng)
{
	((struct sleeper *)proto)->ms = rng_next(rng) % 101;
}

static void
sleeps_start(struct root *r, struct weft_context *cx)
{
	struct spawner s = {.base.vtable = &spawner_vtable,
	                    .proto = &the_sleeper.base,
	                    .vary = sleeper_vary};

	ops = MILLION / div_by;
	future_bytes = sizeof(struct sleeper);
	the_sleeper.root = r;
	atomic_store(&r->left, ops);
	spawn(cx, &s.base);
}


/* ---- pending_tasks -------------------------------------------------- */

/* The smallest future: a vtable pointer; never ready, never woken. */
static weft_poll
forever_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(forever_vtable, struct weft_future, forever_poll,
                             NULL);

static struct weft_future the_forever = {.vtable = &forever_vtable};

static void
pending_start(struct root *r, struct weft_context *cx)
{
	struct spawner s = {.base.vtable = &spawner_vtable,
	                    .proto = &the_forever,
	                    .done = r};

	ops = MILLION / div_by;
	future_bytes = sizeof(the_forever);
	atomic_store(&r->left, 1);
	spawn(cx, &s.base);
}


/* ---- main ----------------------------------------------------------- */

static const struct {
	const char *name;
	void (*start)(struct root *r, struct weft_context *cx);
} workloads[] = {
    {"spawn_many", spawn_many_start},   {"yield_many", yield_many_start},
    {"ping_pong", ping_pong_start},     {"chained_spawn", chained_start},
    {"sleeps", sleeps_start},           {"pending_tasks", pending_start},
};

#ifdef WEFT_STATIC_PLUGINS
/* The static build must not fall back on a plugin file. */
static int
check_builtin(struct weft_runtime *rt, char *err, size_t errlen)
{
	const char *e = weft_runtime_plugin_path(rt, WEFT_PLUGIN_EXECUTOR);
	const char *r = weft_runtime_plugin_path(rt, WEFT_PLUGIN_REACTOR);

	if (strncmp(e, "builtin:", 8) == 0 && strncmp(r, "builtin:", 8) == 0)
		return 0;
	snprintf(err, errlen, "not linked in: %s, %s", e, r);
	return -1;
}
#else
#define weft_static_register() 0

static int
check_builtin(struct weft_runtime *rt, char *err, size_t errlen)
{
	(void)rt, (void)err, (void)errlen;
	return 0;
}
#endif

static struct weft_runtime *
open_runtime(const char *executor, const char *reactor)
{
	const char *path = getenv("WEFT_PLUGIN_PATH");
	const char *workers = getenv("WEFT_WORKERS");
	const char *observe = getenv("WEFT_BENCH_OBSERVE");
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	char err[256] = "out of memory";

	if (!path || !*path)
		path = WEFT_BENCH_PLUGIN_PATH;
	if (weft_config_new(&cfg) < 0 ||
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)) < 0 ||
	    (*path &&
	     weft_config_set(cfg, "plugin_path", path, err, sizeof(err)) < 0) ||
	    (workers &&
	     weft_config_set(cfg, "workers", workers, err, sizeof(err)) < 0) ||
	    weft_config_set(cfg, "executor", executor, err, sizeof(err)) < 0 ||
	    weft_config_set(cfg, "reactor", reactor, err, sizeof(err)) < 0 ||
	    (observe && strcmp(observe, "console") == 0 &&
	     weft_config_set(cfg, "console", "on", err, sizeof(err)) < 0) ||
	    (observe && strcmp(observe, "slow") == 0 &&
	     weft_config_set(cfg, "slow_poll_ms", "100", err, sizeof(err)) <
	         0) ||
	    weft_static_register() < 0 ||
	    weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0 ||
	    check_builtin(rt, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s/%s: %s\n", executor, reactor, err);
		rt = NULL;
	}
	weft_config_free(cfg);
	return rt;
}

int
main(int argc, char **argv)
{
	struct root r = {.base.vtable = &root_vtable,
	                 .lock = PTHREAD_MUTEX_INITIALIZER};
	struct weft_runtime *rt;
	uint64_t t0, t1;
	size_t i;
	int rc;

	if (argc != 5 || (div_by = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR WORKLOAD DIV\n",
		        argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(argv[3], workloads[i].name) == 0)
			r.start = workloads[i].start;
	if (!r.start) {
		fprintf(stderr, "%s: unknown workload\n", argv[3]);
		return 3;
	}
	rt = open_runtime(argv[1], argv[2]);
	if (!rt)
		return 1;
	t0 = now_ns();
	rc = weft_block_on(rt, &r.base);
	t1 = now_ns();
	if (rc < 0)
		die("block_on", rc);
	printf("%.1f %ld %zu\n", (double)(t1 - t0) / (double)ops,
	       peak_rss_kib(), future_bytes);
	fflush(stdout);
	/*
	 * The teardown is not measured: leave at once, unless asked to tear
	 * down properly (the CI smoke run checks it under Valgrind).
	 */
	if (!getenv("WEFT_BENCH_TEARDOWN"))
		_exit(0);
	weft_future_drop(&r.base);
	weft_runtime_close(rt);
	return 0;
}
