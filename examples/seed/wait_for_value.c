/* SPDX-License-Identifier: MIT */
/*
 * The chapter's WaitForValue: a future that waits until a value is set
 * from outside — here by another thread — which then wakes the waker the
 * future stored.  The shared state is the chapter's Arc<Mutex<...>>: a
 * mutex, the value and an optional waker.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <weft/weft.h>

struct shared_state {
	pthread_mutex_t lock;
	bool completed;
	const char *value;
	struct weft_waker waker; /* empty: none registered */
};

struct wait_for_value {
	struct weft_future base;
	struct shared_state *shared;
	const char *out;
};

static weft_poll
wait_poll(struct weft_future *f, struct weft_context *cx)
{
	struct wait_for_value *w = (struct wait_for_value *)f;
	struct shared_state *st = w->shared;
	weft_poll r = WEFT_PENDING;

	pthread_mutex_lock(&st->lock);
	if (st->completed) {
		/* The value is set: done. */
		w->out = st->value;
		st->value = NULL;
		r = WEFT_READY;
	} else {
		/* Keep a waker, so that set_value can have us polled again. */
		weft_waker_store(&st->waker, &cx->waker);
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

WEFT_FUTURE_VTABLE(wait_vtable, struct wait_for_value, out, wait_poll, NULL);

/* Sets the value from outside and wakes the task, if one is waiting. */
static void
set_value(struct shared_state *st, const char *value)
{
	struct weft_waker w;

	pthread_mutex_lock(&st->lock);
	st->value = value;
	st->completed = true;
	w = st->waker;
	st->waker = (struct weft_waker){0};
	pthread_mutex_unlock(&st->lock);
	/* Asks the executor to poll the task again; consumes the waker. */
	weft_waker_wake(&w);
}

static void *
setter(void *arg)
{
	struct timespec ts = {0, 100 * 1000000L};

	nanosleep(&ts, NULL);
	set_value(arg, "外部スレッドからの値");
	return NULL;
}

int
main(void)
{
	struct shared_state st = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct wait_for_value w = {.base.vtable = &wait_vtable, .shared = &st};
	pthread_t t;
	int status;

	pthread_create(&t, NULL, setter, &st);
	status = weft_run(&w.base);
	pthread_join(t, NULL);
	if (status == 0)
		printf("受信: %s\n", w.out);
	weft_future_drop(&w.base);
	weft_waker_drop(&st.waker);
	return status;
}
