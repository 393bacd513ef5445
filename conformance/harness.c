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
	unsigned seconds = H_WATCHDOG_SECONDS * (h_opt.valgrind ? 8 : 1);

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
	alarm(seconds);
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


uint64_t
h_prompt_ns(void)
{
	return (h_opt.valgrind ? 5000 : 1000) * WEFT_MSEC;
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
h_rt_open(const char *workers)
{
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	char err[1024] = "";
	int r;

	r = weft_config_new(&cfg);
	if (r < 0)
		fail_msg("weft_config_new: %s", weft_strerror(r));
	/* The pair under test, and nothing from the environment. */
	r = weft_config_set(cfg, "use_env", "false", err, sizeof(err));
	if (r == 0 && h_opt.executor[0])
		r = weft_config_set(cfg, "executor", h_opt.executor, err,
		                    sizeof(err));
	if (r == 0 && h_opt.reactor[0])
		r = weft_config_set(cfg, "reactor", h_opt.reactor, err,
		                    sizeof(err));
	if (r == 0 && h_opt.plugin_path[0])
		r = weft_config_set(cfg, "plugin_path", h_opt.plugin_path, err,
		                    sizeof(err));
	if (r == 0 && (workers || h_opt.workers[0]))
		r = weft_config_set(cfg, "workers",
		                    workers ? workers : h_opt.workers, err,
		                    sizeof(err));
	if (r == 0)
		r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0)
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


void
h_signal_fini(struct h_signal *s)
{
	weft_waker_drop(&s->waker);
	pthread_mutex_destroy(&s->lock);
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


/* ---- counting wakers ----------------------------------------------- */

static struct weft_waker h_waker_clone(const void *data);
static void h_waker_wake(const void *data);
static void h_waker_wake_by_ref(const void *data);
static void h_waker_drop(const void *data);

static const struct weft_waker_vtable h_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = h_waker_clone,
    .wake = h_waker_wake,
    .wake_by_ref = h_waker_wake_by_ref,
    .drop = h_waker_drop,
};


static void
h_waker_forward(struct h_waker *w)
{
	pthread_mutex_lock(&w->lock);
	weft_waker_wake_by_ref(&w->forward);
	pthread_mutex_unlock(&w->lock);
}


static struct weft_waker
h_waker_clone(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->clones, 1);
	atomic_fetch_add(&w->live, 1);
	return (struct weft_waker){&h_waker_vtable, w};
}


static void
h_waker_wake(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->wakes, 1);
	h_waker_forward(w);
	if (atomic_fetch_sub(&w->live, 1) <= 0)
		h_violation("W5: a counting waker was consumed more often "
		            "than it was made or cloned");
}


static void
h_waker_wake_by_ref(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->wakes_by_ref, 1);
	h_waker_forward(w);
}


static void
h_waker_drop(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->drops, 1);
	if (atomic_fetch_sub(&w->live, 1) <= 0)
		h_violation("W5: a counting waker was dropped more often "
		            "than it was made or cloned");
}


void
h_waker_init(struct h_waker *w)
{
	atomic_init(&w->live, 0);
	atomic_init(&w->clones, 0);
	atomic_init(&w->wakes, 0);
	atomic_init(&w->wakes_by_ref, 0);
	atomic_init(&w->drops, 0);
	pthread_mutex_init(&w->lock, NULL);
	w->forward = (struct weft_waker){0, 0};
}


void
h_waker_unforward(struct h_waker *w)
{
	struct weft_waker old;

	pthread_mutex_lock(&w->lock);
	old = w->forward;
	w->forward = (struct weft_waker){0, 0};
	pthread_mutex_unlock(&w->lock);
	weft_waker_drop(&old);
}


void
h_waker_fini(struct h_waker *w)
{
	h_waker_unforward(w);
	pthread_mutex_destroy(&w->lock);
}


struct weft_waker
h_waker_make(struct h_waker *w)
{
	atomic_fetch_add(&w->live, 1);
	return (struct weft_waker){&h_waker_vtable, w};
}


void
h_waker_forward_to(struct h_waker *w, const struct weft_waker *target)
{
	pthread_mutex_lock(&w->lock);
	weft_waker_store(&w->forward, target);
	pthread_mutex_unlock(&w->lock);
}


long
h_waker_woken(struct h_waker *w)
{
	return atomic_load(&w->wakes) + atomic_load(&w->wakes_by_ref);
}


/* ---- counting futures ---------------------------------------------- */

static weft_poll
h_fut_poll(struct weft_future *base, struct weft_context *cx)
{
	struct h_fut *f = (struct h_fut *)base;
	struct h_probe *p = f->probe;
	weft_poll res = WEFT_PENDING;

	if (atomic_exchange(&p->in_poll, 1))
		h_violation("E1: a task was polled on two threads at once");
	atomic_fetch_add(&p->polls, 1);
	atomic_store(&p->poll_thread, (uintptr_t)pthread_self());
	if (f->pinned && f->pinned != (void *)f)
		h_violation("F7: a future moved after its first poll "
		            "(%p -> %p)",
		            f->pinned, (void *)f);
	f->pinned = f;
	if (f->finished) {
		h_violation("F2: a future was polled again after ready");
		res = WEFT_READY;
	} else if (f->mode == H_FUT_HOLD) {
		weft_waker_store(&f->held, &cx->waker);
	} else if (f->yielded < f->yields) {
		f->yielded++;
		weft_waker_wake_by_ref(&cx->waker);
	} else {
		f->finished = true;
		res = WEFT_READY;
	}
	atomic_store(&p->in_poll, 0);
	if (res == WEFT_READY) {
		/* Counted before the notify, so the listener sees it. */
		atomic_fetch_add(&p->readies, 1);
		if (f->tally)
			atomic_fetch_add(f->tally, 1);
		if (f->on_ready)
			h_signal_notify(f->on_ready);
	}
	return res;
}


static void
h_fut_drop(struct weft_future *base)
{
	struct h_fut *f = (struct h_fut *)base;

	if (f->pinned && f->pinned != (void *)f)
		h_violation("F7: a future was dropped at another address "
		            "than it was polled at");
	if (atomic_load(&f->probe->in_poll))
		h_violation("E1: a future was dropped during its own poll");
	weft_waker_drop(&f->held);
	if (atomic_fetch_add(&f->probe->drops, 1) != 0)
		h_violation("F1: a future was dropped twice");
}


WEFT_FUTURE_VTABLE(h_fut_vtable, struct h_fut, out, h_fut_poll, h_fut_drop);


void
h_fut_init(struct h_fut *f, struct h_probe *p, enum h_fut_mode mode,
           uint32_t yields, uint64_t out)
{
	memset(f, 0, sizeof(*f));
	f->base.vtable = &h_fut_vtable;
	f->probe = p;
	f->mode = mode;
	f->yields = yields;
	f->out = out;
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


/* ---- plugins ------------------------------------------------------- */

void
h_plugin_load(struct h_plugin *p, const char *path, enum weft_plugin_kind kind)
{
	weft_plugin_entry_fn entry;
	const struct weft_plugin_descriptor *d;
	uint32_t i;
	int r;

	memset(p, 0, sizeof(*p));
	if (!path || !path[0])
		fail_msg("no %s plugin path (the runtime did not open)",
		         kind == WEFT_PLUGIN_EXECUTOR ? "executor" : "reactor");
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle)
		fail_msg("P1: dlopen %s: %s", path, dlerror());
	*(void **)&entry = dlsym(p->handle, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry) {
		dlclose(p->handle);
		fail_msg("P1: %s exports no " WEFT_PLUGIN_ENTRY_NAME, path);
	}
	p->neg = (struct weft_negotiate){
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_MAKE(WEFT_ABI_MAJOR, 0),
	    .host_max = WEFT_ABI_VERSION,
	};
	/* Bounded: a plugin with more descriptors than this is broken. */
	for (i = 0; i < 64; i++) {
		d = NULL;
		r = entry(&p->neg, i, &d);
		if (r <= 0)
			break;
		if (d && d->kind == (uint32_t)kind) {
			p->desc = d;
			return;
		}
	}
	dlclose(p->handle);
	fail_msg("P1: %s offers no descriptor of kind %d (entry returned %d)",
	         path, (int)kind, r);
}


void
h_plugin_unload(struct h_plugin *p)
{
	if (p->handle && !getenv("WEFT_NO_DLCLOSE"))
		dlclose(p->handle);
	p->handle = NULL;
}


void
h_reactor_open(struct h_reactor *hr, uint32_t max_events)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = max_events,
	};
	int r;

	h_plugin_load(&hr->plugin, h_opt.reactor_path, WEFT_PLUGIN_REACTOR);
	hr->ops = hr->plugin.desc->iface;
	/* As a host does: zeroed memory, public head filled, then init. */
	hr->r = calloc(1, hr->ops->instance_size);
	if (!hr->r)
		fail_msg("out of memory");
	hr->r->version = hr->ops->version;
	hr->r->ops = hr->ops;
	r = hr->ops->init(hr->r, &params);
	if (r < 0) {
		free(hr->r);
		h_plugin_unload(&hr->plugin);
		fail_msg("reactor init failed: %s", weft_strerror(r));
	}
}


void
h_reactor_close(struct h_reactor *hr)
{
	if (!hr->r)
		return;
	hr->ops->fini(hr->r);
	free(hr->r);
	hr->r = NULL;
	h_plugin_unload(&hr->plugin);
}
