/**
 * Inputs that can be read only once (standard input, a FIFO, `<(...)`, a device) given to a
 * command that reads its trace twice: `--at -N` (replay, snapshot, lookup, diff, map), `map
 * --compare` and `minimize`. They are held in memory as they are read (src/trace/lines.ts,
 * `holdIfReadOnce`), so the second pass reads the same bytes (a FIFO opened again is empty or
 * blocks); bad data fails the first pass as early as one read would (the source is not read to
 * its end first); and what is held is bounded (README, Limits: held input).
 *
 * @module
 */

import assert from "node:assert/strict";
import { MAX_HELD_BYTES } from "../src/trace/lines.ts";
import { ROOT, sh } from "./support/subprocess.ts";

const TRACE = `${ROOT}traces/pcie-bar-above-e820.jsonl`;

// map's text fits its title line to --width: wide enough that no trace name (a checkout's path,
// /dev/fd/N, -) is cut, so the names alone differ.
const TWO_PASS: readonly string[] = [
  "replay T --at -1 --quiet",
  "snapshot T --at -1 --no-cache",
  "lookup T 0x3800000 --at -2 --history --no-cache",
  "diff T -7 -1 --no-cache",
  "map T --at -5 --format text --width 1000",
  "map T --compare linux-3.12,linux-3.16 --format text --width 1000",
  "minimize T",
];

/** The trace's name (a path, `/dev/fd/N`, `-`) as `T`: the one difference between the runs. */
function unnamed(s: string): string {
  return s.replaceAll(TRACE, "T").replaceAll(/\/dev\/fd\/\d+/g, "T").replaceAll(
    /(?<= )-(?=[: ])/g,
    "T",
  )
    .replaceAll('"from":"-"', '"from":"T"').replaceAll("(-)", "(T)");
}

Deno.test("a FIFO and stdin read twice give what the file gives", async () => {
  for (const command of TWO_PASS) {
    const run = (t: string) => sh(`"$DENO" run --allow-read "$CLI" ${command.replace("T", t)}`);
    const file = await run(TRACE);
    assert.ok([0, 1].includes(file.code) && file.out !== "", `${command}: ${file.err}`);
    for (const [how, t] of [["FIFO", `<(cat ${TRACE})`], ["stdin", `- < ${TRACE}`]]) {
      const r = await run(t);
      assert.equal(r.code, file.code, `${command} from ${how}: ${r.err}`);
      // minimize's description and header name the trace and carry its sha256: that of what
      // was read, not of an empty second read.
      assert.equal(unnamed(r.out), unnamed(file.out), `${command} from ${how}`);
      assert.equal(unnamed(r.err), unnamed(file.err), `${command} from ${how}`);
    }
  }
});

Deno.test("a binary pipe fails the first pass at once, naming line 1, without reading it all", async () => {
  for (
    const command of ["minimize -", "replay - --at -1", "map - --compare linux-3.12,linux-3.16"]
  ) {
    // head gets SIGPIPE (141) when p2mtrace stops reading; 0 when all 64 MB were consumed.
    const r = await sh(
      `head -c 64000000 /dev/urandom | "$DENO" run --allow-read "$CLI" ${command}; ` +
        'echo "${PIPESTATUS[*]}" >&2',
    );
    const [line, status] = r.err.trimEnd().split("\n").slice(-2);
    assert.equal(line, "p2mtrace: -:1: expected UTF-8 text, got bytes that are not valid UTF-8");
    assert.equal(status, "141 65", `${command}: the pipe was read to its end`);
  }
});

Deno.test("what is held is bounded: a longer pipe is 65 naming the line, 'save it to a file'", async () => {
  assert.equal(MAX_HELD_BYTES, 256 * 1024 * 1024);
  // A valid start, then lines of blanks (skipped by the reader) past the bound: 64 Ki lines of
  // 4,000 spaces make 256 MiB, so the bound is passed on line 13 + 67,092.
  const r = await sh(
    `(head -n 13 ${TRACE}; yes "$(printf '%4000s' '')") | ` +
      `"$DENO" run --allow-read "$CLI" snapshot - --at -1`,
  );
  assert.equal(r.code, 65, r.err);
  assert.equal(
    r.err,
    `p2mtrace: -:67105: expected at most ${MAX_HELD_BYTES} bytes from a pipe or device (this ` +
      "command reads its input twice, so it holds it in memory: save it to a file), got a " +
      "longer input (refused at the limit)\n",
  );
});
