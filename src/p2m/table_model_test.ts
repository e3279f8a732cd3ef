/**
 * Model-based tests of `table.ts` against the naive per-PFN oracle in
 * `tests/support/naive_p2m.ts`: random command sequences (range writes with each primitive and
 * value kind, identity ranges, `writePrivate`, lookups, draft commits, v3.19+ list growth) for
 * the three kernel eras, in three flavours: small PFN spaces (a guest of up to 3 GiB, addresses
 * biased to leaf and GiB boundaries ±1), boot-time sequences (release, identity, populate with
 * `early_set_phys_to_machine`, which exercises the early reuse of leaves) and near MAX_P2M_PFN
 * (ranges crossing it; for v3.19+ a list grown to 512 GiB). After every command the table and
 * the oracle must agree on `entry` and `structureAt` at probe PFNs (range ends ±1, leaf and GiB
 * boundaries, the same offset in other GiBs, random PFNs inside, every earlier range end), on
 * `forEachRun` over windows, on every leaf of the GiBs touched, on the returned counts and on
 * the accounting; every structural invariant holds (`P2m.validate`) after every command; a
 * committed table must not change while a draft of it is written.
 *
 * Randomness is seeded, so a failure reproduces. With `--allow-env`: `P2M_MODEL_RUNS` (runs
 * per property, default 50), `P2M_MODEL_SEED` (added to each seed) and `P2M_MODEL_SHRINK=1`
 * (shrink a counterexample instead of stopping at the first failure; slow).
 *
 * @module
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { type Era, P2m, type P2mDraft, type WriteValue } from "./table.ts";
import { K } from "./leaf_runs.ts";
import {
  NAIVE_GIB,
  NAIVE_LEAF,
  NAIVE_MAX_P2M_PFN,
  NaiveP2m,
  type NaivePrimitive,
} from "../../tests/support/naive_p2m.ts";

const G = NAIVE_GIB;
const L = NAIVE_LEAF;
const MAX = NAIVE_MAX_P2M_PFN;
const PRIMITIVES: NaivePrimitive[] = [
  "__set_phys_to_machine",
  "set_phys_to_machine",
  "early_set_phys_to_machine",
];
const KIND_NAMES = ["INVALID", "IDENTITY", "MFN", "MFN_UNKNOWN", "SCRATCH", "FOREIGN"];

// ---- generators ------------------------------------------------------------------------------

/** An address relative to an anchor resolved at run time (so shrinking keeps its meaning). */
interface AddrSpec {
  anchor: "gib" | "leaf" | "nr" | "ram" | "size" | "maxGib" | "maxLeaf";
  k: number;
  delta: number;
}

interface ValueSpec {
  kind: number;
  base: number;
  back: number;
}

type Cmd =
  | {
    t: "write";
    at: AddrSpec;
    len: number;
    end: AddrSpec | null;
    rev: boolean;
    v: ValueSpec;
    prim: NaivePrimitive;
    cont: boolean;
    inner: number[];
  }
  | {
    t: "identity";
    at: AddrSpec;
    len: number;
    end: AddrSpec | null;
    rev: boolean;
    inner: number[];
  }
  | {
    t: "writePrivate";
    at: AddrSpec;
    len: number;
    end: AddrSpec | null;
    rev: boolean;
    v: ValueSpec;
    inner: number[];
  }
  | { t: "lookup"; at: AddrSpec; len: number; inner: number[] }
  | { t: "finish" }
  | { t: "grow"; extraGib: number };

const deltaArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(-513, -512, -511, -2, -1, 0, 0, 0, 1, 2, 511, 512, 513),
  },
  { weight: 3, arbitrary: fc.integer({ min: -4096, max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: -(1 << 19), max: 1 << 19 }) },
);

const lowAddrArb: fc.Arbitrary<AddrSpec> = fc.oneof(
  fc.record({
    anchor: fc.constant("gib" as const),
    k: fc.integer({ min: 0, max: 5 }),
    delta: deltaArb,
  }),
  fc.record({
    anchor: fc.constant("leaf" as const),
    k: fc.integer({ min: 0, max: 6 * 512 }),
    delta: deltaArb,
  }),
  fc.record({
    anchor: fc.constantFrom("nr" as const, "size" as const),
    k: fc.constant(0),
    delta: deltaArb,
  }),
);

/** Inside or just above the RAM the guest was built with (k/64 of nr_pages, leaf-aligned). */
function ramAddrArb(minK = 0, maxK = 80): fc.Arbitrary<AddrSpec> {
  return fc.record({
    anchor: fc.constant("ram" as const),
    k: fc.integer({ min: minK, max: maxK }),
    delta: fc.oneof(fc.constantFrom(0, 0, 0, -1, 1, 512), deltaArb),
  });
}

const highAddrArb: fc.Arbitrary<AddrSpec> = fc.oneof(
  fc.record({
    anchor: fc.constant("maxGib" as const),
    k: fc.integer({ min: 0, max: 2 }),
    delta: deltaArb,
  }),
  fc.record({
    anchor: fc.constant("maxLeaf" as const),
    k: fc.integer({ min: 0, max: 1024 }),
    delta: deltaArb,
  }),
);

const lenArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 511, 512, 513, 1024, G - 1, G, G + 1) },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1 << 19 }) },
);

const bigFrameArb = fc.tuple(fc.nat(1 << 20), fc.nat(1 << 20)).map(([h, l]) => h * 2 ** 20 + l);

const valueArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: K.INVALID, base: 0, back: 0 }) },
  { weight: 3, arbitrary: fc.constant({ kind: K.IDENTITY, base: 0, back: 0 }) },
  { weight: 1, arbitrary: fc.constant({ kind: K.MFN_UNKNOWN, base: 0, back: 0 }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom(K.MFN, K.FOREIGN),
      base: bigFrameArb,
      back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant(K.SCRATCH),
      base: fc.oneof(fc.constant(-1), bigFrameArb),
      back: fc.constant(0),
    }),
  },
);

const bootValueArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  fc.constant({ kind: K.INVALID, base: 0, back: 0 }),
  fc.record({ kind: fc.constant(K.MFN), base: bigFrameArb, back: fc.constant(0) }),
);

const revArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const innerArb = fc.array(fc.nat(), { maxLength: 3 });

/**
 * Commands; `boot` restricts them to what `xen_memory_setup` does (release with
 * early_set(INVALID), identity ranges, populate with early_set(mfn)), which makes the early
 * reuse of all-INVALID and all-identity leaves frequent.
 */
function cmdArb(
  addr: fc.Arbitrary<AddrSpec>,
  era: Era,
  boot = false,
): fc.Arbitrary<Cmd> {
  // Most ranges are (start, length); some end at an address of their own (e.g. exactly at
  // MAX_P2M_PFN or at a GiB boundary).
  const boundary = fc.record({
    anchor: fc.constantFrom("gib" as const, "maxGib" as const),
    k: fc.integer({ min: 0, max: 5 }),
    delta: fc.constant(0),
  });
  const end = fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: addr },
    { weight: 1, arbitrary: boundary },
  );
  const write = fc.record({
    t: fc.constant("write" as const),
    at: addr,
    len: lenArb,
    end,
    rev: revArb,
    v: boot ? bootValueArb : valueArb,
    prim: boot ? fc.constant(PRIMITIVES[2]) : fc.constantFrom(...PRIMITIVES),
    cont: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, {
      weight: 1,
      arbitrary: fc.constant(true),
    }),
    inner: innerArb,
  });
  const identity = fc.record({
    t: fc.constant("identity" as const),
    at: addr,
    len: lenArb,
    end,
    rev: revArb,
    inner: innerArb,
  });
  const lookup = fc.record({
    t: fc.constant("lookup" as const),
    at: addr,
    len: lenArb,
    inner: innerArb,
  });
  const finish = fc.constant({ t: "finish" as const });
  if (boot) {
    // release (INVALID) inside RAM, identity ranges, populate (MFN) around and above the end
    // of RAM, all with early_set_phys_to_machine.
    const early = fc.constant(PRIMITIVES[2]);
    const release = fc.record({
      t: fc.constant("write" as const),
      at: ramAddrArb(0, 63),
      len: lenArb,
      end: fc.constant(null),
      rev: fc.constant(false),
      v: fc.constant({ kind: K.INVALID, base: 0, back: 0 }),
      prim: early,
      cont: fc.constant(false),
      inner: innerArb,
    });
    const populate = fc.record({
      t: fc.constant("write" as const),
      at: ramAddrArb(56, 80),
      len: lenArb,
      end: fc.constant(null),
      rev: fc.constant(false),
      v: fc.record({ kind: fc.constant(K.MFN), base: bigFrameArb, back: fc.constant(0) }),
      prim: early,
      cont: fc.boolean(),
      inner: innerArb,
    });
    return fc.oneof(
      { weight: 4, arbitrary: release },
      { weight: 4, arbitrary: identity },
      { weight: 4, arbitrary: populate },
      { weight: 1, arbitrary: write },
      { weight: 1, arbitrary: finish },
    );
  }
  const arbs: fc.WeightedArbitrary<Cmd>[] = [
    { weight: 8, arbitrary: write },
    { weight: 4, arbitrary: identity },
    { weight: 1, arbitrary: lookup },
    { weight: 2, arbitrary: finish },
  ];
  if (WRITE_PRIVATE_ERAS.includes(era)) {
    arbs.push({
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("writePrivate" as const),
        at: addr,
        len: lenArb,
        end,
        rev: revArb,
        v: valueArb,
        inner: innerArb,
      }),
    });
  }
  if (era === "L19") {
    arbs.push({
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("grow" as const),
        extraGib: fc.integer({ min: 0, max: 2 }),
      }),
    });
  }
  return fc.oneof(...arbs);
}

/** Eras whose `writePrivate` (the table's idealised write, not a kernel primitive) is checked. */
const WRITE_PRIVATE_ERAS: Era[] = ["T12", "T16", "L19"];

const nrArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 511, 512, 513, G - 1, G, G + 1, 2 * G + 700) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 * G }) },
);

/** Boot sequences need RAM to release and leaves above it to populate. */
const bootNrArb = fc.oneof(
  fc.constantFrom(G - 1, G, G + 1, 2 * G + 700),
  fc.integer({ min: 4096, max: 3 * G }),
);

function scenarioArb(era: Era, high: boolean, boot = false) {
  const addr = high ? highAddrArb : fc.oneof(
    { weight: 3, arbitrary: lowAddrArb },
    { weight: 1, arbitrary: ramAddrArb() },
  );
  return fc.record({
    nr: boot ? bootNrArb : nrArb,
    cmds: fc.array(cmdArb(addr, era, boot), {
      minLength: 1,
      maxLength: high || boot ? 12 : 8,
    }),
  });
}

// ---- comparison -----------------------------------------------------------------------------

const hex = (n: number) => (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16));
const kindName = (k: number) => KIND_NAMES[k] ?? String(k);

function compareAt(t: P2m, o: NaiveP2m, p: number, ctx: string): void {
  const [tk, tf] = t.entry(p);
  const [ok, of] = o.lookup(p);
  if (tk !== ok || tf !== of) {
    throw new Error(
      `${ctx}: entry(${hex(p)}) table=[${kindName(tk)}, ${tf}] oracle=[${kindName(ok)}, ${of}]`,
    );
  }
  const ts = t.structureAt(p), os = o.structureAt(p);
  if (ts !== os) throw new Error(`${ctx}: structureAt(${hex(p)}) table=${ts} oracle=${os}`);
}

function compareRuns(
  t: P2m,
  o: NaiveP2m,
  a: number,
  b: number,
  withStructure: boolean,
  ctx: string,
) {
  if (a < 0) a = 0;
  if (b <= a) return;
  const got: string[] = [];
  t.forEachRun(a, b, (p, e, k, bs, s) => {
    got.push(`${hex(p)}-${hex(e)} ${kindName(k)} ${bs}${withStructure ? " " + s : ""}`);
  }, !withStructure);
  const want = o.runs(a, b, withStructure).map((r) =>
    `${hex(r.pfn)}-${hex(r.endPfn)} ${kindName(r.kind)} ${r.base}${
      withStructure ? " " + r.structure : ""
    }`
  );
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      throw new Error(
        `${ctx}: forEachRun(${hex(a)}, ${hex(b)}, ignoreStructure=${!withStructure}) run ${i}: ` +
          `table=${got[i]} oracle=${want[i]} (table ${got.length} runs, oracle ${want.length})`,
      );
    }
  }
}

function compareAccounting(t: P2m, o: NaiveP2m, ctx: string): void {
  const a = t.accounting;
  if (
    a.brkUsed !== o.brkUsed || a.runtimePages !== o.runtimePages || a.brkReserved !== o.brkReserved
  ) {
    throw new Error(
      `${ctx}: accounting table=${JSON.stringify(a)} oracle=` +
        JSON.stringify({
          brkUsed: o.brkUsed,
          brkReserved: o.brkReserved,
          runtimePages: o.runtimePages,
        }),
    );
  }
}

/** Every leaf of GiB `g`: its first and last entry and its structure. */
function compareGib(t: P2m, o: NaiveP2m, g: number, ctx: string): void {
  if (g < 0) return;
  for (let p = g * G; p < (g + 1) * G; p += L) {
    compareAt(t, o, p, ctx);
    compareAt(t, o, p + L - 1, ctx);
  }
}

interface Snapshot {
  pfns: number[];
  values: string[];
  acct: string;
}

function snapshotOf(o: NaiveP2m, pfns: number[]): Snapshot {
  return {
    pfns,
    values: pfns.map((p) => `${o.lookup(p).join(",")} ${o.structureAt(p)}`),
    acct: JSON.stringify([o.brkUsed, o.runtimePages]),
  };
}

function checkSnapshot(t: P2m, s: Snapshot, ctx: string): void {
  for (let i = 0; i < s.pfns.length; i++) {
    const p = s.pfns[i];
    const v = `${t.entry(p).join(",")} ${t.structureAt(p)}`;
    if (v !== s.values[i]) {
      throw new Error(`${ctx}: committed table changed at ${hex(p)}: now ${v}, was ${s.values[i]}`);
    }
  }
  const acct = JSON.stringify([t.accounting.brkUsed, t.accounting.runtimePages]);
  if (acct !== s.acct) {
    throw new Error(`${ctx}: committed accounting changed: ${acct} was ${s.acct}`);
  }
}

// ---- the runner -----------------------------------------------------------------------------

/** GiBs the alias probes and the final structure scan visit. */
const ALIAS_GIBS = [0, 1, 2, 3, 4, 5, 6, 7, 100, 255, 499, 500, 510, 511];

function resolve(at: AddrSpec, nr: number, o: NaiveP2m): number {
  let base: number;
  switch (at.anchor) {
    case "gib":
      base = at.k * G;
      break;
    case "leaf":
      base = at.k * L;
      break;
    case "nr":
      base = nr;
      break;
    case "ram":
      base = Math.floor((nr * at.k) / 64 / L) * L;
      break;
    case "size":
      base = o.era === "L19" ? o.size : nr;
      break;
    case "maxGib":
      base = MAX - at.k * G;
      break;
    case "maxLeaf":
      base = MAX - at.k * L;
      break;
  }
  return Math.max(0, base + at.delta);
}

/** End of a range: `a + len`, or the resolved end address kept within 2^20 PFNs of `a`. */
function rangeEnd(a: number, len: number, end: AddrSpec | null, nr: number, o: NaiveP2m): number {
  if (end === null) return a + len;
  const b = resolve(end, nr, o);
  return Math.max(a - (1 << 20), Math.min(a + (1 << 20), b));
}

function runScenario(era: Era, high: boolean, nr: number, cmds: Cmd[]): void {
  const o = NaiveP2m.build(era, nr);
  let committed = P2m.build(era, nr);
  let draft: P2mDraft = committed.draft();
  const cumulative = new Set<number>([0, 1, nr - 1, nr, nr + 1, MAX - 1, MAX, MAX + 1]);
  cumulative.delete(-1);
  let grown = false;
  const head = `${era} nr=${hex(nr)}`;
  if (era === "L19" && high) {
    // a list as large as the tree (P2M_LIMIT-sized), so the high region is inside it
    draft.growList(MAX, []);
    o.growList(MAX);
    grown = true;
    committed = draft.finish();
    draft = committed.draft();
  }
  compareAccounting(draft, o, head + " build");
  for (const p of cumulative) compareAt(draft, o, p, head + " build");
  let snapshot = snapshotOf(o, [...cumulative]);
  let prev: { v: WriteValue; hi: number } | null = null;
  let lastLo = 0;
  const touchedGibs = new Set<number>();

  for (let ci = 0; ci < cmds.length; ci++) {
    const c = cmds[ci];
    let ctx = `${head} cmd#${ci}`;
    let lo = 0, hi = 0, inner: number[] = [];
    if (c.t === "write") {
      let a = resolve(c.at, nr, o);
      let vs = c.v;
      let startPfn = a - c.v.back;
      if (c.cont && prev !== null) {
        a = prev.hi;
        vs = { kind: prev.v.kind, base: prev.v.base, back: 0 };
        startPfn = prev.v.startPfn;
      }
      if (vs.kind !== K.MFN && vs.kind !== K.FOREIGN) startPfn = a;
      const v: WriteValue = { kind: vs.kind, base: vs.base, startPfn };
      let b = rangeEnd(a, c.len, c.end, nr, o);
      if (c.rev) [a, b] = [b, a];
      ctx += ` write(${hex(a)}, ${hex(b)}, ${kindName(v.kind)} base=${v.base} start=${
        hex(v.startPfn)
      }, ${c.prim})`;
      const tn = draft.write(a, b, v, c.prim);
      const on = o.write(a, b, v, c.prim);
      if (tn !== on) throw new Error(`${ctx}: returned ${tn}, oracle ${on}`);
      prev = { v, hi: Math.max(a, b) };
      lo = Math.min(a, b);
      hi = Math.max(a, b);
      inner = c.inner;
    } else if (c.t === "writePrivate") {
      let a = resolve(c.at, nr, o);
      const startPfn = c.v.kind === K.MFN || c.v.kind === K.FOREIGN ? a - c.v.back : a;
      const v: WriteValue = { kind: c.v.kind, base: c.v.base, startPfn };
      let b = rangeEnd(a, c.len, c.end, nr, o);
      if (c.rev) [a, b] = [b, a];
      // An empty range (a >= b) is kept: writePrivate must then change nothing (table_test.ts).
      ctx += ` writePrivate(${hex(a)}, ${hex(b)}, ${kindName(v.kind)} base=${v.base})`;
      draft.writePrivate(a, b, v);
      o.writePrivate(a, b, v);
      lo = Math.min(a, b);
      hi = Math.max(a, b);
      inner = c.inner;
    } else if (c.t === "identity") {
      let s = resolve(c.at, nr, o);
      let e = rangeEnd(s, c.len, c.end, nr, o);
      if (c.rev) [s, e] = [e, s];
      ctx += ` setIdentityRange(${hex(s)}, ${hex(e)})`;
      const tn = draft.setIdentityRange(s, e);
      const on = o.setIdentityRange(s, e);
      if (tn !== on) throw new Error(`${ctx}: returned ${tn}, oracle ${on}`);
      lo = Math.min(s, e);
      hi = Math.max(s, e);
      inner = c.inner;
    } else if (c.t === "lookup") {
      lo = resolve(c.at, nr, o);
      hi = lo + c.len;
      inner = c.inner;
      ctx += ` lookup(${hex(lo)}, ${hex(hi)})`;
    } else if (c.t === "grow") {
      if (era !== "L19" || grown) continue;
      // Not GiB-aligned: xen_vmalloc_p2m_tree rounds xen_p2m_size up to a whole GiB of PFNs,
      // and both the table and the oracle must do so.
      const newSize = o.size + c.extraGib * G + 1;
      ctx += ` growList(${hex(newSize)})`;
      draft.growList(newSize, []);
      o.growList(newSize);
      grown = true;
      lo = Math.max(0, newSize - G);
      hi = newSize;
    } else {
      ctx += " finish";
      const next = draft.finish();
      checkSnapshot(committed, snapshot, ctx + " (old table)");
      committed = next;
      draft = committed.draft();
      snapshot = snapshotOf(o, [...cumulative]);
      checkSnapshot(committed, snapshot, ctx + " (new table)");
      continue;
    }

    // Probe PFNs around the range, at its leaf and GiB boundaries, inside it, at the same
    // offset in other GiBs (v3.12 aliasing) and at every earlier range end.
    const probes: number[] = [];
    for (const x of [lo, hi]) {
      probes.push(x - 1, x, x + 1);
      const lf = x - (x % L);
      probes.push(lf - 1, lf, lf + L - 1, lf + L);
      const gf = x - (x % G);
      probes.push(gf - 1, gf, gf + G - 1, gf + G);
      for (const g of ALIAS_GIBS) probes.push(g * G + (x % G));
    }
    if (hi > lo) { for (const n of inner) probes.push(lo + (n % (hi - lo))); }
    if (era === "L19") probes.push(o.size - 1, o.size, o.size + 1);
    for (const p of probes) if (p >= 0) compareAt(draft, o, p, ctx);
    for (const p of cumulative) compareAt(draft, o, p, ctx);
    compareAccounting(draft, o, ctx);
    draft.validate();

    // Runs over windows at both ends, with and without structure.
    compareRuns(draft, o, lo - 700, Math.min(hi, lo + 3000) + 700, true, ctx);
    compareRuns(draft, o, hi - 1500, hi + 1500, false, ctx);
    compareRuns(draft, o, lo - 1500, lo + 1500, false, ctx);

    // Leaf-level scan of the GiBs the command touched, plus one alias GiB.
    const gs = new Set<number>([Math.floor(lo / G), Math.floor(Math.max(lo, hi - 1) / G)]);
    for (const g of gs) touchedGibs.add(g);
    gs.add(ALIAS_GIBS[ci % ALIAS_GIBS.length]);
    for (const g of gs) if (g < 512) compareGib(draft, o, g, ctx);

    checkSnapshot(committed, snapshot, ctx + " (committed table)");
    if (cumulative.size < 300) {
      for (const p of [lo - 1, lo, hi - 1, hi]) if (p >= 0) cumulative.add(p);
    }
    lastLo = lo;
  }

  // Final: every leaf of the GiBs the commands touched and of a few others, and every PFN of
  // the last GiB touched.
  const ctx = `${head} final`;
  for (const g of new Set([...touchedGibs, 0, 2, 255, 511])) {
    if (g < 512) compareGib(draft, o, g, ctx);
  }
  const g = Math.floor(lastLo / G);
  compareRuns(draft, o, g * G, (g + 1) * G, true, ctx);
  const fin = draft.finish();
  fin.validate();
  for (const p of cumulative) compareAt(fin, o, p, ctx);
  compareAccounting(fin, o, ctx);
}

// ---- the tests ------------------------------------------------------------------------------

/** `P2M_MODEL_RUNS` / `P2M_MODEL_SHRINK=1` (with --allow-env) for longer or shrinking runs. */
function env(name: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return granted ? Deno.env.get(name) : undefined;
}
const RUNS = Number(env("P2M_MODEL_RUNS") ?? 50);
const SEED_OFFSET = Number(env("P2M_MODEL_SEED") ?? 0);
const END_ON_FAILURE = env("P2M_MODEL_SHRINK") !== "1";

for (const era of ["T12", "T16", "L19"] as const) {
  Deno.test(`model: ${era} table agrees with the per-PFN oracle on small PFN spaces`, () => {
    fc.assert(
      fc.property(scenarioArb(era, false), ({ nr, cmds }) => runScenario(era, false, nr, cmds)),
      {
        seed: SEED_OFFSET + (0x9e3779b1 ^ era.charCodeAt(0) ^ (era.charCodeAt(1) << 8)),
        numRuns: RUNS,
        endOnFailure: END_ON_FAILURE,
      },
    );
  });
  Deno.test(`model: ${era} table agrees with the per-PFN oracle on boot-time sequences`, () => {
    fc.assert(
      fc.property(
        scenarioArb(era, false, true),
        ({ nr, cmds }) => runScenario(era, false, nr, cmds),
      ),
      {
        seed: SEED_OFFSET + (0x6c8e9cf5 ^ era.charCodeAt(0) ^ (era.charCodeAt(1) << 8)),
        numRuns: RUNS / 2,
        endOnFailure: END_ON_FAILURE,
      },
    );
  });
  Deno.test(`model: ${era} table agrees with the per-PFN oracle near MAX_P2M_PFN`, () => {
    fc.assert(
      fc.property(scenarioArb(era, true), ({ nr, cmds }) => runScenario(era, true, nr, cmds)),
      {
        seed: SEED_OFFSET + (0x2545f491 ^ era.charCodeAt(0) ^ (era.charCodeAt(1) << 8)),
        numRuns: RUNS / 2,
        endOnFailure: END_ON_FAILURE,
      },
    );
  });
}

Deno.test("the oracle's v3.19 extra-memory rule: beyond xen_p2m_size and below xen_max_p2m_pfn, extra memory is INVALID", () => {
  // __pfn_to_mfn -> get_phys_to_machine -> xen_chk_extra_mem (S319 page.h, p2m.c, setup.c): a
  // window that exists early in boot, between xen_memory_setup raising xen_max_p2m_pfn and
  // xen_vmalloc_p2m_tree growing the list. The table never opens it (memory_setup grows the
  // list in the same step), so the oracle states the rule on its own, then agrees with the
  // table once the list has grown and xen_inv_extra_mem has written the region INVALID.
  const o = NaiveP2m.build("L19", 0x40000);
  o.addExtraMem(0x40000, 0x40100);
  assert.deepEqual(o.lookup(0x3ffff), [K.MFN_UNKNOWN, 0]);
  assert.deepEqual(o.lookup(0x40000), [K.INVALID, 0]);
  assert.deepEqual(o.lookup(0x400ff), [K.INVALID, 0]);
  assert.deepEqual(o.lookup(0x40100), [K.IDENTITY, 0]); // at xen_max_p2m_pfn and beyond: 1:1
  o.growList(o.maxPfn);
  const d = P2m.build("L19", 0x40000).draft();
  d.growList(0x40100, [0x40000, 0x40100]);
  for (const t of [o, d]) {
    t.write(
      0x40000,
      0x40100,
      { kind: K.INVALID, base: 0, startPfn: 0x40000 },
      "set_phys_to_machine",
    );
  }
  for (const pfn of [0x3ffff, 0x40000, 0x400ff, 0x40100, 0x7ffff, 0x80000]) {
    assert.deepEqual(d.entry(pfn).slice(0, 1), o.lookup(pfn).slice(0, 1), hex(pfn));
  }
});
