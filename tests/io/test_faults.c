/* SPDX-License-Identifier: MIT */
/*
 * Fault injection in the I/O library (D9), on the pair under test: the
 * futures run under a driver that wraps the runtime's own and answers its
 * fault method from a seeded generator, with a chance per kind the test
 * sets.  Under short transfers and spurious readiness every byte still
 * arrives, in order: write_all and read_exact, writev, copy_bidirectional
 * and the buffered reader's lines, over socket pairs, TCP and pipes.  An
 * injected reset is -ECONNRESET on stream sockets, seen by the peer as the
 * end of the stream, and never happens on a pipe.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <weft/await.h>
#include <weft/io_util.h>

#include "faulty.h"

/* ---- streams ----------------------------------------------------------- */

/* One direction of a transfer: from writes len pattern bytes, to reads. */
struct flow {
	struct weft_io *from, *to;
	size_t len;
	uint32_t seed;
	bool vectored; /* writev in uneven pieces instead of write_all */
	bool shut;     /* shut the writer down after, and expect the end */
};

/*
 * Writes in pieces of at most 1000 bytes, so that a transfer makes many
 * calls: write_all, or writev of entries of 1, 4, 13, ... bytes.
 */
static int
flow_write(void *arg)
{
	struct flow *fl = arg;
	unsigned char *buf = malloc(fl->len);
	struct iovec iov[WEFT_IOV_MAX];
	size_t off = 0, piece, end;
	int n, r = 0;

	CHECK(buf != NULL);
	pattern_fill(buf, fl->len, fl->seed);
	while (off < fl->len && r == 0) {
		end = fl->len - off < 1000 ? fl->len : off + 1000;
		if (!fl->vectored) {
			r = weft_io_write_all_await(fl->from, buf + off,
			                            end - off);
			off = end;
			continue;
		}
		for (n = 0, piece = 1; n < WEFT_IOV_MAX && off < end;
		     n++, piece = piece * 3 + 1) {
			if (piece > end - off)
				piece = end - off;
			iov[n] = (struct iovec){buf + off, piece};
			off += piece;
		}
		r = weft_io_writev_await(fl->from, iov, n);
	}
	free(buf);
	CHECK(r == 0);
	if (fl->shut)
		CHECK(weft_io_shutdown(fl->from, SHUT_WR) == 0);
	return 0;
}

/* Reads in read_exact pieces of 777 bytes, then checks every byte. */
static int
flow_read(void *arg)
{
	struct flow *fl = arg;
	unsigned char *buf = malloc(fl->len + 1);
	size_t i, off, n;
	int r = 0;

	CHECK(buf != NULL);
	for (off = 0; off < fl->len && r == 0; off += n) {
		n = fl->len - off < 777 ? fl->len - off : 777;
		r = weft_io_read_exact_await(fl->to, buf + off, n);
	}
	for (i = 0; r == 0 && i < fl->len; i++)
		if (buf[i] != pattern_byte(fl->seed, i))
			r = -EILSEQ;
	/* Nothing more than was sent: the next read is the end. */
	if (r == 0 && fl->shut)
		r = weft_io_read_await(fl->to, buf, 1);
	free(buf);
	CHECK(r == 0);
	return 0;
}

/* Both directions of a connected pair at once. */
struct duplex {
	struct flow ab, ba;
};

static int
duplex_run(void *arg)
{
	struct duplex *d = arg;
	const struct weft_fiber_call calls[] = {
	    {flow_write, &d->ab},
	    {flow_read, &d->ab},
	    {flow_write, &d->ba},
	    {flow_read, &d->ba},
	};

	faults_set(30, 30, 0);
	return weft_join_fibers(calls, 4);
}

static void
duplex_check(struct weft_io *a, struct weft_io *b, bool vectored)
{
	size_t len = scaled(256 * 1024, 16 * 1024);
	struct duplex d = {
	    .ab = {a, b, len, 1, vectored, true},
	    .ba = {b, a, len + 7, 2, vectored, true},
	};

	faults_reset_counts(0x9e3779b97f4a7c15u);
	assert_int_equal(run_faulty(duplex_run, &d), 0);
	fprintf(stderr, "short %u/%u, spurious %u/%u\n",
	        fd_drv.fired[WEFT_FAULT_SHORT_IO],
	        fd_drv.asked[WEFT_FAULT_SHORT_IO],
	        fd_drv.fired[WEFT_FAULT_SPURIOUS],
	        fd_drv.asked[WEFT_FAULT_SPURIOUS]);
	/* Not vacuous: both kinds fired, often. */
	assert_true(fd_drv.fired[WEFT_FAULT_SHORT_IO] > 0);
	assert_true(fd_drv.fired[WEFT_FAULT_SPURIOUS] > 0);
	assert_int_equal(fd_drv.fired[WEFT_FAULT_RESET], 0);
}

static void
unix_pair_every_byte(void **state)
{
	struct weft_io *a, *b;

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	duplex_check(a, b, false);
	weft_io_close(a);
	weft_io_close(b);
	assert_int_equal(weft_io_pair(&a, &b), 0);
	duplex_check(a, b, true);
	weft_io_close(a);
	weft_io_close(b);
}

/* Connects and accepts on 127.0.0.1 under faults. */
struct tcp_setup {
	struct weft_listener *l;
	struct weft_addr addr;
	struct weft_io *client, *server;
	int connect_status;
};

static int
tcp_accept(void *arg)
{
	struct tcp_setup *t = arg;

	CHECK(weft_accept_await(t->l, &t->server, NULL) == 0);
	return 0;
}

static int
tcp_connect(void *arg)
{
	struct tcp_setup *t = arg;

	t->connect_status = weft_connect_await(&t->addr, &t->client);
	return 0;
}

static int
tcp_setup_run(void *arg)
{
	const struct weft_fiber_call calls[] = {{tcp_accept, arg},
	                                        {tcp_connect, arg}};

	return weft_join_fibers(calls, 2);
}

/* A TCP pair, connected under spurious readiness (and resets at `reset`). */
static int
tcp_pair_faulty(struct tcp_setup *t, unsigned reset)
{
	*t = (struct tcp_setup){0};
	assert_int_equal(weft_addr_ip(&t->addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&t->l, &t->addr, 0), 0);
	assert_int_equal(weft_listener_local_addr(t->l, &t->addr), 0);
	faults_set(0, 30, reset);
	/* Under resets the accept would wait for a connection that failed. */
	assert_int_equal(run_faulty(reset ? tcp_connect : tcp_setup_run, t), 0);
	weft_listener_close(t->l);
	return t->connect_status;
}

static void
tcp_every_byte(void **state)
{
	struct tcp_setup t;

	(void)state;
	faults_reset_counts(42);
	assert_int_equal(tcp_pair_faulty(&t, 0), 0);
	assert_true(fd_drv.asked[WEFT_FAULT_SPURIOUS] > 0);
	duplex_check(t.client, t.server, false);
	weft_io_close(t.client);
	weft_io_close(t.server);
}

/* A pipe: short transfers and spurious readiness, but never a reset. */
static int
pipe_run(void *arg)
{
	struct flow *fl = arg;
	const struct weft_fiber_call calls[] = {{flow_write, fl},
	                                        {flow_read, fl}};

	faults_set(30, 30, 100);
	return weft_join_fibers(calls, 2);
}

static void
pipe_every_byte_never_reset(void **state)
{
	struct weft_io *rd, *wr;
	struct flow fl;

	(void)state;
	assert_int_equal(weft_pipe(&rd, &wr), 0);
	fl = (struct flow){wr, rd,   scaled(256 * 1024, 16 * 1024),
	                   3,  true, false};
	faults_reset_counts(7);
	assert_int_equal(run_faulty(pipe_run, &fl), 0);
	assert_true(fd_drv.fired[WEFT_FAULT_SHORT_IO] > 0);
	assert_true(fd_drv.fired[WEFT_FAULT_SPURIOUS] > 0);
	assert_int_equal(fd_drv.asked[WEFT_FAULT_RESET], 0);
	weft_io_close(rd);
	weft_io_close(wr);
}

/* ---- copy_bidirectional ------------------------------------------------- */

struct copy_case {
	struct flow ad, da; /* a to d and back, through b <-> c */
	struct weft_io *b, *c;
	uint64_t b_to_c, c_to_b;
};

static int
copy_fiber(void *arg)
{
	struct copy_case *k = arg;

	CHECK(weft_copy_bidirectional_await(k->b, k->c, &k->b_to_c,
	                                    &k->c_to_b) == 0);
	return 0;
}

static int
copy_run(void *arg)
{
	struct copy_case *k = arg;
	const struct weft_fiber_call calls[] = {
	    {flow_write, &k->ad}, {flow_read, &k->ad}, {flow_write, &k->da},
	    {flow_read, &k->da},  {copy_fiber, k},
	};

	faults_set(30, 30, 0);
	return weft_join_fibers(calls, 5);
}

static void
copy_every_byte(void **state)
{
	struct weft_io *a, *b, *c, *d;
	size_t len = scaled(256 * 1024, 16 * 1024);
	struct copy_case k;

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_io_pair(&c, &d), 0);
	k = (struct copy_case){
	    .ad = {a, d, len, 4, false, true},
	    .da = {d, a, len / 2 + 3, 5, true, true},
	    .b = b,
	    .c = c,
	};
	faults_reset_counts(1234);
	assert_int_equal(run_faulty(copy_run, &k), 0);
	assert_true(k.b_to_c == len);
	assert_true(k.c_to_b == len / 2 + 3);
	assert_true(fd_drv.fired[WEFT_FAULT_SHORT_IO] > 0);
	assert_true(fd_drv.fired[WEFT_FAULT_SPURIOUS] > 0);
	weft_io_close(a);
	weft_io_close(b);
	weft_io_close(c);
	weft_io_close(d);
}

/* ---- the buffered reader ------------------------------------------------ */

#define LINES 300

/* Line i: its number, then i % 50 letters, then a newline. */
static size_t
line_text(unsigned i, char *out)
{
	int n = sprintf(out, "%u:", i);
	unsigned k;

	for (k = 0; k < i % 50; k++)
		out[n++] = (char)('a' + (i + k) % 26);
	out[n++] = '\n';
	out[n] = '\0';
	return (size_t)n;
}

struct lines_case {
	struct weft_io *w, *r;
};

static int
lines_write(void *arg)
{
	struct lines_case *k = arg;
	char *all = malloc(LINES * 64), line[64];
	size_t len = 0;
	unsigned i;
	int r;

	CHECK(all != NULL);
	for (i = 0; i < LINES; i++) {
		size_t n = line_text(i, line);

		memcpy(all + len, line, n);
		len += n;
	}
	r = weft_io_write_all_await(k->w, all, len);
	free(all);
	CHECK(r == 0);
	CHECK(weft_io_shutdown(k->w, SHUT_WR) == 0);
	return 0;
}

static int
lines_read(void *arg)
{
	struct lines_case *k = arg;
	struct weft_bufreader *br;
	char want[64], *data;
	unsigned i;
	int n;

	/* A small buffer, so that lines straddle its refills. */
	CHECK(weft_bufreader_new(&br, k->r, 32) == 0);
	for (i = 0; i < LINES; i++) {
		size_t len = line_text(i, want);

		n = weft_read_line_await(br, 0, &data);
		if (n != (int)len || !data || memcmp(data, want, len) != 0) {
			fprintf(stderr, "line %u: %d bytes, '%s'\n", i, n,
			        data ? data : "");
			weft_free(data);
			weft_bufreader_free(br);
			CHECK(false);
		}
		weft_free(data);
	}
	n = weft_read_line_await(br, 0, &data);
	weft_free(data);
	weft_bufreader_free(br);
	CHECK(n == 0);
	return 0;
}

static int
lines_run(void *arg)
{
	const struct weft_fiber_call calls[] = {{lines_write, arg},
	                                        {lines_read, arg}};

	faults_set(40, 30, 0);
	return weft_join_fibers(calls, 2);
}

static void
bufreader_every_line(void **state)
{
	struct lines_case k;

	(void)state;
	assert_int_equal(weft_io_pair(&k.w, &k.r), 0);
	faults_reset_counts(99);
	assert_int_equal(run_faulty(lines_run, &k), 0);
	assert_true(fd_drv.fired[WEFT_FAULT_SHORT_IO] > 0);
	weft_io_close(k.w);
	weft_io_close(k.r);
}

/* ---- resets ------------------------------------------------------------- */

struct reset_case {
	struct weft_io *s, *peer;
	int write_status, read_status, peer_status;
};

static int
reset_run(void *arg)
{
	struct reset_case *k = arg;
	char buf[16];

	faults_set(0, 0, 100);
	k->write_status = weft_io_write_all_await(k->s, "x", 1);
	k->read_status = weft_io_read_await(k->s, buf, sizeof(buf));
	/* The peer is told too: its stream ends. */
	faults_set(0, 0, 0);
	k->peer_status = weft_io_read_await(k->peer, buf, sizeof(buf));
	return 0;
}

static void
reset_is_econnreset(void **state)
{
	struct reset_case k = {0};
	struct tcp_setup t;
	struct weft_io *a, *b;

	(void)state;
	/* TCP: write and read fail, the peer reads the end. */
	faults_reset_counts(5);
	assert_int_equal(tcp_pair_faulty(&t, 0), 0);
	k.s = t.client;
	k.peer = t.server;
	assert_int_equal(run_faulty(reset_run, &k), 0);
	assert_int_equal(k.write_status, -ECONNRESET);
	assert_int_equal(k.read_status, -ECONNRESET);
	assert_int_equal(k.peer_status, 0);
	weft_io_close(t.client);
	weft_io_close(t.server);

	/* A Unix stream socket pair alike. */
	assert_int_equal(weft_io_pair(&a, &b), 0);
	k = (struct reset_case){.s = a, .peer = b};
	assert_int_equal(run_faulty(reset_run, &k), 0);
	assert_int_equal(k.write_status, -ECONNRESET);
	assert_int_equal(k.read_status, -ECONNRESET);
	assert_int_equal(k.peer_status, 0);
	weft_io_close(a);
	weft_io_close(b);

	/* A connection reset right after its handshake. */
	faults_reset_counts(6);
	assert_int_equal(tcp_pair_faulty(&t, 100), -ECONNRESET);
	assert_null(t.client);
	assert_true(fd_drv.fired[WEFT_FAULT_RESET] == 1);
}

/* ---- the host's own faults ---------------------------------------------- */

/*
 * On the host's driver with sim_faults set, every kind comes, resets too:
 * whatever arrives is a prefix of what was sent, in order, and a stream
 * that fails says ECONNRESET (the side that was reset), EPIPE (a writer
 * whose peer was) or ends.
 */
struct prefix {
	struct weft_io *w, *r;
	size_t len, got;
	int wstatus, rstatus;
};

static int
prefix_write(void *arg)
{
	struct prefix *p = arg;
	unsigned char buf[1000];
	size_t off, n, i;

	p->wstatus = 0;
	for (off = 0; off < p->len && p->wstatus == 0; off += n) {
		n = p->len - off < sizeof(buf) ? p->len - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern_byte(9, off + i);
		p->wstatus = weft_io_write_all_await(p->w, buf, n);
	}
	if (p->wstatus == 0)
		weft_io_shutdown(p->w, SHUT_WR);
	return 0;
}

static int
prefix_read(void *arg)
{
	struct prefix *p = arg;
	unsigned char buf[1500];
	int n, i;

	p->got = 0;
	while ((n = weft_io_read_await(p->r, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			CHECK(buf[i] == pattern_byte(9, p->got + (size_t)i));
		p->got += (size_t)n;
	}
	p->rstatus = n;
	return 0;
}

static int
prefix_run(void *arg)
{
	const struct weft_fiber_call calls[] = {{prefix_write, arg},
	                                        {prefix_read, arg}};

	return weft_join_fibers(calls, 2);
}

static void
host_faults_keep_a_prefix(void **state)
{
	struct weft_runtime *saved = rt;
	struct weft_config *cfg;
	char err[256] = "", seed[16];
	const char *path = getenv("WEFT_PLUGIN_PATH");
	struct prefix p;
	int s, ended_early = 0;

	(void)state;
	/* Its own runtime: the pair's, with faults, on a seed of its own. */
	for (s = 1; s <= 5; s++) {
		assert_int_equal(weft_config_new(&cfg), 0);
		weft_config_set(cfg, "use_env", "false", NULL, 0);
		weft_config_set(cfg, "executor", test_executor, NULL, 0);
		weft_config_set(cfg, "reactor", test_reactor, NULL, 0);
		if (path)
			weft_config_set(cfg, "plugin_path", path, NULL, 0);
		snprintf(seed, sizeof(seed), "%d", s);
		assert_int_equal(
		    weft_config_set(cfg, "sim_seed", seed, err, sizeof(err)),
		    0);
		assert_int_equal(weft_config_set(cfg, "sim_faults", "0.05", err,
		                                 sizeof(err)),
		                 0);
		assert_int_equal(weft_runtime_open(&rt, cfg, err, sizeof(err)),
		                 0);
		weft_config_free(cfg);
		p = (struct prefix){.len = scaled(200000, 20000)};
		assert_int_equal(weft_io_pair(&p.w, &p.r), 0);
		assert_int_equal(run_fiber(prefix_run, &p), 0);
		assert_true(p.got <= p.len);
		if (p.got < p.len) {
			ended_early++;
			/*
			 * A reset on the writer's side, or on the reader's
			 * after the writer had put its last byte in the
			 * socket's buffer (small sizes, under Valgrind).
			 */
			assert_true(
			    p.wstatus == -ECONNRESET || p.wstatus == -EPIPE ||
			    (p.wstatus == 0 && p.rstatus == -ECONNRESET));
			assert_true(p.rstatus == -ECONNRESET || p.rstatus == 0);
		} else {
			assert_int_equal(p.wstatus, 0);
			assert_int_equal(p.rstatus, 0);
		}
		weft_io_close(p.w);
		weft_io_close(p.r);
		weft_runtime_close(rt);
	}
	rt = saved;
	fprintf(stderr, "host faults: %d of 5 runs ended early\n", ended_early);
	/* Not vacuous: with hundreds of calls at 5 %, resets came. */
	assert_true(ended_early > 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unix_pair_every_byte),
	    cmocka_unit_test(tcp_every_byte),
	    cmocka_unit_test(pipe_every_byte_never_reset),
	    cmocka_unit_test(copy_every_byte),
	    cmocka_unit_test(bufreader_every_line),
	    cmocka_unit_test(reset_is_econnreset),
	    cmocka_unit_test(host_faults_keep_a_prefix),
	};

	if (argc < 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	test_executor = argv[1];
	test_reactor = argv[2];
	return _cmocka_run_group_tests("io faults", tests,
	                               sizeof(tests) / sizeof(tests[0]),
	                               faulty_setup, rt_close);
}
