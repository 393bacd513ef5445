/* SPDX-License-Identifier: MIT */
/*
 * The injection queue of the work-stealing executor: a locked FIFO through
 * the task core's link slot, for spawns and wakes from outside the workers
 * and for what overflows a worker's ring.  Its length is also kept in an
 * atomic, so that workers can see it is empty without taking the lock.
 */
#include "worksteal.h"


static struct weft_task **
ws_link(struct ws *ex, struct weft_task *t)
{
	return (struct weft_task **)ex->tasks->link(t);
}


void
weft__ws_inject_push(struct ws *ex, struct weft_task **tasks, uint32_t n)
{
	uint64_t len;

	for (uint32_t i = 0; i < n; i++)
		*ws_link(ex, tasks[i]) = i + 1 < n ? tasks[i + 1] : NULL;
	pthread_mutex_lock(&ex->inject_lock);
	if (ex->inject_last)
		*ws_link(ex, ex->inject_last) = tasks[0];
	else
		ex->inject_first = tasks[0];
	ex->inject_last = tasks[n - 1];
	/* Read without the lock only as a hint; see idle.c, rule 4. */
	len = atomic_load_explicit(&ex->inject_len, memory_order_relaxed);
	atomic_store_explicit(&ex->inject_len, len + n, memory_order_relaxed);
	pthread_mutex_unlock(&ex->inject_lock);
}


struct weft_task *
weft__ws_inject_pop_locked(struct ws *ex)
{
	struct weft_task *t = ex->inject_first;
	uint64_t len;

	if (t) {
		ex->inject_first = *ws_link(ex, t);
		if (!ex->inject_first)
			ex->inject_last = NULL;
		len =
		    atomic_load_explicit(&ex->inject_len, memory_order_relaxed);
		atomic_store_explicit(&ex->inject_len, len - 1,
		                      memory_order_relaxed);
	}
	return t;
}


bool
weft__ws_inject_empty(struct ws *ex)
{
	return atomic_load_explicit(&ex->inject_len, memory_order_relaxed) == 0;
}


struct weft_task *
weft__ws_inject_pop(struct ws *ex)
{
	struct weft_task *t;

	if (weft__ws_inject_empty(ex))
		return NULL;
	pthread_mutex_lock(&ex->inject_lock);
	t = weft__ws_inject_pop_locked(ex);
	pthread_mutex_unlock(&ex->inject_lock);
	return t;
}
