/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Fibers: stackful tasks, opt-in.  A fiber runs an ordinary C function on a
 * stack of its own and awaits any weft future inline: weft_await(fut)
 * suspends the fiber, not the thread, so locals survive the wait and the
 * code reads straight down, with loops and calls around every await.
 *
 *     static int
 *     worker(void *arg)
 *     {
 *             struct weft_sleep s;
 *             int sum = 0;
 *             for (int i = 0; i < 10; i++) {
 *                     weft_sleep_init(&s, 10 * WEFT_MSEC);
 *                     if (weft_await(&s.base) < 0)
 *                             return WEFT_ECANCELED;  // dropped: clean up
 *                     sum += i;
 *             }
 *             return sum;
 *     }
 *     ...
 *     weft_fiber_spawn(ex, worker, NULL, NULL, &join);
 *
 * A fiber is a weft future (struct weft_fiber): it can be spawned on any
 * executor, block_on'd, joined, raced and dropped like any other.  Its poll
 * switches onto the fiber's stack and runs the function until it returns
 * (the future is ready, its output `result` holds the return value) or
 * awaits a future that is pending (the fiber switches back and the poll
 * returns pending; the next poll switches in and polls that future again,
 * with the new context).
 *
 * Stacks: mmap'ed, with a PROT_NONE guard below them so that an overflow
 * faults (SIGSEGV) instead of corrupting memory; only the pages a fiber
 * touches are committed.  A frame larger than the guard can jump over it:
 * build with -fstack-clash-protection, or ask for a larger guard_size.
 * Each fiber holds two memory mappings; Linux allows about 65,000 per
 * process (vm.max_map_count), so about 32,000 live fibers.
 *
 * The switch is hand-written assembly on x86-64 (System V) and aarch64,
 * saving only what the calling convention says a callee keeps; elsewhere,
 * or when built with -DWEFT_FIBER_UCONTEXT, it is ucontext's swapcontext,
 * which is slower (it saves the signal mask with a system call).  Stacks are
 * registered with Valgrind, and switches annotated for AddressSanitizer and
 * ThreadSanitizer, when the build has them.
 *
 * Threads: on a threaded executor (multi, worksteal) a fiber may resume on
 * another worker thread after any weft_await or weft_fiber_yield.  So a
 * fiber's function must not carry anything thread-local across an await:
 * errno, a thread-local variable, or its address, which the compiler may
 * compute once and keep in a register (glibc declares errno's accessor
 * `const`, so `errno` read after an await may be the previous thread's).
 * Read errno right after the call that sets it, before the next await; put
 * code that uses thread-locals on both sides of an await in separate
 * functions that are not inlined.  The same goes for thread identity
 * (pthread_self, a lock held across an await).
 *
 * Cancellation: dropping a fiber that is suspended in weft_await resumes
 * it once more: the awaited future is dropped and weft_await returns
 * WEFT_ECANCELED, so the function can release what it holds; every later
 * weft_await returns WEFT_ECANCELED at once (dropping its future) and
 * weft_fiber_yield too.  The function must then return promptly: the drop
 * waits for it on the dropping thread.  A fiber dropped before its first
 * poll never runs.  Its stack is unmapped when the function has returned
 * (at the poll that completes it) or at drop.
 */
#ifndef WEFT_FIBER_H
#define WEFT_FIBER_H

#include <weft/weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The stack size when none is given: 256 KiB, committed only as used. */
#define WEFT_FIBER_STACK_DEFAULT ((size_t)256 * 1024)
/** Smaller stack sizes are raised to this: 16 KiB. */
#define WEFT_FIBER_STACK_MIN ((size_t)16 * 1024)

/**
 * Options for a fiber; NULL means every default.  Fill it with
 * weft_fiber_opts_init() and then change what you need, so that members
 * added later keep their defaults.
 */
struct weft_fiber_opts {
	uint32_t size; /**< sizeof(struct weft_fiber_opts) as built */
	/** usable stack bytes, rounded up to pages; 0: the default */
	size_t stack_size;
	/** PROT_NONE bytes below the stack, rounded up to pages; 0: a page */
	size_t guard_size;
};

/** Sets every option to its default. */
void weft_fiber_opts_init(struct weft_fiber_opts *opts);

/**
 * The function a fiber runs, with the argument given at init.  Its return
 * value is the fiber's output.
 */
typedef int (*weft_fiber_fn)(void *arg);

struct weft__fiber;

/**
 * A fiber as a future.  Output `result`: the function's return value, or
 * the error init returned when the fiber could not be made (the function
 * then never runs and the future is ready at its first poll).  It owns its
 * stack: drop releases it (see Cancellation above).
 */
struct weft_fiber {
	struct weft_future base;   /**< the future's vtable */
	struct weft__fiber *fiber; /**< the stack and its state, owned */
	int result;                /**< output: what the function returned */
};

/**
 * Makes a fiber that will run fn(arg) at its first poll.  arg is borrowed:
 * it must stay valid while the fiber may run.  opts may be NULL.  Returns 0,
 * -EINVAL (fn NULL, opts->size too small, sizes that overflow), or the
 * error of mmap/mprotect (-ENOMEM); in every case *f is a future that must
 * be dropped once.  The struct may be moved until its first poll (F7).
 */
int weft_fiber_init(struct weft_fiber *f, weft_fiber_fn fn, void *arg,
                    const struct weft_fiber_opts *opts);

/**
 * Makes a fiber and spawns it on ex (cx->executor inside a task,
 * weft_runtime_executor() outside); *join receives the handle, whose output
 * is the fiber's int result (join NULL: detached).  0, or a negative error
 * (the fiber has then been dropped without running).
 */
int weft_fiber_spawn(struct weft_executor *ex, weft_fiber_fn fn, void *arg,
                     const struct weft_fiber_opts *opts,
                     struct weft_join **join);
#ifndef WEFT_NO_SPAWN_LABELS /* the call site, for weft_runtime_tasks */
/** The function above, recording its call site for weft_runtime_tasks. */
#define weft_fiber_spawn(ex, fn, arg, opts, join)                              \
	WEFT__SPAWN_HERE((weft_fiber_spawn)(ex, fn, arg, opts, join))
#endif

/**
 * Awaits fut from inside a fiber: polls it with the fiber's current
 * context, suspending the fiber (not the thread) while it is pending.
 * Consumes fut in every case: it is dropped exactly once before weft_await
 * returns, and its output stays readable in its struct (F4).  fut must stay
 * at its address meanwhile (a local of the fiber's function does).
 *
 * Returns 0 when fut completed; WEFT_ECANCELED when the fiber is being
 * dropped (fut did not complete); -EPERM when called outside a fiber;
 * -EINVAL when fut is NULL or empty.
 */
int weft_await(struct weft_future *fut);

/**
 * Gives other tasks a turn: wakes the fiber and suspends it once.  0,
 * WEFT_ECANCELED (the fiber is being dropped) or -EPERM (not in a fiber).
 */
int weft_fiber_yield(void);

/** True when called from a fiber's function (at any depth). */
bool weft_in_fiber(void);

/**
 * The context of the poll that is running the calling fiber, for spawning
 * (cx->executor) or reaching the driver; valid until the fiber's next
 * await or yield, and NULL outside a fiber or while it is being dropped.
 */
struct weft_context *weft_fiber_context(void);

/** The stack switch this build uses: "x86_64", "aarch64" or "ucontext". */
const char *weft_fiber_switch_name(void);

/**
 * Fiber stacks mapped now, in the whole process: for tests and leak checks
 * (Valgrind does not see mmap'ed stacks as leaks).
 */
size_t weft_fiber_live(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_FIBER_H */
