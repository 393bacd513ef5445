/* SPDX-License-Identifier: MIT */
/*
 * Handles: weft_listener_ref / weft_io_ref / weft_udp_ref give another
 * owner (a task) its own handle, so the creator may close its handle at
 * once without freeing the object under that task; the object is shut
 * only when the last handle is closed.
 */
#include <errno.h>

#include "common.h"

/* ---- a listener owned by a task ---------------------------------------- */

/*
 * Accepts one connection with a listener handle of its own, writes one
 * byte on it, then closes the connection and its handle.
 */
struct one_accept {
	struct weft_future base;
	struct weft_coro co;
	struct weft_listener *l; /* owned */
	struct weft_accept acc;
	struct weft_io_write_all w;
	int status;
};

static weft_poll
one_accept_poll(struct weft_future *f, struct weft_context *cx)
{
	struct one_accept *a = (struct one_accept *)f;

	WEFT_BEGIN(&a->co);
	weft_accept_init(&a->acc, a->l);
	WEFT_AWAIT(&a->co, cx, &a->acc);
	a->status = a->acc.status;
	if (a->status < 0)
		WEFT_RETURN(&a->co);
	weft_io_write_all_init(&a->w, a->acc.stream, "!", 1);
	WEFT_AWAIT(&a->co, cx, &a->w);
	a->status = a->w.status;
	WEFT_END(&a->co);
}

static void
one_accept_drop(struct weft_future *f)
{
	struct one_accept *a = (struct one_accept *)f;

	weft_future_drop(&a->w.base);
	weft_future_drop(&a->acc.base);
	if (a->acc.status == 0)
		weft_io_close(a->acc.stream);
	weft_listener_close(a->l);
}

WEFT_FUTURE_VTABLE(one_accept_vtable, struct one_accept, status,
                   one_accept_poll, one_accept_drop);

/* Connects and reads one byte: status 0 with buf[0] set, or the error. */
struct one_connect {
	struct weft_future base;
	struct weft_coro co;
	struct weft_connect conn;
	struct weft_io_read_exact rx;
	char buf[1];
	int status;
};

static weft_poll
one_connect_poll(struct weft_future *f, struct weft_context *cx)
{
	struct one_connect *c = (struct one_connect *)f;

	WEFT_BEGIN(&c->co);
	WEFT_AWAIT(&c->co, cx, &c->conn);
	c->status = c->conn.status;
	if (c->status < 0)
		WEFT_RETURN(&c->co);
	weft_io_read_exact_init(&c->rx, c->conn.stream, c->buf, 1);
	WEFT_AWAIT(&c->co, cx, &c->rx);
	c->status = c->rx.status;
	WEFT_END(&c->co);
}

static void
one_connect_drop(struct weft_future *f)
{
	struct one_connect *c = (struct one_connect *)f;

	weft_future_drop(&c->rx.base);
	if (c->conn.status == 0)
		weft_io_close(c->conn.stream);
	weft_future_drop(&c->conn.base);
}

WEFT_FUTURE_VTABLE(one_connect_vtable, struct one_connect, status,
                   one_connect_poll, one_connect_drop);

static int
connect_once(const struct weft_addr *addr, char *byte)
{
	struct one_connect c = {.base.vtable = &one_connect_vtable};

	weft_connect_init(&c.conn, addr);
	run_bounded(&c.base, 10);
	*byte = c.buf[0];
	weft_future_drop(&c.base);
	return c.status;
}

static void
listener_outlives_its_creator(void **state)
{
	struct one_accept a = {.base.vtable = &one_accept_vtable};
	struct weft_join_future jf;
	struct weft_listener *l;
	struct weft_addr addr;
	struct weft_join *join;
	char byte = 0;
	int status = -1;

	(void)state;
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&l, &addr, 16), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	a.l = weft_listener_ref(l);
	assert_ptr_equal(a.l, l);
	assert_int_equal(weft_spawn(rt, &a.base, &join), 0);
	/*
	 * The creator lets go before the task has run: the task's handle
	 * keeps the listener open (a use after free without it).
	 */
	weft_listener_close(l);
	assert_int_equal(connect_once(&addr, &byte), 0);
	assert_int_equal(byte, '!');
	weft_join_future_init(&jf, join, &status, sizeof(status));
	run_bounded(&jf.base, 10);
	assert_int_equal(jf.status, 0);
	assert_int_equal(status, 0);
	/* The task closed the last handle: nobody listens any more. */
	assert_int_equal(connect_once(&addr, &byte), -ECONNREFUSED);
	assert_null(weft_listener_ref(NULL));
}

/* ---- a stream with two owners ------------------------------------------ */

struct talk {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *from, *to;
	struct weft_io_write_all w;
	struct weft_io_read rd;
	char buf[16];
	int status;
};

/* Writes "hi" on `from`, then reads what arrives on `to`. */
static weft_poll
talk_poll(struct weft_future *f, struct weft_context *cx)
{
	struct talk *t = (struct talk *)f;

	WEFT_BEGIN(&t->co);
	if (t->from) {
		weft_io_write_all_init(&t->w, t->from, "hi", 2);
		WEFT_AWAIT(&t->co, cx, &t->w);
		assert_int_equal(t->w.status, 0);
	}
	weft_io_read_init(&t->rd, t->to, t->buf, sizeof(t->buf));
	WEFT_AWAIT(&t->co, cx, &t->rd);
	t->status = t->rd.status;
	WEFT_END(&t->co);
}

static void
talk_drop(struct weft_future *f)
{
	struct talk *t = (struct talk *)f;

	weft_future_drop(&t->w.base);
	weft_future_drop(&t->rd.base);
}

WEFT_FUTURE_VTABLE(talk_vtable, struct talk, status, talk_poll, talk_drop);

static int
talk(struct weft_io *from, struct weft_io *to, char *buf)
{
	struct talk t = {.base.vtable = &talk_vtable, .from = from, .to = to};

	run_bounded(&t.base, 10);
	memcpy(buf, t.buf, sizeof(t.buf));
	weft_future_drop(&t.base);
	return t.status;
}

static void
stream_closes_with_its_last_handle(void **state)
{
	struct weft_io *a, *b, *a2;
	char buf[16];

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	a2 = weft_io_ref(a);
	assert_ptr_equal(a2, a);
	weft_io_close(a);
	/* One handle left: the stream still works both ways. */
	assert_int_equal(talk(a2, b, buf), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(talk(b, a2, buf), 2);
	weft_io_close(a2);
	/* The last handle closed the socket: the peer reads end of stream. */
	assert_int_equal(talk(NULL, b, buf), 0);
	weft_io_close(b);
	assert_null(weft_io_ref(NULL));
}

static void
udp_closes_with_its_last_handle(void **state)
{
	struct weft_addr addr;
	struct weft_udp *u, *u2;

	(void)state;
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_udp_bind(&u, &addr), 0);
	u2 = weft_udp_ref(u);
	assert_ptr_equal(u2, u);
	weft_udp_close(u);
	/* Still open: the fd answers for its bound address. */
	assert_int_equal(weft_udp_local_addr(u2, &addr), 0);
	weft_udp_close(u2);
	assert_null(weft_udp_ref(NULL));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listener_outlives_its_creator),
	    cmocka_unit_test(stream_closes_with_its_last_handle),
	    cmocka_unit_test(udp_closes_with_its_last_handle),
	};

	return run_group(argc, argv, "io-owners", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
