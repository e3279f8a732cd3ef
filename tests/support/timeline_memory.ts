/**
 * Measures one timeline configuration on a long generated trace (the numbers in
 * docs/bisect.md). Run one process per configuration, so nothing else is on the heap:
 *
 * ```sh
 * deno run --v8-flags=--expose-gc --allow-read --allow-write tests/support/timeline_memory.ts EVENTS [INTERVAL [MAX_CHECKPOINTS [file|text]]]
 * ```
 *
 * `file` (default) writes the trace to a temporary file and opens it, so the timeline keeps
 * byte offsets; `text` reads it from memory, as over stdin or gzip, so it keeps event lines.
 *
 * Heap growth after a forced GC is what the built timeline holds (events + checkpoints).
 *
 * @module
 */

import { longTraceText } from "./bisect_trace_gen.ts";
import { TraceReader } from "../../src/trace/read.ts";
import { Timeline } from "../../src/replay/timeline.ts";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const [n, interval, maxCheckpoints, source] = [
  Number(Deno.args[0] ?? 20000),
  Number(Deno.args[1] ?? 64),
  Number(Deno.args[2] ?? 256),
  Deno.args[3] ?? "file",
];
let text: string | undefined = longTraceText(n);
const size = text.length;
const path = await Deno.makeTempFile({ suffix: ".jsonl" });
let reader: TraceReader;
if (source === "text") reader = TraceReader.fromText("t", text);
else {
  await Deno.writeTextFile(path, text);
  reader = await TraceReader.open(path);
}
text = undefined; // not counted: only what the timeline holds
gc();
const before = Deno.memoryUsage().heapUsed;
const t0 = performance.now();
const tl = await Timeline.build(reader, {
  policy: "linux-3.12",
  interval,
  maxCheckpoints,
  findings: false,
});
const build = performance.now() - t0;
gc();
const heap = Deno.memoryUsage().heapUsed - before;
let x = 12345;
const probes = 50;
const t1 = performance.now();
for (let i = 0; i < probes; i++) {
  x = (x * 1103515245 + 12345) % 2 ** 31;
  tl.stateAt(x % (tl.events + 1));
}
const access = (performance.now() - t1) / probes;
await Deno.remove(path);
console.log(
  `${tl.events} events (${
    (size / 1e6).toFixed(1)
  } MB of trace), ${tl.eventIndex}, interval ${interval} ` +
    `max ${maxCheckpoints}: final interval ${tl.interval}, ${tl.checkpoints} checkpoints, ` +
    `heap ${(heap / 1e6).toFixed(1)} MB, build ${build.toFixed(0)} ms, ` +
    `random access ${access.toFixed(2)} ms`,
);
