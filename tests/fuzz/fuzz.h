/*
 * fuzz.h: helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Owns: the invariant check that turns a violated property of vmon into a
 * crash libFuzzer records, a byte cursor over the fuzz input, and guest RAM
 * fenced by inaccessible pages. Does not own any vmon state.
 *
 * Threads: libFuzzer calls each harness from one thread.
 *
 * Reports: run.sh passes -close_fd_mask=2, which points the sanitizer's
 * report channel at a copy of stderr and stderr itself at /dev/null (vmon
 * logs every rejected image; that noise would swamp the fuzzer's output).
 * So a failed check prints through __sanitizer_report_error_summary, which
 * still reaches the terminal, and then aborts: libFuzzer saves the input.
 */
#ifndef VMON_FUZZ_H
#define VMON_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <sanitizer/common_interface_defs.h>

#define FUZZ_PAGE 4096

__attribute__((noreturn, format(printf, 3, 4)))
static void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "vmon fuzz invariant violated at %s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	__sanitizer_report_error_summary(msg); /* on the report fd, not stderr */
	abort();
}

/* An invariant of vmon's code that no input may break. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			fuzz_fail(__FILE__, __LINE__, "%s", #cond);          \
	} while (0)

/* Same, printing both sides (as unsigned 64-bit values) when they differ. */
#define FUZZ_CHECK_EQ(a, b)                                                  \
	do {                                                                 \
		unsigned long long a_ = (unsigned long long)(a);             \
		unsigned long long b_ = (unsigned long long)(b);             \
		if (a_ != b_)                                                \
			fuzz_fail(__FILE__, __LINE__, "%s == %#llx, want %s == %#llx", \
				  #a, a_, #b, b_);                           \
	} while (0)

/* Harness setup that cannot fail on a sane host; not an invariant of vmon. */
#define FUZZ_SETUP(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz harness setup failed: %s\n", #cond); \
			abort();                                             \
		}                                                            \
	} while (0)

/* Reads the input front to back; past the end every read yields zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

/*
 * size bytes (a multiple of FUZZ_PAGE) of zeroed, private anonymous memory
 * with a PROT_NONE page on either side, so a stray access just outside guest
 * RAM faults at once. ASan does not watch mmap'd memory; the guards do.
 * Allocated once per process and never freed.
 */
static inline uint8_t *fuzz_guarded_ram(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * FUZZ_PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FUZZ_SETUP(p != MAP_FAILED);
	FUZZ_SETUP(mprotect(p + FUZZ_PAGE, size, PROT_READ | PROT_WRITE) == 0);
	return p + FUZZ_PAGE;
}

#endif
