/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Join handles and the task core (T rules): what a spawned task's handle and an
 * executor's task storage look like to both sides.
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_TASK_H
#define WEFT_ABI_TASK_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
#endif

/* ------------------------------------------------------------------ */
/* Join handles and the task core (T rules)                            */
/* ------------------------------------------------------------------ */

struct weft_join;

/**
 * @struct weft_join_ops
 * A join handle: the spawner's view of a task.  Owned by whoever spawn gave
 * it to; released exactly once, by release (detach) — after which the task
 * keeps running and its output is discarded.
 *
 * poll:    1 when the task completed (its output copied into out, which
 *          must hold output_size bytes, or out_size 0 to discard it);
 *          0 pending (cx->waker stored); negative when it ended otherwise:
 *          WEFT_ECANCELED (aborted or shut down), WEFT_ETAKEN (already
 *          returned), -EMSGSIZE (out too small).  Thread of the awaiter.
 * abort:   requests cancellation: the future is dropped (on the executor)
 *          without being polled again, unless it has already completed.
 *          Any thread.  Idempotent.
 * release: frees the handle (detach).  Any thread.
 */
#define WEFT_JOIN_OPS_VERSION 1 /**< layout of the struct below */
struct weft_join_ops {
	uint32_t version; /**< WEFT_JOIN_OPS_VERSION */
	/** awaits the task's output */
	int (*poll)(struct weft_join *join, struct weft_context *cx, void *out,
		    size_t out_size);
	void (*abort)(struct weft_join *join); /**< requests cancellation */
	/** frees the handle (detach) */
	void (*release)(struct weft_join *join);
};

/** A join handle; see struct weft_join_ops. */
struct weft_join {
	uint32_t version; /**< version of the handle */
	const struct weft_join_ops *ops; /**< its methods */
};

/** weft_join_ops.poll, or WEFT_ENOTSUP. */
static inline int
weft_join_poll(struct weft_join *j, struct weft_context *cx, void *out,
	       size_t out_size)
{
	if (!j || !j->ops || !j->ops->poll)
		return WEFT_ENOTSUP;
	return j->ops->poll(j, cx, out, out_size);
}

/** weft_join_ops.abort: requests cancellation of the task. */
static inline void
weft_join_abort(struct weft_join *j)
{
	if (j && j->ops && j->ops->abort)
		j->ops->abort(j);
}

/** weft_join_ops.release: frees the handle (detach). */
static inline void
weft_join_release(struct weft_join *j)
{
	if (j && j->ops && j->ops->release)
		j->ops->release(j);
}

struct weft_task;
struct weft_task_set;

/**
 * Called by the task core when a task becomes runnable (spawned, woken,
 * aborted).  The executor takes one "runnable" reference: it must later pass
 * the task to run() or drop_runnable() exactly once.  Any thread.
 */
typedef void (*weft_task_schedule_fn)(void *sched, struct weft_task *task);

/**
 * @struct weft_task_core
 * The host's task core, offered to executors through
 * weft_executor_params.tasks.  An executor may use it (then it implements
 * only queues, threads and parking) or bring its own tasks and join handles.
 * One allocation holds the task header and the future; the header carries an
 * atomic state machine, the waker vtable (one per core, so will_wake is a
 * pointer comparison), the join handle, and one pointer-sized link for the
 * executor's intrusive queues.
 *
 * set_new / set_close / set_free:
 *          every task belongs to a set.  set_close marks every task closed
 *          and drops each future not yet dropped; no task of the set may be
 *          running while it runs (stop the workers first).  It returns only
 *          once no call of schedule (or of a root waker's wake) is still
 *          inside the executor, and none starts after it: from then on
 *          wakes, from any thread, never reach the executor (W6), and
 *          spawn into the set fails.  set_free frees a closed set whose
 *          futures have all been dropped; it returns -EBUSY while one is
 *          still alive (a task was running during set_close), and then the
 *          executor must keep alive whatever that task's runner touches.
 * spawn:   copies the future into a new task.  On success *task holds the
 *          first runnable reference — the caller must schedule it —
 *          and *join (if join is non-NULL) the join handle.  On failure the
 *          future has been dropped (E2).
 * run:     polls the task once with cx (whose waker the core fills in),
 *          consuming the runnable reference.  Closed tasks are dropped, not
 *          polled.  If the task was woken during the poll, schedule is
 *          called again before run returns (W4).
 * drop_runnable:
 *          consumes a runnable reference without polling (queue drains at
 *          shutdown).
 * link:    the executor's pointer-sized slot in the header.
 * root_waker (version >= 2, ABI 1.1):
 *          the waker to put in the context of block_on's root future.  The
 *          host owns it, so it may be cloned, woken and dropped from any
 *          thread, also after the runtime is closed and the executor's code
 *          unloaded (W6).  While the set is open, a wake calls
 *          wake(sched), under the same guard as schedule; after set_close
 *          it does nothing.  The returned waker is borrowed for one poll;
 *          its clones are owned.  An empty waker (vtable NULL) means the
 *          host could not allocate it: fail block_on with -ENOMEM.
 * run_done (version >= 3, ABI 1.1):
 *          run, which also tells the caller what happened: 1 when this run
 *          completed the task (its future returned ready), 0 otherwise
 *          (pending, closed, aborted or already dropped).  The answer comes
 *          from the runner's own view of the poll, so an executor counts
 *          completions (stats' `completed`, E11) with a plain per-worker
 *          counter, without a shared atomic on the hot path.
 * id (version >= 4, ABI 1.2):
 *          the task's number: unique within its set, given at spawn in
 *          spawn order starting at 1, never reused, the same for the
 *          task's whole life (T6).  Any thread holding a reference.  An
 *          executor names tasks by it in traces and statistics; under a
 *          deterministic executor the same program and seed give the same
 *          numbers.
 */
#define WEFT_TASK_CORE_VERSION 4 /**< layout of the struct below */
struct weft_task_core {
	uint32_t version; /**< WEFT_TASK_CORE_VERSION */
	/** creates a task set */
	int (*set_new)(struct weft_task_set **set,
		       weft_task_schedule_fn schedule, void *sched);
	/** closes a set, dropping its futures */
	void (*set_close)(struct weft_task_set *set);
	/** frees a closed set, or -EBUSY */
	int (*set_free)(struct weft_task_set *set);
	/** copies a future into a new task */
	int (*spawn)(struct weft_task_set *set, struct weft_future *future,
		     struct weft_task **task, struct weft_join **join);
	/** polls a task once */
	void (*run)(struct weft_task *task, struct weft_context *cx);
	/** drops a runnable reference unpolled */
	void (*drop_runnable)(struct weft_task *task);
	/** the executor's slot in the header */
	void **(*link)(struct weft_task *task);
	/** version >= 2 */
	struct weft_waker (*root_waker)(struct weft_task_set *set,
					void (*wake)(void *sched));
	/** version >= 3 */
	int (*run_done)(struct weft_task *task, struct weft_context *cx);
	/** version >= 4: the task's number (T6) */
	uint64_t (*id)(struct weft_task *task);
};

#endif /* WEFT_ABI_TASK_H */
