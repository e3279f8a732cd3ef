/**
 * Bench entry: the on-disk index (`p2mtrace index`, issue 16 item 3). In one run, side by
 * side: one `replay --quiet` and one `index` build into a fresh cache directory (each a
 * subprocess, so the ratio is build / replay on the same machine state), then seeded random
 * questions answered from that index — `lookup` at a random step and PFN, `diff` of two random
 * steps, `snapshot --format json` at a random step — each timed two ways: in-process (the
 * command's own time, `main()` with the output kept in memory) and as a subprocess (wall time,
 * Deno's startup included; the startup alone, `p2mtrace --version`, and Deno's alone, an empty
 * module run with the same flags, are measured too). Prints
 * one JSON line with medians in ms.
 *
 * Usage: `deno run --allow-read --allow-write --allow-run --allow-env bench/cached_index.ts TRACE [QUESTIONS]` (lookups and diffs; default 15)
 *
 * @module
 */

import { Prng } from "../src/gen/prng.ts";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { median } from "./main.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function sub(
  args: string[],
  env: Record<string, string>,
  script = "cli.ts",
): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  if (out.code > 3) {
    throw new Error(`${args.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

async function inProcess(args: string[], env: Record<string, string>): Promise<number> {
  const io = memoryIo("", env);
  const t = performance.now();
  const code = await main(args, io);
  const ms = performance.now() - t;
  if (code > 3) throw new Error(`${args.join(" ")}: exit ${code}: ${io.err()}`);
  if (io.err().includes("note:")) throw new Error(`${args.join(" ")}: ${io.err()}`);
  return ms;
}

if (import.meta.main) {
  const [trace, nArg] = Deno.args;
  const questions = Number(nArg ?? 15);
  const cache = await Deno.makeTempDir({ prefix: "p2mtrace-bench-cache-" });
  const env = { P2MTRACE_CACHE_DIR: cache };
  try {
    const replayMs = await sub(["replay", trace, "--quiet"], {});
    const buildMs = await sub(["index", trace], env);
    const indexBytes = [...Deno.readDirSync(cache)].reduce(
      (s, e) => s + Deno.statSync(`${cache}/${e.name}`).size,
      0,
    );
    const io = memoryIo("", env);
    await main(["snapshot", trace, "--at", "end", "--format", "json"], io);
    const end = JSON.parse(io.out());
    const lastStep: number = end.step;
    const rng = new Prng(7);
    const step = () => String(1 + rng.int(lastStep));
    const pfn = () => "0x" + rng.int(0x1000000).toString(16);
    const kinds: Record<string, () => string[]> = {
      lookup: () => ["lookup", trace, pfn(), "--at", step()],
      diff: () => ["diff", trace, step(), step()],
      snapshot: () => ["snapshot", trace, "--at", step(), "--format", "json"],
    };
    const result: Record<string, unknown> = {
      available: true,
      events: end.step,
      replay_ms: replayMs,
      build_ms: buildMs,
      build_over_replay: buildMs / replayMs,
      index_mb: indexBytes / 1e6,
    };
    // A snapshot prints the whole P2M (megabytes at 1M events): fewer of them.
    const counts: Record<string, number> = { lookup: questions, diff: questions, snapshot: 5 };
    for (const [kind, argv] of Object.entries(kinds)) {
      const inner: number[] = [];
      const outer: number[] = [];
      for (let i = 0; i < counts[kind]; i++) {
        const args = argv();
        inner.push(await inProcess(args, env));
        if (i < 5) outer.push(await sub(args, env));
      }
      result[`${kind}_ms`] = median(inner);
      result[`${kind}_max_ms`] = Math.max(...inner);
      result[`${kind}_subprocess_ms`] = median(outer);
    }
    // p2mtrace's own startup, and Deno's alone: an empty module run with the same flags.
    const empty = `${cache}/empty.ts`;
    await Deno.writeTextFile(empty, "export {};\n");
    const startup: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      startup.push(await sub(["--version"], {}));
      bare.push(await sub([], {}, empty));
    }
    result.startup_ms = median(startup);
    result.deno_startup_ms = median(bare);
    console.log(JSON.stringify(result));
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}
