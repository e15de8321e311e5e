/*
 * test_vcpu.c: unit tests for src/vcpu.c's exit loop over a scripted
 * accelerator: the seam a software vCPU (MIPS32) plugs into. The fake's
 * vcpu_run hands out struct vcpu_exit records from a script; the test
 * checks what vcpu_thread made of them: port and MMIO accesses dispatched
 * to the buses at the right offsets with reads answered, string I/O item
 * by item, unclaimed reads floating high and counted, oversized MMIO
 * refused, kicks (-EINTR) counted and survived, and each way a run ends
 * (guest reset, crash, debug trap, accelerator error) reported once with
 * its fate and message; writes the accelerator buffered (coalesced I/O)
 * dispatched before the exit that follows them, on kicks too, and counted
 * apart from the exits. Runs vcpu_thread on this thread. Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "vcpu.h"

#define SCRIPT_MAX 16

struct script_step {
	struct vcpu_exit e;
	int ret;        /* what vcpu_run returns: 0, -EINTR, -EIO */
	uint8_t buf[16]; /* the exit's data buffer */
};

/* A write the fake accelerator "buffered" before a step's exit (vcpu_drain hands it). */
struct pending {
	int is_pio;
	uint64_t addr;
	uint8_t v;
};

struct fake {
	struct accel a;
	struct accel_vcpu v;
	struct script_step step[SCRIPT_MAX];
	struct pending pend[SCRIPT_MAX][3];
	unsigned npend[SCRIPT_MAX], handed[SCRIPT_MAX], drains;
	unsigned n, next;
	uint8_t read_back[SCRIPT_MAX][16]; /* each step's buffer after the loop handled it */
	/* the host side */
	int stopped, pauses, stops;
	enum vm_exit why;
	char msg[256];
};

static struct fake *fake_of(struct accel_vcpu *v)
{
	return (struct fake *)((char *)v - offsetof(struct fake, v));
}

static int f_run(struct accel_vcpu *v, struct vcpu_exit *e)
{
	struct fake *f = fake_of(v);
	struct script_step *s;

	if (f->next > 0) /* what the loop left in the previous exit's buffer */
		memcpy(f->read_back[f->next - 1], f->step[f->next - 1].buf, 16);
	if (f->next == f->n) {
		f->stopped = 1; /* script over: as if the VM were stopped */
		return -EINTR;
	}
	s = &f->step[f->next++];
	*e = s->e;
	if (e->kind == VCPU_EXIT_PIO)
		e->pio.data = s->buf;
	else if (e->kind == VCPU_EXIT_MMIO)
		e->mmio.data = s->buf;
	return s->ret;
}

static int f_create(struct accel *a, unsigned id, struct accel_vcpu **out)
{
	struct fake *f = (struct fake *)a;

	f->v.a = a;
	f->v.id = id;
	*out = &f->v;
	return 0;
}

static void f_destroy(struct accel_vcpu *v) { (void)v; }
static void f_kick(struct accel_vcpu *v) { (void)v; }

/* The writes buffered before the step vcpu_run just returned, once. */
static unsigned f_drain(struct accel_vcpu *v, accel_drain_fn fn, void *ctx)
{
	struct fake *f = fake_of(v);
	unsigned i = f->next - 1, k;

	f->drains++;
	if (f->next == 0 || f->handed[i])
		return 0;
	f->handed[i] = 1;
	for (k = 0; k < f->npend[i]; k++)
		fn(ctx, f->pend[i][k].is_pio, f->pend[i][k].addr, &f->pend[i][k].v, 1);
	return k;
}

static const struct accel_ops fake_ops = {
	.name = "script", .vcpu_create = f_create, .vcpu_destroy = f_destroy,
	.vcpu_run = f_run, .vcpu_kick = f_kick,
};

static const struct accel_ops fake_coalescing_ops = {
	.name = "script", .vcpu_create = f_create, .vcpu_destroy = f_destroy,
	.vcpu_run = f_run, .vcpu_kick = f_kick, .vcpu_drain = f_drain,
};

static int h_stopped(void *ctx) { return ((struct fake *)ctx)->stopped; }
static void h_pause(void *ctx) { ((struct fake *)ctx)->pauses++; }

static void h_stop(void *ctx, enum vm_exit why, const char *msg)
{
	struct fake *f = ctx;

	f->stops++;
	f->why = why;
	snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

/* A device that records writes and answers reads with 0x40 + offset. */
struct rec {
	unsigned reads, writes;
	unsigned writes_at_read[8]; /* how many writes had arrived when each read came */
	uint64_t roff[8], woff[8];
	uint8_t wdata[8];
};

static int rec_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rec *r = dev;

	r->writes_at_read[r->reads % 8] = r->writes;
	r->roff[r->reads++ % 8] = off;
	memset(data, (int)(0x40 + off), len);
	return 0;
}

static int rec_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rec *r = dev;

	r->woff[r->writes % 8] = off;
	memcpy(&r->wdata[r->writes++ % 8], data, 1);
	(void)len;
	return 0;
}

static const struct dev_ops rec_ops = { .kind = "rec", .read = rec_read, .write = rec_write };

struct rig {
	struct fake f;
	struct bus pio, mmio;
	struct rec pdev, mdev;
	struct vcpu_host h;
	struct vcpu v;
};

static void rig_init(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	g->f.a.ops = &fake_ops;
	bus_init(&g->pio, "pio");
	bus_init(&g->mmio, "mmio");
	bus_map(&g->pio, 0x3f8, 8, &rec_ops, &g->pdev, "serial0");
	bus_map(&g->mmio, 0xd0000000, 0x1000, &rec_ops, &g->mdev, "virtio-rng0");
	g->h = (struct vcpu_host){ .pio = &g->pio, .mmio = &g->mmio, .ctx = &g->f,
				   .stopped = h_stopped, .pause_point = h_pause, .stop = h_stop };
}

static void add(struct rig *g, struct vcpu_exit e, int ret)
{
	g->f.step[g->f.n].e = e;
	g->f.step[g->f.n].ret = ret;
	memset(g->f.step[g->f.n].buf, 0x5a, sizeof(g->f.step[g->f.n].buf));
	g->f.n++;
}

static struct vcpu_exit pio(uint16_t port, int write, uint8_t size, uint32_t count)
{
	return (struct vcpu_exit){ .kind = VCPU_EXIT_PIO, .raw = 2 /* KVM_EXIT_IO */,
				   .pio = { .port = port, .size = size, .is_write = (uint8_t)write,
					    .count = count } };
}

static struct vcpu_exit mmio(uint64_t addr, int write, uint32_t len)
{
	return (struct vcpu_exit){ .kind = VCPU_EXIT_MMIO, .raw = 6 /* KVM_EXIT_MMIO */,
				   .mmio = { .addr = addr, .len = len, .is_write = (uint8_t)write } };
}

static struct vcpu_exit end(enum vcpu_exit_kind k, unsigned raw, const char *msg)
{
	struct vcpu_exit e = { .kind = k, .raw = raw };

	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	return e;
}

static int run(struct rig *g)
{
	int ret = vcpu_create(&g->v, &g->f.a, 0, &g->h);

	if (ret)
		return ret;
	vcpu_thread(&g->v);
	vcpu_destroy(&g->v);
	return 0;
}

TEST(dispatch)
{
	static struct rig g;
	struct vcpu_exit w = pio(0x3f9, 1, 1, 1), r = pio(0x3fd, 0, 1, 1);

	rig_init(&g);
	add(&g, w, 0);
	g.f.step[0].buf[0] = 0x21; /* the byte the guest writes */
	add(&g, r, 0);
	add(&g, pio(0x3f8, 0, 1, 3), 0);                 /* rep insb: three items */
	add(&g, mmio(0xd0000070, 0, 4), 0);
	add(&g, mmio(0xd0000064, 1, 4), 0);
	add(&g, pio(0x80, 0, 2, 1), 0);                  /* nothing there */
	add(&g, mmio(0xe0000000, 0, 4), 0);              /* nothing there either */
	add(&g, mmio(0xd0000000, 0, 16), 0);             /* longer than any access */
	add(&g, (struct vcpu_exit){ .kind = VCPU_EXIT_NONE, .raw = 10 }, 0);
	add(&g, (struct vcpu_exit){ .kind = VCPU_EXIT_NONE }, -EINTR); /* a kick */
	add(&g, (struct vcpu_exit){ .kind = VCPU_EXIT_HALT, .raw = 5 }, 0);
	CHECK_EQ(run(&g), 0);
	CHECK_EQ(g.f.next, g.f.n);       /* every step consumed, none after the end */
	CHECK_EQ(g.f.stops, 0);          /* nothing ended the guest */
	CHECK_EQ(g.pdev.writes, 1);
	CHECK_EQ(g.pdev.wdata[0], 0x21);
	CHECK_EQ(g.pdev.reads, 4);       /* 0x3fd once, 0x3f8 three times */
	CHECK_EQ(g.f.read_back[1][0], 0x45); /* offset 5 answered */
	CHECK(g.f.read_back[2][0] == 0x40 && g.f.read_back[2][2] == 0x40 && g.f.read_back[2][3] == 0x5a);
	CHECK_EQ(g.mdev.reads, 1);
	CHECK_EQ(g.mdev.roff[0], 0x70);
	CHECK(g.f.read_back[3][0] == 0xb0 && g.f.read_back[3][3] == 0xb0 && g.f.read_back[3][4] == 0x5a);
	CHECK_EQ(g.mdev.writes, 1);
	CHECK_EQ(g.mdev.woff[0], 0x64);
	CHECK_EQ(g.pdev.woff[0], 1);
	CHECK(g.f.read_back[5][0] == 0xff && g.f.read_back[5][1] == 0xff); /* floats high */
	CHECK(g.f.read_back[6][0] == 0xff && g.f.read_back[6][3] == 0xff);
	CHECK_EQ(g.v.stats.pio_unclaimed, 1);
	CHECK_EQ(g.v.stats.mmio_unclaimed, 2); /* the wild one and the oversized one */
	CHECK_EQ(g.v.stats.pio[0], 5);
	CHECK_EQ(g.v.stats.mmio[0], 2);
	CHECK_EQ(g.v.stats.exits[2], 4);   /* counted by the accelerator's reason */
	CHECK_EQ(g.v.stats.exits[6], 4);
	CHECK_EQ(g.v.stats.eintr, 2);      /* the scripted kick and the end of the script */
	CHECK(g.f.pauses >= (int)g.f.n);   /* the pause point before every run */
	CHECK_EQ(g.v.ring_n, 10);          /* every exit traced, kicks are not exits */
}

static void ends_with(struct test_ctx *t_, struct vcpu_exit e, int ret, enum vm_exit why,
		      const char *msg_part)
{
	static struct rig g;

	rig_init(&g);
	add(&g, pio(0x3f9, 1, 1, 1), 0);
	add(&g, e, ret);
	add(&g, pio(0x3f9, 1, 1, 1), 0); /* never run: the loop left */
	CHECK_EQ(run(&g), 0);
	CHECK_EQ(g.f.next, 2);
	CHECK_EQ(g.f.stops, 1);
	CHECK_EQ(g.f.why, why);
	CHECK(strstr(g.f.msg, msg_part) != NULL);
	if (!strstr(g.f.msg, msg_part))
		fprintf(stderr, "  message was '%s'\n", g.f.msg);
}

TEST(fates)
{
	ends_with(t_, end(VCPU_EXIT_RESET, 24, "guest reset"), 0, VM_EXIT_GUEST_RESET, "guest reset");
	ends_with(t_, end(VCPU_EXIT_CRASH, 8, "guest crashed: triple fault"), 0, VM_EXIT_GUEST_CRASH,
		  "triple fault");
	ends_with(t_, (struct vcpu_exit){ .kind = VCPU_EXIT_DEBUG, .raw = 4, .debug = { .pc = 0x1234 } },
		  0, VM_EXIT_GUEST_CRASH, "debug trap on vCPU 0 at 0x1234");
	ends_with(t_, end(VCPU_EXIT_ERROR, 63, "vCPU 0: unexpected exit 63"), 0, VM_EXIT_VMM_ERROR,
		  "unexpected exit 63");
	ends_with(t_, end(VCPU_EXIT_NONE, 0, "vCPU 0: run: Input/output error"), -EIO,
		  VM_EXIT_VMM_ERROR, "Input/output error");
}

static void pend(struct rig *g, int is_pio, uint64_t addr, uint8_t v)
{
	unsigned i = g->f.n - 1;

	g->f.pend[i][g->f.npend[i]++] = (struct pending){ is_pio, addr, v };
}

/*
 * Coalesced writes: dispatched before the exit they preceded (a read sees
 * them), also when the run was a kick, in order, counted as coalesced per
 * range and never as exits; one nobody claims is counted, not fatal.
 */
TEST(coalesced)
{
	static struct rig g;

	rig_init(&g);
	g.f.a.ops = &fake_coalescing_ops;
	add(&g, pio(0x3fd, 0, 1, 1), 0);
	pend(&g, 1, 0x3f9, 0x11);
	pend(&g, 1, 0x3f9, 0x22);
	add(&g, (struct vcpu_exit){ .kind = VCPU_EXIT_NONE }, -EINTR); /* a kick */
	pend(&g, 1, 0x3fa, 0x33);
	add(&g, mmio(0xd0000070, 0, 4), 0);
	pend(&g, 1, 0x80, 0x44);        /* nothing there */
	pend(&g, 0, 0xd0000010, 0x55);  /* MMIO coalesced the same way */
	CHECK_EQ(run(&g), 0);

	CHECK_EQ(g.pdev.reads, 1);
	CHECK_EQ(g.pdev.writes_at_read[0], 2); /* both buffered writes before the read */
	CHECK_EQ(g.pdev.writes, 3);
	CHECK_EQ(g.pdev.woff[0], 1);
	CHECK_EQ(g.pdev.wdata[0], 0x11);
	CHECK_EQ(g.pdev.wdata[1], 0x22);
	CHECK_EQ(g.pdev.woff[2], 2);
	CHECK_EQ(g.pdev.wdata[2], 0x33); /* drained on the kick's return */
	CHECK_EQ(g.mdev.reads, 1);
	CHECK_EQ(g.mdev.writes_at_read[0], 1);
	CHECK_EQ(g.mdev.woff[0], 0x10);
	CHECK_EQ(g.f.drains, 4); /* every return of vcpu_run: 3 steps and the stop */

	CHECK_EQ(g.v.stats.coalesced, 5);
	CHECK_EQ(g.v.stats.pio_coalesced[0], 3);
	CHECK_EQ(g.v.stats.mmio_coalesced[0], 1);
	CHECK_EQ(g.v.stats.coalesced_unclaimed, 1);
	CHECK_EQ(g.v.stats.pio[0], 1);  /* the exits alone */
	CHECK_EQ(g.v.stats.mmio[0], 1);
	CHECK_EQ(g.v.stats.exits[2], 1);
	CHECK_EQ(g.v.stats.exits[6], 1);
	CHECK_EQ(g.v.stats.pio_unclaimed, 0);
	CHECK_EQ(g.f.stops, 0);
}

TEST_MAIN(T(dispatch), T(fates), T(coalesced))
