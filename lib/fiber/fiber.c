/* SPDX-License-Identifier: MIT */
/*
 * Fibers: a future whose poll switches onto a stack of its own (see
 * <weft/fiber.h> for the contract).
 *
 * One mapping per fiber: a PROT_NONE guard at the bottom, the stack above
 * it, and the fiber's state (struct weft__fiber) in the topmost bytes, so a
 * fiber costs no allocation beyond its mapping and its state is unmapped
 * with its stack.
 *
 * Two switches, each through one noinline function: switch_in (the
 * poller's stack to the fiber's) and switch_out (back).  They carry the
 * sanitizer annotations.  The thread-local "current fiber" is read and
 * written only through noinline functions and never on a fiber's stack
 * after a switch: a fiber may come back on another thread, and a
 * thread-local address computed before the switch would be the old
 * thread's.
 */
/* Defines a spawn call that weft.h wraps in a macro. */
#define WEFT_NO_SPAWN_LABELS 1
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <weft/fiber.h>

#if !defined(WEFT_FIBER_UCONTEXT) && defined(__ELF__) &&                       \
    !defined(__ILP32__) && (defined(__x86_64__) || defined(__aarch64__))
#define FIBER_ASM 1 /* switch.S has the same condition */
#else
#define FIBER_ASM 0
#include <ucontext.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif
#ifndef FIBER_VALGRIND
#define FIBER_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifndef FIBER_ASAN
#define FIBER_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif
#ifndef FIBER_TSAN
#define FIBER_TSAN 0
#endif

/* The sanitizers' fiber interface, as their runtimes export it. */
#if FIBER_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
                                     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#if FIBER_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#if FIBER_ASM
void weft__fiber_switch(void **save_sp, void *to_sp);
void weft__fiber_start(void);
#endif

#define NOINLINE __attribute__((noinline))

struct weft__fiber {
#if FIBER_ASM
	void *fiber_sp;  /* the fiber's stack pointer while it is suspended */
	void *caller_sp; /* the poller's while the fiber runs */
#else
	ucontext_t fiber_uc;
	ucontext_t caller_uc;
#endif
	weft_fiber_fn fn;
	void *arg;
	/* The running poll's context; NULL while the fiber is being dropped. */
	struct weft_context *cx;
	void *map; /* the whole mapping: guard, stack, this struct */
	size_t map_size;
	char *stack_lo; /* usable stack: [stack_lo, stack_lo + stack_size) */
	size_t stack_size;
	int result;
	bool started;   /* switched into at least once */
	bool done;      /* the function has returned */
	bool cancelled; /* being dropped: every await fails */
#if FIBER_VALGRIND
	unsigned vg_stack;
#endif
#if FIBER_ASAN
	/* The stack the fiber was last switched in from, to switch back. */
	const void *caller_bottom;
	size_t caller_size;
#endif
#if FIBER_TSAN
	void *tsan_fiber;
	void *tsan_caller;
#endif
};

/* initial-exec, as the task core's thread-locals: no __tls_get_addr call. */
static _Thread_local struct weft__fiber *current
    __attribute__((tls_model("initial-exec")));
static atomic_size_t live;

static NOINLINE struct weft__fiber *
current_get(void)
{
	return current;
}


static NOINLINE struct weft__fiber *
current_swap(struct weft__fiber *fb)
{
	struct weft__fiber *old = current;

	current = fb;
	return old;
}


static NOINLINE void
current_set(struct weft__fiber *fb)
{
	current = fb;
}


/* On the poller's stack: runs the fiber until it switches out. */
static NOINLINE void
switch_in(struct weft__fiber *fb)
{
#if FIBER_ASAN
	void *fake = NULL;
#endif
#if FIBER_TSAN
	fb->tsan_caller = __tsan_get_current_fiber();
	__tsan_switch_to_fiber(fb->tsan_fiber, 0);
#endif
#if FIBER_ASAN
	__sanitizer_start_switch_fiber(&fake, fb->stack_lo, fb->stack_size);
#endif
#if FIBER_ASM
	weft__fiber_switch(&fb->caller_sp, fb->fiber_sp);
#else
	swapcontext(&fb->caller_uc, &fb->fiber_uc);
#endif
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}


/*
 * On the fiber's stack: back to whoever polled.  Once the function has
 * returned (fb->done) this never comes back, and ASan is told to forget
 * the fiber's fake stack.
 */
static NOINLINE void
switch_out(struct weft__fiber *fb)
{
#if FIBER_ASAN
	void *fake = NULL;
#endif
#if FIBER_TSAN
	__tsan_switch_to_fiber(fb->tsan_caller, 0);
#endif
#if FIBER_ASAN
	__sanitizer_start_switch_fiber(fb->done ? NULL : &fake,
	                               fb->caller_bottom, fb->caller_size);
#endif
#if FIBER_ASM
	weft__fiber_switch(&fb->fiber_sp, fb->caller_sp);
#else
	swapcontext(&fb->fiber_uc, &fb->caller_uc);
#endif
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, &fb->caller_bottom,
	                                &fb->caller_size);
#endif
}


/* The bottom frame of every fiber: never returns. */
static void
fiber_main(struct weft__fiber *fb)
{
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, &fb->caller_bottom,
	                                &fb->caller_size);
#endif
	fb->result = fb->fn(fb->arg);
	fb->done = true;
	switch_out(fb);
	__builtin_unreachable();
}


#if !FIBER_ASM
/* makecontext passes int arguments only: the pointer comes in two halves. */
static void
fiber_main_uc(unsigned hi, unsigned lo)
{
	uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;

	fiber_main((struct weft__fiber *)p);
}
#endif


/* Lays out the first frame so that the first switch_in enters fiber_main. */
static int
ctx_init(struct weft__fiber *fb)
{
#if FIBER_ASM
	/* The stack top is 64-byte aligned: the first frame sits just below. */
	uintptr_t *sp = (uintptr_t *)(void *)(fb->stack_lo + fb->stack_size);
#if defined(__x86_64__)
	uint32_t mxcsr;
	uint16_t fcw;

	/* The fiber starts with the creating thread's floating-point modes. */
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fcw));
	sp -= 8;
	memset(sp, 0, 8 * sizeof(*sp));
	memcpy(&sp[0], &mxcsr, sizeof(mxcsr));
	memcpy((char *)&sp[0] + 4, &fcw, sizeof(fcw));
	sp[3] = (uintptr_t)fiber_main;        /* r13 */
	sp[4] = (uintptr_t)fb;                /* r12 */
	sp[7] = (uintptr_t)weft__fiber_start; /* the return address */
#else                                         /* aarch64 */
	sp -= 20;
	memset(sp, 0, 20 * sizeof(*sp));
	sp[0] = (uintptr_t)fb;                 /* x19 */
	sp[1] = (uintptr_t)fiber_main;         /* x20 */
	sp[11] = (uintptr_t)weft__fiber_start; /* x30 */
#endif
	fb->fiber_sp = sp;
	return 0;
#else
	uintptr_t p = (uintptr_t)fb;

	if (getcontext(&fb->fiber_uc) < 0)
		return -errno;
	fb->fiber_uc.uc_stack.ss_sp = fb->stack_lo;
	fb->fiber_uc.uc_stack.ss_size = fb->stack_size;
	fb->fiber_uc.uc_link = NULL;
	makecontext(&fb->fiber_uc, (void (*)(void))fiber_main_uc, 2,
	            (unsigned)(p >> 16 >> 16), (unsigned)p);
	return 0;
#endif
}


static void
fiber_unmap(struct weft__fiber *fb)
{
	void *map = fb->map;
	size_t map_size = fb->map_size;

#if FIBER_VALGRIND
	VALGRIND_STACK_DEREGISTER(fb->vg_stack);
#endif
#if FIBER_TSAN
	__tsan_destroy_fiber(fb->tsan_fiber);
#endif
#if FIBER_ASAN
	/* Frames left poisoned on the stack must not outlive the mapping:
	 * the next mapping at this address would inherit them. */
	__asan_unpoison_memory_region(map, map_size);
#endif
	munmap(map, map_size);
	atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
}


static weft_poll fiber_poll(struct weft_future *self, struct weft_context *cx);
static void fiber_drop(struct weft_future *self);

static const struct weft_future_vtable fiber_vtable = {
    WEFT_FUTURE_VTABLE_VERSION,
    0,
    sizeof(struct weft_fiber),
    offsetof(struct weft_fiber, result),
    sizeof(int),
    fiber_poll,
    fiber_drop,
};


static weft_poll
fiber_poll(struct weft_future *self, struct weft_context *cx)
{
	struct weft_fiber *f = (struct weft_fiber *)self;
	struct weft__fiber *fb = f->fiber, *outer;

	if (!fb) /* init failed, or done: result is set */
		return WEFT_READY;
	fb->cx = cx;
	fb->started = true;
	outer = current_swap(fb);
	switch_in(fb);
	current_set(outer);
	fb->cx = NULL;
	if (!fb->done)
		return WEFT_PENDING;
	/* The stack is no longer needed: give it back now, not at drop. */
	f->result = fb->result;
	f->fiber = NULL;
	fiber_unmap(fb);
	return WEFT_READY;
}


static void
fiber_drop(struct weft_future *self)
{
	struct weft_fiber *f = (struct weft_fiber *)self;
	struct weft__fiber *fb = f->fiber, *outer;

	if (!fb)
		return;
	f->fiber = NULL;
	if (fb->started && !fb->done) {
		/* Resume it once so that its await fails and it unwinds; every
		 * await after that fails at once, so it can only return. */
		fb->cancelled = true;
		fb->cx = NULL;
		outer = current_swap(fb);
		switch_in(fb);
		current_set(outer);
	}
	fiber_unmap(fb);
}


static size_t
page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}


/* Rounds n up to a multiple of the power of two a; 0 on overflow. */
static size_t
round_up(size_t n, size_t a)
{
	if (n > SIZE_MAX - (a - 1))
		return 0;
	return (n + a - 1) & ~(a - 1);
}


WEFT_EXPORT void
weft_fiber_opts_init(struct weft_fiber_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->size = (uint32_t)sizeof(*opts);
}


static int
fiber_map(struct weft__fiber **out, const struct weft_fiber_opts *opts)
{
	size_t page = page_size();
	size_t stack = WEFT_FIBER_STACK_DEFAULT, guard = page;
	size_t state = round_up(sizeof(struct weft__fiber), 64);
	size_t body, map_size;
	struct weft__fiber *fb;
	char *map;
	int r;

	if (opts) {
		if (opts->size < offsetof(struct weft_fiber_opts, guard_size) +
		                     sizeof(opts->guard_size))
			return -EINVAL;
		if (opts->stack_size)
			stack = opts->stack_size;
		if (opts->guard_size)
			guard = opts->guard_size;
	}
	if (stack < WEFT_FIBER_STACK_MIN)
		stack = WEFT_FIBER_STACK_MIN;
	guard = round_up(guard, page);
	body = stack > SIZE_MAX - state ? 0 : round_up(stack + state, page);
	if (!guard || !body || body > SIZE_MAX - guard)
		return -EINVAL;
	map_size = guard + body;
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
	           0);
	if (map == MAP_FAILED)
		return -errno;
	if (mprotect(map, guard, PROT_NONE) < 0) {
		r = -errno;
		munmap(map, map_size);
		return r;
	}
	/* The state sits at the top; the stack grows down from under it. */
	fb = (struct weft__fiber *)(void *)(map + map_size - state);
	memset(fb, 0, sizeof(*fb));
	fb->map = map;
	fb->map_size = map_size;
	fb->stack_lo = map + guard;
	fb->stack_size = (size_t)((char *)fb - fb->stack_lo);
	atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
	*out = fb;
	return 0;
}


WEFT_EXPORT int
weft_fiber_init(struct weft_fiber *f, weft_fiber_fn fn, void *arg,
                const struct weft_fiber_opts *opts)
{
	struct weft__fiber *fb = NULL;
	int r;

	f->base.vtable = &fiber_vtable;
	f->fiber = NULL;
	f->result = -EINVAL;
	if (!fn)
		return f->result;
	r = fiber_map(&fb, opts);
	if (r < 0) {
		f->result = r;
		return r;
	}
	fb->fn = fn;
	fb->arg = arg;
	r = ctx_init(fb);
	if (r < 0) {
		fiber_unmap(fb);
		f->result = r;
		return r;
	}
#if FIBER_VALGRIND
	fb->vg_stack = VALGRIND_STACK_REGISTER(fb->stack_lo,
	                                       fb->stack_lo + fb->stack_size);
#endif
#if FIBER_TSAN
	fb->tsan_fiber = __tsan_create_fiber(0);
#endif
	f->fiber = fb;
	return 0;
}


WEFT_EXPORT int
weft_fiber_spawn(struct weft_executor *ex, weft_fiber_fn fn, void *arg,
                 const struct weft_fiber_opts *opts, struct weft_join **join)
{
	struct weft_fiber f;
	int r;

	if (join)
		*join = NULL;
	r = weft_fiber_init(&f, fn, arg, opts);
	if (r == 0 && !ex)
		r = -EINVAL;
	if (r < 0) {
		weft_future_drop(&f.base);
		return r;
	}
	return weft_executor_spawn(ex, &f.base, join);
}


WEFT_EXPORT int
weft_await(struct weft_future *fut)
{
	/* Read once, before any switch: see the top of this file. */
	struct weft__fiber *fb = current_get();

	if (!fut || weft_future_is_empty(fut))
		return -EINVAL;
	if (!fb) {
		weft_future_drop(fut);
		return -EPERM;
	}
	while (!fb->cancelled) {
		if (weft_future_poll(fut, fb->cx) == WEFT_READY) {
			weft_future_drop(fut);
			return 0;
		}
		switch_out(fb);
	}
	weft_future_drop(fut);
	return WEFT_ECANCELED;
}


WEFT_EXPORT int
weft_fiber_yield(void)
{
	struct weft__fiber *fb = current_get();

	if (!fb)
		return -EPERM;
	if (fb->cancelled)
		return WEFT_ECANCELED;
	weft_waker_wake_by_ref(&fb->cx->waker);
	switch_out(fb);
	return fb->cancelled ? WEFT_ECANCELED : 0;
}


WEFT_EXPORT bool
weft_in_fiber(void)
{
	return current_get() != NULL;
}


WEFT_EXPORT struct weft_context *
weft_fiber_context(void)
{
	struct weft__fiber *fb = current_get();

	return fb ? fb->cx : NULL;
}


WEFT_EXPORT const char *
weft_fiber_switch_name(void)
{
#if FIBER_ASM && defined(__x86_64__)
	return "x86_64";
#elif FIBER_ASM
	return "aarch64";
#else
	return "ucontext";
#endif
}


WEFT_EXPORT size_t
weft_fiber_live(void)
{
	return atomic_load_explicit(&live, memory_order_relaxed);
}
