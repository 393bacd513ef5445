/* SPDX-License-Identifier: MIT */
/*
 * Completion operations (D10, D11): op_submit, op_poll, op_del, and what a
 * park does with them (hands the queued ones to the reactor, routes their
 * completions).  The reactor side is R13-R16.
 *
 * Records.  Each operation has a record, found from its id as registrations
 * are (slot + 1 in the low 32 bits, a generation in the high ones, another
 * seed than the registrations' so that one kind of id never passes for the
 * other).  The record owns the buffer lent to the system: a copy of what
 * SEND, WRITE and CONNECT hand over, room for what RECV and READ receive.
 * So a caller's memory is never lent, and a dropped future can never leave
 * the kernel writing into freed memory.  Everything here is under the
 * driver's mutex; wakers are taken out under it and woken or dropped after
 * unlocking, as everywhere in the driver.
 *
 * A record's life: QUEUED (op_submit put it on the submit queue), FLIGHT
 * (the park handed it to the reactor), DONE (the final completion came).
 * op_del of a QUEUED record frees it at once (nothing was lent); of a DONE
 * one too; of a FLIGHT one marks it deleted and queues a cancel for the
 * next park, and the final completion frees it.  A CLOSE is the exception:
 * op_del only marks it deleted, and it runs to its final completion.  A
 * freed record's generation moves on, so every copy of its id is stale.
 *
 * Batching.  op_submit only queues: the park hands the whole queue to the
 * reactor before it waits (R14 starts them in that wait), so a round's
 * operations reach the system in one call.  A park already waiting on
 * another thread is woken, so an operation never waits behind an infinite
 * wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "driver.h"

/* Records' states. */
#define OP_FREE   0u
#define OP_QUEUED 1u
#define OP_FLIGHT 2u
#define OP_DONE   3u

/* A record keeps a buffer up to this size for the next operation. */
#define OP_KEEP_BUF 65536u
/* The most wakers a flush puts in the park's batch (see op_flush). */
#define FLUSH_WAKES (WAKE_BATCH - 2 * EVENT_BATCH)
/* Results of a multishot accept not yet taken, before the first growth. */
#define OP_QUEUE0 8u


struct weft__op {
	uint32_t gen;
	uint32_t state;
	bool deleted;     /* op_del came while in flight */
	bool final_taken; /* op_poll reported the final result */
	uint32_t opcode, flags;
	int fd;
	int64_t offset;
	uint32_t len;
	void *buf;
	uint32_t buf_cap;
	int32_t result; /* the final result, once DONE */
	/* A multishot accept's results, oldest first: q[qhead ...]. */
	int32_t *q;
	uint32_t qhead, qlen, qcap;
	struct weft_waker waker;
	uint32_t next_free;
};


static uint64_t
op_id(const struct weft__op *op, uint32_t slot)
{
	return (uint64_t)op->gen << 32 | ((uint64_t)slot + 1);
}


/* The live record an id names, or NULL.  Under the mutex. */
static struct weft__op *
op_find(struct weft__driver *d, uint64_t id, uint32_t *slot)
{
	uint32_t low = (uint32_t)id;
	struct weft__op *op;

	if (low == 0 || low > d->ops_len)
		return NULL;
	op = d->ops[low - 1];
	if (op->state == OP_FREE || op->gen != (uint32_t)(id >> 32))
		return NULL;
	*slot = low - 1;
	return op;
}


static int
grow(struct weft__driver *d, void **p, uint32_t *cap, size_t elem,
     uint32_t first)
{
	uint32_t n = *cap ? *cap * 2 : first;
	void *q;

	if (n <= *cap)
		return -ENOMEM;
	q = weft__mem_grow(d->alloc, *p, (size_t)*cap * elem, (size_t)n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}


/* Under the mutex: a free record and its slot, or NULL. */
static struct weft__op *
op_alloc(struct weft__driver *d, uint32_t *slot)
{
	struct weft__op *op;

	if (d->ops_free != NO_SLOT) {
		*slot = d->ops_free;
		op = d->ops[*slot];
		d->ops_free = op->next_free;
		return op;
	}
	if (d->ops_len == d->ops_cap &&
	    grow(d, (void **)&d->ops, &d->ops_cap, sizeof(*d->ops), 16) < 0)
		return NULL;
	op = weft__mem_calloc(d->alloc, 1, sizeof(*op));
	if (!op)
		return NULL;
	op->gen = d->gen_seed ^ 0xaaaaaaaau;
	*slot = d->ops_len;
	d->ops[d->ops_len++] = op;
	return op;
}


/* Closes the fds of an accept nobody took. */
static void
close_untaken(struct weft__op *op)
{
	if (op->opcode != WEFT_OP_ACCEPT)
		return;
	for (; op->qlen > 0; op->qlen--, op->qhead++)
		if (op->q[op->qhead] >= 0)
			close(op->q[op->qhead]);
	if (op->state == OP_DONE && !op->final_taken && op->result >= 0)
		close(op->result);
}


/*
 * Under the mutex: makes every copy of the id stale and the record free,
 * keeping a small buffer for the next operation.  The waker must have been
 * taken out already.
 */
static void
op_release(struct weft__driver *d, struct weft__op *op, uint32_t slot)
{
	close_untaken(op);
	if (op->buf_cap > OP_KEEP_BUF) {
		weft__mem_free(d->alloc, op->buf);
		op->buf = NULL;
		op->buf_cap = 0;
	}
	op->qhead = op->qlen = 0;
	op->state = OP_FREE;
	op->gen++;
	op->next_free = d->ops_free;
	d->ops_free = slot;
}


static int
push(struct weft__driver *d, uint32_t **v, uint32_t *len, uint32_t *cap,
     uint32_t x)
{
	if (*len == *cap && grow(d, (void **)v, cap, sizeof(**v), 16) < 0)
		return -ENOMEM;
	(*v)[(*len)++] = x;
	return 0;
}


/*
 * Under the mutex: queues the cancel of an operation in flight for the
 * next park.  Without memory for the queue, and with no wait under way to
 * stand in the reactor's one-thread rule, it is handed over at once.
 */
static void
op_cancel(struct weft__driver *d, uint64_t id)
{
	if (d->cq_len == d->cq_cap &&
	    grow(d, (void **)&d->cq, &d->cq_cap, sizeof(*d->cq), 16) < 0) {
		if (!d->in_wait || d->concurrent_ctl)
			(void)weft_reactor_cancel(d->reactor, id);
		return;
	}
	d->cq[d->cq_len++] = id;
}


/* Room for the operation's bytes in its record. */
static int
op_buffer(struct weft__driver *d, struct weft__op *op, uint32_t len)
{
	void *b;

	if (len <= op->buf_cap)
		return 0;
	b = weft__mem_alloc(d->alloc, len);
	if (!b)
		return -ENOMEM;
	weft__mem_free(d->alloc, op->buf);
	op->buf = b;
	op->buf_cap = len;
	return 0;
}


static int
op_check(const struct weft_io_op *o)
{
	if (!o || o->version < 1 || o->opcode < WEFT_OP_RECV ||
	    o->opcode > WEFT_OP_CLOSE || o->len > INT32_MAX)
		return -EINVAL;
	if (o->flags & ~WEFT_OP_MULTISHOT)
		return -EINVAL;
	if ((o->flags & WEFT_OP_MULTISHOT) && o->opcode != WEFT_OP_ACCEPT)
		return -EINVAL;
	if (o->fd < 0)
		return -EBADF;
	if ((o->opcode == WEFT_OP_SEND || o->opcode == WEFT_OP_WRITE ||
	     o->opcode == WEFT_OP_CONNECT) &&
	    o->len > 0 && !o->data)
		return -EINVAL;
	return 0;
}


/* Whether the operation lends the system a buffer of len bytes. */
static bool
has_buffer(uint32_t opcode)
{
	return opcode != WEFT_OP_ACCEPT && opcode != WEFT_OP_CLOSE;
}


int
weft__driver_op_submit(struct weft_driver *pub, const struct weft_io_op *o,
                       uint64_t *id)
{
	struct weft__driver *d = driver_of(pub);
	struct weft__op *op;
	uint32_t slot;
	int err;

	if (!d->completion)
		return WEFT_ENOTSUP;
	err = id ? op_check(o) : -EINVAL;
	if (err < 0)
		return err;
	pthread_mutex_lock(&d->lock);
	op = op_alloc(d, &slot);
	err = op ? 0 : -ENOMEM;
	if (op && has_buffer(o->opcode))
		err = op_buffer(d, op, o->len);
	if (err == 0)
		err = push(d, &d->sq, &d->sq_len, &d->sq_cap, slot);
	if (err < 0) {
		if (op) {
			op->state = OP_QUEUED;
			op_release(d, op, slot);
		}
		pthread_mutex_unlock(&d->lock);
		return err;
	}
	op->state = OP_QUEUED;
	op->deleted = op->final_taken = false;
	op->opcode = o->opcode;
	op->flags = o->flags;
	op->fd = o->fd;
	op->offset = o->offset;
	op->len = has_buffer(o->opcode) ? o->len : 0;
	op->result = 0;
	if (o->opcode != WEFT_OP_RECV && o->opcode != WEFT_OP_READ && op->len)
		memcpy(op->buf, o->data, op->len);
	*id = op_id(op, slot);
	/* A park waiting on another thread hands it over now. */
	if (d->in_wait && !d->wake_sent) {
		d->wake_sent = true;
		weft_reactor_wakeup(d->reactor);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}


/* One result for the record; wakes its waker into batch.  The mutex held. */
static void
op_complete(struct weft__driver *d, struct weft__op *op, uint32_t slot,
            int32_t res, bool more, struct weft_waker *batch, uint32_t *n)
{
	if (more) {
		if (op->qlen + op->qhead == op->qcap && op->qhead > 0) {
			memmove(op->q, op->q + op->qhead,
			        op->qlen * sizeof(*op->q));
			op->qhead = 0;
		}
		if (op->qhead + op->qlen == op->qcap &&
		    grow(d, (void **)&op->q, &op->qcap, sizeof(*op->q),
		         OP_QUEUE0) < 0) {
			/* No room to keep it: the connection is refused. */
			if (res >= 0)
				close(res);
			return;
		}
		op->q[op->qhead + op->qlen++] = res;
	} else {
		op->state = OP_DONE;
		op->result = res;
	}
	if (op->deleted) {
		if (!more)
			op_release(d, op, slot);
		else
			close_untaken(op);
		return;
	}
	if (op->waker.vtable) {
		batch[(*n)++] = op->waker;
		op->waker = (struct weft_waker){0, 0};
	}
}


void
weft__driver_op_dispatch(struct weft__driver *d,
                         const struct weft_reactor_event *ev,
                         struct weft_waker *batch, uint32_t *n)
{
	struct weft__op *op;
	uint32_t slot;

	op = op_find(d, ev->token, &slot);
	/* A completion for a record no longer in flight breaks R13. */
	if (!op || op->state != OP_FLIGHT)
		return;
	op_complete(d, op, slot, weft_reactor_event_result(ev),
	            (ev->ready & WEFT_MORE) != 0, batch, n);
}


static struct weft_reactor_op
reactor_op(const struct weft__op *op, uint64_t token)
{
	return (struct weft_reactor_op){
	    .version = WEFT_REACTOR_OP_VERSION,
	    .opcode = op->opcode,
	    .token = token,
	    .fd = op->fd,
	    .flags = op->flags,
	    .buf = has_buffer(op->opcode) ? op->buf : NULL,
	    .len = op->len,
	    .offset = op->offset,
	};
}


void
weft__driver_op_flush(struct weft__driver *d, struct weft_waker *batch,
                      uint32_t *n)
{
	struct weft_reactor_op rop;
	struct weft__op *op;
	uint32_t i, slot;
	int err;

	for (i = 0; i < d->cq_len; i++) {
		/* -ENOENT: the final completion came in the meantime. */
		(void)weft_reactor_cancel(d->reactor, d->cq[i]);
	}
	d->cq_len = 0;
	/*
	 * Refusals wake at most FLUSH_WAKES here: the park's wait that follows
	 * adds up to 2 * EVENT_BATCH wakers to the same batch unchecked.  The
	 * rest stay queued, and the park does not sleep (n > 0).
	 */
	for (i = 0; i < d->sq_len && *n < FLUSH_WAKES; i++) {
		slot = d->sq[i];
		op = d->ops[slot];
		rop = reactor_op(op, op_id(op, slot));
		err = weft_reactor_submit(d->reactor, &rop);
		op->state = OP_FLIGHT;
		/* Refused: that is its result, and nothing more will come. */
		if (err < 0 && op->opcode == WEFT_OP_CLOSE && op->deleted)
			close(op->fd); /* nobody else will */
		if (err < 0)
			op_complete(d, op, slot, err, false, batch, n);
	}
	memmove(d->sq, d->sq + i, (d->sq_len - i) * sizeof(*d->sq));
	d->sq_len -= i;
}


int
weft__driver_op_poll(struct weft_driver *pub, uint64_t id,
                     struct weft_context *cx, int32_t *result,
                     const void **data)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old = {0, 0};
	struct weft__op *op;
	uint32_t slot;
	int rc = WEFT_READY;

	if (!cx || !result)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	op = op_find(d, id, &slot);
	if (!op || op->deleted) {
		/* Deleted in flight: waits for its final completion. */
		rc = -ENOENT;
	} else if (op->qlen > 0) {
		*result = op->q[op->qhead++];
		op->qlen--;
	} else if (op->state == OP_DONE && op->final_taken) {
		/* Ready exactly once: nothing more will come (D10). */
		rc = WEFT_ECLOSED;
	} else if (op->state == OP_DONE) {
		*result = op->result;
		op->final_taken = true;
		if (data)
			*data = op->buf;
	} else {
		rc = WEFT_PENDING;
		if (!op->waker.vtable ||
		    !weft_waker_will_wake(&op->waker, &cx->waker)) {
			old = op->waker;
			op->waker = weft_waker_clone(&cx->waker);
		}
	}
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old);
	return rc;
}


/* Takes the queued record out of the submit queue. */
static void
unqueue(struct weft__driver *d, uint32_t slot)
{
	uint32_t i;

	for (i = 0; i < d->sq_len; i++) {
		if (d->sq[i] == slot) {
			memmove(d->sq + i, d->sq + i + 1,
			        (d->sq_len - i - 1) * sizeof(*d->sq));
			d->sq_len--;
			return;
		}
	}
}


void
weft__driver_op_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old;
	struct weft__op *op;
	uint32_t slot;

	pthread_mutex_lock(&d->lock);
	op = op_find(d, id, &slot);
	if (!op || op->deleted) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	old = op->waker;
	op->waker = (struct weft_waker){0, 0};
	if (op->opcode == WEFT_OP_CLOSE && op->state != OP_DONE) {
		/*
		 * Not cancelled: a CLOSE that never ran would leak the fd, and
		 * one deleted at once is how lib/io lets an fd go after the
		 * operations on it (op.c).  Its final completion frees it.
		 */
		op->deleted = true;
	} else if (op->state == OP_QUEUED) {
		unqueue(d, slot);
		op_release(d, op, slot);
	} else if (op->state == OP_DONE) {
		op_release(d, op, slot);
	} else {
		/* In flight: the final completion frees it (D11). */
		op->deleted = true;
		close_untaken(op);
		op_cancel(d, id);
		if (d->in_wait && !d->wake_sent) {
			d->wake_sent = true;
			weft_reactor_wakeup(d->reactor);
		}
	}
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old);
}


/* The most waits fini spends collecting final completions, 10 ms each. */
#define FINI_WAITS   300
#define FINI_WAIT_NS 10000000


/* Cancels what is in flight and waits for the final completions. */
static void
fini_reap(struct weft__driver *d)
{
	struct weft_waker batch[WAKE_BATCH];
	uint32_t i, flight = 0, n = 0;
	int got, k, tries;

	for (i = 0; i < d->ops_len; i++) {
		struct weft__op *op = d->ops[i];

		weft_waker_drop(&op->waker);
		op->waker = (struct weft_waker){0, 0};
		if (op->state == OP_QUEUED && op->opcode == WEFT_OP_CLOSE &&
		    op->deleted)
			close(op->fd); /* never handed over: closed here */
		if (op->state == OP_QUEUED)
			op_release(d, op, i);
		if (op->state != OP_FLIGHT)
			continue;
		flight++;
		/* A CLOSE in flight is left to run: cancelled, the fd leaks. */
		if (op->opcode == WEFT_OP_CLOSE && op->deleted)
			continue;
		if (!op->deleted) {
			op->deleted = true;
			(void)weft_reactor_cancel(d->reactor, op_id(op, i));
		}
	}
	d->sq_len = 0;
	for (i = 0; i < d->cq_len; i++)
		(void)weft_reactor_cancel(d->reactor, d->cq[i]);
	d->cq_len = 0;
	for (tries = 0; flight > 0 && tries < FINI_WAITS; tries++) {
		got = weft_reactor_wait(d->reactor, d->events, EVENT_BATCH,
		                        FINI_WAIT_NS);
		for (k = 0; k < got; k++) {
			if (!(d->events[k].ready & WEFT_COMPLETE) ||
			    (d->events[k].ready & WEFT_MORE))
				continue;
			/* Deleted records: nothing is woken, n stays 0. */
			weft__driver_op_dispatch(d, &d->events[k], batch, &n);
		}
		flight = 0;
		for (i = 0; i < d->ops_len; i++)
			flight += d->ops[i]->state == OP_FLIGHT;
	}
}


void
weft__driver_op_fini(struct weft__driver *d)
{
	uint32_t i;

	if (d->ops_len > 0)
		fini_reap(d);
	for (i = 0; i < d->ops_len; i++) {
		struct weft__op *op = d->ops[i];

		/*
		 * A reactor that never ended it (R15 broken) may still lend
		 * the buffer to the system: leaked rather than freed.
		 */
		if (op->state != OP_FLIGHT)
			weft__mem_free(d->alloc, op->buf);
		weft__mem_free(d->alloc, op->q);
		weft__mem_free(d->alloc, op);
	}
	weft__mem_free(d->alloc, d->ops);
	weft__mem_free(d->alloc, d->sq);
	weft__mem_free(d->alloc, d->cq);
}
