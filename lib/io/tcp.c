/* SPDX-License-Identifier: MIT */
/*
 * Addresses, listeners, accept and connect, for TCP over IPv4 and IPv6 and
 * for Unix stream sockets: the family of the address decides.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <weft/net.h>

#include "core.h"

#define BOTH (WEFT_READABLE | WEFT_WRITABLE)

struct weft_listener {
	struct weft__io io;
};

/* ---- addresses ---------------------------------------------------------- */

WEFT_EXPORT int
weft_addr_ip(struct weft_addr *a, const char *ip, uint16_t port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	char buf[INET6_ADDRSTRLEN];
	size_t n;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		a->len = sizeof(*in4);
		return 0;
	}
	/* "[::1]" as well as "::1", as it appears in URLs. */
	n = strlen(ip);
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, ip + 1, n - 2);
		buf[n - 2] = '\0';
		ip = buf;
	}
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		a->len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}


WEFT_EXPORT int
weft_addr_unix(struct weft_addr *a, const char *path)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	if (n >= sizeof(un->sun_path))
		return -ENAMETOOLONG;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, n + 1);
	a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}


WEFT_EXPORT uint16_t
weft_addr_port(const struct weft_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}


WEFT_EXPORT char *
weft_addr_format(const struct weft_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (size == 0)
		return buf;
	switch (a->ss.ss_family) {
	case AF_INET:
		inet_ntop(AF_INET,
		          &((const struct sockaddr_in *)&a->ss)->sin_addr, ip,
		          sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, weft_addr_port(a));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, ip,
		          sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, weft_addr_port(a));
		break;
	case AF_UNIX:
		snprintf(buf, size, "%s",
		         ((const struct sockaddr_un *)&a->ss)->sun_path);
		break;
	default:
		snprintf(buf, size, "(family %d)", a->ss.ss_family);
	}
	return buf;
}

/* ---- listeners ------------------------------------------------------------
 */

WEFT_EXPORT int
weft_listen(struct weft_listener **out, const struct weft_addr *addr,
            int backlog)
{
	int family = addr->ss.ss_family;
	struct weft_listener *l;
	int fd, one = 1, err;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		goto fail;
	if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
		goto fail;
	l = weft__io_new(sizeof(*l), fd, WEFT_READABLE, true, true);
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	*out = l;
	return 0;

fail:
	err = errno;
	close(fd);
	return -err;
}


WEFT_EXPORT void
weft_listener_close(struct weft_listener *l)
{
	/*
	 * shutdown() stops the kernel from completing more handshakes for
	 * us even if an accept future keeps the fd open a while longer.
	 * Closed first, so that an accept it fails reports the close.
	 */
	if (!l)
		return;
	if (weft__io_close_handle(&l->io)) {
		weft__io_shut(&l->io);
		shutdown(l->io.fd, SHUT_RDWR);
	}
	weft__io_unref(&l->io);
}


WEFT_EXPORT struct weft_listener *
weft_listener_ref(struct weft_listener *l)
{
	if (l)
		weft__io_dup(&l->io);
	return l;
}


WEFT_EXPORT int
weft_listener_local_addr(const struct weft_listener *l, struct weft_addr *addr)
{
	addr->len = sizeof(addr->ss);
	if (getsockname(l->io.fd, (struct sockaddr *)&addr->ss, &addr->len) < 0)
		return -errno;
	return 0;
}

/* ---- accept ----------------------------------------------------------- */

static ssize_t
do_accept(int fd, void *arg, size_t max)
{
	struct weft_addr *peer = arg;
	int c;

	(void)max;
	peer->len = sizeof(peer->ss);
	c = accept4(fd, (struct sockaddr *)&peer->ss, &peer->len,
	            SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c >= 0)
		return c;
	/* No address: a connection an ACCEPT brings later is asked for it. */
	peer->len = 0;
	return -errno;
}


/*
 * One accept on l for the future owner: 1 with *status set (and *out,
 * *peer on success), or 0 pending.  On completion I/O an ACCEPT in
 * flight belongs to the listener (op.c): a connection it takes while no
 * future waits is the next accept's, and is closed with the listener if
 * none comes.  A queued connection is taken by do_accept there too, with
 * its address; an ACCEPT's brings none.
 */
static int
accept_once(struct weft_listener *l, struct weft_context *cx, const void *owner,
            struct weft_addr *peer, struct weft_io **out, int *status)
{
	ssize_t fd;
	int c, r;

	peer->len = 0;
	r = weft__io_op_accept(&l->io, cx, owner, do_accept, peer, &c);
	if (r == 0)
		return 0;
	if (r == 1) {
		fd = c;
		if (c >= 0 && peer->len == 0) {
			peer->len = sizeof(peer->ss);
			if (getpeername(c, (struct sockaddr *)&peer->ss,
			                &peer->len) < 0)
				peer->len = 0;
		}
	} else if (!weft__io_do(&l->io, cx, WEFT_READABLE, do_accept, peer, 0,
	                        &fd)) {
		return 0;
	}
	if (fd < 0) {
		*status = (int)fd;
		return 1;
	}
	*out = weft__io_stream_new((int)fd, BOTH, true);
	if (!*out) {
		close((int)fd);
		*status = -ENOMEM;
		return 1;
	}
	*status = 0;
	return 1;
}


static weft_poll
accept_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_accept *a = (struct weft_accept *)f;

	return accept_once(a->listener, cx, a, &a->peer, &a->stream, &a->status)
	           ? WEFT_READY
	           : WEFT_PENDING;
}


static void
accept_drop(struct weft_future *f)
{
	struct weft__io *io = &((struct weft_accept *)f)->listener->io;

	weft__io_op_forget(io, f);
	weft__io_unref(io);
}

WEFT_FUTURE_VTABLE(accept_vtable, struct weft_accept, status, accept_poll,
                   accept_drop);


WEFT_EXPORT void
weft_accept_init(struct weft_accept *f, struct weft_listener *l)
{
	*f = (struct weft_accept){.base.vtable = &accept_vtable, .listener = l};
	weft__io_ref(&l->io);
}

/* ---- accept with back-off ---------------------------------------------- */

/*
 * The process or the system is short of fds or memory: the listener is
 * fine, and the queued connection will be accepted once something is
 * freed, which takes time, so these wait (Go's net/http Server.Serve).
 */
static bool
accept_starved(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS ||
	       err == -ENOMEM;
}


/*
 * The connection at the head of the queue went away before it was
 * accepted, or a signal interrupted the call: the next one may be fine at
 * once, as Go's poller decides.
 */
static bool
accept_retry_now(int err)
{
	return err == -ECONNABORTED || err == -EINTR;
}


static void
backoff_start(struct weft_accept_backoff *a, int err)
{
	uint64_t d = a->delay ? a->delay * 2 : WEFT_ACCEPT_BACKOFF_MIN;

	a->delay = d < WEFT_ACCEPT_BACKOFF_MAX ? d : WEFT_ACCEPT_BACKOFF_MAX;
	a->backoffs++;
	a->cause = err;
	weft_sleep_init(&a->pause, a->delay);
}


/*
 * The pause: 1 when it is over, 0 pending, or a negative status to
 * complete with.  The listener's close ends it early: a pause of up to a
 * second must not hold up a server's shutdown.
 */
static int
backoff_wait(struct weft_accept_backoff *a, struct weft_context *cx)
{
	int r = weft__io_watch_close(&a->listener->io, cx);

	if (r < 0)
		return r;
	if (weft_future_poll(&a->pause.base, cx) == WEFT_PENDING)
		return 0;
	weft_future_drop(&a->pause.base);
	/* No timer: retrying at once would spin, so report the cause. */
	return a->pause.status < 0 ? a->cause : 1;
}


static weft_poll
backoff_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_accept_backoff *a = (struct weft_accept_backoff *)f;
	int r;

	for (;;) {
		if (!weft_future_is_empty(&a->pause.base)) {
			r = backoff_wait(a, cx);
			if (r == 0)
				return WEFT_PENDING;
			if (r < 0)
				break;
		}
		/*
		 * Each try spends budget, so a run of aborted connections
		 * still yields.  After a starved try the listener stays
		 * readable (the connection is still queued), and only the
		 * pause stands between two tries.
		 */
		if (!accept_once(a->listener, cx, a, &a->peer, &a->stream, &r))
			return WEFT_PENDING;
		if (accept_starved(r))
			backoff_start(a, r);
		else if (!accept_retry_now(r))
			break;
	}
	a->status = r;
	return WEFT_READY;
}


static void
backoff_drop(struct weft_future *f)
{
	struct weft_accept_backoff *a = (struct weft_accept_backoff *)f;

	weft_future_drop(&a->pause.base);
	weft__io_op_forget(&a->listener->io, a);
	weft__io_unref(&a->listener->io);
}

WEFT_FUTURE_VTABLE(backoff_vtable, struct weft_accept_backoff, status,
                   backoff_poll, backoff_drop);


WEFT_EXPORT void
weft_accept_backoff_init(struct weft_accept_backoff *f, struct weft_listener *l)
{
	*f = (struct weft_accept_backoff){.base.vtable = &backoff_vtable,
	                                  .listener = l};
	weft__io_ref(&l->io);
}

/* ---- connect ---------------------------------------------------------- */

/*
 * Completion (op.c): the CONNECT of c->pending, submitted at the first
 * call.  1 done with *status, 0 pending, or WEFT_ENOTSUP: readiness.  Not
 * for a Unix socket, whose connect never waits: a full queue must fail
 * with EAGAIN at once, as on readiness, not wait for room.
 */
static int
connect_op(struct weft_connect *c, struct weft_context *cx, int *status)
{
	if (c->addr.ss.ss_family == AF_UNIX)
		return WEFT_ENOTSUP;
	return weft__io_op_connect(&c->pending->io, cx, c, &c->addr.ss,
	                           c->addr.len, status);
}


/* Starts the connection: 1 done, 0 in progress, or -errno. */
static int
connect_start(struct weft_connect *c, struct weft_context *cx)
{
	int fd = socket(c->addr.ss.ss_family,
	                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r, st = 0;

	if (fd < 0)
		return -errno;
	c->pending = weft__io_stream_new(fd, BOTH, true);
	if (!c->pending) {
		close(fd);
		return -ENOMEM;
	}
	r = connect_op(c, cx, &st);
	if (r == 0)
		return 0;
	if (r == 1)
		return st < 0 ? st : 1;
	do
		r = connect(fd, (const struct sockaddr *)&c->addr.ss,
		            c->addr.len);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 1;
	return errno == EINPROGRESS ? 0 : -errno;
}


static weft_poll
connect_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_connect *c = (struct weft_connect *)f;
	socklen_t len = sizeof(int);
	uint32_t ready;
	int r, err = 0;

	if (!c->pending) {
		if (!weft_budget_spend(cx))
			return WEFT_PENDING;
		r = connect_start(c, cx);
		if (r != 0)
			goto done;
	}
	/* The CONNECT submitted by connect_start, if there was one. */
	if (weft__io_mode(&c->pending->io) == WEFT__IO_MODE_OP) {
		r = connect_op(c, cx, &err);
		if (r == 0)
			return WEFT_PENDING;
		if (r == 1) {
			r = err;
			goto done;
		}
	}
	/* Writable (or an error or hang-up) means the handshake is over. */
	r = weft__io_ready(&c->pending->io, cx, WEFT_WRITABLE, &ready);
	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	if (r > 0) {
		r = getsockopt(c->pending->io.fd, SOL_SOCKET, SO_ERROR, &err,
		               &len) < 0
		        ? -errno
		        : -err;
		/* A reset right after the handshake: SO_ERROR says so. */
		if (r == 0 && weft__io_fault(&c->pending->io, WEFT_FAULT_RESET))
			r = weft__io_reset(&c->pending->io);
	}
done:
	if (r < 0) {
		weft_io_close(c->pending);
		c->pending = NULL;
		c->status = r;
		return WEFT_READY;
	}
	c->stream = c->pending;
	c->pending = NULL;
	c->status = 0;
	return WEFT_READY;
}


static void
connect_drop(struct weft_future *f)
{
	struct weft_connect *c = (struct weft_connect *)f;

	weft_io_close(c->pending);
	c->pending = NULL;
}

WEFT_FUTURE_VTABLE(connect_vtable, struct weft_connect, status, connect_poll,
                   connect_drop);


WEFT_EXPORT void
weft_connect_init(struct weft_connect *f, const struct weft_addr *addr)
{
	*f = (struct weft_connect){.base.vtable = &connect_vtable,
	                           .addr = *addr};
}
