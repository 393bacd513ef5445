/* SPDX-License-Identifier: MIT */
/*
 * Name resolution: getaddrinfo on the blocking pool.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/net.h>

/* Lives in the job: copied in by init and back out when the call is done. */
struct weft__resolve_args {
	char host[256];
	uint16_t port;
	int family;
	int gai;
	int err; /* errno for EAI_SYSTEM */
	int count;
	struct weft_addr addrs[WEFT_RESOLVE_MAX];
};


/* On a pool thread: it may wait on DNS servers for seconds. */
static void
resolve_run(void *data)
{
	struct weft__resolve_args *a = data;
	struct addrinfo hints = {.ai_family = a->family,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
	struct addrinfo *res, *ai;
	char port[8];

	snprintf(port, sizeof(port), "%u", a->port);
	a->gai = getaddrinfo(a->host, port, &hints, &res);
	/*
	 * AI_ADDRCONFIG hides ::1 on a machine whose only IPv6 address is
	 * loopback; ask again without it rather than fail "localhost".
	 */
	if (a->gai == EAI_NONAME || a->gai == EAI_ADDRFAMILY) {
		hints.ai_flags = AI_NUMERICSERV;
		a->gai = getaddrinfo(a->host, port, &hints, &res);
	}
	a->err = errno;
	if (a->gai != 0)
		return;
	for (ai = res; ai && a->count < WEFT_RESOLVE_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(a->addrs[0].ss))
			continue;
		memset(&a->addrs[a->count], 0, sizeof(a->addrs[0]));
		memcpy(&a->addrs[a->count].ss, ai->ai_addr, ai->ai_addrlen);
		a->addrs[a->count].len = ai->ai_addrlen;
		a->count++;
	}
	freeaddrinfo(res);
}


static int
gai_to_errno(int gai, int err)
{
	switch (gai) {
	case 0:
		return 0;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_SYSTEM:
		return err ? -err : -EIO;
	case EAI_FAMILY:
	case EAI_BADFLAGS:
		return -EINVAL;
	default:
		return -ENOENT;
	}
}


static weft_poll
resolve_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_resolve *r = (struct weft_resolve *)f;
	struct weft__resolve_args *a = r->args;

	if (!a)
		return WEFT_READY; /* init failed: status is set */
	if (weft_future_poll(&r->job.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	weft_future_drop(&r->job.base);
	r->status = r->job.status;
	if (r->status == 0) {
		r->gai = a->gai;
		r->status = gai_to_errno(a->gai, a->err);
	}
	if (r->status == 0 && a->count == 0)
		r->status = -ENOENT;
	if (r->status == 0) {
		r->count = a->count;
		memcpy(r->addrs, a->addrs, sizeof(r->addrs));
		r->status = a->count;
	}
	weft_free(a);
	r->args = NULL;
	return WEFT_READY;
}


static void
resolve_drop(struct weft_future *f)
{
	struct weft_resolve *r = (struct weft_resolve *)f;

	weft_future_drop(&r->job.base);
	weft_free(r->args);
	r->args = NULL;
}

WEFT_FUTURE_VTABLE(resolve_vtable, struct weft_resolve, status, resolve_poll,
                   resolve_drop);


WEFT_EXPORT void
weft_resolve_init(struct weft_resolve *f, const char *host, uint16_t port,
                  int family)
{
	struct weft__resolve_args *a;

	*f = (struct weft_resolve){.base.vtable = &resolve_vtable};
	if (strlen(host) >= sizeof(a->host)) {
		f->status = -ENAMETOOLONG;
		return;
	}
	a = weft_calloc(1, sizeof(*a));
	if (!a) {
		f->status = -ENOMEM;
		return;
	}
	strcpy(a->host, host);
	a->port = port;
	a->family = family;
	f->args = a;
	/* The job works on its own copy and writes it back into *a. */
	weft_blocking_init(&f->job, resolve_run, a, sizeof(*a), a);
}
