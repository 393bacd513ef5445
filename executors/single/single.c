/* SPDX-License-Identifier: MIT */
/*
 * The single-thread executor: one FIFO run queue, polled by the thread that
 * calls block_on, which parks in the host's driver when there is nothing to
 * run.  Tasks, wakers and join handles come from the host's task core; this
 * file is only the queue and the loop.
 *
 * Wakes may come from any thread (a timer fired by another runtime, a
 * channel sender on a foreign thread), so the queue has a mutex; the
 * `parked` flag tells a waker whether it must unpark the driver.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <weft/abi.h>
#include <weft/assert.h>

/*
 * How many tasks run between two looks at the driver when the queue never
 * empties.  tokio's current_thread runtime uses the same number, so that a
 * task that yields forever cannot starve timers and I/O.
 */
#define SINGLE_EVENT_INTERVAL 61

/*
 * An intrusive FIFO through the task core's link slot.  It keeps the last
 * task's slot rather than the task, so that a push asks the core for one
 * slot, not two.
 */
struct fifo {
	struct weft_task *first;
	void **last; /* the link slot of the last task; NULL when empty */
	uint64_t len;
};

struct single {
	struct weft_executor head; /* first: the host sees this */
	const struct weft_task_core *tasks;
	struct weft_driver *driver;
	struct weft_task_set *set;

	/*
	 * Two run queues.  `local` is touched only by the thread inside
	 * block_on, so the common path — a task waking or spawning another
	 * — takes no lock.  Wakes from any other thread go to `remote`,
	 * under the mutex, and are spliced into `local` once per interval
	 * or when `local` runs dry.
	 */
	struct fifo local;
	pthread_mutex_t lock; /* guards remote */
	struct fifo remote;
	atomic_uint_fast64_t remote_len; /* seq_cst: pairs with parked */
	atomic_uint_fast64_t local_len;  /* a copy for stats */

	/*
	 * The thread inside block_on, as single_self() gives it, or 0.  It is
	 * only ever compared with the caller's own value: a thread reads its
	 * own value here only between its own two stores (coherence), so a
	 * stale read can never make another thread look like the owner.  A
	 * thread that is inside block_on may push to `local` even from a
	 * nested block_on of another runtime: `local` is then not in use.
	 */
	atomic_uintptr_t owner;
	atomic_bool parked;
	atomic_bool root_woken;
	atomic_bool running; /* block_on in progress */
	bool shut;

	/* Counters: relaxed atomics, since stats may be read anywhere. */
	atomic_uint_fast64_t spawned, polls, completed, parks, foreign_wakes;
};


/* ---- the run queues ------------------------------------------------- */

/* This thread, as a value for `owner`: never 0. */
static uintptr_t
single_self(void)
{
	return (uintptr_t)pthread_self();
}


static struct weft_task **
single_next(struct single *ex, struct weft_task *t)
{
	return (struct weft_task **)ex->tasks->link(t);
}


static void
single_fifo_push(struct single *ex, struct fifo *q, struct weft_task *t)
{
	struct weft_task **next = single_next(ex, t);

	*next = NULL;
	if (q->last)
		*(struct weft_task **)q->last = t;
	else
		q->first = t;
	q->last = (void **)next;
	q->len++;
}


static struct weft_task *
single_fifo_pop(struct single *ex, struct fifo *q)
{
	struct weft_task *t = q->first;

	if (t) {
		q->first = *single_next(ex, t);
		if (!q->first)
			q->last = NULL;
		q->len--;
	}
	return t;
}


/* Moves everything from remote to the back of local.  block_on's thread. */
static void
single_splice_remote(struct single *ex)
{
	if (atomic_load(&ex->remote_len) == 0)
		return;
	pthread_mutex_lock(&ex->lock);
	if (ex->remote.first) {
		if (ex->local.last)
			*(struct weft_task **)ex->local.last = ex->remote.first;
		else
			ex->local.first = ex->remote.first;
		ex->local.last = ex->remote.last;
		ex->local.len += ex->remote.len;
		ex->remote = (struct fifo){0};
	}
	atomic_store(&ex->remote_len, 0);
	pthread_mutex_unlock(&ex->lock);
}


/* The task core's schedule callback.  Any thread. */
static void
single_schedule(void *data, struct weft_task *t)
{
	struct single *ex = data;

	if (atomic_load_explicit(&ex->owner, memory_order_relaxed) ==
	    single_self()) {
		/* Inside block_on, or the driver waking from our park. */
		single_fifo_push(ex, &ex->local, t);
		atomic_store_explicit(&ex->local_len, ex->local.len,
		                      memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&ex->lock);
	single_fifo_push(ex, &ex->remote, t);
	atomic_store(&ex->remote_len, ex->remote.len);
	pthread_mutex_unlock(&ex->lock);
	atomic_fetch_add_explicit(&ex->foreign_wakes, 1, memory_order_relaxed);
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


/* block_on's thread. */
static struct weft_task *
single_pop(struct single *ex)
{
	struct weft_task *t = single_fifo_pop(ex, &ex->local);

	if (!t) {
		single_splice_remote(ex);
		t = single_fifo_pop(ex, &ex->local);
	}
	atomic_store_explicit(&ex->local_len, ex->local.len,
	                      memory_order_relaxed);
	return t;
}


static bool
single_queue_empty(struct single *ex)
{
	return !ex->local.first && atomic_load(&ex->remote_len) == 0;
}


/* ---- the root future's waker ---------------------------------------- */

/*
 * block_on's future is not a task: its waker, which the host owns (W6),
 * calls this to raise a flag.  The host calls it only while the executor
 * is open.  Any thread.
 */
static void
single_root_wake(void *sched)
{
	struct single *ex = sched;

	atomic_store(&ex->root_woken, true);
	if (atomic_load(&ex->parked))
		weft_driver_unpark(ex->driver);
}


/* ---- init ----------------------------------------------------------- */

static int
single_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct single *ex = (struct single *)self;
	int r;

	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 1)
		return -EINVAL;
	/* The host's root waker (task core 2, ABI 1.1) is what makes W6 hold. */
	if (params->tasks->version < 2)
		return -ENOTSUP;
	ex->tasks = params->tasks;
	ex->driver = params->driver;
	r = ex->tasks->set_new(&ex->set, single_schedule, ex);
	if (r < 0)
		return r;
	pthread_mutex_init(&ex->lock, NULL);
	return 0;
}


/* ---- spawn ---------------------------------------------------------- */

static int
single_spawn(struct weft_executor *self, struct weft_future *future,
           struct weft_join **join)
{
	struct single *ex = (struct single *)self;
	struct weft_task *t;
	int r;

	r = ex->tasks->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	atomic_fetch_add_explicit(&ex->spawned, 1, memory_order_relaxed);
	single_schedule(ex, t);
	return 0;
}


/* ---- the loop ------------------------------------------------------- */

static void
single_context(struct single *ex, struct weft_context *cx,
             struct weft_waker waker)
{
	weft_context_init(cx, waker, &ex->head, ex->driver);
}


/* Runs up to one interval of tasks; returns how many ran. */
static int
single_run_tasks(struct single *ex)
{
	/* A core older than 3 cannot say: `completed` stays 0 (E11). */
	int (*run_done)(struct weft_task *, struct weft_context *) =
	    ex->tasks->version >= 3 ? ex->tasks->run_done : NULL;
	struct weft_context cx;
	struct weft_task *t;
	uint_fast64_t done = 0;
	int n;

	/* Once per interval, wakes from elsewhere join the back of the line. */
	single_splice_remote(ex);
	for (n = 0; n < SINGLE_EVENT_INTERVAL; n++) {
		t = single_pop(ex);
		if (!t)
			break;
		single_context(ex, &cx, (struct weft_waker){0, 0});
		if (run_done)
			done += run_done(t, &cx);
		else
			ex->tasks->run(t, &cx);
	}
	/* Counted once per interval: one atomic add, not one per poll. */
	if (n)
		atomic_fetch_add_explicit(&ex->polls, (uint_fast64_t)n,
		                          memory_order_relaxed);
	if (done)
		atomic_fetch_add_explicit(&ex->completed, done,
		                          memory_order_relaxed);
	return n;
}


/*
 * Parks until something is runnable.  `parked` is raised before the last
 * look at the queue, and wakers raise their flag before they look at
 * `parked` (both sequentially consistent), so a wake is either seen here or
 * unparks the driver: never lost.
 */
static int
single_park(struct single *ex, int64_t timeout_ns)
{
	int r;

	atomic_store(&ex->parked, true);
	if (timeout_ns != 0 &&
	    (atomic_load(&ex->root_woken) || !single_queue_empty(ex)))
		timeout_ns = 0;
	atomic_fetch_add_explicit(&ex->parks, 1, memory_order_relaxed);
	r = weft_driver_park(ex->driver, timeout_ns);
	atomic_store(&ex->parked, false);
	return r < 0 ? r : 0;
}


static int
single_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct single *ex = (struct single *)self;
	struct weft_waker root;
	struct weft_context cx;
	int ran, r = 0;

	if (ex->shut)
		return WEFT_ECLOSED;
	root = ex->tasks->root_waker(ex->set, single_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	if (atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	atomic_store_explicit(&ex->owner, single_self(), memory_order_relaxed);
	atomic_store(&ex->root_woken, true);

	for (;;) {
		/* A plain load first: the exchange is a locked instruction. */
		if (atomic_load_explicit(&ex->root_woken,
		                         memory_order_relaxed) &&
		    atomic_exchange(&ex->root_woken, false)) {
			single_context(ex, &cx, root);
			atomic_fetch_add_explicit(&ex->polls, 1,
			                          memory_order_relaxed);
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
		}
		ran = single_run_tasks(ex);
		if (ran == SINGLE_EVENT_INTERVAL)
			r = single_park(ex, 0); /* fairness: timers and I/O */
		else if (!atomic_load(&ex->root_woken))
			r = single_park(ex, WEFT_TIMEOUT_INFINITE);
		if (r < 0)
			break;
	}
	atomic_store_explicit(&ex->owner, 0, memory_order_relaxed);
	atomic_store(&ex->running, false);
	return r;
}


/* ---- shutdown and teardown ------------------------------------------ */

static void
single_drain(struct single *ex)
{
	struct weft_task *t;

	while ((t = single_pop(ex)))
		ex->tasks->drop_runnable(t);
}


static void
single_shutdown(struct weft_executor *self)
{
	struct single *ex = (struct single *)self;

	if (ex->shut || atomic_load(&ex->running))
		return;
	ex->shut = true;
	ex->tasks->set_close(ex->set);
	single_drain(ex);
}


static void
single_fini(struct weft_executor *self)
{
	struct single *ex = (struct single *)self;

	single_shutdown(self);
	single_drain(ex);
	/*
	 * set_close ran with nothing running, so every future is dropped; a
	 * refusal would mean a task outlives us, and then the lock it may
	 * still reach must outlive us too.
	 */
	if (ex->tasks->set_free(ex->set) < 0) {
		WEFT_ASSERT(!"set_free refused after set_close");
		return;
	}
	pthread_mutex_destroy(&ex->lock);
}


static int
single_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct single *ex = (struct single *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = 1,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->polls),
	    .completed = atomic_load(&ex->completed),
	    .parks = atomic_load(&ex->parks),
	    .foreign_wakes = atomic_load(&ex->foreign_wakes),
	};

	s.queue_depth =
	    atomic_load(&ex->local_len) + atomic_load(&ex->remote_len);
	return weft_executor_stats_fill(stats, &s);
}


/* The one worker (E12): the thread inside block_on; it never steals. */
static int
single_worker_stats(struct weft_executor *self, uint32_t worker,
                    struct weft_worker_stats *stats)
{
	struct single *ex = (struct single *)self;
	struct weft_worker_stats s = {
	    .size = sizeof(s),
	    .worker = 0,
	    .polls = atomic_load(&ex->polls),
	    .parks = atomic_load(&ex->parks),
	};

	if (worker > 0)
		return -ENOENT;
	s.queue_depth =
	    atomic_load(&ex->local_len) + atomic_load(&ex->remote_len);
	return weft_worker_stats_fill(stats, &s);
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface single_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = 0,
    .instance_size = sizeof(struct single),
    .init = single_init,
    .spawn = single_spawn,
    .block_on = single_block_on,
    .shutdown = single_shutdown,
    .fini = single_fini,
    .stats = single_stats,
    .worker_stats = single_worker_stats,
};

static const struct weft_plugin_descriptor single_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "single",
    .description = "single-thread executor: one run queue, parks in the "
                   "driver",
    .iface = &single_iface,
};


WEFT_PLUGIN_DEFINE_ENTRY(single_descriptor);
