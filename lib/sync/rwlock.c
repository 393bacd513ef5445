/* SPDX-License-Identifier: MIT */
/*
 * The async rwlock: a semaphore of WEFT_RWLOCK_MAX_READERS permits.  A
 * reader takes one, a writer takes them all.  Because the semaphore serves
 * its queue in order, a queued writer holds back the readers that arrive
 * after it, and once it is done the readers queued behind it are all
 * served by the same release.
 */
#include <errno.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/weft.h>

#include "waitq.h"

struct weft_rwlock {
	struct weft__sem core;
};


WEFT_EXPORT int
weft_rwlock_new(struct weft_rwlock **out)
{
	struct weft_rwlock *rw = weft_alloc(sizeof(*rw));
	int r;

	if (!rw)
		return -ENOMEM;
	r = weft__sem_init(&rw->core, WEFT_RWLOCK_MAX_READERS);
	if (r < 0) {
		weft_free(rw);
		return r;
	}
	*out = rw;
	return 0;
}


WEFT_EXPORT void
weft_rwlock_free(struct weft_rwlock *rw)
{
	if (!rw)
		return;
	weft__sem_fini(&rw->core);
	weft_free(rw);
}


static weft_poll
rw_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_rwlock_lock *l = (struct weft_rwlock_lock *)f;

	if (weft__sem_poll(&l->rwlock->core, &l->wait, l->weight, cx) == 0)
		return WEFT_PENDING;
	l->status = 0;
	return WEFT_READY;
}


static void
rw_drop(struct weft_future *f)
{
	struct weft_rwlock_lock *l = (struct weft_rwlock_lock *)f;

	weft__sem_cancel(&l->rwlock->core, &l->wait);
}

WEFT_FUTURE_VTABLE(rw_vtable, struct weft_rwlock_lock, status, rw_poll,
                   rw_drop);


WEFT_EXPORT void
weft_rwlock_read_init(struct weft_rwlock_lock *f, struct weft_rwlock *rw)
{
	*f = (struct weft_rwlock_lock){
	    .base.vtable = &rw_vtable, .rwlock = rw, .weight = 1};
}


WEFT_EXPORT void
weft_rwlock_write_init(struct weft_rwlock_lock *f, struct weft_rwlock *rw)
{
	*f = (struct weft_rwlock_lock){.base.vtable = &rw_vtable,
	                               .rwlock = rw,
	                               .weight = WEFT_RWLOCK_MAX_READERS};
}


WEFT_EXPORT int
weft_rwlock_try_read(struct weft_rwlock *rw)
{
	return weft__sem_try(&rw->core, 1);
}


WEFT_EXPORT int
weft_rwlock_try_write(struct weft_rwlock *rw)
{
	return weft__sem_try(&rw->core, WEFT_RWLOCK_MAX_READERS);
}


WEFT_EXPORT void
weft_rwlock_read_unlock(struct weft_rwlock *rw)
{
	weft__sem_release(&rw->core, 1);
}


WEFT_EXPORT void
weft_rwlock_write_unlock(struct weft_rwlock *rw)
{
	weft__sem_release(&rw->core, WEFT_RWLOCK_MAX_READERS);
}
