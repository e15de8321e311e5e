#!/usr/bin/env python3
"""tests/fuzz/make-seeds.py: write the seed corpora in tests/fuzz/corpus/<name>/
and the known-bug reproducers in tests/fuzz/crashers/<name>/.

Each seed is a small input in the layout its harness documents (the comment
at the top of tests/fuzz/fuzz_<name>.c): valid kernels, rings and register
sequences, plus hostile inputs that must take a documented error path. No seed
may crash its harness. A crasher is a minimal input that does crash it today
because of a bug in src/; once the bug is fixed, move it from *_crashers() to
*_seeds() so it stays a regression input.
Deterministic; rerun after changing a harness's input layout, then check in
the result. Usage: tests/fuzz/make-seeds.py [--check]  (--check: exit 1 if the
checked-in files differ from what this script writes).
"""
import hashlib
import hmac
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


# ---- boot: header + command line + initrd + kernel (see fuzz_boot.c) -------

B_INITRD, B_PREFER64, B_LONG_CMDLINE = 1, 2, 4


def boot_input(kernel, cmdline=b"", initrd=None, flags=0, pad=0):
    if initrd is not None:
        flags |= B_INITRD
    rd = initrd or b""
    return bytes([flags]) + u16(len(cmdline)) + u32(len(rd)) + bytes([pad]) + cmdline + rd + kernel


def bzimage(setup_sects=1, version=0x020C, xloadflags=1, loadflags=0x01, cmdline_size=2047,
            initrd_addr_max=0x37FFFFFF, pref_address=0x1000000, init_size=0x200000,
            jump=0x6A, payload=512):
    """A bzImage per Linux Documentation/x86/boot.rst, protocol 2.12 fields."""
    sects = setup_sects or 4  # 0 means 4
    k = bytearray((sects + 1) * 512 + payload)

    def put(off, data):
        k[off:off + len(data)] = data

    k[0x1F1] = setup_sects
    put(0x1FE, u16(0xAA55))      # boot_flag
    put(0x200, bytes([0xEB, jump]))  # jump; header ends at 0x202 + jump
    put(0x202, b"HdrS")
    put(0x206, u16(version))
    k[0x211] = loadflags
    put(0x22C, u32(initrd_addr_max))
    put(0x230, u32(0x200000))    # kernel_alignment
    k[0x234] = 1                 # relocatable_kernel
    put(0x236, u16(xloadflags))  # XLF_KERNEL_64
    put(0x238, u32(cmdline_size))
    put(0x258, u64(pref_address))
    put(0x260, u32(init_size))
    for i in range(payload):     # protected-mode code: any recognisable bytes
        k[(sects + 1) * 512 + i] = (i * 7 + 3) & 0xFF
    return bytes(k)


PT_LOAD, PT_NOTE = 1, 4


def elf_note(name, ntype, desc):
    n = name + b"\0"
    return (u32(len(n)) + u32(len(desc)) + u32(ntype) + n + b"\0" * (-len(n) % 4) +
            desc + b"\0" * (-len(desc) % 4))


def elf64(entry, segments):
    """ELF64 x86-64 executable. segments: (type, paddr, data, memsz) in order."""
    phoff, phnum = 64, len(segments)
    off = phoff + 56 * phnum
    ph, blobs = b"", b""
    for ptype, paddr, data, memsz in segments:
        ph += struct.pack("<IIQQQQQQ", ptype, 5, off + len(blobs), paddr, paddr,
                          len(data), memsz, 0x1000 if ptype == PT_LOAD else 4)
        blobs += data
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 +
            struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, phoff, 0, 0, 64, 56, phnum, 0, 0, 0))
    return ehdr + ph + blobs


def code(n, seed):
    return bytes((i * seed + 1) & 0xFF for i in range(n))


def boot_seeds():
    xen_pvh = 18  # XEN_ELFNOTE_PHYS32_ENTRY
    gnu = elf_note(b"GNU", 3, bytes(range(20)))  # a build-id note before the Xen one
    return {
        "bz-initrd": boot_input(bzimage(), b"console=ttyS0 earlyprintk=serial",
                                initrd=code(300, 5)),
        "bz-setup0-noinitrd": boot_input(bzimage(setup_sects=0, payload=700), b"quiet"),
        "bz-cmdline-at-limit": boot_input(bzimage(cmdline_size=8, initrd_addr_max=0x2FFFFFF),
                                          b"12345678", initrd=code(64, 3)),
        "bz-old-protocol": boot_input(bzimage(version=0x020A, xloadflags=0), b"ro"),
        "elf64-initrd": boot_input(elf64(0x100000, [(PT_LOAD, 0x100000, code(256, 11), 0x2000)]),
                                   b"console=ttyS0", initrd=code(200, 13)),
        "elf-pvh": boot_input(elf64(0x100000, [
            (PT_LOAD, 0x100000, code(128, 17), 0x1000),
            (PT_NOTE, 0, gnu + elf_note(b"Xen", xen_pvh, u32(0x100040)), 0),
        ]), b"console=hvc0", initrd=code(100, 19)),
        "elf-pvh-prefer64": boot_input(elf64(0x100080, [
            (PT_LOAD, 0x100000, code(128, 23), 0x1000),
            (PT_NOTE, 0, elf_note(b"Xen", xen_pvh, u64(0x100040)), 0),
        ]), b"x", flags=B_PREFER64),
        "elf-two-loads-long-cmdline": boot_input(elf64(0x200000, [
            (PT_LOAD, 0x100000, code(64, 29), 0x100),
            (PT_LOAD, 0x200000, code(96, 31), 0x400000),
        ]), b"init=/bin/sh ", flags=B_LONG_CMDLINE, pad=7),
    }


# ---- virtq: header + op script + RAM image (see fuzz_virtq.c) ---------------

V_EVENT_IDX, V_INDIRECT = 1, 2
BASES = [0, 0x100000, 0xFFFFFFFFFF000000, 0x7FFF0000]
RAM = 1 << 20                    # region 0: the image goes here
HIGH, HIGH_SIZE = 2 << 20, 8 << 20  # region 1, zero-filled, after a 1 MiB hole
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
OP_POP, OP_READ, OP_WRITE, OP_PUSH, OP_NOTIFY, OP_POKE, OP_SETUP, OP_PROCESS = range(8)


class Ring:
    """A split ring (virtio 1.2 §2.7) as a driver lays it out in the image."""

    def __init__(self, num, desc, avail, used, base_sel=0, img_size=0x1000, origin=0):
        """desc/avail/used are offsets in RAM; the image is copied to RAM at origin."""
        self.num, self.desc, self.avail, self.used = num, desc, avail, used
        self.origin = origin
        self.base = BASES[base_sel]
        self.base_sel = base_sel
        self.img = bytearray(img_size)
        self.idx = 0

    def put(self, off, data):
        off -= self.origin
        assert 0 <= off and off + len(data) <= len(self.img)
        self.img[off:off + len(data)] = data

    def set_desc(self, i, off, length, flags=0, nxt=0, table=None):
        at = (self.desc if table is None else table) + 16 * i
        self.put(at, u64(self.base + off) + u32(length) + u16(flags) + u16(nxt))

    def offer(self, head):
        self.put(self.avail + 4 + 2 * (self.idx % self.num), u16(head))
        self.idx += 1
        self.put(self.avail + 2, u16(self.idx))

    def input(self, ops=b"", flags=0, drain=0):
        flags |= self.base_sel << 2
        hdr = (u16(self.num) + bytes([flags, drain]) + u32(self.desc) + u32(self.avail) +
               u32(self.used) + u32(self.origin) + u16(len(ops)) + u16(0))
        return hdr + ops + bytes(self.img).rstrip(b"\0")  # RAM is zero beyond it


def op_read(off, length, from_end=0):
    return bytes([OP_READ]) + u16(off) + u16(length) + bytes([from_end])


def op_write(off, length, pat):
    return bytes([OP_WRITE]) + u16(off) + u16(length) + bytes([pat & 0xFE])


def op_push(head=0, written=0, use_chain=1):
    return bytes([OP_PUSH, use_chain]) + u16(head) + u32(written)


def op_poke(off, val):
    return bytes([OP_POKE]) + u32(off) + u16(val)


def virtq_seeds():
    s = {}

    r = Ring(8, 0x000, 0x100, 0x200)
    r.set_desc(0, 0x400, 16, F_NEXT, 1)
    r.set_desc(1, 0x500, 32, F_WRITE)
    r.put(0x400, b"virtio-blk hdr!!")
    r.offer(0)
    s["basic-process"] = r.input(bytes([OP_PROCESS]))

    r = Ring(8, 0x000, 0x100, 0x200)
    for head, off in ((0, 0x400), (2, 0x480), (4, 0x500)):
        r.set_desc(head, off, 24, F_NEXT, head + 1)
        r.set_desc(head + 1, off + 0x40, 40, F_WRITE)
        r.offer(head)
    r.put(0x100 + 4 + 2 * 8, u16(1))  # used_event: interrupt after the 2nd used entry
    s["event-idx"] = r.input(bytes([OP_POP]) + op_read(0, 8) + op_read(4, 4, from_end=1) +
                             op_write(0, 40, 0xAA) + op_push(written=40) + bytes([OP_NOTIFY]) +
                             bytes([OP_PROCESS, OP_PROCESS, OP_POP, OP_NOTIFY]),
                             flags=V_EVENT_IDX)

    r = Ring(16, 0x000, 0x100, 0x200)
    r.set_desc(0, 0x800, 16, F_NEXT, 1)
    r.set_desc(1, 0x600, 48, F_INDIRECT)
    r.set_desc(0, 0x810, 8, F_NEXT, 1, table=0x600)
    r.set_desc(1, 0x900, 64, F_WRITE | F_NEXT, 2, table=0x600)
    r.set_desc(2, 0x980, 1, F_WRITE, table=0x600)
    r.offer(0)
    s["indirect"] = r.input(bytes([OP_PROCESS]), flags=V_INDIRECT)

    # Near the top of the address space; the last buffer ends where RAM ends.
    r = Ring(4, 0x000, 0x040, 0x080, base_sel=2)
    r.set_desc(0, 0x400, 16, F_NEXT, 1)
    r.set_desc(1, RAM - 16, 16, F_WRITE)
    r.offer(0)
    s["high-base-ram-end"] = r.input(bytes([OP_PROCESS]) + op_read(0, 17), drain=1)

    # num 2 at base 1 MiB: the driver refills and the indices wrap the ring.
    r = Ring(2, 0x000, 0x020, 0x040, base_sel=1, img_size=0x200)
    r.set_desc(0, 0x100, 8)
    r.set_desc(1, 0x180, 8, F_WRITE)
    ops = b""
    for k in range(1, 7):
        ops += op_poke(0x020 + 4 + 2 * ((k - 1) % 2), (k - 1) % 2) + op_poke(0x022, k)
        ops += bytes([OP_PROCESS])
    s["wrap-refill"] = r.input(ops)

    # A cycle: pop fails, the queue stays broken until set up again.
    r = Ring(4, 0x000, 0x040, 0x080)
    r.set_desc(0, 0x400, 8, F_NEXT, 0)
    r.offer(0)
    s["loop-then-reset"] = r.input(bytes([OP_POP, OP_POP]) + bytes([OP_SETUP, 0]) +
                                   op_poke(0x00C, 0) + bytes([OP_PROCESS]))

    # Two descriptors pointing at each other, each a whole 8 MiB region-1
    # buffer: the sum passes 4 GiB (-EOVERFLOW) long before the loop bound.
    # The avail ring overlaps the table's unused entries to keep the seed small.
    r = Ring(1024, 0x000, 0x020, 0x8000)
    r.set_desc(0, HIGH, HIGH_SIZE, F_NEXT, 1)
    r.set_desc(1, HIGH, HIGH_SIZE, F_NEXT, 0)
    r.offer(0)
    s["alias-past-4g"] = r.input(bytes([OP_POP, OP_POP]))

    # The same trick with 1-byte buffers in a 2048-entry table: more than
    # VIRTQ_MAX_CHAIN buffers (-E2BIG); the table's other entries are zeros.
    r = Ring(2048, 0x000, 0x020, 0x10000)
    r.set_desc(0, 0x20000, 1, F_NEXT, 1)
    r.set_desc(1, 0x20001, 1, F_NEXT, 0)
    r.offer(0)
    s["too-many-buffers"] = r.input(bytes([OP_POP]))

    # A buffer that starts in region 0 and runs into the hole: -EFAULT.
    r = Ring(4, 0x000, 0x040, 0x080)
    r.set_desc(0, RAM - 8, 16)
    r.offer(0)
    s["buffer-into-hole"] = r.input(bytes([OP_POP]))

    r = Ring(6, 0x000, 0x100, 0x200)  # not a power of two: refused
    s["bad-size"] = r.input(bytes([OP_POP]) + op_push(0, 0, 0) + bytes([OP_NOTIFY]))

    # Image at the end of RAM, rings in its first bytes.
    top = RAM - 0x200
    r = Ring(4, top, top + 0x40, top + 0x80, img_size=0x200, origin=top)
    r.set_desc(0, top + 0x100, 16, F_NEXT, 1)
    r.set_desc(1, top + 0x1F0, 16, F_WRITE)
    r.put(top + 0x100, b"last page of RAM")
    r.offer(0)
    s["image-at-ram-end"] = r.input(bytes([OP_PROCESS]))
    return s


# ---- blk: header + guest RAM image of one request queue (see fuzz_blk.c) ---

BLK_GPA = 0x10000000
BK_EVENT_IDX, BK_INDIRECT, BK_RO, BK_TWICE = 1, 2, 4, 8
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8


class BlkQueue:
    """A virtio-blk request queue (virtio 1.2 §2.7, §5.2.6) laid out from RAM offset 0."""

    def __init__(self, num_log2=3, flags=0, avail=0x80, used=0xA0, size=0x1000):
        self.num = 1 << num_log2
        self.num_log2, self.flags, self.avail, self.used = num_log2, flags, avail, used
        self.img = bytearray(size)
        self.next_desc = 0
        self.idx = 0

    def put(self, off, data):
        assert 0 <= off and off + len(data) <= len(self.img)
        self.img[off:off + len(data)] = data

    def desc(self, i, off, length, flags=0, nxt=0, table=0):
        self.put(table + 16 * i, u64(BLK_GPA + off) + u32(length) + u16(flags) + u16(nxt))

    def chain(self, bufs, offer=True):
        """bufs: (offset, length, device-writable); consecutive descriptors; returns the head."""
        head = self.next_desc
        for k, (off, length, w) in enumerate(bufs):
            i = (head + k) % self.num
            more = k + 1 < len(bufs)
            self.desc(i, off, length, (F_NEXT if more else 0) | (F_WRITE if w else 0),
                      (i + 1) % self.num if more else 0)
        self.next_desc = (head + len(bufs)) % self.num
        if offer:
            self.offer(head)
        return head

    def offer(self, head):
        self.put(self.avail + 4 + 2 * (self.idx % self.num), u16(head))
        self.idx += 1
        self.put(self.avail + 2, u16(self.idx))

    def req(self, at, rtype, sector=0):
        self.put(at, u32(rtype) + u32(0) + u64(sector))

    def input(self):
        hdr = bytes([self.num_log2, self.flags]) + u16(self.avail) + u16(self.used) + u16(0)
        return hdr + bytes(self.img).rstrip(b"\0")


def blk_seeds():
    s = {}

    q = BlkQueue(flags=BK_TWICE)
    q.req(0x100, T_OUT, 2)
    q.put(0x200, bytes((i * 5 + 1) & 0xFF for i in range(512)))
    q.chain([(0x100, 16, 0), (0x200, 512, 0), (0x400, 1, 1)])
    q.req(0x110, T_IN, 2)
    q.chain([(0x110, 16, 0), (0x600, 512, 1), (0x800, 1, 1)])
    s["out-then-in"] = q.input()

    q = BlkQueue()
    q.req(0x100, T_FLUSH)
    q.chain([(0x100, 16, 0), (0x400, 1, 1)])
    q.req(0x110, T_GET_ID)
    q.chain([(0x110, 16, 0), (0x600, 20, 1), (0x620, 1, 1)])
    q.req(0x120, T_GET_ID)
    q.chain([(0x120, 16, 0), (0x640, 5, 1)])  # short: serial cut to 4 bytes + status
    s["flush-get-id"] = q.input()

    # IN through an indirect table, data split over two buffers.
    q = BlkQueue(flags=BK_INDIRECT)
    q.req(0x100, T_IN, 5)
    t = 0x300
    q.desc(0, 0x100, 16, F_NEXT, 1, table=t)
    q.desc(1, 0x400, 256, F_WRITE | F_NEXT, 2, table=t)
    q.desc(2, 0x600, 256, F_WRITE | F_NEXT, 3, table=t)
    q.desc(3, 0x800, 1, F_WRITE, table=t)
    q.desc(0, t, 64, F_INDIRECT)
    q.next_desc = 1
    q.offer(0)
    s["indirect-in"] = q.input()

    # EVENT_IDX: used_event asks for an interrupt after the first chain; wraps at num 2.
    q = BlkQueue(num_log2=1, flags=BK_EVENT_IDX | BK_TWICE, avail=0x20, used=0x40)
    q.req(0x100, T_IN, 63)
    q.chain([(0x100, 16, 0), (0x200, 513, 1)])  # data and status share the last buffer
    q.put(0x20 + 4 + 2 * 2, u16(0))
    s["event-idx-last-sector"] = q.input()

    q = BlkQueue(flags=BK_RO)
    q.req(0x100, T_OUT, 0)
    q.chain([(0x100, 16, 0), (0x200, 512, 0), (0x400, 1, 1)])
    s["read-only-out"] = q.input()

    # Malformed requests: the device answers IOERR/UNSUPP and goes on.
    q = BlkQueue()
    q.req(0x100, T_OUT, 63)  # 1024 bytes at the last sector: past capacity
    q.chain([(0x100, 16, 0), (0x200, 1024, 0), (0x700, 1, 1)])
    q.req(0x110, T_IN, 0)    # 100 bytes: not whole sectors
    q.chain([(0x110, 16, 0), (0x800, 100, 1), (0x880, 1, 1)])
    q.req(0x120, 99)         # unknown type
    q.chain([(0x120, 16, 0), (0x900, 1, 1)])
    q.chain([(0x130, 8, 0), (0x908, 1, 1)])  # header too short
    s["bad-requests"] = q.input()

    q = BlkQueue(num_log2=4)
    q.req(0x100, T_IN)
    q.chain([(0x100, 16, 0), (0x200, 512, 0)])  # no writable byte for a status
    q.req(0x110, T_OUT)
    q.chain([(0x110, 16, 0), (0x400, 1, 1), (0x200, 512, 0)])  # readable after writable
    s["no-status-then-misordered"] = q.input()

    # Broken rings: the queue needs a reset, a second notify answers -EIO.
    q = BlkQueue(flags=BK_TWICE)
    q.desc(0, 0x100, 16, F_NEXT, 0)  # a loop
    q.offer(0)
    s["loop"] = q.input()

    q = BlkQueue(flags=BK_TWICE)
    q.offer(9)  # head outside an 8-entry table
    s["head-out-of-range"] = q.input()

    q = BlkQueue()
    q.req(0x100, T_IN)
    q.chain([(0x100, 16, 0), (0x200, 512, 1), (0x400, 1, 1)])
    q.put(q.avail + 2, u16(20))  # avail idx 20 ahead of an 8-entry ring
    s["avail-too-far"] = q.input()

    q = BlkQueue()
    q.req(0x100, T_IN)
    q.chain([(0x100, 16, 0), (0xFF00, 512, 1), (0x400, 1, 1)])  # runs past the end of RAM
    s["buffer-outside-ram"] = q.input()

    q = BlkQueue()
    q.desc(0, 0x300, 32, F_INDIRECT)  # INDIRECT_DESC not negotiated
    q.offer(0)
    s["indirect-not-negotiated"] = q.input()
    return s


# ---- uart: a stream of port accesses and host input (see fuzz_uart.c) -------

RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
WIDTH = {1: 0, 2: 1, 4: 2}


def rd(reg, width=1):
    return bytes([(WIDTH[width] << 4) | (reg + 2)])


def wr(reg, *vals):
    return bytes([0x40 | (WIDTH[len(vals)] << 4) | (reg + 2)]) + bytes(vals)


def push(data):
    return bytes([0x80 | (len(data) - 1)]) + data


def fill(n8):
    return bytes([0xC0 | ((n8 - 1) << 2) | 2])  # n8 * 8 filler bytes


ROOM, READ_ALL, REINIT = bytes([0xC0]), bytes([0xC1]), bytes([0xC3])


def uart_seeds():
    init = (wr(LCR, 0x80) + wr(RBR, 0x01) + wr(IER, 0x00) + wr(LCR, 0x03) +
            wr(IIR, 0xC7) + wr(MCR, 0x0B) + wr(IER, 0x05))
    return {
        "linux-init": init + rd(IIR) + rd(LSR) + rd(MSR) + wr(SCR, 0xA5) + rd(SCR) +
        b"".join(wr(RBR, c) for c in b"Hello") + rd(IIR) + push(b"abc") + rd(LSR) +
        rd(RBR) * 3 + rd(IIR) + ROOM,
        "loopback-overrun": wr(MCR, 0x1F) + wr(IER, 0x05) + wr(RBR, 0x55) * 70 + rd(IIR) +
        rd(LSR) + rd(IIR) + rd(RBR) * 4 + rd(MSR) + READ_ALL,
        "fifo-full-drain": wr(MCR, 0x08) + wr(IER, 0x01) + fill(8) + ROOM + rd(LSR) +
        rd(RBR) * 2 + push(b"xyz") + ROOM + rd(IIR) + rd(RBR) * 3,
        "wide-access": wr(LCR, 0x83) + bytes([0x40 | (1 << 4) | 2, 0x34, 0x12]) +
        rd(RBR, 2) + wr(LCR, 0x03) + rd(MCR, 4) + bytes([0x10 | 1]) + bytes([0x20 | 14]) +
        bytes([0x40 | (2 << 4) | 6, 1, 2, 3, 4]),
        "thri-toggle": wr(MCR, 0x08) + wr(IER, 0x02) + rd(IIR) + rd(IIR) + wr(IER, 0x00) +
        wr(IER, 0x02) + rd(IIR) + wr(RBR, 0x41) + rd(IIR) + REINIT + wr(IER, 0x02) + rd(IIR),
    }


# ---- pci: config, BAR and MSI-X accesses and the device side (see fuzz_pci.c) ----

PCI_W = {1: 0, 2: 1, 4: 2, 8: 3}
PCI_A, PCI_B = 1, 2  # slots; A: BAR0 mem64 16K (MSI-X table 0x2000, PBA 0x3000), BAR2 I/O, BAR3 mem32


def cf8(slot, reg, fn=0, bus=0, enable=True):
    return bytes([0x00]) + u32((0x80000000 if enable else 0) | bus << 16 | slot << 11 | fn << 8 | reg)


def cf8_rd(port=0, width=4):
    return bytes([0x10 | PCI_W[width] << 2 | port])


def cf8_wr(v, port=0, width=4):
    return bytes([0x20 | PCI_W[width] << 2 | port]) + u32(v)


def ecam_a(slot, reg, fn=0):
    return u16(slot << 12 | fn << 11 | (reg >> 1))


def ecam_rd(slot, reg, width=4, fn=0):
    return bytes([0x30 | PCI_W[width]]) + ecam_a(slot, reg, fn)


def ecam_wr(slot, reg, v, width=4):
    return bytes([0x40 | PCI_W[width]]) + ecam_a(slot, reg) + u32(v)


def bar_t(dev, bar, window=False):
    return bytes([dev | bar << 1 | (0x10 if window else 0)])


def bar_rd(dev, bar, off, width=4, window=False):
    return bytes([0x50 | PCI_W[width]]) + bar_t(dev, bar, window) + u16((off + 16) & 0xFFFF)


def bar_wr(dev, bar, off, v, width=4, window=False):
    return (bytes([0x60 | PCI_W[width]]) + bar_t(dev, bar, window) + u16((off + 16) & 0xFFFF)
            + u64(v))


def fire(vec):
    return bytes([0x70 | vec])


def intx(dev, level):
    return bytes([0x80 | level << 1 | dev])


ROUND_TRIP, RESET, RESET_A, WALK = bytes([0x90]), bytes([0xB0]), bytes([0xB1]), bytes([0xC0])


def altered(pos, x):
    return bytes([0xA0]) + u16(pos) + bytes([x])


def pci_seeds():
    probe = (cf8(0, 0x80000000 & 0) + cf8(0, 0) + cf8_rd() + cf8(PCI_A, 0) + cf8_rd() +
             cf8(PCI_A, 8) + cf8_rd() + cf8(PCI_A, 0x2C) + cf8_rd() + cf8(PCI_A, 0x34) + cf8_rd(0, 1) +
             cf8(PCI_A, 0x3C) + cf8_rd(1, 1) + cf8(7, 0) + cf8_rd() + cf8(PCI_A, 0, fn=1) + cf8_rd() +
             cf8(PCI_A, 0, bus=1) + cf8_rd() + WALK)
    sizing = (cf8(PCI_A, 0x04) + cf8_wr(0, width=2) +
              cf8(PCI_A, 0x10) + cf8_wr(0xFFFFFFFF) + cf8_rd() + cf8_wr(0xC0000004) +
              cf8(PCI_A, 0x14) + cf8_wr(0xFFFFFFFF) + cf8_rd() + cf8_wr(0) +
              cf8(PCI_A, 0x18) + cf8_wr(0xFFFFFFFF) + cf8_rd() + cf8_wr(0xC001) +
              cf8(PCI_B, 0x14) + cf8_wr(0xFFFFFFFF) + cf8_rd() + cf8_wr(0xC101) +
              cf8(PCI_A, 0x04) + cf8_wr(0x0003, width=2) + bar_rd(PCI_A - 1, 0, 0x10) +
              bar_rd(PCI_A - 1, 2, 4, 1) + bar_wr(PCI_A - 1, 3, 8, 0x1234, 2))
    enable_a = ecam_wr(PCI_A, 0x04, 0x0007, 2)
    enable_b = ecam_wr(PCI_B, 0x04, 0x0003, 2)
    msix_on = ecam_wr(PCI_A, 0x42, 0x8000, 2)
    vec0 = (bar_wr(0, 0, 0x2000, 0xFEE00000) + bar_wr(0, 0, 0x2004, 0) + bar_wr(0, 0, 0x2008, 0x41))
    vec3 = bar_wr(0, 0, 0x2030, 0x00000000FEE01000, 8) + bar_wr(0, 0, 0x2038, 0x0000000100000043, 8)
    msix = (enable_a + msix_on + vec0 + vec3 + fire(0) + bar_rd(0, 0, 0x3000, 8) +
            bar_wr(0, 0, 0x200C, 0) + bar_rd(0, 0, 0x3000, 4) + fire(0) + fire(3) +
            bar_rd(0, 0, 0x3000, 1) + bar_wr(0, 0, 0x203C, 0, 4) + ecam_wr(PCI_A, 0x42, 0xC000, 2) +
            fire(0) + ecam_wr(PCI_A, 0x42, 0x8000, 2) + bar_rd(0, 0, 0x2000, 8) +
            bar_rd(0, 0, 0x2001, 1) + bar_rd(0, 0, 0x2002, 4) + fire(8) + fire(9))
    return {
        "probe": b"\x00" + probe,
        "sizing": b"\x00" + sizing,
        "msix-message": b"\x00" + msix,
        "msix-routes": b"\x01" + msix + ROUND_TRIP + fire(3) + RESET_A + fire(0),
        "overlap": b"\x00" + enable_a + enable_b + ecam_wr(PCI_B, 0x10, 0xC0004000) +
        bar_rd(1, 0, 0, 4) + bar_rd(0, 3, 0, 4) + ecam_wr(PCI_B, 0x10, 0xC0008000) +
        bar_rd(1, 0, 0, 4) + ecam_wr(PCI_A, 0x18, 0xC100) + bar_rd(0, 2, 0, 2),
        "intx": b"\x00" + intx(0, 1) + ecam_wr(PCI_A, 0x04, 0x0400, 2) + intx(0, 0) + intx(0, 1) +
        ecam_wr(PCI_A, 0x04, 0, 2) + intx(1, 1) + RESET + intx(1, 0),
        "save-load": b"\x01" + enable_a + msix_on + vec0 + bar_wr(0, 0, 0x200C, 0) + fire(1) +
        ROUND_TRIP + altered(4, 0x08) + altered(0x30, 0x01) + altered(0x200, 0x80) +
        altered(0xFFFF, 0x02) + ROUND_TRIP + RESET,
        "odd-widths": b"\x00" + cf8(PCI_A, 0) + cf8_rd(1, 2) + cf8_rd(3, 2) + cf8_rd(2, 4) +
        ecam_rd(PCI_A, 0, 8) + ecam_rd(PCI_A, 2, 4) + ecam_rd(PCI_A, 0xFFC, 4) +
        ecam_rd(PCI_A, 0x100, 4) + ecam_rd(PCI_A, 0, 4, fn=1) + ecam_rd(3, 0, 4) +
        enable_a + bar_rd(0, 0, 0x3FFE, 4) + bar_rd(0, 0, 0x1FFC, 8) + bar_rd(0, 0, 0x3008, 4) +
        bar_rd(0, 0, 0, 4, window=True) + bar_wr(0, 0, 0x3000, 0xFF, 8),
    }


# ---- regressions: bugs in src/ these harnesses found, now fixed; kept as seeds ----

def boot_crashers():
    pvh = elf_note(b"Xen", 18, u32(0x100000))
    return {
        # boot.c boot_place_initrd: an empty initrd is placed at the very top
        # of RAM and gmem_write(m, top, p, 0) refuses an empty range at the
        # end of a region, so boot_load fails with an undocumented, unlogged
        # -EFAULT (vmon run -i on an empty file; bzImage too when
        # initrd_addr_max + 1 >= the top of low RAM, as in real kernels).
        "empty-initrd-efault": boot_input(elf64(0x100000, [
            (PT_LOAD, 0x100000, code(64, 37), 0x1000), (PT_NOTE, 0, pvh, 0)]),
            b"console=ttyS0", initrd=b""),
        # boot.c boot_bzimage: need = pref_address + init_size wraps around
        # 2^64, so a kernel that asks for more memory than exists passes the
        # "fits in guest RAM" check and kernel_end is understated.
        "bz-init-size-wraps": boot_input(bzimage(pref_address=0xFFFFFFFFFF000000,
                                                 init_size=0x02000000), b"console=ttyS0",
                                         initrd=code(64, 41)),
    }


def blk_regress():
    # Inputs libFuzzer found against fuzz_blk (commit 8455fb7), kept byte for
    # byte: the guest rewrites a descriptor, or the status byte lands on one,
    # while the device works through the chain. They guard the harness's
    # "judge writes from the snapshot only when no table can be rewritten".
    return {
        "descriptor-rewritten-back": bytes.fromhex(
            "03008000a0000000000100100000000028000000010001000002001000000000010000000200000010010010"
            "0000000010000000010003000006001000000000140000000300040011000010000000000100000002000000"
            "20010010000000001000000001000600400600100000000005000000020000ffffffffffffff990000000000"
            "0000000000000800000000000000030000000200050000000010000000010001000002001000000000000200"
            "00030002100004001000000000010000000001003a1000000000100000000100010000040010000010000100"
            "0000020000001001000000001000000001000100000200100000000000020000c3030002008b040010000000"
            "0001000000000100100000000010000000010000100000000010000027250100010000060011000000001400"
            "00000300040000000000000000080000000000000000000400200600000100002a000000000000000000"
        ),
        "status-rewrites-descriptor": bytes.fromhex(
            "03008000a0000000000100100000000010000000010001000004001000000000010000000200000010010010"
            "0000000010000000010003000006001000000000140000000300040011000010000000000100000002000000"
            "2001001000000000100000000100060040060010000000000500000002000000000000000000000000000000"
            "0000000000000800000000000000030000000200050000000000000000000000000000000000000000000000"
            "000000000000000000000000000000000000000000000000000000800003008000a0000000003d0010000000"
            "0010000000010001000004001000000100000000000200000010010010000000010001000004001000000000"
            "010000000200000010040020060010000000000100002a000000000000000000"
        ),
    }


def uart_crashers():
    # uart16550.c: FCR with CLEAR_RCVR empties a full receive FIFO without
    # writing rx_space_fd, so vm.c's console loop (which stops polling stdin
    # while the FIFO is full) never reads input again. Linux writes exactly
    # this FCR sequence in serial8250_clear_fifos() when the port is opened.
    return {
        "fcr-clear-full-fifo-no-wakeup": wr(MCR, 0x0B) + fill(8) + ROOM + wr(IIR, 0x01) +
        wr(IIR, 0x07) + wr(IIR, 0x00) + ROOM,
    }


SNAP_KEY = bytes(range(32))  # fuzz_snapshot.c's key


def b2(data):
    """BLAKE2b-128, libsodium's crypto_generichash with a 16-byte output."""
    return hashlib.blake2b(data, digest_size=16).digest()


def snapfile(sections, regions=((0, 0x100000, 0),), vm_id=b"counter", gen=3,
             kind=0, parent=0, vcpus=1, arch=1, key=SNAP_KEY, version=1):
    """A state file as src/snapshot/snapfile.h lays it out, HMAC-SHA512-256 signed."""
    hlen = (16 + 2 + 2 + 4 + 16 + 8 + 8 + 2 + len(vm_id) + 4 + 24 * len(regions) + 4
            + 40 * len(sections) + 16)
    hdr = b"VMONSNAP" + u32(version) + u32(hlen)
    hdr += u16(arch) + u16(kind) + u32(vcpus) + bytes([0x5a]) * 16 + u64(gen) + u64(parent)
    hdr += u16(len(vm_id)) + vm_id + u32(len(regions))
    for gpa, size, off in regions:
        hdr += u64(gpa) + u64(size) + u64(off)
    hdr += u32(len(sections))
    off = hlen
    for tag, data in sections:
        hdr += u32(tag) + u32(0) + u64(off) + u64(len(data)) + b2(data)
        off += len(data)
    hdr += b2(hdr)
    body = hdr + b"".join(d for _, d in sections)
    return body + hmac.new(key, body, hashlib.sha512).digest()[:32]


def snapshot_seeds():
    """Mode byte (bit 0: verify the MAC, bit 1: repair the header sum), then the file."""
    full = snapfile(((2, b"devices" * 4), (0x100, b"vcpu0 regs"), (3, b"")))
    diff = snapfile(((4, b"\xff" * 8), (2, b"d")), kind=1, parent=2, gen=3)
    two = snapfile(((0x100, b"a"), (0x101, b"b")), vcpus=2,
                   regions=((0, 0x1000, 0), (0x100000000, 0x2000, 0x1000)))
    return {
        "full-mac": b"\x01" + full,
        "full-nokey": b"\x00" + full,
        "full-fix": b"\x03" + full,
        "diff-mac": b"\x01" + diff,
        "two-vcpus": b"\x03" + two,
        "foreign-key": b"\x01" + snapfile(((2, b"x"),), key=bytes(32)),
        "version-2": b"\x01" + snapfile(((2, b"x"),), version=2),
        "truncated": b"\x01" + full[:len(full) // 2],
        "empty": b"\x01",
    }


# ---- virtio_pci: flags + op script (see fuzz_virtio_pci.c) -------------------

VP_BLK, VP_PRELUDE, VP_EVENT, VP_MSIX, VP_ABSORB = 1, 2, 4, 8, 16
VP_RAM = 0x100000
VP_CFG_CAP = 0x84  # the PCI_CFG window: after common, ISR, device (16 each) and notify (20) from 0x40
VP_MSIX_CAP = 0x98


class VpScript:
    """Ops of fuzz_virtio_pci.c's input, in order."""

    def __init__(self, flags):
        self.b = bytearray([flags])

    def bar_read(self, off, width_log2):
        self.b += bytes([0]) + u16(off) + bytes([width_log2])

    def bar_write(self, off, width_log2, v):
        self.b += bytes([1]) + u16(off) + bytes([width_log2]) + u64(v)

    def common_write(self, field, v):
        self.b += bytes([2, field]) + u32(v)

    def common_read(self, field):
        self.b += bytes([3, field])

    def cfg_read(self, off, width_log2):
        self.b += bytes([4]) + u16(off) + bytes([width_log2])

    def cfg_write(self, off, width_log2, v):
        self.b += bytes([5]) + u16(off) + bytes([width_log2]) + u32(v)

    def doorbell(self, q):
        self.b += bytes([6, q])

    def ram(self, off, data):
        for i in range(0, len(data), 32):
            part = data[i:i + 32]
            self.b += bytes([7]) + u16(off + i) + bytes([len(part)]) + part

    def round_trip(self):
        self.b += bytes([8])

    def reset(self):
        self.b += bytes([9])

    def notify(self, q):
        self.b += bytes([10, q])

    def desc(self, i, gpa, length, flags=0, nxt=0):
        self.ram(16 * i, u64(gpa) + u32(length) + u16(flags) + u16(nxt))

    def offer(self, idx, heads):
        """The avail ring (at RAM + 0x1000) with these heads, idx entries in all."""
        ring = b"".join(u16(h) for h in heads)
        self.ram(0x1000, u16(0) + u16(idx) + ring)

    def input(self):
        return bytes(self.b)


def virtio_pci_seeds():
    s = {}

    v = VpScript(VP_PRELUDE)
    v.desc(0, VP_RAM + 0x3000, 64, F_WRITE)
    v.offer(1, [0])
    v.notify(0)
    v.round_trip()
    v.desc(1, VP_RAM + 0x3040, 16, F_WRITE)
    v.offer(2, [0, 1])
    v.notify(0)
    v.bar_read(0x1000, 0)  # ISR
    s["rng-request-intx"] = v.input()

    v = VpScript(VP_PRELUDE | VP_MSIX | VP_EVENT)
    v.desc(0, VP_RAM + 0x3000, 64, F_WRITE)
    v.offer(1, [0])
    v.ram(0x1000 + 4 + 2 * 16, u16(0))  # used_event
    v.notify(0)
    v.bar_write(0x3800 + 12, 2, 1)  # mask vector 0, fire into the PBA
    v.bar_read(0x3c00, 3)
    v.round_trip()
    s["rng-request-msix"] = v.input()

    v = VpScript(VP_BLK | VP_PRELUDE | VP_MSIX)
    v.ram(0x3000, u32(0) + u32(0) + u64(1))  # VIRTIO_BLK_T_IN, sector 1
    v.desc(0, VP_RAM + 0x3000, 16, F_NEXT, 1)
    v.desc(1, VP_RAM + 0x3100, 512, F_WRITE | F_NEXT, 2)
    v.desc(2, VP_RAM + 0x3400, 1, F_WRITE)
    v.offer(1, [0])
    v.notify(0)
    v.bar_read(0x2000, 3)  # capacity
    v.bar_read(0x2014, 2)
    v.round_trip()
    s["blk-read"] = v.input()

    v = VpScript(VP_BLK)
    v.cfg_write(4, 1, 6)  # memory decode, bus master
    v.cfg_write(VP_CFG_CAP + 4, 0, 4)
    v.cfg_write(VP_CFG_CAP + 8, 2, 0x12)  # num_queues
    v.cfg_write(VP_CFG_CAP + 12, 2, 2)
    v.cfg_read(VP_CFG_CAP + 16, 1)
    v.cfg_write(VP_CFG_CAP + 8, 2, 0x14)  # device_status
    v.cfg_write(VP_CFG_CAP + 12, 2, 1)
    v.cfg_write(VP_CFG_CAP + 16, 0, 1)
    v.cfg_write(VP_CFG_CAP + 8, 2, 0x3000)  # notify
    v.cfg_write(VP_CFG_CAP + 12, 2, 2)
    v.cfg_write(VP_CFG_CAP + 16, 1, 0)
    v.cfg_write(VP_CFG_CAP + 8, 2, 0x3800)  # MSI-X table through the window
    v.cfg_write(VP_CFG_CAP + 12, 2, 4)
    v.cfg_write(VP_CFG_CAP + 16, 2, 0xfee00000)
    v.cfg_write(VP_CFG_CAP + 8, 2, 0x3ffe)  # hostile: past the BAR
    v.cfg_write(VP_CFG_CAP + 12, 2, 4)
    v.cfg_write(VP_CFG_CAP + 16, 2, 0)
    s["cfg-window"] = v.input()

    v = VpScript(0)
    v.cfg_write(4, 1, 2)
    for off in (0x00, 0x04, 0x12, 0x14, 0x15, 0x1a, 0x20, 0x1001, 0x2000, 0x3000, 0x3ffc):
        for w in range(4):
            v.bar_read(off, w)
            v.bar_write(off, w, 0xffffffffffffffff)
    v.common_write(8, 7)  # queue_select out of range
    for field in range(19):
        v.common_read(field)
        v.common_write(field, 0xffff)
    s["hostile-widths"] = v.input()

    v = VpScript(VP_PRELUDE | VP_ABSORB | VP_MSIX)
    v.cfg_write(4, 1, 0)  # decode off: doorbells leave the accelerator
    v.cfg_write(0x20, 2, 0xc8000000)  # BAR 4 moved
    v.cfg_write(0x24, 2, 0)
    v.cfg_write(4, 1, 6)
    v.notify(0)
    v.cfg_write(VP_MSIX_CAP + 2, 1, 0xc000)  # function mask
    v.reset()
    v.round_trip()
    s["bar-moves-reset"] = v.input()

    v = VpScript(VP_PRELUDE)
    v.desc(0, 0xfff00000, 64, F_WRITE)  # outside RAM: DEVICE_NEEDS_RESET
    v.offer(1, [0])
    v.notify(0)
    v.common_write(6, 0)  # device_status 0: reset
    v.round_trip()
    s["broken-ring-reset"] = v.input()
    return s


def write_tree(root, sets):
    for name, files in sets:
        d = os.path.join(root, name)
        shutil.rmtree(d, ignore_errors=True)
        if not files:
            continue
        os.makedirs(d)
        for fname, data in sorted(files.items()):
            with open(os.path.join(d, fname), "wb") as f:
                f.write(data)


# ---- fuzz_virtio_mmio: flags byte, then ops (see tests/fuzz/fuzz_virtio_mmio.c).
VM_BLK, VM_PRELUDE, VM_EVENT = 1, 2, 4
VM_REGS = [0x014, 0x020, 0x024, 0x030, 0x038, 0x044, 0x050, 0x064, 0x070,
           0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4]
VM_RAM = 0x100000


class VmScript:
    def __init__(self, flags):
        self.b = bytes([flags])

    def read(self, off, wlog):
        self.b += bytes([0]) + u16(off) + bytes([wlog])

    def write(self, off, wlog, v):
        self.b += bytes([1]) + u16(off) + bytes([wlog]) + u64(v)

    def reg(self, off, v):
        self.b += bytes([2, VM_REGS.index(off)]) + u32(v)

    def status(self, v):
        self.b += bytes([3, v])

    def notify(self, q):
        self.b += bytes([4, q])

    def ram(self, off, data):
        for i in range(0, len(data), 32):
            chunk = data[i:i + 32]
            self.b += bytes([5]) + u16(off + i) + bytes([len(chunk)]) + chunk

    def desc(self, i, gpa, length, flags=0, nxt=0):
        self.ram(16 * i, u64(gpa) + u32(length) + u16(flags) + u16(nxt))

    def offer(self, idx, heads):
        self.ram(0x1000, u16(0) + u16(idx) + b"".join(u16(h) for h in heads))

    def round_trip(self):
        self.b += bytes([6])

    def load(self, n, data=b"", pos=0, x=0):
        self.b += bytes([7, n]) + (data if not n & 1 else bytes([pos, x]))

    def reset(self):
        self.b += bytes([8])


def virtio_mmio_seeds():
    s = {}
    v = VmScript(VM_PRELUDE)
    v.desc(0, VM_RAM + 0x3000, 64, F_WRITE)
    v.offer(1, [0])
    v.notify(0)
    v.read(0x060, 2)  # InterruptStatus
    v.reg(0x064, 1)   # InterruptACK
    v.round_trip()
    s["rng-request"] = v.b

    v = VmScript(VM_BLK | VM_PRELUDE | VM_EVENT)
    v.ram(0x3000, u32(0) + u32(0) + u64(1))  # VIRTIO_BLK_T_IN, sector 1
    v.desc(0, VM_RAM + 0x3000, 16, F_NEXT, 1)
    v.desc(1, VM_RAM + 0x3100, 512, F_WRITE | F_NEXT, 2)
    v.desc(2, VM_RAM + 0x3400, 1, F_WRITE)
    v.offer(1, [0])
    v.notify(0)
    v.read(0x100, 3)  # capacity
    v.read(0x114, 2)  # blk_size
    v.read(0x118, 3)  # past the structure
    v.round_trip()
    s["blk-read"] = v.b

    v = VmScript(0)
    v.status(1)
    v.status(3)
    v.status(3 | 4)           # DRIVER_OK without FEATURES_OK: ignored
    v.reg(0x030, 0)
    v.reg(0x038, 16)
    v.reg(0x044, 1)           # ready before FEATURES_OK: needs reset
    v.reg(0x024, 1)
    v.reg(0x020, 1)           # VERSION_1
    v.status(3 | 8)
    v.status(3)               # FEATURES_OK cannot be taken back
    v.notify(0)
    v.status(0)
    s["rng-out-of-order"] = v.b

    v = VmScript(VM_BLK)
    for off, wlog in ((0, 0), (1, 1), (2, 2), (0x70, 1), (0x0fc, 2), (0x0ff, 0)):
        v.read(off, wlog)
    v.write(0x070, 1, 0xf)    # 16-bit status write: ignored
    v.write(0x071, 2, 0xf)    # misaligned: ignored
    v.write(0x100, 3, 0)      # config is read-only
    v.reg(0x030, 7)           # a queue that does not exist
    v.read(0x034, 2)
    s["blk-widths"] = v.b

    v = VmScript(VM_PRELUDE | VM_EVENT)
    v.round_trip()
    v.load(1, pos=4, x=0x08)  # flip FEATURES_OK in the saved status
    v.load(1, pos=15, x=0xff)
    v.load(8, b"\x01\x04\x00\x00")
    v.reset()
    s["rng-hostile-loads"] = v.b
    return s


# ---- fuzz_net: 8-byte header, receive frames, then guest RAM (tests/fuzz/fuzz_net.c).
NET_RAM = 0x10000000
NET_RX, NET_NO_OFFLOAD, NET_TWICE = 4, 8, 16


def net_input(flags, descs, heads, frames=(), qlog=4, avail=0x100, used=0x200, data=()):
    ram = bytearray(0x500)
    for i, (off, length, fl, nxt) in enumerate(descs):
        ram[16 * i:16 * i + 16] = u64(NET_RAM + off) + u32(length) + u16(fl) + u16(nxt)
    ram[avail:avail + 4 + 2 * len(heads)] = u16(0) + u16(len(heads)) + b"".join(u16(h) for h in heads)
    for off, b in data:
        ram[off:off + len(b)] = b
    fr = b"".join(u16(len(f)) + f for f in frames)
    return bytes([qlog, flags]) + u16(avail) + u16(used) + bytes([len(frames), 0]) + fr + bytes(ram)


def net_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0, nbuf=0):
    return bytes([flags, gso]) + u16(hdr_len) + u16(gso_size) + u16(csum_start) + \
        u16(csum_offset) + u16(nbuf)


def net_seeds():
    s = {}
    eth = bytes(range(60))
    s["tx-plain"] = net_input(0, [(0x400, 12 + 60, 0, 0)], [0], data=[(0x400, net_hdr() + eth)])
    s["tx-tso4-hostile-csum"] = net_input(
        0, [(0x400, 12 + 60, 0, 0)], [0],
        data=[(0x400, net_hdr(1, 1, 54, 1448, 0xffff, 0xffff) + eth)])
    s["tx-tso6-no-offload"] = net_input(
        NET_NO_OFFLOAD, [(0x400, 12 + 60, 0, 0)], [0],
        data=[(0x400, net_hdr(1, 4, 74, 1440, 54, 16) + eth)])
    s["tx-udp-ecn-data-valid"] = net_input(
        NET_TWICE, [(0x400, 12, 0, 0), (0x480, 12 + 8, 0, 0)], [0, 1],
        data=[(0x400, net_hdr(2, 3)), (0x480, net_hdr(1, 0x81) + eth[:8])])
    s["tx-odd-chain"] = net_input(
        0, [(0x400, 5, F_NEXT, 1), (0x405, 7, F_NEXT, 2), (0x40c, 33, 0, 0)], [0],
        data=[(0x400, net_hdr(1, 0, 0, 0, 14, 16) + eth[:33])])
    s["tx-short-header"] = net_input(0, [(0x400, 11, 0, 0)], [0])
    s["rx-one"] = net_input(NET_RX, [(0x1000, 2048, F_WRITE, 0)], [0],
                            frames=[net_hdr() + eth])
    s["rx-gso-not-accepted"] = net_input(
        NET_RX | NET_NO_OFFLOAD, [(0x1000, 2048, F_WRITE, 0), (0x1800, 2048, F_WRITE, 0)], [0, 1],
        frames=[net_hdr(1, 1, 54, 1448, 34, 16) + eth, net_hdr(1, 0, 0, 0, 34, 16) + eth])
    s["rx-short-buffers"] = net_input(
        NET_RX | NET_TWICE, [(0x1000, 8, F_WRITE, 0), (0x1100, 4, F_WRITE, 1), (0x1200, 40, F_WRITE, 0)],
        [0, 1], frames=[net_hdr() + eth, net_hdr(2) + eth[:10], b"\x00" * 5])
    return s


# ---- fuzz_i8042 / fuzz_rtc / fuzz_acpi_pm: opcode byte and operands (see each harness).
def i8042_seeds():
    def cmd(v):
        return bytes([2, v])

    def data(v):
        return bytes([3, v])

    rd_data, rd_status = bytes([1, 0, 0]), bytes([1, 4, 0])
    return {
        "reset-command": cmd(0xfe) + rd_status,
        "outport-reset": cmd(0xd1) + data(0x01) + cmd(0xd1) + data(0xfe),
        "ctr-and-probe": cmd(0x20) + rd_data + cmd(0x60) + data(0x00) + cmd(0xaa) + rd_data +
        cmd(0xa9) + rd_data + data(0xf2) + rd_data * 4 + data(0xff) + rd_data * 3,
        "ctrl-alt-del-overflow": bytes([4]) * 3 + rd_status + rd_data * 20 + bytes([5]),
        "wide-and-unclaimed": bytes([0, 1, 0, 0xfe, 0, 4, 1, 0xfe, 1, 2, 0, 0, 0, 2, 0xfe]),
        "loop-then-load": cmd(0xd2) + bytes([5, 6, 21]) + bytes([0x45, 0xd1, 0, 0, 0]) +
        bytes(16) + data(0) + bytes([6, 21]) + bytes([0x45, 0x99, 0, 15, 17]) + bytes(16) +
        bytes([7]),
    }


def rtc_seeds():
    def sel_wr(i, v):
        return bytes([2, i, v])

    rd_data = bytes([1, 1, 0])
    return {
        "nvram": sel_wr(0x0e, 0x55) + rd_data + sel_wr(0x7f, 0xaa) + rd_data + bytes([1, 0, 2]),
        "clock-is-read-only": sel_wr(0x00, 0x59) + rd_data + sel_wr(0x0b, 0) + rd_data +
        sel_wr(0x32, 0x99) + rd_data + sel_wr(0x0a, 0xff) + rd_data,
        "nmi-bit": sel_wr(0x8e, 1) + bytes([1, 0, 0]) + bytes([0, 0, 2, 0xff]) + bytes([1, 1, 2]),
        "save-load": sel_wr(0x20, 7) + bytes([3]) + bytes([4, 1, 0, 0x80]) + bytes([4, 1, 1, 1]) +
        bytes([4, 1, 0x33, 5]) + bytes([4, 2, 129]) + bytes([0x10]) + bytes(128) + bytes([5]),
    }


def acpi_pm_seeds():
    def wr(off, wlog, v):
        return bytes([0, off, wlog]) + u32(v)

    def rd(off, wlog):
        return bytes([1, off, wlog])

    return {
        "s5": bytes([2, 5]),
        "s3-ignored-then-s5": bytes([2, 3, 2, 1]) + rd(4, 1) + bytes([2, 5]),
        "bytewise-s5": wr(4, 0, 0x01) + wr(5, 0, 0x34) + rd(4, 1),
        "reset-register": wr(8, 0, 1) + wr(8, 0, 2) + wr(6, 2, 0x01003400) + wr(7, 2, 0x0100),
        "sts-en-past-end": wr(0, 1, 0xffff) + wr(2, 1, 0x0121) + rd(0, 2) + rd(0x0e, 2) +
        wr(0x0f, 1, 0x3434) + rd(0x10, 0),
        "save-load": wr(2, 1, 0x20) + bytes([3]) + bytes([4, 6]) + u16(0) + u16(0) + u16(0x2000) +
        bytes([4, 6]) + u16(1) + u16(2) + u16(0x1400) + bytes([4, 5]) + bytes(5) + bytes([5]),
    }


def write_all(root):
    def regress(d):
        return {"regress-" + k: v for k, v in d.items()}
    write_tree(os.path.join(root, "corpus"),
               (("boot", {**boot_seeds(), **regress(boot_crashers())}),
                ("virtq", virtq_seeds()),
                ("uart", {**uart_seeds(), **regress(uart_crashers())}),
                ("blk", {**blk_seeds(), **regress(blk_regress())}),
                ("snapshot", snapshot_seeds()),
                ("pci", pci_seeds()),
                ("virtio_pci", virtio_pci_seeds()),
                ("virtio_mmio", virtio_mmio_seeds()),
                ("net", net_seeds()),
                ("i8042", i8042_seeds()),
                ("rtc", rtc_seeds()),
                ("acpi_pm", acpi_pm_seeds())))
    write_tree(os.path.join(root, "crashers"),
               (("boot", {}), ("virtq", {}), ("uart", {}), ("blk", {}), ("snapshot", {}),
                ("virtio_pci", {})))


def same_tree(a, b):
    if not os.path.isdir(b):
        return False
    for dirpath, _, files in os.walk(a):
        for fn in files:
            pa = os.path.join(dirpath, fn)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.isfile(pb) or open(pa, "rb").read() != open(pb, "rb").read():
                return False
    return sum(len(f) for _, _, f in os.walk(a)) == sum(len(f) for _, _, f in os.walk(b))


def main():
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as t:
            write_all(t)
            # Only the harnesses this script writes: api, mips and vmconfig keep
            # hand-written corpora of their own.
            for sub in ("corpus", "crashers"):
                made = os.path.join(t, sub)
                for name in sorted(os.listdir(made) if os.path.isdir(made) else []):
                    if not same_tree(os.path.join(t, sub, name), os.path.join(HERE, sub, name)):
                        print("tests/fuzz/%s/%s is stale: run tests/fuzz/make-seeds.py" % (sub, name))
                        return 1
        return 0
    if sys.argv[1:]:
        print(__doc__.strip())
        return 2
    write_all(HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
