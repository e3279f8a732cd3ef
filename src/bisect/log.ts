/**
 * The bisect log: what `bisect run` prints is itself a log that `bisect replay` reads back, as
 * with `git bisect log` / `git bisect replay`. Only lines that start with `bisect ` are log
 * commands; every other line (progress, the result, the bug report) is ignored, so a saved
 * session can be edited (drop a wrong mark) and replayed.
 *
 * ```text
 * bisect start TRACE [--policy SPEC] [--sha256 HEX] [--term-good WORD] [--term-bad WORD]
 * bisect good STEP
 * bisect bad STEP
 * bisect skip STEP
 * ```
 *
 * Arguments are quoted for a POSIX shell. STEP is a step number (0, or an event's seq).
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import type { BisectMark } from "./search.ts";
import { shellQuote, shellWords } from "../report/shell.ts";

/** A malformed bisect log: names the file and line. */
export class BisectLogError extends SyntaxError {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.dataError;
  /** Builds `file:line: message`. */
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "BisectLogError";
  }
}

/** The `bisect start` line. */
export interface LogStart {
  /** The trace as given. */
  trace: string;
  /** The policy spec, when given. */
  policy?: string;
  /** The trace's SHA-256, when given. */
  sha256?: string;
  /** Custom word for good. */
  termGood?: string;
  /** Custom word for bad. */
  termBad?: string;
}

/** One mark line. */
export interface LogMark {
  /** The mark. */
  mark: BisectMark;
  /** The step number. */
  step: number;
  /** Line in the log. */
  line: number;
}

/** A parsed log. */
export interface BisectLog {
  /** The start line. */
  start: LogStart;
  /** The marks, in order. */
  marks: LogMark[];
}

/**
 * The `bisect start` line.
 *
 * @example
 * ```ts
 * import { startLine } from "./log.ts";
 * import assert from "node:assert/strict";
 * assert.equal(startLine({ trace: "t.jsonl", policy: "linux-3.12:iomap=honoured", sha256: "ab" }),
 *   "bisect start t.jsonl --policy linux-3.12:iomap=honoured --sha256 ab");
 * ```
 */
export function startLine(s: LogStart): string {
  const words = ["bisect", "start", s.trace];
  if (s.policy !== undefined) words.push("--policy", s.policy);
  if (s.sha256 !== undefined) words.push("--sha256", s.sha256);
  if (s.termGood !== undefined) words.push("--term-good", s.termGood);
  if (s.termBad !== undefined) words.push("--term-bad", s.termBad);
  return words.map(shellQuote).join(" ");
}

/**
 * A mark line: `bisect good 15`.
 *
 * @example
 * ```ts
 * import { markLine } from "./log.ts";
 * import assert from "node:assert/strict";
 * assert.equal(markLine("skip", 12), "bisect skip 12");
 * ```
 */
export function markLine(mark: BisectMark, step: number): string {
  return `bisect ${mark} ${step}`;
}

const START_OPTIONS: Record<string, keyof LogStart> = {
  "--policy": "policy",
  "--sha256": "sha256",
  "--term-good": "termGood",
  "--term-bad": "termBad",
};

/**
 * Parses a log; lines that do not start with `bisect ` are ignored.
 *
 * @example
 * ```ts
 * import { parseLog } from "./log.ts";
 * import assert from "node:assert/strict";
 * const log = parseLog("session.log", [
 *   "p2mtrace bisect run on t.jsonl",
 *   "bisect start t.jsonl --policy linux-3.16",
 *   "step 0 (before the first event): exit 0: good",
 *   "bisect good 0",
 *   "bisect bad 21",
 * ].join("\n"));
 * assert.equal(log.start.policy, "linux-3.16");
 * assert.deepEqual(log.marks.map((m) => [m.mark, m.step]), [["good", 0], ["bad", 21]]);
 * ```
 */
export function parseLog(file: string, text: string): BisectLog {
  let start: LogStart | undefined;
  const marks: LogMark[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const l = lines[i].trim();
    if (!l.startsWith("bisect ")) continue;
    const w = shellWords(l);
    if (!w) throw new BisectLogError(file, line, "unterminated quote");
    const verb = w[1];
    if (verb === "start") {
      if (start) throw new BisectLogError(file, line, "a second 'bisect start' line");
      if (w.length < 3) throw new BisectLogError(file, line, "'bisect start' needs a TRACE");
      const s: LogStart = { trace: w[2] };
      for (let j = 3; j < w.length; j += 2) {
        const key = START_OPTIONS[w[j]];
        if (!key || j + 1 >= w.length) {
          throw new BisectLogError(
            file,
            line,
            `'bisect start' takes --policy, --sha256, --term-good and --term-bad with a value, ` +
              `got '${w[j]}'`,
          );
        }
        s[key] = w[j + 1];
      }
      start = s;
    } else if (verb === "good" || verb === "bad" || verb === "skip") {
      if (!start) throw new BisectLogError(file, line, `'bisect ${verb}' before 'bisect start'`);
      if (w.length !== 3 || !/^\d+$/.test(w[2]) || !Number.isSafeInteger(Number(w[2]))) {
        throw new BisectLogError(file, line, `expected 'bisect ${verb} STEP' (a step number)`);
      }
      marks.push({ mark: verb, step: Number(w[2]), line });
    } else {
      throw new BisectLogError(
        file,
        line,
        `unknown log command '${verb ?? ""}' (expected start, good, bad or skip)`,
      );
    }
  }
  if (!start) throw new BisectLogError(file, lines.length, "no 'bisect start' line");
  return { start, marks };
}
