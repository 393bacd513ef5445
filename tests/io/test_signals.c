/* SPDX-License-Identifier: MIT */
/*
 * Signal listeners at their edges, on the pair under test: masks that
 * cannot be listened to, a disposition the system refuses part-way
 * through a mask (what was installed is undone), listeners of different
 * signals not waking each other, several signals reported in order, a
 * listener freed under a waiting recv, the table of listeners full, and
 * the one-shot future that could not listen.
 */
#include <errno.h>
#include <signal.h>

#include "common.h"

#define BIT(sig) WEFT_SIGNAL_BIT(sig)

static bool
is_default(int sig)
{
	struct sigaction sa;

	assert_int_equal(sigaction(sig, NULL, &sa), 0);
	return sa.sa_handler == SIG_DFL;
}

static void
masks_refused(void **state)
{
	struct weft_signal_listener *l, *keep;
	struct weft_signal s;
	(void)state;

	/* Signal 0, SIGSTOP: not signals one can catch. */
	assert_int_equal(weft_signal_listen(&l, BIT(0)), -EINVAL);
	assert_int_equal(weft_signal_listen(&l, BIT(SIGSTOP) | BIT(SIGUSR1)),
	                 -EINVAL);
	assert_true(is_default(SIGUSR1));
	/*
	 * The C library keeps signal 32 for itself and refuses to let it be
	 * caught: SIGUSR1 and SIGUSR2, installed before it in the same
	 * mask, get their dispositions back, except where another listener
	 * still holds one.
	 */
	assert_int_equal(weft_signal_listen(&keep, BIT(SIGUSR1)), 0);
	assert_int_equal(
	    weft_signal_listen(&l, BIT(SIGUSR1) | BIT(SIGUSR2) | BIT(32)),
	    -EINVAL);
	assert_false(is_default(SIGUSR1));
	assert_true(is_default(SIGUSR2));
	weft_signal_listener_free(keep);
	assert_true(is_default(SIGUSR1));
	weft_signal_listener_free(NULL);

	/* The one-shot future that could not listen is ready at once. */
	weft_signal_init(&s, BIT(SIGKILL));
	assert_int_equal(s.status, -EINVAL);
	run_bounded(&s.base, 10);
	assert_int_equal(s.status, -EINVAL);
	/* Releasing what nobody holds changes nothing. */
	assert_int_equal(weft_signal_release(BIT(SIGUSR2)), 0);
	assert_true(is_default(SIGUSR2));
}

/* Receives from `a` while `b`'s recv must stay pending. */
struct two {
	struct weft_future base;
	struct weft_coro co;
	struct weft_signal_listener *a, *b;
	struct weft_signal_recv ra, rb;
	struct weft_sleep nap;
	struct weft_select sel;
	int got[3];
	int status;
};

static weft_poll
two_poll(struct weft_future *f, struct weft_context *cx)
{
	struct two *t = (struct two *)f;

	WEFT_BEGIN(&t->co);
	raise(SIGUSR1);
	/* b listens for SIGUSR2 only: a's signal is not for it. */
	weft_signal_recv_init(&t->rb, t->b);
	weft_sleep_init(&t->nap, 10 * WEFT_MSEC);
	weft_select_init(&t->sel, WEFT_SELECT_BIASED, 2, &t->rb.base,
	                 &t->nap.base);
	WEFT_AWAIT(&t->co, cx, &t->sel);
	assert_int_equal(t->sel.winner, 1);
	/* a listens for both: the lowest first, each once. */
	raise(SIGUSR2);
	weft_signal_recv_init(&t->ra, t->a);
	WEFT_AWAIT(&t->co, cx, &t->ra);
	t->got[0] = t->ra.status;
	weft_signal_recv_init(&t->ra, t->a);
	WEFT_AWAIT(&t->co, cx, &t->ra);
	t->got[1] = t->ra.status;
	weft_signal_recv_init(&t->rb, t->b);
	WEFT_AWAIT(&t->co, cx, &t->rb);
	t->got[2] = t->rb.status;
	WEFT_END(&t->co);
}

static void
two_drop(struct weft_future *f)
{
	struct two *t = (struct two *)f;

	weft_future_drop(&t->sel.base);
	weft_future_drop(&t->ra.base);
	weft_future_drop(&t->rb.base);
	weft_future_drop(&t->nap.base);
}

WEFT_FUTURE_VTABLE(two_vtable, struct two, status, two_poll, two_drop);

static void
listeners_apart(void **state)
{
	struct two t = {.base.vtable = &two_vtable};
	(void)state;

	assert_int_equal(weft_signal_listen(&t.a, BIT(SIGUSR1) | BIT(SIGUSR2)),
	                 0);
	assert_int_equal(weft_signal_listen(&t.b, BIT(SIGUSR2)), 0);
	run_bounded(&t.base, 10);
	assert_int_equal(t.got[0], SIGUSR1);
	assert_int_equal(t.got[1], SIGUSR2);
	assert_int_equal(t.got[2], SIGUSR2);
	weft_signal_listener_free(t.b);
	/* a still holds SIGUSR2. */
	assert_false(is_default(SIGUSR2));
	weft_signal_listener_free(t.a);
	assert_true(is_default(SIGUSR1));
	assert_true(is_default(SIGUSR2));
}

/* Frees the listener while a recv waits on it. */
struct freed {
	struct weft_future base;
	struct weft_signal_listener *l;
	struct weft_signal_recv r;
	int status;
};

static weft_poll
freed_poll(struct weft_future *f, struct weft_context *cx)
{
	struct freed *x = (struct freed *)f;

	if (weft_future_poll(&x->r.base, cx) == WEFT_PENDING) {
		weft_signal_listener_free(x->l);
		x->l = NULL;
		return WEFT_PENDING;
	}
	x->status = x->r.status;
	return WEFT_READY;
}

static void
freed_drop(struct weft_future *f)
{
	weft_future_drop(&((struct freed *)f)->r.base);
}

WEFT_FUTURE_VTABLE(freed_vtable, struct freed, status, freed_poll, freed_drop);

static void
freed_under_recv(void **state)
{
	struct freed x = {.base.vtable = &freed_vtable};
	(void)state;

	assert_int_equal(weft_signal_listen(&x.l, BIT(SIGUSR1)), 0);
	weft_signal_recv_init(&x.r, x.l);
	run_bounded(&x.base, 10);
	assert_null(x.l);
	assert_int_equal(x.status, WEFT_ECLOSED);
	assert_true(is_default(SIGUSR1));
}

/* The table holds 256 listeners; the next one is refused. */
#define SLOTS 256

static void
table_full(void **state)
{
	struct weft_signal_listener **l = calloc(SLOTS + 1, sizeof(*l));
	struct weft_signal s;
	size_t room = raise_nofile();
	int i, r = 0;
	(void)state;

	assert_non_null(l);
	if (room < 2 * SLOTS + 64) {
		free(l);
		print_message("fd limit %zu too low: skipped\n", room);
		skip();
	}
	for (i = 0; i < SLOTS; i++) {
		r = weft_signal_listen(&l[i], BIT(SIGUSR1));
		if (r < 0)
			break;
	}
	assert_int_equal(i, SLOTS);
	assert_int_equal(weft_signal_listen(&l[SLOTS], BIT(SIGUSR2)), -EMFILE);
	/* Refused, it installed nothing. */
	assert_true(is_default(SIGUSR2));
	weft_signal_init(&s, BIT(SIGUSR2));
	assert_int_equal(s.status, -EMFILE);
	weft_future_drop(&s.base);
	assert_true(is_default(SIGUSR2));
	for (i = 0; i < SLOTS; i++)
		weft_signal_listener_free(l[i]);
	assert_true(is_default(SIGUSR1));

	/* Out of memory: nothing installed either. */
	fault_arm(1);
	assert_int_equal(weft_signal_listen(&l[0], BIT(SIGUSR1)), -ENOMEM);
	assert_true(fault_fired());
	assert_true(is_default(SIGUSR1));
	free(l);
}

/* Two one-shot futures hold the same signal: one release lets go. */
static void
held_twice(void **state)
{
	struct weft_signal a, b;
	(void)state;

	weft_signal_init(&a, BIT(SIGUSR1));
	weft_signal_init(&b, BIT(SIGUSR1) | BIT(SIGUSR2));
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	assert_false(is_default(SIGUSR1));
	assert_false(is_default(SIGUSR2));
	assert_int_equal(weft_signal_release(BIT(SIGUSR1) | BIT(SIGUSR2)), 0);
	assert_true(is_default(SIGUSR1));
	assert_true(is_default(SIGUSR2));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(masks_refused),
	    cmocka_unit_test(listeners_apart),
	    cmocka_unit_test(freed_under_recv),
	    cmocka_unit_test(table_full),
	    cmocka_unit_test(held_twice),
	};

	fault_install();
	return run_group(argc, argv, "io-signals", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
