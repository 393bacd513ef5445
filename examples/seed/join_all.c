/* SPDX-License-Identifier: MIT */
/*
 * join_all and try_join_all over fetch_item(id), which sleeps id * 10 ms
 * and fails for item 5.  join_all waits for all ten and reports each
 * result, the failure included (on stderr, as the chapter's eprintln!);
 * try_join_all over items 1..=3 succeeds; over 1..=10 it stops at item 5's
 * error and cancels the others.  Each fetch is a fiber: its Result is its
 * return value, kept in `result`, and the text it leaves in `out`.
 */
#include <stdio.h>

#include <weft/await.h>

struct item {
	unsigned id;
	int result;
	char out[64];
};

static int
fetch_item(void *arg)
{
	struct item *it = arg;

	it->result = weft_sleep_ms(it->id * 10);
	if (it->result == 0 && it->id == 5)
		it->result = -EIO; /* anyhow::bail! */
	snprintf(it->out, sizeof(it->out),
	         it->id == 5 ? "アイテム%uの取得に失敗" : "Item#%u", it->id);
	return it->result;
}

static int
run(void)
{
	struct item items[10];
	struct weft_fiber_call calls[10];
	size_t failed;
	int r;

	/* (1..=10).map(fetch_item): the futures, not yet started. */
	for (int i = 0; i < 10; i++) {
		items[i] = (struct item){(unsigned)i + 1, 0, ""};
		calls[i] = (struct weft_fiber_call){fetch_item, &items[i]};
	}
	/* join_all: every result, errors included. */
	weft_join_fibers(calls, 10);
	for (int i = 0; i < 10; i++)
		if (items[i].result == 0)
			printf("[%d] %s\n", i, items[i].out);
		else
			fprintf(stderr, "[%d] エラー: %s\n", i, items[i].out);
	/* try_join_all over 1..=3: all succeed, so all results. */
	if ((r = weft_try_join_fibers(calls, 3, NULL)) < 0)
		return r;
	printf("全成功: [\"%s\", \"%s\", \"%s\"]\n", items[0].out, items[1].out,
	       items[2].out);
	/* Over all ten: item 5's error wins, 6..=10 are cancelled. */
	if (weft_try_join_fibers(calls, 10, &failed) < 0 && failed < 10)
		printf("try_join_all(1..=10): エラー: %s\n", items[failed].out);
	return 0;
}

int
main(void)
{
	return weft_fiber_main(run);
}
