/* SPDX-License-Identifier: MIT */
/*
 * The sim reactor: a virtual clock (R12) over the epoll reactor.
 *
 * Time moves only when nothing else can happen: a wait with a finite
 * timeout that finds nothing ready moves the clock forward by exactly that
 * timeout and returns at once, so a program's timers fire in virtual time,
 * at the same virtual instants on every run.  The clock starts at 1 s, so
 * that 0 still means "no time" to whoever reads it.
 *
 * Real fds (pipes, loopback sockets) are still served, through an epoll
 * reactor instance of our own: the epoll plugin's code, linked into this
 * module under another entry name (see meson.build) and driven through
 * its ABI interface, so that readiness has exactly epoll's semantics (edge,
 * R5, R6, R11) without a second copy of them.
 *
 * Before the clock jumps, real fds get a little real time (sim_settle): a
 * grace of 1 ms, and up to 250 ms while a registered TCP socket still has
 * bytes on their way.  Real sockets therefore make a run non-deterministic:
 * whether a peer's bytes have arrived when a wait looks is up to the
 * kernel, its timers and the other threads, and the virtual instant at
 * which they are seen, or a timeout that fires first, depends on it.  So
 * do blocking jobs on real threads.  Only programs whose I/O is all inside
 * the simulation replay exactly from a seed.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <weft/abi.h>

/* The epoll reactor's entry, built into this module (meson.build). */
int weft__sim_epoll_entry(struct weft_negotiate *neg, uint32_t index,
                          const struct weft_plugin_descriptor **out);

/* Where the virtual clock starts: the same on every run. */
#define SIM_CLOCK_START 1000000000ull

/*
 * How long a finite wait looks at real fds, in real time, before it jumps
 * the virtual clock: a loopback peer on another thread may need a moment
 * to answer, and a jump straight past it would fire a timeout that a real
 * run would never see.  Only taken while some fd has an interest, so a
 * program that does no real I/O never waits in real time at all.
 */
#define SIM_GRACE_NS 1000000

/*
 * A registered TCP socket with bytes not yet acknowledged by its peer
 * (SIOCOUTQ) has data on its way, which the kernel delivers on its own
 * real-time timers: a full receive window reopens only when the delayed
 * ACK goes out, about 40 ms later on Linux.  The clock does not jump
 * while that is so, up to this much real time per wait; beyond it (a peer
 * that stopped reading keeps the queue full for good) the jump is made.
 */
#define SIM_FLIGHT_MAX_NS 250000000

/*
 * Our wakeup eventfd sits in the inner reactor under this token; add and
 * modify refuse it, as epoll refuses the one it reserves (UINT64_MAX).
 */
#define SIM_WAKE_TOKEN (UINT64_MAX - 1)

struct impl {
	struct weft_reactor head;   /* must come first: the host's view */
	struct weft_reactor *inner; /* owned: the epoll instance */
	int wakefd;
	atomic_uint_least64_t clock; /* ns; read and moved from any thread */
	/* Registered fds with an interest; read by wait, written by ctl. */
	atomic_uint interested;
	/*
	 * What is known of each registered fd, by fd number: SIM_WATCHED
	 * when it has an interest, SIM_TCP for a TCP socket (0 when not
	 * registered).  Written by add, modify and del, read by a wait that
	 * may run at the same time (R5): under lock.
	 */
	pthread_mutex_t lock;
	uint8_t *fds;
	size_t nfds;
	size_t ntcp; /* entries with SIM_TCP */
};

#define SIM_WATCHED 0x1u
#define SIM_TCP     0x2u


static struct impl *
impl_of(struct weft_reactor *self)
{
	return (struct impl *)self;
}


/* The inner reactor, made as a host makes one: zeroed, head filled. */
static int
sim_inner_open(struct impl *r, const struct weft_reactor_params *params)
{
	struct weft_negotiate neg = {
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_VERSION,
	    .host_max = WEFT_ABI_VERSION,
	};
	const struct weft_plugin_descriptor *desc = NULL;
	const struct weft_reactor_iface *ops;
	struct weft_reactor_params inner = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events =
	        params && params->version >= 1 ? params->max_events : 0,
	};
	int err;

	if (weft__sim_epoll_entry(&neg, 0, &desc) != 1 || !desc)
		return -EINVAL;
	ops = desc->iface;
	r->inner = calloc(1, ops->instance_size);
	if (!r->inner)
		return -ENOMEM;
	r->inner->version = ops->version;
	r->inner->ops = ops;
	err = ops->init(r->inner, &inner);
	if (err < 0) {
		free(r->inner);
		r->inner = NULL;
	}
	return err;
}


static void
sim_inner_close(struct impl *r)
{
	r->inner->ops->fini(r->inner);
	free(r->inner);
	r->inner = NULL;
}


/*
 * No setting is read: the reactor draws no random numbers (the schedule's
 * seed belongs to the executor) and its clock always starts at the same
 * instant.
 */
static int
sim_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = impl_of(self);
	int err;

	atomic_init(&r->clock, SIM_CLOCK_START);
	atomic_init(&r->interested, 0);
	err = -pthread_mutex_init(&r->lock, NULL);
	if (err < 0)
		return err;
	err = sim_inner_open(r, params);
	if (err < 0) {
		pthread_mutex_destroy(&r->lock);
		return err;
	}
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wakefd < 0) {
		err = -errno;
		sim_inner_close(r);
		return err;
	}
	err = weft_reactor_add(r->inner, r->wakefd, WEFT_READABLE,
	                       SIM_WAKE_TOKEN);
	if (err < 0) {
		close(r->wakefd);
		sim_inner_close(r);
		pthread_mutex_destroy(&r->lock);
	}
	return err;
}


/* Grows the table to hold fd; false when out of memory.  Under lock. */
static bool
sim_reserve(struct impl *r, int fd)
{
	size_t want = (size_t)fd + 1, n = r->nfds ? r->nfds : 64;
	uint8_t *grown;

	if (want <= r->nfds)
		return true;
	while (n < want)
		n *= 2;
	grown = realloc(r->fds, n);
	if (!grown)
		return false;
	memset(grown + r->nfds, 0, n - r->nfds);
	r->fds = grown;
	r->nfds = n;
	return true;
}


/* Records what fd is now (0: not registered).  Under lock. */
static void
sim_note(struct impl *r, int fd, uint8_t state)
{
	uint8_t was = r->fds[fd];

	r->fds[fd] = state;
	r->ntcp += (state & SIM_TCP) != 0;
	r->ntcp -= (was & SIM_TCP) != 0;
	if ((was ^ state) & SIM_WATCHED) {
		if (state & SIM_WATCHED)
			atomic_fetch_add(&r->interested, 1);
		else
			atomic_fetch_sub(&r->interested, 1);
	}
}


static uint8_t
sim_watched(uint32_t interest)
{
	return (interest & (WEFT_READABLE | WEFT_WRITABLE)) ? SIM_WATCHED : 0;
}


static bool
sim_is_tcp(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_TCP;
}


static int
sim_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = impl_of(self);
	uint8_t state = sim_watched(interest);
	int err;

	if (token == SIM_WAKE_TOKEN || (fd == r->wakefd && fd >= 0))
		return -EINVAL;
	/* The inner reactor decides R11's codes; the table follows it. */
	err = weft_reactor_add(r->inner, fd, interest, token);
	if (err < 0)
		return err;
	if (sim_is_tcp(fd))
		state |= SIM_TCP;
	pthread_mutex_lock(&r->lock);
	if (sim_reserve(r, fd))
		sim_note(r, fd, state);
	else
		err = -ENOMEM;
	pthread_mutex_unlock(&r->lock);
	if (err < 0)
		weft_reactor_del(r->inner, fd);
	return err;
}


static int
sim_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = impl_of(self);
	int err;

	if (token == SIM_WAKE_TOKEN || (fd == r->wakefd && fd >= 0))
		return -EINVAL;
	err = weft_reactor_modify(r->inner, fd, interest, token);
	if (err == 0) {
		/* Registered, so add made room for it. */
		pthread_mutex_lock(&r->lock);
		sim_note(r, fd, (r->fds[fd] & SIM_TCP) | sim_watched(interest));
		pthread_mutex_unlock(&r->lock);
	}
	return err;
}


static int
sim_del(struct weft_reactor *self, int fd)
{
	struct impl *r = impl_of(self);
	int err;

	if (fd == r->wakefd && fd >= 0)
		return -EINVAL;
	err = weft_reactor_del(r->inner, fd);
	if (err == 0) {
		pthread_mutex_lock(&r->lock);
		sim_note(r, fd, 0);
		pthread_mutex_unlock(&r->lock);
	}
	return err;
}


/*
 * True while a registered TCP socket has bytes its peer has not yet
 * acknowledged.  An fd closed without del, or its number reused, answers
 * with an error or an empty queue here and only costs a system call.
 */
static bool
sim_in_flight(struct impl *r)
{
	bool busy = false;
	size_t fd;
	int queued;

	pthread_mutex_lock(&r->lock);
	for (fd = 0; fd < r->nfds && r->ntcp > 0 && !busy; fd++)
		busy = (r->fds[fd] & SIM_TCP) &&
		       ioctl((int)fd, SIOCOUTQ, &queued) == 0 && queued > 0;
	pthread_mutex_unlock(&r->lock);
	return busy;
}


static uint64_t
sim_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/*
 * One wait of the inner reactor; takes our wakeup out of what it reported
 * and drains it.  *woke is set when it was there.
 */
static int
sim_look(struct impl *r, struct weft_reactor_event *events, uint32_t capacity,
         int64_t timeout_ns, bool *woke)
{
	uint64_t count;
	int n, i, out = 0;

	n = weft_reactor_wait(r->inner, events, capacity, timeout_ns);
	for (i = 0; i < n; i++) {
		if (events[i].token != SIM_WAKE_TOKEN) {
			events[out++] = events[i];
			continue;
		}
		*woke = true;
		/* One read takes the whole counter; EAGAIN: already 0. */
		while (read(r->wakefd, &count, sizeof(count)) < 0 &&
		       errno == EINTR)
			;
	}
	return n < 0 ? n : out;
}


/* Moves the clock by ns, stopping at the largest value rather than wrap. */
static void
sim_clock_add(struct impl *r, uint64_t ns)
{
	uint64_t old = atomic_load(&r->clock), want;

	do {
		want = old + ns < old ? UINT64_MAX : old + ns;
	} while (!atomic_compare_exchange_weak(&r->clock, &old, want));
}


/*
 * The real-time look before a jump, while fds have an interest: the grace
 * (no longer than the virtual timeout), then, while TCP bytes are on their
 * way, more looks up to SIM_FLIGHT_MAX_NS.  0 with *woke unset: the clock
 * may jump.
 */
static int
sim_settle(struct impl *r, struct weft_reactor_event *events, uint32_t capacity,
           int64_t timeout_ns, bool *woke)
{
	uint64_t start = sim_real_ns();
	bool busy = true;
	int n;

	n = sim_look(r, events, capacity,
	             timeout_ns < SIM_GRACE_NS ? timeout_ns : SIM_GRACE_NS,
	             woke);
	while (n == 0 && !*woke && busy &&
	       sim_real_ns() - start < SIM_FLIGHT_MAX_NS) {
		/*
		 * Bytes acknowledged just now are readable at the peer: one
		 * more look, without waiting, sees their event.
		 */
		busy = sim_in_flight(r);
		n = sim_look(r, events, capacity, busy ? SIM_GRACE_NS : 0,
		             woke);
	}
	return n;
}


/*
 * Never blocks while virtual time can move instead: what is ready now is
 * reported with the clock unchanged; otherwise a finite wait is over at
 * once, its whole timeout having passed on the virtual clock (R12), after
 * the real-time look of sim_settle for real fds.  Only an infinite wait,
 * which no timer will end, blocks on the real fds and the wakeup.
 */
static int
sim_wait(struct weft_reactor *self, struct weft_reactor_event *events,
         uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = impl_of(self);
	bool woke = false;
	int n;

	if (capacity == 0)
		return -EINVAL;
	n = sim_look(r, events, capacity, 0, &woke);
	if (n != 0 || woke || timeout_ns == 0)
		return n;
	if (timeout_ns < 0)
		return sim_look(r, events, capacity, WEFT_TIMEOUT_INFINITE,
		                &woke);
	if (atomic_load(&r->interested) > 0) {
		n = sim_settle(r, events, capacity, timeout_ns, &woke);
		if (n != 0 || woke)
			return n;
	}
	sim_clock_add(r, (uint64_t)timeout_ns);
	return 0;
}


static int
sim_wakeup(struct weft_reactor *self)
{
	struct impl *r = impl_of(self);
	uint64_t one = 1;

	for (;;) {
		if (write(r->wakefd, &one, sizeof(one)) == sizeof(one))
			return 0;
		/* A full counter: a wakeup is pending already. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}


static uint64_t
sim_now(struct weft_reactor *self)
{
	return atomic_load(&impl_of(self)->clock);
}


/*
 * Only moves the clock: a wait under way is not ended, since a finite one
 * never blocks long and an infinite one has no deadline to reach.  The
 * host fires the timers this makes due (D8).
 */
static int
sim_advance(struct weft_reactor *self, uint64_t ns)
{
	sim_clock_add(impl_of(self), ns);
	return 0;
}


static void
sim_fini(struct weft_reactor *self)
{
	struct impl *r = impl_of(self);

	if (!r->inner)
		return;
	close(r->wakefd);
	sim_inner_close(r);
	pthread_mutex_destroy(&r->lock);
	free(r->fds);
	r->fds = NULL;
	r->nfds = 0;
}


static const struct weft_reactor_iface sim_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    /* The inner epoll's: edge, and ctl safe during a wait (R5). */
    .flags =
        WEFT_REACTOR_EDGE | WEFT_REACTOR_CONCURRENT_CTL | WEFT_REACTOR_CLOCK,
    .instance_size = sizeof(struct impl),
    .init = sim_init,
    .add = sim_add,
    .modify = sim_modify,
    .del = sim_del,
    .wait = sim_wait,
    .wakeup = sim_wakeup,
    .fini = sim_fini,
    .now = sim_now,
    .advance = sim_advance,
};

static const struct weft_plugin_descriptor sim_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "sim",
    .description = "virtual clock over epoll, for deterministic simulation",
    .iface = &sim_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(sim_descriptor);
