/* SPDX-License-Identifier: MIT */
/*
 * Shared by the files of <weft/await.h> (await.c, await_io.c,
 * await_sync.c): not installed.
 */
#ifndef WEFT_AWAIT_PRIV_H
#define WEFT_AWAIT_PRIV_H

#include <weft/fiber.h>

/*
 * Awaits fut (consumed, as by weft_await); the status it completed with,
 * read from its own storage, else weft_await's error (-EPERM outside a
 * fiber, WEFT_ECANCELED when the fiber is being dropped).
 */
static inline int
weft__await_status(struct weft_future *fut, const int *status)
{
	int r = weft_await(fut);

	return r < 0 ? r : *status;
}

#endif /* WEFT_AWAIT_PRIV_H */
