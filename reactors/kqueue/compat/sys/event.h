/* SPDX-License-Identifier: MIT */
/*
 * A kqueue subset for Linux, which has no kqueue of its own.
 *
 * Only what the kqueue reactor uses is here, with the BSD names, values and
 * meanings, so that the reactor's source is the same on every system:
 *
 *   filters:  EVFILT_READ, EVFILT_WRITE, EVFILT_USER
 *   flags:    EV_ADD, EV_DELETE, EV_CLEAR (required with EV_ADD: every
 *             knote is edge-triggered), and on output EV_EOF and EV_ERROR
 *   fflags:   NOTE_TRIGGER (EVFILT_USER)
 *   timeout:  kevent's timespec, rounded up to whole milliseconds
 *
 * Anything else fails with EINVAL rather than half working.  Differences
 * from a native kqueue that a caller may notice:
 *
 *   - `data` of a read or write event is 0, not the byte count.
 *   - Adding or deleting one knote of an fd may report its other knote
 *     once more if that one is ready: epoll re-arms the fd as a whole.
 *   - A pending socket error is reported as fflags EIO, not as the real
 *     so_error: Linux can only read so_error by clearing it, which would
 *     hide it from the caller's next read or write.
 *   - Linux gives no hook on close(2), so the state of a closed kqueue is
 *     freed by the next kqueue() call, or when the program ends.
 *
 * kqueue() and kevent() may be called from any thread; several threads may
 * use one kqueue at once, as with the native one.
 */
#ifndef WEFT_KQUEUE_COMPAT_SYS_EVENT_H
#define WEFT_KQUEUE_COMPAT_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVFILT_READ  (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER  (-11)

#define EV_ADD    0x0001
#define EV_DELETE 0x0002
#define EV_CLEAR  0x0020
#define EV_ERROR  0x4000
#define EV_EOF    0x8000

#define NOTE_TRIGGER 0x01000000u

struct kevent {
	uintptr_t ident;
	short filter;
	unsigned short flags;
	unsigned int fflags;
	intptr_t data;
	void *udata;
};

#define EV_SET(kevp, a, b, c, d, e, f)                                         \
	do {                                                                   \
		struct kevent *ev__ = (kevp);                                  \
		ev__->ident = (a);                                             \
		ev__->filter = (b);                                            \
		ev__->flags = (c);                                             \
		ev__->fflags = (d);                                            \
		ev__->data = (e);                                              \
		ev__->udata = (f);                                             \
	} while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
           struct kevent *eventlist, int nevents,
           const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_KQUEUE_COMPAT_SYS_EVENT_H */
