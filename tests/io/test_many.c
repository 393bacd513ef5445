/* SPDX-License-Identifier: MIT */
/*
 * 10,000 concurrent TCP connections (500 under Valgrind) on the pair under
 * test.  The server runs in a child process forked before any runtime is
 * opened, on the same pair: each process then holds one end of every
 * connection, which keeps both within a hard fd limit of 20,000.  The
 * child stops on SIGTERM, through a signal future in a select, as a real
 * server would.
 *
 * Every client connects (at most 256 handshakes in flight, so that the
 * listen queue never overflows into SYN retries), does one round trip, and
 * waits at a barrier until all are connected at once; then all close.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define IN_FLIGHT 256

static size_t conns;
static struct weft_addr server_addr;
static const char *skip_reason;

/* ---- the server, in the child ----------------------------------------- */

struct child_root {
	struct weft_future base;
	struct weft_coro co;
	struct weft_signal sig;
	struct weft_listener *l;
	struct echo_server server;
	struct weft_select sel;
	int port_fd;
	int status;
};

static weft_poll
child_poll(struct weft_future *f, struct weft_context *cx)
{
	struct child_root *c = (struct child_root *)f;
	struct weft_addr a;
	uint16_t port;

	WEFT_BEGIN(&c->co);
	/* Listening for SIGTERM before the parent can know the port. */
	weft_signal_init(&c->sig, WEFT_SIGNAL_BIT(SIGTERM));
	weft_addr_ip(&a, "127.0.0.1", 0);
	c->status = weft_listen(&c->l, &a, 4096);
	if (c->status < 0)
		WEFT_RETURN(&c->co);
	weft_listener_local_addr(c->l, &a);
	port = weft_addr_port(&a);
	if (write(c->port_fd, &port, sizeof(port)) != sizeof(port)) {
		c->status = -EIO;
		WEFT_RETURN(&c->co);
	}
	echo_server_init(&c->server, c->l, NULL);
	weft_select_init(&c->sel, WEFT_SELECT_BIASED, 2, &c->sig.base,
	                 &c->server.base);
	WEFT_AWAIT(&c->co, cx, &c->sel);
	c->status = c->sel.winner == 0 ? c->sig.status == SIGTERM ? 0 : -EINTR
	                               : c->server.status;
	WEFT_END(&c->co);
}

static void
child_drop(struct weft_future *f)
{
	struct child_root *c = (struct child_root *)f;

	weft_future_drop(&c->sel.base);
	weft_future_drop(&c->sig.base);
	weft_future_drop(&c->server.base);
	weft_listener_close(c->l);
}

WEFT_FUTURE_VTABLE(child_vtable, struct child_root, status, child_poll,
                   child_drop);

static int
child_main(int port_fd)
{
	struct child_root root = {.base.vtable = &child_vtable,
	                          .port_fd = port_fd};
	int r;

	if (rt_open(NULL) < 0)
		return 3;
	r = weft_block_on(rt, &root.base);
	weft_future_drop(&root.base);
	rt_close(NULL);
	close(port_fd);
	if (r == 0)
		r = root.status;
	if (r < 0)
		fprintf(stderr, "server: %s\n", weft_strerror(r));
	return r < 0 ? 1 : 0;
}

/* ---- the clients ----------------------------------------------------------
 */

struct many_client {
	struct weft_future base;
	struct weft_coro co;
	struct weft_semaphore *sem;
	struct weft_barrier *barrier;
	struct weft_semaphore_acquire acq;
	struct weft_connect conn;
	struct weft_io *s;
	char out, in;
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	struct weft_barrier_wait bw;
	int status;
};

static weft_poll
many_poll(struct weft_future *f, struct weft_context *cx)
{
	struct many_client *m = (struct many_client *)f;

	WEFT_BEGIN(&m->co);
	weft_semaphore_acquire_init(&m->acq, m->sem, 1);
	WEFT_AWAIT(&m->co, cx, &m->acq);
	weft_connect_init(&m->conn, &server_addr);
	WEFT_AWAIT(&m->co, cx, &m->conn);
	weft_semaphore_release(m->sem, 1);
	m->status = m->conn.status;
	m->s = m->conn.stream;
	if (m->status == 0) {
		weft_io_write_all_init(&m->w, m->s, &m->out, 1);
		WEFT_AWAIT(&m->co, cx, &m->w);
		m->status = m->w.status;
	}
	if (m->status == 0) {
		weft_io_read_exact_init(&m->r, m->s, &m->in, 1);
		WEFT_AWAIT(&m->co, cx, &m->r);
		m->status = m->r.status;
		if (m->status == 0 && m->in != m->out)
			m->status = -EILSEQ;
	}
	/* Failed or not, arrive: the others must not wait forever. */
	weft_barrier_wait_init(&m->bw, m->barrier);
	WEFT_AWAIT(&m->co, cx, &m->bw);
	WEFT_END(&m->co);
}

static void
many_drop(struct weft_future *f)
{
	struct many_client *m = (struct many_client *)f;

	weft_future_drop(&m->acq.base);
	weft_future_drop(&m->conn.base);
	weft_future_drop(&m->w.base);
	weft_future_drop(&m->r.base);
	weft_future_drop(&m->bw.base);
	weft_io_close(m->s);
}

WEFT_FUTURE_VTABLE(many_vtable, struct many_client, status, many_poll,
                   many_drop);

static void
many_connections(void **state)
{
	struct weft_semaphore *sem;
	struct weft_barrier *barrier;
	struct weft_joinset *set;
	struct drain d;
	size_t i;
	(void)state;

	if (skip_reason) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
	assert_int_equal(weft_semaphore_new(IN_FLIGHT, &sem), 0);
	assert_int_equal(weft_barrier_new(conns, &barrier), 0);
	assert_int_equal(weft_joinset_new(&set), 0);
	for (i = 0; i < conns; i++) {
		struct many_client m = {.base.vtable = &many_vtable,
		                        .sem = sem,
		                        .barrier = barrier,
		                        .out = (char)i};

		assert_int_equal(weft_joinset_spawn(set,
		                                    weft_runtime_executor(rt),
		                                    &m.base, NULL),
		                 0);
	}
	drain_init(&d, set);
	run_bounded(&d.base, 100);
	if (d.failures)
		fail_msg("%d of %zu connections failed, the first with %s",
		         d.failures, conns, weft_strerror(d.first_error));
	weft_joinset_free(set);
	weft_barrier_free(barrier);
	weft_semaphore_free(sem);
}

/* ---- main ------------------------------------------------------------------
 */

/* Reads the child's port, for at most 30 s.  0 on failure. */
static uint16_t
read_port(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	uint16_t port = 0;

	if (poll(&p, 1, 30000) == 1 &&
	    read(fd, &port, sizeof(port)) == sizeof(port))
		return port;
	return 0;
}

/* Stops the child with SIGTERM; its exit status, or -1 if it hung. */
static int
stop_child(pid_t pid)
{
	struct timespec ts = {0, 10 * 1000000L};
	int status, i;

	kill(pid, SIGTERM);
	/* Generous: under Valgrind the child checks its heap on exit. */
	for (i = 0; i < 12000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(many_connections),
	};
	size_t limit = raise_nofile();
	int fds[2], r, child;
	uint16_t port;
	pid_t pid = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	test_executor = argv[1];
	test_reactor = argv[2];
	conns = scaled(10000, 500);
	if (limit < conns + 64) {
		skip_reason = "the hard fd limit is too low for the test";
	} else {
		if (pipe(fds) < 0)
			return 1;
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(fds[0]);
			_exit(child_main(fds[1]));
		}
		close(fds[1]);
		port = read_port(fds[0]);
		close(fds[0]);
		if (!port) {
			stop_child(pid);
			fprintf(stderr, "the server did not start\n");
			return 1;
		}
		weft_addr_ip(&server_addr, "127.0.0.1", port);
	}
	r = run_group(argc, argv, "io-many", tests,
	              sizeof(tests) / sizeof(tests[0]));
	if (pid > 0) {
		child = stop_child(pid);
		if (child != 0) {
			fprintf(stderr, "the server exited with %d\n", child);
			r = r ? r : 1;
		}
	}
	return r;
}
