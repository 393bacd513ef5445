/* SPDX-License-Identifier: MIT */
/*
 * The join handle: a task's weft_join is its own header, so the handle
 * holds a task reference (TASK_HANDLE) and finds the output in the future
 * the completion left in place.  The awaiter's waker sits in front of the
 * header (a task spawned with a handle has the room: TASK_AWAITER), under
 * the state word's lock bit; completion takes it and wakes it
 * (weft__task_notify_awaiter, from weft__task_drop_future in task.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "taskcore.h"


/* ---- the awaiter's waker -------------------------------------------- */

/*
 * The awaiter's lock bit guards a few stores, never a call out of the task
 * core: wakers are cloned, woken and dropped only with it released.
 */
static void
task_lock_awaiter(struct weft_task *t)
{
	unsigned spins = 0;

	while (atomic_fetch_or_explicit(&t->state, TASK_LOCKED,
	                                memory_order_acquire) &
	       TASK_LOCKED) {
		while (atomic_load_explicit(&t->state, memory_order_relaxed) &
		       TASK_LOCKED)
			weft__spin_backoff(&spins);
	}
}


static void
task_unlock_awaiter(struct weft_task *t)
{
	atomic_fetch_and_explicit(&t->state, ~(uint64_t)TASK_LOCKED,
	                          memory_order_release);
}


/* Wakes whoever awaits the join handle: the task has finished. */
void
weft__task_notify_awaiter(struct weft_task *t)
{
	struct weft_waker w;

	task_lock_awaiter(t);
	w = *weft__task_awaiter(t);
	weft__task_awaiter(t)->vtable = NULL;
	task_unlock_awaiter(t);
	weft_waker_wake(&w);
}


/* ---- join handle ---------------------------------------------------- */

static int
task_join_take(struct weft_task *t, uint64_t s, void *out, size_t out_size)
{
	const struct weft_future_vtable *vt = weft__task_future(t)->vtable;

	if (!(s & TASK_COMPLETED)) {
		atomic_fetch_or(&t->state, TASK_TAKEN);
		return WEFT_ECANCELED;
	}
	if (out_size && out_size < vt->output_size)
		return -EMSGSIZE;
	if (out_size && vt->output_size)
		memcpy(out, (char *)weft__task_future(t) + vt->output_offset,
		       vt->output_size);
	atomic_fetch_or(&t->state, TASK_TAKEN);
	return 1;
}


/*
 * Stores the awaiter's waker.  The clone and the drop of the one it
 * replaces are foreign code (the awaiter's executor), so they run with the
 * lock released; under it the slot is only compared and swapped.
 */
static void
task_join_store_awaiter(struct weft_task *t, const struct weft_waker *w)
{
	struct weft_waker *mine = weft__task_awaiter(t);
	struct weft_waker fresh, old;
	bool same;

	task_lock_awaiter(t);
	same = mine->vtable && weft_waker_will_wake(mine, w);
	task_unlock_awaiter(t);
	if (same)
		return;
	fresh = weft_waker_clone(w);
	task_lock_awaiter(t);
	old = *mine;
	*mine = fresh;
	task_unlock_awaiter(t);
	weft_waker_drop(&old);
}


static int
task_join_poll(struct weft_join *j, struct weft_context *cx, void *out,
               size_t out_size)
{
	struct weft_task *t = (struct weft_task *)j;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	if (s & TASK_TAKEN)
		return WEFT_ETAKEN;
	if (s & TASK_DROPPED)
		return task_join_take(t, s, out, out_size);

	task_join_store_awaiter(t, &cx->waker);

	/* Completion publishes DROPPED before it takes the awaiter. */
	s = atomic_load_explicit(&t->state, memory_order_acquire);
	if (s & TASK_DROPPED)
		return task_join_take(t, s, out, out_size);
	return 0;
}


static void
task_join_abort(struct weft_join *j)
{
	struct weft_task *t = (struct weft_task *)j;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_FINISHED)
			return;
		next = s | TASK_CLOSED;
		/* Idle: schedule it so the executor drops it on its side. */
		if (!(s & (TASK_SCHEDULED | TASK_RUNNING)))
			next = (next | TASK_SCHEDULED) + TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (!(s & (TASK_SCHEDULED | TASK_RUNNING)))
		weft__task_schedule(t, s & TASK_FACTS);
}


static void
task_join_release(struct weft_join *j)
{
	struct weft_task *t = (struct weft_task *)j;
	struct weft_waker w;

	task_lock_awaiter(t);
	w = *weft__task_awaiter(t);
	weft__task_awaiter(t)->vtable = NULL;
	atomic_fetch_and(&t->state, ~(uint64_t)TASK_HANDLE);
	task_unlock_awaiter(t);
	weft_waker_drop(&w);
	weft__task_release(t, 1);
}


const struct weft_join_ops weft__task_join_ops = {
    .version = WEFT_JOIN_OPS_VERSION,
    .poll = task_join_poll,
    .abort = task_join_abort,
    .release = task_join_release,
};
