/* SPDX-License-Identifier: MIT */
/*
 * Task blocks from per-thread pages: see task_block.h for the design.
 *
 * A thread's pages of one size class form a ring, with the page it carves
 * from as the cursor.  When that page has nothing left (no block never
 * handed out, none on its local list, none on its remote list), the cursor
 * moves on round the ring, looking at up to TB_LOOK pages, and a new page
 * goes in after the last one looked at only when none had a block back.
 * The pages just after the cursor are the ones filled longest ago, so in
 * the common order (the first spawned finish first) they are the ones with
 * blocks back; a page passed over is looked at again on the next turn.
 *
 * Orderings: a remote free writes its link in the block, then pushes it
 * with a release CAS; the owner takes the list with an acquire exchange,
 * so it reads the links (and whatever the freeing thread wrote in the
 * task) after they were written.  A remote free touches nothing of the
 * page after its CAS, which is why a page whose blocks are all back may
 * be freed by its owner at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <weft/assert.h>

#include "task_block.h"
#include "taskcore.h"

/* -DTB_VALGRIND=0 keeps the pages under Valgrind too (a check of them). */
#ifndef TB_VALGRIND
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TB_VALGRIND 1
#endif
#endif
#endif
#ifndef TB_VALGRIND
#define TB_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TB_ASAN 1
#endif
#endif
#ifndef TB_ASAN
#define TB_ASAN 0
#endif

#if TB_ASAN
#include <sanitizer/asan_interface.h>
#define TB_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define TB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TB_POISON(p, n)   ((void)(p), (void)(n))
#define TB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define TB_PAGE    ((size_t)1024 * 1024)
#define TB_HEADER  ((size_t)128)  /* the page's header: two lines */
#define TB_MAX     ((size_t)1024) /* the largest block from a class */
#define TB_CLASSES (TB_MAX / 8 + 1)
#define TB_LOOK    4 /* pages looked at before a new one */
#define TB_LINK    sizeof(void *)

/* The bytes of a block of n, as weft__task_block_size gives them. */
#define TB_SIZE(n, grain) (((n) + (grain)-1) & ~(size_t)((grain)-1))

/*
 * Issue 18's budget, a compile-time fact for the block: a task whose future
 * is the smallest there is (a vtable pointer) takes its 64-byte header and
 * its future, nothing more: no allocator header, no rounding.  The set's
 * index of live tasks is the node in that header (taskcore.h), so this is
 * all a detached task costs; one spawned with a join handle has 16 bytes
 * more, its awaiter's waker.
 */
_Static_assert(sizeof(void *) != 8 ||
                   TB_SIZE(TASK_HEADER_SIZE + sizeof(struct weft_future), 8) -
                           sizeof(struct weft_future) <=
                       64,
               "a task block costs more than 64 bytes beyond its future");

struct tb_free {
	struct tb_free *next;
};

struct tb_cache;

struct tb_page {
	/* Pushed to by other threads: on a line of its own. */
	alignas(64) _Atomic(struct tb_free *) remote;
	/*
	 * The owner's cache, or NULL for a page of an exited thread or one
	 * large block.  Compared by a free with its own thread's cache:
	 * only the owner changes it, so equality is never a stale answer.
	 */
	alignas(64) _Atomic(struct tb_cache *) owner;
	struct tb_page *next; /* in the owner's ring, or the orphans */
	struct tb_free *free; /* the local list: the owner's only */
	uint32_t size;        /* block bytes; 0: one large block */
	uint32_t cap;         /* blocks in the page */
	uint32_t carved;      /* blocks handed out at least once */
};

_Static_assert(sizeof(struct tb_page) <= TB_HEADER,
               "the page header outgrew its room");

/* A thread's pages: the cursor of each class's ring. */
struct tb_cache {
	struct tb_page *cur[TB_CLASSES];
};

static _Thread_local struct tb_cache *tb_tls
    __attribute__((tls_model("initial-exec")));

enum { TB_UNKNOWN, TB_PAGES, TB_MALLOC };
static atomic_int tb_mode;

static pthread_once_t tb_once = PTHREAD_ONCE_INIT;
static pthread_key_t tb_key;
static bool tb_key_ok;

/* Pages of exited threads with blocks still out. */
static pthread_mutex_t tb_orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tb_page *tb_orphans;


#if TB_VALGRIND
static bool
tb_env_keeps_pages(void)
{
	const char *v = getenv("WEFT_TASK_PAGES");

	return v && strcmp(v, "1") == 0;
}
#endif


static int
tb_mode_get(void)
{
	int m = atomic_load_explicit(&tb_mode, memory_order_relaxed);

	if (__builtin_expect(m != TB_UNKNOWN, 1))
		return m;
	/* Decided once, before the first block: every free agrees. */
	m = TB_PAGES;
#if TB_VALGRIND
	/*
	 * WEFT_TASK_PAGES=1 keeps the pages: instruction counts under
	 * callgrind (bench/boundary) then price a block as a real run does,
	 * not malloc and free (about 300 instructions per block more).
	 */
	if (RUNNING_ON_VALGRIND && !tb_env_keeps_pages())
		m = TB_MALLOC;
#endif
	atomic_store_explicit(&tb_mode, m, memory_order_relaxed);
	return m;
}


static struct tb_page *
tb_page_of(void *p)
{
	return (struct tb_page *)((uintptr_t)p & ~(uintptr_t)(TB_PAGE - 1));
}


size_t
weft__task_block_size(size_t n, bool align16)
{
	if (n < TB_LINK)
		n = TB_LINK;
	if (n > SIZE_MAX - TB_HEADER - TB_PAGE)
		return 0;
	return TB_SIZE(n, align16 ? 16 : 8);
}


/*
 * A page of a size class (1 MiB): mapped, not malloc'd, where that is allowed.
 * posix_memalign of 1 MiB at 1 MiB alignment maps 2 MiB and writes a
 * chunk header in the 4 KiB before the page and at the start of the
 * mapping: two more resident pages per page, half a byte per task.  Under
 * AddressSanitizer the pages stay malloc's, whose contents its leak
 * checker scans (a future may hold the only pointer to a heap object).
 */
#define TB_MAP (!TB_ASAN)

/*
 * A class's second and later pages are faulted in by one call as they are
 * mapped: a thread that has filled a page is spawning many tasks, and 256
 * page faults, each a trap into a (virtualised) kernel, cost several times
 * what one prefault does.  A class's first page is faulted on demand, so a
 * program with a few tasks per thread stays small.  A kernel without
 * MADV_POPULATE_WRITE (before 5.14) refuses it: the faults come on demand.
 */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void *
tb_map(bool populate)
{
	size_t len = 2 * TB_PAGE, head;
	char *p, *at;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	         -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	at = (char *)(((uintptr_t)p + TB_PAGE - 1) & ~(uintptr_t)(TB_PAGE - 1));
	head = (size_t)(at - p);
	if (head)
		munmap(p, head);
	munmap(at + TB_PAGE, len - head - TB_PAGE);
	if (populate)
		(void)madvise(at, TB_PAGE, MADV_POPULATE_WRITE);
	return at;
}


static struct tb_page *
tb_page_new(size_t size, size_t bytes, struct tb_cache *owner, bool populate)
{
	void *mem;
	struct tb_page *pg;

	if (TB_MAP && size) {
		mem = tb_map(populate);
		if (!mem)
			return NULL;
	} else if (posix_memalign(&mem, TB_PAGE, bytes)) {
		return NULL;
	}
	pg = mem;
	memset(pg, 0, sizeof(*pg));
	atomic_init(&pg->remote, NULL);
	atomic_init(&pg->owner, owner);
	pg->size = (uint32_t)size;
	pg->cap = size ? (uint32_t)((TB_PAGE - TB_HEADER) / size) : 1;
	TB_POISON((char *)pg + TB_HEADER, bytes - TB_HEADER);
	return pg;
}


static void
tb_page_free(struct tb_page *pg)
{
	/* A large block is in use when freed: nothing poisoned. */
	if (pg->size)
		TB_UNPOISON(pg, TB_PAGE);
	if (TB_MAP && pg->size)
		munmap(pg, TB_PAGE);
	else
		free(pg);
}


/* Owner only: pg's local list, refilled from its remote one if empty. */
static bool
tb_page_has(struct tb_page *pg)
{
	if (pg->free || pg->carved < pg->cap)
		return true;
	if (!atomic_load_explicit(&pg->remote, memory_order_relaxed))
		return false;
	pg->free =
	    atomic_exchange_explicit(&pg->remote, NULL, memory_order_acquire);
	return pg->free != NULL;
}


/* Owner only: a block of pg, which has one (tb_page_has). */
static void *
tb_page_take(struct tb_page *pg)
{
	struct tb_free *b = pg->free;

	if (b) {
		TB_UNPOISON(b, pg->size);
		pg->free = b->next;
		return b;
	}
	b = (struct tb_free *)((char *)pg + TB_HEADER +
	                       (size_t)pg->carved++ * pg->size);
	TB_UNPOISON(b, pg->size);
	return b;
}


/*
 * Owner only, or with the orphans' lock for a page without owner: true
 * when every block of pg is back, the remote ones moved to the local list.
 */
static bool
tb_page_empty(struct tb_page *pg)
{
	struct tb_free *r, *b;
	uint32_t back = pg->cap - pg->carved;

	r = atomic_exchange_explicit(&pg->remote, NULL, memory_order_acquire);
	while (r) {
		b = r;
		r = r->next;
		b->next = pg->free;
		pg->free = b;
	}
	for (b = pg->free; b; b = b->next)
		back++;
	WEFT_ASSERT(back <= pg->cap);
	return back == pg->cap;
}


/*
 * Owner only: frees every page of c whose blocks are all back; the others
 * stay in c, or with orphan go to the orphans.  True when c has no page.
 */
static bool
tb_cache_sweep(struct tb_cache *c, bool orphan)
{
	struct tb_page *first, *pg, *next, *keep = NULL, *tail = NULL;
	struct tb_page *lost = NULL;
	bool none = true;
	size_t i;

	for (i = 0; i < TB_CLASSES; i++) {
		first = c->cur[i];
		if (!first)
			continue;
		keep = tail = NULL;
		pg = first;
		do {
			next = pg->next;
			if (tb_page_empty(pg)) {
				tb_page_free(pg);
			} else if (orphan) {
				atomic_store_explicit(&pg->owner, NULL,
				                      memory_order_relaxed);
				pg->next = lost;
				lost = pg;
			} else {
				/* Rebuilt as a ring below. */
				pg->next = keep;
				keep = pg;
				if (!tail)
					tail = pg;
			}
			pg = next;
		} while (pg != first);
		if (tail)
			tail->next = keep;
		c->cur[i] = keep;
		if (keep)
			none = false;
	}
	if (lost) {
		pthread_mutex_lock(&tb_orphan_lock);
		for (pg = lost; pg; pg = next) {
			next = pg->next;
			pg->next = tb_orphans;
			tb_orphans = pg;
		}
		pthread_mutex_unlock(&tb_orphan_lock);
	}
	return none;
}


/* Frees the pages of exited threads whose blocks are all back. */
static void
tb_orphans_sweep(void)
{
	struct tb_page **at, *pg;

	pthread_mutex_lock(&tb_orphan_lock);
	for (at = &tb_orphans; (pg = *at);) {
		if (tb_page_empty(pg)) {
			*at = pg->next;
			tb_page_free(pg);
		} else {
			at = &pg->next;
		}
	}
	pthread_mutex_unlock(&tb_orphan_lock);
}


/* The thread's exit: its pages are freed or handed to the orphans. */
static void
tb_thread_exit(void *arg)
{
	struct tb_cache *c = arg;

	tb_tls = NULL;
	tb_cache_sweep(c, true);
	free(c);
	tb_orphans_sweep();
}


static void
tb_key_init(void)
{
	tb_key_ok = pthread_key_create(&tb_key, tb_thread_exit) == 0;
}


static struct tb_cache *
tb_cache_new(void)
{
	struct tb_cache *c;

	pthread_once(&tb_once, tb_key_init);
	/* Without a key, no cache: its pages would outlive the thread. */
	if (!tb_key_ok)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pthread_setspecific(tb_key, c)) {
		free(c);
		return NULL;
	}
	tb_tls = c;
	return c;
}


/* One large block in a page of its own: freed with the block. */
static void *
tb_alloc_large(size_t n)
{
	struct tb_page *pg = tb_page_new(0, TB_HEADER + n, NULL, false);

	if (!pg)
		return NULL;
	TB_UNPOISON((char *)pg + TB_HEADER, n);
	return (char *)pg + TB_HEADER;
}


static __attribute__((noinline)) void *
tb_alloc_slow(struct tb_cache *c, size_t size)
{
	size_t cls = size / 8;
	struct tb_page *pg = c->cur[cls], *fresh;
	unsigned look;

	if (pg) {
		/* The cursor's page first, then the next ones round. */
		for (look = 0;; look++) {
			if (tb_page_has(pg)) {
				c->cur[cls] = pg;
				return tb_page_take(pg);
			}
			if (look == TB_LOOK || pg->next == c->cur[cls])
				break;
			pg = pg->next;
		}
	}
	fresh = tb_page_new(size, TB_PAGE, c, pg != NULL);
	if (!fresh)
		return NULL;
	if (pg) {
		/* After the last page looked at: the next turn starts there. */
		fresh->next = pg->next;
		pg->next = fresh;
	} else {
		fresh->next = fresh;
	}
	c->cur[cls] = fresh;
	return tb_page_take(fresh);
}


void *
weft__task_block_alloc(size_t n, bool align16)
{
	size_t size = weft__task_block_size(n, align16);
	struct tb_cache *c;
	struct tb_page *pg;
	struct tb_free *b;

	if (!size)
		return NULL;
	if (__builtin_expect(tb_mode_get() == TB_MALLOC, 0))
		return malloc(size);
	if (size > TB_MAX)
		return tb_alloc_large(size);
	c = tb_tls;
	if (__builtin_expect(!c, 0)) {
		c = tb_cache_new();
		if (!c)
			return NULL;
	}
	pg = c->cur[size / 8];
	if (__builtin_expect(pg && (b = pg->free) != NULL, 1)) {
		TB_UNPOISON(b, size);
		pg->free = b->next;
		return b;
	}
	return tb_alloc_slow(c, size);
}


void
weft__task_block_free(void *p)
{
	struct tb_page *pg;
	struct tb_free *b = p, *head;
	struct tb_cache *c;

	if (!p)
		return;
	if (__builtin_expect(tb_mode_get() == TB_MALLOC, 0)) {
		free(p);
		return;
	}
	pg = tb_page_of(p);
	if (!pg->size) {
		tb_page_free(pg);
		return;
	}
	c = tb_tls;
	if (c && atomic_load_explicit(&pg->owner, memory_order_relaxed) == c) {
		b->next = pg->free;
		pg->free = b;
		TB_POISON((char *)b + TB_LINK, pg->size - TB_LINK);
		return;
	}
	TB_POISON((char *)b + TB_LINK, pg->size - TB_LINK);
	head = atomic_load_explicit(&pg->remote, memory_order_relaxed);
	do
		b->next = head;
	while (!atomic_compare_exchange_weak_explicit(
	    &pg->remote, &head, b, memory_order_release, memory_order_relaxed));
}


void
weft__task_block_trim(void)
{
	struct tb_cache *c = tb_tls;

	if (c && tb_cache_sweep(c, false)) {
		/* Nothing left: the thread gets a new cache if it spawns. */
		pthread_setspecific(tb_key, NULL);
		tb_tls = NULL;
		free(c);
	}
	tb_orphans_sweep();
}
