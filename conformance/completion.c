/* SPDX-License-Identifier: MIT */
/*
 * R13 and R14: the completion extension (ABI 1.3) on a reactor that
 * claims WEFT_REACTOR_COMPLETION, with real sockets and a real file.
 * Each operation must complete exactly once, with its token and the
 * result of the system call it names, and an operation submitted before
 * a wait must be under way in that wait.  A reactor without the flag
 * skips them.  The helpers are in ctest.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctest.h"

/* Waits for token's final completion or fails naming rule and what. */
static int32_t
final_or_fail(struct h_reactor *hr, struct cx_log *log, uint64_t token,
              const char *rule, const char *what)
{
	if (!cx_await_final(hr, log, token))
		fail_msg("%s: no final completion for %s (token %#llx) within "
		         "%llu ms",
		         rule, what, (unsigned long long)token,
		         (unsigned long long)(2 * h_prompt_ns() / WEFT_MSEC));
	if (cx_finals(log, token) != 1)
		fail_msg("%s: %d final completions for %s", rule,
		         cx_finals(log, token), what);
	return cx_final_result(log, token);
}


/* An fd number that is not open. */
static int
closed_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}


/* ---- R13 ------------------------------------------------------------ */

static void
R13_recv_and_send_complete_with_their_results(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	unsigned char *in, *out;
	char peer[16];
	int sv[2];

	(void)state;
	cx_open(&hr);
	in = cx_buf_new(4);
	out = cx_buf_new(8);
	h_socketpair(sv);
	assert_int_equal(write(sv[1], "hello!", 6), 6);
	/* Four of the six bytes: recv fills buf[0, len), nothing else. */
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], in, 4, -1, 0);
	memcpy(out, "abcdefgh", 8);
	/* SEND reads len bytes of buf: three go out. */
	cx_submit_ok(&hr, WEFT_OP_SEND, BASE + 2, sv[0], out, 3, -1, 0);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 3, closed_fd(), in, 4, -1, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 1, "R13", "recv"), 4);
	assert_memory_equal(in, "hell", 4);
	if (cx_buf_changed(in, 4, 4))
		fail_msg("R16: recv of 4 bytes wrote outside buf[0, 4)");
	assert_int_equal(final_or_fail(&hr, &log, BASE + 2, "R13", "send"), 3);
	assert_int_equal(read(sv[1], peer, sizeof(peer)), 3);
	assert_memory_equal(peer, "abc", 3);
	assert_int_equal(
	    final_or_fail(&hr, &log, BASE + 3, "R13", "recv on a closed fd"),
	    -EBADF);
	/* EOF: recv completes with 0. */
	assert_int_equal(h_drain(sv[0]), 2);
	close(sv[1]);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 4, sv[0], in, 4, -1, 0);
	assert_int_equal(
	    final_or_fail(&hr, &log, BASE + 4, "R13", "recv at EOF"), 0);
	cx_expect_no_more(&hr, &log, 30, "R13");
	close(sv[0]);
	h_reactor_close(&hr);
	cx_buf_free(in);
	cx_buf_free(out);
}


static void
R13_accept_and_connect_complete_with_their_results(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	struct sockaddr_in a, gone;
	int l, c, c2, k, fd;

	(void)state;
	cx_open(&hr);
	l = cx_listener(&a);
	c = cx_tcp_socket();
	cx_submit_ok(&hr, WEFT_OP_ACCEPT, BASE + 1, l, NULL, 0, -1, 0);
	cx_submit_ok(&hr, WEFT_OP_CONNECT, BASE + 2, c, &a, sizeof(a), -1, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 2, "R13", "connect"),
	                 0);
	fd = final_or_fail(&hr, &log, BASE + 1, "R13", "accept");
	if (fd < 0)
		fail_msg("R13: accept completed with %s", weft_strerror(fd));
	/* accept4(..., SOCK_NONBLOCK | SOCK_CLOEXEC) */
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(c, "x", 1), 1);
	for (k = 0; k < 100; k++) {
		char b;

		if (read(fd, &b, 1) == 1)
			break;
		h_sleep_ns(WEFT_MSEC);
	}
	assert_true(k < 100);
	close(fd);
	/* A port nobody listens on any more: -ECONNREFUSED. */
	gone = a;
	close(l);
	c2 = cx_tcp_socket();
	cx_submit_ok(&hr, WEFT_OP_CONNECT, BASE + 3, c2, &gone, sizeof(gone),
	             -1, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 3, "R13",
	                               "connect to a closed port"),
	                 -ECONNREFUSED);
	cx_expect_no_more(&hr, &log, 30, "R13");
	close(c);
	close(c2);
	h_reactor_close(&hr);
}


static void
R13_read_write_and_close_complete_with_their_results(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	char path[] = "/tmp/weft-conformance-XXXXXX";
	unsigned char *buf, *wbuf;
	int fd, d;

	(void)state;
	cx_open(&hr);
	buf = cx_buf_new(3);
	wbuf = cx_buf_new(6);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	memcpy(wbuf, "abcdef", 6);
	cx_submit_ok(&hr, WEFT_OP_WRITE, BASE + 1, fd, wbuf, 6, 0, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 1, "R13", "write"), 6);
	/* pread: at offset 2, the position stays. */
	cx_submit_ok(&hr, WEFT_OP_READ, BASE + 2, fd, buf, 3, 2, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 2, "R13", "read"), 3);
	assert_memory_equal(buf, "cde", 3);
	assert_int_equal(cx_buf_changed(buf, 3, 3), 0);
	/* Offset -1: read from the file's position, and move it. */
	assert_int_equal(lseek(fd, 1, SEEK_SET), 1);
	cx_submit_ok(&hr, WEFT_OP_READ, BASE + 3, fd, buf, 2, -1, 0);
	assert_int_equal(
	    final_or_fail(&hr, &log, BASE + 3, "R13", "read at offset -1"), 2);
	assert_memory_equal(buf, "bc", 2);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
	d = dup(fd);
	assert_true(d >= 0);
	cx_submit_ok(&hr, WEFT_OP_CLOSE, BASE + 4, d, NULL, 0, -1, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 4, "R13", "close"), 0);
	assert_true(fcntl(d, F_GETFD) < 0 && errno == EBADF);
	cx_submit_ok(&hr, WEFT_OP_CLOSE, BASE + 5, d, NULL, 0, -1, 0);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 5, "R13",
	                               "close of an fd not open"),
	                 -EBADF);
	cx_expect_no_more(&hr, &log, 30, "R13");
	close(fd);
	h_reactor_close(&hr);
	cx_buf_free(buf);
	cx_buf_free(wbuf);
}


static void
R13_unknown_operation_is_einval_and_never_reported(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	struct weft_reactor_op op = {.opcode = WEFT_OP_RECV};
	char buf[4];
	int sv[2];

	(void)state;
	cx_open(&hr);
	h_socketpair(sv);
	assert_int_equal(write(sv[1], "abcd", 4), 4);
	assert_int_equal(cx_submit(&hr, 0, BASE + 1, sv[0], buf, 4, -1, 0),
	                 -EINVAL);
	assert_int_equal(cx_submit(&hr, 99, BASE + 2, sv[0], buf, 4, -1, 0),
	                 -EINVAL);
	assert_int_equal(cx_submit(&hr, WEFT_OP_RECV, BASE + 3, sv[0], buf, 4,
	                           -1, 0x80000000u),
	                 -EINVAL);
	/* A struct version 0 is no version at all. */
	op.token = BASE + 4;
	op.fd = sv[0];
	op.buf = buf;
	op.len = 4;
	op.offset = -1;
	assert_int_equal(weft_reactor_submit(hr.r, &op), -EINVAL);
	cx_expect_no_more(&hr, &log, 50, "R13");
	if (log.n)
		fail_msg("R13: %d completions for refused operations (token "
		         "%#llx first)",
		         log.n, (unsigned long long)log.token[0]);
	/* Nothing was read either: the four bytes are still there. */
	assert_int_equal(h_drain(sv[0]), 4);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R13_multishot_accept_completes_once_per_connection(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	struct sockaddr_in a;
	int l, c[3], i, k, more = 0;
	uint64_t start;

	(void)state;
	cx_open(&hr);
	l = cx_listener(&a);
	cx_submit_ok(&hr, WEFT_OP_ACCEPT, BASE + 1, l, NULL, 0, -1,
	             WEFT_OP_MULTISHOT);
	for (i = 0; i < 3; i++) {
		c[i] = cx_tcp_socket();
		k = connect(c[i], (struct sockaddr *)&a, sizeof(a));
		assert_true(k == 0 || errno == EINPROGRESS);
	}
	start = h_now();
	while (cx_count(&log, BASE + 1) < 3 && h_now() - start < h_prompt_ns())
		cx_wait(&hr, &log, CAP, 50 * WEFT_MSEC);
	for (i = 0; i < log.n; i++) {
		if (log.token[i] != BASE + 1)
			continue;
		if (!(log.ready[i] & WEFT_MORE))
			fail_msg("R13: a multishot accept's completion %d came "
			         "without WEFT_MORE (result %d)",
			         i, log.res[i]);
		if (log.res[i] < 0)
			fail_msg("R13: multishot accept completed with %s",
			         weft_strerror(log.res[i]));
		assert_true(fcntl(log.res[i], F_GETFL) & O_NONBLOCK);
		more++;
	}
	if (more != 3)
		fail_msg("R13: %d completions for 3 connections", more);
	/* R15 checks the end; here the end is only cleanup. */
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	final_or_fail(&hr, &log, BASE + 1, "R15", "a cancelled multishot");
	for (i = 0; i < log.n; i++)
		if (log.res[i] >= 0)
			close(log.res[i]);
	for (i = 0; i < 3; i++)
		close(c[i]);
	close(l);
	h_reactor_close(&hr);
}


static void
R13_capacity_one_loses_nothing(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	char buf[8][4];
	int sv[8][2], i, k, ready[2];
	uint64_t start;

	(void)state;
	cx_open(&hr);
	/* A readiness event among the completions, sharing the array. */
	h_socketpair(ready);
	add_or_fail(&hr, ready[0], WEFT_READABLE, BASE + 15);
	h_write_byte(ready[1]);
	for (i = 0; i < 8; i++) {
		h_socketpair(sv[i]);
		assert_int_equal(write(sv[i][1], "wxyz", 4), 4);
		cx_submit_ok(&hr, WEFT_OP_RECV, BASE + (uint64_t)i, sv[i][0],
		             buf[i], 4, -1, 0);
	}
	start = h_now();
	for (k = 0; h_now() - start < 2 * h_prompt_ns(); k++) {
		for (i = 0; i < 8 && cx_finals(&log, BASE + (uint64_t)i); i++)
			;
		if (i == 8 && log.readiness > 0)
			break;
		cx_wait(&hr, &log, 1, 50 * WEFT_MSEC);
	}
	for (i = 0; i < 8; i++) {
		if (cx_finals(&log, BASE + (uint64_t)i) != 1)
			fail_msg("R13: with capacity 1, recv %d completed %d "
			         "times",
			         i, cx_finals(&log, BASE + (uint64_t)i));
		assert_int_equal(cx_final_result(&log, BASE + (uint64_t)i), 4);
	}
	if (log.readiness == 0)
		fail_msg("R1: the readiness event was lost among completions");
	cx_expect_no_more(&hr, &log, 30, "R13");
	weft_reactor_del(hr.r, ready[0]);
	for (i = 0; i < 8; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	close(ready[0]);
	close(ready[1]);
	h_reactor_close(&hr);
}


/* ---- R14 ------------------------------------------------------------ */

/* One wait with no limit on a helper thread, and what it logged. */
struct one_wait {
	struct h_reactor *hr;
	struct weft_reactor_event ev[CAP];
	int n;
	atomic_bool returned;
};


static void *
wait_forever(void *arg)
{
	struct one_wait *w = arg;

	w->n = weft_reactor_wait(w->hr->r, w->ev, CAP, WEFT_TIMEOUT_INFINITE);
	atomic_store(&w->returned, true);
	return NULL;
}


/*
 * An infinite wait that a submitted operation must end: a reactor that
 * starts operations only at a later wait sleeps here until the test
 * gives up and wakes it.
 */
static void
R14_infinite_wait_ends_with_a_submitted_operation(void **state)
{
	struct h_reactor hr;
	struct one_wait w = {.hr = &hr};
	char buf[8] = {0};
	uint64_t start;
	pthread_t t;
	int sv[2], i, found = 0;

	(void)state;
	cx_open(&hr);
	h_socketpair(sv);
	assert_int_equal(write(sv[1], "ping", 4), 4);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], buf, sizeof(buf), -1,
	             0);
	t = h_thread(wait_forever, &w);
	start = h_now();
	while (!atomic_load(&w.returned) && h_now() - start < h_prompt_ns())
		h_sleep_ns(WEFT_MSEC);
	if (!atomic_load(&w.returned)) {
		weft_reactor_wakeup(hr.r);
		pthread_join(t, NULL);
		fail_msg("R14: an infinite wait did not end with the "
		         "completion of a recv submitted before it, with bytes "
		         "there to read, within %llu ms",
		         (unsigned long long)(h_prompt_ns() / WEFT_MSEC));
	}
	pthread_join(t, NULL);
	assert_true(w.n >= 0);
	for (i = 0; i < w.n; i++)
		if (w.ev[i].token == BASE + 1 &&
		    (w.ev[i].ready & WEFT_COMPLETE)) {
			found++;
			assert_int_equal(weft_reactor_event_result(&w.ev[i]),
			                 4);
		}
	if (found != 1)
		fail_msg("R14: the infinite wait returned %d events, %d of "
		         "them the recv's completion",
		         w.n, found);
	assert_memory_equal(buf, "ping", 4);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


struct blocking_submit {
	struct h_reactor *hr;
	int fd;
	char buf[4];
	int r;
	atomic_bool returned;
};


static void *
submit_recv(void *arg)
{
	struct blocking_submit *b = arg;

	b->r =
	    cx_submit(b->hr, WEFT_OP_RECV, BASE + 2, b->fd, b->buf, 4, -1, 0);
	atomic_store(&b->returned, true);
	return NULL;
}


static void
R14_submit_never_waits_for_the_operation(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	struct blocking_submit b = {.hr = &hr};
	uint64_t start;
	pthread_t t;
	int sv[2];

	(void)state;
	cx_open(&hr);
	h_socketpair(sv);
	b.fd = sv[0];
	/* Nothing to read: a submit that waits for the bytes never ends. */
	t = h_thread(submit_recv, &b);
	start = h_now();
	while (!atomic_load(&b.returned) && h_now() - start < h_prompt_ns())
		h_sleep_ns(WEFT_MSEC);
	if (!atomic_load(&b.returned)) {
		h_write_byte(sv[1]);
		pthread_join(t, NULL);
		fail_msg("R14: submit of a recv with nothing to read blocked "
		         "until the bytes came");
	}
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	h_write_byte(sv[1]);
	assert_int_equal(final_or_fail(&hr, &log, BASE + 2, "R14", "a recv"),
	                 1);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R14_many_submissions_then_waits_complete_them_all(void **state)
{
	enum { N = 48 };
	struct h_reactor hr;
	struct cx_log log = {0};
	static char in[N][2], out[N][2];
	int sv[N][2], i, done = 0;
	uint64_t start;

	(void)state;
	cx_open(&hr);
	for (i = 0; i < N; i++) {
		h_socketpair(sv[i]);
		out[i][0] = (char)i;
		out[i][1] = (char)~i;
	}
	/* A round's worth: all submitted before the first wait. */
	for (i = 0; i < N; i++) {
		cx_submit_ok(&hr, WEFT_OP_SEND, BASE + 0x100 + (uint64_t)i,
		             sv[i][1], out[i], 2, -1, 0);
		cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 0x200 + (uint64_t)i,
		             sv[i][0], in[i], 2, -1, 0);
	}
	start = h_now();
	while (done < 2 * N && h_now() - start < 2 * h_prompt_ns()) {
		cx_wait(&hr, &log, CAP, long_wait(100 * WEFT_MSEC));
		for (done = 0, i = 0; i < N; i++)
			done += cx_finals(&log, BASE + 0x100 + (uint64_t)i) +
			        cx_finals(&log, BASE + 0x200 + (uint64_t)i);
	}
	if (done != 2 * N)
		fail_msg("R14: %d of %d operations submitted before the waits "
		         "completed",
		         done, 2 * N);
	for (i = 0; i < N; i++) {
		assert_int_equal(
		    cx_final_result(&log, BASE + 0x100 + (uint64_t)i), 2);
		assert_int_equal(
		    cx_final_result(&log, BASE + 0x200 + (uint64_t)i), 2);
		assert_memory_equal(in[i], out[i], 2);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	h_reactor_close(&hr);
}


/* Waits on a helper thread, logging every event, until told to stop. */
struct waiter {
	struct h_reactor *hr;
	pthread_mutex_t lock;
	struct cx_log log; /* under lock */
	atomic_bool stop;
};


static void *
wait_and_log(void *arg)
{
	struct waiter *w = arg;
	struct weft_reactor_event ev[CAP];
	int n, i;

	while (!atomic_load(&w->stop)) {
		n = weft_reactor_wait(w->hr->r, ev, CAP, 20 * WEFT_MSEC);
		if (n < 0) {
			h_violation("R3: wait failed: %s", weft_strerror(n));
			return NULL;
		}
		pthread_mutex_lock(&w->lock);
		for (i = 0; i < n && w->log.n < CX_LOG; i++) {
			if (!(ev[i].ready & WEFT_COMPLETE))
				continue;
			w->log.token[w->log.n] = ev[i].token;
			w->log.ready[w->log.n] = ev[i].ready;
			w->log.res[w->log.n] =
			    weft_reactor_event_result(&ev[i]);
			w->log.n++;
		}
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}


/*
 * With CONCURRENT_CTL, submit and cancel may come while another thread
 * is inside wait.  R14 asks only that such an operation start by the next
 * wait, so the waits here are short; what the test checks is that both
 * are safe there (run it under TSan too) and that every operation still
 * ends exactly once, cancelled or with its bytes.
 */
static void
R14_submit_and_cancel_while_another_thread_waits(void **state)
{
	enum { N = 16 };
	struct h_reactor hr;
	struct waiter w = {.hr = &hr};
	static char buf[N][4];
	int sv[N][2], i, done = 0;
	uint64_t start;
	pthread_t t;

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	cx_open(&hr);
	pthread_mutex_init(&w.lock, NULL);
	for (i = 0; i < N; i++)
		h_socketpair(sv[i]);
	t = h_thread(wait_and_log, &w);
	for (i = 0; i < N; i++) {
		cx_submit_ok(&hr, WEFT_OP_RECV, BASE + (uint64_t)i, sv[i][0],
		             buf[i], 4, -1, 0);
		if (i % 2 == 0)
			assert_int_equal(
			    weft_reactor_cancel(hr.r, BASE + (uint64_t)i), 0);
		else
			assert_int_equal(write(sv[i][1], "data", 4), 4);
	}
	start = h_now();
	while (done < N && h_now() - start < 2 * h_prompt_ns()) {
		h_sleep_ns(5 * WEFT_MSEC);
		pthread_mutex_lock(&w.lock);
		for (done = 0, i = 0; i < N; i++)
			done += cx_finals(&w.log, BASE + (uint64_t)i) > 0;
		pthread_mutex_unlock(&w.lock);
	}
	h_sleep_ns(30 * WEFT_MSEC); /* a repeated completion would come */
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	H_NO_VIOLATIONS();
	for (i = 0; i < N; i++) {
		if (cx_finals(&w.log, BASE + (uint64_t)i) != 1)
			fail_msg(
			    "R14: recv %d, submitted during a wait, had %d "
			    "final completions",
			    i, cx_finals(&w.log, BASE + (uint64_t)i));
		assert_int_equal(cx_final_result(&w.log, BASE + (uint64_t)i),
		                 i % 2 ? 4 : -ECANCELED);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	pthread_mutex_destroy(&w.lock);
	h_reactor_close(&hr);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R13_recv_and_send_complete_with_their_results),
    H_TEST(R13_accept_and_connect_complete_with_their_results),
    H_TEST(R13_read_write_and_close_complete_with_their_results),
    H_TEST(R13_unknown_operation_is_einval_and_never_reported),
    H_TEST(R13_multishot_accept_completes_once_per_connection),
    H_TEST(R13_capacity_one_loses_nothing),
    H_TEST(R14_infinite_wait_ends_with_a_submitted_operation),
    H_TEST(R14_submit_never_waits_for_the_operation),
    H_TEST(R14_many_submissions_then_waits_complete_them_all),
    H_TEST(R14_submit_and_cancel_while_another_thread_waits),
};

H_GROUP(h_group_completion, "completion", tests);
