/**
 * The curated mutants of `deno task mutate`: realistic one-line bugs around the P2M table (the
 * table itself is guarded by its per-PFN reference model), each with the kernel rule or
 * contract it breaks and the test files that should kill it. The first six are the bugs issue
 * 17 names. A mutant's `original` must occur exactly once in its file: when the code changes,
 * `tools/mutate/mutants_test.ts` fails and the mutant must be restated (or deleted with the
 * code it guarded).
 *
 * @module
 */

import type { Mutant } from "./plan.ts";

/**
 * Run after a mutant survived its own tests: wide, behaviour-level files (a kill here is still a
 * kill, but a mutant only a fallback file kills wants a test of its own).
 */
export const FALLBACK_TESTS: readonly string[] = [
  "tests/compare_check_test.ts",
  "tests/policies_test.ts",
  "tests/bad_input_test.ts",
];

const READ = ["src/trace/checks_test.ts", "src/trace/read_test.ts"];
const SCAN = ["src/trace/scan_event_test.ts", "tests/threads_test.ts"];
const VALIDATE = ["src/trace/checks_test.ts", "tests/bad_input_test.ts"];
const REDUCER = ["src/replay/reducer_oracle_test.ts", "src/replay/step_test.ts"];
const BOOT = ["src/kernel/memory_setup_test.ts", "src/replay/reducer_oracle_test.ts"];
const DETECT = ["src/detect/detectors_test.ts"];
const DEBUGFS = ["src/p2m/debugfs_test.ts", "src/p2m/debugfs_parse_test.ts"];

/** Every mutant, grouped by directory. */
export const MUTANTS: readonly Mutant[] = [
  // ---- src/trace/: cross-record checks, field validation --------------------------------
  {
    id: "read-seq-decreasing",
    file: "src/trace/checks.ts",
    original: "if (seq <= this.#lastSeq) {",
    replacement: "if (seq === this.#lastSeq) {",
    breaks:
      "format v1: seq strictly increasing (a decreasing seq is malformed, not only an equal one)",
    tests: READ,
  },
  {
    id: "read-end-count-too-small",
    file: "src/trace/checks.ts",
    original: "if (events !== this.events) {",
    replacement: "if (events > this.events) {",
    breaks: "format v1: the end record counts exactly the events before it (too few is malformed)",
    tests: READ,
  },
  {
    id: "read-record-after-end",
    file: "src/trace/checks.ts",
    original: "if (this.endLine !== undefined) {",
    replacement: "if (this.endLine === -1) {",
    breaks: "format v1: the end record is the last record",
    tests: READ,
  },
  {
    id: "read-e820-overlap-last-byte",
    file: "src/trace/checks.ts",
    original: "if (e.start < o.start + o.size && o.start < e.start + e.size) {",
    replacement: "if (e.start < o.start + o.size - 1 && o.start < e.start + e.size) {",
    breaks: "raw E820 entries must not overlap, not even by one byte (adjacent is fine)",
    tests: READ,
  },
  {
    id: "read-e820-entry-limit",
    file: "src/trace/checks.ts",
    original: "if (this.#raw.length >= MAX_E820_ENTRIES) {",
    replacement: "if (this.#raw.length > MAX_E820_ENTRIES) {",
    breaks: "at most MAX_E820_ENTRIES (1024) raw E820 entries",
    tests: READ,
  },
  {
    id: "read-cut-off-as-malformed",
    file: "src/trace/read.ts",
    original: "if (!terminated) return CUT_OFF;",
    replacement: "if (terminated) return CUT_OFF;",
    breaks: "rr: a last line without newline that is not JSON is a cut-off recording (exit 3), " +
      "a terminated bad line is malformed (exit 65)",
    tests: READ,
  },
  {
    id: "scan-event-duplicate-member",
    file: "src/trace/scan_event.ts",
    original: "if (seen & (1 << key)) return -1;",
    replacement: "",
    breaks: "JSON.parse keeps a member's last value and refuses a bad first one: the parse " +
      "worker's scanner must take no line with a member twice, or it takes lines the reader refuses",
    tests: SCAN,
  },
  {
    id: "scan-event-pfn-listed-twice",
    file: "src/trace/scan_event.ts",
    original: "if (pfn >= r[j] && pfn < r[j + 1]) return false;",
    replacement: "if (pfn >= r[j] && pfn < r[j + 1]) continue;",
    breaks: "a pfns list names each PFN once per event: the parse worker must leave a repeat to " +
      "the reader, which refuses it",
    tests: SCAN,
  },
  {
    id: "read-scanned-seq-unchecked",
    file: "src/trace/read.ts",
    original: "            checks.eventAt(line, seq);",
    replacement: "",
    breaks: "format v1: seq strictly increasing, on the lines the parse worker scans too",
    tests: SCAN,
  },
  {
    id: "validate-empty-pfn-range",
    file: "src/trace/validate.ts",
    original: 'if (endPfn <= pfn) f.fail("end_pfn"',
    replacement: 'if (endPfn < pfn) f.fail("end_pfn"',
    breaks: "PFN ranges are half-open and non-empty: end_pfn > pfn",
    tests: VALIDATE,
  },
  {
    id: "validate-duplicate-pfn",
    file: "src/trace/validate.ts",
    original: "if (seen.has(pfn)) f.fail(",
    replacement: "if (seen.has(-1)) f.fail(",
    breaks: "a pfns list names each PFN once per event",
    tests: VALIDATE,
  },
  {
    id: "validate-inclusive-end",
    file: "src/trace/validate.ts",
    original: "size = end - start + 1;",
    replacement: "size = end - start;",
    breaks: "byte ranges given by end are inclusive, as struct resource and e820 print them",
    tests: VALIDATE,
  },
  {
    id: "hex-frame-limit",
    file: "src/trace/validate.ts",
    original: "return n < limit ? n : undefined;",
    replacement: "return n <= limit ? n : undefined;",
    breaks: "frame numbers are below 2^40 (FRAME_LIMIT is exclusive)",
    tests: VALIDATE,
  },

  // ---- src/replay/: the reducer and its verifications ------------------------------------
  {
    id: "step-seed-walk-in-domU",
    file: "src/kernel/events/pci.ts",
    original: 'if (!walk || d.guest.type !== "pv" || d.guest.domain !== "dom0") return;',
    replacement: 'if (!walk || d.guest.type !== "pv") return;',
    breaks:
      "xen_add_device is a dom0 hypercall notifier: the seed patch's BAR walk never runs in a domU",
    tests: REDUCER,
  },
  {
    id: "step-seed-io-skip-and",
    file: "src/kernel/events/pci.ts",
    original: 'walk.skip === "eq" ? r.flags === IORESOURCE.IO :',
    replacement: 'walk.skip === "eq" ? (r.flags & IORESOURCE.IO) !== 0 :',
    breaks:
      "seed patch: `flags == IORESOURCE_IO` skips only 0x100, so an I/O BAR (0x40101) is walked",
    tests: REDUCER,
  },
  {
    id: "step-retrieve-mfn-offset",
    file: "src/kernel/events/balloon.ts",
    original: "base: e.mfn + offset, startPfn: r.pfn",
    replacement: "base: e.mfn, startPfn: r.pfn",
    breaks: "a multi-range retrieve maps consecutive MFNs across its ranges (the second range " +
      "continues where the first ended)",
    tests: REDUCER,
  },
  {
    id: "step-scratch-mfn-lost",
    file: "src/kernel/eras/linux_3_12.ts",
    original: "base: scratchMfn ?? -1,",
    replacement: "base: -1,",
    breaks:
      "v3.12 balloon: a ballooned-out PFN maps the scratch page's MFN (every PFN the same frame)",
    tests: REDUCER,
  },
  {
    id: "step-hotplug-end-rounds-up",
    file: "src/kernel/events/balloon.ts",
    original: "const r = { pfn: pfnDown(e.start), endPfn: pfnDown(e.start + e.size) };",
    replacement: "const r = { pfn: pfnDown(e.start), endPfn: pfnDown(e.start + e.size) + 1 };",
    breaks: "hot-added memory covers [PFN_DOWN(start), PFN_DOWN(start + size)) exactly",
    tests: REDUCER,
  },
  {
    id: "step-window-rule-on-vf-bar",
    file: "src/kernel/events/pci.ts",
    original: "e.resource.index >= 13 &&",
    replacement: "e.resource.index >= 7 &&",
    breaks:
      "host-bridge windows=all walks bridge windows (13-16) on assignment, not SR-IOV VF BARs",
    tests: REDUCER,
  },
  {
    id: "step-retrieve-not-ballooned-by-one",
    file: "src/kernel/events/balloon.ts",
    original: "if (had < r.endPfn - r.pfn) {",
    replacement: "if (had < r.endPfn - r.pfn - 1) {",
    breaks: "every PFN taken off the balloon list must be on it (one missing page is an anomaly)",
    tests: REDUCER,
  },
  {
    id: "step-decrease-twice-silent",
    file: "src/kernel/events/balloon.ts",
    original: "if (added < r.endPfn - r.pfn) {",
    replacement: "if (added < 0) {",
    breaks: "a PFN ballooned out twice without a retrieve is a trace anomaly",
    tests: REDUCER,
  },
  {
    id: "step-failed-assign-keeps-bar",
    file: "src/kernel/events/pci.ts",
    original: 'if (e.action === "released" || e.action === "failed") {',
    replacement: 'if (e.action === "released") {',
    breaks: "a failed BAR assignment leaves the resource unassigned (the device no longer has it)",
    tests: REDUCER,
  },
  {
    id: "step-boot-counts-any-pass",
    file: "src/replay/step.ts",
    original: "if (recorded === undefined || recorded === pass) {",
    replacement: "if (recorded === undefined || recorded !== undefined) {",
    breaks: "boot counts of a release/populate kernel say nothing about a remap policy's pass",
    tests: REDUCER,
  },
  {
    id: "step-second-boot-pass-runs",
    file: "src/kernel/events/boot.ts",
    original: 'if (d.boot) {\n    add(out, "anomalies", { message: "second memory_setup',
    replacement: 'if (false) {\n    add(out, "anomalies", { message: "second memory_setup',
    breaks: "xen_memory_setup runs once per boot: a second memory_setup is an anomaly, ignored",
    tests: REDUCER,
  },
  {
    id: "verify-count-lenient",
    file: "src/replay/verify.ts",
    original: "ok: rec === mod",
    replacement: "ok: rec >= mod",
    breaks: "replaying vs recorded: a boot count agrees only when equal",
    tests: REDUCER,
  },
  {
    id: "verify-released-vs-populated",
    file: "src/replay/verify.ts",
    original: 'count("Released N pages", expect.released, report.released);',
    replacement: 'count("Released N pages", expect.released, report.populated);',
    breaks: "the kernel's \"Released N pages\" is compared with the pass's released count",
    tests: REDUCER,
  },
  {
    id: "verify-range-end-ignored",
    file: "src/replay/verify.ts",
    original: "if (a?.pfn !== b?.pfn || a?.endPfn !== b?.endPfn) {",
    replacement: "if (a?.pfn !== b?.pfn) {",
    breaks: "a printed `1-1 mapping on a->b` range agrees only when both ends do",
    tests: REDUCER,
  },
  {
    id: "verify-ranges-common-prefix",
    file: "src/replay/verify.ts",
    original: "const n = Math.max(recorded.length, model.length);",
    replacement: "const n = Math.min(recorded.length, model.length);",
    breaks: "a recorded range list shorter or longer than the model's disagrees",
    tests: REDUCER,
  },
  {
    id: "verify-pte-zero-for-real-frame",
    file: "src/replay/verify.ts",
    original:
      'const bad = e.observed === 0xffffffffffffffffn || (e.via === "pte" && e.observed === 0n);',
    replacement: "const bad = e.observed === 0xffffffffffffffffn;",
    breaks: "a PTE built for a PFN that maps a real frame is never 0",
    tests: REDUCER,
  },
  {
    id: "run-at-excludes-step",
    file: "src/replay/run.ts",
    original: "if (at !== undefined && e.seq > at) {",
    replacement: "if (at !== undefined && e.seq >= at) {",
    breaks: "--at N is the state after every event with seq <= N",
    tests: ["src/replay/reducer_oracle_test.ts", "tests/time_travel_golden_test.ts"],
  },
  {
    id: "compare-first-becomes-last",
    file: "src/replay/compare.ts",
    original: "if (!res.first.has(f.detector)) res.first.set(f.detector, f.seq);",
    replacement: "res.first.set(f.detector, f.seq);",
    breaks: "compare's cell is the step at which a detector first fired",
    tests: ["src/replay/reducer_oracle_test.ts", "tests/compare_check_test.ts"],
  },

  // ---- src/kernel/: the boot pass, the identity rule, PCI resources ----------------------
  {
    id: "boot-ram-start-rounds-down",
    file: "src/kernel/memory_setup.ts",
    original: "const e = entry.type === E820_TYPE.ram ? pfnUp(entry.start) : pfnUp(end);",
    replacement: "const e = entry.type === E820_TYPE.ram ? pfnDown(entry.start) : pfnUp(end);",
    breaks: "xen_set_identity_and_release: a gap ends at PFN_UP(next RAM start) (97 pages, not 96)",
    tests: BOOT,
  },
  {
    id: "boot-gap-start-rounds-up",
    file: "src/kernel/memory_setup.ts",
    original: "const s = pfnDown(start);",
    replacement: "const s = pfnUp(start);",
    breaks: "xen_set_identity_and_release: a gap starts at PFN_DOWN(previous entry's end)",
    tests: BOOT,
  },
  {
    id: "boot-last-entry-not-identity",
    file: "src/kernel/memory_setup.ts",
    original: "if (entry.type === E820_TYPE.ram || i === map.length - 1) {",
    replacement: "if (entry.type === E820_TYPE.ram) {",
    breaks: "xen_set_identity_and_release: a non-RAM last entry is made 1:1 too",
    tests: BOOT,
  },
  {
    id: "boot-unusable-domU",
    file: "src/kernel/memory_setup.ts",
    original: "if (dom0) { for (const e of map) if (e.type === E820_TYPE.unusable)",
    replacement: "if (!dom0) { for (const e of map) if (e.type === E820_TYPE.unusable)",
    breaks: "xen_memory_setup: only dom0 treats E820_UNUSABLE as RAM (Xen refuses 1:1 of it)",
    tests: BOOT,
  },
  {
    id: "boot-populate-uncapped",
    file: "src/kernel/release_populate.ts",
    original: "const capacity = Math.min(ePfn - dest, credits);",
    replacement: "const capacity = ePfn - dest;",
    breaks: "xen_populate_chunk: populates at most the pages released",
    tests: BOOT,
  },
  {
    id: "boot-ram-straddling-nr-pages",
    file: "src/kernel/memory_setup.ts",
    original: "chunk = Math.min(size, memEnd - addr);",
    replacement: "chunk = size;",
    breaks:
      "xen_memory_setup: RAM above mem_end (nr_pages) becomes extra memory, also within one entry",
    tests: BOOT,
  },
  {
    id: "boot-beyond-e820-covers-balloon",
    file: "src/kernel/memory_setup.ts",
    original: "d.balloon.forEachIn(lastEndPfn, end, (a, b) => holes.push({ pfn: a, endPfn: b }));",
    replacement: "",
    breaks: "policy beyond-e820: identity above the map, except extra memory and balloon pages",
    tests: BOOT,
    equivalent: "the balloon list is empty while xen_memory_setup runs (balloon_init comes " +
      "later), so the subtraction only matters for a trace that balloons before the boot pass, " +
      "which no kernel writes",
  },
  {
    id: "rule-balloon-not-excluded",
    file: "src/kernel/identity_rule.ts",
    original: "candidates = subtract(candidates, (a, b, cb) => d.balloon.forEachIn(a, b, cb));",
    replacement: "",
    breaks: "seed rule: a PFN on the balloon list is never made identity",
    tests: ["src/kernel/identity_rule_test.ts", ...REDUCER],
  },
  {
    id: "rule-partial-ram-page",
    file: "src/kernel/identity_rule.ts",
    original: "const t = Math.min(b, pfnUp(e.start + e.size));",
    replacement: "const t = Math.min(b, pfnDown(e.start + e.size));",
    breaks: "seed rule ram=e820: a PFN holding any byte of E820 RAM is RAM",
    tests: ["src/kernel/identity_rule_test.ts", ...REDUCER],
  },
  {
    id: "rule-guard-dropped",
    file: "src/kernel/identity_rule.ts",
    original: "const end = policy.guard ? Math.min(range.endPfn, MAX_P2M_PFN) : range.endPfn;",
    replacement: "const end = range.endPfn;",
    breaks: "seed-v1-fixed: the walk stops at MAX_P2M_PFN (no BUG_ON beyond the tree)",
    tests: ["src/kernel/identity_rule_test.ts", ...REDUCER],
  },
  {
    id: "resource-pfns-ceil",
    file: "src/kernel/pci_resource.ts",
    original: "endPfn: Math.floor(r.end / 4096) + 1",
    replacement: "endPfn: Math.ceil(r.end / 4096)",
    breaks: "a resource spans [start >> PAGE_SHIFT, (end >> PAGE_SHIFT) + 1): its end is inclusive",
    tests: ["src/kernel/identity_rule_test.ts", ...DETECT],
  },
  {
    id: "resource-flags-zero-assigned",
    file: "src/kernel/pci_resource.ts",
    original: "(r.start === 0 && r.end === 0) || r.flags === 0 ||",
    replacement: "(r.start === 0 && r.end === 0) ||",
    breaks: "a resource with flags 0 is empty (pci_read_bases leaves unimplemented BARs so)",
    tests: ["src/kernel/identity_rule_test.ts", ...DETECT],
  },
  {
    id: "resource-unset-is-mmio",
    file: "src/kernel/pci_resource.ts",
    original: "return (r.flags & IORESOURCE.MEM) !== 0 && !isUnassigned(r);",
    replacement: "return (r.flags & IORESOURCE.MEM) !== 0;",
    breaks: "an UNSET/DISABLED memory BAR holds no address a driver maps",
    tests: ["src/kernel/identity_rule_test.ts", ...DETECT],
  },

  // ---- src/detect/ ------------------------------------------------------------------------
  {
    id: "lookup-zero-skips-vf-bars",
    file: "src/detect/detectors.ts",
    original: "if (!isMmio(r) || r.index > 12) return;",
    replacement: "if (!isMmio(r) || r.index > 6) return;",
    breaks: "lookup-zero: drivers map BARs 0-5, the ROM (6) and SR-IOV VF BARs 7-12",
    tests: DETECT,
  },
  {
    id: "lookup-zero-flags-windows",
    file: "src/detect/device_mmio.ts",
    original: "if (isMmio(r) && r.index <= 12) out.push(",
    replacement: "if (isMmio(r) && r.index <= 16) out.push(",
    breaks: "lookup-zero: bridge windows (13-16) only route addresses; nothing maps them",
    tests: [...DETECT, "src/detect/device_mmio_test.ts"],
  },
  {
    id: "lookup-zero-firmware-conflict",
    file: "src/detect/detectors.ts",
    original: "if (overlapsRam(ctx, sp)) return;",
    replacement: "if (sp.pfn < 0) return;",
    breaks:
      "lookup-zero: a BAR value that conflicts with E820 RAM is never claimed, so never mapped",
    tests: DETECT,
  },
  {
    id: "lookup-zero-iomap-below-1mib",
    file: "src/detect/detectors.ts",
    original:
      "const bypass = e.iomap && ctx.state.ctx.pageIomap && (ctx.state.ctx.dom0 || e.pfn >= 0x100);",
    replacement: "const bypass = e.iomap && ctx.state.ctx.pageIomap;",
    breaks: "_PAGE_IOMAP skips the p2m only in dom0 or at or above 1 MiB",
    tests: DETECT,
  },
  {
    id: "invalid-is-identity-ignored",
    file: "src/detect/detectors.ts",
    original: "return kind === K.INVALID && ctx.state.ctx.invalidIsIdentity ? K.IDENTITY : kind;",
    replacement: "return kind;",
    breaks:
      "policy invalid-is-identity: a lookup of INVALID answers 1:1, so it is not bus address 0",
    tests: DETECT,
  },
  {
    id: "ram-identity-above-max-pfn",
    file: "src/detect/detectors.ts",
    original: "endPfn: Math.min(pfnDown(e.start + e.size), ctx.state.maxPfn),",
    replacement: "endPfn: pfnDown(e.start + e.size),",
    breaks: "ram-identity: only RAM below max_pfn; RAM above is extra memory (balloon-identity's)",
    tests: DETECT,
  },
  {
    id: "ram-identity-partial-page",
    file: "src/detect/detectors.ts",
    original: "pfn: pfnUp(e.start),",
    replacement: "pfn: pfnDown(e.start),",
    breaks: "ram-identity: a PFN entirely inside RAM (a partial first page is not)",
    tests: DETECT,
  },
  {
    id: "balloon-identity-extra-ignored",
    file: "src/detect/detectors.ts",
    original: "ctx.state.extra.forEachIn(c.pfn, c.endPfn, add);",
    replacement: "",
    breaks: "balloon-identity: extra memory (balloon space) turning identity is a finding",
    tests: DETECT,
  },
  {
    id: "brk-exactly-reserved",
    file: "src/detect/detectors.ts",
    original: "a.brkUsed <= a.brkReserved",
    replacement: "a.brkUsed < a.brkReserved",
    breaks: "extend_brk BUGs only when more than the reserved pages are needed",
    tests: DETECT,
  },
  {
    id: "stale-identity-partial-cover",
    file: "src/detect/detectors.ts",
    original: "current.some((c) => c.pfn <= r.pfn && r.endPfn <= c.endPfn)",
    replacement: "current.some((c) => c.pfn <= r.pfn && r.pfn < c.endPfn)",
    breaks: "stale-identity: a grant is justified only by a resource covering all of it",
    tests: DETECT,
  },

  // ---- src/p2m/debugfs*.ts ------------------------------------------------------------------
  {
    id: "dump-compare-common-prefix",
    file: "src/p2m/debugfs.ts",
    original: "const n = Math.max(rec.length, model.length);",
    replacement: "const n = Math.min(rec.length, model.length);",
    breaks: "a truncated or over-long recorded dump disagrees with the model's",
    tests: DEBUGFS,
  },
  {
    id: "dump-top-missing-level",
    file: "src/p2m/debugfs.ts",
    original: 'case "mid-missing":\n      return [0, T_MISSING];',
    replacement: 'case "mid-missing":\n      return [1, T_MISSING];',
    breaks: "p2m_dump_show: a GiB on p2m_mid_missing is `level top`",
    tests: DEBUGFS,
  },
  {
    id: "dump-list-identity-page",
    file: "src/p2m/debugfs.ts",
    original:
      'if (structure === "identity-leaf" || structure === "mid-identity") return T_MISSING;',
    replacement:
      'if (structure === "identity-leaf" || structure === "mid-identity") return T_IDENTITY;',
    breaks:
      "v3.19 p2m_dump_show reads the raw list: the shared identity page holds INVALID (missing)",
    tests: DEBUGFS,
  },
  {
    id: "dump-parse-gap-accepted",
    file: "src/p2m/debugfs_parse.ts",
    original: "if (start !== expectedStart) {",
    replacement: "if (start < expectedStart) {",
    breaks: "p2m_dump_show prints contiguous ranges: each line starts where the previous one ended",
    tests: DEBUGFS,
  },

  {
    id: "basis-auto-translated-judged",
    file: "src/detect/basis.ts",
    original: 'return t === "hvm" || t === "pvh" ? [autoTranslatedGap(t)] : [];',
    replacement: "return [];",
    breaks: "an HVM or PVH guest builds no P2M: finding nothing in it is no verdict (cannot judge)",
    tests: ["tests/verdicts_test.ts"],
  },
  // ---- src/import/ --------------------------------------------------------------------------
  {
    id: "sysfs-bridge-without-iov",
    file: "src/import/sysfs/pci.ts",
    original: "const bridge = lines.length === 17 || lines.length === 11;",
    replacement: "const bridge = lines.length === 17;",
    breaks:
      "a bridge's resource file has 11 lines without SR-IOV (17 with): the last four are windows",
    tests: ["src/import/sysfs/pci_test.ts", "src/import/sysfs/assemble_test.ts"],
  },
  {
    id: "sysfs-unusable-domU",
    file: "src/import/sysfs/memmap.ts",
    original: 'if (guest.domain === "dom0" || e.start > lastRamEnd) {',
    replacement: 'if (guest.domain === "dom0") {',
    breaks:
      "a PV domU kernel marks RAM beyond its budget unusable: above the last RAM it is raw RAM",
    tests: ["src/import/sysfs/memmap_test.ts", "src/import/sysfs/assemble_test.ts"],
  },
  {
    id: "bpftrace-increase-noncontiguous",
    file: "src/import/bpftrace/importer.ts",
    original: 'if (cls === "increase") return r.value === last.value + 1n;',
    replacement: 'if (cls === "increase") return true;',
    breaks: "one increase_reservation event maps consecutive MFNs: a jump starts a new event",
    tests: ["src/import/bpftrace/importer_test.ts", "tests/import_runtime_test.ts"],
  },
  {
    id: "bpftrace-identity-of-other-pfn",
    file: "src/import/bpftrace/importer.ts",
    original: 'return (r.value & ~IDENTITY_BIT) === BigInt(r.pfn) ? "identity" : "odd";',
    replacement: 'return "identity";',
    breaks: "IDENTITY_FRAME(pfn) names its own PFN; another PFN's identity value is odd",
    tests: ["src/import/bpftrace/importer_test.ts", "tests/import_runtime_test.ts"],
  },
  {
    id: "dmesg-lone-cr-not-a-line-end",
    file: "src/import/dmesg/log_lines.ts",
    original: "if (cr < 0) return lf;",
    replacement: "if (cr >= 0 || cr < 0) return lf;",
    breaks: "a lone CR ends a line (CR-only logs: old Mac files, raw serial captures), as LF does",
    tests: ["src/import/dmesg/log_lines_test.ts", "tests/import_dmesg_test.ts"],
  },
  {
    id: "dmesg-pidless-tag-is-syslog",
    file: "src/import/dmesg/prefix.ts",
    original: 'return syslogHosts?.has(g.host!) ? "other" : undefined;',
    replacement: 'return "other";',
    breaks:
      "after a time alone, dev_printk's 'driver device: ' is the kernel's message, not a syslog host and program",
    tests: ["src/import/dmesg/prefix_test.ts", "tests/import_dmesg_test.ts"],
  },
  {
    id: "dmesg-guest-conflict-picks-one",
    file: "src/import/dmesg/guest_facts.ts",
    original: "if (provenPv && provenAuto) {",
    replacement: "if (provenPv && provenAuto && evidence.size < 0) {",
    breaks:
      "no guest prints proven PV and proven HVM/PVH lines both: a log with both is a conflict (cannot judge), never one of them picked",
    tests: ["src/import/dmesg/guest_facts_test.ts", "tests/verdicts_test.ts"],
  },
  {
    id: "dmesg-e820-inclusive-end",
    file: "src/import/dmesg/e820_text.ts",
    original: "if (inclusive) end += 1;",
    replacement: "if (inclusive) end += 0;",
    breaks: "the kernel prints e820 ranges with an inclusive end ([mem a-b])",
    tests: ["src/import/dmesg/e820_text_test.ts", "tests/import_dmesg_test.ts"],
  },
  {
    id: "dmesg-reg-bar5",
    file: "src/import/dmesg/pci_state.ts",
    original: "if (reg >= 0x10 && reg <= 0x24 && reg % 4 === 0) return (reg - 0x10) / 4;",
    replacement: "if (reg >= 0x10 && reg <= 0x20 && reg % 4 === 0) return (reg - 0x10) / 4;",
    breaks: "config registers 0x10-0x24 are BARs 0-5",
    tests: ["src/import/dmesg/pci_state_test.ts", "tests/import_dmesg_test.ts"],
  },
  {
    id: "dmesg-identity-count-rounds-in",
    file: "src/import/dmesg/raw_map.ts",
    original: "const endPfn = Math.ceil((ram ? e.start : end) / PAGE);",
    replacement: "const endPfn = Math.floor((ram ? e.start : end) / PAGE);",
    breaks: "the pass's identity count rounds a gap's end up to PFN_UP (as the kernel does)",
    tests: ["src/import/dmesg/raw_map_test.ts", "tests/import_dmesg_test.ts"],
  },
  // ---- session 20's new code: the index build's trace side, its thread, page naming, lazy
  // leaves, applyEvents, the model fingerprint's memo, the dmesg importer's field fixes ----
  {
    id: "index-side-length-holds-lf",
    file: "src/replay/index_side.ts",
    original: "if (i + 1 < this.#tail) end = this.#starts[i + 1] - 1;",
    replacement: "if (i + 1 < this.#tail) end = this.#starts[i + 1];",
    breaks: "index: an event's span is its line without the LF (a part ends at its last line's " +
      "end, hashed over those bytes, as a second read of the file finds them)",
    tests: ["src/replay/index_side_test.ts"],
  },
  {
    id: "index-side-chunk-dropped-early",
    file: "src/replay/index_side.ts",
    original: "if (e <= to) keep = c + 1;",
    replacement: "if (s < to) keep = c + 1;",
    breaks: "index: a raw chunk that runs past a part's end holds the next part's first bytes: " +
      "dropped, the next part is hashed over the wrong bytes",
    tests: ["src/replay/index_side_test.ts"],
  },
  {
    id: "index-side-line-start-on-lf",
    file: "src/replay/index_side.ts",
    original: "const base = this.#pos + 1;",
    replacement: "const base = this.#pos;",
    breaks: "index: a line starts at the byte after the previous line's LF (event offsets, " +
      "part spans and their hashes)",
    tests: ["src/replay/index_side_test.ts"],
  },
  {
    id: "sha256-file-whole-buffer",
    file: "src/trace/sha.ts",
    original: "h.update(buf.subarray(0, n));",
    replacement: "h.update(buf);",
    breaks: "a file's SHA-256 is over the bytes read, not the reused buffer's stale tail " +
      "(the index's key and the trace's identity)",
    tests: ["src/trace/sha_test.ts"],
  },
  {
    id: "index-thread-unusable-as-error",
    file: "src/cli/cached_trace.ts",
    original: 'if (d.kind === "IndexUnusable") throw new IndexUnusable(d.message);',
    replacement: "",
    breaks: "the index build's thread: an unusable cache crosses as IndexUnusable (a note and " +
      "a replay), never a plain error (exit 70)",
    tests: ["src/cli/cached_trace_test.ts"],
  },
  {
    id: "page-pool-slot-ids-trusted",
    file: "src/p2m/table.ts",
    original: "out[s] = same !== undefined && same[s] === l ? like!.ids[s] : leafId(l);",
    replacement: "out[s] = same !== undefined ? like!.ids[s] : leafId(l);",
    breaks: "a new mid takes the last mid's slot id only where the slot holds the same leaf " +
      "(a leaf written since is another page, named again)",
    tests: ["src/model/state_codec_test.ts"],
  },
  {
    id: "lazy-leaf-place-stride",
    file: "src/model/state_codec.ts",
    original: "leafAt.set(at[i] + 3, [at[i + 1], at[i + 2]]);",
    replacement: "leafAt.set(at[i] + 3, [at[i + 1], at[i + 3]]);",
    breaks: "a lazily read leaf's place is the (offset, length, sum) triple at 3(k-3) of its " +
      "mid's flat place list: the sum it is checked against is its own",
    tests: ["src/model/state_codec_test.ts"],
  },
  {
    id: "lazy-leaf-parsed-per-read",
    file: "src/p2m/table.ts",
    original: "get(this: { load?: () => number[]; read?: number[] }): number[] {\n" +
      "      if (this.read === undefined) {\n        this.read = this.load!();",
    replacement: "get(this: { load?: () => number[]; read?: number[] }): number[] {\n" +
      "      if (this.read === undefined) {\n        return this.load!();",
    breaks: "a lazily read leaf's runs are read once (LazyP2mPages: each reader called at most " +
      "once), not parsed again on every access",
    tests: ["src/p2m/table_test.ts"],
  },
  {
    id: "lazy-mid-place-stride",
    file: "src/model/state_codec.ts",
    original: "const j = PLACE_SIZE * m;",
    replacement: "const j = 2 * m;",
    breaks: "a lazily read mid m is at the m-th (offset, length, sum) triple of its state's " +
      "flat place list",
    tests: ["src/model/state_codec_test.ts"],
  },
  {
    id: "index-lazy-page-unchecked",
    file: "src/replay/trace_index.ts",
    original: "if (pageSum(page) !== sum) throw new IndexUnusable",
    replacement: "if (pageSum(page) !== sum && false) throw new IndexUnusable",
    breaks: "each P2M page a lookup reads on its own is checked against the sum its state or " +
      "mid holds before it is parsed (a damaged leaf or mid is never trusted)",
    tests: ["tests/index_cache_test.ts"],
  },
  {
    id: "apply-events-log-kept",
    file: "src/replay/step.ts",
    original: "    log.clear();\n    const outcome = applyEvent(d, e);",
    replacement: "    const outcome = applyEvent(d, e);",
    breaks: "applyEvents: each step's outcome holds its own changes (the write log is cleared " +
      "between steps), so a cached lookup blames a PFN's change on the step that made it",
    tests: ["src/replay/step_test.ts"],
  },
  {
    id: "fingerprint-subdir-times-unlisted",
    file: "src/replay/index_cache.ts",
    original:
      'for (let at = f.indexOf("/"); at >= 0; at = f.indexOf("/", at + 1)) out.add(f.slice(0, at + 1));',
    replacement: "",
    breaks: "model fingerprint memo: a file added below a listed file's directory changes that " +
      "directory's times, which must be in the identities (else a stale index answers)",
    tests: ["src/replay/index_cache_test.ts"],
  },
  {
    id: "fingerprint-ctime-ignored",
    file: "src/replay/index_cache.ts",
    original: "return [rel, st.dev, st.ino, st.size, m, c];",
    replacement: "return [rel, st.dev, st.ino, st.size, m];",
    breaks: "model fingerprint memo: a rewrite with the same size and mtime (utime, a tool " +
      "keeping times) still changes the status change time: the memo must not answer",
    tests: ["src/replay/index_cache_test.ts"],
  },
  {
    id: "fingerprint-racy-by-mtime-only",
    file: "src/replay/index_cache.ts",
    original: "if (!(now - Math.max(m, c) >= RACY_MS)) racy = true;",
    replacement: "if (!(now - m >= RACY_MS)) racy = true;",
    breaks: "model fingerprint memo: a file whose status changed in the last two seconds (an " +
      "old mtime put back) may change again within the same timestamp: no memo is written",
    tests: ["src/replay/index_cache_test.ts"],
  },
  {
    id: "dmesg-pv-likely-as-proven",
    file: "src/import/dmesg/guest_facts.ts",
    original: 'pv_likely: {\n    type: "pv",\n    strength: "likely",',
    replacement: 'pv_likely: {\n    type: "pv",\n    strength: "proven",',
    breaks: "'Booting ... on Xen' and 'Xen version:' make PV likely, not proven: PVHv1 and PVH " +
      "print them (beside a proven HVM/PVH line they are no conflict)",
    tests: ["src/import/dmesg/guest_facts_test.ts"],
  },
  {
    id: "dmesg-auto-beside-pv-no-conflict",
    file: "src/import/dmesg/guest_facts.ts",
    original:
      '(r) => r.type !== undefined && r.type !== "pv" && r.strength === "proven" ? r.type : undefined,',
    replacement:
      '(r) => (r.type === "hvm" || r.type === "pvh") && r.strength === "proven" ? r.type : undefined,',
    breaks: "proven PV beside a proven auto-translated line (HVM or PVH, not which) is a " +
      "conflict (cannot judge), not PV picked",
    tests: ["src/import/dmesg/guest_facts_test.ts"],
  },
  {
    id: "dmesg-crlf-split-across-chunks",
    file: "src/import/dmesg/log_lines.ts",
    original: "if (c === 10) from++; // CR...CR LF: one line end",
    replacement: "if (c === 10 && from > 0) from++; // CR...CR LF: one line end",
    breaks: "a CRLF is one line end also when a read ends between its CR and its LF",
    tests: ["src/import/dmesg/log_lines_test.ts"],
  },
  {
    id: "dmesg-utf16-endianness",
    file: "src/import/dmesg/log_lines.ts",
    original: 'if (oddNul >= pairs * 0.9) return "utf-16le";',
    replacement: 'if (evenNul >= pairs * 0.9) return "utf-16le";',
    breaks: "ASCII in UTF-16LE without a BOM has the NUL second in each pair (UTF-16BE first)",
    tests: ["src/import/dmesg/log_lines_test.ts"],
  },
  {
    id: "dmesg-hex-entity-as-decimal",
    file: "src/import/dmesg/prefix.ts",
    original: "const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);",
    replacement: "const code = dec !== undefined ? Number(dec) : parseInt(hex!, 10);",
    breaks: "HTML: '&#x3e;' is a hex character reference ('>'), '&#62;' a decimal one",
    tests: ["src/import/dmesg/prefix_test.ts"],
  },
  {
    id: "dmesg-line-number-before-text",
    file: "src/import/dmesg/prefix.ts",
    original: '|L?\\\\d{1,7}:?[ \\\\t]{1,8}" +',
    replacement: '|L?\\\\d{1,7}:[ \\\\t]|L?\\\\d{1,7}:?[ \\\\t]{1,8}" +',
    breaks: "'N: ' is a line number only before what can only begin a log line: '0: 0x100 -> " +
      "0x200' is the message's own text",
    tests: ["src/import/dmesg/prefix_test.ts"],
  },
  {
    id: "dmesg-reltime-day-padded",
    file: "src/import/dmesg/prefix.ts",
    original: "${MONTHS}[ \\\\d]\\\\d \\\\d\\\\d:",
    replacement: "${MONTHS} \\\\d{1,2} \\\\d\\\\d:",
    breaks: "dmesg --reltime's '%b%e %H:%M': a day from 10 on has no blank ('[Dec17 10:00]')",
    tests: ["src/import/dmesg/prefix_test.ts"],
  },
  {
    id: "dmesg-numbered-any-number",
    file: "src/import/dmesg/line_numbers.ts",
    original: "if (m !== null && (n === this.#next || n === 1)) {",
    replacement: "if (m !== null) {",
    breaks: "in a proven numbered paste only the next number (or 1, a new block) is a line " +
      "number: a line whose own text starts with another number ('0: 0x100') keeps it",
    tests: ["src/import/dmesg/line_numbers_test.ts"],
  },
  {
    id: "dmesg-numbered-short-paste-proof",
    file: "src/import/dmesg/line_numbers.ts",
    original: 'const numbered = this.#state === "probe" && this.#held.length >= 3;',
    replacement: 'const numbered = this.#state === "probe" && this.#held.length >= 1;',
    breaks: "a log of one or two lines that start with numbers proves no numbered paste: " +
      "their numbers are the lines' own text",
    tests: ["src/import/dmesg/line_numbers_test.ts"],
  },
  {
    id: "page-pool-slot-ids-across-pools",
    file: "src/model/state_codec.ts",
    original: "this.#serial = earlier === undefined ? 0 : earlier.#serial + 1;",
    replacement: "this.#serial = earlier === undefined ? 0 : earlier.#serial + 1;\n" +
      "    this.#lastAt = earlier === undefined ? this.#lastAt : earlier.#lastAt;",
    breaks: "a group's fresh page pool names every page again: slot ids the last pool gave " +
      "name that pool's places, not this one's (only leaf bytes carry over)",
    tests: ["src/model/state_codec_test.ts"],
  },
  {
    id: "dmesg-pid-tag-taken-as-dev-printk",
    file: "src/import/dmesg/prefix.ts",
    original: 'if (fixedFields || g.pid !== undefined) return "other";',
    replacement: 'if (fixedFields) return "other";',
    breaks: "a syslog tag with a pid ('systemd[1]: ') is a program's line, whatever its host: " +
      "only a pid-less tag may be a dev_printk after a time alone",
    tests: ["src/import/dmesg/prefix_test.ts"],
  },
  {
    id: "index-side-cut-off-unindexed",
    file: "src/replay/index_side.ts",
    original: "if (e instanceof CutOffError) this.indexed = this.#side.finish();",
    replacement: "",
    breaks: "rr: a cut-off recording's events before the cut are indexed (its answers up to " +
      "the cut come from the index, as a replay gives them), on this thread as on the parse " +
      "thread",
    tests: ["src/replay/index_side_test.ts"],
  },
];
