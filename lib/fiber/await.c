/* SPDX-License-Identifier: MIT */
/*
 * Straight-line awaits for fibers (<weft/await.h>): each function makes
 * one of the library's futures in the fiber's stack frame, awaits it with
 * weft_await and returns what it produced.  weft_await consumes the
 * future in every case, so none of these has a clean-up of its own.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <weft/await.h>

#include "await_priv.h"

/* The calling fiber's executor, or NULL outside a fiber. */
static struct weft_executor *
current_executor(void)
{
	struct weft_context *cx = weft_fiber_context();

	return cx ? cx->executor : NULL;
}

/* The root fiber of weft_fiber_main: arg points to main's function. */
static int
main_trampoline(void *arg)
{
	int (**fn)(void) = arg;

	return (*fn)();
}

WEFT_EXPORT int
weft_fiber_main(int (*fn)(void))
{
	struct weft_fiber f;

	/* A failed init leaves a future that completes with the error. */
	weft_fiber_init(&f, fn ? main_trampoline : NULL, &fn, NULL);
	if (weft_run(&f.base) != 0)
		return 1;
	if (f.result < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(f.result));
		return 1;
	}
	return f.result;
}

WEFT_EXPORT int
weft_spawn_fiber(weft_fiber_fn fn, void *arg, struct weft_join **join)
{
	struct weft_executor *ex = current_executor();

	if (join)
		*join = NULL;
	if (!ex)
		return -EPERM;
	return weft_fiber_spawn(ex, fn, arg, NULL, join);
}

WEFT_EXPORT int
weft_spawn_future(struct weft_future *fut, struct weft_join **join)
{
	struct weft_executor *ex = current_executor();

	if (join)
		*join = NULL;
	if (!fut || !fut->vtable)
		return -EINVAL;
	if (!ex) {
		weft_future_drop(fut);
		return -EPERM;
	}
	return weft_executor_spawn(ex, fut, join);
}

WEFT_EXPORT int
weft_task_await(struct weft_join *join, void *out, size_t size)
{
	struct weft_join_future f;

	if (!join)
		return -EINVAL;
	weft_join_future_init(&f, join, out, size);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_spawn_blocking(void (*fn)(void *data), void *data, size_t size)
{
	struct weft_blocking b;

	if (!fn || (!data && size))
		return -EINVAL;
	if (!weft_in_fiber())
		return -EPERM;
	weft_blocking_init(&b, fn, data, size, data);
	return weft__await_status(&b.base, &b.status);
}

/*
 * Outside a fiber there is no context to ask, but there is no need to: the
 * driver of every runtime is the host's, whose clock is CLOCK_MONOTONIC
 * (D1), so reading it directly gives the same time line.
 */
WEFT_EXPORT uint64_t
weft_now(void)
{
	struct weft_context *cx = weft_fiber_context();
	struct timespec ts;

	if (cx)
		return weft_driver_now(cx->driver);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0; /* no monotonic clock: nothing sound to return */
	return (uint64_t)ts.tv_sec * WEFT_SEC + (uint64_t)ts.tv_nsec;
}

WEFT_EXPORT int
weft_sleep_for(uint64_t duration_ns)
{
	struct weft_sleep s;

	weft_sleep_init(&s, duration_ns);
	return weft__await_status(&s.base, &s.status);
}

WEFT_EXPORT int
weft_sleep_ms(uint64_t ms)
{
	return weft_sleep_for(ms > UINT64_MAX / WEFT_MSEC ? UINT64_MAX
	                                                  : ms * WEFT_MSEC);
}

WEFT_EXPORT int
weft_sleep_until(uint64_t deadline_ns)
{
	struct weft_sleep s;

	weft_sleep_until_init(&s, deadline_ns);
	return weft__await_status(&s.base, &s.status);
}

WEFT_EXPORT int
weft_timeout_await(struct weft_future *fut, uint64_t duration_ns)
{
	struct weft_timeout t;

	if (!fut || !fut->vtable)
		return -EINVAL;
	weft_timeout_init(&t, fut, duration_ns);
	return weft__await_status(&t.base, &t.status);
}

WEFT_EXPORT int
weft_interval_tick_await(struct weft_interval *iv)
{
	struct weft_interval_tick t;

	if (!iv)
		return -EINVAL;
	weft_interval_tick_init(&t, iv);
	return weft__await_status(&t.base, &t.status);
}

/*
 * Copies the n future pointers of a variadic call into v (room for
 * WEFT_COMBINATOR_INLINE); past that, drops them all (they are consumed
 * in every case) and returns -E2BIG.
 */
static int
collect(struct weft_future **v, size_t n, va_list ap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct weft_future *f = va_arg(ap, struct weft_future *);

		if (n > WEFT_COMBINATOR_INLINE)
			weft_future_drop(f);
		else
			v[i] = f;
	}
	return n > WEFT_COMBINATOR_INLINE ? -E2BIG : 0;
}

WEFT_EXPORT int
weft_join_all_await(struct weft_future **futs, size_t n)
{
	struct weft_join_all j;

	weft_join_all_init(&j, futs, n);
	return weft__await_status(&j.base, &j.status);
}

WEFT_EXPORT int
weft_try_join_all_await(struct weft_future **futs, size_t n, size_t *failed)
{
	struct weft_join_all j;
	int r;

	weft_try_join_all_init(&j, futs, n, weft_status_output, NULL);
	r = weft__await_status(&j.base, &j.status);
	if (failed)
		*failed = j.failed >= 0 ? (size_t)j.failed : n;
	return r;
}

WEFT_EXPORT int
weft_join_await(size_t n, ...)
{
	struct weft_future *v[WEFT_COMBINATOR_INLINE];
	va_list ap;
	int r;

	va_start(ap, n);
	r = collect(v, n, ap);
	va_end(ap);
	return r < 0 ? r : weft_join_all_await(v, n);
}

WEFT_EXPORT int
weft_try_join_await(size_t n, ...)
{
	struct weft_future *v[WEFT_COMBINATOR_INLINE];
	va_list ap;
	int r;

	va_start(ap, n);
	r = collect(v, n, ap);
	va_end(ap);
	return r < 0 ? r : weft_try_join_all_await(v, n, NULL);
}

WEFT_EXPORT int
weft_select_all_await(unsigned flags, struct weft_future **branches, size_t n)
{
	struct weft_select s;
	int r;

	weft_select_all_init(&s, flags, branches, n);
	r = weft_await(&s.base);
	if (r < 0)
		return r;
	/* select!'s `else` comes after the branches. */
	return s.winner == WEFT_SELECT_ELSE ? (int)n : s.winner;
}

WEFT_EXPORT int
weft_select_await(unsigned flags, size_t n, ...)
{
	struct weft_future *v[WEFT_COMBINATOR_INLINE];
	va_list ap;
	int r;

	va_start(ap, n);
	r = collect(v, n, ap);
	va_end(ap);
	return r < 0 ? r : weft_select_all_await(flags, v, n);
}

/* ------------------------------------------------------------------ */
/* Fiber calls                                                         */
/* ------------------------------------------------------------------ */

enum calls_mode { CALLS_JOIN, CALLS_TRY_JOIN, CALLS_SELECT };

/*
 * Makes a child fiber per call, all in one allocation with the pointer
 * array the combinator borrows, and awaits the combinator over them.  The
 * combinator owns the fibers: it drops each one once, and a dropped fiber
 * that was running returns through its cancelled awaits.  A fiber that
 * could not be made completes at its first poll with the error.
 */
static int
run_calls(enum calls_mode mode, unsigned flags,
          const struct weft_fiber_call *calls, size_t n, size_t *failed)
{
	struct weft_fiber *fibers;
	struct weft_future **ptrs;
	size_t i;
	int r;

	if (failed)
		*failed = n;
	if (!calls && n)
		return -EINVAL;
	if (!weft_in_fiber())
		return -EPERM;
	if (n > SIZE_MAX / (sizeof(*fibers) + sizeof(*ptrs)))
		return -ENOMEM;
	fibers = weft_calloc(n ? n : 1, sizeof(*fibers) + sizeof(*ptrs));
	if (!fibers)
		return -ENOMEM;
	ptrs = (struct weft_future **)(void *)(fibers + n);
	for (i = 0; i < n; i++) {
		weft_fiber_init(&fibers[i], calls[i].fn, calls[i].arg, NULL);
		ptrs[i] = &fibers[i].base;
	}
	switch (mode) {
	case CALLS_JOIN:
		r = weft_join_all_await(ptrs, n);
		/* Every fiber has completed: its result is set. */
		for (i = 0; r == 0 && i < n; i++)
			if (fibers[i].result < 0)
				r = fibers[i].result;
		break;
	case CALLS_TRY_JOIN:
		r = weft_try_join_all_await(ptrs, n, failed);
		break;
	default:
		r = weft_select_all_await(flags & WEFT_SELECT_BIASED, ptrs, n);
		break;
	}
	weft_free(fibers);
	return r;
}

WEFT_EXPORT int
weft_join_fibers(const struct weft_fiber_call *calls, size_t n)
{
	return run_calls(CALLS_JOIN, 0, calls, n, NULL);
}

WEFT_EXPORT int
weft_try_join_fibers(const struct weft_fiber_call *calls, size_t n,
                     size_t *failed)
{
	return run_calls(CALLS_TRY_JOIN, 0, calls, n, failed);
}

WEFT_EXPORT int
weft_select_fibers(unsigned flags, const struct weft_fiber_call *calls,
                   size_t n)
{
	return run_calls(CALLS_SELECT, flags, calls, n, NULL);
}

/* ------------------------------------------------------------------ */
/* Tasks and channels                                                  */
/* ------------------------------------------------------------------ */

/*
 * A fiber as a join set's task: the fiber, and an output that carries its
 * arg along with its result, so that join_next can tell whose it is.  It
 * holds the fiber by value: it may move until its first poll, as a fiber
 * may (the set copies it in).
 */
struct fiber_task {
	struct weft_future base;
	struct weft_fiber fiber;
	struct weft_fiber_done out;
};

static weft_poll
fiber_task_poll(struct weft_future *f, struct weft_context *cx)
{
	struct fiber_task *t = (struct fiber_task *)f;

	if (weft_future_poll(&t->fiber.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	t->out.result = t->fiber.result;
	weft_future_drop(&t->fiber.base);
	return WEFT_READY;
}

static void
fiber_task_drop(struct weft_future *f)
{
	weft_future_drop(&((struct fiber_task *)f)->fiber.base);
}

static const struct weft_future_vtable fiber_task_vtable = {
    WEFT_FUTURE_VTABLE_VERSION,
    0,
    sizeof(struct fiber_task),
    offsetof(struct fiber_task, out),
    sizeof(struct weft_fiber_done),
    fiber_task_poll,
    fiber_task_drop,
};

WEFT_EXPORT int
weft_joinset_spawn_fiber(struct weft_joinset *set, weft_fiber_fn fn, void *arg,
                         uint64_t *id)
{
	struct weft_executor *ex = current_executor();
	struct fiber_task t = {.base.vtable = &fiber_task_vtable};
	int r;

	if (!set || !fn)
		return -EINVAL;
	if (!ex)
		return -EPERM;
	t.out.arg = arg;
	r = weft_fiber_init(&t.fiber, fn, arg, NULL);
	if (r < 0) {
		weft_future_drop(&t.fiber.base);
		return r;
	}
	return weft_joinset_spawn(set, ex, &t.base, id);
}

WEFT_EXPORT int
weft_joinset_next_await(struct weft_joinset *set, void *out, size_t size)
{
	struct weft_joinset_next f;
	int r;

	if (!set)
		return -EINVAL;
	weft_joinset_next_init(&f, set, out, size);
	r = weft_await(&f.base);
	if (r < 0)
		return r;
	if (f.status == 1 && f.task_status < 0)
		return f.task_status;
	return f.status;
}

WEFT_EXPORT int
weft_mpsc_send_await(struct weft_mpsc_tx *tx, const void *msg)
{
	struct weft_mpsc_send f;

	if (!tx || !msg)
		return -EINVAL;
	weft_mpsc_send_init(&f, tx, msg);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_mpsc_recv_await(struct weft_mpsc_rx *rx, void *out)
{
	struct weft_mpsc_recv f;

	if (!rx || !out)
		return -EINVAL;
	weft_mpsc_recv_init(&f, rx, out);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_oneshot_recv_await(struct weft_oneshot_rx *rx, void *out)
{
	struct weft_oneshot_recv f;

	if (!rx || !out)
		return -EINVAL;
	weft_oneshot_recv_init(&f, rx, out);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_watch_changed_await(struct weft_watch_rx *rx)
{
	struct weft_watch_changed f;

	if (!rx)
		return -EINVAL;
	weft_watch_changed_init(&f, rx);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_cancelled_await(struct weft_cancel_token *t)
{
	struct weft_cancelled f;

	if (!t)
		return -EINVAL;
	weft_cancelled_init(&f, t);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_stream_next_await(struct weft_stream *s, void *item)
{
	struct weft_stream_next f;

	if (!s || (!item && s->item_size))
		return -EINVAL;
	weft_stream_next_init(&f, s, item);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_ctrl_c(void)
{
	struct weft_signal f;

	if (!weft_in_fiber())
		return -EPERM;
	weft_signal_init(&f, WEFT_SIGNAL_BIT(SIGINT));
	return weft__await_status(&f.base, &f.status);
}

/* ------------------------------------------------------------------ */
/* Deadlines, locks, broadcast, TCP and task trackers                  */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_timeout_at_await(struct weft_future *fut, uint64_t deadline_ns)
{
	struct weft_timeout t;

	if (!fut || !fut->vtable)
		return -EINVAL;
	weft_timeout_at_init(&t, fut, deadline_ns);
	return weft__await_status(&t.base, &t.status);
}

WEFT_EXPORT int
weft_mutex_lock_await(struct weft_mutex *m)
{
	struct weft_mutex_lock f;

	if (!m)
		return -EINVAL;
	weft_mutex_lock_init(&f, m);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_broadcast_recv_await(struct weft_broadcast_rx *rx, void *out,
                          uint64_t *missed)
{
	struct weft_broadcast_recv f;
	int r;

	if (!rx || !out)
		return -EINVAL;
	weft_broadcast_recv_init(&f, rx, out);
	r = weft__await_status(&f.base, &f.status);
	if (r == WEFT_ELAGGED && missed)
		*missed = f.missed;
	return r;
}

WEFT_EXPORT int
weft_connect_await(const struct weft_addr *addr, struct weft_io **stream)
{
	struct weft_connect f;
	int r;

	if (!stream)
		return -EINVAL;
	*stream = NULL;
	if (!addr)
		return -EINVAL;
	weft_connect_init(&f, addr);
	r = weft__await_status(&f.base, &f.status);
	if (r == 0)
		*stream = f.stream;
	return r;
}

WEFT_EXPORT int
weft_tracker_spawn_fiber(struct weft_tracker *tracker, weft_fiber_fn fn,
                         void *arg, struct weft_join **join)
{
	struct weft_executor *ex = current_executor();
	struct weft_fiber f;
	int r;

	if (join)
		*join = NULL;
	if (!tracker || !fn)
		return -EINVAL;
	if (!ex)
		return -EPERM;
	/* A fiber may move until its first poll: the tracker copies it. */
	r = weft_fiber_init(&f, fn, arg, NULL);
	if (r < 0) {
		weft_future_drop(&f.base);
		return r;
	}
	return weft_tracker_spawn(tracker, ex, &f.base, join);
}

WEFT_EXPORT int
weft_tracker_wait_await(struct weft_tracker *tracker)
{
	struct weft_tracker_wait f;

	if (!tracker)
		return -EINVAL;
	weft_tracker_wait_init(&f, tracker);
	return weft__await_status(&f.base, &f.status);
}
