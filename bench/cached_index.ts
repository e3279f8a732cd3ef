/**
 * Bench entry: the on-disk index (`p2mtrace index`, issue 16 item 3). In one run, side by
 * side: one `replay --quiet` and one `index` build into a fresh cache directory (each a
 * subprocess, so the ratio is build / replay on the same machine state), then seeded random
 * questions answered from that index — `lookup` at a random step and PFN, `diff` of two random
 * steps, `snapshot --format json` at a random step — each timed two ways: in-process (the
 * command's own time, `main()` with the output kept in memory) and as a subprocess (wall time,
 * Deno's startup included, and its CPU time, user + system, when `/usr/bin/time` exists; the
 * startup alone, `p2mtrace --version`, and Deno's alone, an empty module run with the same
 * flags, are measured too). Prints one JSON line with medians in ms.
 *
 * Usage: `deno run --allow-read --allow-write --allow-run --allow-env bench/cached_index.ts TRACE [QUESTIONS]` (lookups and diffs; default 15)
 *
 * @module
 */

import { Prng } from "../src/gen/prng.ts";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { median, run } from "./main.ts";

/** A subprocess's wall time and CPU time (user + system; undefined without /usr/bin/time), ms. */
async function sub(
  args: string[],
  env: Record<string, string>,
  script = "cli.ts",
): Promise<{ ms: number; cpuMs: number | undefined }> {
  const argv = [Deno.execPath(), "run", "--allow-read", "--allow-write", "--allow-env"];
  const out = await run([...argv, script, ...args], false, env);
  if (out.code > 3) throw new Error(`${args.join(" ")}: exit ${out.code}: ${out.stderr}`);
  return { ms: out.wall * 1000, cpuMs: out.cpu === undefined ? undefined : out.cpu * 1000 };
}

/** Medians of subprocess samples: `name` (wall) and `name_cpu` when CPU times are known. */
function subMedians(
  name: string,
  samples: { ms: number; cpuMs: number | undefined }[],
): Record<string, number> {
  const cpu = samples.map((s) => s.cpuMs).filter((x): x is number => x !== undefined);
  const out: Record<string, number> = { [`${name}_ms`]: median(samples.map((s) => s.ms)) };
  if (cpu.length === samples.length) out[`${name}_cpu_ms`] = median(cpu);
  return out;
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
    const replayMs = (await sub(["replay", trace, "--quiet"], {})).ms;
    const buildMs = (await sub(["index", trace], env)).ms;
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
      const outer: { ms: number; cpuMs: number | undefined }[] = [];
      for (let i = 0; i < counts[kind]; i++) {
        const args = argv();
        inner.push(await inProcess(args, env));
        outer.push(await sub(args, env));
      }
      result[`${kind}_ms`] = median(inner);
      result[`${kind}_max_ms`] = Math.max(...inner);
      Object.assign(result, subMedians(`${kind}_subprocess`, outer));
    }
    // p2mtrace's own startup, and Deno's alone: an empty module run with the same flags.
    const empty = `${cache}/empty.ts`;
    await Deno.writeTextFile(empty, "export {};\n");
    const startup: { ms: number; cpuMs: number | undefined }[] = [];
    const bare: { ms: number; cpuMs: number | undefined }[] = [];
    for (let i = 0; i < 5; i++) {
      startup.push(await sub(["--version"], {}));
      bare.push(await sub([], {}, empty));
    }
    Object.assign(result, subMedians("startup", startup), subMedians("deno_startup", bare));
    console.log(JSON.stringify(result));
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}
