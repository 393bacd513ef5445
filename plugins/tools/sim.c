/* SPDX-License-Identifier: MIT */
/*
 * weft sim: runs a program once per seed on the sim executor and reactor,
 * chosen through the environment as any weft program chooses its runtime,
 * and names each seed whose run failed with the one command that replays
 * it.  The program is not changed: the seed, the mode and the faults reach
 * it through WEFT_SIM_*, and the sim executor prints at exit the trace
 * line this runner reads (executors/sim):
 *
 *   weft-sim: seed=S mode=M polls=N trace=HHHHHHHHHHHHHHHH
 *
 * This file reads the options and reports; sim_run.c runs the program.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/weft.h>

#include "sim.h"

static const char sim_usage[] =
    "usage: weft sim [OPTIONS] -- PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM once per seed with WEFT_EXECUTOR=sim WEFT_REACTOR=sim\n"
    "and WEFT_SIM_SEED set, and prints for each failing seed the command\n"
    "that replays it.  A run fails when it exits non-zero, is killed by a\n"
    "signal, passes its virtual-time deadline (exit status 125) or its\n"
    "wall-clock limit.\n"
    "\n"
    "options:\n"
    "  --seeds N            run N seeds (default 100)\n"
    "  --seed S             run seed S only\n"
    "  --first S0           the first seed (default 1): S0, S0+1, ...\n"
    "  --mode random|pct    how the sim executor picks the next task\n"
    "  --pct-depth D        pct's priority-change points, 1 to 64\n"
    "  --faults P           probability of an injected I/O fault per call\n"
    "  --timeout VIRTUAL    virtual-time deadline of a run (10s, 2h, ...)\n"
    "  --wall-timeout SECS  wall-clock limit of a run (default 60, 0 none)\n"
    "  --tail N             lines of the first failing run's output shown\n"
    "                       (default 20)\n"
    "  --stop               stop at the first failing seed\n"
    "  --help               show this text\n"
    "\n"
    "exit status: 0 every seed passed, 1 some failed, 2 usage error\n";


static void
on_interrupt(int sig)
{
	(void)sig;
	weft_sim_interrupted = 1;
}


/* A whole number from lo to hi, all of s; -1 if it is not one. */
static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t n = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (hi - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || *p || n < lo)
		return -1;
	*out = n;
	return 0;
}


/*
 * Validates val with the rules of the configuration key, so that the
 * runner refuses exactly what the program would, and returns the value
 * in canonical form (borrowed from scratch) or NULL.
 */
static const char *
check_key(struct weft_config *scratch, const char *opt, const char *key,
          const char *val)
{
	char err[512];

	if (weft_config_set(scratch, key, val, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft sim: %s: %s\n", opt, err);
		return NULL;
	}
	return weft_config_get(scratch, key);
}


/* "--name VALUE" or "--name=VALUE": 1 and *val, 0 if not this option. */
static int
opt_arg(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "weft sim: %s needs a value\n", name);
		*val = NULL;
		return 1;
	}
	*val = argv[++*i];
	return 1;
}


static int
bad(const char *opt, const char *val, const char *rule)
{
	fprintf(stderr, "weft sim: %s must be %s, not \"%s\"\n", opt, rule,
	        val);
	return -1;
}


static int
parse_opts(int argc, char **argv, struct weft_config *scratch,
           struct sim_opts *o)
{
	const char *seed = NULL, *seeds = NULL, *first = NULL, *v;
	char *end;
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(sim_usage, stdout);
			return 1;
		} else if (strcmp(argv[i], "--stop") == 0) {
			o->stop = 1;
		} else if (opt_arg(argc, argv, &i, "--seeds", &v)) {
			if (!(seeds = v))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--seed", &v)) {
			if (!(seed = v))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--first", &v)) {
			if (!(first = v))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--mode", &v)) {
			if (!v || !(o->mode = check_key(scratch, "--mode",
			                                "sim_mode", v)))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--pct-depth", &v)) {
			if (!v || !(o->depth = check_key(scratch, "--pct-depth",
			                                 "sim_pct_depth", v)))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--faults", &v)) {
			if (!v || !(o->faults = check_key(scratch, "--faults",
			                                  "sim_faults", v)))
				return -1;
		} else if (opt_arg(argc, argv, &i, "--timeout", &v)) {
			if (!v ||
			    !check_key(scratch, "--timeout", "sim_timeout", v))
				return -1;
			o->timeout = v;
		} else if (opt_arg(argc, argv, &i, "--wall-timeout", &v)) {
			if (!v)
				return -1;
			errno = 0;
			o->wall = strtod(v, &end);
			if (errno || end == v || *end ||
			    !(o->wall >= 0 && o->wall <= 1e6))
				return bad("--wall-timeout", v,
				           "a number of seconds from 0 to "
				           "1000000");
		} else if (opt_arg(argc, argv, &i, "--tail", &v)) {
			uint64_t n;

			if (!v)
				return -1;
			if (parse_u64(v, 0, 100000, &n) < 0)
				return bad("--tail", v,
				           "a whole number from 0 to 100000");
			o->tail = (unsigned long)n;
		} else {
			fprintf(stderr,
			        "weft sim: unknown option \"%s\" (the program "
			        "comes after --)\n",
			        argv[i]);
			return -1;
		}
	}
	if (i >= argc || i + 1 >= argc) {
		fprintf(stderr, "weft sim: no program: name it after --\n");
		return -1;
	}
	o->prog = argv + i + 1;
	if (seed && (seeds || first)) {
		fprintf(stderr, "weft sim: --seed runs one seed: it goes with "
		                "neither --seeds nor --first\n");
		return -1;
	}
	if (seed) {
		if (parse_u64(seed, 0, SEED_MAX, &o->first) < 0)
			return bad(
			    "--seed", seed,
			    "a whole number from 0 to 1844674407370955160");
		o->count = 1;
	}
	if (seeds && parse_u64(seeds, 1, 1000000000, &o->count) < 0)
		return bad("--seeds", seeds,
		           "a whole number from 1 to 1000000000");
	if (first && parse_u64(first, 0, SEED_MAX, &o->first) < 0)
		return bad("--first", first,
		           "a whole number from 0 to 1844674407370955160");
	if (o->count - 1 > SEED_MAX - o->first) {
		fprintf(stderr,
		        "weft sim: --first %" PRIu64 " with --seeds "
		        "%" PRIu64 " goes past the largest seed\n",
		        o->first, o->count);
		return -1;
	}
	return 0;
}


/* Prints s as one shell word. */
static void
put_word(FILE *f, const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!strchr(
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		        "0123456789_@%+=:,./-",
		        *p))
			break;
	if (*s && !*p) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}


static void
put_replay(FILE *f, const struct sim_opts *o, uint64_t seed)
{
	char vars[SIM_VARS_MAX][SIM_VAR_LEN];
	size_t i, n = weft_sim_vars(o, seed, vars);
	char **a;

	fputs("  replay: ", f);
	for (i = 0; i < n; i++) {
		put_word(f, vars[i]);
		fputc(' ', f);
	}
	for (a = o->prog; *a; a++) {
		put_word(f, *a);
		fputc(a[1] ? ' ' : '\n', f);
	}
	fprintf(f, "      or: weft sim --seed %" PRIu64 " --mode %s", seed,
	        o->mode);
	if (o->depth) {
		fputs(" --pct-depth ", f);
		put_word(f, o->depth);
	}
	if (o->faults) {
		fputs(" --faults ", f);
		put_word(f, o->faults);
	}
	if (o->timeout) {
		fputs(" --timeout ", f);
		put_word(f, o->timeout);
	}
	fputs(" --", f);
	for (a = o->prog; *a; a++) {
		fputc(' ', f);
		put_word(f, *a);
	}
	fputc('\n', f);
}


/* ---- reporting -------------------------------------------------------- */

static void
put_signal(FILE *f, int sig)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char *name = sigabbrev_np(sig);

	if (name) {
		fprintf(f, "signal SIG%s", name);
		return;
	}
#endif
	fprintf(f, "signal %d", sig);
}


static void
put_reason(FILE *f, const struct sim_run *r)
{
	switch (r->outcome) {
	case SIM_RUN_EXIT:
		fprintf(f, "exit status %d", r->code);
		break;
	case SIM_RUN_SIGNAL:
		put_signal(f, r->code);
		break;
	case SIM_RUN_DEADLINE:
		fputs("virtual-time deadline passed", f);
		break;
	case SIM_RUN_WALL:
		fputs("wall-clock timeout", f);
		break;
	default:
		fputs("passed", f);
	}
}


/* The last n lines of the run's output, indented. */
static void
put_tail(FILE *f, const struct sim_run *r, unsigned long n)
{
	size_t start = r->len, end = r->len;
	unsigned long lines = 0;

	if (end > 0 && r->out[end - 1] == '\n')
		start = --end;
	while (start > 0 && lines < n) {
		start--;
		if (r->out[start] == '\n' && ++lines == n) {
			start++;
			break;
		}
	}
	if (n == 0 || r->len == 0)
		return;
	fprintf(f, "  last lines of its output:\n");
	while (start < end) {
		const char *nl = memchr(r->out + start, '\n', end - start);
		size_t len = nl ? (size_t)(nl - r->out) - start : end - start;

		fprintf(f, "  | %.*s\n", (int)len, r->out + start);
		start += len + 1;
	}
}


struct progress {
	int tty;
	int shown;    /* a \r line is on the terminal */
	int decile;   /* the last tenth printed, without a terminal */
	double start; /* weft_sim_now() at the first run */
	double last;  /* weft_sim_now() at the last \r line */
};

static void
clear_progress(struct progress *p)
{
	if (p->tty && p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = 0;
	}
}


static void
show_progress(struct progress *p, uint64_t done, uint64_t total,
              uint64_t failed, int final)
{
	double now = weft_sim_now(), rate;
	int decile = (int)(done * 10 / total);

	if (p->tty ? (!final && now - p->last < 0.1 && done < total)
	           : (decile == p->decile && !final) || total < 2)
		return;
	if (!p->tty && final && decile == p->decile)
		return;
	rate = now > p->start ? (double)done / (now - p->start) : 0;
	p->last = now;
	p->decile = decile;
	fprintf(stderr,
	        "%sweft sim: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64
	        " failed, %.1f runs/s%s",
	        p->tty ? "\r\033[K" : "", done, total, failed, rate,
	        p->tty ? "" : "\n");
	p->shown = p->tty;
}


int
weft_sim_main(int argc, char **argv, const char *config)
{
	struct sim_opts o = {
	    .first = 1, .count = 100, .wall = 60, .tail = 20, .config = config};
	struct progress prog = {0};
	struct weft_config *scratch;
	struct sigaction sa, old_int, old_term;
	struct sim_run r = {0};
	uint64_t done = 0, failed = 0, first_failed = 0, traceless = 0;
	int rc, status = 0;

	if (weft_config_new(&scratch) < 0) {
		fprintf(stderr, "weft sim: out of memory\n");
		return 1;
	}
	o.mode = weft_config_get(scratch, "sim_mode");
	rc = parse_opts(argc, argv, scratch, &o);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr,
			        "(weft sim --help shows the options)\n");
		weft_config_free(scratch);
		return rc < 0 ? 2 : 0;
	}
	r.out = malloc(KEEP_MAX);
	if (!r.out) {
		weft_config_free(scratch);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	prog.tty = isatty(2);
	prog.decile = 0;
	prog.start = weft_sim_now();
	for (done = 0; done < o.count && !weft_sim_interrupted; done++) {
		uint64_t seed = o.first + done;

		rc = weft_sim_run_seed(&o, seed, &r);
		if (rc < 0) {
			clear_progress(&prog);
			fprintf(stderr, "weft sim: cannot run %s: %s\n",
			        o.prog[0], strerror(-rc));
			status = 2;
			break;
		}
		if (weft_sim_interrupted)
			break;
		/* A run that returned from main has closed its runtime: the
		 * sim executor has printed its line, if it was in use (a
		 * missing plugin fails the open with exit status 1). */
		if (!r.trace[0] &&
		    (r.outcome == SIM_RUN_PASS || r.outcome == SIM_RUN_EXIT))
			traceless++;
		if (r.outcome != SIM_RUN_PASS) {
			clear_progress(&prog);
			if (failed++ == 0)
				first_failed = seed;
			printf("seed %" PRIu64 ": ", seed);
			put_reason(stdout, &r);
			printf(", trace %s\n", r.trace[0] ? r.trace : "none");
			put_replay(stdout, &o, seed);
			if (failed == 1)
				put_tail(stdout, &r, o.tail);
			fflush(stdout);
			if (o.stop) {
				done++;
				break;
			}
		}
		show_progress(&prog, done + 1, o.count, failed, 0);
	}
	clear_progress(&prog);
	show_progress(&prog, done, o.count, failed, 1);
	clear_progress(&prog);
	if (status == 0) {
		printf("weft sim: %" PRIu64 " of %" PRIu64
		       " seeds run, %" PRIu64 " failed",
		       done, o.count, failed);
		if (failed)
			printf(" (the first: seed %" PRIu64 ")", first_failed);
		printf(", %.1f runs/s%s\n",
		       weft_sim_now() > prog.start
		           ? (double)done / (weft_sim_now() - prog.start)
		           : 0.0,
		       weft_sim_interrupted ? ", interrupted" : "");
		if (traceless)
			printf("weft sim: %" PRIu64 " run(s) printed no "
			       "weft-sim trace line: is the program a weft "
			       "program, and is the sim executor in its plugin "
			       "path?\n",
			       traceless);
		status = weft_sim_interrupted ? 130 : failed ? 1 : 0;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(r.out);
	weft_config_free(scratch);
	return status;
}
