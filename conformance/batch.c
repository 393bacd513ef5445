/* SPDX-License-Identifier: MIT */
/*
 * D4: deregistering from inside a wake, in the middle of a batch of
 * readiness events, through the runtime's driver on the reactor under
 * test.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- D4 ------------------------------------------------------------ */

/*
 * Two registrations whose readiness arrives in one batch.  The wake of
 * whichever comes first deregisters the other, closes its socket and
 * registers a fresh socket that has no data on the same fd number: the
 * stale event must not make the new registration ready.
 */
struct d4_side {
	struct d4 *t;
	struct h_waker hw;
	int sv[2];
	uint64_t id;
	bool deleted;
};

struct d4 {
	struct weft_driver *d;
	struct d4_side side[2];
	pthread_mutex_t lock;
	int first; /* side woken first, -1 before */
	uint64_t fresh_id;
	int fresh_sv[2];
	struct h_signal sig;
	struct weft_coro co;
};


static void
d4_on_wake(struct d4 *t, int me)
{
	struct d4_side *other = &t->side[!me];
	int sv[2], fd, r;

	pthread_mutex_lock(&t->lock);
	if (t->first < 0) {
		t->first = me;
		r = weft_driver_io_del(t->d, other->id);
		if (r < 0)
			h_violation("D4: io_del inside a wake failed: %s",
			            weft_strerror(r));
		other->deleted = true;
		fd = other->sv[0];
		close(fd);
		/* The same fd number, now a socket with nothing to read. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) ==
		        0 &&
		    (sv[0] == fd || dup2(sv[0], fd) == fd)) {
			if (sv[0] != fd)
				close(sv[0]);
			t->fresh_sv[0] = fd;
			t->fresh_sv[1] = sv[1];
			other->sv[0] = -1;
			r = weft_driver_io_add(t->d, fd, WEFT_READABLE,
			                       &t->fresh_id);
			if (r < 0)
				h_violation("D4: io_add of fd %d (the number "
				            "just deregistered) inside a wake "
				            "failed: %s",
				            fd, weft_strerror(r));
		} else {
			h_violation("harness: cannot reuse fd %d", fd);
		}
	}
	pthread_mutex_unlock(&t->lock);
	h_signal_notify(&t->sig);
}


static struct weft_waker d4_clone(const void *data);


static void
d4_wake_by_ref(const void *data)
{
	struct d4_side *s = (struct d4_side *)data;

	atomic_fetch_add(&s->hw.wakes_by_ref, 1);
	d4_on_wake(s->t, s == &s->t->side[1]);
}


static void
d4_wake(const void *data)
{
	struct d4_side *s = (struct d4_side *)data;

	d4_wake_by_ref(data);
	atomic_fetch_sub(&s->hw.live, 1);
}


static void
d4_drop(const void *data)
{
	atomic_fetch_sub(&((struct d4_side *)data)->hw.live, 1);
}


static const struct weft_waker_vtable d4_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = d4_clone,
    .wake = d4_wake,
    .wake_by_ref = d4_wake_by_ref,
    .drop = d4_drop,
};


static struct weft_waker
d4_clone(const void *data)
{
	atomic_fetch_add(&((struct d4_side *)data)->hw.live, 1);
	return (struct weft_waker){&d4_vtable, data};
}


static weft_poll
d4_step(void *arg, struct weft_context *cx)
{
	struct d4 *t = arg;
	struct weft_context side_cx;
	uint32_t ready = 0;
	int i, r;

	WEFT_BEGIN(&t->co);
	t->d = cx->driver;
	h_signal_listen(&t->sig, cx);
	for (i = 0; i < 2; i++) {
		struct d4_side *s = &t->side[i];

		if (weft_driver_io_add(t->d, s->sv[0], WEFT_READABLE, &s->id) <
		    0)
			h_violation("D4: io_add failed");
		side_cx = *cx;
		atomic_fetch_add(&s->hw.live, 1);
		side_cx.waker = (struct weft_waker){&d4_vtable, s};
		r = weft_driver_io_poll(t->d, s->id, WEFT_READABLE, &side_cx,
		                        &ready);
		weft_waker_drop(&side_cx.waker);
		if (r != WEFT_PENDING)
			h_violation("D4: readable before the write (%d)", r);
	}
	/*
	 * Both readable before the executor parks: one batch.  A worker
	 * parked meanwhile may see the first byte alone and close the other
	 * socket before the second write, which then fails with EPIPE: the
	 * rule holds either way.
	 */
	for (i = 0; i < 2; i++)
		if (send(t->side[i].sv[1], "x", 1, MSG_NOSIGNAL) != 1 &&
		    errno != EPIPE)
			h_violation("harness: send: %s", strerror(errno));
	WEFT_AWAIT_POLL(
	    &t->co,
	    h_waker_woken(&t->side[0].hw) + h_waker_woken(&t->side[1].hw) > 0);
	pthread_mutex_lock(&t->lock);
	if (t->fresh_id) {
		r = weft_driver_io_poll(t->d, t->fresh_id, WEFT_READABLE, cx,
		                        &ready);
		if (r != WEFT_PENDING)
			h_violation("D4: a deregistered fd's event in the same "
			            "batch made its successor ready (%d, "
			            "0x%x)",
			            r, ready);
		r = weft_driver_io_poll(t->d, t->side[!t->first].id,
		                        WEFT_READABLE, cx, &ready);
		if (r >= 0)
			h_violation("D4: io_poll on a deleted id gave %d", r);
	}
	pthread_mutex_unlock(&t->lock);
	WEFT_END(&t->co);
}


static void
D4_io_del_discards_pending_batch_events(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct d4 t;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.first = -1;
	pthread_mutex_init(&t.lock, NULL);
	h_signal_init(&t.sig);
	for (i = 0; i < 2; i++) {
		t.side[i].t = &t;
		h_waker_init(&t.side[i].hw);
		h_socketpair(t.side[i].sv);
	}
	assert_int_equal(h_block_on_fn(rt, d4_step, &t), 0);
	assert_true(t.first >= 0);
	weft_driver_io_del(t.d, t.side[t.first].id);
	if (t.fresh_id)
		weft_driver_io_del(t.d, t.fresh_id);
	/* A wake taken from the batch may still be on its way until close. */
	h_signal_fini(&t.sig);
	weft_runtime_close(rt);
	for (i = 0; i < 2; i++)
		assert_int_equal(atomic_load(&t.side[i].hw.live), 0);
	for (i = 0; i < 2; i++) {
		if (t.side[i].sv[0] >= 0)
			close(t.side[i].sv[0]);
		close(t.side[i].sv[1]);
		h_waker_fini(&t.side[i].hw);
	}
	close(t.fresh_sv[0]);
	close(t.fresh_sv[1]);
	pthread_mutex_destroy(&t.lock);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(D4_io_del_discards_pending_batch_events),
};

H_GROUP(h_group_batch, "batch", tests);
