/* SPDX-License-Identifier: MIT */
/*
 * The executor's statistics (E9, E12): the counters each worker keeps for
 * itself, summed for the executor or read for one worker, with the depth
 * of the queues a task waits in.  Read from any thread, relaxed: a
 * snapshot, not a consistent cut.
 */
#include <errno.h>

#include "worksteal.h"


/* The executor's statistics (E9): every worker's counters summed. */
int
weft__ws_stats(struct weft_executor *self, struct weft_executor_stats *stats)
{
	struct ws *ex = (struct ws *)self;
	struct weft_executor_stats s = {
	    .size = sizeof(s),
	    .workers = ex->nworkers,
	    .spawned = atomic_load(&ex->spawned),
	    .polls = atomic_load(&ex->root_polls),
	    .foreign_wakes = atomic_load(&ex->foreign_wakes),
	    .queue_depth = atomic_load(&ex->inject_len),
	};
	struct ws_worker *w;

	for (uint32_t i = 0; i < ex->nworkers; i++) {
		w = &ex->workers[i];
		s.spawned +=
		    atomic_load_explicit(&w->spawned, memory_order_relaxed);
		s.polls +=
		    atomic_load_explicit(&w->polls, memory_order_relaxed);
		s.completed +=
		    atomic_load_explicit(&w->completed, memory_order_relaxed);
		s.steals +=
		    atomic_load_explicit(&w->steals, memory_order_relaxed);
		s.parks +=
		    atomic_load_explicit(&w->parks, memory_order_relaxed);
		s.queue_depth += weft__ws_local_len(&w->local);
		if (atomic_load_explicit(&w->lifo, memory_order_relaxed))
			s.queue_depth++;
	}
	return weft_executor_stats_fill(stats, &s);
}


/*
 * One worker's statistics (E12): its local queue and LIFO slot; the
 * injection queue is shared and counted only in stats.
 */
int
weft__ws_worker_stats(struct weft_executor *self, uint32_t worker,
                      struct weft_worker_stats *stats)
{
	struct ws *ex = (struct ws *)self;
	struct weft_worker_stats s = {.size = sizeof(s), .worker = worker};
	struct ws_worker *w;

	if (worker >= ex->nworkers)
		return -ENOENT;
	w = &ex->workers[worker];
	s.polls = atomic_load_explicit(&w->polls, memory_order_relaxed);
	s.steals = atomic_load_explicit(&w->steals, memory_order_relaxed);
	s.parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
	s.queue_depth = weft__ws_local_len(&w->local);
	if (atomic_load_explicit(&w->lifo, memory_order_relaxed))
		s.queue_depth++;
	return weft_worker_stats_fill(stats, &s);
}
