/**
 * From what the importer collected to the trace: decide the guest's type and domain, pick or
 * rebuild the raw E820 map, infer nr_pages, resolve the items that depended on the domain
 * (`xen_add_device` exists only in dom0), number the events, and write the header.
 *
 * @module
 */

import { E820_TYPE, type MemorySetupEvent, type TraceEvent } from "../../trace/event.ts";
import { hex } from "../../trace/hex.ts";
import type { HeaderInit } from "../../trace/write.ts";
import { TOOL_NAME, TOOL_VERSION } from "../../version.ts";
import { DmesgImportError } from "./errors.ts";
import { decideGuest, type GuestDecision, inferNrPages } from "./guest_facts.ts";
import { policyForKernel } from "../../policy/policies.ts";
import type { Collected } from "./importer.ts";
import {
  identityPagesOfPass,
  type MapEntry,
  reconstructRawMap,
  sanitizeRawMap,
  withheldFromDom0,
} from "./raw_map.ts";
import { boundByLastPfn, fillCutMap, type ReconstructedEntry } from "./reconstruct.ts";
import { archCaveat, type ArchDecision, decideArch } from "./arch.ts";
import { mostNotUnderstood, type UnrecognisedLines } from "./unrecognised.ts";

/** The producer string of imported traces. */
export const PRODUCER = `${TOOL_NAME} ${TOOL_VERSION} import dmesg`;

/** The result of an import. */
export interface ImportResult {
  /** The trace header. */
  header: HeaderInit;
  /** The events, numbered from 1. */
  events: TraceEvent[];
  /** Relevant lines that were not understood. */
  unrecognised: UnrecognisedLines;
  /** Things the user should know (boots skipped, estimates), one sentence each. */
  warnings: string[];
  /** Lines read. */
  lines: number;
  /** Relevant lines of the imported boot: understood plus not understood. */
  relevantLines: number;
}

const PCI_DEVICE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;
const PCI_BUS = /^[0-9a-f]{4}:[0-9a-f]{2}$/;

/**
 * Builds the trace from the collected state; throws {@link DmesgImportError} when the log is
 * empty, binary, holds nothing usable, or lacks the requested boot.
 */
export function assembleTrace(
  c: Collected,
  options: { nrPages?: number; digest?: string },
): ImportResult {
  checkInput(c);
  const guest = decideGuest(c.evidence, c.sawBanner, c.kernelRelease);
  const pv = guest.type === "pv";
  const warnings: string[] = [];
  const notes = [...c.notes, ...guest.notes];
  const u = c.unknownPrefix;
  if (u.first) {
    notes.push(
      `${u.count} line(s) carry a prefix the importer does not know (first at line ` +
        `${u.first.line}: '${u.first.prefix.slice(0, 60)}'); their messages were read after it`,
    );
  }
  if (mostNotUnderstood(c.unrecognised.total, relevantLines(c))) {
    warnings.push(
      `most relevant lines were not understood (${c.unrecognised.total} of ${relevantLines(c)}): ` +
        "the trace holds only what the others proved",
    );
  }

  // A cut-off printed map is completed with the RAM other lines prove (reconstruct.ts).
  const filled = c.printed.length > 0
    ? fillCutMap(c.printed, c.numaRam)
    : { entries: [], added: [] };
  if (filled.added.length > 0) {
    const text = `the printed E820 map is incomplete: ${filled.added.length} RAM entr` +
      `${filled.added.length === 1 ? "y was" : "ies were"} rebuilt from other lines of the log ` +
      "(NUMA node ranges, System RAM in conflict messages); header 'reconstructed' lists them";
    notes.push(text);
    warnings.push(text);
  }
  // `last_pfn` (e820__end_of_ram_pfn) bounds the kernel's map: a printed map whose RAM ends
  // short of it is incomplete, whatever the lines that completed it. (`mem=`/`memmap=` rewrite
  // the map after it was printed, so the line then says nothing about the printed one.)
  const bound = c.lastPfn && c.printed.length > 0 && c.cmdlineMem === undefined
    ? boundByLastPfn(filled.entries, c.lastPfn)
    : undefined;
  const mapShort = bound?.verdict === "map-short" ? bound : undefined;
  if (mapShort) {
    const text = `the printed E820 map is incomplete: the kernel's RAM ends at pfn ` +
      `0x${mapShort.lastPfn.toString(16)} (line ${mapShort.line}: '${mapShort.text}'), the map's ` +
      `at 0x${mapShort.mapEndPfn.toString(16)}; what lies between is not in the trace`;
    notes.push(text);
    warnings.push(text);
  } else if (bound?.verdict === "map-beyond") {
    notes.push(
      `the printed E820 map's RAM ends at pfn 0x${bound.mapEndPfn.toString(16)}, past the ` +
        `kernel's last_pfn 0x${bound.lastPfn.toString(16)} (line ${bound.line}): the map was ` +
        "changed after it was printed",
    );
  }
  const arch = decideArch(c.arch);
  const archNote = archCaveat(arch);
  if (arch.confidence === "conflicting") {
    notes.push(`lines name both a 32-bit and a 64-bit kernel: ${arch.because.join("; ")}`);
  }
  const raw = rawMap(c, guest, filled);
  if (raw.dropped > 0) {
    notes.push(`raw E820 entries dropped (empty or overlapping an earlier one): ${raw.dropped}`);
  }

  let nrPages: number | undefined;
  let nrSource: string;
  let nrCertain = true;
  if (!pv) {
    nrSource = guest.type === "unknown"
      ? "not inferred: the guest type is unknown (only a PV guest has a P2M to size)"
      : `not needed: ${guest.type.toUpperCase()} guests are auto-translated`;
  } else if (options.nrPages !== undefined) {
    nrPages = options.nrPages;
    nrSource = "given with --nr-pages";
  } else {
    const inferred = inferNrPages(guest.domain, {
      ...c.nr,
      // A map that last_pfn shows to be cut off ends, in the kernel's view, at last_pfn.
      printedRamEndPfn: mapShort?.lastPfn ?? ramEndPfn(c.printed),
      rawRamEndPfn: ramEndPfn(raw.entries),
    });
    nrPages = inferred.nrPages;
    nrSource = inferred.source;
    nrCertain = inferred.certain;
    if (inferred.conflict) notes.push(`nr_pages sources disagree: ${inferred.conflict}`);
  }

  const leading: TraceEvent[] = [];
  const mark = (text: string) => leading.push({ seq: 0, line: 0, kind: "mark", text });
  const estimated = [...guest.estimated];
  if (!c.kernelRelease && c.era) {
    estimated.push({
      field: "policy",
      how: `${c.era.policy}: no 'Linux version' banner; line ${c.era.line}: ${c.era.text} ` +
        `(${c.era.rule}) is the latest era the log proves`,
    });
  }
  if (guest.confidence !== "proven") {
    const what = guest.estimated.map((e) => `${e.field} ${e.how}`).join("; ");
    mark(`guest ${guest.type} ${guest.domain} is ${guest.confidence}, not proven: ${what}`);
    warnings.push(`the guest is ${guest.type} ${guest.domain} (${guest.confidence}): ${what}`);
  }
  if (guest.type === "unknown") {
    notes.push(
      "the guest type is unknown: it replays without a P2M (only a PV guest has one), so " +
        "nothing about the P2M can be judged",
    );
  }
  if (c.xenlinux && pv) {
    // The policies model the upstream kernel's P2M; a XenLinux guest's is Xen's flat array.
    const how = "a XenLinux (classic Xen) kernel (line " + `${c.xenlinux.line}: ` +
      `${c.xenlinux.text}): its P2M is the flat phys_to_machine_mapping array Xen hands ` +
      "over, not the upstream P2M the policies model, so the replay is an approximation";
    estimated.push({ field: "policy", how });
    mark(how);
    warnings.push(how);
  }
  if (mapShort) {
    estimated.push({
      field: "e820",
      how: `incomplete: RAM up to pfn 0x${mapShort.lastPfn.toString(16)} (last_pfn, line ` +
        `${mapShort.line}) is missing from the printed map`,
    });
  }
  if (archNote) {
    estimated.push({ field: "arch", how: `x86_64 assumed: ${archNote}` });
    mark(archNote);
    warnings.push(archNote);
  }
  const cut = cutOffIdentity(c, guest, raw, mapShort?.line);
  if (cut) {
    mark(cut);
    warnings.push(cut);
    delete c.expect.identity;
  }
  const reservation = unstatedReservation(c, guest, pv);
  if (reservation) estimated.push({ field: "max_reservation", how: reservation });
  if (pv && nrPages === undefined) {
    estimated.push({ field: "nr_pages", how: "unknown: the log shows nothing it follows from" });
    mark(
      "nr_pages is unknown: the log shows nothing it can be inferred from; " +
        "pass --nr-pages to set it",
    );
    warnings.push("nr_pages is unknown (pass --nr-pages)");
  } else if (pv && !nrCertain) {
    estimated.push({ field: "nr_pages", how: `0x${nrPages!.toString(16)} from ${nrSource}` });
    mark(
      `nr_pages 0x${nrPages!.toString(16)} is an estimate from ${nrSource}; ` +
        "pass --nr-pages to set it",
    );
    warnings.push(`nr_pages 0x${nrPages!.toString(16)} is an estimate (pass --nr-pages to set it)`);
  }

  const events = resolveItems(c, guest, raw, leading, notes);
  if (c.truncatedAt !== undefined) {
    const text = `the event limit was reached at line ${c.truncatedAt}: ` +
      "later events are missing (the rest of the log was still read for facts)";
    events.push({ seq: 0, line: 0, kind: "mark", text });
    warnings.push(text);
  }
  if (!usable(c, events)) failNothingUsable(c, events);
  events.forEach((e, i) => e.seq = i + 1);

  const domains = domainReport(c);
  if (domains) {
    notes.push(domains);
    if (c.domains.size > 1) warnings.push(domains);
  }
  const boots = c.boots;
  if (boots > 1) {
    warnings.push(
      `the log holds ${boots} boots; boot ${c.selectedBoot} (lines ` +
        `${c.bootRange[0]}-${c.bootRange[1]}) was imported (choose another with --boot)`,
    );
  }
  const header = buildHeader(c, guest, {
    estimated,
    reconstructed: filled.added,
    nrPages: pv ? nrPages : undefined,
    nrSource,
    rawSource: raw.source,
    rawLabel: raw.label,
    arch,
    notes,
    events,
    digest: options.digest,
  });
  return {
    header,
    events,
    unrecognised: c.unrecognised,
    warnings,
    lines: c.lines,
    relevantLines: relevantLines(c),
  };
}

/** `domain 1` or `dom0 (unprefixed)`, as the import report names a console's source. */
function domainName(id: number): string {
  return id === 0 ? "domain 0 (unprefixed or '(d0)' lines)" : `domain ${id} ('(d${id})' lines)`;
}

/**
 * Which domain's kernel lines were imported from a Xen console log and which were skipped;
 * undefined for a log of one kernel without '(dN)' prefixes.
 */
function domainReport(c: Collected): string | undefined {
  const chosen = c.domain ?? 0;
  if (c.domains.size <= 1 && chosen === 0) return undefined;
  const mine = c.domains.get(chosen);
  const skipped = [...c.domains].filter(([id]) => id !== chosen)
    .map(([id, d]) => `${domainName(id)}: ${d.lines} line(s) from line ${d.first}`);
  const how = c.domainGiven ? "given with --domain" : "the first whose kernel lines the log shows";
  return `the kernel lines of ${domainName(chosen)} were imported (${mine?.lines ?? 0} line(s); ` +
    `${how})` +
    (skipped.length > 0
      ? `; skipped, never mixed into the trace: ${skipped.join("; ")} (choose with --domain)`
      : "") +
    (chosen !== 0
      ? "; the hypervisor's (XEN) lines describe dom0 and decide nothing about it"
      : "");
}

function relevantLines(c: Collected): number {
  return c.recognised + c.unrecognised.total;
}

function checkInput(c: Collected): void {
  const expected = "a Linux boot log (dmesg, dmesg -T, journalctl -k or a serial console capture)";
  if (c.lines === 0) throw new DmesgImportError(c.file, "empty", "the log is empty", expected);
  if (c.nonBlank === 0) {
    throw new DmesgImportError(
      c.file,
      "empty",
      `the log holds only ${c.lines} blank line(s)`,
      expected,
    );
  }
  const boots = c.boots;
  if (c.selectedBoot > boots) {
    throw new DmesgImportError(
      c.file,
      "no-such-boot",
      `the log holds ${boots} boot(s), so there is no boot ${c.selectedBoot}`,
      `--boot between 1 and ${boots}`,
    );
  }
  if (c.domainGiven && !c.domains.has(c.domain ?? 0)) {
    const seen = [...c.domains.keys()];
    throw new DmesgImportError(
      c.file,
      "no-such-domain",
      `the log holds no kernel line of domain ${c.domain}` +
        (seen.length > 0 ? ` (it holds ${seen.map(domainName).join(", ")})` : ""),
      seen.length > 0
        ? `--domain ${seen.join(" or ")}`
        : "a log with kernel lines ('(dN) ...' on a Xen console)",
    );
  }
  if (c.garbled > 0 && c.garbled * 10 >= c.nonBlank && c.recognised === 0) {
    throw new DmesgImportError(
      c.file,
      "binary",
      `the input looks like binary data, not text: ${c.garbled} of ${c.nonBlank} line(s) hold ` +
        "NUL bytes or invalid UTF-8",
      expected,
      c.firstGarbledLine,
    );
  }
}

/**
 * Neither an E820 map nor a line of the boot pass: the trace would replay nothing the kernel
 * did to the P2M. The message says what was missing, what was found instead, and quotes the
 * log's first relevant lines (or its first lines when none was relevant).
 */
function failNothingUsable(c: Collected, events: TraceEvent[]): never {
  const found: string[] = [];
  if (c.kernelRelease) found.push(`'Linux version ${c.kernelRelease}'`);
  const pci = events.filter((e) =>
    e.kind === "pci_host_bridge" || e.kind === "xen_add_device" ||
    e.kind === "pci_resource_assign"
  ).length;
  if (pci > 0) found.push(`${pci} PCI event(s)`);
  if (c.balloon) found.push("the balloon driver's start");
  if (c.recognised > 0) found.push(`${c.recognised} line(s) understood`);
  if (c.unrecognised.total > 0) {
    found.push(`${c.unrecognised.total} relevant line(s) not understood`);
  }
  const boots = c.boots > 1 ? `; the log holds ${c.boots} boots, choose one with --boot` : "";
  const arm = c.arm
    ? `; it is the log of an Arm machine (line ${c.arm.line}: ${c.arm.text}): Xen on Arm ` +
      "translates every guest's memory itself (stage 2), so an Arm guest has no E820 map and " +
      "no PV P2M, and p2mtrace, which models the x86 PV P2M, has nothing to judge"
    : "";
  const shown = c.firstRelevant.length > 0 ? c.firstRelevant : c.firstLines;
  const detail = `  its first ${c.firstRelevant.length > 0 ? "relevant " : ""}line(s):\n` +
    shown.map((l) => `    ${String(l.line).padStart(6)}: ${l.text}`).join("\n");
  throw new DmesgImportError(
    c.file,
    "nothing-usable",
    `no E820 map and no line of the Xen boot pass in boot ${c.selectedBoot} ` +
      `(${c.nonBlank} non-blank line(s)${found.length > 0 ? `; found ${found.join(", ")}` : ""})` +
      boots + arm,
    "an E820 map ('Xen: [mem 0x...-0x...] usable', 'BIOS-e820: ...', '(XEN)  [0x..., 0x...] " +
      "(usable)') or a boot-pass line ('Released N page(s)', 'Set N page(s) to 1-1 mapping', " +
      "'Populating ...', '1-1 mapping on ...'); see docs/import-dmesg.md",
    undefined,
    detail,
  );
}

/** An E820 map (of any source) or a line of the boot pass was recovered. */
function usable(c: Collected, events: TraceEvent[]): boolean {
  return events.some((e) => e.kind === "e820") || Object.keys(c.expect).length > 0;
}

interface RawChoice {
  entries: MapEntry[];
  /** Where the map came from, in a few words (for the description). */
  label: string;
  /** Where the map came from and how, in full (for the header). */
  source: string;
  dropped: number;
  /** The printed map is the raw map itself (HVM/PVH): it is not repeated as map "kernel". */
  printedIsRaw: boolean;
}

function rawMap(
  c: Collected,
  guest: GuestDecision,
  filled: { entries: MapEntry[]; added: ReconstructedEntry[] },
): RawChoice {
  const table = pickXenTable(c.xenTables);
  let entries: MapEntry[] = [];
  let source = "none: the log shows no E820 map";
  let label = "none";
  let printedIsRaw = false;
  if (guest.domain === "dom0" && guest.type === "pv" && table) {
    const w = withheldFromDom0(table.entries, c.printed);
    entries = w.entries;
    label = `the hypervisor's ${table.name} table`;
    source = `the hypervisor's (XEN) ${table.name} table (the machine map dom0's pass reads)`;
    if (w.withheld.length > 0) {
      source += `; ${
        w.withheld.map((r) => `[${hex(r.start)}, ${hex(r.end)})`).join(", ")
      } reserved as the kernel's printed map shows it (Xen withheld RAM of its table from dom0)`;
    }
  } else if (c.printed.length > 0 && guest.type === "pv") {
    const completed = filled.added.length > 0 ? filled : undefined;
    const r = reconstructRawMap(
      completed?.entries ?? c.printed,
      guest.domain === "dom0" ? "dom0" : "domU",
      c.expect.identity,
    );
    entries = r.entries;
    label = "rebuilt from the kernel's printed map";
    source = `reconstructed from ${r.how}${
      completed
        ? `; the printed map was cut off: ${completed.added.length} RAM entr` +
          `${completed.added.length === 1 ? "y" : "ies"} from other lines (lines ` +
          `${completed.added.map((a) => a.line).join(", ")})`
        : ""
    }`;
  } else if (c.printed.length > 0) {
    entries = c.printed;
    printedIsRaw = true;
    label = "the kernel's printed map";
    source = guest.type === "unknown"
      ? "the kernel's printed map (the guest type is unknown; no PV rewrite was undone)"
      : guest.pvhV1
      ? "the kernel's printed map (a PVHv1 guest's, as xen_memory_setup left it; with no P2M " +
        "nothing rests on the rewrite)"
      : `the kernel's printed map (${guest.type === "hvm" ? "an" : "a"} ` +
        `${guest.type.toUpperCase()} guest's map is not rewritten)`;
  } else if (table) {
    entries = table.entries;
    label = `the hypervisor's ${table.name} table`;
    source = `the hypervisor's (XEN) ${table.name} table`;
  }
  const s = sanitizeRawMap(entries);
  return { entries: s.entries, label, source, dropped: s.dropped, printedIsRaw };
}

/**
 * A printed "Set N page(s) to 1-1 mapping" that cannot be judged: the kernel counted the holes of
 * the whole machine map, but the log's printed map runs to the end of the log (a cut-off paste)
 * and the map rebuilt from it gives another count. The message says so; the count is then left
 * out of `memory_setup` rather than reported as a divergence. Undefined when it can be judged.
 */
function cutOffIdentity(
  c: Collected,
  guest: GuestDecision,
  raw: RawChoice,
  shortByLastPfn: number | undefined,
): string | undefined {
  const n = c.expect.identity;
  if (
    n === undefined || guest.type !== "pv" || raw.label !== "rebuilt from the kernel's printed map"
  ) {
    return undefined;
  }
  const runsToEnd = c.printedLastLine !== undefined && c.printedLastLine >= c.bootRange[1];
  if (!runsToEnd && shortByLastPfn === undefined) return undefined;
  const got = identityPagesOfPass(raw.entries, guest.domain === "dom0");
  if (got === n) return undefined;
  const why = runsToEnd
    ? `the printed E820 map runs to the end of the log (line ${c.printedLastLine})`
    : `the printed E820 map ends short of the kernel's last_pfn (line ${shortByLastPfn})`;
  return `cannot judge "Set ${n} page(s) to 1-1 mapping": ${why}, so the holes above it are ` +
    `unknown (the map gives ${got}); the count is left out of memory_setup`;
}

function pickXenTable(
  tables: Map<string, MapEntry[]>,
): { name: string; entries: MapEntry[] } | undefined {
  const xen = tables.get("Xen-e820");
  if (xen && xen.length > 0) return { name: "Xen-e820", entries: xen };
  let last: { name: string; entries: MapEntry[] } | undefined;
  for (const [name, entries] of tables) if (entries.length > 0) last = { name, entries };
  return last;
}

function ramEndPfn(map: readonly MapEntry[]): number | undefined {
  let end: number | undefined;
  for (const e of map) {
    if (e.type !== E820_TYPE.ram) continue;
    const pfn = Math.floor((e.start + e.size) / 4096);
    if (end === undefined || pfn > end) end = pfn;
  }
  return end;
}

function rawEvents(raw: MapEntry[]): TraceEvent[] {
  return raw.map((e) => ({
    seq: 0,
    line: 0,
    kind: "e820",
    ...(e.time === undefined ? {} : { time: e.time }),
    start: e.start,
    size: e.size,
    type: e.type,
    map: "raw",
  }));
}

/** The final event list: raw map in its slot, domain-dependent items resolved. */
function resolveItems(
  c: Collected,
  guest: GuestDecision,
  rawChoice: RawChoice,
  leading: TraceEvent[],
  notes: string[],
): TraceEvent[] {
  const raw = rawChoice.entries;
  const dom0 = guest.domain === "dom0";
  const pv = guest.type === "pv";
  const out: TraceEvent[] = [...leading];
  const hasSlot = c.items.some((i) => i.kind === "raw_slot");
  if (!hasSlot && raw.length > 0) {
    out.push(...rawEvents(raw));
    if (pv) out.push(memorySetup(c, guest, undefined));
  }
  let invalidNames = 0;
  let notDom0Devices = 0;
  for (const item of c.items) {
    switch (item.kind) {
      case "raw_slot":
        out.push(...rawEvents(raw));
        break;
      case "device_added":
        if (!dom0) {
          notDom0Devices++;
          break;
        }
        if (!PCI_DEVICE.test(item.device)) {
          invalidNames++;
          break;
        }
        out.push({
          seq: 0,
          line: 0,
          kind: "xen_add_device",
          ...(item.item.time === undefined ? {} : { time: item.item.time }),
          device: item.device,
          resources: item.item.resources,
        });
        break;
      case "device_removed":
        if (!dom0) break;
        if (!PCI_DEVICE.test(item.device)) {
          invalidNames++;
          break;
        }
        out.push({
          seq: 0,
          line: 0,
          kind: "xen_remove_device",
          ...(item.time === undefined ? {} : { time: item.time }),
          device: item.device,
        });
        break;
      case "event": {
        const e = item.event;
        if (e.kind === "memory_setup") {
          if (pv) out.push(memorySetup(c, guest, e.time));
          break;
        }
        if (e.kind === "e820" && e.map === "kernel" && rawChoice.printedIsRaw) break;
        if (
          (e.kind === "pci_resource_assign" && !PCI_DEVICE.test(e.device)) ||
          (e.kind === "pci_host_bridge" && !PCI_BUS.test(e.bus))
        ) {
          invalidNames++;
          break;
        }
        out.push(e);
        break;
      }
    }
  }
  if (notDom0Devices > 0) {
    notes.push(
      `${notDom0Devices} enumerated PCI device(s) have no xen_add_device: drivers/xen/pci.c ` +
        "registers that notifier only in the initial domain, and the domain is " +
        (guest.domain === "unknown"
          ? "unknown"
          : "a domU, whose devices arrive through pcifront (their claims are the events)"),
    );
  }
  if (invalidNames > 0) {
    notes.push(
      `${invalidNames} PCI event(s) were dropped: their device or bus name ` +
        "(a PCI domain above ffff) cannot be written in a trace",
    );
  }
  return out;
}

/**
 * A PV dom0's `xen_get_max_pages` reads XENMEM_maximum_reservation, which Xen sets in
 * dom0_compute_nr_pages (`d->max_pages`, from `dom0_mem=max:`, or from a build-time
 * CONFIG_DOM0_MEM default that the printed command line does not show): unless the log proves
 * it, the model assumes no cap, and says so.
 */
function unstatedReservation(c: Collected, guest: GuestDecision, pv: boolean): string | undefined {
  if (!pv || guest.domain !== "dom0" || c.dom0MaxPages !== undefined) return undefined;
  const where = c.xenCmdlineLine !== undefined
    ? `Xen's command line (line ${c.xenCmdlineLine}) has no dom0_mem=max:, but a build-time ` +
      "CONFIG_DOM0_MEM would not show there"
    : "the log shows no dom0_mem=max: (no Xen command line)";
  return `none assumed (the era's limit; all RAM of the map beyond nr_pages may become extra ` +
    `memory): ${where}`;
}

function memorySetup(c: Collected, guest: GuestDecision, time?: number): MemorySetupEvent {
  const e: MemorySetupEvent = { seq: 0, line: 0, kind: "memory_setup" };
  if (time !== undefined) e.time = time;
  if (guest.domain === "dom0" && c.dom0MaxPages !== undefined) e.maxReservation = c.dom0MaxPages;
  const x = c.expect;
  const expect: MemorySetupEvent["expect"] = {};
  if (x.identity !== undefined) expect.identity = x.identity;
  if (x.released !== undefined) expect.released = x.released;
  if (x.remapped !== undefined) expect.remapped = x.remapped;
  if (x.populated !== undefined) expect.populated = x.populated;
  if (c.p2mAreaSize !== undefined) expect.p2mAreaSize = c.p2mAreaSize;
  if (x.identityRanges?.length) expect.identityRanges = x.identityRanges;
  if (x.releasedRanges?.length) expect.releasedRanges = x.releasedRanges;
  if (x.populatedRanges?.length) expect.populatedRanges = x.populatedRanges;
  if (Object.keys(expect).length > 0) e.expect = expect;
  return e;
}

function buildHeader(
  c: Collected,
  guest: GuestDecision,
  d: {
    estimated: { field: string; how: string }[];
    reconstructed: ReconstructedEntry[];
    nrPages?: number;
    nrSource: string;
    rawSource: string;
    rawLabel: string;
    arch: ArchDecision;
    notes: string[];
    events: TraceEvent[];
    /** Hex SHA-256 of the input log. */
    digest?: string;
  },
): HeaderInit {
  const xen = c.xenVersionFromXen ?? c.xenVersion;
  const policy = c.kernelRelease ? policyForKernel(c.kernelRelease) : c.era?.policy;
  const notes = [...d.notes];
  if (!c.kernelRelease && c.era) {
    notes.push(
      `no 'Linux version' line: policy ${c.era.policy} from line ${c.era.line} (${c.era.rule})`,
    );
  } else if (!c.kernelRelease) notes.push("no 'Linux version' line: no policy is suggested");
  else if (!policy) notes.push(`kernel release '${c.kernelRelease}' is not a version number`);
  if (c.xenVersion && c.xenVersionFromXen && c.xenVersion !== c.xenVersionFromXen) {
    notes.push(`the kernel says Xen ${c.xenVersion}, the hypervisor says ${c.xenVersionFromXen}`);
  }
  const count = (k: TraceEvent["kind"]) => d.events.filter((e) => e.kind === k).length;
  const raw = d.events.filter((e) => e.kind === "e820" && e.map === "raw").length;
  const ms = d.events.find((e) => e.kind === "memory_setup") as MemorySetupEvent | undefined;
  const parts = [
    `${c.kernelRelease ? `Linux ${c.kernelRelease}` : "A Linux"} ` +
    `${guest.type === "unknown" ? "guest of unknown type" : guest.type.toUpperCase()} ` +
    `${guest.domain === "unknown" ? "(domain unknown)" : guest.domain}` +
    `${xen ? ` on Xen ${xen}` : ""}, imported from a boot log`,
    `${raw} raw E820 entr${raw === 1 ? "y" : "ies"} (${d.rawLabel})`,
  ];
  if (ms) {
    const x = ms.expect;
    const counts = x
      ? [
        x.identity !== undefined ? `identity ${x.identity}` : "",
        x.released !== undefined ? `released ${x.released}` : "",
        x.remapped !== undefined ? `remapped ${x.remapped}` : "",
        x.populated !== undefined ? `populated ${x.populated}` : "",
      ].filter((s) => s !== "")
      : [];
    parts.push(
      counts.length > 0
        ? `the boot pass with the kernel's own counts (${counts.join(", ")})`
        : "the boot pass (the log printed no counts for it)",
    );
  }
  parts.push(
    `${count("pci_host_bridge")} root bus(es), ${count("xen_add_device")} xen_add_device, ` +
      `${count("pci_resource_assign")} resource assignment(s)`,
  );
  if (count("balloon_init") > 0) parts.push("the balloon driver's start");
  const extra: Record<string, unknown> = {};
  extra.nr_pages_source = d.nrSource;
  extra.raw_e820_source = d.rawSource;
  extra.guest_confidence = guest.confidence;
  extra.guest_source = guest.because;
  if (guest.conflict) extra.guest_conflict = guest.conflict;
  if (d.estimated.length > 0) extra.estimated = d.estimated;
  if (d.reconstructed.length > 0) {
    extra.reconstructed = d.reconstructed.map((r) => ({
      ...r,
      start: hex(r.start),
      end: hex(r.end),
    }));
  }
  const source: Record<string, unknown> = { format: "dmesg" };
  if (d.digest) source.sha256 = d.digest;
  source.lines = c.lines;
  source.boot = c.selectedBoot;
  source.boots = c.boots;
  source.timestamps = timestampKind(c);
  if (c.domains.size > 1 || (c.domain ?? 0) !== 0) {
    source.domain = c.domain ?? 0;
    source.domains = [...c.domains].map(([id, d]) => ({ domain: id, lines: d.lines }));
  }
  extra.source = source;
  if (c.cmdlineMem !== undefined) extra.kernel_mem_option = hex(c.cmdlineMem);
  if (d.arch.arch !== "unknown") {
    // The guest kernel's flavour as the log proves it; `guest.arch` is what the model replays.
    extra.kernel_arch = {
      arch: d.arch.arch,
      confidence: d.arch.confidence,
      source: d.arch.because,
    };
  }
  extra.relevant_lines = relevantLines(c);
  extra.unrecognised_lines = c.unrecognised.total;
  // Written when there are none (an `xl dmesg`): no verdict can be about the guest's kernel.
  if (c.kernelLines === 0) extra.guest_kernel_lines = 0;
  if (notes.length > 0) extra.notes = notes;
  const header: HeaderInit = {
    producer: PRODUCER,
    guest: {
      type: guest.type,
      domain: guest.domain,
      arch: "x86_64",
      pageSize: 4096,
      ...(c.kernelRelease ? { kernel: c.kernelRelease } : {}),
      ...(xen ? { xen } : {}),
      ...(d.nrPages !== undefined ? { nrPages: d.nrPages } : {}),
    },
    description: parts.join("; ") + ".",
    extra,
  };
  if (policy) header.policy = policy;
  if (d.digest) header.id = `sha256:${d.digest}`;
  return header;
}

function timestampKind(c: Collected): string {
  const t = c.timestamps;
  if (t.monotonic > 0) return "seconds since boot (event times)";
  if (t.wallClock > 0) return "wall clock only (dmesg -T, journalctl): events carry no time";
  return "none: events carry no time";
}
