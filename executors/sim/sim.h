/* SPDX-License-Identifier: MIT */
/*
 * The simulation executor's state, shared by sim.c (the plugin: settings,
 * spawn, the loop, teardown) and pick.c (the runnable set and its side
 * queue, the seeded choices: the PRNG, PCT's priorities, and the trace).
 */
#ifndef WEFT_EXECUTOR_SIM_H
#define WEFT_EXECUTOR_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/abi.h>

enum sim_mode {
	SIM_RANDOM, /* a uniform choice among the runnable */
	SIM_PCT,    /* the highest priority runs; d - 1 change points */
};

/* PCT's depth d: the config key allows 1..64. */
#define SIM_PCT_MAX_DEPTH 64

/*
 * One runnable entity: a task, or the root future of block_on (task NULL,
 * id 0).  prio is PCT's priority, fixed while the entity waits here.
 */
struct sim_ent {
	struct weft_task *task;
	uint64_t id;
	uint64_t prio;
};

struct sim {
	struct weft_executor head; /* first: the host sees this */
	const struct weft_task_core *tasks;
	struct weft_driver *driver;
	struct weft_task_set *set;

	/* Settings, fixed at init. */
	uint64_t seed;
	enum sim_mode mode;
	uint32_t depth;               /* PCT's d */
	uint64_t timeout_ns;          /* the virtual deadline; 0: none */
	uint64_t start_ns;            /* the driver's clock at init */
	bool core_ids;                /* the task core numbers tasks (T6) */
	atomic_uint_fast64_t next_id; /* otherwise: ours, kept in link */

	/*
	 * The runnable set of block_on's thread: no lock, since only that
	 * thread touches it.  Order inside carries no meaning; the choice is
	 * the PRNG's (random) or the priorities' (pct).
	 */
	struct sim_ent *run;
	size_t n, cap;
	bool root_queued; /* the root's entity is in `run` */

	/*
	 * Tasks scheduled from any other thread, under `lock`, spliced into
	 * `run` before each choice.  `spill` is an intrusive list through the
	 * task core's link slot, for a push whose array cannot grow: a
	 * schedule callback has no way to fail.
	 */
	pthread_mutex_t lock;
	struct weft_task **remote;
	size_t remote_n, remote_cap;
	struct weft_task *spill_first;
	void **spill_last;
	atomic_uint_fast64_t remote_len; /* remote_n + spill; seq_cst */

	/* As in single.c: the thread inside block_on, parked, root flags. */
	atomic_uintptr_t owner;
	atomic_bool parked;
	atomic_bool root_woken;
	atomic_bool running;
	bool shut;

	/* The seeded state: xoshiro256**, PCT's key and change points. */
	uint64_t rng[4];
	uint64_t prio_key;
	uint64_t steps;                        /* choices made so far */
	uint64_t change_at[SIM_PCT_MAX_DEPTH]; /* step of change point i */
	uint64_t *moved; /* id + 1, priority: pairs; see sim_lower */
	size_t moved_cap, nmoved;
	uint64_t demoted; /* the next priority a spinner gets */
	uint64_t streak_id, streak;

	/* The trace: FNV-1a over the ids polled, and how many. */
	uint64_t trace;
	uint64_t npolls;
	bool reported;

	/* Counters: relaxed atomics, since stats may be read anywhere. */
	atomic_uint_fast64_t spawned, polls, completed, parks, foreign_wakes;
	atomic_uint_fast64_t queue_depth;
};

/* pick.c */
void weft__sim_seed(struct sim *ex);
int weft__sim_push(struct sim *ex, struct weft_task *task, uint64_t id);
struct sim_ent weft__sim_pick(struct sim *ex);
uint64_t weft__sim_task_id(struct sim *ex, struct weft_task *task);
void weft__sim_remote_push(struct sim *ex, struct weft_task *task);
void weft__sim_splice_remote(struct sim *ex);
void weft__sim_trace(struct sim *ex, uint64_t id);
void weft__sim_report(struct sim *ex);
const char *weft__sim_mode_name(enum sim_mode mode);

#endif
