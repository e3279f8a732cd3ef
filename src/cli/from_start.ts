/**
 * The replay from step 0 that `snapshot`, `lookup` and `diff` fall back on when the trace has
 * no usable index (`cached_trace.ts`). In a module of its own, loaded only on that path: the
 * streaming reader and the forward pass are modules a question answered from the index does
 * not need, and a fresh process pays for every module it loads.
 *
 * @module
 */

import { TraceReader } from "../trace/read.ts";
import { ForwardPass } from "../replay/forward.ts";
import type { StepName } from "../replay/steps.ts";
import { resolveFromEnd } from "./step_arg.ts";

/**
 * A forward pass over the trace `file` (`-`: `stdin`) under `policy` (a `--policy` value, or
 * the header's choice), at step 0, with the step names `named` resolved (`-N` counted from the
 * trace's end, which reads it once more).
 *
 * @example
 * ```ts
 * import { passFromStart } from "./from_start.ts";
 * import assert from "node:assert/strict";
 * const trace = "traces/pcie-bar-above-e820.jsonl";
 * const { names, pass } = await passFromStart(trace, new ReadableStream(), [-1], undefined);
 * assert.deepEqual(names, [20]);
 * assert.equal((await pass.walkTo(names[0])).step, 20);
 * ```
 */
export async function passFromStart(
  file: string,
  stdin: ReadableStream<Uint8Array>,
  named: StepName[],
  policy: string | undefined,
): Promise<{ names: StepName[]; pass: ForwardPass }> {
  const { names, stdin: rest, held } = await resolveFromEnd(file, stdin, named);
  const reader = await TraceReader.open(file, rest, held ? { held } : {});
  const pass = await ForwardPass.open(reader, { policy });
  return { names, pass };
}
