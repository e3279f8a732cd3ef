/**
 * A deterministic trace generator: seed and length in, trace lines out. The mix follows what a
 * recorder sees on a dom0 that runs for a long time:
 *
 * - boot: the machine's raw E820 map, the boot pass (`memory_setup`), the root buses with their
 *   windows, tens of devices (`xen_add_device`), the balloon driver's start;
 * - runtime, in waves: the balloon moves towards a new target page by page (80% of calls move
 *   one page, the rest a list of 2-32), out with `decrease_reservation` and back in with
 *   `increase_reservation` (or, for 5%, `balloon_retrieve`); pages leave the way the page
 *   allocator hands them out (mostly descending runs, with jumps) and come back last out first
 *   in, as the kernel's balloon list does; the hypervisor's frames for returning pages are
 *   recorded half of the time;
 * - around that: lookups by drivers (RAM and device BARs), BAR reassignments, device unplug and
 *   replug, two memory hot-adds (a section each, whose pages go on the balloon), marks;
 * - at 90% of the trace, a GPU is hot-added with a BAR in its root bus's 64-bit window above the
 *   E820 map and its driver looks it up: under `linux-3.12` that is the `lookup-zero` finding,
 *   the one finding the trace is built to have (for `bisect` and `minimize`).
 *
 * The normal mix replays without `trace-anomaly` findings under every policy: a page is
 * ballooned out only when it is not on the balloon list and back in only when it is, and only
 * added devices are removed.
 *
 * @module
 */

import { TOOL_NAME } from "../version.ts";
import { hex } from "../trace/hex.ts";
import { E820_TYPE_NAME } from "../trace/validate.ts";
import { Prng } from "./prng.ts";
import { drawMachine, type GenDevice, type GenMachine, type GenResource, PAGE } from "./machine.ts";

/** Bumped whenever the generator's output for a seed changes. */
export const TRACE_GENERATOR_VERSION = 1;

/** Options of {@link generateTrace}. */
export interface TraceGenOptions {
  /** Number of event lines (the header and the end record are extra). */
  events: number;
  /** Seed (a non-negative safe integer). */
  seed: number;
  /** Hot-add the device with a BAR above the E820 map at 90% (default true). */
  plantFinding?: boolean;
}

const DRIVERS_BY_LOOKUP = ["xen-netback", "xen-blkback", "gntdev", "privcmd", "xenfs"];

function resourceJson(r: GenResource, withIndex: boolean): string {
  const name = withIndex ? `"index":${r.index},` : "";
  return `{${name}"start":"${hex(r.start)}","end":"${hex(r.end)}","flags":"${hex(r.flags)}"}`;
}

function deviceResourcesJson(d: GenDevice): string {
  return `[${d.resources.map((r) => resourceJson(r, true)).join(",")}]`;
}

/**
 * The trace's lines (header, `events` event lines, end record), without line terminators.
 *
 * @example
 * ```ts
 * import { generateTrace } from "./trace_gen.ts";
 * import assert from "node:assert/strict";
 * const lines = [...generateTrace({ events: 200, seed: 7 })];
 * assert.equal(lines.length, 202);
 * assert.equal(JSON.parse(lines[0]).format, "p2mtrace");
 * assert.deepEqual(JSON.parse(lines[201]), { kind: "end", events: 200 });
 * assert.deepEqual([...generateTrace({ events: 200, seed: 7 })], lines);
 * ```
 */
export function* generateTrace(opts: TraceGenOptions): Generator<string> {
  const total = opts.events;
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`events must be a non-negative integer, got ${total}`);
  }
  const rng = new Prng(opts.seed);
  const m = drawMachine(rng);
  yield headerJson(m, opts);
  const g = new Runtime(rng, m, total, opts.plantFinding ?? true);
  let seq = 0;
  for (const body of bootEvents(m)) {
    if (seq >= total) break;
    seq++;
    yield `{"seq":${seq},"time":0.0,"kind":${body}}`;
  }
  while (seq < total) {
    seq++;
    const body = g.next(seq);
    yield `{"seq":${seq},"time":${g.time.toFixed(6)},"kind":${body}}`;
  }
  yield `{"kind":"end","events":${total}}`;
}

function headerJson(m: GenMachine, opts: TraceGenOptions): string {
  return JSON.stringify({
    format: "p2mtrace",
    version: 1,
    producer: `${TOOL_NAME} generate v${TRACE_GENERATOR_VERSION}`,
    id: `generated-seed${opts.seed}-events${opts.events}`,
    guest: {
      type: "pv",
      domain: "dom0",
      arch: "x86_64",
      page_size: 4096,
      kernel: m.kernel,
      xen: m.xen,
      nr_pages: hex(m.nrPages),
    },
    description: `Generated (seed ${opts.seed}): dom0 with ${m.nrPages} pages on a ` +
      `${m.hostRamBytes / 2 ** 30} GiB host, ${m.buses.length} root bus(es), ` +
      `${m.devices.length} devices; balloon waves, lookups, BAR reassignments, device and ` +
      `memory hotplug.`,
  });
}

/** Boot events as the part of the line after `"kind":`. */
function* bootEvents(m: GenMachine): Generator<string> {
  for (const e of m.e820) {
    yield `"e820","start":"${hex(e.start)}","end":"${hex(e.end - 1)}","type":"${
      E820_TYPE_NAME.get(e.type)
    }"`;
  }
  yield `"memory_setup","max_reservation":"${hex(m.nrPages)}"`;
  for (const b of m.buses) {
    yield `"pci_host_bridge","bus":"${b.name}","resources":[${
      b.windows.map((w) => resourceJson(w, false)).join(",")
    }]`;
  }
  for (const d of m.devices) {
    yield `"xen_add_device","device":"${d.name}","resources":${deviceResourcesJson(d)}`;
  }
  yield `"balloon_init"`;
}

const OUT = 0, IN = 1;

/** The runtime state the generator keeps so the trace stays consistent. */
class Runtime {
  time = 1.5;
  #rng: Prng;
  #m: GenMachine;
  /** Pages on the balloon list, last in first out. */
  #stack: Int32Array;
  #depth = 0;
  /** 1 when a PFN is on the balloon list. */
  #ballooned: Uint8Array;
  #poolPages: number;
  #cursor: number;
  #dir = OUT;
  #waveLeft = 0;
  #mfnNext: number;
  #present: GenDevice[];
  #removed: GenDevice[] = [];
  #hotplugs = 0;
  #hotplugAt: number[];
  #lateAt: number;
  #lateState = 0;
  #moved = new Set<string>();

  constructor(rng: Prng, m: GenMachine, total: number, plant: boolean) {
    this.#rng = rng;
    this.#m = m;
    this.#poolPages = m.ramPool.reduce((n, [a, b]) => n + b - a, 0);
    const maxPfn = m.hotplugBasePfn + 2 * 32768;
    this.#ballooned = new Uint8Array(maxPfn);
    this.#stack = new Int32Array(this.#poolPages + 2 * 32768);
    this.#cursor = m.ramPool[0][1] - 1;
    this.#mfnNext = 0x200000 + rng.int(0x100000);
    this.#present = m.devices.slice();
    this.#hotplugAt = [Math.floor(total * 0.3), Math.floor(total * 0.6)];
    this.#lateAt = plant ? Math.floor(total * 0.9) : -1;
  }

  /** The body of event `seq` (after `"kind":`). */
  next(seq: number): string {
    const rng = this.#rng;
    this.time += 0.0005 + rng.float() * 0.002;
    if (seq === this.#lateAt && this.#lateState === 0) {
      this.#lateState = 1;
      const d = this.#m.lateDevice;
      return `"xen_add_device","device":"${d.name}","resources":${deviceResourcesJson(d)}`;
    }
    if (this.#lateState === 1) {
      this.#lateState = 2;
      const bar = this.#m.lateDevice.resources[this.#m.lateDevice.resources.length - 1];
      return `"lookup","pfn":"${hex(Math.floor(bar.start / PAGE))}","by":"nvidia"`;
    }
    if (this.#hotplugs < this.#hotplugAt.length && seq >= this.#hotplugAt[this.#hotplugs]) {
      return this.#memoryHotplug();
    }
    if (this.#waveLeft === 0) return this.#newWave();
    switch (rng.weighted([86, 10, 1.5, 0.5, 1])) {
      case 0:
        return this.#balloonStep();
      case 1:
        return this.#lookup();
      case 2:
        return this.#reassign();
      case 3:
        return this.#deviceHotplug();
      default:
        return `"mark","text":"${rng.pick(MARKS)}"`;
    }
  }

  #newWave(): string {
    const rng = this.#rng;
    const fill = this.#depth / this.#poolPages;
    this.#dir = fill < 0.05 ? OUT : fill > 0.5 ? IN : rng.chance(0.5) ? OUT : IN;
    const room = this.#dir === OUT ? Math.floor(this.#poolPages * 0.6) - this.#depth : this.#depth;
    this.#waveLeft = Math.max(1, Math.min(room, 1 + rng.int(Math.floor(this.#poolPages / 8))));
    const pages = this.#m.nrPages - this.#depth +
      (this.#dir === OUT ? -this.#waveLeft : this.#waveLeft);
    return `"mark","text":"balloon target ${pages * 4} KiB"`;
  }

  #balloonStep(): string {
    const rng = this.#rng;
    let n = rng.chance(0.8) ? 1 : rng.range(2, 32);
    if (this.#dir === OUT) {
      n = Math.min(n, this.#waveLeft, Math.floor(this.#poolPages * 0.6) - this.#depth);
      if (n <= 0) {
        this.#waveLeft = 0;
        return this.#lookup();
      }
      const pfns: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = this.#allocate();
        this.#ballooned[p] = 1;
        this.#stack[this.#depth++] = p;
        pfns.push(p);
      }
      this.#waveLeft -= n;
      const scratch = rng.chance(0.9) ? `,"scratch_mfn":"0x1f3e0"` : "";
      return `"decrease_reservation",${pfnField(pfns)}${scratch}`;
    }
    n = Math.min(n, this.#waveLeft, this.#depth);
    if (n <= 0) {
      this.#waveLeft = 0;
      return this.#lookup();
    }
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.#stack[--this.#depth];
      this.#ballooned[p] = 0;
      pfns.push(p);
    }
    this.#waveLeft -= n;
    const kind = rng.chance(0.05) ? "balloon_retrieve" : "increase_reservation";
    let mfn = "";
    if (kind === "balloon_retrieve" || rng.chance(0.5)) {
      mfn = `,"mfn":"${hex(this.#mfnNext)}"`;
      this.#mfnNext += n;
    }
    return `"${kind}",${pfnField(pfns)}${mfn}`;
  }

  /** A page the allocator hands out: not on the balloon list, inside the RAM pool. */
  #allocate(): number {
    const rng = this.#rng;
    const pool = this.#m.ramPool;
    for (;;) {
      if (rng.chance(1 / 64)) this.#cursor = this.#randomPoolPfn();
      for (let tries = 0; tries < 64; tries++) {
        const p = this.#cursor;
        this.#cursor--;
        const inPool = pool.some(([a, b]) => p >= a && p < b);
        if (!inPool) {
          this.#cursor = this.#randomPoolPfn();
          continue;
        }
        if (this.#ballooned[p] === 0) return p;
      }
      this.#cursor = this.#randomPoolPfn();
    }
  }

  #randomPoolPfn(): number {
    let x = this.#rng.int(this.#poolPages);
    for (const [a, b] of this.#m.ramPool) {
      if (x < b - a) return a + x;
      x -= b - a;
    }
    return this.#m.ramPool[0][0];
  }

  #lookup(): string {
    const rng = this.#rng;
    const r = rng.float();
    if (r < 0.55) {
      for (let i = 0; i < 4; i++) {
        const p = this.#randomPoolPfn();
        if (this.#ballooned[p] === 0) {
          const via = rng.chance(0.2) ? `,"via":"pfn_to_mfn"` : "";
          return `"lookup","pfn":"${hex(p)}"${via},"by":"${rng.pick(DRIVERS_BY_LOOKUP)}"`;
        }
      }
    }
    const d = rng.pick(this.#present.length > 0 ? this.#present : this.#m.devices);
    const mem = d.resources.filter((x) => x.flags & 0x200);
    if (mem.length === 0) return `"mark","text":"${d.name} has no memory BAR"`;
    const bar = rng.pick(mem);
    const start = this.#moved.has(`${d.name}/${bar.index}`) ? bar.altStart! : bar.start;
    const pfn = Math.floor(start / PAGE) + rng.int(Math.floor((bar.end - bar.start + 1) / PAGE));
    const iomap = rng.chance(0.5) ? `,"iomap":true` : "";
    return `"lookup","pfn":"${hex(pfn)}"${iomap},"by":"${d.driver}"`;
  }

  #reassign(): string {
    const rng = this.#rng;
    const d = rng.pick(this.#present.length > 0 ? this.#present : this.#m.devices);
    const movable = d.resources.filter((x) => x.altStart !== undefined);
    if (movable.length === 0 || !this.#present.includes(d)) return this.#lookup();
    const bar = rng.pick(movable);
    const key = `${d.name}/${bar.index}`;
    const moved = this.#moved.has(key);
    if (moved) this.#moved.delete(key);
    else this.#moved.add(key);
    const start = moved ? bar.start : bar.altStart!;
    const end = start + (bar.end - bar.start);
    return `"pci_resource_assign","device":"${d.name}","index":${bar.index},"start":"${
      hex(start)
    }","end":"${hex(end)}","flags":"${hex(bar.flags)}","action":"reassigned"`;
  }

  #deviceHotplug(): string {
    const rng = this.#rng;
    if (this.#removed.length > 0 && (this.#present.length < 2 || rng.chance(0.5))) {
      const d = this.#removed.splice(rng.int(this.#removed.length), 1)[0];
      this.#present.push(d);
      for (const r of d.resources) this.#moved.delete(`${d.name}/${r.index}`);
      return `"xen_add_device","device":"${d.name}","resources":${deviceResourcesJson(d)}`;
    }
    if (this.#present.length === 0) return this.#lookup();
    const d = this.#present.splice(rng.int(this.#present.length), 1)[0];
    this.#removed.push(d);
    return `"xen_remove_device","device":"${d.name}"`;
  }

  #memoryHotplug(): string {
    const base = this.#m.hotplugBasePfn + this.#hotplugs * 32768;
    this.#hotplugs++;
    // Onlined pages go on the balloon list (the memory_hotplug event does that); they come
    // back from Xen last out first in like every other ballooned page.
    for (let p = base + 32768 - 1; p >= base; p--) {
      this.#ballooned[p] = 1;
      this.#stack[this.#depth++] = p;
    }
    return `"memory_hotplug","start":"${hex(base * PAGE)}","size":"0x8000000"`;
  }
}

function pfnField(pfns: number[]): string {
  if (pfns.length === 1) return `"pfn":"${hex(pfns[0])}"`;
  return `"pfns":[${pfns.map((p) => `"${hex(p)}"`).join(",")}]`;
}

const MARKS = [
  "xl mem-set dom0 requested",
  "backend vif1.0 connected",
  "guest domU-17 started",
  "guest domU-17 destroyed",
  "xenstored: watch fired on memory/target",
];
