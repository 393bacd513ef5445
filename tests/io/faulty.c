/* SPDX-License-Identifier: MIT */
/*
 * The faulty driver of faulty.h: every method but fault forwards to the
 * runtime's driver.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <weft/fiber.h>

#include "faulty.h"

struct faulty fd_drv;

static struct weft_driver *
real(struct weft_driver *d)
{
	return ((struct faulty *)d)->real;
}

static uint64_t
f_now(struct weft_driver *d)
{
	return weft_driver_now(real(d));
}

static int
f_timer_add(struct weft_driver *d, uint64_t deadline, uint64_t *id)
{
	return weft_driver_timer_add(real(d), deadline, id);
}

static int
f_timer_poll(struct weft_driver *d, uint64_t id, struct weft_context *cx)
{
	return weft_driver_timer_poll(real(d), id, cx);
}

static void
f_timer_del(struct weft_driver *d, uint64_t id)
{
	weft_driver_timer_del(real(d), id);
}

static int
f_io_add(struct weft_driver *d, int fd, uint32_t interest, uint64_t *id)
{
	return weft_driver_io_add(real(d), fd, interest, id);
}

static int
f_io_poll(struct weft_driver *d, uint64_t id, uint32_t interest,
          struct weft_context *cx, uint32_t *ready)
{
	return weft_driver_io_poll(real(d), id, interest, cx, ready);
}

static void
f_io_clear(struct weft_driver *d, uint64_t id, uint32_t ready)
{
	weft_driver_io_clear(real(d), id, ready);
}

static int
f_io_del(struct weft_driver *d, uint64_t id)
{
	return weft_driver_io_del(real(d), id);
}

static int
f_park(struct weft_driver *d, int64_t timeout)
{
	return weft_driver_park(real(d), timeout);
}

static int
f_unpark(struct weft_driver *d)
{
	return weft_driver_unpark(real(d));
}

static int
f_blocking(struct weft_driver *d, void (*fn)(void *), void *arg,
           struct weft_waker *done)
{
	return weft_driver_blocking(real(d), fn, arg, done);
}

static int
f_fault(struct weft_driver *d, uint32_t site)
{
	struct faulty *f = (struct faulty *)d;
	uint64_t x;

	int fire;

	if (site == 0 || site >= SITES)
		return 0;
	pthread_mutex_lock(&f->lock);
	f->asked[site]++;
	/* xorshift64: the same run of answers for the same calls. */
	x = f->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	f->rng = x;
	fire = x % 100 < f->percent[site];
	f->fired[site] += (unsigned)fire;
	pthread_mutex_unlock(&f->lock);
	return fire;
}

void
faults_set(unsigned short_io, unsigned spurious, unsigned reset)
{
	pthread_mutex_lock(&fd_drv.lock);
	fd_drv.percent[WEFT_FAULT_SHORT_IO] = short_io;
	fd_drv.percent[WEFT_FAULT_SPURIOUS] = spurious;
	fd_drv.percent[WEFT_FAULT_RESET] = reset;
	pthread_mutex_unlock(&fd_drv.lock);
}

void
faults_reset_counts(uint64_t seed)
{
	pthread_mutex_lock(&fd_drv.lock);
	memset(fd_drv.asked, 0, sizeof(fd_drv.asked));
	memset(fd_drv.fired, 0, sizeof(fd_drv.fired));
	fd_drv.rng = seed;
	pthread_mutex_unlock(&fd_drv.lock);
	faults_set(0, 0, 0);
}

/*
 * Polls the inner future with the context's driver replaced by the
 * faulty one, which forwards everything else to the runtime's driver.
 * Every object a test uses is first used in here, so it registers with
 * the faulty driver.
 */
struct under_faults {
	struct weft_future base;
	struct weft_future *inner;
	int status;
};

static weft_poll
under_poll(struct weft_future *f, struct weft_context *cx)
{
	struct under_faults *u = (struct under_faults *)f;
	struct weft_context c = *cx;
	weft_poll r;

	fd_drv.real = cx->driver;
	c.driver = &fd_drv.pub;
	r = weft_future_poll(u->inner, &c);
	cx->budget = c.budget;
	return r;
}

static void
under_drop(struct weft_future *f)
{
	weft_future_drop(((struct under_faults *)f)->inner);
}

WEFT_FUTURE_VTABLE(under_vtable, struct under_faults, status, under_poll,
                   under_drop);

int
run_faulty(weft_fiber_fn fn, void *arg)
{
	struct under_faults u = {.base.vtable = &under_vtable};
	struct weft_fiber fb;

	assert_int_equal(weft_fiber_init(&fb, fn, arg, NULL), 0);
	u.inner = &fb.base;
	run_bounded(&u.base, 60);
	return fb.result;
}

int
faulty_setup(void **state)
{
	fd_drv.ops = (struct weft_driver_ops){
	    .version = WEFT_DRIVER_OPS_VERSION,
	    .now = f_now,
	    .timer_add = f_timer_add,
	    .timer_poll = f_timer_poll,
	    .timer_del = f_timer_del,
	    .io_add = f_io_add,
	    .io_poll = f_io_poll,
	    .io_clear = f_io_clear,
	    .io_del = f_io_del,
	    .park = f_park,
	    .unpark = f_unpark,
	    .blocking = f_blocking,
	    .fault = f_fault,
	};
	pthread_mutex_init(&fd_drv.lock, NULL);
	fd_drv.pub.version = WEFT_DRIVER_OPS_VERSION;
	fd_drv.pub.ops = &fd_drv.ops;
	return rt_open(state);
}
