/* SPDX-License-Identifier: MIT */
/*
 * The console's snapshot on the client side: where a process's socket is,
 * one request and its answer, and the reader for that answer's JSON (the
 * shape runtime/console.c writes, docs/observability.md), shared by
 * `weft tasks` and `weft top` (top.c).
 */
#ifndef WEFT_TOOL_SNAPSHOT_H
#define WEFT_TOOL_SNAPSHOT_H

#include <stddef.h>

#include <weft/weft.h>

/* One task of the snapshot. */
struct row {
	unsigned long long id, polls, wakes, busy_ns, sched_ns, max_poll_ns,
	    age_ns;
	char name[32], location[64], state[12], awaiting[48];
};

/* The snapshot; rows are malloc'ed and owned by it. */
struct snap {
	char executor[32], reactor[32];
	unsigned long long workers, tasks_live, spawned, completed, polls,
	    parks, steals, foreign_wakes, queue_depth, slow_polls, uptime_ns,
	    refused, tasks_seen;
	unsigned long long hist[WEFT_POLL_HISTOGRAM_BUCKETS];
	struct row *rows;
	size_t nrows;
};

/* The socket of target: PID, PID-N (a process's Nth runtime) or a path.
 * 0, or -ENAMETOOLONG. */
int weft_snapshot_path(const char *target, char *path, size_t size);

/* One snapshot's text, NUL-terminated, in *out (malloc'ed); 0, or -errno:
 * -ENOENT/-ECONNREFUSED (nobody serves there), -EACCES (refused). */
int weft_snapshot_fetch(const char *path, char **out);

/* Reads text into s (s->rows to free); 0, or -1 for a malformed text. */
int weft_snapshot_parse(const char *text, struct snap *s);

#endif /* WEFT_TOOL_SNAPSHOT_H */
