/* SPDX-License-Identifier: MIT */
/*
 * The libevent reactor: readiness through libevent 2.1, on whatever backend
 * libevent picks for the system.
 *
 * Each instance owns an event_base; each registration is one persistent
 * event whose callback only records (registration, readiness) in a queue,
 * and a wait is one turn of the loop, after which the queue is copied to
 * the host's array.  What does not fit stays queued for the next wait, so
 * no readiness is lost even when edge-triggered.  The cross-thread wakeup
 * is an eventfd (a pipe elsewhere) registered in the base and drained by
 * its own callback; it is never reported.  No libevent threading is used:
 * the host serialises every call but wakeup, which only writes to that fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <event2/event.h>

#include <weft/abi.h>

struct impl;

/* One registered fd. */
struct lev_reg {
	struct impl *owner;
	struct event *ev;
	uint64_t token;
	uint32_t interest;
	int fd;
	long slot; /* its entry in the queue, or -1 */
};

/* A queued report; reg is NULL once its fd has been deleted. */
struct lev_pend {
	struct lev_reg *reg;
	uint32_t ready;
	bool fresh; /* not yet looked at by lev_refine */
};

struct impl {
	struct weft_reactor head; /* must come first: the host's view */
	struct event_base *base;
	struct event *wake_ev;
	struct event *timer;
	int wake_rd, wake_wr;
	bool woken, timed_out;
	struct lev_reg **regs; /* indexed by fd */
	size_t nregs, live;
	/*
	 * The queue holds at most one live entry per registration, and has
	 * room for one per registration (add makes sure), so that a callback
	 * never has to allocate and an event is never dropped.
	 */
	struct lev_pend *pend;
	size_t head_i, len, cap;
	struct pollfd *pfds; /* cap entries, for lev_refine */
};

static struct weft_reactor_iface lev_iface;


/*
 * PRECISE_TIMER: without it libevent reads CLOCK_MONOTONIC_COARSE, which
 * lags by up to a tick, so the timer bounding a wait could end it before
 * the host's timeout.  NOLOCK: the host serialises the calls.
 */
static struct event_base *
lev_base_new(bool need_edge)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER |
	                               EVENT_BASE_FLAG_NOLOCK);
	if (need_edge)
		event_config_require_features(cfg, EV_FEATURE_ET);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}


static void
lev_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct impl *r = arg;
	char buf[64];
	ssize_t n;

	(void)what;
	/* EAGAIN ends the drain: the wakeup is level-triggered anyway. */
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
	}
	r->woken = true;
}


static void
lev_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct impl *r = arg;

	(void)fd;
	(void)what;
	r->timed_out = true;
}


static int
lev_wake_open(struct impl *r)
{
#ifdef __linux__
	r->wake_rd = r->wake_wr = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return r->wake_rd < 0 ? -errno : 0;
#else
	int p[2];

	if (pipe(p) < 0)
		return -errno;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	r->wake_rd = p[0];
	r->wake_wr = p[1];
	return 0;
#endif
}


static void
lev_wake_close(struct impl *r)
{
	if (r->wake_wr != r->wake_rd)
		close(r->wake_wr);
	close(r->wake_rd);
}


static int
lev_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;
	int err = -ENOMEM;

	(void)params; /* the queue grows with the registrations instead */
	/* The flags told the host what to expect: insist on it. */
	r->base = lev_base_new(lev_iface.flags & WEFT_REACTOR_EDGE);
	if (!r->base)
		return -ENOTSUP;
	err = lev_wake_open(r);
	if (err < 0)
		goto fail_base;
	err = -ENOMEM;
	r->wake_ev = event_new(r->base, r->wake_rd, EV_READ | EV_PERSIST,
	                       lev_on_wake, r);
	if (!r->wake_ev || event_add(r->wake_ev, NULL) < 0)
		goto fail_wake;
	r->timer = evtimer_new(r->base, lev_on_timer, r);
	if (!r->timer)
		goto fail_wake;
	return 0;

fail_wake:
	if (r->wake_ev)
		event_free(r->wake_ev);
	lev_wake_close(r);
fail_base:
	event_base_free(r->base);
	r->base = NULL;
	return err;
}


/* Moves the live queue entries to the front. */
static void
lev_compact(struct impl *r)
{
	size_t i, out = 0;

	for (i = r->head_i; i < r->len; i++) {
		if (!r->pend[i].reg)
			continue;
		r->pend[out] = r->pend[i];
		r->pend[out].reg->slot = (long)out;
		out++;
	}
	r->head_i = 0;
	r->len = out;
}


/* libevent's callback: records, never dispatches (R1). */
static void
lev_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct lev_reg *g = arg;
	struct impl *r = g->owner;
	uint32_t ready = 0;

	(void)fd;
	if (what & EV_READ)
		ready |= WEFT_READABLE;
	if (what & EV_WRITE)
		ready |= WEFT_WRITABLE;
	if (what & EV_CLOSED)
		ready |= WEFT_HUP;
	if (g->slot >= 0) {
		r->pend[g->slot].ready |= ready;
		r->pend[g->slot].fresh = true;
		return;
	}
	if (r->len == r->cap)
		lev_compact(r);
	g->slot = (long)r->len;
	r->pend[r->len++] = (struct lev_pend){g, ready, true};
}


static short
lev_what_of(struct impl *r, uint32_t interest)
{
	int features = event_base_get_features(r->base);
	short what = EV_PERSIST;

	if (features & EV_FEATURE_ET)
		what |= EV_ET;
	if (interest & WEFT_READABLE) {
		what |= EV_READ;
		if (features & EV_FEATURE_EARLY_CLOSE)
			what |= EV_CLOSED;
	}
	if (interest & WEFT_WRITABLE)
		what |= EV_WRITE;
	return what;
}


/*
 * (Re)arms g's event for interest; none means no event at all.  libevent
 * can only change an event's flags while it is not pending.
 */
static int
lev_arm(struct impl *r, struct lev_reg *g, uint32_t interest)
{
	event_del(g->ev);
	if (!(interest & (WEFT_READABLE | WEFT_WRITABLE)))
		return 0;
	if (event_assign(g->ev, r->base, g->fd, lev_what_of(r, interest),
	                 lev_on_io, g) < 0)
		return -EINVAL;
	/*
	 * The backend's refusal (epoll's EPERM for a regular file) surfaces
	 * only as -1; errno still holds its reason.
	 */
	errno = 0;
	if (event_add(g->ev, NULL) < 0)
		return errno ? -errno : -EINVAL;
	return 0;
}


/* Makes room for fd in the table and for one more queue entry. */
static int
lev_reserve(struct impl *r, int fd)
{
	size_t n;
	void *p;

	if ((size_t)fd >= r->nregs) {
		n = (size_t)fd * 2 + 64;
		p = realloc(r->regs, n * sizeof(*r->regs));
		if (!p)
			return -ENOMEM;
		r->regs = p;
		memset(r->regs + r->nregs, 0,
		       (n - r->nregs) * sizeof(*r->regs));
		r->nregs = n;
	}
	if (r->live + 1 > r->cap) {
		n = r->cap ? r->cap * 2 : 64;
		p = realloc(r->pend, n * sizeof(*r->pend));
		if (!p)
			return -ENOMEM;
		r->pend = p;
		p = realloc(r->pfds, n * sizeof(*r->pfds));
		if (!p)
			return -ENOMEM;
		r->pfds = p;
		r->cap = n;
	}
	return 0;
}


static int
lev_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct lev_reg *g;
	struct stat st;
	int err;

	/*
	 * Only libevent's epoll backend refuses regular files and
	 * directories (poll and select call them always ready, kqueue
	 * watches them), so the answer is given here, epoll's -EPERM,
	 * whatever the backend (R11).  fstat also refuses what is not an
	 * open fd before libevent can log about it.
	 */
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return -EPERM;
	if (fd == r->wake_rd || fd == r->wake_wr)
		return -EINVAL;
	err = lev_reserve(r, fd);
	if (err < 0)
		return err;
	if (r->regs[fd])
		return -EEXIST;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (struct lev_reg){.owner = r,
	                       .token = token,
	                       .fd = fd,
	                       .interest = interest,
	                       .slot = -1};
	g->ev =
	    event_new(r->base, fd, lev_what_of(r, interest), lev_on_io, g);
	if (!g->ev) {
		free(g);
		return -ENOMEM;
	}
	err = lev_arm(r, g, interest);
	if (err < 0) {
		event_free(g->ev);
		free(g);
		return err;
	}
	r->regs[fd] = g;
	r->live++;
	return 0;
}


static int
lev_modify(struct weft_reactor *self, int fd, uint32_t interest,
            uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct lev_reg *g;
	int err;

	if (fd < 0 || (size_t)fd >= r->nregs || !r->regs[fd])
		return -ENOENT;
	g = r->regs[fd];
	err = lev_arm(r, g, interest);
	if (err < 0) {
		/* Put back what was there, which libevent accepted before. */
		lev_arm(r, g, g->interest);
		return err;
	}
	g->interest = interest;
	g->token = token;
	return 0;
}


/*
 * event_del of an fd that was closed first is fine: libevent's epoll
 * backend treats the EBADF of EPOLL_CTL_DEL as already done.
 */
static int
lev_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	struct lev_reg *g;

	if (fd < 0 || (size_t)fd >= r->nregs || !r->regs[fd])
		return -ENOENT;
	g = r->regs[fd];
	if (g->slot >= 0)
		r->pend[g->slot].reg = NULL;
	event_free(g->ev);
	free(g);
	r->regs[fd] = NULL;
	r->live--;
	return 0;
}


/*
 * libevent's epoll backend folds EPOLLHUP and EPOLLERR into plain
 * EV_READ|EV_WRITE, and the poll and select backends have no EV_CLOSED at
 * all, so a hang-up or an error would pass for mere readiness.  One
 * zero-timeout poll(2) over the fds that fired recovers them; unlike
 * SO_ERROR it leaves the error pending for the caller's next read.
 */
static void
lev_refine(struct impl *r)
{
	size_t i, n = 0;
	short re;
#ifndef POLLRDHUP
	char c;
#endif

	for (i = r->head_i; i < r->len; i++) {
		struct lev_reg *g = r->pend[i].reg;

		if (!g || !r->pend[i].fresh)
			continue;
		r->pfds[n].fd = g->fd;
		r->pfds[n].events = 0;
#ifdef POLLRDHUP
		if (g->interest & WEFT_READABLE)
			r->pfds[n].events = POLLRDHUP;
#endif
		r->pfds[n++].revents = 0;
	}
	if (n == 0 || poll(r->pfds, (nfds_t)n, 0) < 0)
		n = 0;
	for (i = r->head_i, n = 0; i < r->len; i++) {
		struct lev_pend *p = &r->pend[i];

		if (!p->reg || !p->fresh)
			continue;
		p->fresh = false;
		re = r->pfds[n++].revents;
#ifdef POLLRDHUP
		if (re & POLLRDHUP)
			p->ready |= WEFT_HUP;
#else
		/* No POLLRDHUP: a zero-byte peek is how a half-close shows. */
		if ((p->ready & WEFT_READABLE) &&
		    recv(p->reg->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			p->ready |= WEFT_HUP;
#endif
		if (re & POLLHUP)
			p->ready |= WEFT_HUP;
		if (re & (POLLERR | POLLNVAL))
			p->ready |= WEFT_ERROR;
	}
}


/* Copies queued reports to the host's array, oldest first. */
static int
lev_emit(struct impl *r, struct weft_reactor_event *events, uint32_t cap)
{
	uint32_t out = 0, ready;

	while (r->head_i < r->len && out < cap) {
		struct lev_pend *p = &r->pend[r->head_i++];

		if (!p->reg)
			continue;
		p->reg->slot = -1;
		/* Directions dropped by a modify since are not news. */
		ready = p->ready & (p->reg->interest | WEFT_HUP | WEFT_ERROR);
		if (!ready)
			continue;
		events[out].token = p->reg->token;
		events[out].ready = ready;
		events[out].reserved = 0;
		out++;
	}
	if (r->head_i == r->len)
		r->head_i = r->len = 0;
	return (int)out;
}


static uint64_t
lev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* Arms the timer bounding this turn; microseconds, rounded up. */
static int
lev_arm_timer(struct impl *r, uint64_t ns)
{
	uint64_t us = (ns + 999) / 1000;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
	                     .tv_usec = (suseconds_t)(us % 1000000)};

	r->timed_out = false;
	return evtimer_add(r->timer, &tv) < 0 ? -ENOMEM : 0;
}


/*
 * One loop turn: EVLOOP_ONCE returns once callbacks have run, whether for
 * I/O, the wakeup or the timer.  libevent's dispatch swallows EINTR and
 * loops on, so a signal does not end a wait early; the timeout and wakeup
 * still do.
 */
static int
lev_wait(struct weft_reactor *self, struct weft_reactor_event *events,
          uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	uint64_t deadline = 0, now;
	int out, err = 0;

	if (capacity == 0)
		return -EINVAL;
	out = lev_emit(r, events, capacity);
	if (out > 0)
		return out;
	r->woken = false;
	if (timeout_ns > 0) {
		deadline = lev_now() + (uint64_t)timeout_ns;
		err = lev_arm_timer(r, (uint64_t)timeout_ns);
	}
	/*
	 * A zero timeout is EVLOOP_NONBLOCK, and EVLOOP_ONCE with it: alone,
	 * NONBLOCK loops for as long as callbacks ran, which on a level
	 * backend (poll, select) with an fd still ready is for ever (R3).
	 */
	while (err == 0) {
		if (event_base_loop(r->base,
		                    timeout_ns == 0
		                        ? EVLOOP_NONBLOCK | EVLOOP_ONCE
		                        : EVLOOP_ONCE) < 0) {
			err = errno && errno != EINTR ? -errno : 0;
			break;
		}
		lev_refine(r);
		out = lev_emit(r, events, capacity);
		if (out > 0 || r->woken || timeout_ns == 0)
			break;
		if (timeout_ns < 0 || !r->timed_out)
			continue;
		/* Belt and braces: a timer is never trusted to be late. */
		now = lev_now();
		if (now >= deadline)
			break;
		err = lev_arm_timer(r, deadline - now);
	}
	evtimer_del(r->timer);
	return err < 0 ? err : out;
}


static int
lev_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	uint64_t one = 1;

	for (;;) {
		if (write(r->wake_wr, &one, sizeof(one)) == sizeof(one))
			return 0;
		/* A full eventfd or pipe has a wakeup pending already. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}


static void
lev_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	size_t i;

	if (!r->base)
		return;
	for (i = 0; i < r->nregs; i++)
		if (r->regs[i])
			lev_del(self, (int)i);
	event_free(r->timer);
	event_free(r->wake_ev);
	lev_wake_close(r);
	event_base_free(r->base);
	r->base = NULL;
	free(r->regs);
	free(r->pend);
	free(r->pfds);
}


static struct weft_reactor_iface lev_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_LEVEL, /* until lev_probe has looked */
    .instance_size = sizeof(struct impl),
    .init = lev_init,
    .add = lev_add,
    .modify = lev_modify,
    .del = lev_del,
    .wait = lev_wait,
    .wakeup = lev_wakeup,
    .fini = lev_fini,
};

static const struct weft_plugin_descriptor lev_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "libevent",
    .description = "libevent 2.1 event_base, edge-triggered where the "
                   "backend can be",
    .iface = &lev_iface,
};

static pthread_once_t lev_probe_once = PTHREAD_ONCE_INIT;


/*
 * Whether readiness is edge-triggered depends on the backend libevent
 * picks (epoll and kqueue can, poll and select cannot, and the EVENT_NO*
 * variables steer the choice), so the flags are learnt from a probe base
 * before the host first reads them.  lev_init then requires that feature,
 * so an instance never behaves otherwise than the flags say.
 */
static void
lev_probe(void)
{
	struct event_base *base = lev_base_new(false);

	if (!base)
		return;
	if (event_base_get_features(base) & EV_FEATURE_ET)
		lev_iface.flags = WEFT_REACTOR_EDGE;
	event_base_free(base);
}


WEFT_EXPORT int
WEFT_PLUGIN_ENTRY(struct weft_negotiate *neg, uint32_t index,
                  const struct weft_plugin_descriptor **desc)
{
	int err = weft_negotiate_pick(neg, WEFT_ABI_VERSION);

	if (err < 0)
		return err;
	if (index != 0)
		return 0;
	pthread_once(&lev_probe_once, lev_probe);
	*desc = &lev_descriptor;
	return 1;
}
