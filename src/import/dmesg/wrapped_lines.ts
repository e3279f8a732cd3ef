/**
 * Re-joins kernel lines that a mail client or a pastebin wrapped: the first part keeps the line's
 * timestamp, the rest continues on the next line without one. Users paste exactly this
 * (e.g. `[2022-09-19 19:50:56] Xen: [mem 0x0-0x9ffff]` then `usable`).
 *
 * A line is joined with the next only when both say so:
 * - it carries a timestamp (dmesg, wall clock) and its message is visibly unfinished: a `[`
 *   left open (`reg 0x18: [mem`) or an E820 entry without its type; or it is a hypervisor
 *   `(XEN)` line left open (an E820 row without its type, a command line, an open `(`/`[`, a
 *   line no pattern knows: see `xenOpenness`), timestamp or not;
 * - the next line carries no timestamp or `(XEN)` of its own and finishes it: it closes the
 *   bracket, it is exactly an E820 type name (`(usable)`, `type 9` for a `(XEN)` row), it is
 *   more command-line options (`dom0_mem=4096M,max:4096M`; several such lines join in turn),
 *   or it makes the `(XEN)` line one a pattern knows.
 *
 * Other logs without timestamps are passed through as they are: there a short line cannot be told from
 * a wrapped one. A quoted-printable soft break (`=` ending the line) is not a wrap: it cuts a
 * word, so joining with a space would make a wrong line; `quoted_printable.ts` undoes it before
 * this joiner runs, once the log has proven its encoding. Line numbers are kept: the joined line takes the first line's number and an empty
 * line (which the importer counts and skips) takes the continuation's.
 *
 * @module
 */

import { stripPrefix } from "./prefix.ts";
import { classifyXenLine } from "./xen_lines.ts";

/** The type names `e820_print_type` prints. */
const E820_TYPE =
  /^(?:usable|reserved|ACPI data|ACPI NVS|unusable|persistent \(type \d+\)|soft reserved|type \d+)$/;
/** An E820 entry (any of the printed maps) whose type went to the next line. */
const E820_UNTYPED = /^(?:Xen|BIOS-e820|e820|user|modified): \[mem 0x[0-9a-f]+-0x[0-9a-f]+\]$/i;

/**
 * A row of the hypervisor's E820 table (`(XEN)  0000000000000000 - 000000000009ec00 (usable)`,
 * or `[start, end]` on newer Xen) without its type: Xen's print_e820_memory_map
 * (xen/arch/x86/e820.c) prints the type right after the range on the same console line, so the
 * row is never complete without it, timestamp or not.
 */
const XEN_E820_UNTYPED = /^(?:[0-9a-f]{16} - [0-9a-f]{16}|\[[0-9a-f]{16}, [0-9a-f]{16}\])$/i;
/** The type of a `(XEN)` E820 row, alone on a line a mail client wrapped. */
const XEN_E820_TYPE = /^(?:\([A-Za-z ]{1,24}\)|type \d{1,10})$/;

/** How a held line may be finished. */
type Open =
  | "bracket"
  | "e820-type"
  | "xen-e820-type"
  | "xen-cmdline"
  | "xen-bracket"
  | "xen-more";

/**
 * Options of a command line, as the rest of a wrapped `(XEN) Command line:` (`console=com1,vga
 * dom0_mem=4096M,max:4096M noreboot`): every word a bare option or `name=value`, at least one
 * `name=value`. No message the kernel or Xen prints alone on a line reads so.
 */
const CMDLINE_REST = /^(?:[A-Za-z0-9_][\w.\-]*(?:=\S*)?\s+)*[A-Za-z0-9_][\w.\-]*(?:=\S*)?$/;

/** `(XEN)` line kinds that carry data a wrap can complete (not marks, not "known"). */
const XEN_DATA = new Set([
  "xen_version",
  "table_header",
  "building_dom0",
  "section",
  "dom0_alloc",
  "ramdisk",
  "pci_add",
  "pci_remove",
]);

/**
 * How a `(XEN)` line is unfinished. Xen itself never wraps a console line (`vprintk_common`
 * prints one message per line and puts `(XEN) ` before each line it starts), so a bare line
 * after one is a mail client's or a terminal's wrap only when it finishes what the line left
 * open: an E820 row without its type, a command line (whose options may go on), a `(` or `[`
 * left open (`Dom0 alloc.: ... (1661249 pages to be` + `allocated)`), or a line whose rest
 * adds what a pattern reads: one no pattern knows (`Init. ramdisk:` + `000000083fb2e000->...`)
 * or a known one the rest completes (`Dom0 alloc.: S->E` + `(1661249 pages to be allocated)`,
 * a part the builder prints only when pages remain to be allocated).
 */
function xenOpenness(text: string): Open | undefined {
  if (XEN_E820_UNTYPED.test(text)) return "xen-e820-type";
  if (text.startsWith("Command line:")) return "xen-cmdline";
  if (count(text, "(") > count(text, ")") || count(text, "[") > count(text, "]")) {
    return "xen-bracket";
  }
  const kind = classifyXenLine(text).kind;
  return kind === "other" || XEN_DATA.has(kind) ? "xen-more" : undefined;
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** Whether a line's message is unfinished, and how. Cheap on ordinary lines. */
function openness(raw: string): Open | undefined {
  let e = raw.length;
  while (e > 0 && raw.charCodeAt(e - 1) <= 32) e--;
  const last = e > 0 ? raw[e - 1] : "";
  // A quoted-printable soft break (`=` at the end) cut a word: that is undecoded mail, not a wrap.
  if (last === "" || last === "=") return undefined;
  const maybeBracket = raw.lastIndexOf("[", e - 1) > raw.lastIndexOf("]", e - 1);
  const maybeE820 = last === "]" && raw.includes("[mem 0x");
  const maybeXen = raw.includes("(XEN)");
  if (!maybeBracket && !maybeE820 && !maybeXen) return undefined;
  const s = stripPrefix(raw);
  if (s.source === "xen") return xenOpenness(s.text);
  if (s.source !== "kernel" || (s.time === undefined && !s.wallClock)) return undefined;
  if (count(s.text, "[") > count(s.text, "]")) return "bracket";
  return E820_UNTYPED.test(s.text) ? "e820-type" : undefined;
}

/** Whether `raw` is the bare rest of `held`, a line held as `open`. */
function finishes(raw: string, open: Open, held: string): boolean {
  const s = stripPrefix(raw);
  const max = open === "xen-cmdline" ? 1024 : 100;
  if (s.time !== undefined || s.wallClock || s.text.length === 0 || s.text.length > max) {
    return false;
  }
  switch (open) {
    case "xen-e820-type":
      return s.source === "kernel" && XEN_E820_TYPE.test(s.text);
    case "e820-type":
      return E820_TYPE.test(s.text);
    case "bracket":
      return count(s.text, "]") > count(s.text, "[") && !s.text.startsWith("[");
  }
  // The rest of a hypervisor line is bare text: no prefix form of its own but a mail's quotes.
  if (s.source !== "kernel" || s.inner) return false;
  switch (open) {
    case "xen-cmdline":
      return CMDLINE_REST.test(s.text) && s.text.includes("=");
    case "xen-bracket":
      return count(s.text, ")") > count(s.text, "(") || count(s.text, "]") > count(s.text, "[");
    case "xen-more": {
      const text = stripPrefix(held).text;
      const joined = classifyXenLine(`${text} ${s.text}`);
      return XEN_DATA.has(joined.kind) &&
        JSON.stringify(joined) !== JSON.stringify(classifyXenLine(text));
    }
  }
}

/**
 * Line-at-a-time joiner: `push` each line, then `end`; both return the lines to pass on, in order.
 *
 * @example
 * ```ts
 * import { WrappedLineJoiner } from "./wrapped_lines.ts";
 * const j = new WrappedLineJoiner();
 * const out = [
 *   ...j.push("[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff]"),
 *   ...j.push("usable"),
 *   ...j.end(),
 * ];
 * // out: ["[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable", ""]
 * ```
 */
export class WrappedLineJoiner {
  #held: string | undefined;
  #open: Open | undefined;
  /** Continuations joined into the held line: each passes on as an empty line after it. */
  #joined = 0;

  /** Takes the next line (without terminator); returns the lines ready to import. */
  push(line: string): string[] {
    const out: string[] = [];
    if (this.#held !== undefined) {
      const held = this.#held;
      const open = this.#open!;
      if (finishes(line, open, held)) {
        // The rest goes on without its own outer prefix: a quoted mail repeats `> ` on it.
        const joined = `${held.trimEnd()} ${stripPrefix(line).text.trim()}`;
        this.#joined++;
        // A hypervisor line may go on over several wrapped lines (a long command line).
        const still = open.startsWith("xen-") ? openness(joined) : undefined;
        if (still) {
          this.#held = joined;
          this.#open = still;
          return out;
        }
        return this.#release(joined);
      }
      out.push(...this.#release(held));
    }
    const open = openness(line);
    if (open) {
      this.#held = line;
      this.#open = open;
    } else {
      out.push(line);
    }
    return out;
  }

  /** The line still held at the end of the input, if any. */
  end(): string[] {
    return this.#held === undefined ? [] : this.#release(this.#held);
  }

  /** `line` (the held one, maybe joined), then an empty line per continuation it took. */
  #release(line: string): string[] {
    const out = [line];
    for (let i = 0; i < this.#joined; i++) out.push("");
    this.#held = this.#open = undefined;
    this.#joined = 0;
    return out;
  }
}
