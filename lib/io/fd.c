/* SPDX-License-Identifier: MIT */
/*
 * Readiness for an fd the application owns: tokio's AsyncFd.
 */
#include <errno.h>

#include <weft/io.h>

#include "core.h"

#define BOTH (WEFT_READABLE | WEFT_WRITABLE)

struct weft_async_fd {
	struct weft__io io;
};


WEFT_EXPORT int
weft_async_fd_new(struct weft_async_fd **out, int fd, uint32_t interest)
{
	struct weft_async_fd *a;

	if (fd < 0 || !(interest & BOTH) || (interest & ~BOTH))
		return -EINVAL;
	a = weft__io_new(sizeof(*a), fd, interest, false, false);
	if (!a)
		return -ENOMEM;
	*out = a;
	return 0;
}


WEFT_EXPORT void
weft_async_fd_free(struct weft_async_fd *a)
{
	if (a)
		weft__io_close(&a->io);
}


WEFT_EXPORT int
weft_async_fd_fd(const struct weft_async_fd *a)
{
	return a->io.fd;
}


WEFT_EXPORT void
weft_async_fd_clear(struct weft_async_fd *a, uint32_t bits)
{
	weft__io_clear(&a->io, bits & BOTH);
}


static weft_poll
ready_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_async_fd_ready *r = (struct weft_async_fd_ready *)f;
	uint32_t ready = 0;
	int rc;

	if (!weft_budget_spend(cx))
		return WEFT_PENDING;
	rc = weft__io_ready(&r->afd->io, cx, r->interest, &ready);
	if (rc == WEFT_PENDING)
		return WEFT_PENDING;
	r->status = rc < 0 ? rc : (int)ready;
	return WEFT_READY;
}


static void
ready_drop(struct weft_future *f)
{
	weft__io_unref(&((struct weft_async_fd_ready *)f)->afd->io);
}

WEFT_FUTURE_VTABLE(ready_vtable, struct weft_async_fd_ready, status, ready_poll,
                   ready_drop);


WEFT_EXPORT void
weft_async_fd_ready_init(struct weft_async_fd_ready *f, struct weft_async_fd *a,
                         uint32_t interest)
{
	*f = (struct weft_async_fd_ready){
	    .base.vtable = &ready_vtable, .afd = a, .interest = interest};
	weft__io_ref(&a->io);
}
