/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor's completion extension (WEFT_REACTOR_COMPLETION,
 * R13-R16): each submitted operation is one SQE, and its CQEs become
 * completions in the host's event array.
 *
 * An operation in flight has a slot in a table; its user_data is OP_TAG
 * with the slot and the slot's generation (uring.h), so its CQEs are told
 * from the polls' and the ring's own, and the token, which the host
 * chooses freely, need not fit in a user_data.  The slot is freed when its
 * final completion (a CQE without IORING_CQE_F_MORE) goes into the host's
 * array, and not before: a CQE that does not fit stays in the CQ (R1), and
 * until it is reported cancel still finds the operation and answers 0.
 * cancel finds it by token through a small hash table.
 *
 * cancel is an IORING_OP_ASYNC_CANCEL of the slot's user_data, under
 * UD_IGNORE: its own CQE (0, -ENOENT when the operation finished first,
 * -EALREADY when it is running) is nobody's business, since the
 * operation's own final CQE follows in every case: -ECANCELED, or its
 * result.  A multishot accept ends with that final CQE.
 *
 * Buffers (R16): the kernel holds buf from the submission until the
 * operation's final CQE, and io_uring cancels asynchronously: closing the
 * ring does not wait for the requests it cancels.  fini therefore cancels
 * every operation still in flight and reaps until each final CQE has
 * come, before the ring goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
/* Valgrind does not see the kernel write through io_uring. */
#define MARK_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)
#else
#define MARK_DEFINED(p, n) ((void)0)
#endif

#include "uring.h"

/* fini looks again for operations that outlived a cancel this often. */
#define FINI_RETRY_NS (100 * INT64_C(1000000))

/* What WEFT_OP_ACCEPT promises of the new fd (abi.h). */
#define ACCEPT_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)


static uint64_t
op_ud(uint32_t slot, uint32_t gen)
{
	return OP_TAG | (uint64_t)gen << 32 | slot;
}


static uint32_t
bucket_of(const struct ops *t, uint64_t token)
{
	/* Fibonacci hashing: host tokens are often ids in a row. */
	return (uint32_t)((token * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
	       (t->nbuckets - 1);
}


/* Doubles the table; the buckets grow with it (a chain of about one). */
static int
grow(struct ops *t)
{
	uint32_t n = t->nslots ? 2 * t->nslots : 64;
	struct op *slots;
	uint32_t *buckets;

	if (t->nslots >= UINT32_MAX / 2)
		return -ENOMEM;
	slots = realloc(t->slots, (size_t)n * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	buckets = calloc(n, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM; /* the larger slot array is kept, unused */
	free(t->buckets);
	t->buckets = buckets;
	t->nbuckets = n;
	/* In use: rehashed; new: onto the free list, lowest first. */
	for (uint32_t i = 0; i < t->nslots; i++) {
		uint32_t b = bucket_of(t, slots[i].token);

		slots[i].next = buckets[b];
		buckets[b] = i + 1;
	}
	for (uint32_t i = n; i-- > t->nslots;) {
		slots[i] = (struct op){.next = t->free};
		t->free = i + 1;
	}
	t->nslots = n;
	return 0;
}


/* A free slot, linked under token; UINT32_MAX when memory ran out. */
static uint32_t
take_slot(struct ops *t, uint64_t token)
{
	uint32_t slot, b;

	/* The table is full exactly when no slot is free. */
	if (!t->free && grow(t) < 0)
		return UINT32_MAX;
	slot = t->free - 1;
	t->free = t->slots[slot].next;
	b = bucket_of(t, token);
	t->slots[slot] = (struct op){.token = token, .next = t->buckets[b]};
	t->buckets[b] = slot + 1;
	t->slots[slot].gen = t->next_gen;
	t->next_gen = t->next_gen == OP_GEN_MAX ? 1 : t->next_gen + 1;
	t->inflight++;
	return slot;
}


static void
free_slot(struct ops *t, uint32_t slot)
{
	uint32_t *link = &t->buckets[bucket_of(t, t->slots[slot].token)];

	while (*link != slot + 1)
		link = &t->slots[*link - 1].next;
	*link = t->slots[slot].next;
	t->slots[slot] = (struct op){.next = t->free};
	t->free = slot + 1;
	t->inflight--;
}


/* The slot of the operation under token, or UINT32_MAX. */
static uint32_t
find_slot(const struct ops *t, uint64_t token)
{
	uint32_t i;

	if (!t->nbuckets)
		return UINT32_MAX;
	for (i = t->buckets[bucket_of(t, token)]; i; i = t->slots[i - 1].next)
		if (t->slots[i - 1].token == token)
			return i - 1;
	return UINT32_MAX;
}


/* -EINVAL for what R13 says a reactor refuses at once, else 0. */
static int
check_op(const struct weft_reactor_op *op)
{
	if (!op || op->version < 1)
		return -EINVAL;
	if (op->opcode < WEFT_OP_RECV || op->opcode > WEFT_OP_CLOSE)
		return -EINVAL;
	if (op->flags & ~WEFT_OP_MULTISHOT)
		return -EINVAL;
	if ((op->flags & WEFT_OP_MULTISHOT) && op->opcode != WEFT_OP_ACCEPT)
		return -EINVAL;
	if (op->len > INT32_MAX || op->offset < -1)
		return -EINVAL;
	return 0;
}


/* The SQE of op: what the system call the opcode names would do. */
static void
prep(struct io_uring_sqe *sqe, const struct weft_reactor_op *op)
{
	/* -1: the file's own position (IORING_FEAT_RW_CUR_POS). */
	uint64_t off = (uint64_t)op->offset;

	switch (op->opcode) {
	case WEFT_OP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, op->len, 0);
		break;
	case WEFT_OP_SEND:
		io_uring_prep_send(sqe, op->fd, op->buf, op->len, MSG_NOSIGNAL);
		break;
	case WEFT_OP_ACCEPT:
		/* Multishot accept is in every kernel init accepts (6.0). */
		if (op->flags & WEFT_OP_MULTISHOT)
			io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL,
			                               ACCEPT_FLAGS);
		else
			io_uring_prep_accept(sqe, op->fd, NULL, NULL,
			                     ACCEPT_FLAGS);
		break;
	case WEFT_OP_CONNECT:
		io_uring_prep_connect(sqe, op->fd, op->buf, op->len);
		break;
	case WEFT_OP_READ:
		io_uring_prep_read(sqe, op->fd, op->buf, op->len, off);
		break;
	case WEFT_OP_WRITE:
		io_uring_prep_write(sqe, op->fd, op->buf, op->len, off);
		break;
	default: /* WEFT_OP_CLOSE; check_op let nothing else through */
		io_uring_prep_close(sqe, op->fd);
		break;
	}
}


int
weft__uring_op_submit(struct weft_reactor *self,
                      const struct weft_reactor_op *op)
{
	struct impl *r = (struct impl *)self;
	struct io_uring_sqe *sqe;
	uint32_t slot;
	int err = check_op(op);

	if (err < 0)
		return err;
	pthread_mutex_lock(&r->lock);
	slot = take_slot(&r->ops, op->token);
	if (slot == UINT32_MAX) {
		err = -ENOMEM;
		goto out;
	}
	sqe = weft__uring_get_sqe(r);
	if (!sqe) {
		free_slot(&r->ops, slot);
		err = -EAGAIN;
		goto out;
	}
	prep(sqe, op);
	io_uring_sqe_set_data64(sqe, op_ud(slot, r->ops.slots[slot].gen));
	r->ops.slots[slot].opcode = (uint8_t)op->opcode;
	if (op->opcode == WEFT_OP_RECV || op->opcode == WEFT_OP_READ)
		r->ops.slots[slot].buf = op->buf;
	/*
	 * Accepted: the SQE is queued, and a failed submit leaves it there
	 * for the next one (R14: the next wait at the latest).
	 */
	(void)weft__uring_kick(r);
out:
	pthread_mutex_unlock(&r->lock);
	return err;
}


/* Queues the cancellation of slot's request.  With the lock held. */
static int
queue_cancel(struct impl *r, uint32_t slot)
{
	struct io_uring_sqe *sqe = weft__uring_get_sqe(r);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_cancel64(sqe, op_ud(slot, r->ops.slots[slot].gen), 0);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	r->ops.slots[slot].cancelled = true;
	return 0;
}


int
weft__uring_op_cancel(struct weft_reactor *self, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	uint32_t slot;
	int err = 0;

	pthread_mutex_lock(&r->lock);
	slot = find_slot(&r->ops, token);
	if (slot == UINT32_MAX)
		err = -ENOENT; /* its final completion is reported already */
	else if (!r->ops.slots[slot].cancelled)
		err = queue_cancel(r, slot);
	if (err == 0 && slot != UINT32_MAX)
		(void)weft__uring_kick(r);
	pthread_mutex_unlock(&r->lock);
	return err;
}


/* The operation a CQE belongs to, or NULL for a stale one. */
static struct op *
op_of(struct impl *r, uint64_t ud)
{
	uint32_t slot = (uint32_t)ud;
	uint32_t gen = (uint32_t)(ud >> 32) & OP_GEN_MAX;

	if (slot >= r->ops.nslots || r->ops.slots[slot].gen != gen)
		return NULL;
	return &r->ops.slots[slot];
}


void
weft__uring_op_take(struct impl *r, const struct io_uring_cqe *cqe,
                    struct weft_reactor_event *events, uint32_t *out)
{
	struct op *op = op_of(r, cqe->user_data);
	bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;

	if (!op)
		return;
	if (cqe->res > 0 && op->buf)
		MARK_DEFINED(op->buf, (size_t)cqe->res);
	events[*out].token = op->token;
	events[*out].ready = WEFT_COMPLETE | (more ? WEFT_MORE : 0);
	events[*out].reserved = (uint32_t)cqe->res;
	(*out)++;
	if (!more)
		free_slot(&r->ops, (uint32_t)(op - r->ops.slots));
}


/* Queues a cancellation for every operation in flight. */
static void
cancel_all(struct impl *r)
{
	for (uint32_t i = 0; i < r->ops.nslots; i++)
		if (r->ops.slots[i].gen)
			(void)queue_cancel(r, i);
}


/*
 * Reaps every CQE there is; an operation's final one frees its slot, and
 * an fd accepted for nobody is closed.
 */
static void
reap_ops(struct impl *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	if (io_uring_cq_ready(&r->ring) == 0 &&
	    io_uring_cq_has_overflow(&r->ring))
		(void)io_uring_peek_cqe(&r->ring, &cqe);
	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		struct op *op =
		    ud_is_op(cqe->user_data) ? op_of(r, cqe->user_data) : NULL;

		seen++;
		if (!op)
			continue;
		if (op->opcode == WEFT_OP_ACCEPT && cqe->res >= 0)
			close(cqe->res);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			free_slot(&r->ops, (uint32_t)(op - r->ops.slots));
	}
	io_uring_cq_advance(&r->ring, seen);
}


void
weft__uring_ops_fini(struct impl *r)
{
	int err;

	/*
	 * Queued SQEs go first, then their cancellations: an operation the
	 * kernel never saw is cancelled as soon as it is.
	 */
	cancel_all(r);
	while (r->ops.inflight > 0) {
		reap_ops(r);
		if (r->ops.inflight == 0)
			break;
		err = weft__uring_block(r, FINI_RETRY_NS);
		/*
		 * A request running in the kernel's worker may have answered
		 * its cancel with -EALREADY and still be running: ask again.
		 */
		if (err == -ETIME)
			cancel_all(r);
	}
	free(r->ops.slots);
	free(r->ops.buckets);
	r->ops = (struct ops){0};
}
