/**
 * The line format `tools/p2mtrace.bt` prints, version 1 (docs/runtime-tracing.md):
 *
 * ```text
 * p2mtrace1 <nsecs> <kind> key=value key=value ...
 * ```
 *
 * `p2mtrace1` names the format and its version; `<nsecs>` is bpftrace's `nsecs` (ns since boot,
 * decimal); values never contain spaces. Kinds and their keys (all required unless marked `?`):
 *
 * | kind | keys | printed by |
 * | --- | --- | --- |
 * | `begin` | `script` | BEGIN |
 * | `end` | – | END |
 * | `p2m` | `fn`, `pfn`, `value`, `ok`, `tid`, `caller`, `ctx`, `ctxcaller` | return of the outermost `set_phys_to_machine` / `__set_phys_to_machine` |
 * | `pci_dev` | `dev`, `vendor`, `device`, `class` | entry of `pci_device_add` |
 * | `pci_res` | `dev`, `index`, `start`, `end`, `flags` | after `pci_dev`, one per non-empty resource |
 * | `pci_notify` | `action` (`add`/`del`), `dev` | entry of `xen_pci_notifier` (dom0 only) |
 * | `pci_assign` | `fn`, `dev`, `index`, `ret`, `start`, `end`, `flags` | return of `pci_assign_resource` and friends |
 * | `mem_add` | `start`, `end` | entry of `add_memory_resource` |
 * | `balloon_target` | `pages` | entry of `balloon_set_new_target` |
 *
 * Lines that do not start with `p2mtrace` are bpftrace's own chatter (`Attaching 14 probes...`,
 * map dumps at exit) and are skipped; `Lost N events` is recognised. A `p2mtrace1` line of an
 * unknown kind is skipped with a warning (a newer script); a malformed line of a known kind is a
 * {@link BpftraceLineError} naming the line and the field.
 *
 * @module
 */

import { type SourcePosition, TraceError } from "../../errors.ts";
import { ADDR_LIMIT, FRAME_LIMIT } from "../../trace/hex.ts";

/** The prefix of every line of format version 1. */
export const LINE_PREFIX = "p2mtrace1";
/** The script version this importer understands in `begin script=`. */
export const SCRIPT_VERSION = 1;

/**
 * A malformed line of the bpftrace output: the message names file, line, field and what was
 * expected.
 *
 * @example
 * ```ts
 * import { BpftraceLineError } from "./line_format.ts";
 * import assert from "node:assert/strict";
 * const e = new BpftraceLineError({ file: "out.txt", line: 7 }, "pfn", '"0x..." hex', '"12"');
 * assert.equal(e.message, 'out.txt:7: field "pfn": expected "0x..." hex, got "12"');
 * ```
 */
export class BpftraceLineError extends TraceError {
  /** Builds the error; see {@link TraceError}. */
  constructor(position: SourcePosition, field: string | undefined, expected: string, got?: string) {
    super(position, field, expected, got);
    this.name = "BpftraceLineError";
  }
}

/** Fields every record of a p2mtrace line has. */
export interface RecordBase {
  /** 1-based line in the output file. */
  line: number;
  /** bpftrace `nsecs`. */
  ns: number;
}

/** `begin`: the script started. */
export interface BeginRecord extends RecordBase {
  /** Discriminant. */
  kind: "begin";
  /** The script's version. */
  script: number;
}

/** `end`: the script stopped cleanly. */
export interface EndRecord extends RecordBase {
  /** Discriminant. */
  kind: "end";
}

/** Which P2M write primitive a `p2m` line reports. */
export type P2mWriteFn = "set_phys_to_machine" | "__set_phys_to_machine";

/** `p2m`: one P2M write, reported on return. */
export interface P2mRecord extends RecordBase {
  /** Discriminant. */
  kind: "p2m";
  /** The primitive. */
  fn: P2mWriteFn;
  /** The PFN written. */
  pfn: number;
  /** The 64-bit value written (an MFN, possibly with FOREIGN/IDENTITY bits, or INVALID). */
  value: bigint;
  /** The primitive's return value. */
  ok: boolean;
  /** Kernel thread id (writes of one batch share it). */
  tid: number;
  /** The caller's symbol (after inlining: the function the call sits in), or `-`. */
  caller: string;
  /** The enclosing reservation helper (`decrease_reservation`, `__xenmem_reservation_va_mapping_*`), or `-`. */
  ctx: string;
  /** That helper's caller, or `-`. */
  ctxCaller: string;
}

/** `pci_dev`: a device is being added (`pci_device_add`). */
export interface PciDevRecord extends RecordBase {
  /** Discriminant. */
  kind: "pci_dev";
  /** `ssss:bb:dd.f`. */
  dev: string;
  /** Vendor id. */
  vendor: number;
  /** Device id. */
  device: number;
  /** Class code (24 bits). */
  class: number;
}

/** `pci_res`: one non-empty resource of the device being added. */
export interface PciResRecord extends RecordBase {
  /** Discriminant. */
  kind: "pci_res";
  /** `ssss:bb:dd.f`. */
  dev: string;
  /** Resource index. */
  index: number;
  /** First byte or port. */
  start: number;
  /** Last byte or port (inclusive). */
  end: number;
  /** IORESOURCE_* flags. */
  flags: number;
}

/** `pci_notify`: the Xen PCI bus notifier fired (dom0). */
export interface PciNotifyRecord extends RecordBase {
  /** Discriminant. */
  kind: "pci_notify";
  /** BUS_NOTIFY_ADD_DEVICE or BUS_NOTIFY_DEL_DEVICE. */
  action: "add" | "del";
  /** `ssss:bb:dd.f`. */
  dev: string;
}

/** Functions reported by `pci_assign`. */
export type PciAssignFn =
  | "pci_assign_resource"
  | "pci_reassign_resource"
  | "pci_claim_resource"
  | "pci_release_resource";

/** `pci_assign`: a resource was assigned, reassigned, claimed or released. */
export interface PciAssignRecord extends RecordBase {
  /** Discriminant. */
  kind: "pci_assign";
  /** The kernel function. */
  fn: PciAssignFn;
  /** `ssss:bb:dd.f`. */
  dev: string;
  /** Resource index. */
  index: number;
  /** Return value (0 = success). */
  ret: number;
  /** First byte or port after the call. */
  start: number;
  /** Last byte or port after the call (inclusive). */
  end: number;
  /** IORESOURCE_* flags after the call. */
  flags: number;
}

/** `mem_add`: memory is being hot-added. */
export interface MemAddRecord extends RecordBase {
  /** Discriminant. */
  kind: "mem_add";
  /** First byte. */
  start: number;
  /** Last byte (inclusive). */
  end: number;
}

/** `balloon_target`: a new balloon target. */
export interface BalloonTargetRecord extends RecordBase {
  /** Discriminant. */
  kind: "balloon_target";
  /** Target in pages. */
  pages: number;
}

/** bpftrace's own `Lost N events` line. */
export interface LostRecord {
  /** Discriminant. */
  kind: "lost";
  /** 1-based line. */
  line: number;
  /** Events lost. */
  count: number;
}

/** A recognised line. */
export type BpftraceRecord =
  | BeginRecord
  | EndRecord
  | P2mRecord
  | PciDevRecord
  | PciResRecord
  | PciNotifyRecord
  | PciAssignRecord
  | MemAddRecord
  | BalloonTargetRecord
  | LostRecord;

/** What one line turned out to be. */
export type LineResult =
  | { record: BpftraceRecord }
  | { skipped: "chatter" }
  | { skipped: "unknown-kind"; kind: string };

const KINDS = [
  "begin",
  "end",
  "p2m",
  "pci_dev",
  "pci_res",
  "pci_notify",
  "pci_assign",
  "mem_add",
  "balloon_target",
] as const;

const PCI_DEVICE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;
const SYMBOL = /^(-|[A-Za-z_.$][\w.$]*(\+0x[0-9a-f]+)?)$/;
const HEX = /^0x[0-9a-fA-F]{1,16}$/;

class Fields {
  readonly #map = new Map<string, string>();

  constructor(readonly pos: SourcePosition, pairs: string[]) {
    for (const p of pairs) {
      const eq = p.indexOf("=");
      if (eq <= 0) this.fail(undefined, '"key=value" pairs', JSON.stringify(p));
      const key = p.slice(0, eq);
      if (this.#map.has(key)) this.fail(key, "each key once", "it twice");
      this.#map.set(key, p.slice(eq + 1));
    }
  }

  fail(field: string | undefined, expected: string, got?: string): never {
    throw new BpftraceLineError(this.pos, field, expected, got);
  }

  get(key: string): string {
    const v = this.#map.get(key);
    if (v === undefined) this.fail(key, "this key (it is required)", "nothing");
    return v;
  }

  u64(key: string): bigint {
    const v = this.get(key);
    if (!HEX.test(v)) this.fail(key, 'a "0x..." hex value of at most 16 digits', JSON.stringify(v));
    return BigInt(v);
  }

  hexBelow(key: string, limit: number, what: string): number {
    const v = this.u64(key);
    if (v >= BigInt(limit)) this.fail(key, what, this.get(key));
    return Number(v);
  }

  decimal(key: string, signed = false): number {
    const v = this.get(key);
    const n = (signed ? /^-?\d{1,16}$/ : /^\d{1,16}$/).test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) {
      this.fail(key, `a ${signed ? "" : "non-negative "}decimal integer`, JSON.stringify(v));
    }
    return n;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.get(key);
    if (!(values as readonly string[]).includes(v)) {
      this.fail(key, `one of ${values.join(", ")}`, JSON.stringify(v));
    }
    return v as T;
  }

  device(key: string): string {
    const v = this.get(key);
    if (!PCI_DEVICE.test(v)) {
      this.fail(key, 'a PCI device "ssss:bb:dd.f" in lower-case hex', JSON.stringify(v));
    }
    return v;
  }

  symbol(key: string): string {
    const v = this.get(key);
    if (!SYMBOL.test(v)) this.fail(key, "a kernel symbol name or -", JSON.stringify(v));
    return v.replace(/\+0x[0-9a-f]+$/, "");
  }

  index(): number {
    const n = this.decimal("index");
    if (n >= 64) {
      this.fail("index", "a resource index below 64 (PCI_NUM_RESOURCES is 17)", String(n));
    }
    return n;
  }

  range(): [number, number] {
    const start = this.hexBelow("start", ADDR_LIMIT, "an address below 2^52");
    const end = this.hexBelow("end", ADDR_LIMIT, "an address below 2^52");
    if (end < start) {
      this.fail("end", `an inclusive end not below start 0x${start.toString(16)}`, this.get("end"));
    }
    return [start, end];
  }
}

/**
 * Parses one line of the script's output.
 *
 * @example
 * ```ts
 * import { parseBpftraceLine } from "./line_format.ts";
 * import assert from "node:assert/strict";
 * const r = parseBpftraceLine(
 *   "p2mtrace1 5000000000 p2m fn=__set_phys_to_machine pfn=0x1f000 value=0xffffffffffffffff " +
 *     "ok=1 tid=31 caller=__xenmem_reservation_va_mapping_reset ctx=decrease_reservation " +
 *     "ctxcaller=balloon_thread",
 *   { file: "out.txt", line: 3 },
 * );
 * assert.ok("record" in r && r.record.kind === "p2m" && r.record.value === 0xffffffffffffffffn);
 * assert.deepEqual(parseBpftraceLine("Attaching 14 probes...", { file: "out.txt", line: 1 }),
 *   { skipped: "chatter" });
 * ```
 */
export function parseBpftraceLine(text: string, pos: SourcePosition): LineResult {
  const t = text.trim();
  const lost = /^Lost (\d+) events?$/.exec(t);
  if (lost) return { record: { kind: "lost", line: pos.line, count: Number(lost[1]) } };
  if (!t.startsWith("p2mtrace")) return { skipped: "chatter" };
  const words = t.split(/\s+/);
  if (words[0] !== LINE_PREFIX) {
    throw new BpftraceLineError(
      pos,
      undefined,
      `lines of format version 1 ("${LINE_PREFIX} <nsecs> <kind> key=value...")`,
      JSON.stringify(words[0]),
    );
  }
  const nsText = words[1] ?? "";
  if (!/^\d{1,19}$/.test(nsText) || !Number.isSafeInteger(Number(nsText))) {
    throw new BpftraceLineError(
      pos,
      "nsecs",
      "a decimal timestamp in ns after the prefix",
      JSON.stringify(nsText),
    );
  }
  const kind = words[2];
  if (kind === undefined) throw new BpftraceLineError(pos, "kind", "an event kind", "nothing");
  if (!(KINDS as readonly string[]).includes(kind)) return { skipped: "unknown-kind", kind };
  const f = new Fields(pos, words.slice(3));
  const base = { line: pos.line, ns: Number(nsText) };
  switch (kind as typeof KINDS[number]) {
    case "begin":
      return { record: { ...base, kind: "begin", script: f.decimal("script") } };
    case "end":
      return { record: { ...base, kind: "end" } };
    case "p2m":
      return {
        record: {
          ...base,
          kind: "p2m",
          fn: f.oneOf<P2mWriteFn>("fn", ["set_phys_to_machine", "__set_phys_to_machine"]),
          pfn: f.hexBelow("pfn", FRAME_LIMIT, "a PFN below 2^40"),
          value: f.u64("value"),
          ok: f.oneOf("ok", ["0", "1"]) === "1",
          tid: f.decimal("tid"),
          caller: f.symbol("caller"),
          ctx: f.symbol("ctx"),
          ctxCaller: f.symbol("ctxcaller"),
        },
      };
    case "pci_dev":
      return {
        record: {
          ...base,
          kind: "pci_dev",
          dev: f.device("dev"),
          vendor: f.hexBelow("vendor", 0x10000, "a 16-bit vendor id"),
          device: f.hexBelow("device", 0x10000, "a 16-bit device id"),
          class: f.hexBelow("class", 0x1000000, "a 24-bit class code"),
        },
      };
    case "pci_res": {
      const dev = f.device("dev");
      const index = f.index();
      const [start, end] = f.range();
      const flags = f.hexBelow("flags", 2 ** 32, "IORESOURCE_* flags below 2^32");
      return { record: { ...base, kind: "pci_res", dev, index, start, end, flags } };
    }
    case "pci_notify":
      return {
        record: {
          ...base,
          kind: "pci_notify",
          action: f.oneOf("action", ["add", "del"]),
          dev: f.device("dev"),
        },
      };
    case "pci_assign": {
      const fn = f.oneOf<PciAssignFn>("fn", [
        "pci_assign_resource",
        "pci_reassign_resource",
        "pci_claim_resource",
        "pci_release_resource",
      ]);
      const dev = f.device("dev");
      const index = f.index();
      const ret = f.decimal("ret", true);
      const [start, end] = f.range();
      const flags = f.hexBelow("flags", 2 ** 32, "IORESOURCE_* flags below 2^32");
      return { record: { ...base, kind: "pci_assign", fn, dev, index, ret, start, end, flags } };
    }
    case "mem_add": {
      const [start, end] = f.range();
      return { record: { ...base, kind: "mem_add", start, end } };
    }
    case "balloon_target":
      return { record: { ...base, kind: "balloon_target", pages: f.decimal("pages") } };
  }
}
