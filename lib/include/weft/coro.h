/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Stackless coroutines for writing futures in C.
 *
 * A poll function written with these macros reads top to bottom like a
 * Rust `async fn`: each WEFT_AWAIT is an `.await` point.  The technique is
 * Duff's device, as in protothreads: the resume point is a number kept in
 * the future's struct, and a switch jumps back to it on the next poll.
 *
 *     struct greet {
 *             struct weft_future base;
 *             struct weft_coro co;
 *             struct weft_sleep sleep;   // child future, inline
 *             int fd;                    // owned: closed by a defer
 *             int out;
 *     };
 *
 *     static void close_fd(void *p) { close(*(int *)p); }
 *
 *     static weft_poll
 *     greet_poll(struct weft_future *f, struct weft_context *cx)
 *     {
 *             struct greet *g = (struct greet *)f;
 *             WEFT_BEGIN(&g->co);
 *             WEFT_DEFER(&g->co, close_fd, &g->fd);
 *             weft_sleep_init(&g->sleep, 100 * WEFT_MSEC);
 *             WEFT_AWAIT(&g->co, cx, &g->sleep);
 *             g->out = 42;
 *             WEFT_END(&g->co);
 *     }
 *
 *     WEFT_CORO_FUTURE(greet_vtable, struct greet, co, out, greet_poll);
 *
 * The rules:
 *
 * - What survives an await: the members of the future's struct.  What does
 *   not: every C local.  The switch jumps to the resume point, past the
 *   local's initialisation, so after an await a local holds garbage.  Keep
 *   locals for scratch work between two awaits, or declare them before
 *   WEFT_BEGIN (they are then set again on every poll).  GCC's
 *   -Wjump-misses-init reports a local declared with an initialiser inside
 *   the body whose scope spans a resume point: build coroutine code with it.
 *   -Wmaybe-uninitialized (-O1 and up) often reports the use itself.
 * - No `switch` of your own may enclose an await point, and no `break` may
 *   leave the coroutine's own switch (a `break` inside a loop of yours is
 *   fine).  Either way the body is left without finishing: a debug build
 *   (no NDEBUG) stops at a WEFT_ASSERT naming it; a release build finishes
 *   the future there, as WEFT_RETURN would (its defers run, its output is
 *   whatever was set).
 * - A child future is initialised right before it is awaited.  WEFT_AWAIT
 *   remembers it while it is pending and drops it once it is ready (its
 *   output stays readable); weft_coro_drop drops it if the future is
 *   dropped mid-await.  A child not awaited with WEFT_AWAIT (one handed to
 *   a combinator, or started ahead) needs a defer or a drop of your own.
 * - Owned resources register their clean-up once with WEFT_DEFER; the
 *   clean-ups run in reverse order when the coroutine finishes (WEFT_END,
 *   WEFT_RETURN) or, if it never does, when it is dropped.  At most
 *   WEFT_CORO_DEFERS at a time.  A resource the future owns from its init
 *   (a stream handed to a spawned handler) is registered there, with
 *   weft_coro_defer, so that a future dropped unpolled releases it too;
 *   its argument must then not point into the future, which spawn still
 *   moves.  weft_coro_undefer takes a registration back (a resource
 *   handed on, or released early, one per loop round).
 * - WEFT_AWAIT_UNTIL waits for a condition that another task or thread
 *   makes true and then signals through a weft_notify: it arms the waiter
 *   before it checks, so no signal is lost.  WEFT_AWAIT_POLL is the raw
 *   form, for an expression that registers cx's waker itself.
 *
 * A struct weft_coro starts zeroed: initialise the future with a compound
 * literal or memset, as any weft future.
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <errno.h>
#include <stddef.h>

#include <weft/abi.h>
#include <weft/assert.h>

/** Most clean-ups a coroutine holds at a time (see WEFT_DEFER). */
#define WEFT_CORO_DEFERS 4

/** A clean-up registered with WEFT_DEFER: fn(arg). */
struct weft_coro_defer {
	void (*fn)(void *arg); /**< the clean-up */
	void *arg;             /**< its argument */
};

/** The state of a coroutine: a member of the future's struct, zeroed. */
struct weft_coro {
	int line; /**< 0: not started; -1: finished; else the resume point */
	unsigned ndefers;          /**< clean-ups registered and not yet run */
	struct weft_future *child; /**< the child awaited, while it pends */
	/** the clean-ups, run from the last one back */
	struct weft_coro_defer defers[WEFT_CORO_DEFERS];
};

/*
 * Resume points.  __COUNTER__ gives every macro use its own number, so two
 * awaits on one line do not collide; the number is passed down as an
 * argument, so the `line =` and the `case` of one await see the same one.
 * Without __COUNTER__ (or with WEFT_CORO_USE_LINE) the line number serves,
 * and two awaits on one line are a duplicate-case compile error.  The +1
 * keeps clear of 0, the start (__COUNTER__ starts at 0).
 */
#if defined(__COUNTER__) && !defined(WEFT_CORO_USE_LINE)
#define WEFT__CORO_ID __COUNTER__
#else
#define WEFT__CORO_ID __LINE__
#endif

#if (defined(__GNUC__) && __GNUC__ >= 7) || defined(__clang__)
#define WEFT__FALLTHROUGH __attribute__((fallthrough))
#else
#define WEFT__FALLTHROUGH ((void)0)
#endif

/**
 * Runs the clean-ups, the last registered first, each once.  Each is
 * removed before it runs, so a clean-up that registers or releases
 * another sees a consistent table.
 */
static inline void
weft__coro_run_defers(struct weft_coro *co)
{
	while (co->ndefers > 0) {
		struct weft_coro_defer d = co->defers[--co->ndefers];
		d.fn(d.arg);
	}
}


/**
 * Registers fn(arg) to run when the coroutine finishes or is dropped.
 * Returns 0; 1 if the same fn and arg are registered already (nothing
 * changes, so a registration that runs again is harmless); or -ENOSPC
 * when WEFT_CORO_DEFERS are held.
 */
static inline int
weft_coro_defer(struct weft_coro *co, void (*fn)(void *), void *arg)
{
	unsigned i;

	for (i = 0; i < co->ndefers; i++)
		if (co->defers[i].fn == fn && co->defers[i].arg == arg)
			return 1;
	if (co->ndefers == WEFT_CORO_DEFERS)
		return -ENOSPC;
	co->defers[co->ndefers].fn = fn;
	co->defers[co->ndefers].arg = arg;
	co->ndefers++;
	return 0;
}

/**
 * Removes the registration of fn(arg), running it first if `run` is true:
 * for a resource released before the end (one per loop iteration) or
 * handed to someone else.  Returns 1 if it was registered, 0 if not.
 */
static inline int
weft_coro_undefer(struct weft_coro *co, void (*fn)(void *), void *arg, bool run)
{
	unsigned i;

	for (i = co->ndefers; i-- > 0;) {
		if (co->defers[i].fn != fn || co->defers[i].arg != arg)
			continue;
		for (; i + 1 < co->ndefers; i++)
			co->defers[i] = co->defers[i + 1];
		co->ndefers--;
		if (run)
			fn(arg);
		return 1;
	}
	return 0;
}

/**
 * What a coroutine future's drop does: drops the child being awaited (if
 * the future is dropped mid-await), then runs the clean-ups not yet run.
 * A finished or never-polled coroutine holds neither.  Call it from a drop
 * of your own, or let WEFT_CORO_FUTURE write that drop.
 */
static inline void
weft_coro_drop(struct weft_coro *co)
{
	struct weft_future *child = co->child;

	co->child = NULL;
	if (child)
		weft_future_drop(child); /* a no-op if already dropped */
	weft__coro_run_defers(co);
}

/** Marks the coroutine finished: what it still holds is released now. */
static inline void
weft__coro_finish(struct weft_coro *co)
{
	co->line = -1;
	weft_coro_drop(co);
}

/**
 * A clean-up for WEFT_DEFER that drops the future `f` points to: for a
 * child started ahead of its await or handed to a combinator.
 */
static inline void
weft_coro_drop_future(void *f)
{
	weft_future_drop((struct weft_future *)f);
}

/**
 * Where a coroutine awaits: the awaited expression as written and its
 * file:line.  The await macros keep one in static storage per await and
 * hand it to weft_task_note_await when the await pends, so that an
 * observing runtime (console on, or a slow-poll threshold) can say what a
 * task awaits (weft_task_info's awaiting).  Lives as long as the code that
 * holds it.
 */
struct weft_await_site {
	const char *what; /**< the awaited expression */
	const char *file; /**< __FILE__ of the await */
	int line;         /**< __LINE__ of the await */
};

/**
 * Notes that the task being polled on this thread now pends on `site`.
 * The innermost await of a poll is kept.  Returns at once when no runtime
 * in the process observes; outside a poll the note is ignored.
 */
void weft_task_note_await(const struct weft_await_site *site);

/** Opens the body of a poll function; a finished coroutine stays ready. */
#define WEFT_BEGIN(co)                                                         \
	switch ((co)->line) {                                                  \
	case -1:                                                               \
		return WEFT_READY;                                             \
	case 0:

/**
 * Polls `fut` (a pointer to a future struct) until it is ready, then drops
 * it (its output stays readable).  fut is evaluated once, when the await
 * starts; the coroutine keeps the pointer while it pends.
 */
#define WEFT_AWAIT(co, cx, fut) WEFT__AWAIT(co, cx, fut, WEFT__CORO_ID)
#define WEFT__AWAIT(co, cx, fut, id)                                           \
	do {                                                                   \
		static const struct weft_await_site weft__site = {             \
		    #fut, __FILE__, __LINE__};                                 \
		(co)->line = (id) + 1;                                         \
		(co)->child = (struct weft_future *)(fut);                     \
		WEFT__FALLTHROUGH;                                             \
	case (id) + 1:                                                         \
		if (weft_future_poll((co)->child, (cx)) == WEFT_PENDING) {     \
			weft_task_note_await(&weft__site);                     \
			return WEFT_PENDING;                                   \
		}                                                              \
		weft_future_drop((co)->child);                                 \
		(co)->child = NULL;                                            \
	} while (0)

/**
 * Waits until `cond` holds.  Whoever makes it true then calls
 * weft_notify_one or weft_notify_waiters on `notify`.  `notified` is a
 * struct weft_notified in the future's struct (include <weft/sync.h>).
 * Each round initialises the waiter, which from then on catches a
 * notification, before it evaluates cond: a change made between the check
 * and the wait still wakes it, as with tokio's Notified::enable.
 */
#define WEFT_AWAIT_UNTIL(co, cx, notified, notify, cond)                       \
	WEFT_AWAIT_ARMED(co, cx, notified,                                     \
	                 weft_notified_init((notified), (notify)), cond)

/**
 * WEFT_AWAIT_UNTIL over any waiter: `arm` initialises the future `waiter`
 * so that an event after `arm` makes it ready even before its first poll;
 * then cond is checked, and if false the waiter is awaited and the round
 * starts again.
 */
#define WEFT_AWAIT_ARMED(co, cx, waiter, arm, cond)                            \
	WEFT__AWAIT_ARMED(co, cx, waiter, arm, cond, WEFT__CORO_ID)
#define WEFT__AWAIT_ARMED(co, cx, waiter, arm, cond, id)                       \
	do {                                                                   \
		for (;;) {                                                     \
			arm;                                                   \
			if (cond) {                                            \
				weft_future_drop(                              \
				    (struct weft_future *)(waiter));           \
				break;                                         \
			}                                                      \
			WEFT__AWAIT(co, cx, waiter, id);                       \
		}                                                              \
	} while (0)

/**
 * Polls `expr` until it is true.  The raw form: expr must itself arrange
 * for cx's waker to be woken whenever it is false, as a poll function does
 * (weft_driver_io_poll, weft_driver_timer_poll).  For a plain flag use
 * WEFT_AWAIT_UNTIL, which cannot lose the wake-up.
 */
#define WEFT_AWAIT_POLL(co, expr) WEFT__AWAIT_POLL(co, expr, WEFT__CORO_ID)
#define WEFT__AWAIT_POLL(co, expr, id)                                         \
	do {                                                                   \
		static const struct weft_await_site weft__site = {             \
		    #expr, __FILE__, __LINE__};                                \
		(co)->line = (id) + 1;                                         \
		WEFT__FALLTHROUGH;                                             \
	case (id) + 1:                                                         \
		if (!(expr)) {                                                 \
			weft_task_note_await(&weft__site);                     \
			return WEFT_PENDING;                                   \
		}                                                              \
	} while (0)

/** Gives other tasks a turn: wakes itself and returns pending once. */
#define WEFT_YIELD(co, cx) WEFT__YIELD(co, cx, WEFT__CORO_ID)
#define WEFT__YIELD(co, cx, id)                                                \
	do {                                                                   \
		(co)->line = (id) + 1;                                         \
		weft_waker_wake_by_ref(&(cx)->waker);                          \
		return WEFT_PENDING;                                           \
	case (id) + 1:;                                                        \
	} while (0)

/**
 * Registers the clean-up fn(arg) (see weft_coro_defer): it runs once, when
 * the coroutine finishes or is dropped, after the clean-ups registered
 * later.  Registering the same fn and arg again does nothing.  Past
 * WEFT_CORO_DEFERS a debug build stops at a WEFT_ASSERT; a release build
 * runs fn(arg) and the other clean-ups and finishes the future there, as
 * WEFT_RETURN would, so nothing leaks and nothing runs without its
 * clean-up registered.
 */
#define WEFT_DEFER(co, fn, arg)                                                \
	do {                                                                   \
		if (weft_coro_defer((co), (fn), (arg)) < 0) {                  \
			WEFT_ASSERT(!"more than WEFT_CORO_DEFERS clean-ups");  \
			(fn)(arg);                                             \
			WEFT_RETURN(co);                                       \
		}                                                              \
	} while (0)

/** Finishes the future early (the output must be set first). */
#define WEFT_RETURN(co)                                                        \
	do {                                                                   \
		weft__coro_finish(co);                                         \
		return WEFT_READY;                                             \
	} while (0)

/**
 * Closes the body opened by WEFT_BEGIN: the future is ready.  The code
 * after the switch runs only if control left the body another way: a
 * top-level `break`, or a resume point the switch did not find (an await
 * inside a switch of the caller's).  A debug build stops there; a release
 * build finishes the future.
 */
#define WEFT_END(co)                                                           \
	weft__coro_finish(co);                                                 \
	return WEFT_READY;                                                     \
	}                                                                      \
	WEFT_ASSERT(                                                           \
	    !"coroutine body left by a break or an await in a switch");        \
	weft__coro_finish(co);                                                 \
	return WEFT_READY

/**
 * Declares the vtable of a future type `type` whose output is the member
 * `out_member` (use WEFT_FUTURE_VTABLE_NO_OUTPUT for none).
 */
#define WEFT_FUTURE_VTABLE(name, type, out_member, poll_fn, drop_fn)           \
	static const struct weft_future_vtable name = {                        \
	    WEFT_FUTURE_VTABLE_VERSION,                                        \
	    0,                                                                 \
	    sizeof(type),                                                      \
	    offsetof(type, out_member),                                        \
	    sizeof(((type *)0)->out_member),                                   \
	    poll_fn,                                                           \
	    drop_fn,                                                           \
	}

/** Declares the vtable of a future type `type` without output. */
#define WEFT_FUTURE_VTABLE_NO_OUTPUT(name, type, poll_fn, drop_fn)             \
	static const struct weft_future_vtable name =                          \
	    {                                                                  \
	        WEFT_FUTURE_VTABLE_VERSION,                                    \
	        0,                                                             \
	        sizeof(type),                                                  \
	        0,                                                             \
	        0,                                                             \
	        poll_fn,                                                       \
	        drop_fn,                                                       \
	}

/** The drop WEFT_CORO_FUTURE writes: weft_coro_drop on `co_member`. */
#define WEFT__CORO_DROP_FN(name, type, co_member)                              \
	static void name##_drop(struct weft_future *f)                         \
	{                                                                      \
		weft_coro_drop(&((type *)f)->co_member);                       \
	}

/**
 * Declares the vtable `name` of a coroutine future, with the drop written
 * for it (its name is `name` followed by `_drop`): weft_coro_drop on the
 * struct weft_coro member `co_member`.  For a future that holds nothing
 * but its awaited child and its deferred clean-ups.
 */
#define WEFT_CORO_FUTURE(name, type, co_member, out_member, poll_fn)           \
	WEFT__CORO_DROP_FN(name, type, co_member)                              \
	WEFT_FUTURE_VTABLE(name, type, out_member, poll_fn, name##_drop)

/** WEFT_CORO_FUTURE for a future without output. */
#define WEFT_CORO_FUTURE_NO_OUTPUT(name, type, co_member, poll_fn)             \
	WEFT__CORO_DROP_FN(name, type, co_member)                              \
	WEFT_FUTURE_VTABLE_NO_OUTPUT(name, type, poll_fn, name##_drop)

#endif /* WEFT_CORO_H */
