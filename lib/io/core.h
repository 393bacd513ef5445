/* SPDX-License-Identifier: MIT */
/*
 * The object every stream, listener, UDP socket, fd wrapper and signal
 * listener is built on: one fd, its registration with a driver, a
 * reference count, and the closed flag.  Private to lib/io.
 *
 * Handles and references.  A handle is an owner's right to use and close
 * the object: the creator holds one, and weft_*_ref() hands out more.  The
 * last handle closed shuts the object (close wakes its waiters with
 * WEFT_ECLOSED).  References keep the memory and the fd alive: every handle
 * holds one, and every operation future takes one at init and releases it
 * at drop.  The last release deregisters the fd
 * (io_del before close, D rules) and closes it if the object owns it, so
 * no fd is closed while a future might still pass it to a system call.
 *
 * Waiters.  The driver drops the wakers it holds at io_del without waking
 * them, so an object closed while a task waits on it would leave that task
 * pending forever.  The object therefore keeps its own copy of the last
 * waker of each direction, and close wakes them.
 *
 * Faults (D9).  Where the driver can inject faults, every readiness wait
 * and every transfer asks it, at the point of the system call, whether to
 * fail in a way the system itself could: readiness that turns out spurious
 * (weft__io_ready), a short transfer, a reset stream socket (weft__io_do).
 * `faults` is set at registration, so that an object on a driver without
 * the method pays one predictable branch per call.
 */
#ifndef WEFT_IO_CORE_H
#define WEFT_IO_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <weft/io.h>

struct weft__io {
	atomic_uint refs;
	atomic_uint handles;
	atomic_bool registered;
	atomic_bool closed;
	int fd;
	uint32_t interest; /* what the fd is registered for */
	bool owns_fd;
	bool is_socket;
	bool faults;           /* the driver has a fault method (D9) */
	atomic_uint fault_seq; /* derives the length of a short transfer */
	pthread_mutex_t lock;  /* registration and waiters */
	struct weft_driver *driver;
	uint64_t id;
	struct weft_waker waiters[2]; /* read, write */
};

/*
 * Allocates an object of `size` bytes (at least sizeof(struct weft__io),
 * which comes first in it) around fd, with one reference.  NULL when out
 * of memory; fd is untouched then.
 */
void *weft__io_new(size_t size, int fd, uint32_t interest, bool owns_fd,
                   bool is_socket);

void weft__io_ref(struct weft__io *io);
void weft__io_unref(struct weft__io *io);

/* One more handle (and the reference it holds). */
void weft__io_dup(struct weft__io *io);

/* Marks closed and wakes the waiters. */
void weft__io_shut(struct weft__io *io);

/*
 * Gives back a handle: true when it was the last, and the caller must
 * shut the object and then release the handle's reference.
 */
bool weft__io_close_handle(struct weft__io *io);

/* Gives back a handle, shutting the object on the last; then unrefs. */
void weft__io_close(struct weft__io *io);

/*
 * Registers on first use, then asks the driver whether any of `interest`
 * is ready.  1 with *ready set, 0 pending (waker stored, or under an
 * injected spurious readiness the task woken to poll again), or a negative
 * error (WEFT_ECLOSED once closed, -EXDEV from another runtime).
 */
int weft__io_ready(struct weft__io *io, struct weft_context *cx,
                   uint32_t interest, uint32_t *ready);

/*
 * Has close wake the task, for a future that waits on something else (a
 * timer) but must still notice the close at once.  0, or WEFT_ECLOSED
 * when already closed.
 */
int weft__io_watch_close(struct weft__io *io, struct weft_context *cx);

/* The caller's system call said EAGAIN for `bits`. */
void weft__io_clear(struct weft__io *io, uint32_t bits);

/*
 * One non-blocking operation: fn(fd, arg, max) returns a count or -errno,
 * moving at most max bytes (SIZE_MAX but under an injected short
 * transfer; at least 1).  Spends one unit of budget, waits for `dir`
 * readiness, retries after EAGAIN.  Returns 1 with *result set, or 0
 * pending.  `len` is the count a full transfer would return, 0 when the
 * call moves no byte stream (accept, datagrams): only byte streams get
 * short transfers, and only stream sockets resets.  A socket call that
 * returns less than asked has drained the socket, so the readiness is
 * forgotten then and the next call waits for an event instead of paying
 * for an EAGAIN.
 */
typedef ssize_t (*weft__io_fn)(int fd, void *arg, size_t max);
int weft__io_do(struct weft__io *io, struct weft_context *cx, uint32_t dir,
                weft__io_fn fn, void *arg, size_t len, ssize_t *result);

/*
 * Under faults (D9): 1 when the driver injects a fault of kind site now.
 * One branch when the driver has no fault method.
 */
static inline int
weft__io_fault(struct weft__io *io, uint32_t site)
{
	if (__builtin_expect(!io->faults, 1))
		return 0;
	return weft_driver_fault(io->driver, site);
}

/*
 * Under faults: a stream socket's connection reset.  Shuts the socket
 * down both ways, so the peer sees the connection end too and later calls
 * on this side fail as the system makes them; returns -ECONNRESET.
 */
int weft__io_reset(struct weft__io *io);

/*
 * write/writev on a pipe or other non-socket: sockets use MSG_NOSIGNAL,
 * which these cannot, so SIGPIPE is blocked in the calling thread for the
 * call and a SIGPIPE it raised is consumed.  -errno on failure.
 */
ssize_t weft__writev_nosigpipe(int fd, const struct iovec *iov, int iovcnt);

/* A stream is an io object and nothing more. */
struct weft_io {
	struct weft__io io;
};

struct weft_io *weft__io_stream_new(int fd, uint32_t interest, bool is_socket);

#endif
