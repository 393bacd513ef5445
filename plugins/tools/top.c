/* SPDX-License-Identifier: MIT */
/*
 * `weft tasks PID [--json]` and `weft top PID [--interval MS]`: one
 * snapshot of a running program's console as a table (or its JSON), or a
 * table refreshed in the terminal with ANSI escapes, like top(1).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"

int weft_tool_console(int argc, char **argv);

/* ---- printing ----------------------------------------------------- */

static const char *
dur(char *buf, size_t size, unsigned long long ns)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else
		snprintf(buf, size, "%.2fs", ns / 1e9);
	return buf;
}

/* The bucket holding quantile q, as "<2^i us" (">=2^14us" for the last). */
static const char *
quantile(char *buf, size_t size, const struct snap *s, double q)
{
	unsigned long long total = 0, sum = 0;
	int i, last = WEFT_POLL_HISTOGRAM_BUCKETS - 1;

	for (i = 0; i <= last; i++)
		total += s->hist[i];
	if (!total)
		return "-";
	for (i = 0; i < last; i++) {
		sum += s->hist[i];
		if ((double)sum >= q * (double)total)
			break;
	}
	if (i == last)
		snprintf(buf, size, ">=%lluus", 1ull << (last - 1));
	else
		snprintf(buf, size, "<%lluus", 1ull << i);
	return buf;
}

static int
by_busy(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->busy_ns != y->busy_ns)
		return x->busy_ns < y->busy_ns ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The summary lines (each cut at width; 0: whole); polls_per_s < 0: no
 * rate known yet. */
static void
print_summary(FILE *f, const char *target, const struct snap *s,
              double polls_per_s, int width, const char *eol)
{
	char a[24], b[24], c[24], line[3][256];

	if (!width)
		width = (int)sizeof(line[0]);
	snprintf(line[0], sizeof(line[0]),
	         "weft %s  %s/%s  workers %llu  up %s", target, s->executor,
	         s->reactor, s->workers, dur(a, sizeof(a), s->uptime_ns));
	snprintf(line[1], sizeof(line[1]),
	         "tasks %llu live  %llu spawned  %llu completed   queue %llu  "
	         "parks %llu  steals %llu  foreign wakes %llu",
	         s->tasks_live, s->spawned, s->completed, s->queue_depth,
	         s->parks, s->steals, s->foreign_wakes);
	if (polls_per_s >= 0)
		snprintf(c, sizeof(c), "%.0f/s", polls_per_s);
	else
		snprintf(c, sizeof(c), "-");
	snprintf(line[2], sizeof(line[2]),
	         "polls %llu (%s)  poll time p50 %s p99 %s  slow polls %llu  "
	         "refused peers %llu",
	         s->polls, c, quantile(a, sizeof(a), s, 0.5),
	         quantile(b, sizeof(b), s, 0.99), s->slow_polls, s->refused);
	for (int i = 0; i < 3; i++)
		fprintf(f, "%.*s%s", width, line[i], eol);
}

static void
print_rows(FILE *f, const struct snap *s, size_t max, int width,
           const char *eol)
{
	char b[5][24];
	size_t i;

	/* width 0: lines as long as they are (weft tasks, not top). */
	if (!width)
		width = 4096;
	fprintf(f, "%-.*s%s", width,
	        "      ID NAME                 STATE        POLLS   WAKES "
	        "     BUSY     SCHED  MAX POLL       AGE  LOCATION / "
	        "AWAITING",
	        eol);
	for (i = 0; i < s->nrows && i < max; i++) {
		const struct row *r = &s->rows[i];
		char line[512];

		snprintf(line, sizeof(line),
		         "%8llu %-20.20s %-9s %8llu %7llu %9s %9s %9s %9s  "
		         "%s%s%s",
		         r->id, r->name[0] ? r->name : "-", r->state, r->polls,
		         r->wakes, dur(b[0], 24, r->busy_ns),
		         dur(b[1], 24, r->sched_ns),
		         dur(b[2], 24, r->max_poll_ns),
		         dur(b[3], 24, r->age_ns),
		         r->location[0] ? r->location : "-",
		         r->awaiting[0] ? " " : "", r->awaiting);
		fprintf(f, "%-.*s%s", width, line, eol);
	}
	if (s->tasks_seen > s->nrows || i < s->nrows)
		fprintf(f, "(%zu of %llu tasks shown)%s", i,
		        s->tasks_seen > s->nrows ? s->tasks_seen
		                                 : (unsigned long long)s->nrows,
		        eol);
}

static int
fail_fetch(const char *target, const char *path, int r)
{
	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(stderr,
		        "weft: no console at %s: process %s has exited, or "
		        "runs without console = on (WEFT_CONSOLE=1)\n",
		        path, target);
	else if (r == -EACCES)
		fprintf(stderr,
		        "weft: %s refused us: only its own user may look\n",
		        path);
	else
		fprintf(stderr, "weft: %s: %s\n", path, strerror(-r));
	return 1;
}

static int
cmd_tasks(const char *target, const char *path, int json)
{
	struct snap s;
	char *text;
	int r = weft_snapshot_fetch(path, &text);

	if (r < 0)
		return fail_fetch(target, path, r);
	if (json) {
		fputs(text, stdout);
		free(text);
		return 0;
	}
	if (weft_snapshot_parse(text, &s) < 0) {
		fprintf(stderr, "weft: %s: a snapshot that cannot be read\n",
		        path);
		free(text);
		free(s.rows);
		return 1;
	}
	qsort(s.rows, s.nrows, sizeof(*s.rows), by_busy);
	print_summary(stdout, target, &s, -1, 0, "\n");
	print_rows(stdout, &s, s.nrows, 0, "\n");
	free(text);
	free(s.rows);
	return 0;
}

/* ---- top ---------------------------------------------------------- */

static volatile sig_atomic_t resized, stopping;

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		stopping = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
draw(const char *target, const struct snap *s, double rate)
{
	struct winsize w = {.ws_row = 24, .ws_col = 80};
	size_t room;

	ioctl(STDOUT_FILENO, TIOCGWINSZ, &w);
	if (w.ws_row < 6)
		w.ws_row = 6;
	room = (size_t)w.ws_row - 6; /* summary, blank, header, footer */
	/* Home, then each line cleared to its end: no flicker. */
	fputs("\033[H", stdout);
	print_summary(stdout, target, s, rate, w.ws_col, "\033[K\r\n");
	fputs("\033[K\r\n", stdout);
	print_rows(stdout, s, room, w.ws_col, "\033[K\r\n");
	fputs("q: quit\033[K\033[J", stdout);
	fflush(stdout);
}

static int
cmd_top(const char *target, const char *path, int interval_ms)
{
	struct termios saved, raw;
	struct sigaction sa = {.sa_handler = on_signal};
	unsigned long long last_polls = 0;
	double last_t = 0;
	int tty = tcgetattr(STDIN_FILENO, &saved) == 0, status = 0;
	char *text;
	int r = weft_snapshot_fetch(path, &text);

	if (r < 0)
		return fail_fetch(target, path, r);
	free(text);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	fputs("\033[?1049h\033[?25l\033[2J",
	      stdout); /* alt screen, no cursor */
	while (!stopping) {
		struct snap s;
		struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
		double t, rate = -1;
		char c;

		if ((r = weft_snapshot_fetch(path, &text)) < 0) {
			status = -r;
			break;
		}
		if (weft_snapshot_parse(text, &s) == 0) {
			t = now_s();
			if (last_t > 0 && t > last_t)
				rate = (double)(s.polls - last_polls) /
				       (t - last_t);
			last_t = t;
			last_polls = s.polls;
			qsort(s.rows, s.nrows, sizeof(*s.rows), by_busy);
			draw(target, &s, rate);
		}
		free(text);
		free(s.rows);
		resized = 0;
		/* Wait for the interval, a key, a resize or a signal. */
		if (poll(&in, 1, interval_ms) > 0 &&
		    read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			break;
	}
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (status)
		return fail_fetch(target, path, -status);
	return 0;
}

static const char usage[] =
    "usage: weft tasks PID [--json]\n"
    "       weft top PID [--interval MS]\n"
    "PID may be PID-N for a process's Nth runtime, or a socket's path.\n";

/* argv[0] is "tasks" or "top". */
int
weft_tool_console(int argc, char **argv)
{
	const char *target = NULL;
	char path[108];
	int json = 0, interval = 1000, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 &&
		    strcmp(argv[0], "tasks") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc &&
		           strcmp(argv[0], "top") == 0) {
			interval = atoi(argv[++i]);
			if (interval < 50 || interval > 60000) {
				fprintf(stderr, "weft: --interval takes 50 "
				                "to 60000 ms\n");
				return 2;
			}
		} else if (argv[i][0] != '-' && !target) {
			target = argv[i];
		} else {
			fprintf(stderr, "weft: unexpected argument \"%s\"\n%s",
			        argv[i], usage);
			return 2;
		}
	}
	if (!target) {
		fputs(usage, stderr);
		return 2;
	}
	if (weft_snapshot_path(target, path, sizeof(path)) < 0) {
		fprintf(stderr, "weft: %s: name too long\n", target);
		return 2;
	}
	if (strcmp(argv[0], "top") == 0)
		return cmd_top(target, path, interval);
	return cmd_tasks(target, path, json);
}
