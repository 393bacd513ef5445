/* SPDX-License-Identifier: MIT */
/*
 * Every installed header in one translation unit (weft-all.h is generated
 * from the install rules), so that two headers giving one name to two
 * things, or a header that needs another it does not include, fail the
 * build.  The static checks pin the type each family works on: C accepts
 * an opaque `struct weft_stream;` beside a complete one, so only the
 * functions' types show that a socket is not a Stream.
 */
#include "weft-all.h"

#include <stdio.h>
#include <unistd.h>

#define SAME_TYPE(expr, type) _Generic((expr), type: 1, default: 0)

_Static_assert(SAME_TYPE(&weft_io_close, void (*)(struct weft_io *)),
               "weft_io_close closes a byte stream");
_Static_assert(SAME_TYPE(&weft_io_read_init,
                         void (*)(struct weft_io_read *, struct weft_io *,
                                  void *, size_t)),
               "weft_io_read_init reads a byte stream");
_Static_assert(SAME_TYPE(&weft_pipe,
                         int (*)(struct weft_io **, struct weft_io **)),
               "weft_pipe makes byte streams");
_Static_assert(SAME_TYPE(&weft_stream_next_init,
                         void (*)(struct weft_stream_next *,
                                  struct weft_stream *, void *)),
               "weft_stream_next_init polls a Stream");
_Static_assert(SAME_TYPE(&weft_stream_drop, void (*)(struct weft_stream *)),
               "weft_stream_drop drops a Stream");
_Static_assert(SAME_TYPE(&((struct weft_accept *)0)->stream,
                         struct weft_io **),
               "accept yields a byte stream");

int
main(void)
{
	struct weft_io *a = NULL, *b = NULL;
	struct weft_stream_range r;
	int failed = 0;

	/* A byte stream pair and a Stream, side by side, each through its
	 * own functions. */
	if (weft_io_pair(&a, &b) != 0 || weft_io_fd(a) < 0 || weft_io_fd(b) < 0) {
		fprintf(stderr, "weft_io_pair failed\n");
		failed = 1;
	}
	weft_io_close(a);
	weft_io_close(b);

	weft_stream_range_init(&r, 0, 3);
	if (weft_stream_is_empty(&r.base) || r.base.item_size != sizeof(int64_t)) {
		fprintf(stderr, "weft_stream_range_init made no stream\n");
		failed = 1;
	}
	weft_stream_drop(&r.base);
	if (!weft_stream_is_empty(&r.base)) {
		fprintf(stderr, "weft_stream_drop left the stream\n");
		failed = 1;
	}
	return failed;
}
