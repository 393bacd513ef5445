/* SPDX-License-Identifier: MIT */
/*
 * The echo load generator of bench/run, the same for every server: opens
 * CONNS connections to 127.0.0.1:PORT, then each connection sends a
 * 64-byte message, waits for its echo and sends the next, ROUNDS times
 * (closed loop, one message in flight per connection).  Plain epoll, one
 * thread, so that the server is what is measured.
 *
 * Usage: weft-bench-echo-client PORT CONNS ROUNDS
 * Prints one line: requests per second, the p50 and p99 round-trip latency
 * in microseconds, then fairness between connections: when the first
 * connection has made its ROUNDS round trips, how many each of the others
 * has made, as the min, median and max over the connections (a fair server
 * keeps them close together; a server that serves some connections more
 * often than others leaves the min far below ROUNDS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

struct conn {
	int fd;
	int got;
	long done;
	uint64_t sent_at;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}


static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}


/* Each connection's count of round trips, sorted, into fair[]. */
static void
snapshot(const struct conn *conns, long n_conns, long *fair)
{
	for (long i = 0; i < n_conns; i++)
		fair[i] = conns[i].done;
	qsort(fair, (size_t)n_conns, sizeof(*fair), cmp_long);
}

static void
fail(const char *what)
{
	perror(what);
	exit(1);
}

static void
send_msg(struct conn *c, const char *msg)
{
	ssize_t n;

	c->sent_at = now_ns();
	n = write(c->fd, msg, MSG);
	if (n != MSG)
		fail("write");
}

static int
connect_one(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		fail("socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int
main(int argc, char **argv)
{
	char msg[MSG], buf[MSG];
	struct epoll_event evs[256];
	struct conn *conns;
	uint32_t *lat;
	long *fair;
	long n_conns, rounds, total, recorded = 0, finished = 0;
	uint64_t t0, t1;
	int ep;

	if (argc != 4 || (n_conns = atol(argv[2])) < 1 ||
	    (rounds = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: %s PORT CONNS ROUNDS\n", argv[0]);
		return 2;
	}
	total = n_conns * rounds;
	conns = calloc((size_t)n_conns, sizeof(*conns));
	lat = malloc(sizeof(*lat) * (size_t)total);
	fair = malloc(sizeof(*fair) * (size_t)n_conns);
	ep = epoll_create1(0);
	if (!conns || !lat || !fair || ep < 0)
		fail("setup");
	memset(msg, 'w', sizeof(msg));
	for (long i = 0; i < n_conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
		                         .data.ptr = &conns[i]};

		conns[i].fd = connect_one((uint16_t)atoi(argv[1]));
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
			fail("epoll_ctl");
	}
	t0 = now_ns();
	for (long i = 0; i < n_conns; i++)
		send_msg(&conns[i], msg);
	while (finished < n_conns) {
		int n = epoll_wait(ep, evs, 256, 10000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("epoll_wait (server stalled?)");
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			ssize_t r = read(c->fd, buf, (size_t)(MSG - c->got));

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				fprintf(stderr, "read: %s\n",
				        r ? strerror(errno) : "end of stream");
				return 1;
			}
			c->got += (int)r;
			if (c->got < MSG)
				continue;
			c->got = 0;
			lat[recorded++] = (uint32_t)(now_ns() - c->sent_at);
			if (++c->done == rounds && finished++ == 0)
				snapshot(conns, n_conns, fair);
			if (c->done < rounds)
				send_msg(c, msg);
		}
	}
	t1 = now_ns();
	qsort(lat, (size_t)recorded, sizeof(*lat), cmp_u32);
	printf("%.0f %.1f %.1f %ld %ld %ld\n",
	       (double)total * 1e9 / (double)(t1 - t0), lat[recorded / 2] / 1000.0,
	       lat[recorded * 99 / 100] / 1000.0, fair[0], fair[n_conns / 2],
	       fair[n_conns - 1]);
	return 0;
}
