/* SPDX-License-Identifier: MIT */
/*
 * The one-call awaits of <weft/await.h> for I/O: accept, byte streams,
 * readiness, files, signals, UDP, name resolution (<weft/io.h>,
 * <weft/net.h>) and the buffered reader and copy of <weft/io_util.h>.
 * Each makes the library's future in the fiber's stack frame, awaits it
 * with weft_await (which consumes it in every case, also outside a fiber)
 * and copies its outputs out.  An output the caller takes ownership of
 * (a stream, a buffer) is handed over only when the future completed.
 */
#include <errno.h>
#include <string.h>

#include <weft/await.h>

#include "await_priv.h"

/* ------------------------------------------------------------------ */
/* Accept                                                              */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_accept_await(struct weft_listener *l, struct weft_io **stream,
                  struct weft_addr *peer)
{
	struct weft_accept f;
	int r;

	if (!stream)
		return -EINVAL;
	*stream = NULL;
	if (!l)
		return -EINVAL;
	weft_accept_init(&f, l);
	r = weft__await_status(&f.base, &f.status);
	if (r == 0) {
		*stream = f.stream;
		if (peer)
			*peer = f.peer;
	}
	return r;
}

WEFT_EXPORT int
weft_accept_backoff_await(struct weft_listener *l, struct weft_io **stream,
                          struct weft_addr *peer)
{
	struct weft_accept_backoff f;
	int r;

	if (!stream)
		return -EINVAL;
	*stream = NULL;
	if (!l)
		return -EINVAL;
	weft_accept_backoff_init(&f, l);
	r = weft__await_status(&f.base, &f.status);
	if (r == 0) {
		*stream = f.stream;
		if (peer)
			*peer = f.peer;
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* Byte streams                                                        */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_io_read_await(struct weft_io *s, void *buf, size_t len)
{
	struct weft_io_read f;

	if (!s || (!buf && len))
		return -EINVAL;
	weft_io_read_init(&f, s, buf, len);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_io_read_exact_await(struct weft_io *s, void *buf, size_t len)
{
	struct weft_io_read_exact f;

	if (!s || (!buf && len))
		return -EINVAL;
	weft_io_read_exact_init(&f, s, buf, len);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_io_write_await(struct weft_io *s, const void *buf, size_t len)
{
	struct weft_io_write f;

	if (!s || (!buf && len))
		return -EINVAL;
	weft_io_write_init(&f, s, buf, len);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_io_write_all_await(struct weft_io *s, const void *buf, size_t len)
{
	struct weft_io_write_all f;

	if (!s || (!buf && len))
		return -EINVAL;
	weft_io_write_all_init(&f, s, buf, len);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_io_writev_await(struct weft_io *s, const struct iovec *iov, int iovcnt)
{
	struct weft_io_writev f;

	if (!s || (!iov && iovcnt))
		return -EINVAL;
	weft_io_writev_init(&f, s, iov, iovcnt);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_async_fd_ready_await(struct weft_async_fd *a, uint32_t interest)
{
	struct weft_async_fd_ready f;

	if (!a)
		return -EINVAL;
	weft_async_fd_ready_init(&f, a, interest);
	return weft__await_status(&f.base, &f.status);
}

/* ------------------------------------------------------------------ */
/* Regular files                                                       */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_file_open_await(const char *path, int flags, mode_t mode)
{
	struct weft_file_open f;

	if (!path)
		return -EINVAL;
	weft_file_open_init(&f, path, flags, mode);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_file_read_await(int fd, void *buf, size_t len, off_t offset)
{
	struct weft_file_rw f;

	if (fd < 0 || (!buf && len))
		return -EINVAL;
	weft_file_read_init(&f, fd, buf, len, offset);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_file_write_await(int fd, const void *buf, size_t len, off_t offset)
{
	struct weft_file_rw f;

	if (fd < 0 || (!buf && len))
		return -EINVAL;
	weft_file_write_init(&f, fd, buf, len, offset);
	return weft__await_status(&f.base, &f.status);
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_signal_recv_await(struct weft_signal_listener *l)
{
	struct weft_signal_recv f;

	if (!l)
		return -EINVAL;
	weft_signal_recv_init(&f, l);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_signal_await(uint64_t mask)
{
	struct weft_signal f;

	/* Checked first: a weft_signal keeps its signals caught. */
	if (!weft_in_fiber())
		return -EPERM;
	weft_signal_init(&f, mask);
	return weft__await_status(&f.base, &f.status);
}

/* ------------------------------------------------------------------ */
/* UDP and name resolution                                             */
/* ------------------------------------------------------------------ */

WEFT_EXPORT int
weft_udp_send_to_await(struct weft_udp *u, const void *buf, size_t len,
                       const struct weft_addr *to)
{
	struct weft_udp_io f;

	if (!u || (!buf && len))
		return -EINVAL;
	weft_udp_send_to_init(&f, u, buf, len, to);
	return weft__await_status(&f.base, &f.status);
}

WEFT_EXPORT int
weft_udp_recv_from_await(struct weft_udp *u, void *buf, size_t len,
                         struct weft_addr *from)
{
	struct weft_udp_io f;
	int r;

	if (!u || (!buf && len))
		return -EINVAL;
	weft_udp_recv_from_init(&f, u, buf, len);
	r = weft__await_status(&f.base, &f.status);
	if (r >= 0 && from)
		*from = f.addr;
	return r;
}

WEFT_EXPORT int
weft_resolve_await(const char *host, uint16_t port, int family,
                   struct weft_addr *addrs, size_t max)
{
	struct weft_resolve f;
	int r;

	if (!host || !addrs || !max)
		return -EINVAL;
	weft_resolve_init(&f, host, port, family);
	r = weft__await_status(&f.base, &f.status);
	if (r <= 0)
		return r;
	if ((size_t)r > max)
		r = (int)max;
	memcpy(addrs, f.addrs, (size_t)r * sizeof(*addrs));
	return r;
}

/* ------------------------------------------------------------------ */
/* Buffered reader and copy_bidirectional                              */
/* ------------------------------------------------------------------ */

/* Hands f's buffer to *data once f completed; its drop freed it if not. */
static int
read_until_finish(struct weft_read_until *f, char **data)
{
	int r = weft_await(&f->base);

	if (r < 0)
		return r;
	*data = f->data;
	return f->status;
}

WEFT_EXPORT int
weft_read_until_await(struct weft_bufreader *r, int delim, size_t max,
                      char **data)
{
	struct weft_read_until f;

	if (!data)
		return -EINVAL;
	*data = NULL;
	if (!r)
		return -EINVAL;
	weft_read_until_init(&f, r, delim, max);
	return read_until_finish(&f, data);
}

WEFT_EXPORT int
weft_read_line_await(struct weft_bufreader *r, size_t max, char **data)
{
	struct weft_read_until f;

	if (!data)
		return -EINVAL;
	*data = NULL;
	if (!r)
		return -EINVAL;
	weft_read_line_init(&f, r, max);
	return read_until_finish(&f, data);
}

WEFT_EXPORT int
weft_copy_bidirectional_await(struct weft_io *a, struct weft_io *b,
                              uint64_t *a_to_b, uint64_t *b_to_a)
{
	struct weft_copy_bidirectional f;
	int r;

	if (a_to_b)
		*a_to_b = 0;
	if (b_to_a)
		*b_to_a = 0;
	if (!a || !b)
		return -EINVAL;
	weft_copy_bidirectional_init(&f, a, b);
	r = weft__await_status(&f.base, &f.status);
	/* Counted also on error and when dropped part-way. */
	if (a_to_b)
		*a_to_b = f.a_to_b;
	if (b_to_a)
		*b_to_a = f.b_to_a;
	return r;
}
