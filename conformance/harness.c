/* SPDX-License-Identifier: MIT */
/*
 * The conformance harness.  See harness.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct h_options h_opt;

/* Reset from the seed at every test's setup. */
static _Atomic uint64_t h_rand_state;


/* ---- watchdog ------------------------------------------------------ */

/*
 * A broken plugin must fail, not hang: every test arms alarm() and the
 * handler names the test and ends the process.  Only async-signal-safe
 * calls are made in it.
 */
static const char *volatile h_current = "(none)";


static void
h_on_alarm(int sig)
{
	static const char head[] = "\nwatchdog: test ";
	static const char tail[] = " did not finish in time (hang?)\n";
	const char *name = h_current;

	(void)sig;
	if (write(2, head, sizeof(head) - 1) < 0 ||
	    write(2, name, strlen(name)) < 0 ||
	    write(2, tail, sizeof(tail) - 1) < 0)
		_exit(2);
	_exit(1);
}


int
h_setup(void **state)
{
	static bool installed;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = h_on_alarm;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		installed = true;
	}
	h_current = *state ? (const char *)*state : "(unnamed)";
	h_violations_take();
	h_rand_state = h_opt.seed;
	if (h_opt.alarm_s)
		alarm(h_opt.alarm_s);
	return 0;
}


int
h_teardown(void **state)
{
	(void)state;
	alarm(0);
	h_current = "(between tests)";
	return 0;
}


/* ---- random numbers ----------------------------------------------- */

uint64_t
h_rand(void)
{
	/* splitmix64: each call takes its own step of the shared state. */
	uint64_t z = atomic_fetch_add(&h_rand_state, 0x9e3779b97f4a7c15ull) +
	             0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}


/* ---- time ---------------------------------------------------------- */

uint64_t
h_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * WEFT_SEC + (uint64_t)ts.tv_nsec;
}


void
h_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
	    .tv_sec = (time_t)(ns / WEFT_SEC),
	    .tv_nsec = (long)(ns % WEFT_SEC),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}


bool
h_virtual_clock(void)
{
	return (h_opt.reactor_flags & WEFT_REACTOR_CLOCK) != 0;
}


uint64_t
h_clock(struct weft_driver *d)
{
	return h_virtual_clock() ? weft_driver_now(d) : h_now();
}


uint64_t
h_prompt_ns(void)
{
	return (h_opt.slow ? 5000 : 1000) * WEFT_MSEC;
}


void
h_check_lateness(const char *what, uint64_t late_ns)
{
	if (late_ns > H_LATE_WARN_NS)
		printf("quality warning: %s: %llu ms late (over %llu ms; "
		       "a loaded machine can cause this)\n",
		       what, (unsigned long long)(late_ns / WEFT_MSEC),
		       (unsigned long long)(H_LATE_WARN_NS / WEFT_MSEC));
}


/* ---- violations ---------------------------------------------------- */

static atomic_uint h_violation_count;


void
h_violation(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One call per line, so lines from two threads do not interleave. */
	fprintf(stderr, "violation: %s\n", line);
	atomic_fetch_add(&h_violation_count, 1);
}


unsigned
h_violations_take(void)
{
	return atomic_exchange(&h_violation_count, 0);
}


/* ---- runtimes ------------------------------------------------------ */

struct weft_runtime *
h_rt_try_open(const char *executor, const char *workers,
              const char *const *settings, char *err, size_t errlen)
{
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	int r;

	if (!executor)
		executor = h_opt.executor;
	r = weft_config_new(&cfg);
	if (r < 0)
		fail_msg("weft_config_new: %s", weft_strerror(r));
	/* The pair under test, and nothing from the environment. */
	r = weft_config_set(cfg, "use_env", "false", err, errlen);
	if (r == 0 && executor[0])
		r = weft_config_set(cfg, "executor", executor, err, errlen);
	if (r == 0 && h_opt.reactor[0])
		r = weft_config_set(cfg, "reactor", h_opt.reactor, err, errlen);
	if (r == 0 && h_opt.plugin_path[0])
		r = weft_config_set(cfg, "plugin_path", h_opt.plugin_path, err,
		                    errlen);
	if (r == 0 && (workers || h_opt.workers[0]))
		r = weft_config_set(cfg, "workers",
		                    workers ? workers : h_opt.workers, err,
		                    errlen);
	for (; r == 0 && settings && settings[0]; settings += 2)
		r = weft_config_set(cfg, settings[0], settings[1], err, errlen);
	if (r < 0) {
		weft_config_free(cfg);
		fail_msg("configuration: %s", err);
	}
	r = weft_runtime_open(&rt, cfg, err, errlen);
	weft_config_free(cfg);
	return r < 0 ? NULL : rt;
}


struct weft_runtime *
h_rt_open(const char *workers)
{
	char err[1024] = "";
	struct weft_runtime *rt =
	    h_rt_try_open(NULL, workers, NULL, err, sizeof(err));

	if (!rt)
		fail_msg("cannot open a runtime on %s + %s: %s", h_opt.executor,
		         h_opt.reactor, err);
	return rt;
}


struct weft_join *
h_spawn(struct weft_runtime *rt, struct weft_future *f)
{
	struct weft_join *join = NULL;
	int r = weft_spawn(rt, f, &join);

	if (r < 0)
		fail_msg("weft_spawn failed: %s", weft_strerror(r));
	if (!join)
		fail_msg("weft_spawn succeeded but gave no join handle");
	return join;
}


struct h_root {
	struct weft_future base;
	h_step_fn fn;
	void *arg;
	bool finished;
};


static weft_poll
h_root_poll(struct weft_future *f, struct weft_context *cx)
{
	struct h_root *root = (struct h_root *)f;

	if (root->finished) {
		h_violation("F2: block_on polled its root after ready");
		return WEFT_READY;
	}
	if (root->fn(root->arg, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	root->finished = true;
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(h_root_vtable, struct h_root, h_root_poll, NULL);


int
h_block_on_fn(struct weft_runtime *rt, h_step_fn fn, void *arg)
{
	struct h_root root = {
	    .base = {&h_root_vtable},
	    .fn = fn,
	    .arg = arg,
	};
	int r = weft_block_on(rt, &root.base);

	weft_future_drop(&root.base);
	return r;
}


struct h_counted {
	struct weft_future *inner;
	struct h_waker *hw;
	struct weft_waker mine;
	long seen; /* hw's wake count when inner last returned pending */
	bool started;
};


static weft_poll
h_counted_step(void *arg, struct weft_context *cx)
{
	struct h_counted *c = arg;
	struct weft_context inner_cx = *cx;

	/* Forward first, so that a wake racing with this poll is kept. */
	h_waker_forward_to(c->hw, &cx->waker);
	if (c->started && h_waker_woken(c->hw) == c->seen)
		return WEFT_PENDING; /* not woken by inner: not its turn */
	c->started = true;
	c->seen = h_waker_woken(c->hw);
	inner_cx.waker = c->mine;
	if (weft_future_poll(c->inner, &inner_cx) == WEFT_PENDING)
		return WEFT_PENDING;
	weft_future_drop(c->inner);
	return WEFT_READY;
}


int
h_block_on_counted(struct weft_runtime *rt, struct weft_future *inner,
                   struct h_waker *hw)
{
	struct h_counted c = {
	    .inner = inner,
	    .hw = hw,
	    .mine = h_waker_make(hw),
	};
	int r = h_block_on_fn(rt, h_counted_step, &c);

	weft_future_drop(inner);
	weft_waker_drop(&c.mine);
	return r;
}


unsigned
h_run_until(struct weft_runtime *rt, atomic_uint *counter, unsigned want)
{
	uint64_t start = h_now();
	struct weft_sleep s;

	while (atomic_load(counter) < want &&
	       h_now() - start < 5 * h_prompt_ns()) {
		weft_sleep_init(&s, WEFT_MSEC);
		if (weft_block_on(rt, &s.base) != 0)
			h_violation("harness: block_on(sleep) failed");
		weft_future_drop(&s.base);
	}
	return atomic_load(counter);
}


/* ---- signals ------------------------------------------------------- */

void
h_signal_init(struct h_signal *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->waker = (struct weft_waker){0, 0};
}


/*
 * Called before the runtime closes: the stored waker must be dropped while
 * its executor is still loaded (W2).  A worker may still be inside
 * h_signal_notify until close, so the lock is taken to hand the waker over
 * and is never destroyed — a default mutex holds no resources, and
 * destroying it under a late notifier was a real race.
 */
void
h_signal_fini(struct h_signal *s)
{
	struct weft_waker w;

	pthread_mutex_lock(&s->lock);
	w = s->waker;
	s->waker = (struct weft_waker){0, 0};
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&w);
}


void
h_signal_listen(struct h_signal *s, struct weft_context *cx)
{
	pthread_mutex_lock(&s->lock);
	weft_waker_store(&s->waker, &cx->waker);
	pthread_mutex_unlock(&s->lock);
}


void
h_signal_notify(struct h_signal *s)
{
	/*
	 * Waking under the lock keeps the waker alive against a concurrent
	 * listen that replaces it; a task waker's wake only queues.
	 */
	pthread_mutex_lock(&s->lock);
	weft_waker_wake_by_ref(&s->waker);
	pthread_mutex_unlock(&s->lock);
}


weft_poll
h_tally_wait_step(void *arg, struct weft_context *cx)
{
	struct h_tally_wait *t = arg;

	if (atomic_load(t->tally) >= t->want)
		return WEFT_READY;
	/* Listen, then look again: a notify in between is not lost. */
	h_signal_listen(t->sig, cx);
	return atomic_load(t->tally) >= t->want ? WEFT_READY : WEFT_PENDING;
}


weft_poll
h_yield_n(void *arg, struct weft_context *cx)
{
	int *left = arg;

	if ((*left)-- <= 0)
		return WEFT_READY;
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}


/* ---- sockets and threads ------------------------------------------- */

void
h_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) < 0)
		fail_msg("socketpair: %s", strerror(errno));
}


void
h_write_byte(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		h_violation("harness: write to fd %d failed: %s", fd,
		            strerror(errno));
}


size_t
h_drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return total;
}


pthread_t
h_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, fn, arg);

	if (r != 0)
		fail_msg("pthread_create: %s", strerror(r));
	return t;
}
