/**
 * Re-joins kernel lines that a mail client or a pastebin wrapped: the first part keeps the line's
 * timestamp, the rest continues on the next line without one. Users paste exactly this
 * (e.g. `[2022-09-19 19:50:56] Xen: [mem 0x0-0x9ffff]` then `usable`).
 *
 * A line is joined with the next only when both say so:
 * - it carries a timestamp (dmesg, wall clock) and its message is visibly unfinished: a `[`
 *   left open (`reg 0x18: [mem`) or an E820 entry without its type; or it is a row of the
 *   hypervisor's `(XEN)` E820 table without its type, which is never complete without it;
 * - the next line carries no timestamp or `(XEN)` of its own and finishes it: it closes the
 *   bracket, or it is exactly an E820 type name (`(usable)`, `type 9` for a `(XEN)` row).
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
type Open = "bracket" | "e820-type" | "xen-e820-type";

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** Whether a timestamped line's message is unfinished, and how. Cheap on ordinary lines. */
function openness(raw: string): Open | undefined {
  let e = raw.length;
  while (e > 0 && raw.charCodeAt(e - 1) <= 32) e--;
  const last = e > 0 ? raw[e - 1] : "";
  // A quoted-printable soft break (`=` at the end) cut a word: that is undecoded mail, not a wrap.
  if (last === "" || last === "=") return undefined;
  const maybeBracket = raw.lastIndexOf("[", e - 1) > raw.lastIndexOf("]", e - 1);
  const maybeE820 = last === "]" && raw.includes("[mem 0x");
  const maybeXen = (last === "]" || /[0-9a-fA-F]/.test(last)) && raw.includes("(XEN)");
  if (!maybeBracket && !maybeE820 && !maybeXen) return undefined;
  const s = stripPrefix(raw);
  if (s.source === "xen" && XEN_E820_UNTYPED.test(s.text)) return "xen-e820-type";
  if (s.source !== "kernel" || (s.time === undefined && !s.wallClock)) return undefined;
  if (count(s.text, "[") > count(s.text, "]")) return "bracket";
  return E820_UNTYPED.test(s.text) ? "e820-type" : undefined;
}

/** Whether `raw` is the bare rest of a line held as `open`. */
function finishes(raw: string, open: Open): boolean {
  const s = stripPrefix(raw);
  if (s.time !== undefined || s.wallClock || s.text.length === 0 || s.text.length > 100) {
    return false;
  }
  if (open === "xen-e820-type") return s.source === "kernel" && XEN_E820_TYPE.test(s.text);
  return open === "e820-type"
    ? E820_TYPE.test(s.text)
    : count(s.text, "]") > count(s.text, "[") && !s.text.startsWith("[");
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

  /** Takes the next line (without terminator); returns the lines ready to import. */
  push(line: string): string[] {
    const out: string[] = [];
    if (this.#held !== undefined) {
      const held = this.#held;
      const open = this.#open!;
      this.#held = this.#open = undefined;
      // The rest goes on without its own outer prefix: a quoted mail repeats `> ` on it.
      if (finishes(line, open)) return [`${held.trimEnd()} ${stripPrefix(line).text.trim()}`, ""];
      out.push(held);
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
    const held = this.#held;
    this.#held = this.#open = undefined;
    return held === undefined ? [] : [held];
  }
}
