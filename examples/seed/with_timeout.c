/* SPDX-License-Identifier: MIT */
/*
 * The chapter's WithTimeout: a hand-written future that gives another one
 * a deadline.  It polls its delay first and the inner future second, as
 * the chapter does, and answers "タイムアウト" for a 5 s operation under a
 * 2 s limit.  (weft_timeout is the runtime's ready-made version.)  The
 * operation itself, an async block, is a stackless coroutine.
 *
 * WEFT_EXAMPLE_SCALE=n divides both times by n, to keep a test fast; the
 * factor is reported on stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/weft.h>

/* async { sleep(5 s).await; "完了" } */
struct slow_operation {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t duration;
	const char *out;
};

static weft_poll
slow_poll(struct weft_future *f, struct weft_context *cx)
{
	struct slow_operation *s = (struct slow_operation *)f;

	WEFT_BEGIN(&s->co);
	weft_sleep_init(&s->sleep, s->duration);
	WEFT_AWAIT(&s->co, cx, &s->sleep);
	s->out = "完了";
	WEFT_END(&s->co);
}

/* Its drop drops the sleep, should the future go mid-await. */
WEFT_CORO_FUTURE(slow_vtable, struct slow_operation, co, out, slow_poll);

/* Result<&str, &str>: ok tells which of value and error holds. */
struct timeout_result {
	bool ok;
	const char *value;
	const char *error;
};

struct with_timeout {
	struct weft_future base;
	struct weft_future *future; /* owned */
	struct weft_sleep delay;
	struct timeout_result out;
};

static void
with_timeout_drop(struct weft_future *f)
{
	struct with_timeout *t = (struct with_timeout *)f;

	weft_future_drop(t->future);
	weft_future_drop(&t->delay.base);
}

static weft_poll
with_timeout_poll(struct weft_future *f, struct weft_context *cx)
{
	struct with_timeout *t = (struct with_timeout *)f;

	/* First check the deadline, then poll the wrapped future. */
	if (weft_future_poll(&t->delay.base, cx) == WEFT_READY)
		t->out = (struct timeout_result){false, NULL, "タイムアウト"};
	else if (weft_future_poll(t->future, cx) == WEFT_READY)
		t->out = (struct timeout_result){
		    true, ((struct slow_operation *)t->future)->out, NULL};
	else
		return WEFT_PENDING;
	/* Done either way.  On a timeout this cancels the wrapped future:
	 * both go now, while the runtime can still release their timers. */
	with_timeout_drop(f);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(with_timeout_vtable, struct with_timeout, out,
                   with_timeout_poll, with_timeout_drop);

static void
with_timeout_init(struct with_timeout *t, struct weft_future *future,
                  uint64_t timeout)
{
	*t = (struct with_timeout){.base.vtable = &with_timeout_vtable,
	                           .future = future};
	weft_sleep_init(&t->delay, timeout);
}

int
main(void)
{
	const char *env = getenv("WEFT_EXAMPLE_SCALE");
	uint64_t scale = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 1;
	struct slow_operation slow = {.base.vtable = &slow_vtable,
	                              .duration = 5 * WEFT_SEC / scale};
	struct with_timeout t;
	int status;

	if (scale != 1)
		fprintf(stderr, "(times divided by %llu)\n",
		        (unsigned long long)scale);
	with_timeout_init(&t, &slow.base, 2 * WEFT_SEC / scale);
	status = weft_run(&t.base);
	if (status == 0) {
		if (t.out.ok)
			printf("成功: %s\n", t.out.value);
		else
			printf("エラー: %s\n", t.out.error);
	}
	return status; /* weft_run has dropped t, and with it slow */
}
