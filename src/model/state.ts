/**
 * The replayed guest: its P2M and everything the kernel code consults when it writes the P2M
 * (raw E820 map, max_pfn, extra memory, balloon list membership, hot-added memory, PCI devices
 * and host bridges, identity granted by a policy's BAR rules). A {@link ModelState} is
 * immutable; a {@link ModelDraft} is its transient, copy-on-write editor: the reducer mutates a
 * draft and `finish()` freezes it, returning the original object when nothing changed.
 *
 * @module
 */

import type { GuestFacts, PfnRange, Resource } from "../trace/event.ts";
import type { Policy } from "./policy.ts";
import type { LookupContext } from "../p2m/lookup.ts";
import { P2m, type P2mDraft, WriteLog } from "../p2m/table.ts";
import { PfnSet } from "../p2m/pfn_set.ts";
import { InvariantError } from "../errors.ts";

/** One raw E820 entry. */
export interface E820Entry {
  /** First byte. */
  start: number;
  /** Length in bytes. */
  size: number;
  /** Numeric E820 type. */
  type: number;
  /** Trace line it came from. */
  line: number;
}

/** A PCI device the guest told Xen about (or claimed, for pcifront). */
export interface DeviceState {
  /** `segment:bus:dev.fn`. */
  device: string;
  /** Current resources, by index. */
  resources: readonly Resource[];
  /** Step (seq) it was added at. */
  seq: number;
}

/** Identity a policy rule granted because of a BAR or window (for stale-identity checks). */
export interface IdentityGrant {
  /** The range written identity. */
  range: PfnRange;
  /** What asked for it, e.g. `0000:03:00.0 BAR 2` or `bus 0000:00 window`. */
  source: string;
  /** Device, when a device resource. */
  device?: string;
  /** Resource index, when a device resource. */
  index?: number;
  /** Step (seq) it was granted at. */
  seq: number;
}

/** The counts and ranges the modelled kernel printed for its boot pass. */
export interface BootReport {
  /** "Set N page(s) to 1-1 mapping". */
  identity: number;
  /** "Released N pages". */
  released: number;
  /** "Populating ...: N pages added", summed. */
  populated: number;
  /** "Remapped N page(s)". */
  remapped: number;
  /** Each set_phys_range_identity call: [pfn_s, pfn_s + count). */
  identityRanges: PfnRange[];
  /** Each "Freeing X-Y pfn range" with pages freed. */
  releasedRanges: (PfnRange & { pages: number })[];
  /** Each "Populating X-Y pfn range" with pages added. */
  populatedRanges: (PfnRange & { pages: number })[];
  /** Identity above the map (v3.16, beyond-e820): the range asked for and the count. */
  aboveMap?: PfnRange & { count: number };
  /**
   * v3.19+: how `xen_vmalloc_p2m_tree` sized the list. `size` is the printed `vm.size` in bytes,
   * `ALIGN(8 * max(xen_max_p2m_pfn, P2M_LIMIT), 2 MiB)`; `maxP2mPfn` is `xen_max_p2m_pfn`;
   * `limitPfns` the policy's P2M_LIMIT in PFNs.
   */
  p2mArea?: {
    size: number;
    maxP2mPfn: number;
    limitPfns: number;
    /**
     * A dom0 whose maximum reservation the trace does not state: `xen_max_p2m_pfn` had Xen
     * capped it at nr_pages (the model's own `maxP2mPfn` assumes no cap).
     */
    cappedMaxP2mPfn?: number;
  };
  /** Extra memory regions after the pass. */
  extra: PfnRange[];
  /** max_pfn after the pass. */
  maxPfn: number;
  /** The kernel's messages, in order. */
  messages: string[];
}

/** An immutable snapshot of the replayed guest. */
export interface ModelState {
  /** Guest facts from the header. */
  readonly guest: GuestFacts;
  /** The policy replayed under. */
  readonly policy: Policy;
  /** Lookup context derived from guest and policy. */
  readonly ctx: LookupContext;
  /** The P2M. */
  readonly p2m: P2m;
  /** Raw E820 map, sorted by start. */
  readonly e820: readonly E820Entry[];
  /** Result of the boot pass, once `memory_setup` ran. */
  readonly boot: BootReport | undefined;
  /** The kernel's max_pfn (nr_pages until the boot pass). */
  readonly maxPfn: number;
  /** Extra memory (balloon space) regions. */
  readonly extra: PfnSet;
  /** PFNs on the balloon list. */
  readonly balloon: PfnSet;
  /** The balloon driver has started. */
  readonly balloonStarted: boolean;
  /** Hot-added memory. */
  readonly hotplug: PfnSet;
  /** Devices by name. */
  readonly devices: ReadonlyMap<string, DeviceState>;
  /** Host bridge windows by root bus. */
  readonly bridges: ReadonlyMap<string, readonly Resource[]>;
  /** Identity granted by policy rules, in order. */
  readonly grants: readonly IdentityGrant[];
}

/**
 * The state before the first event: the P2M the domain was built with (`nrPages` from the
 * header), nothing else.
 *
 * @example
 * ```ts
 * import { initialState } from "./state.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * assert.equal(s.maxPfn, 0x40000);
 * ```
 */
export function initialState(guest: GuestFacts, policy: Policy): ModelState {
  const nr = guest.nrPages ?? 0;
  return {
    guest,
    policy,
    ctx: {
      autoTranslated: guest.type !== "pv",
      dom0: guest.domain === "dom0",
      pageIomap: policy.pageIomap,
      invalidIsIdentity: policy.invalidIsIdentity,
    },
    p2m: P2m.build(policy.kernel.structure, nr, policy.kernel.brkReserved),
    e820: [],
    boot: undefined,
    maxPfn: nr,
    extra: PfnSet.empty(),
    balloon: PfnSet.empty(),
    balloonStarted: false,
    hotplug: PfnSet.empty(),
    devices: new Map(),
    bridges: new Map(),
    grants: [],
  };
}

/** One edit of a draft's devices: `device` added or replaced, or removed. */
export interface DeviceEdit {
  /** The device's name (`segment:bus:dev.fn`). */
  readonly device: string;
  /** True when it was removed. */
  readonly removed: boolean;
}

/** How many device edits a {@link ModelDraft} keeps for {@link ModelDraft.devicesEditedSince}. */
export const DEVICE_LOG_EDITS = 1024;

/**
 * A transient editor of a {@link ModelState}. Parts are copied on their first write; the P2M is
 * a {@link P2mDraft} whose write log records what each step touched.
 */
export class ModelDraft {
  /** The P2M draft. */
  readonly p2m: P2mDraft;
  /** Step log (cleared by the caller between steps). */
  readonly log: WriteLog;
  #origin: ModelState;
  #edits = 0;
  #e820: E820Entry[] | undefined;
  #boot: BootReport | undefined;
  #maxPfn: number;
  #extra: PfnSet;
  #balloon: PfnSet;
  #balloonStarted: boolean;
  #hotplug: PfnSet;
  #devices: Map<string, DeviceState> | undefined;
  #devicesEdits = 0;
  // The last device edits, in order (`devicesEditedSince`): edit #deviceLogFirst first.
  #deviceLog: DeviceEdit[] = [];
  #deviceLogFirst = 0;
  #bridges: Map<string, readonly Resource[]> | undefined;
  #grants: IdentityGrant[] | undefined;

  /** Starts editing `origin`. */
  constructor(origin: ModelState, log: WriteLog = new WriteLog()) {
    this.#origin = origin;
    this.log = log;
    this.p2m = origin.p2m.draft(log);
    this.#boot = origin.boot;
    this.#maxPfn = origin.maxPfn;
    this.#extra = origin.extra;
    this.#balloon = origin.balloon;
    this.#balloonStarted = origin.balloonStarted;
    this.#hotplug = origin.hotplug;
  }

  /**
   * How many edits this draft has taken (its P2M's included): a step that leaves it where it
   * was changed nothing, so {@link ModelDraft.finish} would give the same state back. Lets a
   * caller learn whether a step changed the state without freezing one per step.
   */
  get edits(): number {
    return this.#edits + this.p2m.edits;
  }

  /** Guest facts. */
  get guest(): GuestFacts {
    return this.#origin.guest;
  }
  /** Policy. */
  get policy(): Policy {
    return this.#origin.policy;
  }
  /** Lookup context. */
  get ctx(): LookupContext {
    return this.#origin.ctx;
  }
  /** Raw E820 map, sorted. */
  get e820(): readonly E820Entry[] {
    return this.#e820 ?? this.#origin.e820;
  }
  /** Boot pass result. */
  get boot(): BootReport | undefined {
    return this.#boot;
  }
  /** max_pfn. */
  get maxPfn(): number {
    return this.#maxPfn;
  }
  /** Extra memory. */
  get extra(): PfnSet {
    return this.#extra;
  }
  /** Balloon list membership. */
  get balloon(): PfnSet {
    return this.#balloon;
  }
  /** Balloon driver started. */
  get balloonStarted(): boolean {
    return this.#balloonStarted;
  }
  /** Hot-added memory. */
  get hotplug(): PfnSet {
    return this.#hotplug;
  }
  /** Devices. */
  get devices(): ReadonlyMap<string, DeviceState> {
    return this.#devices ?? this.#origin.devices;
  }
  /**
   * How many times this draft has added, replaced or removed a device. With the identity of
   * {@link devices} it tells a cache built from the devices whether they are still the same: a
   * draft copies the map before its first device edit and no one else edits that copy.
   */
  get devicesEdits(): number {
    return this.#devicesEdits;
  }
  /**
   * The device edits this draft made from edit `since` on (`since` is a past value of
   * {@link devicesEdits}), in order; undefined when they are no longer kept (it keeps at most
   * the last {@link DEVICE_LOG_EDITS}). A cache built from {@link devices} at `since` catches up
   * with them instead of being built again.
   */
  devicesEditedSince(since: number): readonly DeviceEdit[] | undefined {
    if (since < this.#deviceLogFirst || since > this.#devicesEdits) return undefined;
    return this.#deviceLog.slice(since - this.#deviceLogFirst);
  }

  #logDeviceEdit(edit: DeviceEdit): void {
    if (this.#deviceLog.length >= DEVICE_LOG_EDITS) {
      this.#deviceLog = [];
      this.#deviceLogFirst = this.#devicesEdits;
    }
    this.#deviceLog.push(edit);
    this.#devicesEdits++;
  }

  /** Host bridges. */
  get bridges(): ReadonlyMap<string, readonly Resource[]> {
    return this.#bridges ?? this.#origin.bridges;
  }
  /** Identity grants. */
  get grants(): readonly IdentityGrant[] {
    return this.#grants ?? this.#origin.grants;
  }

  /** Inserts a raw E820 entry in start order. */
  addE820(entry: E820Entry): void {
    const list = this.#e820 ??= this.#origin.e820.slice();
    let i = list.length;
    while (i > 0 && list[i - 1].start > entry.start) i--;
    list.splice(i, 0, entry);
    this.#edits++;
  }

  /** Records the boot pass. */
  setBoot(boot: BootReport): void {
    this.#boot = boot;
    this.#edits++;
  }

  /** Sets max_pfn. */
  setMaxPfn(pfn: number): void {
    if (pfn !== this.#maxPfn) {
      this.#maxPfn = pfn;
      this.#edits++;
    }
  }

  #thaw(set: PfnSet): PfnSet {
    return set.frozen ? set.thaw() : set;
  }

  /** Adds `[a, b)` to extra memory; returns the PFNs that were not there. */
  extraAdd(a: number, b: number): number {
    this.#extra = this.#thaw(this.#extra);
    return this.#mark(this.#extra.add(a, b));
  }

  /** Removes `[a, b)` from extra memory; returns the PFNs that were there. */
  extraDelete(a: number, b: number): number {
    if (!this.#extra.overlaps(a, b)) return 0;
    this.#extra = this.#thaw(this.#extra);
    return this.#mark(this.#extra.delete(a, b));
  }

  /** Puts `[a, b)` on the balloon list; returns the PFNs that were not on it. */
  balloonAdd(a: number, b: number): number {
    this.#balloon = this.#thaw(this.#balloon);
    return this.#mark(this.#balloon.add(a, b));
  }

  /** Takes `[a, b)` off the balloon list; returns the PFNs that were on it. */
  balloonDelete(a: number, b: number): number {
    if (!this.#balloon.overlaps(a, b)) return 0;
    this.#balloon = this.#thaw(this.#balloon);
    return this.#mark(this.#balloon.delete(a, b));
  }

  /** Marks the balloon driver started. */
  startBalloon(): void {
    if (!this.#balloonStarted) {
      this.#balloonStarted = true;
      this.#edits++;
    }
  }

  /** Adds `[a, b)` to hot-added memory; returns the PFNs that were not there. */
  hotplugAdd(a: number, b: number): number {
    this.#hotplug = this.#thaw(this.#hotplug);
    return this.#mark(this.#hotplug.add(a, b));
  }

  #mark(n: number): number {
    if (n > 0) this.#edits++;
    return n;
  }

  /** Adds or replaces a device. */
  setDevice(d: DeviceState): void {
    (this.#devices ??= new Map(this.#origin.devices)).set(d.device, d);
    this.#logDeviceEdit({ device: d.device, removed: false });
    this.#edits++;
  }

  /** Removes a device; returns it. */
  removeDevice(name: string): DeviceState | undefined {
    const d = this.devices.get(name);
    if (d) {
      (this.#devices ??= new Map(this.#origin.devices)).delete(name);
      this.#logDeviceEdit({ device: name, removed: true });
      this.#edits++;
    }
    return d;
  }

  /** Adds or replaces a host bridge. */
  setBridge(bus: string, resources: readonly Resource[]): void {
    (this.#bridges ??= new Map(this.#origin.bridges)).set(bus, resources);
    this.#edits++;
  }

  /** Records an identity grant. */
  addGrant(g: IdentityGrant): void {
    (this.#grants ??= this.#origin.grants.slice()).push(g);
    this.#edits++;
  }

  /**
   * Freezes the draft into a state; returns the original when nothing changed. The draft must
   * not be used afterwards.
   */
  finish(): ModelState {
    const p2m = this.p2m.finish();
    const o = this.#origin;
    if (this.#edits === 0 && p2m === o.p2m) return o;
    return {
      guest: o.guest,
      policy: o.policy,
      ctx: o.ctx,
      p2m,
      e820: this.#e820 ?? o.e820,
      boot: this.#boot,
      maxPfn: this.#maxPfn,
      extra: this.#extra.freeze(),
      balloon: this.#balloon.freeze(),
      balloonStarted: this.#balloonStarted,
      hotplug: this.#hotplug.freeze(),
      devices: this.#devices ?? o.devices,
      bridges: this.#bridges ?? o.bridges,
      grants: this.#grants ?? o.grants,
    };
  }
}

/**
 * Walks every structure of a state — the P2M ({@link P2m.validate}), extra memory, the balloon
 * list, hot-added memory — and throws `InvariantError` naming the first broken invariant.
 * Costs O(private P2M pages + ranges): a debugging aid (`replay --paranoid`), not for every run.
 *
 * @example
 * ```ts
 * import { initialState, validateState } from "./state.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * validateState(initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * ));
 * ```
 */
export function validateState(s: ModelState | ModelDraft): void {
  s.p2m.validate();
  s.extra.validate("extra memory");
  s.balloon.validate("balloon list");
  s.hotplug.validate("hot-added memory");
  if (!Number.isSafeInteger(s.maxPfn) || s.maxPfn < 0) {
    throw new InvariantError(`max_pfn is ${s.maxPfn}`);
  }
}
