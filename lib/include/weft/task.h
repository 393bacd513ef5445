/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Tasks: a set of spawned tasks joined in the order they finish (tokio's
 * JoinSet), and spawn_blocking, which runs a plain function on the
 * runtime's pool of blocking threads.  spawn, join handles and yield_now
 * come with the runtime (<weft/weft.h>: weft_spawn, weft_join_future,
 * weft_yield).
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <weft/weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Task set                                                            */
/* ------------------------------------------------------------------ */

/**
 * A set of tasks, each spawned on an executor (cx->executor inside a
 * future, weft_runtime_executor() outside) and joined by join_next in the
 * order they finish.  Freeing the set aborts every task still in it: each
 * task's future is dropped exactly once, by the executor, whether it ran to
 * the end or not.
 *
 * The set itself is used by one task at a time (the one that spawns into
 * it and awaits join_next); the tasks in it run anywhere.
 */
struct weft_joinset;

/** 0 or -ENOMEM. */
int weft_joinset_new(struct weft_joinset **set);

/**
 * Aborts and releases every task still in the set, then frees it.  The
 * tasks' futures are dropped by their executor (at once or at its next
 * turn), never twice.  Not while a join_next on this set is alive.
 */
void weft_joinset_free(struct weft_joinset *set);

/**
 * Spawns fut (copied in, consumed as by weft_executor_spawn, E2) into the
 * set.  *id (if id is non-NULL) receives an id, unique within the set, that
 * join_next reports back.  0, or a negative error (the future has then been
 * dropped).
 */
int weft_joinset_spawn(struct weft_joinset *set, struct weft_executor *ex,
                       struct weft_future *fut, uint64_t *id);

/** Tasks spawned and not yet joined. */
size_t weft_joinset_len(const struct weft_joinset *set);

/** Aborts every task in the set; join_next then reports them cancelled. */
void weft_joinset_abort_all(struct weft_joinset *set);

/**
 * join_next().await: waits for the next task of the set to finish and
 * removes it from the set.  `out` receives its output (out_size bytes, 0 to
 * discard it); it must stay valid until this future is ready or dropped.
 *
 * Output: status 1 (a task was joined: task_status is 0, or WEFT_ECANCELED
 * if it was aborted or shut down, or -EMSGSIZE if out was too small; id is
 * its id) or 0 (the set is empty: tokio's None).
 */
struct weft_joinset_next {
	struct weft_future base; /**< the future's vtable */
	struct weft_joinset *set; /**< the set, borrowed */
	void *out; /**< where the task's output is copied */
	size_t out_size; /**< bytes at out; 0 discards */
	int status; /**< output: 1 joined, 0 the set is empty */
	int task_status; /**< output: 0, WEFT_ECANCELED or -EMSGSIZE */
	uint64_t id; /**< output: the joined task's id */
};
/** A future that joins the next task of set to finish. */
void weft_joinset_next_init(struct weft_joinset_next *f,
                            struct weft_joinset *set, void *out,
                            size_t out_size);

/* ------------------------------------------------------------------ */
/* spawn_blocking                                                      */
/* ------------------------------------------------------------------ */

/**
 * @struct weft_blocking
 * Runs fn(data) on the runtime's blocking pool (the driver's `blocking`
 * method) and is ready once it has returned.  size bytes at data are
 * copied into the job when the future is initialised, fn works on that
 * copy, and when it has run the copy is written back to `out` (size bytes;
 * out may be data itself).  So fn never touches the caller's memory: a
 * future dropped while fn still runs just detaches, and the job frees its
 * copy when fn returns.
 *
 * Output `status`: 0; -ENOMEM (init could not allocate); WEFT_ENOTSUP when
 * the driver has no blocking pool; WEFT_ECLOSED after shutdown.  fn never
 * ran unless status is 0.
 */
struct weft__blocking_job;

struct weft_blocking {
	struct weft_future base; /**< the future's vtable */
	/** the job on the pool, with the copy */
	struct weft__blocking_job *job;
	void *out; /**< where the copy is written back */
	int status; /**< output: 0 or a negative error */
};
/** Copies size bytes at data and runs fn on the copy on the pool. */
void weft_blocking_init(struct weft_blocking *b, void (*fn)(void *data),
                        const void *data, size_t size, void *out);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TASK_H */
