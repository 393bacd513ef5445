/* SPDX-License-Identifier: MIT */
#include "common.h"

atomic_int cw_clones, cw_wakes, cw_drops, cw_wake_refs;


void
run(struct weft_future *fut)
{
	assert_int_equal(weft_block_on(rt, fut), 0);
	weft_future_drop(fut);
}


void
spawn(struct weft_future *fut, struct weft_join **join)
{
	assert_int_equal(weft_spawn(rt, fut, join), 0);
}


struct joiner {
	struct weft_future base;
	struct weft_coro co;
	struct weft_join **joins;
	size_t n, i;
	struct weft_join_future jf;
	int failed;
};


static weft_poll
joiner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct joiner *j = (struct joiner *)f;

	WEFT_BEGIN(&j->co);
	for (j->i = 0; j->i < j->n; j->i++) {
		weft_join_future_init(&j->jf, j->joins[j->i], NULL, 0);
		j->joins[j->i] = NULL; /* the join future owns it now */
		WEFT_AWAIT(&j->co, cx, &j->jf);
		if (j->jf.status != 0)
			j->failed++;
	}
	WEFT_END(&j->co);
}


WEFT_CORO_FUTURE(joiner_vtable, struct joiner, co, failed, joiner_poll);


void
join_all(struct weft_join **joins, size_t n)
{
	struct joiner j = {
	    .base.vtable = &joiner_vtable, .joins = joins, .n = n};

	run(&j.base);
	assert_int_equal(j.failed, 0);
}


void
run_for_ms(unsigned ms)
{
	struct weft_sleep s;

	weft_sleep_init(&s, ms * WEFT_MSEC);
	run(&s.base);
}


static struct weft_waker cw_clone(const void *data);

static void
cw_wake(const void *data)
{
	(void)data;
	atomic_fetch_add(&cw_wakes, 1);
}


static void
cw_wake_by_ref(const void *data)
{
	(void)data;
	atomic_fetch_add(&cw_wake_refs, 1);
}


static void
cw_drop(const void *data)
{
	(void)data;
	atomic_fetch_add(&cw_drops, 1);
}

static const struct weft_waker_vtable cw_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = cw_clone,
    .wake = cw_wake,
    .wake_by_ref = cw_wake_by_ref,
    .drop = cw_drop,
};


static struct weft_waker
cw_clone(const void *data)
{
	atomic_fetch_add(&cw_clones, 1);
	return (struct weft_waker){&cw_vtable, data};
}


void
cw_reset(void)
{
	cw_clones = cw_wakes = cw_drops = cw_wake_refs = 0;
}


struct weft_context
cw_context(void)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){&cw_vtable, NULL}, NULL,
	                  NULL);
	return cx;
}


int
cw_outstanding(void)
{
	return cw_clones - cw_wakes - cw_drops;
}
