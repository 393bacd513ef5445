/* SPDX-License-Identifier: MIT */
/*
 * Header build test: <weft/abi.h> alone must compile as strict C99, as
 * C11 with every warning an error, and as C++.  Using each inline wrapper
 * makes the compiler check their bodies too.  On x86_64 the layout table
 * is checked as well.
 */
#include <weft/abi.h>

#include <stdio.h>

#include "layout.h"

static weft_poll
ready_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

static const struct weft_future_vtable ready_vtable = {
    WEFT_FUTURE_VTABLE_VERSION,
    0,
    sizeof(struct weft_future),
    0,
    0,
    ready_poll,
    0,
};

int
main(void)
{
	struct weft_waker w = weft_waker_noop();
	struct weft_waker c = weft_waker_clone(&w);
	struct weft_context cx;
	struct weft_future f;
	struct weft_negotiate neg;
	int bad = 0;

	f.vtable = &ready_vtable;
	weft_context_init(&cx, w, 0, 0);
	if (!WEFT_CONTEXT_HAS(&cx, driver) || !weft_budget_spend(&cx))
		bad++;
	if (weft_future_poll(&f, &cx) != WEFT_READY)
		bad++;
	weft_future_drop(&f);
	if (!weft_future_is_empty(&f))
		bad++;
	weft_waker_wake_by_ref(&w);
	weft_waker_store(&c, &w);
	weft_waker_wake(&c);
	weft_waker_drop(&w);
	if (weft_driver_now(0) != 0 || weft_reactor_wakeup(0) != WEFT_ENOTSUP ||
	    weft_join_poll(0, &cx, 0, 0) != WEFT_ENOTSUP ||
	    weft_executor_block_on(0, &f) != WEFT_ENOTSUP)
		bad++;
	/* ABI 1.2's wrappers. */
	if (weft_driver_clock_advance(0, 1) != WEFT_ENOTSUP ||
	    weft_driver_fault(0, WEFT_FAULT_RESET) != 0 ||
	    weft_executor_worker_stats(0, 0, 0) != WEFT_ENOTSUP ||
	    weft_reactor_has_clock(0) ||
	    weft_reactor_advance(0, 1) != WEFT_ENOTSUP)
		bad++;
	neg.version = WEFT_NEGOTIATE_VERSION;
	neg.host_min = WEFT_ABI_MAKE(1, 0);
	neg.host_max = WEFT_ABI_VERSION;
	neg.chosen = 0;
	if (weft_negotiate_pick(&neg, WEFT_ABI_VERSION) != 0 ||
	    neg.chosen != WEFT_ABI_VERSION)
		bad++;
#if defined(__x86_64__) && defined(__LP64__)
#define FROZEN(type, size)                                                     \
	if (sizeof(struct type) != (size)) {                                   \
		printf("sizeof(struct " #type ") = %u\n",                      \
		       (unsigned)sizeof(struct type));                         \
		bad++;                                                         \
	}
#define GROWS(type, end)                                                       \
	if (sizeof(struct type) < (end)) {                                     \
		printf("sizeof(struct " #type ") = %u\n",                      \
		       (unsigned)sizeof(struct type));                         \
		bad++;                                                         \
	}
#define OFF(type, member, off)                                                 \
	if (offsetof(struct type, member) != (off)) {                          \
		printf(#type "." #member " at %u\n",                           \
		       (unsigned)offsetof(struct type, member));               \
		bad++;                                                         \
	}
	WEFT_LAYOUT_X86_64
	WEFT_LAYOUT_X86_64_ADDED
	if (WEFT_ABI_SIGNATURE != WEFT_LAYOUT_X86_64_SIGNATURE)
		bad++;
#endif
	return bad ? 1 : 0;
}
