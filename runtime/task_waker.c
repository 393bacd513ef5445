/* SPDX-License-Identifier: MIT */
/*
 * The task's waker (both its vtables: plain, and observed for a runtime
 * that observes) and the schedule a wake leads to: the W rules of ABI.md
 * on the state word of taskcore.h.  A wake that finds the task idle takes
 * the runnable reference with SCHEDULED in one step and hands the task to
 * its executor; one that finds it running leaves SCHEDULED for the runner
 * (W4); one that finds it finished or queued does nothing (W2, W3).
 */
#include <stdatomic.h>

#include "internal.h"
#include "observe.h"
#include "taskcore.h"


#ifndef NDEBUG
void (*weft__test_schedule_hook)(void);
#endif


/*
 * Hands a runnable task to its executor, from a wake made anywhere: the
 * caller has set SCHEDULED and holds the runnable reference.  The set's
 * guard keeps the call out of an executor that set_close has begun to
 * close; the reference then goes back, and set_close drops the future.  A
 * task that is already dropped belongs to an earlier life of a reborn set
 * (see taskset.c) and goes back the same way.
 */
static __attribute__((noinline)) void
task_schedule_guarded(struct weft_task *t, struct weft_task_set *set)
{
#ifndef NDEBUG
	if (weft__test_schedule_hook)
		weft__test_schedule_hook();
#endif
	if (weft__taskset_enter(set)) {
		if (!(atomic_load(&t->state) & TASK_DROPPED)) {
			set->schedule(set->sched, t);
			weft__taskset_leave(set);
			return;
		}
		weft__taskset_leave(set);
	}
	weft__task_release(t, 1);
}


TASK_INLINE void
task_schedule(struct weft_task *t, bool observed)
{
	struct weft_task_set *set = t->set;

	WEFT__PROBE1(task__wake, t->id);
	if (observed)
		weft__task_observe_wake(t);
	/* On the executor's own thread inside run: no close can overlap. */
	if (weft__taskset_running == set)
		set->schedule(set->sched, t);
	else
		task_schedule_guarded(t, set);
}

/* The schedule for a wake made outside a waker (join's abort). */
void
weft__task_schedule(struct weft_task *t, bool observed)
{
	task_schedule(t, observed);
}


/* ---- waker ---------------------------------------------------------- */

TASK_INLINE struct weft_waker
task_waker_clone_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	struct weft_waker w = {observed ? &weft__task_waker_vtable_observed
	                                : &weft__task_waker_vtable,
	                       t};

	atomic_fetch_add_explicit(&t->state, TASK_REF_ONE,
	                          memory_order_relaxed);
	return w;
}


TASK_INLINE void
task_waker_wake_by_ref_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & (TASK_FINISHED | TASK_SCHEDULED))
			return; /* finished (W2) or already queued (W3) */
		if (s & TASK_RUNNING) {
			/*
			 * The runner sees SCHEDULED after the poll and queues
			 * the task itself with its own reference (W4).
			 */
			if (atomic_compare_exchange_weak_explicit(
			        &t->state, &s, s | TASK_SCHEDULED,
			        memory_order_acq_rel, memory_order_acquire))
				return;
			continue;
		}
		/* Idle: the queue's reference is taken in the same step. */
		next = (s | TASK_SCHEDULED) + TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	task_schedule(t, observed);
}


static void
task_waker_drop(const void *data)
{
	weft__task_release((struct weft_task *)data, 1);
}


/* As wake_by_ref, but the waker's reference becomes the queue's. */
TASK_INLINE void
task_waker_wake_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & (TASK_FINISHED | TASK_SCHEDULED | TASK_RUNNING)) {
			/* Nothing to queue: the waker's reference goes. */
			next = s - TASK_REF_ONE;
			if (!(s & (TASK_FINISHED | TASK_SCHEDULED)))
				next |= TASK_SCHEDULED; /* W4 */
		} else {
			next = s | TASK_SCHEDULED;
		}
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (!(s & (TASK_FINISHED | TASK_SCHEDULED | TASK_RUNNING)))
		task_schedule(t, observed);
	else if (TASK_REFS(next) == 0)
		weft__task_free(t);
}


static struct weft_waker
task_waker_clone(const void *data)
{
	return task_waker_clone_as(data, false);
}

static void
task_waker_wake_by_ref(const void *data)
{
	task_waker_wake_by_ref_as(data, false);
}

static void
task_waker_wake(const void *data)
{
	task_waker_wake_as(data, false);
}

const struct weft_waker_vtable weft__task_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = task_waker_clone,
    .wake = task_waker_wake,
    .wake_by_ref = task_waker_wake_by_ref,
    .drop = task_waker_drop,
};

/* The wakers of an observed runtime's tasks: wakes are sampled. */
static struct weft_waker
task_waker_clone_observed(const void *data)
{
	return task_waker_clone_as(data, true);
}

static void
task_waker_wake_by_ref_observed(const void *data)
{
	task_waker_wake_by_ref_as(data, true);
}

static void
task_waker_wake_observed(const void *data)
{
	task_waker_wake_as(data, true);
}

const struct weft_waker_vtable weft__task_waker_vtable_observed = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = task_waker_clone_observed,
    .wake = task_waker_wake_observed,
    .wake_by_ref = task_waker_wake_by_ref_observed,
    .drop = task_waker_drop,
};
