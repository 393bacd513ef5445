/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Channels between tasks: oneshot, mpsc (bounded and unbounded), watch and
 * broadcast — tokio::sync's channels in C.
 *
 * Messages are fixed-size byte blobs: elem_size is given when the channel
 * is created, and every send copies elem_size bytes in from the caller's
 * buffer, every receive copies them out into the caller's buffer.  Nothing
 * a message points to is owned by the channel.
 *
 * Each channel has two halves, reference counted: the shared state lives
 * until the last handle of either side is freed.  Closing either side is
 * seen by the other: a receiver gets WEFT_ECLOSED once the senders are all
 * gone and it has drained what was sent; a sender gets WEFT_ECLOSED once
 * the receiver is gone, and then the message was NOT sent — it is still in
 * the caller's buffer (a send future only borrows it), so it is never lost.
 * No message is delivered twice.
 *
 * The conventions of <weft/sync.h> apply (new/free, futures with `status`,
 * try_* and poll_* return values, any thread).  A receiver handle is used
 * by one task at a time: its futures and poll functions must not be
 * polled concurrently.  Sender handles may be used by many tasks at once.
 * Receivers of mpsc, watch and broadcast can be turned into streams
 * (<weft/stream.h>) that own them.
 */
#ifndef WEFT_CHANNEL_H
#define WEFT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/abi.h>
#include <weft/stream.h>
#include <weft/sync.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* oneshot: one value, once                                            */
/* ------------------------------------------------------------------ */

struct weft_oneshot_tx;
struct weft_oneshot_rx;

/** 0, -EINVAL (elem_size 0) or -ENOMEM.  The caller owns both halves. */
int weft_oneshot_new(size_t elem_size, struct weft_oneshot_tx **tx,
                     struct weft_oneshot_rx **rx);

/**
 * Sends the value and frees the sender, whatever the outcome: 0, or
 * WEFT_ECLOSED when the receiver is gone (the value was not taken).
 */
int weft_oneshot_send(struct weft_oneshot_tx *tx, const void *msg);

/** Frees the sender without sending: the receiver sees WEFT_ECLOSED. */
void weft_oneshot_tx_free(struct weft_oneshot_tx *tx);

/** True once the receiver is gone: sending is pointless. */
bool weft_oneshot_tx_is_closed(struct weft_oneshot_tx *tx);

/**
 * Waits for the value.  Output `status`: 0 (the value is in out) or
 * WEFT_ECLOSED (the sender was freed without sending, or the value was
 * already received).  Borrows rx and out.
 */
struct weft_oneshot_recv {
	struct weft_future base; /**< the future's vtable */
	struct weft_oneshot_rx *rx; /**< the receiver, borrowed */
	void *out; /**< where the value is copied (elem_size bytes) */
	int status; /**< output: 0 or WEFT_ECLOSED */
};
/** A future that waits for the value sent on rx. */
void weft_oneshot_recv_init(struct weft_oneshot_recv *f,
                            struct weft_oneshot_rx *rx, void *out);

/** 1 (value in out), 0 pending, WEFT_ECLOSED.  Receiver's task only. */
int weft_oneshot_poll_recv(struct weft_oneshot_rx *rx, struct weft_context *cx,
                           void *out);

/** 0 (value in out), -EAGAIN (not yet sent) or WEFT_ECLOSED. */
int weft_oneshot_try_recv(struct weft_oneshot_rx *rx, void *out);

/** Frees the receiver; a value sent but not received is discarded. */
void weft_oneshot_rx_free(struct weft_oneshot_rx *rx);

/* ------------------------------------------------------------------ */
/* mpsc: many senders, one receiver, in order                          */
/* ------------------------------------------------------------------ */

struct weft_mpsc_tx;
struct weft_mpsc_rx;

/** Capacity meaning "no bound": sends never wait (they may fail -ENOMEM). */
#define WEFT_MPSC_UNBOUNDED 0

/**
 * 0, -EINVAL (elem_size 0) or -ENOMEM.  A bounded channel holds at most
 * `capacity` messages: a send waits while it is full (backpressure), and
 * never allocates.  The caller owns both halves.
 */
int weft_mpsc_new(size_t elem_size, size_t capacity, struct weft_mpsc_tx **tx,
                  struct weft_mpsc_rx **rx);

/**
 * Another sender handle for the same channel (it may compare equal to tx);
 * each handle is freed once.  Cannot fail.
 */
struct weft_mpsc_tx *weft_mpsc_tx_clone(struct weft_mpsc_tx *tx);

/**
 * Frees one sender handle.  When the last one goes, the receiver sees
 * WEFT_ECLOSED after draining.  Send futures of this handle must have been
 * dropped first.
 */
void weft_mpsc_tx_free(struct weft_mpsc_tx *tx);

/** True once the receiver is closed or gone. */
bool weft_mpsc_tx_is_closed(struct weft_mpsc_tx *tx);

/**
 * Sends *msg, waiting for room in a bounded channel.  Borrows tx and msg
 * (msg is read when the message goes in, so it must stay valid and
 * unchanged until the future is ready or dropped).  Output `status`: 0
 * (sent), WEFT_ECLOSED (not sent: the receiver is gone) or -ENOMEM
 * (unbounded only).  Dropped while waiting, it gives its place (and any
 * slot it had been granted) back; the message is then not sent.
 */
struct weft_mpsc_send {
	struct weft_future base; /**< the future's vtable */
	struct weft_mpsc_tx *tx; /**< the sender, borrowed */
	const void *msg; /**< the message (elem_size bytes), borrowed */
	/** the sender's place in the queue for room (internal) */
	struct weft__wait wait;
	int status; /**< output: 0, WEFT_ECLOSED or -ENOMEM */
};
/** A future that sends *msg on tx. */
void weft_mpsc_send_init(struct weft_mpsc_send *f, struct weft_mpsc_tx *tx,
                         const void *msg);

/** 0 (sent), -EAGAIN (full), WEFT_ECLOSED or -ENOMEM. */
int weft_mpsc_try_send(struct weft_mpsc_tx *tx, const void *msg);

/**
 * Receives the oldest message.  Output `status`: 0 (message in out) or
 * WEFT_ECLOSED (every sender is gone, or the receiver was closed, and
 * nothing is left).  Borrows rx and out.  Dropping it loses nothing: a
 * message is taken out of the channel only in the poll that completes it.
 */
struct weft_mpsc_recv {
	struct weft_future base; /**< the future's vtable */
	struct weft_mpsc_rx *rx; /**< the receiver, borrowed */
	void *out; /**< where the message is copied (elem_size bytes) */
	int status; /**< output: 0 or WEFT_ECLOSED */
};
/** A future that receives the oldest message of rx into out. */
void weft_mpsc_recv_init(struct weft_mpsc_recv *f, struct weft_mpsc_rx *rx,
                         void *out);

/** 1 (message in out), 0 pending, WEFT_ECLOSED (end).  Receiver only. */
int weft_mpsc_poll_recv(struct weft_mpsc_rx *rx, struct weft_context *cx,
                        void *out);

/** 0 (message in out), -EAGAIN (empty) or WEFT_ECLOSED. */
int weft_mpsc_try_recv(struct weft_mpsc_rx *rx, void *out);

/** Messages waiting now: a snapshot. */
size_t weft_mpsc_len(struct weft_mpsc_rx *rx);

/**
 * Closes the receiving side without freeing it: sends fail from now on
 * (waiting ones with WEFT_ECLOSED), and what was sent before can still be
 * received.  Idempotent.
 */
void weft_mpsc_rx_close(struct weft_mpsc_rx *rx);

/** Closes and frees the receiver; messages not received are discarded. */
void weft_mpsc_rx_free(struct weft_mpsc_rx *rx);

/**
 * The receiver as a stream of elem_size items that ends when the channel
 * does.  Takes ownership of rx: dropping the stream frees it.
 */
struct weft_mpsc_stream {
	struct weft_stream base; /**< the stream's vtable */
	struct weft_mpsc_rx *rx; /**< the receiver, owned */
};
/** Makes s a stream of rx's messages; s takes ownership of rx. */
void weft_mpsc_stream_init(struct weft_mpsc_stream *s, struct weft_mpsc_rx *rx);

/* ------------------------------------------------------------------ */
/* watch: the latest value, and a signal when it changes               */
/* ------------------------------------------------------------------ */

struct weft_watch_tx;
struct weft_watch_rx;

/**
 * 0, -EINVAL (elem_size 0) or -ENOMEM.  The channel starts holding
 * *initial, which the first receiver counts as seen.  One sender; any
 * number of receivers, each with its own notion of what it has seen.
 */
int weft_watch_new(size_t elem_size, const void *initial,
                   struct weft_watch_tx **tx, struct weft_watch_rx **rx);

/**
 * Replaces the value and wakes every receiver waiting for a change: 0, or
 * WEFT_ECLOSED when no receiver is left (the value is then not stored).
 */
int weft_watch_send(struct weft_watch_tx *tx, const void *value);

/** A new receiver that counts the current value as seen: 0 or -ENOMEM. */
int weft_watch_subscribe(struct weft_watch_tx *tx, struct weft_watch_rx **rx);

/** Frees the sender: receivers waiting for a change get WEFT_ECLOSED. */
void weft_watch_tx_free(struct weft_watch_tx *tx);

/** A receiver that has seen what rx has seen: 0 or -ENOMEM. */
int weft_watch_rx_clone(struct weft_watch_rx *rx, struct weft_watch_rx **out);

/** Frees a receiver; its changed future must have been dropped first. */
void weft_watch_rx_free(struct weft_watch_rx *rx);

/** Copies the current value into out; does not mark it seen. */
void weft_watch_borrow(struct weft_watch_rx *rx, void *out);

/** Copies the current value into out and marks it seen. */
void weft_watch_borrow_and_update(struct weft_watch_rx *rx, void *out);

/** 1 if a value not yet seen is there, 0 if not, WEFT_ECLOSED. */
int weft_watch_has_changed(struct weft_watch_rx *rx);

/**
 * Waits until the value is newer than what rx has seen, and marks it seen
 * (read it with weft_watch_borrow).  Several sends before the receiver
 * looks count as one change: a watch keeps only the latest value.  Output
 * `status`: 0 or WEFT_ECLOSED (the sender is gone and nothing new is
 * left).  Borrows rx; one changed future (or poll_changed caller) per
 * receiver at a time.
 */
struct weft_watch_changed {
	struct weft_future base; /**< the future's vtable */
	struct weft_watch_rx *rx; /**< the receiver, borrowed */
	int status; /**< output: 0 or WEFT_ECLOSED */
};
/** A future that waits for a value rx has not seen. */
void weft_watch_changed_init(struct weft_watch_changed *f,
                             struct weft_watch_rx *rx);

/** 1 (changed, now marked seen), 0 pending, WEFT_ECLOSED. */
int weft_watch_poll_changed(struct weft_watch_rx *rx, struct weft_context *cx);

/**
 * The receiver as a stream: each change yields the value current at that
 * moment (so intermediate values may be skipped); ends when the sender is
 * gone.  Takes ownership of rx.
 */
struct weft_watch_stream {
	struct weft_stream base; /**< the stream's vtable */
	struct weft_watch_rx *rx; /**< the receiver, owned */
};
/** Makes s a stream of rx's changes; s takes ownership of rx. */
void weft_watch_stream_init(struct weft_watch_stream *s,
                            struct weft_watch_rx *rx);

/* ------------------------------------------------------------------ */
/* broadcast: every receiver gets every message                        */
/* ------------------------------------------------------------------ */

struct weft_broadcast_tx;
struct weft_broadcast_rx;

/**
 * 0, -EINVAL (elem_size or capacity 0) or -ENOMEM.  The channel retains
 * the last `capacity` messages.  Sending never waits: it overwrites the
 * oldest, and a receiver that had not read it yet has lagged.
 */
int weft_broadcast_new(size_t elem_size, size_t capacity,
                       struct weft_broadcast_tx **tx,
                       struct weft_broadcast_rx **rx);

/** Another sender handle (may compare equal to tx); each is freed once. */
struct weft_broadcast_tx *weft_broadcast_tx_clone(struct weft_broadcast_tx *tx);

/** Frees a sender; with the last one gone receivers end after draining. */
void weft_broadcast_tx_free(struct weft_broadcast_tx *tx);

/**
 * Sends to every receiver that exists now.  Returns how many that is (at
 * least 1), or WEFT_ECLOSED when there is none (nothing is stored).
 */
int weft_broadcast_send(struct weft_broadcast_tx *tx, const void *msg);

/**
 * A receiver that gets the messages sent from now on: 0 or -ENOMEM.
 */
int weft_broadcast_subscribe(struct weft_broadcast_tx *tx,
                             struct weft_broadcast_rx **rx);

/** Frees a receiver; its recv future must have been dropped first. */
void weft_broadcast_rx_free(struct weft_broadcast_rx *rx);

/**
 * 1 (message in out), 0 pending, WEFT_ECLOSED (end), or WEFT_ELAGGED:
 * messages were overwritten before this receiver read them; *missed (if
 * not NULL) says how many, and the next call continues with the oldest
 * message still retained.
 */
int weft_broadcast_poll_recv(struct weft_broadcast_rx *rx,
                             struct weft_context *cx, void *out,
                             uint64_t *missed);

/** As poll_recv, without waiting: -EAGAIN instead of pending, 0 for 1. */
int weft_broadcast_try_recv(struct weft_broadcast_rx *rx, void *out,
                            uint64_t *missed);

/**
 * Waits for the next message.  Output `status`: 0 (message in out),
 * WEFT_ELAGGED (`missed` holds the count; receive again to continue) or
 * WEFT_ECLOSED.  Borrows rx and out.
 */
struct weft_broadcast_recv {
	struct weft_future base; /**< the future's vtable */
	struct weft_broadcast_rx *rx; /**< the receiver, borrowed */
	void *out; /**< where the message is copied (elem_size bytes) */
	uint64_t missed; /**< output: messages lost, with WEFT_ELAGGED */
	int status; /**< output: 0, WEFT_ELAGGED or WEFT_ECLOSED */
};
/** A future that receives rx's next message into out. */
void weft_broadcast_recv_init(struct weft_broadcast_recv *f,
                              struct weft_broadcast_rx *rx, void *out);

/**
 * The receiver as a stream; a lag is an error item WEFT_ELAGGED, after
 * which the stream goes on.  Takes ownership of rx.
 */
struct weft_broadcast_stream {
	struct weft_stream base; /**< the stream's vtable */
	struct weft_broadcast_rx *rx; /**< the receiver, owned */
};
/** Makes s a stream of rx's messages; s takes ownership of rx. */
void weft_broadcast_stream_init(struct weft_broadcast_stream *s,
                                struct weft_broadcast_rx *rx);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CHANNEL_H */
