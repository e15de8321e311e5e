/*
 * test_mips_accel.c: the MIPS32 software vCPU behind the accelerator seam
 * (src/accel/mips/accel.c): `wait` blocks without spinning until a line
 * changes, a pulsed edge (what virtio devices send) is delivered, a device
 * access becomes an MMIO exit, vcpu_kick makes a busy run return -EINTR
 * promptly, a wait with every interrupt masked ends the VM (RESET), and
 * bad lines, vCPU counts and RAM layouts are refused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "accel/mips/accel.h"
#include "test.h"

#define RAM (1u << 20)

#define MTC0(rt, rd) (0x40800000u | (rt) << 16 | (rd) << 11)
#define ORI(rt, rs, imm) (0x34000000u | (rs) << 21 | (rt) << 16 | (imm))
#define LUI(rt, imm) (0x3c000000u | (rt) << 16 | (imm))
#define SB(rt, base, off) (0xa0000000u | (base) << 21 | (rt) << 16 | ((off) & 0xffff))
#define WAIT 0x42000020u
#define SELF_LOOP 0x1000ffffu /* b . */

struct rig {
	struct accel *a;
	struct accel_vcpu *v;
	uint8_t *ram;
};

static int rig_new(struct rig *r, const uint32_t *code, size_t n)
{
	struct mips_regs regs = { .pc = 0x80001000u };
	/* General vector: store to the device at 0x1fd00000, then spin. */
	uint32_t vec[] = { LUI(8, 0xbfd0), SB(0, 8, 0), SELF_LOOP, 0 };

	r->ram = calloc(1, RAM);
	if (!r->ram || accel_mips_create(1, &r->a))
		return -1;
	memcpy(r->ram + 0x180, vec, sizeof(vec));
	memcpy(r->ram + 0x1000, code, n * 4);
	if (r->a->ops->map_ram(r->a, 0, 0, RAM, r->ram) || r->a->ops->vcpu_create(r->a, 0, &r->v))
		return -1;
	return r->a->ops->vcpu_set(r->v, ACCEL_MIPS_REGS, &regs, sizeof(regs));
}

static void rig_free(struct rig *r)
{
	if (r->v)
		r->a->ops->vcpu_destroy(r->v);
	if (r->a)
		r->a->ops->destroy(r->a);
	free(r->ram);
}

struct runner {
	struct rig *r;
	struct vcpu_exit e;
	int ret;
	clockid_t cpu_clock;
};

static void *run_thread(void *p)
{
	struct runner *ru = p;

	pthread_getcpuclockid(pthread_self(), &ru->cpu_clock);
	ru->ret = ru->r->a->ops->vcpu_run(ru->r->v, &ru->e);
	return NULL;
}

static double cpu_seconds(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(wait_blocks_until_a_pulsed_edge)
{
	/* Status = IM4 | IE, then wait. */
	uint32_t code[] = { MTC0(0, 12), ORI(1, 0, 0x1001), MTC0(1, 12), WAIT, SELF_LOOP };
	struct rig r = { 0 };
	struct runner ru = { .r = &r };
	pthread_t th;
	double busy;

	CHECK_EQ(rig_new(&r, code, 5), 0);
	CHECK_EQ(pthread_create(&th, NULL, run_thread, &ru), 0);
	usleep(200 * 1000);
	busy = cpu_seconds(ru.cpu_clock);
	CHECK(busy < 0.1); /* blocked in wait, not spinning */
	CHECK_EQ(r.a->ops->irq_line(r.a, 4, 1), 0); /* a pulse: up and down at once */
	CHECK_EQ(r.a->ops->irq_line(r.a, 4, 0), 0);
	pthread_join(th, NULL);
	CHECK_EQ(ru.ret, 0);
	CHECK_EQ(ru.e.kind, VCPU_EXIT_MMIO); /* the handler's store */
	CHECK_EQ(ru.e.mmio.addr, 0x1fd00000u);
	CHECK_EQ(ru.e.mmio.is_write, 1);
	CHECK_EQ(ru.e.mmio.len, 1);
	rig_free(&r);
}

TEST(kick_interrupts_a_busy_run)
{
	uint32_t code[] = { MTC0(0, 12), SELF_LOOP, 0 };
	struct rig r = { 0 };
	struct runner ru = { .r = &r };
	pthread_t th;
	struct timespec t0, t1;

	CHECK_EQ(rig_new(&r, code, 3), 0);
	CHECK_EQ(pthread_create(&th, NULL, run_thread, &ru), 0);
	usleep(50 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r.a->ops->vcpu_kick(r.v);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ(ru.ret, -EINTR);
	/* Prompt, not instant: 50 ms failed once on a 2-core host at load 20. */
	CHECK((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6 < 250.0);
	rig_free(&r);
}

TEST(masked_wait_is_the_guests_end)
{
	uint32_t code[] = { MTC0(0, 12), WAIT, 0 };
	struct rig r = { 0 };
	struct vcpu_exit e;

	CHECK_EQ(rig_new(&r, code, 3), 0);
	CHECK_EQ(r.a->ops->vcpu_run(r.v, &e), 0);
	CHECK_EQ(e.kind, VCPU_EXIT_RESET);
	CHECK(strstr(e.msg, "every interrupt masked") != NULL);
	rig_free(&r);
}

TEST(bad_lines_cpus_and_ram_refused)
{
	struct accel *a;
	struct accel_vcpu *v;
	static uint8_t ram[4096];

	CHECK_EQ(accel_mips_create(2, &a), -EINVAL);
	CHECK_EQ(accel_mips_create(1, &a), 0);
	CHECK_EQ(a->ops->irq_line(a, 7, 1), -EINVAL); /* IP7 is the timer's */
	CHECK_EQ(a->ops->irq_line(a, 1, 1), -EINVAL);
	CHECK_EQ(a->ops->vcpu_create(a, 0, &v), -EINVAL); /* no RAM yet */
	CHECK_EQ(a->ops->map_ram(a, 0, 0x1000, sizeof(ram), ram), -EINVAL);
	CHECK_EQ(a->ops->map_ram(a, 1, 0, sizeof(ram), ram), -EINVAL);
	CHECK_EQ(a->ops->irqfd(a, -1, 2, 1), -ENOTSUP);
	CHECK_EQ(a->ops->ioeventfd(a, -1, 0, 0, 4, 0, 1), -ENOTSUP);
	a->ops->destroy(a);
}

TEST_MAIN(T(wait_blocks_until_a_pulsed_edge), T(kick_interrupts_a_busy_run),
	  T(masked_wait_is_the_guests_end), T(bad_lines_cpus_and_ram_refused))
