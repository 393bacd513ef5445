/* SPDX-License-Identifier: MIT */
/*
 * The buffered reader: a buffer, the window of it not yet consumed, and
 * the read that refills it.  The read future lives in the reader, not in
 * the futures that use it, so a read_until dropped while the read is
 * pending leaves it to the next one: the bytes it brings are not lost.
 */
#include <errno.h>
#include <string.h>

#include <weft/coro.h>
#include <weft/io_util.h>
#include <weft/weft.h>

#define DEFAULT_CAPACITY 8192

struct weft_bufreader {
	struct weft_io *io; /* a reference */
	unsigned char *buf;
	size_t cap;
	size_t pos, end; /* buf[pos..end) is read and not consumed */
	bool eof;
	bool reading; /* rd is under way */
	struct weft_io_read rd;
};


WEFT_EXPORT int
weft_bufreader_new(struct weft_bufreader **out, struct weft_io *s,
                   size_t capacity)
{
	struct weft_bufreader *r = weft_calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->cap = capacity ? capacity : DEFAULT_CAPACITY;
	r->buf = weft_alloc(r->cap);
	if (!r->buf) {
		weft_free(r);
		return -ENOMEM;
	}
	r->io = weft_io_ref(s);
	*out = r;
	return 0;
}


WEFT_EXPORT void
weft_bufreader_free(struct weft_bufreader *r)
{
	if (!r)
		return;
	weft_future_drop(&r->rd.base);
	weft_io_close(r->io);
	weft_free(r->buf);
	weft_free(r);
}


WEFT_EXPORT size_t
weft_bufreader_buffered(const struct weft_bufreader *r)
{
	return r->end - r->pos;
}


/*
 * Makes bytes available: 1 when buf[pos..end) holds some, 0 at the end of
 * the stream, WEFT_PENDING (0 too, so told apart by *pending), or an error.
 */
static int
fill(struct weft_bufreader *r, struct weft_context *cx, bool *pending)
{
	int n;

	*pending = false;
	if (r->pos < r->end)
		return 1;
	if (r->eof)
		return 0;
	if (!r->reading) {
		r->pos = r->end = 0;
		weft_io_read_init(&r->rd, r->io, r->buf, r->cap);
		r->reading = true;
	}
	if (weft_future_poll(&r->rd.base, cx) == WEFT_PENDING) {
		*pending = true;
		return 0;
	}
	n = r->rd.status;
	weft_future_drop(&r->rd.base);
	r->reading = false;
	if (n < 0)
		return n;
	if (n == 0) {
		r->eof = true;
		return 0;
	}
	r->end = (size_t)n;
	return 1;
}


/* Appends n bytes to f's data, keeping a NUL after them. */
static int
append(struct weft_read_until *f, const unsigned char *p, size_t n)
{
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 64;
		char *d;

		while (cap < f->len + n + 1)
			cap *= 2;
		d = weft_realloc(f->data, f->cap, cap);
		if (!d)
			return -ENOMEM;
		f->data = d;
		f->cap = cap;
	}
	memcpy(f->data + f->len, p, n);
	f->len += n;
	f->data[f->len] = '\0';
	return 0;
}


static weft_poll
read_until_poll(struct weft_future *fut, struct weft_context *cx)
{
	struct weft_read_until *f = (struct weft_read_until *)fut;
	struct weft_bufreader *r = f->r;
	const unsigned char *start, *hit;
	bool pending;
	size_t n;
	int got;

	for (;;) {
		got = fill(r, cx, &pending);
		if (pending)
			return WEFT_PENDING;
		if (got <= 0) {
			/* The end: what was read so far is the last item. */
			f->status = got < 0              ? got
			            : f->len > INT32_MAX ? INT32_MAX
			                                 : (int)f->len;
			break;
		}
		start = r->buf + r->pos;
		hit = memchr(start, f->delim, r->end - r->pos);
		n = hit ? (size_t)(hit - start) + 1 : r->end - r->pos;
		if (f->max && n > f->max - f->len) {
			/* Only what fits is taken: the rest stays for later. */
			n = f->max - f->len;
			hit = NULL;
			got = -EMSGSIZE;
		}
		if (append(f, start, n) < 0) {
			f->status = -ENOMEM;
			break;
		}
		r->pos += n;
		if (got == -EMSGSIZE) {
			f->status = -EMSGSIZE;
			break;
		}
		if (hit) {
			f->status =
			    f->len > INT32_MAX ? INT32_MAX : (int)f->len;
			break;
		}
	}
	f->done = true;
	return WEFT_READY;
}


static void
read_until_drop(struct weft_future *fut)
{
	struct weft_read_until *f = (struct weft_read_until *)fut;

	/* Ready, the bytes are the caller's output (F4). */
	if (!f->done) {
		weft_free(f->data);
		f->data = NULL;
		f->len = 0;
	}
}

WEFT_FUTURE_VTABLE(read_until_vtable, struct weft_read_until, status,
                   read_until_poll, read_until_drop);


WEFT_EXPORT void
weft_read_until_init(struct weft_read_until *f, struct weft_bufreader *r,
                     int delim, size_t max)
{
	*f = (struct weft_read_until){.base.vtable = &read_until_vtable,
	                              .r = r,
	                              .delim = (unsigned char)delim,
	                              .max = max};
}


WEFT_EXPORT void
weft_read_line_init(struct weft_read_until *f, struct weft_bufreader *r,
                    size_t max)
{
	weft_read_until_init(f, r, '\n', max);
}


/* ---- lines ---------------------------------------------------------- */

static int
lines_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_lines *l = (struct weft_lines *)s;
	struct weft_line out;
	int status;

	if (l->ended)
		return WEFT_STREAM_END;
	if (!l->reading) {
		weft_read_line_init(&l->line, l->r, l->max);
		l->reading = true;
	}
	if (weft_future_poll(&l->line.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	l->reading = false;
	status = l->line.status;
	out = (struct weft_line){l->line.data, l->line.len};
	l->line.data = NULL; /* moved out, or freed below */
	weft_future_drop(&l->line.base);
	if (status <= 0) {
		weft_free(out.data);
		l->ended = true;
		return status < 0 ? status : WEFT_STREAM_END;
	}
	if (out.len && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	if (out.len && out.data[out.len - 1] == '\r')
		out.data[--out.len] = '\0';
	memcpy(item, &out, sizeof(out));
	return WEFT_STREAM_ITEM;
}


static void
lines_drop(struct weft_stream *s)
{
	struct weft_lines *l = (struct weft_lines *)s;

	if (l->reading)
		weft_future_drop(&l->line.base);
	l->reading = false;
}

static const struct weft_stream_vtable lines_vtable = {
    WEFT_STREAM_VTABLE_VERSION, 0, lines_poll_next, lines_drop};


WEFT_EXPORT void
weft_lines_init(struct weft_lines *s, struct weft_bufreader *r, size_t max)
{
	*s = (struct weft_lines){
	    .base = {&lines_vtable, sizeof(struct weft_line)},
	    .r = r,
	    .max = max};
}
