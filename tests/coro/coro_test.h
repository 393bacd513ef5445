/* SPDX-License-Identifier: MIT */
/*
 * For the coroutine tests that need no runtime: a child future that pends
 * once without touching the context (so a body can be polled with a NULL
 * one) and the __LINE__ fallback's check.
 */
#ifndef CORO_TEST_H
#define CORO_TEST_H

#include <weft/coro.h>

/* Pending on its first poll, ready on the second; output `status` 0. */
struct pend_once {
	struct weft_future base;
	int polled;
	int status;
};

static weft_poll
pend_once_poll(struct weft_future *f, struct weft_context *cx)
{
	struct pend_once *p = (struct pend_once *)f;

	(void)cx;
	return p->polled++ ? WEFT_READY : WEFT_PENDING;
}

WEFT_FUTURE_VTABLE(pend_once_vtable, struct pend_once, status, pend_once_poll,
                   NULL);

static inline void
pend_once_init(struct pend_once *p)
{
	*p = (struct pend_once){.base.vtable = &pend_once_vtable};
}

/* Polls a two-await body built with WEFT_CORO_USE_LINE: 3, or -1. */
int line_fallback_polls(void);

#endif
