/*
 * test_machine.c: unit tests for src/machine.c, the helpers devices use to
 * reach their machine, over a recording struct machine_ops.
 * Covers: level lines and MSI passed through with the device's gsi;
 * irqfd-or-pulse edges (an eventfd the accelerator injects from, or, when
 * it has no irqfd, a 1-then-0 pulse on the line; a real failure refused);
 * doorbells (absorbed by the accelerator, or left to the device's handler
 * with a working eventfd; deassigned only when they were assigned); and
 * machine_add_dev destroying a device the list refuses. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "machine.h"
#include "test.h"

struct rec {
	int irqfd_ret, doorbell_ret, msi_ret;
	unsigned levels[8], nlevels, last_gsi;
	uint64_t msi_addr;
	uint32_t msi_data;
	int irqfd_assigns, irqfd_deassigns, db_assigns, db_deassigns;
	uint64_t db_addr, db_match;
	unsigned db_len;
	int db_pio;
};

static int r_irq_set(void *ctx, unsigned gsi, int level)
{
	struct rec *r = ctx;

	r->last_gsi = gsi;
	if (r->nlevels < 8)
		r->levels[r->nlevels++] = (unsigned)level;
	return 0;
}

static int r_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct rec *r = ctx;

	r->msi_addr = addr;
	r->msi_data = data;
	return r->msi_ret;
}

static int r_irqfd(void *ctx, int fd, unsigned gsi, int assign)
{
	struct rec *r = ctx;

	(void)fd;
	r->last_gsi = gsi;
	if (assign)
		r->irqfd_assigns++;
	else
		r->irqfd_deassigns++;
	return assign ? r->irqfd_ret : 0;
}

static int r_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len, uint64_t match,
		      int assign)
{
	struct rec *r = ctx;

	(void)fd;
	r->db_pio = is_pio;
	r->db_addr = addr;
	r->db_len = len;
	r->db_match = match;
	if (assign)
		r->db_assigns++;
	else
		r->db_deassigns++;
	return assign ? r->doorbell_ret : 0;
}

static const struct machine_ops rec_ops = {
	.irq_set = r_irq_set, .msi = r_msi, .irqfd = r_irqfd, .doorbell = r_doorbell,
};

static struct machine rec_machine(struct rec *r, struct devlist *l)
{
	return (struct machine){ .ops = &rec_ops, .ctx = r, .devs = l };
}

TEST(line_and_msi)
{
	struct rec r = { .msi_ret = 0 };
	struct machine m = rec_machine(&r, NULL);
	struct irq_line l = machine_irq_line(&m, 9);
	struct irq_msi msi = machine_irq_msi(&m);

	CHECK_EQ(irq_line_set(&l, 1), 0);
	CHECK_EQ(r.last_gsi, 9);
	CHECK(r.nlevels == 1 && r.levels[0] == 1);
	CHECK_EQ(irq_msi_send(&msi, 0xfee00000, 0x4021), 0);
	CHECK(r.msi_addr == 0xfee00000 && r.msi_data == 0x4021);
	r.msi_ret = -ENOTSUP; /* a platform without MSI says so */
	CHECK_EQ(irq_msi_send(&msi, 0xfee00000, 1), -ENOTSUP);
	msi.send = NULL;
	CHECK_EQ(irq_msi_send(&msi, 0xfee00000, 1), -ENOTSUP);
}

TEST(edge_with_irqfd)
{
	struct rec r = { .irqfd_ret = 0 };
	struct machine m = rec_machine(&r, NULL);
	struct irq_edge e;
	uint64_t v = 0;

	CHECK_EQ(machine_irq_edge_open(&m, 6, &e), 0);
	CHECK(e.fd >= 0);
	CHECK_EQ(r.irqfd_assigns, 1);
	CHECK_EQ(r.last_gsi, 6);
	CHECK_EQ(irq_edge_fire(&e), 0);
	CHECK_EQ(irq_edge_fire(&e), 0);
	CHECK_EQ(read(e.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	CHECK_EQ(v, 2);           /* both edges went to the accelerator's eventfd */
	CHECK_EQ(r.nlevels, 0);   /* and none to the line */
	machine_irq_edge_close(&m, &e);
	CHECK_EQ(r.irqfd_deassigns, 1);
	CHECK_EQ(e.fd, -1);
	machine_irq_edge_close(&m, &e); /* twice: nothing more */
	CHECK_EQ(r.irqfd_deassigns, 1);
}

TEST(edge_without_irqfd_pulses)
{
	struct rec r = { .irqfd_ret = -ENOTSUP };
	struct machine m = rec_machine(&r, NULL);
	struct irq_edge e;

	CHECK_EQ(machine_irq_edge_open(&m, 7, &e), 0);
	CHECK_EQ(e.fd, -1);
	CHECK_EQ(irq_edge_fire(&e), 0);
	CHECK_EQ(r.last_gsi, 7);
	CHECK(r.nlevels == 2 && r.levels[0] == 1 && r.levels[1] == 0);
	machine_irq_edge_close(&m, &e);
	CHECK_EQ(r.irqfd_deassigns, 0);

	r.irqfd_ret = -EIO; /* a real failure is not papered over */
	CHECK_EQ(machine_irq_edge_open(&m, 7, &e), -EIO);
	CHECK_EQ(e.fd, -1);
}

TEST(doorbells)
{
	struct rec r = { .doorbell_ret = 0 };
	struct machine m = rec_machine(&r, NULL);
	uint64_t one = 1;
	int fd, absorbed;

	CHECK_EQ(machine_doorbell_open(&m, 0, 0xd0000050, 4, 1, &fd, &absorbed), 0);
	CHECK(fd >= 0 && absorbed == 1);
	CHECK(r.db_addr == 0xd0000050 && r.db_len == 4 && r.db_match == 1 && r.db_pio == 0);
	machine_doorbell_close(&m, 0, 0xd0000050, 4, 1, fd, absorbed);
	CHECK_EQ(r.db_deassigns, 1);

	r.doorbell_ret = -ENOTSUP; /* no ioeventfd: the device's handler signals fd itself */
	CHECK_EQ(machine_doorbell_open(&m, 1, 0xc050, 2, 0, &fd, &absorbed), 0);
	CHECK(fd >= 0 && absorbed == 0);
	CHECK_EQ(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one)); /* a usable eventfd */
	machine_doorbell_close(&m, 1, 0xc050, 2, 0, fd, absorbed);
	CHECK_EQ(r.db_deassigns, 1); /* nothing was assigned, nothing to undo */

	r.doorbell_ret = -EEXIST;
	CHECK_EQ(machine_doorbell_open(&m, 0, 0xd0000050, 4, 1, &fd, &absorbed), -EEXIST);
	CHECK_EQ(fd, -1);
}

static int destroyed;

static void count_destroy(void *dev)
{
	(void)dev;
	destroyed++;
}

static const struct dev_ops counted_ops = {
	.kind = "counted", .read = dev_nop_read, .write = dev_nop_write, .reset = dev_nop_reset,
	.save = dev_nop_save, .load = dev_nop_load, .stats = dev_nop_stats,
	.destroy = count_destroy,
};

TEST(add_dev_destroys_what_it_refuses)
{
	static struct devlist l;
	struct rec r = { 0 };
	struct machine m = rec_machine(&r, &l);
	int a, b;

	devlist_init(&l);
	destroyed = 0;
	CHECK_EQ(machine_add_dev(&m, &counted_ops, &a, "dev0"), 0);
	CHECK_EQ(destroyed, 0);
	CHECK_EQ(machine_add_dev(&m, &counted_ops, &b, "dev0"), -EEXIST);
	CHECK_EQ(destroyed, 1); /* the refused one, not the listed one */
	CHECK_EQ(l.nr, 1);
	devlist_destroy(&l);
	CHECK_EQ(destroyed, 2);
}

TEST_MAIN(T(line_and_msi), T(edge_with_irqfd), T(edge_without_irqfd_pulses), T(doorbells),
	  T(add_dev_destroys_what_it_refuses))
