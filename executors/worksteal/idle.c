/* SPDX-License-Identifier: MIT */
/*
 * Searching and parking for the work-stealing executor: the protocol that
 * keeps idle workers asleep when there is nothing to do and never loses a
 * wake-up when there is.
 *
 * State.  idle_state counts the unparked workers and, among them, the
 * searching ones (looking for work to steal).  Parked workers sit on the
 * `sleepers` stack, under idle_lock, which also orders every change of
 * idle_state made while parking or unparking.
 *
 * Rules.
 * 1. A producer that pushes work anywhere others could take it (a local
 *    ring, the injection queue) then calls notify_parked (a worker's own
 *    pushes may look first, see below): after a
 *    sequentially consistent fence it reads idle_state, and if nobody is
 *    searching and somebody is parked it wakes one parked worker, counting
 *    it as unparked and searching before it runs.
 * 2. At most half of the workers search at once (search_begin refuses
 *    beyond that); a refused worker parks, covered by the searcher that
 *    made it refuse.
 * 3. A searcher that finds work stops searching; if it was the last one it
 *    wakes another parked worker (rule 1), because producers skipped their
 *    notification while it searched and more work may be waiting.
 * 4. A worker parks by leaving the unparked (and searching) count under
 *    idle_lock and pushing itself on the stack.  If it was the last
 *    searcher, it then fences and looks at every queue once more, and
 *    notifies (rule 1) if any holds work.
 *
 * The invariant: whenever a queue that other workers can take from holds
 * a task, at least one of these holds — some worker is searching; some
 * worker is unparked and will look at that queue before it parks; or a
 * notification for a parked worker is on its way.  The fences make rules
 * 1 and 4 a store-buffering pair: a producer's push comes before its read
 * of idle_state, and the last searcher's decrement comes before its look
 * at the queues, so either the producer sees no searcher (and notifies)
 * or the last searcher sees the push (and notifies).
 *
 * A worker's own pushes.  Every push a worker makes goes to a queue that it
 * looks at itself before it parks: its ring (on a wake or a spawn from the
 * task it runs, or from the driver), or the injection queue (a spill, the
 * driver's deferred wakes), which ws_next_task reads when the ring is
 * empty, before the worker searches or parks.  So for these, the second clause
 * of the invariant holds by the pusher alone, whatever idle_state says: the
 * notification only brings a parked worker in to share the work.  They read
 * idle_state relaxed, with no fence (ws_notify_wanted, worksteal.h), and take
 * the fenced path above only when it says a worker is parked and none searches.
 * A stale read costs at most a helper woken late (the next push reads again) or
 * woken for nothing; never a task.  Only pushes from outside the workers
 * (ws_schedule_remote: a spawn or wake from another thread, when every worker
 * may be parking) need rule 1's fence, and they keep it, as rules 3 and 4 keep
 * theirs.
 *
 * The driver.  A parking worker that finds the driver free parks in it with no
 * timeout — the driver bounds the wait by its next timer itself — and the
 * others wait on their condition variable.  A worker that wakes from the driver
 * counts itself unparked and searching: when it finds work, rule 3 wakes
 * another worker, which, finding nothing, parks in the driver in its place.
 */
#include <stdlib.h>

#include "worksteal.h"


/* ---- the parker ----------------------------------------------------- */

void
weft__ws_parker_init(struct ws_parker *p)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->notified = false;
	p->in_driver = false;
}


void
weft__ws_parker_fini(struct ws_parker *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}


/* Drives the driver until something happens; p->lock held on entry. */
static void
ws_drive(struct ws *ex, struct ws_parker *p, struct ws_worker *w)
{
	p->in_driver = true;
	p->thread = pthread_self();
	w->in_driver = true;
	pthread_mutex_unlock(&p->lock);

	weft_driver_park(ex->driver, WEFT_TIMEOUT_INFINITE);

	pthread_mutex_lock(&p->lock);
	p->in_driver = false;
	w->in_driver = false;
	/*
	 * Release pairs with the acquire of the next thread to take the
	 * driver: the driver's own lock orders its state, this orders ours.
	 */
	atomic_store_explicit(&ex->driver_busy, false, memory_order_release);
}


/*
 * Only workers drive (w non-NULL).  block_on's thread in the driver would
 * put a thread switch between every readiness event and the worker that
 * runs the task it wakes; it sleeps on its condition variable instead.
 */
void
weft__ws_parker_park(struct ws *ex, struct ws_parker *p, struct ws_worker *w)
{
	pthread_mutex_lock(&p->lock);
	if (!p->notified && !atomic_load(&ex->stop)) {
		if (w && !atomic_exchange_explicit(&ex->driver_busy, true,
		                                   memory_order_acquire)) {
			ws_drive(ex, p, w);
		} else {
			while (!p->notified && !atomic_load(&ex->stop))
				pthread_cond_wait(&p->cond, &p->lock);
		}
	}
	p->notified = false;
	pthread_mutex_unlock(&p->lock);
}


void
weft__ws_parker_unpark(struct ws *ex, struct ws_parker *p)
{
	bool unpark = false;

	pthread_mutex_lock(&p->lock);
	p->notified = true;
	if (!p->in_driver)
		pthread_cond_signal(&p->cond);
	else if (!pthread_equal(p->thread, pthread_self()))
		unpark = true; /* the parked thread itself needs no kick */
	pthread_mutex_unlock(&p->lock);
	/*
	 * Outside the lock: if the parker has left the driver meanwhile,
	 * the driver keeps the unpark for the next park, which then returns
	 * at once: one spurious turn, never a lost one.
	 */
	if (unpark)
		weft_driver_unpark(ex->driver);
}


/* ---- notifications -------------------------------------------------- */

void
weft__ws_notify_parked(struct ws *ex)
{
	uint32_t s, idx = 0;
	bool found = false;

	/* Rule 1: the push before this call, then the read of the state. */
	atomic_thread_fence(memory_order_seq_cst);
	s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
	if (WS_SEARCHING(s) != 0 || WS_UNPARKED(s) >= ex->nworkers)
		return;

	pthread_mutex_lock(&ex->idle_lock);
	s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
	if (WS_SEARCHING(s) == 0 && ex->nsleepers > 0) {
		idx = ex->sleepers[--ex->nsleepers];
		ex->workers[idx].in_sleepers = false;
		atomic_fetch_add_explicit(&ex->idle_state,
		                          WS_SEARCH_ONE | WS_UNPARK_ONE,
		                          memory_order_seq_cst);
		found = true;
	}
	pthread_mutex_unlock(&ex->idle_lock);
	if (found)
		weft__ws_parker_unpark(ex, &ex->workers[idx].parker);
}


void
weft__ws_unpark_all(struct ws *ex)
{
	for (uint32_t i = 0; i < ex->nworkers; i++)
		weft__ws_parker_unpark(ex, &ex->workers[i].parker);
}


/* ---- searching ------------------------------------------------------ */

bool
weft__ws_search_begin(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	uint32_t s;

	if (w->searching)
		return true;
	/*
	 * Rule 2.  The check and the increment are not one step, so the
	 * cap can be passed by a few at a moment; it is a cap on wasted
	 * effort, not part of the invariant.
	 */
	s = atomic_load_explicit(&ex->idle_state, memory_order_relaxed);
	if (2 * WS_SEARCHING(s) >= ex->nworkers)
		return false;
	atomic_fetch_add_explicit(&ex->idle_state, WS_SEARCH_ONE,
	                          memory_order_seq_cst);
	w->searching = true;
	return true;
}


void
weft__ws_search_end(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	uint32_t prev;

	w->searching = false;
	prev = atomic_fetch_sub_explicit(&ex->idle_state, WS_SEARCH_ONE,
	                                 memory_order_seq_cst);
	if (WS_SEARCHING(prev) == 1)
		weft__ws_notify_parked(ex); /* rule 3 */
}


/* ---- parking a worker ----------------------------------------------- */

static void
ws_leave_sleepers(struct ws *ex, struct ws_worker *w)
{
	pthread_mutex_lock(&ex->idle_lock);
	if (w->in_sleepers) {
		/* Woken by the driver, not notified: count ourselves. */
		for (uint32_t i = 0; i < ex->nsleepers; i++) {
			if (ex->sleepers[i] == w->index) {
				ex->sleepers[i] = ex->sleepers[--ex->nsleepers];
				break;
			}
		}
		w->in_sleepers = false;
		atomic_fetch_add_explicit(&ex->idle_state,
		                          WS_SEARCH_ONE | WS_UNPARK_ONE,
		                          memory_order_seq_cst);
	}
	pthread_mutex_unlock(&ex->idle_lock);
	/* Either way this worker was counted as searching. */
	w->searching = true;
}


void
weft__ws_park_worker(struct ws_worker *w)
{
	struct ws *ex = w->ex;
	uint32_t dec = WS_UNPARK_ONE, prev;
	bool last;

	if (w->searching)
		dec |= WS_SEARCH_ONE;
	pthread_mutex_lock(&ex->idle_lock);
	prev = atomic_fetch_sub_explicit(&ex->idle_state, dec,
	                                 memory_order_seq_cst);
	ex->sleepers[ex->nsleepers++] = w->index;
	w->in_sleepers = true;
	pthread_mutex_unlock(&ex->idle_lock);
	last = w->searching && WS_SEARCHING(prev) == 1;
	w->searching = false;
	ws_count(&w->parks, 1);

	if (last) {
		/* Rule 4: the decrement above, then the look at the queues. */
		atomic_thread_fence(memory_order_seq_cst);
		if (weft__ws_work_available(ex))
			weft__ws_notify_parked(ex);
	}
	weft__ws_parker_park(ex, &w->parker, w);
	ws_leave_sleepers(ex, w);
}
