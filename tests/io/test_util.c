/* SPDX-License-Identifier: MIT */
/*
 * The buffered reader, its lines and copy_bidirectional at their edges, on
 * the pair under test: lines longer than the buffer, the last line without
 * a newline, CR LF, an empty line, a read_until dropped half-way, a peer
 * that resets the connection, and every allocation out of memory.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/io_util.h>

#include "common.h"

static int
lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* Writes all of text to s. */
static void
put(struct weft_io *s, const char *text)
{
	struct weft_io_write_all w;

	weft_io_write_all_init(&w, s, text, strlen(text));
	run_bounded(&w.base, 10);
	assert_int_equal(w.status, 0);
}

/* A connected TCP pair on 127.0.0.1. */
static void
tcp_pair(struct weft_io **client, struct weft_io **server)
{
	struct weft_listener *l;
	struct weft_connect c;
	struct weft_accept a;
	struct weft_addr addr;

	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&l, &addr, 0), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	weft_connect_init(&c, &addr);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, 0);
	weft_accept_init(&a, l);
	run_bounded(&a.base, 10);
	assert_int_equal(a.status, 0);
	weft_listener_close(l);
	*client = c.stream;
	*server = a.stream;
}

/* Closes s so that its peer reads ECONNRESET. */
static void
reset(struct weft_io *s)
{
	struct linger lg = {1, 0};

	assert_int_equal(
	    setsockopt(weft_io_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
	    0);
	weft_io_close(s);
}

/* One read_until to its end: status, and data (freed) compared. */
static void
expect_line(struct weft_bufreader *r, int status, const char *data)
{
	struct weft_read_until f;

	weft_read_line_init(&f, r, 0);
	run_bounded(&f.base, 10);
	assert_int_equal(f.status, status);
	if (data) {
		assert_non_null(f.data);
		assert_int_equal(f.len, strlen(data));
		assert_string_equal(f.data, data);
	} else {
		assert_null(f.data);
	}
	weft_free(f.data);
}

static void
reader_edges(void **state)
{
	struct weft_bufreader *r;
	struct weft_io *a, *b;
	char longline[301];
	int before = lowest_free_fd();
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	/* Out of memory for the reader, then for its buffer. */
	fault_arm(1);
	assert_int_equal(weft_bufreader_new(&r, a, 0), -ENOMEM);
	assert_true(fault_fired());
	fault_arm(2);
	assert_int_equal(weft_bufreader_new(&r, a, 0), -ENOMEM);
	assert_true(fault_fired());
	weft_bufreader_free(NULL);

	/* A buffer of 4 bytes: a line of 300 takes many reads. */
	assert_int_equal(weft_bufreader_new(&r, a, 4), 0);
	memset(longline, 'x', 299);
	longline[299] = '\n';
	longline[300] = '\0';
	put(b, longline);
	put(b, "tail");
	weft_io_close(b);
	expect_line(r, 300, longline);
	/* The last line has no newline; after it, the end. */
	expect_line(r, 4, "tail");
	expect_line(r, 0, NULL);
	expect_line(r, 0, NULL);
	assert_int_equal(weft_bufreader_buffered(r), 0);
	weft_bufreader_free(r);
	/* The reader's handle was its own: the stream is still ours. */
	weft_io_close(a);
	assert_int_equal(lowest_free_fd(), before);
}

/* Polls a future once, then gives up on it. */
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
read_until_interrupted(void **state)
{
	struct once o = {.base.vtable = &once_vtable};
	struct weft_read_until f;
	struct weft_bufreader *r;
	struct weft_io *a, *b;
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	put(b, "one\ntwo\npar");
	expect_line(r, 4, "one\n");
	/* The rest is buffered: the next line needs no read. */
	assert_int_equal(weft_bufreader_buffered(r), 7);
	/* No memory for the line: reported, the bytes stay buffered. */
	weft_read_line_init(&f, r, 0);
	assert_true(run_failing(&f.base, 1, 10));
	assert_int_equal(f.status, -ENOMEM);
	weft_free(f.data);
	assert_int_equal(weft_bufreader_buffered(r), 7);
	expect_line(r, 4, "two\n");
	/*
	 * Dropped while it waits for the rest of a line: the part it took
	 * is gone with it (read_until is not cancel-safe); the reader goes
	 * on with what comes next.
	 */
	weft_read_line_init(&f, r, 0);
	o.inner = &f.base;
	run_bounded(&o.base, 10);
	assert_int_equal(o.first, WEFT_PENDING);
	assert_null(f.data);
	assert_int_equal(weft_bufreader_buffered(r), 0);
	put(b, "t\nnext\n");
	expect_line(r, 2, "t\n");
	expect_line(r, 5, "next\n");
	weft_io_close(b);
	weft_bufreader_free(r);
	weft_io_close(a);

	/* The peer resets: the stream's error. */
	tcp_pair(&a, &b);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	put(b, "half");
	reset(b);
	weft_read_line_init(&f, r, 0);
	run_bounded(&f.base, 10);
	/* What came before the reset may or may not have been read first. */
	if (f.status == 4) {
		assert_string_equal(f.data, "half");
		weft_free(f.data);
		weft_read_line_init(&f, r, 0);
		run_bounded(&f.base, 10);
	}
	assert_int_equal(f.status, -ECONNRESET);
	weft_free(f.data);
	weft_bufreader_free(r);
	weft_io_close(a);
}

/* Collects the lines of a reader: items, then the final status. */
static int
collect_lines(struct weft_bufreader *r, size_t max, char out[][16], int n)
{
	struct weft_lines lines;
	struct weft_stream_next next;
	struct weft_line item;
	int i;

	weft_lines_init(&lines, r, max);
	for (i = 0;; i++) {
		weft_stream_next_init(&next, &lines.base, &item);
		run_bounded(&next.base, 10);
		if (next.status != 1)
			break;
		assert_true(i < n);
		assert_true(item.len < 16);
		assert_int_equal(strlen(item.data), item.len);
		memcpy(out[i], item.data, item.len + 1);
		weft_free(item.data);
	}
	/* Once ended, it stays ended. */
	if (next.status <= 0) {
		int end = next.status;

		weft_stream_next_init(&next, &lines.base, &item);
		run_bounded(&next.base, 10);
		assert_int_equal(next.status, 0);
		next.status = end;
	}
	weft_stream_drop(&lines.base);
	return next.status < 0 ? next.status : i;
}

static void
lines_edges(void **state)
{
	struct weft_bufreader *r;
	struct weft_io *a, *b;
	struct weft_lines lines;
	struct weft_stream_next next;
	struct weft_line item;
	struct once o = {.base.vtable = &once_vtable};
	char got[8][16];
	(void)state;

	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	put(b, "one\r\ntwo\n\nlast");
	weft_io_close(b);
	assert_int_equal(collect_lines(r, 0, got, 8), 4);
	assert_string_equal(got[0], "one");
	assert_string_equal(got[1], "two");
	assert_string_equal(got[2], "");
	assert_string_equal(got[3], "last");
	weft_bufreader_free(r);
	weft_io_close(a);

	/* A line past max is an error item, and the end. */
	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	put(b, "ok\ntoo long\nnever\n");
	assert_int_equal(collect_lines(r, 4, got, 8), -EMSGSIZE);
	assert_string_equal(got[0], "ok");
	/* The rest of the long line stayed; then a line under way is
	 * dropped with the stream, and nothing leaks. */
	weft_lines_init(&lines, r, 0);
	weft_stream_next_init(&next, &lines.base, &item);
	run_bounded(&next.base, 10);
	assert_int_equal(next.status, 1);
	assert_string_equal(item.data, "long");
	weft_free(item.data);
	weft_stream_next_init(&next, &lines.base, &item);
	run_bounded(&next.base, 10);
	assert_int_equal(next.status, 1);
	assert_string_equal(item.data, "never");
	weft_free(item.data);
	weft_stream_next_init(&next, &lines.base, &item);
	o.inner = &next.base;
	run_bounded(&o.base, 10);
	assert_int_equal(o.first, WEFT_PENDING);
	weft_stream_drop(&lines.base);
	weft_bufreader_free(r);
	weft_io_close(a);
	weft_io_close(b);
}

/* ---- copy_bidirectional ------------------------------------------------ */

static void
copy_errors(void **state)
{
	struct weft_copy_bidirectional c;
	struct weft_io *x, *a, *b, *y;
	unsigned n;
	(void)state;

	assert_int_equal(weft_io_pair(&x, &a), 0);
	assert_int_equal(weft_io_pair(&b, &y), 0);
	/* No buffer for either half: nothing is read. */
	for (n = 1; n <= 2; n++) {
		weft_copy_bidirectional_init(&c, a, b);
		assert_true(run_failing(&c.base, n, 10));
		assert_int_equal(c.status, -ENOMEM);
		assert_int_equal(c.a_to_b + c.b_to_a, 0);
	}
	/* b's peer is gone: what a sends cannot be written. */
	put(x, "lost");
	weft_io_close(y);
	weft_copy_bidirectional_init(&c, a, b);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, -EPIPE);
	assert_int_equal(c.a_to_b, 0);
	weft_io_close(x);
	weft_io_close(a);
	weft_io_close(b);

	/* a's peer resets the connection: the read's error. */
	tcp_pair(&a, &x);
	assert_int_equal(weft_io_pair(&b, &y), 0);
	reset(x);
	weft_copy_bidirectional_init(&c, a, b);
	run_bounded(&c.base, 10);
	assert_int_equal(c.status, -ECONNRESET);
	weft_io_close(a);
	weft_io_close(b);
	weft_io_close(y);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reader_edges),
	    cmocka_unit_test(read_until_interrupted),
	    cmocka_unit_test(lines_edges),
	    cmocka_unit_test(copy_errors),
	};

	fault_install();
	return run_group(argc, argv, "io-util", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
