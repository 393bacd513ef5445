/* SPDX-License-Identifier: MIT */
/*
 * Looking inside a running program: the runtime-wide side of the facts the
 * task core keeps (poll histogram, slow polls), the slow-poll detector's
 * log line, and the public calls that read them (weft_runtime_tasks,
 * weft_runtime_metrics, weft_runtime_worker_stats).
 *
 * The cost rule: with the console off and no slow-poll threshold, `timing`
 * is false and no clock is read on the poll or wake paths; a set that
 * nobody observes (no struct here at all) costs each poll one load of
 * set->obs and a branch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "observe.h"
#include "taskcore.h"

/* At most one slow-poll line a second per runtime. */
#define SLOW_LOG_INTERVAL_NS 1000000000ull

int
weft__observe_new(struct weft__observe **out, unsigned slow_poll_ms,
                  bool console, const struct weft_allocator *alloc)
{
	struct weft__observe *obs;

	obs = weft__mem_calloc(alloc, 1, sizeof(*obs));
	if (!obs)
		return -ENOMEM;
	obs->alloc = alloc;
	obs->slow_poll_ns = (uint64_t)slow_poll_ms * 1000000u;
	obs->timing = console || slow_poll_ms;
	obs->open_ns = weft__observe_now();
	*out = obs;
	return 0;
}


void
weft__observe_free(struct weft__observe *obs)
{
	if (obs)
		weft__mem_free(obs->alloc, obs);
}


uint64_t
weft__observe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* Bucket i: shorter than 2^i us and not in a lower one; the last: rest. */
static unsigned
poll_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	while (b < WEFT_POLL_HISTOGRAM_BUCKETS - 1 && us >= (uint64_t)1 << b)
		b++;
	return b;
}


/*
 * The detector's line: one a second at most, so that a program that blocks
 * in every poll does not drown its own stderr; the next line says how
 * many were left out.
 */
static void
observe_slow(struct weft__observe *obs, struct weft_task *t, uint64_t ns)
{
	struct weft__task_facts *f = weft__task_facts(t);
	uint64_t now = weft__observe_now();
	uint64_t next =
	    atomic_load_explicit(&obs->log_next_ns, memory_order_relaxed);
	uint64_t skipped;
	char where[96] = "";
	char more[64] = "";

	atomic_fetch_add_explicit(&obs->slow_polls, 1, memory_order_relaxed);
	if (now < next ||
	    !atomic_compare_exchange_strong_explicit(
	        &obs->log_next_ns, &next, now + SLOW_LOG_INTERVAL_NS,
	        memory_order_relaxed, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&obs->suppressed, 1,
		                          memory_order_relaxed);
		return;
	}
	skipped =
	    atomic_exchange_explicit(&obs->suppressed, 0, memory_order_relaxed);
	if (f->file)
		snprintf(where, sizeof(where), " (%s:%" PRIu32 ")", f->file,
		         f->line);
	if (skipped)
		snprintf(more, sizeof(more), "; %" PRIu64 " more not shown",
		         skipped);
	fprintf(stderr,
	        "weft: slow poll: task %" PRIu64 " \"%s\"%s ran %.1f ms in "
	        "one poll (blocking call in async code?)%s\n",
	        t->id, f->name, where, (double)ns / 1e6, more);
}


void
weft__observe_poll(struct weft__observe *obs, struct weft_task *t, uint64_t ns)
{
	atomic_fetch_add_explicit(&obs->histogram[poll_bucket(ns)], 1,
	                          memory_order_relaxed);
	if (obs->slow_poll_ns && ns >= obs->slow_poll_ns)
		observe_slow(obs, t, ns);
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
	unsigned i;

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
	for (i = 0; i < WEFT_POLL_HISTOGRAM_BUCKETS; i++)
		out.poll_histogram[i] = atomic_load_explicit(
		    &obs->histogram[i], memory_order_relaxed);
	n = m->size < sizeof(out) ? m->size : sizeof(out);
	out.size = (uint32_t)n;
	memcpy(m, &out, n);
	return 0;
}
