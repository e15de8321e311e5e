/*
 * test.h: the unit-test harness. Each tests/unit/test_<module>.c defines
 * test functions with TEST(name) and lists them in TEST_MAIN(...).
 * A failed CHECK reports file:line and fails that test, which goes on.
 * The runner ends with "N passed, N failed" (what CI counts) and exits
 * non-zero when anything failed.
 */
#ifndef VMON_TEST_H
#define VMON_TEST_H

#include <stdio.h>
#include <string.h>

struct test_ctx {
	int failed;
};

#define TEST(name) static void test_##name(struct test_ctx *t_)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",       \
				__FILE__, __LINE__, #cond);                  \
			t_->failed = 1;                                      \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_) {                                              \
			fprintf(stderr, "  %s:%d: %s == %lld, want %s == %lld\n", \
				__FILE__, __LINE__, #a, a_, #b, b_);         \
			t_->failed = 1;                                      \
		}                                                            \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(struct test_ctx *);
};

#define T(name) { #name, test_##name }

#define TEST_MAIN(...)                                                       \
	int main(void)                                                       \
	{                                                                    \
		static const struct test_case cases[] = { __VA_ARGS__ };     \
		int passed = 0, failed = 0;                                  \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
			struct test_ctx ctx = { 0 };                         \
			cases[i].fn(&ctx);                                   \
			printf("%s %s\n", ctx.failed ? "FAIL" : "ok  ", cases[i].name); \
			if (ctx.failed)                                      \
				failed++;                                    \
			else                                                 \
				passed++;                                    \
		}                                                            \
		printf("%d passed, %d failed\n", passed, failed);            \
		return failed ? 1 : 0;                                       \
	}

#endif
