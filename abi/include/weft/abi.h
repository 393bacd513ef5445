/* SPDX-License-Identifier: MIT */
/**
 * @file
 * weft ABI 1.x — the binary contract between async code, executors, reactors
 * and the host that loads them.
 *
 * This header is the whole contract. It depends only on <stdint.h>,
 * <stddef.h> and <stdbool.h> and compiles as C99/C11 and as C++.  The rules
 * it implements are numbered in ABI.md (W waker, F future, C context,
 * E executor, R reactor, P plugin/loader, T task core, D driver); the comments
 * here cite them.
 *
 * Versioning: every struct that crosses the boundary starts with a `version`
 * (or `size`) field.  Members are only ever appended; a reader checks the
 * field before touching a member that a later minor version added.  Callers
 * go through the static inline wrappers at the bottom of each section, which
 * check the version and the pointer and return WEFT_ENOTSUP instead of calling
 * through NULL.
 *
 * Errors: functions return 0 (or a count) on success and a negative code on
 * failure: -errno for system errors, and the WEFT_E* codes below (all below
 * -10000, so they never collide with an errno) for weft's own.
 *
 * The header is split for reading into parts, one or more sections each,
 * in weft/abi/: core.h (versions, errors, poll, waker, context, future),
 * task.h (join handles and the task core), driver.h, executor.h,
 * reactor.h and plugin.h.  They are one header: this file includes them in
 * this order, each relies on the ones before it, and none may be included
 * on its own.
 */
#ifndef WEFT_ABI_H
#define WEFT_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The parts refuse to be included but from here. */
#define WEFT_ABI_H_INSIDE
#include "abi/core.h"
#include "abi/task.h"
#include "abi/driver.h"
#include "abi/executor.h"
#include "abi/reactor.h"
#include "abi/plugin.h"
#undef WEFT_ABI_H_INSIDE

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ABI_H */
