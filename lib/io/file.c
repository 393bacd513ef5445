/* SPDX-License-Identifier: MIT */
/*
 * Regular files on the blocking pool.  Each call's arguments and data
 * travel in a chunk that weft_blocking copies into its job and back: the
 * pool thread works on the job's copy only, so dropping the future while
 * the call runs is safe (the job frees its copy when the call returns).
 *
 * Where the driver runs completion operations (D10), reads and writes are
 * READ and WRITE operations instead, one per chunk: the driver copies what
 * is written and owns what is read, and a future dropped mid-operation
 * op_del's it (the driver keeps the buffer until the kernel lets go).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/io.h>

struct weft__file_open_args {
	int flags;
	mode_t mode;
	int result;
	char path[PATH_MAX];
};

/* weft__file_chunk.mode: how the future runs, decided at its first poll. */
#define CHUNK_UNKNOWN 0
#define CHUNK_POOL    1 /* weft_blocking: the pool runs rw_run */
#define CHUNK_OP      2 /* the driver's READ and WRITE operations */

struct weft__file_chunk {
	int fd;
	bool write;
	uint8_t mode;
	struct weft_driver *drv; /* CHUNK_OP: the driver of op */
	uint64_t op;             /* the operation in flight; 0: none */
	off_t offset;            /* -1: the file position */
	size_t len;
	ssize_t result; /* bytes, or -errno */
	unsigned char bytes[];
};

/* ---- open ------------------------------------------------------------- */

static void
open_run(void *data)
{
	struct weft__file_open_args *a = data;

	a->result = open(a->path, a->flags | O_CLOEXEC, a->mode);
	if (a->result < 0)
		a->result = -errno;
}


static weft_poll
open_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_file_open *o = (struct weft_file_open *)f;

	if (!o->args)
		return WEFT_READY;
	if (weft_future_poll(&o->job.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	weft_future_drop(&o->job.base);
	o->status = o->job.status ? o->job.status : o->args->result;
	weft_free(o->args);
	o->args = NULL;
	return WEFT_READY;
}


static void
open_drop(struct weft_future *f)
{
	struct weft_file_open *o = (struct weft_file_open *)f;

	/*
	 * An open that completes after the drop leaks its fd: nobody could
	 * be told the number.  Dropping mid-open is rare enough to accept
	 * that, as tokio::fs does.
	 */
	weft_future_drop(&o->job.base);
	weft_free(o->args);
	o->args = NULL;
}

WEFT_FUTURE_VTABLE(open_vtable, struct weft_file_open, status, open_poll,
                   open_drop);


WEFT_EXPORT void
weft_file_open_init(struct weft_file_open *f, const char *path, int flags,
                    mode_t mode)
{
	struct weft__file_open_args *a;

	*f = (struct weft_file_open){.base.vtable = &open_vtable};
	if (strlen(path) >= sizeof(a->path)) {
		f->status = -ENAMETOOLONG;
		return;
	}
	a = weft_alloc(sizeof(*a));
	if (!a) {
		f->status = -ENOMEM;
		return;
	}
	a->flags = flags;
	a->mode = mode;
	a->result = 0;
	strcpy(a->path, path);
	f->args = a;
	/* Only the used part of the path needs to travel. */
	weft_blocking_init(
	    &f->job, open_run, a,
	    offsetof(struct weft__file_open_args, path) + strlen(path) + 1, a);
}

/* ---- read and write --------------------------------------------------- */

/* Loops over short transfers, as a regular file gives them only at EOF. */
static void
rw_run(void *data)
{
	struct weft__file_chunk *c = data;
	size_t done = 0;
	ssize_t n;

	while (done < c->len) {
		if (c->write)
			n = c->offset < 0
			        ? write(c->fd, c->bytes + done, c->len - done)
			        : pwrite(c->fd, c->bytes + done, c->len - done,
			                 c->offset + (off_t)done);
		else
			n = c->offset < 0
			        ? read(c->fd, c->bytes + done, c->len - done)
			        : pread(c->fd, c->bytes + done, c->len - done,
			                c->offset + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			c->result = -errno;
			return;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	c->result = (ssize_t)done;
}


/* The next chunk's operation: 0, WEFT_ENOTSUP, or a negative error. */
static int
op_start(struct weft_file_rw *w, struct weft_context *cx)
{
	struct weft__file_chunk *c = w->chunk;
	size_t n = w->len - w->done;
	struct weft_io_op op = {
	    .version = WEFT_IO_OP_VERSION,
	    .opcode = w->write ? WEFT_OP_WRITE : WEFT_OP_READ,
	    .fd = w->fd,
	    .data = w->write ? w->buf + w->done : NULL,
	    .len = (uint32_t)(n < WEFT_FILE_CHUNK ? n : WEFT_FILE_CHUNK),
	    .offset = w->offset < 0 ? -1 : w->offset + (off_t)w->done};
	int r = weft_driver_op_submit(cx->driver, &op, &c->op);

	if (r == 0) {
		c->mode = CHUNK_OP;
		c->drv = cx->driver;
		c->len = op.len;
	}
	return r;
}


/*
 * The whole transfer on completion operations: WEFT_READY with status
 * set, WEFT_PENDING, or WEFT_ENOTSUP before anything was started (the
 * pool takes it then).
 */
static int
rw_poll_op(struct weft_file_rw *w, struct weft_context *cx)
{
	struct weft__file_chunk *c = w->chunk;
	const void *data = NULL;
	int32_t res;
	int r;

	while (w->done < w->len) {
		if (!c->op) {
			r = op_start(w, cx);
			if (r == WEFT_ENOTSUP && c->mode == CHUNK_UNKNOWN)
				return r;
			if (r < 0) {
				w->status = r;
				return WEFT_READY;
			}
		}
		r = weft_driver_op_poll(c->drv, c->op, cx, &res, &data);
		if (r == WEFT_PENDING)
			return WEFT_PENDING;
		if (r == WEFT_READY && res > 0 && !w->write)
			memcpy(w->buf + w->done, data, (size_t)res);
		weft_driver_op_del(c->drv, c->op);
		c->op = 0;
		if (r < 0 || res < 0) {
			w->status = r < 0 ? r : res;
			return WEFT_READY;
		}
		w->done += (size_t)res;
		if (res == 0)
			break; /* end of file, as rw_run sees it */
	}
	w->status = (int)(w->done > INT_MAX ? INT_MAX : w->done);
	return WEFT_READY;
}


static weft_poll
rw_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_file_rw *w = (struct weft_file_rw *)f;
	struct weft__file_chunk *c = w->chunk;
	size_t n;

	if (c && c->mode != CHUNK_POOL && w->len > 0) {
		int r = rw_poll_op(w, cx);

		if (r != WEFT_ENOTSUP)
			return (weft_poll)r;
		c->mode = CHUNK_POOL;
	}
	WEFT_BEGIN(&w->co);
	if (!c) {
		w->status = -ENOMEM;
		WEFT_RETURN(&w->co);
	}
	while (w->done < w->len) {
		n = w->len - w->done;
		c->len = n < WEFT_FILE_CHUNK ? n : WEFT_FILE_CHUNK;
		c->offset = w->offset < 0 ? -1 : w->offset + (off_t)w->done;
		c->result = 0;
		if (w->write)
			memcpy(c->bytes, w->buf + w->done, c->len);
		/*
		 * The job's copy needs room for the bytes either way; a
		 * read's are garbage going in and the data coming out.
		 */
		weft_blocking_init(&w->job, rw_run, c, sizeof(*c) + c->len, c);
		WEFT_AWAIT(&w->co, cx, &w->job);
		c = w->chunk;
		if (w->job.status < 0 || c->result < 0) {
			w->status =
			    w->job.status < 0 ? w->job.status : (int)c->result;
			WEFT_RETURN(&w->co);
		}
		if (!w->write)
			memcpy(w->buf + w->done, c->bytes, (size_t)c->result);
		w->done += (size_t)c->result;
		if ((size_t)c->result < c->len)
			break; /* end of file */
	}
	w->status = (int)(w->done > INT_MAX ? INT_MAX : w->done);
	WEFT_END(&w->co);
}


static void
rw_drop(struct weft_future *f)
{
	struct weft_file_rw *w = (struct weft_file_rw *)f;

	weft_future_drop(&w->job.base);
	/* Cancelled; the driver keeps its buffer until the kernel is done. */
	if (w->chunk && w->chunk->op)
		weft_driver_op_del(w->chunk->drv, w->chunk->op);
	weft_free(w->chunk);
	w->chunk = NULL;
}

WEFT_FUTURE_VTABLE(rw_vtable, struct weft_file_rw, status, rw_poll, rw_drop);


static void
rw_init(struct weft_file_rw *f, int fd, bool write, void *buf, size_t len,
        off_t offset)
{
	size_t cap = len < WEFT_FILE_CHUNK ? len : WEFT_FILE_CHUNK;

	*f = (struct weft_file_rw){.base.vtable = &rw_vtable,
	                           .fd = fd,
	                           .write = write,
	                           .buf = buf,
	                           .len = len,
	                           .offset = offset};
	f->chunk = weft_alloc(sizeof(*f->chunk) + cap);
	if (f->chunk) {
		f->chunk->fd = fd;
		f->chunk->write = write;
		f->chunk->mode = CHUNK_UNKNOWN;
		f->chunk->drv = NULL;
		f->chunk->op = 0;
	}
}


WEFT_EXPORT void
weft_file_read_init(struct weft_file_rw *f, int fd, void *buf, size_t len,
                    off_t offset)
{
	rw_init(f, fd, false, buf, len, offset);
}


WEFT_EXPORT void
weft_file_write_init(struct weft_file_rw *f, int fd, const void *buf,
                     size_t len, off_t offset)
{
	rw_init(f, fd, true, (void *)buf, len, offset);
}
