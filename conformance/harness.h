/* SPDX-License-Identifier: MIT */
/*
 * The conformance harness: options, the watchdog, violation records,
 * counting wakers and futures, and a reactor loaded the way a host loads
 * it.  Tests never call cmocka assertions off the main thread (cmocka's
 * failure path is a longjmp), so code that runs inside a poll or on a
 * helper thread records a violation instead and the test checks the count
 * on the main thread.
 */
#ifndef WEFT_CONFORMANCE_HARNESS_H
#define WEFT_CONFORMANCE_HARNESS_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <weft/weft.h>

/* ---- options and groups -------------------------------------------- */

struct h_waker;

struct h_options {
	char executor[4096]; /* as given: a name or a path */
	char reactor[4096];
	char plugin_path[4096];
	char workers[32];
	char executor_path[4096]; /* as resolved by the host */
	char reactor_path[4096];
	uint32_t executor_flags;
	uint32_t reactor_flags;
	bool resolved; /* a runtime opened on this pair */
	bool slow; /* under the memory checker: stretch bounds, shrink loops */
	unsigned alarm_s; /* in-process watchdog; 0 when the parent watches */
	uint64_t seed;    /* of the randomised tests: --seed */
};

extern struct h_options h_opt;

struct h_group {
	const char *name;
	const struct CMUnitTest *tests;
	size_t count;
};

extern const struct h_group h_group_plugin, h_group_waker, h_group_future,
    h_group_task, h_group_executor, h_group_lifecycle, h_group_driver,
    h_group_batch, h_group_reactor, h_group_reactor_caps, h_group_outlive,
    h_group_sched, h_group_clock, h_group_settings, h_group_completion,
    h_group_completion_cancel, h_group_driver_op;

/*
 * Every test runs under the watchdog: the setup arms it with the test's
 * name (the prestate), the teardown disarms it.
 */
int h_setup(void **state);
int h_teardown(void **state);
#define H_TEST(fn)                                                             \
	cmocka_unit_test_prestate_setup_teardown(fn, h_setup, h_teardown,      \
	                                         (void *)#fn)
#define H_GROUP(var, gname, array)                                             \
	const struct h_group var = {gname, array,                              \
	                            sizeof(array) / sizeof((array)[0])}

/* Seconds a test may take before the watchdog ends the process. */
#define H_WATCHDOG_SECONDS 20

/*
 * Pseudo-random numbers from --seed, for the randomised tests: any
 * thread; a run with the same seed draws the same sequence (the thread
 * interleaving, of course, still varies).
 */
uint64_t h_rand(void);

/* ---- time ---------------------------------------------------------- */

/* Nanoseconds on CLOCK_MONOTONIC: the clock users measure against. */
uint64_t h_now(void);
void h_sleep_ns(uint64_t ns);

/* True when the pair's reactor keeps the runtime's clock (R12). */
bool h_virtual_clock(void);

/*
 * The time a test measures waits and timers on: the driver's clock when
 * the reactor keeps it (a virtual clock that real time does not move),
 * else CLOCK_MONOTONIC, which the driver's clock then follows (D1).
 */
uint64_t h_clock(struct weft_driver *d);

/* A bound for "promptly": generous, and stretched when slow. */
uint64_t h_prompt_ns(void);

/* Lateness over this is reported as a quality warning, not a failure. */
#define H_LATE_WARN_NS (50 * WEFT_MSEC)
void h_check_lateness(const char *what, uint64_t late_ns);

/* ---- violations ---------------------------------------------------- */

/* Thread-safe: prints "violation: <rule> ..." and counts it. */
void h_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned h_violations_take(void);
#define H_NO_VIOLATIONS() assert_int_equal(h_violations_take(), 0)

/* ---- runtimes ------------------------------------------------------ */

/*
 * Opens a runtime on the pair under test with use_env = false; workers
 * NULL keeps the configured count.  Fails the test on error.
 */
struct weft_runtime *h_rt_open(const char *workers);

/*
 * h_rt_open on another executor (NULL: the pair's) with more settings:
 * key, value, ..., NULL (NULL: none).  Returns NULL with the reason in err
 * when the runtime does not open; fails only on a bad key.
 */
struct weft_runtime *h_rt_try_open(const char *executor, const char *workers,
                                   const char *const *settings, char *err,
                                   size_t errlen);

/* Spawns and fails the test (on the main thread) if spawn fails. */
struct weft_join *h_spawn(struct weft_runtime *rt, struct weft_future *f);

/*
 * block_on a root that calls fn(arg, cx) at every poll until it returns
 * WEFT_READY.  Returns block_on's result.
 */
typedef weft_poll (*h_step_fn)(void *arg, struct weft_context *cx);
int h_block_on_fn(struct weft_runtime *rt, h_step_fn fn, void *arg);

/*
 * block_on a root that polls *inner (pinned where the caller keeps it)
 * with a waker counted by hw, and only after hw was woken: inner must
 * arrange its own wakes (F3).  Drops inner when it is ready.
 */
int h_block_on_counted(struct weft_runtime *rt, struct weft_future *inner,
                       struct h_waker *hw);

/*
 * Gives the runtime turns (short sleeps under block_on, so that a
 * single-thread executor runs its tasks too) until *counter reaches want
 * or a generous bound passes.  Returns the last value seen.
 */
unsigned h_run_until(struct weft_runtime *rt, atomic_uint *counter,
                     unsigned want);

/* ---- a signal: "something changed, poll me again" ------------------- */

struct h_signal {
	pthread_mutex_t lock;
	struct weft_waker waker;
};

void h_signal_init(struct h_signal *s);
void h_signal_fini(struct h_signal *s);
/* Stores a clone of cx's waker; check the condition again afterwards. */
void h_signal_listen(struct h_signal *s, struct weft_context *cx);
/* Any thread. */
void h_signal_notify(struct h_signal *s);

/* Waits in a root until *tally reaches want; sig is notified on change. */
struct h_tally_wait {
	struct h_signal *sig;
	atomic_uint *tally;
	unsigned want;
};

weft_poll h_tally_wait_step(void *arg, struct weft_context *cx);

/* A step that wakes itself *(int *)arg times, then is ready. */
weft_poll h_yield_n(void *arg, struct weft_context *cx);

/* ---- counting wakers ----------------------------------------------- */

/*
 * A waker whose every reference is counted: live goes up with each waker
 * made or cloned and down with each wake or drop, so a balanced user
 * leaves it at zero (W5).  It may forward its wakes to another waker.
 */
struct h_waker {
	atomic_long live, clones, wakes, wakes_by_ref, drops;
	pthread_mutex_t lock;
	struct weft_waker forward;
};

void h_waker_init(struct h_waker *w);
/* Drops the forward target: do it before the target's runtime closes. */
void h_waker_unforward(struct h_waker *w);
void h_waker_fini(struct h_waker *w);
struct weft_waker h_waker_make(struct h_waker *w);
void h_waker_forward_to(struct h_waker *w, const struct weft_waker *target);
/* wakes + wakes_by_ref */
long h_waker_woken(struct h_waker *w);

/* ---- counting futures ---------------------------------------------- */

/* Shared between a future and its test; outlives the future. */
struct h_probe {
	atomic_uint polls, drops, readies;
	atomic_int in_poll;
	atomic_uintptr_t poll_thread; /* last thread that polled, as a key */
};

enum h_fut_mode {
	H_FUT_YIELD, /* wakes itself `yields` times, then ready */
	H_FUT_HOLD,  /* stores the waker and stays pending until dropped */
};

/*
 * A future that checks the F and E rules from the inside: no poll after
 * ready (F2), never two polls at once (E1), never moved after its first
 * poll (F7), dropped once (F1).  Output: out.
 */
struct h_fut {
	struct weft_future base;
	struct h_probe *probe;
	enum h_fut_mode mode;
	uint32_t yields, yielded;
	bool finished;
	void *pinned;
	struct weft_waker held;
	struct h_signal *on_ready; /* notified when it completes, if set */
	atomic_uint *tally;        /* counts completions, if set */
	uint64_t out;
};

void h_fut_init(struct h_fut *f, struct h_probe *p, enum h_fut_mode mode,
                uint32_t yields, uint64_t out);

/* ---- sockets ------------------------------------------------------- */

/* A non-blocking, close-on-exec AF_UNIX stream pair. */
void h_socketpair(int sv[2]);
void h_write_byte(int fd);
/* Reads until EAGAIN; returns the byte count. */
size_t h_drain(int fd);

/* ---- threads ------------------------------------------------------- */

/* Starts a thread or fails the test; join with pthread_join. */
pthread_t h_thread(void *(*fn)(void *), void *arg);

/* ---- plugins loaded the way a host loads them ------------------------ */

struct h_plugin {
	void *handle;
	const struct weft_plugin_descriptor *desc; /* of the wanted kind */
	struct weft_negotiate neg;
};

/* dlopen + entry + negotiation; fails the test with the reason. */
void h_plugin_load(struct h_plugin *p, const char *path,
                   enum weft_plugin_kind kind);
void h_plugin_unload(struct h_plugin *p);

/* A reactor instance: host-allocated, header filled, init called. */
struct h_reactor {
	struct h_plugin plugin;
	const struct weft_reactor_iface *ops;
	struct weft_reactor *r;
};

void h_reactor_open(struct h_reactor *hr, uint32_t max_events);
void h_reactor_close(struct h_reactor *hr);

#endif /* WEFT_CONFORMANCE_HARNESS_H */
