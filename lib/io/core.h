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
 *
 * Completion I/O (op.c, D10).  On a driver whose reactor runs operations,
 * a stream socket reads, writes, accepts and connects through submitted
 * operations instead of readiness.  The operation in flight in each
 * direction belongs to the object, not to the future that started it: a
 * read future dropped while its RECV is in flight leaves it there, and the
 * next read collects its bytes, so no data is lost (readiness mode loses
 * none either).  Bytes a RECV brought that the caller could not take wait
 * in the driver's record for the next read.  The last release op_del's
 * what is in flight, before the fd is closed; the driver cancels it and
 * keeps its buffer until the kernel lets go (D11).  An object whose driver
 * has no completion, or injects faults (D9), stays on readiness.
 */
#ifndef WEFT_IO_CORE_H
#define WEFT_IO_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <weft/io.h>

/* One direction's operation in flight (op.c). */
struct weft__io_op {
	uint64_t id;               /* the driver's id; 0: none */
	const void *owner;         /* the future waiting on it; NULL: none */
	const unsigned char *data; /* RECV: the bytes it brought */
	uint32_t len, off;         /* ... how many, and how many were taken */
	bool received;             /* data/len hold a finished RECV */
};

/* weft__io.mode */
#define WEFT__IO_MODE_UNKNOWN 0
#define WEFT__IO_MODE_READY   1 /* readiness: io_add and io_poll */
#define WEFT__IO_MODE_OP      2 /* completion: op_submit and op_poll */

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
	/* Completion I/O, under lock; mode set at first use. */
	uint8_t mode;
	struct weft__io_op ops[2]; /* read or accept; write or connect */
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

/* ---- completion I/O (op.c) ---- */

/*
 * Each returns WEFT_ENOTSUP when the object runs on readiness (the caller
 * then takes the readiness path, which it must for this call), else 1
 * with the result set or 0 pending, its waker stored.  owner is the future
 * polling: the operation in flight is its until it completes or the
 * future calls weft__io_op_forget.  One unit of budget per call.
 */
int weft__io_op_recv(struct weft__io *io, struct weft_context *cx,
                     const void *owner, void *buf, size_t len, ssize_t *n);
int weft__io_op_send(struct weft__io *io, struct weft_context *cx,
                     const void *owner, const struct iovec *iov, int iovcnt,
                     size_t len, ssize_t *n);
/*
 * A new connection's fd in *fd, or -errno there.  With no ACCEPT in
 * flight, direct(fd, arg, 0) is tried first (the caller's accept4), and
 * an ACCEPT is submitted only when it says EAGAIN.
 */
int weft__io_op_accept(struct weft__io *io, struct weft_context *cx,
                       const void *owner, weft__io_fn direct, void *arg,
                       int *fd);
/* *status 0 once connected, or -errno.  addr is copied at the first call. */
int weft__io_op_connect(struct weft__io *io, struct weft_context *cx,
                        const void *owner, const void *addr, uint32_t addrlen,
                        int *status);
/* Whether a connect on io would be submitted (decides the mode). */
bool weft__io_op_usable(struct weft__io *io, struct weft_context *cx);

/*
 * The object's mode, read without its lock: set once from UNKNOWN (and
 * from OP to READY at most once), so a stale read only sends a call to
 * op.c, which looks again under the lock.
 */
static inline uint8_t
weft__io_mode(const struct weft__io *io)
{
	return __atomic_load_n(&io->mode, __ATOMIC_RELAXED);
}

/* The future owner is dropped: what it waited on stays with the object. */
void weft__io_op_forget(struct weft__io *io, const void *owner);

/* At the last release: ends the operations in flight (op_del). */
void weft__io_op_fini(struct weft__io *io);

/* A stream is an io object and nothing more. */
struct weft_io {
	struct weft__io io;
};

struct weft_io *weft__io_stream_new(int fd, uint32_t interest, bool is_socket);

#endif
