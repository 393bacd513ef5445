/* SPDX-License-Identifier: MIT */
/*
 * The multi-thread executor: N worker threads around one shared FIFO run
 * queue.  Tasks, wakers and join handles come from the host's task core;
 * this file is init, spawn, block_on and teardown, and scheduler.c the queue,
 * the threads and the parking.
 *
 * block_on's thread polls the root future and sleeps on its own condition
 * variable in between.  It neither runs tasks (N workers means N threads
 * running tasks) nor drives: an idle worker drives, and block_on in the
 * driver would put a thread switch between every readiness event and the
 * worker that runs the task it wakes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "multi.h"


/* ---- init ----------------------------------------------------------- */

static uint32_t
multi_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > MULTI_MAX_WORKERS ? MULTI_MAX_WORKERS : (uint32_t)n;
}


static void
multi_free_workers(struct multi *ex)
{
	for (uint32_t i = 0; i < ex->nworkers; i++)
		pthread_cond_destroy(&ex->workers[i].sleeper.cond);
	free(ex->workers);
	ex->workers = NULL;
	free(ex->ring);
	ex->ring = NULL;
}


static int
multi_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct multi *ex = (struct multi *)self;
	void *mem;
	uint32_t i;
	int r;

	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 1)
		return -EINVAL;
	/* The host's root waker (task core 2, ABI 1.1) is what makes W6 hold. */
	if (params->tasks->version < 2)
		return -ENOTSUP;
	ex->tasks = params->tasks;
	ex->driver = params->driver;
	ex->nworkers =
	    params->workers ? params->workers : multi_default_workers();
	if (ex->nworkers > MULTI_MAX_WORKERS)
		ex->nworkers = MULTI_MAX_WORKERS;
	/* Aligned as its type asks: calloc promises less than a line. */
	if (posix_memalign(&mem, alignof(struct multi_worker),
	                   ex->nworkers * sizeof(struct multi_worker)))
		return -ENOMEM;
	memset(mem, 0, ex->nworkers * sizeof(struct multi_worker));
	ex->workers = mem;
	ex->ring = malloc(MULTI_RING * sizeof(*ex->ring));
	if (!ex->ring) {
		r = -ENOMEM;
		goto fail_set;
	}
	r = ex->tasks->set_new(&ex->set, weft__multi_schedule, ex);
	if (r < 0)
		goto fail_set;
	pthread_mutex_init(&ex->lock, NULL);
	pthread_mutex_init(&ex->root_lock, NULL);
	pthread_cond_init(&ex->root.cond, NULL);
	for (i = 0; i < ex->nworkers; i++) {
		ex->workers[i].ex = ex;
		pthread_cond_init(&ex->workers[i].sleeper.cond, NULL);
	}
	for (i = 0; i < ex->nworkers; i++) {
		r = -pthread_create(&ex->workers[i].thread, NULL,
		                    weft__multi_worker_main, &ex->workers[i]);
		if (r < 0)
			goto fail_threads;
		ex->workers[i].started = true;
	}
	return 0;

fail_threads:
	weft__multi_stop_workers(ex);
	pthread_cond_destroy(&ex->root.cond);
	pthread_mutex_destroy(&ex->root_lock);
	pthread_mutex_destroy(&ex->lock);
	ex->tasks->set_close(ex->set);
	ex->tasks->set_free(ex->set);
fail_set:
	multi_free_workers(ex);
	return r;
}


/* ---- spawn ---------------------------------------------------------- */

static int
multi_spawn(struct weft_executor *self, struct weft_future *future,
           struct weft_join **join)
{
	struct multi *ex = (struct multi *)self;
	struct multi_worker *w = weft__multi_worker(ex);
	struct weft_task *t;
	int r;

	r = ex->tasks->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	if (w)
		multi_count(&w->spawned, 1);
	else
		atomic_fetch_add_explicit(&ex->spawned, 1,
		                          memory_order_relaxed);
	weft__multi_schedule(ex, t);
	return 0;
}


/* ---- block_on and its root waker ------------------------------------ */

/*
 * block_on's future is not a task: its waker, which the host owns (W6),
 * calls this to raise a flag and wake the block_on thread if it sleeps.
 * The host calls it only while the executor is open.  Any thread.
 */
static void
multi_root_wake(void *sched)
{
	struct multi *ex = sched;

	/*
	 * Whoever turns the flag on wakes the thread; a flag already on
	 * means the thread has not consumed it yet and will look at it
	 * before it sleeps (under the mutex, which orders it after this
	 * exchange or before our look below).
	 */
	if (atomic_exchange(&ex->root_woken, true))
		return;
	pthread_mutex_lock(&ex->root_lock);
	if (ex->root_sleeping) {
		ex->root.notified = true;
		pthread_cond_signal(&ex->root.cond);
	}
	pthread_mutex_unlock(&ex->root_lock);
}


/* Waits on block_on's thread until the root future is woken. */
static void
multi_root_idle(struct multi *ex)
{
	pthread_mutex_lock(&ex->root_lock);
	ex->root_sleeping = true;
	ex->root.notified = false;
	while (!ex->root.notified && !atomic_load(&ex->root_woken))
		pthread_cond_wait(&ex->root.cond, &ex->root_lock);
	ex->root_sleeping = false;
	pthread_mutex_unlock(&ex->root_lock);
}


static int
multi_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct multi *ex = (struct multi *)self;
	struct multi_tls outer = weft__multi_tls_get();
	struct weft_waker root;
	struct weft_context cx;

	if (ex->shut)
		return WEFT_ECLOSED;
	root = ex->tasks->root_waker(ex->set, multi_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	if (outer.ex == ex || atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	weft__multi_tls_set((struct multi_tls){ex, NULL});
	atomic_store(&ex->root_woken, true);
	for (;;) {
		if (atomic_exchange(&ex->root_woken, false)) {
			weft_context_init(&cx, root, &ex->head,
			                  ex->driver);
			atomic_fetch_add_explicit(&ex->polls, 1,
			                          memory_order_relaxed);
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
		}
		multi_root_idle(ex);
	}
	weft__multi_tls_set(outer);
	atomic_store(&ex->running, false);
	return 0;
}


/* ---- shutdown and teardown ------------------------------------------ */

static void
multi_drain(struct multi *ex)
{
	struct weft_task *t;

	while ((t = weft__multi_pop(ex)))
		ex->tasks->drop_runnable(t);
}


static void
multi_shutdown(struct weft_executor *self)
{
	struct multi *ex = (struct multi *)self;

	if (ex->shut || atomic_load(&ex->running) ||
	    weft__multi_tls_get().ex == ex)
		return;
	ex->shut = true;
	/* The task core forbids closing while a task runs: join first. */
	weft__multi_stop_workers(ex);
	ex->tasks->set_close(ex->set);
	multi_drain(ex);
}


static void
multi_fini(struct weft_executor *self)
{
	struct multi *ex = (struct multi *)self;

	multi_shutdown(self);
	/* A foreign thread's spawn may have queued after the drain. */
	multi_drain(ex);
	/* Refused only if a task outlives us: then so must what it reaches. */
	if (ex->tasks->set_free(ex->set) < 0) {
		WEFT_ASSERT(!"set_free refused after set_close");
		return;
	}
	multi_free_workers(ex);
	pthread_cond_destroy(&ex->root.cond);
	pthread_mutex_destroy(&ex->root_lock);
	pthread_mutex_destroy(&ex->lock);
}


static int
multi_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct multi *ex = (struct multi *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = ex->nworkers,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->polls),
	    .foreign_wakes = atomic_load(&ex->foreign_wakes),
	};
	struct multi_worker *w;

	for (uint32_t i = 0; i < ex->nworkers; i++) {
		w = &ex->workers[i];
		s.spawned +=
		    atomic_load_explicit(&w->spawned, memory_order_relaxed);
		s.polls +=
		    atomic_load_explicit(&w->polls, memory_order_relaxed);
		s.completed +=
		    atomic_load_explicit(&w->completed, memory_order_relaxed);
		s.parks +=
		    atomic_load_explicit(&w->parks, memory_order_relaxed);
		s.queue_depth +=
		    atomic_load_explicit(&w->held, memory_order_relaxed);
	}
	pthread_mutex_lock(&ex->lock);
	s.queue_depth += ex->depth;
	pthread_mutex_unlock(&ex->lock);
	return weft_executor_stats_fill(stats, &s);
}


/*
 * One worker's statistics (E12).  The run queue is shared, so a worker's
 * queue_depth is only what it holds for itself; nobody steals.  Polls made
 * by the thread inside block_on are in stats, not here.
 */
static int
multi_worker_stats(struct weft_executor *self, uint32_t worker,
                   struct weft_worker_stats *stats)
{
	struct multi *ex = (struct multi *)self;
	struct weft_worker_stats s = {.size = sizeof(s), .worker = worker};
	struct multi_worker *w;

	if (worker >= ex->nworkers)
		return -ENOENT;
	w = &ex->workers[worker];
	s.polls = atomic_load_explicit(&w->polls, memory_order_relaxed);
	s.parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
	s.queue_depth = atomic_load_explicit(&w->held, memory_order_relaxed);
	return weft_worker_stats_fill(stats, &s);
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface multi_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_MULTI_THREAD,
    .instance_size = sizeof(struct multi),
    .init = multi_init,
    .spawn = multi_spawn,
    .block_on = multi_block_on,
    .shutdown = multi_shutdown,
    .fini = multi_fini,
    .stats = multi_stats,
    .worker_stats = multi_worker_stats,
};

static const struct weft_plugin_descriptor multi_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "multi",
    .description = "multi-thread executor: N workers around one shared "
                   "run queue",
    .iface = &multi_iface,
};


WEFT_PLUGIN_DEFINE_ENTRY(multi_descriptor);
