/* SPDX-License-Identifier: MIT */
/*
 * UDP sockets: one datagram per send or receive.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/net.h>

#include "core.h"

struct weft_udp {
	struct weft__io io;
};


WEFT_EXPORT int
weft_udp_bind(struct weft_udp **out, const struct weft_addr *addr)
{
	struct weft_udp *u;
	int fd, err;

	fd = socket(addr->ss.ss_family,
	            SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	u = weft__io_new(sizeof(*u), fd, WEFT_READABLE | WEFT_WRITABLE, true,
	                 true);
	if (!u) {
		close(fd);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}


WEFT_EXPORT void
weft_udp_close(struct weft_udp *u)
{
	if (u)
		weft__io_close(&u->io);
}


WEFT_EXPORT struct weft_udp *
weft_udp_ref(struct weft_udp *u)
{
	if (u)
		weft__io_dup(&u->io);
	return u;
}


WEFT_EXPORT int
weft_udp_connect(struct weft_udp *u, const struct weft_addr *addr)
{
	if (connect(u->io.fd, (const struct sockaddr *)&addr->ss, addr->len) <
	    0)
		return -errno;
	return 0;
}


WEFT_EXPORT int
weft_udp_local_addr(const struct weft_udp *u, struct weft_addr *addr)
{
	addr->len = sizeof(addr->ss);
	if (getsockname(u->io.fd, (struct sockaddr *)&addr->ss, &addr->len) < 0)
		return -errno;
	return 0;
}


WEFT_EXPORT int
weft_udp_fd(const struct weft_udp *u)
{
	return u->io.fd;
}


static ssize_t
do_udp(int fd, void *arg, size_t max)
{
	struct weft_udp_io *f = arg;
	size_t len = f->len > INT_MAX ? INT_MAX : f->len;
	ssize_t n;

	(void)max; /* a datagram moves whole: no short transfers */
	if (f->send) {
		n = sendto(fd, f->buf, len, MSG_NOSIGNAL,
		           f->has_to ? (const struct sockaddr *)&f->addr.ss
		                     : NULL,
		           f->has_to ? f->addr.len : 0);
	} else {
		f->addr.len = sizeof(f->addr.ss);
		n = recvfrom(fd, f->buf, len, 0, (struct sockaddr *)&f->addr.ss,
		             &f->addr.len);
	}
	return n < 0 ? -errno : n;
}


static weft_poll
udp_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_udp_io *u = (struct weft_udp_io *)f;
	ssize_t n;

	if (!weft__io_do(&u->udp->io, cx,
	                 u->send ? WEFT_WRITABLE : WEFT_READABLE, do_udp, u, 0,
	                 &n))
		return WEFT_PENDING;
	u->status = (int)n;
	return WEFT_READY;
}


static void
udp_drop(struct weft_future *f)
{
	weft__io_unref(&((struct weft_udp_io *)f)->udp->io);
}

WEFT_FUTURE_VTABLE(udp_vtable, struct weft_udp_io, status, udp_poll, udp_drop);


WEFT_EXPORT void
weft_udp_send_to_init(struct weft_udp_io *f, struct weft_udp *u,
                      const void *buf, size_t len, const struct weft_addr *to)
{
	*f = (struct weft_udp_io){.base.vtable = &udp_vtable,
	                          .udp = u,
	                          .buf = (void *)buf,
	                          .len = len,
	                          .send = true,
	                          .has_to = to != NULL};
	if (to)
		f->addr = *to;
	weft__io_ref(&u->io);
}


WEFT_EXPORT void
weft_udp_recv_from_init(struct weft_udp_io *f, struct weft_udp *u, void *buf,
                        size_t len)
{
	*f = (struct weft_udp_io){
	    .base.vtable = &udp_vtable, .udp = u, .buf = buf, .len = len};
	weft__io_ref(&u->io);
}
