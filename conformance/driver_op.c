/* SPDX-License-Identifier: MIT */
/*
 * D10 and D11: the host driver's completion operations (op_submit,
 * op_poll, op_del) on the reactor under test.  Where the reactor does not
 * claim WEFT_REACTOR_COMPLETION only the refusal is checked; the rest is
 * skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

static bool
claims_completion(struct weft_runtime *rt)
{
	const struct weft_plugin_descriptor *d =
	    weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR);
	const struct weft_reactor_iface *ops = d ? d->iface : NULL;

	return ops && ops->version >= 3 && ops->submit && ops->cancel &&
	       (ops->flags & WEFT_REACTOR_COMPLETION);
}


/* A runtime on the pair, or a skip where the reactor has no completion. */
static struct weft_runtime *
open_completion(void)
{
	struct weft_runtime *rt = h_rt_open(NULL);

	if (!claims_completion(rt)) {
		weft_runtime_close(rt);
		skip(); /* capability not claimed */
	}
	return rt;
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


/* Waits in a root for the operation's next result. */
struct op_wait {
	uint64_t id;
	int rc, polls;
	int32_t result;
	const void *data;
};

static weft_poll
op_wait_step(void *arg, struct weft_context *cx)
{
	struct op_wait *w = arg;

	w->polls++;
	w->rc =
	    weft_driver_op_poll(cx->driver, w->id, cx, &w->result, &w->data);
	return w->rc == WEFT_PENDING ? WEFT_PENDING : WEFT_READY;
}


static struct op_wait
op_wait(struct weft_runtime *rt, uint64_t id)
{
	struct op_wait w = {.id = id};

	assert_int_equal(h_block_on_fn(rt, op_wait_step, &w), 0);
	return w;
}


static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX,
	                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                            0, sv),
	                 0);
}


static int
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* ---- D10 ------------------------------------------------------------ */


static void
D10_refused_without_completion(void **state)
{
	static const char *const off[] = {"io_completion", "false", NULL};
	struct weft_io_op op;
	struct weft_runtime *rt;
	char err[512] = "";
	uint64_t id = 0;
	int sv[2];

	(void)state;
	pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 16);
	rt = h_rt_open(NULL);
	if (!claims_completion(rt))
		assert_int_equal(
		    weft_driver_op_submit(weft_runtime_driver(rt), &op, &id),
		    WEFT_ENOTSUP);
	weft_runtime_close(rt);
	/* The configuration turns it off on any reactor. */
	rt = h_rt_try_open(NULL, NULL, off, err, sizeof(err));
	if (!rt)
		fail_msg("D10: cannot open with io_completion = false: %s",
		         err);
	if (weft_driver_op_submit(weft_runtime_driver(rt), &op, &id) !=
	    WEFT_ENOTSUP)
		fail_msg("D10: op_submit started an operation with "
		         "io_completion = false");
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
}


struct late_write {
	int fd;
};

static void *
late_write(void *arg)
{
	struct late_write *w = arg;

	h_sleep_ns(20 * WEFT_MSEC);
	if (write(w->fd, "hello", 5) != 5)
		h_violation("D10: the peer's write failed");
	return NULL;
}


static void
D10_recv_ready_once_with_its_bytes(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	struct late_write lw;
	struct weft_io_op op;
	struct op_wait w;
	struct h_waker hw;
	struct weft_context cx;
	int32_t res;
	pthread_t t;
	uint64_t id;
	int sv[2];

	(void)state;
	pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 64);
	assert_int_equal(weft_driver_op_submit(d, &op, &id), 0);
	/* Nothing yet: the waker is stored, and the bytes wake it. */
	lw.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, late_write, &lw), 0);
	w = op_wait(rt, id);
	pthread_join(t, NULL);
	H_NO_VIOLATIONS();
	if (w.rc != WEFT_READY || w.result != 5 || !w.data ||
	    memcmp(w.data, "hello", 5) != 0)
		fail_msg("D10: recv of 5 bytes gave rc %d result %d", w.rc,
		         (int)w.result);
	if (w.polls < 2)
		fail_msg("D10: op_poll was ready before the bytes came");
	/* Ready exactly once; the bytes stay readable until op_del. */
	h_waker_init(&hw);
	weft_context_init(&cx, h_waker_make(&hw), NULL, d);
	if (weft_driver_op_poll(d, id, &cx, &res, NULL) == WEFT_READY)
		fail_msg("D10: op_poll was ready twice for one recv");
	assert_memory_equal(w.data, "hello", 5);
	weft_driver_op_del(d, id);
	if (weft_driver_op_poll(d, id, &cx, &res, NULL) >= 0)
		fail_msg("D11: op_poll accepted an id after op_del");
	weft_waker_drop(&cx.waker);
	h_waker_fini(&hw);
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
}


static void
D10_send_sends_what_data_held_at_submit(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	char msg[] = "held at submit";
	char got[32] = "";
	struct weft_io_op op;
	struct op_wait w;
	uint64_t id;
	int sv[2];

	(void)state;
	pair(sv);
	op = io_op(WEFT_OP_SEND, sv[0], msg, sizeof(msg));
	assert_int_equal(weft_driver_op_submit(d, &op, &id), 0);
	memset(msg, '!', sizeof(msg)); /* the caller's memory is free */
	w = op_wait(rt, id);
	assert_int_equal(w.rc, WEFT_READY);
	assert_int_equal(w.result, (int32_t)sizeof(msg));
	assert_int_equal(read(sv[1], got, sizeof(got)), (ssize_t)sizeof(msg));
	if (strcmp(got, "held at submit") != 0)
		fail_msg("D10: send sent \"%s\", not what data held", got);
	weft_driver_op_del(d, id);
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
}


static int
listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

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
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)a, sizeof(*a)),
	                 0);
	return fd;
}


static in_port_t
port_of(int fd, bool peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(peer ? getpeername(fd, (struct sockaddr *)&a, &len)
	                      : getsockname(fd, (struct sockaddr *)&a, &len),
	                 0);
	return a.sin_port;
}


static void
D10_multishot_accept_once_per_connection_in_order(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	struct sockaddr_in a;
	struct weft_io_op op;
	struct op_wait w;
	int lfd = listener(&a), cl[3], i;
	uint64_t id;

	(void)state;
	op = io_op(WEFT_OP_ACCEPT, lfd, NULL, 0);
	op.flags = WEFT_OP_MULTISHOT;
	assert_int_equal(weft_driver_op_submit(d, &op, &id), 0);
	for (i = 0; i < 3; i++)
		cl[i] = dial(&a);
	for (i = 0; i < 3; i++) {
		w = op_wait(rt, id);
		if (w.rc != WEFT_READY || w.result < 0)
			fail_msg("D10: accept %d gave rc %d result %d", i, w.rc,
			         (int)w.result);
		if (port_of(w.result, true) != port_of(cl[i], false))
			fail_msg("D10: accept %d is not the %d-th connection",
			         i, i);
		close(w.result);
	}
	weft_driver_op_del(d, id);
	for (i = 0; i < 3; i++)
		close(cl[i]);
	weft_runtime_close(rt);
	close(lfd);
}

/* ---- D11 ------------------------------------------------------------ */


static void
D11_del_in_flight_drops_the_waker_unwoken(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	struct weft_context cx;
	struct weft_io_op op;
	struct h_waker hw;
	int32_t res;
	uint64_t id;
	int sv[2];

	(void)state;
	pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 4096);
	assert_int_equal(weft_driver_op_submit(d, &op, &id), 0);
	h_waker_init(&hw);
	weft_context_init(&cx, h_waker_make(&hw), NULL, d);
	/* In flight: a park hands it over. */
	{
		int n = 3;

		assert_int_equal(h_block_on_fn(rt, h_yield_n, &n), 0);
	}
	assert_int_equal(weft_driver_op_poll(d, id, &cx, &res, NULL),
	                 WEFT_PENDING);
	weft_driver_op_del(d, id);
	/* The stored clone is gone, unwoken; only cx's own is left. */
	if (atomic_load(&hw.live) != 1 || h_waker_woken(&hw) != 0)
		fail_msg("D11: op_del left %ld waker references, woke %ld",
		         atomic_load(&hw.live) - 1, h_waker_woken(&hw));
	if (weft_driver_op_poll(d, id, &cx, &res, NULL) >= 0)
		fail_msg("D11: op_poll accepted an id after op_del");
	/* Bytes that come now wake nobody. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	{
		int n = 5;

		assert_int_equal(h_block_on_fn(rt, h_yield_n, &n), 0);
	}
	h_sleep_ns(10 * WEFT_MSEC);
	if (h_waker_woken(&hw) != 0)
		fail_msg("D11: a deleted operation woke its waker");
	weft_waker_drop(&cx.waker);
	h_waker_fini(&hw);
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
}


/* What the client of a connection reads next: 0 once the server closed. */
static ssize_t
client_reads(int fd)
{
	struct timeval tv = {2, 0};
	char c;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, &c, 1, 0);
	return n < 0 ? -errno : n;
}


static void
D11_accepted_fds_nobody_took_are_closed(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	struct sockaddr_in a;
	struct weft_io_op op;
	struct op_wait w;
	int lfd = listener(&a), cl[3], before, i;
	ssize_t n;
	uint64_t id;

	(void)state;
	before = count_fds();
	op = io_op(WEFT_OP_ACCEPT, lfd, NULL, 0);
	op.flags = WEFT_OP_MULTISHOT;
	assert_int_equal(weft_driver_op_submit(d, &op, &id), 0);
	for (i = 0; i < 3; i++)
		cl[i] = dial(&a);
	/* One taken; the two others reach the driver and stay there. */
	w = op_wait(rt, id);
	assert_int_equal(w.rc, WEFT_READY);
	assert_true(w.result >= 0);
	close(w.result);
	for (i = 0; i < 50 && count_fds() < before + 5; i++) {
		int k = 2;

		h_sleep_ns(2 * WEFT_MSEC);
		assert_int_equal(h_block_on_fn(rt, h_yield_n, &k), 0);
	}
	weft_driver_op_del(d, id);
	/* Their server side is closed: the clients read the end. */
	for (i = 1; i < 3; i++) {
		n = client_reads(cl[i]);
		if (n != 0)
			fail_msg("D11: connection %d, accepted and not taken, "
			         "is still open after op_del (read %zd)",
			         i, n);
	}
	for (i = 0; i < 3; i++)
		close(cl[i]);
	weft_runtime_close(rt);
	close(lfd);
}


static void
D11_close_with_operations_in_flight(void **state)
{
	struct weft_runtime *rt = open_completion();
	struct weft_driver *d = weft_runtime_driver(rt);
	struct weft_io_op op;
	uint64_t id[3];
	int sv[2], n = 3;

	(void)state;
	pair(sv);
	op = io_op(WEFT_OP_RECV, sv[0], NULL, 1 << 16);
	assert_int_equal(weft_driver_op_submit(d, &op, &id[0]), 0);
	assert_int_equal(weft_driver_op_submit(d, &op, &id[1]), 0);
	assert_int_equal(h_block_on_fn(rt, h_yield_n, &n), 0);
	/* One cancelled, one in flight, one never handed over. */
	weft_driver_op_del(d, id[1]);
	assert_int_equal(weft_driver_op_submit(d, &op, &id[2]), 0);
	/* The driver reaps them before the reactor goes (R16): ASan and
	 * Valgrind see any buffer freed while lent. */
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
}


static const struct CMUnitTest tests[] = {
    H_TEST(D10_refused_without_completion),
    H_TEST(D10_recv_ready_once_with_its_bytes),
    H_TEST(D10_send_sends_what_data_held_at_submit),
    H_TEST(D10_multishot_accept_once_per_connection_in_order),
    H_TEST(D11_del_in_flight_drops_the_waker_unwoken),
    H_TEST(D11_accepted_fds_nobody_took_are_closed),
    H_TEST(D11_close_with_operations_in_flight),
};

H_GROUP(h_group_driver_op, "driver_op", tests);
