/* SPDX-License-Identifier: MIT */
/*
 * Task blocks (runtime/task_block.c), linked in and tested alone.  The
 * pages they take are counted by wrapping posix_memalign, free, mmap and
 * munmap at link time (-Wl,--wrap), so the tests can say when a page is
 * made and when it goes back: a size class's page is mapped (2 MiB, of
 * which the aligned 1 MiB is kept), except under AddressSanitizer, and a
 * large block's is malloc's.
 *
 * - Sizes and alignment: 8-byte grain, 16 where asked, no header.
 * - Blocks freed on another thread come back to their page, and the
 *   spawning thread reuses them: no new page in steady state.
 * - A thread that exits with blocks still out leaves its pages to the
 *   process; once the blocks are freed, a trim gives every page back.
 * - A block larger than the largest class lives and dies alone.
 * - A class's first page is faulted in on demand; its later ones are
 *   resident as they are mapped (where the kernel prefaults).
 *
 * Under Valgrind the pages are bypassed (malloc per block): the page
 * counts are then not asserted, the rest is.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "task_block.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- the page count ------------------------------------------------- */

#define MAX_PAGES 4096

int __real_posix_memalign(void **p, size_t align, size_t n);
void __real_free(void *p);

static pthread_mutex_t pages_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pages[MAX_PAGES];
static int pages_live, pages_made;

int
__wrap_posix_memalign(void **p, size_t align, size_t n)
{
	int rc = __real_posix_memalign(p, align, n);
	int i;

	if (rc == 0) {
		pthread_mutex_lock(&pages_lock);
		for (i = 0; i < MAX_PAGES && pages[i]; i++)
			;
		if (i < MAX_PAGES)
			pages[i] = *p;
		pages_live++;
		pages_made++;
		pthread_mutex_unlock(&pages_lock);
	}
	return rc;
}

void
__wrap_free(void *p)
{
	int i;

	if (p) {
		pthread_mutex_lock(&pages_lock);
		for (i = 0; i < MAX_PAGES; i++) {
			if (pages[i] == p) {
				pages[i] = NULL;
				pages_live--;
				break;
			}
		}
		pthread_mutex_unlock(&pages_lock);
	}
	__real_free(p);
}

/* mmap64: what mmap is called under _FILE_OFFSET_BITS=64. */
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off);
int __real_munmap(void *p, size_t len);

#define PAGE_SIZE_TB ((size_t)1024 * 1024)

/* A page's mapping: counted at the aligned address that is kept. */
void *
__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = __real_mmap64(addr, len, prot, flags, fd, off);
	int i;

	if (p != MAP_FAILED && len == 2 * PAGE_SIZE_TB) {
		pthread_mutex_lock(&pages_lock);
		for (i = 0; i < MAX_PAGES && pages[i]; i++)
			;
		if (i < MAX_PAGES)
			pages[i] = (void *)(((uintptr_t)p + PAGE_SIZE_TB - 1) &
			                    ~(uintptr_t)(PAGE_SIZE_TB - 1));
		pages_live++;
		pages_made++;
		pthread_mutex_unlock(&pages_lock);
	}
	return p;
}

/* The trims of a new mapping are not at a page's address: not counted. */
int
__wrap_munmap(void *p, size_t len)
{
	int i;

	pthread_mutex_lock(&pages_lock);
	for (i = 0; i < MAX_PAGES; i++) {
		if (pages[i] == p) {
			pages[i] = NULL;
			pages_live--;
			break;
		}
	}
	pthread_mutex_unlock(&pages_lock);
	return __real_munmap(p, len);
}

static int
live_pages(void)
{
	int n;

	pthread_mutex_lock(&pages_lock);
	n = pages_live;
	pthread_mutex_unlock(&pages_lock);
	return n;
}

static int
made_pages(void)
{
	int n;

	pthread_mutex_lock(&pages_lock);
	n = pages_made;
	pthread_mutex_unlock(&pages_lock);
	return n;
}

/* ---- tests ---------------------------------------------------------- */

static void
test_sizes_and_alignment(void **state)
{
	void *b[64];
	size_t n;
	int i = 0;

	(void)state;
	assert_int_equal(weft__task_block_size(72, false), 72);
	assert_int_equal(weft__task_block_size(73, false), 80);
	assert_int_equal(weft__task_block_size(88, true), 96);
	assert_int_equal(weft__task_block_size(80, true), 80);
	for (n = 72; n <= 1024 && i < 64; n += 24, i++) {
		bool a16 = (n / 8) % 2 == 0;

		b[i] = weft__task_block_alloc(n, a16);
		assert_non_null(b[i]);
		assert_int_equal((uintptr_t)b[i] % (a16 ? 16 : 8), 0);
		memset(b[i], 0xab, n); /* all of it is ours */
	}
	while (i--)
		weft__task_block_free(b[i]);
	weft__task_block_trim();
	if (!RUNNING_ON_VALGRIND)
		assert_int_equal(live_pages(), 0);
}


#define BATCH 5000

struct batch {
	void *b[BATCH];
};

static void *
free_batch(void *arg)
{
	struct batch *bt = arg;

	for (int i = 0; i < BATCH; i++)
		weft__task_block_free(bt->b[i]);
	return NULL;
}


static void
test_remote_frees_are_reused(void **state)
{
	struct batch *bt = calloc(1, sizeof(*bt));
	int round, i, made = 0, before = made_pages();
	pthread_t th;

	(void)state;
	assert_non_null(bt);
	for (round = 0; round < 20; round++) {
		for (i = 0; i < BATCH; i++) {
			bt->b[i] = weft__task_block_alloc(72, false);
			assert_non_null(bt->b[i]);
			memset(bt->b[i], round, 72);
		}
		if (round == 0)
			made = made_pages();
		/* Steady state: every page after the first round is reused. */
		if (round > 0 && !RUNNING_ON_VALGRIND)
			assert_int_equal(made_pages(), made);
		assert_int_equal(pthread_create(&th, NULL, free_batch, bt), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
	}
	if (!RUNNING_ON_VALGRIND)
		assert_true(made > before &&
		            made - before <= BATCH * 72 / (60 * 1024) + 2);
	weft__task_block_trim();
	if (!RUNNING_ON_VALGRIND)
		assert_int_equal(live_pages(), 0);
	free(bt);
}


static void *
alloc_batch(void *arg)
{
	struct batch *bt = arg;

	for (int i = 0; i < BATCH; i++) {
		bt->b[i] = weft__task_block_alloc(i % 2 ? 96 : 72, i % 2);
		assert_non_null(bt->b[i]);
	}
	return NULL; /* exits with every block still out */
}


static void
test_exited_thread_pages_freed_by_trim(void **state)
{
	struct batch *bt = calloc(1, sizeof(*bt));
	pthread_t th;
	int i;

	(void)state;
	assert_non_null(bt);
	assert_int_equal(pthread_create(&th, NULL, alloc_batch, bt), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (!RUNNING_ON_VALGRIND)
		assert_true(live_pages() > 0); /* the blocks are out */
	for (i = 0; i < BATCH; i++)
		weft__task_block_free(bt->b[i]);
	weft__task_block_trim();
	if (!RUNNING_ON_VALGRIND)
		assert_int_equal(live_pages(), 0);
	free(bt);
}


static void *
free_one(void *arg)
{
	weft__task_block_free(arg);
	return NULL;
}


static void
test_large_block(void **state)
{
	char *b = weft__task_block_alloc(100000, true);
	pthread_t th;

	(void)state;
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % 16, 0);
	memset(b, 1, 100000);
	assert_int_equal(pthread_create(&th, NULL, free_one, b), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	weft__task_block_trim();
	if (!RUNNING_ON_VALGRIND)
		assert_int_equal(live_pages(), 0);
}


#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

#define PAGE          ((size_t)1024 * 1024)
#define PREFAULT_SIZE 1000 /* a class no other test uses */

/* Resident 4 KiB pages of the 1 MiB page holding b. */
static size_t
resident(void *b)
{
	static unsigned char vec[PAGE / 4096];
	void *pg = (void *)((uintptr_t)b & ~(uintptr_t)(PAGE - 1));
	size_t n = 0;

	assert_int_equal(mincore(pg, PAGE, vec), 0);
	for (size_t i = 0; i < sizeof(vec); i++)
		n += vec[i] & 1;
	return n;
}

/* Whether this kernel prefaults on request (Linux 5.14 and later). */
static bool
kernel_prefaults(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	assert_true(p != MAP_FAILED);
	ok = madvise(p, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
	munmap(p, 4096);
	return ok;
}

static void *
fill_two_pages(void *arg)
{
	size_t *res = arg, n = 0;
	static void *b[4096];
	void *first;

	b[n++] = first = weft__task_block_alloc(PREFAULT_SIZE, false);
	res[0] = resident(first);
	while (n < 4096) {
		b[n] = weft__task_block_alloc(PREFAULT_SIZE, false);
		assert_non_null(b[n]);
		if (((uintptr_t)b[n] ^ (uintptr_t)first) >= PAGE)
			break;
		n++;
	}
	assert_true(n < 4096);
	res[1] = resident(b[n]);
	for (size_t i = 0; i <= n; i++)
		weft__task_block_free(b[i]);
	return NULL;
}

static void
test_later_pages_prefaulted(void **state)
{
	size_t res[2];
	pthread_t th;

	(void)state;
#ifdef ASAN
	skip(); /* pages are malloc's there */
#endif
	if (RUNNING_ON_VALGRIND || !kernel_prefaults())
		skip();
	/* A thread of its own: a class no page of which exists yet. */
	assert_int_equal(pthread_create(&th, NULL, fill_two_pages, res), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(res[0] < PAGE / 4096 / 2);
	assert_int_equal(res[1], PAGE / 4096);
	weft__task_block_trim();
	assert_int_equal(live_pages(), 0);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes_and_alignment),
	    cmocka_unit_test(test_remote_frees_are_reused),
	    cmocka_unit_test(test_exited_thread_pages_freed_by_trim),
	    cmocka_unit_test(test_large_block),
	    cmocka_unit_test(test_later_pages_prefaulted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
