/* SPDX-License-Identifier: MIT */
/*
 * Shared by the I/O tests: a runtime per group on the pair named on the
 * command line, bounded runs, and the echo server and client futures the
 * TCP, Unix and many-connection tests drive.
 */
#ifndef TESTS_IO_COMMON_H
#define TESTS_IO_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weft/combinator.h>
#include <weft/net.h>
#include <weft/sync.h>
#include <weft/task.h>
#include <weft/weft.h>

#include "pair.h"

/* True when the tests run under Valgrind: use smaller counts. */
bool under_valgrind(void);

/* n, or small under Valgrind. */
size_t scaled(size_t n, size_t small);

/*
 * Runs fut on the test runtime for at most `seconds`, then drops it, so
 * that a bug fails the test instead of hanging it.  Asserts that it
 * finished in time.
 */
void run_bounded(struct weft_future *fut, unsigned seconds);

/*
 * Polls fut once on the test runtime and leaves it as it is, mid-flight
 * if it pends: its first answer.
 */
weft_poll poll_once(struct weft_future *fut);

/* Parks the test runtime for ms: what was submitted reaches the reactor. */
void nap_ms(unsigned ms);

/* The fds this process has open (/proc/self/fd). */
int count_fds(void);

/* Raises the soft fd limit to the hard one; returns the new soft limit. */
size_t raise_nofile(void);

/* The byte at index i of the pattern for seed. */
static inline unsigned char
pattern_byte(uint32_t seed, size_t i)
{
	return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
}

void pattern_fill(unsigned char *buf, size_t len, uint32_t seed);

/*
 * Echoes everything it reads on a stream back until end of stream or an
 * error, then closes the stream (which it owns).
 */
struct echo_conn {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *s;
	unsigned char *buf;
	struct weft_io_read rd;
	struct weft_io_write_all wr;
	int status;
};
void echo_conn_init(struct echo_conn *f, struct weft_io *s);

/*
 * Accepts on the listener (borrowed) until it is closed, spawning an
 * echo_conn task per connection; a shortage of fds is waited out (see
 * weft_accept_backoff).  status: 0 when the listener was closed, else the
 * accept error.  `accepted` counts connections.
 */
struct echo_server {
	struct weft_future base;
	struct weft_coro co;
	struct weft_listener *l;
	struct weft_accept_backoff acc;
	atomic_uint *accepted;
	atomic_bool *started; /* set once an accept holds the listener */
	int status;
};
void echo_server_init(struct echo_server *f, struct weft_listener *l,
                      atomic_uint *accepted);

/*
 * Connects to addr and runs `rounds` round trips of `size` bytes, writing
 * and reading at once, checking every byte.  status: 0, a negative error,
 * or -EILSEQ when the echo differed.
 */
struct echo_client {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	size_t size;
	int rounds;
	uint32_t seed;
	struct weft_connect conn;
	struct weft_io *s;
	unsigned char *out, *in;
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	struct weft_join_all both;
	int i;
	int status;
};
void echo_client_init(struct echo_client *f, const struct weft_addr *addr,
                      size_t size, int rounds, uint32_t seed);

/*
 * Starts an echo server on a listener bound to addr (port 0 for any) as a
 * task; *l and *join receive the listener and the server's join handle.
 */
void echo_server_start(const struct weft_addr *addr, struct weft_listener **l,
                       struct weft_join **join, atomic_uint *accepted);

/* Closes the listener and checks that the server ended cleanly. */
void echo_server_stop(struct weft_listener *l, struct weft_join *join);

/* Joins every task of a set; counts the ones whose status was not 0. */
struct drain {
	struct weft_future base;
	struct weft_coro co;
	struct weft_joinset *set;
	struct weft_joinset_next next;
	int out;
	int failures;
	int first_error;
	int status;
};
void drain_init(struct drain *d, struct weft_joinset *set);

/*
 * Allocation failure on demand.  fault_install (in main, before any weft
 * object exists) makes the process default allocator a pass-through to
 * malloc that fails the n-th allocation this thread makes after
 * fault_arm(n); other threads are never failed, so a step run on this
 * thread (a constructor, or a poll inside weft_block_on) fails exactly
 * where the test says.  fault_fired tells whether the armed failure
 * happened, and disarms.
 */
void fault_install(void);
void fault_arm(unsigned n);
bool fault_fired(void);

/*
 * run_bounded, with the n-th allocation of fut's first poll failing (on
 * this thread: weft_block_on polls there).  True when it failed.
 */
bool run_failing(struct weft_future *fut, unsigned n, unsigned seconds);

/*
 * The same, armed again at every poll until the failure fires: for an
 * accept on completion I/O, whose first poll only submits the operation
 * and whose stream is made by the poll after its completion.
 */
bool run_failing_each(struct weft_future *fut, unsigned n, unsigned seconds);

/*
 * Whether rt runs sockets and files on completion I/O: its reactor claims
 * it and WEFT_IO_COMPLETION does not turn it off (D10).
 */
bool io_completion_on(void);

#endif
