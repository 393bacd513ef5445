/* SPDX-License-Identifier: MIT */
/*
 * Reading an observation: the snapshot weft_runtime_tasks walks (the time,
 * the means, the log of ids given by when), the histogram scaled from each
 * poller's timed polls, and the body of weft_runtime_metrics.  Nothing
 * here is on a poll's path; observe.c keeps what is.
 */
#include <stdint.h>
#include <string.h>

#include "observe.h"
#include "taskcore.h"

/* ---- reading -------------------------------------------------------- */

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void
weft__observe_view(struct weft__observe *obs, struct weft__observe_view *v)
{
	uint64_t timed = 0, timed_ns = 0, sched = 0, sched_sum = 0;
	struct weft__poller *p;

	v->now = weft__observe_now();
	for (p = obs ? atomic_load(&obs->pollers) : NULL; p;
	     p = atomic_load(&p->next)) {
		timed += LOAD(p->timed);
		timed_ns += LOAD(p->timed_ns);
		sched += LOAD(p->sched);
		sched_sum += LOAD(p->sched_ns);
	}
	v->poll_ns = timed ? timed_ns / timed : 0;
	v->sched_ns = sched ? sched_sum / sched : 0;
	v->log_len = 0;
	if (!obs || !obs->timing)
		return;
	pthread_mutex_lock(&obs->lock);
	v->log_len = obs->id_log_len;
	memcpy(v->log, obs->id_log, v->log_len * sizeof(v->log[0]));
	pthread_mutex_unlock(&obs->lock);
}


/*
 * Task `id` was spawned after the last entry below it and before the first
 * at or above it (or now): the middle of that span.
 */
uint64_t
weft__observe_spawn_ns(const struct weft__observe_view *v, uint64_t id)
{
	unsigned lo = 0, hi = v->log_len, mid;
	uint64_t after, before;

	if (!v->log_len)
		return v->now;
	while (lo < hi) { /* the first entry with log[].id >= id */
		mid = (lo + hi) / 2;
		if (v->log[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	before = lo < v->log_len ? v->log[lo].ns : v->now;
	after = lo > 0 ? v->log[lo - 1].ns : v->log[0].ns;
	return after + (before - after) / 2;
}


/*
 * The runtime's histogram: each thread's long polls as counted, and its
 * timed short polls scaled to the number of its short polls.
 */
static void
observe_histogram(struct weft__observe *obs,
                  uint64_t hist[WEFT_POLL_HISTOGRAM_BUCKETS])
{
	struct weft__poller *p;
	uint64_t polls, longs, timed;
	double scale;
	unsigned i;

	for (p = atomic_load(&obs->pollers); p; p = atomic_load(&p->next)) {
		polls = LOAD(p->seq) / 2;
		longs = LOAD(p->long_polls);
		timed = LOAD(p->timed);
		scale = timed && polls > longs
		            ? (double)(polls - longs) / (double)timed
		            : 0;
		for (i = 0; i < WEFT_POLL_HISTOGRAM_BUCKETS; i++)
			hist[i] +=
			    LOAD(p->hist_long[i]) +
			    (uint64_t)((double)LOAD(p->hist_timed[i]) * scale +
			               0.5);
	}
}


int
weft__observe_tasks(struct weft__observe *obs, weft_task_visit_fn fn, void *arg)
{
	struct weft_task_set *set;

	if (!obs || !fn)
		return -EINVAL;
	set = atomic_load(&obs->set);
	if (!set)
		return WEFT_ENOTSUP; /* the executor made no set of ours */
	return weft__taskset_visit(set, fn, arg);
}


int
weft__observe_metrics(struct weft__observe *obs, struct weft_executor *ex,
                      struct weft_runtime_metrics *m)
{
	struct weft_executor_stats es = {.size = sizeof(es)};
	struct weft_runtime_metrics out;
	struct weft_task_set *set;
	size_t n;

	if (!obs || !m || m->size < sizeof(uint32_t))
		return -EINVAL;
	memset(&out, 0, sizeof(out));
	if (weft_executor_stats(ex, &es) == 0) {
		out.workers = es.workers;
		out.spawned = es.spawned;
		out.completed = es.completed;
		out.polls = es.polls;
		out.parks = es.parks;
		out.steals = es.steals;
		out.foreign_wakes = es.foreign_wakes;
		out.queue_depth = es.queue_depth;
	}
	set = atomic_load(&obs->set);
	if (set)
		out.tasks_live = weft__taskset_live(set);
	out.slow_polls =
	    atomic_load_explicit(&obs->slow_polls, memory_order_relaxed);
	out.uptime_ns = weft__observe_now() - obs->open_ns;
	observe_histogram(obs, out.poll_histogram);
	n = m->size < sizeof(out) ? m->size : sizeof(out);
	out.size = (uint32_t)n;
	memcpy(m, &out, n);
	return 0;
}
