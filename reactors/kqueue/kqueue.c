/* SPDX-License-Identifier: MIT */
/*
 * The kqueue reactor: edge-triggered readiness for the BSDs and macOS.
 *
 * Each direction of interest is its own knote, EVFILT_READ or EVFILT_WRITE,
 * added with EV_CLEAR so that it reports each change of state once; the
 * host remembers readiness until the caller sees EAGAIN.  A cross-thread
 * wakeup is an EVFILT_USER knote, triggered with NOTE_TRIGGER and reset by
 * EV_CLEAR as it is reported, so it needs no draining.
 *
 * Linux has no kqueue: there this same file is built against the small
 * compatibility layer in compat/, which implements the part of kqueue used
 * here over epoll and eventfd.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <weft/abi.h>

/* The ident of the wakeup knote; EVFILT_USER idents are not fds. */
#define IMPL_WAKE_IDENT 0

/* The batch size used when the host gives no hint. */
#define IMPL_DEFAULT_EVENTS 256u

/*
 * What is registered for one fd.  The token lives here rather than in the
 * knote's udata because udata is a pointer, too narrow for a 64-bit token
 * on 32-bit systems.
 */
struct kq_fd {
	uint64_t token;
	uint32_t interest;
	bool used;
};

struct impl {
	struct weft_reactor head; /* must come first: the host's view */
	int kq;
	uint32_t capacity;
	struct kevent *buf;
	struct kq_fd *fds;
	size_t nfds;
};


/* One change, applied at once: kevent's own errno is the answer. */
static int
kq_change(int kq, uintptr_t ident, short filter, unsigned short flags,
            unsigned fflags)
{
	struct kevent kev;

	EV_SET(&kev, ident, filter, flags, fflags, 0, NULL);
	for (;;) {
		if (kevent(kq, &kev, 1, NULL, 0, NULL) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}


static int
kq_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;
	int err;

	r->capacity = IMPL_DEFAULT_EVENTS;
	if (params && params->version >= 1 && params->max_events > 0)
		r->capacity = params->max_events;
	r->buf = calloc(r->capacity, sizeof(*r->buf));
	if (!r->buf)
		return -ENOMEM;
	r->kq = kqueue();
	if (r->kq < 0) {
		err = -errno;
		goto fail_buf;
	}
	err = kq_change(r->kq, IMPL_WAKE_IDENT, EVFILT_USER,
	                  EV_ADD | EV_CLEAR, 0);
	if (err < 0)
		goto fail_kq;
	return 0;

fail_kq:
	close(r->kq);
fail_buf:
	free(r->buf);
	r->buf = NULL;
	return err;
}


static struct kq_fd *
kq_slot(struct impl *r, int fd, bool grow)
{
	size_t len;
	struct kq_fd *fds;

	if (fd < 0)
		return NULL;
	if ((size_t)fd < r->nfds)
		return &r->fds[fd];
	if (!grow)
		return NULL;
	len = (size_t)fd * 2 + 64;
	fds = realloc(r->fds, len * sizeof(*fds));
	if (!fds)
		return NULL;
	memset(fds + r->nfds, 0, (len - r->nfds) * sizeof(*fds));
	r->fds = fds;
	r->nfds = len;
	return &r->fds[fd];
}


/*
 * Moves fd's knotes from interest `from` to `to`, one change at a time so
 * that a refusal names its own errno; a refused addition undoes the ones
 * before it, leaving the registration as it was.
 */
static int
kq_apply(struct impl *r, int fd, uint32_t from, uint32_t to)
{
	static const struct {
		uint32_t bit;
		short filter;
	} dirs[2] = {{WEFT_READABLE, EVFILT_READ},
	             {WEFT_WRITABLE, EVFILT_WRITE}};
	int i, err;

	for (i = 0; i < 2; i++) {
		if (!(to & dirs[i].bit) || (from & dirs[i].bit))
			continue;
		err = kq_change(r->kq, (uintptr_t)fd, dirs[i].filter,
		                  EV_ADD | EV_CLEAR, 0);
		if (err < 0) {
			if (i == 1 && (to & ~from & WEFT_READABLE))
				kq_change(r->kq, (uintptr_t)fd, EVFILT_READ,
				            EV_DELETE, 0);
			return err;
		}
	}
	for (i = 0; i < 2; i++)
		if ((from & dirs[i].bit) && !(to & dirs[i].bit))
			kq_change(r->kq, (uintptr_t)fd, dirs[i].filter,
			            EV_DELETE, 0);
	return 0;
}


static int
kq_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct kq_fd *f;
	struct stat st;
	int err;

	/*
	 * kqueue watches regular files (always readable) and directories,
	 * epoll refuses them: refuse them too, with epoll's -EPERM, so that
	 * the host sees the same answer from every reactor (R11).  fstat
	 * also refuses what is not an open fd, whatever the interest.
	 */
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return -EPERM;
	f = kq_slot(r, fd, true);
	if (!f)
		return -ENOMEM;
	if (f->used)
		return -EEXIST;
	interest &= WEFT_READABLE | WEFT_WRITABLE;
	err = kq_apply(r, fd, 0, interest);
	if (err < 0)
		return err;
	*f = (struct kq_fd){
	    .token = token, .interest = interest, .used = true};
	return 0;
}


static int
kq_modify(struct weft_reactor *self, int fd, uint32_t interest,
            uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct kq_fd *f = kq_slot(r, fd, false);
	int err;

	if (!f || !f->used)
		return -ENOENT;
	interest &= WEFT_READABLE | WEFT_WRITABLE;
	err = kq_apply(r, fd, f->interest, interest);
	if (err < 0)
		return err;
	f->interest = interest;
	f->token = token;
	return 0;
}


/*
 * A knote goes away by itself when its fd is closed, so deleting one of a
 * closed fd fails with EBADF (or ENOENT if the number was reused); the
 * registration is forgotten all the same and the error reported.
 */
static int
kq_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	struct kq_fd *f = kq_slot(r, fd, false);
	int err = 0, e;

	if (!f || !f->used)
		return -ENOENT;
	if (f->interest & WEFT_READABLE)
		err = kq_change(r->kq, (uintptr_t)fd, EVFILT_READ, EV_DELETE,
		                  0);
	if (f->interest & WEFT_WRITABLE) {
		e = kq_change(r->kq, (uintptr_t)fd, EVFILT_WRITE, EV_DELETE,
		                0);
		err = err < 0 ? err : e;
	}
	f->used = false;
	return err;
}


/*
 * EV_EOF on a read knote means the peer will send no more (a half-close
 * included); on a write knote, that nothing more can be sent.  Either way
 * the direction is still reported ready, since the next read or write
 * returns at once.  With EV_EOF, fflags carries the socket's pending error;
 * EV_ERROR would carry a refused change, which a wait never submits.
 */
static uint32_t
kq_ready_of(const struct kevent *kev)
{
	uint32_t ready =
	    kev->filter == EVFILT_READ ? WEFT_READABLE : WEFT_WRITABLE;

	if (kev->flags & EV_EOF)
		ready |= WEFT_HUP;
	if ((kev->flags & EV_ERROR) || kev->fflags != 0)
		ready |= WEFT_ERROR;
	return ready;
}


static int
kq_wait(struct weft_reactor *self, struct weft_reactor_event *events,
          uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	uint32_t max = capacity < r->capacity ? capacity : r->capacity;
	struct timespec ts, *tsp = NULL;
	struct kq_fd *f;
	int n, i, out = 0;

	if (max == 0)
		return -EINVAL;
	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000);
		ts.tv_nsec = (long)(timeout_ns % 1000000000);
		tsp = &ts;
	}
	n = kevent(r->kq, NULL, 0, r->buf, (int)max, tsp);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		const struct kevent *kev = &r->buf[i];

		if (kev->filter == EVFILT_USER)
			continue;
		/*
		 * Every knote of a deleted fd is gone with its pending
		 * events, so the lookup only guards against the impossible.
		 */
		f = kq_slot(r, (int)kev->ident, false);
		if (!f || !f->used)
			continue;
		events[out].token = f->token;
		events[out].ready = kq_ready_of(kev);
		events[out].reserved = 0;
		out++;
	}
	return out;
}


static int
kq_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	return kq_change(r->kq, IMPL_WAKE_IDENT, EVFILT_USER, 0,
	                   NOTE_TRIGGER);
}


static void
kq_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	if (!r->buf)
		return;
	close(r->kq);
	free(r->fds);
	free(r->buf);
	r->buf = NULL;
}


static const struct weft_reactor_iface kq_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_EDGE,
    .instance_size = sizeof(struct impl),
    .init = kq_init,
    .add = kq_add,
    .modify = kq_modify,
    .del = kq_del,
    .wait = kq_wait,
    .wakeup = kq_wakeup,
    .fini = kq_fini,
};

static const struct weft_plugin_descriptor kq_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "kqueue",
    .description = "kqueue, EV_CLEAR edge-triggered, EVFILT_USER wakeup",
    .iface = &kq_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(kq_descriptor);
