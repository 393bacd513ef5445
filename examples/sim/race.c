/* SPDX-License-Identifier: MIT */
/*
 * race: a latent ordering bug for `weft sim` to find.
 *
 * An account holds 100.  Two tasks withdraw from it, 60 and 50, and each
 * does it the wrong way: it checks the balance, awaits something (here a
 * fraud check, standing for any round trip: a yield), and only then takes
 * the money, on a balance it read before the await.  Both checks can pass
 * before either withdrawal lands: 110 leaves an account of 100, and the
 * balance shows whatever the last write left (40 or 50).
 *
 * The second task first prepares its request: about a millisecond of
 * work, then PREP_STEPS awaits, and then it withdraws.  Under a FIFO run
 * queue the tasks take turns, so the first has checked and taken its 60
 * long before the second checks: the balance the second sees is 40 and
 * it is refused.  The bug shows only when the second task is polled
 * PREP_STEPS + 1 times while the first waits out its one await, an order
 * a FIFO scheduler never produces.  On the multi-threaded executors the
 * two tasks may run at once on two workers, but the second's work puts
 * its check a millisecond after the first's few microseconds of window,
 * so they meet in that window only when a worker stalls that long.  A
 * scheduler that picks the next task at random, for which work takes no
 * time, produces the order in about 3 % of runs.
 *
 * Prints the outcome and exits 0 when the books balance; exits 1 with
 * "overdrawn" on stderr when they do not.  See docs/simulation.md.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <weft/await.h>

#define PREP_STEPS 6
#define PREP_WORK  1000000 /* rounds of arithmetic: about a millisecond */

struct account {
	/* Atomic so that the multi-threaded executors run no data race: the
	 * bug is in the order of the steps, not in the memory model. */
	atomic_int balance;
};

struct withdrawal {
	struct account *acct;
	const char *who;
	int amount;
	int prep; /* awaits before the withdrawal; if any, PREP_WORK first */
	int done; /* 1 taken, 0 refused */
	uint64_t id, receipt;
};

/* The bug: the check and the write are on two sides of an await. */
static int
withdraw(void *arg)
{
	struct withdrawal *w = arg;
	uint64_t sum = w->id;
	int seen, r, i;

	/* Preparing the request: work that takes real time but no await,
	 * so only a real clock sees it. */
	for (i = 0; w->prep && i < PREP_WORK; i++)
		sum = sum * 6364136223846793005u + 1442695040888963407u;
	w->receipt = sum;
	for (i = 0; i < w->prep; i++)
		if ((r = weft_fiber_yield()) < 0)
			return r;
	seen = atomic_load(&w->acct->balance);
	if (seen < w->amount)
		return 0;                 /* refused */
	if ((r = weft_fiber_yield()) < 0) /* the fraud check */
		return r;
	atomic_store(&w->acct->balance, seen - w->amount);
	w->done = 1;
	return 0;
}

static int
run(void)
{
	struct account acct = {100};
	struct withdrawal first = {&acct, "first", 60, 0, 0, 1, 0};
	struct withdrawal second = {&acct, "second", 50, PREP_STEPS, 0, 2, 0};
	struct weft_join *a, *b;
	int r, r2, ra = 0, rb = 0, withdrawn, balance;

	if ((r = weft_spawn_fiber(withdraw, &first, &a)) < 0)
		return r;
	if ((r = weft_spawn_fiber(withdraw, &second, &b)) < 0) {
		weft_task_await(a, NULL, 0);
		return r;
	}
	r = weft_task_await(a, &ra, sizeof(ra));
	r2 = weft_task_await(b, &rb, sizeof(rb));
	if (r < 0 || r2 < 0)
		return r < 0 ? r : r2;
	if (ra < 0 || rb < 0)
		return ra < 0 ? ra : rb;
	withdrawn =
	    (first.done ? first.amount : 0) + (second.done ? second.amount : 0);
	balance = atomic_load(&acct.balance);
	printf("%s %s %d, %s %s %d: balance %d\n", first.who,
	       first.done ? "withdrew" : "was refused", first.amount,
	       second.who, second.done ? "withdrew" : "was refused",
	       second.amount, balance);
	fflush(stdout); /* before stderr's line, in a run's captured output */
	/* The invariant: what left the account is what it held, less what
	 * it shows now, and never more than it held. */
	if (withdrawn > 100 || balance != 100 - withdrawn) {
		fprintf(stderr,
		        "overdrawn: %d withdrawn from 100, and the "
		        "balance shows %d\n",
		        withdrawn, balance);
		return 1;
	}
	return 0;
}

WEFT_FIBER_MAIN(run);
