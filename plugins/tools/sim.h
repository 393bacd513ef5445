/* SPDX-License-Identifier: MIT */
/*
 * weft sim's two halves: sim.c reads the options and reports, sim_run.c
 * runs the program once with a seed and captures what it printed.
 */
#ifndef WEFT_TOOLS_SIM_H
#define WEFT_TOOLS_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* sim_seed's largest value (config_values.c, check_seed). */
#define SEED_MAX (UINT64_MAX / 10 - 1)
#define KEEP_MAX (256u * 1024u) /* bytes of a run's output kept */

struct sim_opts {
	uint64_t first;
	uint64_t count;
	const char *mode;    /* canonical, from the scratch config */
	const char *depth;   /* NULL: not given */
	const char *faults;  /* NULL: not given */
	const char *timeout; /* as written, NULL: not given */
	double wall;         /* seconds, 0: no limit */
	unsigned long tail;
	int stop;
	const char *config; /* weft --config FILE, passed on as WEFT_CONFIG */
	char **prog;
};

enum sim_outcome {
	SIM_RUN_PASS,
	SIM_RUN_EXIT,
	SIM_RUN_SIGNAL,
	SIM_RUN_DEADLINE,
	SIM_RUN_WALL
};

struct sim_run {
	enum sim_outcome outcome;
	int code;       /* exit status or signal number */
	char trace[17]; /* "" when the run printed none */
	char *out;      /* the last KEEP_MAX bytes of stdout and stderr */
	size_t len;
};

#define SIM_VARS_MAX 8   /* the variables a run sets, at most */
#define SIM_VAR_LEN  600 /* NAME=VALUE, truncated beyond */

/* Set by SIGINT or SIGTERM: the run in progress is killed, none follows. */
extern volatile sig_atomic_t weft_sim_interrupted;

/* CLOCK_MONOTONIC in seconds. */
double weft_sim_now(void);

/*
 * The variables a run with seed sets, as NAME=VALUE strings in vars;
 * returns how many.
 */
size_t weft_sim_vars(const struct sim_opts *o, uint64_t seed,
                     char vars[][SIM_VAR_LEN]);

/*
 * Runs the program with seed and fills r (r->out holds KEEP_MAX bytes).
 * Returns 0, or a negative errno when the program could not be started.
 */
int weft_sim_run_seed(const struct sim_opts *o, uint64_t seed,
                      struct sim_run *r);

int weft_sim_main(int argc, char **argv, const char *config);

#endif /* WEFT_TOOLS_SIM_H */
