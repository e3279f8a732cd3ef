/**
 * A deliberately naive oracle of the Linux Xen PV P2M code: the kernel's C functions
 * (`get_phys_to_machine`, `__set_phys_to_machine`, `set_phys_to_machine`, `alloc_p2m`,
 * `early_set_phys_to_machine`, `early_can_reuse_p2m_middle`, `set_phys_range_identity`,
 * `xen_build_dynamic_phys_to_machine`, and for v3.19+ `xen_rebuild_p2m_list`) transcribed
 * one PFN at a time, with real (mutable, pointer-compared) shared pages, so that the
 * batched structural model in `src/p2m/table.ts` can be checked against it.
 *
 * It is written from the kernel facts (v3.12 `arch/x86/xen/p2m.c`, the v3.16-3.18 and v3.19
 * differences in p2m-semantics.md sections 2.1, 3 and 3.5), never from `table.ts`; it shares
 * only the entry-kind numbering {@link K} with the code under test. Loops are per PFN on
 * purpose: slow but obviously correct. The only shortcuts are ones that do not change any
 * result: private leaves are materialised on their first store (a leaf is "filled" until
 * then), the reuse scan skips a GiB served by the shared mid-missing page in one step (the
 * kernel `continue`s on each of its leaves), and the v3.19 rebuild knows that every entry
 * beyond the old list size is identity without reading it.
 *
 * Kernel-era names: **T12** = v3.10-3.15, **T16** = v3.16-3.18, **L19** = v3.19+ linear list.
 *
 * @module
 */

import { K } from "../../src/p2m/leaf_runs.ts";

/** Entries per leaf page (P2M_PER_PAGE on x86_64). */
export const NAIVE_LEAF = 512;
/** PFNs one mid page covers: P2M_PER_PAGE * P2M_MID_PER_PAGE (1 GiB of PFN space). */
export const NAIVE_GIB = 512 * 512;
/** MAX_P2M_PFN on x86_64: P2M_TOP_PER_PAGE * P2M_MID_PER_PAGE * P2M_PER_PAGE. */
export const NAIVE_MAX_P2M_PFN = 512 * 512 * 512;
/** MAX_DOMAIN_PAGES with CONFIG_XEN_MAX_DOMAIN_MEMORY=500 (GiB). */
export const NAIVE_MAX_DOMAIN_PAGES = 500 * (2 ** 30 / 4096);

/** Kernel era. */
export type NaiveEra = "T12" | "T16" | "L19";

/** The kernel write primitive a range write uses for every PFN. */
export type NaivePrimitive =
  | "__set_phys_to_machine"
  | "set_phys_to_machine"
  | "early_set_phys_to_machine";

/**
 * Which page answered a lookup: a private leaf, the shared identity or missing leaf reached
 * through a private mid (or, in v3.12, through the shared mid-missing page for an aliased
 * identity slot: still `identity-leaf`), a GiB served by the shared mid-missing or
 * mid-identity page (v3.19+: the shared missing/identity PTE page), a PFN at or above
 * MAX_P2M_PFN (tree eras) or at or above xen_p2m_size (list era).
 */
export type NaiveStructure =
  | "private-leaf"
  | "identity-leaf"
  | "missing-leaf"
  | "mid-missing"
  | "mid-identity"
  | "outside-tree"
  | "beyond-list";

/**
 * A value written over a range, as the table's `WriteValue`: for `K.MFN` and `K.FOREIGN` the
 * frame at PFN p is `base + (p - startPfn)`; `K.SCRATCH` holds `base` everywhere; the other
 * kinds carry no frame (`K.IDENTITY` means IDENTITY_FRAME(p) of each PFN p).
 */
export interface NaiveValue {
  /** Entry kind ({@link K}). */
  kind: number;
  /** Frame at `startPfn` (MFN, FOREIGN), the scratch frame (SCRATCH), else 0. */
  base: number;
  /** The PFN `base` belongs to. */
  startPfn: number;
}

/** One coalesced lookup run from {@link NaiveP2m.runs}. */
export interface NaiveRun {
  /** First PFN. */
  pfn: number;
  /** End PFN (exclusive). */
  endPfn: number;
  /** Entry kind. */
  kind: number;
  /** Frame of the first PFN (MFN, FOREIGN), the scratch frame, else 0. */
  base: number;
  /** Structure of every PFN of the run (`null` when runs ignore structure). */
  structure: NaiveStructure | null;
}

/** Options of {@link NaiveP2m.build}. */
export interface NaiveOptions {
  /**
   * T16 `set_phys_range_identity` splits each end with `early_split_p2m`, which allocates a
   * private mid when the end lies inside a GiB (`mididx || idx`) and a private leaf when it lies
   * inside a leaf. That is this oracle's default: it is how the author remembers the v3.16
   * source, the commit message ("only needs to allocate new middle pages at the beginning and
   * end of the range") says so, and only with it does the kernel's skip-ahead loop (jump to the
   * next GiB after a top swap) never run past `pfn_e`. The task's fact sheet instead allocates
   * the mid only for an end that is not leaf-aligned; set this option to get that reading.
   * Neither is verified: the v3.16-3.18 source was not in the reference corpus.
   */
  t16SplitMidOnlyWhenLeafUnaligned?: boolean;
}

/** Frame value of `v` at `pfn`. */
export function naiveFrameAt(v: NaiveValue, pfn: number): number {
  if (v.kind === K.MFN || v.kind === K.FOREIGN) return v.base + (pfn - v.startPfn);
  if (v.kind === K.SCRATCH) return v.base;
  return 0;
}

/** A private leaf page: 512 entries, filled lazily (`lowKind` below `cut`, `highKind` above). */
class PrivateLeaf {
  kinds: Uint8Array | null = null;
  frames: Float64Array | null = null;
  constructor(
    private lowKind: number,
    private cut = NAIVE_LEAF,
    private highKind: number = K.INVALID,
  ) {}
  kindAt(i: number): number {
    if (this.kinds !== null) return this.kinds[i];
    return i < this.cut ? this.lowKind : this.highKind;
  }
  frameAt(i: number): number {
    return this.frames === null ? 0 : this.frames[i];
  }
  store(i: number, kind: number, frame: number): void {
    if (this.kinds === null) {
      this.kinds = new Uint8Array(NAIVE_LEAF);
      this.frames = new Float64Array(NAIVE_LEAF);
      for (let j = 0; j < NAIVE_LEAF; j++) {
        this.kinds[j] = j < this.cut ? this.lowKind : this.highKind;
      }
    }
    this.kinds[i] = kind;
    this.frames![i] = frame;
  }
  /** `p2m_init` (INVALID everywhere) or `p2m_init_identity` (IDENTITY_FRAME of each PFN). */
  fill(kind: number): void {
    this.kinds = null;
    this.frames = null;
    this.lowKind = kind;
    this.cut = NAIVE_LEAF;
    this.highKind = kind;
  }
  /** `copy_page`. */
  clone(): PrivateLeaf {
    const c = new PrivateLeaf(this.lowKind, this.cut, this.highKind);
    if (this.kinds !== null) {
      c.kinds = this.kinds.slice();
      c.frames = this.frames!.slice();
    }
    return c;
  }
}

/** A shared leaf page (`p2m_missing` or `p2m_identity`): every entry INVALID until stored to. */
class SharedLeaf {
  /** Stores that landed in the shared page (only ever the identity page: "lost writes"). */
  readonly stored = new Map<number, [number, number]>();
  constructor(readonly name: "missing" | "identity") {}
}

type Leaf = PrivateLeaf | SharedLeaf;

/** A mid page (tree eras) or a PTE page of the linear list (v3.19+). */
class Mid {
  constructor(readonly name: "private" | "mid-missing" | "mid-identity", readonly slots: Leaf[]) {}
}

/**
 * The naive per-PFN P2M of one kernel era. Mutable: every method changes it in place, as the
 * kernel does.
 *
 * @example
 * ```ts
 * import { NaiveP2m } from "./naive_p2m.ts";
 * import { K } from "../../src/p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const o = NaiveP2m.build("T12", 0x40000);
 * assert.deepEqual(o.lookup(0x100), [K.MFN_UNKNOWN, 0]);
 * assert.equal(o.setIdentityRange(0x80000, 0x80010), 0x10);
 * assert.deepEqual(o.lookup(0x80001), [K.IDENTITY, 0]);
 * ```
 */
export class NaiveP2m {
  /** Kernel era. */
  readonly era: NaiveEra;
  /** brk pages used by the p2m code (tree eras). */
  brkUsed = 0;
  /** Pages from `alloc_p2m` (tree: __get_free_page; v3.19+: mid/PTE and leaf pages). */
  runtimePages = 0;
  /** v3.19+: pages the rebuild of the list copied leaves into (not part of `runtimePages`). */
  rebuildPages = 0;
  /** Stores that landed in the shared identity page. */
  lostWrites = 0;
  /** PFNs whose write hit `BUG_ON(mfn != INVALID_P2M_ENTRY)` beyond the structure. */
  bugs = 0;
  /** v3.12 identity swaps performed inside the shared mid-missing page. */
  aliasSwaps = 0;
  /** v3.16-3.18 top-slot swaps of a mid-missing GiB to the mid-identity page. */
  topSwaps = 0;
  /** Successful `early_can_reuse_p2m_middle` calls. */
  reuses = 0;
  /** WARNs the transcribed code would print. */
  readonly warnings: string[] = [];
  /** xen_p2m_size (v3.19+); MAX_P2M_PFN for the tree eras. */
  size: number;
  /** xen_max_p2m_pfn (v3.19+). */
  maxPfn: number;
  /** xen_extra_mem regions (v3.19+), flat `[pfn, endPfn, ...]`. */
  readonly extraMem: number[] = [];

  readonly #opts: NaiveOptions;
  readonly #missing = new SharedLeaf("missing");
  readonly #identity = new SharedLeaf("identity");
  /** p2m_mid_missing (v3.19+: p2m_missing_pte). Writable in v3.12 (aliasing). */
  readonly #midMissing: Mid;
  /** p2m_mid_identity (v3.16+; v3.19+: p2m_identity_pte). */
  readonly #midIdentity: Mid;
  /** p2m_top (tree) or the GiB-sized PMD view of the linear list. */
  #top: Mid[];

  private constructor(era: NaiveEra, opts: NaiveOptions) {
    this.era = era;
    this.#opts = opts;
    this.#midMissing = new Mid("mid-missing", new Array<Leaf>(512).fill(this.#missing));
    this.#midIdentity = new Mid("mid-identity", new Array<Leaf>(512).fill(this.#identity));
    this.#top = [];
    this.size = NAIVE_MAX_P2M_PFN;
    this.maxPfn = 0;
  }

  /**
   * `xen_build_dynamic_phys_to_machine` for a guest started with `nrPages` pages.
   * Tree eras: nr = min(nrPages, MAX_DOMAIN_PAGES); 7 (T12) or 9 (T16) brk pages for the shared
   * pages and top arrays, 2 per GiB with RAM (mid + mid_mfn); every leaf below nr is private
   * (entries MFN_UNKNOWN, INVALID from nr to the end of the last leaf).
   * v3.19+: xen_p2m_size = ALIGN(nrPages, 512) entries of the hypervisor's list, tail INVALID.
   */
  static build(era: NaiveEra, nrPages: number, opts: NaiveOptions = {}): NaiveP2m {
    const o = new NaiveP2m(era, opts);
    if (era === "L19") {
      o.size = Math.ceil(nrPages / NAIVE_LEAF) * NAIVE_LEAF;
      o.maxPfn = o.size;
      const gibs = Math.ceil(o.size / NAIVE_GIB);
      for (let g = 0; g < gibs; g++) {
        o.#top.push(new Mid("private", new Array<Leaf>(512).fill(o.#missing)));
      }
      for (let pfn = 0; pfn < o.size; pfn += NAIVE_LEAF) {
        o.#top[topIndex(pfn)].slots[midIndex(pfn)] = new PrivateLeaf(
          K.MFN_UNKNOWN,
          Math.min(NAIVE_LEAF, nrPages - pfn),
          K.INVALID,
        );
      }
      return o;
    }
    const nr = Math.min(nrPages, NAIVE_MAX_DOMAIN_PAGES);
    o.maxPfn = nr;
    // p2m_missing, p2m_mid_missing, p2m_top, p2m_identity, then (xen_build_mfn_list_list)
    // p2m_mid_missing_mfn, p2m_top_mfn_p, p2m_top_mfn; v3.16 adds p2m_mid_identity(+_mfn).
    o.brkUsed = era === "T12" ? 7 : 9;
    for (let g = 0; g < 512; g++) o.#top.push(o.#midMissing);
    for (let pfn = 0; pfn < nr; pfn += NAIVE_LEAF) {
      const g = topIndex(pfn);
      if (o.#top[g] === o.#midMissing) {
        o.#top[g] = new Mid("private", new Array<Leaf>(512).fill(o.#missing));
        o.brkUsed += 2; // the mid page here, its mid_mfn page in xen_build_mfn_list_list
      }
      o.#top[g].slots[midIndex(pfn)] = new PrivateLeaf(
        K.MFN_UNKNOWN,
        Math.min(NAIVE_LEAF, nr - pfn),
        K.INVALID,
      );
    }
    return o;
  }

  /** brk pages reserved for the p2m (RESERVE_BRK); 0 for the linear list. */
  get brkReserved(): number {
    if (this.era === "L19") return 0;
    const midPages = NAIVE_MAX_DOMAIN_PAGES / NAIVE_GIB; // p2m_mid and p2m_mid_mfn, each
    return (this.era === "T12" ? 7 : 9) + 2 * midPages + 6 + 3;
  }

  // ---- lookups -------------------------------------------------------------------------

  /**
   * `get_phys_to_machine(pfn)` as `[kind, frame]` (frame: MFN/FOREIGN frame, scratch frame,
   * else 0). v3.19+ beyond xen_p2m_size (`__pfn_to_mfn`, `xen_chk_extra_mem`): below
   * xen_max_p2m_pfn a PFN inside an xen_extra_mem region is INVALID, every other one identity.
   */
  lookup(pfn: number): [number, number] {
    if (this.era === "T12" && pfn >= NAIVE_MAX_P2M_PFN) return [K.INVALID, 0];
    if (this.era === "T16" && pfn >= NAIVE_MAX_P2M_PFN) return [K.IDENTITY, 0];
    if (this.era === "L19" && pfn >= this.size) {
      return pfn < this.maxPfn && this.#inExtraMem(pfn) ? [K.INVALID, 0] : [K.IDENTITY, 0];
    }
    const leaf = this.#top[topIndex(pfn)].slots[midIndex(pfn)];
    if (leaf === this.#identity) return [K.IDENTITY, 0];
    return this.#read(leaf, leafIndex(pfn));
  }

  /** Which page answers a lookup of `pfn`. */
  structureAt(pfn: number): NaiveStructure {
    if (this.era !== "L19" && pfn >= NAIVE_MAX_P2M_PFN) return "outside-tree";
    if (this.era === "L19" && pfn >= this.size) return "beyond-list";
    const mid = this.#top[topIndex(pfn)];
    const leaf = mid.slots[midIndex(pfn)];
    if (leaf === this.#identity) {
      return mid === this.#midIdentity ? "mid-identity" : "identity-leaf";
    }
    if (leaf === this.#missing) return mid === this.#midMissing ? "mid-missing" : "missing-leaf";
    return "private-leaf";
  }

  /**
   * Coalesced lookup runs of `[a, b)`, computed by looking up every PFN: adjacent PFNs join
   * when their kinds are equal and (MFN, FOREIGN) the frame goes up by one, (SCRATCH) the
   * frame is the same, (others) always; with `withStructure` also only with equal structure.
   */
  runs(a: number, b: number, withStructure: boolean): NaiveRun[] {
    const out: NaiveRun[] = [];
    let lastFrame = 0;
    for (let p = a; p < b; p++) {
      const [k, f] = this.lookup(p);
      const s = withStructure ? this.structureAt(p) : null;
      const last = out.length > 0 ? out[out.length - 1] : null;
      if (last !== null && last.kind === k && last.structure === s) {
        let joins = true;
        if (k === K.MFN || k === K.FOREIGN) joins = f === lastFrame + 1;
        else if (k === K.SCRATCH) joins = f === last.base;
        if (joins) {
          last.endPfn = p + 1;
          lastFrame = f;
          continue;
        }
      }
      out.push({ pfn: p, endPfn: p + 1, kind: k, base: f, structure: s });
      lastFrame = f;
    }
    return out;
  }

  // ---- __set_phys_to_machine -----------------------------------------------------------

  /** `__set_phys_to_machine(pfn, v)`: never allocates; false when the entry cannot be set. */
  rawSet(pfn: number, kind: number, frame: number): boolean {
    if (this.era === "L19") return this.#rawSetList(pfn, kind, frame);
    if (pfn >= NAIVE_MAX_P2M_PFN) {
      if (kind !== K.INVALID) this.bugs++; // BUG_ON(mfn != INVALID_P2M_ENTRY)
      return true;
    }
    const g = topIndex(pfn), m = midIndex(pfn), i = leafIndex(pfn);
    // "mfn != INVALID_P2M_ENTRY && (mfn & IDENTITY_FRAME_BIT)": only identity values.
    if (kind === K.IDENTITY) {
      if (this.era === "T16") {
        if (this.#top[g] === this.#midIdentity) return true;
        if (this.#top[g] === this.#midMissing) {
          this.#top[g] = this.#midIdentity;
          this.topSwaps++;
          return true;
        }
      }
      if (this.#top[g].slots[m] === this.#identity) return true;
      if (this.#top[g].slots[m] === this.#missing) {
        // v3.12: when p2m_top[g] is the shared p2m_mid_missing page this writes that page.
        if (this.#top[g] === this.#midMissing) this.aliasSwaps++;
        this.#top[g].slots[m] = this.#identity;
        return true;
      }
    }
    if (this.#top[g].slots[m] === this.#missing) return kind === K.INVALID;
    this.#store(this.#top[g].slots[m], i, kind, frame);
    return true;
  }

  #rawSetList(pfn: number, kind: number, frame: number): boolean {
    if (pfn >= this.size) {
      if (kind !== K.INVALID) this.bugs++;
      return true;
    }
    const leaf = this.#top[topIndex(pfn)].slots[midIndex(pfn)];
    if (leaf instanceof PrivateLeaf) {
      leaf.store(leafIndex(pfn), kind, frame); // xen_safe_write_ulong succeeded
      return true;
    }
    // The store faulted: the page is a read-only shared page.
    if (leaf === this.#missing) return kind === K.INVALID;
    if (leaf === this.#identity) return kind === K.IDENTITY;
    return false;
  }

  // ---- set_phys_to_machine / alloc_p2m -------------------------------------------------

  /** `set_phys_to_machine(pfn, v)`: on failure `alloc_p2m(pfn)` and retry once. */
  set(pfn: number, kind: number, frame: number): boolean {
    if (!this.rawSet(pfn, kind, frame)) {
      if (!this.#allocP2m(pfn)) return false;
      return this.rawSet(pfn, kind, frame);
    }
    return true;
  }

  #allocP2m(pfn: number): boolean {
    const g = topIndex(pfn), m = midIndex(pfn);
    if (this.era === "L19") {
      if (this.#top[g] === this.#midMissing || this.#top[g] === this.#midIdentity) {
        // alloc_p2m_pmd: copy_page of the shared PTE page.
        this.#top[g] = new Mid("private", this.#top[g].slots.slice());
        this.runtimePages++;
      }
      const leaf = this.#top[g].slots[m];
      if (leaf === this.#missing || leaf === this.#identity) {
        // p2m_init, or p2m_init_identity(p2m, pfn & ~(P2M_PER_PAGE - 1)).
        this.#top[g].slots[m] = new PrivateLeaf(leaf === this.#missing ? K.INVALID : K.IDENTITY);
        this.runtimePages++;
      }
      return true;
    }
    let mid = this.#top[g];
    if (mid === this.#midMissing) {
      mid = new Mid("private", new Array<Leaf>(512).fill(this.#missing)); // p2m_mid_init
      this.#top[g] = mid;
      this.runtimePages += 2; // the mid page and its mid_mfn page
    }
    if (this.#top[g].slots[m] === this.#identity || this.#top[g].slots[m] === this.#missing) {
      // Note: stored through the local `mid`, as the kernel's cmpxchg(&mid[mididx], ...).
      mid.slots[m] = new PrivateLeaf(K.INVALID); // p2m_init
      this.runtimePages++;
    }
    return true;
  }

  // ---- early_set_phys_to_machine -------------------------------------------------------

  /**
   * `early_set_phys_to_machine(pfn, v)` (tree eras): on failure a mid from brk, then reuse of an
   * all-identity or all-INVALID private leaf if `pfn` is leaf-aligned, else a leaf from brk;
   * retry. v3.19+ has no early variant: `set_phys_to_machine`.
   */
  earlySet(pfn: number, kind: number, frame: number): boolean {
    if (this.era === "L19") return this.set(pfn, kind, frame);
    if (!this.rawSet(pfn, kind, frame)) {
      this.#earlyAllocMid(pfn);
      if (this.#earlyCanReuse(pfn)) return this.rawSet(pfn, kind, frame);
      if (!this.#earlyAllocLeaf(pfn, false)) return false;
      return this.rawSet(pfn, kind, frame);
    }
    return true;
  }

  /** T12 `early_alloc_p2m` / T16 `early_alloc_p2m_middle`: a private mid (+ mid_mfn) from brk. */
  #earlyAllocMid(pfn: number): void {
    const g = topIndex(pfn);
    // Only the shared mid-missing page is replaced; a mid-identity GiB stays shared (v3.16).
    if (this.#top[g] === this.#midMissing) {
      this.#top[g] = new Mid("private", new Array<Leaf>(512).fill(this.#missing));
      this.brkUsed += 2;
    }
  }

  /** T12 `early_alloc_p2m_middle(pfn, check_boundary)` (T16 `early_alloc_p2m`): a brk leaf. */
  #earlyAllocLeaf(pfn: number, checkBoundary: boolean): boolean {
    const g = topIndex(pfn), m = midIndex(pfn);
    if (leafIndex(pfn) === 0 && checkBoundary) return false;
    if (this.#top[g].slots[m] === this.#identity) {
      this.warnings.push(`P2M[${g}][${m}] == IDENTITY, should be MISSING (or alloced)!`);
    }
    if (this.#top[g].slots[m] !== this.#missing) return false;
    this.#top[g].slots[m] = new PrivateLeaf(K.INVALID);
    this.brkUsed += 1;
    return true;
  }

  /** `early_can_reuse_p2m_middle(set_pfn)`. */
  #earlyCanReuse(setPfn: number): boolean {
    if (leafIndex(setPfn) !== 0) return false;
    let found: PrivateLeaf | null = null;
    let foundIdentity = false;
    let fg = 0, fm = 0;
    for (let pfn = 0; pfn < NAIVE_MAX_DOMAIN_PAGES && found === null; pfn += NAIVE_LEAF) {
      const g = topIndex(pfn);
      if (this.#top[g] === this.#midMissing) {
        // The kernel `continue`s on every leaf of this GiB; jump to its last one.
        pfn = g * NAIVE_GIB + NAIVE_GIB - NAIVE_LEAF;
        continue;
      }
      const m = midIndex(pfn);
      const leaf = this.#top[g].slots[m];
      if (!(leaf instanceof PrivateLeaf)) continue;
      let ident = 0, inv = 0;
      for (let idx = 0; idx < NAIVE_LEAF; idx++) {
        const k = leaf.kindAt(idx);
        if (k === K.IDENTITY) ident++; // == IDENTITY_FRAME(pfn + idx)
        else if (k === K.INVALID) inv++;
        else break;
      }
      if (ident === NAIVE_LEAF || inv === NAIVE_LEAF) {
        found = leaf;
        foundIdentity = ident === NAIVE_LEAF;
        fg = g;
        fm = m;
      }
    }
    if (found === null) return false;
    this.#top[fg].slots[fm] = foundIdentity ? this.#identity : this.#missing;
    const g = topIndex(setPfn), m = midIndex(setPfn);
    if (this.#top[g] === this.#midMissing) {
      this.warnings.push("early_can_reuse_p2m_middle: mid missing");
      this.#earlyAllocMid(setPfn);
    }
    if (this.#top[g].slots[m] !== this.#missing) {
      this.warnings.push("early_can_reuse_p2m_middle: leaf not missing");
      return false;
    }
    found.fill(K.INVALID); // p2m_init(p2m)
    this.#top[g].slots[m] = found;
    this.reuses++;
    return true;
  }

  // ---- ranges --------------------------------------------------------------------------

  /**
   * Applies `primitive` to every PFN of `[a, b)` in order with `v`'s value at that PFN;
   * returns how many calls returned false.
   */
  write(a: number, b: number, v: NaiveValue, primitive: NaivePrimitive): number {
    let failed = 0;
    for (let pfn = a; pfn < b; pfn++) {
      const f = naiveFrameAt(v, pfn);
      let ok: boolean;
      if (primitive === "__set_phys_to_machine") ok = this.rawSet(pfn, v.kind, f);
      else if (primitive === "set_phys_to_machine") ok = this.set(pfn, v.kind, f);
      else ok = this.earlySet(pfn, v.kind, f);
      if (!ok) failed++;
    }
    return failed;
  }

  /**
   * Not a kernel primitive: the table's idealised write (`P2mDraft.writePrivate`) by its
   * documented contract. Every PFN of `[a, b)` inside the structure gets `v` in a private leaf;
   * a shared mid (PTE page) or leaf on the way is first replaced by a private copy that answers
   * every lookup as before (a v3.12 mid-missing copy keeps its aliased identity slots, a shared
   * identity leaf becomes an identity-filled one), so nothing outside the range changes. Pages:
   * 2 per mid or PTE page (with its mid_mfn page), 1 per leaf, counted as runtime pages. PFNs
   * outside the structure behave as in {@link NaiveP2m.rawSet}.
   */
  writePrivate(a: number, b: number, v: NaiveValue): void {
    for (let pfn = a; pfn < b; pfn++) {
      const f = naiveFrameAt(v, pfn);
      if (pfn >= this.size) {
        this.rawSet(pfn, v.kind, f);
        continue;
      }
      const g = topIndex(pfn), m = midIndex(pfn);
      if (this.#top[g] === this.#midMissing || this.#top[g] === this.#midIdentity) {
        this.#top[g] = new Mid("private", this.#top[g].slots.slice());
        this.runtimePages += 2;
      }
      const leaf = this.#top[g].slots[m];
      if (leaf === this.#missing || leaf === this.#identity) {
        this.#top[g].slots[m] = new PrivateLeaf(leaf === this.#missing ? K.INVALID : K.IDENTITY);
        this.runtimePages++;
      }
      this.rawSet(pfn, v.kind, f);
    }
  }

  /** `set_phys_range_identity(s, e)` of the era; returns the kernel's count. */
  setIdentityRange(s: number, e: number): number {
    if (this.era === "T12") {
      if (s >= NAIVE_MAX_P2M_PFN || e >= NAIVE_MAX_P2M_PFN) return 0;
      if (s > e) return 0;
      for (let pfn = s - (s % NAIVE_GIB); pfn < alignUp(e, NAIVE_GIB); pfn += NAIVE_GIB) {
        this.#earlyAllocMid(pfn);
      }
      this.#earlyAllocLeaf(s, true);
      this.#earlyAllocLeaf(e, true);
      let pfn = s;
      for (; pfn < e; pfn++) if (!this.rawSet(pfn, K.IDENTITY, 0)) break;
      if (pfn !== e) this.warnings.push(`Identity mapping failed. We are ${e - pfn} short`);
      return pfn - s;
    }
    if (this.era === "T16") {
      if (s >= NAIVE_MAX_P2M_PFN) return 0;
      if (s > e) return 0;
      if (e > NAIVE_MAX_P2M_PFN) e = NAIVE_MAX_P2M_PFN;
      this.#t16Split(s);
      this.#t16Split(e);
      // After each PFN, skip to the next GiB or leaf when the one just written is the shared
      // mid-identity page or identity leaf; the count can then run past e.
      let pfn = s;
      while (pfn < e) {
        const g = topIndex(pfn), m = midIndex(pfn);
        if (!this.rawSet(pfn, K.IDENTITY, 0)) break;
        pfn++;
        if (this.#top[g] === this.#midIdentity) pfn = alignUp(pfn, NAIVE_GIB);
        else if (this.#top[g].slots[m] === this.#identity) pfn = alignUp(pfn, 512);
      }
      if (pfn !== e) this.warnings.push(`Identity mapping failed. We are ${e - pfn} short`);
      return pfn - s;
    }
    if (s >= this.size) return 0;
    if (s > e) return 0;
    if (e > this.size) e = this.size;
    for (let pfn = s; pfn < e; pfn++) this.set(pfn, K.IDENTITY, 0);
    return e - s;
  }

  /**
   * v3.16-3.18 `early_split_p2m` of one end of an identity range (brk mid + mid_mfn, brk leaf):
   * only shared missing pages are replaced.
   */
  #t16Split(pfn: number): void {
    if (pfn >= NAIVE_MAX_P2M_PFN) return;
    const leafUnaligned = leafIndex(pfn) !== 0;
    const midSplit = this.#opts.t16SplitMidOnlyWhenLeafUnaligned === true
      ? leafUnaligned
      : pfn % NAIVE_GIB !== 0;
    if (midSplit) this.#earlyAllocMid(pfn);
    if (!leafUnaligned) return;
    // early_alloc_p2m: WARN for an identity leaf, allocate only for a missing one.
    const g = topIndex(pfn), m = midIndex(pfn);
    const leaf = this.#top[g].slots[m];
    if (leaf === this.#identity) {
      this.warnings.push(`P2M[${g}][${m}] == IDENTITY, should be MISSING (or alloced)!`);
    } else if (leaf === this.#missing) {
      this.#top[g].slots[m] = new PrivateLeaf(K.INVALID);
      this.brkUsed += 1;
    }
  }

  // ---- v3.19+ list -----------------------------------------------------------------------

  /**
   * `xen_vmalloc_p2m_tree` + `xen_rebuild_p2m_list` (v3.19+), with xen_max_p2m_pfn =
   * `newMaxPfn`: the list grows to ALIGN(max(xen_p2m_size, newMaxPfn, p2mLimitPfns), 1 GiB of
   * PFNs) (the VA area is PMD-aligned), every entry beyond the old size is identity, and the
   * rebuild maps uniform missing/identity GiBs to the shared PTE pages, uniform leaves to the
   * shared leaves and copies everything else. `p2mLimitPfns` is P2M_LIMIT in PFNs (0 for
   * v3.19.0; 512 GiB with CONFIG_XEN_BALLOON_MEMORY_HOTPLUG_LIMIT's default).
   */
  growList(newMaxPfn: number, p2mLimitPfns = 0): void {
    if (this.era !== "L19") throw new Error("growList is for the v3.19+ linear list");
    const oldSize = this.size;
    const newSize = alignUp(Math.max(oldSize, newMaxPfn, p2mLimitPfns), NAIVE_GIB);
    const PFN = 0, MISSING = 1, IDENTITY = 2;
    const elemType = (pfn: number): number => {
      if (pfn >= oldSize) return IDENTITY;
      const k = this.#rawListKind(pfn);
      if (k === K.INVALID) return MISSING;
      if (k === K.IDENTITY) return IDENTITY;
      return PFN;
    };
    const top: Mid[] = [];
    const pte = (g: number): Mid => {
      if (top[g] === undefined) {
        top[g] = new Mid("private", new Array<Leaf>(512).fill(this.#missing));
      }
      return top[g];
    };
    let chunk = NAIVE_GIB;
    for (let pfn = 0; pfn < newSize; pfn += chunk) {
      chunk = pfn % NAIVE_GIB !== 0 ? NAIVE_LEAF : NAIVE_GIB;
      const type = elemType(pfn);
      let i = 0;
      if (type !== PFN) {
        if (pfn >= oldSize) i = chunk; // every entry beyond the old list is identity
        else for (i = 1; i < chunk; i++) if (elemType(pfn + i) !== type) break;
      }
      if (i < chunk) chunk = NAIVE_LEAF;
      const g = topIndex(pfn), m = midIndex(pfn);
      if (type === PFN || i < chunk) {
        // copy_page of the initial p2m page.
        const src = this.#top[g].slots[m];
        pte(g).slots[m] = src instanceof PrivateLeaf ? src.clone() : this.#copyShared(src);
        this.rebuildPages++;
        continue;
      }
      if (chunk === NAIVE_LEAF) {
        pte(g).slots[m] = type === MISSING ? this.#missing : this.#identity;
        continue;
      }
      top[g] = type === MISSING ? this.#midMissing : this.#midIdentity;
    }
    this.#top = top;
    this.size = newSize;
    this.maxPfn = newSize;
  }

  /**
   * v3.19+ `xen_add_extra_mem(pfn, endPfn)` and xen_memory_setup's raise of xen_max_p2m_pfn
   * to the region's end: until `growList`, lookups of the region beyond the list are INVALID.
   */
  addExtraMem(pfn: number, endPfn: number): void {
    if (this.era !== "L19") throw new Error("the extra-memory lookup rule is v3.19+");
    this.extraMem.push(pfn, endPfn);
    this.maxPfn = Math.max(this.maxPfn, endPfn);
  }

  #inExtraMem(pfn: number): boolean {
    const x = this.extraMem;
    for (let i = 0; i < x.length; i += 2) if (pfn >= x[i] && pfn < x[i + 1]) return true;
    return false;
  }

  /** The raw list word at `pfn < size` (a shared identity page reads as INVALID). */
  #rawListKind(pfn: number): number {
    const leaf = this.#top[topIndex(pfn)].slots[midIndex(pfn)];
    return this.#read(leaf, leafIndex(pfn))[0];
  }

  #copyShared(src: SharedLeaf): PrivateLeaf {
    const c = new PrivateLeaf(K.INVALID);
    for (const [i, [k, f]] of src.stored) c.store(i, k, f);
    return c;
  }

  // ---- pages ------------------------------------------------------------------------------

  #read(leaf: Leaf, i: number): [number, number] {
    if (leaf instanceof PrivateLeaf) return [leaf.kindAt(i), leaf.frameAt(i)];
    return leaf.stored.get(i) ?? [K.INVALID, 0];
  }

  #store(leaf: Leaf, i: number, kind: number, frame: number): void {
    if (leaf instanceof PrivateLeaf) {
      leaf.store(i, kind, frame);
      return;
    }
    if (leaf === this.#missing) throw new Error("naive oracle: store into p2m_missing");
    leaf.stored.set(i, [kind, frame]);
    this.lostWrites++;
  }
}

function topIndex(pfn: number): number {
  return Math.floor(pfn / NAIVE_GIB);
}

function midIndex(pfn: number): number {
  return Math.floor(pfn / NAIVE_LEAF) % 512;
}

function leafIndex(pfn: number): number {
  return pfn % NAIVE_LEAF;
}

function alignUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}
