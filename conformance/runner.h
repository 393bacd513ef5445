/* SPDX-License-Identifier: MIT */
/*
 * The runner of weft-conformance: the flat list of tests, one child
 * process per test run under a watchdog in the parent, and the reports
 * (per-test lines or TAP, the summary by rule, JUnit XML, the matrix).
 */
#ifndef WEFT_CONFORMANCE_RUNNER_H
#define WEFT_CONFORMANCE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness.h"

/* ---- rules --------------------------------------------------------- */

struct r_rule {
	const char *id; /* "W1" */
	const char *title;
};

size_t r_rule_count(void);
const struct r_rule *r_rule_at(size_t i);
const char *r_rule_title(const char *id);
/* Whether id names a rule of ABI.md ("C1"; not "harness"). */
bool r_rule_known(const char *id);

/* The area letters, in the order of ABI.md and of the matrix. */
#define R_AREAS "WFCETRDP"

/* ---- tests --------------------------------------------------------- */

struct r_test {
	const struct CMUnitTest *ut;
	char rule[8]; /* the name up to its first '_' */
};

/* Every test of every group, in the order they run. */
size_t r_test_count(void);
const struct r_test *r_test_at(size_t i);

/* ---- options ------------------------------------------------------- */

struct r_options {
	const char *filter; /* a glob on test names, or NULL */
	unsigned timeout_s; /* per test run, before the slow stretch */
	unsigned repeat;
	uint64_t seed;
	bool fork;         /* false: in-process, for debuggers */
	bool tap;          /* TAP lines instead of the readable ones */
	bool quiet;        /* no per-test lines: the matrix */
	const char *junit; /* a file, or NULL */
	/*
	 * Not for users: a rule each child reports violated before it hangs,
	 * so that the suite can check whom the report blames for the hang.
	 */
	const char *self_test_hang;
};

extern struct r_options r_opt;

/* ---- results ------------------------------------------------------- */

/* One test over all its repetitions on one pair. */
struct r_result {
	unsigned pass, fail, skip;
	bool selected;
	char why[240]; /* the first failure's reason, or why it skipped */
	/*
	 * The rule the failures count under when it is not the test's own:
	 * a test that hung after its child had reported a violation of
	 * rule X failed X, not every rule whose tests hung the same way.
	 */
	char blame[8];
	double seconds;
};

/* One executor + reactor pair. */
struct r_run {
	char label[160];          /* "single + epoll" */
	struct r_result *results; /* r_test_count() of them */
	unsigned failed;          /* tests with at least one failure */
	/*
	 * Set when the loader refused the pair: the P rule its check
	 * enforces and the loader's reason.  No test runs then; the first
	 * test of that rule fails with the reason and the rest are skipped.
	 */
	char refused_rule[8];
	char refused_why[240];
};

/*
 * Runs the selected tests on the pair resolved into h_opt, filling run.
 * Returns the number of failed tests, or a negative error.
 */
int r_run_pair(struct r_run *run);
void r_run_free(struct r_run *run);

/* ---- reports ------------------------------------------------------- */

/* One finished test run: a readable line or TAP lines. */
void r_report_test(size_t index, unsigned number, const char *verdict,
                   const char *why, const char *output, double seconds);
/* The table by rule: rule, title, pass / fail / skip, why. */
void r_report_summary(const struct r_run *run);
/* JUnit XML in cmocka's shape, one testsuite per pair. */
int r_report_junit(const char *path, const struct r_run *runs, size_t n);
/* Pairs x rule areas, pass/fail/skip counts in each cell. */
void r_report_matrix(FILE *out, const struct r_run *runs, size_t n);

#endif /* WEFT_CONFORMANCE_RUNNER_H */
