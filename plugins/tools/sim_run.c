/* SPDX-License-Identifier: MIT */
/*
 * weft sim: one run.  The program is a child in a process group of its
 * own, so that a wall-clock timeout kills whatever it started too; its
 * stdout and stderr go into one pipe, whose last KEEP_MAX bytes are kept
 * for the report and for the trace line the sim executor prints at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

extern char **environ;

volatile sig_atomic_t weft_sim_interrupted;

double
weft_sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* ---- the child's environment and the replay command ------------------ */

static int
is_ours(const char *var)
{
	return strncmp(var, "WEFT_SIM_", 9) == 0 ||
	       strncmp(var, "WEFT_EXECUTOR=", 14) == 0 ||
	       strncmp(var, "WEFT_REACTOR=", 13) == 0 ||
	       (strncmp(var, "WEFT_CONFIG=", 12) == 0);
}


/*
 * The variables a run sets, as NAME=VALUE strings in vars; returns how
 * many.  Every WEFT_SIM_* the runner was given is set, and those it was
 * not are left out of the child's environment, so the replay command
 * printed from the same list runs exactly the same configuration.
 */
size_t
weft_sim_vars(const struct sim_opts *o, uint64_t seed, char vars[][SIM_VAR_LEN])
{
	size_t n = 0;

	snprintf(vars[n++], 600, "WEFT_EXECUTOR=sim");
	snprintf(vars[n++], 600, "WEFT_REACTOR=sim");
	snprintf(vars[n++], 600, "WEFT_SIM_SEED=%" PRIu64, seed);
	snprintf(vars[n++], 600, "WEFT_SIM_MODE=%s", o->mode);
	if (o->depth)
		snprintf(vars[n++], 600, "WEFT_SIM_PCT_DEPTH=%s", o->depth);
	if (o->faults)
		snprintf(vars[n++], 600, "WEFT_SIM_FAULTS=%s", o->faults);
	if (o->timeout)
		snprintf(vars[n++], 600, "WEFT_SIM_TIMEOUT=%.580s", o->timeout);
	if (o->config)
		snprintf(vars[n++], 600, "WEFT_CONFIG=%.580s", o->config);
	return n;
}


/* ---- one run ---------------------------------------------------------- */

/* Appends n bytes, n <= KEEP_MAX, dropping the oldest beyond KEEP_MAX. */
static void
keep(struct sim_run *r, const char *buf, size_t n)
{
	if (r->len + n > KEEP_MAX) {
		size_t drop = r->len + n - KEEP_MAX;

		memmove(r->out, r->out + drop, r->len - drop);
		r->len -= drop;
	}
	memcpy(r->out + r->len, buf, n);
	r->len += n;
}


/* The trace hash of the last "weft-sim: seed=" line of the output. */
static void
find_trace(struct sim_run *r)
{
	const char *p, *t, *found = NULL;
	size_t i;

	r->trace[0] = '\0';
	for (p = r->out; (size_t)(p - r->out) < r->len; p++) {
		p = memchr(p, 'w', r->len - (size_t)(p - r->out));
		if (!p)
			break;
		if ((p == r->out || p[-1] == '\n') &&
		    (size_t)(r->out + r->len - p) > 15 &&
		    memcmp(p, "weft-sim: seed=", 15) == 0)
			found = p;
	}
	if (!found)
		return;
	for (t = found; t < r->out + r->len && *t != '\n'; t++)
		if (t + 6 <= r->out + r->len && memcmp(t, "trace=", 6) == 0)
			break;
	if (t >= r->out + r->len || *t == '\n' ||
	    (size_t)(r->out + r->len - t) < 6 + 16)
		return;
	for (i = 0; i < 16; i++)
		r->trace[i] = t[6 + i];
	r->trace[16] = '\0';
}


/*
 * Runs the program with seed; fills r.  Returns 0, or a negative errno
 * when the program could not be started.
 */
int
weft_sim_run_seed(const struct sim_opts *o, uint64_t seed, struct sim_run *r)
{
	char vars[SIM_VARS_MAX][SIM_VAR_LEN];
	size_t nv = weft_sim_vars(o, seed, vars), ne = 0, i;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char **env, **e;
	int fds[2], rc, status = 0, exited = 0, killed = 0;
	double deadline = o->wall > 0 ? weft_sim_now() + o->wall : 0;
	double linger = 0, kill_time = 0;
	sigset_t none;
	siginfo_t si;
	pid_t pid;

	r->len = 0;
	r->outcome = SIM_RUN_PASS;
	r->code = 0;
	for (e = environ; *e; e++)
		ne++;
	env = calloc(ne + nv + 1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	ne = 0;
	for (e = environ; *e; e++)
		if (!is_ours(*e))
			env[ne++] = *e;
	for (i = 0; i < nv; i++)
		env[ne++] = vars[i];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		free(env);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	                                  POSIX_SPAWN_SETSIGMASK);
	rc = -posix_spawnp(&pid, o->prog[0], &fa, &at, o->prog, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return rc;
	}
	/*
	 * Read until the pipe closes and the child has exited.  A child that
	 * exits while something it started holds the pipe gets a second to
	 * let go; then its group is killed.
	 */
	while (fds[0] >= 0 || !exited) {
		struct pollfd pf = {fds[0], POLLIN, 0};
		double now = weft_sim_now();
		char buf[8192];
		ssize_t n;

		if (!killed &&
		    (weft_sim_interrupted || (deadline && now >= deadline) ||
		     (linger && now >= linger))) {
			kill(-pid, SIGKILL);
			killed = 1;
			kill_time = now;
			if (!weft_sim_interrupted && deadline &&
			    now >= deadline)
				r->outcome = SIM_RUN_WALL;
		}
		/* Only a process that left the group can hold it now. */
		if (killed && fds[0] >= 0 && now >= kill_time + 1.0) {
			close(fds[0]);
			fds[0] = -1;
		}
		if (fds[0] >= 0 &&
		    poll(&pf, 1, exited || killed ? 10 : 50) > 0) {
			n = read(fds[0], buf, sizeof(buf));
			if (n > 0) {
				keep(r, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(fds[0]);
				fds[0] = -1;
			}
		} else if (fds[0] < 0 && !exited) {
			usleep(2000);
		}
		if (!exited) {
			memset(&si, 0, sizeof(si));
			/* WNOWAIT: the group id stays ours until the reap. */
			if (waitid(P_PID, (id_t)pid, &si,
			           WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid) {
				exited = 1;
				linger = weft_sim_now() + 1.0;
			}
		}
	}
	kill(-pid, SIGKILL); /* anything the program left in its group */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	find_trace(r);
	if (r->outcome == SIM_RUN_WALL)
		return 0;
	if (WIFSIGNALED(status)) {
		r->outcome = SIM_RUN_SIGNAL;
		r->code = WTERMSIG(status);
	} else if (WEXITSTATUS(status) == 125) {
		r->outcome = SIM_RUN_DEADLINE;
		r->code = 125;
	} else if (WEXITSTATUS(status) != 0) {
		r->outcome = SIM_RUN_EXIT;
		r->code = WEXITSTATUS(status);
	}
	return 0;
}
