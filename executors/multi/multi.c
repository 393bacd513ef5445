/* SPDX-License-Identifier: MIT */
/*
 * The multi-thread executor: N worker threads around one shared FIFO run
 * queue.  Tasks, wakers and join handles come from the host's task core;
 * this file is the queue, the threads and the parking.
 *
 * Parking.  One mutex guards the queue and the idle state.  A thread with
 * nothing to run either drives the driver (parks in it with an infinite
 * timeout: the driver shortens the wait to the next timer itself) if no
 * other thread does, or sleeps on its own condition variable.  Each sleeper
 * has its own condition variable so that a wake-up goes to exactly one
 * thread.
 *
 * The invariant: whenever the queue is non-empty, either a worker is busy
 * (it pops again before it goes idle, under the same mutex), or a sleeping
 * worker has been notified, or the worker in the driver has been unparked.
 * schedule() establishes it under the mutex: it pushes, then notifies one
 * sleeper, or unparks the driving worker when it is the only idle one.
 * An idle worker re-checks the queue under the mutex before it sleeps, so
 * no push can slip between its check and its sleep.
 *
 * block_on's thread polls the root future and sleeps on its own condition
 * variable in between.  It neither runs tasks (N workers means N threads
 * running tasks) nor drives: an idle worker drives, and block_on in the
 * driver would put a thread switch between every readiness event and the
 * worker that runs the task it wakes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <weft/abi.h>

/*
 * How many tasks a worker runs between two looks at the driver.  The same
 * number as tokio's event interval, so that tasks that are always ready
 * cannot delay timers and I/O without bound.
 */
#define MULTI_EVENT_INTERVAL 61
#define MULTI_MAX_WORKERS    1024

struct multi;

/* A thread waiting for work (a worker) or for its root future (block_on). */
struct multi_sleeper {
	pthread_cond_t cond;
	bool notified;
	struct multi_sleeper *next;
};

struct multi_worker {
	struct multi *ex;
	pthread_t thread;
	struct multi_sleeper sleeper;
	bool started;
};

struct multi {
	struct weft_executor head; /* first: the host sees this */
	const struct weft_task_core *tasks;
	struct weft_driver *driver;
	struct weft_task_set *set;
	uint32_t nworkers;
	struct multi_worker *workers;

	/* Guarded by lock, from here to `shut`. */
	pthread_mutex_t lock;
	struct weft_task *first, *last;
	uint64_t depth;
	struct multi_sleeper *sleepers; /* idle workers on their condvar */
	bool driving;      /* a thread is inside (or entering) the driver */
	bool drive_idle;   /* ... an idle worker, parked without timeout */
	bool drive_kicked; /* ... and has been unparked already */
	bool drive_kept;   /* ... and keeps the first task it wakes */
	pthread_t drive_thread;
	bool stop;
	bool shut;

	/* block_on's thread sleeps on root.cond, under root_lock. */
	pthread_mutex_t root_lock;
	struct multi_sleeper root;
	bool root_sleeping;
	atomic_bool root_woken;
	atomic_bool running; /* block_on in progress */

	/* Counters: relaxed atomics, since stats may be read anywhere. */
	atomic_uint_fast64_t spawned, polls, parks, foreign_wakes;
};

/*
 * The executor whose worker or block_on thread this is.  Stored with the
 * executor pointer and compared with it, so that two runtimes in one
 * process never take each other's threads for their own.
 */
static _Thread_local struct multi *impl_current;


/* ---- the run queue -------------------------------------------------- */

static struct weft_task **
impl_next(struct multi *ex, struct weft_task *t)
{
	return (struct weft_task **)ex->tasks->link(t);
}


/* With lock held. */
static struct weft_task *
impl_pop_locked(struct multi *ex)
{
	struct weft_task *t = ex->first;

	if (t) {
		ex->first = *impl_next(ex, t);
		if (!ex->first)
			ex->last = NULL;
		ex->depth--;
	}
	return t;
}


/* With lock held: wakes one idle worker, if any sleeps.  */
static bool
impl_notify_sleeper_locked(struct multi *ex)
{
	struct multi_sleeper *s = ex->sleepers;

	if (!s)
		return false;
	ex->sleepers = s->next;
	s->notified = true;
	/*
	 * Signalled under the mutex: once it is released the sleeper may
	 * return, and the condition variable is the sleeper's.
	 */
	pthread_cond_signal(&s->cond);
	return true;
}


/* The task core's schedule callback.  Any thread. */
static void
impl_schedule(void *data, struct weft_task *t)
{
	struct multi *ex = data;
	bool unpark = false;

	*impl_next(ex, t) = NULL;
	pthread_mutex_lock(&ex->lock);
	if (ex->last)
		*impl_next(ex, ex->last) = t;
	else
		ex->first = t;
	ex->last = t;
	ex->depth++;
	/*
	 * One new task, one idle worker.  An idle worker that wakes tasks
	 * from inside its own park keeps the first for itself (it runs it
	 * as soon as the park returns, on a warm thread); the others wake
	 * sleepers.  The driving worker is unparked only when nobody else
	 * sleeps, and only once per park.  A worker that drives only for a
	 * fairness check (drive_idle false) returns soon anyway.
	 */
	if (ex->drive_idle && !ex->drive_kept &&
	    pthread_equal(ex->drive_thread, pthread_self())) {
		ex->drive_kept = true;
	} else if (!impl_notify_sleeper_locked(ex) && ex->drive_idle &&
	           !ex->drive_kicked &&
	           !pthread_equal(ex->drive_thread, pthread_self())) {
		ex->drive_kicked = true;
		unpark = true;
	}
	pthread_mutex_unlock(&ex->lock);

	if (unpark)
		weft_driver_unpark(ex->driver);
	if (impl_current != ex)
		atomic_fetch_add_explicit(&ex->foreign_wakes, 1,
		                          memory_order_relaxed);
}


/* ---- the driver ----------------------------------------------------- */

/*
 * With lock held, which is released during the park: drives the driver
 * once.  `idle` says the caller has nothing else to do (an infinite wait
 * that schedule() may cut short) rather than checking for events.
 *
 * After a mere check, a worker that went to sleep meanwhile (it saw
 * `driving` and did not drive) is woken to drive in the checker's place,
 * so that timers do not wait for the checker to become idle.  An idle
 * worker that comes back with work does not hand over: it will be idle
 * again soon, and a hand-over on every wake-up would cost a thread switch
 * per message in ping-pong traffic; busy workers check the driver every
 * MULTI_EVENT_INTERVAL tasks anyway.
 */
static void
impl_drive_locked(struct multi *ex, bool idle)
{
	ex->driving = true;
	ex->drive_idle = idle;
	ex->drive_kicked = false;
	ex->drive_kept = false;
	ex->drive_thread = pthread_self();
	pthread_mutex_unlock(&ex->lock);

	if (idle)
		atomic_fetch_add_explicit(&ex->parks, 1, memory_order_relaxed);
	weft_driver_park(ex->driver, idle ? WEFT_TIMEOUT_INFINITE : 0);

	pthread_mutex_lock(&ex->lock);
	ex->driving = false;
	ex->drive_idle = false;
	if (!idle)
		impl_notify_sleeper_locked(ex);
}


/* ---- workers -------------------------------------------------------- */

/*
 * With lock held: waits until there may be work.  Returns with the lock
 * held, after which the caller looks at the queue again.
 */
static void
impl_idle_locked(struct multi *ex, struct multi_worker *w)
{
	struct multi_sleeper *s = &w->sleeper, **p;

	if (!ex->driving) {
		impl_drive_locked(ex, true);
		return;
	}
	atomic_fetch_add_explicit(&ex->parks, 1, memory_order_relaxed);
	s->notified = false;
	s->next = ex->sleepers;
	ex->sleepers = s;
	while (!s->notified && !ex->stop)
		pthread_cond_wait(&s->cond, &ex->lock);
	if (!s->notified) {
		for (p = &ex->sleepers; *p; p = &(*p)->next) {
			if (*p == s) {
				*p = s->next;
				break;
			}
		}
	}
}


static void
impl_run_one(struct multi *ex, struct weft_task *t)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){0, 0}, &ex->head,
	                  ex->driver);
	atomic_fetch_add_explicit(&ex->polls, 1, memory_order_relaxed);
	ex->tasks->run(t, &cx);
}


static void *
impl_worker_main(void *arg)
{
	struct multi_worker *w = arg;
	struct multi *ex = w->ex;
	struct weft_task *t;
	unsigned tick = 0;

	impl_current = ex;
	pthread_mutex_lock(&ex->lock);
	while (!ex->stop) {
		t = impl_pop_locked(ex);
		if (!t) {
			impl_idle_locked(ex, w);
			continue;
		}
		pthread_mutex_unlock(&ex->lock);
		impl_run_one(ex, t);
		pthread_mutex_lock(&ex->lock);
		/*
		 * Fairness: a busy worker looks at the driver without
		 * waiting every interval, unless another thread drives.
		 */
		if (++tick % MULTI_EVENT_INTERVAL == 0 && !ex->driving &&
		    !ex->stop)
			impl_drive_locked(ex, false);
	}
	pthread_mutex_unlock(&ex->lock);
	impl_current = NULL;
	return NULL;
}


/* Stops and joins the workers that were started. */
static void
impl_stop_workers(struct multi *ex)
{
	struct multi_sleeper *s;
	bool unpark;

	pthread_mutex_lock(&ex->lock);
	ex->stop = true;
	while ((s = ex->sleepers)) {
		ex->sleepers = s->next;
		pthread_cond_signal(&s->cond);
	}
	unpark = ex->driving;
	pthread_mutex_unlock(&ex->lock);
	if (unpark)
		weft_driver_unpark(ex->driver);

	for (uint32_t i = 0; i < ex->nworkers; i++) {
		if (ex->workers[i].started)
			pthread_join(ex->workers[i].thread, NULL);
		ex->workers[i].started = false;
	}
}


/* ---- init ----------------------------------------------------------- */

static uint32_t
impl_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > MULTI_MAX_WORKERS ? MULTI_MAX_WORKERS : (uint32_t)n;
}


static void
impl_free_workers(struct multi *ex)
{
	for (uint32_t i = 0; i < ex->nworkers; i++)
		pthread_cond_destroy(&ex->workers[i].sleeper.cond);
	free(ex->workers);
	ex->workers = NULL;
}


static int
impl_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct multi *ex = (struct multi *)self;
	uint32_t i;
	int r;

	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 1)
		return -EINVAL;
	ex->tasks = params->tasks;
	ex->driver = params->driver;
	ex->nworkers =
	    params->workers ? params->workers : impl_default_workers();
	if (ex->nworkers > MULTI_MAX_WORKERS)
		ex->nworkers = MULTI_MAX_WORKERS;
	ex->workers = calloc(ex->nworkers, sizeof(*ex->workers));
	if (!ex->workers)
		return -ENOMEM;
	r = ex->tasks->set_new(&ex->set, impl_schedule, ex);
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
		                    impl_worker_main, &ex->workers[i]);
		if (r < 0)
			goto fail_threads;
		ex->workers[i].started = true;
	}
	return 0;

fail_threads:
	impl_stop_workers(ex);
	pthread_cond_destroy(&ex->root.cond);
	pthread_mutex_destroy(&ex->root_lock);
	pthread_mutex_destroy(&ex->lock);
	ex->tasks->set_close(ex->set);
	ex->tasks->set_free(ex->set);
fail_set:
	impl_free_workers(ex);
	return r;
}


/* ---- spawn ---------------------------------------------------------- */

static int
impl_spawn(struct weft_executor *self, struct weft_future *future,
           struct weft_join **join)
{
	struct multi *ex = (struct multi *)self;
	struct weft_task *t;
	int r;

	r = ex->tasks->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	atomic_fetch_add_explicit(&ex->spawned, 1, memory_order_relaxed);
	impl_schedule(ex, t);
	return 0;
}


/* ---- block_on and its root waker ------------------------------------ */

/*
 * block_on's future is not a task: its waker raises a flag and wakes the
 * block_on thread if it sleeps.  It is valid as long as the executor is;
 * clones are free.
 */
static struct weft_waker impl_root_clone(const void *data);

static void
impl_root_wake(const void *data)
{
	struct multi *ex = (struct multi *)data;

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


static void
impl_root_drop(const void *data)
{
	(void)data;
}

static const struct weft_waker_vtable impl_root_waker = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = impl_root_clone,
    .wake = impl_root_wake,
    .wake_by_ref = impl_root_wake,
    .drop = impl_root_drop,
};


static struct weft_waker
impl_root_clone(const void *data)
{
	struct weft_waker w = {&impl_root_waker, data};
	return w;
}


/* Waits on block_on's thread until the root future is woken. */
static void
impl_root_idle(struct multi *ex)
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
impl_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct multi *ex = (struct multi *)self;
	struct multi *outer = impl_current;
	struct weft_context cx;

	if (ex->shut)
		return WEFT_ECLOSED;
	if (outer == ex || atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	impl_current = ex;
	atomic_store(&ex->root_woken, true);
	for (;;) {
		if (atomic_exchange(&ex->root_woken, false)) {
			weft_context_init(&cx, impl_root_clone(ex), &ex->head,
			                  ex->driver);
			atomic_fetch_add_explicit(&ex->polls, 1,
			                          memory_order_relaxed);
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
		}
		impl_root_idle(ex);
	}
	impl_current = outer;
	atomic_store(&ex->running, false);
	return 0;
}


/* ---- shutdown and teardown ------------------------------------------ */

static void
impl_drain(struct multi *ex)
{
	struct weft_task *t;

	for (;;) {
		pthread_mutex_lock(&ex->lock);
		t = impl_pop_locked(ex);
		pthread_mutex_unlock(&ex->lock);
		if (!t)
			break;
		ex->tasks->drop_runnable(t);
	}
}


static void
impl_shutdown(struct weft_executor *self)
{
	struct multi *ex = (struct multi *)self;

	if (ex->shut || atomic_load(&ex->running) || impl_current == ex)
		return;
	ex->shut = true;
	/* The task core forbids closing while a task runs: join first. */
	impl_stop_workers(ex);
	ex->tasks->set_close(ex->set);
	impl_drain(ex);
}


static void
impl_fini(struct weft_executor *self)
{
	struct multi *ex = (struct multi *)self;

	impl_shutdown(self);
	/* A foreign thread's spawn may have queued after the drain. */
	impl_drain(ex);
	ex->tasks->set_free(ex->set);
	impl_free_workers(ex);
	pthread_cond_destroy(&ex->root.cond);
	pthread_mutex_destroy(&ex->root_lock);
	pthread_mutex_destroy(&ex->lock);
}


static int
impl_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct multi *ex = (struct multi *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = ex->nworkers,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->polls),
	    .parks = atomic_load(&ex->parks),
	    .foreign_wakes = atomic_load(&ex->foreign_wakes),
	};

	pthread_mutex_lock(&ex->lock);
	s.queue_depth = ex->depth;
	pthread_mutex_unlock(&ex->lock);
	return weft_executor_stats_fill(stats, &s);
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface impl_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_MULTI_THREAD,
    .instance_size = sizeof(struct multi),
    .init = impl_init,
    .spawn = impl_spawn,
    .block_on = impl_block_on,
    .shutdown = impl_shutdown,
    .fini = impl_fini,
    .stats = impl_stats,
};

static const struct weft_plugin_descriptor impl_descriptor = {
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
    .iface = &impl_iface,
};


WEFT_PLUGIN_DEFINE_ENTRY(impl_descriptor);
