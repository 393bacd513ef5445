/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous iteration: a producer task sends 0, 1, 2, ... 19 into an
 * mpsc channel, one every 50 ms; the receiver, as a stream, is filtered to
 * the even numbers, squared, and the first five collected:
 * [0, 4, 16, 36, 64].
 */
#include <stdio.h>

#include <weft/channel.h>
#include <weft/stream.h>
#include <weft/weft.h>

/* The producer: owns its sender, which it frees when done. */
struct producer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_tx *tx;
	int32_t i;
	struct weft_mpsc_send send;
	struct weft_sleep sleep;
};

static weft_poll
producer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_BEGIN(&p->co);
	for (p->i = 0; p->i < 20; p->i++) {
		/*
		 * `let _ =`: once the consumer has its five it drops the
		 * stream, and the sends that follow fail, unseen.
		 */
		weft_mpsc_send_init(&p->send, p->tx, &p->i);
		WEFT_AWAIT(&p->co, cx, &p->send);
		weft_sleep_init(&p->sleep, 50 * WEFT_MSEC);
		WEFT_AWAIT(&p->co, cx, &p->sleep);
	}
	weft_mpsc_tx_free(p->tx);
	p->tx = NULL;
	WEFT_END(&p->co);
}

static void
producer_drop(struct weft_future *f)
{
	struct producer *p = (struct producer *)f;

	/* A pending send borrows tx: it goes first. */
	weft_future_drop(&p->send.base);
	weft_future_drop(&p->sleep.base);
	if (p->tx)
		weft_mpsc_tx_free(p->tx);
	p->tx = NULL;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(producer_vtable, struct producer, producer_poll,
                             producer_drop);

static bool
is_even(const void *item, void *arg)
{
	(void)arg;
	return *(const int32_t *)item % 2 == 0;
}

static void
square(const void *in, void *out, void *arg)
{
	int32_t x = *(const int32_t *)in;

	(void)arg;
	*(int32_t *)out = x * x;
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_stream stream;
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
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct producer p;

	WEFT_BEGIN(&e->co);
	e->status = weft_mpsc_new(sizeof(int32_t), 32, &tx, &rx);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	p = (struct producer){.base.vtable = &producer_vtable, .tx = tx};
	e->status = weft_executor_spawn(cx->executor, &p.base, NULL);
	if (e->status < 0) {
		weft_mpsc_rx_free(rx);
		WEFT_RETURN(&e->co);
	}

	/* The consumer: the receiver as a stream (which owns it). */
	weft_mpsc_stream_init(&e->stream, rx);
	weft_stream_filter_init(&e->even, &e->stream.base, is_even, NULL);
	weft_stream_map_init(&e->squares, &e->even.base, sizeof(int32_t),
	                     square, NULL);
	weft_stream_take_init(&e->first5, &e->squares.base, 5);
	weft_stream_collect_init(&e->results, &e->first5.base);
	WEFT_AWAIT(&e->co, cx, &e->results);
	e->status = e->results.out.status;
	printf("結果: [");
	for (i = 0; i < v->len; i++)
		printf("%s%lld", i ? ", " : "",
		       (long long)*(int32_t *)weft_vec_at(v, i));
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
