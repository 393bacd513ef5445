/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Stackless coroutines for writing futures in C.
 *
 * A poll function written with these macros reads top to bottom like a
 * Rust `async fn`: each WEFT_AWAIT is an `.await` point.  The technique is
 * Duff's device, as in protothreads: the resume point is a line number kept
 * in the future's struct, and a switch jumps back to it on the next poll.
 * Locals that must survive an await live in the struct, not on the stack
 * (a `case` label cannot restore a C local).
 *
 *     struct greet {
 *             struct weft_future base;
 *             struct weft_coro co;
 *             struct weft_sleep sleep;   // child future, inline
 *             int out;
 *     };
 *
 *     static weft_poll
 *     greet_poll(struct weft_future *f, struct weft_context *cx)
 *     {
 *             struct greet *g = (struct greet *)f;
 *             WEFT_BEGIN(&g->co);
 *             weft_sleep_init(&g->sleep, 100 * WEFT_MSEC);
 *             WEFT_AWAIT(&g->co, cx, &g->sleep);
 *             g->out = 42;
 *             WEFT_END(&g->co);
 *     }
 *
 * Rules: no `switch` of your own may enclose an await point; a child
 * future is initialised right before it is awaited; WEFT_AWAIT drops the
 * child once it is ready (its output stays readable); the future's own
 * drop calls weft_future_drop on every child slot, which is a no-op on a
 * slot that was never started or was already dropped.
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <weft/abi.h>

/** The resume point of a coroutine: a member of the future's struct. */
struct weft_coro {
	int line; /**< 0: not started; -1: finished; else the resume line */
};

/** Opens the body of a poll function; a finished coroutine stays ready. */
#define WEFT_BEGIN(co)          \
	switch ((co)->line) {   \
	case -1:                \
		return WEFT_READY; \
	case 0:

/** Polls `child` (a pointer to a future struct) until it is ready. */
#define WEFT_AWAIT(co, cx, child)                                          \
	do {                                                               \
		(co)->line = __LINE__;                                     \
		/* fallthrough */                                          \
	case __LINE__:                                                     \
		if (weft_future_poll((struct weft_future *)(child), (cx)) == \
		    WEFT_PENDING)                                          \
			return WEFT_PENDING;                               \
		weft_future_drop((struct weft_future *)(child));           \
	} while (0)

/** Waits until `cond` holds; whoever makes it true must wake cx's waker. */
#define WEFT_AWAIT_UNTIL(co, cond)       \
	do {                             \
		(co)->line = __LINE__;   \
		/* fallthrough */        \
	case __LINE__:                   \
		if (!(cond))             \
			return WEFT_PENDING; \
	} while (0)

/** Gives other tasks a turn: wakes itself and returns pending once. */
#define WEFT_YIELD(co, cx)                                   \
	do {                                                 \
		(co)->line = __LINE__;                       \
		weft_waker_wake_by_ref(&(cx)->waker);        \
		return WEFT_PENDING;                         \
	case __LINE__:;                                      \
	} while (0)

/** Finishes the future early (the output must be set first). */
#define WEFT_RETURN(co)                   \
	do {                              \
		(co)->line = -1;          \
		return WEFT_READY;        \
	} while (0)

/** Closes the body opened by WEFT_BEGIN: the future is ready. */
#define WEFT_END(co)              \
	}                         \
	(co)->line = -1;          \
	return WEFT_READY

/**
 * Declares the vtable of a future type `type` whose output is the member
 * `out_member` (use WEFT_FUTURE_VTABLE_NO_OUTPUT for none).
 */
#define WEFT_FUTURE_VTABLE(name, type, out_member, poll_fn, drop_fn)        \
	static const struct weft_future_vtable name = {                    \
		WEFT_FUTURE_VTABLE_VERSION,                                 \
		0,                                                          \
		sizeof(type),                                               \
		offsetof(type, out_member),                                 \
		sizeof(((type *)0)->out_member),                            \
		poll_fn,                                                    \
		drop_fn,                                                    \
	}

/** Declares the vtable of a future type `type` without output. */
#define WEFT_FUTURE_VTABLE_NO_OUTPUT(name, type, poll_fn, drop_fn)          \
	static const struct weft_future_vtable name = {                    \
		WEFT_FUTURE_VTABLE_VERSION, 0, sizeof(type), 0, 0, poll_fn, \
		drop_fn,                                                    \
	}

#endif /* WEFT_CORO_H */
