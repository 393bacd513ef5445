/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Cancellation tokens, as tokio_util's CancellationToken: a flag that one
 * party sets and any number of tasks watch, arranged in a tree.
 * Cancelling a token cancels every token below it (its children, theirs,
 * and so on), never the ones above: a worker can be stopped on its own,
 * and stopping the whole program stops every worker.
 *
 * A token is a reference-counted handle: weft_cancel_token_clone gives
 * another handle to the same token, and each handle is released once with
 * weft_cancel_token_free.  A child keeps its parent's state alive, so
 * freeing the parent's handles does not cut the child off from a cancel
 * that comes through another handle of the parent.  Cancelling is
 * permanent and idempotent.
 *
 * Every function may be called from any thread, concurrently.  Errors
 * follow <weft/sync.h>.
 */
#ifndef WEFT_CANCEL_H
#define WEFT_CANCEL_H

#include <stdbool.h>

#include <weft/abi.h>
#include <weft/sync.h>

#ifdef __cplusplus
extern "C" {
#endif

struct weft_cancel_token;

/** A new root token, not cancelled: 0 or -ENOMEM. */
int weft_cancel_token_new(struct weft_cancel_token **out);

/**
 * A new token below `parent`: cancelled when parent (or anything above
 * it) is, and already cancelled if parent is.  0 or -ENOMEM.
 */
int weft_cancel_token_child(struct weft_cancel_token *parent,
                            struct weft_cancel_token **out);

/** Another handle to the same token.  Cannot fail. */
struct weft_cancel_token *weft_cancel_token_clone(struct weft_cancel_token *t);

/**
 * Releases one handle.  Does not cancel anything.  Futures waiting on
 * this handle must have been dropped first.  NULL is a no-op.
 */
void weft_cancel_token_free(struct weft_cancel_token *t);

/**
 * Cancels the token and everything below it, and wakes every future
 * waiting on any of them.  Returns after all of them are marked.
 */
void weft_cancel_token_cancel(struct weft_cancel_token *t);

/** True once the token, or a token above it, is cancelled. */
bool weft_cancel_token_is_cancelled(struct weft_cancel_token *t);

/**
 * Completes once the token is cancelled (at once if it already is).  Made
 * to be a branch of a select: dropping it before it completes is always
 * fine.  Output `status` is always 0.  Borrows the token.
 */
struct weft_cancelled {
	struct weft_future base; /**< the future's vtable */
	struct weft_cancel_token *token; /**< the token, borrowed */
	struct weft__wait wait; /**< its place among the token's waiters */
	int status; /**< output: always 0 */
};
/** A future that completes once t is cancelled; it borrows t. */
void weft_cancelled_init(struct weft_cancelled *f, struct weft_cancel_token *t);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CANCEL_H */
