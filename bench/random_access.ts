/**
 * Bench entry (e): random access to 100 steps of a trace through the library API, after one
 * indexing pass. Prints one JSON object: `{"available": false, "why"}` when the API is not
 * there, else `{"available": true, "events", "index_s", "index_mb", "checkpoints",
 * "median_ms", "max_ms"}`. `index_mb` is the JavaScript heap the index holds (after a full GC),
 * so run it with `--v8-flags=--expose-gc`.
 *
 * Usage: `deno run --allow-read --v8-flags=--expose-gc bench/random_access.ts TRACE [STEPS]`
 *
 * @module
 */

import { Prng } from "../src/gen/prng.ts";
import { TraceReader } from "../src/trace/read.ts";

/** The part of the random-access API this entry uses (`src/replay/timeline.ts`). */
interface TimelineApi {
  build(
    reader: TraceReader,
    opts?: { findings?: boolean },
  ): Promise<{ events: number; checkpoints: number; at(step: number): unknown }>;
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
}

if (import.meta.main) {
  const [file, stepsArg] = Deno.args;
  let Timeline: TimelineApi | undefined;
  try {
    const mod = await import("../src/replay/timeline.ts");
    Timeline = (mod as { Timeline?: TimelineApi }).Timeline;
  } catch (e) {
    console.log(
      JSON.stringify({ available: false, why: `import failed: ${String(e).split("\n")[0]}` }),
    );
    Deno.exit(0);
  }
  if (Timeline === undefined || typeof Timeline.build !== "function") {
    console.log(JSON.stringify({ available: false, why: "no Timeline.build export" }));
    Deno.exit(0);
  }
  const before = heapMb();
  const t0 = performance.now();
  const t = await Timeline.build(await TraceReader.open(file), { findings: false });
  const indexS = (performance.now() - t0) / 1000;
  const indexMb = heapMb() - before;
  const rng = new Prng(1);
  const times: number[] = [];
  for (let i = 0; i < Number(stepsArg ?? 100); i++) {
    const step = 1 + rng.int(t.events);
    const s = performance.now();
    t.at(step);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    available: true,
    events: t.events,
    index_s: indexS,
    index_mb: indexMb,
    checkpoints: t.checkpoints,
    median_ms: times[Math.floor(times.length / 2)],
    max_ms: times[times.length - 1],
  }));
}
