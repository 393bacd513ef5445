/* SPDX-License-Identifier: MIT */
/*
 * The work-stealing executor's shared state, for its files: queue.c (the
 * per-worker ring), inject.c (the injection queue), idle.c (searching,
 * parking, the driver), worksteal.c (scheduling, the worker loop, the
 * plugin), life.c (init, block_on, shutdown) and stats.c.
 */
#ifndef WEFT_WORKSTEAL_H
#define WEFT_WORKSTEAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <weft/abi.h>
#include <weft/assert.h>

#include "queue.h"

#define WS_MAX_WORKERS 1024

/*
 * Ticks between two looks at the injection queue and the driver: tokio's
 * number, so that tasks that are always ready delay neither timers, nor
 * I/O, nor spawns from outside without bound.  A tick is a task taken from
 * the ring or the injection queue together with the LIFO polls that follow
 * it (at most WS_LIFO_MAX), as in tokio.  A busy worker looks at the
 * injection queue once per interval and at the driver once per nworkers
 * intervals (worksteal.c, ws_check_driver), so at least once per
 * nworkers * WS_EVENT_INTERVAL * (WS_LIFO_MAX + 1) of its polls; busy
 * workers together look about once per interval's worth of ticks.
 * Counted in polls, tasks that wake each other (a message and its reply)
 * paid a look at the driver, a system call, per 61 polls where tokio pays
 * one per 61 ticks (ping_pong, a million round trips on 2 workers: 19,000
 * to 22,000 epoll waits against tokio's 510, 28 ms of 243 ms on the CPU
 * spent in the kernel).  Also how many more ticks a busy worker may run
 * once shutdown has begun.
 */
#define WS_EVENT_INTERVAL 61
/*
 * LIFO polls in a row before the slot's task goes to the back instead, so
 * that two tasks waking each other do not hog the worker.  16, not tokio's
 * current 3: a pair that passes messages keeps its tasks and channels in
 * this core's cache for 16 polls instead of going round the ring (and the
 * injection queue, when there are more than a ring's worth of them) every
 * 3 (ping_pong at 1,000 pairs, 2 workers, against tokio 1.24 multi_thread,
 * whose chain ends only when its budget of 128 does: 3 gave 0.83x, 8
 * 0.69x, 16 0.60x, 32 0.56x, 128 0.50x, medians of interleaved runs).  The
 * other tasks of the ring wait up to 16 polls more per tick.
 */
#define WS_LIFO_MAX 16

/*
 * The idle state word: how many workers are unparked (high half) and how
 * many of those are searching for work to steal (low half).
 */
#define WS_SEARCH_ONE   1u
#define WS_UNPARK_ONE   (1u << 16)
#define WS_SEARCHING(s) ((s)&0xffffu)
#define WS_UNPARKED(s)  ((s) >> 16)

struct ws;

/*
 * Where one thread sleeps: on its condition variable, or inside the driver
 * when nobody else drives.  `notified` is the permit: unpark sets it, park
 * consumes it, so an unpark that comes first is not lost.
 */
struct ws_parker {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool notified;
	bool in_driver;
	pthread_t thread; /* the thread in the driver, while in_driver */
};

/*
 * Aligned so that two workers never share a cache line: thieves touch the
 * ring's head and tail, the owner everything else.
 */
/* Wakes a worker queues before one push to the injection queue. */
#define WS_DEFER 64

struct ws_worker {
	alignas(64) struct weft__ws_local local; /* what thieves touch */
	/* From here on, lines of the owner's own (but for the parker). */
	alignas(64) struct ws *ex;
	uint32_t index;
	_Atomic(struct weft_task *) lifo; /* owner-only; atomic for stats */
	struct weft_task *current;        /* being run by this worker */
	uint32_t lifo_streak;             /* LIFO polls in a row */
	uint32_t rng;                     /* xorshift state, never 0 */
	uint32_t ticks_left;              /* ticks to the next interval */
	uint32_t driver_skip;             /* intervals to the next look */
	bool searching;
	bool in_driver;   /* parked in the driver: wakes stay local */
	bool in_sleepers; /* guarded by ws.idle_lock */
	bool started;
	pthread_t thread;
	alignas(64) struct ws_parker parker; /* locked by unparkers */
	/*
	 * Written by the owner only, read by stats.
	 */
	alignas(64) atomic_uint_fast64_t polls, completed, steals, parks,
	    spawned;
	struct weft_task *overflow[WS_LOCAL_HALF + 1];
	/*
	 * Wakes from the driver bound for the injection queue (worksteal.c,
	 * ws_schedule), pushed there under one lock after the park.
	 */
	uint32_t ndefer;
	struct weft_task *defer[WS_DEFER];
};

/* The task core's run_done, or a stand-in for a core older than 3. */
typedef int (*ws_run_fn)(struct weft_task *t, struct weft_context *cx);

/*
 * The host allocates this with calloc (16-byte aligned), so the groups
 * that different threads write are kept apart by padding, not alignas.
 */
struct ws {
	struct weft_executor head; /* first: the host sees this */
	const struct weft_task_core *tasks;
	struct weft_driver *driver;
	struct weft_task_set *set;
	uint32_t nworkers;
	struct ws_worker *workers;
	ws_run_fn run_done;
	atomic_bool stop;
	bool shut;
	char pad0_[64];

	/* The injection queue: spawns and wakes from outside the workers. */
	pthread_mutex_t inject_lock;
	struct weft_task *inject_first, *inject_last;
	_Atomic uint64_t inject_len; /* written under the lock */
	char pad1_[64];

	/*
	 * Idle workers: see idle.c for the protocol.  Every push reads
	 * idle_state; it is written only when a worker parks, unparks or
	 * starts or stops searching.
	 */
	_Atomic uint32_t idle_state;
	pthread_mutex_t idle_lock;
	uint32_t *sleepers; /* indices of parked workers, a stack */
	uint32_t nsleepers;
	char pad2_[64];

	atomic_bool driver_busy; /* a thread drives (or checks) the driver */
	char pad3_[64];

	struct ws_parker root; /* block_on's thread */
	atomic_bool root_woken;
	atomic_bool running; /* block_on in progress */

	atomic_uint_fast64_t spawned, root_polls, foreign_wakes;
};

/*
 * The executor and worker this thread belongs to (worker NULL on block_on's
 * thread).  Both are compared, never trusted alone: two runtimes in one
 * process must not take each other's threads for their own.
 */
struct ws_tls {
	struct ws *ex;
	struct ws_worker *w;
};

/*
 * The executor and worker of this thread (worksteal.c).  initial-exec:
 * read at a fixed offset from the thread pointer, where the default model
 * for a dlopened module calls __tls_get_addr on every read (17 to 38
 * instructions per operation, bench/boundary).  16 bytes of the static TLS
 * that glibc keeps spare for modules loaded later (512 by default).
 */
extern _Thread_local struct ws_tls weft__ws_tls
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Increments a counter that only the calling thread writes. */
static inline void
ws_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
	                      atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/*
 * True when a notification would wake somebody: a worker is parked and
 * none is searching (idle.c, rule 1).  One relaxed load and no fence: for
 * a worker's pushes to queues it looks at itself before it parks, where
 * the notification spreads work but is not what keeps it from being lost
 * (idle.c, "A worker's own pushes").
 */
static inline bool
ws_notify_wanted(struct ws *ex)
{
	uint32_t s =
	    atomic_load_explicit(&ex->idle_state, memory_order_relaxed);

	return WS_UNPARKED(s) < ex->nworkers && WS_SEARCHING(s) == 0;
}

/* idle.c */
void weft__ws_parker_init(struct ws_parker *p);
void weft__ws_parker_fini(struct ws_parker *p);
void weft__ws_parker_park(struct ws *ex, struct ws_parker *p,
                          struct ws_worker *w);
void weft__ws_parker_unpark(struct ws *ex, struct ws_parker *p);
void weft__ws_notify_parked(struct ws *ex);
bool weft__ws_search_begin(struct ws_worker *w);
void weft__ws_search_end(struct ws_worker *w);
void weft__ws_park_worker(struct ws_worker *w);
void weft__ws_unpark_all(struct ws *ex);

/* inject.c */
void weft__ws_inject_push(struct ws *ex, struct weft_task **tasks, uint32_t n);
/* With inject_lock held. */
struct weft_task *weft__ws_inject_pop_locked(struct ws *ex);
bool weft__ws_inject_empty(struct ws *ex);
struct weft_task *weft__ws_inject_pop(struct ws *ex);

/* worksteal.c */
bool weft__ws_work_available(struct ws *ex);
void *weft__ws_worker_main(void *arg);
void weft__ws_schedule(void *data, struct weft_task *t);

/* life.c: the iface's init, block_on, shutdown and fini. */
int weft__ws_init(struct weft_executor *self,
                  const struct weft_executor_params *params);
int weft__ws_block_on(struct weft_executor *self, struct weft_future *future);
void weft__ws_shutdown(struct weft_executor *self);
void weft__ws_fini(struct weft_executor *self);

/* stats.c: the iface's stats and worker_stats. */
int weft__ws_stats(struct weft_executor *self,
                   struct weft_executor_stats *stats);
int weft__ws_worker_stats(struct weft_executor *self, uint32_t worker,
                          struct weft_worker_stats *stats);

#endif /* WEFT_WORKSTEAL_H */
