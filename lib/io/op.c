/* SPDX-License-Identifier: MIT */
/*
 * Completion I/O for io objects (D10, D11): reads, writes, accepts and
 * connects through the driver's op_submit and op_poll where its reactor
 * runs operations.  The rules are in core.h; the readiness path (core.c)
 * serves every object this file declines with WEFT_ENOTSUP.
 *
 * Everything here runs under the object's lock: the operation in flight
 * of each direction, its owner and the bytes a RECV brought are shared by
 * every future on the object.  The driver's methods take its own lock
 * inside ours, never the other way round, and wake nothing inline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core.h"

#define RD 0
#define WR 1

/* A RECV asks for at least this much; a SEND or RECV at most this. */
#define RECV_MIN 4096u
#define OP_MAX   (256u * 1024u)


/* Under the lock; read without it by weft__io_mode. */
static void
set_mode(struct weft__io *io, uint8_t mode)
{
	__atomic_store_n(&io->mode, mode, __ATOMIC_RELAXED);
}


/*
 * Under the lock: whether this object runs on completion, deciding at the
 * first call.  Sockets only (a pipe's or a tty's readiness path is kept),
 * never under injected faults (D9 lives on the readiness path), and only
 * where the driver has op_submit (a WEFT_ENOTSUP from it settles the rest).
 */
static int
use_ops(struct weft__io *io, struct weft_context *cx)
{
	struct weft_driver *d = cx->driver;

	if (io->mode == WEFT__IO_MODE_UNKNOWN) {
		set_mode(io, WEFT__IO_MODE_READY);
		if (io->is_socket && d && d->ops->version >= 3 &&
		    d->ops->op_submit && !d->ops->fault &&
		    !atomic_load(&io->registered)) {
			io->driver = d;
			set_mode(io, WEFT__IO_MODE_OP);
		}
	}
	if (io->mode != WEFT__IO_MODE_OP)
		return 0;
	/* The object belongs to the runtime that first polled it. */
	return io->driver == d ? 1 : -EXDEV;
}


bool
weft__io_op_usable(struct weft__io *io, struct weft_context *cx)
{
	bool on;

	pthread_mutex_lock(&io->lock);
	on = use_ops(io, cx) != 0;
	pthread_mutex_unlock(&io->lock);
	return on;
}


/*
 * The start of a recv, send or accept: the readiness path's WEFT_ENOTSUP
 * (unlocked), or the lock taken and 1 with *end the call's result (an
 * error, a closed object), 0 for a spent budget, or OP_GO.
 */
#define OP_GO 2
static int
op_enter(struct weft__io *io, struct weft_context *cx, ssize_t *end)
{
	int r;

	if (weft__io_mode(io) == WEFT__IO_MODE_READY)
		return WEFT_ENOTSUP;
	pthread_mutex_lock(&io->lock);
	r = use_ops(io, cx);
	if (r == 0) {
		pthread_mutex_unlock(&io->lock);
		return WEFT_ENOTSUP;
	}
	if (r < 0 || atomic_load(&io->closed)) {
		*end = r < 0 ? r : WEFT_ECLOSED;
		return 1;
	}
	return weft_budget_spend(cx) ? OP_GO : 0;
}


/* Under the lock: starts an operation in direction dir. */
static int
submit(struct weft__io *io, int dir, uint32_t opcode, const void *data,
       uint32_t len, uint32_t flags)
{
	struct weft_io_op op = {.version = WEFT_IO_OP_VERSION,
	                        .opcode = opcode,
	                        .fd = io->fd,
	                        .flags = flags,
	                        .data = data,
	                        .len = len,
	                        .offset = -1};
	int r = weft_driver_op_submit(io->driver, &op, &io->ops[dir].id);

	if (r == WEFT_ENOTSUP) {
		/* The setting or the reactor says no: readiness for good. */
		set_mode(io, WEFT__IO_MODE_READY);
		io->ops[dir].id = 0;
	}
	return r;
}


/* Under the lock: ends the operation of dir and forgets it. */
static void
finish(struct weft__io *io, int dir)
{
	weft_driver_op_del(io->driver, io->ops[dir].id);
	io->ops[dir] = (struct weft__io_op){0};
}


/*
 * Under the lock: polls the operation of dir for owner.  WEFT_READY with
 * *res, or WEFT_PENDING with the waker stored in the driver and in the
 * object's slot for close, or a negative error.
 */
static int
poll_op(struct weft__io *io, int dir, struct weft_context *cx,
        const void *owner, int32_t *res, const void **data)
{
	int r = weft_driver_op_poll(io->driver, io->ops[dir].id, cx, res, data);

	if (r == WEFT_PENDING) {
		io->ops[dir].owner = owner;
		weft_waker_store(&io->waiters[dir], &cx->waker);
	}
	return r;
}


/* Under the lock: takes up to len bytes of what a RECV brought. */
static ssize_t
take(struct weft__io *io, void *buf, size_t len)
{
	struct weft__io_op *o = &io->ops[RD];
	size_t k = o->len - o->off;

	if (k > len)
		k = len;
	memcpy(buf, o->data + o->off, k);
	o->off += (uint32_t)k;
	if (o->off == o->len)
		finish(io, RD);
	return (ssize_t)k;
}


static int
recv_locked(struct weft__io *io, struct weft_context *cx, const void *owner,
            void *buf, size_t len, ssize_t *n)
{
	struct weft__io_op *o = &io->ops[RD];
	const void *data = NULL;
	int32_t res;
	uint32_t want;
	int r;

	if (o->received) {
		*n = take(io, buf, len);
		return 1;
	}
	/* Another future waits on it: this one reads by readiness. */
	if (o->id && o->owner && o->owner != owner)
		return WEFT_ENOTSUP;
	if (!o->id) {
		want = len < RECV_MIN ? RECV_MIN
		       : len > OP_MAX ? OP_MAX
		                      : (uint32_t)len;
		r = submit(io, RD, WEFT_OP_RECV, NULL, want, 0);
		if (r < 0) {
			*n = r;
			return r == WEFT_ENOTSUP ? r : 1;
		}
	}
	r = poll_op(io, RD, cx, owner, &res, &data);
	if (r == WEFT_PENDING)
		return 0;
	if (r < 0 || res <= 0) {
		finish(io, RD);
		*n = r < 0 ? r : res;
		return 1;
	}
	o->owner = NULL;
	o->received = true;
	o->data = data;
	o->len = (uint32_t)res;
	o->off = 0;
	*n = take(io, buf, len);
	return 1;
}


int
weft__io_op_recv(struct weft__io *io, struct weft_context *cx,
                 const void *owner, void *buf, size_t len, ssize_t *n)
{
	ssize_t end;
	int r = op_enter(io, cx, &end);

	if (r == WEFT_ENOTSUP)
		return r;
	if (r == OP_GO)
		r = recv_locked(io, cx, owner, buf, len, n);
	else if (r == 1)
		*n = end;
	pthread_mutex_unlock(&io->lock);
	return r;
}


/*
 * Under the lock: starts a SEND of up to OP_MAX bytes of iov (the driver
 * copies them; several entries are gathered here first).
 */
static int
send_start(struct weft__io *io, const struct iovec *iov, int iovcnt, size_t len)
{
	uint32_t want = len > OP_MAX ? OP_MAX : (uint32_t)len;
	unsigned char *tmp;
	size_t off = 0, k;
	int i, r;

	if (iovcnt == 1 || iov[0].iov_len >= want)
		return submit(
		    io, WR, WEFT_OP_SEND, iov[0].iov_base,
		    iov[0].iov_len < want ? (uint32_t)iov[0].iov_len : want, 0);
	tmp = weft_alloc(want);
	if (!tmp)
		return -ENOMEM;
	for (i = 0; i < iovcnt && off < want; i++) {
		k = iov[i].iov_len < want - off ? iov[i].iov_len : want - off;
		memcpy(tmp + off, iov[i].iov_base, k);
		off += k;
	}
	r = submit(io, WR, WEFT_OP_SEND, tmp, want, 0);
	weft_free(tmp);
	return r;
}


static int
send_locked(struct weft__io *io, struct weft_context *cx, const void *owner,
            const struct iovec *iov, int iovcnt, size_t len, ssize_t *n)
{
	struct weft__io_op *o = &io->ops[WR];
	int32_t res;
	int r;

	if (o->id && o->owner && o->owner != owner)
		return WEFT_ENOTSUP;
	if (o->id && !o->owner) {
		/*
		 * A dropped write's SEND: its bytes go first, in order, and
		 * its count was nobody's.
		 */
		r = poll_op(io, WR, cx, NULL, &res, NULL);
		if (r == WEFT_PENDING) {
			o->owner = NULL;
			return 0;
		}
		finish(io, WR);
	}
	if (!o->id) {
		r = send_start(io, iov, iovcnt, len);
		if (r < 0) {
			*n = r;
			return r == WEFT_ENOTSUP ? r : 1;
		}
		o->owner = owner;
	}
	r = poll_op(io, WR, cx, owner, &res, NULL);
	if (r == WEFT_PENDING)
		return 0;
	finish(io, WR);
	*n = r < 0 ? r : res;
	return 1;
}


int
weft__io_op_send(struct weft__io *io, struct weft_context *cx,
                 const void *owner, const struct iovec *iov, int iovcnt,
                 size_t len, ssize_t *n)
{
	ssize_t end;
	int r = op_enter(io, cx, &end);

	if (r == WEFT_ENOTSUP)
		return r;
	if (r == OP_GO)
		r = send_locked(io, cx, owner, iov, iovcnt, len, n);
	else if (r == 1)
		*n = end;
	pthread_mutex_unlock(&io->lock);
	return r;
}


/*
 * One ACCEPT per accept, not a multishot one: the kernel reads the fd
 * limit when an operation is submitted, so a multishot accept armed before
 * the program lowered its limit would go on accepting past it, and would
 * take connections off the backlog that no accept asked for.  A dropped
 * accept's ACCEPT stays with the listener: the next accept collects its
 * connection, and the driver closes it if the listener closes first.
 *
 * With none in flight, the backlog is tried first with `direct` (accept4
 * in the caller), and an ACCEPT goes in only when that says EAGAIN: one
 * operation per connection cost a park per connection, so a backlog of
 * 1,000 took 1,000 rounds of submit, wait and wake where one poll can take
 * a budget's worth.  Never while an ACCEPT is in flight: the connection it
 * took would be handed out after ones queued behind it.  The direct call
 * runs under the lock, so no other accept submits one meanwhile.  A
 * shortage of fds (EMFILE) is the same answer either way, and then
 * nothing is submitted: the pause of weft_accept_backoff comes first.
 */
static int
accept_locked(struct weft__io *io, struct weft_context *cx, const void *owner,
              weft__io_fn direct, void *arg, int *fd)
{
	struct weft__io_op *o = &io->ops[RD];
	int32_t res;
	ssize_t n;
	int r;

	if (o->id && o->owner && o->owner != owner)
		return WEFT_ENOTSUP;
	if (!o->id) {
		n = direct(io->fd, arg, 0);
		if (n != -EAGAIN && n != -EWOULDBLOCK) {
			*fd = (int)n;
			return 1;
		}
		r = submit(io, RD, WEFT_OP_ACCEPT, NULL, 0, 0);
		if (r < 0) {
			*fd = r;
			return r == WEFT_ENOTSUP ? r : 1;
		}
	}
	r = poll_op(io, RD, cx, owner, &res, NULL);
	if (r == WEFT_PENDING)
		return 0;
	finish(io, RD);
	*fd = r < 0 ? r : res;
	return 1;
}


int
weft__io_op_accept(struct weft__io *io, struct weft_context *cx,
                   const void *owner, weft__io_fn direct, void *arg, int *fd)
{
	ssize_t end;
	int r = op_enter(io, cx, &end);

	if (r == WEFT_ENOTSUP)
		return r;
	if (r == OP_GO)
		r = accept_locked(io, cx, owner, direct, arg, fd);
	else if (r == 1)
		*fd = end;
	pthread_mutex_unlock(&io->lock);
	return r;
}


int
weft__io_op_connect(struct weft__io *io, struct weft_context *cx,
                    const void *owner, const void *addr, uint32_t addrlen,
                    int *status)
{
	struct weft__io_op *o = &io->ops[WR];
	int32_t res;
	int r;

	pthread_mutex_lock(&io->lock);
	if (use_ops(io, cx) <= 0) {
		pthread_mutex_unlock(&io->lock);
		return WEFT_ENOTSUP;
	}
	r = o->id ? 0 : submit(io, WR, WEFT_OP_CONNECT, addr, addrlen, 0);
	if (r == 0) {
		r = poll_op(io, WR, cx, owner, &res, NULL);
		if (r == WEFT_READY || r < 0) {
			finish(io, WR);
			*status = r < 0 ? r : res;
			r = 1;
		}
	} else if (r != WEFT_ENOTSUP) {
		*status = r;
		r = 1;
	}
	pthread_mutex_unlock(&io->lock);
	return r;
}


void
weft__io_op_forget(struct weft__io *io, const void *owner)
{
	if (weft__io_mode(io) != WEFT__IO_MODE_OP)
		return;
	pthread_mutex_lock(&io->lock);
	if (io->ops[RD].owner == owner)
		io->ops[RD].owner = NULL;
	if (io->ops[WR].owner == owner)
		io->ops[WR].owner = NULL;
	pthread_mutex_unlock(&io->lock);
}


/*
 * At the last release with an operation in flight: the fd is closed by a
 * CLOSE queued behind the cancels, not by the caller at once.  The reactor
 * may start what a park handed it only in its wait, on another thread: an
 * fd closed now could name a new socket by then, whose bytes the old RECV
 * would take (or which the old SEND would write to).  Queued, the CLOSE
 * lets the number go only after the system has the old operations.  The
 * driver runs a deleted CLOSE to its end.  Without one, the caller closes.
 */
static void
close_after_ops(struct weft__io *io)
{
	struct weft_io_op op = {.version = WEFT_IO_OP_VERSION,
	                        .opcode = WEFT_OP_CLOSE,
	                        .fd = io->fd,
	                        .offset = -1};
	uint64_t id;

	if (weft_driver_op_submit(io->driver, &op, &id) < 0)
		return;
	weft_driver_op_del(io->driver, id);
	io->fd = -1;
}


void
weft__io_op_fini(struct weft__io *io)
{
	bool flight = io->ops[RD].id || io->ops[WR].id;

	/* The last reference: nobody else holds the object any more. */
	if (io->ops[RD].id)
		finish(io, RD);
	if (io->ops[WR].id)
		finish(io, WR);
	if (flight && io->owns_fd && io->fd >= 0)
		close_after_ops(io);
}
