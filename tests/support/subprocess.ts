/**
 * The real CLI as a subprocess, for behaviour that exists only there: permission flags, pipes,
 * FIFOs, signals. Shared by the tests of untrusted input.
 *
 * @module
 */

/** The repository root (with a trailing slash). */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** What a subprocess gave. */
export interface SubRun {
  /** Exit status. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/**
 * Runs `deno run FLAGS cli.ts ARGS` in `cwd` (default the root), with `stdin` piped in when
 * given (else no stdin).
 */
export async function sub(
  flags: string[],
  args: string[],
  opts: { cwd?: string; stdin?: string } = {},
): Promise<SubRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}cli.ts`, ...args],
    cwd: opts.cwd ?? ROOT,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/**
 * Runs a bash line (for pipes, FIFOs and signals) in `cwd`, with `$DENO` (this Deno) and `$CLI`
 * (cli.ts) set, and returns its status and output.
 */
export async function sh(line: string, cwd = ROOT): Promise<SubRun> {
  const r = await new Deno.Command("bash", {
    args: ["-c", line],
    cwd,
    env: { DENO: Deno.execPath(), CLI: `${ROOT}cli.ts`, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Runs `f` with a fresh temporary directory, removed afterwards. */
export async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2mtrace-untrusted-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
