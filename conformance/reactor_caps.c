/* SPDX-License-Identifier: MIT */
/*
 * R rules, second half: registrations changed during a wait,
 * deregistration, the edge/level flags and independent instances.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "rtest.h"

/* ---- R5 ------------------------------------------------------------ */

struct waiting {
	struct h_reactor *hr;
	struct seen s;
	atomic_bool in_wait;
};


static void *
wait_for_token(void *arg)
{
	struct waiting *w = arg;
	struct weft_reactor_event ev[CAP];
	int n, i, k;

	atomic_store(&w->in_wait, true);
	for (k = 0; k < 20; k++) {
		n = weft_reactor_wait(w->hr->r, ev, CAP, 100 * WEFT_MSEC);
		for (i = 0; i < n; i++)
			if (ev[i].token == BASE + 10)
				w->s.ready[10] |= ev[i].ready;
		if (w->s.ready[10])
			break;
	}
	return NULL;
}


static void
R5_concurrent_ctl_during_wait(void **state)
{
	struct h_reactor hr;
	struct waiting w = {.hr = &hr};
	pthread_t t;
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	h_write_byte(sv[1]);
	t = h_thread(wait_for_token, &w);
	while (!atomic_load(&w.in_wait))
		sched_yield();
	h_sleep_ns(5 * WEFT_MSEC);
	/* Added while the other thread waits, with no wakeup. */
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 10);
	pthread_join(t, NULL);
	assert_true(w.s.ready[10] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


/* ---- R6 ------------------------------------------------------------ */

static void
R6_del_discards_pending_events(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[8][2], i;

	(void)state;
	h_reactor_open(&hr, CAP);
	for (i = 0; i < 8; i++) {
		h_socketpair(sv[i]);
		add_or_fail(&hr, sv[i][0], WEFT_READABLE, BASE + (uint64_t)i);
		h_write_byte(sv[i][1]);
	}
	/* Take one event, then deregister every fd: nothing may follow. */
	assert_int_equal(wait_into(&hr, &s, 1, 1000 * WEFT_MSEC), 1);
	for (i = 0; i < 8; i++)
		assert_int_equal(weft_reactor_del(hr.r, sv[i][0]), 0);
	memset(&s, 0, sizeof(s));
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.count, 0);
	for (i = 0; i < 8; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	h_reactor_close(&hr);
}


static void
R6_fd_number_reused_reports_new_token(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int a[2], b[2], fd;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(a);
	fd = a[0];
	add_or_fail(&hr, fd, WEFT_READABLE, BASE + 11);
	h_write_byte(a[1]);
	assert_int_equal(weft_reactor_del(hr.r, fd), 0);
	close(fd);
	/* A new socket under the old number, with nothing to read. */
	h_socketpair(b);
	if (b[0] != fd) {
		assert_int_equal(dup2(b[0], fd), fd);
		close(b[0]);
	}
	add_or_fail(&hr, fd, WEFT_READABLE, BASE + 12);
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.ready[11], 0);
	assert_int_equal(s.ready[12], 0);
	h_write_byte(b[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_int_equal(s.ready[11], 0);
	assert_true(s.ready[12] & WEFT_READABLE);
	weft_reactor_del(hr.r, fd);
	close(fd);
	close(a[1]);
	close(b[1]);
	h_reactor_close(&hr);
}


/* ---- R7 to R9: flags ---------------------------------------------- */

static void
R7_flags_claim_edge_or_level(void **state)
{
	uint32_t f = h_opt.reactor_flags;
	uint32_t mode = f & (WEFT_REACTOR_EDGE | WEFT_REACTOR_LEVEL);

	(void)state;
	assert_true(h_opt.resolved);
	assert_true(mode == WEFT_REACTOR_EDGE || mode == WEFT_REACTOR_LEVEL);
	assert_int_equal(f & ~(WEFT_REACTOR_EDGE | WEFT_REACTOR_LEVEL |
	                       WEFT_REACTOR_CONCURRENT_CTL),
	                 0);
}


static void
R8_level_reports_while_ready(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2], i;

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_LEVEL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 13);
	h_write_byte(sv[1]);
	for (i = 0; i < 3; i++) {
		memset(&s, 0, sizeof(s));
		wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
		assert_true(s.ready[13] & WEFT_READABLE);
	}
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R9_edge_reports_once_per_edge(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_EDGE))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 14);
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[14] & WEFT_READABLE);
	/* Unread, but no new edge: nothing more. */
	memset(&s, 0, sizeof(s));
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.count, 0);
	/* New data is a new edge. */
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[14] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


/* ---- R10 ----------------------------------------------------------- */

static void
R10_instances_are_independent(void **state)
{
	struct h_reactor a, b;
	struct seen sa = {0}, sb = {0};
	uint64_t start;
	int sv[2];

	(void)state;
	h_reactor_open(&a, CAP);
	h_reactor_open(&b, 1); /* the smallest batch hint works too */
	h_socketpair(sv);
	add_or_fail(&a, sv[0], WEFT_READABLE, BASE + 15);
	h_write_byte(sv[1]);
	assert_int_equal(weft_reactor_wakeup(a.r), 0);
	/* b saw neither the fd nor a's wakeup. */
	start = h_now();
	assert_int_equal(wait_into(&b, &sb, 1, 30 * WEFT_MSEC), 0);
	assert_true(h_now() - start >= 30 * WEFT_MSEC);
	wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	if (!(sa.ready[15] & WEFT_READABLE)) /* a wakeup may come first */
		wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	assert_true(sa.ready[15] & WEFT_READABLE);
	weft_reactor_del(a.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&b);
	h_reactor_close(&a);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R5_concurrent_ctl_during_wait),
    H_TEST(R6_del_discards_pending_events),
    H_TEST(R6_fd_number_reused_reports_new_token),
    H_TEST(R7_flags_claim_edge_or_level),
    H_TEST(R8_level_reports_while_ready),
    H_TEST(R9_edge_reports_once_per_edge),
    H_TEST(R10_instances_are_independent),
};

H_GROUP(h_group_reactor_caps, "reactor-caps", tests);
