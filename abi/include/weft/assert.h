/* SPDX-License-Identifier: MIT */
/**
 * @file
 * WEFT_ASSERT: an invariant check for the host and for plugins, in the way
 * libuv asserts its own.  It is on unless NDEBUG is defined, so debug and
 * test builds (meson's debug and debugoptimized) check every invariant and
 * release builds pay nothing.  It is for states the code itself must never
 * reach — a reference count below zero, a task run twice, a queue index
 * past its bound — never for bad input, which gets an error code.
 *
 * Not part of the ABI: plugins may use it or not.
 */
#ifndef WEFT_ASSERT_H
#define WEFT_ASSERT_H

#ifdef NDEBUG
#define WEFT_ASSERT(expr) ((void)0)
#else
#include <stdio.h>
#include <stdlib.h>

/** Aborts, naming the place and expr, when expr is false (not under NDEBUG). */
#define WEFT_ASSERT(expr)                                                      \
	((expr) ? (void)0                                                      \
	        : (fprintf(stderr, "%s:%d: %s: invariant broken: %s\n",       \
	                   __FILE__, __LINE__, __func__, #expr),               \
	           abort()))
#endif

#endif /* WEFT_ASSERT_H */
