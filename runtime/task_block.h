/* SPDX-License-Identifier: MIT */
/*
 * Task blocks: the memory of tasks made without an allocator of their own
 * (task.c's task_alloc), and of oneshot channels while the default
 * allocator is libc's, from per-thread size-classed pages instead of
 * malloc, so that a spawn costs no malloc in steady state and a block no
 * allocator header or rounding beyond 8 bytes.
 *
 * A page is 1 MiB, aligned to its size, so a block finds its page by
 * masking its address.  The thread that made a page owns it: it carves
 * blocks in order, and frees its own blocks onto the page's local list.  A
 * block freed on another thread (a task is often completed, and its last
 * reference given back, on another thread than the one that spawned it)
 * goes onto the page's remote list, one atomic push; the owner takes the
 * whole list back in one exchange when its local one runs dry.  Nothing
 * else is shared: a free touches the page and nothing of the owner.
 *
 * A thread's pages are freed, those whose blocks are all back, when it
 * exits and when the last task set of the process is freed (the last
 * runtime closes).  Pages with blocks still out at a thread's exit wait in
 * a process-wide list for the next of those moments.  Blocks larger than
 * the largest class get a page of their own, freed with the block.
 *
 * Under Valgrind the pages are bypassed (malloc and free per block), so
 * that its use-after-free and leak checks see each task; under
 * AddressSanitizer the pages are kept and a free block is poisoned.  The
 * environment variable WEFT_TASK_PAGES=1, read once before the first
 * block, keeps the pages under Valgrind too: bench/boundary sets it, so
 * that callgrind's instruction counts price a task and a channel as a
 * real run does (without it each block carries malloc and free, about 300
 * instructions).
 */
#ifndef WEFT_TASK_BLOCK_H
#define WEFT_TASK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

/*
 * A block of at least n bytes, aligned to 16 when align16 (a future whose
 * size is a multiple of 16 may need it), else to 8; NULL when out of
 * memory.  Any thread.
 */
WEFT__HIDDEN void *weft__task_block_alloc(size_t n, bool align16);

/* Gives back a block of weft__task_block_alloc.  Any thread. */
WEFT__HIDDEN void weft__task_block_free(void *p);

/*
 * Frees this thread's pages whose blocks are all back, and those of exited
 * threads: called when the last task set is freed.
 */
WEFT__HIDDEN void weft__task_block_trim(void);

/* The bytes a block of n takes in its page (tests and the bench). */
WEFT__HIDDEN size_t weft__task_block_size(size_t n, bool align16);

#endif /* WEFT_TASK_BLOCK_H */
