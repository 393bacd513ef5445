/* SPDX-License-Identifier: MIT */
/*
 * ctrl_c (weft_signal) keeps SIGINT caught after it fired and was dropped,
 * so a second Ctrl-C during a graceful clean-up does not kill the program,
 * until the program lets go with weft_signal_release.  Real signals, in a
 * child process: the default action of SIGINT is to die, which is exactly
 * what is under test.  The child is forked before any runtime exists.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weft/combinator.h>
#include <weft/io.h>

#include "common.h"

/* Exit codes of the child when it fails before the end. */
enum {
	CHILD_RUNTIME = 10,
	CHILD_STATUS,
	CHILD_PIPE,
	CHILD_RELEASE,
	CHILD_SURVIVED,
	CHILD_STALE,
};

static void
tell(int fd, char step)
{
	if (write(fd, &step, 1) != 1)
		_exit(CHILD_PIPE);
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
child(int up, int down)
{
	struct weft_signal sig;
	struct weft_sleep nap;
	struct weft_select sel;
	char go;

	alarm(30); /* bounded even if the parent goes away */
	if (rt_open(NULL) < 0)
		_exit(CHILD_RUNTIME);

	/* 1: ctrl_c armed; the parent sends the first SIGINT. */
	weft_signal_init(&sig, WEFT_SIGNAL_BIT(SIGINT));
	tell(up, '1');
	if (weft_block_on(rt, &sig.base) < 0 || sig.status != SIGINT)
		_exit(CHILD_STATUS);
	weft_future_drop(&sig.base);

	/* 2: "cleaning up" with no listener left; the parent sends a second
	 * SIGINT, and one more comes from this very thread, delivered before
	 * raise returns: with the default disposition back, either kills. */
	tell(up, '2');
	if (read(down, &go, 1) != 1)
		_exit(CHILD_PIPE);
	nap_ms(50);
	raise(SIGINT);

	/* A new ctrl_c reports only what comes after it: the two SIGINTs of
	 * the clean-up are not a stale Ctrl-C, so the sleep wins. */
	weft_signal_init(&sig, WEFT_SIGNAL_BIT(SIGINT));
	weft_sleep_init(&nap, 50 * WEFT_MSEC);
	weft_select_init(&sel, WEFT_SELECT_BIASED, 2, &sig.base, &nap.base);
	if (weft_block_on(rt, &sel.base) < 0 || sel.winner != 1)
		_exit(CHILD_STALE);
	weft_future_drop(&sel.base);
	rt_close(NULL);

	/* 3: let go: SIGINT kills again, as it did before weft. */
	if (weft_signal_release(WEFT_SIGNAL_BIT(SIGINT)) != 0)
		_exit(CHILD_RELEASE);
	tell(up, '3');
	raise(SIGINT);
	_exit(CHILD_SURVIVED);
}

/* The child's next step byte, or 0 when none came within 10 s. */
static char
await_step(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char step = 0;

	if (poll(&p, 1, 10000) == 1 && read(fd, &step, 1) != 1)
		step = 0;
	return step;
}

static void
second_ctrl_c_during_cleanup(void **state)
{
	int up[2], down[2], status;
	pid_t pid;
	(void)state;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child(up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);

	assert_int_equal(await_step(up[0]), '1');
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(await_step(up[0]), '2');
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(write(down[1], "g", 1), 1);
	/* Alive after both SIGINTs of the clean-up. */
	assert_int_equal(await_step(up[0]), '3');

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited with %d", WEXITSTATUS(status));
	/* Released, SIGINT has its default effect again. */
	assert_int_equal(WTERMSIG(status), SIGINT);
	close(up[0]);
	close(down[1]);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(second_ctrl_c_during_cleanup),
	};
	char group[128];

	if (argc < 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	test_executor = argv[1];
	test_reactor = argv[2];
	snprintf(group, sizeof(group), "ctrl_c on %s/%s", test_executor,
	         test_reactor);
	return _cmocka_run_group_tests(group, tests, 1, NULL, NULL);
}
