/* SPDX-License-Identifier: MIT */
/*
 * The console's answer: one JSON document (version 1, its schema in
 * docs/observability.md) built from weft_runtime_metrics,
 * weft_runtime_worker_stats and weft_runtime_tasks, which read counters
 * and the live-task set from any thread without stopping a worker.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "console.h"

#define TASKS_MAX 10000 /* tasks listed in one snapshot; the rest counted */

struct jbuf {
	const struct weft_allocator *alloc;
	char *p;
	size_t len, cap;
	int oom;
};

static void jb_printf(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *q = weft__mem_grow(b->alloc, b->p, b->cap, cap);

		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* A C string (bounded by max bytes) as a JSON string. */
static void
jb_string(struct jbuf *b, const char *s, size_t max)
{
	size_t i;

	jb_printf(b, "\"");
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			jb_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			jb_printf(b, "\\u%04x", c);
		else
			jb_printf(b, "%c", c);
	}
	jb_printf(b, "\"");
}

static const char *
state_name(uint32_t state)
{
	static const char *const names[] = {"idle", "scheduled", "running",
	                                    "done"};

	return state < 4 ? names[state] : "unknown";
}

struct task_walk {
	struct jbuf *b;
	uint64_t seen;
};

static int
visit_task(void *arg, const struct weft_task_info *t)
{
	struct task_walk *w = arg;
	struct jbuf *b = w->b;

	if (w->seen++ >= TASKS_MAX)
		return 0; /* counted, not listed */
	jb_printf(b, "%s\n{\"id\":%llu,\"name\":", w->seen > 1 ? "," : "",
	          (unsigned long long)t->id);
	jb_string(b, t->name, sizeof(t->name));
	jb_printf(b, ",\"location\":");
	jb_string(b, t->location, sizeof(t->location));
	jb_printf(b, ",\"state\":\"%s\",\"awaiting\":", state_name(t->state));
	jb_string(b, t->awaiting, sizeof(t->awaiting));
	jb_printf(
	    b,
	    ",\"polls\":%llu,\"wakes\":%llu,\"busy_ns\":%llu,"
	    "\"sched_ns\":%llu,\"max_poll_ns\":%llu,\"age_ns\":%llu}",
	    (unsigned long long)t->polls, (unsigned long long)t->wakes,
	    (unsigned long long)t->busy_ns, (unsigned long long)t->sched_ns,
	    (unsigned long long)t->max_poll_ns, (unsigned long long)t->age_ns);
	return 0;
}

static const char *
plugin_name(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	const struct weft_plugin_descriptor *d = weft_runtime_plugin(rt, kind);

	return d && d->name ? d->name : "";
}

static void
snapshot_runtime(struct weft_runtime *rt, struct jbuf *b)
{
	struct weft_runtime_metrics m = {.size = sizeof(m)};
	unsigned i;
	int r = weft_runtime_metrics(rt, &m);

	if (r < 0) {
		jb_printf(b, "\"runtime\":null,\"runtime_error\":");
		jb_string(b, weft_strerror(r), 128);
		return;
	}
	jb_printf(
	    b,
	    "\"runtime\":{\"workers\":%u,\"tasks_live\":%llu,"
	    "\"spawned\":%llu,\"completed\":%llu,\"polls\":%llu,"
	    "\"parks\":%llu,\"steals\":%llu,\"foreign_wakes\":%llu,"
	    "\"queue_depth\":%llu,\"slow_polls\":%llu,"
	    "\"uptime_ns\":%llu,\"poll_histogram\":[",
	    m.workers, (unsigned long long)m.tasks_live,
	    (unsigned long long)m.spawned, (unsigned long long)m.completed,
	    (unsigned long long)m.polls, (unsigned long long)m.parks,
	    (unsigned long long)m.steals, (unsigned long long)m.foreign_wakes,
	    (unsigned long long)m.queue_depth, (unsigned long long)m.slow_polls,
	    (unsigned long long)m.uptime_ns);
	for (i = 0; i < WEFT_POLL_HISTOGRAM_BUCKETS; i++)
		jb_printf(b, "%s%llu", i ? "," : "",
		          (unsigned long long)m.poll_histogram[i]);
	jb_printf(b, "]},\n\"workers\":[");
	for (i = 0; i < m.workers; i++) {
		struct weft_worker_stats w = {.size = sizeof(w)};

		if (weft_runtime_worker_stats(rt, i, &w) < 0)
			break;
		jb_printf(b,
		          "%s{\"worker\":%u,\"polls\":%llu,\"steals\":%llu,"
		          "\"parks\":%llu,\"queue_depth\":%llu}",
		          i ? "," : "", i, (unsigned long long)w.polls,
		          (unsigned long long)w.steals,
		          (unsigned long long)w.parks,
		          (unsigned long long)w.queue_depth);
	}
	jb_printf(b, "]");
}

int
weft__console_answer(struct weft_runtime *rt, uint64_t refused,
                     const char *request, const struct weft_allocator *alloc,
                     char **out, size_t *len)
{
	struct jbuf b = {.alloc = alloc};
	struct task_walk walk = {.b = &b};
	int r;

	/* A first buffer, so that vsnprintf never sees a NULL one. */
	b.p = weft__mem_alloc(alloc, 4096);
	b.cap = b.p ? 4096 : 0;
	b.oom = !b.p;

	if (strcmp(request, "snapshot") != 0) {
		jb_printf(&b,
		          "{\"version\":1,\"error\":\"unknown request\"}\n");
		goto out;
	}
	jb_printf(&b,
	          "{\"version\":1,\"pid\":%ld,\"executor\":", (long)getpid());
	jb_string(&b, plugin_name(rt, WEFT_PLUGIN_EXECUTOR), 64);
	jb_printf(&b, ",\"reactor\":");
	jb_string(&b, plugin_name(rt, WEFT_PLUGIN_REACTOR), 64);
	jb_printf(&b, ",\"refused\":%llu,\n", (unsigned long long)refused);
	snapshot_runtime(rt, &b);
	jb_printf(&b, ",\n\"tasks\":[");
	r = weft_runtime_tasks(rt, visit_task, &walk);
	jb_printf(&b, "],\n\"tasks_seen\":%llu,\"tasks_error\":",
	          (unsigned long long)walk.seen);
	if (r < 0)
		jb_string(&b, weft_strerror(r), 128);
	else
		jb_printf(&b, "null");
	jb_printf(&b, "}\n");
out:
	if (b.oom) {
		weft__mem_free(alloc, b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
