/* SPDX-License-Identifier: MIT */
/*
 * poll: a level-triggered weft reactor on poll(2), written as a third
 * party would write one.  docs/writing-a-reactor.md walks through it rule
 * by rule.
 *
 * A reactor reports and never dispatches (R1): wait fills the host's array
 * with (token, readiness) pairs and returns their count; wakers and
 * callbacks run in the host.  Registrations live in an array searched
 * linearly, which costs nothing next to poll(2)'s own O(n).  A pipe whose
 * read end sits in slot 0 of every poll makes wakeup work (R4).
 *
 * Threads: the host calls add, modify, del and wait from the thread that
 * drives the reactor, and wakeup from any thread.  Without
 * WEFT_REACTOR_CONCURRENT_CTL the host never changes a registration during
 * a wait (R5), so only wakeup must be thread-safe, and a write(2) is.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weft/abi.h>

struct reg {
	int fd;
	uint32_t interest; /* WEFT_READABLE | WEFT_WRITABLE */
	uint64_t token;    /* handed back whole, all 64 bits (R2) */
};

struct impl {
	struct weft_reactor head; /* first: the host allocates and reads it */
	struct reg *regs;
	struct pollfd *pfds; /* wait's scratch: cap + 1, slot 0 the pipe */
	size_t count, cap;
	size_t next; /* where the next report starts (R1) */
	int pipe[2]; /* wakeup: read end, write end */
};


/* ---- init ---------------------------------------------------------- */

/* Doubles both arrays; wait's has one more slot, for the pipe. */
static int
pr_grow(struct impl *r)
{
	size_t cap = r->cap ? 2 * r->cap : 16;
	struct reg *regs = realloc(r->regs, cap * sizeof(*regs));
	struct pollfd *pfds;

	if (!regs)
		return -ENOMEM;
	r->regs = regs;
	pfds = realloc(r->pfds, (cap + 1) * sizeof(*pfds));
	if (!pfds)
		return -ENOMEM;
	r->pfds = pfds;
	r->cap = cap;
	return 0;
}


static int
pr_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;

	/*
	 * The host allocated instance_size zeroed bytes; everything lives
	 * in them, nothing in globals, so instances are independent (R10).
	 * max_events is only a hint, and poll(2) needs none.
	 */
	(void)params;
	if (pipe2(r->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (pr_grow(r) < 0) {
		free(r->regs);
		close(r->pipe[0]);
		close(r->pipe[1]);
		return -ENOMEM;
	}
	return 0;
}


/* ---- add, modify, del ------------------------------------------------ */

static struct reg *
pr_find(struct impl *r, int fd)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (r->regs[i].fd == fd)
			return &r->regs[i];
	return NULL;
}


static int
pr_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct stat st;
	int err;

	/*
	 * add refuses an fd the system refuses (R2), with the codes of R11:
	 * not an open fd is -EBADF (fstat says so), one added already is
	 * -EEXIST, and one we cannot watch is -EPERM.  poll(2) itself takes
	 * anything, and reports a regular file always ready; epoll refuses
	 * regular files and directories with EPERM, and so do we, so that
	 * reactors stay interchangeable.
	 */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return -EPERM;
	if (pr_find(r, fd))
		return -EEXIST;
	if (r->count == r->cap && (err = pr_grow(r)) < 0)
		return err;
	r->regs[r->count++] = (struct reg){fd, interest, token};
	return 0;
}


static int
pr_modify(struct weft_reactor *self, int fd, uint32_t interest,
            uint64_t token)
{
	struct reg *g = pr_find((struct impl *)self, fd);

	/* Replaces both interest and token (R2). */
	if (!g)
		return -ENOENT;
	g->interest = interest;
	g->token = token;
	return 0;
}


static int
pr_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	struct reg *g = pr_find(r, fd);

	/*
	 * Nothing is held back between waits, so once the entry is gone no
	 * later wait can report it, even if the fd number comes back (R6).
	 */
	if (!g)
		return -ENOENT;
	*g = r->regs[--r->count];
	return 0;
}


/* ---- wait ---------------------------------------------------------- */

/* poll(2) counts whole milliseconds: round up, never down (R3). */
static int
pr_timeout_ms(int64_t timeout_ns)
{
	int64_t ms;

	if (timeout_ns < 0)
		return -1; /* WEFT_TIMEOUT_INFINITE */
	/* Rounded up, without overflowing at INT64_MAX. */
	ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
	return ms > INT_MAX ? INT_MAX : (int)ms;
}


static uint32_t
pr_ready(short revents)
{
	/* Only what was asked for, plus HUP and ERROR, always possible. */
	return ((revents & POLLIN) ? WEFT_READABLE : 0) |
	       ((revents & POLLOUT) ? WEFT_WRITABLE : 0) |
	       ((revents & (POLLHUP | POLLRDHUP)) ? WEFT_HUP : 0) |
	       ((revents & (POLLERR | POLLNVAL)) ? WEFT_ERROR : 0);
}


static void
pr_fill(struct impl *r)
{
	size_t i;

	r->pfds[0] = (struct pollfd){.fd = r->pipe[0], .events = POLLIN};
	for (i = 0; i < r->count; i++) {
		uint32_t in = r->regs[i].interest;
		short ev = 0;

		if (in & WEFT_READABLE)
			ev |= POLLIN | POLLRDHUP;
		if (in & WEFT_WRITABLE)
			ev |= POLLOUT;
		r->pfds[i + 1] =
		    (struct pollfd){.fd = r->regs[i].fd, .events = ev};
	}
}


static int
pr_wait(struct weft_reactor *self, struct weft_reactor_event *events,
          uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	uint32_t n = 0;
	char buf[64];
	size_t k;

	pr_fill(r);
	if (poll(r->pfds, r->count + 1, pr_timeout_ms(timeout_ns)) < 0)
		/* A signal may end a wait early (R3); the host waits again. */
		return errno == EINTR ? 0 : -errno;
	if (r->pfds[0].revents)
		while (read(r->pipe[0], buf, sizeof(buf)) > 0)
			;
	/*
	 * At most capacity events (R1).  Level-triggered (R8): what does not
	 * fit is still ready at the next wait, and starting after the last
	 * fd reported in a full batch gives every fd its turn.
	 */
	for (k = 0; k < r->count && n < capacity; k++) {
		size_t i = (r->next + k) % r->count;
		uint32_t ready = pr_ready(r->pfds[i + 1].revents);

		if (!ready)
			continue;
		events[n].token = r->regs[i].token;
		events[n].ready = ready;
		events[n].reserved = 0;
		if (++n == capacity)
			r->next = i + 1;
	}
	return (int)n;
}


/* ---- wakeup and teardown --------------------------------------------- */

static int
pr_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	char one = 1;

	/*
	 * Any thread (R4).  The byte stays in the pipe until a wait drains
	 * it, so a wakeup just before a wait ends that wait; a full pipe
	 * already holds one, so EAGAIN loses nothing.
	 */
	if (write(r->pipe[1], &one, 1) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}


static void
pr_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	close(r->pipe[0]);
	close(r->pipe[1]);
	free(r->pfds);
	free(r->regs);
}


/* ---- the plugin ---------------------------------------------------- */

static const struct weft_reactor_iface pr_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_LEVEL, /* exactly one of EDGE and LEVEL (R7) */
    .instance_size = sizeof(struct impl),
    .init = pr_init,
    .add = pr_add,
    .modify = pr_modify,
    .del = pr_del,
    .wait = pr_wait,
    .wakeup = pr_wakeup,
    .fini = pr_fini,
};

static const struct weft_plugin_descriptor pr_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "poll-kit",
    .description = "poll(2), level-triggered, built out of tree",
    .iface = &pr_iface,
};

/* The one exported symbol (P1): negotiates, then lists the descriptor. */
WEFT_PLUGIN_DEFINE_ENTRY(pr_descriptor);
