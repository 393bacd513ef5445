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
 * core.  Init, block_on and teardown are in life.c.
 *
 * block_on's thread polls the root future and sleeps in between; it
 * neither runs tasks (N workers, N threads running tasks) nor drives.
 *
 * The path a task takes on every poll — the worker loop, ws_schedule, the
 * ring's push and pop (inline, queue.h) — is kept short: what happens once
 * per interval, on an empty ring or outside a task's poll is out of line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worksteal.h"


#define WS_COLD __attribute__((noinline, cold))

_Thread_local struct ws_tls weft__ws_tls
    __attribute__((tls_model("initial-exec"), visibility("hidden")));


/* The worker of this executor running on this thread, or NULL. */
static inline struct ws_worker *
ws_worker(struct ws *ex)
{
	return weft__ws_tls.ex == ex ? weft__ws_tls.w : NULL;
}


/* ---- scheduling ----------------------------------------------------- */

/* Owner only: the ring was full; what spills goes to the injection. */
static WS_COLD void
ws_push_full(struct ws_worker *w, struct weft_task *t)
{
	uint32_t n = weft__ws_local_push_full(&w->local, t, w->overflow);

	if (n)
		weft__ws_inject_push(w->ex, w->overflow, n);
}


/* Owner only: pushes t on w's ring, spilling into the injection queue. */
static inline void
ws_push_local(struct ws_worker *w, struct weft_task *t)
{
	if (__builtin_expect(!weft__ws_local_try_push(&w->local, t), 0))
		ws_push_full(w, t);
}


/*
 * After the owner pushed t on its ring: a parked worker is woken to share
 * the work only when there is more than t alone.  Alone in the ring, the
 * task needs nobody woken: this worker is unparked and looks at its ring
 * before it parks (idle.c's invariant holds without a notification), and
 * a task that spawns or wakes the next one and then ends hands it over on
 * a warm thread instead of waking a worker to steal it.
 */
static inline void
ws_notify_shared(struct ws_worker *w)
{
	if (__builtin_expect(ws_notify_wanted(w->ex), 0) &&
	    weft__ws_local_len(&w->local) > 1)
		weft__ws_notify_parked(w->ex);
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
	if (n && ws_notify_wanted(ex))
		weft__ws_notify_parked(ex);
	return t;
}


/* From anywhere outside the workers: the injection queue. */
static WS_COLD void
ws_schedule_remote(struct ws *ex, struct weft_task *t)
{
	weft__ws_inject_push(ex, &t, 1);
	/* Nobody may be awake to see it: the fenced notification. */
	weft__ws_notify_parked(ex);
	if (weft__ws_tls.ex != ex)
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
	if (notify && ws_notify_wanted(w->ex))
		weft__ws_notify_parked(w->ex);
}


/*
 * A wake on a worker's thread while it runs no task: from the driver, in
 * its park or in its look at the driver between tasks.
 */
static WS_COLD void
ws_schedule_idle(struct ws_worker *w, struct weft_task *t)
{
	/*
	 * Older tasks wait in the injection queue: behind them.  A busy
	 * worker's ring is refilled at every look at the driver and spills
	 * into the injection queue, which it serves one task per interval
	 * while the ring holds work; so what spilled there would wait many
	 * intervals while the tasks in the ring go round again (echo at
	 * 1,000 connections: some connections made 20 round trips while
	 * another made 100).  Behind them, the ring drains, and the worker
	 * then takes the injection queue in order.  Flushed after the park
	 * or the look (ws_idle, ws_next_interval).
	 */
	if (!weft__ws_inject_empty(w->ex)) {
		w->defer[w->ndefer++] = t;
		if (w->ndefer == WS_DEFER)
			ws_flush_deferred(w, !w->in_driver);
		return;
	}
	ws_push_local(w, t);
	/*
	 * Wakes fired by this worker's own park in the driver stay quiet:
	 * it wakes up searching, and rule 3 (idle.c) spreads the work.
	 */
	if (!w->in_driver && ws_notify_wanted(w->ex))
		weft__ws_notify_parked(w->ex);
}


/* ws_schedule's push when the ring is full: spill, then notify. */
static WS_COLD void
ws_push_full_notify(struct ws_worker *w, struct weft_task *t)
{
	ws_push_full(w, t);
	if (ws_notify_wanted(w->ex))
		weft__ws_notify_parked(w->ex);
}


/* The task core's schedule callback: a wake.  Any thread. */
void
weft__ws_schedule(void *data, struct weft_task *t)
{
	struct ws *ex = data;
	struct ws_worker *w = ws_worker(ex);
	struct weft_task *cur, *prev;

	if (__builtin_expect(!w, 0)) {
		ws_schedule_remote(ex, t);
		return;
	}
	cur = w->current;
	if (__builtin_expect(!cur, 0)) {
		ws_schedule_idle(w, t);
		return;
	}
	/*
	 * Woken by the task this worker runs (not by itself: a task that
	 * wakes itself yields, and goes to the back): the LIFO slot.  The
	 * task it displaces goes to the ring.  A wake into the slot needs
	 * no notification: this worker runs it next.
	 */
	if (cur != t) {
		prev = atomic_load_explicit(&w->lifo, memory_order_relaxed);
		atomic_store_explicit(&w->lifo, t, memory_order_relaxed);
		if (!prev)
			return;
		t = prev;
	}
	/*
	 * Every call below is the last thing done, so that this path keeps
	 * no registers across a call and needs no frame.
	 */
	if (__builtin_expect(!weft__ws_local_try_push(&w->local, t), 0)) {
		ws_push_full_notify(w, t);
		return;
	}
	if (__builtin_expect(ws_notify_wanted(ex), 0))
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
	ws_notify_shared(w);
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

/*
 * Fairness: a busy worker looks at the driver, if nobody else drives.
 * Loaded first: while a parked worker sits in the driver, the exchange
 * would only take the line from it.
 *
 * Each worker looks at every nworkers-th of its intervals, the workers
 * staggered by index, so that busy workers together look about once per
 * WS_EVENT_INTERVAL ticks, as one worker alone does, and not nworkers
 * times as often: a look is a system call (an epoll wait, 1.5 us here,
 * against 25 ns for a yield), and once per interval per worker it was a
 * fifth of yield_many's time on 2 workers.  When any worker is not busy,
 * the driver needs no look: a worker parks in it.
 */
static void
ws_check_driver(struct ws_worker *w)
{
	struct ws *ex = w->ex;

	if (w->driver_skip) {
		w->driver_skip--;
		return;
	}
	w->driver_skip = ex->nworkers - 1;
	if (atomic_load_explicit(&ex->driver_busy, memory_order_relaxed) ||
	    atomic_exchange_explicit(&ex->driver_busy, true,
	                             memory_order_acquire))
		return;
	weft_driver_park(ex->driver, 0);
	atomic_store_explicit(&ex->driver_busy, false, memory_order_release);
}


/*
 * Once per WS_EVENT_INTERVAL ticks: shutdown, the driver, then the
 * injection queue ahead of the ring.  NULL once stop is raised (the loop
 * then leaves) or when there is nothing at all.
 */
static WS_COLD struct weft_task *
ws_next_interval(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	struct weft_task *t;

	w->ticks_left = WS_EVENT_INTERVAL;
	if (atomic_load_explicit(&ex->stop, memory_order_acquire))
		return NULL;
	ws_check_driver(w);
	ws_flush_deferred(w, true);
	if ((t = weft__ws_inject_pop(ex)))
		return t;
	if ((t = weft__ws_local_pop(&w->local)))
		return t;
	return ws_inject_take(w);
}


/*
 * Two tasks waking each other must not hog the worker: the slot's task
 * goes to the back.  Alone in the ring it comes straight back.
 */
static void
ws_lifo_to_back(struct ws_worker *w, struct weft_task *t)
{
	ws_push_local(w, t);
	ws_notify_shared(w);
}


/* The next task from this worker's own queues, or NULL. */
static inline struct weft_task *
ws_next_task(struct ws_worker *w)
{
	struct weft_task *t;

	/* Only the owner writes the slot (stats read it): no exchange. */
	t = atomic_load_explicit(&w->lifo, memory_order_relaxed);
	if (t) {
		atomic_store_explicit(&w->lifo, NULL, memory_order_relaxed);
		if (w->lifo_streak < WS_LIFO_MAX) {
			w->lifo_streak++;
			return t;
		}
		ws_lifo_to_back(w, t);
	}
	w->lifo_streak = 0;
	if (__builtin_expect(--w->ticks_left == 0, 0))
		return ws_next_interval(w);
	t = weft__ws_local_pop(&w->local);
	if (__builtin_expect(t != NULL, 1))
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


/*
 * Nothing in this worker's queues: steal, else park.  NULL after a park
 * (the loop looks again) or once stop is raised.
 */
static WS_COLD struct weft_task *
ws_idle(struct ws_worker *w)
{
	struct weft_task *t;

	if (atomic_load_explicit(&w->ex->stop, memory_order_acquire))
		return NULL;
	t = ws_search(w);
	if (t)
		return t;
	weft__ws_park_worker(w);
	/*
	 * Wakes held back by a park in the driver: this worker is unparked
	 * and searching, so no notification.
	 */
	ws_flush_deferred(w, false);
	return NULL;
}


void *
weft__ws_worker_main(void *arg)
{
	struct ws_worker *w = arg;
	struct ws *ex = w->ex;
	ws_run_fn run_done = ex->run_done;
	/* This thread alone writes w->polls: kept here, only stored. */
	uint64_t polls = atomic_load_explicit(&w->polls, memory_order_relaxed);
	struct weft_context cx;
	struct weft_task *t;

	weft__ws_tls = (struct ws_tls){ex, w};
	/*
	 * One context for every poll: the task core sets its waker, and
	 * only the budget is spent by a poll.
	 */
	weft_context_init(&cx, (struct weft_waker){0, 0}, &ex->head,
	                  ex->driver);
	for (;;) {
		t = ws_next_task(w);
		if (__builtin_expect(!t, 0)) {
			t = ws_idle(w);
			if (!t) {
				if (atomic_load_explicit(&ex->stop,
				                         memory_order_acquire))
					break;
				continue;
			}
		}
		/* Before running: others may look for more work meanwhile. */
		if (__builtin_expect(w->searching, 0))
			weft__ws_search_end(w);
		w->current = t;
		atomic_store_explicit(&w->polls, ++polls, memory_order_relaxed);
		cx.budget = WEFT_BUDGET_DEFAULT;
		if (run_done(t, &cx))
			ws_count(&w->completed, 1);
		w->current = NULL;
	}
	weft__ws_tls = (struct ws_tls){NULL, NULL};
	return NULL;
}


/* ---- the plugin ----------------------------------------------------- */

static const struct weft_executor_iface ws_iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_MULTI_THREAD,
    .instance_size = sizeof(struct ws),
    .init = weft__ws_init,
    .spawn = ws_spawn,
    .block_on = weft__ws_block_on,
    .shutdown = weft__ws_shutdown,
    .fini = weft__ws_fini,
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
