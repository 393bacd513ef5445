/* SPDX-License-Identifier: MIT */
/*
 * spawn_blocking: a CPU-heavy sum (0..10,000,000) runs on the runtime's
 * blocking pool so that it never stalls a worker; the task awaits it.
 */
#include <stdio.h>

#include <weft/task.h>
#include <weft/weft.h>

/* What the blocking function works on: a copy travels to the pool. */
struct sum {
	uint64_t n;
	uint64_t result;
};

/* || (0..10_000_000u64).sum::<u64>() */
static void
heavy_sum(void *data)
{
	struct sum *s = data;
	uint64_t i, acc = 0;

	for (i = 0; i < s->n; i++)
		acc += i;
	s->result = acc;
}

struct cpu_heavy {
	struct weft_future base;
	struct weft_coro co;
	struct sum sum;
	struct weft_blocking blocking;
	int status;
};

static weft_poll
cpu_heavy_poll(struct weft_future *f, struct weft_context *cx)
{
	struct cpu_heavy *c = (struct cpu_heavy *)f;

	WEFT_BEGIN(&c->co);
	c->sum.n = 10000000;
	weft_blocking_init(&c->blocking, heavy_sum, &c->sum, sizeof(c->sum),
	                   &c->sum);
	WEFT_AWAIT(&c->co, cx, &c->blocking);
	c->status = c->blocking.status;
	if (c->status == 0)
		printf("結果: %llu\n", (unsigned long long)c->sum.result);
	WEFT_END(&c->co);
}

static void
cpu_heavy_drop(struct weft_future *f)
{
	weft_future_drop(&((struct cpu_heavy *)f)->blocking.base);
}

WEFT_FUTURE_VTABLE(cpu_heavy_vtable, struct cpu_heavy, status, cpu_heavy_poll,
                   cpu_heavy_drop);

int
main(void)
{
	struct cpu_heavy c = {.base.vtable = &cpu_heavy_vtable};
	int status = weft_run(&c.base);

	weft_future_drop(&c.base);
	if (status == 0 && c.status < 0) {
		fprintf(stderr, "spawn_blocking: %s\n",
		        weft_strerror(c.status));
		return 1;
	}
	return status;
}
