/* SPDX-License-Identifier: MIT */
/*
 * Drives an echo server and measures it.
 *
 *     echo-client -p PORT [-a ADDRESS] [-c CONNECTIONS] [-r ROUNDS]
 *                 [-s SIZE]
 *
 * Opens CONNECTIONS (default 50) connections to ADDRESS (default
 * 127.0.0.1) at once; each runs ROUNDS (default 1000) round trips of SIZE
 * (default 64) bytes — write the request, read the echo, check it byte for
 * byte — and records each round trip's latency.  Prints the request rate
 * and the median and 99th percentile latency.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/combinator.h>
#include <weft/net.h>
#include <weft/task.h>
#include <weft/weft.h>

struct client {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	size_t size;
	int rounds;
	uint64_t *lat; /* this connection's slice, `rounds` entries */
	struct weft_connect conn;
	struct weft_io *s;
	unsigned char *out, *in;
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	struct weft_join_all both;
	uint64_t t0;
	int i;
	int status;
};

static weft_poll
client_poll(struct weft_future *f, struct weft_context *cx)
{
	struct client *c = (struct client *)f;

	WEFT_BEGIN(&c->co);
	c->out = malloc(c->size);
	c->in = malloc(c->size);
	if (!c->out || !c->in) {
		c->status = -ENOMEM;
		WEFT_RETURN(&c->co);
	}
	for (size_t k = 0; k < c->size; k++)
		c->out[k] = (unsigned char)(k * 31 + 7);
	weft_connect_init(&c->conn, &c->addr);
	WEFT_AWAIT(&c->co, cx, &c->conn);
	c->status = c->conn.status;
	if (c->status < 0)
		WEFT_RETURN(&c->co);
	c->s = c->conn.stream;
	weft_io_set_nodelay(c->s, true);
	for (c->i = 0; c->i < c->rounds; c->i++) {
		c->t0 = weft_driver_now(cx->driver);
		/* Both at once: a large request must not deadlock the echo. */
		weft_io_write_all_init(&c->w, c->s, c->out, c->size);
		weft_io_read_exact_init(&c->r, c->s, c->in, c->size);
		weft_join_init(&c->both, 2, &c->w.base, &c->r.base);
		WEFT_AWAIT(&c->co, cx, &c->both);
		c->status = c->w.status < 0 ? c->w.status : c->r.status;
		if (c->status == 0 && memcmp(c->in, c->out, c->size) != 0)
			c->status = -EILSEQ;
		if (c->status < 0)
			WEFT_RETURN(&c->co);
		c->lat[c->i] = weft_driver_now(cx->driver) - c->t0;
	}
	WEFT_END(&c->co);
}

static void
client_drop(struct weft_future *f)
{
	struct client *c = (struct client *)f;

	weft_future_drop(&c->both.base);
	weft_future_drop(&c->conn.base);
	weft_io_close(c->s);
	free(c->out);
	free(c->in);
}

WEFT_FUTURE_VTABLE(client_vtable, struct client, status, client_poll,
                   client_drop);

/* Spawns the clients and joins them all. */
struct bench {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	int conns, rounds;
	size_t size;
	uint64_t *lat;
	struct weft_joinset *set;
	struct weft_joinset_next next;
	int out;
	int failed, first_error;
	uint64_t t0, elapsed;
	int status;
};

static weft_poll
bench_poll(struct weft_future *f, struct weft_context *cx)
{
	struct bench *b = (struct bench *)f;

	WEFT_BEGIN(&b->co);
	b->t0 = weft_driver_now(cx->driver);
	for (int i = 0; i < b->conns; i++) {
		struct client c = {.base.vtable = &client_vtable,
		                   .addr = b->addr,
		                   .size = b->size,
		                   .rounds = b->rounds,
		                   .lat = b->lat + (size_t)i * b->rounds};

		b->status =
		    weft_joinset_spawn(b->set, cx->executor, &c.base, NULL);
		if (b->status < 0)
			WEFT_RETURN(&b->co);
	}
	for (;;) {
		weft_joinset_next_init(&b->next, b->set, &b->out,
		                       sizeof(b->out));
		WEFT_AWAIT(&b->co, cx, &b->next);
		if (b->next.status == 0)
			break;
		if (b->out < 0 && !b->failed++)
			b->first_error = b->out;
	}
	b->elapsed = weft_driver_now(cx->driver) - b->t0;
	WEFT_END(&b->co);
}

static void
bench_drop(struct weft_future *f)
{
	struct bench *b = (struct bench *)f;

	weft_future_drop(&b->next.base);
	/* While the runtime still exists: weft_run drops the root first. */
	weft_joinset_free(b->set);
	b->set = NULL;
}

WEFT_FUTURE_VTABLE(bench_vtable, struct bench, status, bench_poll, bench_drop);

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s -p PORT [-a ADDRESS] [-c CONNECTIONS] [-r ROUNDS] "
	        "[-s SIZE]\n",
	        argv0);
	return 2;
}

int
main(int argc, char **argv)
{
	struct bench b = {.base.vtable = &bench_vtable,
	                  .conns = 50,
	                  .rounds = 1000,
	                  .size = 64};
	const char *ip = "127.0.0.1";
	int port = 0, opt, rc;
	size_t total;
	double secs;

	while ((opt = getopt(argc, argv, "a:p:c:r:s:")) != -1) {
		switch (opt) {
		case 'a':
			ip = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			b.conns = atoi(optarg);
			break;
		case 'r':
			b.rounds = atoi(optarg);
			break;
		case 's':
			b.size = strtoull(optarg, NULL, 10);
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (port <= 0 || port > 65535 || b.conns <= 0 || b.rounds <= 0 ||
	    b.size == 0 || weft_addr_ip(&b.addr, ip, (uint16_t)port) < 0)
		return usage(argv[0]);
	total = (size_t)b.conns * (size_t)b.rounds;
	b.lat = calloc(total, sizeof(*b.lat));
	if (!b.lat || weft_joinset_new(&b.set) < 0) {
		fprintf(stderr, "echo-client: out of memory\n");
		free(b.lat);
		return 1;
	}
	rc = weft_run(&b.base);
	if (rc == 0 && (b.status < 0 || b.failed)) {
		fprintf(stderr,
		        "echo-client: %d of %d connections failed: %s\n",
		        b.failed, b.conns,
		        weft_strerror(b.status < 0 ? b.status : b.first_error));
		rc = 1;
	}
	if (rc == 0) {
		qsort(b.lat, total, sizeof(*b.lat), cmp_u64);
		secs = (double)b.elapsed / 1e9;
		printf("%d connections x %d round trips of %zu bytes: %zu "
		       "requests in %.2f s\n",
		       b.conns, b.rounds, b.size, total, secs);
		printf("requests/s %.0f  p50 %.1f us  p99 %.1f us\n",
		       (double)total / secs, (double)b.lat[total / 2] / 1e3,
		       (double)b.lat[total * 99 / 100] / 1e3);
	}
	free(b.lat);
	return rc;
}
