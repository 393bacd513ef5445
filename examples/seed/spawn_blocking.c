/* SPDX-License-Identifier: MIT */
/*
 * spawn_blocking: a CPU-heavy sum (0..10,000,000) runs on the runtime's
 * blocking pool so that it never stalls a worker; the fiber awaits it.
 */
#include <stdio.h>

#include <weft/await.h>

/* || (0..10_000_000u64).sum::<u64>(), summing into *acc (a copy of the
 * caller's, which travels to the pool and back). */
static void
sum(void *acc)
{
	for (uint64_t i = 0; i < 10000000; i++)
		*(uint64_t *)acc += i;
}

static int
cpu_heavy(void)
{
	uint64_t result = 0;
	int r = weft_spawn_blocking(sum, &result, sizeof(result));

	if (r == 0) /* .unwrap(): an error ends the program */
		printf("結果: %llu\n", (unsigned long long)result);
	return r;
}

WEFT_FIBER_MAIN(cpu_heavy);
