/* SPDX-License-Identifier: MIT */
/*
 * rr: a round-robin, single-thread weft executor, written as a third party
 * would write one.  docs/writing-an-executor.md walks through it rule by
 * rule.
 *
 * The host's task core does the hard part: it owns each task's memory, its
 * state machine (so a wake during a poll re-schedules the task, W4, and
 * wakes coalesce, W3), its wakers and its join handle.  This file is only
 * a run queue, a loop that polls in turn, and parking in the host's driver.
 *
 * Threads: block_on's loop runs on the caller's thread and polls every task
 * there (E10: no MULTI_THREAD flag).  Wakes, and so rr_schedule, come from
 * any thread, hence the mutex around the queue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <weft/abi.h>

/*
 * Tasks polled between two looks at the driver while the queue never
 * empties: a task that wakes itself forever must not starve timers and
 * I/O (E7).
 */
#define RR_TURNS 64

struct rr {
	struct weft_executor head; /* first: the host allocates and reads it */
	const struct weft_task_core *core;
	struct weft_driver *driver;
	struct weft_task_set *set;

	pthread_mutex_t lock; /* guards the queue */
	struct weft_task *head_task, *tail_task;

	atomic_bool parked;     /* the loop is (about to be) in the driver */
	atomic_bool root_woken; /* block_on's future wants a poll */
	atomic_bool in_block_on;
	bool closed;

	/* for stats (E9, E11) */
	atomic_uint_fast64_t spawned, polls, completed, parks;
};


/* ---- the run queue ------------------------------------------------- */

static struct weft_task **
rr_next(struct rr *ex, struct weft_task *t)
{
	/* The core lends one pointer in each task for our queue. */
	return (struct weft_task **)ex->core->link(t);
}


/*
 * The core calls this when a task becomes runnable: spawned, woken or
 * aborted.  We receive one runnable reference and must hand it back to
 * run() or drop_runnable() exactly once.  Any thread (W1).
 */
static void
rr_schedule(void *data, struct weft_task *t)
{
	struct rr *ex = data;

	*rr_next(ex, t) = NULL;
	pthread_mutex_lock(&ex->lock);
	if (ex->tail_task)
		*rr_next(ex, ex->tail_task) = t;
	else
		ex->head_task = t;
	ex->tail_task = t;
	pthread_mutex_unlock(&ex->lock);
	/*
	 * Queued before `parked` is read, and the loop raises `parked`
	 * before its last look at the queue: one of the two sees the other,
	 * so a wake from another thread never sleeps through a park (E3).
	 */
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


static struct weft_task *
rr_pop(struct rr *ex)
{
	struct weft_task *t;

	pthread_mutex_lock(&ex->lock);
	t = ex->head_task;
	if (t) {
		ex->head_task = *rr_next(ex, t);
		if (!ex->head_task)
			ex->tail_task = NULL;
	}
	pthread_mutex_unlock(&ex->lock);
	return t;
}


/* ---- block_on's waker ----------------------------------------------- */

/*
 * The root future is not a task: it lives on block_on's caller's stack.
 * Its waker is the host's (the task core's root_waker): a clone of it may
 * be woken long after this executor is gone, even unloaded (W6), which a
 * waker of our own could not survive.  The host calls this only while the
 * set is open.  Any thread.
 */
static void
rr_root_wake(void *sched)
{
	struct rr *ex = sched;

	atomic_store(&ex->root_woken, true);
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


/* ---- init and spawn ------------------------------------------------ */

static int
rr_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct rr *ex = (struct rr *)self;
	int r;

	/* The host zeroed the instance and filled the head (R10's twin). */
	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 2)
		return -EINVAL;
	ex->core = params->tasks;
	ex->driver = params->driver;
	r = ex->core->set_new(&ex->set, rr_schedule, ex);
	if (r < 0)
		return r;
	pthread_mutex_init(&ex->lock, NULL);
	return 0;
}


static int
rr_spawn(struct weft_executor *self, struct weft_future *future,
         struct weft_join **join)
{
	struct rr *ex = (struct rr *)self;
	struct weft_task *t;
	int r;

	/*
	 * The core copies vtable->size bytes (F5) and, when it refuses (a
	 * closed set: WEFT_ECLOSED), has already dropped the future (E2):
	 * nothing more to do here, least of all a second drop.
	 */
	r = ex->core->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	atomic_fetch_add(&ex->spawned, 1);
	rr_schedule(ex, t);
	return 0;
}


/* ---- the loop ------------------------------------------------------ */

static void
rr_context(struct rr *ex, struct weft_context *cx, struct weft_waker w)
{
	/* Everything a future needs comes through the context (C1, C2). */
	weft_context_init(cx, w, &ex->head, ex->driver);
}


/* Polls up to RR_TURNS tasks in queue order; returns how many. */
static int
rr_run_turns(struct rr *ex)
{
	struct weft_context cx;
	struct weft_task *t;
	int n;

	for (n = 0; n < RR_TURNS && (t = rr_pop(ex)); n++) {
		/* The core fills in the task's waker (E8) and polls it. */
		rr_context(ex, &cx, (struct weft_waker){0, 0});
		atomic_fetch_add(&ex->polls, 1);
		/* run_done (core 3) says whether the poll completed it. */
		if (ex->core->version >= 3 && ex->core->run_done) {
			if (ex->core->run_done(t, &cx))
				atomic_fetch_add(&ex->completed, 1);
		} else {
			ex->core->run(t, &cx);
		}
	}
	return n;
}


static int
rr_park(struct rr *ex, bool may_block)
{
	int64_t timeout = may_block ? WEFT_TIMEOUT_INFINITE : 0;
	bool idle;
	int r;

	atomic_store(&ex->parked, true);
	pthread_mutex_lock(&ex->lock);
	idle = ex->head_task == NULL;
	pthread_mutex_unlock(&ex->lock);
	if (!idle || atomic_load(&ex->root_woken))
		timeout = 0;
	atomic_fetch_add(&ex->parks, 1);
	r = weft_driver_park(ex->driver, timeout);
	atomic_store(&ex->parked, false);
	return r < 0 ? r : 0;
}


static int
rr_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct rr *ex = (struct rr *)self;
	struct weft_waker root;
	struct weft_context cx;
	int turns, r = 0;

	if (ex->closed)
		return WEFT_ECLOSED;
	root = ex->core->root_waker(ex->set, rr_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	/* A block_on inside a poll of ours would wait for itself (E4). */
	if (atomic_exchange(&ex->in_block_on, true))
		return WEFT_EBUSY;
	atomic_store(&ex->root_woken, true);
	for (;;) {
		/* The flag drops before the poll, so a wake during it stays. */
		if (atomic_exchange(&ex->root_woken, false)) {
			rr_context(ex, &cx, root);
			atomic_fetch_add(&ex->polls, 1);
			/* Ready: never polled again (F2), not dropped (E4). */
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
		}
		turns = rr_run_turns(ex);
		r = rr_park(ex, turns < RR_TURNS);
		if (r < 0)
			break;
	}
	atomic_store(&ex->in_block_on, false);
	return r;
}


/* ---- shutdown and teardown ------------------------------------------- */

static void
rr_drain(struct rr *ex)
{
	struct weft_task *t;

	while ((t = rr_pop(ex)))
		ex->core->drop_runnable(t);
}


static void
rr_shutdown(struct weft_executor *self)
{
	struct rr *ex = (struct rr *)self;

	/* Idempotent (E5); never from inside our own block_on. */
	if (ex->closed || atomic_load(&ex->in_block_on))
		return;
	ex->closed = true;
	/*
	 * Closing the set drops every future not yet dropped, waiting or
	 * runnable, exactly once (E5, F1); the queue's references follow.
	 */
	ex->core->set_close(ex->set);
	rr_drain(ex);
}


static void
rr_fini(struct weft_executor *self)
{
	struct rr *ex = (struct rr *)self;

	rr_shutdown(self);
	rr_drain(ex);
	/*
	 * Refused only when a task still runs somewhere (set_close was called
	 * too early): then the lock it may reach must stay.
	 */
	if (ex->core->set_free(ex->set) < 0)
		return;
	pthread_mutex_destroy(&ex->lock);
}


/* Optional (E9): counters only grow; the helper bounds the copy. */
static int
rr_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct rr *ex = (struct rr *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = 1,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->polls),
	    .completed = atomic_load(&ex->completed),
	    .parks = atomic_load(&ex->parks),
	};

	return weft_executor_stats_fill(stats, &s);
}


/* ---- the plugin ---------------------------------------------------- */

static const struct weft_executor_iface rr_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = 0, /* one thread: see E10 */
    .instance_size = sizeof(struct rr),
    .init = rr_init,
    .spawn = rr_spawn,
    .block_on = rr_block_on,
    .shutdown = rr_shutdown,
    .fini = rr_fini,
    .stats = rr_stats,
};

static const struct weft_plugin_descriptor rr_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "rr",
    .description = "round-robin, one thread, built out of tree",
    .iface = &rr_iface,
};

/* The one exported symbol (P1): negotiates, then lists the descriptor. */
WEFT_PLUGIN_DEFINE_ENTRY(rr_descriptor);
