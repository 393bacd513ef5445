/* SPDX-License-Identifier: MIT */
/*
 * The fiber stack switch, for fiber.c (which holds the matching condition).
 *
 *   void weft__fiber_switch(void **save_sp, void *to_sp);
 *
 * Pushes the registers the calling convention says a callee keeps, stores
 * the stack pointer in *save_sp, loads to_sp and pops the same registers
 * from there: the call returns in the other context.  Scratch registers are
 * the caller's to lose, as for any call, so nothing else is saved.
 *
 *   weft__fiber_start
 *
 * Where a new stack first "returns" to: it calls the entry function kept
 * in a callee-saved slot with the fiber kept in another.  The entry never
 * returns; the unwind info ends the stack here so that debuggers and
 * unwinders stop.
 */
#if !defined(WEFT_FIBER_UCONTEXT) && defined(__ELF__) && \
	!defined(__ILP32__) && (defined(__x86_64__) || defined(__aarch64__))

#if defined(__x86_64__)
/*
 * System V x86-64: rbx, rbp, r12-r15, the MXCSR control bits and the x87
 * control word.  Frame, from the saved stack pointer up:
 *   0: mxcsr (4 bytes), x87 cw (2)   8: r15  16: r14  24: r13  32: r12
 *   40: rbx  48: rbp  56: return address
 */
	.text
	.globl weft__fiber_switch
	.hidden weft__fiber_switch
	.type weft__fiber_switch, @function
	.p2align 4
weft__fiber_switch:
	.cfi_startproc
#if defined(__CET__) && (__CET__ & 1)
	endbr64
#endif
	pushq %rbp
	.cfi_adjust_cfa_offset 8
	pushq %rbx
	.cfi_adjust_cfa_offset 8
	pushq %r12
	.cfi_adjust_cfa_offset 8
	pushq %r13
	.cfi_adjust_cfa_offset 8
	pushq %r14
	.cfi_adjust_cfa_offset 8
	pushq %r15
	.cfi_adjust_cfa_offset 8
	subq $8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	.cfi_adjust_cfa_offset -8
	popq %r15
	.cfi_adjust_cfa_offset -8
	popq %r14
	.cfi_adjust_cfa_offset -8
	popq %r13
	.cfi_adjust_cfa_offset -8
	popq %r12
	.cfi_adjust_cfa_offset -8
	popq %rbx
	.cfi_adjust_cfa_offset -8
	popq %rbp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_endproc
	.size weft__fiber_switch, .-weft__fiber_switch

/* r12: the fiber, r13: the entry; rsp is 16-byte aligned here. */
	.globl weft__fiber_start
	.hidden weft__fiber_start
	.type weft__fiber_start, @function
	.p2align 4
weft__fiber_start:
	.cfi_startproc
	.cfi_undefined rip
	movq %r12, %rdi
	callq *%r13
	ud2
	.cfi_endproc
	.size weft__fiber_start, .-weft__fiber_start

#elif defined(__aarch64__)
/*
 * AAPCS64: x19-x28, the frame pointer x29, the link register x30 and the
 * low halves of v8-v15 (d8-d15).  Frame, from the saved stack pointer up:
 *   0: x19 x20  16: x21 x22  32: x23 x24  48: x25 x26  64: x27 x28
 *   80: x29 x30  96: d8 d9  112: d10 d11  128: d12 d13  144: d14 d15
 */
	.text
	.globl weft__fiber_switch
	.hidden weft__fiber_switch
	.type weft__fiber_switch, %function
	.p2align 4
weft__fiber_switch:
	.cfi_startproc
	sub sp, sp, #160
	.cfi_adjust_cfa_offset 160
	stp x19, x20, [sp, #0]
	stp x21, x22, [sp, #16]
	stp x23, x24, [sp, #32]
	stp x25, x26, [sp, #48]
	stp x27, x28, [sp, #64]
	stp x29, x30, [sp, #80]
	stp d8, d9, [sp, #96]
	stp d10, d11, [sp, #112]
	stp d12, d13, [sp, #128]
	stp d14, d15, [sp, #144]
	mov x9, sp
	str x9, [x0]
	mov sp, x1
	ldp x19, x20, [sp, #0]
	ldp x21, x22, [sp, #16]
	ldp x23, x24, [sp, #32]
	ldp x25, x26, [sp, #48]
	ldp x27, x28, [sp, #64]
	ldp x29, x30, [sp, #80]
	ldp d8, d9, [sp, #96]
	ldp d10, d11, [sp, #112]
	ldp d12, d13, [sp, #128]
	ldp d14, d15, [sp, #144]
	add sp, sp, #160
	.cfi_adjust_cfa_offset -160
	ret
	.cfi_endproc
	.size weft__fiber_switch, .-weft__fiber_switch

/* x19: the fiber, x20: the entry. */
	.globl weft__fiber_start
	.hidden weft__fiber_start
	.type weft__fiber_start, %function
	.p2align 4
weft__fiber_start:
	.cfi_startproc
	.cfi_undefined x30
	mov x0, x19
	blr x20
	brk #0
	.cfi_endproc
	.size weft__fiber_start, .-weft__fiber_start
#endif

#endif

#if defined(__ELF__)
/* No executable stack for the library because of this file. */
	.section .note.GNU-stack, "", %progbits
#endif
