/**
 * A deterministic kernel log generator: seed and length in, the lines of a dom0's serial console
 * out, in the kernel's printk formats (`[    0.000000] ` timestamps) after the hypervisor's
 * `(XEN)` lines. It describes the same machine the trace generator draws for that seed
 * (`machine.ts`):
 *
 * - Xen's banner, command line (`dom0_mem=`) and E820 table;
 * - the kernel's banner, the command line, the boot pass of `xen_memory_setup` with the lines the
 *   modelled v3.12 kernel prints for this E820 map (computed with the reducer, so the counts
 *   agree with a replay), the rewritten `Xen: [mem ...]` map;
 * - the PCI scan: `PCI host bridge to bus`, `root bus resource` windows, each device's header
 *   line and `reg 0x..:` BAR reads (`%pR` forms: `64bit pref`, `io`, ROM), then the balloon
 *   driver's start;
 * - a long runtime: mostly lines of other subsystems (network, block backends, USB, audit,
 *   filesystems), with BAR reassignments and device unplug and replug in between.
 *
 * Used to measure `import dmesg` on a large log; the importer should take every PCI and boot
 * line and skip the rest.
 *
 * @module
 */

import { hex } from "../trace/hex.ts";
import { E820_TYPE, type TraceEvent } from "../trace/event.ts";
import { initialState } from "../model/state.ts";
import { step } from "../replay/step.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { IORESOURCE } from "../kernel/ioresource.ts";
import { Prng } from "./prng.ts";
import { drawMachine, type GenDevice, type GenMachine, type GenResource, PAGE } from "./machine.ts";

/** Options of {@link generateDmesg}. */
export interface DmesgGenOptions {
  /** Number of log lines. */
  lines: number;
  /** Seed (a non-negative safe integer). */
  seed: number;
}

const E820_NAMES: Record<number, string> = {
  [E820_TYPE.ram]: "usable",
  [E820_TYPE.reserved]: "reserved",
  [E820_TYPE.acpi]: "ACPI data",
  [E820_TYPE.nvs]: "ACPI NVS",
  [E820_TYPE.unusable]: "unusable",
};

function hex16(n: number): string {
  return "0x" + n.toString(16).padStart(16, "0");
}

/** `%pR` of a resource as the kernel prints it. */
function pR(r: GenResource): string {
  const window = (r.flags & IORESOURCE.WINDOW) !== 0 ? " window" : "";
  if ((r.flags & IORESOURCE.IO) !== 0) {
    const p4 = (n: number) => "0x" + n.toString(16).padStart(4, "0");
    return `[io  ${p4(r.start)}-${p4(r.end)}${window}]`;
  }
  const bits: string[] = [];
  if ((r.flags & IORESOURCE.MEM_64) !== 0) bits.push("64bit");
  if ((r.flags & IORESOURCE.PREFETCH) !== 0) bits.push("pref");
  const tail = (bits.length > 0 ? " " + bits.join(" ") : "") + window;
  return `[mem ${hex16(r.start)}-${hex16(r.end)}${tail}]`;
}

const BAR_REG = ["0x10", "0x14", "0x18", "0x1c", "0x20", "0x24", "0x30"];

/** The kernel's messages for the boot pass of this machine, from the v3.12 model. */
function bootPassLines(m: GenMachine): { lines: string[]; maxPfn: number } {
  const policy = resolvePolicy(POLICIES, "linux-3.12");
  let s = initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: m.nrPages },
    policy,
  );
  let seq = 0;
  for (const e of m.e820) {
    const ev: TraceEvent = {
      seq: ++seq,
      line: seq + 1,
      kind: "e820",
      start: e.start,
      size: e.end - e.start,
      type: e.type,
      map: "raw",
    };
    s = step(s, ev).state;
  }
  const r = step(s, { seq: ++seq, line: seq + 1, kind: "memory_setup", maxReservation: m.nrPages });
  return { lines: r.outcome.messages, maxPfn: r.state.maxPfn };
}

const NOISE: readonly ((rng: Prng) => string)[] = [
  (r) =>
    `xen-blkback: backend/vbd/${r.range(1, 40)}/51712: using 2 queues, protocol 1 (x86_64-abi)`,
  (r) => `vif vif-${r.range(1, 40)}-0 vif${r.range(1, 40)}.0: Guest Rx ready`,
  (r) => `xenbr0: port ${r.range(2, 40)}(vif${r.range(1, 40)}.0) entered forwarding state`,
  (r) => `device vif${r.range(1, 40)}.0 entered promiscuous mode`,
  () => `igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Up 1000 Mbps Full Duplex`,
  (r) =>
    `usb 1-${r.range(1, 8)}: new high-speed USB device number ${r.range(2, 90)} using xhci_hcd`,
  (r) => `EXT4-fs (dm-${r.range(0, 9)}): mounted filesystem with ordered data mode`,
  (r) =>
    `audit: type=1400 audit(${1700000000 + r.int(9999999)}.${r.range(100, 999)}:${
      r.range(1, 9999)
    }): apparmor="STATUS" operation="profile_load"`,
  () => `nf_conntrack: default automatic helper assignment has been turned off`,
  (r) => `TCP: request_sock_TCP: Possible SYN flooding on port ${r.range(1, 65535)}.`,
  (r) => `perf: interrupt took too long (${r.range(2500, 9000)} > ${r.range(2500, 9000)})`,
  (r) => `systemd-journald[${r.range(200, 999)}]: Received SIGTERM from PID 1 (systemd).`,
];

/**
 * The log's lines (without line terminators): exactly `lines` of them.
 *
 * @example
 * ```ts
 * import { generateDmesg } from "./dmesg_gen.ts";
 * import assert from "node:assert/strict";
 * const lines = [...generateDmesg({ lines: 300, seed: 3 })];
 * assert.equal(lines.length, 300);
 * assert.match(lines[0], /^\(XEN\) Xen version 4\.3\.1 /);
 * assert.ok(lines.some((l) => /^\[    0\.000000\] Linux version 3\.12\.6-1-amd64 /.test(l)));
 * assert.ok(lines.some((l) => /pci_bus 0000:00: root bus resource \[mem /.test(l)));
 * assert.deepEqual([...generateDmesg({ lines: 300, seed: 3 })], lines);
 * ```
 */
export function* generateDmesg(opts: DmesgGenOptions): Generator<string> {
  const total = opts.lines;
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`lines must be a non-negative integer, got ${total}`);
  }
  const rng = new Prng(opts.seed);
  const m = drawMachine(rng);
  let usec = 0;
  let n = 0;
  const line = (text: string) => {
    n++;
    const s = Math.floor(usec / 1e6);
    const us = usec % 1e6;
    return `[${String(s).padStart(5, " ")}.${String(us).padStart(6, "0")}] ${text}`;
  };
  for (const text of xenLines(m)) {
    if (n >= total) return;
    n++;
    yield text;
  }
  for (const text of bootLines(m, rng)) {
    if (n >= total) return;
    yield line(text);
    if (usec > 0 || n > 80) usec += rng.range(5, 400);
  }
  usec = Math.max(usec, 2_000_000);
  const present = m.devices.slice();
  const removed: GenDevice[] = [];
  while (n < total) {
    usec += rng.range(100, 800_000);
    const r = rng.float();
    if (r < 0.003 && present.length > 1) {
      const d = present.splice(rng.int(present.length), 1)[0];
      removed.push(d);
      yield line(`pci ${d.name}: removing`);
    } else if (r < 0.006 && removed.length > 0) {
      const d = removed.splice(rng.int(removed.length), 1)[0];
      present.push(d);
      for (const text of deviceLines(d)) {
        if (n >= total) return;
        yield line(text);
      }
    } else if (r < 0.016) {
      const d = rng.pick(present);
      const bar = d.resources.find((x) => x.altStart !== undefined);
      if (bar === undefined) yield line(rng.pick(NOISE)(rng));
      else {
        const start = rng.chance(0.5) ? bar.altStart! : bar.start;
        const moved = { ...bar, start, end: start + (bar.end - bar.start) };
        yield line(`pci ${d.name}: BAR ${bar.index}: assigned ${pR(moved)}`);
      }
    } else {
      yield line(rng.pick(NOISE)(rng));
    }
  }
}

/** The hypervisor's lines of a serial console capture: version, command line, E820 table. */
function* xenLines(m: GenMachine): Generator<string> {
  const mib = Math.floor(m.nrPages / 256);
  yield `(XEN) Xen version ${m.xen} (mockbuild@build.example.org) (gcc (GCC) 4.8.2) debug=n`;
  yield `(XEN) Command line: dom0_mem=${mib}M,max:${mib}M loglvl=all com1=115200,8n1 console=com1`;
  yield "(XEN) Xen-e820 RAM map:";
  for (const e of m.e820) {
    const name = E820_NAMES[e.type] ?? `type ${e.type}`;
    yield `(XEN)  ${e.start.toString(16).padStart(16, "0")} - ${
      e.end.toString(16).padStart(16, "0")
    } (${name})`;
  }
  yield `(XEN) System RAM: ${m.hostRamBytes / 2 ** 20}MB`;
  yield "(XEN) *** LOADING DOMAIN 0 ***";
  // The builder prints nr_pages minus the pages of the chunk it allocated (64 MiB here).
  yield "(XEN) PHYSICAL MEMORY ARRANGEMENT:";
  yield `(XEN)  Dom0 alloc.:   0000000234000000->0000000238000000 (${
    m.nrPages - 16384
  } pages to be allocated)`;
}

function* bootLines(m: GenMachine, rng: Prng): Generator<string> {
  yield `Linux version ${m.kernel}-1-amd64 (debian-kernel@lists.debian.org) (gcc version 4.8.2 ` +
    `(Debian 4.8.2-4) ) #1 SMP Debian ${m.kernel}-2 (2013-12-29)`;
  yield `Command line: placeholder root=/dev/mapper/vg0-root ro console=hvc0 earlyprintk=xen`;
  const boot = bootPassLines(m);
  yield* boot.lines;
  yield "e820: BIOS-provided physical RAM map:";
  const populatedEnd = boot.maxPfn * PAGE;
  for (const e of m.e820) {
    let type = e.type;
    if (type === E820_TYPE.ram && e.start >= populatedEnd) type = E820_TYPE.unusable;
    if (type === E820_TYPE.ram && e.end > populatedEnd && e.start < populatedEnd) {
      yield `Xen: [mem ${hex16(e.start)}-${hex16(populatedEnd - 1)}] usable`;
      yield `Xen: [mem ${hex16(populatedEnd)}-${hex16(e.end - 1)}] unusable`;
      continue;
    }
    yield `Xen: [mem ${hex16(e.start)}-${hex16(e.end - 1)}] ${E820_NAMES[type] ?? `type ${type}`}`;
  }
  yield "NX (Execute Disable) protection: active";
  yield "SMBIOS 2.7 present.";
  yield `e820: last_pfn = ${hex(boot.maxPfn)} max_arch_pfn = 0x400000000`;
  yield "Booting paravirtualized kernel on Xen";
  yield `Xen version: ${m.xen} (preserve-AD)`;
  const kib = Math.floor(m.nrPages * 4 * 0.93);
  yield `Memory: ${kib}K/${m.nrPages * 4}K available (4864K kernel code, 1103K rwdata, ` +
    `1636K rodata, 1140K init, 1072K bss, ${m.nrPages * 4 - kib}K reserved)`;
  yield "xen:events: Using 2-level ABI";
  yield "xen:grant_table: Grant tables using version 2 layout";
  for (let i = 0; i < 20; i++) yield `ACPI: Added _OSI(Module Device) ${i}`;
  for (const b of m.buses) {
    yield `PCI host bridge to bus ${b.name}`;
    yield `pci_bus ${b.name}: root bus resource [bus ${b.name.slice(5)}-${
      (parseInt(b.name.slice(5), 16) + 0x3f).toString(16)
    }]`;
    for (const w of b.windows) yield `pci_bus ${b.name}: root bus resource ${pR(w)}`;
    for (const d of m.devices) {
      if (busOf(d, m) !== b) continue;
      yield* deviceLines(d);
      if (rng.chance(0.3)) yield `pci ${d.name}: PME# supported from D0 D3hot D3cold`;
    }
  }
  yield "xen:balloon: Initialising balloon driver";
  yield "xen: registering gsi 16 triggering 0 polarity 1";
}

function busOf(d: GenDevice, m: GenMachine): GenMachine["buses"][number] {
  const busNo = parseInt(d.name.slice(5, 7), 16);
  return m.buses[Math.min(m.buses.length - 1, Math.floor(busNo / 0x40))];
}

function deviceLines(d: GenDevice): string[] {
  const out = [`pci ${d.name}: [${d.ids}] type 00 class ${d.classCode}`];
  for (const r of d.resources) out.push(`pci ${d.name}: reg ${BAR_REG[r.index]}: ${pR(r)}`);
  return out;
}
