/**
 * The `import dmesg` state machine: feed it a boot log one line at a time with
 * {@link DmesgImporter.push}, then call {@link DmesgImporter.finish} for the trace. Memory is
 * bounded by the events the log yields (capped at {@link MAX_EVENTS}), never by its length, so
 * a log of any size can be streamed through it.
 *
 * Each line is stripped of its prefixes (`prefix.ts`), then routed: `(XEN)` lines to the
 * hypervisor patterns, PCI lines to the PCI tracker, the rest to the kernel patterns. Lines
 * nobody understood but that look relevant go to the unrecognised-line report. A log may hold
 * several boots (a new `Linux version` banner, a new `(XEN) Xen version` banner after kernel
 * lines, a journalctl `-- Boot ... --` separator, or dmesg time going back to zero); one boot is
 * imported, the first unless `boot` says otherwise.
 *
 * @module
 */

import type {
  BootExpectations,
  PciResourceAssignEvent,
  PfnRange,
  TraceEvent,
} from "../../trace/event.ts";
import { FRAME_LIMIT } from "../../trace/hex.ts";
import { assembleTrace, type ImportResult } from "./assemble.ts";
import { looksLikeE820 } from "./e820_text.ts";
import { type EraHint, eraHintOf, laterEra } from "./era.ts";
import type { EvidenceKind, EvidenceMap, NrPagesFacts } from "./guest_facts.ts";
import {
  armLine,
  classifyKernelLine,
  findKernelBody,
  type GuestArch,
  type KernelLine,
  memOption,
  xenLinuxLine,
} from "./kernel_lines.ts";
import { type PciItem, PciTracker } from "./pci_state.ts";
import { classifyPciLine, mayBePci, type PciLine } from "./pci_text.ts";
import { MAX_UNKNOWN_PREFIX, type StrippedLine, stripPrefix } from "./prefix.ts";
import type { MapEntry } from "./raw_map.ts";
import { MAX_PROVEN_RAM, type ProvenRam } from "./reconstruct.ts";
import { looksRelevant, UnrecognisedLines } from "./unrecognised.ts";
import { classifyXenLine } from "./xen_lines.ts";
import { DmesgImportError } from "./errors.ts";

/** Most events one import produces; the rest of the log is still scanned for facts. */
export const MAX_EVENTS = 100_000;
/** Most PFN ranges kept per `expect` list. */
export const MAX_EXPECT_RANGES = 4096;
/** Most `(XEN) ... RAM map:` tables kept. */
export const MAX_XEN_TABLES = 16;
/** Longest mark text. */
export const MAX_MARK_TEXT = 500;
/** Most claims remembered for refusals (more means a log of thousands of devices). */
export const MAX_OPEN_CLAIMS = 65536;
/**
 * Bytes of a log read without one line that looks like a kernel's (a printk timestamp, a
 * message the importer knows, a `(XEN)` line) after which the log is refused as not a boot log:
 * `/dev/zero`, random data or an endless `yes` end there instead of being read forever. A boot
 * log shows such a line in its first kilobytes (the kernel's ring buffer is at most 32 MiB).
 */
export const MAX_BYTES_BEFORE_KERNEL_LINE = 16 * 1024 * 1024;
/** Lines of the log quoted in an error message. */
export const MAX_SHOWN_LINES = 5;
/** Characters of each quoted line. */
export const MAX_SHOWN_TEXT = 160;

/** Options of one import. */
export interface ImportOptions {
  /** Which boot of the log to import (1-based; default 1). */
  boot?: number;
  /** `start_info->nr_pages`, when the user knows it (overrides inference). */
  nrPages?: number;
  /** Event cap (default {@link MAX_EVENTS}). */
  maxEvents?: number;
  /** Bytes read before a kernel's line must have shown (default {@link MAX_BYTES_BEFORE_KERNEL_LINE}). */
  maxBytesBeforeKernelLine?: number;
  /**
   * Which domain's kernel lines to import from a Xen console log that relays several
   * (`(d1) ...`); 0 is the console's own kernel (dom0: unprefixed, or `(d0)`). Default: the
   * first domain whose kernel lines the log shows.
   */
  domain?: number;
}

/** An item of the event list before the guest's type and domain are known. */
export type PendingItem =
  | { kind: "event"; event: TraceEvent }
  | { kind: "raw_slot" }
  | { kind: "device_added"; device: string; item: PciItem & { kind: "device_added" } }
  | { kind: "device_removed"; device: string; time?: number };

/** Everything the state machine collected; {@link assembleTrace} turns it into the trace. */
export interface Collected {
  /** The log's name as the user gave it. */
  file: string;
  /** Lines read (all boots). */
  lines: number;
  /** Lines of the imported boot that produced or informed something. */
  recognised: number;
  /**
   * Lines of the imported boot that are the guest kernel's own: a message the importer knows
   * (relevant or not) or a line with a kernel timestamp. None in an `xl dmesg` (the
   * hypervisor's lines only).
   */
  kernelLines: number;
  /** Lines that held binary noise, and the first one. */
  garbled: number;
  /** First garbled line. */
  firstGarbledLine?: number;
  /** Non-blank lines. */
  nonBlank: number;
  /** Boots seen in the log. */
  boots: number;
  /** The boot imported (1-based). */
  selectedBoot: number;
  /** Line numbers the imported boot spans. */
  bootRange: [number, number];
  /** `Linux version` release. */
  kernelRelease?: string;
  /** Hypervisor version from the kernel (`Xen version:`). */
  xenVersion?: string;
  /** Hypervisor version from `(XEN) Xen version`. */
  xenVersionFromXen?: string;
  /** Guest evidence. */
  evidence: EvidenceMap;
  /** The first line only an Arm machine prints (`armLine`), with its line number. */
  arm?: { line: number; text: string };
  /** The first line only a XenLinux (classic Xen) kernel prints (`xenLinuxLine`). */
  xenlinux?: { line: number; text: string };
  /** A `Linux version` banner was seen in the imported boot. */
  sawBanner: boolean;
  /** `(XEN)` E820 tables by name, in print order. */
  xenTables: Map<string, MapEntry[]>;
  /** The kernel's printed BIOS-provided map. */
  printed: MapEntry[];
  /** Line of the last entry of the kernel's printed map. */
  printedLastLine?: number;
  /** RAM ranges of "Early memory node ranges" (`node 0: [mem ...]`), with their lines. */
  numaRam: ProvenRam[];
  /**
   * The first `last_pfn = 0x... max_arch_pfn = 0x...` of the boot: `e820__end_of_ram_pfn`, the
   * end of RAM in the kernel's E820 map (capped at max_arch_pfn), with its line.
   */
  lastPfn?: { pfn: number; maxArchPfn: number; line: number; text: string };
  /** "p2m virtual area at %p, size is %lx": the v3.19+ list's size in bytes. */
  p2mAreaSize?: number;
  /** The latest kernel era a line proves (`era.ts`), for a log without a banner. */
  era?: EraHint;
  /** Lines that tell the guest kernel's x86 flavour (64-bit, 32-bit PAE), in log order. */
  arch: { arch: GuestArch; proven: boolean; line: number; text: string }[];
  /** Its `who` word (`Xen`, `BIOS-e820`...). */
  printedWho?: string;
  /** The event list. */
  items: PendingItem[];
  /** The memory_setup event, once its place is known. */
  memorySetupIndex?: number;
  /** What the kernel printed about its boot pass. */
  expect: BootExpectations;
  /** Facts for nr_pages. */
  nr: NrPagesFacts;
  /** `dom0_mem=max:` in pages. */
  dom0MaxPages?: number;
  /** The line of the hypervisor's `Command line:`, when the log has it. */
  xenCmdlineLine?: number;
  /** `mem=` on the kernel command line, in bytes. */
  cmdlineMem?: number;
  /** Lines with a seconds-since-boot time / a wall-clock time / neither. */
  timestamps: { monotonic: number; wallClock: number; none: number };
  /** Decisions and oddities worth telling the user. */
  notes: string[];
  /** Unrecognised relevant lines. */
  unrecognised: UnrecognisedLines;
  /** Lines understood only after a prefix the grammar does not know, and the first one. */
  unknownPrefix: { count: number; first?: { line: number; prefix: string } };
  /** The first relevant lines of the imported boot (line number, text as read), for messages. */
  firstRelevant: { line: number; text: string }[];
  /** The first non-blank lines of the log, for messages when no line was relevant. */
  firstLines: { line: number; text: string }[];
  /** Line at which the event cap was reached. */
  truncatedAt?: number;
  /** A balloon_init event was produced. */
  balloon: boolean;
  /**
   * The domains whose console lines the log holds (0: unprefixed or `(d0)`, the console's own
   * kernel; N: `(dN)`), with their line counts and first lines, in order of appearance.
   */
  domains: Map<number, { lines: number; first: number }>;
  /** The domain imported, once chosen. */
  domain?: number;
  /** The domain was given with --domain. */
  domainGiven: boolean;
}

type PrintedMapState = "none" | "open" | "closed";

/** Syslog hosts remembered (a log merged from many hosts is not one guest's boot anyway). */
const MAX_SYSLOG_HOSTS = 64;

/**
 * The line-at-a-time importer.
 *
 * @example
 * ```ts
 * import { DmesgImporter } from "./importer.ts";
 * import assert from "node:assert/strict";
 * const imp = new DmesgImporter("boot.log");
 * for (const line of [
 *   "[    0.000000] Linux version 3.12.0 (gcc) #1 SMP",
 *   "[    0.000000] ACPI in unprivileged domain disabled",
 *   "[    0.000000] Released 0 pages of unused memory",
 *   "[    0.000000] Set 0 page(s) to 1-1 mapping",
 *   "[    0.000000] e820: BIOS-provided physical RAM map:",
 *   "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
 *   "[    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
 *   "[    0.000000] Xen: [mem 0x0000000000100000-0x000000003fffffff] usable",
 *   "[    0.000000] Booting paravirtualized kernel on Xen",
 * ]) imp.push(line);
 * const result = imp.finish();
 * assert.equal(result.header.guest.domain, "domU");
 * assert.equal(result.header.policy, "linux-3.12");
 * assert.deepEqual(result.events.map((e) => e.kind),
 *   ["mark", "mark", "e820", "memory_setup", "e820", "e820", "e820"]);
 * ```
 */
export class DmesgImporter {
  #c: Collected;
  #options: ImportOptions;
  #maxEvents: number;
  #pci: PciTracker;
  #boot = 1;
  #bootHasContent = false;
  #bootHasKernel = false;
  #bootHasXenBanner = false;
  #bootSawBanner = false;
  #lastTime: number | undefined;
  /** The boot's `Linux version` line and the kernel line before the current one. */
  #banner: string | undefined;
  #lastKernelText = "";
  /** While the kernel replays its log to a new console: the last time printed before it, and the hand-over line. */
  #replay: { until: number | undefined; handOver: string } | undefined;
  #xenTable: string | undefined;
  #xenSection: "physical" | "virtual" | undefined;
  #printedState: PrintedMapState = "none";
  #anchored = false;
  #finished = false;
  /** The last claim of each resource (`device/index`), until another action on it. */
  #claims = new Map<string, PciResourceAssignEvent>();
  /**
   * Hosts named by this log's unambiguous syslog headers (`host kernel:`, `host prog[pid]:`):
   * after one of them a tag without a pid is that program's line; after any other word it is
   * a dev_printk message behind a time alone (`stripPrefix`).
   */
  #syslogHosts = new Set<string>();
  /** Bytes of the log read so far ({@link DmesgImporter.read}). */
  #bytes = 0;
  /** Lines of any boot that look like a kernel's or Xen's (a timestamp, a known message). */
  #kernelish = 0;

  /** Starts an import of the log named `file` (used in messages only). */
  constructor(file: string, options: ImportOptions = {}) {
    this.#options = options;
    this.#maxEvents = options.maxEvents ?? MAX_EVENTS;
    this.#c = {
      file,
      lines: 0,
      recognised: 0,
      kernelLines: 0,
      garbled: 0,
      nonBlank: 0,
      boots: 1,
      selectedBoot: options.boot ?? 1,
      bootRange: [1, 0],
      evidence: new Map(),
      sawBanner: false,
      xenTables: new Map(),
      printed: [],
      numaRam: [],
      arch: [],
      items: [],
      expect: {},
      nr: {},
      timestamps: { monotonic: 0, wallClock: 0, none: 0 },
      notes: [],
      unrecognised: new UnrecognisedLines(),
      unknownPrefix: { count: 0 },
      firstRelevant: [],
      firstLines: [],
      balloon: false,
      domains: new Map(),
      domainGiven: options.domain !== undefined,
      ...(options.domain !== undefined ? { domain: options.domain } : {}),
    };
    this.#pci = new PciTracker((item) => this.#pciItem(item));
  }

  /** Relevant lines not understood so far (for a report even when the import fails). */
  get unrecognised(): UnrecognisedLines {
    return this.#c.unrecognised;
  }

  /** Relevant lines of the imported boot so far: understood plus not understood. */
  get relevantLines(): number {
    return this.#c.recognised + this.#c.unrecognised.total;
  }

  /**
   * Counts `n` more bytes of the log read (before they are split into lines): past
   * {@link MAX_BYTES_BEFORE_KERNEL_LINE} without one line that looks like a kernel's, the log
   * is refused (65, naming the line reached) at once instead of being read to its end.
   */
  read(n: number): void {
    this.#bytes += n;
    const max = this.#options.maxBytesBeforeKernelLine ?? MAX_BYTES_BEFORE_KERNEL_LINE;
    if (this.#bytes > max && this.#kernelish === 0) {
      throw new DmesgImportError(
        this.#c.file,
        "not-a-log",
        `${max} bytes read without one line of a kernel log (a printk timestamp, a message of ` +
          "the boot, a (XEN) line)",
        "a Linux boot log (dmesg, dmesg -T, journalctl -k or a serial console capture)",
        this.#c.lines + 1,
      );
    }
  }

  /** The line number of the last line pushed. */
  get lineNumber(): number {
    return this.#c.lines;
  }

  /** Feeds one line (without its terminator; a trailing CR is fine). */
  push(raw: string): void {
    const c = this.#c;
    c.lines++;
    if (raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === "")) return;
    c.nonBlank++;
    if (c.firstLines.length < MAX_SHOWN_LINES) {
      c.firstLines.push({ line: c.lines, text: raw.slice(0, MAX_SHOWN_TEXT) });
    }
    if (raw.startsWith("-- ")) {
      if (/^-- (?:Boot [0-9a-f]+|Reboot) --/.test(raw)) this.#maybeNewBoot(true);
      if (this.#selected()) c.recognised++;
      return;
    }
    let s = stripPrefix(raw, this.#syslogHosts);
    if (s.syslogHost !== undefined && this.#syslogHosts.size < MAX_SYSLOG_HOSTS) {
      this.#syslogHosts.add(s.syslogHost);
    }
    // A Xen console relays other domains' lines as "(dN) ...": they are that domain's kernel.
    const domain = s.source === "guest" ? s.domid ?? 0 : 0;
    if (s.source === "guest") s = { ...s, source: "kernel" };
    let classified: Classified | undefined;
    if (s.source === "kernel" && s.text.length > 0) {
      classified = classify(s.text);
      // After a known inner form the message starts right there: only a line whose prefix
      // the grammar did not explain (none, or only outer forms) is searched.
      if (unknownMessage(classified) && !s.inner) {
        const found = this.#afterUnknownPrefix(s);
        if (found) [s, classified] = found;
      }
    }
    if (
      s.source === "xen" ||
      (s.source === "kernel" &&
        (s.time !== undefined || (classified !== undefined && !unknownMessage(classified))))
    ) this.#kernelish++;
    if (s.garbled) {
      c.garbled++;
      c.firstGarbledLine ??= c.lines;
    }
    if (s.text.length === 0) return;
    if (s.text.startsWith("#") && s.time === undefined && !s.wallClock) return;
    if (s.source === "kernel" && !this.#ofDomain(domain, classified, s.text)) return;
    if (this.#replayed(s)) return;
    this.#detectBoot(s);
    this.#bootHasContent = true;
    if (!this.#selected()) return;
    c.bootRange[1] = c.lines;
    if (s.source === "kernel" && (s.time !== undefined || kernelMessage(classified))) {
      c.kernelLines++;
    }
    const before = c.recognised + c.unrecognised.total;
    if (s.source === "xen") this.#xen(s);
    else if (s.source === "kernel") this.#kernel(s, classified);
    if (c.firstRelevant.length < MAX_SHOWN_LINES && c.recognised + c.unrecognised.total > before) {
      c.firstRelevant.push({ line: c.lines, text: raw.slice(0, MAX_SHOWN_TEXT) });
    }
  }

  /**
   * A line the grammar left unexplained: the kernel message after a prefix it does not know,
   * when one of the known message beginnings follows within {@link MAX_UNKNOWN_PREFIX}
   * characters and is then understood.
   */
  #afterUnknownPrefix(s: StrippedLine): [StrippedLine, Classified | undefined] | undefined {
    const at = findKernelBody(s.text, MAX_UNKNOWN_PREFIX);
    if (at <= 0) return undefined;
    const inner = stripPrefix(s.text.slice(at), this.#syslogHosts);
    let classified: Classified | undefined;
    if (inner.source === "kernel") {
      classified = classify(inner.text);
      if (unknownMessage(classified)) return undefined;
    } else if (inner.source !== "xen" || classifyXenLine(inner.text).kind === "other") {
      return undefined;
    }
    const c = this.#c;
    c.unknownPrefix.count++;
    c.unknownPrefix.first ??= { line: c.lines, prefix: s.text.slice(0, at).trimEnd() };
    const merged: StrippedLine = {
      ...inner,
      wallClock: inner.wallClock || s.wallClock,
      garbled: inner.garbled || s.garbled,
      forms: [...s.forms, "unknown", ...inner.forms],
    };
    if (inner.time === undefined && s.time !== undefined) merged.time = s.time;
    return [merged, classified];
  }

  /**
   * Whether a kernel line of `domain` belongs to the import, counting it. One domain's lines
   * are imported, never two domains' mixed: the one given, else the first whose line is a
   * known kernel message. Until then unprefixed lines (the console's own kernel) are read as
   * they come. A `(dN)` domain other than 0 is a domU (evidence `guest_console`, proven), so
   * what the `(XEN)` lines say about dom0 (its builder, the machine map) decides nothing.
   */
  #ofDomain(domain: number, classified: Classified | undefined, text: string): boolean {
    const c = this.#c;
    const seen = c.domains.get(domain);
    if (seen) seen.lines++;
    else c.domains.set(domain, { lines: 1, first: c.lines });
    if (c.domain === undefined && classified !== undefined && !unknownMessage(classified)) {
      c.domain = domain;
    }
    const ours = domain === (c.domain ?? 0);
    if (ours && domain !== 0 && this.#selected()) {
      this.#evidence("guest_console", `(d${domain}) ${text}`);
    }
    return ours;
  }

  /**
   * Records that the line splitter cut lines at `maxLine` characters (a run with no line end and
   * no kernel line prefix in it): the header's `notes` say how many and where the first was.
   */
  linesCut(count: number, firstLine: number, maxLine: number): void {
    this.#note(
      `line ${firstLine}: ${count} line(s) longer than ${maxLine} characters with no ` +
        `line end or kernel line prefix in them were cut at ${maxLine} (the rest of each was not read)`,
    );
  }

  /**
   * Records that the log was journalctl's JSON output: the header's `notes` say how many
   * entries were read, how many were the kernel's and how many record lines did not parse.
   */
  journalRead(entries: number, kernel: number, unreadable: number): void {
    this.#note(
      `read as journalctl JSON output: ${entries} entries, ${kernel} of the kernel` +
        (unreadable > 0
          ? `; ${unreadable} record line(s) did not parse and were read as text`
          : ""),
    );
  }

  /** Ends the import and builds the trace. Throws DmesgImportError when nothing is usable. */
  finish(input: { digest?: string } = {}): ImportResult {
    if (!this.#finished && this.#boot === this.#c.selectedBoot) this.#pci.finish();
    this.#finished = true;
    for (const n of this.#pci.notes) this.#note(n);
    return assembleTrace(this.#c, { nrPages: this.#options.nrPages, digest: input.digest });
  }

  #selected(): boolean {
    return this.#boot === this.#c.selectedBoot;
  }

  /**
   * Whether `s` is a repeat of this boot's own lines: when a console registers with
   * CON_PRINTBUFFER, printk hands over from the boot console ("bootconsole [xenboot0]
   * disabled") and prints the whole log buffer again on it, from the `Linux version` banner on.
   * A serial capture of both consoles then shows the boot twice. The repeat is the same banner
   * right after that hand-over line; its lines are skipped until one is newer than the last
   * line printed before it. A real reboot prints no hand-over line before its banner.
   */
  #replayed(s: StrippedLine): boolean {
    if (s.source !== "kernel") return false;
    if (this.#replay !== undefined) {
      const r = this.#replay;
      // A timed repeat ends at the first line newer than the last one printed before it; an
      // untimed one (dmesg -T, a wall-clock capture) at the repeated hand-over line itself, which
      // the log buffer holds too.
      if (s.time !== undefined && r.until !== undefined) {
        if (s.time <= r.until) return true;
      } else if (s.text === r.handOver) {
        this.#replay = undefined;
        return true;
      } else return true;
      this.#replay = undefined;
    }
    const handOver = /^(?:printk: )?(?:legacy )?bootconsole \[[^\]]+\] disabled$/;
    if (
      this.#bootSawBanner && s.text === this.#banner && handOver.test(this.#lastKernelText)
    ) {
      this.#replay = { until: this.#lastTime, handOver: this.#lastKernelText };
      if (this.#selected()) {
        const upTo = this.#lastTime !== undefined
          ? `${this.#lastTime.toFixed(6)} s`
          : `the repeated '${this.#lastKernelText}'`;
        this.#note(
          `line ${this.#c.lines}: the kernel printed its log again on a new console ` +
            `(after '${this.#lastKernelText}'); the repeated lines up to ` +
            `${upTo} were skipped, not taken for a second boot`,
        );
      }
      return true;
    }
    this.#lastKernelText = s.text;
    return false;
  }

  #detectBoot(s: StrippedLine): void {
    if (s.source === "kernel") {
      if (s.text.startsWith("Linux version ")) {
        if (this.#bootSawBanner) this.#maybeNewBoot(false);
        this.#bootSawBanner = true;
        this.#banner = s.text;
      } else if (
        s.time !== undefined && this.#lastTime !== undefined && s.time < 1 &&
        s.time + 1 < this.#lastTime
      ) {
        this.#maybeNewBoot(false);
      }
      if (s.time !== undefined) this.#lastTime = s.time;
      // Untimestamped text before a banner (Xen's ASCII art, shell prompts) is not a boot.
      if (this.#bootSawBanner || s.time !== undefined || s.wallClock) this.#bootHasKernel = true;
    } else if (s.source === "xen" && /^Xen version \d/.test(s.text)) {
      if (this.#bootHasKernel || this.#bootHasXenBanner) this.#maybeNewBoot(false);
      this.#bootHasXenBanner = true;
    }
  }

  #maybeNewBoot(separator: boolean): void {
    if (separator && !this.#bootHasContent) return;
    if (this.#selected()) {
      this.#pci.finish();
      this.#closePrintedMap();
    }
    this.#boot++;
    this.#c.boots++;
    if (this.#selected()) this.#c.bootRange = [this.#c.lines, this.#c.lines];
    this.#bootHasContent = false;
    this.#bootHasKernel = false;
    this.#bootHasXenBanner = false;
    this.#bootSawBanner = false;
    this.#lastTime = undefined;
    this.#banner = undefined;
    this.#replay = undefined;
  }

  #xen(s: StrippedLine): void {
    const c = this.#c;
    // "(XEN) HVM4: ..." is hvmloader's output for domain 4, relayed: not dom0's console.
    if (!/^HVM\d+: /.test(s.text)) this.#evidence("xen_console", `(XEN) ${s.text}`);
    const arm = armLine(s.text);
    if (arm !== undefined) c.arm ??= { line: c.lines, text: `(XEN) ${arm}` };
    const x = classifyXenLine(s.text);
    const inTable = this.#xenTable !== undefined;
    if (x.kind !== "e820_row" && x.kind !== "table_header") this.#xenTable = undefined;
    switch (x.kind) {
      case "xen_version":
        c.xenVersionFromXen ??= x.version;
        break;
      case "table_header":
        if (!c.xenTables.has(x.name) && c.xenTables.size >= MAX_XEN_TABLES) break;
        this.#xenTable = x.name;
        c.xenTables.delete(x.name);
        c.xenTables.set(x.name, []);
        break;
      case "e820_row": {
        const name = this.#xenTable ?? "(no header)";
        let table = c.xenTables.get(name);
        if (!table && c.xenTables.size >= MAX_XEN_TABLES) break;
        if (!table) c.xenTables.set(name, table = []);
        if (table.length < 1024) {
          table.push({ start: x.entry.start, size: x.entry.size, type: x.entry.type });
        }
        this.#xenTable = name;
        break;
      }
      case "cmdline":
        c.xenCmdlineLine ??= c.lines;
        if (x.dom0Pages !== undefined) c.nr.dom0MemPages = x.dom0Pages;
        if (x.dom0MaxPages !== undefined) c.dom0MaxPages = x.dom0MaxPages;
        break;
      case "building_dom0":
        this.#evidence(x.type === "pv" ? "xen_builder_pv" : "xen_builder_pvh", `(XEN) ${s.text}`);
        break;
      case "section":
        this.#xenSection = x.section;
        break;
      case "dom0_alloc":
        c.nr.dom0Alloc ??= { allocPages: x.allocPages, toAllocate: x.toAllocate };
        break;
      case "ramdisk":
        // Printed twice: machine addresses under PHYSICAL, virtual ones under VIRTUAL.
        if (this.#xenSection === "physical" && c.nr.ramdiskPages === undefined) {
          c.nr.ramdiskPages = x.pages;
        }
        break;
      case "pci_add":
        this.#pci.xenPciAdd(x.device);
        break;
      case "pci_remove":
      case "known":
        break;
      case "mark":
        this.#mark(`(XEN) ${s.text}`, undefined);
        break;
      case "other":
        // A row of a table that did not parse is reported, not dropped.
        if (looksRelevant(s.text, "xen") || (inTable && /^\[?[0-9a-f]{8}/i.test(s.text))) {
          c.unrecognised.add(`(XEN) ${s.text}`, c.lines);
        }
        return;
    }
    c.recognised++;
  }

  #kernel(s: StrippedLine, classified: Classified | undefined): void {
    const c = this.#c;
    if (s.time !== undefined) c.timestamps.monotonic++;
    else if (s.wallClock) c.timestamps.wallClock++;
    else c.timestamps.none++;
    const text = s.text;
    const ram = SYSTEM_RAM.exec(text);
    if (ram !== null) this.#provenRam(parseInt(ram[1], 16), parseInt(ram[2], 16) + 1, text);
    const { pci: p, kernel: k } = classified ?? classify(text);
    if (p) {
      this.#closePrintedMap();
      if (p.kind.startsWith("pcifront")) this.#evidence("pv_domU", text);
      else if (p.kind === "device_header") this.#evidence("pci_enumeration", text);
      if (this.#pci.line(p, s.time)) c.recognised++;
      else this.#unrecognised(text);
      return;
    }
    if (!k) {
      // Unrecognised (perhaps garbled) lines do not end the printed map: only known ones do.
      this.#unrecognised(text);
      return;
    }
    if (k.kind === "irrelevant") return;
    if (k.kind !== "e820") this.#closePrintedMap();
    c.recognised++;
    this.#fact(k, s);
  }

  #arch(arch: GuestArch | undefined, proven: boolean, text: string): void {
    const a = this.#c.arch;
    if (arch !== undefined && a.length < 16) {
      a.push({ arch, proven, line: this.#c.lines, text: text.slice(0, 80) });
    }
  }

  #unrecognised(text: string): void {
    if (looksLikeE820(text) || looksRelevant(text, "kernel")) {
      this.#c.unrecognised.add(text, this.#c.lines);
    }
  }

  #fact(k: KernelLine, s: StrippedLine): void {
    const c = this.#c;
    const x = c.expect;
    const time = s.time;
    if (PASS_KINDS.has(k.kind)) this.#evidence("pv", s.text);
    if (k.kind === "remapped" || k.kind === "p2m_area" || k.kind === "evidence") {
      c.era = laterEra(c.era, eraHintOf(s.text, c.lines));
    }
    switch (k.kind) {
      case "linux_version":
        c.kernelRelease ??= k.release;
        c.sawBanner = true;
        this.#arch(archOfRelease(k.release), false, s.text);
        this.#mark(s.text, time);
        return;
      case "identity_count":
        this.#anchor(time);
        x.identity = (x.identity ?? 0) + k.pages;
        return;
      case "released":
        this.#anchor(time);
        x.released = (x.released ?? 0) + k.pages;
        return;
      case "remapped":
        this.#anchor(time);
        x.remapped = (x.remapped ?? 0) + k.pages;
        c.nr.remapped = x.remapped;
        return;
      case "populating":
        this.#anchor(time);
        x.populated = (x.populated ?? 0) + k.pages;
        c.nr.populateStartPfn ??= k.pfn;
        this.#range(x.populatedRanges ??= [], k.pfn, k.endPfn, "Populating", "-");
        return;
      case "freeing":
        this.#anchor(time);
        this.#range(x.releasedRanges ??= [], k.pfn, k.endPfn, "Freeing", "-");
        return;
      case "identity_range":
        this.#anchor(time);
        this.#range(x.identityRanges ??= [], k.pfn, k.endPfn, "1-1 mapping on", "->");
        return;
      case "map_header":
        if (k.map === "bios") this.#anchor(time);
        if (xenLinuxLine(s.text) !== undefined) c.xenlinux ??= { line: c.lines, text: s.text };
        return;
      case "xenlinux":
        c.xenlinux ??= { line: c.lines, text: k.why };
        return;
      case "e820":
        this.#e820(k.entry, time);
        return;
      case "numa_ram":
        this.#provenRam(k.start, k.end, s.text);
        return;
      case "evidence":
        this.#evidence(k.evidence, s.text);
        if (
          k.evidence === "pv" || k.evidence === "pv_likely" || k.evidence === "hvm" ||
          k.evidence === "pvh"
        ) {
          c.sawBanner ||= /^Booting/.test(s.text);
        }
        return;
      case "xen_version":
        c.xenVersion ??= k.version;
        this.#evidence(k.pv ? "pv_likely" : "auto", s.text);
        return;
      case "balloon_init":
        if (!c.balloon) {
          c.balloon = true;
          this.#push({
            kind: "event",
            event: { seq: 0, line: 0, kind: "balloon_init", ...t(time) },
          });
        }
        return;
      case "memory_total":
        c.nr.memoryTotalPages ??= Math.floor(k.totalKiB / 4);
        return;
      case "last_pfn":
        c.lastPfn ??= { pfn: k.pfn, maxArchPfn: k.maxArchPfn, line: c.lines, text: s.text };
        this.#arch(archOfMaxArchPfn(k.maxArchPfn), true, s.text);
        return;
      case "p2m_area":
        // Only a PV kernel (v3.19+) builds the list.
        this.#evidence("pv", s.text);
        c.p2mAreaSize ??= k.size;
        return;
      case "arch":
        this.#arch(k.arch, k.proven, k.why);
        return;
      case "cmdline": {
        const mem = memOption(k.text);
        if (mem !== undefined) c.cmdlineMem = mem;
        return;
      }
      case "arm":
        c.arm ??= { line: c.lines, text: k.why };
        return;
      case "gsi":
        this.#evidence("dom0", s.text);
        c.evidence.delete("pirq_without_gsi");
        return;
      case "pirq":
        if (!c.evidence.has("dom0") && !c.evidence.has("pirq_without_gsi")) {
          this.#evidence("pirq_without_gsi", s.text);
        }
        return;
      case "mark":
        this.#mark(k.text, time);
        return;
      case "known":
      case "hypervisor":
      case "irrelevant":
        return;
    }
  }

  #e820(entry: { who: string; start: number; size: number; type: number }, time?: number): void {
    const c = this.#c;
    const e: MapEntry = { start: entry.start, size: entry.size, type: entry.type };
    if (time !== undefined) e.time = time;
    if (entry.who === "user") {
      this.#pushE820(e, time, "user");
      return;
    }
    if (entry.who !== "Xen" && entry.who !== "BIOS-e820" && entry.who !== "e820") return;
    if (entry.who === "Xen") this.#evidence("pv", `Xen: ${e820Text(e)}`);
    else if (entry.who === "BIOS-e820") this.#evidence("auto_likely", `BIOS-e820: ${e820Text(e)}`);
    if (this.#printedState === "closed") {
      this.#note(`a second printed E820 map (line ${c.lines}) was ignored`);
      return;
    }
    this.#anchor(time);
    this.#printedState = "open";
    c.printedWho ??= entry.who;
    if (c.printed.length < 1024) c.printed.push(e);
    c.printedLastLine = c.lines;
    this.#pushE820(e, time, "kernel");
  }

  /** An `e820` event of the printed (`kernel`) or user-defined (`mem=`, `user`) map. */
  #pushE820(e: MapEntry, time: number | undefined, map: "kernel" | "user"): void {
    this.#push({
      kind: "event",
      event: {
        seq: 0,
        line: 0,
        kind: "e820",
        ...t(time),
        start: e.start,
        size: e.size,
        type: e.type,
        map,
      },
    });
  }

  #closePrintedMap(): void {
    if (this.#printedState === "open") this.#printedState = "closed";
  }

  /** Places the raw map and memory_setup where the kernel did its pass (once). */
  #anchor(time: number | undefined): void {
    if (this.#anchored) return;
    this.#anchored = true;
    this.#push({ kind: "raw_slot" });
    this.#c.memorySetupIndex = this.#c.items.length;
    this.#push({ kind: "event", event: { seq: 0, line: 0, kind: "memory_setup", ...t(time) } });
  }

  #range(list: PfnRange[], pfn: number, endPfn: number, what: string, sep: string): void {
    if (endPfn <= pfn || endPfn > FRAME_LIMIT) {
      this.#note(
        `'${what} ${pfn.toString(16)}${sep}${endPfn.toString(16)}' (line ${this.#c.lines}) ` +
          "is not a valid PFN range and was left out of memory_setup.expect",
      );
      return;
    }
    if (list.length >= MAX_EXPECT_RANGES) return;
    list.push({ pfn, endPfn });
  }

  #mark(text: string, time: number | undefined): void {
    this.#push({
      kind: "event",
      event: { seq: 0, line: 0, kind: "mark", ...t(time), text: text.slice(0, MAX_MARK_TEXT) },
    });
  }

  #pciItem(item: PciItem): void {
    switch (item.kind) {
      case "host_bridge":
        this.#push({
          kind: "event",
          event: {
            seq: 0,
            line: 0,
            kind: "pci_host_bridge",
            ...t(item.time),
            bus: item.bus,
            resources: item.resources,
          },
        });
        return;
      case "device_added":
        this.#push({ kind: "device_added", device: item.device, item });
        return;
      case "device_removed":
        this.#push({ kind: "device_removed", device: item.device, time: item.time });
        return;
      case "assign":
        this.#push({
          kind: "event",
          event: {
            seq: 0,
            line: 0,
            kind: "pci_resource_assign",
            ...t(item.time),
            device: item.device,
            resource: item.resource,
            action: item.action,
          },
        });
        return;
      case "mark":
        this.#mark(item.text, item.time);
        return;
    }
  }

  #push(item: PendingItem): void {
    const c = this.#c;
    if (
      item.kind === "event" && item.event.kind === "pci_resource_assign" &&
      this.#refusal(item.event)
    ) {
      return;
    }
    if (c.items.length >= this.#maxEvents) {
      c.truncatedAt ??= c.lines;
      return;
    }
    c.items.push(item);
  }

  /**
   * The kernel's claim sequence: `pcifront_claim_resource` prints "claiming resource X/n",
   * `pci_claim_resource` may then print "can't claim BAR n [...]: address conflict ..." and
   * pcifront "Could not claim resource X/n!"; a bridge window's claim may be followed by its
   * "can't claim". A claim refused afterwards, whatever lines come between, ends not claimed:
   * the claim event itself becomes `failed` (one event, in the claim's place) and further
   * refusals of it add nothing. Any other action on the resource ends the book-keeping.
   * Returns true when the event was folded into an earlier one.
   */
  #refusal(e: PciResourceAssignEvent): boolean {
    const key = `${e.device}/${e.resource.index}`;
    const open = this.#claims.get(key);
    if (e.action === "failed") {
      if (open === undefined) return false;
      if (open.action === "claimed") {
        open.action = "failed";
        this.#note(
          `a claim refused after it was made ended failed (${key}, line ${this.#c.lines})`,
        );
      }
      return true;
    }
    if (e.action === "claimed") {
      if (this.#claims.size >= MAX_OPEN_CLAIMS) this.#claims.clear();
      this.#claims.set(key, e);
    } else this.#claims.delete(key);
    return false;
  }

  /** A RAM range another line proves (for a cut-off printed map; reconstruct.ts). */
  #provenRam(start: number, end: number, text: string): void {
    const list = this.#c.numaRam;
    if (end > start && end <= 2 ** 52 && list.length < MAX_PROVEN_RAM) {
      list.push({ start, end, line: this.#c.lines, text: text.slice(0, 200) });
    }
  }

  /** Keeps the first line of each kind of guest evidence. */
  #evidence(kind: EvidenceKind, text: string): void {
    if (!this.#c.evidence.has(kind)) this.#c.evidence.set(kind, { text, line: this.#c.lines });
  }

  #note(text: string): void {
    if (!this.#c.notes.includes(text) && this.#c.notes.length < 100) this.#c.notes.push(text);
  }
}

/** A kernel message classified: a PCI line, another kernel line, or (undefined) not known. */
interface Classified {
  pci?: PciLine;
  kernel?: KernelLine;
}

/** The PCI or kernel pattern a message matches. */
function classify(text: string): Classified {
  if (mayBePci(text)) {
    const pci = classifyPciLine(text);
    if (pci) return { pci };
  }
  return { kernel: classifyKernelLine(text) };
}

/** True when a message is a Linux kernel's: one the importer knows, relevant or not. */
function kernelMessage(c: Classified | undefined): boolean {
  return c !== undefined && !unknownMessage(c) && c.kernel?.kind !== "hypervisor";
}

/** True when a classified message matched no pattern, or only as irrelevant. */
function unknownMessage(c: Classified): boolean {
  return c.pci === undefined && (c.kernel === undefined || c.kernel.kind === "irrelevant");
}

/** `... conflict with System RAM [mem 0x90000000-0x97ffffff]`: the resource tree's RAM. */
const SYSTEM_RAM = /System RAM \[mem 0x([0-9a-f]{1,16})-0x([0-9a-f]{1,16})\]/;

/**
 * The flavour `max_arch_pfn` names (arch/x86/kernel/e820.c MAX_ARCH_PFN): 1 << (32 - 12) for
 * 32-bit, 1 << (36 - 12) for 32-bit PAE, MAXMEM >> PAGE_SHIFT for x86_64, which is far above
 * both (2^34 with 4-level paging, 2^40 with 5-level, 0x3ffffffff in v2.6.27 as real log 64 shows);
 * undefined for any other value.
 */
function archOfMaxArchPfn(maxArchPfn: number): GuestArch | undefined {
  if (maxArchPfn === 2 ** 20) return "x86_32";
  if (maxArchPfn === 2 ** 24) return "x86_32_pae";
  if (maxArchPfn >= 2 ** 32) return "x86_64";
  return undefined;
}

/** What a release string's build suffix suggests (distribution names; not proof). */
function archOfRelease(release: string): GuestArch | undefined {
  if (/(?:^|[.\-_])(?:x86_64|amd64)(?:$|[.\-_+])/.test(release)) return "x86_64";
  if (/(?:^|[.\-_])(?:PAE|pae)(?:$|[.\-_+])/.test(release)) return "x86_32_pae";
  if (/(?:^|[.\-_])i?[3-6]86(?:$|[.\-_+])/.test(release)) return "x86_32";
  return undefined;
}

const PASS_KINDS: ReadonlySet<KernelLine["kind"]> = new Set([
  "identity_count",
  "released",
  "remapped",
  "populating",
  "freeing",
  "identity_range",
]);

function e820Text(e: MapEntry): string {
  return `[mem 0x${e.start.toString(16)}-0x${(e.start + e.size - 1).toString(16)}] type ${e.type}`;
}

function t(time: number | undefined): { time?: number } {
  return time === undefined ? {} : { time };
}
