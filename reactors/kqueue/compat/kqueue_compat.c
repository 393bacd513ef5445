/* SPDX-License-Identifier: MIT */
/*
 * kqueue() and kevent() over epoll and eventfd, for Linux.  The subset and
 * its differences from a native kqueue are listed in sys/event.h.
 *
 * A kqueue is an epoll instance: its fd is the one kqueue() returns.  The
 * knotes of one fd share one epoll registration (epoll keys on the fd, not
 * on the filter) whose data word is the fd itself; the knote table below
 * says which filters that registration stands for and holds their udata.
 * Every EVFILT_USER knote of a kqueue shares one eventfd: a trigger marks
 * the knote and writes the eventfd, and the wait that sees the eventfd
 * reports every marked knote.
 *
 * One mutex per kqueue guards its tables; it is never held across
 * epoll_wait, so that a trigger from another thread can reach a waiter.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sys/event.h"

/* The epoll data word of the EVFILT_USER eventfd; fds are never this big. */
#define IMPL_USER_TAG UINT64_MAX

/* epoll events taken per kevent call; each may make two kevents. */
#define IMPL_BATCH 128

/* The knotes of one fd, as bits: EVFILT_READ and EVFILT_WRITE. */
#define IMPL_R 0x1u
#define IMPL_W 0x2u

struct kqc_fd {
	unsigned filters;
	void *udata[2]; /* [0] read, [1] write */
};

struct kqc_user {
	uintptr_t ident;
	void *udata;
	bool triggered;
};

struct kqc_kq {
	int epfd;
	int userfd;
	pthread_mutex_t lock;
	struct kqc_fd *fds;
	size_t nfds;
	struct kqc_user *users;
	size_t nusers;
	/* Events found by epoll but not yet returned: never lost, see take. */
	struct kevent *pend;
	size_t npend, cap_pend;
};

/* Every live kqueue, indexed by its fd. */
static pthread_mutex_t kqc_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kqc_kq **kqc_registry;
static size_t kqc_registry_len;


static void
kqc_free(struct kqc_kq *q)
{
	close(q->userfd);
	pthread_mutex_destroy(&q->lock);
	free(q->fds);
	free(q->users);
	free(q->pend);
	free(q);
}


/*
 * Whether q's epoll instance is still open: the eventfd is registered in
 * it and nowhere else, so modifying that registration fails once the
 * kqueue has been closed, whatever its fd number now refers to.
 */
static bool
kqc_alive(struct kqc_kq *q)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IMPL_USER_TAG};

	return epoll_ctl(q->epfd, EPOLL_CTL_MOD, q->userfd, &ev) == 0;
}


/* Frees the state of closed kqueues.  Registry lock held. */
static void
kqc_sweep(void)
{
	size_t i;

	for (i = 0; i < kqc_registry_len; i++) {
		if (kqc_registry[i] && !kqc_alive(kqc_registry[i])) {
			kqc_free(kqc_registry[i]);
			kqc_registry[i] = NULL;
		}
	}
}


__attribute__((destructor)) static void
kqc_unload(void)
{
	size_t i;

	for (i = 0; i < kqc_registry_len; i++)
		if (kqc_registry[i])
			kqc_free(kqc_registry[i]);
	free(kqc_registry);
	kqc_registry = NULL;
	kqc_registry_len = 0;
}


static int
kqc_register(struct kqc_kq *q)
{
	size_t len = kqc_registry_len;
	struct kqc_kq **grown;

	kqc_sweep();
	if ((size_t)q->epfd >= len) {
		len = (size_t)q->epfd * 2 + 16;
		grown = realloc(kqc_registry, len * sizeof(*grown));
		if (!grown)
			return ENOMEM;
		memset(grown + kqc_registry_len, 0,
		       (len - kqc_registry_len) * sizeof(*grown));
		kqc_registry = grown;
		kqc_registry_len = len;
	}
	kqc_registry[q->epfd] = q;
	return 0;
}


int
kqueue(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = IMPL_USER_TAG};
	struct kqc_kq *q = calloc(1, sizeof(*q));
	int err = ENOMEM;

	if (!q)
		goto fail;
	q->cap_pend = 2 * IMPL_BATCH;
	q->pend = calloc(q->cap_pend, sizeof(*q->pend));
	if (!q->pend)
		goto fail_q;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		goto fail_errno;
	q->userfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->userfd < 0)
		goto fail_epoll;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->userfd, &ev) < 0)
		goto fail_eventfd;
	pthread_mutex_init(&q->lock, NULL);
	pthread_mutex_lock(&kqc_registry_lock);
	err = kqc_register(q);
	pthread_mutex_unlock(&kqc_registry_lock);
	if (err == 0)
		return q->epfd;
	pthread_mutex_destroy(&q->lock);
	goto fail_close;

fail_eventfd:
	err = errno;
fail_close:
	close(q->userfd);
	close(q->epfd);
	goto fail_pend;
fail_epoll:
	err = errno;
	close(q->epfd);
	goto fail_pend;
fail_errno:
	err = errno;
fail_pend:
	free(q->pend);
fail_q:
	free(q);
fail:
	errno = err;
	return -1;
}


static struct kqc_kq *
kqc_find(int kq)
{
	struct kqc_kq *q = NULL;

	pthread_mutex_lock(&kqc_registry_lock);
	if (kq >= 0 && (size_t)kq < kqc_registry_len)
		q = kqc_registry[kq];
	pthread_mutex_unlock(&kqc_registry_lock);
	return q;
}


/* Drops pending events of (ident, filter), or sets their new udata. */
static void
kqc_pend_fix(struct kqc_kq *q, uintptr_t ident, short filter, bool drop,
              void *udata)
{
	size_t i, out = 0;

	for (i = 0; i < q->npend; i++) {
		struct kevent *ev = &q->pend[i];

		if (ev->ident == ident && ev->filter == filter) {
			if (drop)
				continue;
			ev->udata = udata;
		}
		q->pend[out++] = *ev;
	}
	q->npend = out;
}


static void
kqc_push(struct kqc_kq *q, uintptr_t ident, short filter,
          unsigned short flags, unsigned fflags, void *udata)
{
	struct kevent *ev = &q->pend[q->npend++];

	EV_SET(ev, ident, filter, flags, fflags, 0, udata);
}


/* ---- EVFILT_READ and EVFILT_WRITE ---------------------------------- */

static uint32_t
kqc_epoll_events(unsigned filters)
{
	uint32_t events = EPOLLET;

	/*
	 * EPOLLRDHUP is what lets a read knote see EV_EOF after a half-close;
	 * EPOLLHUP and EPOLLERR need no asking.
	 */
	if (filters & IMPL_R)
		events |= EPOLLIN | EPOLLRDHUP;
	if (filters & IMPL_W)
		events |= EPOLLOUT;
	return events;
}


/* Forgets the knotes of fd, as close(2) does on a native kqueue. */
static void
kqc_fd_forget(struct kqc_kq *q, int fd)
{
	q->fds[fd].filters = 0;
	kqc_pend_fix(q, (uintptr_t)fd, EVFILT_READ, true, NULL);
	kqc_pend_fix(q, (uintptr_t)fd, EVFILT_WRITE, true, NULL);
}


static int
kqc_fd_add(struct kqc_kq *q, int fd, unsigned bit, void *udata)
{
	struct epoll_event ev = {.data.u64 = (uint64_t)fd};
	struct kqc_fd *e;
	unsigned want;
	int rc;

	if ((size_t)fd >= q->nfds) {
		size_t len = (size_t)fd * 2 + 64;
		struct kqc_fd *grown = realloc(q->fds, len * sizeof(*grown));

		if (!grown)
			return ENOMEM;
		memset(grown + q->nfds, 0, (len - q->nfds) * sizeof(*grown));
		q->fds = grown;
		q->nfds = len;
	}
	e = &q->fds[fd];
	want = e->filters | bit;
	ev.events = kqc_epoll_events(want);
	if (e->filters) {
		if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
			goto done;
		/*
		 * The fd was closed since its knotes were made, which removed
		 * it from the epoll set; if the number now names another
		 * file, that file starts with no knotes.
		 */
		rc = errno;
		kqc_fd_forget(q, fd);
		if (rc != ENOENT)
			return rc;
		want = bit;
		ev.events = kqc_epoll_events(want);
	}
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errno;
done:
	e->filters = want;
	e->udata[bit == IMPL_W] = udata;
	kqc_pend_fix(q, (uintptr_t)fd,
	              bit == IMPL_R ? EVFILT_READ : EVFILT_WRITE, false, udata);
	return 0;
}


static int
kqc_fd_del(struct kqc_kq *q, int fd, unsigned bit)
{
	struct epoll_event ev = {.data.u64 = (uint64_t)fd};
	unsigned left;
	int rc;

	if ((size_t)fd >= q->nfds || !(q->fds[fd].filters & bit))
		return fcntl(fd, F_GETFD) < 0 ? EBADF : ENOENT;
	left = q->fds[fd].filters & ~bit;
	ev.events = kqc_epoll_events(left);
	rc = epoll_ctl(q->epfd, left ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, fd, &ev);
	if (rc < 0) {
		rc = errno;
		kqc_fd_forget(q, fd);
		return rc;
	}
	q->fds[fd].filters = left;
	kqc_pend_fix(q, (uintptr_t)fd,
	              bit == IMPL_R ? EVFILT_READ : EVFILT_WRITE, true, NULL);
	return 0;
}


/* ---- EVFILT_USER --------------------------------------------------- */

static struct kqc_user *
kqc_user_find(struct kqc_kq *q, uintptr_t ident)
{
	size_t i;

	for (i = 0; i < q->nusers; i++)
		if (q->users[i].ident == ident)
			return &q->users[i];
	return NULL;
}


static void
kqc_user_trigger(struct kqc_kq *q, struct kqc_user *u)
{
	uint64_t one = 1;

	u->triggered = true;
	/* EAGAIN: the counter is full, so the eventfd is readable anyway. */
	while (write(q->userfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}


static int
kqc_user_add(struct kqc_kq *q, const struct kevent *kev)
{
	struct kqc_user *u = kqc_user_find(q, kev->ident);
	size_t need = 2 * IMPL_BATCH + q->nusers + 1;

	if (!u) {
		/*
		 * The pending buffer must hold what one epoll batch can
		 * make, every user knote included, so that no event found
		 * is ever dropped for want of room.
		 */
		if (need > q->cap_pend) {
			struct kevent *p = realloc(q->pend, need * sizeof(*p));

			if (!p)
				return ENOMEM;
			q->pend = p;
			q->cap_pend = need;
		}
		u = realloc(q->users, (q->nusers + 1) * sizeof(*u));
		if (!u)
			return ENOMEM;
		q->users = u;
		u = &q->users[q->nusers++];
		*u = (struct kqc_user){.ident = kev->ident};
	}
	u->udata = kev->udata;
	kqc_pend_fix(q, kev->ident, EVFILT_USER, false, kev->udata);
	if (kev->fflags & NOTE_TRIGGER)
		kqc_user_trigger(q, u);
	return 0;
}


static int
kqc_user_del(struct kqc_kq *q, uintptr_t ident)
{
	struct kqc_user *u = kqc_user_find(q, ident);

	if (!u)
		return ENOENT;
	*u = q->users[--q->nusers];
	kqc_pend_fix(q, ident, EVFILT_USER, true, NULL);
	return 0;
}


/* The eventfd was readable: report every triggered knote once. */
static void
kqc_user_fire(struct kqc_kq *q)
{
	uint64_t count;
	size_t i;

	while (read(q->userfd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	for (i = 0; i < q->nusers; i++) {
		if (!q->users[i].triggered)
			continue;
		q->users[i].triggered = false;
		kqc_push(q, q->users[i].ident, EVFILT_USER, EV_CLEAR, 0,
		          q->users[i].udata);
	}
}


/* ---- kevent -------------------------------------------------------- */

static int
kqc_apply(struct kqc_kq *q, const struct kevent *kev)
{
	unsigned short action = kev->flags & (EV_ADD | EV_DELETE);
	unsigned bit;

	if ((kev->flags & ~(EV_ADD | EV_DELETE | EV_CLEAR)) ||
	    action == (EV_ADD | EV_DELETE))
		return EINVAL;
	/* Only edge-triggered knotes exist here. */
	if (action == EV_ADD && !(kev->flags & EV_CLEAR))
		return EINVAL;
	switch (kev->filter) {
	case EVFILT_READ:
	case EVFILT_WRITE:
		if (kev->ident > INT_MAX)
			return EBADF;
		if (kev->fflags != 0 || action == 0)
			return EINVAL;
		bit = kev->filter == EVFILT_READ ? IMPL_R : IMPL_W;
		if (action == EV_ADD)
			return kqc_fd_add(q, (int)kev->ident, bit, kev->udata);
		return kqc_fd_del(q, (int)kev->ident, bit);
	case EVFILT_USER:
		if (kev->fflags & ~NOTE_TRIGGER)
			return EINVAL;
		if (action == EV_ADD)
			return kqc_user_add(q, kev);
		if (action == EV_DELETE)
			return kqc_user_del(q, kev->ident);
		if (!(kev->fflags & NOTE_TRIGGER) || kev->flags != 0)
			return EINVAL;
		if (!kqc_user_find(q, kev->ident))
			return ENOENT;
		kqc_user_trigger(q, kqc_user_find(q, kev->ident));
		return 0;
	default:
		return EINVAL;
	}
}


/*
 * Turns one epoll event into the kevents of its knotes.  EPOLLHUP means
 * both directions are shut, so both knotes see EV_EOF; EPOLLRDHUP only
 * ends reading.  An error pending on the fd wakes both knotes.
 */
static void
kqc_translate(struct kqc_kq *q, const struct epoll_event *ev)
{
	uint32_t e = ev->events;
	unsigned fflags = (e & EPOLLERR) ? EIO : 0;
	struct kqc_fd *f;
	int fd;

	if (ev->data.u64 == IMPL_USER_TAG) {
		kqc_user_fire(q);
		return;
	}
	fd = (int)ev->data.u64;
	if ((size_t)fd >= q->nfds)
		return;
	f = &q->fds[fd];
	if ((f->filters & IMPL_R) &&
	    (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		kqc_push(q, (uintptr_t)fd, EVFILT_READ,
		          EV_CLEAR |
		              ((e & (EPOLLRDHUP | EPOLLHUP)) ? EV_EOF : 0),
		          fflags, f->udata[0]);
	if ((f->filters & IMPL_W) && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		kqc_push(q, (uintptr_t)fd, EVFILT_WRITE,
		          EV_CLEAR | ((e & EPOLLHUP) ? EV_EOF : 0), fflags,
		          f->udata[1]);
}


/* Moves up to n pending events to out, oldest first. */
static int
kqc_take(struct kqc_kq *q, struct kevent *out, int n)
{
	size_t k = q->npend < (size_t)n ? q->npend : (size_t)n;

	/* kevent() with no output array passes NULL: memcpy may not see it. */
	if (k == 0)
		return 0;
	memcpy(out, q->pend, k * sizeof(*out));
	memmove(q->pend, q->pend + k, (q->npend - k) * sizeof(*out));
	q->npend -= k;
	return (int)k;
}


static uint64_t
kqc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/*
 * epoll_wait counts whole milliseconds: round up, so that the wait never
 * ends before the caller's timeout.
 */
static int
kqc_ms_until(uint64_t deadline)
{
	uint64_t now = kqc_now_ns(), ms;

	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}


/* Waits for events; the caller has checked that none are pending. */
static int
kqc_wait(struct kqc_kq *q, struct kevent *out, int n,
          const struct timespec *timeout)
{
	struct epoll_event buf[IMPL_BATCH];
	uint64_t deadline = UINT64_MAX;
	int got, i, k, ms = -1;

	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= 1000000000) {
			errno = EINVAL;
			return -1;
		}
		deadline = kqc_now_ns() +
		           (uint64_t)timeout->tv_sec * 1000000000u +
		           (uint64_t)timeout->tv_nsec;
		ms = kqc_ms_until(deadline);
	}
	for (;;) {
		got = epoll_wait(q->epfd, buf, n < IMPL_BATCH ? n : IMPL_BATCH,
		                 ms);
		if (got <= 0)
			return got;
		pthread_mutex_lock(&q->lock);
		for (i = 0; i < got; i++)
			kqc_translate(q, &buf[i]);
		k = kqc_take(q, out, n);
		pthread_mutex_unlock(&q->lock);
		/*
		 * Only stale events (a knote deleted meanwhile, a trigger
		 * already reported): 0 would read as a timeout, so wait for
		 * what is left of it.
		 */
		if (k > 0)
			return k;
		if (timeout)
			ms = kqc_ms_until(deadline);
		if (ms == 0)
			return 0;
	}
}


int
kevent(int kq, const struct kevent *changelist, int nchanges,
       struct kevent *eventlist, int nevents, const struct timespec *timeout)
{
	struct kqc_kq *q = kqc_find(kq);
	int i, err, nerr = 0, k;

	if (!q) {
		errno = EBADF;
		return -1;
	}
	if (nchanges < 0 || nevents < 0 || (nchanges > 0 && !changelist) ||
	    (nevents > 0 && !eventlist)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&q->lock);
	for (i = 0; i < nchanges; i++) {
		err = kqc_apply(q, &changelist[i]);
		if (err == 0)
			continue;
		/*
		 * As on BSD: a failed change goes to the event list with
		 * EV_ERROR while there is room, and the call returns those
		 * at once; without room the call fails with its errno.
		 */
		if (nerr >= nevents) {
			pthread_mutex_unlock(&q->lock);
			errno = err;
			return -1;
		}
		eventlist[nerr] = changelist[i];
		eventlist[nerr].flags = EV_ERROR;
		eventlist[nerr].data = err;
		nerr++;
	}
	k = nerr > 0 ? nerr : kqc_take(q, eventlist, nevents);
	pthread_mutex_unlock(&q->lock);
	if (k > 0 || nevents == 0)
		return k;
	return kqc_wait(q, eventlist, nevents, timeout);
}
