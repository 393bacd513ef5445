/* SPDX-License-Identifier: MIT */
/*
 * Byte streams and fd readiness at their edges, on the pair under test:
 * wrapping fds of every kind, the calls that only sockets allow, empty and
 * oversized transfers, vectored writes across short writes, the end of a
 * stream in the middle of a read_exact, a stream closed under a waiting
 * read, and every constructor out of memory and out of fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* The lowest fd number not in use. */
static int
lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* ---- wrapping fds ------------------------------------------------------ */

static void
from_fd_kinds(void **state)
{
	struct weft_io *s;
	char dir[] = "/tmp/weft-io-fifo-XXXXXX", path[64];
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	struct weft_io *rd, *wr;
	struct weft_addr a;
	char buf[8];
	int p[2], fd;
	(void)state;

	/* Not an fd: refused, nothing made. */
	fd = lowest_free_fd();
	assert_int_equal(weft_io_from_fd(&s, fd), -EBADF);

	/* Blocking pipe ends: each made non-blocking, each one way. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(weft_io_from_fd(&rd, p[0]), 0);
	assert_int_equal(weft_io_from_fd(&wr, p[1]), 0);
	assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	assert_int_equal(weft_io_fd(rd), p[0]);
	weft_io_write_all_init(&w, wr, "abc", 3);
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
	weft_io_read_exact_init(&r, rd, buf, 3);
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, 0);
	assert_memory_equal(buf, "abc", 3);
	/* Not sockets: no shutdown, no TCP option, no addresses. */
	assert_int_equal(weft_io_shutdown(rd, SHUT_RD), -ENOTSOCK);
	assert_int_equal(weft_io_set_nodelay(wr, true), -EOPNOTSUPP);
	assert_int_equal(weft_io_peer_addr(rd, &a), -ENOTSOCK);
	assert_int_equal(weft_io_local_addr(wr, &a), -ENOTSOCK);
	weft_io_close(rd);
	weft_io_close(wr);
	/* The stream owned them: both closed. */
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);

	/* A FIFO opened for both: one stream reads back what it wrote. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	fd = open(path, O_RDWR | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(weft_io_from_fd(&s, fd), 0);
	weft_io_write_all_init(&w, s, "loop", 4);
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
	weft_io_read_exact_init(&r, s, buf, 4);
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, 0);
	assert_memory_equal(buf, "loop", 4);
	weft_io_close(s);
	unlink(path);
	rmdir(dir);

	/* NULL is a no-op for close and ref. */
	weft_io_close(NULL);
	assert_null(weft_io_ref(NULL));
}

/* Out of memory: -ENOMEM, and every fd is given back (or still ours). */
static void
out_of_memory(void **state)
{
	struct weft_io *a = NULL, *b = NULL;
	struct weft_async_fd *afd;
	int p[2], before;
	unsigned n;
	(void)state;

	assert_int_equal(pipe(p), 0);
	fault_arm(1);
	assert_int_equal(weft_io_from_fd(&a, p[0]), -ENOMEM);
	assert_true(fault_fired());
	/* Still the caller's: open, and closed by us. */
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);

	before = lowest_free_fd();
	for (n = 1; n <= 2; n++) {
		fault_arm(n);
		assert_int_equal(weft_io_pair(&a, &b), -ENOMEM);
		assert_true(fault_fired());
		assert_int_equal(lowest_free_fd(), before);
		fault_arm(n);
		assert_int_equal(weft_pipe(&a, &b), -ENOMEM);
		assert_true(fault_fired());
		assert_int_equal(lowest_free_fd(), before);
	}
	/* The third allocation is past the pair's: it works. */
	fault_arm(3);
	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_false(fault_fired());
	weft_io_close(a);
	weft_io_close(b);

	fault_arm(1);
	assert_int_equal(weft_async_fd_new(&afd, 0, WEFT_READABLE), -ENOMEM);
	assert_true(fault_fired());
}

/* Out of fds: the system's error, nothing half-made. */
static void
out_of_fds(void **state)
{
	struct weft_io *a, *b;
	struct rlimit old, low;
	int before = lowest_free_fd(), r1, r2;
	(void)state;

	if (under_valgrind()) {
		/* Valgrind enforces a descriptor limit of its own. */
		print_message("under Valgrind: skipped\n");
		skip();
	}
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)before;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	r1 = weft_io_pair(&a, &b);
	r2 = weft_pipe(&a, &b);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r1, -EMFILE);
	assert_int_equal(r2, -EMFILE);
	assert_int_equal(lowest_free_fd(), before);
}

/* ---- shutdown and TCP options ------------------------------------------ */

static void
socket_calls(void **state)
{
	struct weft_io *a, *b;
	struct weft_io_read r;
	struct weft_listener *l;
	struct weft_connect c;
	struct weft_addr addr;
	char buf[4];
	int v = 0;
	socklen_t len = sizeof(v);
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_io_shutdown(a, 12345), -EINVAL);
	assert_int_equal(weft_io_shutdown(a, SHUT_WR), 0);
	/* The peer sees the end of the stream. */
	weft_io_read_init(&r, b, buf, sizeof(buf));
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, 0);
	weft_io_close(a);
	weft_io_close(b);

	/* TCP_NODELAY on a TCP connection, checked with getsockopt. */
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&l, &addr, 0), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	weft_connect_init(&c, &addr);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, 0);
	assert_int_equal(weft_io_set_nodelay(c.stream, true), 0);
	assert_int_equal(getsockopt(weft_io_fd(c.stream), IPPROTO_TCP,
	                            TCP_NODELAY, &v, &len),
	                 0);
	assert_int_not_equal(v, 0);
	assert_int_equal(weft_io_set_nodelay(c.stream, false), 0);
	assert_int_equal(getsockopt(weft_io_fd(c.stream), IPPROTO_TCP,
	                            TCP_NODELAY, &v, &len),
	                 0);
	assert_int_equal(v, 0);
	weft_io_close(c.stream);
	weft_listener_close(l);
}

/* ---- transfers at the edges --------------------------------------------- */

static void
empty_transfers(void **state)
{
	struct weft_io *a, *b;
	struct weft_io_read r;
	struct weft_io_write w;
	struct weft_io_writev v;
	struct iovec iov[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	/* Nothing to read: 0 at once, not a wait for data. */
	weft_io_read_init(&r, a, NULL, 0);
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, 0);
	weft_io_write_init(&w, a, NULL, 0);
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
	/* Only empty entries: done at once, nothing written. */
	weft_io_writev_init(&v, a, iov, 3);
	run_bounded(&v.base, 10);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.done, 0);
	weft_io_writev_init(&v, a, iov, 0);
	run_bounded(&v.base, 10);
	assert_int_equal(v.status, 0);
	/* More entries than a writev takes, or fewer than none. */
	weft_io_writev_init(&v, a, iov, WEFT_IOV_MAX + 1);
	run_bounded(&v.base, 10);
	assert_int_equal(v.status, -EINVAL);
	weft_io_writev_init(&v, a, iov, -1);
	run_bounded(&v.base, 10);
	assert_int_equal(v.status, -EINVAL);
	weft_io_close(a);
	weft_io_close(b);
}

/* Reads everything of a stream until its end; status: bytes read. */
struct sink {
	struct weft_future base;
	struct weft_io *s;
	unsigned char *buf;
	size_t cap, len;
	struct weft_io_read rd;
	bool reading;
	int status;
};

static weft_poll
sink_poll(struct weft_future *f, struct weft_context *cx)
{
	struct sink *k = (struct sink *)f;

	for (;;) {
		if (!k->reading) {
			weft_io_read_init(&k->rd, k->s, k->buf + k->len,
			                  k->cap - k->len);
			k->reading = true;
		}
		if (weft_future_poll(&k->rd.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&k->rd.base);
		k->reading = false;
		if (k->rd.status <= 0) {
			k->status =
			    k->rd.status < 0 ? k->rd.status : (int)k->len;
			return WEFT_READY;
		}
		k->len += (size_t)k->rd.status;
	}
}

static void
sink_drop(struct weft_future *f)
{
	struct sink *k = (struct sink *)f;

	if (k->reading)
		weft_future_drop(&k->rd.base);
}

WEFT_FUTURE_VTABLE(sink_vtable, struct sink, status, sink_poll, sink_drop);

/* The writev, then the end of the stream. */
struct writer {
	struct weft_future base;
	struct weft_io_writev v;
	struct weft_io *s;
	int status;
};

static weft_poll
writer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct writer *w = (struct writer *)f;

	if (weft_future_poll(&w->v.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	w->status = w->v.status;
	weft_io_shutdown(w->s, SHUT_WR);
	return WEFT_READY;
}

static void
writer_drop(struct weft_future *f)
{
	weft_future_drop(&((struct writer *)f)->v.base);
}

WEFT_FUTURE_VTABLE(writer_vtable, struct writer, status, writer_poll,
                   writer_drop);

static void
writev_across_short_writes(void **state)
{
	/* Entries larger than a socket buffer: each write is short. */
	static const size_t sizes[] = {0, 300000, 1, 0, 70000, 250000, 3};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct iovec iov[N];
	unsigned char *src[N];
	struct sink k = {.base.vtable = &sink_vtable};
	struct writer w = {.base.vtable = &writer_vtable};
	struct weft_future *kids[2] = {&w.base, &k.base};
	struct weft_join_all both;
	struct weft_io *a, *b;
	size_t total = 0, off = 0;
	int i;
	(void)state;

	for (i = 0; i < N; i++) {
		src[i] = malloc(sizes[i] ? sizes[i] : 1);
		assert_non_null(src[i]);
		pattern_fill(src[i], sizes[i], (uint32_t)i);
		iov[i] = (struct iovec){src[i], sizes[i]};
		total += sizes[i];
	}
	assert_int_equal(weft_io_pair(&a, &b), 0);
	k.s = b;
	k.cap = total + 1;
	k.buf = malloc(k.cap);
	assert_non_null(k.buf);
	w.s = a;
	weft_io_writev_init(&w.v, a, iov, N);
	/* The caller's array was copied: changing it now changes nothing. */
	memset(iov, 0, sizeof(iov));
	weft_join_all_init(&both, kids, 2);
	run_bounded(&both.base, 30);
	assert_int_equal(w.status, 0);
	assert_int_equal(w.v.done, total);
	assert_int_equal(k.status, (int)total);
	for (i = 0; i < N; i++) {
		assert_memory_equal(k.buf + off, src[i], sizes[i]);
		off += sizes[i];
		free(src[i]);
	}
	free(k.buf);

	/* The peer gone: the error, and the bytes counted. */
	iov[0] = (struct iovec){"xy", 2};
	weft_io_close(b);
	weft_io_writev_init(&w.v, a, iov, 1);
	run_bounded(&w.v.base, 10);
	assert_int_equal(w.v.status, -EPIPE);
	assert_int_equal(w.v.done, 0);
	weft_io_close(a);
}

static void
read_exact_ends_early(void **state)
{
	struct weft_io *a, *b;
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	char buf[8];
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	weft_io_write_all_init(&w, a, "abc", 3);
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
	weft_io_close(a);
	weft_io_read_exact_init(&r, b, buf, 5);
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, -ENODATA);
	assert_int_equal(r.done, 3);
	assert_memory_equal(buf, "abc", 3);
	weft_io_close(b);
}

/* Closes a stream's last handle while a read_exact waits on it. */
struct close_under {
	struct weft_future base;
	struct weft_io_read_exact r;
	struct weft_io *s;
	int polls;
	int status;
};

static weft_poll
close_under_poll(struct weft_future *f, struct weft_context *cx)
{
	struct close_under *c = (struct close_under *)f;

	if (weft_future_poll(&c->r.base, cx) == WEFT_PENDING) {
		/* Waiting: now the only handle goes. */
		assert_int_equal(c->polls++, 0);
		weft_io_close(c->s);
		return WEFT_PENDING;
	}
	c->status = c->r.status;
	return WEFT_READY;
}

static void
close_under_drop(struct weft_future *f)
{
	weft_future_drop(&((struct close_under *)f)->r.base);
}

WEFT_FUTURE_VTABLE(close_under_vtable, struct close_under, status,
                   close_under_poll, close_under_drop);

static void
closed_under_read(void **state)
{
	struct close_under c = {.base.vtable = &close_under_vtable};
	struct weft_io *b;
	char buf[4];
	(void)state;

	assert_int_equal(weft_io_pair(&c.s, &b), 0);
	weft_io_read_exact_init(&c.r, c.s, buf, sizeof(buf));
	run_bounded(&c.base, 10);
	assert_int_equal(c.polls, 1);
	assert_int_equal(c.status, WEFT_ECLOSED);
	assert_int_equal(c.r.done, 0);
	weft_io_close(b);
}

/* Lengths past INT_MAX are cut to it: the status always fits an int. */
static void
huge_lengths(void **state)
{
	size_t big = (size_t)INT_MAX + 4096;
	struct weft_io *a, *b;
	struct weft_io_write w;
	struct weft_io_read r;
	unsigned char *m;
	(void)state;

	/* Address space only: pages are made as the kernel touches them. */
	m = mmap(NULL, big, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		print_message("no room for a 2 GiB mapping: skipped\n");
		skip();
	}
	assert_int_equal(weft_io_pair(&a, &b), 0);
	/* The socket buffer takes part of it: a short write, counted. */
	weft_io_write_init(&w, a, m, big);
	run_bounded(&w.base, 10);
	assert_true(w.status > 0);
	weft_io_close(a);
	/* A read of it all returns what there is, at most INT_MAX. */
	weft_io_read_init(&r, b, m, big);
	run_bounded(&r.base, 10);
	assert_true(r.status > 0 && r.status <= w.status);
	assert_int_equal(m[0], 0);
	weft_io_close(b);
	munmap(m, big);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(from_fd_kinds),
	    cmocka_unit_test(out_of_memory),
	    cmocka_unit_test(out_of_fds),
	    cmocka_unit_test(socket_calls),
	    cmocka_unit_test(empty_transfers),
	    cmocka_unit_test(writev_across_short_writes),
	    cmocka_unit_test(read_exact_ends_early),
	    cmocka_unit_test(closed_under_read),
	    cmocka_unit_test(huge_lengths),
	};

	fault_install();
	return run_group(argc, argv, "io-streams", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
