/* SPDX-License-Identifier: MIT */
/*
 * The rest of the I/O layer on the pair under test: UDP, IPv6 on ::1, Unix
 * sockets, pipes, the fd readiness wrapper, signals, name resolution and
 * regular files.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* One future through which each test runs a list of steps. */
struct steps;
typedef weft_poll (*steps_fn)(struct steps *s, struct weft_context *cx);

struct steps {
	struct weft_future base;
	struct weft_coro co;
	steps_fn fn;
	void *arg;
	struct weft_io *a, *b;
	struct weft_udp *u, *v;
	struct weft_addr addr;
	char buf[64];
	struct weft_io_write_all w;
	struct weft_io_read_exact rx;
	struct weft_io_read rd;
	struct weft_udp_io uio;
	struct weft_sleep nap;
	struct weft_select sel;
	struct weft_async_fd_ready ready;
	struct weft_signal_recv recv;
	struct weft_signal sig;
	int status;
};

static weft_poll
steps_poll(struct weft_future *f, struct weft_context *cx)
{
	struct steps *s = (struct steps *)f;

	return s->fn(s, cx);
}

static void
steps_drop(struct weft_future *f)
{
	struct steps *s = (struct steps *)f;

	weft_future_drop(&s->sel.base);
	weft_future_drop(&s->w.base);
	weft_future_drop(&s->rx.base);
	weft_future_drop(&s->rd.base);
	weft_future_drop(&s->uio.base);
	weft_future_drop(&s->nap.base);
	weft_future_drop(&s->ready.base);
	weft_future_drop(&s->recv.base);
	weft_future_drop(&s->sig.base);
}

WEFT_FUTURE_VTABLE(steps_vtable, struct steps, status, steps_poll, steps_drop);

static struct steps
steps(steps_fn fn)
{
	return (struct steps){.base.vtable = &steps_vtable, .fn = fn};
}

/* ---- UDP ---------------------------------------------------------------- */

static weft_poll
udp_steps(struct steps *s, struct weft_context *cx)
{
	struct weft_addr from;

	WEFT_BEGIN(&s->co);
	/* send_to and recv_from, with the sender's address. */
	assert_int_equal(weft_udp_local_addr(s->v, &s->addr), 0);
	weft_udp_recv_from_init(&s->uio, s->v, s->buf, sizeof(s->buf));
	weft_sleep_init(&s->nap, 10 * WEFT_MSEC);
	/* Nothing sent yet: the receive waits (the sleep wins). */
	weft_select_init(&s->sel, WEFT_SELECT_BIASED, 2, &s->uio.base,
	                 &s->nap.base);
	WEFT_AWAIT(&s->co, cx, &s->sel);
	assert_int_equal(s->sel.winner, 1);
	weft_udp_send_to_init(&s->uio, s->u, "ping", 4, &s->addr);
	WEFT_AWAIT(&s->co, cx, &s->uio);
	assert_int_equal(s->uio.status, 4);
	weft_udp_recv_from_init(&s->uio, s->v, s->buf, sizeof(s->buf));
	WEFT_AWAIT(&s->co, cx, &s->uio);
	assert_int_equal(s->uio.status, 4);
	assert_memory_equal(s->buf, "ping", 4);
	assert_int_equal(weft_udp_local_addr(s->u, &from), 0);
	assert_int_equal(weft_addr_port(&s->uio.addr), weft_addr_port(&from));
	/* Connected: send and receive without addresses. */
	assert_int_equal(weft_udp_connect(s->v, &s->uio.addr), 0);
	weft_udp_send_to_init(&s->uio, s->v, "pong!", 5, NULL);
	WEFT_AWAIT(&s->co, cx, &s->uio);
	assert_int_equal(s->uio.status, 5);
	weft_udp_recv_from_init(&s->uio, s->u, s->buf, 3);
	WEFT_AWAIT(&s->co, cx, &s->uio);
	/* Longer than the buffer: truncated to it. */
	assert_int_equal(s->uio.status, 3);
	assert_memory_equal(s->buf, "pon", 3);
	WEFT_END(&s->co);
}

static void
udp(void **state)
{
	struct steps s = steps(udp_steps);
	struct weft_addr a;
	(void)state;

	assert_int_equal(weft_addr_ip(&a, "127.0.0.1", 0), 0);
	assert_int_equal(weft_udp_bind(&s.u, &a), 0);
	assert_int_equal(weft_udp_bind(&s.v, &a), 0);
	run_bounded(&s.base, 10);
	weft_udp_close(s.u);
	weft_udp_close(s.v);
}

/* ---- IPv6 and Unix: echo round trips --------------------------------------
 */

static void
echo_on(const struct weft_addr *bind, size_t size)
{
	struct weft_listener *l;
	struct weft_join *server;
	struct echo_client c;
	struct weft_addr addr;

	echo_server_start(bind, &l, &server, NULL);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	echo_client_init(&c, &addr, size, 3, 7);
	run_bounded(&c.base, 30);
	assert_int_equal(c.status, 0);
	echo_server_stop(l, server);
}

static void
ipv6(void **state)
{
	struct weft_listener *l;
	struct weft_addr a;
	char text[64];
	int r;
	(void)state;

	assert_int_equal(weft_addr_ip(&a, "[::1]", 0), 0);
	r = weft_listen(&l, &a, 4);
	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
		print_message("no IPv6 loopback here: %s\n", weft_strerror(r));
		skip();
	}
	assert_int_equal(r, 0);
	weft_listener_close(l);
	echo_on(&a, 100000);
	assert_string_equal(weft_addr_format(&a, text, sizeof(text)),
	                    "[::1]:0");
}

static void
unix_socket(void **state)
{
	char dir[] = "/tmp/weft-io-XXXXXX", path[64];
	struct weft_addr a;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	assert_int_equal(weft_addr_unix(&a, path), 0);
	echo_on(&a, 300000);
	unlink(path);
	rmdir(dir);
}

/* ---- pipes and socket pairs ------------------------------------------- */

static weft_poll
pipe_steps(struct steps *s, struct weft_context *cx)
{
	WEFT_BEGIN(&s->co);
	weft_io_write_all_init(&s->w, s->b, "through", 7);
	WEFT_AWAIT(&s->co, cx, &s->w);
	assert_int_equal(s->w.status, 0);
	weft_io_read_exact_init(&s->rx, s->a, s->buf, 7);
	WEFT_AWAIT(&s->co, cx, &s->rx);
	assert_int_equal(s->rx.status, 0);
	assert_memory_equal(s->buf, "through", 7);
	if (s->arg) {
		/* A pipe: the writer gone is the end of the stream. */
		weft_io_close(s->b);
		s->b = NULL;
		weft_io_read_init(&s->rd, s->a, s->buf, sizeof(s->buf));
		WEFT_AWAIT(&s->co, cx, &s->rd);
		assert_int_equal(s->rd.status, 0);
	}
	WEFT_END(&s->co);
}

static weft_poll
epipe_steps(struct steps *s, struct weft_context *cx)
{
	WEFT_BEGIN(&s->co);
	/* The reader gone: -EPIPE, and the process lives (no SIGPIPE). */
	weft_io_write_all_init(&s->w, s->b, "lost", 4);
	WEFT_AWAIT(&s->co, cx, &s->w);
	assert_int_equal(s->w.status, -EPIPE);
	WEFT_END(&s->co);
}

static void
pipes(void **state)
{
	struct steps s = steps(pipe_steps);
	(void)state;

	assert_int_equal(weft_pipe(&s.a, &s.b), 0);
	s.arg = &s;
	run_bounded(&s.base, 10);
	weft_io_close(s.a);
	weft_io_close(s.b);

	s = steps(pipe_steps);
	assert_int_equal(weft_io_pair(&s.a, &s.b), 0);
	run_bounded(&s.base, 10);
	assert_int_equal(weft_io_set_nodelay(s.a, true), -EOPNOTSUPP);
	weft_io_close(s.a);
	weft_io_close(s.b);

	/* EPIPE on a pipe and on a socket, never a SIGPIPE. */
	s = steps(epipe_steps);
	assert_int_equal(weft_pipe(&s.a, &s.b), 0);
	weft_io_close(s.a);
	s.a = NULL;
	run_bounded(&s.base, 10);
	weft_io_close(s.b);
	s = steps(epipe_steps);
	assert_int_equal(weft_io_pair(&s.a, &s.b), 0);
	weft_io_close(s.a);
	run_bounded(&s.base, 10);
	weft_io_close(s.b);
}

/* ---- fd readiness ----------------------------------------------------- */

static weft_poll
afd_steps(struct steps *s, struct weft_context *cx)
{
	struct weft_async_fd *a = s->arg;
	int fd = weft_async_fd_fd(a);
	char c;

	WEFT_BEGIN(&s->co);
	/* Nothing to read: the ready future waits (the sleep wins). */
	weft_async_fd_ready_init(&s->ready, a, WEFT_READABLE);
	weft_sleep_init(&s->nap, 10 * WEFT_MSEC);
	weft_select_init(&s->sel, WEFT_SELECT_BIASED, 2, &s->ready.base,
	                 &s->nap.base);
	WEFT_AWAIT(&s->co, cx, &s->sel);
	assert_int_equal(s->sel.winner, 1);
	assert_int_equal(write(weft_io_fd(s->b), "z", 1), 1);
	weft_async_fd_ready_init(&s->ready, a, WEFT_READABLE);
	WEFT_AWAIT(&s->co, cx, &s->ready);
	assert_true(s->ready.status & WEFT_READABLE);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'z');
	assert_int_equal(read(fd, &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	weft_async_fd_clear(a, WEFT_READABLE);
	/* Cleared: waits again. */
	weft_async_fd_ready_init(&s->ready, a, WEFT_READABLE);
	weft_sleep_init(&s->nap, 10 * WEFT_MSEC);
	weft_select_init(&s->sel, WEFT_SELECT_BIASED, 2, &s->ready.base,
	                 &s->nap.base);
	WEFT_AWAIT(&s->co, cx, &s->sel);
	assert_int_equal(s->sel.winner, 1);
	/* Writable at once. */
	weft_async_fd_ready_init(&s->ready, a, WEFT_WRITABLE);
	WEFT_AWAIT(&s->co, cx, &s->ready);
	assert_true(s->ready.status & WEFT_WRITABLE);
	WEFT_END(&s->co);
}

static void
async_fd(void **state)
{
	struct steps s = steps(afd_steps);
	struct weft_async_fd *a;
	int sv[2];
	(void)state;

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(
	    weft_async_fd_new(&a, sv[0], WEFT_READABLE | WEFT_WRITABLE), 0);
	assert_int_equal(weft_io_from_fd(&s.b, sv[1]), 0);
	s.arg = a;
	run_bounded(&s.base, 10);
	weft_async_fd_free(a);
	weft_io_close(s.b);
	/* The wrapper never closed the fd: still ours. */
	assert_int_equal(close(sv[0]), 0);
}

/* ---- signals ------------------------------------------------------------ */

/* Set once the one-shot signal future exists: SIGTERM is safe then. */
static atomic_bool term_armed;
static pthread_t main_thread;

static void *
raise_later(void *arg)
{
	struct timespec ts = {0, 20 * 1000000L};

	(void)arg;
	while (!atomic_load(&term_armed))
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	/*
	 * Directed at the thread that waits, and this thread stays alive a
	 * while: under Valgrind a process-directed signal may be routed to the
	 * sending thread as it exits, which then takes the default action.
	 */
	pthread_kill(main_thread, SIGTERM);
	nanosleep(&ts, NULL);
	return NULL;
}

static weft_poll
signal_steps(struct steps *s, struct weft_context *cx)
{
	WEFT_BEGIN(&s->co);
	/* Raised before anyone waits: not lost. */
	raise(SIGINT);
	weft_signal_recv_init(&s->recv, s->arg);
	WEFT_AWAIT(&s->co, cx, &s->recv);
	assert_int_equal(s->recv.status, SIGINT);
	/* Reported once: the next recv waits (the sleep wins). */
	weft_signal_recv_init(&s->recv, s->arg);
	weft_sleep_init(&s->nap, 10 * WEFT_MSEC);
	weft_select_init(&s->sel, WEFT_SELECT_BIASED, 2, &s->recv.base,
	                 &s->nap.base);
	WEFT_AWAIT(&s->co, cx, &s->sel);
	assert_int_equal(s->sel.winner, 1);
	/* The one-shot future in a select, signalled from another thread. */
	weft_signal_init(&s->sig, 0);
	atomic_store(&term_armed, true);
	weft_sleep_init(&s->nap, 10 * WEFT_SEC);
	weft_select_init(&s->sel, 0, 2, &s->sig.base, &s->nap.base);
	WEFT_AWAIT(&s->co, cx, &s->sel);
	assert_int_equal(s->sel.winner, 0);
	assert_int_equal(s->sig.status, SIGTERM);
	WEFT_END(&s->co);
}

static void
signals(void **state)
{
	struct steps s = steps(signal_steps);
	struct weft_signal_listener *l;
	struct sigaction sa;
	pthread_t t;
	(void)state;

	/*
	 * A signal from a thread of the test's races a 10 s sleep: on the
	 * sim executor virtual time jumps past it at once.
	 */
	if (pair_is_sim())
		skip();
	assert_int_equal(weft_signal_listen(&l, WEFT_SIGNAL_BIT(SIGKILL)),
	                 -EINVAL);
	assert_int_equal(weft_signal_listen(&l, WEFT_SIGNAL_BIT(SIGINT)), 0);
	s.arg = l;
	atomic_store(&term_armed, false);
	main_thread = pthread_self();
	assert_int_equal(pthread_create(&t, NULL, raise_later, NULL), 0);
	/* The thread raises SIGTERM while the select waits. */
	run_bounded(&s.base, 20);
	pthread_join(t, NULL);
	weft_signal_listener_free(l);
	/* The one-shot future, dropped, still holds SIGINT and SIGTERM. */
	assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
	assert_true(sa.sa_handler != SIG_DFL);
	assert_int_equal(weft_signal_release(WEFT_SIGNAL_BIT(SIGKILL)),
	                 -EINVAL);
	assert_int_equal(weft_signal_release(0), 0);
	/* The last listener gone and let go of, the default is back. */
	assert_int_equal(sigaction(SIGINT, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
	assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
}

/* ---- name resolution ---------------------------------------------------- */

static void
resolve(void **state)
{
	struct weft_resolve r;
	char name[300];
	int i;
	(void)state;

	weft_resolve_init(&r, "localhost", 8080, AF_UNSPEC);
	run_bounded(&r.base, 30);
	assert_true(r.status >= 1);
	assert_int_equal(r.count, r.status);
	for (i = 0; i < r.count; i++) {
		char text[64];

		weft_addr_format(&r.addrs[i], text, sizeof(text));
		if (strcmp(text, "127.0.0.1:8080") != 0 &&
		    strcmp(text, "[::1]:8080") != 0)
			fail_msg("localhost resolved to %s", text);
	}
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	weft_resolve_init(&r, name, 80, AF_UNSPEC);
	run_bounded(&r.base, 5);
	assert_int_equal(r.status, -ENAMETOOLONG);
}

/* ---- files ----------------------------------------------------------------
 */

static void
files(void **state)
{
	char path[] = "/tmp/weft-io-file-XXXXXX";
	size_t len = under_valgrind() ? 1500000 : 3u * 1024 * 1024 + 123;
	unsigned char *out = malloc(len), *in = malloc(len);
	struct weft_file_open o;
	struct weft_file_rw rw;
	int fd;
	(void)state;

	assert_non_null(out);
	assert_non_null(in);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	weft_file_open_init(&o, path, O_RDWR | O_TRUNC, 0600);
	run_bounded(&o.base, 10);
	assert_true(o.status >= 0);
	fd = o.status;
	/* More than one chunk, so the loop over chunks is exercised. */
	pattern_fill(out, len, 3);
	weft_file_write_init(&rw, fd, out, len, 0);
	run_bounded(&rw.base, 30);
	assert_int_equal(rw.status, (int)len);
	weft_file_read_init(&rw, fd, in, len, 0);
	run_bounded(&rw.base, 30);
	assert_int_equal(rw.status, (int)len);
	assert_memory_equal(in, out, len);
	/* Short at the end of the file, 0 past it. */
	weft_file_read_init(&rw, fd, in, 100, (off_t)len - 10);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 10);
	assert_memory_equal(in, out + len - 10, 10);
	weft_file_read_init(&rw, fd, in, 100, (off_t)len);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 0);
	close(fd);
	unlink(path);
	weft_file_open_init(&o, path, O_RDONLY, 0);
	run_bounded(&o.base, 10);
	assert_int_equal(o.status, -ENOENT);
	/* A regular file has no readiness: the reactor refuses it. */
	fd = open("/proc/self/exe", O_RDONLY);
	if (fd >= 0) {
		struct weft_async_fd *a;
		struct weft_async_fd_ready r;

		assert_int_equal(weft_async_fd_new(&a, fd, WEFT_READABLE), 0);
		weft_async_fd_ready_init(&r, a, WEFT_READABLE);
		run_bounded(&r.base, 5);
		assert_true(r.status < 0);
		weft_async_fd_free(a);
		close(fd);
	}
	free(out);
	free(in);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(udp),         cmocka_unit_test(ipv6),
	    cmocka_unit_test(unix_socket), cmocka_unit_test(pipes),
	    cmocka_unit_test(async_fd),    cmocka_unit_test(signals),
	    cmocka_unit_test(resolve),     cmocka_unit_test(files),
	};

	return run_group(argc, argv, "io-misc", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
