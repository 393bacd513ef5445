/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the completion tests (R13-R16): submitting an operation, and
 * waits that keep a log of every completion they return, checking on the
 * way what R1 and R13 say of each event.
 */
#ifndef WEFT_CONFORMANCE_CTEST_H
#define WEFT_CONFORMANCE_CTEST_H

#include <netinet/in.h>

#include "harness.h"
#include "rtest.h"

/* Completions a log keeps; tests stay far below. */
#define CX_LOG 256

struct cx_log {
	uint64_t token[CX_LOG];
	uint32_t ready[CX_LOG];
	int32_t res[CX_LOG];
	int n;         /* completions logged */
	int readiness; /* readiness events seen (not logged) */
};

/*
 * Opens the pair's reactor, or skips when it does not claim
 * WEFT_REACTOR_COMPLETION; fails (R13) when it claims it without the
 * interface that goes with it.
 */
void cx_open(struct h_reactor *hr);

/* submit of one operation; returns what submit returned. */
int cx_submit(struct h_reactor *hr, uint32_t opcode, uint64_t token, int fd,
              void *buf, uint32_t len, int64_t offset, uint32_t flags);
/* The same, failing the test (R13) unless submit accepts it. */
void cx_submit_ok(struct h_reactor *hr, uint32_t opcode, uint64_t token, int fd,
                  void *buf, uint32_t len, int64_t offset, uint32_t flags);

/*
 * One wait of at most capacity events (R1 checked), its completions
 * appended to log; fails on a completion with readiness bits or WEFT_MORE
 * without WEFT_COMPLETE (R13).  Returns the count of events.
 */
int cx_wait(struct h_reactor *hr, struct cx_log *log, uint32_t capacity,
            int64_t timeout_ns);

/* Completions of token in log: all, and final ones (no WEFT_MORE). */
int cx_count(const struct cx_log *log, uint64_t token);
int cx_finals(const struct cx_log *log, uint64_t token);
/* The result of token's final completion; fails when there is none. */
int32_t cx_final_result(const struct cx_log *log, uint64_t token);

/*
 * Waits until token's final completion is logged, or a generous bound
 * passes; returns false then (the caller fails with the rule it tests).
 */
bool cx_await_final(struct h_reactor *hr, struct cx_log *log, uint64_t token);

/*
 * Waits about ms more and fails naming rule when any completion of a
 * token whose final completion was logged comes: one completion too many.
 */
void cx_expect_no_more(struct h_reactor *hr, struct cx_log *log, int ms,
                       const char *rule);

/* A TCP listener on 127.0.0.1 (non-blocking); its address in *a. */
int cx_listener(struct sockaddr_in *a);
/* A non-blocking TCP socket, not connected. */
int cx_tcp_socket(void);

/* A buffer of len bytes inside guards, all filled with CX_CANARY. */
#define CX_CANARY 0xA5
#define CX_GUARD  32
unsigned char *cx_buf_new(size_t len);
/* Bytes of the buffer and its guards not CX_CANARY, from off on. */
size_t cx_buf_changed(const unsigned char *buf, size_t len, size_t off);
void cx_buf_free(unsigned char *buf);

#endif /* WEFT_CONFORMANCE_CTEST_H */
