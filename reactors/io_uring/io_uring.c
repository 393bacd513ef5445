/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor: edge-triggered readiness for Linux through
 * io_uring's multishot poll requests, on liburing.
 *
 * Every registration is one multishot IORING_OP_POLL_ADD whose user_data
 * names the fd and a generation; the kernel posts a completion per
 * readiness edge (multishot polls are edge-triggered unless asked for
 * IORING_POLL_ADD_LEVEL), and wait turns completions into (token, ready)
 * pairs in the host's array, as epoll does.  modify and del cancel the
 * request by its user_data; a completion whose generation is not the fd's
 * current one is stale and dropped, so neither a cancelled request nor a
 * reused fd number can report under the wrong token (R2, R6).  When the
 * kernel ends a multishot request (a completion without IORING_CQE_F_MORE:
 * the CQ overflowed, or the request failed) wait arms a new one.
 *
 * The wakeup is an eventfd polled by the ring under a reserved user_data:
 * a write needs no lock and no ring access, so any thread (and a signal
 * handler) may wake, and a thousand wakes before a wait cost one report.
 * A ring message (IORING_OP_MSG_RING) would save the waiter's read of the
 * eventfd, but the waking thread would have to take the SQ lock and
 * submit, and each message is a completion of its own, so a burst of
 * wakes could fill the CQ where the eventfd coalesces them.
 *
 * The wait sleeps in ppoll(2) on the ring's fd with a timespec, so
 * timeouts are exact to the nanosecond (plus the kernel's timer slack)
 * instead of rounded to a millisecond; see block for why not in
 * io_uring_enter.  A zero timeout only looks at the CQ ring, without a
 * system call unless the kernel holds completions back (an overflow).
 *
 * Threads: the host may add, modify and del while another thread waits
 * (WEFT_REACTOR_CONCURRENT_CTL).  The SQ ring has one producer at a time,
 * so its use and the registration table are under one mutex; the waiter
 * holds it while it turns completions into events, never while it sleeps
 * in the kernel (it submits nothing then, and needs no timeout SQE).  A request
 * submitted from a ctl thread takes effect in the wait already under way: its
 * completion wakes that wait.
 *
 * Refusal: io_uring_setup fails with EPERM under kernel.io_uring_disabled
 * or a seccomp profile, and with ENOSYS on a kernel built without it;
 * init returns that code, which the host reports with the plugin's
 * description (it names the causes).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <weft/abi.h>

/*
 * user_data of a registration's poll is (generation << 32 | fd), with the
 * generation in 1..2^31-1, so the top bit is never set there and the
 * values below, which have it, name the ring's own requests.
 */
#define UD_WAKE   UINT64_MAX       /* the eventfd's poll */
#define UD_IGNORE (UINT64_MAX - 1) /* cancellations: their result is moot */
#define GEN_MAX   0x7fffffffu

/*
 * The SQ holds what one ctl call or one wait's re-arms need; the CQ is
 * larger so that a burst of readiness between two waits rarely overflows
 * (an overflow ends the multishot requests that could not post, and wait
 * arms them again).
 */
#define IMPL_SQ_ENTRIES 256u
#define IMPL_CQ_ENTRIES 4096u

/* The longest single sleep in the kernel: an hour (see block). */
#define BLOCK_MAX_NS (3600 * INT64_C(1000000000))

/* Poll bits that mean what the host asked for, or HUP and ERROR. */
#define POLL_READ  (POLLIN | POLLRDHUP)
#define POLL_WRITE POLLOUT

/* One fd's registration; gen 0: not registered. */
struct reg {
	uint64_t token;
	uint32_t interest;
	uint32_t gen;
	uint32_t round; /* the wait that last reported it, */
	uint32_t slot;  /* and its index in that wait's events */
};

struct impl {
	struct weft_reactor head; /* must come first: the host's view */
	struct io_uring ring;
	/* The SQ ring, regs, nregs, next_gen and round. */
	pthread_mutex_t lock;
	int wakefd;
	bool live;        /* init succeeded: fini has a ring to tear down */
	struct reg *regs; /* indexed by fd, grown on demand */
	uint32_t nregs;
	uint32_t next_gen;
	uint32_t round;
};


static uint64_t
ud_of(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}


static uint32_t
take_gen(struct impl *r)
{
	uint32_t gen = r->next_gen;

	r->next_gen = gen == GEN_MAX ? 1 : gen + 1;
	return gen;
}


/*
 * Returns an SQE, submitting what is queued if the ring is full; NULL only
 * when even that does not make room.  With the lock held.
 */
static struct io_uring_sqe *
get_sqe(struct impl *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe && io_uring_submit(&r->ring) >= 0)
		sqe = io_uring_get_sqe(&r->ring);
	return sqe;
}


/* Submits what is queued, retrying a signal's interruption. */
static int
submit(struct impl *r)
{
	int n;

	do
		n = io_uring_submit(&r->ring);
	while (n == -EINTR);
	return n < 0 ? n : 0;
}


static unsigned
poll_mask_of(uint32_t interest)
{
	unsigned mask = 0;

	/*
	 * POLLRDHUP only with READABLE, as epoll: the peer stopped sending,
	 * which is news to a reader, not to a writer.
	 */
	if (interest & WEFT_READABLE)
		mask |= POLL_READ;
	if (interest & WEFT_WRITABLE)
		mask |= POLL_WRITE;
	return mask;
}


/* Queues a multishot poll for fd under ud.  With the lock held. */
static int
queue_poll(struct impl *r, int fd, unsigned mask, uint64_t ud)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, fd, mask);
	io_uring_sqe_set_data64(sqe, ud);
	return 0;
}


/* Queues the cancellation of the poll under ud.  With the lock held. */
static int
queue_cancel(struct impl *r, uint64_t ud)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_remove(sqe, ud);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	return 0;
}


static int
ur_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;
	struct io_uring_params p = {
	    .flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP |
	             IORING_SETUP_SUBMIT_ALL,
	    .cq_entries = IMPL_CQ_ENTRIES,
	};
	int err;

	/* max_events needs nothing here: completions wait in the CQ. */
	(void)params;
	err = io_uring_queue_init_params(IMPL_SQ_ENTRIES, &r->ring, &p);
	if (err < 0)
		return err; /* -EPERM: refused by sysctl or seccomp */
	/*
	 * Edge-triggered multishot polls and SUBMIT_ALL are there by 6.0,
	 * whose LINKED_FILE marks it.
	 */
	if (!(p.features & IORING_FEAT_LINKED_FILE)) {
		err = -ENOSYS;
		goto fail_ring;
	}
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		err = -err;
		goto fail_ring;
	}
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wakefd < 0) {
		err = -errno;
		goto fail_lock;
	}
	r->next_gen = 1;
	r->round = 1;
	err = queue_poll(r, r->wakefd, POLLIN, UD_WAKE);
	if (err == 0)
		err = submit(r);
	if (err < 0)
		goto fail_eventfd;
	r->live = true;
	return 0;

fail_eventfd:
	close(r->wakefd);
fail_lock:
	pthread_mutex_destroy(&r->lock);
fail_ring:
	io_uring_queue_exit(&r->ring);
	return err;
}


/* Makes regs cover fd.  With the lock held. */
static int
grow(struct impl *r, int fd)
{
	uint32_t n = r->nregs ? r->nregs : 64;
	struct reg *regs;

	if ((uint32_t)fd < r->nregs)
		return 0;
	while (n <= (uint32_t)fd)
		n *= 2;
	regs = realloc(r->regs, n * sizeof(*regs));
	if (!regs)
		return -ENOMEM;
	for (uint32_t i = r->nregs; i < n; i++)
		regs[i] = (struct reg){0};
	r->regs = regs;
	r->nregs = n;
	return 0;
}


/*
 * R11 before the ring sees the fd: a poll request would take a closed fd
 * or a regular file and fail or complete at once, where epoll refuses
 * them with EBADF and EPERM, and every reactor answers as epoll does.
 */
static int
check_fd(struct impl *r, int fd)
{
	struct stat st;

	if (fd == r->wakefd)
		return -EINVAL;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return -EPERM;
	return 0;
}


/* The registration of fd, or NULL.  With the lock held. */
static struct reg *
find(struct impl *r, int fd)
{
	if (fd < 0 || (uint32_t)fd >= r->nregs || r->regs[fd].gen == 0)
		return NULL;
	return &r->regs[fd];
}


/* modify and del of an fd not registered: R11's codes. */
static int
not_registered(int fd)
{
	return fd < 0 || fcntl(fd, F_GETFD) < 0 ? -EBADF : -ENOENT;
}


static int
ur_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	uint32_t gen;
	int err = check_fd(r, fd);

	if (err < 0)
		return err;
	pthread_mutex_lock(&r->lock);
	if (find(r, fd)) {
		err = -EEXIST;
		goto out;
	}
	err = grow(r, fd);
	if (err < 0)
		goto out;
	gen = take_gen(r);
	err = queue_poll(r, fd, poll_mask_of(interest), ud_of(fd, gen));
	if (err == 0)
		err = submit(r);
	if (err < 0) {
		/*
		 * The SQE may still sit in the ring for the next submit; its
		 * cancellation follows it there, so the refused add leaves
		 * nothing behind.
		 */
		queue_cancel(r, ud_of(fd, gen));
		goto out;
	}
	r->regs[fd] =
	    (struct reg){.token = token, .interest = interest, .gen = gen};
out:
	pthread_mutex_unlock(&r->lock);
	return err;
}


/*
 * Cancels the current request and arms one for the new interest under a
 * new generation, in one submit: completions of the old request that are
 * still in the CQ carry the old generation and are dropped.
 */
static int
ur_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct reg *reg;
	uint32_t gen;
	int err;

	if (fd == r->wakefd)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	reg = find(r, fd);
	if (!reg) {
		pthread_mutex_unlock(&r->lock);
		return not_registered(fd);
	}
	gen = take_gen(r);
	err = queue_cancel(r, ud_of(fd, reg->gen));
	if (err == 0)
		err = queue_poll(r, fd, poll_mask_of(interest), ud_of(fd, gen));
	if (err == 0)
		err = submit(r);
	if (err == 0)
		*reg = (struct reg){
		    .token = token, .interest = interest, .gen = gen};
	pthread_mutex_unlock(&r->lock);
	return err;
}


static int
ur_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	struct reg *reg;
	int err;

	if (fd == r->wakefd)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	reg = find(r, fd);
	if (!reg) {
		pthread_mutex_unlock(&r->lock);
		return not_registered(fd);
	}
	/*
	 * Forgotten at once (R6): whatever the request still posts carries a
	 * generation no registration has.  The cancellation releases the
	 * kernel's reference to the file, so it is submitted now, before the
	 * host closes the fd; if the submit fails it stays queued for the
	 * next one.
	 */
	err = queue_cancel(r, ud_of(fd, reg->gen));
	if (err == 0)
		(void)submit(r);
	reg->gen = 0;
	pthread_mutex_unlock(&r->lock);
	return 0;
}


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
 * request when the kernel ended this one.  With the lock held.
 */
static void
take_poll(struct impl *r, const struct io_uring_cqe *cqe,
          struct weft_reactor_event *events, uint32_t *out, bool *rearmed)
{
	int fd = (int)(uint32_t)cqe->user_data;
	uint32_t gen = (uint32_t)(cqe->user_data >> 32);
	struct reg *reg = find(r, fd);
	uint32_t ready;

	if (!reg || reg->gen != gen)
		return; /* cancelled, or an earlier registration of fd */
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/*
		 * Ended by the kernel: arm again.  The new request reports the
		 * readiness there is now, so an edge lost in between is not.
		 */
		reg->gen = take_gen(r);
		if (queue_poll(r, fd, poll_mask_of(reg->interest),
		               ud_of(fd, reg->gen)) == 0)
			*rearmed = true;
		else
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
 * rest stays in the CQ for the next wait).  *woken: a wakeup was among
 * them.  Returns the count of events.
 */
static uint32_t
reap(struct impl *r, struct weft_reactor_event *events, uint32_t capacity,
     bool *woken)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	uint32_t out = 0;
	bool rearmed = false, wake = false;

	pthread_mutex_lock(&r->lock);
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
		if (cqe->user_data == UD_WAKE) {
			wake = true;
			if (!(cqe->flags & IORING_CQE_F_MORE) &&
			    queue_poll(r, r->wakefd, POLLIN, UD_WAKE) == 0)
				rearmed = true;
		} else if (cqe->user_data != UD_IGNORE) {
			take_poll(r, cqe, events, &out, &rearmed);
		}
	}
	io_uring_cq_advance(&r->ring, seen);
	if (rearmed)
		(void)submit(r);
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
 * Blocks until the CQ holds a completion or timeout_ns passes (negative:
 * no limit).  Returns 0, or -ETIME, -EINTR or another error.
 *
 * The wait is ppoll(2) on the ring's fd, which is readable while the CQ
 * holds completions (or the kernel holds some back): one system call, as
 * io_uring_enter with IORING_ENTER_GETEVENTS would be, with a timespec
 * (nanoseconds), and one that every tool knows blocks.  Valgrind 3.19
 * runs io_uring_enter as a call that returns at once and keeps its
 * scheduler lock through it, so a wait there would keep the thread that
 * is to wake it off the CPU for good.
 */
static int
block(struct impl *r, int64_t timeout_ns)
{
	struct pollfd pfd = {.fd = r->ring.ring_fd, .events = POLLIN};
	struct timespec ts;
	int n;

	/* An hour at most at a time: wait loops for the rest. */
	if (timeout_ns > BLOCK_MAX_NS)
		timeout_ns = BLOCK_MAX_NS;
	ts.tv_sec = timeout_ns / 1000000000;
	ts.tv_nsec = timeout_ns % 1000000000;
	n = ppoll(&pfd, 1, timeout_ns < 0 ? NULL : &ts, NULL);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIME : 0;
}


static int
ur_wait(struct weft_reactor *self, struct weft_reactor_event *events,
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
		got = reap(r, events, capacity, &woken);
		if (got > 0 || woken || timeout_ns == 0)
			return (int)got;
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
		err = block(r, left);
		if (err == -EINTR)
			return 0;
		/* -ETIME: the loop looks once more, then checks the deadline.
		 */
		if (err < 0 && err != -ETIME)
			return err;
	}
}


static int
ur_wakeup(struct weft_reactor *self)
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


static void
ur_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	if (!r->live)
		return;
	/* Tearing the ring down cancels every request still armed. */
	io_uring_queue_exit(&r->ring);
	close(r->wakefd);
	pthread_mutex_destroy(&r->lock);
	free(r->regs);
	r->regs = NULL;
	r->live = false;
}


static const struct weft_reactor_iface ur_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    /*
     * Edge: multishot polls post once per readiness edge, as EPOLLET.
     * Concurrent ctl: the SQ is under the lock, and a request submitted
     * during a wait completes into the CQ that wait is sleeping on.
     */
    .flags = WEFT_REACTOR_EDGE | WEFT_REACTOR_CONCURRENT_CTL,
    .instance_size = sizeof(struct impl),
    .init = ur_init,
    .add = ur_add,
    .modify = ur_modify,
    .del = ur_del,
    .wait = ur_wait,
    .wakeup = ur_wakeup,
    .fini = ur_fini,
};

static const struct weft_plugin_descriptor ur_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "io_uring",
    .description = "Linux io_uring (liburing), multishot poll, eventfd "
                   "wakeup; io_uring_setup is refused by "
                   "kernel.io_uring_disabled or a seccomp profile",
    .iface = &ur_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(ur_descriptor);
