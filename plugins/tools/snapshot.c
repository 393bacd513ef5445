/* SPDX-License-Identifier: MIT */
/*
 * The client side of the console (runtime/console.c): each snapshot is one
 * connection, "snapshot\n" out, one JSON document back, then EOF.  The
 * reader knows only that document's shape, which is all `weft tasks` and
 * `weft top` need; `weft tasks --json` passes the text through untouched.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "snapshot.h"

#define ANSWER_MAX (64u << 20)
#define TIMEOUT_MS 3000

/* ---- fetching ----------------------------------------------------- */

/* PID, PID-N (a process's Nth runtime) or a socket's path. */
int
weft_snapshot_path(const char *target, char *path, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (strchr(target, '/'))
		n = snprintf(path, size, "%s", target);
	else if (xdg && xdg[0] == '/')
		n = snprintf(path, size, "%s/weft/%s.sock", xdg, target);
	else
		n = snprintf(path, size, "/tmp/weft-%u/%s.sock",
		             (unsigned)geteuid(), target);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The answer, NUL-terminated, in *out (malloc'ed); 0 or -errno. */
int
weft_snapshot_fetch(const char *path, char **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0, cap = 1 << 16;
	char *buf;
	int fd, r = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, "snapshot\n", 9, MSG_NOSIGNAL) != 9) {
		r = -errno;
		close(fd);
		return r;
	}
	buf = malloc(cap);
	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, TIMEOUT_MS) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (len + 1 == cap) {
			char *q =
			    cap < ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (!q) {
				r = -ENOMEM;
				break;
			}
			buf = q;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			/* Closed unanswered: the console refused us. */
			r = len ? 0 : -EACCES;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* ---- reading the snapshot ----------------------------------------- */

static void
ws(const char **p)
{
	while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
		(*p)++;
}

/* A JSON string into dst (truncated; escapes other than \uXXXX kept). */
static int
jstring(const char **p, char *dst, size_t size)
{
	size_t n = 0;

	ws(p);
	if (**p != '"')
		return -1;
	for ((*p)++; **p && **p != '"'; (*p)++) {
		char c = **p;

		if (c == '\\') {
			c = *++*p;
			if (c == 'u') {
				unsigned v = 0;

				if (sscanf(*p + 1, "%4x", &v) != 1)
					return -1;
				*p += 4;
				c = v < 0x80 && v >= 0x20 ? (char)v : '?';
			} else if (!c) {
				return -1;
			}
		}
		if (n + 1 < size)
			dst[n++] = c;
	}
	if (size)
		dst[n] = '\0';
	if (**p != '"')
		return -1;
	(*p)++;
	return 0;
}

static int
jskip(const char **p)
{
	char tmp[2];
	int depth = 0;

	ws(p);
	do {
		if (**p == '"') {
			if (jstring(p, tmp, sizeof(tmp)) < 0)
				return -1;
		} else if (**p == '{' || **p == '[') {
			depth++;
			(*p)++;
		} else if (**p == '}' || **p == ']') {
			depth--;
			(*p)++;
		} else if (**p) {
			(*p)++;
		} else {
			return -1;
		}
		ws(p);
	} while (depth > 0 || (**p != ',' && **p != '}' && **p != ']'));
	return 0;
}

static int
jnum(const char **p, unsigned long long *v)
{
	char *end;

	ws(p);
	if (strncmp(*p, "null", 4) == 0) {
		*p += 4;
		return 0;
	}
	*v = strtoull(*p, &end, 10);
	if (end == *p)
		return -1;
	*p = end;
	return 0;
}

/*
 * Walks an object: fn(ctx, key, p) reads each value (returning 1 when it
 * did not want it, which skips it).
 */
static int
jobject(const char **p, int (*fn)(void *ctx, const char *key, const char **p),
        void *ctx)
{
	char key[64];
	int r;

	ws(p);
	if (*(*p)++ != '{')
		return -1;
	ws(p);
	while (**p != '}') {
		if (jstring(p, key, sizeof(key)) < 0)
			return -1;
		ws(p);
		if (*(*p)++ != ':')
			return -1;
		r = fn(ctx, key, p);
		if (r < 0 || (r > 0 && jskip(p) < 0))
			return -1;
		ws(p);
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return -1;
		ws(p);
	}
	(*p)++;
	return 0;
}

/* Every element of an array through fn. */
static int
jarray(const char **p, int (*fn)(void *ctx, const char **p), void *ctx)
{
	ws(p);
	if (*(*p)++ != '[')
		return -1;
	ws(p);
	while (**p != ']') {
		if (fn(ctx, p) < 0)
			return -1;
		ws(p);
		if (**p == ',')
			(*p)++;
		else if (**p != ']')
			return -1;
		ws(p);
	}
	(*p)++;
	return 0;
}

/* clang-format off */
#define FIELD(s, f) {#f, offsetof(s, f)}
/* clang-format on */
struct field {
	const char *key;
	size_t off;
};

static const struct field runtime_fields[] = {
    FIELD(struct snap, workers),     FIELD(struct snap, tasks_live),
    FIELD(struct snap, spawned),     FIELD(struct snap, completed),
    FIELD(struct snap, polls),       FIELD(struct snap, parks),
    FIELD(struct snap, steals),      FIELD(struct snap, foreign_wakes),
    FIELD(struct snap, queue_depth), FIELD(struct snap, slow_polls),
    FIELD(struct snap, uptime_ns),
};

static const struct field row_fields[] = {
    FIELD(struct row, id),       FIELD(struct row, polls),
    FIELD(struct row, wakes),    FIELD(struct row, busy_ns),
    FIELD(struct row, sched_ns), FIELD(struct row, max_poll_ns),
    FIELD(struct row, age_ns),
};

/* A number field of a known name, else 1 (not wanted). */
static int
number_field(void *base, const struct field *f, size_t nf, const char *key,
             const char **p)
{
	size_t i;

	for (i = 0; i < nf; i++)
		if (strcmp(key, f[i].key) == 0)
			return jnum(
			    p, (unsigned long long *)((char *)base + f[i].off));
	return 1;
}

static int
hist_item(void *ctx, const char **p)
{
	struct snap *s = ctx;
	unsigned long long v = 0;
	size_t i;

	if (jnum(p, &v) < 0)
		return -1;
	for (i = 0; i < WEFT_POLL_HISTOGRAM_BUCKETS && s->hist[i] != ~0ull; i++)
		;
	if (i < WEFT_POLL_HISTOGRAM_BUCKETS)
		s->hist[i] = v;
	return 0;
}

static int
runtime_key(void *ctx, const char *key, const char **p)
{
	struct snap *s = ctx;

	if (strcmp(key, "poll_histogram") == 0) {
		memset(s->hist, 0xff, sizeof(s->hist)); /* unfilled */
		if (jarray(p, hist_item, s) < 0)
			return -1;
		for (size_t i = 0; i < WEFT_POLL_HISTOGRAM_BUCKETS; i++)
			if (s->hist[i] == ~0ull)
				s->hist[i] = 0;
		return 0;
	}
	return number_field(s, runtime_fields,
	                    sizeof(runtime_fields) / sizeof(runtime_fields[0]),
	                    key, p);
}

static int
row_key(void *ctx, const char *key, const char **p)
{
	struct row *r = ctx;

	if (strcmp(key, "name") == 0)
		return jstring(p, r->name, sizeof(r->name));
	if (strcmp(key, "location") == 0)
		return jstring(p, r->location, sizeof(r->location));
	if (strcmp(key, "state") == 0)
		return jstring(p, r->state, sizeof(r->state));
	if (strcmp(key, "awaiting") == 0)
		return jstring(p, r->awaiting, sizeof(r->awaiting));
	return number_field(r, row_fields,
	                    sizeof(row_fields) / sizeof(row_fields[0]), key, p);
}

static int
task_item(void *ctx, const char **p)
{
	struct snap *s = ctx;
	struct row *rows = realloc(s->rows, (s->nrows + 1) * sizeof(*rows));

	if (!rows)
		return -1;
	s->rows = rows;
	memset(&rows[s->nrows], 0, sizeof(*rows));
	return jobject(p, row_key, &rows[s->nrows++]);
}

static int
top_key(void *ctx, const char *key, const char **p)
{
	struct snap *s = ctx;

	if (strcmp(key, "executor") == 0)
		return jstring(p, s->executor, sizeof(s->executor));
	if (strcmp(key, "reactor") == 0)
		return jstring(p, s->reactor, sizeof(s->reactor));
	if (strcmp(key, "runtime") == 0 && (ws(p), **p == '{'))
		return jobject(p, runtime_key, s);
	if (strcmp(key, "tasks") == 0)
		return jarray(p, task_item, s);
	if (strcmp(key, "refused") == 0)
		return jnum(p, &s->refused);
	if (strcmp(key, "tasks_seen") == 0)
		return jnum(p, &s->tasks_seen);
	return 1;
}

int
weft_snapshot_parse(const char *text, struct snap *s)
{
	const char *p = text;

	memset(s, 0, sizeof(*s));
	return jobject(&p, top_key, s);
}
