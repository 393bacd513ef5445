/* SPDX-License-Identifier: MIT */
/*
 * Compares the executors on the shapes of tokio's runtime benchmarks and
 * prints one table (ns per operation, peak RSS, and steals):
 *
 *   spawn_many     one task spawns N trivial tasks: ns per task.
 *   spawn_remote   a thread outside the runtime spawns N trivial tasks
 *                  while block_on waits for them: ns per task.
 *   yield_many     1,000 tasks yield 1,000 times each: ns per yield.
 *   ping_pong      pairs of tasks bounce a message through a one-slot
 *                  channel built on wakers: ns per round trip.
 *   chained_spawn  each task spawns the next, to a depth of D: ns per
 *                  spawn.
 *
 * Each (executor, shape) runs in a child process of its own, so that the
 * peak RSS (ru_maxrss) is that shape's.  The executor comes from the
 * command line, not the environment; the worker count from WEFT_WORKERS
 * (default: the executor's, one per CPU).
 *
 * Usage: weft-bench-executors [-n TASKS] [-d DEPTH] [EXECUTOR...]
 * (default: single multi worksteal, 1,000,000 tasks, depth 100,000).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weft/weft.h>

#ifndef WEFT_BENCH_PLUGIN_PATH
#define WEFT_BENCH_PLUGIN_PATH ""
#endif

#define YIELD_TASKS 1000
#define YIELD_EACH  1000
#define PING_PAIRS  1000
#define PING_ROUNDS 100

static long n_tasks = 1000000;
static long depth = 100000;


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* ---- the root: ready once a countdown reaches zero ------------------ */

/*
 * block_on's future.  Its first poll stores the waker and calls start,
 * which launches the work; whoever brings `left` to zero wakes the root.
 */
struct root {
	struct weft_future base;
	atomic_long left;
	pthread_mutex_t lock; /* the last task's wake against the drop */
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


/* ---- spawn_many, spawn_remote --------------------------------------- */

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

struct spawner {
	struct weft_future base;
	struct root *root;
};

static weft_poll
spawner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct trivial t = {.base.vtable = &trivial_vtable,
	                    .root = ((struct spawner *)f)->root};

	for (long i = 0; i < n_tasks; i++)
		weft_executor_spawn(cx->executor, &t.base, NULL);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(spawner_vtable, struct spawner, spawner_poll,
                             NULL);

static void
spawn_many_start(struct root *r, struct weft_context *cx)
{
	struct spawner s = {.base.vtable = &spawner_vtable, .root = r};

	atomic_store(&r->left, n_tasks);
	weft_executor_spawn(cx->executor, &s.base, NULL);
}

struct remote {
	struct weft_runtime *rt;
	struct root *root;
	pthread_t thread;
};

static struct remote the_remote;

static void *
remote_main(void *arg)
{
	struct remote *re = arg;
	struct trivial t = {.base.vtable = &trivial_vtable, .root = re->root};

	for (long i = 0; i < n_tasks; i++)
		weft_spawn(re->rt, &t.base, NULL);
	return NULL;
}

static void
spawn_remote_start(struct root *r, struct weft_context *cx)
{
	(void)cx;
	atomic_store(&r->left, n_tasks);
	the_remote.root = r;
	pthread_create(&the_remote.thread, NULL, remote_main, &the_remote);
}


/* ---- yield_many ----------------------------------------------------- */

struct yielder {
	struct weft_future base;
	struct root *root;
	int left;
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
	struct yielder y = {
	    .base.vtable = &yielder_vtable, .root = r, .left = YIELD_EACH};

	atomic_store(&r->left, YIELD_TASKS);
	for (int i = 0; i < YIELD_TASKS; i++)
		weft_executor_spawn(cx->executor, &y.base, NULL);
}


/* ---- ping_pong: a one-slot channel built on wakers ------------------ */

/*
 * One value at a time: send stores it and wakes the receiver; recv takes
 * it or stores its waker.  The mutex keeps "store the waker" and "a value
 * arrived" from missing each other.
 */
struct slot {
	pthread_mutex_t lock;
	bool full;
	long value;
	struct weft_waker rx;
};

static void
slot_send(struct slot *s, long v)
{
	struct weft_waker w;

	pthread_mutex_lock(&s->lock);
	s->full = true;
	s->value = v;
	w = s->rx;
	s->rx.vtable = NULL;
	pthread_mutex_unlock(&s->lock);
	weft_waker_wake(&w);
}

static bool
slot_recv(struct slot *s, struct weft_context *cx, long *v)
{
	bool got;

	pthread_mutex_lock(&s->lock);
	got = s->full;
	if (got) {
		s->full = false;
		*v = s->value;
	} else {
		weft_waker_store(&s->rx, &cx->waker);
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

struct pair {
	struct slot to_pong, to_ping;
};

struct player {
	struct weft_future base;
	struct pair *pair;
	struct root *root;
	bool ping;
	bool sent; /* ping: this round's message is out */
	int round;
};

static weft_poll
player_poll(struct weft_future *f, struct weft_context *cx)
{
	struct player *p = (struct player *)f;
	long v;

	while (p->round < PING_ROUNDS) {
		if (p->ping && !p->sent) {
			slot_send(&p->pair->to_pong, p->round);
			p->sent = true;
		}
		if (!slot_recv(p->ping ? &p->pair->to_ping : &p->pair->to_pong,
		               cx, &v))
			return WEFT_PENDING;
		if (!p->ping)
			slot_send(&p->pair->to_ping, v);
		p->sent = false;
		p->round++;
	}
	root_done(p->root);
	return WEFT_READY;
}

static void
player_drop(struct weft_future *f)
{
	struct player *p = (struct player *)f;
	struct slot *s = p->ping ? &p->pair->to_ping : &p->pair->to_pong;
	struct weft_waker w;

	pthread_mutex_lock(&s->lock);
	w = s->rx;
	s->rx.vtable = NULL;
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&w);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(player_vtable, struct player, player_poll,
                             player_drop);

static struct pair *the_pairs;

static void
ping_pong_start(struct root *r, struct weft_context *cx)
{
	struct player p = {.base.vtable = &player_vtable, .root = r};

	atomic_store(&r->left, 2 * PING_PAIRS);
	for (int i = 0; i < PING_PAIRS; i++) {
		pthread_mutex_init(&the_pairs[i].to_pong.lock, NULL);
		pthread_mutex_init(&the_pairs[i].to_ping.lock, NULL);
		p.pair = &the_pairs[i];
		p.ping = true;
		weft_executor_spawn(cx->executor, &p.base, NULL);
		p.ping = false;
		weft_executor_spawn(cx->executor, &p.base, NULL);
	}
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
	weft_executor_spawn(cx->executor, &next.base, NULL);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(link_vtable, struct link, link_poll, NULL);

static void
chained_start(struct root *r, struct weft_context *cx)
{
	struct link l = {.base.vtable = &link_vtable, .root = r, .left = depth};

	atomic_store(&r->left, 1);
	weft_executor_spawn(cx->executor, &l.base, NULL);
}


/* ---- the table ------------------------------------------------------ */

struct shape {
	const char *name;
	void (*start)(struct root *r, struct weft_context *cx);
	long (*ops)(void);
};

static long
ops_tasks(void)
{
	return n_tasks;
}

static long
ops_yields(void)
{
	return (long)YIELD_TASKS * YIELD_EACH;
}

static long
ops_rounds(void)
{
	return (long)PING_PAIRS * PING_ROUNDS;
}

static long
ops_depth(void)
{
	return depth;
}

static const struct shape shapes[] = {
    {"spawn_many", spawn_many_start, ops_tasks},
    {"spawn_remote", spawn_remote_start, ops_tasks},
    {"yield_many", yield_many_start, ops_yields},
    {"ping_pong", ping_pong_start, ops_rounds},
    {"chained_spawn", chained_start, ops_depth},
};

#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))


static struct weft_runtime *
open_runtime(const char *executor)
{
	const char *path = getenv("WEFT_PLUGIN_PATH");
	const char *workers = getenv("WEFT_WORKERS");
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	char err[256] = "out of memory";

	if (!path || !*path)
		path = WEFT_BENCH_PLUGIN_PATH;
	/* The executor is the one asked for, whatever the environment. */
	if (weft_config_new(&cfg) < 0 ||
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)) < 0 ||
	    (*path &&
	     weft_config_set(cfg, "plugin_path", path, err, sizeof(err)) < 0) ||
	    (workers &&
	     weft_config_set(cfg, "workers", workers, err, sizeof(err)) < 0) ||
	    weft_config_set(cfg, "executor", executor, err, sizeof(err)) < 0 ||
	    weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", executor, err);
		rt = NULL;
	}
	weft_config_free(cfg);
	return rt;
}


/* In a child: runs one shape on one executor and prints its row. */
static int
bench_one(const char *executor, const struct shape *sh)
{
	struct weft_executor_stats st = {.size = sizeof(st)};
	struct root r = {.base.vtable = &root_vtable,
	                 .lock = PTHREAD_MUTEX_INITIALIZER,
	                 .start = sh->start};
	struct weft_runtime *rt = open_runtime(executor);
	struct rusage ru;
	uint64_t t0, t1;
	int rc;

	if (!rt)
		return 1;
	the_remote.rt = rt;
	the_pairs = calloc(PING_PAIRS, sizeof(*the_pairs));
	t0 = now_ns();
	rc = weft_block_on(rt, &r.base);
	t1 = now_ns();
	if (sh->start == spawn_remote_start)
		pthread_join(the_remote.thread, NULL);
	weft_future_drop(&r.base);
	weft_runtime_stats(rt, &st);
	weft_runtime_close(rt);
	getrusage(RUSAGE_SELF, &ru);
	if (rc < 0) {
		fprintf(stderr, "%s %s: %s\n", executor, sh->name,
		        weft_strerror(rc));
		return 1;
	}
	printf("%-14s %-10s %8u %12.1f %12.1f %12llu\n", sh->name, executor,
	       st.workers, (double)(t1 - t0) / (double)sh->ops(),
	       (double)ru.ru_maxrss / 1024.0, (unsigned long long)st.steals);
	fflush(stdout);
	free(the_pairs);
	return 0;
}


int
main(int argc, char **argv)
{
	static const char *all[] = {"single", "multi", "worksteal"};
	const char **names = all;
	int n = 3, opt, status, failed = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:d:")) != -1) {
		if (opt == 'n')
			n_tasks = atol(optarg);
		else if (opt == 'd')
			depth = atol(optarg);
		else {
			fprintf(stderr,
			        "usage: %s [-n TASKS] [-d DEPTH] "
			        "[EXECUTOR...]\n",
			        argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		names = (const char **)&argv[optind];
		n = argc - optind;
	}
	if (n_tasks < 1 || depth < 1)
		return 2;

	printf("spawn_many/spawn_remote: %ld tasks; yield_many: %d x %d; "
	       "ping_pong: %d pairs x %d; chained_spawn: depth %ld\n",
	       n_tasks, YIELD_TASKS, YIELD_EACH, PING_PAIRS, PING_ROUNDS,
	       depth);
	printf("%-14s %-10s %8s %12s %12s %12s\n", "shape", "executor",
	       "workers", "ns/op", "peak MiB", "steals");
	fflush(stdout);
	for (size_t s = 0; s < NSHAPES; s++) {
		for (int i = 0; i < n; i++) {
			pid = fork();
			if (pid < 0)
				return 1;
			if (pid == 0)
				_exit(bench_one(names[i], &shapes[s]));
			if (waitpid(pid, &status, 0) < 0 ||
			    !WIFEXITED(status) || WEXITSTATUS(status))
				failed = 1;
		}
	}
	printf("targets: worksteal at least as fast per operation as tokio's "
	       "multi-thread runtime on the same machine, for each shape; "
	       "per-task overhead beyond the future at most 64 bytes\n");
	return failed;
}
