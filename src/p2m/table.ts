/**
 * The P2M table of one kernel era, modelled structurally: a top level of mid pointers (one per
 * GiB of PFN space), mid pages of 512 leaf pointers, and leaves of 512 entries, with the shared
 * pages the kernel uses — the missing leaf, the identity leaf, the mid-missing page and (v3.16+)
 * the mid-identity page. Lookups follow pointers exactly as `get_phys_to_machine` does, so a
 * write into a shared page, a whole-leaf or whole-GiB identity swap, an alias through the shared
 * mid-missing page, "outside the tree" and the boot-page (brk) budget all fall out of the
 * structure instead of being approximated.
 *
 * Invariants: every top slot holds a private mid or one of the shared mids; every mid slot holds
 * a private leaf or a shared leaf; a private leaf's entries are coalesced runs
 * (`leaf_runs.ts`). Memory is O(private mids + private leaves + runs): a range of any length
 * that lands on shared pages costs O(1) per GiB or leaf touched, never O(pages).
 *
 * Persistence: a table is immutable. {@link P2m.draft} returns a mutable copy that shares every
 * page with its origin and copies a page the first time it writes it (copy-on-write by owner
 * token, like Clojure transients); {@link P2mDraft.finish} freezes it. Old tables stay valid.
 *
 * | operation | cost |
 * | --- | --- |
 * | `entry(pfn)` | O(log runs in a leaf) |
 * | `forEachRun(a, b)` | O(GiBs + leaves + runs in range) |
 * | write of a range | O(GiBs + leaves touched + runs), plus one page copy per page first written in a draft |
 *
 * @module
 */

import {
  BRK_RESERVED,
  MAX_DOMAIN_PAGES,
  MAX_P2M_PFN,
  P2M_MID_PER_PAGE,
  P2M_PER_PAGE,
  PFNS_PER_MID,
} from "./constants.ts";
import {
  continues,
  entryAt,
  holds,
  increments,
  K,
  runAt,
  runEnd,
  runsProblem,
  uniformRuns,
  writeRuns,
  writeRunsInPlace,
} from "./leaf_runs.ts";
import { PfnSet } from "./pfn_set.ts";
import { InvariantError } from "../errors.ts";

/** Kernel era of the P2M code: 3-level tree v3.10-3.15, tree after 3.16, linear list 3.19+. */
export type Era = "T12" | "T16" | "L19";

/** Which structure answered a lookup. */
export type Structure =
  | "private-leaf"
  | "identity-leaf"
  | "missing-leaf"
  | "mid-missing"
  | "mid-identity"
  | "outside-tree"
  | "beyond-list";

const SHARED_NONE = 0;
const SHARED_MISSING = 1;
const SHARED_IDENTITY = 2;

type Owner = object;

/** A leaf page. Shared leaves are singletons compared by identity, as the kernel compares pointers. */
class Leaf {
  constructor(public owner: Owner | null, public runs: number[], readonly shared: number) {}
}

/** A mid page (tree eras) or PTE page of the linear list (v3.19+). */
class Mid {
  constructor(public owner: Owner | null, public slots: Leaf[], readonly shared: number) {}
}

const MISSING_LEAF = new Leaf(null, uniformRuns(K.INVALID), SHARED_MISSING);
// The kernel fills the identity page with INVALID; identity is its address, not its contents.
const IDENTITY_LEAF = new Leaf(null, uniformRuns(K.INVALID), SHARED_IDENTITY);
/** Placeholder in top slots for the (per-table, writable in v3.12) shared mid-missing page. */
const MID_MISSING = new Mid(null, [], SHARED_MISSING);
/** A private leaf of boot RAM (frames from the hypervisor), shared until written. */
const RAM_LEAF = new Leaf(null, uniformRuns(K.MFN_UNKNOWN), SHARED_NONE);
/** A private mid whose 512 leaves are all boot RAM, shared until written. */
const RAM_MID = new Mid(null, new Array<Leaf>(P2M_MID_PER_PAGE).fill(RAM_LEAF), SHARED_NONE);
const MID_IDENTITY = new Mid(
  null,
  new Array<Leaf>(P2M_MID_PER_PAGE).fill(IDENTITY_LEAF),
  SHARED_IDENTITY,
);

/** A value to write over a range: `base` is the frame at `startPfn` for incrementing kinds. */
export interface WriteValue {
  /** Entry kind ({@link K}). */
  kind: number;
  /** Frame of the first written PFN (MFN, FOREIGN), the scratch frame (-1 unknown), else 0. */
  base: number;
  /** The PFN `base` belongs to. */
  startPfn: number;
}

/** What a table write noticed: the raw material for findings. */
export type P2mNote =
  | { type: "bug-out-of-range"; pfn: number; endPfn: number; kind: number }
  | { type: "lost-write"; pfn: number; endPfn: number; kind: number }
  | { type: "alias"; slot: number; gibs: number; pfn: number; endPfn: number }
  | {
    type: "overreach";
    level: "leaf" | "gib";
    pfn: number;
    endPfn: number;
    grantedPfn: number;
    grantedEndPfn: number;
  }
  | { type: "identity-skipped"; pfn: number; endPfn: number }
  | { type: "identity-leaf-warn"; pfn: number }
  | { type: "brk"; pages: number; what: string }
  | { type: "alloc"; pages: number; what: string }
  | { type: "reuse"; leafPfn: number; forPfn: number };

// How many numbers a WriteLog list keeps from step to step (4 a captured run: 1024 runs).
// Most steps capture one run; a longer list was made by a rare step and is dropped.
const WRITE_LOG_KEPT = 4096;

/**
 * Collects what one step is about to change and what it noticed. Before a table write
 * modifies a range it calls {@link WriteLog.capture}, which records the range's lookup-level
 * runs as they were (once per PFN per step), so the step's changes are an exact before/after
 * diff even when a replay mutates one draft in place across many steps.
 *
 * Its lists are kept from step to step: {@link WriteLog.clear} resets their counts, not the
 * arrays. (Emptying a JS array with `length = 0` drops its backing store, so each step
 * allocated four new arrays: about 600 bytes a step, a sixth of everything a replay of the
 * bench trace allocated.)
 *
 * @example
 * ```ts
 * import { P2m, WriteLog } from "./table.ts";
 * import { K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const log = new WriteLog();
 * const d = P2m.build("T12", 0x40000).draft(log);
 * // PFNs 0x1000-0x1003 hold unrecorded frames until this store.
 * d.write(0x1000, 0x1004, { kind: K.MFN, base: 0x500, startPfn: 0x1000 }, "__set_phys_to_machine");
 * assert.equal(log.capturedRuns, 1);
 * assert.deepEqual(log.before, [0x1000, 0x1004, K.MFN_UNKNOWN, 0]);
 * assert.deepEqual(log.after, [K.MFN, 0x500]);
 * log.clear();
 * assert.deepEqual(log.before, []);
 * ```
 */
export class WriteLog {
  /** Notes, in order. */
  notes: P2mNote[] = [];
  // Captured runs, flat [pfn, endPfn, kind, base, ...] (the first #bfN numbers), and for each
  // its after-value [kind, base] (the first #bfN / 2 numbers of #af; kind -1 when unknown).
  #bf: number[] = [];
  #af: number[] = [];
  #bfN = 0;
  // Ranges captured this step: a short flat list (one range in most steps), a PfnSet past that.
  #few: number[] = [];
  #fewN = 0;
  #many: PfnSet | undefined;
  /** Indices (into #af) of captured runs that still have a known after-value. */
  #known: number[] = [];
  #knownN = 0;

  /** How many runs this step captured. */
  get capturedRuns(): number {
    return this.#bfN / 4;
  }

  /**
   * The captured runs, flat `[pfn, endPfn, kind, base, ...]`, non-overlapping (a copy; the hot
   * path reads {@link WriteLog.beforeStore}).
   */
  get before(): number[] {
    return this.#bf.slice(0, this.#bfN);
  }

  /**
   * For each captured run, `[kind, base]` of what the step wrote over all of it, when a single
   * store into a private leaf did and nothing touched it again this step; `[-1, 0]` otherwise
   * (then the after-view must be read from the table). A copy, like {@link WriteLog.before}.
   */
  get after(): number[] {
    return this.#af.slice(0, this.#bfN / 2);
  }

  /**
   * The storage behind {@link WriteLog.before}, without a copy: only its first
   * `capturedRuns * 4` numbers belong to this step. Read it, never write it.
   */
  get beforeStore(): readonly number[] {
    return this.#bf;
  }

  /** The storage behind {@link WriteLog.after}: its first `capturedRuns * 2` numbers. */
  get afterStore(): readonly number[] {
    return this.#af;
  }

  /** Appends a captured run and its after-value. */
  #append(p: number, e: number, k: number, bs: number, ak: number, as: number): void {
    const bf = this.#bf, af = this.#af, n = this.#bfN, j = n / 2;
    bf[n] = p;
    bf[n + 1] = e;
    bf[n + 2] = k;
    bf[n + 3] = bs;
    af[j] = ak;
    af[j + 1] = as;
    this.#bfN = n + 4;
  }

  /**
   * Appends a captured run whose after-value is unknown, extending the last one instead when
   * it continues it (adjacent, same kind, continuing frames) and its after-value is unknown
   * too: a step that writes 2^18 leaves keeps one run, not one per leaf.
   */
  #push = (p: number, e: number, k: number, bs: number): void => {
    const bf = this.#bf, af = this.#af, n = this.#bfN;
    if (
      n > 0 && bf[n - 3] === p && af[n / 2 - 2] < 0 &&
      continues(bf[n - 2], bf[n - 1], p - bf[n - 4], k, bs)
    ) {
      bf[n - 3] = e;
      return;
    }
    this.#append(p, e, k, bs, -1, 0);
  };

  /**
   * True when {@link WriteLog.#cover} of `[a, b)` keeps the short list within 16 numbers: it has
   * room, or the range continues the last one (upwards, or downwards as the balloon driver
   * walks its pages).
   */
  #coverFits(a: number, b: number): boolean {
    const few = this.#few, n = this.#fewN;
    return n < 16 || few[n - 1] === a || few[n - 2] === b;
  }

  /** Records `[a, b)` as captured, extending the last range when it ends at `a` or starts at `b`. */
  #cover(a: number, b: number): void {
    const few = this.#few, n = this.#fewN;
    if (n > 0 && few[n - 1] === a) few[n - 1] = b;
    else if (n > 0 && few[n - 2] === b) few[n - 2] = a;
    else {
      few[n] = a;
      few[n + 1] = b;
      this.#fewN = n + 2;
    }
  }

  /** True when `[a, b)` overlaps a range in the short list of captured ranges. */
  #fewOverlap(a: number, b: number): boolean {
    const few = this.#few;
    for (let i = 0; i < this.#fewN; i += 2) if (few[i] < b && a < few[i + 1]) return true;
    return false;
  }

  /** Moves the short list of captured ranges into a set (many ranges, or an overlap). */
  #toMany(): PfnSet {
    const many = PfnSet.empty().thaw();
    const few = this.#few;
    for (let i = 0; i < this.#fewN; i += 2) many.add(few[i], few[i + 1]);
    this.#many = many;
    return many;
  }

  /** Forgets the known after-values of captured runs overlapping `[a, b)`. */
  #unknownAfter(a: number, b: number): void {
    // Only runs captured by captureLeaf (at most 16 ranges' worth) can be known: scan those.
    const known = this.#known, bf = this.#bf, af = this.#af;
    for (let n = 0; n < this.#knownN; n++) {
      const j = known[n];
      if (af[j] >= 0 && bf[j * 2] < b && a < bf[j * 2 + 1]) af[j] = -1;
    }
  }

  /** Records the current view of `[a, b)` (the parts not captured yet this step). */
  capture(table: P2m, a: number, b: number): void {
    if (this.#many === undefined) {
      if (!this.#fewOverlap(a, b)) {
        table.forEachRun(a, b, this.#push, true);
        if (this.#coverFits(a, b)) {
          this.#cover(a, b);
          return;
        }
        this.#toMany().add(a, b);
        return;
      }
      this.#toMany();
    }
    this.#unknownAfter(a, b);
    const covered = this.#many!;
    let from = a;
    covered.forEachIn(a, b, (s, e) => {
      if (s > from) table.forEachRun(from, s, this.#push, true);
      from = e;
    });
    if (from < b) table.forEachRun(from, b, this.#push, true);
    covered.add(a, b);
  }

  /**
   * {@link WriteLog.capture} for a store of `kind` (frame `base` at `a`) over `[a, b)` inside one
   * private leaf whose first PFN is `lStart`: the runs are read straight from the leaf and the
   * after-value is remembered, so the step's change needs no second walk. The common case of a
   * replay step.
   */
  captureLeaf(
    table: P2m,
    runs: readonly number[],
    lStart: number,
    a: number,
    b: number,
    kind: number,
    base: number,
  ): void {
    const clash = this.#many !== undefined || !this.#coverFits(a, b) || this.#fewOverlap(a, b);
    if (clash) return this.capture(table, a, b);
    const bf = this.#bf, af = this.#af;
    const inc = increments(kind);
    let p = a;
    for (let i = runAt(runs, a - lStart); p < b; i += 3) {
      const end = i + 3 < runs.length ? lStart + runs[i + 3] : lStart + 512;
      const e = end < b ? end : b;
      const k = runs[i + 1];
      const bs = increments(k) ? runs[i + 2] + (p - lStart - runs[i]) : runs[i + 2];
      const as = inc ? base + (p - a) : base;
      // Extend the last run when both its before- and after-values continue into this one.
      const n = this.#bfN, j = n / 2 - 2;
      if (
        n > 0 && bf[n - 3] === p && af[j] === kind &&
        continues(bf[n - 2], bf[n - 1], p - bf[n - 4], k, bs) &&
        continues(kind, af[j + 1], p - bf[n - 4], kind, as)
      ) {
        bf[n - 3] = e;
      } else if (
        n > 0 && p === a && e === b && bf[n - 4] === e && af[j] === kind &&
        continues(k, bs, e - p, bf[n - 2], bf[n - 1]) &&
        continues(kind, as, e - p, kind, af[j + 1])
      ) {
        // The balloon driver walks its pages top down: a store just below the last one, whose
        // before- and after-values the last one continues, extends it downwards.
        bf[n - 4] = p;
        bf[n - 1] = bs;
        af[j + 1] = as;
      } else {
        this.#known[this.#knownN++] = n / 2;
        this.#append(p, e, k, bs, kind, as);
      }
      p = e;
    }
    this.#cover(a, b);
  }

  /**
   * Adds a note, folding it into the last one when it only continues it: allocations of the
   * same page kind add up, a lost write next to the last one (same kind) extends its range.
   * A step that allocates or loses 2^18 leaves keeps a few notes, not one per leaf; detectors
   * group touching notes anyway (`groupNotes`), so findings are unchanged.
   */
  note(n: P2mNote): void {
    const last = this.notes[this.notes.length - 1];
    if (last !== undefined && last.type === n.type) {
      if ((n.type === "alloc" || n.type === "brk") && n.what === (last as typeof n).what) {
        (last as typeof n).pages += n.pages;
        return;
      }
      if (n.type === "lost-write") {
        const l = last as typeof n;
        if (l.endPfn === n.pfn && l.kind === n.kind) {
          l.endPfn = n.endPfn;
          return;
        }
      }
    }
    this.notes.push(n);
  }

  /**
   * Empties the log for the next step (the counts; the lists are reused, unless one step made
   * them longer than 4096 numbers: those are dropped, so a single boot pass or
   * hotplug that captured 10^5 runs does not keep megabytes for the rest of the trace).
   */
  clear(): void {
    if (this.#bf.length > WRITE_LOG_KEPT) {
      this.#bf = [];
      this.#af = [];
    }
    if (this.#known.length > WRITE_LOG_KEPT) this.#known = [];
    this.#bfN = 0;
    this.#fewN = 0;
    this.#knownN = 0;
    this.#many = undefined;
    if (this.notes.length > 0) this.notes = [];
  }
}

/** Callback of {@link P2m.forEachRun}: a maximal run with one kind and one structure. */
export type RunCallback = (
  pfn: number,
  endPfn: number,
  kind: number,
  base: number,
  structure: Structure,
) => void;

/** Allocation counters. */
export interface P2mAccounting {
  /** brk pages the p2m code used at boot (tree eras). */
  brkUsed: number;
  /** brk pages reserved for it (tree eras; 0 for the linear list). */
  brkReserved: number;
  /** Pages allocated at runtime (or from memblock in v3.19+) for mids/PTE pages and leaves. */
  runtimePages: number;
}

/**
 * An immutable P2M table. Build one with {@link P2m.build}; change it through a draft.
 *
 * @example
 * ```ts
 * import { P2m } from "./table.ts";
 * import { K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const t = P2m.build("T12", 0x40000);           // 1 GiB domain
 * assert.equal(t.entry(0x1000)[0], K.MFN_UNKNOWN); // RAM from the hypervisor
 * assert.equal(t.entry(0x80000)[0], K.INVALID);    // above RAM: missing
 * const d = t.draft();
 * d.setIdentityRange(0x80000, 0x80010);
 * const t2 = d.finish();
 * assert.equal(t2.entry(0x80000)[0], K.IDENTITY);
 * assert.equal(t.entry(0x80000)[0], K.INVALID);    // the old table is unchanged
 * ```
 */
export class P2m {
  /** Kernel era. */
  readonly era: Era;
  /** @ignore Top slots (GiBs); for v3.19+ the PMD-level view of the linear list. */
  protected top: Mid[];
  /** @ignore The shared mid-missing page (writable in v3.12 through aliasing). */
  protected midMissing: Mid;
  /** @ignore First PFN outside the structure: MAX_P2M_PFN (tree) or xen_p2m_size (list). */
  protected limit: number;
  /** @ignore v3.19+: PFNs below this and at/above `limit` are checked against extra memory. */
  protected maxPfn: number;
  /** @ignore Extra-memory ranges (flat pairs) for the v3.19+ early lookup rule. */
  protected extra: number[];
  /** @ignore Allocation counters. */
  protected acct: P2mAccounting;

  /** @ignore Use {@link P2m.build}. */
  constructor(
    era: Era,
    top: Mid[],
    midMissing: Mid,
    limit: number,
    maxPfn: number,
    extra: number[],
    acct: P2mAccounting,
  ) {
    this.era = era;
    this.top = top;
    this.midMissing = midMissing;
    this.limit = limit;
    this.maxPfn = maxPfn;
    this.extra = extra;
    this.acct = acct;
  }

  /**
   * The table `xen_build_dynamic_phys_to_machine` (tree eras) or the hypervisor-provided list
   * (v3.19+) gives a PV guest started with `nrPages` pages: PFNs below min(nrPages,
   * MAX_DOMAIN_PAGES) map to (unrecorded) machine frames, the tail of the last leaf is INVALID,
   * everything else is missing. `brkReserved` is what the kernel's RESERVE_BRKs give the P2M
   * (default: the era's {@link BRK_RESERVED}).
   */
  static build(era: Era, nrPages: number, brkReserved?: number): P2m {
    // The tree holds min(nr_pages, MAX_DOMAIN_PAGES); the v3.19 list all of nr_pages.
    const nr = era === "L19" ? nrPages : Math.min(nrPages, MAX_DOMAIN_PAGES);
    const leafCount = Math.ceil(nr / P2M_PER_PAGE);
    const limit = era === "L19" ? leafCount * P2M_PER_PAGE : MAX_P2M_PFN;
    const topLen = era === "L19" ? Math.max(1, Math.ceil(limit / PFNS_PER_MID)) : 512;
    const top = new Array<Mid>(topLen).fill(MID_MISSING);
    const midMissing = new Mid(
      null,
      new Array<Leaf>(P2M_MID_PER_PAGE).fill(MISSING_LEAF),
      SHARED_MISSING,
    );
    // Full RAM leaves and GiBs share one frozen page object each (copied on first write), so
    // building a table costs O(1) per GiB whatever nr_pages is.
    const fullGibs = Math.floor(nr / PFNS_PER_MID);
    for (let g = 0; g < fullGibs; g++) top[g] = RAM_MID;
    const rest = nr - fullGibs * PFNS_PER_MID;
    if (rest > 0) {
      const slots = new Array<Leaf>(P2M_MID_PER_PAGE).fill(MISSING_LEAF);
      const full = Math.floor(rest / P2M_PER_PAGE);
      for (let s = 0; s < full; s++) slots[s] = RAM_LEAF;
      const tail = rest - full * P2M_PER_PAGE;
      if (tail > 0) {
        slots[full] = new Leaf(null, [0, K.MFN_UNKNOWN, 0, tail, K.INVALID, 0], SHARED_NONE);
      }
      top[fullGibs] = new Mid(null, slots, SHARED_NONE);
    }
    const mids = fullGibs + (rest > 0 ? 1 : 0);
    const acct: P2mAccounting = era === "L19" ? { brkUsed: 0, brkReserved: 0, runtimePages: 0 } : {
      // shared pages and top arrays, plus a mid and a mid-mfn page per GiB of RAM.
      brkUsed: (era === "T12" ? 7 : 9) + 2 * mids,
      brkReserved: brkReserved ?? BRK_RESERVED[era],
      runtimePages: 0,
    };
    return new P2m(era, top, midMissing, limit, limit, [], acct);
  }

  /** Allocation counters. */
  get accounting(): Readonly<P2mAccounting> {
    return this.acct;
  }

  /** First PFN outside the structure (MAX_P2M_PFN for the tree, xen_p2m_size for the list). */
  get structureLimit(): number {
    return this.limit;
  }

  /**
   * The raw entry of `pfn` as `get_phys_to_machine` returns it: `[kind, frame]` where frame is
   * the MFN (or -1 for an unrecorded one) for mapped kinds and 0 otherwise.
   */
  entry(pfn: number): [number, number] {
    const [k, b] = this.#lookup(pfn);
    return [k, b];
  }

  /**
   * True when `[a, b)` lies inside one private leaf: a store there is one edit of that leaf's
   * runs (no shared page, no allocation, no note), whatever order its pages are stored in.
   */
  inPrivateLeaf(a: number, b: number): boolean {
    const l = Math.floor(a / P2M_PER_PAGE);
    if (!(a < b && b <= this.limit && Math.floor((b - 1) / P2M_PER_PAGE) === l)) return false;
    const mid = this.top[Math.floor(a / PFNS_PER_MID)];
    return mid.shared === SHARED_NONE && mid.slots[l % P2M_MID_PER_PAGE].shared === SHARED_NONE;
  }

  /**
   * The kind of `pfn`'s entry, `entry(pfn)[0]`, without building the pair: detectors ask it of
   * every page a step balloons out.
   */
  kindAt(pfn: number): number {
    if (pfn >= this.limit) return this.#lookup(pfn)[0];
    const mid = this.top[Math.floor(pfn / PFNS_PER_MID)];
    const leaf = (mid === MID_MISSING ? this.midMissing : mid)
      .slots[Math.floor(pfn / P2M_PER_PAGE) % P2M_MID_PER_PAGE];
    if (leaf === IDENTITY_LEAF) return K.IDENTITY;
    if (leaf === MISSING_LEAF) return K.INVALID;
    return leaf.runs[runAt(leaf.runs, pfn % P2M_PER_PAGE) + 1];
  }

  /** Which structure answers a lookup of `pfn`. */
  structureAt(pfn: number): Structure {
    return this.#lookup(pfn)[2];
  }

  #lookup(pfn: number): [number, number, Structure] {
    if (pfn >= this.limit) {
      if (this.era === "T12") return [K.INVALID, 0, "outside-tree"];
      if (this.era === "T16") return [K.IDENTITY, 0, "outside-tree"];
      return [this.#beyondList(pfn), 0, "beyond-list"];
    }
    const g = Math.floor(pfn / PFNS_PER_MID);
    let mid = this.top[g];
    const midShared = mid.shared;
    if (mid === MID_MISSING) mid = this.midMissing;
    const leaf = mid.slots[Math.floor(pfn / P2M_PER_PAGE) % P2M_MID_PER_PAGE];
    if (leaf === IDENTITY_LEAF) {
      return [K.IDENTITY, 0, midShared === SHARED_IDENTITY ? "mid-identity" : "identity-leaf"];
    }
    if (leaf === MISSING_LEAF) {
      return [K.INVALID, 0, midShared === SHARED_MISSING ? "mid-missing" : "missing-leaf"];
    }
    const [k, b] = entryAt(leaf.runs, pfn % P2M_PER_PAGE);
    return [k, b, "private-leaf"];
  }

  /** v3.19+ rule beyond xen_p2m_size: INVALID inside extra memory below xen_max_p2m_pfn. */
  #beyondList(pfn: number): number {
    if (pfn < this.maxPfn) {
      const x = this.extra;
      for (let i = 0; i < x.length; i += 2) if (pfn >= x[i] && pfn < x[i + 1]) return K.INVALID;
    }
    return K.IDENTITY;
  }

  /**
   * Calls `cb` for each maximal run of `[a, b)` with one kind, continuing frames and (unless
   * `ignoreStructure`) one structure, in PFN order. Cost is O(GiBs + leaves + runs), never
   * O(pages).
   */
  forEachRun(a: number, b: number, cb: RunCallback, ignoreStructure = false): void {
    // Fast path, the common case of a replay step: [a, b) inside one private leaf, whose runs
    // are already maximal (coalesced), so they are reported as they are.
    const l0 = Math.floor(a / P2M_PER_PAGE);
    if (a < b && b <= this.limit && Math.floor((b - 1) / P2M_PER_PAGE) === l0) {
      const mid = this.top[Math.floor(a / PFNS_PER_MID)];
      const leaf = mid.shared === SHARED_NONE ? mid.slots[l0 % P2M_MID_PER_PAGE] : undefined;
      if (leaf !== undefined && leaf.shared === SHARED_NONE) {
        const runs = leaf.runs;
        const lb = l0 * P2M_PER_PAGE;
        let pfn = a;
        for (let i = runAt(runs, a - lb); pfn < b; i += 3) {
          const e = Math.min(b, lb + runEnd(runs, i));
          const k = runs[i + 1];
          cb(
            pfn,
            e,
            k,
            increments(k) ? runs[i + 2] + (pfn - lb - runs[i]) : runs[i + 2],
            "private-leaf",
          );
          pfn = e;
        }
        return;
      }
    }
    let pend = false;
    let pP = 0, pE = 0, pK = 0, pB = 0;
    let pS: Structure = "private-leaf";
    const emit = (p: number, e: number, k: number, bs: number, s: Structure) => {
      if (
        pend && pE === p && (ignoreStructure || pS === s) && continues(pK, pB, pE - pP, k, bs)
      ) {
        pE = e;
        return;
      }
      if (pend) cb(pP, pE, pK, pB, pS);
      pend = true;
      pP = p;
      pE = e;
      pK = k;
      pB = bs;
      pS = s;
    };
    let pfn = a;
    const inside = Math.min(b, this.limit);
    // Whether the shared mid-missing page holds only the missing leaf (v3.12 can alias identity
    // leaves into it): then a GiB it answers is one INVALID run, reported without a walk of its
    // 512 slots, which is what the runs of each slot would have coalesced into.
    let missingMidUniform: boolean | undefined;
    while (pfn < inside) {
      const g = Math.floor(pfn / PFNS_PER_MID);
      const gEnd = Math.min(inside, (g + 1) * PFNS_PER_MID);
      let mid = this.top[g];
      if (mid === MID_IDENTITY) {
        emit(pfn, gEnd, K.IDENTITY, 0, "mid-identity");
        pfn = gEnd;
        continue;
      }
      const isMissingMid = mid === MID_MISSING;
      if (isMissingMid) {
        mid = this.midMissing;
        missingMidUniform ??= mid.slots.every((l) => l === MISSING_LEAF);
        if (missingMidUniform) {
          emit(pfn, gEnd, K.INVALID, 0, "mid-missing");
          pfn = gEnd;
          continue;
        }
      }
      while (pfn < gEnd) {
        const l = Math.floor(pfn / P2M_PER_PAGE);
        const lEnd = Math.min(gEnd, (l + 1) * P2M_PER_PAGE);
        const leaf = mid.slots[l % P2M_MID_PER_PAGE];
        if (leaf === IDENTITY_LEAF) {
          emit(pfn, lEnd, K.IDENTITY, 0, "identity-leaf");
        } else if (leaf === MISSING_LEAF) {
          emit(pfn, lEnd, K.INVALID, 0, isMissingMid ? "mid-missing" : "missing-leaf");
        } else {
          const runs = leaf.runs;
          const lb = l * P2M_PER_PAGE;
          let i = runAt(runs, pfn - lb);
          while (pfn < lEnd) {
            const e = Math.min(lEnd, lb + runEnd(runs, i));
            const k = runs[i + 1];
            const bs = increments(k) ? runs[i + 2] + (pfn - lb - runs[i]) : runs[i + 2];
            emit(pfn, e, k, bs, "private-leaf");
            pfn = e;
            i += 3;
          }
        }
        pfn = lEnd;
      }
    }
    if (pfn < b) {
      if (this.era === "L19") {
        // beyond the list: extra-memory ranges below maxPfn are INVALID, the rest identity.
        const cuts = [pfn, b];
        if (pfn < this.maxPfn) {
          for (let i = 0; i < this.extra.length; i += 2) {
            cuts.push(this.extra[i], this.extra[i + 1]);
          }
        }
        const points = [...new Set(cuts.filter((c) => c >= pfn && c <= b))].sort((x, y) => x - y);
        for (let i = 0; i + 1 < points.length; i++) {
          emit(points[i], points[i + 1], this.#beyondList(points[i]), 0, "beyond-list");
        }
      } else {
        emit(pfn, b, this.era === "T12" ? K.INVALID : K.IDENTITY, 0, "outside-tree");
      }
    }
    if (pend) cb(pP, pE, pK, pB, pS);
  }

  /** Starts a draft: a mutable copy sharing every page with this table. */
  draft(log: WriteLog = new WriteLog()): P2mDraft {
    return new P2mDraft(this, log);
  }

  /**
   * Private leaves in PFN order (first PFN of each), for structural reports and debugfs.
   * `cb(leafPfn, shared)` where shared is 0 private, 1 missing, 2 identity, and `midShared` is
   * the sharing of the mid above it.
   */
  forEachLeaf(
    a: number,
    b: number,
    cb: (leafPfn: number, leafShared: number, midShared: number) => void,
  ): void {
    const inside = Math.min(b, this.limit);
    let pfn = Math.floor(a / P2M_PER_PAGE) * P2M_PER_PAGE;
    while (pfn < inside) {
      const g = Math.floor(pfn / PFNS_PER_MID);
      let mid = this.top[g];
      const midShared = mid.shared;
      if (mid === MID_MISSING) mid = this.midMissing;
      const leaf = mid.slots[Math.floor(pfn / P2M_PER_PAGE) % P2M_MID_PER_PAGE];
      cb(pfn, leaf.shared, midShared);
      pfn += P2M_PER_PAGE;
    }
  }

  /**
   * Walks the whole structure and throws {@link InvariantError} naming the first broken
   * invariant: the shared pages hold what the kernel put in them; the top level has one slot
   * per GiB of the structure, each a private mid of 512 leaf pages or a shared mid the era has
   * (mid-missing; mid-identity from v3.16); the shared mid-missing page holds only missing
   * leaves (v3.12 also aliased identity leaves); every private leaf's runs keep the
   * `leaf_runs.ts` invariants; extra memory is sorted, disjoint ranges; counters are whole
   * numbers. O(private mids × 512 + runs). `replay --paranoid` runs it after every step.
   *
   * @example
   * ```ts
   * import { P2m } from "./table.ts";
   * const d = P2m.build("T16", 0x40000).draft();
   * d.setIdentityRange(0x80000, 0x100000);
   * d.finish().validate(); // throws InvariantError when the model is broken
   * ```
   */
  validate(): void {
    const fail = (where: string, what: string): never => {
      throw new InvariantError(`P2M (${this.era}) ${where}: ${what}`);
    };
    const hex = (n: number) => "0x" + n.toString(16);
    const uniform = (leaf: Leaf, kind: number, name: string) => {
      const r = leaf.runs;
      if (r.length !== 3 || r[0] !== 0 || r[1] !== kind || r[2] !== 0) {
        fail(`shared ${name} page`, `was written (runs ${r.join(",")})`);
      }
    };
    uniform(MISSING_LEAF, K.INVALID, "missing leaf");
    uniform(IDENTITY_LEAF, K.INVALID, "identity leaf");
    uniform(RAM_LEAF, K.MFN_UNKNOWN, "boot RAM leaf");
    if (MID_MISSING.slots.length !== 0) fail("mid-missing placeholder", "holds slots");
    if (MID_IDENTITY.slots.some((l) => l !== IDENTITY_LEAF)) {
      fail("shared mid-identity page", "holds a leaf other than the identity leaf");
    }
    if (RAM_MID.slots.some((l) => l !== RAM_LEAF)) {
      fail("shared boot RAM mid", "holds a leaf other than the boot RAM leaf");
    }
    const era = this.era;
    const limit = this.limit;
    if (era !== "L19" && limit !== MAX_P2M_PFN) {
      fail("top", `structure limit ${hex(limit)} is not MAX_P2M_PFN ${hex(MAX_P2M_PFN)}`);
    }
    if (era === "L19" && (!Number.isSafeInteger(limit) || limit < 0 || limit % P2M_PER_PAGE)) {
      fail("top", `list size ${hex(limit)} is not a whole number of leaves`);
    }
    const topLen = era === "L19" ? Math.max(1, Math.ceil(limit / PFNS_PER_MID)) : 512;
    if (this.top.length !== topLen) {
      fail("top", `${this.top.length} slots for ${topLen} GiB(s) of structure`);
    }
    const mm = this.midMissing;
    if (mm.shared !== SHARED_MISSING || mm.slots.length !== P2M_MID_PER_PAGE) {
      fail("mid-missing page", "is not a shared mid of 512 slots");
    }
    for (let s = 0; s < P2M_MID_PER_PAGE; s++) {
      const leaf = mm.slots[s];
      if (leaf !== MISSING_LEAF && !(era === "T12" && leaf === IDENTITY_LEAF)) {
        fail(`mid-missing page slot ${s}`, "holds a leaf other than the shared missing leaf");
      }
    }
    for (let g = 0; g < topLen; g++) {
      const mid = this.top[g];
      const where = `GiB ${g} (PFN ${hex(g * PFNS_PER_MID)})`;
      if (!(mid instanceof Mid)) fail(where, "top slot holds no mid page");
      if (mid === MID_MISSING || mid === RAM_MID) continue;
      if (mid === MID_IDENTITY) {
        if (era === "T12") fail(where, "points to the mid-identity page, which v3.12 lacks");
        continue;
      }
      if (mid.shared !== SHARED_NONE) fail(where, "points to an unknown shared mid page");
      if (mid.slots.length !== P2M_MID_PER_PAGE) fail(where, `mid has ${mid.slots.length} slots`);
      for (let s = 0; s < P2M_MID_PER_PAGE; s++) {
        const leaf = mid.slots[s];
        const at = `leaf of PFN ${hex(g * PFNS_PER_MID + s * P2M_PER_PAGE)} (GiB ${g} slot ${s})`;
        if (!(leaf instanceof Leaf)) fail(at, "mid slot holds no leaf page");
        if (leaf === MISSING_LEAF || leaf === IDENTITY_LEAF || leaf === RAM_LEAF) continue;
        if (leaf.shared !== SHARED_NONE) fail(at, "points to an unknown shared leaf page");
        const problem = runsProblem(leaf.runs);
        if (problem !== undefined) fail(at, problem);
      }
    }
    const x = this.extra;
    for (let i = 0; i < x.length; i += 2) {
      if (!(x[i] < x[i + 1]) || (i > 0 && x[i] <= x[i - 1])) {
        fail("extra memory", `range ${i / 2} is empty, unsorted or overlapping`);
      }
    }
    for (const [name, n] of Object.entries(this.acct)) {
      if (!Number.isSafeInteger(n) || n < 0) fail("accounting", `${name} is ${n}`);
    }
  }
}

/**
 * A mutable draft of a {@link P2m}: the kernel's write primitives, era by era. Writes record
 * the PFN ranges they touched and notes (lost writes, aliasing, overreach, BUG, brk use) in
 * the draft's {@link WriteLog}.
 */
export class P2mDraft extends P2m {
  /** What this draft touched and noticed. */
  readonly log: WriteLog;
  #owner: Owner | null = {};
  #topOwned = false;
  #origin: P2m;
  #edits = 0;

  /** @ignore Use {@link P2m.draft}. */
  constructor(origin: P2m, log: WriteLog) {
    const o = origin as unknown as {
      top: Mid[];
      midMissing: Mid;
      limit: number;
      maxPfn: number;
      extra: number[];
      acct: P2mAccounting;
    };
    super(origin.era, o.top, o.midMissing, o.limit, o.maxPfn, o.extra, { ...o.acct });
    this.#origin = origin;
    this.log = log;
  }

  /** How many mutations this draft has taken (0: {@link P2mDraft.finish} returns the origin). */
  get edits(): number {
    return this.#edits;
  }

  /** Freezes the draft; returns the origin itself when nothing changed. */
  finish(): P2m {
    this.#owner = null;
    if (this.#edits === 0) return this.#origin;
    return new P2m(
      this.era,
      this.top,
      this.midMissing,
      this.limit,
      this.maxPfn,
      this.extra,
      this.acct,
    );
  }

  #assertLive(): Owner {
    if (this.#owner === null) throw new Error("P2mDraft used after finish()");
    return this.#owner;
  }

  /** Marks the draft changed (every real mutation goes through here). */
  #mutating(): Owner {
    this.#edits++;
    return this.#assertLive();
  }

  #ownTop(): Mid[] {
    this.#mutating();
    if (!this.#topOwned) {
      this.top = this.top.slice();
      this.#topOwned = true;
    }
    return this.top;
  }

  /** The writable mid for GiB `g` (`MID_MISSING` resolves to the shared mid-missing page). */
  #ownMid(g: number): Mid {
    const owner = this.#mutating();
    const mid = this.top[g];
    if (mid === MID_MISSING) {
      if (this.midMissing.owner !== owner) {
        this.midMissing = new Mid(owner, this.midMissing.slots.slice(), SHARED_MISSING);
      }
      return this.midMissing;
    }
    if (mid.shared !== SHARED_NONE) throw new Error("internal: writing a read-only shared mid");
    if (mid.owner === owner) return mid;
    const copy = new Mid(owner, mid.slots.slice(), SHARED_NONE);
    this.#ownTop()[g] = copy;
    return copy;
  }

  #setLeafRuns(g: number, slot: number, runs: number[]): void {
    const owner = this.#mutating();
    if (this.top[g].shared !== SHARED_NONE) {
      throw new Error("internal: private leaf in a shared mid");
    }
    const mid = this.#ownMid(g);
    const leaf = mid.slots[slot];
    if (leaf.shared === SHARED_NONE && leaf.owner === owner) leaf.runs = runs;
    else mid.slots[slot] = new Leaf(owner, runs, SHARED_NONE);
  }

  // ---- accounting ------------------------------------------------------------------------

  #brk(pages: number, what: string): void {
    this.#mutating();
    this.acct.brkUsed += pages;
    this.log.note({ type: "brk", pages, what });
  }

  #alloc(pages: number, what: string): void {
    this.#mutating();
    this.acct.runtimePages += pages;
    this.log.note({ type: "alloc", pages, what });
  }

  // ---- __set_phys_to_machine -------------------------------------------------------------

  /**
   * `__set_phys_to_machine` over `[a, b)` in PFN order, without allocating. Returns the first
   * PFN it could not set (a missing leaf and a value other than INVALID; in v3.19+ also an
   * identity leaf and a value other than identity), or `b` when every PFN was handled.
   */
  rawSet(a: number, b: number, v: WriteValue): number {
    const era = this.era;
    const identity = v.kind === K.IDENTITY;
    const invalid = v.kind === K.INVALID;
    let pfn = a;
    while (pfn < b) {
      if (pfn >= this.limit) {
        if (!invalid) {
          this.log.note({ type: "bug-out-of-range", pfn, endPfn: b, kind: v.kind });
        }
        return b;
      }
      const g = Math.floor(pfn / PFNS_PER_MID);
      const gStart = g * PFNS_PER_MID;
      const gEnd = Math.min(b, gStart + PFNS_PER_MID, this.limit);
      const topMid = this.top[g];
      if (era === "T16" && identity) {
        if (topMid === MID_IDENTITY) {
          pfn = gEnd;
          continue;
        }
        if (topMid === MID_MISSING) {
          this.#swapTop(g, MID_IDENTITY, pfn, gEnd);
          pfn = gEnd;
          continue;
        }
      }
      while (pfn < gEnd) {
        const l = Math.floor(pfn / P2M_PER_PAGE);
        const slot = l % P2M_MID_PER_PAGE;
        const lStart = l * P2M_PER_PAGE;
        const lEnd = Math.min(gEnd, lStart + P2M_PER_PAGE);
        const leaf = (this.top[g] === MID_MISSING ? this.midMissing : this.top[g]).slots[slot];
        if (era === "L19") {
          if (leaf === MISSING_LEAF) {
            if (!invalid) return pfn;
            pfn = lEnd;
            continue;
          }
          if (leaf === IDENTITY_LEAF) {
            if (!identity) return pfn;
            pfn = lEnd;
            continue;
          }
        } else {
          if (identity && leaf === IDENTITY_LEAF) {
            pfn = lEnd;
            continue;
          }
          if (identity && leaf === MISSING_LEAF) {
            this.#swapSlot(g, topMid, slot, IDENTITY_LEAF, pfn, lEnd);
            pfn = lEnd;
            continue;
          }
          if (leaf === MISSING_LEAF) {
            if (!invalid) return pfn;
            pfn = lEnd;
            continue;
          }
          if (leaf === IDENTITY_LEAF) {
            // Stored into the shared identity page: success reported, lookups unchanged.
            this.log.note({ type: "lost-write", pfn, endPfn: lEnd, kind: v.kind });
            pfn = lEnd;
            continue;
          }
        }
        const base = increments(v.kind) ? v.base + (pfn - v.startPfn) : v.base;
        const a0 = pfn - lStart, b0 = lEnd - lStart;
        if (!holds(leaf.runs, a0, b0, v.kind, base)) {
          this.log.captureLeaf(this, leaf.runs, lStart, pfn, lEnd, v.kind, base);
          // A leaf this draft already owns is edited in place; any other is copied first.
          if (leaf.owner === this.#owner) {
            writeRunsInPlace(leaf.runs, a0, b0, v.kind, base);
            this.#mutating();
          } else this.#setLeafRuns(g, slot, writeRuns(leaf.runs, a0, b0, v.kind, base));
        }
        pfn = lEnd;
      }
    }
    return b;
  }

  /** Swaps a missing leaf slot to the identity leaf (the v3.10-3.18 `cmpxchg` in step 3). */
  #swapSlot(g: number, topMid: Mid, slot: number, to: Leaf, pfn: number, endPfn: number): void {
    const lStart = g * PFNS_PER_MID + slot * P2M_PER_PAGE;
    const lEnd = lStart + P2M_PER_PAGE;
    if (topMid === MID_MISSING) {
      // The slot lives in the shared mid-missing page: it changes in every GiB that shares it.
      // Each span of GiBs that share it is captured whole: a capture may cover more than the
      // step changes (the step's changes are the difference of the two views), and a step
      // that swaps all 512 slots (an identity write over a GiB) then captures each span once
      // instead of 512 runs in each of its GiBs (~2.5 * 10^5 runs under a 512 GiB tree).
      let gibs = 0;
      for (let h = 0; h < this.top.length; h++) {
        if (this.top[h] !== MID_MISSING) continue;
        const from = h;
        while (h + 1 < this.top.length && this.top[h + 1] === MID_MISSING) h++;
        gibs += h + 1 - from;
        this.log.capture(this, from * PFNS_PER_MID, Math.min((h + 1) * PFNS_PER_MID, this.limit));
      }
      this.log.note({ type: "alias", slot, gibs, pfn: lStart, endPfn: lEnd });
    } else {
      this.log.capture(this, lStart, lEnd);
    }
    this.#ownMid(g).slots[slot] = to;
    if (pfn > lStart || endPfn < lEnd) {
      this.log.note({
        type: "overreach",
        level: "leaf",
        pfn,
        endPfn,
        grantedPfn: lStart,
        grantedEndPfn: lEnd,
      });
    }
  }

  /** Swaps a GiB's top slot (v3.16-3.18: mid-missing to mid-identity). */
  #swapTop(g: number, to: Mid, pfn: number, endPfn: number): void {
    const gStart = g * PFNS_PER_MID;
    const gEnd = Math.min(gStart + PFNS_PER_MID, this.limit);
    this.log.capture(this, gStart, gEnd);
    this.#ownTop()[g] = to;
    if (pfn > gStart || endPfn < gEnd) {
      this.log.note({
        type: "overreach",
        level: "gib",
        pfn,
        endPfn,
        grantedPfn: gStart,
        grantedEndPfn: gEnd,
      });
    }
  }

  // ---- allocation ------------------------------------------------------------------------

  /**
   * A fresh private mid for GiB `g` whose slots are all `from`'s leaf (missing or identity), as
   * the kernel initialises a new mid page. With `keep`, the slots copy what the GiB shows now
   * (an aliased identity slot of the v3.12 mid-missing page survives).
   */
  #newMid(g: number, from: Mid, keep = false): void {
    const owner = this.#assertLive();
    const before = this.top[g] === MID_MISSING ? this.midMissing : this.top[g];
    if (keep) {
      this.#ownTop()[g] = new Mid(owner, before.slots.slice(), SHARED_NONE);
      return;
    }
    const fill = from === MID_IDENTITY ? IDENTITY_LEAF : MISSING_LEAF;
    // In v3.12 the shared mid-missing page may carry aliased identity slots: they vanish here.
    for (let s = 0; s < P2M_MID_PER_PAGE; s++) {
      if (before.slots[s] !== fill) {
        const p = g * PFNS_PER_MID + s * P2M_PER_PAGE;
        this.log.capture(this, p, p + P2M_PER_PAGE);
      }
    }
    this.#ownTop()[g] = new Mid(owner, new Array<Leaf>(P2M_MID_PER_PAGE).fill(fill), SHARED_NONE);
  }

  /** A fresh private leaf at leaf index `l`: INVALID-filled, or (v3.19+) identity-filled. */
  #newLeaf(l: number, kind: number): void {
    const g = Math.floor(l / P2M_MID_PER_PAGE);
    this.log.capture(this, l * P2M_PER_PAGE, (l + 1) * P2M_PER_PAGE);
    this.#setLeafRuns(g, l % P2M_MID_PER_PAGE, uniformRuns(kind));
  }

  /** `alloc_p2m(pfn)` of the era: make the mid and the leaf holding `pfn` private. */
  #allocRuntime(pfn: number): void {
    const g = Math.floor(pfn / PFNS_PER_MID);
    const l = Math.floor(pfn / P2M_PER_PAGE);
    const topMid = this.top[g];
    if (this.era === "L19") {
      if (topMid.shared !== SHARED_NONE) {
        this.#newMid(g, topMid);
        this.#alloc(1, "p2m PTE page");
      }
      const leaf = this.top[g].slots[l % P2M_MID_PER_PAGE];
      if (leaf.shared !== SHARED_NONE) {
        this.#newLeaf(l, leaf === IDENTITY_LEAF ? K.IDENTITY : K.INVALID);
        this.#alloc(1, "p2m leaf");
      }
      return;
    }
    if (topMid === MID_MISSING) {
      this.#newMid(g, MID_MISSING);
      this.#alloc(2, "p2m mid + mid_mfn");
    }
    const leaf = this.top[g].slots[l % P2M_MID_PER_PAGE];
    if (leaf === MISSING_LEAF || leaf === IDENTITY_LEAF) {
      this.#newLeaf(l, K.INVALID);
      this.#alloc(1, "p2m leaf");
    }
  }

  /** `early_alloc_p2m(pfn)` (T12 naming): a private mid + mid-mfn page from brk. */
  #earlyMid(pfn: number): void {
    const g = Math.floor(pfn / PFNS_PER_MID);
    const topMid = this.top[g];
    // early_alloc_p2m_middle replaces only the shared mid-missing page.
    if (topMid === MID_MISSING) {
      this.#newMid(g, MID_MISSING);
      this.#brk(2, "p2m mid + mid_mfn");
    }
  }

  /** A leaf page from brk for the leaf holding `pfn`, when it is still shared. */
  #earlyLeaf(pfn: number): boolean {
    const g = Math.floor(pfn / PFNS_PER_MID);
    const l = Math.floor(pfn / P2M_PER_PAGE);
    const leaf = this.top[g].slots[l % P2M_MID_PER_PAGE];
    if (leaf === IDENTITY_LEAF) {
      this.log.note({ type: "identity-leaf-warn", pfn });
      return false;
    }
    if (leaf.shared === SHARED_NONE) return false;
    this.#newLeaf(l, leaf === IDENTITY_LEAF ? K.IDENTITY : K.INVALID);
    this.#brk(1, "p2m leaf");
    return true;
  }

  /**
   * `early_can_reuse_p2m_middle`: for a leaf-aligned `pfn`, find the first private leaf (in PFN
   * order, below MAX_DOMAIN_PAGES) that is entirely identity or entirely INVALID, put the shared
   * page in its place, and use its page for `pfn`. Saves a brk page.
   */
  #earlyReuse(pfn: number): boolean {
    if (pfn % P2M_PER_PAGE !== 0) return false;
    const limit = Math.min(MAX_DOMAIN_PAGES, this.limit);
    for (let g = 0; g * PFNS_PER_MID < limit; g++) {
      const mid = this.top[g];
      if (mid.shared !== SHARED_NONE) continue;
      for (let s = 0; s < P2M_MID_PER_PAGE; s++) {
        const leaf = mid.slots[s];
        if (leaf.shared !== SHARED_NONE || leaf.runs.length !== 3) continue;
        const k = leaf.runs[1];
        if (k !== K.IDENTITY && k !== K.INVALID) continue;
        const own = this.#ownMid(g);
        own.slots[s] = k === K.IDENTITY ? IDENTITY_LEAF : MISSING_LEAF;
        const leafPfn = g * PFNS_PER_MID + s * P2M_PER_PAGE;
        this.log.note({ type: "reuse", leafPfn, forPfn: pfn });
        this.#newLeaf(pfn / P2M_PER_PAGE, K.INVALID);
        return true;
      }
    }
    return false;
  }

  /**
   * Writes `v` over `[a, b)` with one of the kernel's primitives:
   * `__set_phys_to_machine` (never allocates: PFNs it cannot set are returned as a count of
   * failures), `set_phys_to_machine` (allocates at runtime and retries) or
   * `early_set_phys_to_machine` (boot: allocates from brk, reusing an all-identity or
   * all-INVALID leaf when it can). Returns the number of PFNs that could not be set.
   */
  write(
    a: number,
    b: number,
    v: WriteValue,
    primitive: "__set_phys_to_machine" | "set_phys_to_machine" | "early_set_phys_to_machine",
  ): number {
    this.#assertLive();
    let failed = 0;
    let pfn = a;
    while (pfn < b) {
      const stop = this.rawSet(pfn, b, v);
      if (stop >= b) break;
      if (primitive === "__set_phys_to_machine") {
        // the caller's loop would move on; count the leaf's PFNs as failed
        const lEnd = Math.min(b, (Math.floor(stop / P2M_PER_PAGE) + 1) * P2M_PER_PAGE);
        failed += lEnd - stop;
        pfn = lEnd;
        continue;
      }
      if (primitive === "set_phys_to_machine" || this.era === "L19") {
        this.#allocRuntime(stop);
      } else {
        this.#earlyMid(stop);
        if (!this.#earlyReuse(stop)) this.#earlyLeaf(stop);
      }
      pfn = stop;
    }
    return failed;
  }

  /**
   * An idealised write: every PFN of `[a, b)` gets `v` in a private leaf (allocating mids and
   * leaves at runtime first), so nothing outside the range changes — no leaf or GiB swap, no
   * aliasing. PFNs outside the structure behave as in {@link P2mDraft.rawSet}.
   */
  writePrivate(a: number, b: number, v: WriteValue): void {
    this.#assertLive();
    if (a >= b) return;
    const end = Math.min(b, this.limit);
    for (let l = Math.floor(a / P2M_PER_PAGE); l * P2M_PER_PAGE < end; l++) {
      const g = Math.floor(l / P2M_MID_PER_PAGE);
      const topMid = this.top[g];
      const leaf = (topMid === MID_MISSING ? this.midMissing : topMid).slots[l % P2M_MID_PER_PAGE];
      if (topMid.shared !== SHARED_NONE || leaf.shared !== SHARED_NONE) {
        this.#allocPrivate(l * P2M_PER_PAGE);
      }
    }
    this.rawSet(a, b, v);
  }

  /** Makes the mid and leaf holding `pfn` private, keeping what lookups answer. */
  #allocPrivate(pfn: number): void {
    const g = Math.floor(pfn / PFNS_PER_MID);
    const l = Math.floor(pfn / P2M_PER_PAGE);
    const topMid = this.top[g];
    if (topMid.shared !== SHARED_NONE) {
      this.#newMid(g, topMid === MID_IDENTITY ? MID_IDENTITY : MID_MISSING, true);
      this.#alloc(2, "p2m mid + mid_mfn");
    }
    const leaf = this.top[g].slots[l % P2M_MID_PER_PAGE];
    if (leaf.shared !== SHARED_NONE) {
      this.#newLeaf(l, leaf === IDENTITY_LEAF ? K.IDENTITY : K.INVALID);
      this.#alloc(1, "p2m leaf");
    }
  }

  // ---- set_phys_range_identity -----------------------------------------------------------

  /**
   * `set_phys_range_identity(s, e)` of the era; returns the number of PFNs set (the value the
   * kernel sums into "Set N page(s) to 1-1 mapping").
   */
  setIdentityRange(s: number, e: number): number {
    this.#assertLive();
    const id: WriteValue = { kind: K.IDENTITY, base: 0, startPfn: s };
    if (this.era === "T12") {
      if (s >= MAX_P2M_PFN || e >= MAX_P2M_PFN) {
        this.log.note({ type: "identity-skipped", pfn: s, endPfn: e });
        return 0;
      }
      if (s > e) return 0;
      const gFirst = Math.floor(s / PFNS_PER_MID);
      const gEnd = Math.ceil(e / PFNS_PER_MID);
      for (let g = gFirst; g < gEnd; g++) this.#earlyMid(g * PFNS_PER_MID);
      if (s % P2M_PER_PAGE !== 0) this.#earlyLeaf(s);
      if (e % P2M_PER_PAGE !== 0) this.#earlyLeaf(e);
      const stop = this.rawSet(s, e, id);
      return stop - s;
    }
    if (this.era === "T16") {
      if (s >= MAX_P2M_PFN) {
        this.log.note({ type: "identity-skipped", pfn: s, endPfn: e });
        return 0;
      }
      const end = Math.min(e, MAX_P2M_PFN);
      if (s > end) return 0;
      // early_split_p2m: a private mid when the end is inside a GiB, a private leaf when it is
      // inside a leaf. Only the shared missing pages are replaced: a mid-identity GiB or an
      // identity leaf is left shared (early_alloc_p2m WARNs for the latter).
      for (const p of [s, end]) {
        if (p >= MAX_P2M_PFN) continue;
        if (p % PFNS_PER_MID !== 0) this.#earlyMid(p);
        if (p % P2M_PER_PAGE !== 0) this.#earlyLeaf(p);
      }
      const stop = this.rawSet(s, end, id);
      if (stop < end || end === s) return stop - s;
      // After each PFN the loop skips to the end of a mid-identity GiB or identity leaf it just
      // wrote into, so the count can run past pfn_e.
      const structure = this.structureAt(end - 1);
      const unit = structure === "mid-identity"
        ? PFNS_PER_MID
        : structure === "identity-leaf"
        ? P2M_PER_PAGE
        : 1;
      return Math.ceil(end / unit) * unit - s;
    }
    if (s >= this.limit) return 0;
    const end = Math.min(e, this.limit);
    if (s > end) return 0;
    this.write(s, end, id, "set_phys_to_machine");
    return end - s;
  }

  // ---- v3.19+ list management ------------------------------------------------------------

  /**
   * `xen_vmalloc_p2m_tree` + `xen_rebuild_p2m_list` (v3.19+): the list grows to `newSize`
   * PFNs (xen_max_p2m_pfn); entries beyond the old size become identity (shared pages for
   * whole leaves and GiBs); `extra` (flat `[pfn, endPfn, ...]`) is the extra memory the early
   * lookup rule treats as INVALID until `xen_inv_extra_mem` writes it.
   */
  growList(newSize: number, extra: number[]): void {
    this.#mutating();
    if (this.era !== "L19") throw new Error("growList is for the v3.19+ linear list");
    const oldSize = this.limit;
    // xen_vmalloc_p2m_tree: the VA area, so the list, is a whole number of GiBs of PFNs.
    const size = Math.max(oldSize, Math.ceil(newSize / PFNS_PER_MID) * PFNS_PER_MID);
    const topLen = Math.ceil(size / PFNS_PER_MID);
    this.log.capture(this, 0, size);
    const top = this.#ownTop();
    for (let g = 0; g < topLen; g++) {
      const gStart = g * PFNS_PER_MID;
      if (gStart >= oldSize) {
        top[g] = MID_IDENTITY;
        continue;
      }
      // Rebuild: uniform leaves become the shared pages, uniform GiBs the shared PTE pages.
      const slots = new Array<Leaf>(P2M_MID_PER_PAGE);
      const old = top[g] === MID_MISSING ? this.midMissing : top[g];
      let same = true;
      for (let s = 0; s < P2M_MID_PER_PAGE; s++) {
        const leaf = old.slots[s];
        if (gStart + s * P2M_PER_PAGE >= oldSize) slots[s] = IDENTITY_LEAF;
        else if (leaf.shared !== SHARED_NONE || leaf.runs.length !== 3) slots[s] = leaf;
        else if (leaf.runs[1] === K.INVALID) slots[s] = MISSING_LEAF;
        else if (leaf.runs[1] === K.IDENTITY) slots[s] = IDENTITY_LEAF;
        else slots[s] = leaf;
        if (slots[s] !== leaf) same = false;
      }
      if (slots.every((l) => l === MISSING_LEAF)) top[g] = MID_MISSING;
      else if (slots.every((l) => l === IDENTITY_LEAF)) top[g] = MID_IDENTITY;
      else if (!same || old.shared !== SHARED_NONE) {
        top[g] = new Mid(this.#assertLive(), slots, SHARED_NONE);
      }
    }
    this.limit = size;
    this.maxPfn = size;
    this.extra = extra.slice();
  }
}

/**
 * A table's pages as plain numbers, for `table_codec.ts` (the on-disk index): every distinct
 * page once, pointers as indices, so sharing between slots survives a round trip. Leaf index
 * 0 is the shared missing leaf, 1 the identity leaf, 2 the boot RAM leaf; mid index 0 is the
 * mid-missing placeholder, 1 the boot RAM mid, 2 the mid-identity page; private pages follow.
 */
export interface P2mPages {
  /** Kernel era. */
  era: Era;
  /** First PFN outside the structure. */
  limit: number;
  /** v3.19+ max_pfn of the early lookup rule. */
  maxPfn: number;
  /** Extra-memory ranges of the early lookup rule (flat pairs). */
  extra: number[];
  /** Allocation counters. */
  acct: P2mAccounting;
  /** Runs of each private leaf (leaf index 3 + i). */
  leaves: number[][];
  /** Leaf indices of each private mid's 512 slots (mid index 3 + i). */
  mids: number[][];
  /** Leaf indices of the table's own mid-missing page. */
  midMissing: number[];
  /** Mid index of each top slot. */
  top: number[];
}

const SHARED_LEAVES = [MISSING_LEAF, IDENTITY_LEAF, RAM_LEAF];
const SHARED_MIDS = [MID_MISSING, RAM_MID, MID_IDENTITY];

/**
 * The pages of `t` ({@link P2mPages}); {@link p2mFromPages} builds the same table again.
 *
 * @example
 * ```ts
 * import { P2m, p2mFromPages, p2mPages } from "./table.ts";
 * import assert from "node:assert/strict";
 * const d = P2m.build("T12", 0x40000).draft();
 * d.setIdentityRange(0x80000, 0x80010);
 * const t = d.finish();
 * const back = p2mFromPages(p2mPages(t));
 * assert.deepEqual(back.entry(0x80000), t.entry(0x80000));
 * assert.deepEqual(p2mPages(back), p2mPages(t));
 * ```
 */
export function p2mPages(t: P2m): P2mPages {
  const o = t as unknown as { top: Mid[]; midMissing: Mid; limit: number; maxPfn: number };
  const leafIds = new Map<Leaf, number>(SHARED_LEAVES.map((l, i) => [l, i]));
  const midIds = new Map<Mid, number>(SHARED_MIDS.map((m, i) => [m, i]));
  const leaves: number[][] = [];
  const mids: number[][] = [];
  const leafId = (l: Leaf): number => {
    let id = leafIds.get(l);
    if (id === undefined) {
      id = SHARED_LEAVES.length + leaves.length;
      leaves.push(l.runs);
      leafIds.set(l, id);
    }
    return id;
  };
  const top = o.top.map((m) => {
    let id = midIds.get(m);
    if (id === undefined) {
      id = SHARED_MIDS.length + mids.length;
      midIds.set(m, id);
      mids.push(m.slots.map(leafId));
    }
    return id;
  });
  return {
    era: t.era,
    limit: o.limit,
    maxPfn: o.maxPfn,
    extra: (t as unknown as { extra: number[] }).extra,
    acct: { ...t.accounting },
    leaves,
    mids,
    midMissing: o.midMissing.slots.map(leafId),
    top,
  };
}

/**
 * The frozen table whose pages are `p` (as {@link p2mPages} gave them); throws
 * `InvariantError` when an index points nowhere.
 *
 * @example
 * ```ts
 * import { P2m, p2mFromPages, p2mPages } from "./table.ts";
 * import assert from "node:assert/strict";
 * const t = P2m.build("L19", 0x40000);
 * assert.deepEqual(p2mFromPages(p2mPages(t)).entry(0x100), t.entry(0x100));
 * ```
 */
export function p2mFromPages(p: P2mPages): P2m {
  return fromPages(p, p.leaves.map((runs) => new Leaf(null, runs, SHARED_NONE)));
}

/** {@link P2mPages} whose private leaves' runs are each read when the table first needs them. */
export type LazyP2mPages = Omit<P2mPages, "leaves"> & {
  /** Reads the runs of each private leaf (leaf index 3 + i); called at most once each. */
  leaves: (() => number[])[];
};

/**
 * {@link p2mFromPages}, with each private leaf's runs read (`p.leaves[i]()`) only when the
 * table first reads that leaf: an answer from the on-disk index that looks at a few leaves of
 * a state does not parse its thousands. The table answers exactly as the one
 * {@link p2mFromPages} would build from the runs read; an error a reader throws is thrown by
 * the table operation that first read the leaf.
 *
 * @example
 * ```ts
 * import { P2m, p2mFromLazyPages, p2mPages } from "./table.ts";
 * import assert from "node:assert/strict";
 * const d = P2m.build("T16", 0x80000).draft();
 * d.setIdentityRange(0x40000, 0x40010);
 * const t = d.finish();
 * const pages = p2mPages(t);
 * const read: number[] = [];
 * const lazy = p2mFromLazyPages({ ...pages, leaves: pages.leaves.map((r, i) => () => (read.push(i), r)) });
 * assert.deepEqual(read, []);
 * assert.deepEqual(lazy.entry(0x40001), t.entry(0x40001));
 * assert.equal(read.length, 1);
 * ```
 */
export function p2mFromLazyPages(p: LazyP2mPages): P2m {
  return fromPages(p, p.leaves.map(lazyLeaf));
}

/**
 * What a leaf read on first use is made from: a {@link Leaf} whose runs are an accessor that
 * calls its `load` once. Its leaves are made with `Object.create` (a leaf's own `runs` field
 * would hide the accessor); a replayed table's leaves, never these, keep their plain field,
 * so replay's own code sees one shape.
 */
const LAZY_LEAF: Leaf = Object.create(Leaf.prototype, {
  runs: {
    get(this: { load?: () => number[]; read?: number[] }): number[] {
      if (this.read === undefined) {
        this.read = this.load!();
        this.load = undefined;
      }
      return this.read;
    },
    set(this: { load?: () => number[]; read?: number[] }, v: number[]) {
      this.read = v;
      this.load = undefined;
    },
  },
});

/** A private leaf whose runs `load` reads on first use. */
function lazyLeaf(load: () => number[]): Leaf {
  const leaf = Object.create(LAZY_LEAF);
  leaf.owner = null;
  leaf.shared = SHARED_NONE;
  leaf.load = load;
  leaf.read = undefined;
  return leaf;
}

/**
 * {@link P2mPages} whose private mids are each read when the table first needs them, and their
 * private leaves likewise: mid `3 + i`'s slots are `mids[i]()` (leaf keys: 0-2 the shared
 * leaves, any other number a private leaf whose runs are `leaf(key)`; a key names one leaf
 * wherever it appears, so leaves shared by mids stay shared).
 */
export type LazyMidPages = Omit<P2mPages, "leaves" | "mids" | "midMissing"> & {
  /** Reads each private mid's 512 slots' leaf keys (mid index 3 + i); called at most once each. */
  mids: (() => number[])[];
  /** Mid index (3 + i) whose slots the table's own mid-missing page holds. */
  midMissing: number;
  /** Reads the runs of the private leaf `key`; called at most once for each key. */
  leaf: (key: number) => number[];
};

/**
 * What a mid read on first use is made from, as {@link LAZY_LEAF} for leaves: a {@link Mid}
 * whose slots are an accessor that calls its `load` once.
 */
const LAZY_MID: Mid = Object.create(Mid.prototype, {
  slots: {
    get(this: { load?: () => Leaf[]; read?: Leaf[] }): Leaf[] {
      if (this.read === undefined) {
        this.read = this.load!();
        this.load = undefined;
      }
      return this.read;
    },
    set(this: { load?: () => Leaf[]; read?: Leaf[] }, v: Leaf[]) {
      this.read = v;
      this.load = undefined;
    },
  },
});

/** A private mid (or, with `shared`, the mid-missing page) whose slots `load` reads on first use. */
function lazyMid(load: () => Leaf[], shared = SHARED_NONE): Mid {
  const mid = Object.create(LAZY_MID);
  mid.owner = null;
  mid.shared = shared;
  mid.load = load;
  mid.read = undefined;
  return mid;
}

/**
 * {@link p2mFromPages} with each private mid, and each private leaf, read only when the table
 * first reads it ({@link LazyMidPages}): an answer from the on-disk index that looks at a few
 * PFNs of a state reads a few of its mids and leaves, not its thousands of leaves. The table
 * answers exactly as the one {@link p2mFromPages} would build from the pages read; an error a
 * reader throws is thrown by the table operation that first read the page.
 *
 * @example
 * ```ts
 * import { P2m, p2mFromLazyMids, p2mPages } from "./table.ts";
 * import assert from "node:assert/strict";
 * const d = P2m.build("T16", 0x80000).draft();
 * d.setIdentityRange(0x40000, 0x40010);
 * const t = d.finish();
 * const pages = p2mPages(t);
 * const read: string[] = [];
 * const mids = [...pages.mids, pages.midMissing];
 * const lazy = p2mFromLazyMids({
 *   ...pages,
 *   mids: mids.map((s, i) => () => (read.push(`mid ${i}`), s)),
 *   midMissing: 3 + mids.length - 1,
 *   leaf: (k) => (read.push(`leaf ${k}`), pages.leaves[k - 3]),
 * });
 * assert.deepEqual(read, []);
 * assert.deepEqual(lazy.entry(0x40001), t.entry(0x40001));
 * assert.equal(read.length, 2);
 * ```
 */
export function p2mFromLazyMids(p: LazyMidPages): P2m {
  const leaves = new Map<number, Leaf>();
  const leaf = (k: number): Leaf => {
    if (k < SHARED_LEAVES.length) {
      const l = SHARED_LEAVES[k];
      if (l === undefined) throw new InvariantError(`P2M pages: no leaf ${k}`);
      return l;
    }
    let l = leaves.get(k);
    if (l === undefined) leaves.set(k, l = lazyLeaf(() => p.leaf(k)));
    return l;
  };
  // Each mid's keys read once; each Mid object made from them gets slots of its own.
  const keys = new Map<number, number[]>();
  const slotsOf = (i: number) => () => {
    let got = keys.get(i);
    if (got === undefined) {
      const read = p.mids[i - SHARED_MIDS.length];
      if (read === undefined) throw new InvariantError(`P2M pages: no mid ${i}`);
      keys.set(i, got = read());
    }
    return got.map(leaf);
  };
  const mids = new Map<number, Mid>();
  const top = p.top.map((i) => {
    if (i < SHARED_MIDS.length) {
      const m = SHARED_MIDS[i];
      if (m === undefined) throw new InvariantError(`P2M pages: no mid ${i}`);
      return m;
    }
    if (!(i - SHARED_MIDS.length < p.mids.length)) {
      throw new InvariantError(`P2M pages: no mid ${i}`);
    }
    let m = mids.get(i);
    if (m === undefined) mids.set(i, m = lazyMid(slotsOf(i)));
    return m;
  });
  if (!(p.midMissing >= SHARED_MIDS.length && p.midMissing - SHARED_MIDS.length < p.mids.length)) {
    throw new InvariantError("P2M pages: the mid-missing page is not one of the table's mids");
  }
  const midMissing = lazyMid(slotsOf(p.midMissing), SHARED_MISSING);
  return new P2m(p.era, top, midMissing, p.limit, p.maxPfn, p.extra, { ...p.acct });
}

function fromPages(p: Omit<P2mPages, "leaves">, privateLeaves: Leaf[]): P2m {
  const leaves = [...SHARED_LEAVES, ...privateLeaves];
  const leaf = (i: number): Leaf => {
    const l = leaves[i];
    if (l === undefined) throw new InvariantError(`P2M pages: no leaf ${i}`);
    return l;
  };
  const mids = [...SHARED_MIDS, ...p.mids.map((s) => new Mid(null, s.map(leaf), SHARED_NONE))];
  const top = p.top.map((i) => {
    const m = mids[i];
    if (m === undefined) throw new InvariantError(`P2M pages: no mid ${i}`);
    return m;
  });
  const midMissing = new Mid(null, p.midMissing.map(leaf), SHARED_MISSING);
  return new P2m(p.era, top, midMissing, p.limit, p.maxPfn, p.extra, { ...p.acct });
}

/**
 * Names pages for {@link p2mPageIds}: a store of many tables asks it for the id of each private
 * page, by identity, so a page shared by two tables (persistence) is stored once.
 */
export interface PageNamer {
  /** The id (>= 3) of private leaf `page`, whose (frozen) runs are `runs`. */
  leaf(page: object, runs: readonly number[]): number;
  /**
   * The id (>= 3) of private mid `page`, found at top slot `at` (-1: the table's mid-missing
   * page); `leaves()` gives the ids of its 512 slots. Given `like`, a mid this namer named
   * with those slot ids (the one at the same top slot of an earlier table, of which `page`
   * is most often a copy with a few slots written), `leaves(like)` names only the slots that
   * hold another leaf than its own, and takes its ids for the rest.
   */
  mid(page: object, leaves: (like?: NamedMid) => number[], at: number): number;
}

/** A mid page a {@link PageNamer} named, and the ids it got for its slots' leaves. */
export interface NamedMid {
  /** The mid. */
  page: object;
  /** Its slots' leaf ids, as `leaves()` gave them. */
  ids: readonly number[];
}

/**
 * The pages of a frozen table as ids a {@link PageNamer} gave, for a store that keeps many
 * tables and shares their common pages: {@link P2mPages} with the leaves and mids left to the
 * namer. Ids 0-2 are the shared pages, as in {@link P2mPages}.
 */
export interface P2mPageIds {
  /** Kernel era. */
  era: Era;
  /** First PFN outside the structure. */
  limit: number;
  /** v3.19+ max_pfn of the early lookup rule. */
  maxPfn: number;
  /** Extra-memory ranges of the early lookup rule (flat pairs; the table's own, frozen). */
  extra: number[];
  /** Allocation counters (a copy). */
  acct: P2mAccounting;
  /** Mid id of each top slot. */
  top: number[];
  /** Mid id of the table's own mid-missing page. */
  midMissing: number;
}

/**
 * Names every page of the frozen table `t` through `namer` ({@link P2mPageIds}); a namer that
 * keeps the leaves and mids it was given, by id, rebuilds `t` with {@link p2mFromPages}.
 *
 * @example
 * ```ts
 * import { P2m, p2mPageIds } from "./table.ts";
 * import assert from "node:assert/strict";
 * const d = P2m.build("T12", 0x40000).draft();
 * d.setIdentityRange(0x80000, 0x80010);
 * const ids = new Map<object, number>();
 * const namer = {
 *   leaf: (page: object) => ids.get(page) ?? ids.set(page, 3 + ids.size).get(page)!,
 *   mid: (page: object, leaves: () => number[]) => (leaves(), namer.leaf(page)),
 * };
 * const p = p2mPageIds(d.finish(), namer);
 * assert.equal(p.top.length, 512);
 * assert.equal(p.top[0], 1); // boot RAM: the shared RAM mid
 * assert.ok(p.midMissing >= 3); // the table's own mid-missing page
 * ```
 */
export function p2mPageIds(t: P2m, namer: PageNamer): P2mPageIds {
  if (t instanceof P2mDraft) throw new InvariantError("p2mPageIds: the table is a live draft");
  const o = t as unknown as { top: Mid[]; midMissing: Mid; limit: number; maxPfn: number };
  const leafId = (l: Leaf): number => {
    const shared = SHARED_LEAVES.indexOf(l);
    return shared >= 0 ? shared : namer.leaf(l, l.runs);
  };
  // A mid's slot ids, those of the slots `like` holds the same leaf in taken from it (both
  // are frozen: a leaf not written since is the same object, with the same id).
  const leavesOf = (m: Mid) => (like?: NamedMid): number[] => {
    const slots = m.slots, n = slots.length;
    const same = like?.page instanceof Mid && like.page.slots.length === n &&
        like.ids.length === n
      ? like.page.slots
      : undefined;
    const out = new Array<number>(n);
    for (let s = 0; s < n; s++) {
      const l = slots[s];
      out[s] = same !== undefined && same[s] === l ? like!.ids[s] : leafId(l);
    }
    return out;
  };
  const midId = (m: Mid, at: number): number => {
    const shared = SHARED_MIDS.indexOf(m);
    return shared >= 0 ? shared : namer.mid(m, leavesOf(m), at);
  };
  return {
    era: t.era,
    limit: o.limit,
    maxPfn: o.maxPfn,
    extra: (t as unknown as { extra: number[] }).extra,
    acct: { ...t.accounting },
    top: o.top.map(midId),
    midMissing: namer.mid(o.midMissing, leavesOf(o.midMissing), -1),
  };
}
