/* SPDX-License-Identifier: MIT */
/*
 * Writing futures in C, two ways.
 *
 * 1. `struct delay` is a hand-written future, the chapter's Delay: a poll
 *    function that returns pending until its deadline.  Unlike the
 *    chapter's busy-waiting version it arms a real timer in the driver and
 *    stores the waker there, so the thread sleeps in the reactor meanwhile.
 *
 * 2. `struct example` is the chapter's `async fn example() -> u64` with two
 *    awaits, written with the coroutine macros: its poll function reads top
 *    to bottom, and the locals that live across an await (`a`) sit in the
 *    struct — the state machine the Rust compiler would have generated.
 *    WEFT_CORO_FUTURE writes its drop, which drops whichever child it was
 *    awaiting, as Rust drops the state machine's live fields.
 */
#include <stdio.h>
#include <string.h>

#include <weft/weft.h>

/* ---- 1. a hand-written future --------------------------------------- */

struct delay {
	struct weft_future base;
	uint64_t duration;
	uint64_t when; /* 0 until first poll */
	uint64_t timer;
	struct weft_driver *driver;
	const char *out;
};

static weft_poll
delay_poll(struct weft_future *f, struct weft_context *cx)
{
	struct delay *d = (struct delay *)f;

	if (!d->driver) {
		d->driver = cx->driver;
		d->when = weft_driver_now(d->driver) + d->duration;
		if (weft_driver_timer_add(d->driver, d->when, &d->timer) < 0) {
			d->driver = NULL;
			d->out = "no timer";
			return WEFT_READY;
		}
	}
	if (weft_driver_timer_poll(d->driver, d->timer, cx) == WEFT_PENDING)
		return WEFT_PENDING; /* the driver wakes us at `when` */
	d->out = "時間経過!";
	return WEFT_READY;
}

static void
delay_drop(struct weft_future *f)
{
	struct delay *d = (struct delay *)f;

	if (d->driver)
		weft_driver_timer_del(d->driver, d->timer);
}

WEFT_FUTURE_VTABLE(delay_vtable, struct delay, out, delay_poll, delay_drop);

static void
delay_init(struct delay *d, uint64_t duration_ns)
{
	memset(d, 0, sizeof(*d));
	d->base.vtable = &delay_vtable;
	d->duration = duration_ns;
}

/* ---- 2. async fn example() with two awaits -------------------------- */

struct step {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t in;
	uint64_t out;
};

/* async fn step(in) -> u64 { sleep(ms).await; in + 1 } */
static weft_poll
step_poll(struct weft_future *f, struct weft_context *cx)
{
	struct step *s = (struct step *)f;

	WEFT_BEGIN(&s->co);
	weft_sleep_init(&s->sleep, 50 * WEFT_MSEC);
	WEFT_AWAIT(&s->co, cx, &s->sleep);
	s->out = s->in + 1;
	WEFT_END(&s->co);
}

/* The drop is generated: it drops the sleep if step is dropped mid-await. */
WEFT_CORO_FUTURE(step_vtable, struct step, co, out, step_poll);

static void
step_init(struct step *s, uint64_t in)
{
	memset(s, 0, sizeof(*s));
	s->base.vtable = &step_vtable;
	s->in = in;
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct delay delay;
	struct step step;
	uint64_t a;
	uint64_t out;
};

/*
 * async fn example() -> u64 {
 *     println!("{}", Delay::new(100ms).await);
 *     let a = step(0).await;        // await point 1
 *     let b = step(a).await;        // await point 2
 *     a + b
 * }
 */
static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;

	WEFT_BEGIN(&e->co);
	delay_init(&e->delay, 100 * WEFT_MSEC);
	WEFT_AWAIT(&e->co, cx, &e->delay);
	printf("%s\n", e->delay.out);

	step_init(&e->step, 0);
	WEFT_AWAIT(&e->co, cx, &e->step);
	e->a = e->step.out;

	step_init(&e->step, e->a);
	WEFT_AWAIT(&e->co, cx, &e->step);
	e->out = e->a + e->step.out;
	WEFT_END(&e->co);
}

WEFT_CORO_FUTURE(example_vtable, struct example, co, out, example_poll);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	/* Runs ex to completion and drops it; its output stays readable. */
	int status = weft_run(&ex.base);

	if (status == 0)
		printf("example() = %llu\n", (unsigned long long)ex.out);
	return status;
}
