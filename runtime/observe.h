/* SPDX-License-Identifier: MIT */
/*
 * What the host keeps to let a running program be looked at: the
 * runtime-wide counters behind weft_runtime_metrics, the slow-poll
 * detector's settings and log limit, and the USDT probes.  Per-task facts
 * live in the task core (taskcore.h); this is the side they report to.
 *
 * Observation lives in the host, not in a layer between host and executor:
 * the facts are about the task core's own transitions (spawn, poll, wake,
 * completion), which only the task core sees, and a layer would add an
 * indirect call to every spawn and poll even when nothing is observed.
 */
#ifndef WEFT_OBSERVE_H
#define WEFT_OBSERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* USDT probes (provider "weft"): nothing when <sys/sdt.h> is absent. */
#ifdef WEFT_HAVE_SDT
#include <sys/sdt.h>
#define WEFT__PROBE1(name, a)    DTRACE_PROBE1(weft, name, a)
#define WEFT__PROBE2(name, a, b) DTRACE_PROBE2(weft, name, a, b)
#define WEFT__PROBE0(name)       DTRACE_PROBE(weft, name)
#else
#define WEFT__PROBE1(name, a)    ((void)(a))
#define WEFT__PROBE2(name, a, b) ((void)(a), (void)(b))
#define WEFT__PROBE0(name)       ((void)0)
#endif

/*
 * One runtime's observation.  `timing` decides whether the task core reads
 * the clock around polls and wakes: on with the console or a slow-poll
 * threshold, off otherwise, so that a program nobody looks at pays no
 * clock read.  Counters are relaxed atomics: any worker adds to them.
 */
struct weft__observe {
	bool timing;           /* clock reads on the poll path */
	uint64_t slow_poll_ns; /* 0: no slow-poll detector */
	uint64_t open_ns;      /* CLOCK_MONOTONIC at open */
	_Atomic uint64_t slow_polls;
	_Atomic uint64_t histogram[WEFT_POLL_HISTOGRAM_BUCKETS];
	_Atomic uint64_t log_next_ns; /* no slow-poll line before this */
	_Atomic uint64_t suppressed;  /* slow polls not logged since */
	/* The executor's set, made during its init (NULL before). */
	struct weft_task_set *_Atomic set;
	const struct weft_allocator *alloc;
};

/*
 * Makes the observation of a runtime: slow_poll_ms 0 switches the detector
 * off; console asks for timings.  0 or -ENOMEM.
 */
WEFT__HIDDEN int weft__observe_new(struct weft__observe **out,
                                   unsigned slow_poll_ms, bool console,
                                   const struct weft_allocator *alloc);
WEFT__HIDDEN void weft__observe_free(struct weft__observe *obs);

/* CLOCK_MONOTONIC in ns: real time, also under a virtual-clock reactor. */
WEFT__HIDDEN uint64_t weft__observe_now(void);

/* A poll of task `id` that took ns: the histogram and the detector. */
WEFT__HIDDEN void weft__observe_poll(struct weft__observe *obs,
                                     struct weft_task *t, uint64_t ns);

/*
 * The observation the sets made on this thread report to (NULL: none),
 * named by the runtime around its executor's init, like the allocator
 * hint.  Returns the previous one.
 */
WEFT__HIDDEN struct weft__observe *
weft__task_observe_hint(struct weft__observe *obs);

/* The runtime's observation (runtime.c). */
WEFT__HIDDEN struct weft__observe *
weft__runtime_observe(struct weft_runtime *rt);

/* The public calls' bodies, given the runtime's parts. */
WEFT__HIDDEN int weft__observe_tasks(struct weft__observe *obs,
                                     weft_task_visit_fn fn, void *arg);
WEFT__HIDDEN int weft__observe_metrics(struct weft__observe *obs,
                                       struct weft_executor *ex,
                                       struct weft_runtime_metrics *m);

#endif /* WEFT_OBSERVE_H */
