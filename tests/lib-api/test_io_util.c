/* SPDX-License-Identifier: MIT */
/*
 * <weft/io_util.h> over real sockets: the buffered reader (lines split
 * across reads, a line longer than the buffer, the end without a newline,
 * the length cap) and copy_bidirectional between a Unix socket pair and a
 * TCP echo server on 127.0.0.1, with the half-closes passed along.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/io_util.h>
#include <weft/net.h>

#include "../lib-core/common.h"

/* ---- a plain thread that writes chunks with pauses ------------------ */

struct chunks {
	int fd;
	const char *const *part;
	int n;
};

static void *
write_chunks(void *arg)
{
	struct chunks *c = arg;

	for (int i = 0; i < c->n; i++) {
		size_t len = strlen(c->part[i]), off = 0;

		while (off < len) {
			ssize_t w = write(c->fd, c->part[i] + off, len - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				return NULL;
		}
		stall_ms(10); /* the reader sees each chunk on its own */
	}
	shutdown(c->fd, SHUT_WR);
	return NULL;
}

static char long_line[301];

static void
bufreader_lines_across_reads(void **state)
{
	static const char *const parts[] = {"hel", "lo\r\nwor", "ld\n", NULL,
	                                    "\n\ntail"};
	const char *part[5];
	struct weft_io *a;
	struct weft_bufreader *r;
	struct weft_read_until rl;
	struct weft_lines lines;
	struct weft_stream_collect all;
	struct weft_line *items;
	int sv[2];
	pthread_t th;
	struct chunks c;

	(void)state;
	memset(long_line, 'x', 300);
	memcpy(part, parts, sizeof(part));
	part[3] = long_line; /* 300 bytes through a buffer of 8 */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(weft_io_from_fd(&a, sv[0]), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 8), 0);
	c = (struct chunks){sv[1], part, 5};
	assert_int_equal(pthread_create(&th, NULL, write_chunks, &c), 0);

	weft_read_line_init(&rl, r, 0);
	run(&rl.base);
	weft_future_drop(&rl.base);
	assert_int_equal(rl.status, 7);
	assert_string_equal(rl.data, "hello\r\n");
	weft_free(rl.data);

	weft_lines_init(&lines, r, 0);
	weft_stream_collect_init(&all, &lines.base);
	run(&all.base);
	weft_future_drop(&all.base);
	assert_int_equal(all.out.status, 0);
	assert_int_equal(all.out.vec.len, 4);
	items = (struct weft_line *)all.out.vec.data;
	assert_string_equal(items[0].data, "world");
	assert_int_equal(items[1].len, 300);
	assert_string_equal(items[1].data, long_line);
	assert_int_equal(items[2].len, 0);          /* an empty line */
	assert_string_equal(items[3].data, "tail"); /* no final newline */
	for (int i = 0; i < 4; i++)
		weft_free(items[i].data);
	weft_vec_free(&all.out.vec);
	/* At the end: read_line reads nothing. */
	weft_read_line_init(&rl, r, 0);
	run(&rl.base);
	weft_future_drop(&rl.base);
	assert_int_equal(rl.status, 0);
	assert_null(rl.data);

	pthread_join(th, NULL);
	weft_bufreader_free(r);
	weft_io_close(a);
	close(sv[1]);
}

static void
read_until_cap_and_delim(void **state)
{
	struct weft_io *a, *b;
	struct weft_bufreader *r;
	struct weft_read_until f;
	struct weft_io_write_all w;

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	assert_int_equal(weft_bufreader_new(&r, a, 0), 0);
	weft_io_write_all_init(&w, b, "k1=v1;key2=value2;", 18);
	run(&w.base);
	weft_future_drop(&w.base);
	weft_io_close(b); /* the end of stream after them */

	weft_read_until_init(&f, r, ';', 0);
	run(&f.base);
	weft_future_drop(&f.base);
	assert_int_equal(f.status, 6);
	assert_string_equal(f.data, "k1=v1;");
	weft_free(f.data);
	/* Capped: the 5 bytes that fit, the rest stays in the reader. */
	weft_read_until_init(&f, r, ';', 5);
	run(&f.base);
	weft_future_drop(&f.base);
	assert_int_equal(f.status, -EMSGSIZE);
	assert_string_equal(f.data, "key2=");
	weft_free(f.data);
	assert_int_equal(weft_bufreader_buffered(r), 7);
	weft_read_until_init(&f, r, ';', 0);
	run(&f.base);
	weft_future_drop(&f.base);
	assert_string_equal(f.data, "value2;");
	weft_free(f.data);
	weft_bufreader_free(r);
	weft_io_close(a);
}

/* ---- copy_bidirectional through a TCP echo server ------------------- */

struct echo {
	int lfd;
	size_t echoed;
};

/* Echoes one connection until its end, then half-closes and closes. */
static void *
echo_server(void *arg)
{
	struct echo *e = arg;
	char buf[4096];
	int fd = accept(e->lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				goto out;
			off += w;
		}
		e->echoed += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
out:
	close(fd);
	return NULL;
}

enum { PAYLOAD = 256 * 1024 };

struct client {
	int fd;
	unsigned char *got;
	size_t got_len;
};

/* Writes PAYLOAD bytes, half-closes, reads the echo until the end. */
static void *
client(void *arg)
{
	struct client *c = arg;
	unsigned char buf[8192];
	size_t sent = 0;
	ssize_t n;

	while (sent < PAYLOAD) {
		size_t k =
		    PAYLOAD - sent < sizeof(buf) ? PAYLOAD - sent : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = (unsigned char)((sent + i) * 7);
		n = write(c->fd, buf, k);
		if (n <= 0)
			return NULL;
		sent += (size_t)n;
		/* Read some echo meanwhile, so neither side's buffer fills. */
		while ((n = recv(c->fd, c->got + c->got_len,
		                 PAYLOAD - c->got_len, MSG_DONTWAIT)) > 0)
			c->got_len += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	while ((n = read(c->fd, c->got + c->got_len, PAYLOAD - c->got_len)) > 0)
		c->got_len += (size_t)n;
	return NULL;
}

static void
copy_bidirectional_through_tcp_echo(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	struct echo e = {0};
	struct client c = {0};
	struct weft_addr addr;
	struct weft_connect conn;
	struct weft_copy_bidirectional copy;
	struct weft_io *proxy;
	pthread_t es, cl;
	int sv[2];

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(e.lfd >= 0);
	assert_int_equal(bind(e.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(e.lfd, 4), 0);
	assert_int_equal(getsockname(e.lfd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(pthread_create(&es, NULL, echo_server, &e), 0);

	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", ntohs(sin.sin_port)),
	                 0);
	weft_connect_init(&conn, &addr);
	run(&conn.base);
	weft_future_drop(&conn.base);
	assert_int_equal(conn.status, 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(weft_io_from_fd(&proxy, sv[1]), 0);
	c.fd = sv[0];
	c.got = malloc(PAYLOAD);
	assert_non_null(c.got);
	assert_int_equal(pthread_create(&cl, NULL, client, &c), 0);

	weft_copy_bidirectional_init(&copy, proxy, conn.stream);
	run(&copy.base);
	weft_future_drop(&copy.base);
	assert_int_equal(copy.status, 0);
	assert_int_equal(copy.a_to_b, PAYLOAD);
	assert_int_equal(copy.b_to_a, PAYLOAD);

	pthread_join(cl, NULL);
	pthread_join(es, NULL);
	assert_int_equal(e.echoed, PAYLOAD);
	/* Every byte came back, in order: the client read to the end. */
	assert_int_equal(c.got_len, PAYLOAD);
	for (size_t i = 0; i < PAYLOAD; i++)
		if (c.got[i] != (unsigned char)(i * 7))
			fail_msg("byte %zu differs", i);
	free(c.got);
	weft_io_close(proxy);
	weft_io_close(conn.stream);
	close(sv[0]);
	close(e.lfd);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bufreader_lines_across_reads),
	    cmocka_unit_test(read_until_cap_and_delim),
	    cmocka_unit_test(copy_bidirectional_through_tcp_echo),
	};

	return run_group(argc, argv, "io-util", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
