/* SPDX-License-Identifier: MIT */
/*
 * fuse: a future that may be polled after it has finished, and that says
 * so, so that select can skip it.
 */
#include <weft/coro.h>
#include <weft/combinator.h>

static weft_poll
fuse_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_fuse *u = (struct weft_fuse *)f;

	if (u->done)
		return WEFT_READY;
	if (weft_future_poll(u->inner, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	u->status = weft_future_status(u->inner);
	weft_future_drop(u->inner);
	u->done = true;
	return WEFT_READY;
}


static void
fuse_drop(struct weft_future *f)
{
	weft_future_drop(((struct weft_fuse *)f)->inner);
}

WEFT_FUTURE_VTABLE(fuse_vtable, struct weft_fuse, status, fuse_poll, fuse_drop);


WEFT_EXPORT void
weft_fuse_init(struct weft_fuse *f, struct weft_future *inner)
{
	*f = (struct weft_fuse){.base.vtable = &fuse_vtable, .inner = inner};
}


WEFT_EXPORT bool
weft_fuse_is_terminated(const struct weft_future *f)
{
	return f->vtable == &fuse_vtable && ((const struct weft_fuse *)f)->done;
}
