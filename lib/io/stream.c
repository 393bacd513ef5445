/* SPDX-License-Identifier: MIT */
/*
 * Byte streams: sockets and pipes, and the read and write futures on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weft/net.h>

#include "core.h"

#define BOTH (WEFT_READABLE | WEFT_WRITABLE)

/* ---- objects -------------------------------------------------------- */

WEFT_EXPORT int
weft_io_from_fd(struct weft_io **out, int fd)
{
	uint32_t interest = BOTH;
	struct weft_io *s;
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode)) {
		/*
		 * A pipe end is registered only for the direction it can
		 * go: the reactor would report the other one as an error.
		 */
		if ((fl & O_ACCMODE) == O_RDONLY)
			interest = WEFT_READABLE;
		else if ((fl & O_ACCMODE) == O_WRONLY)
			interest = WEFT_WRITABLE;
	}
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	s = weft__io_stream_new(fd, interest, S_ISSOCK(st.st_mode));
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}


WEFT_EXPORT int
weft_io_pair(struct weft_io **a, struct weft_io **b)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) < 0)
		return -errno;
	*a = weft__io_stream_new(sv[0], BOTH, true);
	*b = *a ? weft__io_stream_new(sv[1], BOTH, true) : NULL;
	if (!*b) {
		if (*a)
			weft_io_close(*a);
		else
			close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	return 0;
}


WEFT_EXPORT int
weft_pipe(struct weft_io **rd, struct weft_io **wr)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	*rd = weft__io_stream_new(p[0], WEFT_READABLE, false);
	*wr = *rd ? weft__io_stream_new(p[1], WEFT_WRITABLE, false) : NULL;
	if (!*wr) {
		if (*rd)
			weft_io_close(*rd);
		else
			close(p[0]);
		close(p[1]);
		return -ENOMEM;
	}
	return 0;
}


WEFT_EXPORT void
weft_io_close(struct weft_io *s)
{
	if (s)
		weft__io_close(&s->io);
}


WEFT_EXPORT struct weft_io *
weft_io_ref(struct weft_io *s)
{
	if (s)
		weft__io_dup(&s->io);
	return s;
}


WEFT_EXPORT int
weft_io_fd(const struct weft_io *s)
{
	return s->io.fd;
}


WEFT_EXPORT int
weft_io_shutdown(struct weft_io *s, int how)
{
	if (!s->io.is_socket)
		return -ENOTSOCK;
	return shutdown(s->io.fd, how) < 0 ? -errno : 0;
}


WEFT_EXPORT int
weft_io_set_nodelay(struct weft_io *s, bool on)
{
	int v = on;

	if (setsockopt(s->io.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) < 0)
		return errno == ENOPROTOOPT || errno == ENOTSOCK ? -EOPNOTSUPP
		                                                 : -errno;
	return 0;
}


WEFT_EXPORT int
weft_io_peer_addr(const struct weft_io *s, struct weft_addr *addr)
{
	addr->len = sizeof(addr->ss);
	if (getpeername(s->io.fd, (struct sockaddr *)&addr->ss, &addr->len) < 0)
		return -errno;
	return 0;
}


WEFT_EXPORT int
weft_io_local_addr(const struct weft_io *s, struct weft_addr *addr)
{
	addr->len = sizeof(addr->ss);
	if (getsockname(s->io.fd, (struct sockaddr *)&addr->ss, &addr->len) < 0)
		return -errno;
	return 0;
}

/* ---- system calls ------------------------------------------------------ */

struct span {
	struct weft__io *io;
	const struct iovec *iov;
	int iovcnt;
};

static ssize_t
do_read(int fd, void *arg, size_t max)
{
	const struct span *sp = arg;
	size_t len = sp->iov->iov_len < max ? sp->iov->iov_len : max;
	ssize_t n;

	if (sp->io->is_socket)
		n = recv(fd, sp->iov->iov_base, len, 0);
	else
		n = read(fd, sp->iov->iov_base, len);
	return n < 0 ? -errno : n;
}


/* The first max bytes of iov into out (WEFT_IOV_MAX entries); the count. */
static int
iov_cap(const struct iovec *iov, int iovcnt, size_t max, struct iovec *out)
{
	int i;

	for (i = 0; i < iovcnt && max > 0; i++) {
		out[i] = iov[i];
		if (out[i].iov_len > max)
			out[i].iov_len = max;
		max -= out[i].iov_len;
	}
	return i;
}


static ssize_t
do_write(int fd, void *arg, size_t max)
{
	const struct span *sp = arg;
	struct iovec capped[WEFT_IOV_MAX];
	struct msghdr msg = {.msg_iov = (struct iovec *)sp->iov,
	                     .msg_iovlen = (size_t)sp->iovcnt};
	ssize_t n;

	if (max != SIZE_MAX) {
		msg.msg_iov = capped;
		msg.msg_iovlen =
		    (size_t)iov_cap(sp->iov, sp->iovcnt, max, capped);
	}
	if (!sp->io->is_socket)
		return weft__writev_nosigpipe(fd, msg.msg_iov,
		                              (int)msg.msg_iovlen);
	/* MSG_NOSIGNAL: a vanished peer is -EPIPE, never a SIGPIPE. */
	n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}


/*
 * One read of at most INT_MAX bytes for the future owner: 1 with *n, or 0
 * pending.  Completion where the object runs on it (op.c), else readiness.
 */
static int
io_read(struct weft_io *s, struct weft_context *cx, const void *owner,
        void *buf, size_t len, ssize_t *n)
{
	struct iovec iov = {buf, len > INT_MAX ? INT_MAX : len};
	struct span sp = {&s->io, &iov, 1};
	int r = weft__io_op_recv(&s->io, cx, owner, buf, iov.iov_len, n);

	if (r != WEFT_ENOTSUP)
		return r;
	return weft__io_do(&s->io, cx, WEFT_READABLE, do_read, &sp, iov.iov_len,
	                   n);
}


static int
io_write(struct weft_io *s, struct weft_context *cx, const void *owner,
         const struct iovec *iov, int iovcnt, ssize_t *n)
{
	struct span sp = {&s->io, iov, iovcnt};
	size_t len = 0;
	int i, r;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	r = weft__io_op_send(&s->io, cx, owner, iov, iovcnt, len, n);
	if (r != WEFT_ENOTSUP)
		return r;
	return weft__io_do(&s->io, cx, WEFT_WRITABLE, do_write, &sp, len, n);
}


/* A future on s is dropped: its operation in flight stays with s. */
static void
io_drop(struct weft_io *s, const void *owner)
{
	weft__io_op_forget(&s->io, owner);
	weft__io_unref(&s->io);
}

/* ---- read, read_exact ------------------------------------------------- */

static weft_poll
read_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_io_read *r = (struct weft_io_read *)f;
	ssize_t n;

	if (r->len == 0) {
		r->status = 0;
		return WEFT_READY;
	}
	if (!io_read(r->io, cx, r, r->buf, r->len, &n))
		return WEFT_PENDING;
	r->status = (int)n;
	return WEFT_READY;
}


static void
read_drop(struct weft_future *f)
{
	io_drop(((struct weft_io_read *)f)->io, f);
}

WEFT_FUTURE_VTABLE(read_vtable, struct weft_io_read, status, read_poll,
                   read_drop);


WEFT_EXPORT void
weft_io_read_init(struct weft_io_read *f, struct weft_io *s, void *buf,
                  size_t len)
{
	*f = (struct weft_io_read){
	    .base.vtable = &read_vtable, .io = s, .buf = buf, .len = len};
	weft__io_ref(&s->io);
}


static weft_poll
read_exact_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_io_read_exact *r = (struct weft_io_read_exact *)f;
	ssize_t n;

	while (r->done < r->len) {
		if (!io_read(r->io, cx, r, r->buf + r->done, r->len - r->done,
		             &n))
			return WEFT_PENDING;
		if (n <= 0) {
			r->status = n < 0 ? (int)n : -ENODATA;
			return WEFT_READY;
		}
		r->done += (size_t)n;
	}
	r->status = 0;
	return WEFT_READY;
}


static void
read_exact_drop(struct weft_future *f)
{
	io_drop(((struct weft_io_read_exact *)f)->io, f);
}

WEFT_FUTURE_VTABLE(read_exact_vtable, struct weft_io_read_exact, status,
                   read_exact_poll, read_exact_drop);


WEFT_EXPORT void
weft_io_read_exact_init(struct weft_io_read_exact *f, struct weft_io *s,
                        void *buf, size_t len)
{
	*f = (struct weft_io_read_exact){
	    .base.vtable = &read_exact_vtable, .io = s, .buf = buf, .len = len};
	weft__io_ref(&s->io);
}

/* ---- write, write_all, writev ----------------------------------------- */

static weft_poll
write_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_io_write *w = (struct weft_io_write *)f;
	struct iovec iov = {(void *)w->buf,
	                    w->len > INT_MAX ? INT_MAX : w->len};
	ssize_t n;

	if (w->len == 0) {
		w->status = 0;
		return WEFT_READY;
	}
	if (!io_write(w->io, cx, w, &iov, 1, &n))
		return WEFT_PENDING;
	w->status = (int)n;
	return WEFT_READY;
}


static void
write_drop(struct weft_future *f)
{
	io_drop(((struct weft_io_write *)f)->io, f);
}

WEFT_FUTURE_VTABLE(write_vtable, struct weft_io_write, status, write_poll,
                   write_drop);


WEFT_EXPORT void
weft_io_write_init(struct weft_io_write *f, struct weft_io *s, const void *buf,
                   size_t len)
{
	*f = (struct weft_io_write){
	    .base.vtable = &write_vtable, .io = s, .buf = buf, .len = len};
	weft__io_ref(&s->io);
}


static weft_poll
write_all_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_io_write_all *w = (struct weft_io_write_all *)f;
	struct iovec iov;
	ssize_t n;

	while (w->done < w->len) {
		iov.iov_base = (void *)(w->buf + w->done);
		iov.iov_len = w->len - w->done;
		if (!io_write(w->io, cx, w, &iov, 1, &n))
			return WEFT_PENDING;
		if (n < 0) {
			w->status = (int)n;
			return WEFT_READY;
		}
		w->done += (size_t)n;
	}
	w->status = 0;
	return WEFT_READY;
}


static void
write_all_drop(struct weft_future *f)
{
	io_drop(((struct weft_io_write_all *)f)->io, f);
}

WEFT_FUTURE_VTABLE(write_all_vtable, struct weft_io_write_all, status,
                   write_all_poll, write_all_drop);


WEFT_EXPORT void
weft_io_write_all_init(struct weft_io_write_all *f, struct weft_io *s,
                       const void *buf, size_t len)
{
	*f = (struct weft_io_write_all){
	    .base.vtable = &write_all_vtable, .io = s, .buf = buf, .len = len};
	weft__io_ref(&s->io);
}


/* Consumes n written bytes from the front of the remaining entries. */
static void
writev_advance(struct weft_io_writev *w, size_t n)
{
	w->done += n;
	while (w->first < w->iovcnt && n >= w->iov[w->first].iov_len) {
		n -= w->iov[w->first].iov_len;
		w->first++;
	}
	if (w->first < w->iovcnt) {
		w->iov[w->first].iov_base =
		    (char *)w->iov[w->first].iov_base + n;
		w->iov[w->first].iov_len -= n;
	}
}


static weft_poll
writev_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_io_writev *w = (struct weft_io_writev *)f;
	ssize_t n;

	if (w->status < 0)
		return WEFT_READY; /* init refused the array */
	/* Empty entries would make a zero-byte write look like progress. */
	while (w->first < w->iovcnt && w->iov[w->first].iov_len == 0)
		w->first++;
	while (w->first < w->iovcnt) {
		if (!io_write(w->io, cx, w, &w->iov[w->first],
		              w->iovcnt - w->first, &n))
			return WEFT_PENDING;
		if (n < 0) {
			w->status = (int)n;
			return WEFT_READY;
		}
		writev_advance(w, (size_t)n);
	}
	w->status = 0;
	return WEFT_READY;
}


static void
writev_drop(struct weft_future *f)
{
	io_drop(((struct weft_io_writev *)f)->io, f);
}

WEFT_FUTURE_VTABLE(writev_vtable, struct weft_io_writev, status, writev_poll,
                   writev_drop);


WEFT_EXPORT void
weft_io_writev_init(struct weft_io_writev *f, struct weft_io *s,
                    const struct iovec *iov, int iovcnt)
{
	*f = (struct weft_io_writev){.base.vtable = &writev_vtable, .io = s};
	weft__io_ref(&s->io);
	if (iovcnt < 0 || iovcnt > WEFT_IOV_MAX) {
		f->status = -EINVAL;
		return;
	}
	memcpy(f->iov, iov, (size_t)iovcnt * sizeof(*iov));
	f->iovcnt = iovcnt;
}
