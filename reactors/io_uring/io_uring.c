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
 * The wait sleeps in io_uring_enter with a timespec, so timeouts are
 * exact to the nanosecond (plus the kernel's timer slack) instead of
 * rounded to a millisecond, and under Valgrind in ppoll(2) on the ring's
 * fd; see wait.c.  A zero timeout only looks at the CQ ring, without a
 * system call unless something is queued or the kernel holds completions
 * back (an overflow).
 *
 * Completion I/O (WEFT_REACTOR_COMPLETION, R13-R16): submit turns an
 * operation into one SQE (recv, send, accept or multishot accept,
 * connect, read, write, close) under a user_data of its own, and the
 * completions come through the same CQ into the same host array; see
 * ops.c.  Batching: submit and cancel only queue SQEs, and the next wait
 * hands them all to the kernel in the io_uring_enter it sleeps in
 * (wait.c), so a round's operations cost no system call of their own.
 * add, modify and del are the exception: they submit at once, from the
 * caller, since a poll holds a reference to the file until task work of
 * the thread that submitted it runs (see add), and the host closes the
 * fd right after del.
 *
 * Threads: the host may add, modify, del, submit and cancel while another
 * thread waits (WEFT_REACTOR_CONCURRENT_CTL).  The SQ ring has one
 * producer at a time, so its use and the tables are under one mutex; the
 * waiter holds it while it turns completions into events, never while it
 * sleeps in the kernel.  A request queued while a wait sleeps there is
 * submitted at once by the caller (weft__uring_kick), so it takes effect
 * in the wait under way: its completion wakes that wait.
 *
 * Refusal: io_uring_setup fails with EPERM under kernel.io_uring_disabled
 * or a seccomp profile, and with ENOSYS on a kernel built without it;
 * init returns that code, which the host reports with the plugin's
 * description (it names the causes).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define IMPL_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define IMPL_UNDER_VALGRIND() 0
#endif

#include "uring.h"

/*
 * The SQ holds what one ctl call or one wait's re-arms need; the CQ is
 * larger so that a burst of readiness between two waits rarely overflows
 * (an overflow ends the multishot requests that could not post, and wait
 * arms them again).
 */
#define IMPL_SQ_ENTRIES 256u
#define IMPL_CQ_ENTRIES 4096u

/* Poll bits that mean what the host asked for, or HUP and ERROR. */
#define POLL_READ  (POLLIN | POLLRDHUP)
#define POLL_WRITE POLLOUT


uint32_t
weft__uring_take_gen(struct impl *r)
{
	uint32_t gen = r->next_gen;

	r->next_gen = gen == GEN_MAX ? 1 : gen + 1;
	return gen;
}


/*
 * Returns an SQE, submitting what is queued if the ring is full; NULL only
 * when even that does not make room.  With the lock held.
 */
struct io_uring_sqe *
weft__uring_get_sqe(struct impl *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe && weft__uring_submit(r) == 0)
		sqe = io_uring_get_sqe(&r->ring);
	return sqe;
}


/* Submits what is queued, retrying a signal's interruption. */
int
weft__uring_submit(struct impl *r)
{
	int n;

	do
		n = io_uring_submit(&r->ring);
	while (n == -EINTR);
	return n < 0 ? n : 0;
}


int
weft__uring_kick(struct impl *r)
{
	return r->sleeping ? weft__uring_submit(r) : 0;
}


unsigned
weft__uring_poll_mask(uint32_t interest)
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
int
weft__uring_queue_poll(struct impl *r, int fd, unsigned mask, uint64_t ud)
{
	struct io_uring_sqe *sqe = weft__uring_get_sqe(r);

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
	struct io_uring_sqe *sqe = weft__uring_get_sqe(r);

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
	r->ops.next_gen = 1;
	r->valgrind = IMPL_UNDER_VALGRIND() != 0;
	err = weft__uring_queue_poll(r, r->wakefd, POLLIN, UD_WAKE);
	if (err == 0)
		err = weft__uring_submit(r);
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
struct reg *
weft__uring_find(struct impl *r, int fd)
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
	if (weft__uring_find(r, fd)) {
		err = -EEXIST;
		goto out;
	}
	err = grow(r, fd);
	if (err < 0)
		goto out;
	gen = weft__uring_take_gen(r);
	/*
	 * Submitted now, by the caller, not batched into the next wait: the
	 * request holds a reference to the file until its completion runs
	 * as task work of the thread that submitted it.  Submitted by the
	 * thread that will also del it (the usual case), that work runs as
	 * del's submit returns, so the file is let go before the host closes
	 * the fd, and a port is free again at once after close; submitted by
	 * a parked thread, it would be let go only when that thread next
	 * runs, and a bind right after close fails with EADDRINUSE.
	 */
	err = weft__uring_queue_poll(r, fd, weft__uring_poll_mask(interest),
	                             ud_of(fd, gen));
	if (err == 0)
		err = weft__uring_submit(r);
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
 * new generation, in one submit (the next wait's, or at once during a
 * wait): completions of the old request that are still in the CQ carry
 * the old generation and are dropped.
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
	reg = weft__uring_find(r, fd);
	if (!reg) {
		pthread_mutex_unlock(&r->lock);
		return not_registered(fd);
	}
	gen = weft__uring_take_gen(r);
	err = queue_cancel(r, ud_of(fd, reg->gen));
	if (err == 0)
		err = weft__uring_queue_poll(
		    r, fd, weft__uring_poll_mask(interest), ud_of(fd, gen));
	if (err == 0)
		err = weft__uring_submit(r); /* by the caller, as in add */
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
	reg = weft__uring_find(r, fd);
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
		(void)weft__uring_submit(r);
	reg->gen = 0;
	pthread_mutex_unlock(&r->lock);
	return 0;
}


static void
ur_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	if (!r->live)
		return;
	/*
	 * Tearing the ring down cancels every request still armed, but
	 * asynchronously: the kernel could still write into a buffer the
	 * host frees once fini returns, so operations are cancelled and
	 * reaped first (R16).  Polls hold no buffer.
	 */
	weft__uring_ops_fini(r);
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
     * Completion: operations are SQEs of their own (ops.c).
     */
    .flags = WEFT_REACTOR_EDGE | WEFT_REACTOR_CONCURRENT_CTL |
             WEFT_REACTOR_COMPLETION,
    .instance_size = sizeof(struct impl),
    .init = ur_init,
    .add = ur_add,
    .modify = ur_modify,
    .del = ur_del,
    .wait = weft__uring_wait,
    .wakeup = weft__uring_wakeup,
    .fini = ur_fini,
    .submit = weft__uring_op_submit,
    .cancel = weft__uring_op_cancel,
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
                   "wakeup, completion I/O; io_uring_setup is refused by "
                   "kernel.io_uring_disabled or a seccomp profile",
    .iface = &ur_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(ur_descriptor);
