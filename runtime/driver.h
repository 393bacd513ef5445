/* SPDX-License-Identifier: MIT */
/*
 * What driver.c (timers, park, the driver's life) and driver_io.c (the fd
 * registrations) share: the driver's state.  Private to libweft.
 */
#ifndef WEFT_DRIVER_PRIVATE_H
#define WEFT_DRIVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "timer.h"

/* Events taken from the reactor per wait. */
#define EVENT_BATCH 256
/* Each event may wake a reader and a writer; timers fill the rest. */
#define WAKE_BATCH (2 * EVENT_BATCH + 64)
#define NO_SLOT    UINT32_MAX
#define MAX_SLOTS  (UINT32_MAX - 1)

#define DIRECTIONS (WEFT_READABLE | WEFT_WRITABLE)
#define STICKY     (WEFT_HUP | WEFT_ERROR)
#define ALL_READY  (DIRECTIONS | STICKY)

/*
 * The registrations live in pages that are never freed or moved while the
 * driver lives: page k holds IO_PAGE0 << k slots, so 27 pages cover every
 * 32-bit slot number, and a slot found from an id stays valid memory even
 * after io_del (see the lifetime rule in driver_io.c).
 */
#define IO_PAGE0 64u
#define IO_PAGES 27

/*
 * A waker slot: the task to wake when a direction becomes ready.  Its
 * state (IO_IDLE, IO_REGISTERING, IO_WAKING; see driver_io.c) says who may
 * touch w, so that io_poll stores a waker and a park takes it without a
 * lock.
 */
struct io_waker {
	_Atomic uint32_t state;
	struct weft_waker w;
};

/* One registered fd. */
struct io {
	/*
	 * Generation (high 32 bits), in use, interest, readiness and what
	 * each direction has seen: every lock-free method compares and swaps
	 * this word (the layout is in driver_io.c).
	 */
	_Atomic uint64_t word;
	struct io_waker reader, writer;
	/* The rest only under the mutex. */
	int fd;
	uint32_t next_free;
	bool detached;  /* level mode: taken out of the reactor */
	uint32_t armed; /* what the reactor watches now */
};

struct weft__driver {
	struct weft_driver pub; /* must come first */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* the reactor left wait, or ctl queue emptied */
	struct weft_reactor *reactor;
	bool level;
	struct weft__timers timers;
	struct io *_Atomic io_pages[IO_PAGES]; /* published once, release */
	uint32_t io_len, io_free; /* slots ever used; first free one */
	uint32_t gen_seed;
	bool parking;         /* a thread is inside park */
	bool in_wait;         /* ... and inside the reactor's wait */
	bool wake_sent;       /* this wait has been woken already */
	uint32_t ctl_waiters; /* threads waiting to use the reactor */
	uint64_t wait_until;  /* when the current wait ends at the latest */
	struct weft__blocking *pool; /* made on first use; then constant */
	unsigned pool_max;
	bool concurrent_ctl; /* the reactor allows ctl during wait */
	bool shut;           /* runtime shut down: no more blocking jobs */
	const struct weft_allocator *alloc; /* the runtime's; NULL: libc */
	bool clock;    /* the reactor keeps the clock (R12); constant */
	bool deferred; /* blocking jobs run at park (E13); constant */
	/* Faults (D9): a draw's top 53 bits below fault_cut inject one. */
	bool faults;          /* sim_faults > 0; constant once shared */
	uint64_t fault_cut;   /* 2^53: always */
	_Atomic uint64_t rng; /* splitmix64's state, from the seed */
	/* Completion operations (driver_op.c), under the mutex. */
	bool completion; /* the reactor runs them and the setting allows */
	struct weft__op **ops; /* records by slot; each allocated once */
	uint32_t ops_len, ops_cap, ops_free;
	uint32_t *sq; /* slots to hand to the reactor at the next park */
	uint32_t sq_len, sq_cap;
	uint64_t *cq; /* ids to cancel at the next park */
	uint32_t cq_len, cq_cap;
	struct weft_reactor_event events[EVENT_BATCH];
};

/* The public head comes first, so the private struct is a cast away. */
#define driver_of(pub) ((struct weft__driver *)(pub))

/* The driver_ops methods of driver_io.c. */
int weft__driver_io_add(struct weft_driver *pub, int fd, uint32_t interest,
                        uint64_t *id);
int weft__driver_io_poll(struct weft_driver *pub, uint64_t id,
                         uint32_t interest, struct weft_context *cx,
                         uint32_t *ready);
void weft__driver_io_clear(struct weft_driver *pub, uint64_t id, uint32_t bits);
int weft__driver_io_del(struct weft_driver *pub, uint64_t id);

/*
 * Applies one event a park took from the reactor, with the mutex held;
 * the wakers it releases go into batch[*n...].
 */
void weft__driver_dispatch(struct weft__driver *d,
                           const struct weft_reactor_event *ev,
                           struct weft_waker *batch, uint32_t *n);

/* At free: deregisters what is left and drops its wakers unwoken. */
void weft__driver_io_fini(struct weft__driver *d);

/* The driver_ops methods of driver_op.c (D10, D11). */
int weft__driver_op_submit(struct weft_driver *pub, const struct weft_io_op *o,
                           uint64_t *id);
int weft__driver_op_poll(struct weft_driver *pub, uint64_t id,
                         struct weft_context *cx, int32_t *result,
                         const void **data);
void weft__driver_op_del(struct weft_driver *pub, uint64_t id);

/*
 * At the start of a park, with the mutex held: hands the queued cancels
 * and submissions to the reactor; the wakers of operations it refused go
 * into batch[*n...].
 */
void weft__driver_op_flush(struct weft__driver *d, struct weft_waker *batch,
                           uint32_t *n);

/* Routes one completion (ready has WEFT_COMPLETE), the mutex held. */
void weft__driver_op_dispatch(struct weft__driver *d,
                              const struct weft_reactor_event *ev,
                              struct weft_waker *batch, uint32_t *n);

/*
 * At free, the reactor still alive: cancels what is in flight, collects
 * the final completions, then frees every record and buffer.
 */
void weft__driver_op_fini(struct weft__driver *d);

#endif
