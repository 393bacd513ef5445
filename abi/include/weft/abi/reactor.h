/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The reactor plugin interface (R rules): readiness and completion operations,
 * its parameters and the methods the host calls.
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_REACTOR_H
#define WEFT_ABI_REACTOR_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
#endif

/* ------------------------------------------------------------------ */
/* Reactor plugin interface (R rules)                                  */
/* ------------------------------------------------------------------ */

struct weft_reactor;

/** Capability flags of a reactor. */
#define WEFT_REACTOR_EDGE 0x1u /**< reports each readiness once per edge */
#define WEFT_REACTOR_LEVEL 0x2u /**< reports readiness while it lasts */
/** add/modify/del may run while another thread is inside wait (R5). */
#define WEFT_REACTOR_CONCURRENT_CTL 0x4u
/**
 * The reactor keeps the runtime's clock: a virtual one that moves only
 * through wait and advance (R12).  ABI 1.2.
 */
#define WEFT_REACTOR_CLOCK 0x8u

/**
 * The reactor runs operations the host submits and reports their
 * completions (R13-R16).  ABI 1.3; needs an interface of version 3.
 */
#define WEFT_REACTOR_COMPLETION 0x10u

/**
 * One readiness report, in an array the host owns.  Frozen: its layout is
 * part of the ABI signature.
 */
struct weft_reactor_event {
	uint64_t token; /**< the token given to add or modify */
	uint32_t ready; /**< WEFT_READABLE | WEFT_WRITABLE | WEFT_HUP | WEFT_ERROR */
	uint32_t reserved; /**< 0 */
};

/**
 * Bits of weft_reactor_event.ready that mark a completion (ABI 1.3, R13).
 * A completion carries the token of its operation, WEFT_COMPLETE, and
 * WEFT_MORE when the operation stays active and will complete again (a
 * multishot accept); its result is read with weft_reactor_event_result().
 * A completion never carries readiness bits, and readiness events never
 * carry these.
 */
#define WEFT_COMPLETE 0x100u
#define WEFT_MORE 0x200u /**< with WEFT_COMPLETE: not the final completion */

/**
 * The result of a completion (R13): a count of bytes, a new fd or 0 on
 * success, -errno on failure.  It travels in the frozen event's last
 * member, so the event's layout is that of 1.0.
 */
static inline int32_t
weft_reactor_event_result(const struct weft_reactor_event *ev)
{
	return (int32_t)ev->reserved;
}

/**
 * Operations a completion reactor runs (R13).  Each does what the named
 * system call does, with its result as that call's return value or -errno.
 *
 * WEFT_OP_RECV     recv(fd, buf, len, 0) on a stream socket; 0 at EOF.
 * WEFT_OP_SEND     send(fd, buf, len, MSG_NOSIGNAL); bytes sent.
 * WEFT_OP_ACCEPT   accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
 *                  the new fd.  With WEFT_OP_MULTISHOT, one completion per
 *                  connection, each with WEFT_MORE while it stays armed.
 *                  buf and len are unused.
 * WEFT_OP_CONNECT  connect(fd, buf, len) on a non-blocking socket, with buf
 *                  a struct sockaddr of len bytes; 0 once connected.
 * WEFT_OP_READ     pread(fd, buf, len, offset), or read(fd, buf, len) when
 *                  offset is -1.
 * WEFT_OP_WRITE    pwrite(fd, buf, len, offset), or write when offset is -1.
 * WEFT_OP_CLOSE    close(fd); buf and len are unused.
 */
#define WEFT_OP_RECV 1u /**< recv on a stream socket */
#define WEFT_OP_SEND 2u /**< send, MSG_NOSIGNAL */
#define WEFT_OP_ACCEPT 3u /**< accept4, non-blocking, close-on-exec */
#define WEFT_OP_CONNECT 4u /**< connect to the address at buf */
#define WEFT_OP_READ 5u /**< pread, or read at offset -1 */
#define WEFT_OP_WRITE 6u /**< pwrite, or write at offset -1 */
#define WEFT_OP_CLOSE 7u /**< close */

/** weft_reactor_op.flags: complete once per result until cancelled. */
#define WEFT_OP_MULTISHOT 0x1u

/**
 * @struct weft_reactor_op
 * One operation, given to a completion reactor's submit (R13).  The struct
 * is read during submit only; buf is owned by the host and lent to the
 * reactor (and the system) from submit until the operation's final
 * completion is reported, and not a moment longer (R16).
 */
#define WEFT_REACTOR_OP_VERSION 1 /**< layout of the struct below */
struct weft_reactor_op {
	uint32_t version; /**< WEFT_REACTOR_OP_VERSION */
	uint32_t opcode; /**< WEFT_OP_* */
	uint64_t token; /**< reported back with each completion */
	int32_t fd; /**< the fd the operation acts on */
	uint32_t flags; /**< WEFT_OP_MULTISHOT, for accept only */
	void *buf; /**< the data, the destination, or the address */
	uint32_t len; /**< bytes at buf, at most INT32_MAX */
	uint32_t reserved; /**< 0 */
	int64_t offset; /**< READ and WRITE: file offset, or -1 */
};

#define WEFT_REACTOR_PARAMS_VERSION 2 /**< layout of the struct below */
/** Given to a reactor's init. */
struct weft_reactor_params {
	uint32_t version; /**< WEFT_REACTOR_PARAMS_VERSION */
	uint32_t max_events; /**< hint: largest batch the host will ask for */
	weft_setting_fn setting; /**< version >= 2: reads a setting (P8) */
	void *setting_ctx; /**< version >= 2: setting's first argument */
};

/**
 * @struct weft_reactor_iface
 * The reactor class a plugin exports.  A reactor reports; it never
 * dispatches or calls back (R1).  Instances are allocated by the host as
 * for executors.  Except for wakeup, methods are called by one thread at a
 * time (the host serialises them) — unless the reactor claims
 * WEFT_REACTOR_CONCURRENT_CTL: then add/modify/del may also run while
 * another thread is inside wait (still never two of them at once), and the
 * host need not interrupt a wait to change a registration.
 *
 * add/modify: register fd with interest (READABLE|WRITABLE) and a token
 *             that wait reports back (R2); negative error (e.g. -EBADF,
 *             -EPERM for a regular file) if the system refuses.
 * del:        forget fd; no event for it is reported by a later wait.
 * wait:       blocks at most timeout_ns (WEFT_TIMEOUT_INFINITE: no limit;
 *             0: just check; never returns early except for events,
 *             wakeup or a signal), fills up to capacity events and returns
 *             their count (0 on timeout, wakeup or EINTR) or -errno (R3).
 * wakeup:     makes a concurrent wait return promptly, or the next one if
 *             none is waiting.  Any thread, concurrently with wait (R4).
 * fini:       frees everything init made.
 *
 * Version >= 2 (ABI 1.2), only with WEFT_REACTOR_CLOCK (R12):
 * now:        the reactor's clock in nanoseconds: monotonic, moved only by
 *             wait and advance.  The host then reads all time from it.
 *             Any thread.
 * advance:    moves the clock forward by ns.  Any thread.
 * With a clock, a wait with a finite timeout that finds no event returns 0
 * at once with the clock moved forward by exactly the timeout (time jumps
 * to the next deadline), and R3's "never early" holds on this clock.
 *
 * Version >= 3 (ABI 1.3), only with WEFT_REACTOR_COMPLETION (R13-R16):
 * submit:     queues an operation; 0 when accepted (exactly one final
 *             completion will be reported for it), or a negative error
 *             and nothing is ever reported for it (-EINVAL for an opcode,
 *             flag or version it does not know).  Never blocks: the
 *             operation starts at the latest in the next wait, which is
 *             how the submissions of a round are batched (R14).  Called
 *             under the same one-thread rule as add.
 * cancel:     asks the operation with this token to end (R15): 0, and its
 *             final completion follows in a later wait, with -ECANCELED
 *             or with its own result if it finished first; -ENOENT when
 *             no operation with this token is in flight.  Same thread
 *             rule as add.
 * With operations in flight, fini returns only once the system has let go
 * of every buffer lent to it (R16).
 */
#define WEFT_REACTOR_IFACE_VERSION 3 /**< layout of the struct below */
struct weft_reactor_iface {
	uint32_t version; /**< WEFT_REACTOR_IFACE_VERSION */
	uint32_t flags; /**< WEFT_REACTOR_* capability flags */
	size_t instance_size; /**< bytes the host allocates */
	/** sets the instance up */
	int (*init)(struct weft_reactor *self,
		    const struct weft_reactor_params *params);
	/** registers fd with a token (R2) */
	int (*add)(struct weft_reactor *self, int fd, uint32_t interest,
		   uint64_t token);
	/** changes interest and token (R2) */
	int (*modify)(struct weft_reactor *self, int fd, uint32_t interest,
		      uint64_t token);
	int (*del)(struct weft_reactor *self, int fd); /**< forgets fd */
	/** reports ready events (R3) */
	int (*wait)(struct weft_reactor *self, struct weft_reactor_event *events,
		    uint32_t capacity, int64_t timeout_ns);
	int (*wakeup)(struct weft_reactor *self); /**< makes wait return (R4) */
	void (*fini)(struct weft_reactor *self); /**< frees what init made */
	/** version >= 2, with WEFT_REACTOR_CLOCK: the clock in ns (R12) */
	uint64_t (*now)(struct weft_reactor *self);
	/** version >= 2, with WEFT_REACTOR_CLOCK: moves the clock (R12) */
	int (*advance)(struct weft_reactor *self, uint64_t ns);
	/** version >= 3, with WEFT_REACTOR_COMPLETION: queues an op (R13) */
	int (*submit)(struct weft_reactor *self,
		      const struct weft_reactor_op *op);
	/** version >= 3, with WEFT_REACTOR_COMPLETION: ends an op (R15) */
	int (*cancel)(struct weft_reactor *self, uint64_t token);
};

/** The public head of every reactor instance; filled as for executors. */
struct weft_reactor {
	uint32_t version; /**< version of the instance header */
	const struct weft_reactor_iface *ops; /**< its class */
};

/** weft_reactor_iface.add, or WEFT_ENOTSUP. */
static inline int
weft_reactor_add(struct weft_reactor *r, int fd, uint32_t interest,
		 uint64_t token)
{
	return WEFT__HAS(r, add, 1) ? r->ops->add(r, fd, interest, token)
				    : WEFT_ENOTSUP;
}

/** weft_reactor_iface.modify, or WEFT_ENOTSUP. */
static inline int
weft_reactor_modify(struct weft_reactor *r, int fd, uint32_t interest,
		    uint64_t token)
{
	return WEFT__HAS(r, modify, 1) ? r->ops->modify(r, fd, interest, token)
				       : WEFT_ENOTSUP;
}

/** weft_reactor_iface.del, or WEFT_ENOTSUP. */
static inline int
weft_reactor_del(struct weft_reactor *r, int fd)
{
	return WEFT__HAS(r, del, 1) ? r->ops->del(r, fd) : WEFT_ENOTSUP;
}

/** weft_reactor_iface.wait, or WEFT_ENOTSUP. */
static inline int
weft_reactor_wait(struct weft_reactor *r, struct weft_reactor_event *ev,
		  uint32_t capacity, int64_t timeout_ns)
{
	return WEFT__HAS(r, wait, 1) ? r->ops->wait(r, ev, capacity, timeout_ns)
				     : WEFT_ENOTSUP;
}

/** weft_reactor_iface.wakeup, or WEFT_ENOTSUP. */
static inline int
weft_reactor_wakeup(struct weft_reactor *r)
{
	return WEFT__HAS(r, wakeup, 1) ? r->ops->wakeup(r) : WEFT_ENOTSUP;
}

/** True when the reactor keeps the runtime's clock (R12). */
static inline bool
weft_reactor_has_clock(const struct weft_reactor *r)
{
	return WEFT__HAS(r, now, 2) && r->ops->advance &&
	       (r->ops->flags & WEFT_REACTOR_CLOCK);
}

/** weft_reactor_iface.advance, or WEFT_ENOTSUP (R12). */
static inline int
weft_reactor_advance(struct weft_reactor *r, uint64_t ns)
{
	return weft_reactor_has_clock(r) ? r->ops->advance(r, ns)
					 : WEFT_ENOTSUP;
}

/** True when the reactor runs submitted operations (R13, ABI 1.3). */
static inline bool
weft_reactor_has_completion(const struct weft_reactor *r)
{
	return WEFT__HAS(r, submit, 3) && r->ops->cancel &&
	       (r->ops->flags & WEFT_REACTOR_COMPLETION);
}

/** weft_reactor_iface.submit, or WEFT_ENOTSUP (R13). */
static inline int
weft_reactor_submit(struct weft_reactor *r, const struct weft_reactor_op *op)
{
	return weft_reactor_has_completion(r) ? r->ops->submit(r, op)
					      : WEFT_ENOTSUP;
}

/** weft_reactor_iface.cancel, or WEFT_ENOTSUP (R15). */
static inline int
weft_reactor_cancel(struct weft_reactor *r, uint64_t token)
{
	return weft_reactor_has_completion(r) ? r->ops->cancel(r, token)
					      : WEFT_ENOTSUP;
}

#endif /* WEFT_ABI_REACTOR_H */
