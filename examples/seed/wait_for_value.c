/* SPDX-License-Identifier: MIT */
/*
 * The chapter's WaitForValue: a hand-written future that waits until a
 * value is set from outside — here by another thread — which then wakes
 * the waker the future stored.  The shared state is the chapter's
 * Arc<Mutex<...>>: a mutex, the value and an optional waker.
 *
 * main's async body is a stackless coroutine (<weft/coro.h>), which is
 * what Rust makes of an async fn: it starts the setting thread, awaits
 * the future and prints the value.
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
setter(void *shared)
{
	nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	set_value(shared, "外部スレッドからの値");
	return NULL;
}

/* async fn main.  It owns the shared state (the chapter's Arc), which the
 * thread borrows: the thread is joined before the state goes. */
struct main_task {
	struct weft_future base;
	struct weft_coro co;
	struct shared_state shared;
	pthread_t thread;
	struct wait_for_value wait;
	int out;
};

/* Rust leaves the thread detached; joining it lets the program end with
 * nothing left running.  set_value has then taken any waker stored. */
static void
join_setter(void *thread)
{
	pthread_join(*(pthread_t *)thread, NULL);
}

static weft_poll
main_poll(struct weft_future *f, struct weft_context *cx)
{
	struct main_task *m = (struct main_task *)f;

	WEFT_BEGIN(&m->co);
	if ((m->out = pthread_create(&m->thread, NULL, setter, &m->shared))) {
		fprintf(stderr, "error: thread: %s\n", strerror(m->out));
		WEFT_RETURN(&m->co);
	}
	WEFT_DEFER(&m->co, join_setter, &m->thread);
	m->wait = (struct wait_for_value){.base.vtable = &wait_vtable,
	                                  .shared = &m->shared};
	WEFT_AWAIT(&m->co, cx, &m->wait.base);
	printf("受信: %s\n", m->wait.out);
	WEFT_END(&m->co);
}

WEFT_CORO_FUTURE(main_vtable, struct main_task, co, out, main_poll);

int
main(void)
{
	struct main_task m = {.base.vtable = &main_vtable,
	                      .shared.lock = PTHREAD_MUTEX_INITIALIZER};

	/* 1 when the runtime or the thread failed (both said why). */
	return weft_run(&m.base) || m.out;
}
