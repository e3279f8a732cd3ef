/**
 * The worker side of `batch.ts`: receives a command line, runs the CLI's `main` on it with
 * in-memory I/O (a command that throws is reported as `main` reports it) and posts back
 * `{ code, out, err }`.
 *
 * @module
 */

import { main } from "./main.ts";
import { memoryIo } from "./io.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (m: MessageEvent<string[]>) => {
  const io = memoryIo();
  const code = await main(m.data, io);
  scope.postMessage({ code, out: io.out(), err: io.err() });
};
