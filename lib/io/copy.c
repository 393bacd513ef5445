/* SPDX-License-Identifier: MIT */
/*
 * copy_bidirectional: two copies, a to b and b to a, in one future.  Each
 * half reads into its own buffer, writes all of it, and reads again; at
 * the end of its source it shuts down the write half of its destination
 * so that the destination's peer sees the end too.  Both halves are
 * polled on every poll, so each registers its own wake and neither waits
 * for the other.
 */
#include <errno.h>
#include <sys/socket.h>

#include <weft/coro.h>
#include <weft/io_util.h>
#include <weft/weft.h>

#define COPY_BUF 8192


/* Advances one half as far as it can: 0 pending or done, or an error. */
static int
half_poll(struct weft__copy_half *h, struct weft_context *cx)
{
	int n;

	while (!h->done) {
		if (h->pos < h->end) {
			if (!h->writing) {
				weft_io_write_init(&h->wr, h->to,
				                   h->buf + h->pos,
				                   h->end - h->pos);
				h->writing = true;
			}
			if (weft_future_poll(&h->wr.base, cx) == WEFT_PENDING)
				return 0;
			n = h->wr.status;
			weft_future_drop(&h->wr.base);
			h->writing = false;
			if (n < 0)
				return n;
			if (n == 0)
				return -EIO; /* a write that takes nothing */
			h->pos += (size_t)n;
			h->count += (uint64_t)n;
			continue;
		}
		if (h->eof) {
			n = weft_io_shutdown(h->to, SHUT_WR);
			/* The peer may be gone already: nothing to tell it. */
			if (n < 0 && n != -ENOTCONN)
				return n;
			h->done = true;
			break;
		}
		if (!h->reading) {
			weft_io_read_init(&h->rd, h->from, h->buf, COPY_BUF);
			h->reading = true;
		}
		if (weft_future_poll(&h->rd.base, cx) == WEFT_PENDING)
			return 0;
		n = h->rd.status;
		weft_future_drop(&h->rd.base);
		h->reading = false;
		if (n < 0)
			return n;
		if (n == 0)
			h->eof = true;
		h->pos = 0;
		h->end = (size_t)n;
	}
	return 0;
}


static void
half_drop(struct weft__copy_half *h)
{
	weft_future_drop(&h->rd.base);
	weft_future_drop(&h->wr.base);
	h->reading = h->writing = false;
	weft_free(h->buf);
	h->buf = NULL;
}


static weft_poll
copy_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_copy_bidirectional *c = (struct weft_copy_bidirectional *)f;
	int i, r = 0;

	for (i = 0; i < 2; i++) {
		if (!c->half[i].buf)
			c->half[i].buf = weft_alloc(COPY_BUF);
		if (!c->half[i].buf) {
			r = -ENOMEM;
			break;
		}
	}
	for (i = 0; i < 2 && r == 0; i++)
		r = half_poll(&c->half[i], cx);
	c->a_to_b = c->half[0].count;
	c->b_to_a = c->half[1].count;
	if (r < 0) {
		/* The first error ends the copy; the other half stops too. */
		c->status = r;
		half_drop(&c->half[0]);
		half_drop(&c->half[1]);
		return WEFT_READY;
	}
	if (!c->half[0].done || !c->half[1].done)
		return WEFT_PENDING;
	c->status = 0;
	half_drop(&c->half[0]);
	half_drop(&c->half[1]);
	return WEFT_READY;
}


static void
copy_drop(struct weft_future *f)
{
	struct weft_copy_bidirectional *c = (struct weft_copy_bidirectional *)f;

	half_drop(&c->half[0]);
	half_drop(&c->half[1]);
}

WEFT_FUTURE_VTABLE(copy_vtable, struct weft_copy_bidirectional, status,
                   copy_poll, copy_drop);


WEFT_EXPORT void
weft_copy_bidirectional_init(struct weft_copy_bidirectional *f,
                             struct weft_io *a, struct weft_io *b)
{
	*f = (struct weft_copy_bidirectional){.base.vtable = &copy_vtable};
	f->half[0].from = f->half[1].to = a;
	f->half[0].to = f->half[1].from = b;
}
