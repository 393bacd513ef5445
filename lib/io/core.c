/* SPDX-License-Identifier: MIT */
/*
 * The io object: registration, readiness, references and close.  See
 * core.h for the rules.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"

#define BOTH (WEFT_READABLE | WEFT_WRITABLE)


void *
weft__io_new(size_t size, int fd, uint32_t interest, bool owns_fd,
             bool is_socket)
{
	struct weft__io *io = weft_calloc(1, size);

	if (!io)
		return NULL;
	if (pthread_mutex_init(&io->lock, NULL) != 0) {
		weft_free(io);
		return NULL;
	}
	atomic_init(&io->refs, 1);
	atomic_init(&io->handles, 1);
	atomic_init(&io->registered, false);
	atomic_init(&io->closed, false);
	atomic_init(&io->fault_seq, 0);
	io->fd = fd;
	io->interest = interest;
	io->owns_fd = owns_fd;
	io->is_socket = is_socket;
	return io;
}


void
weft__io_ref(struct weft__io *io)
{
	atomic_fetch_add_explicit(&io->refs, 1, memory_order_relaxed);
}


void
weft__io_unref(struct weft__io *io)
{
	if (atomic_fetch_sub_explicit(&io->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Operations first: the driver keeps their buffers until the kernel
	 * lets go, and an fd number is reused only after close. */
	if (weft__io_mode(io) == WEFT__IO_MODE_OP)
		weft__io_op_fini(io);
	/* The driver must forget the fd before the number can be reused. */
	if (atomic_load(&io->registered))
		weft_driver_io_del(io->driver, io->id);
	if (io->owns_fd && io->fd >= 0)
		close(io->fd);
	weft_waker_drop(&io->waiters[0]);
	weft_waker_drop(&io->waiters[1]);
	pthread_mutex_destroy(&io->lock);
	weft_free(io);
}


void
weft__io_shut(struct weft__io *io)
{
	struct weft_waker w[2];

	pthread_mutex_lock(&io->lock);
	atomic_store(&io->closed, true);
	w[0] = io->waiters[0];
	w[1] = io->waiters[1];
	io->waiters[0] = io->waiters[1] = (struct weft_waker){0, 0};
	pthread_mutex_unlock(&io->lock);
	/* Woken outside the lock: a wake may run the task's poll inline. */
	weft_waker_wake(&w[0]);
	weft_waker_wake(&w[1]);
}


void
weft__io_dup(struct weft__io *io)
{
	atomic_fetch_add_explicit(&io->handles, 1, memory_order_relaxed);
	weft__io_ref(io);
}


bool
weft__io_close_handle(struct weft__io *io)
{
	return atomic_fetch_sub_explicit(&io->handles, 1,
	                                 memory_order_acq_rel) == 1;
}


void
weft__io_close(struct weft__io *io)
{
	if (weft__io_close_handle(io))
		weft__io_shut(io);
	weft__io_unref(io);
}


static int
io_register(struct weft__io *io, struct weft_context *cx)
{
	int r = 0;

	pthread_mutex_lock(&io->lock);
	if (!atomic_load(&io->registered)) {
		r = weft_driver_io_add(cx->driver, io->fd, io->interest,
		                       &io->id);
		if (r == 0) {
			io->driver = cx->driver;
			io->faults = cx->driver->ops->version >= 2 &&
			             cx->driver->ops->fault;
			atomic_store_explicit(&io->registered, true,
			                      memory_order_release);
		}
	}
	pthread_mutex_unlock(&io->lock);
	return r;
}


/*
 * Keeps a copy of the waiting task's waker for close.  Fails with
 * WEFT_ECLOSED if close came first: then nobody would wake the task.
 */
static int
io_wait(struct weft__io *io, struct weft_context *cx, uint32_t interest)
{
	int r = 0;

	pthread_mutex_lock(&io->lock);
	if (atomic_load(&io->closed)) {
		r = WEFT_ECLOSED;
	} else {
		if (interest & WEFT_READABLE)
			weft_waker_store(&io->waiters[0], &cx->waker);
		if (interest & WEFT_WRITABLE)
			weft_waker_store(&io->waiters[1], &cx->waker);
	}
	pthread_mutex_unlock(&io->lock);
	return r;
}


int
weft__io_ready(struct weft__io *io, struct weft_context *cx, uint32_t interest,
               uint32_t *ready)
{
	int r;

	if (atomic_load_explicit(&io->closed, memory_order_relaxed))
		return WEFT_ECLOSED;
	if (!atomic_load_explicit(&io->registered, memory_order_acquire)) {
		r = io_register(io, cx);
		if (r < 0)
			return r;
	}
	/* The registration belongs to one driver: ids mean nothing in another.
	 */
	if (io->driver != cx->driver)
		return -EXDEV;
	r = weft_driver_io_poll(io->driver, io->id, interest, cx, ready);
	if (r == WEFT_READY && weft__io_fault(io, WEFT_FAULT_SPURIOUS)) {
		/*
		 * Readiness that turns out spurious: the caller sees the fd
		 * as not ready.  The readiness is not cleared in the driver:
		 * the fd really is ready, and an edge-triggered reactor
		 * reports an edge once, so no event would ever wake a task
		 * that forgot it.  The task wakes itself instead, as an
		 * exhausted budget does (C4), and its next poll asks again.
		 */
		weft_waker_wake_by_ref(&cx->waker);
		r = WEFT_PENDING;
	}
	if (r != WEFT_PENDING)
		return r;
	r = io_wait(io, cx, interest);
	return r < 0 ? r : WEFT_PENDING;
}


int
weft__io_watch_close(struct weft__io *io, struct weft_context *cx)
{
	/* The read slot: an accept or a read is the one who would wait. */
	return io_wait(io, cx, WEFT_READABLE);
}


void
weft__io_clear(struct weft__io *io, uint32_t bits)
{
	if (atomic_load_explicit(&io->registered, memory_order_acquire))
		weft_driver_io_clear(io->driver, io->id, bits);
}


int
weft__io_reset(struct weft__io *io)
{
	(void)shutdown(io->fd, SHUT_RDWR);
	return -ECONNRESET;
}


/*
 * A seeded-looking but reproducible length in [1, len - 1] for a short
 * transfer: the object's own count of short transfers, mixed (splitmix64's
 * finaliser), so that the same schedule gives the same lengths.
 */
static size_t
short_len(struct weft__io *io, size_t len)
{
	uint64_t x =
	    atomic_fetch_add_explicit(&io->fault_seq, 1, memory_order_relaxed);

	x = (x + 1) * 0x9e3779b97f4a7c15u ^ len;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	x ^= x >> 31;
	/* Small counts more often: they are the ones that find bugs. */
	if (x & 1)
		len = len < 16 ? len : 16;
	return 1 + (size_t)((x >> 1) % (len - 1));
}


/*
 * The faults of one transfer (D9): 1 with *result set when the call fails
 * without being made, else 0 with *max the bytes it may move.
 */
static int
io_faults(struct weft__io *io, size_t len, size_t *max, ssize_t *result)
{
	if (len == 0)
		return 0;
	if (io->is_socket && weft_driver_fault(io->driver, WEFT_FAULT_RESET)) {
		*result = weft__io_reset(io);
		return 1;
	}
	if (len > 1 && weft_driver_fault(io->driver, WEFT_FAULT_SHORT_IO))
		*max = short_len(io, len);
	return 0;
}


int
weft__io_do(struct weft__io *io, struct weft_context *cx, uint32_t dir,
            weft__io_fn fn, void *arg, size_t len, ssize_t *result)
{
	uint32_t ready;
	size_t max;
	ssize_t n;
	int r;

	if (!weft_budget_spend(cx))
		return 0;
	for (;;) {
		r = weft__io_ready(io, cx, dir, &ready);
		if (r == WEFT_PENDING)
			return 0;
		if (r < 0) {
			*result = r;
			return 1;
		}
		max = SIZE_MAX;
		if (__builtin_expect(io->faults, 0) &&
		    io_faults(io, len, &max, result))
			return 1;
		n = fn(io->fd, arg, max);
		/*
		 * A close on another thread may have made the call fail
		 * (a shut-down listener's accept says EINVAL): report the
		 * close, not its side effect.
		 */
		if (n < 0 && atomic_load(&io->closed))
			n = WEFT_ECLOSED;
		if (n != -EAGAIN && n != -EWOULDBLOCK) {
			/*
			 * A short transfer on a socket emptied its buffer (or
			 * filled the peer's): any later data is a new edge.
			 * An injected one (below max) says nothing, nor does
			 * a pipe's.  HUP and ERROR stay readiness: the call
			 * that sees them must not wait.
			 */
			if (n > 0 && (size_t)n < len && (size_t)n < max &&
			    io->is_socket && !(ready & (WEFT_HUP | WEFT_ERROR)))
				weft__io_clear(io, dir);
			*result = n;
			return 1;
		}
		/*
		 * Forget the readiness and ask again: an event that came in
		 * between the call and the clear makes the driver answer
		 * ready at once, so no edge is lost.
		 */
		weft__io_clear(io, dir);
	}
}


ssize_t
weft__writev_nosigpipe(int fd, const struct iovec *iov, int iovcnt)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t n;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	/* A SIGPIPE already pending belongs to someone else: leave it. */
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = writev(fd, iov, iovcnt);
	err = errno;
	if (n < 0 && err == EPIPE && !was_pending) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n < 0 ? -err : n;
}


struct weft_io *
weft__io_stream_new(int fd, uint32_t interest, bool is_socket)
{
	return weft__io_new(sizeof(struct weft_io), fd, interest, true,
	                    is_socket);
}
