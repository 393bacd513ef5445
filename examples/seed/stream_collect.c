/* SPDX-License-Identifier: MIT */
/*
 * Stream adapters: 0, 1, 2, ... produced every 50 ms, filtered to the even
 * ones, squared, the first five collected: [0, 4, 16, 36, 64].
 *
 * The chapter's producer is a task sending into an mpsc channel; here it
 * is an interval whose ticks are numbered by a map adapter — a source
 * paced by time, like the producer's sleep.
 */
#include <stdio.h>

#include <weft/stream.h>
#include <weft/time.h>
#include <weft/weft.h>

/* Numbers the ticks: 0, 1, 2, ... (the tick's time is not used). */
static void
count(const void *tick, void *out, void *arg)
{
	int64_t *next = arg;

	(void)tick;
	*(int64_t *)out = (*next)++;
}

static bool
is_even(const void *item, void *arg)
{
	(void)arg;
	return *(const int64_t *)item % 2 == 0;
}

static void
square(const void *in, void *out, void *arg)
{
	int64_t x = *(const int64_t *)in;

	(void)arg;
	*(int64_t *)out = x * x;
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	int64_t counter;
	struct weft_interval ticks;
	struct weft_stream_map numbers;
	struct weft_stream_filter even;
	struct weft_stream_map squares;
	struct weft_stream_take first5;
	struct weft_stream_collect results;
	int status;
};

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	struct weft_vec *v = &e->results.out.vec;
	size_t i;

	WEFT_BEGIN(&e->co);
	weft_interval_init(&e->ticks, 50 * WEFT_MSEC, WEFT_MISSED_TICK_BURST);
	weft_stream_map_init(&e->numbers, &e->ticks.base, sizeof(int64_t),
	                     count, &e->counter);
	weft_stream_filter_init(&e->even, &e->numbers.base, is_even, NULL);
	weft_stream_map_init(&e->squares, &e->even.base, sizeof(int64_t),
	                     square, NULL);
	weft_stream_take_init(&e->first5, &e->squares.base, 5);
	weft_stream_collect_init(&e->results, &e->first5.base);
	WEFT_AWAIT(&e->co, cx, &e->results);
	e->status = e->results.out.status;
	printf("結果: [");
	for (i = 0; i < v->len; i++)
		printf("%s%lld", i ? ", " : "",
		       (long long)*(int64_t *)weft_vec_at(v, i));
	printf("]\n");
	weft_vec_free(v);
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	weft_future_drop(&((struct example *)f)->results.base);
}

WEFT_FUTURE_VTABLE(example_vtable, struct example, status, example_poll,
                   example_drop);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	return status ? status : ex.status != 0;
}
