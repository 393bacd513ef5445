/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The driver (D rules): the host's I/O readiness, completion I/O and timers, as
 * async code and executors call them.
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_DRIVER_H
#define WEFT_ABI_DRIVER_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
#endif

/* ------------------------------------------------------------------ */
/* Driver: the host's I/O readiness and timers (D rules)               */
/* ------------------------------------------------------------------ */

/** Interest and readiness bits. */
#define WEFT_READABLE 0x1u
#define WEFT_WRITABLE 0x2u /**< interest in, or readiness for, writing */
#define WEFT_HUP 0x4u   /**< peer closed (read side ended or hang-up) */
#define WEFT_ERROR 0x8u /**< error pending on the fd */

#define WEFT_TIMEOUT_INFINITE (-1) /**< park without a timeout */

/**
 * @struct weft_driver_ops
 * The host's driver: one per runtime, owning the reactor and the timers.
 * Futures reach it through cx->driver; executors receive it at init.  All
 * methods are thread-safe.  Ids are opaque, never 0, never reused while the
 * registration lives.
 *
 * now:          monotonic time in nanoseconds (D1).
 * timer_add:    arms a timer at an absolute deadline on now()'s clock.
 * timer_poll:   WEFT_READY once now() >= deadline (never early, D2);
 *               WEFT_PENDING after storing cx->waker; negative on a bad id.
 * timer_del:    cancels and frees the timer; its waker is dropped unwoken.
 * io_add:       registers a non-blocking fd with an interest; *id names it.
 * io_poll:      WEFT_READY with *ready set when any of `interest` (or
 *               HUP/ERROR) is ready; WEFT_PENDING after storing cx->waker
 *               for that direction; negative on a bad id.
 * io_clear:     the caller saw EAGAIN: forget the readiness bits `ready`
 *               so the next io_poll waits for a new edge.
 * io_del:       deregisters; events of this fd still in the current batch
 *               are discarded (D4); stored wakers are dropped unwoken (a
 *               wake already taken from a batch in progress may still
 *               arrive, which W2 makes harmless).  The caller closes the fd
 *               only after io_del.
 * park:         executor only: waits for I/O or the next timer, at most
 *               timeout_ns (WEFT_TIMEOUT_INFINITE waits indefinitely), then
 *               wakes the wakers of what became ready.  Returns the number
 *               of wakers woken or a negative error.  One thread at a time.
 * unpark:       makes a concurrent or the next park return promptly.  Any
 *               thread.
 * blocking:     runs fn(arg) on the runtime's pool of blocking threads
 *               (bounded, sized by the configuration), so that blocking
 *               work never stalls a worker; when fn has returned, *done is
 *               woken.  On success *done is moved in (left empty); on
 *               failure (WEFT_ECLOSED after shutdown, -ENOMEM) fn never
 *               runs and *done stays the caller's.  Any thread.
 *               Under a deterministic executor (E13) the job runs on the
 *               parking thread at the next park instead, in submission
 *               order, so that the schedule stays a function of the seed.
 *
 * Version >= 2 (ABI 1.2):
 * clock_advance: moves a virtual clock forward by ns and fires the timers
 *               that became due (D8), like tokio's time::advance; returns
 *               WEFT_ENOTSUP when the reactor keeps no clock (R12), which
 *               is the case for every real reactor.  Any thread.
 * fault:        asks whether the I/O library should inject a fault of the
 *               kind `site` (WEFT_FAULT_*) in the call it is making now:
 *               1 yes, 0 no.  Decided by the runtime's seeded generator
 *               with the configured probability (`sim_faults`), so a
 *               deterministic executor replays the same faults; always 0
 *               when faults are off (D9).  A library that gets 1 fails the
 *               call only in a way the system itself could.
 *
 * Version >= 3 (ABI 1.3), completion I/O (D10, D11):
 * op_submit:    starts an operation on a reactor that claims
 *               WEFT_REACTOR_COMPLETION: 0 with *id set, WEFT_ENOTSUP when
 *               the reactor does not claim it (the caller then uses
 *               readiness: io_add and io_poll), or a negative error.  The
 *               driver owns every buffer it lends the system: it copies
 *               what the operation sends (data of SEND and WRITE, the
 *               address of CONNECT) and allocates len bytes for what it
 *               receives, so the caller's memory is free again at once.
 *               Submissions are handed to the reactor at the next park,
 *               one batch per park.  Any thread.
 * op_poll:      WEFT_READY with *result set (bytes, a new fd, 0, or -errno)
 *               once the operation has completed, and for RECV and READ
 *               *data pointing at the bytes received, readable until
 *               op_del; a multishot accept is ready once per connection,
 *               in order, until its final result; once that final
 *               result was taken, WEFT_ECLOSED.  WEFT_PENDING after
 *               storing cx->waker; negative on a bad id.  Any thread.
 * op_del:       ends the operation and frees the id: one still in flight
 *               is cancelled, its waker dropped unwoken; the driver keeps
 *               its buffer until the reactor reports the final completion
 *               (R16) and closes fds an accept produced that nobody took.
 *               A CLOSE is not cancelled: it runs to its final
 *               completion, its result nobody's.  Any thread.
 */
struct weft_io_op;
#define WEFT_DRIVER_OPS_VERSION 3 /**< layout of the struct below */
struct weft_driver_ops {
	uint32_t version; /**< WEFT_DRIVER_OPS_VERSION */
	/** monotonic time in ns (D1) */
	uint64_t (*now)(struct weft_driver *d);
	/** arms a timer at a deadline */
	int (*timer_add)(struct weft_driver *d, uint64_t deadline_ns,
			 uint64_t *id);
	/** ready once the deadline passed (D2) */
	int (*timer_poll)(struct weft_driver *d, uint64_t id,
			  struct weft_context *cx);
	/** cancels and frees a timer */
	void (*timer_del)(struct weft_driver *d, uint64_t id);
	/** registers a non-blocking fd */
	int (*io_add)(struct weft_driver *d, int fd, uint32_t interest,
		      uint64_t *id);
	/** ready when the fd is */
	int (*io_poll)(struct weft_driver *d, uint64_t id, uint32_t interest,
		       struct weft_context *cx, uint32_t *ready);
	/** forgets readiness after EAGAIN */
	void (*io_clear)(struct weft_driver *d, uint64_t id, uint32_t ready);
	/** deregisters an fd (D4) */
	int (*io_del)(struct weft_driver *d, uint64_t id);
	/** waits for I/O or a timer */
	int (*park)(struct weft_driver *d, int64_t timeout_ns);
	int (*unpark)(struct weft_driver *d); /**< makes park return */
	/** runs fn on the blocking pool */
	int (*blocking)(struct weft_driver *d, void (*fn)(void *arg),
			void *arg, struct weft_waker *done);
	/** version >= 2: moves a virtual clock forward (D8) */
	int (*clock_advance)(struct weft_driver *d, uint64_t ns);
	/** version >= 2: 1 to inject a fault of kind site (D9) */
	int (*fault)(struct weft_driver *d, uint32_t site);
	/** version >= 3: starts a completion operation (D10) */
	int (*op_submit)(struct weft_driver *d, const struct weft_io_op *op,
			 uint64_t *id);
	/** version >= 3: ready with the operation's result (D10) */
	int (*op_poll)(struct weft_driver *d, uint64_t id,
		       struct weft_context *cx, int32_t *result,
		       const void **data);
	/** version >= 3: ends the operation, cancelling it in flight (D11) */
	void (*op_del)(struct weft_driver *d, uint64_t id);
};

/**
 * @struct weft_io_op
 * One operation for weft_driver_ops.op_submit (D10).  opcode and flags are
 * those of struct weft_reactor_op (WEFT_OP_*).  Read during op_submit only.
 */
#define WEFT_IO_OP_VERSION 1 /**< layout of the struct below */
struct weft_io_op {
	uint32_t version; /**< WEFT_IO_OP_VERSION */
	uint32_t opcode; /**< WEFT_OP_* */
	int32_t fd; /**< the fd the operation acts on */
	uint32_t flags; /**< WEFT_OP_MULTISHOT, for accept only */
	const void *data; /**< SEND, WRITE: the bytes; CONNECT: the address */
	uint32_t len; /**< bytes of data, or bytes to receive (RECV, READ) */
	uint32_t reserved; /**< 0 */
	int64_t offset; /**< READ and WRITE: file offset, or -1 */
};

/** Fault kinds for weft_driver_ops.fault (D9). */
#define WEFT_FAULT_SHORT_IO 1u /**< a read or write moves fewer bytes */
#define WEFT_FAULT_SPURIOUS 2u /**< readiness that turns out EAGAIN */
#define WEFT_FAULT_RESET 3u    /**< the connection fails with ECONNRESET */

/** The host's driver of a runtime; see struct weft_driver_ops. */
struct weft_driver {
	uint32_t version; /**< version of the driver */
	const struct weft_driver_ops *ops; /**< its methods */
};

#define WEFT__HAS(obj, member, minver)                                   \
	((obj) && (obj)->ops && (obj)->ops->version >= (minver) &&        \
	 (obj)->ops->member)

/** weft_driver_ops.now: monotonic time in nanoseconds (D1). */
static inline uint64_t
weft_driver_now(struct weft_driver *d)
{
	return WEFT__HAS(d, now, 1) ? d->ops->now(d) : 0;
}

/** weft_driver_ops.timer_add, or WEFT_ENOTSUP. */
static inline int
weft_driver_timer_add(struct weft_driver *d, uint64_t deadline, uint64_t *id)
{
	return WEFT__HAS(d, timer_add, 1) ? d->ops->timer_add(d, deadline, id)
					  : WEFT_ENOTSUP;
}

/** weft_driver_ops.timer_poll, or WEFT_ENOTSUP. */
static inline int
weft_driver_timer_poll(struct weft_driver *d, uint64_t id,
		       struct weft_context *cx)
{
	return WEFT__HAS(d, timer_poll, 1) ? d->ops->timer_poll(d, id, cx)
					   : WEFT_ENOTSUP;
}

/** weft_driver_ops.timer_del. */
static inline void
weft_driver_timer_del(struct weft_driver *d, uint64_t id)
{
	if (WEFT__HAS(d, timer_del, 1))
		d->ops->timer_del(d, id);
}

/** weft_driver_ops.io_add, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_add(struct weft_driver *d, int fd, uint32_t interest,
		   uint64_t *id)
{
	return WEFT__HAS(d, io_add, 1) ? d->ops->io_add(d, fd, interest, id)
				       : WEFT_ENOTSUP;
}

/** weft_driver_ops.io_poll, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_poll(struct weft_driver *d, uint64_t id, uint32_t interest,
		    struct weft_context *cx, uint32_t *ready)
{
	return WEFT__HAS(d, io_poll, 1)
		       ? d->ops->io_poll(d, id, interest, cx, ready)
		       : WEFT_ENOTSUP;
}

/** weft_driver_ops.io_clear. */
static inline void
weft_driver_io_clear(struct weft_driver *d, uint64_t id, uint32_t ready)
{
	if (WEFT__HAS(d, io_clear, 1))
		d->ops->io_clear(d, id, ready);
}

/** weft_driver_ops.io_del, or WEFT_ENOTSUP. */
static inline int
weft_driver_io_del(struct weft_driver *d, uint64_t id)
{
	return WEFT__HAS(d, io_del, 1) ? d->ops->io_del(d, id) : WEFT_ENOTSUP;
}

/** weft_driver_ops.park, or WEFT_ENOTSUP. */
static inline int
weft_driver_park(struct weft_driver *d, int64_t timeout_ns)
{
	return WEFT__HAS(d, park, 1) ? d->ops->park(d, timeout_ns)
				     : WEFT_ENOTSUP;
}

/** weft_driver_ops.unpark, or WEFT_ENOTSUP. */
static inline int
weft_driver_unpark(struct weft_driver *d)
{
	return WEFT__HAS(d, unpark, 1) ? d->ops->unpark(d) : WEFT_ENOTSUP;
}

/** weft_driver_ops.blocking, or WEFT_ENOTSUP. */
static inline int
weft_driver_blocking(struct weft_driver *d, void (*fn)(void *arg), void *arg,
		     struct weft_waker *done)
{
	return WEFT__HAS(d, blocking, 1) ? d->ops->blocking(d, fn, arg, done)
					 : WEFT_ENOTSUP;
}

/** weft_driver_ops.clock_advance, or WEFT_ENOTSUP (D8). */
static inline int
weft_driver_clock_advance(struct weft_driver *d, uint64_t ns)
{
	return WEFT__HAS(d, clock_advance, 2) ? d->ops->clock_advance(d, ns)
					      : WEFT_ENOTSUP;
}

/** weft_driver_ops.fault: 1 to inject a fault of kind site, else 0 (D9). */
static inline int
weft_driver_fault(struct weft_driver *d, uint32_t site)
{
	return WEFT__HAS(d, fault, 2) ? d->ops->fault(d, site) : 0;
}

/** weft_driver_ops.op_submit, or WEFT_ENOTSUP (D10). */
static inline int
weft_driver_op_submit(struct weft_driver *d, const struct weft_io_op *op,
		      uint64_t *id)
{
	return WEFT__HAS(d, op_submit, 3) ? d->ops->op_submit(d, op, id)
					  : WEFT_ENOTSUP;
}

/** weft_driver_ops.op_poll, or WEFT_ENOTSUP (D10). */
static inline int
weft_driver_op_poll(struct weft_driver *d, uint64_t id,
		    struct weft_context *cx, int32_t *result, const void **data)
{
	return WEFT__HAS(d, op_poll, 3)
		       ? d->ops->op_poll(d, id, cx, result, data)
		       : WEFT_ENOTSUP;
}

/** weft_driver_ops.op_del (D11); nothing on an older driver. */
static inline void
weft_driver_op_del(struct weft_driver *d, uint64_t id)
{
	if (WEFT__HAS(d, op_del, 3))
		d->ops->op_del(d, id);
}

/**
 * Reads a setting of the runtime's configuration during a plugin's init
 * (P8): the value of `key` as a string, or NULL when unset.  The string is
 * valid until init returns.
 */
typedef const char *(*weft_setting_fn)(void *ctx, const char *key);

#endif /* WEFT_ABI_DRIVER_H */
