/**
 * `check DIR` and `summarize DIR` over what a directory of strangers' traces may hold: a FIFO
 * or a link to `/dev/zero` named `*.jsonl` (never opened: a FIFO's open blocks until a writer
 * comes, a device never ends), and a run with `--allow-read=DIR` alone (reading the traces
 * needs no more; the workers that cannot load p2mtrace's modules give way to this thread).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT, sh, sub, withDir } from "./support/subprocess.ts";

const TRACE = `${ROOT}traces/pcie-bar-above-e820.jsonl`;

Deno.test("a FIFO or a device link under a directory is reported unreadable, never opened", async () => {
  await withDir(async (dir) => {
    await Deno.copyFile(TRACE, `${dir}/a.jsonl`);
    await Deno.symlink("/dev/zero", `${dir}/b.jsonl`);
    const fifo = await sh(`mkfifo '${dir}/c.jsonl'`);
    assert.equal(fifo.code, 0, fifo.err);
    for (const [command, jobs] of [["check", "1"], ["summarize", "2"]]) {
      // A FIFO that is opened waits for a writer forever: the bound turns that into a failure.
      const r = await sh(
        `timeout 60 "$DENO" run --allow-read "$CLI" ${command} '${dir}' --jobs ${jobs}`,
      );
      assert.notEqual(r.code, 124, `${command} hung on the FIFO`);
      const lines = r.out.trimEnd().split("\n");
      assert.equal(lines.length, 3, r.out + r.err);
      assert.match(lines[0], /^(found|bad) /);
      for (const [i, name] of [[1, "b"], [2, "c"]] as const) {
        assert.equal(
          lines[i],
          `unreadable ${dir}/${name}.jsonl  ${dir}/${name}.jsonl: cannot read: not a regular ` +
            "file (a FIFO, device or socket under a directory is not opened; name it as an " +
            "operand to read it)",
        );
      }
      assert.match(r.err, / 2 unreadable\n$/);
    }
  });
});

Deno.test("check DIR --jobs 2 with --allow-read=DIR alone: every trace checked, no crash", async () => {
  await withDir(async (dir) => {
    await Deno.copyFile(TRACE, `${dir}/a.jsonl`);
    await Deno.copyFile(TRACE, `${dir}/b.jsonl`);
    const r = await sub([`--allow-read=${dir}`], ["check", dir, "--jobs", "2"]);
    assert.equal(r.code, 1, r.err);
    assert.doesNotMatch(r.err, /internal error|Uncaught|worker/);
    assert.equal(r.err, "check: 2 trace(s): 2 found\n");
    assert.deepEqual(
      r.out.trimEnd().split("\n").map((l) => l.split(/ +/).slice(0, 2).join(" ")),
      [`found ${dir}/a.jsonl`, `found ${dir}/b.jsonl`],
    );
  });
});
