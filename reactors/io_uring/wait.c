/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor's wait: it hands the kernel what add, modify,
 * submit and cancel queued, sleeps until the CQ holds a completion, and
 * turns completions into the host's events: readiness for registrations,
 * WEFT_COMPLETE for operations (ops.c).
 *
 * System calls: a wait that finds the CQ empty makes one, io_uring_enter
 * with the queued SQEs, IORING_ENTER_GETEVENTS and a timespec
 * (IORING_ENTER_EXT_ARG): it submits, sleeps and wakes in one call, with
 * the timeout exact to the nanosecond (plus the kernel's timer slack)
 * instead of rounded to a millisecond.  A wait that finds completions
 * already there only submits, if anything is queued, before it reaps
 * (an operation that completes at once in the submission is then in this
 * wait's events), and a zero timeout only looks at the CQ ring.
 *
 * Under Valgrind (3.19) the sleep is ppoll(2) on the ring's fd, which is
 * readable while the CQ holds completions, after a submit that does not
 * wait: Valgrind runs io_uring_enter as a call that returns at once and
 * keeps its scheduler lock through it, so a wait there would keep the
 * thread that is to wake it off the CPU for good.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "uring.h"

/* The longest single sleep in the kernel: an hour (see block). */
#define BLOCK_MAX_NS (3600 * INT64_C(1000000000))


static uint32_t
ready_of(int32_t res, uint32_t interest)
{
	uint32_t ready = 0;

	if (res < 0)
		return WEFT_ERROR;
	if (res & POLLIN)
		ready |= WEFT_READABLE;
	if (res & POLLOUT)
		ready |= WEFT_WRITABLE;
	if (res & (POLLHUP | POLLRDHUP))
		ready |= WEFT_HUP;
	if (res & POLLERR)
		ready |= WEFT_ERROR;
	/* R2: only the interest registered, and HUP and ERROR. */
	return ready & (interest | WEFT_HUP | WEFT_ERROR);
}


/*
 * A registration's completion: its readiness into events, one entry per
 * fd per wait (two edges seen in one wait are one report), and a new
 * request when the kernel ended this one (queued: the next call into the
 * kernel takes it).  With the lock held.
 */
static void
take_poll(struct impl *r, const struct io_uring_cqe *cqe,
          struct weft_reactor_event *events, uint32_t *out)
{
	int fd = (int)(uint32_t)cqe->user_data;
	uint32_t gen = (uint32_t)(cqe->user_data >> 32);
	struct reg *reg = weft__uring_find(r, fd);
	uint32_t ready;

	if (!reg || reg->gen != gen)
		return; /* cancelled, or an earlier registration of fd */
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/*
		 * Ended by the kernel: arm again.  The new request reports the
		 * readiness there is now, so an edge lost in between is not.
		 */
		reg->gen = weft__uring_take_gen(r);
		if (weft__uring_queue_poll(r, fd,
		                           weft__uring_poll_mask(reg->interest),
		                           ud_of(fd, reg->gen)) < 0)
			reg->gen = gen; /* no SQE: report the end instead */
	}
	/* A request cancelled by the kernel (not by us) is no readiness. */
	if (cqe->res == -ECANCELED)
		return;
	ready = ready_of(cqe->res, reg->interest);
	if (!ready)
		return;
	if (reg->round == r->round && reg->slot < *out &&
	    events[reg->slot].token == reg->token) {
		events[reg->slot].ready |= ready;
		return;
	}
	reg->round = r->round;
	reg->slot = *out;
	events[*out].token = reg->token;
	events[*out].ready = ready;
	events[*out].reserved = 0;
	(*out)++;
}


static void
drain_wakefd(struct impl *r)
{
	uint64_t count;

	/* EAGAIN only means the count was read already. */
	while (read(r->wakefd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}


/*
 * Turns what the CQ holds into events, at most capacity of them (R1: the
 * rest stays in the CQ for the next wait), after submitting what is
 * queued.  *woken: a wakeup was among them.  Returns the count of events.
 */
static uint32_t
reap(struct impl *r, struct weft_reactor_event *events, uint32_t capacity,
     bool *woken)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	uint32_t out = 0;
	bool wake = false;

	pthread_mutex_lock(&r->lock);
	if (io_uring_sq_ready(&r->ring) > 0)
		(void)weft__uring_submit(r);
	/*
	 * Completions the CQ had no room for wait in the kernel's overflow
	 * list; peeking an empty CQ flushes them (it enters the kernel only
	 * then).
	 */
	if (io_uring_cq_ready(&r->ring) == 0 &&
	    io_uring_cq_has_overflow(&r->ring))
		(void)io_uring_peek_cqe(&r->ring, &cqe);
	r->round = r->round == UINT32_MAX ? 1 : r->round + 1;
	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		if (out == capacity)
			break;
		seen++;
		if (ud_is_poll(cqe->user_data)) {
			take_poll(r, cqe, events, &out);
		} else if (ud_is_op(cqe->user_data)) {
			weft__uring_op_take(r, cqe, events, &out);
		} else if (cqe->user_data == UD_WAKE) {
			wake = true;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				(void)weft__uring_queue_poll(r, r->wakefd,
				                             POLLIN, UD_WAKE);
		}
		/* UD_IGNORE: a cancellation's own result. */
	}
	io_uring_cq_advance(&r->ring, seen);
	pthread_mutex_unlock(&r->lock);
	if (wake)
		drain_wakefd(r);
	*woken = wake;
	return out;
}


static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/*
 * What the SQ holds, made visible to the kernel; returns how many entries
 * it has not taken yet.  liburing 2.3 does this inside io_uring_submit
 * only, together with the call, and the call is made here without the
 * lock.  The release store orders the SQEs before the tail, as the
 * kernel's acquire load of the tail expects.
 */
static unsigned
flush_sq(struct impl *r)
{
	struct io_uring_sq *sq = &r->ring.sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - io_uring_smp_load_acquire(sq->khead);
}


/* Valgrind's sleep: ppoll on the ring's fd (see the top of the file). */
static int
block_ppoll(struct impl *r, const struct timespec *ts)
{
	struct pollfd pfd = {.fd = r->ring.ring_fd, .events = POLLIN};
	int n = ppoll(&pfd, 1, ts, NULL);

	if (n < 0)
		return -errno;
	return n == 0 ? -ETIME : 0;
}


int
weft__uring_block(struct impl *r, int64_t timeout_ns)
{
	struct __kernel_timespec kts;
	struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8};
	struct timespec ts;
	unsigned to_submit = 0;
	int n;

	/* An hour at most at a time: wait loops for the rest. */
	if (timeout_ns > BLOCK_MAX_NS)
		timeout_ns = BLOCK_MAX_NS;
	ts.tv_sec = timeout_ns / 1000000000;
	ts.tv_nsec = timeout_ns % 1000000000;
	kts.tv_sec = ts.tv_sec;
	kts.tv_nsec = ts.tv_nsec;
	if (timeout_ns >= 0)
		arg.ts = (uint64_t)(uintptr_t)&kts;
	/*
	 * sleeping is set with the SQ flushed, in one hold of the lock: a
	 * request queued afterwards is submitted by its caller (kick).
	 */
	pthread_mutex_lock(&r->lock);
	if (r->valgrind) {
		if (io_uring_sq_ready(&r->ring) > 0)
			(void)weft__uring_submit(r);
	} else {
		to_submit = flush_sq(r);
	}
	r->sleeping = true;
	pthread_mutex_unlock(&r->lock);
	if (r->valgrind)
		n = block_ppoll(r, timeout_ns < 0 ? NULL : &ts);
	else
		n = io_uring_enter2((unsigned)r->ring.ring_fd, to_submit, 1,
		                    IORING_ENTER_GETEVENTS |
		                        IORING_ENTER_EXT_ARG,
		                    (sigset_t *)&arg, sizeof(arg));
	pthread_mutex_lock(&r->lock);
	r->sleeping = false;
	pthread_mutex_unlock(&r->lock);
	/*
	 * A call that submitted returns the count submitted, whatever its
	 * wait did: the caller looks at the CQ and its deadline again.
	 */
	return n > 0 ? 0 : n;
}


int
weft__uring_wait(struct weft_reactor *self, struct weft_reactor_event *events,
                 uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	int64_t deadline = 0, left = timeout_ns;
	uint32_t got;
	bool woken;
	int err;

	if (capacity == 0)
		return -EINVAL;
	if (timeout_ns > 0) {
		/* R3: a timeout past the clock's range is clamped. */
		deadline = now_ns();
		deadline = deadline > INT64_MAX - timeout_ns
		               ? INT64_MAX
		               : deadline + timeout_ns;
	}
	for (;;) {
		/*
		 * With the CQ empty, the sleep below submits: reaping first
		 * would cost a call of its own.
		 */
		if (timeout_ns == 0 || io_uring_cq_ready(&r->ring) > 0 ||
		    io_uring_cq_has_overflow(&r->ring)) {
			got = reap(r, events, capacity, &woken);
			if (got > 0 || woken || timeout_ns == 0)
				return (int)got;
		}
		/*
		 * Completions that were no event (a cancellation, a stale
		 * generation) end the kernel's wait too; R3 wants the rest of
		 * the timeout slept, so wait again for what is left.
		 */
		if (timeout_ns > 0) {
			left = deadline - now_ns();
			if (left <= 0)
				return 0;
		}
		err = weft__uring_block(r, left);
		if (err == -EINTR)
			return 0;
		/* -ETIME: the loop looks once more, then checks the deadline.
		 */
		if (err < 0 && err != -ETIME)
			return err;
	}
}


int
weft__uring_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	uint64_t one = 1;

	for (;;) {
		if (write(r->wakefd, &one, sizeof(one)) == sizeof(one))
			return 0;
		/* EAGAIN: the counter is full, so a wakeup is pending. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}
