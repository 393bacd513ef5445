/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the completion tests (ctest.h): submitting, waits that log
 * completions and check each event on the way, and guarded buffers.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctest.h"

void
cx_open(struct h_reactor *hr)
{
	if (!(h_opt.reactor_flags & WEFT_REACTOR_COMPLETION))
		skip(); /* capability not claimed */
	h_reactor_open(hr, CAP);
	if (hr->ops->version < 3 || !hr->ops->submit || !hr->ops->cancel) {
		h_reactor_close(hr);
		fail_msg("R13: claims WEFT_REACTOR_COMPLETION with interface "
		         "version %u, submit %s, cancel %s",
		         hr->ops->version, hr->ops->submit ? "set" : "NULL",
		         hr->ops->cancel ? "set" : "NULL");
	}
	assert_true(weft_reactor_has_completion(hr->r));
}


int
cx_submit(struct h_reactor *hr, uint32_t opcode, uint64_t token, int fd,
          void *buf, uint32_t len, int64_t offset, uint32_t flags)
{
	struct weft_reactor_op op = {
	    .version = WEFT_REACTOR_OP_VERSION,
	    .opcode = opcode,
	    .token = token,
	    .fd = fd,
	    .flags = flags,
	    .buf = buf,
	    .len = len,
	    .offset = offset,
	};

	return weft_reactor_submit(hr->r, &op);
}


void
cx_submit_ok(struct h_reactor *hr, uint32_t opcode, uint64_t token, int fd,
             void *buf, uint32_t len, int64_t offset, uint32_t flags)
{
	int r = cx_submit(hr, opcode, token, fd, buf, len, offset, flags);

	if (r != 0)
		fail_msg("R13: submit of opcode %u on fd %d refused: %s",
		         opcode, fd, weft_strerror(r));
}


int
cx_wait(struct h_reactor *hr, struct cx_log *log, uint32_t capacity,
        int64_t timeout_ns)
{
	struct weft_reactor_event ev[CAP + 2];
	int n, i;

	for (i = 0; i < CAP + 2; i++)
		ev[i] = (struct weft_reactor_event){SENTINEL, 0, 0};
	n = weft_reactor_wait(hr->r, ev, capacity, timeout_ns);
	if (n < 0)
		fail_msg("R3: wait failed: %s", weft_strerror(n));
	if ((uint32_t)n > capacity)
		fail_msg("R1: wait returned %d events for capacity %u", n,
		         capacity);
	for (i = (int)capacity; i < CAP + 2; i++)
		if (ev[i].token != SENTINEL)
			fail_msg("R1: wait wrote past capacity %u", capacity);
	for (i = 0; i < n; i++) {
		uint32_t ready = ev[i].ready;

		if (!(ready & (WEFT_COMPLETE | WEFT_MORE))) {
			log->readiness++;
			continue;
		}
		if (!(ready & WEFT_COMPLETE) ||
		    (ready & ~(WEFT_COMPLETE | WEFT_MORE)))
			fail_msg("R13: a completion's ready is 0x%x: "
			         "WEFT_COMPLETE, with WEFT_MORE or not, and no "
			         "readiness bit",
			         ready);
		if (log->n == CX_LOG)
			fail_msg("R13: more than %d completions", CX_LOG);
		log->token[log->n] = ev[i].token;
		log->ready[log->n] = ready;
		log->res[log->n] = weft_reactor_event_result(&ev[i]);
		log->n++;
	}
	return n;
}


int
cx_count(const struct cx_log *log, uint64_t token)
{
	int i, k = 0;

	for (i = 0; i < log->n; i++)
		k += log->token[i] == token;
	return k;
}


int
cx_finals(const struct cx_log *log, uint64_t token)
{
	int i, k = 0;

	for (i = 0; i < log->n; i++)
		k += log->token[i] == token && !(log->ready[i] & WEFT_MORE);
	return k;
}


int32_t
cx_final_result(const struct cx_log *log, uint64_t token)
{
	int i;

	for (i = 0; i < log->n; i++)
		if (log->token[i] == token && !(log->ready[i] & WEFT_MORE))
			return log->res[i];
	fail_msg("R13: no final completion for token %#llx",
	         (unsigned long long)token);
	return 0;
}


bool
cx_await_final(struct h_reactor *hr, struct cx_log *log, uint64_t token)
{
	uint64_t start = h_now(), bound = 2 * h_prompt_ns();

	while (cx_finals(log, token) == 0) {
		if (h_now() - start > bound)
			return false;
		cx_wait(hr, log, CAP, 50 * WEFT_MSEC);
	}
	return true;
}


void
cx_expect_no_more(struct h_reactor *hr, struct cx_log *log, int ms,
                  const char *rule)
{
	int before = log->n, i, k;
	uint64_t start = h_now();

	while (h_now() - start < (uint64_t)ms * WEFT_MSEC)
		cx_wait(hr, log, CAP, 10 * WEFT_MSEC);
	for (i = before; i < log->n; i++)
		for (k = 0; k < before; k++)
			if (log->token[k] == log->token[i] &&
			    !(log->ready[k] & WEFT_MORE))
				fail_msg("%s: a completion (ready 0x%x, result "
				         "%d) for token %#llx after its final "
				         "completion",
				         rule, log->ready[i], log->res[i],
				         (unsigned long long)log->token[i]);
}


int
cx_listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	*a = (struct sockaddr_in){.sin_family = AF_INET};
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(listen(l, 16), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)a, &len), 0);
	return l;
}


int
cx_tcp_socket(void)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(c >= 0);
	return c;
}


unsigned char *
cx_buf_new(size_t len)
{
	unsigned char *p = malloc(len + 2 * CX_GUARD);

	if (!p)
		fail_msg("out of memory");
	memset(p, CX_CANARY, len + 2 * CX_GUARD);
	return p + CX_GUARD;
}


size_t
cx_buf_changed(const unsigned char *buf, size_t len, size_t off)
{
	const unsigned char *p = buf - CX_GUARD;
	size_t i, k = 0;

	for (i = 0; i < len + 2 * CX_GUARD; i++)
		if ((i < CX_GUARD || i >= CX_GUARD + off) && p[i] != CX_CANARY)
			k++;
	return k;
}


void
cx_buf_free(unsigned char *buf)
{
	if (buf)
		free(buf - CX_GUARD);
}
