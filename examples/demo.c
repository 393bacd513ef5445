/* SPDX-License-Identifier: MIT */
/*
 * The weft demo: the same binary runs on whatever runtime the configuration
 * names (WEFT_EXECUTOR / WEFT_REACTOR, a file given with --config or
 * WEFT_CONFIG), says which one it loaded, then runs real work on it:
 *
 *  - three tasks sleeping 300, 100 and 200 ms, joined: the whole takes
 *    about as long as the slowest (they run concurrently);
 *  - a ping-pong of 10,000 messages between two tasks over a socketpair,
 *    each side waiting for readiness through the reactor.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft/weft.h>

#define ROUNDS 10000

/* ---- a task that sleeps and reports --------------------------------- */

struct nap {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t ms;
	uint64_t out; /* the ms it slept */
};

static weft_poll
nap_poll(struct weft_future *f, struct weft_context *cx)
{
	struct nap *n = (struct nap *)f;

	WEFT_BEGIN(&n->co);
	weft_sleep_init(&n->sleep, n->ms * WEFT_MSEC);
	WEFT_AWAIT(&n->co, cx, &n->sleep);
	printf("  nap of %3llu ms done\n", (unsigned long long)n->ms);
	n->out = n->ms;
	WEFT_END(&n->co);
}

/* The generated drop drops the sleep if the nap is dropped mid-await. */
WEFT_CORO_FUTURE(nap_vtable, struct nap, co, out, nap_poll);

/* ---- one side of the ping-pong -------------------------------------- */

/*
 * Alternates writing and reading one byte, ROUNDS times each, waiting for
 * readiness through the driver whenever the socket would block.  It owns
 * its fd: drop deregisters it, then closes it.
 */
struct pinger {
	struct weft_future base;
	struct weft_driver *driver;
	uint64_t io;
	int fd;
	int ops;
	bool writing;
	int out; /* 0 or a negative error */
};

/* One read or write: 1 done, 0 would block (waker stored), <0 error. */
static int
pinger_step(struct pinger *p, struct weft_context *cx)
{
	uint32_t want = p->writing ? WEFT_WRITABLE : WEFT_READABLE;
	uint32_t ready = 0;
	char byte = 'x';
	ssize_t n;
	int r;

	r = weft_driver_io_poll(p->driver, p->io, want, cx, &ready);
	if (r <= 0)
		return r;
	n = p->writing ? write(p->fd, &byte, 1) : read(p->fd, &byte, 1);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		weft_driver_io_clear(p->driver, p->io, want);
		return 1; /* poll again: a new edge may have arrived */
	}
	if (n <= 0)
		return n < 0 ? -errno : -ECONNRESET;
	p->ops++;
	p->writing = !p->writing;
	return 1;
}

static weft_poll
pinger_poll(struct weft_future *f, struct weft_context *cx)
{
	struct pinger *p = (struct pinger *)f;
	int r;

	if (!p->driver) {
		r = weft_driver_io_add(cx->driver, p->fd,
		                       WEFT_READABLE | WEFT_WRITABLE, &p->io);
		if (r < 0) {
			p->out = r;
			return WEFT_READY;
		}
		p->driver = cx->driver;
	}
	while (p->ops < 2 * ROUNDS) {
		if (!weft_budget_spend(cx))
			return WEFT_PENDING; /* let the other task run */
		r = pinger_step(p, cx);
		if (r == 0)
			return WEFT_PENDING;
		if (r < 0) {
			p->out = r;
			return WEFT_READY;
		}
	}
	p->out = 0;
	return WEFT_READY;
}

static void
pinger_drop(struct weft_future *f)
{
	struct pinger *p = (struct pinger *)f;

	if (p->driver)
		weft_driver_io_del(p->driver, p->io);
	close(p->fd);
}

WEFT_FUTURE_VTABLE(pinger_vtable, struct pinger, out, pinger_poll, pinger_drop);

/* ---- main: the root future ------------------------------------------ */

struct demo {
	struct weft_future base;
	struct weft_coro co;
	struct weft_join_future join[3];
	uint64_t napped[3];
	struct weft_join_future ping, pong;
	int ping_out, pong_out;
	uint64_t t0;
	int i;
	int out;
};

static int
demo_spawn_naps(struct demo *d, struct weft_context *cx)
{
	static const uint64_t ms[3] = {300, 100, 200};
	struct weft_join *join;
	int r;

	for (int i = 0; i < 3; i++) {
		struct nap n = {.base.vtable = &nap_vtable, .ms = ms[i]};

		r = weft_executor_spawn(cx->executor, &n.base, &join);
		if (r < 0)
			return r;
		weft_join_future_init(&d->join[i], join, &d->napped[i],
		                      sizeof(d->napped[i]));
	}
	return 0;
}

static int
demo_spawn_pingpong(struct demo *d, struct weft_context *cx)
{
	struct pinger a = {.base.vtable = &pinger_vtable, .writing = true};
	struct pinger b = {.base.vtable = &pinger_vtable, .writing = false};
	struct weft_join *ja, *jb;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	a.fd = sv[0];
	b.fd = sv[1];
	r = weft_executor_spawn(cx->executor, &a.base, &ja);
	if (r < 0) {
		close(sv[1]);
		return r;
	}
	r = weft_executor_spawn(cx->executor, &b.base, &jb);
	if (r < 0) {
		weft_join_release(ja);
		return r;
	}
	weft_join_future_init(&d->ping, ja, &d->ping_out, sizeof(int));
	weft_join_future_init(&d->pong, jb, &d->pong_out, sizeof(int));
	return 0;
}

static weft_poll
demo_poll(struct weft_future *f, struct weft_context *cx)
{
	struct demo *d = (struct demo *)f;
	uint64_t ms;

	WEFT_BEGIN(&d->co);
	printf("sleeping 300, 100 and 200 ms in three tasks:\n");
	d->t0 = weft_driver_now(cx->driver);
	d->out = demo_spawn_naps(d, cx);
	if (d->out < 0)
		WEFT_RETURN(&d->co);
	for (d->i = 0; d->i < 3; d->i++)
		WEFT_AWAIT(&d->co, cx, &d->join[d->i]);
	ms = (weft_driver_now(cx->driver) - d->t0) / WEFT_MSEC;
	printf("  all three joined after %llu ms (the slowest: 300)\n",
	       (unsigned long long)ms);

	printf("ping-pong of %d messages over a socketpair:\n", ROUNDS);
	d->t0 = weft_driver_now(cx->driver);
	d->out = demo_spawn_pingpong(d, cx);
	if (d->out < 0)
		WEFT_RETURN(&d->co);
	WEFT_AWAIT(&d->co, cx, &d->ping);
	WEFT_AWAIT(&d->co, cx, &d->pong);
	d->out = d->ping.status ? d->ping.status : d->ping_out;
	if (!d->out)
		d->out = d->pong.status ? d->pong.status : d->pong_out;
	ms = (weft_driver_now(cx->driver) - d->t0) / WEFT_MSEC;
	printf("  %d round trips in %llu ms: %s\n", ROUNDS,
	       (unsigned long long)ms, weft_strerror(d->out));
	WEFT_END(&d->co);
}

static void
demo_drop(struct weft_future *f)
{
	struct demo *d = (struct demo *)f;

	for (int i = 0; i < 3; i++)
		weft_future_drop(&d->join[i].base);
	weft_future_drop(&d->ping.base);
	weft_future_drop(&d->pong.base);
}

WEFT_FUTURE_VTABLE(demo_vtable, struct demo, out, demo_poll, demo_drop);

static void
print_plugin(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	const struct weft_plugin_descriptor *d = weft_runtime_plugin(rt, kind);
	uint32_t v = d->plugin_version;

	printf("  %-8s %-8s %u.%u.%u  ABI %u.%u  %s\n",
	       kind == WEFT_PLUGIN_EXECUTOR ? "executor" : "reactor", d->name,
	       v >> 16, (v >> 8) & 0xff, v & 0xff, d->abi_major, d->abi_minor,
	       weft_runtime_plugin_path(rt, kind));
}

int
main(int argc, char **argv)
{
	struct demo demo = {.base.vtable = &demo_vtable};
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt;
	char err[512];
	int r;

	if (argc == 3 && strcmp(argv[1], "--config") == 0) {
		if (weft_config_new(&cfg) < 0 ||
		    weft_config_load_file(cfg, argv[2], err, sizeof(err)) < 0) {
			fprintf(stderr, "demo: %s\n", err);
			weft_config_free(cfg);
			return 1;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--config FILE]\n", argv[0]);
		return 2;
	}
	r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "demo: %s\n", err);
		return 1;
	}
	printf("weft demo: runtime loaded\n");
	print_plugin(rt, WEFT_PLUGIN_EXECUTOR);
	print_plugin(rt, WEFT_PLUGIN_REACTOR);

	r = weft_block_on(rt, &demo.base);
	if (r == 0)
		r = demo.out;
	weft_future_drop(&demo.base);
	weft_runtime_close(rt);
	if (r < 0) {
		fprintf(stderr, "demo: failed: %s\n", weft_strerror(r));
		return 1;
	}
	printf("done\n");
	return 0;
}
