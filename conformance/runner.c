/* SPDX-License-Identifier: MIT */
/*
 * Runs each test in a child process under a watchdog in the parent.
 *
 * A broken plugin may deadlock, crash, or corrupt the heap; the child
 * takes that with it, and the parent reports it as a failure of the test
 * (and so of its rule) that was running.  The child runs the test through
 * cmocka's standard output into a pipe; the parent reads the verdict and
 * a reason from that text and from the child's exit status.
 *
 * The child is forked, not executed again: it inherits the resolved pair
 * and, under a memory checker, the checker itself.  It leaves through
 * exit() after cmocka has returned, so everything the test allocated has
 * been freed by then and the checker's leak report at the child's exit
 * covers that test; an error there changes the child's exit status, which
 * fails the test.  On a timeout the parent kills the child's process group.
 */
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

struct r_options r_opt = {
    .timeout_s = H_WATCHDOG_SECONDS, .repeat = 1, .fork = true};

static const struct h_group *const groups[] = {
    &h_group_plugin,   &h_group_settings,  &h_group_waker,
    &h_group_outlive,  &h_group_future,    &h_group_task,
    &h_group_executor, &h_group_lifecycle, &h_group_sched,
    &h_group_driver,   &h_group_batch,     &h_group_clock,
    &h_group_reactor,  &h_group_reactor_caps, &h_group_completion,
    &h_group_completion_cancel, &h_group_driver_op,
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

/* Every test of a plugin run fits; more output than this is cut. */
#define R_OUTPUT_MAX (64 * 1024)

static struct r_test tests[128];
static size_t ntests;


static void
r_tests_collect(void)
{
	size_t g, i;

	if (ntests)
		return;
	for (g = 0; g < NGROUPS; g++) {
		for (i = 0; i < groups[g]->count; i++) {
			const struct CMUnitTest *ut = &groups[g]->tests[i];
			const char *us = strchr(ut->name, '_');
			size_t len =
			    us ? (size_t)(us - ut->name) : strlen(ut->name);
			struct r_test *t;

			if (ntests == sizeof(tests) / sizeof(tests[0])) {
				fprintf(stderr, "weft-conformance: more tests "
				                "than the runner holds\n");
				abort();
			}
			t = &tests[ntests++];

			if (len >= sizeof(t->rule))
				len = sizeof(t->rule) - 1;
			t->ut = ut;
			memcpy(t->rule, ut->name, len);
			t->rule[len] = '\0';
		}
	}
}


size_t
r_test_count(void)
{
	r_tests_collect();
	return ntests;
}


const struct r_test *
r_test_at(size_t i)
{
	r_tests_collect();
	return i < ntests ? &tests[i] : NULL;
}


bool
r_rule_known(const char *id)
{
	size_t i;

	for (i = 0; i < r_rule_count(); i++)
		if (strcmp(r_rule_at(i)->id, id) == 0)
			return true;
	return false;
}


static double
r_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* ---- the child ------------------------------------------------------ */

static void
r_child(const struct r_test *t, int fd, uint64_t seed)
{
	struct CMUnitTest one = *t->ut;
	int failed;

	/* Its own group, so that a timeout kills what it started too. */
	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(3);
	close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	h_opt.seed = seed;
	h_opt.alarm_s = 0; /* the parent is the watchdog */
	/* cmocka's variables would win over the call; the parent reports. */
	unsetenv("CMOCKA_MESSAGE_OUTPUT");
	unsetenv("CMOCKA_XML_FILE");
	cmocka_set_message_output(CM_OUTPUT_STDOUT);
	if (r_opt.self_test_hang) {
		/* What a broken plugin does: a violation, then no progress. */
		h_violation("%s: self-test: a violation, then a hang",
		            r_opt.self_test_hang);
		for (;;)
			h_sleep_ns(WEFT_SEC);
	}
	failed = _cmocka_run_group_tests(one.name, &one, 1, NULL, NULL);
	fflush(stdout);
	exit(failed ? 1 : 0);
}


/* ---- the parent: watchdog and verdict ------------------------------- */

struct r_child_out {
	char *text;
	size_t len;
	int status;
	bool timed_out;
};


static void
r_append(struct r_child_out *o, const char *buf, size_t n)
{
	if (o->len + n > R_OUTPUT_MAX)
		n = R_OUTPUT_MAX - o->len;
	memcpy(o->text + o->len, buf, n);
	o->len += n;
	o->text[o->len] = '\0';
}


static void
r_kill(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}


/*
 * Reads the child's output until it closes the pipe, then reaps it; on
 * the deadline kills its group.  Output is drained even past the cut, so
 * a chatty child never blocks on a full pipe.
 */
static void
r_watch(pid_t pid, int fd, double timeout, struct r_child_out *o)
{
	double deadline = r_seconds() + timeout;
	char buf[4096];
	bool open = true;
	pid_t w;

	while (open) {
		double left = deadline - r_seconds();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r;

		if (left <= 0) {
			o->timed_out = true;
			break;
		}
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			open = false;
		else
			r_append(o, buf, (size_t)n);
	}
	/* The pipe may close before the child ends: wait, within bounds. */
	while (!o->timed_out) {
		w = waitpid(pid, &o->status, WNOHANG);
		if (w == pid)
			return;
		if (w < 0 && errno != EINTR)
			return;
		if (r_seconds() >= deadline)
			o->timed_out = true;
		else
			h_sleep_ns(5 * WEFT_MSEC);
	}
	r_kill(pid);
	while (waitpid(pid, &o->status, 0) < 0 && errno == EINTR)
		;
}


/* The line of text starting at p, copied without its newline. */
static void
r_line(char *dst, size_t n, const char *p)
{
	size_t len = strcspn(p, "\n");

	while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
}


/* Finds a line that starts with prefix; returns what follows it. */
static const char *
r_find_line(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (strncmp(p, prefix, n) == 0)
			return p + n;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}


/*
 * The reason of a failure, best first: a violation (it names the rule
 * and what happened inside the plugin), then cmocka's message with the
 * file and line of the assertion.
 */
static void
r_reason(char *why, size_t n, const char *text)
{
	const char *msg = r_find_line(text, "ERROR: ");
	const char *at = strstr(text, "[   LINE   ] --- ");
	char m[160] = "failed", loc[80] = "";
	const char *p;

	if ((p = r_find_line(text, "violation: "))) {
		r_line(why, n, p);
		return;
	}
	/* fail_msg() prints "ERROR: ", an assertion "[  ERROR   ] --- ". */
	if (!msg && (p = r_find_line(text, "[  ERROR   ] --- ")) && *p != '[')
		msg = p;
	if (msg)
		r_line(m, sizeof(m), msg);
	if (at) {
		at += strlen("[   LINE   ] --- ");
		const char *end = strstr(at, ": error:");
		size_t len = end ? (size_t)(end - at) : strcspn(at, "\n");

		/* The file's name without the folders of the build. */
		for (p = at; p < at + len; p++)
			if (*p == '/')
				at = p + 1;
		len = end ? (size_t)(end - at) : strcspn(at, "\n");
		snprintf(loc, sizeof(loc), "%.*s: ", (int)len, at);
	}
	snprintf(why, n, "%s%s", loc, m);
}


/*
 * The first violation line in a child's output that names a rule of
 * ABI.md ("violation: C1: ..."); the harness's own complaints
 * ("violation: harness: ...") name none.  Copies the rule and returns
 * the line's text after "violation: ", or NULL.
 */
static const char *
r_first_violation(const char *text, char *rule, size_t n)
{
	const char *p = text;

	while ((p = r_find_line(p, "violation: "))) {
		size_t len = strcspn(p, ": \n");

		if (len && len < n) {
			memcpy(rule, p, len);
			rule[len] = '\0';
			if (r_rule_known(rule))
				return p;
		}
		p = strchr(p, '\n');
	}
	return NULL;
}


/*
 * The verdict from cmocka's standard output and the exit status.  A test
 * that passed but whose child then exited non-zero failed after all: that
 * is the memory checker's report on what the test left behind.
 */
static const char *
r_verdict(const struct r_child_out *o, double timeout, char *why, size_t n,
          char *blame, size_t blame_n)
{
	int st = o->status;
	bool ok = r_find_line(o->text, "[       OK ] ") != NULL;
	const char *v;

	if (o->timed_out) {
		/*
		 * A hang after a violation is that violation's doing: the
		 * plugin broke the rule, then never came back.  Blamed on
		 * the test's own rule, the same defect would read as a hang
		 * in every rule whose tests reach it.
		 */
		v = r_first_violation(o->text, blame, blame_n);
		if (v) {
			char line[160];

			r_line(line, sizeof(line), v);
			snprintf(why, n,
			         "violation: %s; then hung (did not finish "
			         "in %.0f s)",
			         line, timeout);
		} else {
			blame[0] = '\0';
			snprintf(why, n,
			         "did not finish in %.0f s (a hang or a lost "
			         "wake?)",
			         timeout);
		}
		return "FAIL";
	}
	if (WIFSIGNALED(st)) {
		snprintf(why, n, "crashed: %s", strsignal(WTERMSIG(st)));
		return "FAIL";
	}
	if (r_find_line(o->text, "[  FAILED  ] ")) {
		r_reason(why, n, o->text);
		return "FAIL";
	}
	if (WEXITSTATUS(st) == 0 && r_find_line(o->text, "[  SKIPPED ] "))
		return "SKIP";
	if (WEXITSTATUS(st) == 0 && ok)
		return "PASS";
	if (ok)
		snprintf(why, n,
		         "passed, then exited with status %d "
		         "(memory errors or leaks at exit?)",
		         WEXITSTATUS(st));
	else
		snprintf(why, n, "exited with status %d before its verdict",
		         WEXITSTATUS(st));
	return "FAIL";
}


static const char *
r_run_forked(const struct r_test *t, uint64_t seed, char *why, size_t n,
             char *blame, size_t blame_n, char **output)
{
	struct r_child_out o = {0};
	double timeout = (double)r_opt.timeout_s * (h_opt.slow ? 8 : 1);
	const char *verdict;
	int fds[2];
	pid_t pid;

	o.text = malloc(R_OUTPUT_MAX + 1);
	if (!o.text || pipe(fds) < 0) {
		free(o.text);
		snprintf(why, n, "cannot start the test: %s", strerror(errno));
		return "FAIL";
	}
	o.text[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		free(o.text);
		r_child(t, fds[1], seed);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(o.text);
		snprintf(why, n, "fork: %s", strerror(errno));
		return "FAIL";
	}
	/* Also here, against the race with the child's own call. */
	setpgid(pid, pid);
	r_watch(pid, fds[0], timeout, &o);
	close(fds[0]);
	verdict = r_verdict(&o, timeout, why, n, blame, blame_n);
	*output = o.text;
	return verdict;
}


static const char *
r_run_inline(const struct r_test *t, uint64_t seed, char *why, size_t n)
{
	struct CMUnitTest one = *t->ut;

	h_opt.seed = seed;
	h_opt.alarm_s = r_opt.timeout_s * (h_opt.slow ? 8 : 1);
	if (_cmocka_run_group_tests(one.name, &one, 1, NULL, NULL) == 0)
		return "PASS";
	snprintf(why, n, "failed (see above)");
	return "FAIL";
}


static bool
r_selected(size_t i)
{
	return !r_opt.filter || fnmatch(r_opt.filter, tests[i].ut->name, 0) == 0;
}


/*
 * The pair did not load: nothing can run on it.  The loader's reason is
 * reported once, as a failure of the first test of the P rule the check
 * that refused it enforces (whatever the filter: a refused pair never
 * conforms); every other test is skipped, not failed, so that the summary
 * blames that one rule and not every rule whose tests need a runtime.
 */
static void
r_refused_pair(struct r_run *run)
{
	size_t i, count = r_test_count(), first = count;
	unsigned number = 0;

	for (i = 0; i < count && first == count; i++)
		if (strcmp(tests[i].rule, run->refused_rule) == 0)
			first = i;
	for (i = 0; i < count; i++) {
		struct r_result *res = &run->results[i];

		res->selected = i == first || r_selected(i);
		if (res->selected)
			number += i == first ? 1 : r_opt.repeat;
	}
	if (r_opt.tap && !r_opt.quiet)
		printf("1..%u\n", number);
	number = 0;
	for (i = 0; i < count; i++) {
		struct r_result *res = &run->results[i];
		unsigned rep;

		if (!res->selected)
			continue;
		if (i == first) {
			res->fail = 1;
			run->failed++;
			snprintf(res->why, sizeof(res->why), "%s",
			         run->refused_why);
			if (!r_opt.quiet)
				r_report_test(i, ++number, "FAIL", res->why,
				              NULL, 0);
			else
				fprintf(stderr, "%s: FAIL %s: %s\n",
				        run->label, tests[i].ut->name,
				        res->why);
			continue;
		}
		res->skip = r_opt.repeat;
		snprintf(res->why, sizeof(res->why), "pair did not load");
		for (rep = 0; rep < r_opt.repeat && !r_opt.quiet; rep++)
			r_report_test(i, ++number, "SKIP", res->why, NULL, 0);
	}
	/* Every P rule the loader checks has a test; should one not. */
	if (first == count)
		run->failed++;
}


int
r_run_pair(struct r_run *run)
{
	size_t i, count = r_test_count();
	unsigned rep, number = 0;

	run->failed = 0;
	run->results = calloc(count, sizeof(*run->results));
	if (!run->results)
		return -ENOMEM;
	if (run->refused_rule[0]) {
		r_refused_pair(run);
		return (int)run->failed;
	}
	if (r_opt.tap && !r_opt.quiet) {
		for (i = 0; i < count; i++)
			if (r_selected(i))
				number += r_opt.repeat;
		printf("1..%u\n", number);
		number = 0;
	}
	for (i = 0; i < count; i++) {
		struct r_result *res = &run->results[i];

		if (!r_selected(i))
			continue;
		res->selected = true;
		for (rep = 0; rep < r_opt.repeat; rep++) {
			uint64_t seed = r_opt.seed + rep;
			char why[sizeof(res->why)] = "";
			char blame[sizeof(res->blame)] = "";
			char *output = NULL;
			double start = r_seconds(), took;
			const char *v;

			if (r_opt.fork)
				v = r_run_forked(&tests[i], seed, why,
				                 sizeof(why), blame,
				                 sizeof(blame), &output);
			else
				v = r_run_inline(&tests[i], seed, why,
				                 sizeof(why));
			took = r_seconds() - start;
			res->seconds += took;
			if (v[0] == 'P') {
				res->pass++;
			} else if (v[0] == 'S') {
				res->skip++;
			} else {
				if (!res->fail++) {
					snprintf(res->why, sizeof(res->why),
					         "%s (seed %llu)", why,
					         (unsigned long long)seed);
					/* The first failure decides, as
					 * for the reason. */
					if (strcmp(blame, tests[i].rule) != 0)
						memcpy(res->blame, blame,
						       sizeof(blame));
				}
			}
			if (!r_opt.quiet)
				r_report_test(i, ++number, v, why, output,
				              took);
			else if (v[0] == 'F')
				fprintf(stderr, "%s: FAIL %s: %s\n", run->label,
				        tests[i].ut->name, why);
			free(output);
		}
		if (res->fail)
			run->failed++;
	}
	return (int)run->failed;
}


void
r_run_free(struct r_run *run)
{
	free(run->results);
	run->results = NULL;
}
