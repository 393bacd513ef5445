/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

#include "common.h"

bool
under_valgrind(void)
{
	return getenv("WEFT_UNDER_VALGRIND") != NULL;
}


size_t
scaled(size_t n, size_t small)
{
	return under_valgrind() ? small : n;
}


void
run_bounded(struct weft_future *fut, unsigned seconds)
{
	struct weft_timeout t;

	weft_timeout_init(&t, fut, (uint64_t)seconds * WEFT_SEC);
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	weft_future_drop(&t.base);
	assert_int_equal(t.status, 0);
}


/* Polls inner once, then is ready: leaves it mid-flight for the caller. */
struct once {
	struct weft_future base;
	struct weft_future *inner;
	weft_poll first;
	int status;
};

static weft_poll
once_poll(struct weft_future *f, struct weft_context *cx)
{
	struct once *o = (struct once *)f;

	o->first = weft_future_poll(o->inner, cx);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(once_vtable, struct once, status, once_poll, NULL);


weft_poll
poll_once(struct weft_future *inner)
{
	struct once o = {.base.vtable = &once_vtable, .inner = inner};

	run_bounded(&o.base, 10);
	return o.first;
}


void
nap_ms(unsigned ms)
{
	struct weft_sleep s;

	weft_sleep_init(&s, (uint64_t)ms * WEFT_MSEC);
	run_bounded(&s.base, 10);
}


int
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the DIR's own */
}


size_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}


void
pattern_fill(unsigned char *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, i);
}

/* ---- allocation failure ---------------------------------------------- */

static _Thread_local unsigned fault_countdown; /* 0: disarmed */
static _Thread_local bool fault_hit;

static void *
fault_alloc(void *ud, size_t size)
{
	(void)ud;
	if (fault_countdown && --fault_countdown == 0) {
		fault_hit = true;
		return NULL;
	}
	return malloc(size);
}

static void
fault_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}


void
fault_install(void)
{
	static const struct weft_allocator a = {
	    .version = WEFT_ALLOCATOR_VERSION,
	    .alloc = fault_alloc,
	    .free = fault_free,
	};

	if (weft_set_default_allocator(&a) != 0)
		abort();
}


void
fault_arm(unsigned n)
{
	fault_countdown = n;
	fault_hit = false;
}


bool
fault_fired(void)
{
	bool hit = fault_hit;

	fault_countdown = 0;
	fault_hit = false;
	return hit;
}

/* Arms the failure for its inner future's first poll only. */
struct armed {
	struct weft_future base;
	struct weft_future *inner;
	unsigned n;
	bool each; /* armed at every poll until it fires */
	bool polled;
	bool fired;
	int status;
};

static weft_poll
armed_poll(struct weft_future *f, struct weft_context *cx)
{
	struct armed *a = (struct armed *)f;
	weft_poll r;

	if (a->polled && (!a->each || a->fired))
		return weft_future_poll(a->inner, cx);
	a->polled = true;
	fault_arm(a->n);
	r = weft_future_poll(a->inner, cx);
	a->fired = fault_fired() || a->fired;
	return r;
}

static void
armed_drop(struct weft_future *f)
{
	weft_future_drop(((struct armed *)f)->inner);
}

WEFT_FUTURE_VTABLE(armed_vtable, struct armed, status, armed_poll, armed_drop);


bool
run_failing(struct weft_future *fut, unsigned n, unsigned seconds)
{
	struct armed a = {.base.vtable = &armed_vtable, .inner = fut, .n = n};

	run_bounded(&a.base, seconds);
	return a.fired;
}


bool
run_failing_each(struct weft_future *fut, unsigned n, unsigned seconds)
{
	struct armed a = {
	    .base.vtable = &armed_vtable, .inner = fut, .n = n, .each = true};

	run_bounded(&a.base, seconds);
	return a.fired;
}

/* ---- echo connection -------------------------------------------------- */

#define CONN_BUF 16384

static weft_poll
conn_poll(struct weft_future *f, struct weft_context *cx)
{
	struct echo_conn *c = (struct echo_conn *)f;

	WEFT_BEGIN(&c->co);
	c->buf = malloc(CONN_BUF);
	if (!c->buf) {
		c->status = -ENOMEM;
		WEFT_RETURN(&c->co);
	}
	for (;;) {
		weft_io_read_init(&c->rd, c->s, c->buf, CONN_BUF);
		WEFT_AWAIT(&c->co, cx, &c->rd);
		if (c->rd.status <= 0)
			break;
		weft_io_write_all_init(&c->wr, c->s, c->buf,
		                       (size_t)c->rd.status);
		WEFT_AWAIT(&c->co, cx, &c->wr);
		if (c->wr.status < 0)
			break;
	}
	c->status = c->rd.status < 0 ? c->rd.status : c->wr.status;
	WEFT_END(&c->co);
}


static void
conn_drop(struct weft_future *f)
{
	struct echo_conn *c = (struct echo_conn *)f;

	weft_future_drop(&c->rd.base);
	weft_future_drop(&c->wr.base);
	weft_io_close(c->s);
	free(c->buf);
}

WEFT_FUTURE_VTABLE(conn_vtable, struct echo_conn, status, conn_poll, conn_drop);


void
echo_conn_init(struct echo_conn *f, struct weft_io *s)
{
	*f = (struct echo_conn){.base.vtable = &conn_vtable, .s = s};
}

/* ---- echo server ------------------------------------------------------ */

static weft_poll
server_poll(struct weft_future *f, struct weft_context *cx)
{
	struct echo_server *s = (struct echo_server *)f;
	struct echo_conn conn;

	WEFT_BEGIN(&s->co);
	for (;;) {
		weft_accept_backoff_init(&s->acc, s->l);
		if (s->started)
			atomic_store(s->started, true);
		WEFT_AWAIT(&s->co, cx, &s->acc);
		if (s->acc.status == WEFT_ECLOSED)
			break;
		if (s->acc.status < 0) {
			s->status = s->acc.status;
			WEFT_RETURN(&s->co);
		}
		if (s->accepted)
			atomic_fetch_add(s->accepted, 1);
		echo_conn_init(&conn, s->acc.stream);
		weft_executor_spawn(cx->executor, &conn.base, NULL);
	}
	s->status = 0;
	WEFT_END(&s->co);
}


static void
server_drop(struct weft_future *f)
{
	struct echo_server *s = (struct echo_server *)f;

	weft_future_drop(&s->acc.base);
}

WEFT_FUTURE_VTABLE(server_vtable, struct echo_server, status, server_poll,
                   server_drop);


void
echo_server_init(struct echo_server *f, struct weft_listener *l,
                 atomic_uint *accepted)
{
	*f = (struct echo_server){
	    .base.vtable = &server_vtable, .l = l, .accepted = accepted};
}


/*
 * The server task borrows the listener: closing it before the task's
 * first accept holds a reference would free it under the task (on a
 * threaded executor the task may not have run yet), so stop waits.
 */
static atomic_bool server_started;

void
echo_server_start(const struct weft_addr *addr, struct weft_listener **l,
                  struct weft_join **join, atomic_uint *accepted)
{
	struct echo_server s;

	assert_int_equal(weft_listen(l, addr, 1024), 0);
	echo_server_init(&s, *l, accepted);
	atomic_store(&server_started, false);
	s.started = &server_started;
	assert_int_equal(weft_spawn(rt, &s.base, join), 0);
}


void
echo_server_stop(struct weft_listener *l, struct weft_join *join)
{
	struct weft_join_future jf;
	struct weft_sleep nap;
	int status = -1, i;

	/* Through the runtime, so that a single-thread executor runs it. */
	for (i = 0; i < 10000 && !atomic_load(&server_started); i++) {
		weft_sleep_init(&nap, WEFT_MSEC);
		run_bounded(&nap.base, 10);
	}
	assert_true(atomic_load(&server_started));
	weft_listener_close(l);
	weft_join_future_init(&jf, join, &status, sizeof(status));
	run_bounded(&jf.base, 10);
	assert_int_equal(jf.status, 0);
	assert_int_equal(status, 0);
}

/* ---- echo client ------------------------------------------------------ */

static weft_poll
client_poll(struct weft_future *f, struct weft_context *cx)
{
	struct echo_client *c = (struct echo_client *)f;

	WEFT_BEGIN(&c->co);
	c->out = malloc(c->size);
	c->in = malloc(c->size);
	if (!c->out || !c->in) {
		c->status = -ENOMEM;
		WEFT_RETURN(&c->co);
	}
	weft_connect_init(&c->conn, &c->addr);
	WEFT_AWAIT(&c->co, cx, &c->conn);
	if (c->conn.status < 0) {
		c->status = c->conn.status;
		WEFT_RETURN(&c->co);
	}
	c->s = c->conn.stream;
	if (c->addr.ss.ss_family != AF_UNIX)
		weft_io_set_nodelay(c->s, true);
	for (c->i = 0; c->i < c->rounds; c->i++) {
		pattern_fill(c->out, c->size, c->seed + (uint32_t)c->i);
		memset(c->in, 0, c->size);
		/*
		 * Write and read at once: a payload larger than the socket
		 * buffers would otherwise deadlock against the echo.
		 */
		weft_io_write_all_init(&c->w, c->s, c->out, c->size);
		weft_io_read_exact_init(&c->r, c->s, c->in, c->size);
		weft_join_init(&c->both, 2, &c->w.base, &c->r.base);
		WEFT_AWAIT(&c->co, cx, &c->both);
		if (c->w.status < 0 || c->r.status < 0) {
			c->status = c->w.status < 0 ? c->w.status : c->r.status;
			WEFT_RETURN(&c->co);
		}
		if (memcmp(c->in, c->out, c->size) != 0) {
			c->status = -EILSEQ;
			WEFT_RETURN(&c->co);
		}
	}
	c->status = 0;
	WEFT_END(&c->co);
}


static void
client_drop(struct weft_future *f)
{
	struct echo_client *c = (struct echo_client *)f;

	weft_future_drop(&c->both.base);
	weft_future_drop(&c->w.base);
	weft_future_drop(&c->r.base);
	weft_future_drop(&c->conn.base);
	weft_io_close(c->s);
	c->s = NULL;
	free(c->out);
	free(c->in);
}

WEFT_FUTURE_VTABLE(client_vtable, struct echo_client, status, client_poll,
                   client_drop);


void
echo_client_init(struct echo_client *f, const struct weft_addr *addr,
                 size_t size, int rounds, uint32_t seed)
{
	*f = (struct echo_client){.base.vtable = &client_vtable,
	                          .addr = *addr,
	                          .size = size,
	                          .rounds = rounds,
	                          .seed = seed};
}


/* ---- drain ------------------------------------------------------------ */

static weft_poll
drain_poll(struct weft_future *f, struct weft_context *cx)
{
	struct drain *d = (struct drain *)f;

	WEFT_BEGIN(&d->co);
	for (;;) {
		d->out = 0;
		weft_joinset_next_init(&d->next, d->set, &d->out,
		                       sizeof(d->out));
		WEFT_AWAIT(&d->co, cx, &d->next);
		if (d->next.status == 0)
			break;
		if (d->next.task_status < 0 || d->out < 0) {
			if (!d->failures++)
				d->first_error = d->next.task_status < 0
				                     ? d->next.task_status
				                     : d->out;
		}
	}
	WEFT_END(&d->co);
}

static void
drain_drop(struct weft_future *f)
{
	weft_future_drop(&((struct drain *)f)->next.base);
}

WEFT_FUTURE_VTABLE(drain_vtable, struct drain, status, drain_poll, drain_drop);


void
drain_init(struct drain *d, struct weft_joinset *set)
{
	*d = (struct drain){.base.vtable = &drain_vtable, .set = set};
}


bool
io_completion_on(void)
{
	const struct weft_plugin_descriptor *d =
	    weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR);
	const struct weft_reactor_iface *ops = d->iface;
	const char *env = getenv("WEFT_IO_COMPLETION");

	if (env && (strcmp(env, "false") == 0 || strcmp(env, "0") == 0 ||
	            strcmp(env, "off") == 0 || strcmp(env, "no") == 0))
		return false;
	return ops->version >= 3 && ops->submit && ops->cancel &&
	       (ops->flags & WEFT_REACTOR_COMPLETION);
}
