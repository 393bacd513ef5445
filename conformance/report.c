/* SPDX-License-Identifier: MIT */
/*
 * What weft-conformance prints: a line per test run (or TAP in cmocka's
 * shape), the summary by rule that ends every pair, JUnit XML in the
 * shape cmocka writes, and the matrix of pairs by rule area.
 */
#include <string.h>

#include "runner.h"

/* Child output shown under a failure; the rest is in --no-fork runs. */
#define R_SHOW_LINES 40


static void
r_show_output(const char *output, bool failed)
{
	const char *p = output;
	int shown = 0;

	while (p && *p && shown < R_SHOW_LINES) {
		size_t len = strcspn(p, "\n");

		/* A pass shows only its quality warnings. */
		if (failed || strncmp(p, "quality warning:", 16) == 0) {
			printf("%s%.*s\n", r_opt.tap ? "# " : "    | ",
			       (int)len, p);
			shown++;
		}
		p += len;
		if (*p)
			p++;
	}
}


void
r_report_test(size_t index, unsigned number, const char *verdict,
              const char *why, const char *output, double seconds)
{
	const char *name = r_test_at(index)->ut->name;
	bool failed = verdict[0] == 'F';

	bool said = why && why[0];

	if (r_opt.tap) {
		if (verdict[0] == 'S' && said)
			printf("not ok %u # SKIP %s: %s\n", number, name, why);
		else if (verdict[0] == 'S')
			printf("not ok %u # SKIP %s\n", number, name);
		else
			printf("%sok %u - %s\n", failed ? "not " : "", number,
			       name);
		if (failed)
			printf("# %s\n", why);
	} else {
		printf("%s  %s  (%.2f s)%s%s\n", verdict, name, seconds,
		       said ? ": " : "", said ? why : "");
	}
	r_show_output(output, failed);
	fflush(stdout);
}


/* The rule a test's failures count under. */
static const char *
r_blamed(const struct r_result *res, size_t i)
{
	return res->blame[0] ? res->blame : r_test_at(i)->rule;
}


/*
 * Sums the results of the tests of one rule.  Failures count under the
 * rule they are blamed on, passes and skips under the test's own; the
 * why of a row that failed nothing says where its failures went, or why
 * its tests were skipped when a reason was given.
 */
static bool
r_rule_sum(const struct r_run *run, const char *rule, struct r_result *sum)
{
	size_t i;
	bool any = false;
	unsigned moved = 0;
	const char *moved_to = NULL, *skip_why = NULL;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < r_test_count(); i++) {
		const struct r_result *res = &run->results[i];
		bool own = strcmp(r_test_at(i)->rule, rule) == 0;

		if (!res->selected)
			continue;
		if (own) {
			any = true;
			sum->pass += res->pass;
			sum->skip += res->skip;
			if (res->skip && res->why[0] && !res->fail)
				skip_why = res->why;
			if (res->fail && res->blame[0] &&
			    strcmp(res->blame, rule) != 0) {
				moved += res->fail;
				moved_to = res->blame;
			}
		}
		if (!res->fail || strcmp(r_blamed(res, i), rule) != 0)
			continue;
		any = true;
		if (!sum->fail)
			snprintf(sum->why, sizeof(sum->why), "%.60s: %.170s",
			         r_test_at(i)->ut->name, res->why);
		sum->fail += res->fail;
	}
	if (!sum->fail && moved)
		snprintf(sum->why, sizeof(sum->why),
		         "(%u failed run%s counted under %s: hung after its "
		         "violation)",
		         moved, moved == 1 ? "" : "s", moved_to);
	else if (!sum->fail && skip_why)
		snprintf(sum->why, sizeof(sum->why), "(skipped: %.200s)",
		         skip_why);
	return any;
}


void
r_report_summary(const struct r_run *run)
{
	const char *lead = r_opt.tap ? "# " : "";
	unsigned pass = 0, fail = 0, skip = 0;
	char failed[512] = "";
	size_t i, used = 0;

	printf("%ssummary of %s\n", lead, run->label);
	printf("%s%-5s %-52s %4s %4s %4s  %s\n", lead, "rule", "title", "pass",
	       "fail", "skip", "why");
	for (i = 0; i < r_rule_count(); i++) {
		const struct r_rule *rule = r_rule_at(i);
		struct r_result s;

		if (!r_rule_sum(run, rule->id, &s))
			continue;
		printf("%s%-5s %-52.52s %4u %4u %4u%s%s\n", lead, rule->id,
		       rule->title, s.pass, s.fail, s.skip, s.why[0] ? "  " : "",
		       s.why);
		pass += s.pass;
		fail += s.fail;
		skip += s.skip;
		if (s.fail && used + 8 < sizeof(failed))
			used += (size_t)snprintf(failed + used,
			                         sizeof(failed) - used, "%s%s",
			                         used ? " " : "", rule->id);
	}
	if (fail)
		printf("%sresult: %s DOES NOT CONFORM: rules broken: %s "
		       "(%u passed, %u failed, %u skipped)\n",
		       lead, run->label, failed, pass, fail, skip);
	else
		printf("%sresult: %s conforms (%u passed, %u skipped)\n", lead,
		       run->label, pass, skip);
	fflush(stdout);
}


/* Text inside CDATA: the one sequence that would end it is broken up. */
static void
r_cdata(FILE *f, const char *s)
{
	fputs("<![CDATA[", f);
	for (; *s; s++) {
		if (strncmp(s, "]]>", 3) == 0) {
			fputs("]]]]><![CDATA[>", f);
			s += 2;
		} else {
			fputc(*s, f);
		}
	}
	fputs("]]>", f);
}


static void
r_attr(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}


int
r_report_junit(const char *path, const struct r_run *runs, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t r, i;

	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
	           "<testsuites>\n");
	for (r = 0; r < n; r++) {
		unsigned tests = 0, failures = 0, skipped = 0;
		double time = 0;

		for (i = 0; i < r_test_count(); i++) {
			const struct r_result *res = &runs[r].results[i];

			if (!res->selected)
				continue;
			tests++;
			failures += res->fail ? 1 : 0;
			skipped += !res->fail && res->skip ? 1 : 0;
			time += res->seconds;
		}
		fprintf(f, "  <testsuite name=\"");
		r_attr(f, runs[r].label);
		fprintf(f,
		        "\" time=\"%.3f\" tests=\"%u\" failures=\"%u\" "
		        "errors=\"0\" skipped=\"%u\" >\n",
		        time, tests, failures, skipped);
		for (i = 0; i < r_test_count(); i++) {
			const struct r_result *res = &runs[r].results[i];

			if (!res->selected)
				continue;
			fprintf(f,
			        "    <testcase name=\"%s\" time=\"%.3f\" >\n",
			        r_test_at(i)->ut->name, res->seconds);
			if (res->fail) {
				fprintf(f, "      <failure>");
				r_cdata(f, res->why);
				fprintf(f, "</failure>\n");
			} else if (res->skip && res->why[0]) {
				fprintf(f, "      <skipped message=\"");
				r_attr(f, res->why);
				fprintf(f, "\"/>\n");
			} else if (res->skip) {
				fprintf(f, "      <skipped/>\n");
			}
			fprintf(f, "    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}


void
r_report_matrix(FILE *out, const struct r_run *runs, size_t n)
{
	const char *areas = R_AREAS;
	size_t r, i, a;

	fprintf(out, "%-22s", "pair");
	for (a = 0; areas[a]; a++)
		fprintf(out, " %-8c", areas[a]);
	fprintf(out, " verdict\n");
	for (r = 0; r < n; r++) {
		fprintf(out, "%-22s", runs[r].label);
		for (a = 0; areas[a]; a++) {
			unsigned p = 0, f = 0, s = 0;
			char cell[32];

			for (i = 0; i < r_test_count(); i++) {
				const struct r_result *res =
				    &runs[r].results[i];

				if (r_blamed(res, i)[0] == areas[a])
					f += res->fail;
				if (r_test_at(i)->rule[0] != areas[a])
					continue;
				p += res->pass;
				s += res->skip;
			}
			snprintf(cell, sizeof(cell), "%u/%u/%u", p, f, s);
			fprintf(out, " %-8s", cell);
		}
		fprintf(out, " %s\n", runs[r].failed ? "FAILS" : "conforms");
	}
	fprintf(out, "cells: passed/failed/skipped test runs; areas: W waker, "
	             "F future, C context,\nE executor, T task, R reactor, "
	             "D driver, P plugin (see ABI.md)\n");
}
