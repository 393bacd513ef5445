// SPDX-License-Identifier: MIT
//
// Every installed header in one C++ translation unit: the headers must
// compile as C++ (extern "C", no C-only constructs in inline functions)
// and link, and each family keeps its own types.
#include "weft-all.h"

#include <cstdio>
#include <type_traits>

static_assert(std::is_same<decltype(&weft_io_close), void (*)(weft_io *)>::value,
              "weft_io_close closes a byte stream");
static_assert(std::is_same<decltype(&weft_io_write_all_init),
                           void (*)(weft_io_write_all *, weft_io *,
                                    const void *, size_t)>::value,
              "weft_io_write_all_init writes a byte stream");
static_assert(std::is_same<decltype(&weft_stream_poll_next),
                           int (*)(weft_stream *, weft_context *,
                                   void *)>::value,
              "weft_stream_poll_next polls a Stream");
static_assert(std::is_same<decltype(weft_connect::stream), weft_io *>::value,
              "connect yields a byte stream");

int
main()
{
	weft_io *a = nullptr, *b = nullptr;
	int failed = 0;

	if (weft_io_pair(&a, &b) != 0 || weft_io_fd(a) < 0) {
		std::fprintf(stderr, "weft_io_pair failed\n");
		failed = 1;
	}
	weft_io_close(a);
	weft_io_close(b);

	weft_stream_range r;
	weft_stream_range_init(&r, 0, 3);
	weft_stream_drop(&r.base);
	if (!weft_stream_is_empty(&r.base)) {
		std::fprintf(stderr, "weft_stream_drop left the stream\n");
		failed = 1;
	}
	// The macros a C++ caller is likely to use.
	if (WEFT_SIGNAL_BIT(2) != 4 || weft_strerror(WEFT_ECLOSED) == nullptr) {
		std::fprintf(stderr, "macros\n");
		failed = 1;
	}
	return failed;
}
