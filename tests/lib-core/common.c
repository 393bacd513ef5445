/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "common.h"

uint64_t
now_ns(void)
{
	return weft_driver_now(weft_runtime_driver(rt));
}


void
run(struct weft_future *fut)
{
	assert_int_equal(weft_block_on(rt, fut), 0);
}


void
stall_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}


static weft_poll
probe_poll(struct weft_future *f, struct weft_context *cx)
{
	struct probe *p = (struct probe *)f;

	WEFT_BEGIN(&p->co);
	weft_sleep_init(&p->sleep, p->ms * WEFT_MSEC);
	WEFT_AWAIT(&p->co, cx, &p->sleep);
	p->status = p->result;
	if (p->done)
		atomic_fetch_add(p->done, 1);
	WEFT_END(&p->co);
}


static void
probe_drop(struct weft_future *f)
{
	struct probe *p = (struct probe *)f;

	weft_future_drop(&p->sleep.base);
	if (p->drops)
		atomic_fetch_add(p->drops, 1);
}

WEFT_FUTURE_VTABLE(probe_vtable, struct probe, status, probe_poll, probe_drop);


void
probe_init(struct probe *p, uint64_t ms, int result, atomic_int *drops,
           atomic_int *done)
{
	*p = (struct probe){
	    .base.vtable = &probe_vtable,
	    .ms = ms,
	    .result = result,
	    .drops = drops,
	    .done = done,
	};
}


int step_wakes, step_wake_refs, step_drops;

static struct weft_waker cnt_clone(const void *data);

static void
cnt_wake(const void *data)
{
	(void)data;
	step_wakes++;
}

static void
cnt_wake_by_ref(const void *data)
{
	(void)data;
	step_wake_refs++;
}

static void
cnt_drop(const void *data)
{
	(void)data;
	step_drops++;
}

static const struct weft_waker_vtable cnt_vtable = {
    WEFT_WAKER_VTABLE_VERSION, cnt_clone, cnt_wake, cnt_wake_by_ref, cnt_drop,
};

static struct weft_waker
cnt_clone(const void *data)
{
	return (struct weft_waker){&cnt_vtable, data};
}

struct weft_context
step_context(struct weft_driver *d)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){&cnt_vtable, NULL}, NULL, d);
	step_wakes = step_wake_refs = step_drops = 0;
	return cx;
}
