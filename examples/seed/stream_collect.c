/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous iteration: a producer task sends 0, 1, 2, ... 19 into an
 * mpsc channel, one every 50 ms; the consumer takes the receiver as a
 * stream, keeps the even numbers, squares them and collects the first
 * five: [0, 4, 16, 36, 64].
 *
 * C has no closures to hand to filter and map, so the chain is a `for
 * await` loop over the stream: its if is the filter, its expression the
 * map and its condition the take.  The stream is pulled item by item as
 * in the chain, and dropped once five are in, as take(5) drops it.
 */
#include <stdio.h>

#include <weft/await.h>

static int
producer(void *arg)
{
	struct weft_mpsc_tx *tx = arg; /* owned: freeing it ends the stream */

	for (int32_t i = 0; i < 20; i++) {
		/* `let _ =`: after the fifth item nobody receives. */
		weft_mpsc_send_await(tx, &i);
		if (weft_sleep_ms(50) < 0)
			break; /* cancelled: the program is ending */
	}
	weft_mpsc_tx_free(tx);
	return 0;
}

static int
async_iteration_example(void)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct weft_mpsc_stream stream;
	int32_t x, results[5];
	size_t n = 0;
	int r;

	if ((r = weft_mpsc_new(sizeof(int32_t), 32, &tx, &rx)) < 0)
		return r;
	if ((r = weft_spawn_fiber(producer, tx, NULL)) < 0) {
		weft_mpsc_tx_free(tx);
		weft_mpsc_rx_free(rx);
		return r;
	}
	weft_mpsc_stream_init(&stream, rx); /* ReceiverStream::new(rx) */
	while (n < 5 &&                     /* .take(5) */
	       (r = weft_stream_next_await(&stream.base, &x)) == 1)
		if (x % 2 == 0)               /* .filter(|x| *x % 2 == 0) */
			results[n++] = x * x; /* .map(|x| x * x).collect() */
	weft_stream_drop(&stream.base);
	printf("結果: [");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? ", " : "", results[i]);
	printf("]\n");
	return r < 0 ? r : 0;
}

WEFT_FIBER_MAIN(async_iteration_example);
