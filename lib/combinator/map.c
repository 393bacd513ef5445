/* SPDX-License-Identifier: MIT */
/*
 * ready, map and then: the small pieces that let C code chain futures the
 * way FutureExt::map and FutureExt::then do.
 */
#include <weft/coro.h>
#include <weft/combinator.h>

/* ---- ready ---------------------------------------------------------- */

static weft_poll
ready_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(ready_vtable, struct weft_ready, out, ready_poll, NULL);


WEFT_EXPORT void
weft_ready_init(struct weft_ready *f, int status, union weft_value value)
{
	*f = (struct weft_ready){
	    .base.vtable = &ready_vtable,
	    .out = {.status = status, .value = value},
	};
}


/* ---- map ------------------------------------------------------------ */

static weft_poll
map_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_map *m = (struct weft_map *)f;

	if (weft_future_is_empty(m->inner))
		return WEFT_READY;
	if (weft_future_poll(m->inner, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	m->out.status = weft_future_status(m->inner);
	if (m->fn)
		m->fn(m->inner, &m->out, m->arg);
	weft_future_drop(m->inner);
	return WEFT_READY;
}


static void
map_drop(struct weft_future *f)
{
	weft_future_drop(((struct weft_map *)f)->inner);
}

WEFT_FUTURE_VTABLE(map_vtable, struct weft_map, out, map_poll, map_drop);


WEFT_EXPORT void
weft_map_init(struct weft_map *m, struct weft_future *inner, weft_map_fn fn,
              void *arg)
{
	*m = (struct weft_map){
	    .base.vtable = &map_vtable,
	    .inner = inner,
	    .fn = fn,
	    .arg = arg,
	};
}


/* ---- then ----------------------------------------------------------- */

static weft_poll
then_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_then *t = (struct weft_then *)f;

	if (!t->next) {
		if (weft_future_is_empty(t->first))
			return WEFT_READY; /* fn gave no next future */
		if (weft_future_poll(t->first, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		t->out.status = weft_future_status(t->first);
		t->next = t->fn(t->first, &t->out, t->arg);
		weft_future_drop(t->first);
		if (!t->next)
			return WEFT_READY;
	}
	if (weft_future_is_empty(t->next))
		return WEFT_READY;
	if (weft_future_poll(t->next, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	t->out.status = weft_future_status(t->next);
	weft_future_drop(t->next);
	return WEFT_READY;
}


static void
then_drop(struct weft_future *f)
{
	struct weft_then *t = (struct weft_then *)f;

	weft_future_drop(t->first);
	if (t->next)
		weft_future_drop(t->next);
}

WEFT_FUTURE_VTABLE(then_vtable, struct weft_then, out, then_poll, then_drop);


WEFT_EXPORT void
weft_then_init(struct weft_then *t, struct weft_future *first, weft_then_fn fn,
               void *arg)
{
	*t = (struct weft_then){
	    .base.vtable = &then_vtable,
	    .first = first,
	    .fn = fn,
	    .arg = arg,
	};
}
