/* SPDX-License-Identifier: MIT */
/*
 * join, join_all, try_join, try_join_all: poll every child until all are
 * ready, or (try) until the first one reports an error, which cancels the
 * rest by dropping them.
 *
 * A finished child is dropped as soon as it is ready: its output stays
 * readable (F4) and its slot becomes empty, which is how the next poll
 * knows to skip it without a separate "done" array.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <weft/coro.h>
#include <weft/combinator.h>

static struct weft_future **
join_children(struct weft_join_all *j)
{
	return j->children ? j->children : j->inline_;
}


static void
join_drop_children(struct weft_join_all *j)
{
	struct weft_future **kids = join_children(j);
	size_t i;

	for (i = 0; i < j->n; i++)
		if (kids[i])
			weft_future_drop(kids[i]);
}


static weft_poll
join_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_join_all *j = (struct weft_join_all *)f;
	struct weft_future **kids = join_children(j);
	size_t i, left = 0;
	int status;

	for (i = 0; i < j->n; i++) {
		struct weft_future *kid = kids[i];

		if (!kid || weft_future_is_empty(kid))
			continue;
		if (weft_future_poll(kid, cx) == WEFT_PENDING) {
			left++;
			continue;
		}
		status = j->status_fn ? j->status_fn(kid, j->status_arg) : 0;
		weft_future_drop(kid);
		if (status < 0) {
			/* The first error wins: the others are cancelled. */
			j->status = status;
			j->failed = (int)i;
			join_drop_children(j);
			j->left = 0;
			return WEFT_READY;
		}
	}
	j->left = left;
	return left ? WEFT_PENDING : WEFT_READY;
}


static void
join_drop(struct weft_future *f)
{
	join_drop_children((struct weft_join_all *)f);
}

WEFT_FUTURE_VTABLE(join_vtable, struct weft_join_all, status, join_poll,
                   join_drop);


static void
join_setup(struct weft_join_all *j, weft_status_fn status, void *arg,
           struct weft_future **children, size_t n)
{
	*j = (struct weft_join_all){
	    .base.vtable = &join_vtable,
	    .children = children,
	    .n = n,
	    .left = n,
	    .try_ = status != NULL,
	    .status_fn = status,
	    .status_arg = arg,
	    .failed = -1,
	};
}


WEFT_EXPORT int
weft_status_output(const struct weft_future *child, void *arg)
{
	(void)arg;
	return weft_future_status(child);
}


WEFT_EXPORT int
weft_status_at(const struct weft_future *child, void *arg)
{
	int status;

	memcpy(&status, (const char *)child + (uintptr_t)arg, sizeof(status));
	return status;
}


WEFT_EXPORT void
weft_join_all_init(struct weft_join_all *j, struct weft_future **children,
                   size_t n)
{
	join_setup(j, NULL, NULL, children, n);
}


WEFT_EXPORT void
weft_try_join_all_init(struct weft_join_all *j, struct weft_future **children,
                       size_t n, weft_status_fn status, void *arg)
{
	join_setup(j, status, arg, children, n);
}


static int
join_setup_va(struct weft_join_all *j, weft_status_fn status, void *arg,
              size_t n, va_list ap)
{
	size_t i;

	if (n > WEFT_COMBINATOR_INLINE) {
		*j = (struct weft_join_all){0};
		return -E2BIG;
	}
	join_setup(j, status, arg, NULL, n);
	for (i = 0; i < n; i++)
		j->inline_[i] = va_arg(ap, struct weft_future *);
	return 0;
}


WEFT_EXPORT int
weft_join_init(struct weft_join_all *j, size_t n, ...)
{
	va_list ap;
	int r;

	va_start(ap, n);
	r = join_setup_va(j, NULL, NULL, n, ap);
	va_end(ap);
	return r;
}


WEFT_EXPORT int
weft_try_join_init(struct weft_join_all *j, weft_status_fn status, void *arg,
                   size_t n, ...)
{
	va_list ap;
	int r;

	va_start(ap, n);
	r = join_setup_va(j, status, arg, n, ap);
	va_end(ap);
	return r;
}
