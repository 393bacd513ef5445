/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Utilities over the byte streams of <weft/io.h>: a buffered reader with
 * read_until, read_line and a stream of lines (tokio's BufReader and
 * AsyncBufReadExt), and copy_bidirectional, which joins two byte streams
 * (tokio::io::copy_bidirectional).
 */
#ifndef WEFT_IO_UTIL_H
#define WEFT_IO_UTIL_H

#include <stdbool.h>

#include <weft/io.h>
#include <weft/stream.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Buffered reader                                                     */
/* ------------------------------------------------------------------ */

/**
 * A read buffer in front of a byte stream.  It holds a reference on the
 * stream (weft_io_ref), released by weft_bufreader_free.  Used by one task
 * at a time, through one of its futures at a time.  A read still under way
 * when a future is dropped stays with the reader, so no byte the stream
 * gave is lost; the bytes a dropped read_until had already taken are (as
 * with tokio's read_until, it is not cancel-safe).
 */
struct weft_bufreader;

/**
 * A reader over s with a buffer of capacity bytes (0: 8 KiB).  0 or
 * -ENOMEM.
 */
int weft_bufreader_new(struct weft_bufreader **out, struct weft_io *s,
                       size_t capacity);

/**
 * Frees the reader and its buffer and releases its reference on the
 * stream.  No future of it may be alive.  NULL is a no-op.
 */
void weft_bufreader_free(struct weft_bufreader *r);

/** Bytes read from the stream and not yet consumed. */
size_t weft_bufreader_buffered(const struct weft_bufreader *r);

/**
 * read_until().await: reads bytes up to and including `delim`, or up to
 * the end of the stream.  Output: `data` (len bytes and a terminating NUL,
 * allocated with weft_alloc; the caller's once the future is ready, freed
 * with weft_free, also on error; NULL if nothing was read) and `status`:
 * the bytes read (len: 0 means end of stream), -EMSGSIZE when more than
 * `max` bytes came before a delimiter (the `max` bytes stay in data and
 * the rest of the line stays in the reader), -ENOMEM or the stream's
 * error.  Dropped before it is ready, it frees data.
 */
struct weft_read_until {
	struct weft_future base;  /**< the future's vtable */
	struct weft_bufreader *r; /**< the reader, borrowed */
	int delim;                /**< the byte that ends an item */
	size_t max;               /**< most bytes to take (0: no limit) */
	size_t cap;               /**< bytes allocated at data */
	bool done;                /**< ready: data is the caller's */
	char *data;               /**< output: the bytes read, NUL-terminated */
	size_t len;               /**< output: bytes at data */
	int status; /**< output: bytes read, 0 at end, or a negative error */
};
/** A future that reads from r up to and including delim (max 0: no cap). */
void weft_read_until_init(struct weft_read_until *f, struct weft_bufreader *r,
                          int delim, size_t max);

/**
 * read_line().await: read_until '\n' (the newline is kept, as in tokio).
 * Same future type and outputs.
 */
void weft_read_line_init(struct weft_read_until *f, struct weft_bufreader *r,
                         size_t max);

/**
 * An item of weft_lines: a line without its "\n" or "\r\n", NUL-terminated
 * (data allocated with weft_alloc, which the receiver of the item frees
 * with weft_free).
 */
struct weft_line {
	char *data; /**< the line's bytes and a NUL; the receiver's */
	size_t len; /**< bytes before the NUL */
};

/**
 * lines(): a Stream (<weft/stream.h>) of struct weft_line items, one per
 * line of the reader, the last one also without a final newline; it ends
 * at the end of the stream.  An error (-EMSGSIZE past max bytes, or the
 * stream's) is an error item; the stream ends after it.  Borrows the reader.
 */
struct weft_lines {
	struct weft_stream base;     /**< the stream's vtable; item_size */
	struct weft_read_until line; /**< the line being read */
	struct weft_bufreader *r;    /**< the reader, borrowed */
	size_t max;                  /**< most bytes per line (0: no cap) */
	bool reading;                /**< line is under way */
	bool ended;                  /**< END or an error was reported */
};
/** A stream of the lines of r (max bytes per line, 0: no limit). */
void weft_lines_init(struct weft_lines *s, struct weft_bufreader *r,
                     size_t max);

/* ------------------------------------------------------------------ */
/* copy_bidirectional                                                  */
/* ------------------------------------------------------------------ */

/** One direction of a copy_bidirectional (private). */
struct weft__copy_half {
	struct weft_io *from;     /**< borrowed */
	struct weft_io *to;       /**< borrowed */
	unsigned char *buf;       /**< 8 KiB, allocated at the first poll */
	size_t pos, end;          /**< bytes of buf still to write */
	struct weft_io_read rd;   /**< the read under way, if reading */
	struct weft_io_write wr;  /**< the write under way, if writing */
	bool reading, writing;    /**< which of them is under way */
	bool eof;                 /**< from reached end of stream */
	bool done;                /**< ... and to was shut down for writing */
	uint64_t count;           /**< bytes copied */
};

/**
 * copy_bidirectional(a, b).await: copies a to b and b to a at the same
 * time until both have reached end of stream.  When one side ends, the
 * other's write half is shut down (shutdown(SHUT_WR), as tokio does), so
 * its peer sees the end too, and the copy the other way goes on.  Borrows
 * a and b (the caller still closes them).  Output `status`: 0, or the
 * first error (the copy stops there; a and b stay open); `a_to_b` and
 * `b_to_a` count the bytes copied each way, also on error.
 */
struct weft_copy_bidirectional {
	struct weft_future base;       /**< the future's vtable */
	struct weft__copy_half half[2]; /**< a to b, b to a (private) */
	uint64_t a_to_b;               /**< output: bytes copied from a to b */
	uint64_t b_to_a;               /**< output: bytes copied from b to a */
	int status;                    /**< output: 0 or a negative error */
};
/** A future that copies a to b and b to a until both have ended. */
void weft_copy_bidirectional_init(struct weft_copy_bidirectional *f,
                                  struct weft_io *a, struct weft_io *b);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_IO_UTIL_H */
