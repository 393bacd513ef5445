/* SPDX-License-Identifier: MIT */
/*
 * The multi-thread executor's shared state, for its two files: scheduler.c
 * (the shared run queue, scheduling, parking and the worker loop) and
 * multi.c (init, spawn, block_on, shutdown, stats, the plugin).
 */
#ifndef WEFT_MULTI_H
#define WEFT_MULTI_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <weft/abi.h>
#include <weft/assert.h>

/*
 * How many tasks a worker runs between two looks at the driver.  The same
 * number as tokio's event interval, so that tasks that are always ready
 * cannot delay timers and I/O without bound.
 */
#define MULTI_EVENT_INTERVAL 61
#define MULTI_MAX_WORKERS    1024
/*
 * The most tasks a worker takes from the shared queue under one lock, and
 * the most wakes it keeps to itself before handing them over (scheduler.c).
 */
#define MULTI_BATCH 32
/* LIFO polls in a row before the slot's task goes to the back instead. */
#define MULTI_LIFO_MAX 3
/*
 * The shared queue's ring of task pointers; what does not fit waits in a
 * list through the tasks' link slots, behind it (scheduler.c).
 */
#define MULTI_RING      4096u
#define MULTI_RING_MASK (MULTI_RING - 1)

struct multi;

/* A thread waiting for work (a worker) or for its root future (block_on). */
struct multi_sleeper {
	pthread_cond_t cond;
	bool notified;
	struct multi_sleeper *next;
};

/*
 * Aligned so that two workers never share a cache line: each writes its
 * batch, its counters and its hand-over list on every task.
 */
struct multi_worker {
	alignas(64) struct multi *ex;
	pthread_t thread;
	struct multi_sleeper sleeper;
	bool started;
	/* Owner only. */
	struct weft_task *current; /* being polled: its wakes may stay here */
	struct weft_task *lifo;    /* the task it woke last: runs next */
	uint32_t lifo_streak;      /* LIFO polls in a row */
	uint32_t batch_head, batch_len;
	uint32_t tick, last_check; /* tasks run; at the last driver check */
	uint32_t out_len;
	struct weft_task *out[MULTI_BATCH];   /* wakes not yet handed over */
	struct weft_task *batch[MULTI_BATCH]; /* taken from the shared queue */
	/* Written by the owner only, read by stats. */
	atomic_uint_fast64_t polls, completed, spawned, parks;
	atomic_uint_fast32_t held; /* tasks in lifo, batch and out */
};

struct multi {
	struct weft_executor head; /* first: the host sees this */
	const struct weft_task_core *tasks;
	struct weft_driver *driver;
	struct weft_task_set *set;
	uint32_t nworkers;
	struct multi_worker *workers;

	/* Guarded by lock, from here to `shut`. */
	pthread_mutex_t lock;
	struct weft_task **ring; /* MULTI_RING slots, the oldest tasks */
	uint32_t ring_head, ring_len;
	struct weft_task *first, *last; /* the newer ones, when it is full */
	uint64_t depth;                 /* both */
	struct multi_sleeper *sleepers; /* idle workers on their condvar */
	uint32_t nsleepers;
	bool driving;      /* a thread is inside (or entering) the driver */
	bool drive_idle;   /* ... an idle worker, parked without timeout */
	bool drive_kicked; /* ... and has been unparked already */
	bool drive_kept;   /* ... and keeps the first task it wakes */
	pthread_t drive_thread;
	bool stop;
	bool shut;
	/*
	 * Idle workers (sleepers, and the idle one in the driver): written
	 * under lock, read without it as a hint by schedule() and after
	 * every poll.  Padded (the host promises no alignment beyond
	 * malloc's) so that the fields written under the lock do not share
	 * its cache line.
	 */
	char pad_idle[64];
	atomic_uint idle;
	char pad_idle_end[64];

	/* block_on's thread sleeps on root.cond, under root_lock. */
	pthread_mutex_t root_lock;
	struct multi_sleeper root;
	bool root_sleeping;
	atomic_bool root_woken;
	atomic_bool running; /* block_on in progress */

	/* Counters of threads other than the workers: relaxed atomics. */
	atomic_uint_fast64_t spawned, polls, foreign_wakes;
};

/*
 * The executor and worker this thread belongs to (worker NULL on block_on's
 * thread).  Both are compared, never trusted alone: two runtimes in one
 * process must not take each other's threads for their own.
 */
struct multi_tls {
	struct multi *ex;
	struct multi_worker *w;
};

/* Increments a counter that only the calling thread writes. */
static inline void
multi_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
	                      atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/* scheduler.c */
struct multi_tls weft__multi_tls_get(void);
void weft__multi_tls_set(struct multi_tls tls);
struct multi_worker *weft__multi_worker(struct multi *ex);
void weft__multi_schedule(void *data, struct weft_task *t);
struct weft_task *weft__multi_pop(struct multi *ex);
void *weft__multi_worker_main(void *arg);
void weft__multi_stop_workers(struct multi *ex);

#endif /* WEFT_MULTI_H */
