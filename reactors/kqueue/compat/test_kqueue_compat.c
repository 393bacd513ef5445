/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Linux kqueue layer: each filter, flag and error path it
 * claims in sys/event.h, checked against what a native kqueue does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/event.h"

static const struct timespec zero_ts = {0, 0};
static const struct timespec long_ts = {5, 0};


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static void
make_pair(int sv[2])
{
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}


static int
change(int kq, uintptr_t ident, short filter, unsigned short flags,
       unsigned fflags, void *udata)
{
	struct kevent kev;

	EV_SET(&kev, ident, filter, flags, fflags, 0, udata);
	return kevent(kq, &kev, 1, NULL, 0, NULL);
}


static int
poll_kq(int kq, struct kevent *out, int n, const struct timespec *ts)
{
	return kevent(kq, NULL, 0, out, n, ts);
}


static void
test_bad_kq(void **state)
{
	struct kevent kev;

	(void)state;
	errno = 0;
	assert_int_equal(poll_kq(-1, &kev, 1, &zero_ts), -1);
	assert_int_equal(errno, EBADF);
}


static void
test_read_edge(void **state)
{
	int kq = kqueue(), sv[2];
	struct kevent ev[4];
	int tag;

	(void)state;
	assert_true(kq >= 0);
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, &tag),
	                 0);
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	assert_int_equal(ev[0].ident, (uintptr_t)sv[0]);
	assert_int_equal(ev[0].filter, EVFILT_READ);
	assert_ptr_equal(ev[0].udata, &tag);
	assert_false(ev[0].flags & (EV_EOF | EV_ERROR));
	/* EV_CLEAR: unread data is not reported again until it changes. */
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	assert_int_equal(write(sv[1], "y", 1), 1);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


static void
test_write_edge(void **state)
{
	int kq = kqueue(), sv[2];
	struct kevent ev[4];

	(void)state;
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_WRITE,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	assert_int_equal(ev[0].filter, EVFILT_WRITE);
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


/* Both knotes of one fd, one slot at a time: nothing found is lost. */
static void
test_read_write_one_slot(void **state)
{
	int kq = kqueue(), sv[2], seen = 0;
	struct kevent ev;

	(void)state;
	make_pair(sv);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_WRITE,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(poll_kq(kq, &ev, 1, &long_ts), 1);
	seen |= ev.filter == EVFILT_READ ? 1 : 2;
	assert_int_equal(poll_kq(kq, &ev, 1, &long_ts), 1);
	seen |= ev.filter == EVFILT_READ ? 1 : 2;
	assert_int_equal(seen, 3);
	assert_int_equal(poll_kq(kq, &ev, 1, &zero_ts), 0);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


static void
test_delete(void **state)
{
	int kq = kqueue(), sv[2];
	struct kevent ev[4];

	(void)state;
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_WRITE,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	/* One of the two is pending inside the layer when deleted. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(poll_kq(kq, ev, 1, &long_ts), 1);
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, NULL), 0);
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, NULL), 0);
	assert_int_equal(write(sv[1], "y", 1), 1);
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	errno = 0;
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, NULL), -1);
	assert_int_equal(errno, ENOENT);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


/* As a native kqueue, close(2) drops the knotes of an fd. */
static void
test_closed_fd(void **state)
{
	int kq = kqueue(), sv[2], again[2];
	struct kevent ev[4];

	(void)state;
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	close(sv[0]);
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	errno = 0;
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, NULL), -1);
	assert_int_equal(errno, EBADF);
	/* The number, reused by a new socket, starts without knotes. */
	make_pair(again);
	assert_int_equal(again[0], sv[0]);
	assert_int_equal(change(kq, (uintptr_t)again[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(write(again[1], "x", 1), 1);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	close(sv[1]);
	close(again[0]);
	close(again[1]);
	close(kq);
}


static void
test_eof_close(void **state)
{
	int kq = kqueue(), sv[2], i, n;
	struct kevent ev[4];
	unsigned short rflags = 0, wflags = 0;

	(void)state;
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_WRITE,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1); /* writable */
	close(sv[1]);
	n = poll_kq(kq, ev, 4, &long_ts);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].fflags, 0);
		if (ev[i].filter == EVFILT_READ)
			rflags = ev[i].flags;
		else
			wflags = ev[i].flags;
	}
	assert_true(rflags & EV_EOF);
	assert_true(wflags & EV_EOF);
	close(sv[0]);
	close(kq);
}


/* A half-close ends reading only: the write knote sees no EV_EOF. */
static void
test_eof_half_close(void **state)
{
	int kq = kqueue(), sv[2], n, i, wrote = 0;
	struct kevent ev[4];

	(void)state;
	make_pair(sv);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	assert_int_equal(ev[0].filter, EVFILT_READ);
	assert_true(ev[0].flags & EV_EOF);
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_WRITE,
	                        EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	/* The read knote may be reported again: see sys/event.h. */
	n = poll_kq(kq, ev, 4, &long_ts);
	assert_true(n == 1 || n == 2);
	for (i = 0; i < n; i++) {
		if (ev[i].filter == EVFILT_WRITE) {
			assert_false(ev[i].flags & EV_EOF);
			wrote = 1;
		} else {
			assert_true(ev[i].flags & EV_EOF);
		}
	}
	assert_true(wrote);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


/* A refused connection: EV_EOF with the error in fflags. */
static void
test_eof_error(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int kq = kqueue(), s, fd;
	struct kevent ev[4];

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	close(s); /* nothing listens on that port now */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(
	    change(kq, (uintptr_t)fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, NULL),
	    0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		assert_int_equal(errno, EINPROGRESS);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	assert_true(ev[0].flags & EV_EOF);
	assert_int_not_equal(ev[0].fflags, 0);
	close(fd);
	close(kq);
}


static void
test_user_trigger(void **state)
{
	int kq = kqueue(), tag;
	struct kevent ev[4];

	(void)state;
	assert_int_equal(change(kq, 7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, &tag),
	                 0);
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	assert_int_equal(change(kq, 7, EVFILT_USER, 0, NOTE_TRIGGER, NULL), 0);
	assert_int_equal(change(kq, 7, EVFILT_USER, 0, NOTE_TRIGGER, NULL), 0);
	assert_int_equal(poll_kq(kq, ev, 4, &long_ts), 1);
	assert_int_equal(ev[0].ident, 7);
	assert_int_equal(ev[0].filter, EVFILT_USER);
	assert_ptr_equal(ev[0].udata, &tag);
	/* EV_CLEAR: two triggers before a wait make one event. */
	assert_int_equal(poll_kq(kq, ev, 4, &zero_ts), 0);
	assert_int_equal(change(kq, 7, EVFILT_USER, EV_DELETE, 0, NULL), 0);
	errno = 0;
	assert_int_equal(change(kq, 7, EVFILT_USER, 0, NOTE_TRIGGER, NULL), -1);
	assert_int_equal(errno, ENOENT);
	close(kq);
}


/* A trigger deleted before the wait is not reported. */
static void
test_user_delete_pending(void **state)
{
	int kq = kqueue();
	struct kevent ev[4];
	const struct timespec ts = {0, 20 * 1000000};

	(void)state;
	assert_int_equal(change(kq, 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, NULL),
	                 0);
	assert_int_equal(change(kq, 1, EVFILT_USER, 0, NOTE_TRIGGER, NULL), 0);
	assert_int_equal(change(kq, 1, EVFILT_USER, EV_DELETE, 0, NULL), 0);
	assert_int_equal(poll_kq(kq, ev, 4, &ts), 0);
	close(kq);
}


struct trigger_arg {
	int kq;
};


static void *
trigger_later(void *p)
{
	struct trigger_arg *arg = p;
	const struct timespec d = {0, 50 * 1000000};

	nanosleep(&d, NULL);
	change(arg->kq, 1, EVFILT_USER, 0, NOTE_TRIGGER, NULL);
	return NULL;
}


static void
test_user_cross_thread(void **state)
{
	struct trigger_arg arg = {.kq = kqueue()};
	struct kevent ev[4];
	pthread_t th;
	uint64_t t0;

	(void)state;
	assert_int_equal(
	    change(arg.kq, 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, trigger_later, &arg), 0);
	t0 = now_ns();
	assert_int_equal(poll_kq(arg.kq, ev, 4, NULL), 1);
	assert_true(now_ns() - t0 < 4000000000u);
	assert_int_equal(ev[0].filter, EVFILT_USER);
	pthread_join(th, NULL);
	close(arg.kq);
}


static void
test_timeout(void **state)
{
	int kq = kqueue();
	struct kevent ev[4];
	const struct timespec ts = {0, 30 * 1000000 + 1};
	const struct timespec bad = {0, 1000000000};
	uint64_t t0 = now_ns();

	(void)state;
	assert_int_equal(poll_kq(kq, ev, 4, &ts), 0);
	assert_true(now_ns() - t0 >= 30 * 1000000 + 1);
	errno = 0;
	assert_int_equal(poll_kq(kq, ev, 4, &bad), -1);
	assert_int_equal(errno, EINVAL);
	close(kq);
}


/* A refused change goes to the event list while there is room. */
static void
test_ev_error(void **state)
{
	int kq = kqueue(), sv[2];
	struct kevent ch[2], ev[2];

	(void)state;
	make_pair(sv);
	EV_SET(&ch[0], 999999, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, NULL);
	EV_SET(&ch[1], (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0,
	       NULL);
	assert_int_equal(kevent(kq, ch, 2, ev, 2, &zero_ts), 1);
	assert_int_equal(ev[0].ident, 999999);
	assert_true(ev[0].flags & EV_ERROR);
	assert_int_equal(ev[0].data, EBADF);
	errno = 0;
	assert_int_equal(kevent(kq, ch, 1, NULL, 0, NULL), -1);
	assert_int_equal(errno, EBADF);
	close(sv[0]);
	close(sv[1]);
	close(kq);
}


/* What the layer does not implement fails instead of half working. */
static void
test_unsupported(void **state)
{
	int kq = kqueue(), sv[2], fd;
	FILE *file;

	(void)state;
	make_pair(sv);
	errno = 0;
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(
	    change(kq, (uintptr_t)sv[0], -4, EV_ADD | EV_CLEAR, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(change(kq, (uintptr_t)sv[0], EVFILT_READ,
	                        EV_ADD | EV_CLEAR | 0x0010, 0, NULL),
	                 -1);
	assert_int_equal(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
	/* epoll refuses regular files; so does the layer. */
	file = tmpfile();
	assert_non_null(file);
	fd = fileno(file);
	errno = 0;
	assert_int_equal(
	    change(kq, (uintptr_t)fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, NULL),
	    -1);
	assert_int_equal(errno, EPERM);
	fclose(file);
	close(kq);
}


/* The state of a closed kqueue is reclaimed: fds do not pile up. */
static void
test_reclaim(void **state)
{
	int first = kqueue(), kq = first, i;

	(void)state;
	assert_true(first >= 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(
		    change(kq, 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, NULL), 0);
		close(kq);
		kq = kqueue();
		assert_true(kq >= 0 && kq <= first + 2);
	}
	close(kq);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_kq),
	    cmocka_unit_test(test_read_edge),
	    cmocka_unit_test(test_write_edge),
	    cmocka_unit_test(test_read_write_one_slot),
	    cmocka_unit_test(test_delete),
	    cmocka_unit_test(test_closed_fd),
	    cmocka_unit_test(test_eof_close),
	    cmocka_unit_test(test_eof_half_close),
	    cmocka_unit_test(test_eof_error),
	    cmocka_unit_test(test_user_trigger),
	    cmocka_unit_test(test_user_delete_pending),
	    cmocka_unit_test(test_user_cross_thread),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_ev_error),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_reclaim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
