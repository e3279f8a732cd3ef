/**
 * Bench entry (e): random access to 100 steps of a trace through the library API, after one
 * indexing pass. Prints one JSON object: `{"available": false, "why"}` when the API is not
 * there, else `{"available": true, "events", "index_s", "index_mb", "heap_mb", "external_mb",
 * "checkpoints", "median_ms", "max_ms"}`. `index_mb` is the memory the index holds after a full
 * GC (so run it with `--v8-flags=--expose-gc`): `heap_mb` of JavaScript heap plus `external_mb`
 * outside it (typed arrays' buffers: the byte offsets of a file's events, encoded checkpoints).
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

/** JavaScript heap and memory outside it (typed arrays' buffers), after a full GC. */
function heldMb(): { heap: number; external: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20 };
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
  const before = heldMb();
  const t0 = performance.now();
  const t = await Timeline.build(await TraceReader.open(file), { findings: false });
  const indexS = (performance.now() - t0) / 1000;
  const after = heldMb();
  const heapMb = after.heap - before.heap;
  const externalMb = after.external - before.external;
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
    index_mb: heapMb + externalMb,
    heap_mb: heapMb,
    external_mb: externalMb,
    checkpoints: t.checkpoints,
    median_ms: times[Math.floor(times.length / 2)],
    max_ms: times[times.length - 1],
  }));
}
