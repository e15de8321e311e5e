/*
 * rt.S: start-up code for vmon's host-test guests.
 *
 * vmon enters in 64-bit long mode (identity-mapped first 4 GiB, CS=0x10,
 * interrupts off) with rsi = boot_params, as Linux's 64-bit boot protocol
 * says. We set a stack, call guest_main(boot_params), and when it returns
 * ask the i8042 to pulse reset, which vmon treats as a clean exit.
 */
	.section .text.start, "ax"
	.globl _start
	.code64
_start:
	lea	stack_top(%rip), %rsp
	mov	%rsi, %rdi
	call	guest_main
	mov	$0xfe, %al		/* i8042 "pulse reset line" */
	out	%al, $0x64
1:	hlt
	jmp	1b

/* Interrupt handler for the LAPIC timer test: count, EOI, return. */
	.globl	timer_isr
timer_isr:
	push	%rax
	lock incl timer_ticks(%rip)
	mov	$0xfee000b0, %rax	/* LAPIC EOI register */
	movl	$0, (%rax)
	pop	%rax
	iretq

/*
 * AP trampoline, copied by guests to a page below 1 MiB and started by a
 * SIPI in real mode (CS = page >> 4, IP = 0). Each AP records its APIC ID
 * (CPUID.1:EBX[31:24]) in a bitmap, counts itself, and halts for good.
 */
	.section .rodata
	.globl	ap_tramp_start, ap_tramp_end, ap_tramp_count_off, ap_tramp_bitmap_off
	.code16
ap_tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$1, %eax
	cpuid
	shr	$24, %ebx
	lock btsl %ebx, (ap_bitmap - ap_tramp_start)
	lock incl (ap_count - ap_tramp_start)
2:	hlt
	jmp	2b
	.balign	4
ap_count:	.long 0
ap_bitmap:	.long 0, 0, 0, 0, 0, 0, 0, 0	/* 256 bits */
ap_tramp_end:
	.code64
	.balign	4
ap_tramp_count_off:	.long ap_count - ap_tramp_start
ap_tramp_bitmap_off:	.long ap_bitmap - ap_tramp_start

	.section .bss
	.globl	timer_ticks
	.balign	16
timer_ticks:	.long 0
	.balign	16
stack:	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
