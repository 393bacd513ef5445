/* SPDX-License-Identifier: MIT */
/*
 * The simulation executor: single.c's loop on one thread, except that the
 * next entity to poll — a task, or block_on's root future — is chosen among
 * all the runnable ones by a seeded PRNG (mode random) or by PCT's
 * priorities (mode pct, see pick.c), never by arrival order.  Each poll
 * adds the polled task's id to a trace hash; the executor prints it at fini
 * on stderr, in the line `weft sim` parses:
 *
 *   weft-sim: seed=<S> mode=<random|pct> polls=<N> trace=<16 hex digits>
 *
 * The same seed, program and inputs give the same schedule, hence the same
 * trace.  What breaks that: wakes and spawns from threads other than
 * block_on's (they are allowed, E3, but land when the other thread runs),
 * and I/O or time the reactor does not keep (a real-clock reactor moves
 * time between polls).  Those wakes go through a locked side queue; the
 * wakes of the thread itself, the common and deterministic case, take no
 * lock.
 *
 * Settings (P8, read in init): sim_seed (decimal), sim_mode (random|pct),
 * sim_pct_depth (d), sim_timeout (a virtual deadline, "<N>ns", "0": none,
 * counted from init on the driver's clock).  A host older than ABI 1.2
 * passes none: then seed 1, mode random, d 3, no deadline.  An invalid
 * value fails init with WEFT_ECONFIG.
 *
 * When the clock passes the deadline, checked after each park, the
 * executor prints `weft-sim: virtual deadline <D>ns passed at <T>ns` (T
 * counted from init too) and the trace line, and ends the process with
 * _exit(125): the program is stuck or too slow in virtual time, and the
 * runner reports exit status 125 as "virtual-time deadline passed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/assert.h>

#include "sim.h"

/* Polls between two looks at the driver, as single.c (E7). */
#define SIM_EVENT_INTERVAL 61

/* The exit status when the virtual deadline passes. */
#define SIM_EXIT_DEADLINE 125


/* ---- settings ------------------------------------------------------- */

static const char *
sim_setting(const struct weft_executor_params *params, const char *key)
{
	if (params->version < 2 || !params->setting)
		return NULL;
	return params->setting(params->setting_ctx, key);
}


/* A decimal number, all of s; -EINVAL otherwise. */
static int
sim_parse_u64(const char *s, const char *suffix, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || strcmp(end, suffix) != 0)
		return -EINVAL;
	*out = v;
	return 0;
}


/*
 * "random" reaches us only from a host that does not resolve it: pick a
 * seed here, which the trace line prints, so the run can still be replayed.
 */
static uint64_t
sim_random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 32);
}


static int
sim_settings(struct sim *ex, const struct weft_executor_params *params)
{
	const char *seed = sim_setting(params, "sim_seed");
	const char *mode = sim_setting(params, "sim_mode");
	const char *depth = sim_setting(params, "sim_pct_depth");
	const char *timeout = sim_setting(params, "sim_timeout");
	uint64_t d = 3;

	ex->seed = 1;
	ex->mode = SIM_RANDOM;
	if (seed && strcmp(seed, "random") == 0)
		ex->seed = sim_random_seed();
	else if (seed && sim_parse_u64(seed, "", &ex->seed) < 0)
		return WEFT_ECONFIG;
	if (mode && strcmp(mode, "pct") == 0)
		ex->mode = SIM_PCT;
	else if (mode && strcmp(mode, "random") != 0)
		return WEFT_ECONFIG;
	if (depth && sim_parse_u64(depth, "", &d) < 0)
		return WEFT_ECONFIG;
	if (d < 1 || d > SIM_PCT_MAX_DEPTH)
		return WEFT_ECONFIG;
	ex->depth = (uint32_t)d;
	ex->timeout_ns = 0;
	if (timeout && strcmp(timeout, "0") != 0 &&
	    sim_parse_u64(timeout, "ns", &ex->timeout_ns) < 0)
		return WEFT_ECONFIG;
	return 0;
}


/* ---- the queues ----------------------------------------------------- */

static uintptr_t
sim_self(void)
{
	return (uintptr_t)pthread_self();
}


static void
sim_publish_depth(struct sim *ex)
{
	atomic_store_explicit(&ex->queue_depth,
	                      ex->n + atomic_load(&ex->remote_len),
	                      memory_order_relaxed);
}


/*
 * The task core's schedule callback.  Any thread.  The thread inside
 * block_on adds to the runnable set directly; any other thread makes the
 * schedule depend on when it runs, which a simulation cannot replay.
 */
static void
sim_schedule(void *data, struct weft_task *t)
{
	struct sim *ex = data;

	if (atomic_load_explicit(&ex->owner, memory_order_relaxed) ==
	    sim_self()) {
		if (weft__sim_push(ex, t, weft__sim_task_id(ex, t)) < 0)
			weft__sim_remote_push(ex, t);
		sim_publish_depth(ex);
		return;
	}
	weft__sim_remote_push(ex, t);
	atomic_fetch_add_explicit(&ex->foreign_wakes, 1, memory_order_relaxed);
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


/* The root waker's callback (W6 guard in the host).  Any thread. */
static void
sim_root_wake(void *sched)
{
	struct sim *ex = sched;

	atomic_store(&ex->root_woken, true);
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


/* Everything runnable into the set: the side queue, then the root. */
static void
sim_gather(struct sim *ex)
{
	weft__sim_splice_remote(ex);
	if (!ex->root_queued &&
	    atomic_load_explicit(&ex->root_woken, memory_order_relaxed) &&
	    atomic_exchange(&ex->root_woken, false)) {
		if (weft__sim_push(ex, NULL, 0) < 0)
			atomic_store(&ex->root_woken, true); /* next time */
		else
			ex->root_queued = true;
	}
	sim_publish_depth(ex);
}


/* ---- init and spawn ------------------------------------------------- */

static int
sim_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct sim *ex = (struct sim *)self;
	int r;

	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 1)
		return -EINVAL;
	if (params->tasks->version < 2)
		return -ENOTSUP; /* no root waker, no W6: as single.c */
	r = sim_settings(ex, params);
	if (r < 0)
		return r;
	ex->tasks = params->tasks;
	ex->driver = params->driver;
	ex->core_ids = ex->tasks->version >= 4 && ex->tasks->id;
	ex->start_ns = weft_driver_now(ex->driver);
	weft__sim_seed(ex);
	/* Room for a first batch: a splice then always makes progress. */
	ex->run = malloc(64 * sizeof(*ex->run));
	if (!ex->run)
		return -ENOMEM;
	ex->cap = 64;
	r = ex->tasks->set_new(&ex->set, sim_schedule, ex);
	if (r < 0) {
		free(ex->run);
		return r;
	}
	pthread_mutex_init(&ex->lock, NULL);
	return 0;
}


static int
sim_spawn(struct weft_executor *self, struct weft_future *future,
          struct weft_join **join)
{
	struct sim *ex = (struct sim *)self;
	struct weft_task *t;
	int r;

	r = ex->tasks->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	/* Without the core's ids, the spawn order numbers tasks, from 1. */
	if (!ex->core_ids)
		*ex->tasks->link(t) =
		    (void *)(uintptr_t)(atomic_fetch_add(&ex->next_id, 1) + 1);
	atomic_fetch_add_explicit(&ex->spawned, 1, memory_order_relaxed);
	sim_schedule(ex, t);
	return 0;
}


/* ---- the loop ------------------------------------------------------- */

static void
sim_deadline_passed(struct sim *ex, uint64_t elapsed)
{
	fflush(stdout);
	fprintf(stderr, "weft-sim: virtual deadline %lluns passed at %lluns\n",
	        (unsigned long long)ex->timeout_ns,
	        (unsigned long long)elapsed);
	weft__sim_report(ex);
	_exit(SIM_EXIT_DEADLINE);
}


/* Nanoseconds since init on the driver's clock. */
static uint64_t
sim_elapsed(struct sim *ex)
{
	uint64_t now = weft_driver_now(ex->driver);

	return now > ex->start_ns ? now - ex->start_ns : 0;
}


static void
sim_check_deadline(struct sim *ex)
{
	uint64_t elapsed;

	if (!ex->timeout_ns)
		return;
	elapsed = sim_elapsed(ex);
	if (elapsed > ex->timeout_ns)
		sim_deadline_passed(ex, elapsed);
}


/*
 * An idle park waits for ever, or with a deadline just past it: a virtual
 * clock then jumps there when nothing else is due (a deadlocked program
 * ends), and a real one wakes in time to end the run.
 */
static int64_t
sim_idle_timeout(struct sim *ex)
{
	uint64_t elapsed, left;

	if (!ex->timeout_ns)
		return WEFT_TIMEOUT_INFINITE;
	elapsed = sim_elapsed(ex);
	left = elapsed < ex->timeout_ns ? ex->timeout_ns - elapsed : 0;
	return left >= (uint64_t)INT64_MAX ? WEFT_TIMEOUT_INFINITE
	                                   : (int64_t)left + 1;
}


/* As single_park: `parked` before the last look, so no wake is lost. */
static int
sim_park(struct sim *ex, int64_t timeout_ns)
{
	int r;

	atomic_store(&ex->parked, true);
	if (timeout_ns != 0 &&
	    (atomic_load(&ex->root_woken) || atomic_load(&ex->remote_len)))
		timeout_ns = 0;
	atomic_fetch_add_explicit(&ex->parks, 1, memory_order_relaxed);
	r = weft_driver_park(ex->driver, timeout_ns);
	atomic_store(&ex->parked, false);
	sim_check_deadline(ex);
	return r < 0 ? r : 0;
}


/* Polls one entity; 1 when it was the root and the root is ready. */
static int
sim_poll_one(struct sim *ex, struct weft_future *root_fut,
             struct weft_waker root, struct sim_ent e)
{
	struct weft_context cx;

	weft__sim_trace(ex, e.id);
	atomic_store_explicit(&ex->polls, ex->npolls, memory_order_relaxed);
	if (!e.task) {
		ex->root_queued = false;
		weft_context_init(&cx, root, &ex->head, ex->driver);
		return weft_future_poll(root_fut, &cx) == WEFT_READY;
	}
	weft_context_init(&cx, (struct weft_waker){0, 0}, &ex->head,
	                  ex->driver);
	/* A core older than 3 cannot say: `completed` stays 0 (E11). */
	if (ex->tasks->version >= 3) {
		if (ex->tasks->run_done(e.task, &cx))
			atomic_fetch_add_explicit(&ex->completed, 1,
			                          memory_order_relaxed);
	} else {
		ex->tasks->run(e.task, &cx);
	}
	return 0;
}


static int
sim_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct sim *ex = (struct sim *)self;
	struct weft_waker root;
	/*
	 * Spent at the start: block_on first looks at the driver, so that
	 * what came in from outside since the last call (the blocking jobs
	 * the host runs at park under E13, timers now due) is taken in at a
	 * fixed point of the schedule, even by a block_on that never idles.
	 */
	int budget = SIM_EVENT_INTERVAL, r = 0;

	if (ex->shut)
		return WEFT_ECLOSED;
	root = ex->tasks->root_waker(ex->set, sim_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	if (atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	atomic_store_explicit(&ex->owner, sim_self(), memory_order_relaxed);
	atomic_store(&ex->root_woken, true);

	for (;;) {
		sim_gather(ex);
		if (ex->n == 0) {
			r = sim_park(ex, sim_idle_timeout(ex));
			budget = 0;
		} else if (budget == SIM_EVENT_INTERVAL) {
			r = sim_park(ex, 0); /* fairness: timers and I/O */
			budget = 0;
		} else {
			budget++;
			if (sim_poll_one(ex, future, root, weft__sim_pick(ex)))
				break;
		}
		if (r < 0)
			break;
	}
	sim_publish_depth(ex);
	atomic_store_explicit(&ex->owner, 0, memory_order_relaxed);
	atomic_store(&ex->running, false);
	return r;
}


/* ---- shutdown and teardown ------------------------------------------ */

static void
sim_drain(struct sim *ex)
{
	struct weft_task *t;
	size_t i;

	for (i = 0; i < ex->n; i++)
		if (ex->run[i].task)
			ex->tasks->drop_runnable(ex->run[i].task);
	ex->n = 0;
	ex->root_queued = false;
	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < ex->remote_n; i++)
		ex->tasks->drop_runnable(ex->remote[i]);
	ex->remote_n = 0;
	while ((t = ex->spill_first)) {
		ex->spill_first = *ex->tasks->link(t);
		ex->tasks->drop_runnable(t);
	}
	ex->spill_last = NULL;
	atomic_store(&ex->remote_len, 0);
	pthread_mutex_unlock(&ex->lock);
	sim_publish_depth(ex);
}


static void
sim_shutdown(struct weft_executor *self)
{
	struct sim *ex = (struct sim *)self;

	if (ex->shut || atomic_load(&ex->running))
		return;
	ex->shut = true;
	/* After set_close no wake reaches sim_schedule (W6): drain is last. */
	ex->tasks->set_close(ex->set);
	sim_drain(ex);
}


static void
sim_fini(struct weft_executor *self)
{
	struct sim *ex = (struct sim *)self;

	sim_shutdown(self);
	sim_drain(ex);
	if (!ex->reported) {
		ex->reported = true;
		weft__sim_report(ex);
	}
	/*
	 * set_close ran with nothing running, so every future is dropped; a
	 * refusal would mean a task outlives us, and then the lock and queues
	 * it may still reach must outlive us too (as single.c).
	 */
	if (ex->tasks->set_free(ex->set) < 0) {
		WEFT_ASSERT(!"set_free refused after set_close");
		return;
	}
	pthread_mutex_destroy(&ex->lock);
	free(ex->run);
	free(ex->remote);
	free(ex->moved);
}


static int
sim_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct sim *ex = (struct sim *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = 1,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->polls),
	    .completed = atomic_load(&ex->completed),
	    .parks = atomic_load(&ex->parks),
	    .foreign_wakes = atomic_load(&ex->foreign_wakes),
	    .queue_depth = atomic_load(&ex->queue_depth),
	};

	return weft_executor_stats_fill(stats, &s);
}


/* One worker, index 0: the thread inside block_on (E12). */
static int
sim_worker_stats(struct weft_executor *self, uint32_t worker,
                 struct weft_worker_stats *stats)
{
	struct sim *ex = (struct sim *)self;
	struct weft_worker_stats s = {
	    .size = sizeof(s),
	    .worker = 0,
	    .polls = atomic_load(&ex->polls),
	    .parks = atomic_load(&ex->parks),
	    .queue_depth = atomic_load(&ex->queue_depth),
	};

	if (worker != 0)
		return -ENOENT;
	return weft_worker_stats_fill(stats, &s);
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface sim_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_DETERMINISTIC,
    .instance_size = sizeof(struct sim),
    .init = sim_init,
    .spawn = sim_spawn,
    .block_on = sim_block_on,
    .shutdown = sim_shutdown,
    .fini = sim_fini,
    .stats = sim_stats,
    .worker_stats = sim_worker_stats,
};

static const struct weft_plugin_descriptor sim_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "sim",
    .description = "simulation executor: one thread, a seeded choice of "
                   "the next task, a trace hash at exit",
    .iface = &sim_iface,
};


WEFT_PLUGIN_DEFINE_ENTRY(sim_descriptor);
