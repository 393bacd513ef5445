/* SPDX-License-Identifier: MIT */
/*
 * Streams: the growable array, the sources (iterator, range), the adapters
 * (filter, map, take) and the futures over streams (next, collect).
 *
 * Every loop that can take several items in one poll spends the task's
 * budget per item: a source that is always ready (a range) must not keep
 * its task on the thread forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <weft/coro.h>
#include <weft/stream.h>
#include <weft/weft.h>

/* ---- weft_vec ------------------------------------------------------- */

/* Makes room for one more item.  0 or -ENOMEM (v unchanged). */
static int
vec_reserve(struct weft_vec *v)
{
	size_t unit = v->item_size ? v->item_size : 1;
	size_t cap;
	void *data;

	if (v->len < v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 8;
	if (cap > SIZE_MAX / unit)
		return -ENOMEM;
	data = weft_realloc(v->data, v->cap * unit, cap * unit);
	if (!data)
		return -ENOMEM;
	v->data = data;
	v->cap = cap;
	return 0;
}


WEFT_EXPORT int
weft_vec_push(struct weft_vec *v, const void *item)
{
	int r = vec_reserve(v);

	if (r < 0)
		return r;
	/* A zero-sized item may come as NULL, which memcpy may not take. */
	if (v->item_size)
		memcpy(weft_vec_at(v, v->len), item, v->item_size);
	v->len++;
	return 0;
}


WEFT_EXPORT void
weft_vec_free(struct weft_vec *v)
{
	weft_free(v->data);
	v->data = NULL;
	v->len = 0;
	v->cap = 0;
}


/* ---- iterator source ------------------------------------------------ */

static int
iter_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_stream_iter *it = (struct weft_stream_iter *)s;
	int r;

	if (it->ended)
		return WEFT_STREAM_END;
	if (!weft_budget_spend(cx))
		return WEFT_PENDING;
	r = it->next(it->state, item);
	if (r == 0) {
		it->ended = 1;
		return WEFT_STREAM_END;
	}
	return r < 0 ? r : WEFT_STREAM_ITEM;
}

static const struct weft_stream_vtable iter_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = iter_poll_next,
};


WEFT_EXPORT void
weft_stream_iter_init(struct weft_stream_iter *s, size_t item_size,
                      weft_iter_fn next, void *state)
{
	*s = (struct weft_stream_iter){
	    .base = {.vtable = &iter_vtable, .item_size = item_size},
	    .next = next,
	    .state = state,
	};
}


/* ---- range source --------------------------------------------------- */

static int
range_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_stream_range *r = (struct weft_stream_range *)s;

	if (r->next >= r->end)
		return WEFT_STREAM_END;
	if (!weft_budget_spend(cx))
		return WEFT_PENDING;
	memcpy(item, &r->next, sizeof(r->next));
	r->next++;
	return WEFT_STREAM_ITEM;
}

static const struct weft_stream_vtable range_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = range_poll_next,
};


WEFT_EXPORT void
weft_stream_range_init(struct weft_stream_range *s, int64_t start, int64_t end)
{
	*s = (struct weft_stream_range){
	    .base = {.vtable = &range_vtable, .item_size = sizeof(int64_t)},
	    .next = start,
	    .end = end,
	};
}


/* ---- filter --------------------------------------------------------- */

static int
filter_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_stream_filter *f = (struct weft_stream_filter *)s;
	int r;

	/*
	 * Rejected items cost budget too, so that a filter that rejects a
	 * long run of ready items still gives the thread back.
	 */
	for (;;) {
		r = weft_stream_poll_next(f->inner, cx, item);
		if (r != WEFT_STREAM_ITEM || f->keep(item, f->arg))
			return r;
		if (!weft_budget_spend(cx))
			return WEFT_PENDING;
	}
}

static void
filter_drop(struct weft_stream *s)
{
	weft_stream_drop(((struct weft_stream_filter *)s)->inner);
}

static const struct weft_stream_vtable filter_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = filter_poll_next,
    .drop = filter_drop,
};


WEFT_EXPORT void
weft_stream_filter_init(struct weft_stream_filter *s, struct weft_stream *inner,
                        weft_stream_pred_fn keep, void *arg)
{
	*s = (struct weft_stream_filter){
	    .base = {.vtable = &filter_vtable, .item_size = inner->item_size},
	    .inner = inner,
	    .keep = keep,
	    .arg = arg,
	};
}


/* ---- map ------------------------------------------------------------ */

static int
map_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_stream_map *m = (struct weft_stream_map *)s;
	size_t in_size = m->inner->item_size;
	void *in = m->buf.bytes;
	int r;

	/*
	 * The buffer is chosen at poll time, not at init: init may run before
	 * the adapter is moved to its final address (F7), and a pointer into
	 * the inline buffer would then dangle.
	 */
	if (in_size > sizeof(m->buf.bytes)) {
		if (!m->heap && !(m->heap = weft_alloc(in_size)))
			return -ENOMEM;
		in = m->heap;
	}
	r = weft_stream_poll_next(m->inner, cx, in);
	if (r == WEFT_STREAM_ITEM)
		m->fn(in, item, m->arg);
	return r;
}

static void
map_drop(struct weft_stream *s)
{
	struct weft_stream_map *m = (struct weft_stream_map *)s;

	weft_stream_drop(m->inner);
	weft_free(m->heap);
	m->heap = NULL;
}

static const struct weft_stream_vtable map_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = map_poll_next,
    .drop = map_drop,
};


WEFT_EXPORT void
weft_stream_map_init(struct weft_stream_map *s, struct weft_stream *inner,
                     size_t out_size, weft_stream_map_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->base.vtable = &map_vtable;
	s->base.item_size = out_size;
	s->inner = inner;
	s->fn = fn;
	s->arg = arg;
}


/* ---- take ----------------------------------------------------------- */

static int
take_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_stream_take *t = (struct weft_stream_take *)s;
	int r;

	if (t->left == 0)
		return WEFT_STREAM_END;
	r = weft_stream_poll_next(t->inner, cx, item);
	if (r == WEFT_STREAM_ITEM)
		t->left--;
	else if (r == WEFT_STREAM_END)
		t->left = 0;
	return r;
}

static void
take_drop(struct weft_stream *s)
{
	weft_stream_drop(((struct weft_stream_take *)s)->inner);
}

static const struct weft_stream_vtable take_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = take_poll_next,
    .drop = take_drop,
};


WEFT_EXPORT void
weft_stream_take_init(struct weft_stream_take *s, struct weft_stream *inner,
                      uint64_t n)
{
	*s = (struct weft_stream_take){
	    .base = {.vtable = &take_vtable, .item_size = inner->item_size},
	    .inner = inner,
	    .left = n,
	};
}


/* ---- next ----------------------------------------------------------- */

static weft_poll
next_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_stream_next *n = (struct weft_stream_next *)f;
	int r = weft_stream_poll_next(n->stream, cx, n->item);

	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	if (r == WEFT_STREAM_ITEM)
		n->status = 1;
	else if (r == WEFT_STREAM_END)
		n->status = 0;
	else
		n->status = r;
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(next_vtable, struct weft_stream_next, status, next_poll,
                   NULL);


WEFT_EXPORT void
weft_stream_next_init(struct weft_stream_next *f, struct weft_stream *stream,
                      void *item)
{
	*f = (struct weft_stream_next){
	    .base.vtable = &next_vtable,
	    .stream = stream,
	    .item = item,
	};
}


/* ---- collect -------------------------------------------------------- */

static weft_poll
collect_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_stream_collect *c = (struct weft_stream_collect *)f;
	struct weft_vec *v = &c->out.vec;
	weft_poll ret = WEFT_READY;
	int r;

	/* Items are read straight into a fresh slot of the vector. */
	for (;;) {
		if (vec_reserve(v) < 0) {
			c->out.status = -ENOMEM;
			break;
		}
		r = weft_stream_poll_next(c->stream, cx,
		                          weft_vec_at(v, v->len));
		if (r == WEFT_PENDING) {
			ret = WEFT_PENDING;
			break;
		}
		if (r == WEFT_STREAM_ITEM) {
			v->len++;
			continue;
		}
		c->out.status = r == WEFT_STREAM_END ? 0 : r;
		break;
	}
	if (ret == WEFT_READY) {
		weft_stream_drop(c->stream);
		c->done = 1;
	}
	return ret;
}

static void
collect_drop(struct weft_future *f)
{
	struct weft_stream_collect *c = (struct weft_stream_collect *)f;

	weft_stream_drop(c->stream);
	/* Once ready, the items are the caller's output (F4). */
	if (!c->done)
		weft_vec_free(&c->out.vec);
}

WEFT_FUTURE_VTABLE(collect_vtable, struct weft_stream_collect, out,
                   collect_poll, collect_drop);


WEFT_EXPORT void
weft_stream_collect_init(struct weft_stream_collect *f,
                         struct weft_stream *stream)
{
	*f = (struct weft_stream_collect){
	    .base.vtable = &collect_vtable,
	    .stream = stream,
	    .out.vec.item_size = stream->item_size,
	};
}
