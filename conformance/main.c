/* SPDX-License-Identifier: MIT */
/*
 * weft-conformance: checks executor and reactor plugins against the rules
 * of ABI.md.  Every test is named after the rule it checks (W1_..., R4_...)
 * and runs in a child process of its own under a watchdog, so that a
 * plugin that hangs or crashes fails the rule under test and nothing else.
 *
 * Without options the pair comes from the configuration as a host resolves
 * it (WEFT_CONFIG, WEFT_EXECUTOR, WEFT_REACTOR, defaults); options win.
 * --reactor alone runs the reactor under each of weft's executors.
 * Exit status: 0 when every test passed or was skipped, 1 when a rule is
 * broken, 2 for a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runner.h"

/* The executors a reactor is checked under when none is named. */
static const char *const our_executors[] = {"single", "multi", "worksteal"};

#define MAX_PAIRS 64


static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: weft-conformance [--executor NAME|PATH] "
	    "[--reactor NAME|PATH]\n"
	    "         [--filter GLOB] [--timeout SECONDS] [--repeat N] "
	    "[--seed N]\n"
	    "         [--tap] [--junit FILE] [--no-fork]\n"
	    "       weft-conformance --matrix [options]\n"
	    "       weft-conformance --list\n"
	    "Checks a weft executor and reactor against the rules of "
	    "the ABI.\n"
	    "  --reactor alone   run it under each of weft's executors\n"
	    "  --matrix          run every executor x reactor found, print "
	    "the matrix\n"
	    "  --list            print every rule and every test\n"
	    "  --filter GLOB     run the tests whose name matches "
	    "(\"E5_*\")\n"
	    "  --timeout S       seconds a test may take (default %d)\n"
	    "  --repeat N        run each test N times (flaky hunting)\n"
	    "  --seed N          seed of the randomised tests\n"
	    "  --tap             TAP output (or CMOCKA_MESSAGE_OUTPUT=tap)\n"
	    "  --junit FILE      JUnit XML (or CMOCKA_MESSAGE_OUTPUT=xml "
	    "and CMOCKA_XML_FILE)\n"
	    "  --no-fork         run tests in this process (debuggers)\n",
	    H_WATCHDOG_SECONDS);
}


static void
list_all(void)
{
	size_t i;

	for (i = 0; i < r_rule_count(); i++)
		printf("rule %s %s\n", r_rule_at(i)->id, r_rule_at(i)->title);
	for (i = 0; i < r_test_count(); i++)
		printf("test %s %s\n", r_test_at(i)->rule,
		       r_test_at(i)->ut->name);
}


static int
copy_opt(char *dst, size_t n, const char *src)
{
	if (!src)
		return 0;
	if (strlen(src) >= n) {
		fprintf(stderr, "weft-conformance: value too long: %s\n", src);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}


/* Reads what the pair's runtime loaded: paths and capability flags. */
static void
learn_pair(struct weft_runtime *rt)
{
	const struct weft_plugin_descriptor *e, *r;

	e = weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR);
	r = weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR);
	copy_opt(h_opt.executor_path, sizeof(h_opt.executor_path),
	         weft_runtime_plugin_path(rt, WEFT_PLUGIN_EXECUTOR));
	copy_opt(h_opt.reactor_path, sizeof(h_opt.reactor_path),
	         weft_runtime_plugin_path(rt, WEFT_PLUGIN_REACTOR));
	h_opt.executor_flags =
	    ((const struct weft_executor_iface *)e->iface)->flags;
	h_opt.reactor_flags =
	    ((const struct weft_reactor_iface *)r->iface)->flags;
	h_opt.resolved = true;
}


struct guess {
	const char *name;
	char *path;
};


static void
guess_visit(const struct weft_plugin_info *info, void *data)
{
	struct guess *g = data;

	if (!g->path[0] && info->name && info->path &&
	    strcmp(info->name, g->name) == 0)
		copy_opt(g->path, sizeof(h_opt.executor_path), info->path);
}


/* A plugin's file when the runtime would not open: a path, or a scan. */
static void
guess_path(char *path, const char *value)
{
	struct guess g = {value, path};

	if (strchr(value, '/'))
		copy_opt(path, sizeof(h_opt.executor_path), value);
	else
		weft_plugins_scan(NULL, guess_visit, &g);
}


/*
 * The rule behind a refusal of the loader (a P rule, or E13), from the
 * check that made it.
 * The loader reports which check failed only in its message, so each of
 * its checks is matched by the words of that message; they follow ABI.md's
 * P rules in the loader's own order.  A refusal matched by none (no such
 * plugin, a relative path, a file of the wrong owner) is no rule's
 * breach: the tests then run and fail on their own.
 */
static const struct {
	const char *words;
	const char *rule;
} refusals[] = {
    /* P1: the one entry symbol and what it returns. */
    {": cannot load: ", "P1"},
    {": no entry symbol ", "P1"},
    {": entry point returned ", "P1"},
    /* P2: the descriptor itself. */
    {": descriptor version 0 is invalid", "P2"},
    {": bad magic ", "P2"},
    {": plugin has no name", "P2"},
    {": plugin name is not NUL-terminated", "P2"},
    {": invalid plugin name ", "P2"},
    {": descriptor has no interface", "P2"},
    /* P3: the version it chose from the host's range. */
    {": negotiated ABI ", "P3"},
    {", older than the oldest this host accepts", "P3"},
    /* P4: the data model it was built for. */
    {": ABI signature 0x", "P4"},
    /* P5: the major version and the kind. */
    {": built for ABI major ", "P5"},
    {": unknown plugin kind ", "P5"},
    {" plugin, not a", "P5"},
    /* P6: the interface. */
    {" interface version 0 is invalid", "P6"},
    {" instance_size ", "P6"},
    {" interface lacks required method ", "P6"},
    /* E13, which the loader checks as well: one thread, one schedule. */
    {": executor claims both DETERMINISTIC and MULTI_THREAD", "E13"},
};


static const char *
refusal_rule(int r, const char *err)
{
	size_t i;

	/* Negotiation refused outright: no version in the host's range. */
	if (strstr(err, ": entry point failed: ") && r == WEFT_EABI)
		return "P3";
	if (strstr(err, ": entry point failed: "))
		return "P1";
	if (r != WEFT_EABI && r != WEFT_EPLUGIN)
		return NULL;
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strstr(err, refusals[i].words))
			return refusals[i].rule;
	return NULL;
}


/*
 * The loader's reason, shortened for the summary's one line: its message
 * opens with the plugin's path, whose folders say nothing there.
 */
static void
refusal_why(char *why, size_t n, const char *err)
{
	const char *colon = strstr(err, ": ");
	const char *file = err, *p;

	if (err[0] != '/' || !colon) {
		snprintf(why, n, "the loader refused the pair: %s", err);
		return;
	}
	for (p = err; p < colon; p++)
		if (*p == '/')
			file = p + 1;
	snprintf(why, n, "the loader refused %.*s: %s", (int)(colon - file),
	         file, colon + 2);
}


/*
 * The pair as a host would resolve it: defaults, then the environment,
 * then the command line.  The tests then open runtimes with use_env off
 * and these values, so that every runtime in the run is the same pair.
 */
static int
resolve_pair(struct r_run *run, const char *executor, const char *reactor)
{
	const char *rule;
	struct weft_config *cfg;
	struct weft_runtime *rt;
	char err[1024] = "";
	int r;

	r = weft_config_new(&cfg);
	if (r < 0)
		return r;
	r = weft_config_load_env(cfg, err, sizeof(err));
	if (r == 0 && executor)
		r = weft_config_set(cfg, "executor", executor, err,
		                    sizeof(err));
	if (r == 0 && reactor)
		r = weft_config_set(cfg, "reactor", reactor, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "weft-conformance: %s\n", err);
		weft_config_free(cfg);
		return r;
	}
	if (copy_opt(h_opt.executor, sizeof(h_opt.executor),
	             weft_config_get(cfg, "executor")) < 0 ||
	    copy_opt(h_opt.reactor, sizeof(h_opt.reactor),
	             weft_config_get(cfg, "reactor")) < 0 ||
	    copy_opt(h_opt.plugin_path, sizeof(h_opt.plugin_path),
	             weft_config_get(cfg, "plugin_path")) < 0 ||
	    copy_opt(h_opt.workers, sizeof(h_opt.workers),
	             weft_config_get(cfg, "workers")) < 0) {
		weft_config_free(cfg);
		return -1;
	}
	r = weft_config_set(cfg, "use_env", "false", err, sizeof(err));
	if (r == 0)
		r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0 && (rule = refusal_rule(r, err))) {
		/* Nothing runs: the loader's reason is the whole verdict. */
		fprintf(stderr,
		        "weft-conformance: the loader refused %s + %s (%s): "
		        "%s\n",
		        h_opt.executor, h_opt.reactor, rule, err);
		snprintf(run->refused_rule, sizeof(run->refused_rule), "%s",
		         rule);
		refusal_why(run->refused_why, sizeof(run->refused_why), err);
		guess_path(h_opt.executor_path, h_opt.executor);
		guess_path(h_opt.reactor_path, h_opt.reactor);
		return 0;
	}
	if (r < 0) {
		/*
		 * Not a plugin's breach of a P rule: the tests still run and
		 * fail one by one with this reason; the P tests load the
		 * plugins themselves, so they can name what is wrong.
		 */
		fprintf(stderr, "weft-conformance: cannot open %s + %s: %s\n",
		        h_opt.executor, h_opt.reactor, err);
		guess_path(h_opt.executor_path, h_opt.executor);
		guess_path(h_opt.reactor_path, h_opt.reactor);
		return 0;
	}
	learn_pair(rt);
	weft_runtime_close(rt);
	return 0;
}


static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}


/* Resolves, runs and reports one pair; returns its failed test count. */
static int
run_one(struct r_run *run, const char *executor, const char *reactor)
{
	bool slow = h_opt.slow;
	int r;

	memset(&h_opt, 0, sizeof(h_opt));
	h_opt.slow = slow;
	if (resolve_pair(run, executor, reactor) < 0)
		return -1;
	snprintf(run->label, sizeof(run->label), "%.70s + %.70s",
	         base_name(h_opt.executor), base_name(h_opt.reactor));
	if (!r_opt.quiet)
		printf(
		    "%sweft-conformance: executor %s (%s), reactor %s "
		    "(%s), seed %llu\n",
		    r_opt.tap ? "# " : "", h_opt.executor,
		    h_opt.executor_path[0] ? h_opt.executor_path : "not loaded",
		    h_opt.reactor,
		    h_opt.reactor_path[0] ? h_opt.reactor_path : "not loaded",
		    (unsigned long long)r_opt.seed);
	r = r_run_pair(run);
	if (r >= 0 && !r_opt.quiet)
		r_report_summary(run);
	return r;
}


struct scan {
	char names[2][16][256]; /* executors, reactors */
	size_t count[2];
};


static void
scan_visit(const struct weft_plugin_info *info, void *data)
{
	struct scan *s = data;
	size_t k, i;

	if (info->status != 0 || !info->name)
		return;
	if (info->kind != WEFT_PLUGIN_EXECUTOR &&
	    info->kind != WEFT_PLUGIN_REACTOR)
		return;
	k = info->kind == WEFT_PLUGIN_EXECUTOR ? 0 : 1;
	for (i = 0; i < s->count[k]; i++)
		if (strcmp(s->names[k][i], info->name) == 0)
			return;
	if (s->count[k] < 16 && strlen(info->name) < 256)
		strcpy(s->names[k][s->count[k]++], info->name);
}


static int
parse_uint(const char *opt, const char *s, unsigned long long max,
           unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || end == s || *out > max) {
		fprintf(stderr, "weft-conformance: bad %s: %s\n", opt, s);
		return -1;
	}
	return 0;
}


/* Options from cmocka's variables, before the command line. */
static void
env_options(void)
{
	const char *out = getenv("CMOCKA_MESSAGE_OUTPUT");

	if (!out)
		return;
	if (strcasecmp(out, "tap") == 0)
		r_opt.tap = true;
	else if (strcasecmp(out, "xml") == 0)
		r_opt.junit = getenv("CMOCKA_XML_FILE")
		                  ? getenv("CMOCKA_XML_FILE")
		                  : "weft-conformance.xml";
}


int
main(int argc, char **argv)
{
	const char *executor = NULL, *reactor = NULL;
	static struct r_run runs[MAX_PAIRS];
	static struct scan scan;
	unsigned long long v;
	bool list = false, matrix = false;
	size_t nruns = 0, e, r;
	int failed = 0, i, rc;

	env_options();
	r_opt.seed = (uint64_t)time(NULL);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : 0;

		if (strcmp(a, "--list") == 0) {
			list = true;
		} else if (strcmp(a, "--matrix") == 0) {
			matrix = true;
		} else if (strcmp(a, "--tap") == 0) {
			r_opt.tap = true;
		} else if (strcmp(a, "--no-fork") == 0) {
			r_opt.fork = false;
		} else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!next) {
			usage(stderr);
			return 2;
		} else if (strcmp(a, "--executor") == 0) {
			executor = argv[++i];
		} else if (strcmp(a, "--reactor") == 0) {
			reactor = argv[++i];
		} else if (strcmp(a, "--self-test-violate-then-hang") == 0) {
			/* Hidden: the suite's check of the hang report. */
			r_opt.self_test_hang = argv[++i];
		} else if (strcmp(a, "--filter") == 0) {
			r_opt.filter = argv[++i];
		} else if (strcmp(a, "--junit") == 0) {
			r_opt.junit = argv[++i];
		} else if (strcmp(a, "--timeout") == 0) {
			if (parse_uint(a, argv[++i], 3600, &v) < 0 || !v)
				return 2;
			r_opt.timeout_s = (unsigned)v;
		} else if (strcmp(a, "--repeat") == 0) {
			if (parse_uint(a, argv[++i], 100000, &v) < 0 || !v)
				return 2;
			r_opt.repeat = (unsigned)v;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_uint(a, argv[++i], UINT64_MAX, &v) < 0)
				return 2;
			r_opt.seed = v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		list_all();
		return 0;
	}
	h_opt.slow = getenv("WEFT_UNDER_VALGRIND") != NULL;
	/* A write to a closed peer must fail with EPIPE, not end the run. */
	signal(SIGPIPE, SIG_IGN);

	if (matrix) {
		r_opt.quiet = true;
		weft_plugins_scan(NULL, scan_visit, &scan);
		for (e = 0; e < scan.count[0]; e++)
			for (r = 0; r < scan.count[1] && nruns < MAX_PAIRS;
			     r++) {
				rc = run_one(&runs[nruns++], scan.names[0][e],
				             scan.names[1][r]);
				failed += rc != 0;
			}
		r_report_matrix(stdout, runs, nruns);
	} else if (reactor && !executor) {
		for (e = 0; e < sizeof(our_executors) / sizeof(*our_executors);
		     e++) {
			rc = run_one(&runs[nruns++], our_executors[e], reactor);
			failed += rc != 0;
		}
	} else {
		rc = run_one(&runs[nruns++], executor, reactor);
		failed += rc != 0;
	}
	if (r_opt.junit && r_report_junit(r_opt.junit, runs, nruns) < 0) {
		fprintf(stderr, "weft-conformance: cannot write %s: %s\n",
		        r_opt.junit, strerror(errno));
		failed++;
	}
	for (r = 0; r < nruns; r++)
		r_run_free(&runs[r]);
	return failed ? 1 : 0;
}
