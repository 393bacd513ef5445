/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor's private header: the instance, the names of the
 * ring's requests (user_data), and what the three files of the reactor
 * call in each other.
 *
 *   io_uring.c  init, fini, registrations (add, modify, del), the plugin
 *   wait.c      wait: hands queued SQEs to the kernel, sleeps, turns
 *               completions into events; wakeup
 *   ops.c       the completion extension: submit, cancel, the table of
 *               operations in flight, and fini's reaping of them (R13-R16)
 *
 * Everything here is under the instance's lock unless it says otherwise.
 */
#ifndef WEFT_REACTOR_URING_H
#define WEFT_REACTOR_URING_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <weft/abi.h>

/*
 * user_data of the ring's requests, told apart by the top two bits:
 *
 *   0x  a registration's poll: (generation << 32 | fd), the generation in
 *       1..2^31-1
 *   10  an operation: OP_TAG | (generation << 32 | slot), the generation
 *       in 1..2^30-1
 *   11  the ring's own: the eventfd's poll and cancellations
 */
#define UD_WAKE    UINT64_MAX       /* the eventfd's poll */
#define UD_IGNORE  (UINT64_MAX - 1) /* cancellations: their result is moot */
#define GEN_MAX    0x7fffffffu
#define OP_TAG     (UINT64_C(1) << 63)
#define OP_GEN_MAX 0x3fffffffu

/* A registration's poll. */
static inline uint64_t
ud_of(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

static inline bool
ud_is_poll(uint64_t ud)
{
	return (ud >> 63) == 0;
}

static inline bool
ud_is_op(uint64_t ud)
{
	return (ud >> 62) == 2;
}

/* One fd's registration; gen 0: not registered. */
struct reg {
	uint64_t token;
	uint32_t interest;
	uint32_t gen;
	uint32_t round; /* the wait that last reported it, */
	uint32_t slot;  /* and its index in that wait's events */
};

/*
 * One operation in flight, from an accepted submit until its final
 * completion is reported; gen 0: a free slot.
 */
struct op {
	uint64_t token;
	void *buf; /* RECV and READ: marked defined for Valgrind */
	uint32_t gen;
	uint32_t next; /* hash chain or free list: slot + 1, 0 ends it */
	uint8_t opcode;
	bool cancelled; /* a cancellation is queued: one is enough */
};

/* The operations in flight, by slot and by token. */
struct ops {
	struct op *slots;
	uint32_t nslots;
	uint32_t free;     /* free list head: slot + 1 */
	uint32_t *buckets; /* by token: slot + 1 */
	uint32_t nbuckets; /* a power of two, or 0 */
	uint32_t inflight; /* slots in use */
	uint32_t next_gen;
};

struct impl {
	struct weft_reactor head; /* must come first: the host's view */
	struct io_uring ring;
	/* The SQ ring, regs, ops, next_gen, round and sleeping. */
	pthread_mutex_t lock;
	int wakefd;
	bool live;        /* init succeeded: fini has a ring to tear down */
	bool valgrind;    /* sleep in ppoll, not in io_uring_enter */
	bool sleeping;    /* a wait is (about to be) in the kernel */
	struct reg *regs; /* indexed by fd, grown on demand */
	uint32_t nregs;
	uint32_t next_gen;
	uint32_t round;
	struct ops ops;
};

/* io_uring.c */

/* An SQE, submitting what is queued if the SQ is full; NULL if none. */
struct io_uring_sqe *weft__uring_get_sqe(struct impl *r);
/* Submits what is queued now (io_uring_submit, EINTR retried). */
int weft__uring_submit(struct impl *r);
/* Queues a multishot poll for fd under ud. */
int weft__uring_queue_poll(struct impl *r, int fd, unsigned mask, uint64_t ud);
/* The registration of fd, or NULL. */
struct reg *weft__uring_find(struct impl *r, int fd);
/* A registration's next generation. */
uint32_t weft__uring_take_gen(struct impl *r);
unsigned weft__uring_poll_mask(uint32_t interest);

/*
 * Hands what is queued to the kernel: a call that takes it now when a wait
 * sleeps in the kernel (its request must reach the ring the wait sleeps
 * on, R5, R14); otherwise nothing, and the next wait takes it.
 */
int weft__uring_kick(struct impl *r);

/* wait.c */

int weft__uring_wait(struct weft_reactor *self,
                     struct weft_reactor_event *events, uint32_t capacity,
                     int64_t timeout_ns);
int weft__uring_wakeup(struct weft_reactor *self);
/*
 * Blocks until the CQ holds a completion or timeout_ns passes (negative:
 * no limit), first handing the kernel what the SQ holds.  Without the
 * lock.  0, -ETIME, -EINTR or another error.
 */
int weft__uring_block(struct impl *r, int64_t timeout_ns);

/* ops.c */

int weft__uring_op_submit(struct weft_reactor *self,
                          const struct weft_reactor_op *op);
int weft__uring_op_cancel(struct weft_reactor *self, uint64_t token);
/*
 * An operation's CQE into events (one completion per CQE); the slot is
 * freed with its final completion.
 */
void weft__uring_op_take(struct impl *r, const struct io_uring_cqe *cqe,
                         struct weft_reactor_event *events, uint32_t *out);
/*
 * fini's part (R16): cancels every operation in flight and reaps until
 * the kernel has posted the final completion of each, then frees the
 * table.  No lock: fini runs alone.
 */
void weft__uring_ops_fini(struct impl *r);

#endif /* WEFT_REACTOR_URING_H */
