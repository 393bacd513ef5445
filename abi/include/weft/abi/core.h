/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The base of the contract: the ABI version and weft's error codes, the poll
 * result, the waker (W rules), the context (C rules) and the future (F rules).
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_CORE_H
#define WEFT_ABI_CORE_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
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

#endif /* WEFT_ABI_CORE_H */
