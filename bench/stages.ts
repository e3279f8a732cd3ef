/**
 * Bench entries that split `replay --quiet` into its stages, so the table shows where its time
 * goes: `read` streams the trace through `TraceReader` (read, split, parse, validate: every
 * event a typed record, no model), `model` also applies every event to the P2M model under
 * the default policy with no detector. `replay --quiet` adds the detectors and the summary.
 * Prints the number of events.
 *
 * Usage: `deno run --allow-read bench/stages.ts TRACE read|model`
 *
 * @module
 */

import { TraceReader } from "../src/trace/read.ts";
import { choosePolicy, Replayer } from "../src/replay/replayer.ts";

if (import.meta.main) {
  const [file, stage] = Deno.args;
  if (stage !== "read" && stage !== "model") {
    throw new Error("usage: bench/stages.ts TRACE read|model");
  }
  const reader = await TraceReader.open(file);
  const header = await reader.header();
  const replayer = stage === "model"
    ? Replayer.forHeader(header, choosePolicy(header, undefined).policy, [])
    : undefined;
  let count = 0;
  for await (const batch of reader.batches()) {
    count += batch.length;
    if (replayer) { for (const e of batch) replayer.apply(e); }
  }
  console.log(count);
}
