/* SPDX-License-Identifier: MIT */
/**
 * @file
 * weft ABI 1.x — the binary contract between async code, executors, reactors
 * and the host that loads them.
 *
 * This header is the whole contract. It depends only on <stdint.h>,
 * <stddef.h> and <stdbool.h> and compiles as C99/C11 and as C++.  The rules
 * it implements are numbered in ABI.md (W waker, F future, C context,
 * E executor, R reactor, P plugin/loader, T task core, D driver); the comments
 * here cite them.
 *
 * Versioning: every struct that crosses the boundary starts with a `version`
 * (or `size`) field.  Members are only ever appended; a reader checks the
 * field before touching a member that a later minor version added.  Callers
 * go through the static inline wrappers at the bottom of each section, which
 * check the version and the pointer and return WEFT_ENOTSUP instead of calling
 * through NULL.
 *
 * Errors: functions return 0 (or a count) on success and a negative code on
 * failure: -errno for system errors, and the WEFT_E* codes below (all below
 * -10000, so they never collide with an errno) for weft's own.
 */
#ifndef WEFT_ABI_H
#define WEFT_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Versions and errors                                                 */
/* ------------------------------------------------------------------ */

/** The ABI major version: plugins of another major are refused (P rules). */
#define WEFT_ABI_MAJOR 1
/** The ABI minor version: minors only append members. */
#define WEFT_ABI_MINOR 3
/** Packs a major and a minor version into one uint32_t. */
#define WEFT_ABI_MAKE(major, minor) \
	((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor) & 0xffffu)))
/** This header's ABI version, packed by WEFT_ABI_MAKE(). */
#define WEFT_ABI_VERSION WEFT_ABI_MAKE(WEFT_ABI_MAJOR, WEFT_ABI_MINOR)
/** The major version of a packed version. */
#define WEFT_ABI_GET_MAJOR(v) ((uint32_t)(v) >> 16)
/** The minor version of a packed version. */
#define WEFT_ABI_GET_MINOR(v) ((uint32_t)(v) & 0xffffu)

/** weft's own error codes; system errors are plain -errno. */
#define WEFT_EBASE 10000
#define WEFT_ENOTSUP (-(WEFT_EBASE + 1))   /**< method absent in this version */
#define WEFT_ECLOSED (-(WEFT_EBASE + 2))   /**< runtime or channel is closed */
#define WEFT_ECANCELED (-(WEFT_EBASE + 3)) /**< task aborted or shut down */
#define WEFT_ETIMEDOUT (-(WEFT_EBASE + 4)) /**< a timeout elapsed */
#define WEFT_EABI (-(WEFT_EBASE + 5))      /**< incompatible ABI or layout */
#define WEFT_EPLUGIN (-(WEFT_EBASE + 6))   /**< not a valid weft plugin */
#define WEFT_ECONFIG (-(WEFT_EBASE + 7))   /**< bad configuration */
#define WEFT_ELAGGED (-(WEFT_EBASE + 8))   /**< a receiver missed messages */
#define WEFT_EBUSY (-(WEFT_EBASE + 9))     /**< in use (nested block_on) */
#define WEFT_ETAKEN (-(WEFT_EBASE + 10))   /**< output already taken */
#define WEFT_ELAST WEFT_ETAKEN /**< the last of weft's error codes */

/* ------------------------------------------------------------------ */
/* Poll                                                                */
/* ------------------------------------------------------------------ */

/**
 * The result of polling a future.  Functions that can also fail return an
 * int instead: WEFT_READY (1), WEFT_PENDING (0) or a negative error, which
 * counts as "ready with an error".
 */
typedef enum weft_poll {
	WEFT_PENDING = 0,
	WEFT_READY = 1,
} weft_poll;

/* ------------------------------------------------------------------ */
/* Waker (W rules)                                                     */
/* ------------------------------------------------------------------ */

struct weft_waker;

/**
 * @struct weft_waker_vtable
 * The semantics of Rust's RawWakerVTable.  `data` is whatever the waker's
 * creator put there.  All four may be called from any thread, concurrently
 * with each other and with a poll of the task (W1).
 *
 * clone:        returns a new waker that wakes the same task; the caller
 *               owns it and must drop or wake it exactly once (W5).
 * wake:         schedules the task and consumes this waker (W5).
 * wake_by_ref:  schedules the task; the waker stays owned by the caller.
 * drop:         releases this waker without waking.
 *
 * Waking a finished task does nothing (W2); several wakes before the next
 * poll coalesce into one poll (W3); a wake that arrives while the task is
 * being polled causes one more poll afterwards (W4).
 */
#define WEFT_WAKER_VTABLE_VERSION 1 /**< layout of the struct below */
struct weft_waker_vtable {
	uint32_t version; /**< WEFT_WAKER_VTABLE_VERSION */
	/** a new waker for the same task (W5) */
	struct weft_waker (*clone)(const void *data);
	/** schedules the task, consumes the waker */
	void (*wake)(const void *data);
	/** schedules the task, keeps the waker */
	void (*wake_by_ref)(const void *data);
	/** releases the waker without waking */
	void (*drop)(const void *data);
};

/**
 * A waker is a value: two pointers, copied freely, owned by exactly one
 * holder at a time.  A waker with a NULL vtable is "empty" and every wrapper
 * below treats it as a no-op, so a moved-from or dropped waker is safe to
 * drop again.
 */
struct weft_waker {
	const struct weft_waker_vtable *vtable; /**< NULL: an empty waker */
	const void *data; /**< the creator's data, passed to the vtable */
};

static inline struct weft_waker
weft_waker__noop_clone(const void *data)
{
	(void)data;
	struct weft_waker w = {0, 0};
	return w;
}

static inline void
weft_waker__noop_fn(const void *data)
{
	(void)data;
}

/** A waker that does nothing: for polling outside any runtime. */
static inline struct weft_waker
weft_waker_noop(void)
{
	static const struct weft_waker_vtable vt = {
		WEFT_WAKER_VTABLE_VERSION, weft_waker__noop_clone,
		weft_waker__noop_fn, weft_waker__noop_fn,
		weft_waker__noop_fn,
	};
	struct weft_waker w = {&vt, 0};
	return w;
}

/** A new waker that wakes the same task; the caller owns it (W5). */
static inline struct weft_waker
weft_waker_clone(const struct weft_waker *w)
{
	struct weft_waker none = {0, 0};
	if (!w || !w->vtable || !w->vtable->clone)
		return none;
	return w->vtable->clone(w->data);
}

/** Consumes *w: afterwards it is empty. */
static inline void
weft_waker_wake(struct weft_waker *w)
{
	if (w && w->vtable && w->vtable->wake) {
		const struct weft_waker_vtable *vt = w->vtable;
		w->vtable = 0;
		vt->wake(w->data);
	}
}

/** Schedules the task; *w stays the caller's. */
static inline void
weft_waker_wake_by_ref(const struct weft_waker *w)
{
	if (w && w->vtable && w->vtable->wake_by_ref)
		w->vtable->wake_by_ref(w->data);
}

/** Consumes *w: afterwards it is empty. */
static inline void
weft_waker_drop(struct weft_waker *w)
{
	if (w && w->vtable && w->vtable->drop) {
		const struct weft_waker_vtable *vt = w->vtable;
		w->vtable = 0;
		vt->drop(w->data);
	}
}

/** True when both wake the same task: a pointer comparison (E8). */
static inline bool
weft_waker_will_wake(const struct weft_waker *a, const struct weft_waker *b)
{
	return a->vtable == b->vtable && a->data == b->data;
}

/** Replace *slot by a clone of *w unless it already wakes the same task. */
static inline void
weft_waker_store(struct weft_waker *slot, const struct weft_waker *w)
{
	if (slot->vtable && weft_waker_will_wake(slot, w))
		return;
	weft_waker_drop(slot);
	*slot = weft_waker_clone(w);
}

/* ------------------------------------------------------------------ */
/* Context (C rules)                                                   */
/* ------------------------------------------------------------------ */

struct weft_executor;
struct weft_driver;

/** tokio's cooperative budget: operations a task may do in one poll. */
#define WEFT_BUDGET_DEFAULT 128

/**
 * Handed to every poll; valid only for the duration of that poll (C1).  The
 * executor that polls builds it.  Everything a future needs reaches it
 * through here — never through a global or thread-local — so two runtimes
 * can live in one process (C2).
 *
 * size:      sizeof(struct weft_context) as the executor was built; a
 *            reader checks it before touching a member added after 1.0 (C3).
 * budget:    operations left in this poll.  Leaf futures spend one unit per
 *            operation with weft_budget_spend(); at zero they wake
 *            themselves and return pending (C4).
 * waker:     borrowed: it belongs to the executor; clone it to keep it.
 * executor:  the executor polling this task: spawn here.
 * driver:    the host's I/O and timer driver for this runtime.
 */
struct weft_context {
	uint32_t size; /**< sizeof the context as built (C3) */
	uint32_t budget; /**< operations left in this poll (C4) */
	struct weft_waker waker; /**< borrowed: clone it to keep it */
	struct weft_executor *executor; /**< the executor polling this task */
	struct weft_driver *driver; /**< the runtime's I/O and timer driver */
};

/** True when cx was built with a member this header knows (C3). */
#define WEFT_CONTEXT_HAS(cx, member)                                      \
	((cx)->size >= offsetof(struct weft_context, member) +             \
				sizeof(((struct weft_context *)0)->member))

/** Fills a context for one poll; for executors. */
static inline void
weft_context_init(struct weft_context *cx, struct weft_waker waker,
		  struct weft_executor *executor, struct weft_driver *driver)
{
	cx->size = (uint32_t)sizeof(*cx);
	cx->budget = WEFT_BUDGET_DEFAULT;
	cx->waker = waker;
	cx->executor = executor;
	cx->driver = driver;
}

/**
 * Spend one unit of budget.  Returns false when the budget is exhausted: the
 * caller has then already been woken and must return pending (C4).
 */
static inline bool
weft_budget_spend(struct weft_context *cx)
{
	if (cx->budget == 0) {
		weft_waker_wake_by_ref(&cx->waker);
		return false;
	}
	cx->budget--;
	return true;
}

/* ------------------------------------------------------------------ */
/* Future (F rules)                                                    */
/* ------------------------------------------------------------------ */

struct weft_future;

/**
 * @struct weft_future_vtable
 * A future is any struct whose first member is a `struct weft_future`
 * (a pointer to this vtable); its state, its child futures and its output
 * live in that struct.
 *
 * size:           sizeof the whole future struct: spawn copies this many
 *                 bytes (F5).
 * output_offset,
 * output_size:    where the output sits inside the struct once poll has
 *                 returned ready; output_size 0 means no output (F6).
 * poll:           advances the future; returns WEFT_READY once, after which it
 *                 is never polled again (F2).  On pending it has arranged
 *                 for cx->waker (or a clone) to be woken (F3).
 * drop:           releases everything the future holds, except the output
 *                 bytes, which stay readable in the struct (F4).  Called
 *                 exactly once per future, whether it completed or not (F1).
 *
 * Pinning (F7): a future may be moved by memcpy until its first poll; from
 * the first poll until drop it stays at the same address.
 */
#define WEFT_FUTURE_VTABLE_VERSION 1 /**< layout of the struct below */
struct weft_future_vtable {
	uint32_t version; /**< WEFT_FUTURE_VTABLE_VERSION */
	uint32_t flags; /**< reserved, 0 */
	size_t size; /**< sizeof the whole future (F5) */
	size_t output_offset; /**< where the output sits (F6) */
	size_t output_size; /**< bytes of output; 0: none (F6) */
	/** advances the future (F2, F3) */
	weft_poll (*poll)(struct weft_future *self, struct weft_context *cx);
	/** releases what it holds, once (F1, F4) */
	void (*drop)(struct weft_future *self);
};

/** The first member of every future: a pointer to its vtable. */
struct weft_future {
	const struct weft_future_vtable *vtable; /**< NULL once dropped */
};

/** Polls the future once (F2, F3). */
static inline weft_poll
weft_future_poll(struct weft_future *f, struct weft_context *cx)
{
	return f->vtable->poll(f, cx);
}

/**
 * Drops the future once: afterwards its vtable pointer is NULL, so dropping
 * an empty (zeroed, never initialised or already dropped) slot is a no-op.
 * This is what lets a parent drop all its child slots unconditionally.
 */
static inline void
weft_future_drop(struct weft_future *f)
{
	const struct weft_future_vtable *vt = f->vtable;
	if (vt) {
		f->vtable = 0;
		if (vt->drop)
			vt->drop(f);
	}
}

/** True when the slot holds no future (never initialised or dropped). */
static inline bool
weft_future_is_empty(const struct weft_future *f)
{
	return f->vtable == 0;
}

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

/* ------------------------------------------------------------------ */
/* Driver: the host's I/O readiness and timers (D rules)               */
/* ------------------------------------------------------------------ */

/** Interest and readiness bits. */
#define WEFT_READABLE 0x1u
#define WEFT_WRITABLE 0x2u /**< interest in, or readiness for, writing */
#define WEFT_HUP 0x4u   /**< peer closed (read side ended or hang-up) */
#define WEFT_ERROR 0x8u /**< error pending on the fd */

#define WEFT_TIMEOUT_INFINITE (-1) /**< park without a timeout */

/**
 * @struct weft_driver_ops
 * The host's driver: one per runtime, owning the reactor and the timers.
 * Futures reach it through cx->driver; executors receive it at init.  All
 * methods are thread-safe.  Ids are opaque, never 0, never reused while the
 * registration lives.
 *
 * now:          monotonic time in nanoseconds (D1).
 * timer_add:    arms a timer at an absolute deadline on now()'s clock.
 * timer_poll:   WEFT_READY once now() >= deadline (never early, D2);
 *               WEFT_PENDING after storing cx->waker; negative on a bad id.
 * timer_del:    cancels and frees the timer; its waker is dropped unwoken.
 * io_add:       registers a non-blocking fd with an interest; *id names it.
 * io_poll:      WEFT_READY with *ready set when any of `interest` (or
 *               HUP/ERROR) is ready; WEFT_PENDING after storing cx->waker
 *               for that direction; negative on a bad id.
 * io_clear:     the caller saw EAGAIN: forget the readiness bits `ready`
 *               so the next io_poll waits for a new edge.
 * io_del:       deregisters; events of this fd still in the current batch
 *               are discarded (D4); stored wakers are dropped unwoken (a
 *               wake already taken from a batch in progress may still
 *               arrive, which W2 makes harmless).  The caller closes the fd
 *               only after io_del.
 * park:         executor only: waits for I/O or the next timer, at most
 *               timeout_ns (WEFT_TIMEOUT_INFINITE waits indefinitely), then
 *               wakes the wakers of what became ready.  Returns the number
 *               of wakers woken or a negative error.  One thread at a time.
 * unpark:       makes a concurrent or the next park return promptly.  Any
 *               thread.
 * blocking:     runs fn(arg) on the runtime's pool of blocking threads
 *               (bounded, sized by the configuration), so that blocking
 *               work never stalls a worker; when fn has returned, *done is
 *               woken.  On success *done is moved in (left empty); on
 *               failure (WEFT_ECLOSED after shutdown, -ENOMEM) fn never
 *               runs and *done stays the caller's.  Any thread.
 *               Under a deterministic executor (E13) the job runs on the
 *               parking thread at the next park instead, in submission
 *               order, so that the schedule stays a function of the seed.
 *
 * Version >= 2 (ABI 1.2):
 * clock_advance: moves a virtual clock forward by ns and fires the timers
 *               that became due (D8), like tokio's time::advance; returns
 *               WEFT_ENOTSUP when the reactor keeps no clock (R12), which
 *               is the case for every real reactor.  Any thread.
 * fault:        asks whether the I/O library should inject a fault of the
 *               kind `site` (WEFT_FAULT_*) in the call it is making now:
 *               1 yes, 0 no.  Decided by the runtime's seeded generator
 *               with the configured probability (`sim_faults`), so a
 *               deterministic executor replays the same faults; always 0
 *               when faults are off (D9).  A library that gets 1 fails the
 *               call only in a way the system itself could.
 *
 * Version >= 3 (ABI 1.3), completion I/O (D10, D11):
 * op_submit:    starts an operation on a reactor that claims
 *               WEFT_REACTOR_COMPLETION: 0 with *id set, WEFT_ENOTSUP when
 *               the reactor does not claim it (the caller then uses
 *               readiness: io_add and io_poll), or a negative error.  The
 *               driver owns every buffer it lends the system: it copies
 *               what the operation sends (data of SEND and WRITE, the
 *               address of CONNECT) and allocates len bytes for what it
 *               receives, so the caller's memory is free again at once.
 *               Submissions are handed to the reactor at the next park,
 *               one batch per park.  Any thread.
 * op_poll:      WEFT_READY with *result set (bytes, a new fd, 0, or -errno)
 *               once the operation has completed, and for RECV and READ
 *               *data pointing at the bytes received, readable until
 *               op_del; a multishot accept is ready once per connection,
 *               in order, until its final result; once that final
 *               result was taken, WEFT_ECLOSED.  WEFT_PENDING after
 *               storing cx->waker; negative on a bad id.  Any thread.
 * op_del:       ends the operation and frees the id: one still in flight
 *               is cancelled, its waker dropped unwoken; the driver keeps
 *               its buffer until the reactor reports the final completion
 *               (R16) and closes fds an accept produced that nobody took.
 *               Any thread.
 */
struct weft_io_op;
#define WEFT_DRIVER_OPS_VERSION 3 /**< layout of the struct below */
struct weft_driver_ops {
	uint32_t version; /**< WEFT_DRIVER_OPS_VERSION */
	/** monotonic time in ns (D1) */
	uint64_t (*now)(struct weft_driver *d);
	/** arms a timer at a deadline */
	int (*timer_add)(struct weft_driver *d, uint64_t deadline_ns,
			 uint64_t *id);
	/** ready once the deadline passed (D2) */
	int (*timer_poll)(struct weft_driver *d, uint64_t id,
			  struct weft_context *cx);
	/** cancels and frees a timer */
	void (*timer_del)(struct weft_driver *d, uint64_t id);
	/** registers a non-blocking fd */
	int (*io_add)(struct weft_driver *d, int fd, uint32_t interest,
		      uint64_t *id);
	/** ready when the fd is */
	int (*io_poll)(struct weft_driver *d, uint64_t id, uint32_t interest,
		       struct weft_context *cx, uint32_t *ready);
	/** forgets readiness after EAGAIN */
	void (*io_clear)(struct weft_driver *d, uint64_t id, uint32_t ready);
	/** deregisters an fd (D4) */
	int (*io_del)(struct weft_driver *d, uint64_t id);
	/** waits for I/O or a timer */
	int (*park)(struct weft_driver *d, int64_t timeout_ns);
	int (*unpark)(struct weft_driver *d); /**< makes park return */
	/** runs fn on the blocking pool */
	int (*blocking)(struct weft_driver *d, void (*fn)(void *arg),
			void *arg, struct weft_waker *done);
	/** version >= 2: moves a virtual clock forward (D8) */
	int (*clock_advance)(struct weft_driver *d, uint64_t ns);
	/** version >= 2: 1 to inject a fault of kind site (D9) */
	int (*fault)(struct weft_driver *d, uint32_t site);
	/** version >= 3: starts a completion operation (D10) */
	int (*op_submit)(struct weft_driver *d, const struct weft_io_op *op,
			 uint64_t *id);
	/** version >= 3: ready with the operation's result (D10) */
	int (*op_poll)(struct weft_driver *d, uint64_t id,
		       struct weft_context *cx, int32_t *result,
		       const void **data);
	/** version >= 3: ends the operation, cancelling it in flight (D11) */
	void (*op_del)(struct weft_driver *d, uint64_t id);
};

/**
 * @struct weft_io_op
 * One operation for weft_driver_ops.op_submit (D10).  opcode and flags are
 * those of struct weft_reactor_op (WEFT_OP_*).  Read during op_submit only.
 */
#define WEFT_IO_OP_VERSION 1 /**< layout of the struct below */
struct weft_io_op {
	uint32_t version; /**< WEFT_IO_OP_VERSION */
	uint32_t opcode; /**< WEFT_OP_* */
	int32_t fd; /**< the fd the operation acts on */
	uint32_t flags; /**< WEFT_OP_MULTISHOT, for accept only */
	const void *data; /**< SEND, WRITE: the bytes; CONNECT: the address */
	uint32_t len; /**< bytes of data, or bytes to receive (RECV, READ) */
	uint32_t reserved; /**< 0 */
	int64_t offset; /**< READ and WRITE: file offset, or -1 */
};

/** Fault kinds for weft_driver_ops.fault (D9). */
#define WEFT_FAULT_SHORT_IO 1u /**< a read or write moves fewer bytes */
#define WEFT_FAULT_SPURIOUS 2u /**< readiness that turns out EAGAIN */
#define WEFT_FAULT_RESET 3u    /**< the connection fails with ECONNRESET */

/** The host's driver of a runtime; see struct weft_driver_ops. */
struct weft_driver {
	uint32_t version; /**< version of the driver */
	const struct weft_driver_ops *ops; /**< its methods */
};

#define WEFT__HAS(obj, member, minver)                                   \
	((obj) && (obj)->ops && (obj)->ops->version >= (minver) &&        \
	 (obj)->ops->member)

/** weft_driver_ops.now: monotonic time in nanoseconds (D1). */
static inline uint64_t
weft_driver_now(struct weft_driver *d)
{
	return WEFT__HAS(d, now, 1) ? d->ops->now(d) : 0;
}

/** weft_driver_ops.timer_add, or WEFT_ENOTSUP. */
static inline int
weft_driver_timer_add(struct weft_driver *d, uint64_t deadline, uint64_t *id)
{
	return WEFT__HAS(d, timer_add, 1) ? d->ops->timer_add(d, deadline, id)
					  : WEFT_ENOTSUP;
}

/** weft_driver_ops.timer_poll, or WEFT_ENOTSUP. */
static inline int
weft_driver_timer_poll(struct weft_driver *d, uint64_t id,
		       struct weft_context *cx)
{
	return WEFT__HAS(d, timer_poll, 1) ? d->ops->timer_poll(d, id, cx)
					   : WEFT_ENOTSUP;
}

/** weft_driver_ops.timer_del. */
static inline void
weft_driver_timer_del(struct weft_driver *d, uint64_t id)
{
	if (WEFT__HAS(d, timer_del, 1))
		d->ops->timer_del(d, id);
}

/** weft_driver_ops.io_add, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_add(struct weft_driver *d, int fd, uint32_t interest,
		   uint64_t *id)
{
	return WEFT__HAS(d, io_add, 1) ? d->ops->io_add(d, fd, interest, id)
				       : WEFT_ENOTSUP;
}

/** weft_driver_ops.io_poll, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_poll(struct weft_driver *d, uint64_t id, uint32_t interest,
		    struct weft_context *cx, uint32_t *ready)
{
	return WEFT__HAS(d, io_poll, 1)
		       ? d->ops->io_poll(d, id, interest, cx, ready)
		       : WEFT_ENOTSUP;
}

/** weft_driver_ops.io_clear. */
static inline void
weft_driver_io_clear(struct weft_driver *d, uint64_t id, uint32_t ready)
{
	if (WEFT__HAS(d, io_clear, 1))
		d->ops->io_clear(d, id, ready);
}

/** weft_driver_ops.io_del, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_del(struct weft_driver *d, uint64_t id)
{
	return WEFT__HAS(d, io_del, 1) ? d->ops->io_del(d, id) : WEFT_ENOTSUP;
}

/** weft_driver_ops.park, or WEFT_ENOTSUP. */
static inline int
weft_driver_park(struct weft_driver *d, int64_t timeout_ns)
{
	return WEFT__HAS(d, park, 1) ? d->ops->park(d, timeout_ns)
				     : WEFT_ENOTSUP;
}

/** weft_driver_ops.unpark, or WEFT_ENOTSUP. */
static inline int
weft_driver_unpark(struct weft_driver *d)
{
	return WEFT__HAS(d, unpark, 1) ? d->ops->unpark(d) : WEFT_ENOTSUP;
}

/** weft_driver_ops.blocking, or WEFT_ENOTSUP. */
static inline int
weft_driver_blocking(struct weft_driver *d, void (*fn)(void *arg), void *arg,
		     struct weft_waker *done)
{
	return WEFT__HAS(d, blocking, 1) ? d->ops->blocking(d, fn, arg, done)
					 : WEFT_ENOTSUP;
}

/** weft_driver_ops.clock_advance, or WEFT_ENOTSUP (D8). */
static inline int
weft_driver_clock_advance(struct weft_driver *d, uint64_t ns)
{
	return WEFT__HAS(d, clock_advance, 2) ? d->ops->clock_advance(d, ns)
					      : WEFT_ENOTSUP;
}

/** weft_driver_ops.fault: 1 to inject a fault of kind site, else 0 (D9). */
static inline int
weft_driver_fault(struct weft_driver *d, uint32_t site)
{
	return WEFT__HAS(d, fault, 2) ? d->ops->fault(d, site) : 0;
}

/** weft_driver_ops.op_submit, or WEFT_ENOTSUP (D10). */
static inline int
weft_driver_op_submit(struct weft_driver *d, const struct weft_io_op *op,
		      uint64_t *id)
{
	return WEFT__HAS(d, op_submit, 3) ? d->ops->op_submit(d, op, id)
					  : WEFT_ENOTSUP;
}

/** weft_driver_ops.op_poll, or WEFT_ENOTSUP (D10). */
static inline int
weft_driver_op_poll(struct weft_driver *d, uint64_t id,
		    struct weft_context *cx, int32_t *result, const void **data)
{
	return WEFT__HAS(d, op_poll, 3)
		       ? d->ops->op_poll(d, id, cx, result, data)
		       : WEFT_ENOTSUP;
}

/** weft_driver_ops.op_del (D11); nothing on an older driver. */
static inline void
weft_driver_op_del(struct weft_driver *d, uint64_t id)
{
	if (WEFT__HAS(d, op_del, 3))
		d->ops->op_del(d, id);
}

/**
 * Reads a setting of the runtime's configuration during a plugin's init
 * (P8): the value of `key` as a string, or NULL when unset.  The string is
 * valid until init returns.
 */
typedef const char *(*weft_setting_fn)(void *ctx, const char *key);

/* ------------------------------------------------------------------ */
/* Executor plugin interface (E rules)                                 */
/* ------------------------------------------------------------------ */

/** Capability flags of an executor. */
#define WEFT_EXECUTOR_MULTI_THREAD 0x1u /**< polls tasks on several threads */
/**
 * The schedule is a function of the executor's seed and the program's
 * inputs; the host then runs blocking jobs at park, not on threads (E13).
 * ABI 1.2.
 */
#define WEFT_EXECUTOR_DETERMINISTIC 0x2u

/**
 * @struct weft_executor_params
 * Given to init.  The driver and task core outlive the executor.
 * workers: threads to run (0: the executor's default).
 * setting, setting_ctx (version >= 2, ABI 1.2): the configuration, read
 *          during init (P8).
 */
#define WEFT_EXECUTOR_PARAMS_VERSION 2 /**< layout of the struct below */
struct weft_executor_params {
	uint32_t version; /**< WEFT_EXECUTOR_PARAMS_VERSION */
	uint32_t workers; /**< threads; 0: the executor's default */
	struct weft_driver *driver; /**< the runtime's driver */
	const struct weft_task_core *tasks; /**< the host's task core */
	weft_setting_fn setting; /**< version >= 2: reads a setting (P8) */
	void *setting_ctx; /**< version >= 2: setting's first argument */
};

/**
 * Statistics: the caller sets size to sizeof(its struct); the executor
 * fills what fits, writes nothing past it, and sets size to what it filled
 * (E9).  Counters are cumulative since init (a read never resets them);
 * queue_depth is a snapshot.  completed counts tasks whose future returned
 * ready (task core run_done), or stays 0 when the executor does not count
 * them (E11).
 */
struct weft_executor_stats {
	uint32_t size; /**< in: sizeof the struct; out: bytes filled */
	uint32_t workers; /**< worker threads running */
	uint64_t spawned; /**< tasks spawned */
	uint64_t polls; /**< polls of tasks */
	uint64_t completed; /**< tasks completed, or 0 (E11) */
	uint64_t parks; /**< times a worker parked */
	uint64_t foreign_wakes; /**< wakes from outside the workers */
	uint64_t steals; /**< tasks stolen between workers */
	uint64_t queue_depth; /**< tasks queued now (a snapshot) */
};

/**
 * One worker's statistics (E12, ABI 1.2): filled like weft_executor_stats
 * (the caller sets size; the executor fills what fits and sets size).
 * Counters are cumulative since init; queue_depth is a snapshot of this
 * worker's own queue.
 */
struct weft_worker_stats {
	uint32_t size; /**< in: sizeof the struct; out: bytes filled */
	uint32_t worker; /**< out: the worker's index */
	uint64_t polls; /**< polls on this worker */
	uint64_t steals; /**< tasks this worker stole */
	uint64_t parks; /**< times this worker parked */
	uint64_t queue_depth; /**< tasks in this worker's queue now */
};

/**
 * @struct weft_executor_iface
 * The executor class a plugin exports.  The host allocates instance_size
 * bytes (at least sizeof(struct weft_executor), which must come first in the
 * plugin's private struct), fills the public header, and calls init.
 *
 * init:      0 or negative error; on error fini is not called.  Host thread.
 * spawn:     takes ownership of the future (moved in by copy, F5/E2) and
 *            schedules it; on failure the future has already been dropped.
 *            *join receives the handle (join NULL: detached).  Any thread,
 *            including from inside a poll (E3).
 * block_on:  polls `future` in place (it stays pinned, F7) until ready,
 *            running spawned tasks and parking in the driver meanwhile
 *            (E4).  Returns 0, or WEFT_ECLOSED after shutdown, or
 *            WEFT_EBUSY when called from inside this executor's poll.  The
 *            caller reads the output and drops the future.  One thread at a
 *            time.
 * shutdown:  stops running tasks and drops every spawned future not yet
 *            dropped, exactly once (E5); join handles then report
 *            WEFT_ECANCELED.  Idempotent.  Not from inside a poll.
 * fini:      frees what init allocated; shutdown first if not done.
 * stats:     optional (may be NULL): fills *stats as described above.
 * worker_stats (version >= 2, ABI 1.2): optional: fills *stats for worker
 *            index `worker` (0 .. stats.workers - 1), or returns -ENOENT
 *            past the last one (E12).  Any thread.
 */
#define WEFT_EXECUTOR_IFACE_VERSION 2 /**< layout of the struct below */
struct weft_executor_iface {
	uint32_t version; /**< WEFT_EXECUTOR_IFACE_VERSION */
	uint32_t flags; /**< WEFT_EXECUTOR_* capability flags */
	size_t instance_size; /**< bytes the host allocates */
	/** sets the instance up */
	int (*init)(struct weft_executor *self,
		    const struct weft_executor_params *params);
	/** takes and schedules a future (E2, E3) */
	int (*spawn)(struct weft_executor *self, struct weft_future *future,
		     struct weft_join **join);
	/** runs a future to completion (E4) */
	int (*block_on)(struct weft_executor *self, struct weft_future *future);
	/** drops every task, once (E5) */
	void (*shutdown)(struct weft_executor *self);
	void (*fini)(struct weft_executor *self); /**< frees what init made */
	/** optional: fills the statistics (E9) */
	int (*stats)(struct weft_executor *self,
		     struct weft_executor_stats *stats);
	/** version >= 2, optional: one worker's statistics (E12) */
	int (*worker_stats)(struct weft_executor *self, uint32_t worker,
			    struct weft_worker_stats *stats);
};

/**
 * The public head of every executor instance, filled by the host before
 * init: version is the iface's version, ops the iface itself.
 */
struct weft_executor {
	uint32_t version; /**< version of the instance header */
	const struct weft_executor_iface *ops; /**< its class */
};

/** weft_executor_iface.spawn, or WEFT_ENOTSUP. */
static inline int
weft_executor_spawn(struct weft_executor *e, struct weft_future *future,
		    struct weft_join **join)
{
	if (!WEFT__HAS(e, spawn, 1)) {
		weft_future_drop(future);
		return WEFT_ENOTSUP;
	}
	return e->ops->spawn(e, future, join);
}

/** weft_executor_iface.block_on, or WEFT_ENOTSUP. */
static inline int
weft_executor_block_on(struct weft_executor *e, struct weft_future *future)
{
	return WEFT__HAS(e, block_on, 1) ? e->ops->block_on(e, future)
					 : WEFT_ENOTSUP;
}

/** weft_executor_iface.shutdown. */
static inline void
weft_executor_shutdown(struct weft_executor *e)
{
	if (WEFT__HAS(e, shutdown, 1))
		e->ops->shutdown(e);
}

/**
 * For executors: copies the filled-in `src` into the caller's `dst` as far
 * as dst->size allows, and sets dst->size to what was copied.  Returns 0,
 * or -22 (EINVAL) when dst cannot hold even its size field.
 */
static inline int
weft__sized_fill(void *dst, const void *src, size_t src_size)
{
	uint32_t have;
	size_t n, i;

	if (!dst)
		return -22;
	for (i = 0; i < sizeof(have); i++) /* no memcpy: no <string.h> */
		((unsigned char *)&have)[i] = ((const unsigned char *)dst)[i];
	if (have < sizeof(uint32_t))
		return -22;
	n = have < src_size ? have : src_size;
	for (i = 0; i < n; i++)
		((unsigned char *)dst)[i] = ((const unsigned char *)src)[i];
	have = (uint32_t)n;
	for (i = 0; i < sizeof(have); i++)
		((unsigned char *)dst)[i] = ((const unsigned char *)&have)[i];
	return 0;
}

/** See above: the executor's statistics. */
static inline int
weft_executor_stats_fill(struct weft_executor_stats *dst,
			 const struct weft_executor_stats *src)
{
	return weft__sized_fill(dst, src, sizeof(*src));
}

/** weft_executor_iface.stats, or WEFT_ENOTSUP. */
static inline int
weft_executor_stats(struct weft_executor *e, struct weft_executor_stats *s)
{
	return WEFT__HAS(e, stats, 1) ? e->ops->stats(e, s) : WEFT_ENOTSUP;
}

/** For executors: weft_executor_stats_fill for one worker's statistics. */
static inline int
weft_worker_stats_fill(struct weft_worker_stats *dst,
		       const struct weft_worker_stats *src)
{
	return weft__sized_fill(dst, src, sizeof(*src));
}

/** weft_executor_iface.worker_stats, or WEFT_ENOTSUP (E12). */
static inline int
weft_executor_worker_stats(struct weft_executor *e, uint32_t worker,
			   struct weft_worker_stats *s)
{
	return WEFT__HAS(e, worker_stats, 2)
		       ? e->ops->worker_stats(e, worker, s)
		       : WEFT_ENOTSUP;
}

/* ------------------------------------------------------------------ */
/* Reactor plugin interface (R rules)                                  */
/* ------------------------------------------------------------------ */

struct weft_reactor;

/** Capability flags of a reactor. */
#define WEFT_REACTOR_EDGE 0x1u /**< reports each readiness once per edge */
#define WEFT_REACTOR_LEVEL 0x2u /**< reports readiness while it lasts */
/** add/modify/del may run while another thread is inside wait (R5). */
#define WEFT_REACTOR_CONCURRENT_CTL 0x4u
/**
 * The reactor keeps the runtime's clock: a virtual one that moves only
 * through wait and advance (R12).  ABI 1.2.
 */
#define WEFT_REACTOR_CLOCK 0x8u

/**
 * The reactor runs operations the host submits and reports their
 * completions (R13-R16).  ABI 1.3; needs an interface of version 3.
 */
#define WEFT_REACTOR_COMPLETION 0x10u

/**
 * One readiness report, in an array the host owns.  Frozen: its layout is
 * part of the ABI signature.
 */
struct weft_reactor_event {
	uint64_t token; /**< the token given to add or modify */
	uint32_t ready; /**< WEFT_READABLE | WEFT_WRITABLE | WEFT_HUP | WEFT_ERROR */
	uint32_t reserved; /**< 0 */
};

/**
 * Bits of weft_reactor_event.ready that mark a completion (ABI 1.3, R13).
 * A completion carries the token of its operation, WEFT_COMPLETE, and
 * WEFT_MORE when the operation stays active and will complete again (a
 * multishot accept); its result is read with weft_reactor_event_result().
 * A completion never carries readiness bits, and readiness events never
 * carry these.
 */
#define WEFT_COMPLETE 0x100u
#define WEFT_MORE 0x200u /**< with WEFT_COMPLETE: not the final completion */

/**
 * The result of a completion (R13): a count of bytes, a new fd or 0 on
 * success, -errno on failure.  It travels in the frozen event's last
 * member, so the event's layout is that of 1.0.
 */
static inline int32_t
weft_reactor_event_result(const struct weft_reactor_event *ev)
{
	return (int32_t)ev->reserved;
}

/**
 * Operations a completion reactor runs (R13).  Each does what the named
 * system call does, with its result as that call's return value or -errno.
 *
 * WEFT_OP_RECV     recv(fd, buf, len, 0) on a stream socket; 0 at EOF.
 * WEFT_OP_SEND     send(fd, buf, len, MSG_NOSIGNAL); bytes sent.
 * WEFT_OP_ACCEPT   accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
 *                  the new fd.  With WEFT_OP_MULTISHOT, one completion per
 *                  connection, each with WEFT_MORE while it stays armed.
 *                  buf and len are unused.
 * WEFT_OP_CONNECT  connect(fd, buf, len) on a non-blocking socket, with buf
 *                  a struct sockaddr of len bytes; 0 once connected.
 * WEFT_OP_READ     pread(fd, buf, len, offset), or read(fd, buf, len) when
 *                  offset is -1.
 * WEFT_OP_WRITE    pwrite(fd, buf, len, offset), or write when offset is -1.
 * WEFT_OP_CLOSE    close(fd); buf and len are unused.
 */
#define WEFT_OP_RECV 1u /**< recv on a stream socket */
#define WEFT_OP_SEND 2u /**< send, MSG_NOSIGNAL */
#define WEFT_OP_ACCEPT 3u /**< accept4, non-blocking, close-on-exec */
#define WEFT_OP_CONNECT 4u /**< connect to the address at buf */
#define WEFT_OP_READ 5u /**< pread, or read at offset -1 */
#define WEFT_OP_WRITE 6u /**< pwrite, or write at offset -1 */
#define WEFT_OP_CLOSE 7u /**< close */

/** weft_reactor_op.flags: complete once per result until cancelled. */
#define WEFT_OP_MULTISHOT 0x1u

/**
 * @struct weft_reactor_op
 * One operation, given to a completion reactor's submit (R13).  The struct
 * is read during submit only; buf is owned by the host and lent to the
 * reactor (and the system) from submit until the operation's final
 * completion is reported, and not a moment longer (R16).
 */
#define WEFT_REACTOR_OP_VERSION 1 /**< layout of the struct below */
struct weft_reactor_op {
	uint32_t version; /**< WEFT_REACTOR_OP_VERSION */
	uint32_t opcode; /**< WEFT_OP_* */
	uint64_t token; /**< reported back with each completion */
	int32_t fd; /**< the fd the operation acts on */
	uint32_t flags; /**< WEFT_OP_MULTISHOT, for accept only */
	void *buf; /**< the data, the destination, or the address */
	uint32_t len; /**< bytes at buf, at most INT32_MAX */
	uint32_t reserved; /**< 0 */
	int64_t offset; /**< READ and WRITE: file offset, or -1 */
};

#define WEFT_REACTOR_PARAMS_VERSION 2 /**< layout of the struct below */
/** Given to a reactor's init. */
struct weft_reactor_params {
	uint32_t version; /**< WEFT_REACTOR_PARAMS_VERSION */
	uint32_t max_events; /**< hint: largest batch the host will ask for */
	weft_setting_fn setting; /**< version >= 2: reads a setting (P8) */
	void *setting_ctx; /**< version >= 2: setting's first argument */
};

/**
 * @struct weft_reactor_iface
 * The reactor class a plugin exports.  A reactor reports; it never
 * dispatches or calls back (R1).  Instances are allocated by the host as
 * for executors.  Except for wakeup, methods are called by one thread at a
 * time (the host serialises them) — unless the reactor claims
 * WEFT_REACTOR_CONCURRENT_CTL: then add/modify/del may also run while
 * another thread is inside wait (still never two of them at once), and the
 * host need not interrupt a wait to change a registration.
 *
 * add/modify: register fd with interest (READABLE|WRITABLE) and a token
 *             that wait reports back (R2); negative error (e.g. -EBADF,
 *             -EPERM for a regular file) if the system refuses.
 * del:        forget fd; no event for it is reported by a later wait.
 * wait:       blocks at most timeout_ns (WEFT_TIMEOUT_INFINITE: no limit;
 *             0: just check; never returns early except for events,
 *             wakeup or a signal), fills up to capacity events and returns
 *             their count (0 on timeout, wakeup or EINTR) or -errno (R3).
 * wakeup:     makes a concurrent wait return promptly, or the next one if
 *             none is waiting.  Any thread, concurrently with wait (R4).
 * fini:       frees everything init made.
 *
 * Version >= 2 (ABI 1.2), only with WEFT_REACTOR_CLOCK (R12):
 * now:        the reactor's clock in nanoseconds: monotonic, moved only by
 *             wait and advance.  The host then reads all time from it.
 *             Any thread.
 * advance:    moves the clock forward by ns.  Any thread.
 * With a clock, a wait with a finite timeout that finds no event returns 0
 * at once with the clock moved forward by exactly the timeout (time jumps
 * to the next deadline), and R3's "never early" holds on this clock.
 *
 * Version >= 3 (ABI 1.3), only with WEFT_REACTOR_COMPLETION (R13-R16):
 * submit:     queues an operation; 0 when accepted (exactly one final
 *             completion will be reported for it), or a negative error
 *             and nothing is ever reported for it (-EINVAL for an opcode,
 *             flag or version it does not know).  Never blocks: the
 *             operation starts at the latest in the next wait, which is
 *             how the submissions of a round are batched (R14).  Called
 *             under the same one-thread rule as add.
 * cancel:     asks the operation with this token to end (R15): 0, and its
 *             final completion follows in a later wait, with -ECANCELED
 *             or with its own result if it finished first; -ENOENT when
 *             no operation with this token is in flight.  Same thread
 *             rule as add.
 * With operations in flight, fini returns only once the system has let go
 * of every buffer lent to it (R16).
 */
#define WEFT_REACTOR_IFACE_VERSION 3 /**< layout of the struct below */
struct weft_reactor_iface {
	uint32_t version; /**< WEFT_REACTOR_IFACE_VERSION */
	uint32_t flags; /**< WEFT_REACTOR_* capability flags */
	size_t instance_size; /**< bytes the host allocates */
	/** sets the instance up */
	int (*init)(struct weft_reactor *self,
		    const struct weft_reactor_params *params);
	/** registers fd with a token (R2) */
	int (*add)(struct weft_reactor *self, int fd, uint32_t interest,
		   uint64_t token);
	/** changes interest and token (R2) */
	int (*modify)(struct weft_reactor *self, int fd, uint32_t interest,
		      uint64_t token);
	int (*del)(struct weft_reactor *self, int fd); /**< forgets fd */
	/** reports ready events (R3) */
	int (*wait)(struct weft_reactor *self, struct weft_reactor_event *events,
		    uint32_t capacity, int64_t timeout_ns);
	int (*wakeup)(struct weft_reactor *self); /**< makes wait return (R4) */
	void (*fini)(struct weft_reactor *self); /**< frees what init made */
	/** version >= 2, with WEFT_REACTOR_CLOCK: the clock in ns (R12) */
	uint64_t (*now)(struct weft_reactor *self);
	/** version >= 2, with WEFT_REACTOR_CLOCK: moves the clock (R12) */
	int (*advance)(struct weft_reactor *self, uint64_t ns);
	/** version >= 3, with WEFT_REACTOR_COMPLETION: queues an op (R13) */
	int (*submit)(struct weft_reactor *self,
		      const struct weft_reactor_op *op);
	/** version >= 3, with WEFT_REACTOR_COMPLETION: ends an op (R15) */
	int (*cancel)(struct weft_reactor *self, uint64_t token);
};

/** The public head of every reactor instance; filled as for executors. */
struct weft_reactor {
	uint32_t version; /**< version of the instance header */
	const struct weft_reactor_iface *ops; /**< its class */
};

/** weft_reactor_iface.add, or WEFT_ENOTSUP. */
static inline int
weft_reactor_add(struct weft_reactor *r, int fd, uint32_t interest,
		 uint64_t token)
{
	return WEFT__HAS(r, add, 1) ? r->ops->add(r, fd, interest, token)
				    : WEFT_ENOTSUP;
}

/** weft_reactor_iface.modify, or WEFT_ENOTSUP. */
static inline int
weft_reactor_modify(struct weft_reactor *r, int fd, uint32_t interest,
		    uint64_t token)
{
	return WEFT__HAS(r, modify, 1) ? r->ops->modify(r, fd, interest, token)
				       : WEFT_ENOTSUP;
}

/** weft_reactor_iface.del, or WEFT_ENOTSUP. */
static inline int
weft_reactor_del(struct weft_reactor *r, int fd)
{
	return WEFT__HAS(r, del, 1) ? r->ops->del(r, fd) : WEFT_ENOTSUP;
}

/** weft_reactor_iface.wait, or WEFT_ENOTSUP. */
static inline int
weft_reactor_wait(struct weft_reactor *r, struct weft_reactor_event *ev,
		  uint32_t capacity, int64_t timeout_ns)
{
	return WEFT__HAS(r, wait, 1) ? r->ops->wait(r, ev, capacity, timeout_ns)
				     : WEFT_ENOTSUP;
}

/** weft_reactor_iface.wakeup, or WEFT_ENOTSUP. */
static inline int
weft_reactor_wakeup(struct weft_reactor *r)
{
	return WEFT__HAS(r, wakeup, 1) ? r->ops->wakeup(r) : WEFT_ENOTSUP;
}

/** True when the reactor keeps the runtime's clock (R12). */
static inline bool
weft_reactor_has_clock(const struct weft_reactor *r)
{
	return WEFT__HAS(r, now, 2) && r->ops->advance &&
	       (r->ops->flags & WEFT_REACTOR_CLOCK);
}

/** weft_reactor_iface.advance, or WEFT_ENOTSUP (R12). */
static inline int
weft_reactor_advance(struct weft_reactor *r, uint64_t ns)
{
	return weft_reactor_has_clock(r) ? r->ops->advance(r, ns)
					 : WEFT_ENOTSUP;
}

/** True when the reactor runs submitted operations (R13, ABI 1.3). */
static inline bool
weft_reactor_has_completion(const struct weft_reactor *r)
{
	return WEFT__HAS(r, submit, 3) && r->ops->cancel &&
	       (r->ops->flags & WEFT_REACTOR_COMPLETION);
}

/** weft_reactor_iface.submit, or WEFT_ENOTSUP (R13). */
static inline int
weft_reactor_submit(struct weft_reactor *r, const struct weft_reactor_op *op)
{
	return weft_reactor_has_completion(r) ? r->ops->submit(r, op)
					      : WEFT_ENOTSUP;
}

/** weft_reactor_iface.cancel, or WEFT_ENOTSUP (R15). */
static inline int
weft_reactor_cancel(struct weft_reactor *r, uint64_t token)
{
	return weft_reactor_has_completion(r) ? r->ops->cancel(r, token)
					      : WEFT_ENOTSUP;
}

/* ------------------------------------------------------------------ */
/* Plugins and loading (P rules)                                       */
/* ------------------------------------------------------------------ */

#define WEFT_PLUGIN_MAGIC 0x54464557u /**< "WEFT" in little-endian bytes */

/** What a plugin provides. */
enum weft_plugin_kind {
	WEFT_PLUGIN_EXECUTOR = 1,
	WEFT_PLUGIN_REACTOR = 2,
};

/** Packs a plugin's own version, for weft_plugin_descriptor. */
#define WEFT_PLUGIN_VERSION(major, minor, patch)                          \
	((uint32_t)(((major) << 16) | ((minor) << 8) | (patch)))

/**
 * @def WEFT_ABI_SIGNATURE
 * Layout signature: the facts of the build that must match between host
 * and plugin for any struct here to mean the same thing (P4).  The loader
 * refuses a plugin whose signature differs and names both values.  It uses
 * only layouts frozen for the whole 1.x series, never a growable struct.
 */
struct weft__align_probe {
	char c;
	uint64_t x;
};

#define WEFT_ABI_SIGNATURE                                               \
	((uint64_t)sizeof(void *) | ((uint64_t)sizeof(size_t) << 8) |     \
	 ((uint64_t)sizeof(int) << 16) |                                  \
	 ((uint64_t)sizeof(enum weft_poll) << 24) |                       \
	 ((uint64_t)offsetof(struct weft__align_probe, x) << 32) |        \
	 ((uint64_t)sizeof(struct weft_waker) << 40) |                    \
	 ((uint64_t)sizeof(struct weft_reactor_event) << 48) |            \
	 ((uint64_t)0x77 << 56))

/**
 * @struct weft_plugin_descriptor
 * What a plugin describes itself with.  Static, read-only, valid while the
 * plugin is loaded.  iface points to a struct weft_executor_iface or a
 * struct weft_reactor_iface according to kind.
 */
#define WEFT_PLUGIN_DESCRIPTOR_VERSION 1 /**< layout of the struct below */
struct weft_plugin_descriptor {
	uint32_t version; /**< WEFT_PLUGIN_DESCRIPTOR_VERSION */
	uint32_t magic; /**< WEFT_PLUGIN_MAGIC */
	uint32_t abi_major; /**< ABI major version built against */
	uint32_t abi_minor; /**< ABI minor version built against */
	uint32_t kind; /**< enum weft_plugin_kind */
	uint32_t plugin_version; /**< WEFT_PLUGIN_VERSION() of the plugin */
	uint64_t signature; /**< WEFT_ABI_SIGNATURE as built */
	const char *name; /**< the name configurations use */
	const char *description; /**< a one-line description */
	const void *iface; /**< the executor or reactor iface */
};

/**
 * @struct weft_negotiate
 * Version negotiation, in both directions (P3).  The host offers the range
 * of ABI versions it speaks [host_min, host_max] (WEFT_ABI_MAKE values); the
 * plugin writes the version it will use into `chosen`, or returns WEFT_EABI
 * if it speaks none of them.
 */
#define WEFT_NEGOTIATE_VERSION 1 /**< layout of the struct below */
struct weft_negotiate {
	uint32_t version; /**< WEFT_NEGOTIATE_VERSION */
	uint32_t host_min; /**< oldest ABI version the host speaks */
	uint32_t host_max; /**< newest ABI version the host speaks */
	uint32_t chosen; /**< out: the plugin's choice */
};

/**
 * The one symbol every plugin exports (P1).  Enumerates the plugin's
 * descriptors by index: returns 1 and sets *desc (got one), 0 (no more), or a
 * negative error.  Everything else in a plugin is static/hidden.
 *
 * A build that links several plugins into one program defines
 * WEFT_PLUGIN_ENTRY to a name of its own per plugin and hands each entry to
 * weft_plugin_add_builtin(); the dlopen path always looks up
 * WEFT_PLUGIN_ENTRY_NAME.
 */
#ifndef WEFT_PLUGIN_ENTRY
#define WEFT_PLUGIN_ENTRY weft_plugin_entry
#endif
/** The symbol the loader looks up in a plugin. */
#define WEFT_PLUGIN_ENTRY_NAME "weft_plugin_entry"
/** The type of a plugin's entry point (WEFT_PLUGIN_ENTRY). */
typedef int (*weft_plugin_entry_fn)(struct weft_negotiate *neg, uint32_t index,
				    const struct weft_plugin_descriptor **desc);

#if defined(__GNUC__) || defined(__clang__)
/** Marks a symbol visible outside its shared object. */
#define WEFT_EXPORT __attribute__((visibility("default")))
#else
#define WEFT_EXPORT /**< marks a symbol visible outside its object */
#endif

/**
 * The negotiation a 1.x plugin does: pick the newest version both sides
 * speak.  `mine` is the version the plugin was built against.
 */
static inline int
weft_negotiate_pick(struct weft_negotiate *neg, uint32_t mine)
{
	uint32_t pick;
	if (!neg || neg->version < 1)
		return WEFT_EABI;
	pick = mine < neg->host_max ? mine : neg->host_max;
	if (pick < neg->host_min ||
	    WEFT_ABI_GET_MAJOR(pick) != WEFT_ABI_GET_MAJOR(mine))
		return WEFT_EABI;
	neg->chosen = pick;
	return 0;
}

/**
 * Defines the entry symbol of a plugin with exactly one descriptor, `desc`
 * (the usual case: one plugin per .so), negotiating as above.
 */
#define WEFT_PLUGIN_DEFINE_ENTRY(desc)                                     \
	WEFT_EXPORT int WEFT_PLUGIN_ENTRY(                                 \
		struct weft_negotiate *neg, uint32_t index,                 \
		const struct weft_plugin_descriptor **out)                  \
	{                                                                  \
		int r_ = weft_negotiate_pick(neg, WEFT_ABI_VERSION);        \
		if (r_ < 0)                                                 \
			return r_;                                          \
		if (index > 0)                                              \
			return 0;                                           \
		*out = &(desc);                                             \
		return 1;                                                   \
	}                                                                  \
	typedef int weft__plugin_entry_defined /**< the caller's ';' ends it */

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ABI_H */
