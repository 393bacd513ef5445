/* SPDX-License-Identifier: MIT */
/*
 * The epoll reactor: edge-triggered readiness for Linux.
 *
 * Every fd is registered with EPOLLET, so each readiness change is reported
 * once; the host remembers it until the caller sees EAGAIN.  A cross-thread
 * wakeup is an eventfd that sits in the same epoll set under a reserved
 * token; its events are drained here and never reported.
 *
 * Timeouts: epoll_pwait2 (Linux 5.11, glibc 2.35) takes a timespec, so a
 * timer due in 200 us is waited for 200 us, not a whole millisecond.
 * Where the kernel lacks it (ENOSYS) or a seccomp profile refuses it
 * (EPERM), the first wait finds out and every later one uses epoll_wait.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <weft/abi.h>

/*
 * The token under which the eventfd is registered.  epoll hands back only
 * the 64-bit word we stored, so one value has to be set aside to tell the
 * wakeup apart from the host's registrations; add and modify refuse it.
 */
#define IMPL_WAKE_TOKEN UINT64_MAX

/* The batch size used when the host gives no hint. */
#define IMPL_DEFAULT_EVENTS 256u

#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
#define IMPL_HAVE_PWAIT2 1
#endif
#endif

/*
 * Valgrind 3.19 answers epoll_pwait2 with ENOSYS, which the fallback
 * covers, but first prints a warning on the program's stderr; a program
 * checked under it must not have its output changed.  The client request
 * is a few instructions of no effect outside Valgrind.
 */
#if defined(IMPL_HAVE_PWAIT2) && defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define IMPL_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef IMPL_UNDER_VALGRIND
#define IMPL_UNDER_VALGRIND() 0
#endif

struct impl {
	struct weft_reactor head; /* must come first: the host's view */
	int epfd;
	int wakefd;
	uint32_t capacity;
	struct epoll_event *buf;
	int ms_only; /* epoll_pwait2 was refused: epoll_wait from now on */
};

static int
ep_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;
	struct epoll_event ev = {.events = EPOLLIN,
	                         .data.u64 = IMPL_WAKE_TOKEN};
	int err;

	r->capacity = IMPL_DEFAULT_EVENTS;
	if (params && params->version >= 1 && params->max_events > 0)
		r->capacity = params->max_events;
	r->buf = calloc(r->capacity, sizeof(*r->buf));
	if (!r->buf)
		return -ENOMEM;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		err = -errno;
		goto fail_buf;
	}
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wakefd < 0) {
		err = -errno;
		goto fail_epoll;
	}
	r->ms_only = IMPL_UNDER_VALGRIND() != 0;
	/*
	 * The eventfd is level-triggered and drained whenever it is seen, so
	 * a wakeup written at any moment is either consumed by the wait that
	 * is returning anyway or left pending for the next one.
	 */
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev) < 0) {
		err = -errno;
		goto fail_eventfd;
	}
	return 0;

fail_eventfd:
	close(r->wakefd);
fail_epoll:
	close(r->epfd);
fail_buf:
	free(r->buf);
	r->buf = NULL;
	return err;
}


/*
 * EPOLLRDHUP is asked for only with READABLE: it means the peer stopped
 * sending, which is news to a reader but not to a writer, who can still
 * write.  EPOLLHUP and EPOLLERR are always reported by the kernel.
 */
static uint32_t
ep_events_of(uint32_t interest)
{
	uint32_t events = EPOLLET;

	if (interest & WEFT_READABLE)
		events |= EPOLLIN | EPOLLRDHUP;
	if (interest & WEFT_WRITABLE)
		events |= EPOLLOUT;
	return events;
}


static int
ep_ctl(struct impl *r, int op, int fd, uint32_t interest, uint64_t token)
{
	struct epoll_event ev = {.events = ep_events_of(interest),
	                         .data.u64 = token};

	if (token == IMPL_WAKE_TOKEN || fd == r->wakefd)
		return -EINVAL;
	if (epoll_ctl(r->epfd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}


static int
ep_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	return ep_ctl((struct impl *)self, EPOLL_CTL_ADD, fd, interest, token);
}


static int
ep_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	return ep_ctl((struct impl *)self, EPOLL_CTL_MOD, fd, interest, token);
}


static int
ep_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	/* Kernels before 2.6.9 insist on a non-NULL event even for DEL. */
	struct epoll_event ev = {0};

	if (fd == r->wakefd)
		return -EINVAL;
	if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, &ev) < 0)
		return -errno;
	return 0;
}


/*
 * epoll_wait counts in milliseconds.  Round up so that a timer due in
 * 1.2 ms is not woken 0.2 ms early by truncation (R3: never early), which
 * would make the host park again for nothing; negative means no limit.
 */
static int
ep_timeout_ms(int64_t timeout_ns)
{
	int64_t ms;

	if (timeout_ns < 0)
		return -1;
	ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}


static uint32_t
ep_ready_of(uint32_t events)
{
	uint32_t ready = 0;

	if (events & EPOLLIN)
		ready |= WEFT_READABLE;
	if (events & EPOLLOUT)
		ready |= WEFT_WRITABLE;
	if (events & (EPOLLHUP | EPOLLRDHUP))
		ready |= WEFT_HUP;
	if (events & EPOLLERR)
		ready |= WEFT_ERROR;
	return ready;
}


static void
ep_drain(struct impl *r)
{
	uint64_t count;

	/*
	 * A non-semaphore eventfd hands over its whole counter in one read;
	 * EAGAIN only means another wait drained it first.
	 */
	while (read(r->wakefd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}


/* One epoll wait of at most timeout_ns (negative: no limit): n or -1. */
static int
ep_poll(struct impl *r, int max, int64_t timeout_ns)
{
#ifdef IMPL_HAVE_PWAIT2
	if (!r->ms_only) {
		struct timespec ts;
		int n;

		ts.tv_sec = (time_t)(timeout_ns / 1000000000);
		ts.tv_nsec = (long)(timeout_ns % 1000000000);
		n = epoll_pwait2(r->epfd, r->buf, max,
		                 timeout_ns < 0 ? NULL : &ts, NULL);
		/*
		 * An old kernel answers ENOSYS, and so does a Valgrind
		 * that does not know the call (with a warning); an old
		 * container profile EPERM.  Neither changes later, so
		 * ask only once.
		 */
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n;
		r->ms_only = 1;
	}
#endif
	return epoll_wait(r->epfd, r->buf, max, ep_timeout_ms(timeout_ns));
}


static int
ep_wait(struct weft_reactor *self, struct weft_reactor_event *events,
        uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	uint32_t max = capacity < r->capacity ? capacity : r->capacity;
	int n, i, out = 0;

	if (max == 0)
		return -EINVAL;
	n = ep_poll(r, (int)max, timeout_ns);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (r->buf[i].data.u64 == IMPL_WAKE_TOKEN) {
			ep_drain(r);
			continue;
		}
		events[out].token = r->buf[i].data.u64;
		events[out].ready = ep_ready_of(r->buf[i].events);
		events[out].reserved = 0;
		out++;
	}
	return out;
}


static int
ep_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	uint64_t one = 1;

	for (;;) {
		if (write(r->wakefd, &one, sizeof(one)) == sizeof(one))
			return 0;
		/*
		 * EAGAIN means the counter is about to overflow, so a wakeup
		 * is pending already and this one may be dropped.
		 */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}


static void
ep_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	if (!r->buf)
		return;
	close(r->wakefd);
	close(r->epfd);
	free(r->buf);
	r->buf = NULL;
}


static const struct weft_reactor_iface ep_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    /* epoll_ctl is safe while another thread sits in epoll_wait. */
    .flags = WEFT_REACTOR_EDGE | WEFT_REACTOR_CONCURRENT_CTL,
    .instance_size = sizeof(struct impl),
    .init = ep_init,
    .add = ep_add,
    .modify = ep_modify,
    .del = ep_del,
    .wait = ep_wait,
    .wakeup = ep_wakeup,
    .fini = ep_fini,
};

static const struct weft_plugin_descriptor ep_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "epoll",
    .description = "Linux epoll, edge-triggered, eventfd wakeup",
    .iface = &ep_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(ep_descriptor);
