/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Networking: socket addresses, listeners and connect for TCP (IPv4 and
 * IPv6) and Unix stream sockets, UDP sockets, and name resolution.  The
 * streams that connect and accept produce, and the conventions every
 * object and future here follows (registration, threads, cancellation,
 * close, errors, budget), are described in <weft/io.h>.
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <sys/socket.h>

#include <weft/io.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/** A socket address of any family, by value: copy it freely. */
struct weft_addr {
	socklen_t len;              /**< bytes of ss in use */
	struct sockaddr_storage ss; /**< the address itself */
};

/**
 * A numeric IPv4 ("127.0.0.1") or IPv6 ("::1", brackets allowed) address
 * and a port.  No name lookup: see weft_resolve.  0 or -EINVAL.
 */
int weft_addr_ip(struct weft_addr *a, const char *ip, uint16_t port);

/** A Unix socket path: 0, or -ENAMETOOLONG. */
int weft_addr_unix(struct weft_addr *a, const char *path);

/** The port of an IP address, 0 for other families. */
uint16_t weft_addr_port(const struct weft_addr *a);

/**
 * Writes "127.0.0.1:80", "[::1]:80" or the Unix path into buf (always
 * terminated) and returns buf.
 */
char *weft_addr_format(const struct weft_addr *a, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Listeners and connect                                               */
/* ------------------------------------------------------------------ */

/**
 * A listening stream socket: TCP or Unix according to the address it was
 * bound to.  Owned by its creator, closed once with weft_listener_close;
 * weft_listener_ref hands out more owners (for another task), each of
 * which closes once.
 */
struct weft_listener;

/**
 * socket, bind and listen with `backlog` (<= 0: SOMAXCONN).  TCP
 * listeners set SO_REUSEADDR, so that a restarted server binds at once;
 * port 0 picks a free port (see weft_listener_local_addr).  A Unix path
 * must not exist yet.  0 or -errno (-EADDRINUSE, -EACCES, ...).
 */
int weft_listen(struct weft_listener **out, const struct weft_addr *addr,
                int backlog);

/**
 * Gives back the caller's ownership.  The last owner's close stops
 * listening: pending accepts complete with WEFT_ECLOSED and connections not
 * yet accepted are refused.  Does not unlink a Unix socket's path.  NULL
 * is a no-op.
 */
void weft_listener_close(struct weft_listener *l);

/**
 * One more owner of l, for a task that outlives the creator's use of it:
 * returns l.  Every owner calls weft_listener_close once; until the last
 * does, the listener keeps accepting.  Any thread.  NULL gives NULL.
 */
struct weft_listener *weft_listener_ref(struct weft_listener *l);

/** The address l is bound to (its port for port 0): 0 or -errno. */
int weft_listener_local_addr(const struct weft_listener *l,
                             struct weft_addr *addr);

/**
 * Accepts one connection.  Output `status`: 0 with `stream` (the caller
 * owns it) and `peer` set, or -errno: -EMFILE/-ENFILE when out of fds
 * (the connection stays queued; retry after freeing some), -ECONNABORTED.
 */
struct weft_accept {
	struct weft_future base;        /**< the future's vtable */
	struct weft_listener *listener; /**< a reference, released by drop */
	struct weft_io *stream; /**< output: the connection, the caller's */
	struct weft_addr peer;  /**< output: the peer's address */
	int status;             /**< output: 0 or a negative error */
};
/** A future that accepts one connection on l (referenced). */
void weft_accept_init(struct weft_accept *f, struct weft_listener *l);

/** The first pause of weft_accept_backoff. */
#define WEFT_ACCEPT_BACKOFF_MIN (5 * WEFT_MSEC)
/** The longest pause of weft_accept_backoff. */
#define WEFT_ACCEPT_BACKOFF_MAX WEFT_SEC

/**
 * The accept of an accept loop: it completes with the next connection,
 * and waits out a shortage instead of reporting it, as Go's net/http
 * Server.Serve does.  When accept fails with -EMFILE, -ENFILE, -ENOBUFS
 * or -ENOMEM, the connection stays queued and trying again at once would
 * fail again and spin, so the future sleeps (a weft sleep: the worker runs
 * other tasks, which may be the ones that close fds) and then tries again:
 * 5 ms after the first failure, twice as long after each further one, at
 * most 1 s.  A loop makes one future per connection, so the pauses start
 * again from 5 ms after each accepted one, as Go resets its delay.
 * -ECONNABORTED (the peer gave up while queued) and -EINTR are retried at
 * once.
 *
 * Output `status`: 0 with `stream` (the caller owns it) and `peer` set, or
 * any other negative error: WEFT_ECLOSED when the listener is closed (also
 * during a pause, which then ends at once), or the shortage itself when no
 * timer could be armed for the pause.  `backoffs` counts the pauses taken,
 * `delay` is the length of the last one and `cause` the error behind it.
 * The future holds a reference on the listener until it is dropped.
 */
struct weft_accept_backoff {
	struct weft_future base;        /**< the future's vtable */
	struct weft_listener *listener; /**< a reference, released by drop */
	struct weft_sleep pause;        /**< the sleep of the current pause */
	uint64_t delay;                 /**< ns; 0 before the first pause */
	unsigned backoffs;              /**< output: pauses taken */
	int cause;              /**< output: the error behind the last pause */
	struct weft_io *stream; /**< output: the connection, the caller's */
	struct weft_addr peer;  /**< output: the peer's address */
	int status;             /**< output: 0 or a negative error */
};
/** A future that accepts one connection on l, riding out shortages. */
void weft_accept_backoff_init(struct weft_accept_backoff *f,
                              struct weft_listener *l);

/**
 * Connects a stream socket to addr (TCP for IP, Unix for a path; copied).
 * Output `status`: 0 with `stream` (the caller owns it), or -errno:
 * -ECONNREFUSED, -ETIMEDOUT, -ENETUNREACH, -EAGAIN for a Unix listener
 * whose queue is full.  Dropped before it completes, it closes the
 * half-open socket.
 */
struct weft_connect {
	struct weft_future base; /**< the future's vtable */
	struct weft_addr addr;   /**< the address connected to (a copy) */
	/** the half-open socket, owned until connected */
	struct weft_io *pending;
	struct weft_io *stream; /**< output: the connection, the caller's */
	int status;             /**< output: 0 or a negative error */
};
/** A future that connects to addr (copied). */
void weft_connect_init(struct weft_connect *f, const struct weft_addr *addr);

/** The addresses of a connected socket: 0 or -errno (-ENOTSOCK). */
int weft_io_peer_addr(const struct weft_io *s, struct weft_addr *addr);
/** As weft_io_peer_addr, for the local address. */
int weft_io_local_addr(const struct weft_io *s, struct weft_addr *addr);

/* ------------------------------------------------------------------ */
/* UDP                                                                 */
/* ------------------------------------------------------------------ */

/** A UDP socket, owned by its creator and closed once. */
struct weft_udp;

/** Bound to addr (port 0 picks one).  0 or -errno. */
int weft_udp_bind(struct weft_udp **out, const struct weft_addr *addr);

/** See weft_io_close.  NULL is a no-op. */
void weft_udp_close(struct weft_udp *u);

/** See weft_io_ref: one more owner, who closes once.  Returns u. */
struct weft_udp *weft_udp_ref(struct weft_udp *u);

/**
 * Sets the default destination (and the only source recv accepts).
 * Never blocks: UDP connect only records the address.  0 or -errno.
 */
int weft_udp_connect(struct weft_udp *u, const struct weft_addr *addr);

/** The address u is bound to: 0 or -errno. */
int weft_udp_local_addr(const struct weft_udp *u, struct weft_addr *addr);
/** u's socket, still owned by u (for setsockopt and the like). */
int weft_udp_fd(const struct weft_udp *u);

/**
 * One datagram.  send/send_to: buf is borrowed until ready or dropped;
 * `to` is copied (NULL: the connected address).  recv/recv_from: a
 * datagram longer than len is truncated to it; `from` receives the
 * sender.  Output `status`: the bytes sent or received, or -errno (a send
 * to a closed port can report -ECONNREFUSED on a later call of a connected
 * socket).
 */
struct weft_udp_io {
	struct weft_future base; /**< the future's vtable */
	struct weft_udp *udp;    /**< a reference, released by drop */
	void *buf;               /**< the data or room for it, borrowed */
	size_t len;              /**< bytes at buf */
	bool send;               /**< true to send, false to receive */
	bool has_to;             /**< send: addr holds the destination */
	struct weft_addr addr;   /**< send: destination; recv: the sender */
	int status; /**< output: bytes sent or received, or -errno */
};
/** A future that sends len bytes at buf, to `to` or the connected address. */
void weft_udp_send_to_init(struct weft_udp_io *f, struct weft_udp *u,
                           const void *buf, size_t len,
                           const struct weft_addr *to);
/** A future that receives one datagram into buf. */
void weft_udp_recv_from_init(struct weft_udp_io *f, struct weft_udp *u,
                             void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Name resolution                                                     */
/* ------------------------------------------------------------------ */

/** Addresses a resolve keeps. */
#define WEFT_RESOLVE_MAX 8

/**
 * getaddrinfo(host, port) on the runtime's blocking pool (the resolver
 * may wait for the network), for stream sockets.  family: AF_UNSPEC,
 * AF_INET or AF_INET6.  host is copied (at most 255 bytes).
 *
 * Output `status`: the number of addresses in addrs (1 to
 * WEFT_RESOLVE_MAX), in the resolver's order, or a negative error:
 * -ENOENT when the name does not exist (`gai` holds getaddrinfo's own
 * code for gai_strerror), -ENAMETOOLONG, or the pool's error.
 */
struct weft_resolve {
	struct weft_future base;  /**< the future's vtable */
	struct weft_blocking job; /**< getaddrinfo on the blocking pool */
	/** the job's input and results, owned */
	struct weft__resolve_args *args;
	int gai;   /**< output: getaddrinfo's code on failure */
	int count; /**< output: addresses in addrs */
	/** output: the addresses, in order */
	struct weft_addr addrs[WEFT_RESOLVE_MAX];
	int status; /**< output: count, or a negative error */
};
/** A future that resolves host and port (host copied). */
void weft_resolve_init(struct weft_resolve *f, const char *host, uint16_t port,
                       int family);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_NET_H */
