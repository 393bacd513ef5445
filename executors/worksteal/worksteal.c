/* SPDX-License-Identifier: MIT */
/*
 * The work-stealing executor, after the design of tokio's multi-thread
 * scheduler.  Each worker owns a ring of runnable tasks (queue.c) that the
 * others steal half of when they run dry; a LIFO slot holds the task the
 * running one just woke, so that a message and its receiver stay on one
 * warm thread; spawns and wakes from outside the workers go to a global
 * injection queue, which every worker also checks at a fixed interval so
 * that nothing there starves.  Idle workers park (idle.c), one of them in
 * the driver.  Tasks, wakers and join handles come from the host's task
 * core.
 *
 * block_on's thread polls the root future and sleeps in between; it
 * neither runs tasks (N workers, N threads running tasks) nor drives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worksteal.h"

/*
 * Tasks a worker runs between two looks at the injection queue and the
 * driver: tokio's number, so that tasks that are always ready delay
 * neither timers, nor I/O, nor spawns from outside without bound.
 */
#define WS_EVENT_INTERVAL 61
/* LIFO polls in a row before the slot's task goes to the back instead. */
#define WS_LIFO_MAX 3

/*
 * initial-exec: read at a fixed offset from the thread pointer, where the
 * default model for a dlopened module calls __tls_get_addr on every read
 * (17 to 38 instructions per operation, bench/boundary).  16 bytes of the
 * static TLS that glibc keeps spare for modules loaded later (512 by
 * default).
 */
static _Thread_local struct ws_tls ws_tls
    __attribute__((tls_model("initial-exec")));


/* The worker of this executor running on this thread, or NULL. */
static struct ws_worker *
ws_worker(struct ws *ex)
{
	return ws_tls.ex == ex ? ws_tls.w : NULL;
}


/* ---- scheduling ----------------------------------------------------- */

/*
 * Owner only: empties the LIFO slot.  Only the owner writes it (stats
 * merely read it), so a load and a store do, without a locked exchange.
 */
static struct weft_task *
ws_lifo_take(struct ws_worker *w)
{
	struct weft_task *t =
	    atomic_load_explicit(&w->lifo, memory_order_relaxed);

	if (t)
		atomic_store_explicit(&w->lifo, NULL, memory_order_relaxed);
	return t;
}


/* Owner only: pushes t on w's ring, spilling into the injection queue. */
static void
ws_push_local(struct ws_worker *w, struct weft_task *t)
{
	uint32_t n = weft__ws_local_push(&w->local, t, w->overflow);

	if (n)
		weft__ws_inject_push(w->ex, w->overflow, n);
}


/*
 * Takes a share of the injection queue: one task to run now, and up to
 * half a ring more onto w's ring, where idle workers can steal them.
 */
static struct weft_task *
ws_inject_take(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	struct weft_task *batch[WS_LOCAL_HALF], *t;
	uint64_t want;
	uint32_t n = 0;

	if (weft__ws_inject_empty(ex))
		return NULL;
	pthread_mutex_lock(&ex->inject_lock);
	t = weft__ws_inject_pop_locked(ex);
	want = atomic_load_explicit(&ex->inject_len, memory_order_relaxed) /
	       ex->nworkers;
	while (t && n < want && n < WS_LOCAL_HALF &&
	       (batch[n] = weft__ws_inject_pop_locked(ex)))
		n++;
	pthread_mutex_unlock(&ex->inject_lock);
	/* The ring is empty here (w found nothing in it): all of it fits. */
	for (uint32_t i = 0; i < n; i++)
		ws_push_local(w, batch[i]);
	if (n)
		weft__ws_notify_parked(ex);
	return t;
}


/* From anywhere outside the workers: the injection queue. */
static void
ws_schedule_remote(struct ws *ex, struct weft_task *t)
{
	weft__ws_inject_push(ex, &t, 1);
	weft__ws_notify_parked(ex);
	if (ws_tls.ex != ex)
		atomic_fetch_add_explicit(&ex->foreign_wakes, 1,
		                          memory_order_relaxed);
}


/*
 * Owner only: the driver's wakes held back for the injection queue go
 * there, under one lock.  notify: as ws_schedule would for each of them
 * (not from the worker's own park: it wakes up searching, see below).
 */
static void
ws_flush_deferred(struct ws_worker *w, bool notify)
{
	if (w->ndefer == 0)
		return;
	weft__ws_inject_push(w->ex, w->defer, w->ndefer);
	w->ndefer = 0;
	if (notify)
		weft__ws_notify_parked(w->ex);
}


/* The task core's schedule callback: a wake.  Any thread. */
static void
ws_schedule(void *data, struct weft_task *t)
{
	struct ws *ex = data;
	struct ws_worker *w = ws_worker(ex);
	struct weft_task *prev;

	if (!w) {
		ws_schedule_remote(ex, t);
		return;
	}
	/*
	 * Woken by the driver (no task running) while older tasks wait in the
	 * injection queue: behind them.  A busy worker's ring is refilled at
	 * every look at the driver and spills into the injection queue, which
	 * it serves one task per interval while the ring holds work; so what
	 * spilled there would wait many intervals while the tasks in the ring
	 * go round again (echo at 1,000 connections: some connections made
	 * 20 round trips while another made 100).  Behind them, the ring
	 * drains, and the worker then takes the injection queue in order.
	 */
	if (!w->current && !weft__ws_inject_empty(ex)) {
		w->defer[w->ndefer++] = t;
		if (w->ndefer == WS_DEFER)
			ws_flush_deferred(w, !w->in_driver);
		return;
	}
	/*
	 * Woken by the task this worker runs (not by itself: a task that
	 * wakes itself yields, and goes to the back): the LIFO slot.  The
	 * task it displaces goes to the ring.  A wake into the slot needs
	 * no notification: this worker runs it next.
	 */
	if (w->current && w->current != t) {
		prev = atomic_load_explicit(&w->lifo, memory_order_relaxed);
		atomic_store_explicit(&w->lifo, t, memory_order_relaxed);
		if (!prev)
			return;
		t = prev;
	}
	ws_push_local(w, t);
	/*
	 * Wakes fired by this worker's own park in the driver stay quiet:
	 * it wakes up searching, and rule 3 (idle.c) spreads the work.
	 */
	if (!w->in_driver)
		weft__ws_notify_parked(ex);
}


static int
ws_spawn(struct weft_executor *self, struct weft_future *future,
           struct weft_join **join)
{
	struct ws *ex = (struct ws *)self;
	struct ws_worker *w = ws_worker(ex);
	struct weft_task *t;
	int r;

	r = ex->tasks->spawn(ex->set, future, &t, join);
	if (r < 0)
		return r;
	if (!w) {
		atomic_fetch_add_explicit(&ex->spawned, 1,
		                          memory_order_relaxed);
		ws_schedule_remote(ex, t);
		return 0;
	}
	ws_count(&w->spawned, 1);
	ws_push_local(w, t);
	/*
	 * Alone in the ring, the new task needs nobody woken: this worker
	 * is unparked and looks at its ring before it parks (idle.c's
	 * invariant holds without a notification), and a task that spawns
	 * the next one and ends then hands it over on a warm thread
	 * instead of waking a worker to steal it.  A second task there is
	 * work to share.
	 */
	if (weft__ws_local_len(&w->local) > 1)
		weft__ws_notify_parked(ex);
	return 0;
}


bool
weft__ws_work_available(struct ws *ex)
{
	if (!weft__ws_inject_empty(ex))
		return true;
	for (uint32_t i = 0; i < ex->nworkers; i++)
		if (weft__ws_local_len(&ex->workers[i].local))
			return true;
	return false;
}


/* ---- the worker loop ------------------------------------------------ */

/* Fairness: a busy worker looks at the driver, if nobody else drives. */
static void
ws_check_driver(struct ws *ex)
{
	if (atomic_exchange_explicit(&ex->driver_busy, true,
	                             memory_order_acquire))
		return;
	weft_driver_park(ex->driver, 0);
	atomic_store_explicit(&ex->driver_busy, false, memory_order_release);
}


/* After a look at the driver from a worker that runs tasks. */
static void
ws_check_driver_from(struct ws_worker *w)
{
	ws_check_driver(w->ex);
	ws_flush_deferred(w, true);
}


static struct weft_task *
ws_next_task(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	struct weft_task *t;

	/*
	 * Wakes held back by a park in the driver (idle.c) since the last
	 * call: this worker is unparked and searching, so no notification.
	 */
	ws_flush_deferred(w, false);
	t = ws_lifo_take(w);
	if (t) {
		if (w->lifo_streak < WS_LIFO_MAX) {
			w->lifo_streak++;
			return t;
		}
		/*
		 * Two tasks waking each other must not hog the worker: to
		 * the back.  Alone in the ring it comes straight back, and
		 * this worker is unparked and looks at its ring before it
		 * parks, so a notification would only wake a worker to find
		 * nothing (idle.c's invariant holds without it).
		 */
		ws_push_local(w, t);
		if (weft__ws_local_len(&w->local) > 1)
			weft__ws_notify_parked(ex);
	}
	w->lifo_streak = 0;
	if (w->tick - w->last_check >= WS_EVENT_INTERVAL) {
		w->last_check = w->tick;
		ws_check_driver_from(w);
		if ((t = weft__ws_inject_pop(ex)))
			return t;
	}
	if ((t = weft__ws_local_pop(&w->local)))
		return t;
	return ws_inject_take(w);
}


static uint32_t
ws_random(struct ws_worker *w)
{
	uint32_t x = w->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	w->rng = x;
	return x;
}


/* Steals from the other workers, in random order, then the injection. */
static struct weft_task *
ws_search(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	uint32_t n = ex->nworkers, start, stolen;
	struct ws_worker *v;
	struct weft_task *t;

	if (!weft__ws_search_begin(w))
		return NULL;
	start = ws_random(w) % n;
	for (uint32_t i = 0; i < n; i++) {
		v = &ex->workers[(start + i) % n];
		if (v == w)
			continue;
		t = weft__ws_local_steal(&v->local, &w->local, &stolen);
		if (t) {
			ws_count(&w->steals, stolen);
			return t;
		}
	}
	return ws_inject_take(w);
}


static void
ws_run(struct ws_worker *w, struct weft_task *t)
{
	struct ws *ex = w->ex;
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){0, 0}, &ex->head,
	                  ex->driver);
	w->current = t;
	w->tick++;
	ws_count(&w->polls, 1);
	/* A core older than 3 cannot say: `completed` stays 0 (E11). */
	if (ex->tasks->version >= 3 && ex->tasks->run_done) {
		if (ex->tasks->run_done(t, &cx))
			ws_count(&w->completed, 1);
	} else {
		ex->tasks->run(t, &cx);
	}
	w->current = NULL;
}


static void *
ws_worker_main(void *arg)
{
	struct ws_worker *w = arg;
	struct ws *ex = w->ex;
	struct weft_task *t;

	ws_tls = (struct ws_tls){ex, w};
	while (!atomic_load_explicit(&ex->stop, memory_order_acquire)) {
		t = ws_next_task(w);
		if (!t)
			t = ws_search(w);
		if (!t) {
			weft__ws_park_worker(w);
			continue;
		}
		/* Before running: others may look for more work meanwhile. */
		if (w->searching)
			weft__ws_search_end(w);
		ws_run(w, t);
	}
	ws_tls = (struct ws_tls){NULL, NULL};
	return NULL;
}


/* ---- init ----------------------------------------------------------- */

static uint32_t
ws_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WS_MAX_WORKERS ? WS_MAX_WORKERS : (uint32_t)n;
}


static void
ws_stop_workers(struct ws *ex)
{
	atomic_store_explicit(&ex->stop, true, memory_order_release);
	weft__ws_unpark_all(ex);
	for (uint32_t i = 0; i < ex->nworkers; i++) {
		if (ex->workers[i].started)
			pthread_join(ex->workers[i].thread, NULL);
		ex->workers[i].started = false;
	}
}


static void
ws_free(struct ws *ex)
{
	for (uint32_t i = 0; i < ex->nworkers; i++)
		weft__ws_parker_fini(&ex->workers[i].parker);
	weft__ws_parker_fini(&ex->root);
	pthread_mutex_destroy(&ex->inject_lock);
	pthread_mutex_destroy(&ex->idle_lock);
	free(ex->workers);
	free(ex->sleepers);
}


static int
ws_alloc(struct ws *ex)
{
	struct ws_worker *w;
	void *mem;

	if (posix_memalign(&mem, alignof(struct ws_worker),
	                   ex->nworkers * sizeof(struct ws_worker)))
		return -ENOMEM;
	memset(mem, 0, ex->nworkers * sizeof(struct ws_worker));
	ex->workers = mem;
	ex->sleepers = calloc(ex->nworkers, sizeof(*ex->sleepers));
	if (!ex->sleepers) {
		free(mem);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ex->nworkers; i++) {
		w = &ex->workers[i];
		weft__ws_local_init(&w->local);
		w->ex = ex;
		w->index = i;
		w->rng = 0x9e3779b9u * (i + 1) | 1u;
		weft__ws_parker_init(&w->parker);
	}
	weft__ws_parker_init(&ex->root);
	pthread_mutex_init(&ex->inject_lock, NULL);
	pthread_mutex_init(&ex->idle_lock, NULL);
	/* Workers start unparked and not searching. */
	atomic_init(&ex->idle_state, ex->nworkers * WS_UNPARK_ONE);
	return 0;
}


static int
ws_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	struct ws *ex = (struct ws *)self;
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
	    params->workers ? params->workers : ws_default_workers();
	if (ex->nworkers > WS_MAX_WORKERS)
		ex->nworkers = WS_MAX_WORKERS;
	r = ex->tasks->set_new(&ex->set, ws_schedule, ex);
	if (r < 0)
		return r;
	r = ws_alloc(ex);
	if (r < 0)
		goto fail_alloc;
	for (uint32_t i = 0; i < ex->nworkers; i++) {
		r = -pthread_create(&ex->workers[i].thread, NULL,
		                    ws_worker_main, &ex->workers[i]);
		if (r < 0)
			goto fail_threads;
		ex->workers[i].started = true;
	}
	return 0;

fail_threads:
	ws_stop_workers(ex);
	ws_free(ex);
fail_alloc:
	ex->tasks->set_close(ex->set);
	ex->tasks->set_free(ex->set);
	return r;
}


/* ---- block_on and its root waker ------------------------------------ */

/*
 * block_on's future is not a task: its waker, which the host owns (W6),
 * calls this to raise a flag and unpark block_on's thread from its
 * condition variable.  Whoever raises the flag unparks; a flag already
 * raised has not been consumed yet, and the thread looks at it before it
 * parks again.  The host calls it only while the executor is open.
 */
static void
ws_root_wake(void *sched)
{
	struct ws *ex = sched;

	if (!atomic_exchange(&ex->root_woken, true))
		weft__ws_parker_unpark(ex, &ex->root);
}


static int
ws_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct ws *ex = (struct ws *)self;
	struct ws_tls outer = ws_tls;
	struct weft_waker root;
	struct weft_context cx;

	if (ex->shut)
		return WEFT_ECLOSED;
	root = ex->tasks->root_waker(ex->set, ws_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	if (outer.ex == ex || atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	ws_tls = (struct ws_tls){ex, NULL};
	atomic_store(&ex->root_woken, true);
	for (;;) {
		if (atomic_exchange(&ex->root_woken, false)) {
			weft_context_init(&cx, root, &ex->head,
			                  ex->driver);
			atomic_fetch_add_explicit(&ex->root_polls, 1,
			                          memory_order_relaxed);
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
			continue;
		}
		weft__ws_parker_park(ex, &ex->root, NULL);
	}
	ws_tls = outer;
	atomic_store(&ex->running, false);
	return 0;
}


/* ---- shutdown and teardown ------------------------------------------ */

/* Once the workers are joined: every queued task, to drop_runnable. */
static void
ws_drain(struct ws *ex)
{
	struct ws_worker *w;
	struct weft_task *t;

	for (uint32_t i = 0; i < ex->nworkers; i++) {
		w = &ex->workers[i];
		t = atomic_exchange_explicit(&w->lifo, NULL,
		                             memory_order_relaxed);
		if (t)
			ex->tasks->drop_runnable(t);
		while ((t = weft__ws_local_pop(&w->local)))
			ex->tasks->drop_runnable(t);
		while (w->ndefer > 0)
			ex->tasks->drop_runnable(w->defer[--w->ndefer]);
	}
	while ((t = weft__ws_inject_pop(ex)))
		ex->tasks->drop_runnable(t);
}


static void
ws_shutdown(struct weft_executor *self)
{
	struct ws *ex = (struct ws *)self;

	if (ex->shut || atomic_load(&ex->running) || ws_tls.ex == ex)
		return;
	ex->shut = true;
	/* The task core forbids closing while a task runs: join first. */
	ws_stop_workers(ex);
	ex->tasks->set_close(ex->set);
	ws_drain(ex);
}


static void
ws_fini(struct weft_executor *self)
{
	struct ws *ex = (struct ws *)self;

	ws_shutdown(self);
	/* A foreign thread's spawn may have queued after the drain. */
	ws_drain(ex);
	/* Refused only if a task outlives us: then so must what it reaches. */
	if (ex->tasks->set_free(ex->set) < 0) {
		WEFT_ASSERT(!"set_free refused after set_close");
		return;
	}
	ws_free(ex);
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface ws_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_MULTI_THREAD,
    .instance_size = sizeof(struct ws),
    .init = ws_init,
    .spawn = ws_spawn,
    .block_on = ws_block_on,
    .shutdown = ws_shutdown,
    .fini = ws_fini,
    .stats = weft__ws_stats,
    .worker_stats = weft__ws_worker_stats,
};

static const struct weft_plugin_descriptor ws_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "worksteal",
    .description = "work-stealing executor: a ring per worker, steal-half, "
                   "a LIFO slot and an injection queue",
    .iface = &ws_iface,
};


WEFT_PLUGIN_DEFINE_ENTRY(ws_descriptor);
