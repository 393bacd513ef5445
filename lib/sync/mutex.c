/* SPDX-License-Identifier: MIT */
/*
 * The async mutex: a semaphore of one permit.  The semaphore core already
 * hands a released permit straight to the head of its queue, which is
 * exactly the FIFO handoff the mutex promises.
 */
#include <errno.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/weft.h>

#include "waitq.h"

struct weft_mutex {
	struct weft__sem core;
};


WEFT_EXPORT int
weft_mutex_new(struct weft_mutex **out)
{
	struct weft_mutex *m = weft_alloc(sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = weft__sem_init(&m->core, 1);
	if (r < 0) {
		weft_free(m);
		return r;
	}
	*out = m;
	return 0;
}


WEFT_EXPORT void
weft_mutex_free(struct weft_mutex *m)
{
	if (!m)
		return;
	weft__sem_fini(&m->core);
	weft_free(m);
}


static weft_poll
lock_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_mutex_lock *l = (struct weft_mutex_lock *)f;

	/* The mutex is never closed, so the only outcomes are 0 and 1. */
	if (weft__sem_poll(&l->mutex->core, &l->wait, 1, cx) == 0)
		return WEFT_PENDING;
	l->status = 0;
	return WEFT_READY;
}


static void
lock_drop(struct weft_future *f)
{
	struct weft_mutex_lock *l = (struct weft_mutex_lock *)f;

	weft__sem_cancel(&l->mutex->core, &l->wait);
}

WEFT_FUTURE_VTABLE(lock_vtable, struct weft_mutex_lock, status, lock_poll,
                   lock_drop);


WEFT_EXPORT void
weft_mutex_lock_init(struct weft_mutex_lock *f, struct weft_mutex *m)
{
	*f = (struct weft_mutex_lock){.base.vtable = &lock_vtable, .mutex = m};
}


WEFT_EXPORT int
weft_mutex_try_lock(struct weft_mutex *m)
{
	return weft__sem_try(&m->core, 1);
}


WEFT_EXPORT void
weft_mutex_unlock(struct weft_mutex *m)
{
	weft__sem_release(&m->core, 1);
}
