/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Async I/O on the driver alone: byte streams (TCP, Unix sockets, pipes),
 * a readiness wrapper for file descriptors the application owns (tokio's
 * AsyncFd), regular files through the blocking pool, and signals.
 * Addresses, listeners, connect, UDP and name resolution are in
 * <weft/net.h>.
 *
 * Objects and futures.  A byte stream (struct weft_io), listener, UDP
 * socket or fd wrapper is a heap object behind an opaque pointer; each
 * operation on it is a future the caller initialises in its own storage,
 * as with weft_sleep.  The object registers its fd with the runtime's
 * driver once, at the first operation polled, and deregisters it when it
 * is freed: an object belongs to one runtime from then on, and every
 * object must be closed before that runtime is.  Operations from another
 * runtime fail with -EXDEV.
 *
 * Threads.  Objects may be used from any thread.  At most one task at a
 * time should wait to read and one to write on the same object: like the
 * driver, an object remembers one waiting reader and one waiting writer.
 *
 * Cancellation.  Dropping an operation before it completes is always
 * allowed and leaves the object usable: bytes already transferred by a
 * read_exact, write_all or writev are counted in its `done` field but
 * nothing else is lost or half-done.
 *
 * Close.  Closing releases the caller's handle.  When it was the last
 * handle (weft_io_ref and friends hand out more), operations still
 * pending on the object (in other tasks) are woken and complete with
 * WEFT_ECLOSED, and the fd itself is deregistered and closed when the last
 * of them has been dropped, so a close racing a read never lets the fd be
 * reused under it.  A task that uses an object after its creator may have
 * closed it needs a handle of its own.
 *
 * Errors.  System errors come back as -errno in the future's `status`:
 * -ECONNREFUSED, -ECONNRESET, -EPIPE, -EMFILE and so on.  Writing to a
 * peer that has gone never raises SIGPIPE.  A peer that closed its end
 * reads as end of stream: a read completes with 0 bytes.  An accept loop
 * should not retry -EMFILE at once (the connection stays queued, so the
 * retry fails again and the loop spins): weft_accept_backoff in
 * <weft/net.h> waits out such shortages.
 *
 * Budget.  Each operation spends one unit of the task's budget per poll
 * (C4), so a task that always finds its socket ready still yields.
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <weft/task.h>
#include <weft/weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Byte streams                                                        */
/* ------------------------------------------------------------------ */

/**
 * A bidirectional byte stream (tokio's TcpStream, UnixStream or pipe): a
 * connected TCP or Unix socket, or one end of a pipe.  Made by connect and
 * accept (<weft/net.h>), weft_io_pair, weft_pipe or weft_io_from_fd; owned
 * by the caller, who releases it once with weft_io_close.  Its functions
 * are weft_io_*: `struct weft_stream` and weft_stream_* are the Stream
 * trait of <weft/stream.h>, a sequence of items, which is another thing.
 */
struct weft_io;

/**
 * Wraps fd, which the stream then owns (closing it on the last release).
 * fd is made non-blocking.  A socket is read and written both ways; a pipe
 * or other fd in the direction(s) its open mode allows.  0, or a negative
 * error (the fd is then still the caller's).
 */
int weft_io_from_fd(struct weft_io **out, int fd);

/** A connected pair of Unix stream sockets: 0 or -errno. */
int weft_io_pair(struct weft_io **a, struct weft_io **b);

/** A pipe: *rd reads what *wr writes.  0 or -errno. */
int weft_pipe(struct weft_io **rd, struct weft_io **wr);

/**
 * Releases the caller's handle; see "Close" above.  Any thread.  NULL is
 * a no-op.
 */
void weft_io_close(struct weft_io *s);

/**
 * One more handle on s (for another task, say a writer beside a reader):
 * returns s.  Every handle is closed once; the stream is closed when the
 * last handle is.  Any thread.  NULL gives NULL.
 */
struct weft_io *weft_io_ref(struct weft_io *s);

/** The fd, borrowed: for socket options; never close it. */
int weft_io_fd(const struct weft_io *s);

/**
 * Shuts down the read half (SHUT_RD), the write half (SHUT_WR: the peer
 * then reads end of stream) or both (SHUT_RDWR).  Sockets only.  0 or
 * -errno (-ENOTSOCK for a pipe).
 */
int weft_io_shutdown(struct weft_io *s, int how);

/** TCP_NODELAY on or off: 0, or -errno (-EOPNOTSUPP when not TCP). */
int weft_io_set_nodelay(struct weft_io *s, bool on);

/**
 * Reads up to len bytes into buf.  buf must stay valid until the future
 * is ready or dropped.  Output `status`: the bytes read (at most INT_MAX;
 * 0 at end of stream, or when len is 0), or a negative error.
 */
struct weft_io_read {
	struct weft_future base; /**< the future's vtable */
	struct weft_io *io;      /**< a reference, released by drop */
	void *buf;               /**< where the bytes go, borrowed */
	size_t len;              /**< room at buf */
	int status;              /**< output: bytes read, or a negative error */
};
/** A future that reads up to len bytes of s into buf. */
void weft_io_read_init(struct weft_io_read *f, struct weft_io *s, void *buf,
                       size_t len);

/**
 * Reads exactly len bytes.  Output `status`: 0, or a negative error —
 * -ENODATA when the stream ended first.  `done` counts the bytes read, also
 * when it failed or was dropped.
 */
struct weft_io_read_exact {
	struct weft_future base; /**< the future's vtable */
	struct weft_io *io;      /**< a reference, released by drop */
	unsigned char *buf;      /**< where the bytes go, borrowed */
	size_t len;              /**< bytes to read */
	size_t done;             /**< output: bytes read so far */
	int status;              /**< output: 0 or a negative error */
};
/** A future that reads exactly len bytes of s into buf. */
void weft_io_read_exact_init(struct weft_io_read_exact *f, struct weft_io *s,
                             void *buf, size_t len);

/**
 * Writes up to len bytes of buf (borrowed until ready or dropped).  Output
 * `status`: the bytes written (at most INT_MAX), or a negative error.
 */
struct weft_io_write {
	struct weft_future base; /**< the future's vtable */
	struct weft_io *io;      /**< a reference, released by drop */
	const void *buf;         /**< the bytes to write, borrowed */
	size_t len;              /**< bytes at buf */
	int status; /**< output: bytes written, or a negative error */
};
/** A future that writes up to len bytes of buf to s. */
void weft_io_write_init(struct weft_io_write *f, struct weft_io *s,
                        const void *buf, size_t len);

/**
 * Writes all len bytes.  Output `status`: 0 or a negative error; `done`
 * counts the bytes written.
 */
struct weft_io_write_all {
	struct weft_future base;  /**< the future's vtable */
	struct weft_io *io;       /**< a reference, released by drop */
	const unsigned char *buf; /**< the bytes to write, borrowed */
	size_t len;               /**< bytes to write */
	size_t done;              /**< output: bytes written so far */
	int status;               /**< output: 0 or a negative error */
};
/** A future that writes all len bytes of buf to s. */
void weft_io_write_all_init(struct weft_io_write_all *f, struct weft_io *s,
                            const void *buf, size_t len);

/** Buffers a vectored write takes at once. */
#define WEFT_IOV_MAX 16

/**
 * A vectored write of every byte the buffers hold, in order, with as few
 * system calls as the kernel allows.  The iovec array is copied (at most
 * WEFT_IOV_MAX entries: more is -EINVAL); the bytes it points to are
 * borrowed until ready or dropped.  Output as write_all.
 */
struct weft_io_writev {
	struct weft_future base;        /**< the future's vtable */
	struct weft_io *io;             /**< a reference, released by drop */
	struct iovec iov[WEFT_IOV_MAX]; /**< a copy of the caller's iovecs */
	int iovcnt;                     /**< entries in iov */
	int first;   /**< the first entry not yet fully written */
	size_t done; /**< output: bytes written so far */
	int status;  /**< output: 0 or a negative error */
};
/** A future that writes iovcnt buffers (iov copied) to s. */
void weft_io_writev_init(struct weft_io_writev *f, struct weft_io *s,
                         const struct iovec *iov, int iovcnt);

/* ------------------------------------------------------------------ */
/* Readiness of an fd the application owns (tokio's AsyncFd)           */
/* ------------------------------------------------------------------ */

/**
 * Registers a non-blocking fd that stays the caller's: the wrapper only
 * waits for readiness, for integrating a library that does its own reads
 * and writes.  The caller does the operation when a ready future
 * completes, and calls weft_async_fd_clear when it failed with EAGAIN.
 */
struct weft_async_fd;

/**
 * interest: WEFT_READABLE, WEFT_WRITABLE or both.  fd is registered at the
 * first ready future polled; a regular file is refused then (-EPERM).
 * 0, -EINVAL or -ENOMEM.
 */
int weft_async_fd_new(struct weft_async_fd **out, int fd, uint32_t interest);

/**
 * Deregisters and frees the wrapper; the fd is not closed.  Pending ready
 * futures complete with WEFT_ECLOSED; the registration goes when the last
 * of them is dropped, so drop them before closing the fd.  NULL is a
 * no-op.
 */
void weft_async_fd_free(struct weft_async_fd *a);

/** The wrapped fd, still the caller's. */
int weft_async_fd_fd(const struct weft_async_fd *a);

/**
 * The caller's operation found the fd not ready (EAGAIN): forget the
 * readiness `bits` (WEFT_READABLE and/or WEFT_WRITABLE) so that the next
 * ready future waits for a new event.  Without it a ready future would
 * complete again at once.
 */
void weft_async_fd_clear(struct weft_async_fd *a, uint32_t bits);

/**
 * Waits until the fd is ready for any of `interest`.  Output `status`: the
 * readiness bits (WEFT_READABLE, WEFT_WRITABLE, WEFT_HUP, WEFT_ERROR; > 0)
 * or a negative error.
 */
struct weft_async_fd_ready {
	struct weft_future base;   /**< the future's vtable */
	struct weft_async_fd *afd; /**< a reference, released by drop */
	uint32_t interest;         /**< WEFT_READABLE and/or WEFT_WRITABLE */
	int status; /**< output: readiness bits, or a negative error */
};
/** A future that waits until a is ready for interest. */
void weft_async_fd_ready_init(struct weft_async_fd_ready *f,
                              struct weft_async_fd *a, uint32_t interest);

/* ------------------------------------------------------------------ */
/* Regular files, through the blocking pool                            */
/* ------------------------------------------------------------------ */

/**
 * Readiness means nothing for a regular file (it is always "ready", and
 * the read may still wait for the disk), so these futures run the system
 * call on the runtime's pool of blocking threads, as tokio::fs does, and a
 * worker never waits for storage.  Data passes through a buffer of the
 * job's own, at most WEFT_FILE_CHUNK bytes per call: a future dropped while
 * its call runs never has the pool thread touch the caller's memory.
 */
#define WEFT_FILE_CHUNK (1024u * 1024u)

/**
 * open(path, flags, mode).  path is copied (at most PATH_MAX bytes).
 * Output `status`: the new fd (the caller owns it, and closes it with
 * close()) or -errno.
 */
struct weft_file_open {
	struct weft_future base;  /**< the future's vtable */
	struct weft_blocking job; /**< open() on the blocking pool */
	/** the job's input and result, owned */
	struct weft__file_open_args *args;
	int status; /**< output: the new fd, or -errno */
};
/** A future that opens path (copied) on the blocking pool. */
void weft_file_open_init(struct weft_file_open *f, const char *path, int flags,
                         mode_t mode);

/**
 * Reads up to len bytes at `offset` (-1: at the file position) into buf,
 * which must stay valid until ready or dropped; loops until len bytes or
 * the end of the file.  Output `status`: the bytes read (at most INT_MAX;
 * fewer than len only at the end of the file) or -errno.
 */
struct weft_file_rw {
	struct weft_future base;  /**< the future's vtable */
	struct weft_coro co;      /**< where the loop over chunks is */
	struct weft_blocking job; /**< the current chunk's call on the pool */
	struct weft__file_chunk *chunk; /**< the job's buffer, owned */
	int fd;             /**< the file, borrowed (never closed) */
	bool write;         /**< true to write, false to read */
	unsigned char *buf; /**< the caller's bytes, borrowed */
	size_t len;         /**< bytes to transfer */
	off_t offset;       /**< where in the file; -1: the file position */
	size_t done;        /**< output: bytes transferred so far */
	int status;         /**< output: bytes transferred, or -errno */
};
/** A future that reads up to len bytes of fd into buf. */
void weft_file_read_init(struct weft_file_rw *f, int fd, void *buf, size_t len,
                         off_t offset);

/**
 * Writes all len bytes of buf (borrowed until ready or dropped) at
 * `offset` (-1: at the file position).  Output `status`: the bytes
 * written (len, at most INT_MAX) or -errno; `done` counts them.
 */
void weft_file_write_init(struct weft_file_rw *f, int fd, const void *buf,
                          size_t len, off_t offset);

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

/** The bit of signal `sig` in a signal mask below (signals 1 to 63). */
#define WEFT_SIGNAL_BIT(sig) (UINT64_C(1) << (sig))

/**
 * A listener for a set of signals, tokio's signal(): while at least one
 * listener for a signal exists, the signal no longer has its previous
 * effect (SIGINT no longer ends the process); instead each delivery is
 * counted and wakes every listener.  When the last listener of a signal
 * is freed, the signal's previous disposition is restored, unless a
 * weft_signal holds it (see there).  Works whatever
 * thread the kernel delivers the signal to.  Listeners are owned by their
 * creator and freed once.
 *
 * Signals arriving between the listener's creation and a recv are not
 * lost; several arrivals before one recv count as one.
 */
struct weft_signal_listener;

/**
 * Listens for the signals in mask (WEFT_SIGNAL_BIT(SIGINT) | ...; 0 means
 * SIGINT and SIGTERM).  0, -EINVAL for a signal that cannot be caught
 * (SIGKILL, SIGSTOP, out of range), -EMFILE, -ENOMEM.
 */
int weft_signal_listen(struct weft_signal_listener **out, uint64_t mask);

/** Restores dispositions as described above.  NULL is a no-op. */
void weft_signal_listener_free(struct weft_signal_listener *l);

/**
 * Completes at the next signal of the listener's set that it has not
 * reported yet.  Output `status`: the signal number, or a negative error.
 * Holds a reference to the listener until dropped; dropping it before it
 * completes loses nothing, so it can be a branch of a select in a loop.
 */
struct weft_signal_recv {
	struct weft_future base; /**< the future's vtable */
	/** a reference, released by drop */
	struct weft_signal_listener *listener;
	int status; /**< output: the signal number, or a negative error */
};
/** A future for the next signal of l (referenced). */
void weft_signal_recv_init(struct weft_signal_recv *f,
                           struct weft_signal_listener *l);

/**
 * A listener and its first recv in one future: tokio's ctrl_c().  The
 * listener is made by init (so a signal that arrives before the first poll
 * is seen) and freed by drop.  Output `status`: the signal number, or a
 * negative error.
 *
 * Unlike a listener, the future keeps its signals caught after it is
 * dropped: from a successful init until weft_signal_release, as tokio does
 * for the life of the process.  The usual shape, "wait for Ctrl-C, then
 * shut down cleanly", drops the future once it fired; a second Ctrl-C
 * during the clean-up must not kill the program half-way.  Deliveries
 * with no listener are counted and otherwise ignored; a new weft_signal
 * or listener reports only the ones after its creation.  A program that
 * wants a second Ctrl-C to force its way out makes a new weft_signal for
 * it; one that wants the default back calls weft_signal_release.
 */
struct weft_signal {
	struct weft_future base; /**< the future's vtable */
	/** the listener, owned; freed by drop */
	struct weft_signal_listener *listener;
	struct weft_signal_recv recv; /**< its first recv */
	int status; /**< output: the signal number, or a negative error */
};
/** A future that listens for mask and waits for its first signal. */
void weft_signal_init(struct weft_signal *f, uint64_t mask);

/**
 * Lets go of the signals of mask (0 means SIGINT and SIGTERM) that
 * weft_signal holds: each gets back the disposition it had before weft
 * caught it once no listener uses it either (at once if none does).
 * Signals weft_signal does not hold are left alone.  Any thread.  0, or
 * -EINVAL for a signal that cannot be caught.
 */
int weft_signal_release(uint64_t mask);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IO_H */
