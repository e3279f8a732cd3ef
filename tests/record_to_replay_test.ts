/**
 * End to end from a real guest's data to a verified replay: a recorded sysfs tree whose debugfs
 * dump the model must reproduce, and a real 3.8 dom0 log (tests/fixtures/real-logs) whose printed
 * boot counts the model must reproduce.
 */
import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { cli } from "./cli_helpers.ts";

Deno.test("record --root, then replay: the recorded p2m dump agrees with the model, line by line", async () => {
  const rec = await cli(["record", "--root", "tests/fixtures/sysfs/dom0-3.16-bar-above-ram"]);
  assert.equal(rec.code, 0, rec.err);
  const r = await cli(["replay", "-"], rec.out);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^ {2}verify: ok {4}p2m dump \(\d+ lines, tree format\): replaying and recorded agree$/m,
  );
  assert.doesNotMatch(r.out, /verify: DIFF/);
  await assertGolden("record/dom0-3.16-bar-above-ram.replay.txt", r.out);
  // under the wrong kernel the same dump diverges, rr-style
  const wrong = await cli(["replay", "-", "--policy", "linux-3.12", "--quiet"], rec.out);
  assert.match(
    wrong.out,
    /divergence: p2m dump \(\d+ lines, tree format\), line \d+: replaying gives/,
  );
});

const KONRAD = decodeURIComponent(
  new URL("./fixtures/real-logs/01-konrad-2013-dom0-3.8-e820-release-identity.log", import.meta.url)
    .pathname,
);

Deno.test({
  name: "import dmesg of a real 3.8 dom0 log, then replay: the kernel's own counts are reproduced",
  async fn() {
    const imp = await cli(["import", "dmesg", KONRAD]);
    assert.equal(imp.code, 0, imp.err);
    const r = await cli(["replay", "-"], imp.out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^policy: {3}linux-3\.12:iomap=honoured \(header\)/m);
    for (
      const line of [
        "verify: ok    Set N page(s) to 1-1 mapping: 283999",
        "verify: ok    Released N pages: 283999",
        "verify: ok    Populating: pages added: 283999",
        "verify: ok    1-1 mapping on (6 ranges): replaying and recorded agree",
        "verify: ok    Freeing pfn range (6 ranges): replaying and recorded agree",
        "verify: ok    Populating pfn range (1 ranges): replaying and recorded agree",
      ]
    ) assert.ok(r.out.includes(line), line);
    assert.match(r.out, /^verified: 6 of 6 recorded observation\(s\) agree with the model$/m);
  },
});
