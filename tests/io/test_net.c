/* SPDX-License-Identifier: MIT */
/*
 * Addresses, listeners, accept, connect and UDP at their edges, on the pair
 * under test: malformed addresses, binds that the system refuses, connects
 * that fail at once or are dropped half-way, a full Unix queue, accepts and
 * constructors out of memory (and the back-off accept riding that out), and
 * UDP's errors.  Network only on 127.0.0.1 and ::1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

static int
lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static struct weft_addr
loopback(uint16_t port)
{
	struct weft_addr a;

	assert_int_equal(weft_addr_ip(&a, "127.0.0.1", port), 0);
	return a;
}

/* A temporary folder for Unix sockets, and a path in it. */
struct tmp {
	char dir[32];
	char path[64];
};

static void
tmp_make(struct tmp *t, const char *name)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/weft-net-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
}

static void
tmp_remove(struct tmp *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

/* ---- addresses ---------------------------------------------------------- */

static void
addresses(void **state)
{
	struct weft_addr a;
	char text[64], longer[200];
	(void)state;

	assert_int_equal(weft_addr_ip(&a, "::1", 8), 0);
	assert_string_equal(weft_addr_format(&a, text, sizeof(text)),
	                    "[::1]:8");
	assert_int_equal(weft_addr_ip(&a, "127.0.0.1", 65535), 0);
	assert_int_equal(weft_addr_port(&a), 65535);
	/* Not numeric, or brackets that do not close. */
	assert_int_equal(weft_addr_ip(&a, "localhost", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "[::1", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "::1]", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "[]", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "[", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "", 1), -EINVAL);
	assert_int_equal(weft_addr_ip(&a, "[127.0.0.1]", 1), -EINVAL);
	/* Brackets around more than an address could hold. */
	memset(longer, ':', sizeof(longer));
	longer[0] = '[';
	longer[sizeof(longer) - 2] = ']';
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(weft_addr_ip(&a, longer, 1), -EINVAL);

	/* Unix paths: the longest that fits, and one more. */
	memset(longer, 'p', sizeof(longer));
	longer[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = '\0';
	assert_int_equal(weft_addr_unix(&a, longer), 0);
	assert_int_equal(weft_addr_port(&a), 0);
	longer[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = 'p';
	longer[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	assert_int_equal(weft_addr_unix(&a, longer), -ENAMETOOLONG);
	assert_int_equal(weft_addr_unix(&a, "/run/x.sock"), 0);
	assert_string_equal(weft_addr_format(&a, text, sizeof(text)),
	                    "/run/x.sock");

	/* No room: buf untouched; little room: cut, still terminated. */
	text[0] = 'k';
	assert_ptr_equal(weft_addr_format(&a, text, 0), text);
	assert_int_equal(text[0], 'k');
	assert_string_equal(weft_addr_format(&a, text, 5), "/run");
	/* A family that is none of ours says which it is. */
	memset(&a, 0, sizeof(a));
	assert_string_equal(weft_addr_format(&a, text, sizeof(text)),
	                    "(family 0)");
	assert_int_equal(weft_addr_port(&a), 0);
}

/* ---- listen ------------------------------------------------------------- */

static void
listen_refused(void **state)
{
	struct weft_listener *l, *m;
	struct weft_addr a = loopback(0), none;
	struct tmp t;
	int before = lowest_free_fd();
	(void)state;

	/* No family: no socket. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(weft_listen(&l, &none, 0), -EAFNOSUPPORT);
	/* The port is taken: the socket made for it is closed again. */
	assert_int_equal(weft_listen(&l, &a, 0), 0);
	assert_int_equal(weft_listener_local_addr(l, &a), 0);
	assert_int_equal(weft_listen(&m, &a, 0), -EADDRINUSE);
	weft_listener_close(l);
	assert_int_equal(lowest_free_fd(), before);
	/* A Unix path that exists. */
	tmp_make(&t, "sock");
	assert_int_equal(weft_addr_unix(&a, t.path), 0);
	assert_int_equal(weft_listen(&l, &a, 1), 0);
	assert_int_equal(weft_listen(&m, &a, 1), -EADDRINUSE);
	weft_listener_close(l);
	tmp_remove(&t);
	/* Out of memory: -ENOMEM, the socket closed. */
	a = loopback(0);
	fault_arm(1);
	assert_int_equal(weft_listen(&l, &a, 0), -ENOMEM);
	assert_true(fault_fired());
	assert_int_equal(lowest_free_fd(), before);
	/* NULL is a no-op. */
	weft_listener_close(NULL);
	assert_null(weft_listener_ref(NULL));
}

/* ---- connect ------------------------------------------------------------ */

static void
connect_fails_at_once(void **state)
{
	struct weft_connect c;
	struct weft_addr a;
	struct tmp t;
	int before = lowest_free_fd();
	(void)state;

	/* A Unix path with nobody there: known before any wait. */
	tmp_make(&t, "nobody");
	assert_int_equal(weft_addr_unix(&a, t.path), 0);
	weft_connect_init(&c, &a);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, -ENOENT);
	assert_null(c.stream);
	tmp_remove(&t);
	/* No family. */
	memset(&a, 0, sizeof(a));
	weft_connect_init(&c, &a);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, -EAFNOSUPPORT);
	/* Out of memory for the stream: its socket is closed. */
	a = loopback(1);
	weft_connect_init(&c, &a);
	assert_true(run_failing(&c.base, 1, 10));
	assert_int_equal(c.status, -ENOMEM);
	assert_null(c.stream);
	assert_int_equal(lowest_free_fd(), before);
}

/* Polls one branch once, then gives up on it: a connect dropped midway. */
struct once {
	struct weft_future base;
	struct weft_future *inner;
	weft_poll first;
	int status;
};

static weft_poll
once_poll(struct weft_future *f, struct weft_context *cx)
{
	struct once *o = (struct once *)f;

	o->first = weft_future_poll(o->inner, cx);
	return WEFT_READY;
}

static void
once_drop(struct weft_future *f)
{
	weft_future_drop(((struct once *)f)->inner);
}

WEFT_FUTURE_VTABLE(once_vtable, struct once, status, once_poll, once_drop);

static void
connect_dropped_and_queue_full(void **state)
{
	struct weft_connect c[12];
	struct once o = {.base.vtable = &once_vtable};
	struct weft_listener *l;
	struct weft_accept acc;
	struct weft_addr a;
	struct tmp t;
	int before = lowest_free_fd(), n, full = -1;
	(void)state;

	/* A TCP connect polled once and dropped: nothing is left open. */
	a = loopback(0);
	assert_int_equal(weft_listen(&l, &a, 0), 0);
	assert_int_equal(weft_listener_local_addr(l, &a), 0);
	weft_connect_init(&c[0], &a);
	o.inner = &c[0].base;
	run_bounded(&o.base, 10);
	if (o.first == WEFT_READY)
		weft_io_close(c[0].stream);
	weft_listener_close(l);
	assert_int_equal(lowest_free_fd(), before);

	/*
	 * A Unix listener's queue holds backlog + 1 connections; the
	 * next connect fails with -EAGAIN rather than waiting.
	 */
	tmp_make(&t, "full");
	assert_int_equal(weft_addr_unix(&a, t.path), 0);
	assert_int_equal(weft_listen(&l, &a, 1), 0);
	for (n = 0; n < 12; n++) {
		weft_connect_init(&c[n], &a);
		run_bounded(&c[n].base, 10);
		if (c[n].status < 0) {
			full = n;
			break;
		}
	}
	assert_true(full >= 1);
	assert_int_equal(c[full].status, -EAGAIN);
	/* The queued ones are accepted, each with its peer. */
	for (n = 0; n < full; n++) {
		weft_accept_init(&acc, l);
		run_bounded(&acc.base, 10);
		assert_int_equal(acc.status, 0);
		weft_io_close(acc.stream);
		weft_io_close(c[n].stream);
	}
	weft_listener_close(l);
	tmp_remove(&t);
	assert_int_equal(lowest_free_fd(), before);
}

/* ---- accept out of memory ---------------------------------------------- */

static void
accept_out_of_memory(void **state)
{
	struct weft_listener *l;
	struct weft_accept acc;
	struct weft_accept_backoff bo;
	struct weft_connect c[4];
	struct weft_io_read rd;
	struct weft_addr a = loopback(0);
	char buf[4];
	int i;
	(void)state;

	assert_int_equal(weft_listen(&l, &a, 0), 0);
	assert_int_equal(weft_listener_local_addr(l, &a), 0);
	for (i = 0; i < 4; i++) {
		weft_connect_init(&c[i], &a);
		run_bounded(&c[i].base, 10);
		assert_int_equal(c[i].status, 0);
	}
	/* Registers the listener, so the failures below are the streams'. */
	weft_accept_init(&acc, l);
	run_bounded(&acc.base, 10);
	assert_int_equal(acc.status, 0);
	weft_io_close(acc.stream);
	/* The second connection gets no stream: closed, and reported. */
	weft_accept_init(&acc, l);
	assert_true(run_failing_each(&acc.base, 1, 10));
	assert_int_equal(acc.status, -ENOMEM);
	assert_null(acc.stream);
	/* ... so its client reads the end of the stream. */
	weft_io_read_init(&rd, c[1].stream, buf, sizeof(buf));
	run_bounded(&rd.base, 10);
	assert_true(rd.status == 0 || rd.status == -ECONNRESET);
	/*
	 * The back-off accept waits a shortage of memory out: the third
	 * connection is lost the same way, and after one pause the fourth
	 * is accepted.
	 */
	weft_accept_backoff_init(&bo, l);
	assert_true(run_failing_each(&bo.base, 1, 10));
	assert_int_equal(bo.status, 0);
	assert_non_null(bo.stream);
	assert_int_equal(bo.backoffs, 1);
	assert_int_equal(bo.cause, -ENOMEM);
	assert_int_equal(bo.delay, WEFT_ACCEPT_BACKOFF_MIN);
	weft_io_read_init(&rd, c[2].stream, buf, sizeof(buf));
	run_bounded(&rd.base, 10);
	assert_true(rd.status == 0 || rd.status == -ECONNRESET);
	weft_io_close(bo.stream);
	for (i = 0; i < 4; i++)
		weft_io_close(c[i].stream);
	weft_listener_close(l);
}

/* ---- UDP ----------------------------------------------------------------- */

static void
udp_edges(void **state)
{
	struct weft_udp *u, *v;
	struct weft_udp_io io;
	struct weft_addr a = loopback(0), none, six;
	int before = lowest_free_fd();
	char buf[8];
	(void)state;

	memset(&none, 0, sizeof(none));
	assert_int_equal(weft_udp_bind(&u, &none), -EAFNOSUPPORT);
	assert_int_equal(weft_udp_bind(&u, &a), 0);
	assert_int_equal(weft_udp_local_addr(u, &a), 0);
	assert_int_equal(weft_udp_bind(&v, &a), -EADDRINUSE);
	assert_int_equal(lowest_free_fd(), before + 1);
	/* Nowhere to send: no destination given, none connected. */
	weft_udp_send_to_init(&io, u, "x", 1, NULL);
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, -EDESTADDRREQ);
	/* An IPv6 address for an IPv4 socket. */
	assert_int_equal(weft_addr_ip(&six, "::1", 9), 0);
	assert_int_equal(weft_udp_connect(u, &six), -EAFNOSUPPORT);
	/* Another owner: the socket lives until both have closed. */
	assert_ptr_equal(weft_udp_ref(u), u);
	weft_udp_close(u);
	assert_int_not_equal(fcntl(weft_udp_fd(u), F_GETFD), -1);
	weft_udp_close(u);
	assert_int_equal(lowest_free_fd(), before);
	weft_udp_close(NULL);
	assert_null(weft_udp_ref(NULL));

	fault_arm(1);
	assert_int_equal(weft_udp_bind(&u, &a), -ENOMEM);
	assert_true(fault_fired());
	assert_int_equal(lowest_free_fd(), before);

	/* A port where nobody listens: the refusal comes back on a recv. */
	assert_int_equal(weft_udp_bind(&v, &a), 0);
	assert_int_equal(weft_udp_local_addr(v, &a), 0);
	weft_udp_close(v);
	none = loopback(0);
	assert_int_equal(weft_udp_bind(&u, &none), 0);
	assert_int_equal(weft_udp_connect(u, &a), 0);
	weft_udp_send_to_init(&io, u, "ping", 4, NULL);
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, 4);
	weft_udp_recv_from_init(&io, u, buf, sizeof(buf));
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, -ECONNREFUSED);
	weft_udp_close(u);
}

static void
udp_huge_lengths(void **state)
{
	size_t big = (size_t)INT_MAX + 4096;
	struct weft_udp *u, *v;
	struct weft_udp_io io;
	struct weft_addr a = loopback(0);
	unsigned char *m;
	(void)state;

	m = mmap(NULL, big, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		print_message("no room for a 2 GiB mapping: skipped\n");
		skip();
	}
	assert_int_equal(weft_udp_bind(&u, &a), 0);
	assert_int_equal(weft_udp_bind(&v, &a), 0);
	assert_int_equal(weft_udp_local_addr(v, &a), 0);
	/* No datagram is that long. */
	weft_udp_send_to_init(&io, u, m, big, &a);
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, -EMSGSIZE);
	/* Room past INT_MAX receives a datagram whole. */
	weft_udp_send_to_init(&io, u, "datagram", 8, &a);
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, 8);
	weft_udp_recv_from_init(&io, v, m, big);
	run_bounded(&io.base, 10);
	assert_int_equal(io.status, 8);
	assert_memory_equal(m, "datagram", 8);
	weft_udp_close(u);
	weft_udp_close(v);
	munmap(m, big);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(addresses),
	    cmocka_unit_test(listen_refused),
	    cmocka_unit_test(connect_fails_at_once),
	    cmocka_unit_test(connect_dropped_and_queue_full),
	    cmocka_unit_test(accept_out_of_memory),
	    cmocka_unit_test(udp_edges),
	    cmocka_unit_test(udp_huge_lengths),
	};

	fault_install();
	return run_group(argc, argv, "io-net", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
