// compareDump judged against dump text written by hand from the kernel's p2m_dump_show, never
// from renderDump. The kernel's loops, as the tests apply them:
//
// v3.10-3.18 (tree): for pfn in [0, MAX_DOMAIN_PAGES) classify (level, type): top 0 (GiB on
// p2m_mid_missing: missing), middle 1 (leaf p2m_identity / p2m_missing), entry 2 (IDENTITY_FRAME:
// identity, INVALID: missing, else pfn; value 0: abnormal). At pfn 0 prev := current; at
// MAX_DOMAIN_PAGES - 1 the pair is forced to (3, abnormal), which flushes the last two lines
// ending at MAX_DOMAIN_PAGES - 1 and never prints the forced pair. On a change it prints
// " [0x%lx->0x%lx] %s" for the type first, then " [0x%lx->0x%lx] level %s".
//
// v3.19+ (list): for pfn in [0, xen_p2m_size) the raw list entry's type; a line per change and
// one after the loop ending at xen_p2m_size.
import assert from "node:assert/strict";
import { P2m } from "./table.ts";
import { compareDump, renderDump } from "./debugfs.ts";
import { K } from "./leaf_runs.ts";
import { PFNS_PER_MID } from "./constants.ts";

/** MAX_DOMAIN_PAGES - 1 with the default 500 GiB CONFIG_XEN_MAX_DOMAIN_MEMORY. */
const LAST = "0x7cfffff";

/** T12, nr_pages 0x40000 (one GiB, all private leaves), ISA hole 0xa0-0xff made 1:1. */
function treeWithIsaHole(): P2m {
  const d = P2m.build("T12", 0x40000).draft();
  d.setIdentityRange(0xa0, 0x100);
  return d.finish();
}

// Worked out from the loop: the type turns identity at 0xa0, pfn at 0x100, missing at 0x40000
// (GiB 1 is on p2m_mid_missing, so the level turns top there too), and both flush at LAST.
const KERNEL_TREE = [
  " [0x0->0xa0] pfn",
  " [0xa0->0x100] identity",
  " [0x100->0x40000] pfn",
  " [0x0->0x40000] level entry",
  ` [0x40000->${LAST}] missing`,
  ` [0x40000->${LAST}] level top`,
];

Deno.test("compareDump accepts the dump p2m_dump_show (v3.12) prints for the table", () => {
  const c = compareDump(treeWithIsaHole(), "tree", KERNEL_TREE);
  assert.equal(c.ok, true, `${c.what}: recorded ${c.recorded}, model ${c.model}`);
});

Deno.test("compareDump rejects a recorded tree dump cut short: the missing last line is named", () => {
  const c = compareDump(treeWithIsaHole(), "tree", KERNEL_TREE.slice(0, -1));
  assert.equal(c.ok, false);
  assert.equal(c.recorded, "(end of dump)");
  assert.equal(c.model, `[0x40000->${LAST}] level top`);
  assert.match(c.what, /line 6/);
});

Deno.test("compareDump rejects a recorded tree dump with an extra line after the kernel's last", () => {
  const c = compareDump(treeWithIsaHole(), "tree", [
    ...KERNEL_TREE,
    ` [${LAST}->0x7d00000] abnormal`,
  ]);
  assert.equal(c.ok, false);
  assert.equal(c.model, "(end of dump)");
  assert.deepEqual(c.range, { pfn: 0x7cfffff, endPfn: 0x7d00000 });
});

Deno.test("compareDump rejects a recorded tree dump whose lines are reordered", () => {
  const swapped = [KERNEL_TREE[1], KERNEL_TREE[0], ...KERNEL_TREE.slice(2)];
  const c = compareDump(treeWithIsaHole(), "tree", swapped);
  assert.equal(c.ok, false);
  assert.equal(c.recorded, "[0xa0->0x100] identity");
  assert.deepEqual(c.range, { pfn: 0xa0, endPfn: 0x100 });
  // the level line before its type line is a reorder too (the kernel prints the type first)
  const levelFirst = [
    ...KERNEL_TREE.slice(0, 2),
    KERNEL_TREE[3],
    KERNEL_TREE[2],
    ...KERNEL_TREE.slice(4),
  ];
  assert.equal(compareDump(treeWithIsaHole(), "tree", levelFirst).ok, false);
});

Deno.test("compareDump rejects a dump whose one range end is off by a page", () => {
  const off = KERNEL_TREE.map((l) =>
    l === " [0xa0->0x100] identity" ? " [0xa0->0xff] identity" : l
  );
  assert.equal(compareDump(treeWithIsaHole(), "tree", off).ok, false);
});

Deno.test("a GiB on p2m_mid_missing prints at level top, not middle (tree dump)", () => {
  // nr_pages 0x40000: GiB 1 onwards shares p2m_mid_missing.
  const t = P2m.build("T12", 0x40000);
  const kernel = [
    " [0x0->0x40000] pfn",
    " [0x0->0x40000] level entry",
    ` [0x40000->${LAST}] missing`,
    ` [0x40000->${LAST}] level top`,
  ];
  assert.equal(compareDump(t, "tree", kernel).ok, true);
  const middle = kernel.map((l) => l.replace("level top", "level middle"));
  assert.equal(compareDump(t, "tree", middle).ok, false);
});

/** L19, nr_pages 0x40000: xen_p2m_size = ALIGN(nr_pages, P2M_PER_PAGE) = 0x40000. */
function listWithIsaHole(): P2m {
  const d = P2m.build("L19", 0x40000).draft();
  d.setIdentityRange(0xa0, 0x100);
  return d.finish();
}

const KERNEL_LIST = [
  " [0x0->0xa0] pfn",
  " [0xa0->0x100] identity",
  " [0x100->0x40000] pfn",
];

Deno.test("compareDump accepts the dump p2m_dump_show (v3.19) prints, and rejects cut, long and reordered copies", () => {
  const t = listWithIsaHole();
  assert.equal(compareDump(t, "list", KERNEL_LIST).ok, true);
  assert.equal(compareDump(t, "list", KERNEL_LIST.slice(0, 2)).ok, false);
  assert.equal(compareDump(t, "list", [...KERNEL_LIST, " [0x40000->0x40200] missing"]).ok, false);
  assert.equal(compareDump(t, "list", [KERNEL_LIST[0], KERNEL_LIST[2], KERNEL_LIST[1]]).ok, false);
  // the tree text of another era is a format mismatch, not a line-by-line pass
  assert.equal(compareDump(t, "tree", KERNEL_LIST).ok, false);
});

Deno.test("compareDump ignores blank lines and the leading blank seq_printf writes", () => {
  const padded = ["", ...KERNEL_TREE.map((l) => `  ${l.trim()}  `), ""];
  assert.equal(compareDump(treeWithIsaHole(), "tree", padded).ok, true);
});

Deno.test("v3.19: PFNs served by the shared identity page print missing (the raw list holds INVALID)", () => {
  // nr_pages 0x200, then xen_vmalloc_p2m_tree grows the list to a GiB: PFNs 0x200 onwards are
  // beyond the old list, which answers identity there, so the rebuilt list points them at the
  // shared p2m_identity page; p2m_dump_show reads its raw entries.
  const d = P2m.build("L19", 0x200).draft();
  d.growList(0x40000, []);
  const t = d.finish();
  const kernel = [" [0x0->0x200] pfn", " [0x200->0x40000] missing"];
  assert.equal(compareDump(t, "list", kernel).ok, true);
  assert.equal(
    compareDump(t, "list", [" [0x0->0x200] pfn", " [0x200->0x40000] identity"]).ok,
    false,
  );
});

Deno.test("tree dump: p2m_dump_show tests p2m_top[t] == p2m_mid_missing first, so a GiB aliased through the shared mid-missing page prints 'top / missing'", () => {
  const fresh = P2m.build("T12", 0x40000);
  const d = fresh.draft();
  // v3.12 set_phys_to_machine of an identity value into a mid-missing GiB swaps the slot of the
  // shared p2m_mid_missing page: that 2 MiB reads identity in every GiB still mid-missing.
  const pfn = 5 * PFNS_PER_MID + 0x400;
  d.write(pfn, pfn + 1, { kind: K.IDENTITY, base: 0, startPfn: pfn }, "set_phys_to_machine");
  const t = d.finish();
  assert.equal(t.entry(9 * PFNS_PER_MID + 0x400)[0], K.IDENTITY); // the alias
  assert.deepEqual(renderDump(t), renderDump(fresh));
  assert.deepEqual(renderDump(t), [
    " [0x0->0x40000] pfn",
    " [0x0->0x40000] level entry",
    " [0x40000->0x7cfffff] missing",
    " [0x40000->0x7cfffff] level top",
  ]);
});
