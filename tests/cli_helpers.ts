/**
 * Runs the CLI in-process for tests: no subprocess, no permissions beyond reading fixtures.
 *
 * @module
 */

import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import "./support/repo_root.ts";

/** What one CLI run produced. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/** Runs `p2mtrace ...argv` with optional stdin text. */
export async function cli(argv: string[], stdin = ""): Promise<CliRun> {
  const io = memoryIo(stdin);
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** Trace files bundled in traces/, sorted. */
export function bundledTraces(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync("traces")) {
    if (e.isFile && e.name.endsWith(".jsonl")) names.push(e.name);
  }
  return names.sort();
}
