/* SPDX-License-Identifier: MIT */
/*
 * A completion reactor for the driver's tests (see completion_reactor.h):
 * it runs each submitted operation in userspace, making its system call
 * when poll(2) says the fd is ready, and reports the result as a
 * completion.  Readiness registrations are level-triggered, also through
 * poll.  One thread at a time, as R rules require of the host.
 *
 * Built with -DCOMPLETION_PLUGIN it is also a reactor plugin ("ucompl"),
 * on which the I/O suite runs the library's completion path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "completion_reactor.h"

#define MAX_OPS  32768
#define MAX_REGS 16384

struct cop {
	bool used, cancelled, connecting;
	bool due;    /* just submitted or cancelled, or its fd polled ready */
	bool dupped; /* op.fd is a dup of the caller's, closed at the end */
	int dup_err; /* why the dup failed: the operation's result then */
	struct weft_reactor_op op;
};

struct reg {
	int fd;
	uint32_t interest;
	uint64_t token;
};

struct creactor {
	struct weft_reactor head;
	int efd;
	struct cop ops[MAX_OPS];
	struct reg regs[MAX_REGS];
	uint32_t nregs;
	uint32_t hi; /* ops[hi...] were never used */
	struct completion_stats *stats;
};


static int
c_init(struct weft_reactor *self, const struct weft_reactor_params *p)
{
	struct creactor *r = (struct creactor *)self;

	(void)p;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return r->efd < 0 ? -errno : 0;
}


static void
c_fini(struct weft_reactor *self)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i;

	/* Nothing runs after fini: every buffer is let go (R16). */
	for (i = 0; i < r->hi; i++)
		if (r->ops[i].used && r->ops[i].dupped)
			close(r->ops[i].op.fd);
	close(r->efd);
}


static int
c_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct creactor *r = (struct creactor *)self;
	struct stat st;

	/* As epoll: a regular file has no readiness. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return -EPERM;
	if (r->nregs == MAX_REGS)
		return -ENOMEM;
	r->regs[r->nregs++] = (struct reg){fd, interest, token};
	return 0;
}


static int
c_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i;

	for (i = 0; i < r->nregs; i++)
		if (r->regs[i].fd == fd) {
			r->regs[i].interest = interest;
			r->regs[i].token = token;
			return 0;
		}
	return -ENOENT;
}


static int
c_del(struct weft_reactor *self, int fd)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i;

	for (i = 0; i < r->nregs; i++)
		if (r->regs[i].fd == fd) {
			r->regs[i] = r->regs[--r->nregs];
			return 0;
		}
	return -ENOENT;
}


static int
c_submit(struct weft_reactor *self, const struct weft_reactor_op *op)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i;

	if (op->version < 1 || op->opcode < WEFT_OP_RECV ||
	    op->opcode > WEFT_OP_CLOSE || (op->flags & ~WEFT_OP_MULTISHOT))
		return -EINVAL;
	for (i = 0; i < MAX_OPS; i++)
		if (!r->ops[i].used) {
			r->ops[i] =
			    (struct cop){.used = true, .due = true, .op = *op};
			/*
			 * As the kernel holds the file, not its number: the
			 * caller may close its fd while this is in flight.
			 * A dup that fails leaves -1, and the call EBADF.
			 */
			if (op->opcode != WEFT_OP_CLOSE) {
				r->ops[i].op.fd =
				    fcntl(op->fd, F_DUPFD_CLOEXEC, 0);
				r->ops[i].dupped = r->ops[i].op.fd >= 0;
				r->ops[i].dup_err =
				    r->ops[i].dupped ? 0 : errno;
			}
			if (i >= r->hi)
				r->hi = i + 1;
			if (r->stats)
				r->stats->submitted++;
			return 0;
		}
	return -EBUSY;
}


static int
c_cancel(struct weft_reactor *self, uint64_t token)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i;

	for (i = 0; i < r->hi; i++)
		if (r->ops[i].used && r->ops[i].op.token == token) {
			r->ops[i].cancelled = true;
			r->ops[i].due = true;
			if (r->stats)
				r->stats->cancels++;
			return 0;
		}
	return -ENOENT;
}


/* The operation's system call, non-blocking: a result or -EAGAIN. */
static int32_t
run(struct cop *c)
{
	const struct weft_reactor_op *op = &c->op;
	socklen_t len = sizeof(int);
	ssize_t n = -1;
	int err = 0;

	/* Out of fds for the dup: as the kernel out of files would say. */
	if (c->dup_err)
		return -c->dup_err;
	switch (op->opcode) {
	case WEFT_OP_RECV:
		n = recv(op->fd, op->buf, op->len, MSG_DONTWAIT);
		break;
	case WEFT_OP_SEND:
		n = send(op->fd, op->buf, op->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case WEFT_OP_ACCEPT:
		n = accept4(op->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case WEFT_OP_CONNECT:
		if (c->connecting) {
			if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err,
			               &len) < 0)
				return -errno;
			return -err;
		}
		n = connect(op->fd, op->buf, op->len);
		if (n < 0 && errno == EINPROGRESS) {
			c->connecting = true;
			return -EAGAIN;
		}
		break;
	case WEFT_OP_READ:
		n = op->offset < 0
		        ? read(op->fd, op->buf, op->len)
		        : pread(op->fd, op->buf, op->len, op->offset);
		break;
	case WEFT_OP_WRITE:
		n = op->offset < 0
		        ? write(op->fd, op->buf, op->len)
		        : pwrite(op->fd, op->buf, op->len, op->offset);
		break;
	case WEFT_OP_CLOSE:
		n = close(op->fd);
		break;
	}
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int32_t)n;
}


static short
op_events(const struct weft_reactor_op *op)
{
	return op->opcode == WEFT_OP_SEND || op->opcode == WEFT_OP_CONNECT ||
	               op->opcode == WEFT_OP_WRITE
	           ? POLLOUT
	           : POLLIN;
}


/* Completes what can complete now, into ev[*got...cap). */
static void
reap(struct creactor *r, struct weft_reactor_event *ev, uint32_t cap,
     uint32_t *got)
{
	uint32_t i;
	int32_t res;

	for (i = 0; i < r->hi && *got < cap; i++) {
		struct cop *c = &r->ops[i];
		bool multi = c->op.flags & WEFT_OP_MULTISHOT;

		if (!c->used || !c->due)
			continue;
		c->due = false;
		res = c->cancelled ? -ECANCELED : run(c);
		while (res != -EAGAIN && multi && res >= 0 && *got < cap) {
			ev[(*got)++] = (struct weft_reactor_event){
			    c->op.token, WEFT_COMPLETE | WEFT_MORE,
			    (uint32_t)res};
			res = *got < cap ? run(c) : -EAGAIN;
		}
		if (res == -EAGAIN || *got == cap)
			continue;
		ev[(*got)++] = (struct weft_reactor_event){
		    c->op.token, WEFT_COMPLETE, (uint32_t)res};
		c->used = false;
		if (c->dupped)
			close(c->op.fd);
		if (r->stats)
			r->stats->completed++;
	}
}


static int
c_wait(struct weft_reactor *self, struct weft_reactor_event *ev, uint32_t cap,
       int64_t timeout_ns)
{
	struct creactor *r = (struct creactor *)self;
	static _Thread_local struct pollfd pf[1 + MAX_OPS + MAX_REGS];
	static _Thread_local uint32_t at[1 + MAX_OPS]; /* pf index -> op */
	uint32_t i, n = 1, got = 0, regs_at;
	uint64_t v;
	int ms;

	if (r->stats)
		r->stats->waits++;
	reap(r, ev, cap, &got);
	pf[0] = (struct pollfd){r->efd, POLLIN, 0};
	for (i = 0; i < r->hi; i++)
		if (r->ops[i].used) {
			at[n] = i;
			pf[n++] = (struct pollfd){r->ops[i].op.fd,
			                          op_events(&r->ops[i].op), 0};
		}
	regs_at = n;
	for (i = 0; i < r->nregs; i++)
		pf[n++] = (struct pollfd){
		    r->regs[i].fd,
		    (short)((r->regs[i].interest & WEFT_READABLE ? POLLIN : 0) |
		            (r->regs[i].interest & WEFT_WRITABLE ? POLLOUT
		                                                 : 0)),
		    0};
	ms = got > 0 || timeout_ns == 0 ? 0
	     : timeout_ns < 0           ? -1
	                      : (int)((timeout_ns + 999999) / 1000000);
	if (poll(pf, n, ms) < 0)
		return errno == EINTR ? (int)got : -errno;
	if (pf[0].revents)
		(void)read(r->efd, &v, sizeof(v));
	/* Only what poll found ready is tried again (and what is new). */
	for (i = 1; i < regs_at; i++)
		if (pf[i].revents)
			r->ops[at[i]].due = true;
	reap(r, ev, cap, &got);
	for (i = regs_at; i < n && got < cap; i++) {
		uint32_t bits = 0;
		struct reg *g = &r->regs[i - regs_at];

		if (pf[i].revents & POLLIN)
			bits |= WEFT_READABLE;
		if (pf[i].revents & POLLOUT)
			bits |= WEFT_WRITABLE;
		if (pf[i].revents & POLLHUP)
			bits |= WEFT_HUP;
		if (pf[i].revents & POLLERR)
			bits |= WEFT_ERROR;
		if (bits)
			ev[got++] =
			    (struct weft_reactor_event){g->token, bits, 0};
	}
	return (int)got;
}


static int
c_wakeup(struct weft_reactor *self)
{
	uint64_t one = 1;

	if (write(((struct creactor *)self)->efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}


static const struct weft_reactor_iface c_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_COMPLETION,
    .instance_size = sizeof(struct creactor),
    .init = c_init,
    .fini = c_fini,
    .add = c_add,
    .modify = c_modify,
    .del = c_del,
    .wait = c_wait,
    .wakeup = c_wakeup,
    .submit = c_submit,
    .cancel = c_cancel,
};


struct weft_reactor *
completion_reactor_new(struct completion_stats *stats)
{
	struct creactor *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->head.version = c_iface.version;
	r->head.ops = &c_iface;
	r->stats = stats;
	if (c_init(&r->head, NULL) < 0) {
		free(r);
		return NULL;
	}
	return &r->head;
}


void
completion_reactor_free(struct weft_reactor *r)
{
	if (!r)
		return;
	c_fini(r);
	free(r);
}


uint32_t
completion_reactor_in_flight(struct weft_reactor *self)
{
	struct creactor *r = (struct creactor *)self;
	uint32_t i, n = 0;

	for (i = 0; i < MAX_OPS; i++)
		n += r->ops[i].used;
	return n;
}


#ifdef COMPLETION_PLUGIN
static const struct weft_plugin_descriptor descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 0, 1),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "ucompl",
    .description = "completion I/O in userspace over poll(2), for tests",
    .iface = &c_iface,
};


WEFT_EXPORT int
WEFT_PLUGIN_ENTRY(struct weft_negotiate *neg, uint32_t index,
                  const struct weft_plugin_descriptor **out)
{
	int r = weft_negotiate_pick(neg, WEFT_ABI_VERSION);

	if (r < 0)
		return r;
	if (index > 0)
		return 0;
	*out = &descriptor;
	return 1;
}
#endif
