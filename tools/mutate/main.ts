/**
 * `deno task mutate`: plants each mutant of {@link MUTANTS} in a temporary copy of the
 * repository, runs the test files that should kill it, then (if it survived them) the fallback
 * set, and reports killed/survived per file and per directory. The working tree is never
 * touched. Exit 0 when every mutant run was killed; 1 when one survived, is stale (its original
 * text is gone) or ambiguous; 2 when the unmutated copy fails its own tests.
 *
 * Options: `--sample N` (a seeded sample of N mutants), `--seed TEXT` (default `17`),
 * `--only ID` (repeatable), `--list` (print the mutants and exit).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FALLBACK_TESTS, MUTANTS } from "./mutants.ts";
import { applyMutant, type Mutant, sample, score, type Verdict } from "./plan.ts";

const ROOT = new URL("../../", import.meta.url);
/** A mutant that hangs the suite is killed by this timeout (an infinite loop is a failure). */
const TIMEOUT_MS = 300_000;

interface Options {
  sample?: number;
  seed: string;
  only: string[];
  list: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sample: { type: "string" },
      seed: { type: "string", default: "17" },
      only: { type: "string", multiple: true, default: [] },
      list: { type: "boolean", default: false },
    },
  });
  const n = values.sample === undefined ? undefined : Number(values.sample);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new RangeError(`--sample wants a positive integer, got ${values.sample}`);
  }
  return { sample: n, seed: values.seed!, only: values.only!, list: values.list! };
}

/** Repository files to copy: tracked and new, not ignored. */
async function repoFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("git ls-files failed: run from a git checkout");
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
}

async function copyRepo(files: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "p2mtrace-mutate-" });
  for (const f of files) {
    const src = new URL(f, ROOT);
    try {
      const info = await Deno.lstat(src);
      if (!info.isFile) continue;
    } catch {
      continue; // deleted in the working tree, not yet committed
    }
    const dest = `${dir}/${f}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(src, dest);
  }
  return dir;
}

/** Runs `deno test` on `files` in `dir`; true when every test passed. */
async function testsPass(dir: string, files: readonly string[]): Promise<boolean> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--no-check",
      ...files,
    ],
    cwd: dir,
    env: { NO_COLOR: "1", UPDATE_GOLDEN: "" },
    stdout: "null",
    stderr: "null",
  });
  const child = cmd.spawn();
  running = child;
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const status = await child.status;
  clearTimeout(timer);
  running = undefined;
  return status.success;
}

/** The test run in progress and the temporary copy, for a clean stop on Ctrl-C. */
let running: Deno.ChildProcess | undefined;
let tempDir: string | undefined;

function stopOnSignal(): void {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      try {
        running?.kill("SIGKILL");
      } catch { /* already gone */ }
      if (tempDir) Deno.removeSync(tempDir, { recursive: true });
      console.log(`mutate: stopped by ${sig}; the working tree was never touched`);
      Deno.exit(130);
    });
  }
}

async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  let chosen: readonly Mutant[] = MUTANTS;
  if (opts.only.length > 0) {
    const unknown = opts.only.filter((id) => !MUTANTS.some((m) => m.id === id));
    if (unknown.length > 0) throw new RangeError(`no mutant ${unknown.join(", ")}`);
    chosen = MUTANTS.filter((m) => opts.only.includes(m.id));
  }
  if (opts.sample !== undefined) {
    chosen = sample(chosen.filter((m) => !m.equivalent), opts.sample, opts.seed);
  }
  if (opts.list) {
    for (const m of chosen) console.log(`${m.id}\t${m.file}\t${m.breaks}`);
    return 0;
  }
  console.log(
    `mutate: ${chosen.length} of ${MUTANTS.length} mutant(s)` +
      (opts.sample === undefined ? "" : ` (sample of ${opts.sample}, seed ${opts.seed})`),
  );

  stopOnSignal();
  const dir = await copyRepo(await repoFiles());
  tempDir = dir;
  const results: { id: string; file: string; verdict: Verdict; by?: string }[] = [];
  try {
    const run = chosen.filter((m) => !m.equivalent);
    // A mutant is judged only by tests that pass without it. The fallback set's own baseline
    // runs the first time a mutant survives its tests (rarely), not up front.
    const baseline = [...new Set(run.flatMap((m) => m.tests))].sort();
    const t0 = Date.now();
    if (run.length > 0 && !(await testsPass(dir, baseline))) {
      console.log(`the unmutated copy fails its own tests: deno test ${baseline.join(" ")}`);
      return 2;
    }
    console.log(`baseline: ${baseline.length} test file(s) pass (${secs(t0)})`);
    let fallbackChecked = false;
    const fallbackKills = async (path: string, source: string, mutated: string) => {
      if (!fallbackChecked) {
        await Deno.writeTextFile(path, source);
        if (!(await testsPass(dir, FALLBACK_TESTS))) {
          throw new BaselineError(`deno test ${FALLBACK_TESTS.join(" ")}`);
        }
        fallbackChecked = true;
        await Deno.writeTextFile(path, mutated);
      }
      return !(await testsPass(dir, FALLBACK_TESTS));
    };
    for (const m of chosen) {
      const t = Date.now();
      let verdict: Verdict;
      let by: string | undefined;
      if (m.equivalent) verdict = "equivalent";
      else {
        const path = `${dir}/${m.file}`;
        const source = await Deno.readTextFile(path);
        const applied = applyMutant(source, m);
        if (applied.status !== "applied") verdict = applied.status;
        else {
          await Deno.writeTextFile(path, applied.text);
          try {
            if (!(await testsPass(dir, m.tests))) [verdict, by] = ["killed", "its tests"];
            else if (await fallbackKills(path, source, applied.text)) {
              [verdict, by] = ["killed", "fallback"];
            } else verdict = "survived";
          } finally {
            await Deno.writeTextFile(path, source);
          }
        }
      }
      results.push({ id: m.id, file: m.file, verdict, by });
      const note = verdict === "equivalent"
        ? m.equivalent
        : verdict === "stale"
        ? "original text not found: restate the mutant"
        : verdict === "ambiguous"
        ? "original text occurs more than once: quote more context"
        : by
        ? `by ${by}, ${secs(t)}`
        : secs(t);
      console.log(`${verdict.toUpperCase().padEnd(10)} ${m.id.padEnd(34)} ${m.file} (${note})`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const { files, dirs } = score(results);
  const row = (name: string, c: Record<Verdict, number>) => {
    const extra = (["stale", "ambiguous", "equivalent"] as const)
      .filter((v) => c[v] > 0).map((v) => `, ${c[v]} ${v}`).join("");
    return `  ${name.padEnd(40)} ${c.killed} killed, ${c.survived} survived${extra}`;
  };
  console.log("\nper file:");
  for (const r of files) console.log(row(r.name, r.counts));
  console.log("per directory:");
  for (const r of dirs) console.log(row(r.name, r.counts));
  const bad = results.filter((r) => r.verdict !== "killed" && r.verdict !== "equivalent");
  const killed = results.filter((r) => r.verdict === "killed").length;
  const runCount = results.filter((r) => r.verdict !== "equivalent").length;
  console.log(`\n${killed} of ${runCount} mutant(s) killed`);
  if (bad.length > 0) {
    console.log(`not killed: ${bad.map((r) => `${r.id} (${r.verdict})`).join(", ")}`);
    return 1;
  }
  return 0;
}

/** The unmutated copy fails a test set, so no mutant can be judged by it. */
class BaselineError extends Error {
  /** `what` is the failing command. */
  constructor(what: string) {
    super(`the unmutated copy fails its own tests: ${what}`);
    this.name = "BaselineError";
  }
}

function secs(t: number): string {
  return `${((Date.now() - t) / 1000).toFixed(1)} s`;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`mutate: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(2);
  }
}
