/* SPDX-License-Identifier: MIT */
/*
 * Signals through self-pipes.
 *
 * signalfd would need the signals blocked in every thread of the process,
 * including executor threads started before us, which a library cannot
 * arrange.  A sigaction handler works whatever thread the kernel picks:
 * it counts the delivery and writes one byte into the pipe of every
 * listener of that signal.  Each listener has its own pipe, registered in
 * its own runtime's driver, so that listeners in different tasks, runtimes
 * or threads never steal each other's wake-ups; the counts, not the bytes,
 * say what arrived.
 *
 * The handler may only use async-signal-safe calls and lock-free atomics.
 * It reads the table of write ends without a lock, so a listener that goes
 * away first empties its slot and then waits until no handler is running
 * before it closes its pipe: otherwise a handler could write into an fd
 * number that has meanwhile been reused.
 *
 * A disposition is restored when its last user goes.  weft_signal (ctrl_c)
 * counts as one user from its init until weft_signal_release, whatever
 * becomes of the future: a program that caught one Ctrl-C and dropped the
 * future while it cleans up must not be killed by the next one.  With no
 * listener left the handler still counts the signal, and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/io.h>

#include "core.h"

#define SLOTS   256
#define SIGS    64
#define DEFAULT (WEFT_SIGNAL_BIT(SIGINT) | WEFT_SIGNAL_BIT(SIGTERM))

struct weft_signal_listener {
	struct weft__io io; /* the pipe's read end */
	int wfd;
	int slot;
	uint64_t mask;
	uint64_t seen[SIGS]; /* counts already reported, per signal */
};

/* Slots hold fd + 1, so that the zeroed table means "empty". */
static atomic_int slot_fd[SLOTS];
static _Atomic uint64_t slot_mask[SLOTS];
static _Atomic uint64_t counts[SIGS];
static atomic_int in_handler;

/* Guards what follows, and installing and restoring dispositions. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
/* Per signal: the listeners, plus 1 while weft_signal holds it. */
static unsigned users[SIGS];
static struct sigaction previous[SIGS];
/* The signals weft_signal holds until weft_signal_release. */
static uint64_t held;


static void
on_signal(int sig)
{
	int saved = errno;
	uint64_t bit = WEFT_SIGNAL_BIT(sig);
	char byte = (char)sig;
	int i, fd;

	atomic_fetch_add(&in_handler, 1);
	atomic_fetch_add(&counts[sig], 1);
	for (i = 0; i < SLOTS; i++) {
		fd = atomic_load(&slot_fd[i]);
		/* A full pipe already has its wake-up pending: EAGAIN is fine.
		 */
		if (fd && (atomic_load(&slot_mask[i]) & bit))
			(void)!write(fd - 1, &byte, 1);
	}
	atomic_fetch_sub(&in_handler, 1);
	errno = saved;
}


static bool
catchable(int sig)
{
	return sig > 0 && sig < SIGS && sig < NSIG && sig != SIGKILL &&
	       sig != SIGSTOP;
}


/* 0 or -EINVAL; a mask of 0 becomes the default set. */
static int
check_mask(uint64_t *mask)
{
	int sig;

	if (*mask == 0)
		*mask = DEFAULT;
	for (sig = 0; sig < SIGS; sig++)
		if ((*mask & WEFT_SIGNAL_BIT(sig)) && !catchable(sig))
			return -EINVAL;
	return 0;
}


/* With reg_lock held: installs the handler for each first user. */
static int
install(uint64_t mask)
{
	struct sigaction sa;
	int sig, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < SIGS; sig++) {
		if (!(mask & WEFT_SIGNAL_BIT(sig)) || users[sig]++ > 0)
			continue;
		if (sigaction(sig, &sa, &previous[sig]) < 0) {
			err = -errno;
			users[sig]--;
			/* Undo the ones done so far, as uninstall would. */
			while (--sig > 0)
				if ((mask & WEFT_SIGNAL_BIT(sig)) &&
				    --users[sig] == 0)
					sigaction(sig, &previous[sig], NULL);
			return err;
		}
	}
	return 0;
}


static void
uninstall(uint64_t mask)
{
	int sig;

	for (sig = 1; sig < SIGS; sig++)
		if ((mask & WEFT_SIGNAL_BIT(sig)) && --users[sig] == 0)
			sigaction(sig, &previous[sig], NULL);
}


WEFT_EXPORT int
weft_signal_listen(struct weft_signal_listener **out, uint64_t mask)
{
	struct weft_signal_listener *l;
	int p[2], sig, slot, err;

	err = check_mask(&mask);
	if (err < 0)
		return err;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	l = weft__io_new(sizeof(*l), p[0], WEFT_READABLE, true, false);
	if (!l) {
		close(p[0]);
		close(p[1]);
		return -ENOMEM;
	}
	l->wfd = p[1];
	l->mask = mask;
	pthread_mutex_lock(&reg_lock);
	for (slot = 0; slot < SLOTS && atomic_load(&slot_fd[slot]); slot++)
		;
	err = slot == SLOTS ? -EMFILE : install(mask);
	if (err == 0) {
		l->slot = slot;
		for (sig = 0; sig < SIGS; sig++)
			l->seen[sig] = atomic_load(&counts[sig]);
		atomic_store(&slot_mask[slot], mask);
		atomic_store(&slot_fd[slot], p[1] + 1);
	}
	pthread_mutex_unlock(&reg_lock);
	if (err < 0) {
		close(p[1]);
		weft__io_close(&l->io);
		return err;
	}
	*out = l;
	return 0;
}


WEFT_EXPORT int
weft_signal_release(uint64_t mask)
{
	uint64_t drop;
	int err = check_mask(&mask);

	if (err < 0)
		return err;
	pthread_mutex_lock(&reg_lock);
	drop = held & mask;
	held &= ~drop;
	uninstall(drop);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}


/* The listener's signals stay caught until weft_signal_release. */
static void
hold(uint64_t mask)
{
	uint64_t add;
	int sig;

	pthread_mutex_lock(&reg_lock);
	add = mask & ~held;
	held |= add;
	/* The listener installed every signal of mask: counting is enough. */
	for (sig = 1; sig < SIGS; sig++)
		if (add & WEFT_SIGNAL_BIT(sig))
			users[sig]++;
	pthread_mutex_unlock(&reg_lock);
}


WEFT_EXPORT void
weft_signal_listener_free(struct weft_signal_listener *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&reg_lock);
	atomic_store(&slot_fd[l->slot], 0);
	uninstall(l->mask);
	pthread_mutex_unlock(&reg_lock);
	/* A handler that saw the slot before it was emptied may still write. */
	while (atomic_load(&in_handler) > 0)
		sched_yield();
	close(l->wfd);
	weft__io_close(&l->io);
}

/* ---- recv ------------------------------------------------------------- */

/* The lowest signal of the set that arrived since it was last reported. */
static int
take_signal(struct weft_signal_listener *l)
{
	uint64_t c;
	int sig;

	for (sig = 1; sig < SIGS; sig++) {
		if (!(l->mask & WEFT_SIGNAL_BIT(sig)))
			continue;
		c = atomic_load(&counts[sig]);
		if (c != l->seen[sig]) {
			l->seen[sig] = c;
			return sig;
		}
	}
	return 0;
}


static weft_poll
recv_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_signal_recv *r = (struct weft_signal_recv *)f;
	struct weft_signal_listener *l = r->listener;
	char buf[64];
	uint32_t ready;
	int rc;

	if (!weft_budget_spend(cx))
		return WEFT_PENDING;
	for (;;) {
		rc = take_signal(l);
		if (rc)
			break;
		rc = weft__io_ready(&l->io, cx, WEFT_READABLE, &ready);
		if (rc == WEFT_PENDING)
			return WEFT_PENDING;
		if (rc < 0)
			break;
		/*
		 * The bytes only wake us: empty the pipe, then look at the
		 * counts again.  A signal after the look writes a new byte,
		 * which is a new edge for the driver.
		 */
		while (read(l->io.fd, buf, sizeof(buf)) > 0)
			;
		weft__io_clear(&l->io, WEFT_READABLE);
	}
	r->status = rc;
	return WEFT_READY;
}


static void
recv_drop(struct weft_future *f)
{
	weft__io_unref(&((struct weft_signal_recv *)f)->listener->io);
}

WEFT_FUTURE_VTABLE(recv_vtable, struct weft_signal_recv, status, recv_poll,
                   recv_drop);


WEFT_EXPORT void
weft_signal_recv_init(struct weft_signal_recv *f,
                      struct weft_signal_listener *l)
{
	*f = (struct weft_signal_recv){.base.vtable = &recv_vtable,
	                               .listener = l};
	weft__io_ref(&l->io);
}

/* ---- the one-shot future ---------------------------------------------- */

static weft_poll
signal_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_signal *s = (struct weft_signal *)f;

	if (!s->listener)
		return WEFT_READY; /* init failed: status is set */
	if (weft_future_poll(&s->recv.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	s->status = s->recv.status;
	return WEFT_READY;
}


static void
signal_drop(struct weft_future *f)
{
	struct weft_signal *s = (struct weft_signal *)f;

	weft_future_drop(&s->recv.base);
	weft_signal_listener_free(s->listener);
	s->listener = NULL;
}

WEFT_FUTURE_VTABLE(signal_vtable, struct weft_signal, status, signal_poll,
                   signal_drop);


WEFT_EXPORT void
weft_signal_init(struct weft_signal *f, uint64_t mask)
{
	*f = (struct weft_signal){.base.vtable = &signal_vtable};
	f->status = weft_signal_listen(&f->listener, mask);
	if (f->status < 0) {
		f->listener = NULL;
		return;
	}
	/* While the listener exists its mask is installed: hold it on. */
	hold(f->listener->mask);
	weft_signal_recv_init(&f->recv, f->listener);
}
