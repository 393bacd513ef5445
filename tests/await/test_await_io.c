/* SPDX-License-Identifier: MIT */
/*
 * The one-call I/O awaits of <weft/await.h> on a real runtime (the
 * executor and reactor named on the command line), over loopback TCP
 * (127.0.0.1), Unix socket pairs, pipes, UDP, temporary files and
 * accept and accept_backoff, read, write, read_exact, write_all, writev,
 * async_fd ready, file open/read/write, read_until, read_line and
 * copy_bidirectional (signals, UDP and resolve: test_await_net.c).  Each does
 * what the future it wraps does, answers -EINVAL for a missing handle and
 * -EPERM outside a fiber, and returns WEFT_ECANCELED when its fiber is dropped
 * mid-wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Outside a fiber, and missing handles                                */
/* ------------------------------------------------------------------ */

static void
test_outside_fiber(void **state)
{
	struct weft_listener *l;
	struct weft_io *a, *b, *s = (struct weft_io *)&s;
	struct weft_bufreader *r;
	struct weft_udp *u;
	struct weft_addr addr, addrs[2];
	char buf[8], *data = buf, path[64];
	struct iovec iov = {buf, 1};
	uint64_t n1 = 7, n2 = 7;

	(void)state;
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&l, &addr, 0), 0);
	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	assert_int_equal(weft_udp_bind(&u, &addr), 0);

	assert_int_equal(weft_accept_await(l, &s, NULL), -EPERM);
	assert_null(s);
	s = (struct weft_io *)&s;
	assert_int_equal(weft_accept_backoff_await(l, &s, &addr), -EPERM);
	assert_null(s);
	assert_int_equal(weft_io_read_await(a, buf, 1), -EPERM);
	assert_int_equal(weft_io_read_exact_await(a, buf, 1), -EPERM);
	assert_int_equal(weft_io_write_await(a, "x", 1), -EPERM);
	assert_int_equal(weft_io_write_all_await(a, "x", 1), -EPERM);
	assert_int_equal(weft_io_writev_await(a, &iov, 1), -EPERM);
	/* Nothing was written by any of them. */
	assert_int_equal(recv(weft_io_fd(b), buf, 1, MSG_DONTWAIT), -1);
	snprintf(path, sizeof(path), "weft-await-never-%ld", (long)getpid());
	assert_int_equal(weft_file_open_await(path, O_CREAT | O_RDWR, 0600),
	                 -EPERM);
	assert_int_equal(access(path, F_OK), -1); /* not created */
	assert_int_equal(weft_file_read_await(0, buf, 1, 0), -EPERM);
	assert_int_equal(weft_file_write_await(1, "x", 1, -1), -EPERM);
	assert_int_equal(weft_signal_await(WEFT_SIGNAL_BIT(SIGUSR1)), -EPERM);
	assert_int_equal(weft_udp_send_to_await(u, "x", 1, &addr), -EPERM);
	assert_int_equal(weft_udp_recv_from_await(u, buf, 1, NULL), -EPERM);
	assert_int_equal(weft_resolve_await("127.0.0.1", 1, AF_INET, addrs, 2),
	                 -EPERM);
	assert_int_equal(weft_read_line_await(r, 0, &data), -EPERM);
	assert_null(data);
	data = buf;
	assert_int_equal(weft_read_until_await(r, ';', 0, &data), -EPERM);
	assert_null(data);
	assert_int_equal(weft_copy_bidirectional_await(a, b, &n1, &n2), -EPERM);
	assert_true(n1 == 0 && n2 == 0);

	/* Missing handles and buffers. */
	assert_int_equal(weft_accept_await(NULL, &s, NULL), -EINVAL);
	assert_int_equal(weft_accept_await(l, NULL, NULL), -EINVAL);
	assert_int_equal(weft_accept_backoff_await(NULL, &s, NULL), -EINVAL);
	assert_int_equal(weft_io_read_await(NULL, buf, 1), -EINVAL);
	assert_int_equal(weft_io_read_await(a, NULL, 1), -EINVAL);
	assert_int_equal(weft_io_read_exact_await(NULL, buf, 1), -EINVAL);
	assert_int_equal(weft_io_write_await(NULL, "x", 1), -EINVAL);
	assert_int_equal(weft_io_write_all_await(a, NULL, 1), -EINVAL);
	assert_int_equal(weft_io_writev_await(a, NULL, 1), -EINVAL);
	assert_int_equal(weft_async_fd_ready_await(NULL, WEFT_READABLE),
	                 -EINVAL);
	assert_int_equal(weft_file_open_await(NULL, O_RDONLY, 0), -EINVAL);
	assert_int_equal(weft_file_read_await(-1, buf, 1, 0), -EINVAL);
	assert_int_equal(weft_file_write_await(1, NULL, 1, 0), -EINVAL);
	assert_int_equal(weft_signal_recv_await(NULL), -EINVAL);
	assert_int_equal(weft_udp_send_to_await(NULL, "x", 1, NULL), -EINVAL);
	assert_int_equal(weft_udp_recv_from_await(u, NULL, 1, NULL), -EINVAL);
	assert_int_equal(weft_resolve_await(NULL, 1, AF_INET, addrs, 2),
	                 -EINVAL);
	assert_int_equal(weft_resolve_await("x", 1, AF_INET, addrs, 0),
	                 -EINVAL);
	assert_int_equal(weft_read_line_await(NULL, 0, &data), -EINVAL);
	assert_int_equal(weft_read_until_await(r, ';', 0, NULL), -EINVAL);
	assert_int_equal(weft_copy_bidirectional_await(a, NULL, NULL, NULL),
	                 -EINVAL);

	weft_udp_close(u);
	weft_bufreader_free(r);
	weft_io_close(a);
	weft_io_close(b);
	weft_listener_close(l);
}

/* ------------------------------------------------------------------ */
/* accept and byte streams over loopback TCP                           */
/* ------------------------------------------------------------------ */

#define BIG (256u * 1024u)

struct pair {
	struct weft_io *a, *b;
	unsigned char *data;
};

static int
big_writer(void *arg)
{
	struct pair *p = arg;

	CHECK(weft_io_write_all_await(p->a, p->data, BIG) == 0);
	CHECK(weft_io_shutdown(p->a, SHUT_WR) == 0);
	return 0;
}

static int
big_reader(void *arg)
{
	struct pair *p = arg;
	unsigned char *got = malloc(BIG);
	char c;
	int same;

	CHECK(got != NULL);
	if (weft_io_read_exact_await(p->b, got, BIG) != 0) {
		free(got);
		CHECK(!"read_exact");
	}
	same = memcmp(got, p->data, BIG) == 0;
	free(got);
	CHECK(same);
	CHECK(weft_io_read_await(p->b, &c, 1) == 0); /* end of stream */
	return 0;
}

/* A connected TCP pair on 127.0.0.1: *client and *server. */
static int
tcp_pair(struct weft_listener *l, struct weft_io **client,
         struct weft_io **server, bool backoff)
{
	struct weft_addr addr, peer, local;

	CHECK(weft_listener_local_addr(l, &addr) == 0);
	CHECK(weft_connect_await(&addr, client) == 0);
	if (backoff)
		CHECK(weft_accept_backoff_await(l, server, &peer) == 0);
	else
		CHECK(weft_accept_await(l, server, &peer) == 0);
	CHECK(*server != NULL);
	/* The peer the accept reports is the client's end. */
	CHECK(weft_io_local_addr(*client, &local) == 0);
	CHECK(weft_addr_port(&peer) == weft_addr_port(&local));
	return 0;
}

static int
tcp_fiber(void *arg)
{
	struct weft_listener *l;
	struct weft_addr addr;
	struct pair p = {0};
	struct weft_fiber_call calls[2] = {{big_writer, &p}, {big_reader, &p}};
	struct iovec iov[3] = {{"ab", 2}, {"cd", 2}, {"ef", 2}};
	char buf[16];
	int r;

	(void)arg;
	CHECK(weft_addr_ip(&addr, "127.0.0.1", 0) == 0);
	CHECK(weft_listen(&l, &addr, 0) == 0);
	if ((r = tcp_pair(l, &p.a, &p.b, false)) != 0)
		return r;

	/* read, write and writev, both ways. */
	CHECK(weft_io_write_await(p.a, "hello", 5) == 5);
	CHECK(weft_io_read_exact_await(p.b, buf, 5) == 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(weft_io_writev_await(p.b, iov, 3) == 0);
	r = 0;
	while (r < 6) {
		int n = weft_io_read_await(p.a, buf + r, sizeof(buf) - r);

		CHECK(n > 0);
		r += n;
	}
	CHECK(r == 6 && memcmp(buf, "abcdef", 6) == 0);

	/* A transfer larger than the socket buffers: write_all and
	 * read_exact wait for each other. */
	p.data = malloc(BIG);
	CHECK(p.data != NULL);
	for (size_t i = 0; i < BIG; i++)
		p.data[i] = (unsigned char)(i * 7 + i / 251);
	r = weft_join_fibers(calls, 2);
	free(p.data);
	CHECK(r == 0);
	weft_io_close(p.a);
	weft_io_close(p.b);

	/* accept_backoff; read_exact on a stream that ends too soon. */
	if ((r = tcp_pair(l, &p.a, &p.b, true)) != 0)
		return r;
	CHECK(weft_io_write_all_await(p.a, "abc", 3) == 0);
	CHECK(weft_io_shutdown(p.a, SHUT_WR) == 0);
	CHECK(weft_io_read_exact_await(p.b, buf, 10) == -ENODATA);
	weft_io_close(p.a);
	weft_io_close(p.b);
	weft_listener_close(l);
	return 0;
}

static void
test_tcp(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(tcp_fiber, NULL), 0);
}

/* An accept pending when its listener is closed: WEFT_ECLOSED. */
struct closing {
	struct weft_listener *l;
	struct weft_io *stream;
	int r;
};

static int
pending_accept(void *arg)
{
	struct closing *c = arg;

	c->stream = (struct weft_io *)c;
	c->r = weft_accept_await(c->l, &c->stream, NULL);
	return 0;
}

static int
closer(void *arg)
{
	struct closing *c = arg;

	CHECK(weft_sleep_ms(10) == 0);
	weft_listener_close(c->l);
	return 0;
}

static int
accept_closed_fiber(void *arg)
{
	struct closing c = {0};
	struct weft_fiber_call calls[2] = {{pending_accept, &c}, {closer, &c}};
	struct weft_addr addr;

	(void)arg;
	CHECK(weft_addr_ip(&addr, "127.0.0.1", 0) == 0);
	CHECK(weft_listen(&c.l, &addr, 0) == 0);
	CHECK(weft_join_fibers(calls, 2) == 0);
	CHECK(c.r == WEFT_ECLOSED);
	CHECK(c.stream == NULL);
	return 0;
}

static void
test_accept_closed(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(accept_closed_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* read_until, read_line and copy_bidirectional over socket pairs      */
/* ------------------------------------------------------------------ */

static int
lines_fiber(void *arg)
{
	struct weft_io *a, *b;
	struct weft_bufreader *r;
	const char text[] = "one\ntwo\nthree";
	char *data;

	(void)arg;
	CHECK(weft_io_pair(&a, &b) == 0);
	CHECK(weft_bufreader_new(&r, b, 0) == 0);
	CHECK(weft_io_write_all_await(a, text, sizeof(text) - 1) == 0);
	CHECK(weft_io_shutdown(a, SHUT_WR) == 0);

	CHECK(weft_read_line_await(r, 0, &data) == 4);
	CHECK(strcmp(data, "one\n") == 0);
	weft_free(data);
	CHECK(weft_read_until_await(r, 'o', 0, &data) == 3);
	CHECK(strcmp(data, "two") == 0);
	weft_free(data);
	CHECK(weft_read_line_await(r, 0, &data) == 1);
	CHECK(strcmp(data, "\n") == 0);
	weft_free(data);
	/* Past max: the max bytes are the caller's, the rest stays. */
	CHECK(weft_read_line_await(r, 3, &data) == -EMSGSIZE);
	CHECK(data != NULL && strcmp(data, "thr") == 0);
	weft_free(data);
	CHECK(weft_read_line_await(r, 0, &data) == 2);
	CHECK(strcmp(data, "ee") == 0);
	weft_free(data);
	data = (char *)&data;
	CHECK(weft_read_line_await(r, 0, &data) == 0); /* end of stream */
	CHECK(data == NULL);

	weft_bufreader_free(r);
	weft_io_close(a);
	weft_io_close(b);
	return 0;
}

static void
test_lines(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(lines_fiber, NULL), 0);
}

struct proxy {
	struct weft_io *c1, *s1, *c2, *s2;
	uint64_t ab, ba;
	int r;
};

static int
copier(void *arg)
{
	struct proxy *p = arg;

	p->r = weft_copy_bidirectional_await(p->s1, p->s2, &p->ab, &p->ba);
	return 0;
}

static int
ends(void *arg)
{
	struct proxy *p = arg;
	char buf[8];

	CHECK(weft_io_write_all_await(p->c1, "ping", 4) == 0);
	CHECK(weft_io_read_exact_await(p->c2, buf, 4) == 0);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK(weft_io_write_all_await(p->c2, "pong!", 5) == 0);
	CHECK(weft_io_read_exact_await(p->c1, buf, 5) == 0);
	CHECK(memcmp(buf, "pong!", 5) == 0);
	/* Each end's shutdown reaches the other end through the copy. */
	CHECK(weft_io_shutdown(p->c1, SHUT_WR) == 0);
	CHECK(weft_io_read_await(p->c2, buf, 1) == 0);
	CHECK(weft_io_shutdown(p->c2, SHUT_WR) == 0);
	CHECK(weft_io_read_await(p->c1, buf, 1) == 0);
	return 0;
}

static int
copy_fiber(void *arg)
{
	struct proxy p = {0};
	struct weft_fiber_call calls[2] = {{copier, &p}, {ends, &p}};

	(void)arg;
	CHECK(weft_io_pair(&p.c1, &p.s1) == 0);
	CHECK(weft_io_pair(&p.c2, &p.s2) == 0);
	CHECK(weft_join_fibers(calls, 2) == 0);
	CHECK(p.r == 0);
	CHECK(p.ab == 4 && p.ba == 5);
	weft_io_close(p.c1);
	weft_io_close(p.s1);
	weft_io_close(p.c2);
	weft_io_close(p.s2);
	return 0;
}

static void
test_copy_bidirectional(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(copy_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* async_fd over a pipe, files                                         */
/* ------------------------------------------------------------------ */

struct fdpipe {
	struct weft_async_fd *afd;
	int fds[2];
	atomic_int written;
};

static int
ready_waiter(void *arg)
{
	struct fdpipe *p = arg;
	char c = 0;
	int bits = weft_async_fd_ready_await(p->afd, WEFT_READABLE);

	CHECK(bits > 0 && (bits & WEFT_READABLE));
	CHECK(atomic_load(&p->written) == 1); /* not before the write */
	CHECK(read(p->fds[0], &c, 1) == 1 && c == 'x');
	return 0;
}

static int
late_writer(void *arg)
{
	struct fdpipe *p = arg;

	CHECK(weft_sleep_ms(10) == 0);
	atomic_store(&p->written, 1);
	CHECK(write(p->fds[1], "x", 1) == 1);
	return 0;
}

static int
async_fd_fiber(void *arg)
{
	struct fdpipe p = {0};
	struct weft_fiber_call calls[2] = {{ready_waiter, &p},
	                                   {late_writer, &p}};
	int r;

	(void)arg;
	CHECK(pipe2(p.fds, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(weft_async_fd_new(&p.afd, p.fds[0], WEFT_READABLE) == 0);
	r = weft_join_fibers(calls, 2);
	weft_async_fd_free(p.afd);
	close(p.fds[0]);
	close(p.fds[1]);
	CHECK(r == 0);
	return 0;
}

static void
test_async_fd(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(async_fd_fiber, NULL), 0);
}

static int
file_fiber(void *arg)
{
	const char *dir = getenv("TMPDIR");
	char path[512], buf[64] = {0};
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/weft-await-file-%ld",
	         dir && *dir ? dir : "/tmp", (long)getpid());
	unlink(path);
	fd = weft_file_open_await(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
	                          0600);
	CHECK(fd >= 0);
	CHECK(weft_file_write_await(fd, "hello world", 11, 0) == 11);
	CHECK(weft_file_read_await(fd, buf, sizeof(buf), 0) == 11);
	CHECK(memcmp(buf, "hello world", 11) == 0);
	memset(buf, 0, sizeof(buf));
	CHECK(weft_file_read_await(fd, buf, sizeof(buf), 6) == 5);
	CHECK(strcmp(buf, "world") == 0);
	/* At the file position: the start, as nothing moved it. */
	CHECK(weft_file_read_await(fd, buf, 5, -1) == 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	close(fd);
	/* O_EXCL: it exists now. */
	CHECK(weft_file_open_await(path, O_CREAT | O_EXCL | O_RDWR, 0600) ==
	      -EEXIST);
	unlink(path);
	CHECK(weft_file_open_await(path, O_RDONLY, 0) == -ENOENT);
	return 0;
}

static void
test_files(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(file_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* A fiber dropped mid-wait: WEFT_ECANCELED, and no output handed out  */
/* ------------------------------------------------------------------ */

struct stuck {
	struct weft_listener *l;
	struct weft_io *quiet;
	struct weft_bufreader *r;
	int r_accept, r_read, r_line;
	struct weft_io *accepted;
	char *line;
};

static int
stuck_accept(void *arg)
{
	struct stuck *s = arg;

	s->r_accept = weft_accept_await(s->l, &s->accepted, NULL);
	return 0;
}

static int
stuck_read(void *arg)
{
	struct stuck *s = arg;
	char c;

	s->r_read = weft_io_read_await(s->quiet, &c, 1);
	return 0;
}

static int
stuck_line(void *arg)
{
	struct stuck *s = arg;

	s->r_line = weft_read_line_await(s->r, 0, &s->line);
	return 0;
}

static int
short_sleep(void *arg)
{
	(void)arg;
	return weft_sleep_ms(20);
}

static int
cancel_fiber(void *arg)
{
	struct stuck s = {.r_accept = 1, .r_read = 1, .r_line = 1};
	struct weft_fiber_call calls[4] = {{stuck_accept, &s},
	                                   {stuck_read, &s},
	                                   {stuck_line, &s},
	                                   {short_sleep, NULL}};
	struct weft_addr addr;
	struct weft_io *a, *b, *c;

	(void)arg;
	CHECK(weft_addr_ip(&addr, "127.0.0.1", 0) == 0);
	CHECK(weft_listen(&s.l, &addr, 0) == 0);
	/* Nobody writes on a or c, nobody connects to l. */
	CHECK(weft_io_pair(&s.quiet, &a) == 0);
	CHECK(weft_io_pair(&b, &c) == 0);
	CHECK(weft_bufreader_new(&s.r, b, 0) == 0);
	/* The sleep wins; the three waits are dropped. */
	CHECK(weft_select_fibers(WEFT_SELECT_BIASED, calls, 4) == 3);
	CHECK(s.r_accept == WEFT_ECANCELED && s.accepted == NULL);
	CHECK(s.r_read == WEFT_ECANCELED);
	CHECK(s.r_line == WEFT_ECANCELED && s.line == NULL);
	weft_bufreader_free(s.r);
	weft_io_close(b);
	weft_io_close(c);
	weft_io_close(s.quiet);
	weft_io_close(a);
	weft_listener_close(s.l);
	return 0;
}

static void
test_cancelled(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(cancel_fiber, NULL), 0);
	assert_int_equal(weft_fiber_live(), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_outside_fiber),
    cmocka_unit_test(test_tcp),
    cmocka_unit_test(test_accept_closed),
    cmocka_unit_test(test_lines),
    cmocka_unit_test(test_copy_bidirectional),
    cmocka_unit_test(test_async_fd),
    cmocka_unit_test(test_files),
    cmocka_unit_test(test_cancelled),
};

AWAIT_TEST_MAIN(tests);
