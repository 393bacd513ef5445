/* SPDX-License-Identifier: MIT */
/*
 * The libuv echo server of bench/run: 127.0.0.1:PORT, writes back what it
 * reads.  A write that the socket takes at once (uv_try_write, the usual
 * case) costs no allocation; the rest is copied and queued with uv_write.
 *
 * Usage: weft-bench-echo-libuv PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define BUF 4096

struct client {
	uv_tcp_t tcp;
	char buf[BUF];
};

struct pending {
	uv_write_t req;
	char data[];
};

static uv_loop_t *loop;

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	struct client *c = (struct client *)h;

	(void)hint;
	*out = uv_buf_init(c->buf, BUF);
}

static void
on_close(uv_handle_t *h)
{
	free(h);
}

static void
on_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pending *p;
	uv_buf_t rest;
	int w;

	if (n < 0) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	if (n == 0)
		return;
	rest = uv_buf_init(b->base, (unsigned)n);
	w = uv_try_write(s, &rest, 1);
	if (w == n)
		return;
	if (w < 0)
		w = 0;
	p = malloc(sizeof(*p) + (size_t)(n - w));
	if (!p) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	memcpy(p->data, b->base + w, (size_t)(n - w));
	rest = uv_buf_init(p->data, (unsigned)(n - w));
	if (uv_write(&p->req, s, &rest, 1, on_written) < 0)
		free(p);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct client *c;

	if (status < 0)
		return;
	c = malloc(sizeof(*c));
	if (!c)
		return;
	uv_tcp_init(loop, &c->tcp);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	uv_tcp_t server;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	loop = uv_default_loop();
	uv_ip4_addr("127.0.0.1", atoi(argv[1]), &sa);
	uv_tcp_init(loop, &server);
	if ((rc = uv_tcp_bind(&server, (struct sockaddr *)&sa, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&server, 4096, on_connection)) <
	        0) {
		fprintf(stderr, "listen: %s\n", uv_strerror(rc));
		return 1;
	}
	return uv_run(loop, UV_RUN_DEFAULT);
}
