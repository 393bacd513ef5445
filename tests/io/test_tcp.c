/* SPDX-License-Identifier: MIT */
/*
 * TCP on the pair under test: echo round trips on 1, 100 and 1,000
 * connections with payloads from 1 byte to 1 MiB, connect refused, a peer
 * reset mid-write, half-close, a read racing a close, and a read dropped
 * by a select leaving its stream usable.
 */
#include <errno.h>
#include <sys/socket.h>

#include "common.h"

static struct weft_addr
loopback(void)
{
	struct weft_addr a;

	assert_int_equal(weft_addr_ip(&a, "127.0.0.1", 0), 0);
	return a;
}

/* ---- many clients through a join set ---------------------------------- */

/* Runs `conns` echo clients at once against a fresh server. */
static void
echo_many(const struct weft_addr *bind, size_t conns,
          size_t (*size_of)(size_t i), int rounds)
{
	struct weft_listener *l;
	struct weft_join *server;
	struct weft_joinset *set;
	struct echo_client c;
	struct drain d;
	struct weft_addr addr;
	atomic_uint accepted = 0;
	size_t i;

	echo_server_start(bind, &l, &server, &accepted);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	assert_int_equal(weft_joinset_new(&set), 0);
	for (i = 0; i < conns; i++) {
		echo_client_init(&c, &addr, size_of(i), rounds, (uint32_t)i);
		assert_int_equal(weft_joinset_spawn(set,
		                                    weft_runtime_executor(rt),
		                                    &c.base, NULL),
		                 0);
	}
	drain_init(&d, set);
	run_bounded(&d.base, 90);
	if (d.failures)
		fail_msg("%d of %zu clients failed, the first with %s",
		         d.failures, conns, weft_strerror(d.first_error));
	weft_joinset_free(set);
	echo_server_stop(l, server);
	assert_int_equal(atomic_load(&accepted), conns);
}

static const size_t one_sizes[] = {1, 2, 1000, 65536, 65537, 1u << 20};

static size_t
one_size(size_t i)
{
	return one_sizes[i];
}

static void
echo_one(void **state)
{
	struct weft_addr a = loopback();
	(void)state;

	/* One connection at a time, each size in turn. */
	for (size_t i = 0; i < sizeof(one_sizes) / sizeof(one_sizes[0]); i++) {
		struct weft_listener *l;
		struct weft_join *server;
		struct echo_client c;
		struct weft_addr addr;

		echo_server_start(&a, &l, &server, NULL);
		assert_int_equal(weft_listener_local_addr(l, &addr), 0);
		echo_client_init(&c, &addr, one_size(i), 3, (uint32_t)i);
		run_bounded(&c.base, 60);
		if (c.status != 0)
			fail_msg("%zu bytes: %s", one_size(i),
			         weft_strerror(c.status));
		echo_server_stop(l, server);
	}
}

static size_t
hundred_size(size_t i)
{
	/* Spread over 1 byte .. 256 KiB, and one full MiB. */
	return i == 0 ? 1u << 20 : 1 + (i * 10007u) % (256u * 1024u);
}

static void
echo_hundred(void **state)
{
	struct weft_addr a = loopback();
	(void)state;
	echo_many(&a, scaled(100, 20), hundred_size, under_valgrind() ? 2 : 3);
}

static size_t
thousand_size(size_t i)
{
	return 1 + (i * 37u) % 4096u;
}

static void
echo_thousand(void **state)
{
	struct weft_addr a = loopback();
	(void)state;
	echo_many(&a, scaled(1000, 100), thousand_size, 2);
}

/* ---- connect refused -------------------------------------------------- */

static void
connect_refused(void **state)
{
	struct weft_addr a = loopback(), addr;
	struct weft_listener *l;
	struct weft_connect c;
	(void)state;

	/* A port that was just free and has nobody listening now. */
	assert_int_equal(weft_listen(&l, &a, 1), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	weft_listener_close(l);
	weft_connect_init(&c, &addr);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, -ECONNREFUSED);
	assert_null(c.stream);
}

/* ---- a connected pair over TCP ---------------------------------------- */

/* Connects and accepts at once on a fresh listener. */
struct tcp_pair {
	struct weft_future base;
	struct weft_coro co;
	struct weft_listener *l;
	struct weft_accept acc;
	struct weft_connect conn;
	struct weft_join_all both;
	struct weft_io *client, *server;
	int status;
};

static weft_poll
tcp_pair_poll(struct weft_future *f, struct weft_context *cx)
{
	struct tcp_pair *p = (struct tcp_pair *)f;
	struct weft_addr addr;

	WEFT_BEGIN(&p->co);
	weft_listener_local_addr(p->l, &addr);
	weft_accept_init(&p->acc, p->l);
	weft_connect_init(&p->conn, &addr);
	weft_try_join_init(&p->both, weft_status_output, NULL, 2, &p->acc.base,
	                   &p->conn.base);
	WEFT_AWAIT(&p->co, cx, &p->both);
	p->status = p->both.status;
	p->client = p->conn.stream;
	p->server = p->acc.stream;
	WEFT_END(&p->co);
}

static void
tcp_pair_drop(struct weft_future *f)
{
	weft_future_drop(&((struct tcp_pair *)f)->both.base);
}

WEFT_FUTURE_VTABLE(tcp_pair_vtable, struct tcp_pair, status, tcp_pair_poll,
                   tcp_pair_drop);

static void
tcp_pair(struct weft_io **client, struct weft_io **server)
{
	struct weft_addr a = loopback();
	struct tcp_pair p = {.base.vtable = &tcp_pair_vtable};

	assert_int_equal(weft_listen(&p.l, &a, 8), 0);
	run_bounded(&p.base, 10);
	weft_listener_close(p.l);
	assert_int_equal(p.status, 0);
	*client = p.client;
	*server = p.server;
}

/* ---- peer reset mid-write --------------------------------------------- */

#define BIG (32u << 20)

struct reset {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *c, *s;
	unsigned char *big;
	unsigned char small[1024];
	struct weft_io_write_all w;
	struct weft_io_read_exact rd;
	struct weft_select sel;
	int status;
};

static weft_poll
reset_poll(struct weft_future *f, struct weft_context *cx)
{
	struct reset *r = (struct reset *)f;
	struct linger lg = {1, 0};

	WEFT_BEGIN(&r->co);
	/* More than the socket buffers hold: the write is still going... */
	weft_io_write_all_init(&r->w, r->c, r->big, BIG);
	weft_io_read_exact_init(&r->rd, r->s, r->small, sizeof(r->small));
	weft_select_init(&r->sel, WEFT_SELECT_BORROW, 2, &r->w.base,
	                 &r->rd.base);
	WEFT_AWAIT(&r->co, cx, &r->sel);
	assert_int_equal(r->sel.winner, 1);
	assert_int_equal(r->rd.status, 0);
	weft_future_drop(&r->rd.base);
	/* ... when the peer resets the connection (SO_LINGER 0 close). */
	setsockopt(weft_io_fd(r->s), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	weft_io_close(r->s);
	r->s = NULL;
	WEFT_AWAIT(&r->co, cx, &r->w);
	r->status = r->w.status;
	WEFT_END(&r->co);
}

static void
reset_drop(struct weft_future *f)
{
	struct reset *r = (struct reset *)f;

	weft_future_drop(&r->sel.base);
	weft_future_drop(&r->w.base);
	weft_future_drop(&r->rd.base);
}

WEFT_FUTURE_VTABLE(reset_vtable, struct reset, status, reset_poll, reset_drop);

static void
peer_reset(void **state)
{
	struct reset r = {.base.vtable = &reset_vtable};
	(void)state;

	tcp_pair(&r.c, &r.s);
	r.big = calloc(1, BIG);
	assert_non_null(r.big);
	run_bounded(&r.base, 30);
	if (r.status != -ECONNRESET && r.status != -EPIPE)
		fail_msg("write_all after reset: %s", weft_strerror(r.status));
	assert_true(r.w.done >= sizeof(r.small));
	assert_true(r.w.done < BIG);
	weft_io_close(r.c);
	weft_io_close(r.s);
	free(r.big);
}

/* ---- half-close -------------------------------------------------------- */

struct half {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *c, *s;
	char buf[16];
	struct weft_io_write_all w;
	struct weft_io_read_exact rx;
	struct weft_io_read rd;
	int status;
};

static weft_poll
half_poll(struct weft_future *f, struct weft_context *cx)
{
	struct half *h = (struct half *)f;

	WEFT_BEGIN(&h->co);
	weft_io_write_all_init(&h->w, h->c, "hello", 5);
	WEFT_AWAIT(&h->co, cx, &h->w);
	assert_int_equal(h->w.status, 0);
	/* The client is done sending but still reads. */
	assert_int_equal(weft_io_shutdown(h->c, SHUT_WR), 0);
	weft_io_read_exact_init(&h->rx, h->s, h->buf, 5);
	WEFT_AWAIT(&h->co, cx, &h->rx);
	assert_int_equal(h->rx.status, 0);
	assert_memory_equal(h->buf, "hello", 5);
	/* The server sees the end of the stream... */
	weft_io_read_init(&h->rd, h->s, h->buf, sizeof(h->buf));
	WEFT_AWAIT(&h->co, cx, &h->rd);
	assert_int_equal(h->rd.status, 0);
	/* ... and can still answer. */
	weft_io_write_all_init(&h->w, h->s, "bye", 3);
	WEFT_AWAIT(&h->co, cx, &h->w);
	assert_int_equal(h->w.status, 0);
	weft_io_close(h->s);
	h->s = NULL;
	weft_io_read_exact_init(&h->rx, h->c, h->buf, 3);
	WEFT_AWAIT(&h->co, cx, &h->rx);
	assert_int_equal(h->rx.status, 0);
	assert_memory_equal(h->buf, "bye", 3);
	weft_io_read_init(&h->rd, h->c, h->buf, sizeof(h->buf));
	WEFT_AWAIT(&h->co, cx, &h->rd);
	assert_int_equal(h->rd.status, 0);
	/* read_exact past the end reports it. */
	weft_io_read_exact_init(&h->rx, h->c, h->buf, 1);
	WEFT_AWAIT(&h->co, cx, &h->rx);
	assert_int_equal(h->rx.status, -ENODATA);
	WEFT_END(&h->co);
}

static void
half_drop(struct weft_future *f)
{
	struct half *h = (struct half *)f;

	weft_future_drop(&h->w.base);
	weft_future_drop(&h->rx.base);
	weft_future_drop(&h->rd.base);
}

WEFT_FUTURE_VTABLE(half_vtable, struct half, status, half_poll, half_drop);

static void
half_close(void **state)
{
	struct half h = {.base.vtable = &half_vtable};
	(void)state;

	tcp_pair(&h.c, &h.s);
	run_bounded(&h.base, 10);
	weft_io_close(h.c);
	weft_io_close(h.s);
}

/* ---- a read racing a close -------------------------------------------- */

/* A task whose read future was made before it was spawned. */
struct reader {
	struct weft_future base;
	struct weft_io_read rd;
	char buf[8];
	int status;
};

static weft_poll
reader_poll(struct weft_future *f, struct weft_context *cx)
{
	struct reader *r = (struct reader *)f;

	if (weft_future_poll(&r->rd.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	r->status = r->rd.status;
	return WEFT_READY;
}

static void
reader_drop(struct weft_future *f)
{
	weft_future_drop(&((struct reader *)f)->rd.base);
}

WEFT_FUTURE_VTABLE(reader_vtable, struct reader, status, reader_poll,
                   reader_drop);

static struct weft_join *
spawn_reader(struct weft_io *s)
{
	struct reader r = {.base.vtable = &reader_vtable};
	struct weft_join *j;

	weft_io_read_init(&r.rd, s, r.buf, sizeof(r.buf));
	assert_int_equal(weft_spawn(rt, &r.base, &j), 0);
	return j;
}

static int
join_int(struct weft_join *j)
{
	struct weft_join_future jf;
	int out = 1;

	weft_join_future_init(&jf, j, &out, sizeof(out));
	run_bounded(&jf.base, 10);
	assert_int_equal(jf.status, 0);
	return out;
}

static void
read_racing_close(void **state)
{
	struct weft_io *a, *b;
	struct weft_sleep nap;
	size_t i, n = scaled(300, 30);
	(void)state;

	/* Closed while the read waits: it completes, not hangs. */
	assert_int_equal(weft_io_pair(&a, &b), 0);
	struct weft_join *j = spawn_reader(a);
	weft_sleep_init(&nap, 20 * WEFT_MSEC);
	run_bounded(&nap.base, 5);
	weft_io_close(a);
	assert_int_equal(join_int(j), WEFT_ECLOSED);
	weft_io_close(b);

	/* The peer closing instead is the end of the stream. */
	assert_int_equal(weft_io_pair(&a, &b), 0);
	j = spawn_reader(a);
	weft_sleep_init(&nap, 20 * WEFT_MSEC);
	run_bounded(&nap.base, 5);
	weft_io_close(b);
	assert_int_equal(join_int(j), 0);
	weft_io_close(a);

	/*
	 * Closed at once, on this thread, while a worker may be starting
	 * the read: whichever wins, the read ends with WEFT_ECLOSED and
	 * nothing is used after it is freed.
	 */
	for (i = 0; i < n; i++) {
		assert_int_equal(weft_io_pair(&a, &b), 0);
		j = spawn_reader(a);
		weft_io_close(a);
		assert_int_equal(join_int(j), WEFT_ECLOSED);
		weft_io_close(b);
	}
}

/* ---- a dropped read leaves the stream usable -------------------------- */

struct cancel_read {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *a, *b;
	char buf[8];
	struct weft_io_read rd;
	struct weft_sleep nap;
	struct weft_select sel;
	struct weft_io_write_all w;
	int status;
};

static weft_poll
cancel_read_poll(struct weft_future *f, struct weft_context *cx)
{
	struct cancel_read *c = (struct cancel_read *)f;

	WEFT_BEGIN(&c->co);
	weft_io_read_init(&c->rd, c->a, c->buf, sizeof(c->buf));
	weft_sleep_init(&c->nap, 10 * WEFT_MSEC);
	weft_select_init(&c->sel, 0, 2, &c->rd.base, &c->nap.base);
	WEFT_AWAIT(&c->co, cx, &c->sel);
	assert_int_equal(c->sel.winner, 1);
	weft_io_write_all_init(&c->w, c->b, "x", 1);
	WEFT_AWAIT(&c->co, cx, &c->w);
	weft_io_read_init(&c->rd, c->a, c->buf, sizeof(c->buf));
	WEFT_AWAIT(&c->co, cx, &c->rd);
	assert_int_equal(c->rd.status, 1);
	assert_int_equal(c->buf[0], 'x');
	WEFT_END(&c->co);
}

static void
cancel_read_drop(struct weft_future *f)
{
	struct cancel_read *c = (struct cancel_read *)f;

	weft_future_drop(&c->sel.base);
	weft_future_drop(&c->rd.base);
	weft_future_drop(&c->nap.base);
	weft_future_drop(&c->w.base);
}

WEFT_FUTURE_VTABLE(cancel_read_vtable, struct cancel_read, status,
                   cancel_read_poll, cancel_read_drop);

static void
dropped_read(void **state)
{
	struct cancel_read c = {.base.vtable = &cancel_read_vtable};
	(void)state;

	tcp_pair(&c.a, &c.b);
	run_bounded(&c.base, 10);
	weft_io_close(c.a);
	weft_io_close(c.b);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(echo_one),
	    cmocka_unit_test(echo_hundred),
	    cmocka_unit_test(echo_thousand),
	    cmocka_unit_test(connect_refused),
	    cmocka_unit_test(peer_reset),
	    cmocka_unit_test(half_close),
	    cmocka_unit_test(read_racing_close),
	    cmocka_unit_test(dropped_read),
	};

	raise_nofile();
	return run_group(argc, argv, "io-tcp", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
