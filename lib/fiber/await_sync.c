/* SPDX-License-Identifier: MIT */
/*
 * The one-call awaits of <weft/await.h> for <weft/sync.h> (notify, wait
 * for a condition, semaphore, rwlock, barrier) and for collecting a
 * stream.  Each makes the library's future in the fiber's stack frame and
 * awaits it with weft_await, which consumes it in every case: a lock or
 * permits granted to a future the fiber's drop cancels are passed on by
 * the future's own drop, so nothing here undoes anything itself.
 */
#include <errno.h>

#include <weft/await.h>

#include "await_priv.h"

WEFT_EXPORT int
weft_notified_await(struct weft_notify *n)
{
	struct weft_notified f;

	if (!n)
		return -EINVAL;
	weft_notified_init(&f, n);
	return weft__await_status(&f.base, &f.status);
}

/*
 * Each round arms the waiter before it checks: weft_notified_init records
 * the moment for notify_waiters, and notify_one stores a permit when no one
 * waits, so a change made between the check and the await still ends the
 * await.  Checking first and arming after would lose that wake-up.
 */
WEFT_EXPORT int
weft_await_until(struct weft_notify *n, bool (*cond)(void *arg), void *arg)
{
	struct weft_notified f;
	int r;

	if (!n || !cond)
		return -EINVAL;
	if (!weft_in_fiber())
		return -EPERM;
	for (;;) {
		weft_notified_init(&f, n);
		if (cond(arg)) {
			/* Unpolled: it took no permit and holds no place. */
			weft_future_drop(&f.base);
			return 0;
		}
		r = weft_await(&f.base);
		if (r < 0)
			return r;
	}
}

WEFT_EXPORT int
weft_semaphore_acquire_await(struct weft_semaphore *s, size_t n)
{
	struct weft_semaphore_acquire f;

	if (!s)
		return -EINVAL;
	weft_semaphore_acquire_init(&f, s, n);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_rwlock_read_await(struct weft_rwlock *rw)
{
	struct weft_rwlock_lock f;

	if (!rw)
		return -EINVAL;
	weft_rwlock_read_init(&f, rw);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_rwlock_write_await(struct weft_rwlock *rw)
{
	struct weft_rwlock_lock f;

	if (!rw)
		return -EINVAL;
	weft_rwlock_write_init(&f, rw);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_barrier_wait_await(struct weft_barrier *b)
{
	struct weft_barrier_wait f;

	if (!b)
		return -EINVAL;
	weft_barrier_wait_init(&f, b);
	return weft__await_status(&f.base, &f.leader);
}

WEFT_EXPORT int
weft_stream_collect_await(struct weft_stream *stream, struct weft_vec *out)
{
	struct weft_stream_collect f;
	int r;

	if (!stream || !stream->vtable)
		return -EINVAL;
	if (!out) {
		/* The stream is consumed in every case. */
		weft_stream_drop(stream);
		return -EINVAL;
	}
	weft_stream_collect_init(&f, stream);
	r = weft_await(&f.base);
	if (r < 0) {
		/* Its drop freed what it had collected. */
		*out = (struct weft_vec){0};
		return r;
	}
	*out = f.out.vec;
	return f.out.status;
}
