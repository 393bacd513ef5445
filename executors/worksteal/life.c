/* SPDX-License-Identifier: MIT */
/*
 * The work-stealing executor's life: init (the workers' threads), block_on
 * and its root waker, shutdown and teardown.  The scheduling and the
 * worker loop are in worksteal.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worksteal.h"


/* ---- init ----------------------------------------------------------- */

/* A core older than 3 has run alone: it never says a poll completed. */
static int
ws_run_plain(struct weft_task *t, struct weft_context *cx)
{
	/* The executor is the context's: head is struct ws's first member. */
	((struct ws *)cx->executor)->tasks->run(t, cx);
	return 0;
}


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
		w->ticks_left = WS_EVENT_INTERVAL;
		w->driver_skip = i; /* staggered: worksteal.c */
		weft__ws_parker_init(&w->parker);
	}
	weft__ws_parker_init(&ex->root);
	pthread_mutex_init(&ex->inject_lock, NULL);
	pthread_mutex_init(&ex->idle_lock, NULL);
	/* Workers start unparked and not searching. */
	atomic_init(&ex->idle_state, ex->nworkers * WS_UNPARK_ONE);
	return 0;
}


int
weft__ws_init(struct weft_executor *self,
              const struct weft_executor_params *params)
{
	struct ws *ex = (struct ws *)self;
	int r;

	if (!params || params->version < 1 || !params->driver ||
	    !params->tasks || params->tasks->version < 1)
		return -EINVAL;
	/* The host's root waker (task core 2, ABI 1.1) makes W6 hold. */
	if (params->tasks->version < 2)
		return -ENOTSUP;
	ex->tasks = params->tasks;
	ex->driver = params->driver;
	/* A core older than 3 cannot say: `completed` stays 0 (E11). */
	ex->run_done = ex->tasks->version >= 3 && ex->tasks->run_done
	                   ? ex->tasks->run_done
	                   : ws_run_plain;
	ex->nworkers = params->workers ? params->workers : ws_default_workers();
	if (ex->nworkers > WS_MAX_WORKERS)
		ex->nworkers = WS_MAX_WORKERS;
	r = ex->tasks->set_new(&ex->set, weft__ws_schedule, ex);
	if (r < 0)
		return r;
	r = ws_alloc(ex);
	if (r < 0)
		goto fail_alloc;
	for (uint32_t i = 0; i < ex->nworkers; i++) {
		r = -pthread_create(&ex->workers[i].thread, NULL,
		                    weft__ws_worker_main, &ex->workers[i]);
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


int
weft__ws_block_on(struct weft_executor *self, struct weft_future *future)
{
	struct ws *ex = (struct ws *)self;
	struct ws_tls outer = weft__ws_tls;
	struct weft_waker root;
	struct weft_context cx;

	if (ex->shut)
		return WEFT_ECLOSED;
	root = ex->tasks->root_waker(ex->set, ws_root_wake);
	if (!root.vtable)
		return -ENOMEM;
	if (outer.ex == ex || atomic_exchange(&ex->running, true))
		return WEFT_EBUSY;
	weft__ws_tls = (struct ws_tls){ex, NULL};
	atomic_store(&ex->root_woken, true);
	for (;;) {
		if (atomic_exchange(&ex->root_woken, false)) {
			weft_context_init(&cx, root, &ex->head, ex->driver);
			atomic_fetch_add_explicit(&ex->root_polls, 1,
			                          memory_order_relaxed);
			if (weft_future_poll(future, &cx) == WEFT_READY)
				break;
			continue;
		}
		weft__ws_parker_park(ex, &ex->root, NULL);
	}
	weft__ws_tls = outer;
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


void
weft__ws_shutdown(struct weft_executor *self)
{
	struct ws *ex = (struct ws *)self;

	if (ex->shut || atomic_load(&ex->running) || weft__ws_tls.ex == ex)
		return;
	ex->shut = true;
	/* The task core forbids closing while a task runs: join first. */
	ws_stop_workers(ex);
	ex->tasks->set_close(ex->set);
	ws_drain(ex);
}


void
weft__ws_fini(struct weft_executor *self)
{
	struct ws *ex = (struct ws *)self;

	weft__ws_shutdown(self);
	/* A foreign thread's spawn may have queued after the drain. */
	ws_drain(ex);
	/* Refused only if a task outlives us: then so must what it reaches. */
	if (ex->tasks->set_free(ex->set) < 0) {
		WEFT_ASSERT(!"set_free refused after set_close");
		return;
	}
	ws_free(ex);
}
