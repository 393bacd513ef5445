/* SPDX-License-Identifier: MIT */
/*
 * R15 and R16: cancelling operations, and the buffers lent with them.  A
 * cancelled operation still ends with exactly one final completion, and
 * from that completion on (or from fini on) neither the reactor nor the
 * system touches its buffer: the canaries around and inside the buffers
 * here must survive data that arrives afterwards.  Run under ASan and
 * Valgrind too, which see what the reactor itself does with freed memory;
 * the canaries see what the kernel does.  A reactor without
 * WEFT_REACTOR_COMPLETION skips them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctest.h"

/* How long a test lets data that nobody may receive sit (ms). */
#define SETTLE_MS 50

/*
 * The final completion of token, which a cancel was asked for, or a
 * failure naming R15.
 */
static int32_t
cancelled_final(struct h_reactor *hr, struct cx_log *log, uint64_t token,
                const char *what)
{
	if (!cx_await_final(hr, log, token))
		fail_msg("R15: no final completion for a cancelled %s within "
		         "%llu ms: its buffer would never be freed",
		         what,
		         (unsigned long long)(2 * h_prompt_ns() / WEFT_MSEC));
	if (cx_finals(log, token) != 1)
		fail_msg("R15: %d final completions for a cancelled %s",
		         cx_finals(log, token), what);
	return cx_final_result(log, token);
}


/* Waits about ms, reporting nothing to anyone (the log keeps it). */
static void
settle(struct h_reactor *hr, struct cx_log *log, int ms)
{
	uint64_t start = h_now();

	while (h_now() - start < (uint64_t)ms * WEFT_MSEC)
		cx_wait(hr, log, CAP, 10 * WEFT_MSEC);
}


/* ---- R15 ------------------------------------------------------------ */

static void
R15_cancel_ends_a_pending_recv_once(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	unsigned char *buf;
	int sv[2];

	(void)state;
	cx_open(&hr);
	buf = cx_buf_new(16);
	h_socketpair(sv);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], buf, 16, -1, 0);
	/* Under way in the system: a wait has handed it over. */
	settle(&hr, &log, 20);
	assert_int_equal(cx_count(&log, BASE + 1), 0);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	assert_int_equal(cancelled_final(&hr, &log, BASE + 1, "recv"),
	                 -ECANCELED);
	/* Ended: nothing more, and nothing left to cancel. */
	cx_expect_no_more(&hr, &log, 30, "R15");
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), -ENOENT);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
	cx_buf_free(buf);
}


static void
R15_cancel_before_any_wait_still_completes(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	unsigned char *idle, *full;
	int sv[2], tv[2];
	int32_t res;

	(void)state;
	cx_open(&hr);
	idle = cx_buf_new(4);
	full = cx_buf_new(4);
	h_socketpair(sv);
	h_socketpair(tv);
	assert_int_equal(write(tv[1], "abcd", 4), 4);
	/* Submitted and cancelled in one round: the next wait has both. */
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], idle, 4, -1, 0);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 2, tv[0], full, 4, -1, 0);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 2), 0);
	/* Twice is harmless: one final completion still. */
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	assert_int_equal(cancelled_final(&hr, &log, BASE + 1, "recv"),
	                 -ECANCELED);
	/* Bytes were there: its own result, or cancelled before it ran. */
	res = cancelled_final(&hr, &log, BASE + 2, "recv with data");
	if (res != 4 && res != -ECANCELED)
		fail_msg("R15: a cancelled recv with 4 bytes there completed "
		         "with %d, neither 4 nor -ECANCELED",
		         res);
	if (res == 4)
		assert_memory_equal(full, "abcd", 4);
	else
		assert_int_equal(h_drain(tv[0]), 4);
	cx_expect_no_more(&hr, &log, 30, "R15");
	close(sv[0]);
	close(sv[1]);
	close(tv[0]);
	close(tv[1]);
	h_reactor_close(&hr);
	cx_buf_free(idle);
	cx_buf_free(full);
}


static void
R15_cancel_of_an_unknown_token_is_enoent(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	char buf[4];
	int sv[2];

	(void)state;
	cx_open(&hr);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 9), -ENOENT);
	/* Nor one whose final completion was reported. */
	h_socketpair(sv);
	assert_int_equal(write(sv[1], "ab", 2), 2);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], buf, 4, -1, 0);
	if (!cx_await_final(&hr, &log, BASE + 1))
		fail_msg("R13: no completion for a recv with data there");
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), -ENOENT);
	cx_expect_no_more(&hr, &log, 30, "R15");
	assert_int_equal(log.n, 1);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R15_cancel_stops_a_multishot_accept(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	struct sockaddr_in a;
	int l, c1, c2, i, r;
	uint64_t start;

	(void)state;
	cx_open(&hr);
	l = cx_listener(&a);
	cx_submit_ok(&hr, WEFT_OP_ACCEPT, BASE + 1, l, NULL, 0, -1,
	             WEFT_OP_MULTISHOT);
	c1 = cx_tcp_socket();
	r = connect(c1, (struct sockaddr *)&a, sizeof(a));
	assert_true(r == 0 || errno == EINPROGRESS);
	start = h_now();
	while (cx_count(&log, BASE + 1) < 1 && h_now() - start < h_prompt_ns())
		cx_wait(&hr, &log, CAP, 50 * WEFT_MSEC);
	assert_int_equal(cx_count(&log, BASE + 1), 1);
	assert_true(log.ready[0] & WEFT_MORE);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	cancelled_final(&hr, &log, BASE + 1, "multishot accept");
	/* A connection after the end: nobody accepts it. */
	c2 = cx_tcp_socket();
	r = connect(c2, (struct sockaddr *)&a, sizeof(a));
	assert_true(r == 0 || errno == EINPROGRESS);
	cx_expect_no_more(&hr, &log, SETTLE_MS, "R15");
	for (i = 0; i < log.n; i++)
		if (log.res[i] >= 0)
			close(log.res[i]);
	/* It is still in the listener's queue. */
	r = accept(l, NULL, NULL);
	if (r < 0)
		fail_msg("R15: the connection made after the multishot accept "
		         "ended was taken from the listener");
	close(r);
	close(c1);
	close(c2);
	close(l);
	h_reactor_close(&hr);
}


/* ---- R16 ------------------------------------------------------------ */

static void
R16_cancelled_recv_never_writes_its_buffer(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	unsigned char *buf;
	char back[16];
	int sv[2];
	int32_t res;

	(void)state;
	cx_open(&hr);
	buf = cx_buf_new(64);
	h_socketpair(sv);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], buf, 64, -1, 0);
	settle(&hr, &log, 20);
	assert_int_equal(weft_reactor_cancel(hr.r, BASE + 1), 0);
	res = cancelled_final(&hr, &log, BASE + 1, "recv");
	assert_int_equal(res, -ECANCELED);
	/*
	 * The final completion is reported: the buffer is the host's
	 * again.  Bytes sent now must stay in the socket.
	 */
	assert_int_equal(write(sv[1], "late bytes", 10), 10);
	settle(&hr, &log, SETTLE_MS);
	if (cx_buf_changed(buf, 64, 0))
		fail_msg("R16: %zu bytes of a recv's buffer changed after its "
		         "final completion (-ECANCELED) was reported",
		         cx_buf_changed(buf, 64, 0));
	assert_int_equal(read(sv[0], back, sizeof(back)), 10);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
	cx_buf_free(buf);
}


static void
R16_fini_lets_go_of_every_buffer(void **state)
{
	struct h_reactor hr;
	struct cx_log log = {0};
	unsigned char *buf;
	struct sockaddr_in a;
	char back[16];
	int sv[2], l, c, r;

	(void)state;
	cx_open(&hr);
	buf = cx_buf_new(64);
	h_socketpair(sv);
	l = cx_listener(&a);
	cx_submit_ok(&hr, WEFT_OP_RECV, BASE + 1, sv[0], buf, 64, -1, 0);
	cx_submit_ok(&hr, WEFT_OP_ACCEPT, BASE + 2, l, NULL, 0, -1,
	             WEFT_OP_MULTISHOT);
	settle(&hr, &log, 20);
	assert_int_equal(log.n, 0);
	/* fini with both in flight; the buffer is freed right after. */
	h_reactor_close(&hr);
	assert_int_equal(write(sv[1], "after fini", 10), 10);
	c = cx_tcp_socket();
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	assert_true(r == 0 || errno == EINPROGRESS);
	h_sleep_ns(SETTLE_MS * WEFT_MSEC);
	if (cx_buf_changed(buf, 64, 0))
		fail_msg("R16: %zu bytes of a recv's buffer changed after fini "
		         "returned",
		         cx_buf_changed(buf, 64, 0));
	cx_buf_free(buf);
	assert_int_equal(read(sv[0], back, sizeof(back)), 10);
	/* Nobody accepts for a reactor that is gone. */
	r = accept(l, NULL, NULL);
	if (r < 0)
		fail_msg("R16: a connection made after fini was accepted by "
		         "the multishot accept fini should have ended");
	close(r);
	close(c);
	close(l);
	close(sv[0]);
	close(sv[1]);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R15_cancel_ends_a_pending_recv_once),
    H_TEST(R15_cancel_before_any_wait_still_completes),
    H_TEST(R15_cancel_of_an_unknown_token_is_enoent),
    H_TEST(R15_cancel_stops_a_multishot_accept),
    H_TEST(R16_cancelled_recv_never_writes_its_buffer),
    H_TEST(R16_fini_lets_go_of_every_buffer),
};

H_GROUP(h_group_completion_cancel, "completion-cancel", tests);
