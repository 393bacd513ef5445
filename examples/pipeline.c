/* SPDX-License-Identifier: MIT */
/*
 * pipeline: a producer and a pool of workers over a bounded channel.
 * bench/peers/tokio/examples/pipeline.rs is the same program in tokio.
 *
 * The producer sends the jobs 1, 2, ... 20 over an mpsc channel of
 * capacity 4, so it waits whenever the workers fall behind.  Four workers
 * share the receiver behind an async mutex: each takes the next job, works
 * on it for (job % 4) * 5 ms (a sleep) and keeps (job, job * job).  When
 * the producer is done it frees its sender, which closes the channel; a
 * worker stops when it finds the channel closed and empty, and hands back
 * what it did.  main waits for the producer and every worker, then prints,
 * in job order, and exits 0:
 *
 *   job 1 -> 1
 *   job 2 -> 4
 *   ...
 *   job 20 -> 400
 *   20 jobs, 4 workers, sum 2870
 *
 * Which worker did which job varies from run to run; the output does not.
 * The producer and the workers are fiber tasks.
 */
#include <inttypes.h>
#include <stdio.h>

#include <weft/await.h>

#define JOBS     20
#define WORKERS  4
#define CAPACITY 4

/* The receiver, which the workers share behind the lock. */
static struct weft_mpsc_rx *rx;
static struct weft_mutex *lock;

/* The producer owns tx: freeing it is what closes the channel. */
static int
producer(void *arg)
{
	struct weft_mpsc_tx *tx = arg;
	int r = 0;

	for (uint64_t job = 1; job <= JOBS && r == 0; job++)
		r = weft_mpsc_send_await(tx, &job);
	weft_mpsc_tx_free(tx);
	return r; /* WEFT_ECLOSED: the workers stopped early */
}

/*
 * The lock is held only while waiting for a job, not while working on it.
 * 0 with the job in *job, WEFT_ECLOSED when there are no more, or an error.
 */
static int
next_job(uint64_t *job)
{
	int r = weft_mutex_lock_await(lock);

	if (r < 0)
		return r;
	r = weft_mpsc_recv_await(rx, job);
	weft_mutex_unlock(lock);
	return r;
}

/* What a worker did goes back through arg: done[job - 1] = job * job for
 * each of its jobs, 0 for the others'. */
static int
worker(void *arg)
{
	uint64_t *done = arg, job;
	int r;

	while ((r = next_job(&job)) == 0) {
		if ((r = weft_sleep_ms(job % 4 * 5)) < 0)
			return r;
		done[job - 1] = job * job;
	}
	return r == WEFT_ECLOSED ? 0 : r;
}

static int
run(void)
{
	struct weft_mpsc_tx *tx;
	struct weft_join *tasks[1 + WORKERS] = {NULL}; /* the producer first */
	uint64_t done[WORKERS][JOBS] = {{0}}, sum = 0;
	int r, a, result, n = 0;

	if ((r = weft_mpsc_new(sizeof(uint64_t), CAPACITY, &tx, &rx)) < 0)
		return r;
	if ((r = weft_mutex_new(&lock)) < 0 ||
	    (r = weft_spawn_fiber(producer, tx, &tasks[0])) < 0)
		weft_mpsc_tx_free(tx);
	for (int i = 0; i < WORKERS && r == 0; i++)
		r = weft_spawn_fiber(worker, done[i], &tasks[1 + i]);
	if (r < 0)
		weft_mpsc_rx_close(rx); /* so that the tasks spawned end */
	/* handle.await for each task spawned; the first error wins. */
	for (int i = 0; i <= WORKERS && tasks[i]; i++) {
		a = weft_task_await(tasks[i], &result, sizeof(result));
		if (r == 0)
			r = a < 0 ? a : result;
	}
	weft_mpsc_rx_free(rx);
	weft_mutex_free(lock);
	if (r < 0)
		return r;
	/* In job order, whichever worker did each. */
	for (int job = 1; job <= JOBS; job++) {
		for (int i = 0; i < WORKERS; i++) {
			if (done[i][job - 1] == 0)
				continue;
			printf("job %d -> %" PRIu64 "\n", job,
			       done[i][job - 1]);
			sum += done[i][job - 1];
			n++;
		}
	}
	printf("%d jobs, %d workers, sum %" PRIu64 "\n", n, WORKERS, sum);
	return 0;
}

WEFT_FIBER_MAIN(run);
