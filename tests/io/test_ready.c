/* SPDX-License-Identifier: MIT */
/*
 * Readiness and ownership of I/O objects on the pair under test: the
 * budget of a task that always finds its stream or fd ready, the fd
 * wrapper's arguments and a wrapper freed under a waiting future, and an
 * object used from a runtime other than its own.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* ---- budget ----------------------------------------------------------- */

/* Reads one byte at a time, never waiting for data that is there. */
struct nibbler {
	struct weft_future base;
	struct weft_io *s;
	struct weft_io_read rd;
	bool reading;
	unsigned char byte;
	size_t got, want;
	unsigned polls;
	bool mismatch;
	int status;
};

static weft_poll
nibbler_poll(struct weft_future *f, struct weft_context *cx)
{
	struct nibbler *n = (struct nibbler *)f;

	n->polls++;
	while (n->got < n->want) {
		if (!n->reading) {
			weft_io_read_init(&n->rd, n->s, &n->byte, 1);
			n->reading = true;
		}
		if (weft_future_poll(&n->rd.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&n->rd.base);
		n->reading = false;
		if (n->rd.status != 1) {
			n->status = n->rd.status < 0 ? n->rd.status : -ENODATA;
			return WEFT_READY;
		}
		if (n->byte != pattern_byte(1, n->got))
			n->mismatch = true;
		n->got++;
	}
	n->status = 0;
	return WEFT_READY;
}

static void
nibbler_drop(struct weft_future *f)
{
	struct nibbler *n = (struct nibbler *)f;

	if (n->reading)
		weft_future_drop(&n->rd.base);
}

WEFT_FUTURE_VTABLE(nibbler_vtable, struct nibbler, status, nibbler_poll,
                   nibbler_drop);

/* Waits for writability again and again on an fd that always has it. */
struct spinner {
	struct weft_future base;
	struct weft_async_fd *afd;
	struct weft_async_fd_ready ready;
	bool waiting;
	unsigned done, want, polls;
	int status;
};

static weft_poll
spinner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct spinner *s = (struct spinner *)f;

	s->polls++;
	while (s->done < s->want) {
		if (!s->waiting) {
			weft_async_fd_ready_init(&s->ready, s->afd,
			                         WEFT_WRITABLE);
			s->waiting = true;
		}
		if (weft_future_poll(&s->ready.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&s->ready.base);
		s->waiting = false;
		if (!(s->ready.status & WEFT_WRITABLE)) {
			s->status =
			    s->ready.status < 0 ? s->ready.status : -EIO;
			return WEFT_READY;
		}
		s->done++;
	}
	s->status = 0;
	return WEFT_READY;
}

static void
spinner_drop(struct weft_future *f)
{
	struct spinner *s = (struct spinner *)f;

	if (s->waiting)
		weft_future_drop(&s->ready.base);
}

WEFT_FUTURE_VTABLE(spinner_vtable, struct spinner, status, spinner_poll,
                   spinner_drop);

static void
budget_yields(void **state)
{
	struct nibbler n = {.base.vtable = &nibbler_vtable, .want = 2000};
	struct spinner sp = {.base.vtable = &spinner_vtable, .want = 2000};
	struct weft_io_write_all w;
	unsigned char data[2000];
	struct weft_io *a, *b;
	int sv[2];
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	pattern_fill(data, sizeof(data), 1);
	weft_io_write_all_init(&w, a, data, sizeof(data));
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
	/* Every byte is there from the start, yet the task yields. */
	n.s = b;
	run_bounded(&n.base, 10);
	assert_int_equal(n.status, 0);
	assert_false(n.mismatch);
	assert_int_equal(n.got, 2000);
	assert_true(n.polls > 1);
	weft_io_close(a);
	weft_io_close(b);

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(weft_async_fd_new(&sp.afd, sv[0], WEFT_WRITABLE), 0);
	run_bounded(&sp.base, 10);
	assert_int_equal(sp.status, 0);
	assert_int_equal(sp.done, 2000);
	assert_true(sp.polls > 1);
	weft_async_fd_free(sp.afd);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the fd readiness wrapper's arguments and close -------------------- */

/* Frees the wrapper while a ready future waits on it. */
struct free_under {
	struct weft_future base;
	struct weft_async_fd_ready r;
	struct weft_async_fd *afd;
	int status;
};

static weft_poll
free_under_poll(struct weft_future *f, struct weft_context *cx)
{
	struct free_under *u = (struct free_under *)f;

	if (weft_future_poll(&u->r.base, cx) == WEFT_PENDING) {
		weft_async_fd_free(u->afd);
		u->afd = NULL;
		return WEFT_PENDING;
	}
	u->status = u->r.status;
	return WEFT_READY;
}

static void
free_under_drop(struct weft_future *f)
{
	weft_future_drop(&((struct free_under *)f)->r.base);
}

WEFT_FUTURE_VTABLE(free_under_vtable, struct free_under, status,
                   free_under_poll, free_under_drop);

static void
async_fd_edges(void **state)
{
	struct free_under u = {.base.vtable = &free_under_vtable};
	struct weft_async_fd *a;
	int sv[2];
	(void)state;

	assert_int_equal(weft_async_fd_new(&a, -1, WEFT_READABLE), -EINVAL);
	assert_int_equal(weft_async_fd_new(&a, 0, 0), -EINVAL);
	assert_int_equal(weft_async_fd_new(&a, 0, WEFT_READABLE | WEFT_HUP),
	                 -EINVAL);
	weft_async_fd_free(NULL);

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(weft_async_fd_new(&u.afd, sv[0], WEFT_READABLE), 0);
	/* Clearing before anything registered is harmless. */
	weft_async_fd_clear(u.afd, WEFT_READABLE);
	weft_async_fd_ready_init(&u.r, u.afd, WEFT_READABLE);
	run_bounded(&u.base, 10);
	assert_int_equal(u.status, WEFT_ECLOSED);
	/* The fd stays the caller's. */
	assert_int_equal(close(sv[0]), 0);
	close(sv[1]);
}

/* An object belongs to the runtime that first polled it. */
static void
other_runtime(void **state)
{
	struct weft_runtime *other;
	struct weft_io *a, *b;
	struct weft_io_write w;
	struct weft_io_read r;
	char buf[4];
	(void)state;

	assert_int_equal(rt_open_pair(&other), 0);
	assert_int_equal(weft_io_pair(&a, &b), 0);
	weft_io_write_init(&w, a, "one", 3);
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 3);
	/* a is registered with rt now: from the other runtime, -EXDEV. */
	weft_io_write_init(&w, a, "two", 3);
	assert_int_equal(weft_block_on(other, &w.base), 0);
	weft_future_drop(&w.base);
	assert_int_equal(w.status, -EXDEV);
	/* b is registered with the other runtime by its first read. */
	weft_io_read_init(&r, b, buf, sizeof(buf));
	assert_int_equal(weft_block_on(other, &r.base), 0);
	weft_future_drop(&r.base);
	assert_int_equal(r.status, 3);
	weft_io_read_init(&r, b, buf, sizeof(buf));
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, -EXDEV);
	/* Every object is closed before the runtime it belongs to. */
	weft_io_close(b);
	weft_runtime_close(other);
	weft_io_close(a);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(budget_yields),
	    cmocka_unit_test(async_fd_edges),
	    cmocka_unit_test(other_runtime),
	};

	return run_group(argc, argv, "io-ready", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
