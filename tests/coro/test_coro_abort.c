/* SPDX-License-Identifier: MIT */
/*
 * What a misused coroutine body does, polled without a runtime (its
 * children never touch the context): a top-level `break`, an await inside
 * a switch of the body's own, and one clean-up too many.  A debug build
 * (no NDEBUG) must stop at a WEFT_ASSERT that names the mistake: each case
 * runs in a child process whose stderr is read back.  A release build
 * finishes the future there, with every clean-up run.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include "coro_test.h"

static int cleaned; /* clean-ups run, in this process */

static void
clean(void *arg)
{
	(void)arg;
	cleaned++;
}

/* A body whose top-level `break` would once have completed it silently. */
struct breaker {
	struct weft_future base;
	struct weft_coro co;
	int stop;
	int out;
};

static weft_poll
breaker_poll(struct weft_future *f, struct weft_context *cx)
{
	struct breaker *b = (struct breaker *)f;

	(void)cx;
	WEFT_BEGIN(&b->co);
	WEFT_DEFER(&b->co, clean, NULL);
	if (b->stop)
		break; /* the mistake: leaves the coroutine's switch */
	b->out = 1;
	WEFT_END(&b->co);
}

WEFT_CORO_FUTURE(breaker_vtable, struct breaker, co, out, breaker_poll);

/* An await inside a switch of the body's own: its resume point is lost. */
struct switcher {
	struct weft_future base;
	struct weft_coro co;
	struct pend_once child;
	int mode;
	int out;
};

static weft_poll
switcher_poll(struct weft_future *f, struct weft_context *cx)
{
	struct switcher *s = (struct switcher *)f;

	WEFT_BEGIN(&s->co);
	pend_once_init(&s->child);
	switch (s->mode) {
	case 1000: /* clear of the resume points' numbers */
		WEFT_AWAIT(&s->co, cx, &s->child); /* the mistake */
		break;
	default:
		break;
	}
	s->out = 1;
	WEFT_END(&s->co);
}

WEFT_CORO_FUTURE(switcher_vtable, struct switcher, co, out, switcher_poll);

/* One clean-up more than the table holds. */
struct hoarder {
	struct weft_future base;
	struct weft_coro co;
	int slot[WEFT_CORO_DEFERS + 1];
	int i;
	int out;
};

static weft_poll
hoarder_poll(struct weft_future *f, struct weft_context *cx)
{
	struct hoarder *h = (struct hoarder *)f;

	(void)cx;
	WEFT_BEGIN(&h->co);
	for (h->i = 0; h->i <= WEFT_CORO_DEFERS; h->i++)
		WEFT_DEFER(&h->co, clean, &h->slot[h->i]);
	h->out = 1;
	WEFT_END(&h->co);
}

WEFT_CORO_FUTURE(hoarder_vtable, struct hoarder, co, out, hoarder_poll);

/* Polls f until ready (at most 4 times); returns the polls it took. */
static int
drive(struct weft_future *f)
{
	int polls = 1;

	while (weft_future_poll(f, NULL) == WEFT_PENDING && polls < 4)
		polls++;
	return polls;
}

#ifndef NDEBUG
/*
 * Runs drive(f) in a child process.  Returns its wait status; its stderr
 * goes to err (NUL-terminated).
 */
static int
drive_in_child(struct weft_future *f, char *err, size_t errlen)
{
	int fds[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		drive(f);
		_exit(0);
	}
	close(fds[1]);
	while (got + 1 < errlen &&
	       (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}
#endif

/*
 * Debug: f's body stops at an assertion mentioning `what`.  Release: it
 * finishes with its output unset and its clean-ups run.
 */
static void
expect_reported(struct weft_future *f, const int *out, int cleanups,
                const char *what)
{
#ifdef NDEBUG
	(void)what;
	cleaned = 0;
	drive(f);
	assert_int_equal(*out, 0);
	assert_int_equal(cleaned, cleanups);
	weft_future_drop(f);
	assert_int_equal(cleaned, cleanups);
#else
	char err[512];
	int status = drive_in_child(f, err, sizeof(err));

	(void)out;
	(void)cleanups;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	if (!strstr(err, what))
		fail_msg("stderr lacks \"%s\": %s", what, err);
	weft_future_drop(f);
#endif
}

static void
test_break_reported(void **state)
{
	struct breaker b = {.base.vtable = &breaker_vtable, .stop = 1};

	(void)state;
	expect_reported(&b.base, &b.out, 1, "left by a break");
}

static void
test_break_not_taken(void **state)
{
	struct breaker b = {.base.vtable = &breaker_vtable};

	(void)state;
	cleaned = 0;
	assert_int_equal(drive(&b.base), 1);
	assert_int_equal(b.out, 1);
	assert_int_equal(cleaned, 1);
	weft_future_drop(&b.base);
	assert_int_equal(cleaned, 1);
}

static void
test_await_in_switch_reported(void **state)
{
	struct switcher s = {.base.vtable = &switcher_vtable, .mode = 1000};

	(void)state;
	expect_reported(&s.base, &s.out, 0, "await in a switch");
}

static void
test_too_many_defers_reported(void **state)
{
	struct hoarder h = {.base.vtable = &hoarder_vtable};

	(void)state;
	expect_reported(&h.base, &h.out, WEFT_CORO_DEFERS + 1,
	                "more than WEFT_CORO_DEFERS");
}

/* Defer, undefer and release on a bare struct weft_coro. */
static void
test_defer_table(void **state)
{
	struct weft_coro co = {0};
	int a = 0, b = 0, c = 0;

	(void)state;
	cleaned = 0;
	assert_int_equal(weft_coro_defer(&co, clean, &a), 0);
	assert_int_equal(weft_coro_defer(&co, clean, &b), 0);
	assert_int_equal(weft_coro_defer(&co, clean, &a), 1); /* no-op */
	assert_int_equal(weft_coro_defer(&co, clean, &c), 0);
	assert_int_equal(co.ndefers, 3);
	/* Handed on: removed, not run. */
	assert_int_equal(weft_coro_undefer(&co, clean, &b, false), 1);
	assert_int_equal(cleaned, 0);
	assert_int_equal(weft_coro_undefer(&co, clean, &b, false), 0);
	/* Released early: removed and run. */
	assert_int_equal(weft_coro_undefer(&co, clean, &a, true), 1);
	assert_int_equal(cleaned, 1);
	assert_int_equal(co.ndefers, 1);
	assert_ptr_equal(co.defers[0].arg, &c);
	weft_coro_drop(&co);
	assert_int_equal(cleaned, 2);
	weft_coro_drop(&co);
	assert_int_equal(cleaned, 2);
}

static void
test_line_fallback(void **state)
{
	(void)state;
	assert_int_equal(line_fallback_polls(), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_break_reported),
	    cmocka_unit_test(test_break_not_taken),
	    cmocka_unit_test(test_await_in_switch_reported),
	    cmocka_unit_test(test_too_many_defers_reported),
	    cmocka_unit_test(test_defer_table),
	    cmocka_unit_test(test_line_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
