/* SPDX-License-Identifier: MIT */
/*
 * hour: an hour of timers.  Under the sim reactor's virtual clock it
 * takes a moment of wall time; on a real reactor, an hour.
 *
 *   minutes  0-30  an interval of 1 s: 1800 ticks, counted every 10 min
 *   minutes 30-45  a sleep of 15 minutes
 *   minutes 45-60  a 20-minute job under a 15-minute timeout, which fires
 *
 * usage: hour [SECONDS]  (default 3600)
 *
 * SECONDS scales every duration so that the hour takes that many seconds
 * (hour 36: an interval of 10 ms, a sleep of 9 s, ...), for running it on
 * the real clock.  The output depends on nothing but the order of events,
 * so it is the same on the real clock and in virtual time, at any scale.
 * Every milestone also checks that its timers did not fire early: the
 * clock must show at least the time scheduled since the start.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/await.h>

static uint64_t scale_s = 3600; /* the seconds the hour takes */

/* s seconds of the hour, scaled, in ns. */
static uint64_t
scaled(uint64_t s)
{
	return s * WEFT_SEC * scale_s / 3600; /* < 2^54: no overflow */
}


/*
 * The milestone at minute m, due ns after the start by the durations the
 * program awaited (scaled, so a little under m minutes at most scales);
 * 1 if the clock shows less: a timer fired early.
 */
static int
milestone(uint64_t start, uint64_t due, unsigned m, const char *what)
{
	uint64_t elapsed = weft_now() - start;

	printf("minute %u: %s\n", m, what);
	if (elapsed < due) {
		fprintf(stderr,
		        "hour: minute %u reached early, at %" PRIu64 " ns\n", m,
		        elapsed);
		return 1;
	}
	return 0;
}


static int
run(void)
{
	struct weft_interval ticks;
	struct weft_sleep job;
	uint64_t start = weft_now(), n, due;
	char line[64];
	int r, early = 0;

	/* Tick 0 comes at once, tick n at n seconds: 1800 ticks in 30 min,
	 * each missed one delivered late rather than lost. */
	weft_interval_init(&ticks, scaled(1), WEFT_MISSED_TICK_BURST);
	for (n = 0; n <= 1800; n++) {
		if ((r = weft_interval_tick_await(&ticks)) < 0) {
			weft_stream_drop(&ticks.base);
			return r;
		}
		if (n > 0 && n % 600 == 0) {
			snprintf(line, sizeof(line), "%" PRIu64 " ticks", n);
			early |= milestone(start, n * scaled(1),
			                   (unsigned)(n / 60), line);
		}
	}
	weft_stream_drop(&ticks.base);
	due = 1800 * scaled(1);

	if ((r = weft_sleep_for(scaled(15 * 60))) < 0)
		return r;
	due += scaled(15 * 60);
	early |= milestone(start, due, 45, "slept 15 minutes");

	weft_sleep_init(&job, scaled(20 * 60));
	r = weft_timeout_await(&job.base, scaled(15 * 60));
	if (r != WEFT_ETIMEDOUT) {
		fprintf(stderr,
		        "hour: the 20-minute job under a 15-minute "
		        "timeout ended with %d\n",
		        r);
		return 1;
	}
	due += scaled(15 * 60);
	early |= milestone(start, due, 60,
	                   "a 20-minute job timed out after 15 minutes");
	return early;
}


int
main(int argc, char **argv)
{
	char *end;

	if (argc > 2 ||
	    (argc == 2 && ((scale_s = strtoull(argv[1], &end, 10)) < 1 ||
	                   scale_s > 3600 || *end))) {
		fprintf(stderr, "usage: hour [SECONDS], 1 to 3600 (default "
		                "3600): the time the hour takes\n");
		return 2;
	}
	return weft_fiber_main(run);
}
