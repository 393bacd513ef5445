/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the driver's completion operations (runtime/driver_op.c,
 * D10 and D11) over a completion reactor that runs them in userspace
 * (completion_reactor.c), and their refusal over the real epoll reactor,
 * loaded from WEFT_TEST_REACTOR.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "completion_reactor.h"
#include "driver_fixture.h"

static struct completion_stats stats;
static struct weft_reactor *cr;
static struct weft__driver *cdrv;
static struct weft_driver *cd;


static int
open_completion(void **state)
{
	char err[256] = "";

	(void)state;
	memset(&stats, 0, sizeof(stats));
	cr = completion_reactor_new(&stats);
	assert_non_null(cr);
	assert_int_equal(
	    weft__driver_new(&cdrv, cr, cr->ops->flags, 0, err, sizeof(err)),
	    0);
	cd = weft__driver_public(cdrv);
	return 0;
}


static int
close_completion(void **state)
{
	(void)state;
	weft__driver_free(cdrv);
	cdrv = NULL;
	completion_reactor_free(cr);
	return 0;
}


static struct weft_io_op
io_op(uint32_t opcode, int fd, const void *data, uint32_t len)
{
	return (struct weft_io_op){.version = WEFT_IO_OP_VERSION,
	                           .opcode = opcode,
	                           .fd = fd,
	                           .data = data,
	                           .len = len,
	                           .offset = -1};
}


static int
open_both(void **state)
{
	open_edge(state);
	return open_completion(state);
}


static int
close_both(void **state)
{
	close_driver(state);
	return close_completion(state);
}


/* Parks until c was woken, at most `rounds` parks of 1 s. */
static void
park_until_woken(struct counter *c, int rounds)
{
	while (atomic_load(&c->wakes) == 0 && rounds-- > 0)
		assert_true(weft_driver_park(cd, 1000 * MS) >= 0);
	assert_int_equal(atomic_load(&c->wakes), 1);
}


static int
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}


static int
listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	*a = (struct sockaddr_in){.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
	return fd;
}


static int
dial(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)a, sizeof(*a)),
	                 0);
	return fd;
}

/* ---- D10 ------------------------------------------------------------ */


static void
D10_refused_without_completion(void **state)
{
	struct weft_io_op op = io_op(WEFT_OP_RECV, 0, NULL, 16);
	uint64_t id = 0;

	(void)state;
	/* epoll claims no completion. */
	assert_int_equal(weft_driver_op_submit(fx.d, &op, &id), WEFT_ENOTSUP);
	/* The setting turns it off on a reactor that has it. */
	weft__driver_set_completion(cdrv, false);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), WEFT_ENOTSUP);
	assert_false(weft__driver_completion(cdrv));
	weft__driver_set_completion(cdrv, true);
	assert_true(weft__driver_completion(cdrv));
	assert_int_equal(stats.submitted, 0);
}


static void
D10_recv_ready_once_with_bytes(void **state)
{
	struct weft_io_op op;
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	const void *data = NULL;
	int32_t res = 0;
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 64);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	assert_int_equal(weft_driver_op_poll(cd, id, &cx, &res, &data),
	                 WEFT_PENDING);
	assert_int_equal(atomic_load(&c.refs), 1);
	assert_int_equal(write(sv[1], "hello", 5), 5);
	park_until_woken(&c, 5);
	assert_int_equal(weft_driver_op_poll(cd, id, &cx, &res, &data),
	                 WEFT_READY);
	assert_int_equal(res, 5);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(atomic_load(&c.refs), 0);
	weft_driver_op_del(cd, id);
	/* D11: the id is refused afterwards. */
	assert_true(weft_driver_op_poll(cd, id, &cx, &res, &data) < 0);
	close(sv[0]);
	close(sv[1]);
}


static void
D10_send_copies_the_data(void **state)
{
	char msg[] = "copied at submit";
	char got[32] = "";
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	struct weft_io_op op;
	int32_t res = 0;
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	op = io_op(WEFT_OP_SEND, sv[0], msg, sizeof(msg));
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	memset(msg, 'x', sizeof(msg));
	while (weft_driver_op_poll(cd, id, &cx, &res, NULL) == WEFT_PENDING)
		assert_true(weft_driver_park(cd, 1000 * MS) >= 0);
	assert_int_equal(res, (int32_t)sizeof(msg));
	assert_int_equal(read(sv[1], got, sizeof(got)), (ssize_t)sizeof(msg));
	assert_string_equal(got, "copied at submit");
	weft_driver_op_del(cd, id);
	close(sv[0]);
	close(sv[1]);
}


static void
D10_submissions_batched_into_one_park(void **state)
{
	uint64_t ids[8];
	struct weft_io_op op;
	int32_t res;
	int sv[2], i;
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);

	(void)state;
	socket_pair(sv);
	for (i = 0; i < 8; i++) {
		op = io_op(WEFT_OP_SEND, sv[0], "ab", 2);
		assert_int_equal(weft_driver_op_submit(cd, &op, &ids[i]), 0);
	}
	assert_int_equal(stats.submitted, 0);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(stats.submitted, 8);
	assert_int_equal(stats.waits, 1);
	for (i = 0; i < 8; i++) {
		assert_int_equal(
		    weft_driver_op_poll(cd, ids[i], &cx, &res, NULL),
		    WEFT_READY);
		assert_int_equal(res, 2);
		weft_driver_op_del(cd, ids[i]);
	}
	close(sv[0]);
	close(sv[1]);
}


static void
D10_multishot_accept_in_order(void **state)
{
	struct sockaddr_in a;
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	struct weft_io_op op;
	int lfd = listener(&a), cl[3], i, rounds = 0;
	int32_t res;
	uint64_t id;

	(void)state;
	op = io_op(WEFT_OP_ACCEPT, lfd, NULL, 0);
	op.flags = WEFT_OP_MULTISHOT;
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	for (i = 0; i < 3; i++)
		cl[i] = dial(&a);
	for (i = 0; i < 3; i++) {
		struct sockaddr_in peer, mine;
		socklen_t len = sizeof(peer);

		while (weft_driver_op_poll(cd, id, &cx, &res, NULL) ==
		           WEFT_PENDING &&
		       rounds++ < 20)
			assert_true(weft_driver_park(cd, 1000 * MS) >= 0);
		assert_true(res >= 0);
		/* In order: the i-th accepted is the i-th client. */
		assert_int_equal(
		    getpeername(res, (struct sockaddr *)&peer, &len), 0);
		len = sizeof(mine);
		assert_int_equal(
		    getsockname(cl[i], (struct sockaddr *)&mine, &len), 0);
		assert_int_equal(peer.sin_port, mine.sin_port);
		close(res);
	}
	weft_driver_op_del(cd, id);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(stats.cancels, 1);
	assert_int_equal(completion_reactor_in_flight(cr), 0);
	for (i = 0; i < 3; i++)
		close(cl[i]);
	close(lfd);
}


struct parker {
	struct weft_driver *d;
	int rc;
};

static void *
park_long(void *arg)
{
	struct parker *p = arg;

	p->rc = weft_driver_park(p->d, 10000 * MS);
	return NULL;
}


static void
D10_submit_wakes_a_waiting_park(void **state)
{
	struct parker p = {cd, -1};
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	struct weft_io_op op;
	pthread_t t;
	int32_t res;
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(pthread_create(&t, NULL, park_long, &p), 0);
	/* Let it reach the wait; submitting earlier is fine as well. */
	usleep(20000);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 8);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(p.rc >= 0);
	/* Woken, the park returned; the next one hands the op over. */
	while (weft_driver_op_poll(cd, id, &cx, &res, NULL) == WEFT_PENDING)
		assert_true(weft_driver_park(cd, 1000 * MS) >= 0);
	assert_int_equal(res, 1);
	weft_driver_op_del(cd, id);
	close(sv[0]);
	close(sv[1]);
}

/* ---- D11 ------------------------------------------------------------ */


static void
D11_del_in_flight_cancels_drops_waker(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	struct weft_io_op op;
	int32_t res;
	uint64_t id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 4096);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(completion_reactor_in_flight(cr), 1);
	assert_int_equal(weft_driver_op_poll(cd, id, &cx, &res, NULL),
	                 WEFT_PENDING);
	weft_driver_op_del(cd, id);
	assert_int_equal(atomic_load(&c.refs), 0);
	assert_int_equal(atomic_load(&c.wakes), 0);
	assert_true(weft_driver_op_poll(cd, id, &cx, &res, NULL) < 0);
	/* The cancel goes at the next park, the final completion follows. */
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(stats.cancels, 1);
	assert_int_equal(completion_reactor_in_flight(cr), 0);
	assert_int_equal(atomic_load(&c.wakes), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
D11_del_before_park_lends_nothing(void **state)
{
	struct weft_io_op op;
	uint64_t id, id2;
	int sv[2];

	(void)state;
	socket_pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 16);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	weft_driver_op_del(cd, id);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(stats.submitted, 0);
	/* The slot is reused under another generation. */
	assert_int_equal(weft_driver_op_submit(cd, &op, &id2), 0);
	assert_int_not_equal(id, id2);
	weft_driver_op_del(cd, id2);
	close(sv[0]);
	close(sv[1]);
}


static void
D11_untaken_accepts_are_closed(void **state)
{
	struct sockaddr_in a;
	struct weft_io_op op;
	int lfd = listener(&a), cl[2], base, i;
	uint64_t id;

	(void)state;
	/* The test reactor holds a dup of the listener while in flight. */
	base = count_fds();
	op = io_op(WEFT_OP_ACCEPT, lfd, NULL, 0);
	op.flags = WEFT_OP_MULTISHOT;
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), 0);
	for (i = 0; i < 2; i++)
		cl[i] = dial(&a);
	for (i = 0; i < 20 && count_fds() < base + 5; i++)
		assert_true(weft_driver_park(cd, 100 * MS) >= 0);
	assert_int_equal(count_fds(), base + 5);
	weft_driver_op_del(cd, id);
	assert_int_equal(count_fds(), base + 3);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(completion_reactor_in_flight(cr), 0);
	assert_int_equal(count_fds(), base + 2);
	for (i = 0; i < 2; i++)
		close(cl[i]);
	assert_int_equal(count_fds(), base);
	close(lfd);
}


static void
D11_stale_and_foreign_ids_refused(void **state)
{
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	int32_t res;
	uint64_t io_id;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(weft_driver_io_add(cd, sv[0], WEFT_READABLE, &io_id),
	                 0);
	assert_true(weft_driver_op_poll(cd, io_id, &cx, &res, NULL) < 0);
	assert_true(weft_driver_op_poll(cd, 0, &cx, &res, NULL) < 0);
	weft_driver_op_del(cd, io_id); /* nothing */
	assert_int_equal(weft_driver_io_del(cd, io_id), 0);
	close(sv[0]);
	close(sv[1]);
}


static void
D11_free_with_ops_in_flight(void **state)
{
	struct weft_io_op op;
	struct counter c = {0};
	struct weft_context cx = context_of(&c, cd);
	int32_t res;
	uint64_t id[3];
	int sv[2];

	(void)state;
	socket_pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 1 << 20);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id[0]), 0);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id[1]), 0);
	assert_true(weft_driver_park(cd, 0) >= 0);
	assert_int_equal(weft_driver_op_poll(cd, id[0], &cx, &res, NULL),
	                 WEFT_PENDING);
	/* One deleted (its cancel queued), one queued, one in flight. */
	weft_driver_op_del(cd, id[1]);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id[2]), 0);
	weft__driver_free(cdrv);
	cdrv = NULL;
	assert_int_equal(completion_reactor_in_flight(cr), 0);
	assert_int_equal(atomic_load(&c.refs), 0);
	assert_int_equal(atomic_load(&c.wakes), 0);
	close(sv[0]);
	close(sv[1]);
	/* The teardown frees a fresh driver. */
	{
		char err[64];

		assert_int_equal(weft__driver_new(&cdrv, cr, cr->ops->flags, 0,
		                                  err, sizeof(err)),
		                 0);
		cd = weft__driver_public(cdrv);
	}
}


static void
D10_bad_operations_refused(void **state)
{
	struct weft_io_op op = io_op(WEFT_OP_RECV, 0, NULL, 16);
	uint64_t id;

	(void)state;
	op.opcode = 99;
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), -EINVAL);
	op = io_op(WEFT_OP_RECV, 0, NULL, 16);
	op.flags = WEFT_OP_MULTISHOT;
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), -EINVAL);
	op = io_op(WEFT_OP_RECV, -1, NULL, 16);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), -EBADF);
	op = io_op(WEFT_OP_SEND, 0, NULL, 16);
	assert_int_equal(weft_driver_op_submit(cd, &op, &id), -EINVAL);
	assert_int_equal(stats.submitted, 0);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn)                                                                  \
	cmocka_unit_test_setup_teardown(fn, open_completion, close_completion)
	    cmocka_unit_test_setup_teardown(D10_refused_without_completion,
	                                    open_both, close_both),
	    T(D10_recv_ready_once_with_bytes),
	    T(D10_send_copies_the_data),
	    T(D10_submissions_batched_into_one_park),
	    T(D10_multishot_accept_in_order),
	    T(D10_submit_wakes_a_waiting_park),
	    T(D10_bad_operations_refused),
	    T(D11_del_in_flight_cancels_drops_waker),
	    T(D11_del_before_park_lends_nothing),
	    T(D11_untaken_accepts_are_closed),
	    T(D11_stale_and_foreign_ids_refused),
	    T(D11_free_with_ops_in_flight),
#undef T
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
