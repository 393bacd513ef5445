/* SPDX-License-Identifier: MIT */
/*
 * The multi-thread executor's shared FIFO run queue, its scheduling, its
 * parking and the worker loop.
 *
 * Parking.  One mutex guards the queue and the idle state.  A thread with
 * nothing to run either drives the driver (parks in it with an infinite
 * timeout: the driver shortens the wait to the next timer itself) if no
 * other thread does, or sleeps on its own condition variable.  Each sleeper
 * has its own condition variable so that a wake-up goes to exactly one
 * thread.
 *
 * Batches.  A worker takes up to MULTI_BATCH tasks from the queue under one
 * lock (half its share: the depth divided by twice the workers) and runs
 * them from its
 * private batch.  Wakes and spawns made by the task it runs, while no
 * worker is idle, go to its private out list instead of the queue: nobody
 * could take them sooner anyway.  It hands that list over, at the tail of
 * the queue, when it comes back for its next batch (or when the list
 * reaches MULTI_BATCH), under the same lock.  So a busy worker takes the
 * lock about once per batch instead of twice per task.  When a worker goes
 * idle meanwhile, the others give their batch back (to the front) and their
 * out list (to the back) after the task they poll, and wake it.
 *
 * The LIFO slot.  The task that the polled task wakes or spawns (not
 * itself: a task that wakes itself yields, and goes to the back) runs next
 * on the same worker, as in tokio's schedulers: a message and its receiver
 * stay on one warm thread, and a chain of spawns on one worker.  At most
 * MULTI_LIFO_MAX in a row, so that two tasks waking each other cannot hog
 * the worker; after that the woken task goes to the back.

 * The invariant: whenever a task is runnable, either a worker is busy and
 * will look at it before it goes idle (it is in that worker's LIFO slot,
 * batch or out list, or in the queue, which a busy worker pops again
 * before it goes idle, under the same mutex), or a sleeping worker has been
 * notified, or the worker in the driver has been unparked.  The idle count
 * that schedule() reads without the lock is only a hint: a task kept in an
 * out list while another worker went idle is still run, by the list's
 * owner, which wakes idle workers for what it hands over.  schedule() from
 * anywhere else pushes under the mutex, then notifies one sleeper, or
 * unparks the driving worker when it is the only idle one.  An idle worker
 * re-checks the queue under the mutex before it sleeps, so no push can slip
 * between its check and its sleep.
 */
#include "multi.h"

/*
 * initial-exec: read at a fixed offset from the thread pointer, where the
 * default model for a dlopened module calls __tls_get_addr on every read
 * (17 to 38 instructions per operation, bench/boundary).  16 bytes of the
 * static TLS that glibc keeps spare for modules loaded later (512 by
 * default).
 */
static _Thread_local struct multi_tls multi_tls
    __attribute__((tls_model("initial-exec")));


struct multi_tls
weft__multi_tls_get(void)
{
	return multi_tls;
}


void
weft__multi_tls_set(struct multi_tls tls)
{
	multi_tls = tls;
}


/* The worker of this executor running on this thread, or NULL. */
struct multi_worker *
weft__multi_worker(struct multi *ex)
{
	return multi_tls.ex == ex ? multi_tls.w : NULL;
}


/* ---- the run queue -------------------------------------------------- */

static struct weft_task **
multi_next(struct multi *ex, struct weft_task *t)
{
	return (struct weft_task **)ex->tasks->link(t);
}


/*
 * With lock held: appends n tasks.  They go to the ring while it has room
 * and nothing waits behind it, so that the order stays first in, first
 * out; the rest to the list.  The ring is what makes a batch cheap under
 * the lock: moving a task in or out of it touches no task.
 */
static void
multi_push_locked(struct multi *ex, struct weft_task *const *tasks, uint32_t n)
{
	uint32_t i = 0;

	if (!ex->first)
		for (; i < n && ex->ring_len < MULTI_RING; i++)
			ex->ring[(ex->ring_head + ex->ring_len++) &
			         MULTI_RING_MASK] = tasks[i];
	for (; i < n; i++) {
		*multi_next(ex, tasks[i]) = NULL;
		if (ex->last)
			*multi_next(ex, ex->last) = tasks[i];
		else
			ex->first = tasks[i];
		ex->last = tasks[i];
	}
	ex->depth += n;
}


/*
 * With lock held: puts n tasks taken from the head back in front of it,
 * in their order, when the ring has room for them (else at the tail).
 */
static void
multi_push_front_locked(struct multi *ex, struct weft_task *const *tasks,
                       uint32_t n)
{
	if (MULTI_RING - ex->ring_len < n) {
		multi_push_locked(ex, tasks, n);
		return;
	}
	for (uint32_t i = n; i-- > 0;)
		ex->ring[--ex->ring_head & MULTI_RING_MASK] = tasks[i];
	ex->ring_len += n;
	ex->depth += n;
}


/* With lock held: the oldest task, from the ring, then the list. */
static struct weft_task *
multi_pop_locked(struct multi *ex)
{
	struct weft_task *t;

	if (ex->ring_len) {
		t = ex->ring[ex->ring_head++ & MULTI_RING_MASK];
		ex->ring_len--;
	} else if ((t = ex->first)) {
		ex->first = *multi_next(ex, t);
		if (!ex->first)
			ex->last = NULL;
	} else {
		WEFT_ASSERT(ex->depth == 0 && ex->ring_len == 0);
		return NULL;
	}
	WEFT_ASSERT(ex->depth > 0);
	ex->depth--;
	return t;
}


struct weft_task *
weft__multi_pop(struct multi *ex)
{
	struct weft_task *t;

	pthread_mutex_lock(&ex->lock);
	t = multi_pop_locked(ex);
	pthread_mutex_unlock(&ex->lock);
	return t;
}


/* With lock held: publishes the idle count for schedule()'s hint. */
static void
multi_idle_update_locked(struct multi *ex)
{
	atomic_store_explicit(&ex->idle,
	                      ex->nsleepers + (ex->drive_idle ? 1u : 0u),
	                      memory_order_relaxed);
}


/* With lock held: wakes one idle worker, if any sleeps.  */
static bool
multi_notify_sleeper_locked(struct multi *ex)
{
	struct multi_sleeper *s = ex->sleepers;

	if (!s)
		return false;
	ex->sleepers = s->next;
	ex->nsleepers--;
	multi_idle_update_locked(ex);
	s->notified = true;
	/*
	 * Signalled under the mutex: once it is released the sleeper may
	 * return, and the condition variable is the sleeper's.
	 */
	pthread_cond_signal(&s->cond);
	return true;
}


/*
 * With lock held: n new tasks, so up to n idle workers.  Sleepers first;
 * the driving worker only when nobody else sleeps, and only once per park.
 * Returns true when the caller must unpark the driver, after unlocking.
 * A worker that drives only for a fairness check (drive_idle false)
 * returns soon anyway.
 */
static bool
multi_wake_locked(struct multi *ex, uint64_t n)
{
	while (n > 0 && multi_notify_sleeper_locked(ex))
		n--;
	if (n > 0 && ex->drive_idle && !ex->drive_kicked &&
	    !pthread_equal(ex->drive_thread, pthread_self())) {
		ex->drive_kicked = true;
		return true;
	}
	return false;
}


/* Owner only: hands w's out list over to the queue; with lock held. */
static uint32_t
multi_hand_over_locked(struct multi *ex, struct multi_worker *w)
{
	uint32_t n = w->out_len;

	if (n) {
		multi_push_locked(ex, w->out, n);
		w->out_len = 0;
	}
	return n;
}


/* Owner only: hands w's out list over and wakes idle workers for it. */
static void
multi_hand_over(struct multi *ex, struct multi_worker *w)
{
	bool unpark;

	pthread_mutex_lock(&ex->lock);
	unpark = multi_wake_locked(ex, multi_hand_over_locked(ex, w));
	pthread_mutex_unlock(&ex->lock);
	if (unpark)
		weft_driver_unpark(ex->driver);
}


/*
 * Owner only: a worker went idle while w holds tasks others could run.
 * What is left of w's batch goes back to the front of the queue, its out
 * list to the back, and idle workers are woken for them, so that no task
 * waits behind a long poll while a worker has nothing to do.
 */
static void
multi_give_back(struct multi *ex, struct multi_worker *w)
{
	uint32_t n = w->batch_len - w->batch_head;
	bool unpark;

	pthread_mutex_lock(&ex->lock);
	if (n)
		multi_push_front_locked(ex, w->batch + w->batch_head, n);
	n += multi_hand_over_locked(ex, w);
	unpark = multi_wake_locked(ex, n);
	pthread_mutex_unlock(&ex->lock);
	if (unpark)
		weft_driver_unpark(ex->driver);
	w->batch_head = w->batch_len = 0;
}


static void
multi_held_update(struct multi_worker *w)
{
	atomic_store_explicit(&w->held,
	                      w->batch_len - w->batch_head + w->out_len +
	                          (w->lifo ? 1u : 0u),
	                      memory_order_relaxed);
}


/* Owner only: t into w's out list, handed over when the list is full. */
static void
multi_keep(struct multi *ex, struct multi_worker *w, struct weft_task *t)
{
	w->out[w->out_len++] = t;
	if (w->out_len == MULTI_BATCH)
		multi_hand_over(ex, w);
	multi_held_update(w);
}


/*
 * Queues t, from a worker (w) between two polls or while it polls, or
 * from any other thread (w NULL).
 */
static void
multi_enqueue(struct multi *ex, struct multi_worker *w, struct weft_task *t)
{
	bool unpark = false;

	/* While no worker is idle: into w's out list, without the lock. */
	if (w && atomic_load_explicit(&ex->idle, memory_order_relaxed) == 0) {
		multi_keep(ex, w, t);
		return;
	}

	pthread_mutex_lock(&ex->lock);
	multi_push_locked(ex, &t, 1);
	/*
	 * An idle worker that wakes tasks from inside its own park keeps
	 * the first for itself (it runs it as soon as the park returns, on
	 * a warm thread); the others wake idle workers.
	 */
	if (ex->drive_idle && !ex->drive_kept &&
	    pthread_equal(ex->drive_thread, pthread_self()))
		ex->drive_kept = true;
	else
		unpark = multi_wake_locked(ex, 1);
	pthread_mutex_unlock(&ex->lock);

	if (unpark)
		weft_driver_unpark(ex->driver);
}


/* The task core's schedule callback.  Any thread. */
void
weft__multi_schedule(void *data, struct weft_task *t)
{
	struct multi *ex = data;
	struct multi_worker *w = weft__multi_worker(ex);
	struct weft_task *prev;

	if (!w) {
		multi_enqueue(ex, NULL, t);
		if (multi_tls.ex != ex) /* not block_on's thread either */
			atomic_fetch_add_explicit(&ex->foreign_wakes, 1,
			                          memory_order_relaxed);
		return;
	}
	if (!w->current) { /* wakes from this worker's park in the driver */
		multi_enqueue(ex, NULL, t);
		return;
	}
	/*
	 * Woken or spawned by the task this worker polls (not by itself: a
	 * task that wakes itself yields, and goes to the back): the LIFO
	 * slot, so that a message and its receiver stay on one warm
	 * thread.  It runs next, so it needs nobody woken.  The task it
	 * displaces is queued.
	 */
	if (t != w->current) {
		prev = w->lifo;
		w->lifo = t;
		if (!prev) {
			multi_held_update(w);
			return;
		}
		t = prev;
	}
	multi_enqueue(ex, w, t);
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
multi_drive_locked(struct multi *ex, struct multi_worker *w, bool idle)
{
	ex->driving = true;
	ex->drive_idle = idle;
	ex->drive_kicked = false;
	ex->drive_kept = false;
	ex->drive_thread = pthread_self();
	multi_idle_update_locked(ex);
	pthread_mutex_unlock(&ex->lock);

	if (idle)
		multi_count(&w->parks, 1);
	weft_driver_park(ex->driver, idle ? WEFT_TIMEOUT_INFINITE : 0);

	pthread_mutex_lock(&ex->lock);
	ex->driving = false;
	ex->drive_idle = false;
	multi_idle_update_locked(ex);
	if (!idle)
		multi_notify_sleeper_locked(ex);
}


/* Fairness: a busy worker looks at the driver, unless another drives. */
static void
multi_check_driver(struct multi *ex, struct multi_worker *w)
{
	pthread_mutex_lock(&ex->lock);
	if (!ex->driving && !ex->stop)
		multi_drive_locked(ex, w, false);
	pthread_mutex_unlock(&ex->lock);
}


/* ---- workers -------------------------------------------------------- */

/*
 * With lock held: waits until there may be work.  Returns with the lock
 * held, after which the caller looks at the queue again.
 */
static void
multi_idle_locked(struct multi *ex, struct multi_worker *w)
{
	struct multi_sleeper *s = &w->sleeper, **p;

	if (!ex->driving) {
		multi_drive_locked(ex, w, true);
		return;
	}
	multi_count(&w->parks, 1);
	s->notified = false;
	s->next = ex->sleepers;
	ex->sleepers = s;
	ex->nsleepers++;
	multi_idle_update_locked(ex);
	while (!s->notified && !ex->stop)
		pthread_cond_wait(&s->cond, &ex->lock);
	if (!s->notified) {
		for (p = &ex->sleepers; *p; p = &(*p)->next) {
			if (*p == s) {
				*p = s->next;
				ex->nsleepers--;
				multi_idle_update_locked(ex);
				break;
			}
		}
	}
}


/*
 * The worker's way back to the queue, once its batch is done: hands its
 * out list over, then takes its share of the queue (one task to run now,
 * the rest into its batch), parking while there is none.  NULL when the
 * executor stops.
 */
static struct weft_task *
multi_refill(struct multi *ex, struct multi_worker *w)
{
	struct weft_task *t;
	uint64_t want, handed = 0;
	uint32_t n = 0;
	bool unpark = false;

	pthread_mutex_lock(&ex->lock);
	for (;;) {
		handed += multi_hand_over_locked(ex, w);
		if (ex->stop) {
			t = NULL;
			break;
		}
		/*
		 * Half a fair share, so that the others find plenty left
		 * while this batch waits behind the polls before it; no
		 * batch at all when the queue is short.
		 */
		want = ex->depth / (2 * (uint64_t)ex->nworkers);
		if ((t = multi_pop_locked(ex))) {
			while (n + 1 < want && n < MULTI_BATCH &&
			       (w->batch[n] = multi_pop_locked(ex)))
				n++;
			/* Idle workers for what others can take of ours. */
			if (handed)
				unpark = multi_wake_locked(ex, handed < ex->depth
				                                  ? handed
				                                  : ex->depth);
			break;
		}
		multi_idle_locked(ex, w);
	}
	pthread_mutex_unlock(&ex->lock);
	if (unpark)
		weft_driver_unpark(ex->driver);
	w->batch_head = 0;
	w->batch_len = n;
	multi_held_update(w);
	return t;
}


static void
multi_run_one(struct multi *ex, struct multi_worker *w, struct weft_task *t)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){0, 0}, &ex->head,
	                  ex->driver);
	multi_count(&w->polls, 1);
	w->current = t;
	/* A core older than 3 cannot say: `completed` stays 0 (E11). */
	if (ex->tasks->version >= 3 && ex->tasks->run_done) {
		if (ex->tasks->run_done(t, &cx))
			multi_count(&w->completed, 1);
	} else {
		ex->tasks->run(t, &cx);
	}
	w->current = NULL;
	w->tick++;
}


void *
weft__multi_worker_main(void *arg)
{
	struct multi_worker *w = arg;
	struct multi *ex = w->ex;
	struct weft_task *t;

	multi_tls = (struct multi_tls){ex, w};
	for (;;) {
		if ((t = w->lifo)) {
			w->lifo = NULL;
			if (w->lifo_streak < MULTI_LIFO_MAX) {
				w->lifo_streak++;
			} else {
				/*
				 * Two tasks waking each other must not hog
				 * the worker: to the back.  With its batch
				 * done, this worker is the next to look at
				 * the queue, so waking another is no use.
				 */
				if (w->batch_head < w->batch_len)
					multi_enqueue(ex, w, t);
				else
					multi_keep(ex, w, t);
				t = NULL;
			}
		}
		if (!t) {
			w->lifo_streak = 0;
			if (w->batch_head < w->batch_len)
				t = w->batch[w->batch_head++];
			else if (!(t = multi_refill(ex, w)))
				break;
		}
		multi_run_one(ex, w, t);
		if ((w->batch_head < w->batch_len || w->out_len) &&
		    atomic_load_explicit(&ex->idle, memory_order_relaxed)) {
			multi_give_back(ex, w);
			multi_held_update(w);
		}
		if (w->tick - w->last_check >= MULTI_EVENT_INTERVAL) {
			w->last_check = w->tick;
			multi_check_driver(ex, w);
		}
	}
	multi_tls = (struct multi_tls){NULL, NULL};
	return NULL;
}


/*
 * Stops and joins the workers that were started.  A worker leaves only
 * from multi_refill, with its batch run and its out list handed over, so
 * every task left is in the queue for the drain.
 */
void
weft__multi_stop_workers(struct multi *ex)
{
	struct multi_sleeper *s;
	bool unpark;

	pthread_mutex_lock(&ex->lock);
	ex->stop = true;
	while ((s = ex->sleepers)) {
		ex->sleepers = s->next;
		pthread_cond_signal(&s->cond);
	}
	ex->nsleepers = 0;
	multi_idle_update_locked(ex);
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
