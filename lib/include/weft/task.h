/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Tasks: spawn in one call with an awaitable handle (tokio::spawn and its
 * JoinHandle), a set of spawned tasks joined in the order they finish
 * (tokio's JoinSet), a task tracker (tokio_util's TaskTracker: spawn many,
 * close, wait for all, cancel all), and spawn_blocking, which runs a plain
 * function on the runtime's pool of blocking threads.  The lower layer
 * comes with the runtime (<weft/weft.h>: weft_spawn and its raw handle,
 * weft_join_future, weft_yield).
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <stdbool.h>

#include <weft/cancel.h>
#include <weft/weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* spawn                                                               */
/* ------------------------------------------------------------------ */

/**
 * tokio::spawn in one call: spawns fut (copied in and consumed, E2) on ex
 * (cx->executor inside a future, weft_runtime_executor() outside) and makes
 * *handle the task's JoinHandle, a weft_join_future that is always ready to
 * be awaited:
 *
 * - await it (poll it, WEFT_AWAIT it, or weft_block_on it) for the task's
 *   output, copied into out (out_size bytes; NULL and 0 discard it; out
 *   must stay valid until the handle is ready or dropped): handle->status
 *   is 0, WEFT_ECANCELED when the task was aborted or shut down, -EMSGSIZE
 *   when out_size is smaller than the output, or the spawn's error;
 * - abort the task with weft_join_future_abort();
 * - detach it by dropping the handle (weft_future_drop), which lets the task
 *   run on with its output discarded.
 *
 * The handle is dropped exactly once, like any future.  Returns 0, or the
 * spawn's error (WEFT_ECLOSED after shutdown, -ENOMEM): fut has then been
 * dropped and the handle completes at once with that error as its status.
 */
int weft_spawn_join(struct weft_executor *ex, struct weft_future *fut,
                    struct weft_join_future *handle, void *out,
                    size_t out_size);
#ifndef WEFT_NO_SPAWN_LABELS /* the call site, for weft_runtime_tasks */
/** The function above, recording its call site for weft_runtime_tasks. */
#define weft_spawn_join(ex, fut, handle, out, out_size)                        \
	WEFT__SPAWN_HERE((weft_spawn_join)(ex, fut, handle, out, out_size))
#endif

/**
 * JoinHandle::abort: requests cancellation of the handle's task.  Its
 * future is dropped on the executor without being polled again, unless it
 * already completed; awaiting the handle then gives WEFT_ECANCELED (or the
 * output, if it had completed).  Idempotent; a no-op for a handle whose
 * spawn failed or that was dropped.  From the thread that owns the handle.
 */
void weft_join_future_abort(struct weft_join_future *handle);

/* ------------------------------------------------------------------ */
/* Task tracker                                                        */
/* ------------------------------------------------------------------ */

/**
 * A task tracker, as tokio_util's TaskTracker: tasks spawned through it are
 * counted until their futures have been dropped (run to the end, aborted,
 * cancelled or shut down), and weft_tracker_wait completes once the tracker
 * is closed and no tracked task is left: the shape of a graceful shutdown.
 * Closing does not stop spawning; it only allows wait to complete.  Unlike
 * a join set, a tracker keeps nothing of a finished task, so it suits
 * long-lived servers that spawn without end.
 *
 * Cancellation: every tracker owns a cancellation token (a child of the
 * parent given at weft_tracker_new, if any).  Cancelling it
 * (weft_tracker_cancel, or cancelling the parent) makes every tracked task,
 * now or spawned later, drop its future at its next poll, which the cancel
 * itself brings about.
 *
 * A tracker is a reference-counted object: the handle from weft_tracker_new
 * and each tracked task hold it, so freeing the handle while tasks still
 * run is fine (they are neither cancelled nor waited for).  Every function
 * may be called from any thread, concurrently.
 */
struct weft_tracker;

/**
 * A new open tracker with no task.  parent, if not NULL, is the token above
 * the tracker's own (it is not consumed).  0 or -ENOMEM.
 */
int weft_tracker_new(struct weft_tracker **tracker,
                     struct weft_cancel_token *parent);

/**
 * Releases the handle.  Tracked tasks run on; the tracker's memory goes with
 * the last of them.  No weft_tracker_wait on this handle may be alive.
 * NULL is a no-op.
 */
void weft_tracker_free(struct weft_tracker *tracker);

/**
 * Spawns fut (consumed, E2: it is moved to the heap, so it must not have
 * been polled yet) on ex as a tracked task.  *join, if join is non-NULL,
 * receives the task's join handle (see <weft/abi.h>, and weft_join_future
 * to await it); its output is the tracked task's status, an int: 0 when
 * fut ran to the end, WEFT_ECANCELED when the tracker's token stopped it.
 * fut's own output is discarded: spawn with weft_spawn_join for a task
 * whose output matters.  0, or a negative error (fut has then been
 * dropped).
 */
int weft_tracker_spawn(struct weft_tracker *tracker, struct weft_executor *ex,
                       struct weft_future *fut, struct weft_join **join);
#ifndef WEFT_NO_SPAWN_LABELS
/** The function above, recording its call site for weft_runtime_tasks. */
#define weft_tracker_spawn(tracker, ex, fut, join)                             \
	WEFT__SPAWN_HERE((weft_tracker_spawn)(tracker, ex, fut, join))
#endif

/** Closes the tracker: weft_tracker_wait may now complete. */
void weft_tracker_close(struct weft_tracker *tracker);

/** Opens it again: a wait that has not completed goes on waiting. */
void weft_tracker_reopen(struct weft_tracker *tracker);

/** Whether the tracker is closed. */
bool weft_tracker_is_closed(struct weft_tracker *tracker);

/** Tracked tasks whose futures have not been dropped yet. */
size_t weft_tracker_len(struct weft_tracker *tracker);

/**
 * Cancels the tracker's token: every tracked task drops its future at its
 * next poll (which the cancel schedules), as does every task spawned later.
 * Permanent.  Close and wait to know they are all gone.
 */
void weft_tracker_cancel(struct weft_tracker *tracker);

/**
 * The tracker's token, borrowed for as long as the tracker's handle is
 * held: for a task to watch (weft_cancelled_init) or to hang a child on.
 */
struct weft_cancel_token *weft_tracker_token(struct weft_tracker *tracker);

/**
 * TaskTracker::wait().await: completes once the tracker is closed and every
 * tracked task's future has been dropped.  Any number may wait at once.
 * Output `status`: always 0.  Borrows the tracker.
 */
struct weft_tracker_wait {
	struct weft_future base; /**< the future's vtable */
	struct weft_tracker *tracker; /**< the tracker, borrowed */
	struct weft__wait wait; /**< its place among the waiters (private) */
	int status; /**< output: always 0 */
};
/** A future that waits until tracker is closed and empty. */
void weft_tracker_wait_init(struct weft_tracker_wait *f,
                            struct weft_tracker *tracker);

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
#ifndef WEFT_NO_SPAWN_LABELS
/** The function above, recording its call site for weft_runtime_tasks. */
#define weft_joinset_spawn(set, ex, fut, id)                                   \
	WEFT__SPAWN_HERE((weft_joinset_spawn)(set, ex, fut, id))
#endif

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
