/* SPDX-License-Identifier: MIT */
/*
 * A wake from a thread outside the runtime racing weft_runtime_close.
 *
 * A foreign thread sends on a oneshot (or cancels a token) that a future of
 * the runtime waits on.  The main thread sees the value, drops every
 * future, closes the runtime and only then joins the foreign thread, which
 * may still be inside the wake: in the waker, in the executor's schedule,
 * in the reactor's wake-up.  Nothing the wake touches may have been freed
 * or unloaded by close.  The main side proceeds the moment it can see the
 * value, so that close runs while the foreign thread is still returning
 * from its send or cancel.
 *
 * Four scenarios, in rotation:
 *   a  a spawned task awaits a oneshot; the root awaits its join handle
 *   b  the block_on root itself awaits a oneshot
 *   c  a spawned task awaits a cancellation token; the root joins it
 *   d  the block_on root itself awaits a cancellation token
 * each in turn with the waiter parked or spinning (yielding and looking
 * again, so that it sees the value before the sender's wake has even
 * started), with the root parked or spinning (so that block_on's thread
 * runs the woken task at once, without waiting to be unparked), and with
 * the foreign thread free or on the same CPU as the main thread (so that
 * waking the main thread tends to preempt the foreign one in the middle of
 * its wake, for as long as close takes).
 *
 * A lost race rarely shows in one run, so the program forks COPIES
 * children that each run ITERS iterations on a fresh runtime at the same
 * time, and fails if any child dies by a signal or exits non-zero.  Each
 * child publishes where it is, so a crash is reported with its iteration
 * and scenario.
 *
 *   test_close_race [EXECUTOR REACTOR [ITERS [COPIES]]]
 *
 * Without a pair, WEFT_EXECUTOR and WEFT_REACTOR choose it.  The
 * environment wins over the arguments: WEFT_CLOSE_RACE_ITERS (default
 * 3000), WEFT_CLOSE_RACE_COPIES (default 8), WEFT_CLOSE_RACE_SCENARIO (one
 * of a-d: only that one), WEFT_CLOSE_RACE_SECONDS (each child's alarm,
 * default 120).  Under Valgrind the counts are cut to 1 copy of 40
 * iterations unless the environment sets them.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weft/cancel.h>
#include <weft/channel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#define MAX_COPIES 64

/* The CPUs this program may use: the i-th of them pins to cpu i. */
static cpu_set_t all_cpus;
static int ncpus = 1;

enum scenario {
	TASK_ONESHOT,
	ROOT_ONESHOT,
	TASK_CANCEL,
	ROOT_CANCEL,
	SCENARIOS
};

static const char *const scenario_name[SCENARIOS] = {
    "a (task awaits a oneshot)",
    "b (root awaits a oneshot)",
    "c (task awaits a cancellation token)",
    "d (root awaits a cancellation token)",
};

/* How one iteration is run: bits of its number, above the scenario. */
enum mode {
	WAITER_SPINS = 1 << 0,
	ROOT_SPINS = 1 << 1, /* a and c only: in b and d the waiter is root */
	SAME_CPU = 1 << 2,
	MODES = 1 << 3
};

/* Where each child is, in memory shared with the parent. */
struct progress {
	atomic_long iter;
	atomic_int scenario, mode, phase;
};

enum phase { PH_OPEN, PH_RUN, PH_CLOSE, PH_JOIN, PH_DONE };

static const char *const phase_name[] = {"opening", "running", "closing",
                                         "joining", "done"};

/* What the main side and the foreign thread share in one iteration. */
struct race {
	atomic_int armed; /* the waiter's waker is registered */
	int oneshot;      /* else the cancellation token */
	struct weft_oneshot_tx *tx;
	struct weft_cancel_token *token; /* the foreign thread's handle */
	unsigned delay;
	int cpu; /* the main thread's, or -1: anywhere */
	int value;
};

/*
 * The future that waits: a oneshot receive or a token's cancelled(), as a
 * task or as the root.  It owns its receiver or token handle, as a real
 * task would, so dropping it releases them before close.
 */
struct waiter {
	struct weft_future base;
	struct race *race;
	struct weft_oneshot_rx *rx;
	struct weft_cancel_token *token;
	struct weft_oneshot_recv recv;
	struct weft_cancelled cancelled;
	int spin;
	int value;
	int out;
};


static struct weft_future *
waiter_inner(struct waiter *w)
{
	if (weft_future_is_empty(w->race->oneshot ? &w->recv.base
	                                          : &w->cancelled.base)) {
		if (w->race->oneshot)
			weft_oneshot_recv_init(&w->recv, w->rx, &w->value);
		else
			weft_cancelled_init(&w->cancelled, w->token);
	}
	return w->race->oneshot ? &w->recv.base : &w->cancelled.base;
}


static weft_poll
waiter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct waiter *w = (struct waiter *)f;
	struct weft_future *inner = waiter_inner(w);

	if (weft_future_poll(inner, cx) == WEFT_READY) {
		w->out = 1; /* cancelled */
		if (w->race->oneshot)
			w->out = w->recv.status == 0 ? w->value : -1;
		weft_future_drop(inner);
		return WEFT_READY;
	}
	/* Only now can the foreign thread's send or cancel wake someone. */
	atomic_store_explicit(&w->race->armed, 1, memory_order_release);
	if (w->spin)
		weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}


static void
waiter_drop(struct weft_future *f)
{
	struct waiter *w = (struct waiter *)f;

	weft_future_drop(&w->recv.base);
	weft_future_drop(&w->cancelled.base);
	if (w->rx)
		weft_oneshot_rx_free(w->rx);
	weft_cancel_token_free(w->token);
}

WEFT_FUTURE_VTABLE(waiter_vtable, struct waiter, out, waiter_poll, waiter_drop);


/* Pins the calling thread to its cpu-th CPU, or lets it run anywhere. */
static void
pin_to(int cpu)
{
	cpu_set_t set;
	int i, n = 0;

	if (cpu < 0) {
		sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
		return;
	}
	CPU_ZERO(&set);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all_cpus) && n++ == cpu)
			CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}


static void *
foreign_thread(void *arg)
{
	struct race *r = arg;
	volatile unsigned spin;

	pin_to(r->cpu);
	while (!atomic_load_explicit(&r->armed, memory_order_acquire))
		sched_yield();
	/* Varies where the wake lands: mid-poll, parking, parked. */
	for (spin = 0; spin < r->delay; spin++)
		;
	if (r->oneshot) {
		weft_oneshot_send(r->tx, &r->value);
	} else {
		weft_cancel_token_cancel(r->token);
		weft_cancel_token_free(r->token);
	}
	return NULL;
}


static int
race_setup(struct race *r, struct waiter *w, int oneshot, long iter,
           unsigned *seed)
{
	memset(r, 0, sizeof(*r));
	r->oneshot = oneshot;
	r->value = (int)(iter & 0xffffff) + 1;
	/* Mostly none: the tightest race; sometimes a little. */
	r->delay = rand_r(seed) % 4 == 0 ? rand_r(seed) % 20000 : 0;
	w->race = r;
	if (oneshot)
		return weft_oneshot_new(sizeof(int), &r->tx, &w->rx);
	if (weft_cancel_token_new(&w->token) < 0)
		return -ENOMEM;
	r->token = weft_cancel_token_clone(w->token);
	return 0;
}


/*
 * Sets up the channel or token and starts the foreign thread, on the main
 * thread's CPU if cpu >= 0.  Exits on failure: nothing can be tested.
 */
static void
race_start(struct race *r, pthread_t *th, struct waiter *w, int oneshot,
           long iter, int cpu, unsigned *seed)
{
	if (race_setup(r, w, oneshot, iter, seed) < 0) {
		fprintf(stderr, "close-race: out of memory\n");
		exit(1);
	}
	r->cpu = cpu;
	pin_to(cpu);
	if (pthread_create(th, NULL, foreign_thread, r) != 0) {
		fprintf(stderr, "close-race: cannot start a thread\n");
		exit(1);
	}
}


/*
 * The root that joins the task, spinning: block_on's thread never parks,
 * so it runs the task the moment the foreign thread has queued it.
 */
struct spin_join {
	struct weft_future base;
	struct weft_join_future jf;
};


static weft_poll
spin_join_poll(struct weft_future *f, struct weft_context *cx)
{
	struct spin_join *s = (struct spin_join *)f;

	if (weft_future_poll(&s->jf.base, cx) == WEFT_READY)
		return WEFT_READY;
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}


static void
spin_join_drop(struct weft_future *f)
{
	weft_future_drop(&((struct spin_join *)f)->jf.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(spin_join_vtable, struct spin_join, spin_join_poll,
                             spin_join_drop);


/* Runs the waiter as a task and joins it: the task's output, or -1. */
static int
run_as_task(struct weft_runtime *rt, struct waiter *w, int root_spins)
{
	struct spin_join sj = {.base.vtable = &spin_join_vtable};
	struct weft_join *j = NULL;
	int out = -1, r;

	if (weft_spawn(rt, &w->base, &j) < 0)
		return -1;
	weft_join_future_init(&sj.jf, j, &out, sizeof(out));
	r = weft_block_on(rt, root_spins ? &sj.base : &sj.jf.base);
	if (r < 0 || sj.jf.status != 0)
		out = -1;
	weft_future_drop(&sj.base);
	weft_future_drop(&sj.jf.base);
	return out;
}


/* Runs the waiter as the block_on root: its output, or -1. */
static int
run_as_root(struct weft_runtime *rt, struct waiter *w)
{
	int r = weft_block_on(rt, &w->base);
	int out = r < 0 ? -1 : w->out;

	weft_future_drop(&w->base);
	return out;
}


/* How an iteration ran, for the reports. */
static const char *
mode_name(enum scenario sc, int mode, char *buf, size_t len)
{
	const char *waiter = mode & WAITER_SPINS ? "spinning" : "parked";
	const char *cpu = mode & SAME_CPU ? "one CPU" : "any CPU";

	if (sc == ROOT_ONESHOT || sc == ROOT_CANCEL)
		snprintf(buf, len, "root %s, %s", waiter, cpu);
	else
		snprintf(buf, len, "task %s, root %s, %s", waiter,
		         mode & ROOT_SPINS ? "spinning" : "parked", cpu);
	return buf;
}


/* One iteration on a fresh runtime: 0, or 1 after saying what failed. */
static int
iteration(struct progress *pr, long iter, enum scenario sc, int mode, int cpu,
          unsigned *seed)
{
	int oneshot = sc == TASK_ONESHOT || sc == ROOT_ONESHOT;
	struct waiter w = {.base.vtable = &waiter_vtable,
	                   .spin = mode & WAITER_SPINS};
	struct weft_runtime *rt = NULL;
	struct race r;
	pthread_t th;
	char err[256] = "", buf[64];
	int out, want;

	atomic_store(&pr->phase, PH_OPEN);
	/* Unpinned: the runtime's own threads are created here. */
	pin_to(-1);
	if (weft_runtime_open(&rt, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "close-race: runtime: %s\n", err);
		return 1;
	}
	race_start(&r, &th, &w, oneshot, iter, mode & SAME_CPU ? cpu : -1,
	           seed);
	want = oneshot ? r.value : 1;
	atomic_store(&pr->phase, PH_RUN);
	out = sc == TASK_ONESHOT || sc == TASK_CANCEL
	          ? run_as_task(rt, &w, mode & ROOT_SPINS)
	          : run_as_root(rt, &w);
	/* Every future is dropped; the foreign thread may still be waking. */
	atomic_store(&pr->phase, PH_CLOSE);
	weft_runtime_close(rt);
	atomic_store(&pr->phase, PH_JOIN);
	/* A failed spawn never armed it: let the thread finish anyway. */
	atomic_store(&r.armed, 1);
	pthread_join(th, NULL);
	atomic_store(&pr->phase, PH_DONE);
	if (out == want)
		return 0;
	fprintf(stderr,
	        "close-race: iteration %ld, scenario %s, %s: got %d, "
	        "want %d\n",
	        iter, scenario_name[sc], mode_name(sc, mode, buf, sizeof(buf)),
	        out, want);
	return 1;
}


static int
run_copy(struct progress *pr, int copy, long iters, int only, unsigned alarm_s)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() * 2654435761u;
	long i;
	enum scenario sc;
	int mode;

	/* A lost wake-up hangs; the alarm turns that into SIGALRM. */
	alarm(alarm_s);
	for (i = 0; i < iters; i++) {
		sc = only >= 0 ? (enum scenario)only
		               : (enum scenario)(i % SCENARIOS);
		mode = (int)(i / SCENARIOS % MODES);
		atomic_store(&pr->iter, i);
		atomic_store(&pr->scenario, (int)sc);
		atomic_store(&pr->mode, mode);
		if (iteration(pr, i, sc, mode, copy % ncpus, &seed) != 0) {
			fprintf(stderr, "close-race: copy %d failed\n", copy);
			return 1;
		}
	}
	return 0;
}


/* Says how a child ended; 0 if it passed. */
static int
report_child(int copy, int status, const struct progress *pr)
{
	int sc = atomic_load(&pr->scenario);
	int ph = atomic_load(&pr->phase);
	char buf[64];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		fprintf(stderr,
		        "close-race: copy %d killed by signal %d (%s%s)", copy,
		        WTERMSIG(status), strsignal(WTERMSIG(status)),
		        WTERMSIG(status) == SIGALRM
		            ? ": out of time, a lost wake-up?"
		            : "");
	else
		fprintf(stderr, "close-race: copy %d exited with %d", copy,
		        WEXITSTATUS(status));
	fprintf(stderr, " at iteration %ld, scenario %s, %s, %s\n",
	        atomic_load(&pr->iter),
	        sc >= 0 && sc < SCENARIOS ? scenario_name[sc] : "?",
	        mode_name((enum scenario)sc, atomic_load(&pr->mode), buf,
	                  sizeof(buf)),
	        ph >= 0 && ph <= PH_DONE ? phase_name[ph] : "?");
	return 1;
}


static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}


static int
env_scenario(void)
{
	const char *v = getenv("WEFT_CLOSE_RACE_SCENARIO");

	if (!v || !*v)
		return -1;
	if (v[0] >= 'a' && v[0] < 'a' + SCENARIOS && !v[1])
		return v[0] - 'a';
	fprintf(stderr, "close-race: WEFT_CLOSE_RACE_SCENARIO: a to d\n");
	exit(2);
}


/* Forks the copies and waits for all of them: the number that failed. */
static int
run_copies(int copies, long iters, int only, unsigned alarm_s)
{
	struct progress *pr;
	pid_t pid[MAX_COPIES];
	int i, k, status, failed = 0;

	pr = mmap(NULL, sizeof(*pr) * (size_t)copies, PROT_READ | PROT_WRITE,
	          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pr == MAP_FAILED)
		return copies;
	memset(pr, 0, sizeof(*pr) * (size_t)copies);
	/* Children write to the same stream: nothing buffered may be copied. */
	fflush(NULL);
	for (i = 0; i < copies; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(run_copy(&pr[i], i, iters, only, alarm_s));
		if (pid[i] < 0) {
			perror("close-race: fork");
			failed++;
		}
	}
	for (i = 0; i < copies; i++) {
		if (pid[i] <= 0)
			continue;
		while ((k = waitpid(pid[i], &status, 0)) < 0 && errno == EINTR)
			;
		if (k < 0)
			failed++;
		else
			failed += report_child(i, status, &pr[i]);
	}
	munmap(pr, sizeof(*pr) * (size_t)copies);
	return failed;
}


int
main(int argc, char **argv)
{
	int valgrind = getenv("WEFT_UNDER_VALGRIND") != NULL;
	long iters = argc > 3 ? strtol(argv[3], NULL, 10) : 3000;
	long copies = argc > 4 ? strtol(argv[4], NULL, 10) : 8;
	long alarm_s = env_long("WEFT_CLOSE_RACE_SECONDS", 120);
	int only = env_scenario(), failed;

	if (argc == 2 || argc > 5) {
		fprintf(stderr,
		        "usage: %s [EXECUTOR REACTOR [ITERS [COPIES]]]\n",
		        argv[0]);
		return 2;
	}
	/* The environment has the last word in the runtime's config. */
	if (argc >= 3 && (setenv("WEFT_EXECUTOR", argv[1], 1) < 0 ||
	                  setenv("WEFT_REACTOR", argv[2], 1) < 0))
		return 1;
	iters = env_long("WEFT_CLOSE_RACE_ITERS", valgrind ? 40 : iters);
	copies = env_long("WEFT_CLOSE_RACE_COPIES", valgrind ? 1 : copies);
	if (iters < 1 || copies < 1 || copies > MAX_COPIES || alarm_s < 1) {
		fprintf(stderr, "close-race: bad counts (%ld x %ld, %ld s)\n",
		        copies, iters, alarm_s);
		return 2;
	}
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) == 0)
		ncpus = CPU_COUNT(&all_cpus);
	failed = run_copies((int)copies, iters, only, (unsigned)alarm_s);
	printf("close-race %s x %s: %ld copies x %ld iterations: %d failed\n",
	       getenv("WEFT_EXECUTOR") ? getenv("WEFT_EXECUTOR") : "(default)",
	       getenv("WEFT_REACTOR") ? getenv("WEFT_REACTOR") : "(default)",
	       copies, iters, failed);
	return failed ? 1 : 0;
}
