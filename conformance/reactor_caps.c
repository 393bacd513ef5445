/* SPDX-License-Identifier: MIT */
/*
 * R rules, second half: registrations changed during a wait,
 * deregistration, the edge/level flags, independent instances and the
 * error codes of add, modify and del.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "rtest.h"

/* ---- R5 ------------------------------------------------------------ */

/*
 * One wait on a helper thread, with no limit, and what it returned.  The
 * change under test is made while it is inside that wait, and must end
 * that same wait: a reactor that applies changes only at the next wait
 * would sit in this one until the test gives up and wakes it.
 */
struct waiting {
	struct h_reactor *hr;
	int64_t timeout;
	struct weft_reactor_event ev[CAP];
	int n;
	atomic_bool in_wait, returned;
};


static void *
wait_once(void *arg)
{
	struct waiting *w = arg;

	atomic_store(&w->in_wait, true);
	w->n = weft_reactor_wait(w->hr->r, w->ev, CAP, w->timeout);
	atomic_store(&w->returned, true);
	return NULL;
}


static void
r5_start(struct waiting *w, struct h_reactor *hr, int64_t timeout, pthread_t *t)
{
	*w = (struct waiting){.hr = hr, .timeout = timeout};
	*t = h_thread(wait_once, w);
	while (!atomic_load(&w->in_wait))
		sched_yield();
	/* Long enough for the thread to be inside wait, and parked there. */
	h_sleep_ns(50 * WEFT_MSEC);
}


/*
 * Gives the wait a generous time to return by itself; a wait that needs
 * a wakeup to see the change fails (the wakeup only ends the test).
 */
static void
r5_finish(struct waiting *w, pthread_t t, const char *what)
{
	uint64_t start = h_now(), bound = 2 * h_prompt_ns();

	while (!atomic_load(&w->returned) && h_now() - start < bound)
		h_sleep_ns(WEFT_MSEC);
	if (!atomic_load(&w->returned)) {
		weft_reactor_wakeup(w->hr->r);
		pthread_join(t, NULL);
		fail_msg("R5: %s made during a wait did not end that wait "
		         "within %llu ms; it needed a wakeup, so the change "
		         "took effect only at a later wait",
		         what, (unsigned long long)(bound / WEFT_MSEC));
	}
	pthread_join(t, NULL);
	if (w->n < 0)
		fail_msg("R5: wait failed: %s", weft_strerror(w->n));
}


/* The readiness the wait reported for token, or-ed. */
static uint32_t
r5_ready(const struct waiting *w, uint64_t token)
{
	uint32_t ready = 0;
	int i;

	for (i = 0; i < w->n; i++)
		if (w->ev[i].token == token)
			ready |= w->ev[i].ready;
	return ready;
}


static void
R5_add_during_wait_takes_effect_in_it(void **state)
{
	struct h_reactor hr;
	struct waiting w;
	pthread_t t;
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	h_write_byte(sv[1]); /* readable before it is even added */
	r5_start(&w, &hr, WEFT_TIMEOUT_INFINITE, &t);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 10);
	r5_finish(&w, t, "an add");
	if (!(r5_ready(&w, BASE + 10) & WEFT_READABLE))
		fail_msg("R5: the wait under way returned %d events, none of "
		         "them the fd added during it",
		         w.n);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R5_modify_during_wait_takes_effect_in_it(void **state)
{
	struct h_reactor hr;
	struct waiting w;
	pthread_t t;
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	/* Writable but quiet: nothing to report until the modify. */
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 10);
	r5_start(&w, &hr, long_wait(60 * WEFT_SEC), &t);
	assert_int_equal(
	    weft_reactor_modify(hr.r, sv[0], WEFT_WRITABLE, BASE + 11), 0);
	r5_finish(&w, t, "a modify");
	assert_int_equal(r5_ready(&w, BASE + 10), 0);
	if (!(r5_ready(&w, BASE + 11) & WEFT_WRITABLE))
		fail_msg("R5: the wait under way returned %d events, none of "
		         "them the new interest and token",
		         w.n);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R5_del_during_wait_takes_effect_in_it(void **state)
{
	struct h_reactor hr;
	struct waiting w;
	pthread_t t;
	int a[2], b[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(a);
	h_socketpair(b);
	add_or_fail(&hr, a[0], WEFT_READABLE, BASE + 12);
	add_or_fail(&hr, b[0], WEFT_READABLE, BASE + 13);
	r5_start(&w, &hr, WEFT_TIMEOUT_INFINITE, &t);
	assert_int_equal(weft_reactor_del(hr.r, a[0]), 0);
	/* a's readiness comes after its del: the wait must not see it. */
	h_write_byte(a[1]);
	h_sleep_ns(20 * WEFT_MSEC);
	h_write_byte(b[1]);
	r5_finish(&w, t, "a del");
	if (r5_ready(&w, BASE + 12))
		fail_msg("R5: the wait under way reported an fd deleted "
		         "during it, for readiness that came after the del");
	assert_true(r5_ready(&w, BASE + 13) & WEFT_READABLE);
	weft_reactor_del(hr.r, b[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
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
	/*
	 * CLOCK is ABI 1.2's, COMPLETION 1.3's; R12 and R13 check the
	 * interface that goes with each.
	 */
	assert_int_equal(f & ~(WEFT_REACTOR_EDGE | WEFT_REACTOR_LEVEL |
	                       WEFT_REACTOR_CONCURRENT_CTL |
	                       WEFT_REACTOR_CLOCK | WEFT_REACTOR_COMPLETION),
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

struct write_later {
	int fd;
	atomic_bool sent;
};


static void *
r10_write_later(void *arg)
{
	struct write_later *w = arg;

	h_sleep_ns(50 * WEFT_MSEC);
	atomic_store(&w->sent, true);
	h_write_byte(w->fd);
	return NULL;
}


static void
R10_instances_are_independent(void **state)
{
	struct h_reactor a, b;
	struct seen sa = {0}, sb = {0};
	struct write_later w;
	pthread_t t;
	int sv[2], own[2], k;
	bool sent;

	(void)state;
	h_reactor_open(&a, CAP);
	h_reactor_open(&b, 1); /* the smallest batch hint works too */
	h_socketpair(sv);
	h_socketpair(own);
	add_or_fail(&a, sv[0], WEFT_READABLE, BASE + 15);
	add_or_fail(&b, own[0], WEFT_READABLE, BASE + 14);
	h_write_byte(sv[1]);
	assert_int_equal(weft_reactor_wakeup(a.r), 0);
	/*
	 * b saw neither a's fd nor a's wakeup: its wait lasts until its own
	 * fd is ready (a long one, so that an early timeout, R3, is not
	 * taken for sharing).
	 */
	w = (struct write_later){.fd = own[1]};
	t = h_thread(r10_write_later, &w);
	for (k = 0; k < 10 && !(sb.ready[14] & WEFT_READABLE); k++) {
		wait_into(&b, &sb, 1, long_wait(10 * WEFT_SEC));
		if (k == 0 && !atomic_load(&w.sent))
			fail_msg("R10: a wait of one instance ended before "
			         "its own fd was ready: %d events, %s",
			         sb.count,
			         sb.ready[15] ? "the other instance's fd"
			                      : "the other's wakeup?");
	}
	pthread_join(t, NULL);
	sent = atomic_load(&w.sent);
	assert_true(sent);
	assert_int_equal(sb.ready[15], 0);
	assert_int_equal(sb.foreign, 0);
	wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	if (!(sa.ready[15] & WEFT_READABLE)) /* a wakeup may come first */
		wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	assert_true(sa.ready[15] & WEFT_READABLE);
	assert_int_equal(sa.ready[14], 0);
	weft_reactor_del(a.r, sv[0]);
	weft_reactor_del(b.r, own[0]);
	close(sv[0]);
	close(sv[1]);
	close(own[0]);
	close(own[1]);
	h_reactor_close(&b);
	h_reactor_close(&a);
}


/* ---- R11 ----------------------------------------------------------- */

static void
R11_add_twice_is_eexist(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2], r;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 1);
	r = weft_reactor_add(hr.r, sv[0], WEFT_READABLE | WEFT_WRITABLE,
	                     BASE + 2);
	if (r != -EEXIST)
		fail_msg("R11: a second add of fd %d returned %d (%s), not "
		         "-EEXIST",
		         sv[0], r, weft_strerror(r));
	/* Refused, so the first registration stands as it was. */
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[1] & WEFT_READABLE);
	assert_false(s.ready[1] & WEFT_WRITABLE);
	assert_int_equal(s.ready[2], 0);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
r11_expect(int got, int want, const char *call, int fd)
{
	if (got != want)
		fail_msg("R11: %s of fd %d returned %d (%s), not %d (%s)", call,
		         fd, got, weft_strerror(got), want,
		         weft_strerror(want));
}


static void
R11_unknown_fd_is_enoent(void **state)
{
	struct h_reactor hr;
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	/* Open, but never added. */
	r11_expect(weft_reactor_modify(hr.r, sv[0], WEFT_READABLE, BASE),
	           -ENOENT, "modify", sv[0]);
	r11_expect(weft_reactor_del(hr.r, sv[0]), -ENOENT, "del", sv[0]);
	/* Added and deleted: unknown again. */
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE);
	r11_expect(weft_reactor_del(hr.r, sv[0]), 0, "del", sv[0]);
	r11_expect(weft_reactor_del(hr.r, sv[0]), -ENOENT, "a second del",
	           sv[0]);
	r11_expect(weft_reactor_modify(hr.r, sv[0], WEFT_READABLE, BASE),
	           -ENOENT, "modify after del", sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R11_add_refuses_what_it_cannot_watch(void **state)
{
	struct h_reactor hr;
	FILE *file;
	int sv[2], dir;

	(void)state;
	h_reactor_open(&hr, CAP);
	r11_expect(weft_reactor_add(hr.r, -1, WEFT_READABLE, BASE), -EBADF,
	           "add", -1);
	h_socketpair(sv);
	close(sv[0]);
	close(sv[1]);
	r11_expect(weft_reactor_add(hr.r, sv[0], WEFT_READABLE, BASE), -EBADF,
	           "add (a closed fd)", sv[0]);
	/* Always "ready" to poll(2), refused by epoll: refused by all. */
	file = tmpfile();
	assert_non_null(file);
	r11_expect(weft_reactor_add(hr.r, fileno(file), WEFT_READABLE, BASE),
	           -EPERM, "add (a regular file)", fileno(file));
	fclose(file);
	dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);
	r11_expect(weft_reactor_add(hr.r, dir, WEFT_READABLE, BASE), -EPERM,
	           "add (a directory)", dir);
	close(dir);
	h_reactor_close(&hr);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R5_add_during_wait_takes_effect_in_it),
    H_TEST(R5_modify_during_wait_takes_effect_in_it),
    H_TEST(R5_del_during_wait_takes_effect_in_it),
    H_TEST(R6_del_discards_pending_events),
    H_TEST(R6_fd_number_reused_reports_new_token),
    H_TEST(R7_flags_claim_edge_or_level),
    H_TEST(R8_level_reports_while_ready),
    H_TEST(R9_edge_reports_once_per_edge),
    H_TEST(R10_instances_are_independent),
    H_TEST(R11_add_twice_is_eexist),
    H_TEST(R11_unknown_fd_is_enoent),
    H_TEST(R11_add_refuses_what_it_cannot_watch),
};

H_GROUP(h_group_reactor_caps, "reactor-caps", tests);
