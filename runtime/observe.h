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

#include <pthread.h>
#include <stdalign.h>
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
 * How an observed poll is measured without a clock read per poll.
 *
 * Each thread that polls tasks of an observed runtime has a poller record
 * of its own (registered on its first poll, found again through a
 * thread-local): it bumps `seq` as a poll begins and again as it ends, so
 * that seq is odd while a poll runs.  A monitor thread per runtime wakes
 * every period (1 ms with the console, slow_poll_ms/4 within 1..10 ms
 * otherwise) and reads each seq.  The first time it finds a poll running
 * (an odd seq it had not seen) it marks that poll seen: it notes the tick
 * before (`since`, before the poll began) and its own (`seen`, after),
 * then sets WEFT__SEQ_SEEN in seq by a compare-and-swap, which fails
 * harmlessly when the poll has ended meanwhile.  The poller finds the bit
 * in the seq it loads anyway as its poll ends; only a seen poll reads the
 * clock, to measure its end: its duration lies between end - seen and
 * end - since.  A seen poll that ran at least a period past `seen` is
 * long: its time is kept, and the slow-poll detector judges it by the
 * middle of the two bounds and reports the larger (never less than the
 * poll took).  While the monitor runs on time the bounds are a period
 * apart; a monitor kept off its CPU needs only one look inside a poll
 * (a starved monitor's later start only widens the bounds), and a poll
 * that ended before its first look is not seen at all.
 *
 * Short polls are timed exactly, both clock reads, on a sample: one poll in
 * 64 on average per thread (a countdown reset at random, so that no task
 * is always or never picked; a thread's first poll is one), and every
 * poll whose wake was timed (one wake in 64 per waking thread, for the
 * time from wake to poll: the waker notes the time in the task's facts
 * and sets TASK_WOKE in its state, which the poll tests in the state word
 * its run already loaded).  A timed poll is judged by its exact time.  A
 * task's busy time is then its long polls plus its other polls times the
 * mean of its timed ones (the runtime's mean while it has none); the
 * runtime's histogram scales each thread's timed polls to that thread's
 * count.
 *
 * So an observed poll costs plain stores to the thread's own line and the
 * task's poll count, no clock read and no locked instruction; a wake costs
 * a thread-local countdown.  A task's facts (struct weft__task_facts) are
 * made by the first poll or wake that measures it, or the first await it
 * notes, not per task.  The monitor's reads cost each poller one cache
 * miss per period, its marks one more per poll it sees.
 */
#define WEFT__SEQ_SEEN ((uint64_t)1 << 62)

struct weft__poller {
	/* The poller's: written at every poll, read by the monitor. */
	alignas(64) _Atomic uint64_t seq; /* 2 x polls, +1 inside one */
	uint32_t countdown;               /* polls until the next timed one */
	uint32_t rng;
	/*
	 * The observed task of this thread's latest poll, for
	 * weft_task_note_await: the one being polled while
	 * weft__taskset_running names an observed set.
	 */
	struct weft_task *task;
	_Atomic uint64_t timed;    /* short polls timed exactly ... */
	_Atomic uint64_t timed_ns; /* ... and their total */
	_Atomic uint64_t long_polls;
	_Atomic uint64_t sched;    /* timed wakes ... */
	_Atomic uint64_t sched_ns; /* ... and their total wait */
	_Atomic uint64_t hist_timed[WEFT_POLL_HISTOGRAM_BUCKETS];
	_Atomic uint64_t hist_long[WEFT_POLL_HISTOGRAM_BUCKETS];
	/* The monitor's, written when it marks a poll; the poller reads. */
	alignas(64) _Atomic uint64_t flag; /* the seq of the seen poll */
	_Atomic uint64_t since_ns;
	_Atomic uint64_t seen_ns;
	/* The monitor's alone. */
	alignas(64) uint64_t mon_seq; /* without WEFT__SEQ_SEEN */
	uint64_t mon_seen;
	bool mon_flagged;
	bool mon_stuck; /* its seen poll was reported still running */
	pthread_t thread;
	struct weft__poller *_Atomic next; /* in obs->pollers */
};

/* The monitor's log of ids given by when (see observe.c). */
#define WEFT__ID_LOG 512
struct weft__id_time {
	uint64_t id; /* the last id given ... */
	uint64_t ns; /* ... by this time */
};
struct weft__observe_view {
	uint64_t now, poll_ns, sched_ns;
	unsigned log_len;
	struct weft__id_time log[WEFT__ID_LOG];
};

/*
 * One runtime's observation.  `timing`: the console or a slow-poll
 * threshold is on, the runtime's tasks keep facts, a monitor thread runs
 * and the executor is handed weft__task_core_observed.  Otherwise nothing
 * here is touched by a poll.
 */
struct weft__observe {
	bool timing;
	uint64_t gen;          /* unique to this observation, never 0 */
	uint64_t slow_poll_ns; /* 0: no slow-poll detector */
	uint64_t stuck_ns;     /* a poll still running this long is told */
	uint64_t period_ns;    /* the monitor's */
	uint64_t open_ns;      /* CLOCK_MONOTONIC at open */
	const struct weft_allocator *alloc;
	/*
	 * The executor's set, made during its init (NULL before), until its
	 * set_free (weft__observe_forget_set).  set_lock keeps it alive for
	 * the monitor's walk of it; lock keeps it for the monitor's tick.
	 */
	struct weft_task_set *_Atomic set;
	pthread_mutex_t set_lock; /* before lock when both are held */
	struct weft__poller *_Atomic pollers; /* pushed, never removed */
	pthread_mutex_t lock;                 /* registration; the monitor */
	pthread_cond_t wake;                  /* stops the monitor */
	bool stop;
	bool monitor_started;
	pthread_t monitor;
	/* Interned labels (under lock), in a table of chains. */
	struct weft__label *labels[256];
	unsigned nlabels;
	/* Ids given by when (under lock): spawn times without a clock read. */
	struct weft__id_time id_log[WEFT__ID_LOG];
	unsigned id_log_len;
	uint64_t id_log_gap_ns; /* doubles each time the log is thinned */
	/* Slow polls: rare, so shared. */
	alignas(64) _Atomic uint64_t slow_polls;
	_Atomic uint64_t log_next_ns; /* no slow-poll line before this */
	_Atomic uint64_t suppressed;  /* slow polls not logged since */
};

/* Single-writer counters: a plain add the readers may see torn-free. */
static inline void
weft__bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
	                      atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/*
 * Makes the observation of a runtime and, when it times (console, or
 * slow_poll_ms > 0), starts its monitor.  0, -ENOMEM or -EAGAIN.
 */
WEFT__HIDDEN int weft__observe_new(struct weft__observe **out,
                                   unsigned slow_poll_ms, bool console,
                                   const struct weft_allocator *alloc);
/* Stops the monitor and frees; after the executor's fini. */
WEFT__HIDDEN void weft__observe_free(struct weft__observe *obs);

/* CLOCK_MONOTONIC in ns: real time, also under a virtual-clock reactor. */
WEFT__HIDDEN uint64_t weft__observe_now(void);

/* The observing runtimes, counted: spawn labels are kept only then. */
extern _Atomic unsigned weft__observing __attribute__((visibility("hidden")));

/*
 * The task core's thread-locals, in one block: a poll reaches them all
 * from one address (in a shared object each thread-local of its own costs
 * a load of its offset).
 */
struct weft__task_tls {
	/* The set whose task this thread is running (taskcore.h). */
	struct weft_task_set *running;
	/* This thread's poller, as last registered, and for which gen. */
	uint64_t poller_gen;
	struct weft__poller *poller;
	/* Wakes until this thread times the next one (taskcore.h). */
	int32_t wake_countdown;
};
extern _Thread_local struct weft__task_tls weft__task_tls
    __attribute__((visibility("hidden"), tls_model("initial-exec")));

/* The set is being freed: the monitor lets go of it (task_set.c). */
WEFT__HIDDEN void weft__observe_forget_set(struct weft__observe *obs,
                                           struct weft_task_set *set);

/* Registers (or finds) this thread's poller; NULL when out of memory. */
WEFT__HIDDEN struct weft__poller *
weft__observe_register(struct weft__observe *obs);

/*
 * A poll the fast path leaves out of line: the first of this thread for
 * obs (its poller is looked up or registered), a poll to time exactly (the
 * countdown ran out or its wake was timed), or one nested in another poll
 * on this thread.  Polls f and returns its result; the caller counted the
 * poll.
 */
WEFT__HIDDEN weft_poll weft__observe_poll_slow(struct weft__observe *obs,
                                               struct weft_task *t,
                                               struct weft_future *f,
                                               struct weft_context *cx);

/*
 * The end of a poll whose seq (loaded as it ended, WEFT__SEQ_SEEN set)
 * the monitor marked seen: measured against the monitor's bounds,
 * returning its result r, which the fast path then keeps where the poll
 * left it.
 */
WEFT__HIDDEN weft_poll weft__observe_poll_seen(struct weft__poller *p,
                                               struct weft_task *t,
                                               uint64_t seq, weft_poll r);

/*
 * The interned label for a spawn's name (copied: at most 31 bytes), file
 * and line, or NULL when out of memory.  Labels live as long as obs; past
 * WEFT__LABELS_MAX of them a new name is dropped and only file:line kept.
 */
#define WEFT__LABELS_MAX 4096
WEFT__HIDDEN const struct weft__label *
weft__observe_label(struct weft__observe *obs, const char *name,
                    const char *file, int line);

/*
 * What weft_runtime_tasks needs besides the tasks: the time, the runtime's
 * means over timed polls and wakes (for a task with none of its own), and
 * a copy of the monitor's log of ids given by when.
 */
WEFT__HIDDEN void weft__observe_view(struct weft__observe *obs,
                                     struct weft__observe_view *v);
/* When task `id` was spawned, as nearly as the log says. */
WEFT__HIDDEN uint64_t weft__observe_spawn_ns(const struct weft__observe_view *v,
                                             uint64_t id);

/*
 * The observation the sets made on this thread report to (NULL: none),
 * named by the runtime around its executor's init, like the allocator
 * hint.  Returns the previous one.
 */
WEFT__HIDDEN struct weft__observe *
weft__task_observe_hint(struct weft__observe *obs);

/* The task core to hand the executor: observed or not. */
WEFT__HIDDEN const struct weft_task_core *
weft__task_core_for(const struct weft__observe *obs);

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
