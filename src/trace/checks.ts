/**
 * Checks that span records: `seq` strictly increasing, raw E820 entries not overlapping, the
 * `end` record last and counting the events before it. The strict reader throws the first
 * failure; `validate` collects them all.
 *
 * @module
 */

import { TraceError } from "../errors.ts";
import type { E820Event, TraceEvent } from "./event.ts";

/** Most raw E820 entries accepted (the kernel's E820_X_MAX is 128 + 3 x MAX_NUMNODES). */
export const MAX_E820_ENTRIES = 1024;

/**
 * Cross-record state of one trace.
 *
 * @example
 * ```ts
 * import { RecordChecks } from "./checks.ts";
 * import assert from "node:assert/strict";
 * const c = new RecordChecks("t");
 * c.event({ seq: 1, line: 2, kind: "mark", text: "a" });
 * assert.throws(() => c.event({ seq: 1, line: 3, kind: "mark", text: "b" }), /greater than/);
 * ```
 */
export class RecordChecks {
  /** Events accepted so far. */
  events = 0;
  /** Line of the `end` record, once seen. */
  endLine: number | undefined;
  #lastSeq = -1;
  #raw: E820Event[] = [];

  /** Checks for the trace named `file`. */
  constructor(readonly file: string) {}

  /** Checks that a record may appear at `line` (nothing may follow the end record). */
  record(line: number): void {
    if (this.endLine !== undefined) {
      throw new TraceError(
        { file: this.file, line },
        undefined,
        `nothing after the end record (line ${this.endLine})`,
        "another record",
      );
    }
  }

  /** Checks an event against the ones before it, then counts it. */
  event(e: TraceEvent): void {
    this.#seq(e.line, e.seq);
    if (e.kind === "e820" && e.map === "raw") this.#rawE820(e);
    this.#lastSeq = e.seq;
    this.events++;
  }

  /**
   * {@link event} for an event known by its line and `seq` alone (one that is not a raw E820
   * entry: the parse worker's scanned lines).
   */
  eventAt(line: number, seq: number): void {
    this.#seq(line, seq);
    this.#lastSeq = seq;
    this.events++;
  }

  #seq(line: number, seq: number): void {
    if (seq <= this.#lastSeq) {
      throw new TraceError(
        { file: this.file, line },
        "seq",
        `a value greater than the previous event's ${this.#lastSeq}`,
        String(seq),
      );
    }
  }

  /** Checks the end record's count. */
  end(line: number, events: number): void {
    this.endLine = line;
    if (events !== this.events) {
      throw new TraceError(
        { file: this.file, line },
        "events",
        `${this.events} (the number of event records before it)`,
        String(events),
      );
    }
  }

  #rawE820(e: E820Event): void {
    const pos = { file: this.file, line: e.line };
    if (this.#raw.length >= MAX_E820_ENTRIES) {
      throw new TraceError(pos, undefined, `at most ${MAX_E820_ENTRIES} raw E820 entries`, "more");
    }
    for (const o of this.#raw) {
      if (e.start < o.start + o.size && o.start < e.start + e.size) {
        throw new TraceError(
          pos,
          "start",
          `a raw E820 entry that does not overlap line ${o.line} ` +
            `[0x${o.start.toString(16)}-0x${(o.start + o.size - 1).toString(16)}]`,
          `[0x${e.start.toString(16)}-0x${(e.start + e.size - 1).toString(16)}]`,
        );
      }
    }
    this.#raw.push(e);
  }
}
