/* SPDX-License-Identifier: MIT */
/*
 * WEFT_FIBER_MAIN (<weft/await.h>): the main it defines runs the function
 * as the program's root fiber and exits with its return value.  Built
 * twice: with FIBER_MAIN_EXIT 0 the function returns 0 only when it runs
 * in a fiber that can await; with 7 it returns 7, and the test wants
 * exactly that status, which a main that never called it cannot give.
 */
#include <weft/await.h>

static int
root(void)
{
	if (!weft_in_fiber() || weft_sleep_ms(1) != 0)
		return 1;
	return FIBER_MAIN_EXIT;
}

WEFT_FIBER_MAIN(root);
