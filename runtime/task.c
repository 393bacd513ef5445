/* SPDX-License-Identifier: MIT */
/*
 * The task core: one allocation per task holding a header and a copy of the
 * future, an atomic state machine, the waker vtable and the join handle.
 * Executors use it through weft_executor_params.tasks and implement only
 * queues, threads and parking (the split of Rust's async-task).  This file
 * is the state machine's own side: spawn, run, drop.  The waker is in
 * task_waker.c, the join handle in task_join.c, the set's operations in
 * task_set.c, what an observed runtime keeps in task_observe.c; the layout
 * and the live-task set are in taskcore.h and taskset.c.
 *
 * Exclusive access to the future is the RUNNING bit: whoever sets it (run,
 * set_close, drop_runnable) may poll or drop the future; nobody else touches
 * it.  That is what makes "never polled on two threads at once" (E6) and
 * "dropped exactly once" (E5) hold by construction.
 *
 * References: the set holds one until the future is dropped, so a task that
 * nobody will ever wake still lives until shutdown drops it; the executor
 * holds one per runnable (SCHEDULED) task; every waker clone holds one; the
 * join handle holds one.  The last release frees the allocation.  The count
 * shares the state word with the flags, so that a transition takes or gives
 * back its references in the same atomic operation: a wake that schedules
 * takes the runnable reference with SCHEDULED (a wake by value hands over
 * the waker's own), and completion gives back the set's and the runnable
 * one with DROPPED.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"
#include "observe.h"
#include "task_block.h"
#include "taskcore.h"

/*
 * A task made with an allocator other than libc's keeps a copy of it in
 * front of its header: its last reference may be released after the set
 * (and the runtime) are gone, and must still free through it.
 */
#define TASK_PREFIX_SIZE                                                       \
	((sizeof(struct weft_allocator) + alignof(max_align_t) - 1) &          \
	 ~(alignof(max_align_t) - 1))

_Thread_local struct weft__task_tls weft__task_tls
    __attribute__((tls_model("initial-exec")));


/* ---- freeing -------------------------------------------------------- */

/* Where t's allocation starts: in front of its header, its awaiter. */
static inline char *
task_base(struct weft_task *t, uint64_t s)
{
	return (char *)t - (s & TASK_AWAITER ? TASK_AWAITER_SIZE : 0);
}


/* weft__task_free's rest: a task with facts or an allocator of its own. */
static __attribute__((noinline)) void
task_free_rest(struct weft_task *t, uint64_t s)
{
	struct weft__task_facts *facts = NULL;
	struct weft_allocator a;
	char *base = task_base(t, s);

	if (s & TASK_FACTS)
		facts = weft__slot_facts(atomic_load_explicit(
		    weft__task_slot(t, s), memory_order_acquire));
	if (!(s & TASK_OWN_ALLOC)) {
		free(facts);
		weft__task_block_free(base);
		return;
	}
	base -= TASK_PREFIX_SIZE;
	memcpy(&a, base, sizeof(a));
	weft__mem_free(&a, facts);
	weft__mem_free(&a, base);
}


/*
 * Frees the allocation of t, whose future is already gone or never was.
 * Out of line: it is the cold end of every path that lets go of a task.
 */
__attribute__((noinline)) void
weft__task_free(struct weft_task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);

	if (__builtin_expect(!(s & (TASK_OWN_ALLOC | TASK_FACTS)), 1) ||
	    (!(s & TASK_OWN_ALLOC) &&
	     !(atomic_load_explicit(weft__task_slot(t, s),
	                            memory_order_relaxed) &
	       TASK_SLOT_FACTS))) {
		/* No facts of its own. */
		weft__task_block_free(task_base(t, s));
	} else {
		task_free_rest(t, s);
	}
}


/*
 * Drops the future, takes the task out of the set, then in one step
 * publishes DROPPED (with done_bits), lets go of RUNNING and gives back
 * `refs` references: the set's, plus the caller's runnable one if it holds
 * one.  The caller holds RUNNING.  The vtable stays in place so that the
 * join handle can still find the output.
 */
static void
task_drop_future(struct weft_task *t, uint64_t done_bits, uint64_t refs)
{
	struct weft_future *f = weft__task_future(t);
	uint64_t s, next;

	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	WEFT_ASSERT((s & TASK_RUNNING) && !(s & TASK_DROPPED));
	if (f->vtable->drop)
		f->vtable->drop(f);
	weft__taskset_unlink(t->set, t);

	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		next = (s | TASK_DROPPED | done_bits) & ~(uint64_t)TASK_RUNNING;
		/* With a join handle, keep one to wake its awaiter. */
		next -= (s & TASK_HANDLE ? refs - 1 : refs) * TASK_REF_ONE;
	} while (!atomic_compare_exchange_weak_explicit(
	    &t->state, &s, next, memory_order_acq_rel, memory_order_relaxed));

	if (s & TASK_HANDLE) {
		weft__task_notify_awaiter(t);
		weft__task_release(t, 1);
	} else if (TASK_REFS(next) == 0) {
		weft__task_free(t);
	}
}


/* set_close's drop of a task it claimed (task_set.c). */
void
weft__task_drop_future(struct weft_task *t, uint64_t done_bits, uint64_t refs)
{
	task_drop_future(t, done_bits, refs);
}


/* ---- spawn and run -------------------------------------------------- */

/*
 * A zeroed header followed by room for a size-byte future and `extra`
 * bytes, preceded by a zeroed awaiter's waker when `awaiter` (a task with
 * a join handle).  Without an allocator of the runtime's own, from this
 * thread's task blocks (task_block.h): a future whose size is a multiple
 * of 16 may need that alignment, any other one needs at most 8.
 */
TASK_INLINE struct weft_task *
task_alloc(struct weft_task_set *set, size_t size, size_t extra, bool awaiter)
{
	size_t front = awaiter ? TASK_AWAITER_SIZE : 0;
	char *base;

	if (size > SIZE_MAX - TASK_HEADER_SIZE - TASK_PREFIX_SIZE -
	               TASK_AWAITER_SIZE - extra)
		return NULL;
	if (!weft__mem_custom(&set->alloc)) {
		base = weft__task_block_alloc(
		    front + TASK_HEADER_SIZE + size + extra, size % 16 == 0);
		if (!base)
			return NULL;
	} else {
		base = weft__mem_alloc(&set->alloc, TASK_PREFIX_SIZE + front +
		                                        TASK_HEADER_SIZE +
		                                        size + extra);
		if (!base)
			return NULL;
		memcpy(base, &set->alloc, sizeof(set->alloc));
		base += TASK_PREFIX_SIZE;
	}
	memset(base, 0, front + sizeof(struct weft_task));
	return (struct weft_task *)(base + front);
}


TASK_INLINE int
task_spawn_as(struct weft_task_set *set, struct weft_future *future,
              struct weft_task **task, struct weft_join **join, bool observed)
{
	size_t size = future->vtable->size;
	/* An observed task's words follow its future's. */
	size_t words = (size + 7) / 8;
	bool facts = observed && words <= TASK_WORDS_MAX;
	struct weft_task *t;
	uint64_t s;
	int rc;

	/*
	 * A label left for a spawn into a runtime that does not observe must
	 * not name the next task of one that does.
	 */
	if (!observed &&
	    __builtin_expect(atomic_load_explicit(&weft__observing,
	                                          memory_order_relaxed) != 0,
	                     0))
		weft__task_label_clear();
	if (size < sizeof(struct weft_future)) {
		rc = -EINVAL;
		goto fail;
	}
	t = task_alloc(set, facts ? words * 8 : size,
	               facts ? sizeof(struct weft__task_obs) : 0, join != NULL);
	if (!t) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(weft__task_future(t), future, size); /* the move (F5) */
	t->join.version = 1;
	t->join.ops = &weft__task_join_ops;
	t->set = set;
	/* The set's reference, the runnable one and the join handle's. */
	s = (2u + (join ? 1u : 0u)) * TASK_REF_ONE | TASK_SCHEDULED |
	    (join ? TASK_HANDLE | TASK_AWAITER : 0u) |
	    (weft__mem_custom(&set->alloc) ? TASK_OWN_ALLOC : 0u);
	if (facts) {
		struct weft__task_obs *o;

		s |= TASK_FACTS | (uint64_t)words << TASK_WORDS_SHIFT;
		o = weft__task_obs(t, s);
		atomic_init(&o->polls, 0);
		atomic_init(&o->slot,
		            (uintptr_t)weft__task_take_label(set->obs));
	} else if (observed) {
		weft__task_label_clear(); /* a future of over 32 MiB: no facts
		                           */
	}
	atomic_init(&t->state, s);

	/*
	 * The id comes with the link.  After the join's members: the shard
	 * may share their padding.
	 */
	rc = weft__taskset_link(set, t);
	if (rc < 0) {
		weft_future_drop(weft__task_future(t));
		weft__task_free(t);
		return rc;
	}
	WEFT__PROBE1(task__spawn, t->id);
	*task = t;
	if (join)
		*join = &t->join;
	return 0;

fail:
	weft_future_drop(future);
	if (observed)
		weft__task_label_clear();
	return rc;
}


static int
task_spawn(struct weft_task_set *set, struct weft_future *future,
           struct weft_task **task, struct weft_join **join)
{
	return task_spawn_as(set, future, task, join, false);
}


static int
task_spawn_observed(struct weft_task_set *set, struct weft_future *future,
                    struct weft_task **task, struct weft_join **join)
{
	return task_spawn_as(set, future, task, join, true);
}


/* After a pending poll: requeue, drop if aborted meanwhile, or idle. */
TASK_INLINE void
task_after_pending(struct weft_task *t, bool observed)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_CLOSED) {
			/* A wake during the poll took no reference. */
			task_drop_future(t, 0, 2);
			return;
		}
		/*
		 * Idle: the runnable reference goes in the same step (the
		 * set's is still held, so this is never the last).
		 */
		next = s & ~(uint64_t)TASK_RUNNING;
		if (!(s & TASK_SCHEDULED))
			next -= TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	/*
	 * Woken during the poll: our reference goes on, straight to the
	 * executor, since its runner is inside run and no close overlaps.
	 */
	if (s & TASK_SCHEDULED) {
		WEFT__PROBE1(task__wake, t->id);
		if (observed)
			weft__task_observe_wake(t);
		t->set->schedule(t->set->sched, t);
	}
}


/*
 * The observed poll (see observe.h): the task's poll counted, this
 * thread's seq odd while it runs, and the clock read only by a timed poll
 * or one the monitor marked seen (WEFT__SEQ_SEEN, in the seq the end of
 * the poll loads anyway).  Nothing else per poll: the facts are made and
 * written only by the polls and wakes that measure, and an await is noted
 * by weft_task_note_await itself, in the poller's task.
 */
TASK_INLINE weft_poll
task_poll_observed(struct weft_task *t, struct weft_task_set *set, uint64_t s,
                   struct weft_future *f, struct weft_context *cx)
{
	struct weft__poller *p = weft__task_tls.poller;
	uint64_t seq;
	weft_poll r;

	weft__bump(&weft__task_obs(t, s)->polls, 1);
	/*
	 * Out of line: this thread's poller not yet found for this set's
	 * observation, a poll to time (the countdown ran out), or a wake
	 * that was timed.  A poll nested in another of this thread needs no
	 * test here: it leaves seq as it found it, but for the while it
	 * runs.
	 */
	if (__builtin_expect(weft__task_tls.poller_gen != set->obs_gen ||
	                         --p->countdown == 0 || (s & TASK_WOKE),
	                     0))
		return weft__observe_poll_slow(set->obs, t, f, cx);
	seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	p->task = t;
	r = f->vtable->poll(f, cx);
	/*
	 * Read again rather than kept across the call: a poll nested in
	 * this one leaves seq alone, the monitor may have marked it, and
	 * fewer values live across a call are fewer spills.
	 */
	seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	if (__builtin_expect(seq & WEFT__SEQ_SEEN, 0))
		r = weft__observe_poll_seen(p, t, seq, r);
	return r;
}


/*
 * The poll of run_done, with RUNNING held and s the state before.  Wakes
 * made during the poll, and by the drop that completes it, skip the
 * guard.  A nested run (block_on of another runtime inside this poll)
 * leaves NULL behind: the rest of this poll then takes the guarded path,
 * which is only slower.
 */
TASK_INLINE int
task_poll_as(struct weft_task *t, struct weft_context *cx, uint64_t s,
             bool observed)
{
	struct weft_future *f = weft__task_future(t);
	struct weft_task_set *set = t->set;
	weft_poll ready;

	weft__taskset_running = set;
	cx->waker.vtable = observed ? &weft__task_waker_vtable_observed
	                            : &weft__task_waker_vtable;
	cx->waker.data = t;
	WEFT__PROBE1(poll__begin, t->id);
	if (observed)
		ready = task_poll_observed(t, set, s, f, cx);
	else
		ready = f->vtable->poll(f, cx);
	WEFT__PROBE2(poll__end, t->id, ready);
	if (ready == WEFT_READY) {
		task_drop_future(t, TASK_COMPLETED, 2);
		weft__taskset_running = NULL;
		return 1;
	}
	weft__taskset_running = NULL;
	task_after_pending(t, observed);
	return 0;
}


static int task_poll_plain(struct weft_task *t, struct weft_context *cx);

/* Polls t once; 1 when that poll completed it (run_done), else 0. */
TASK_INLINE int
task_run_done_as(struct weft_task *t, struct weft_context *cx, bool observed)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_DROPPED) {
			weft__task_release(t, 1); /* nothing to run: let go */
			return 0;
		}
		/* A timed wake is for this poll to measure (observe.h). */
		next = (s & ~(uint64_t)(TASK_SCHEDULED |
		                        (observed ? TASK_WOKE : 0))) |
		       TASK_RUNNING;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	WEFT_ASSERT(!(s & TASK_RUNNING)); /* E1: polled on two threads */
	if (s & TASK_CLOSED) {
		task_drop_future(t, 0, 2);
		return 0;
	}

	/*
	 * An observed set has its observation (task_set_new); its tasks have
	 * observed words, but for a future too large to say where.
	 */
	if (observed && __builtin_expect(!(s & TASK_FACTS), 0))
		return task_poll_plain(t, cx);
	return task_poll_as(t, cx, s, observed);
}


/*
 * An observed set's task without facts: polled as an unobserved one, with
 * no task for an await to be noted in (weft_task_note_await).
 */
static __attribute__((noinline, cold)) int
task_poll_plain(struct weft_task *t, struct weft_context *cx)
{
	struct weft__observe *obs = t->set->obs;

	if (weft__task_tls.poller_gen == obs->gen)
		weft__task_tls.poller->task = NULL;
	return task_poll_as(t, cx, 0, false);
}


static int
task_run_done(struct weft_task *t, struct weft_context *cx)
{
	return task_run_done_as(t, cx, false);
}


static void
task_run(struct weft_task *t, struct weft_context *cx)
{
	(void)task_run_done_as(t, cx, false);
}


static int
task_run_done_observed(struct weft_task *t, struct weft_context *cx)
{
	return task_run_done_as(t, cx, true);
}


static void
task_run_observed(struct weft_task *t, struct weft_context *cx)
{
	(void)task_run_done_as(t, cx, true);
}


static void
task_drop_runnable(struct weft_task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_DROPPED) {
			weft__task_release(t, 1);
			return;
		}
		next = (s & ~(uint64_t)TASK_SCHEDULED) | TASK_RUNNING |
		       TASK_CLOSED;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	task_drop_future(t, 0, 2);
}


static uint64_t
task_id(struct weft_task *t)
{
	return t->id;
}


static void **
task_link(struct weft_task *t)
{
	return &t->link;
}


/* ---- the two cores -------------------------------------------------- */

const struct weft_task_core weft__task_core = {
    .version = WEFT_TASK_CORE_VERSION,
    .set_new = weft__task_set_new,
    .set_close = weft__task_set_close,
    .set_free = weft__task_set_free,
    .spawn = task_spawn,
    .run = task_run,
    .drop_runnable = task_drop_runnable,
    .link = task_link,
    .root_waker = weft__task_root_waker,
    .run_done = task_run_done,
    .id = task_id,
};

/* The same core for a runtime that observes (see observe.h). */
static const struct weft_task_core task_core_observed = {
    .version = WEFT_TASK_CORE_VERSION,
    .set_new = weft__task_set_new_observed,
    .set_close = weft__task_set_close,
    .set_free = weft__task_set_free,
    .spawn = task_spawn_observed,
    .run = task_run_observed,
    .drop_runnable = task_drop_runnable,
    .link = task_link,
    .root_waker = weft__task_root_waker,
    .run_done = task_run_done_observed,
    .id = task_id,
};


const struct weft_task_core *
weft__task_core_for(const struct weft__observe *obs)
{
	return obs && obs->timing ? &task_core_observed : &weft__task_core;
}
