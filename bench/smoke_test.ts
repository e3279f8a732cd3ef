/**
 * The benchmark harness works: `bench/main.ts --smoke` (10k events, one run) exits 0 and prints
 * a table with every entry, each either measured or saying why not. Timings are never checked:
 * they belong to `deno task bench` on a quiet machine, not to CI.
 *
 * @module
 */

import assert from "node:assert/strict";
import { COLUMNS } from "./main.ts";

const NAMES = [
  "floor: read+split+JSON.parse",
  "stage: read+validate",
  "stage: +model, no detector",
  "replay --quiet",
  "check",
  "replay --quiet --threads 1",
  "replay --quiet --threads 2",
  "check --threads 1",
  "bisect --detector lookup-zero",
  "random access: 100 steps",
  "floor: read+split log",
  "import dmesg",
  "jq -c select(kind==lookup)",
  "minimize --detector lookup-zero",
  "minimize, keeping the meaning",
  "many: one check process per trace",
  "many: check DIR --jobs 1",
];

Deno.test("bench --smoke prints a row for every entry, measured or explained", async () => {
  const out = await Deno.makeTempDir({ prefix: "p2mtrace-bench-smoke-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        new URL("./main.ts", import.meta.url).pathname,
        "--smoke",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    assert.match(text, /^p2mtrace bench: Deno \S+, \d+ CPUs; median of 1 run\(s\)/);
    assert.match(text, /^### 10000 events$/m);
    const header = text.split("\n").find((l) => l.startsWith("| name"));
    assert.deepEqual(header?.split("|").slice(1, -1).map((c) => c.trim()), [...COLUMNS]);
    for (const name of NAMES) {
      const row = text.split("\n").find((l) => l.startsWith(`| ${name} `));
      assert.ok(row, `a row for ${name}`);
      const cells = row.split("|").slice(1, -1).map((c) => c.trim());
      assert.equal(cells.length, COLUMNS.length, row);
      assert.doesNotMatch(cells[7], /^failed/, row);
      if (!/^(not available yet|skipped)/.test(cells[7])) {
        assert.match(cells[1], /^\d+$/, row);
        assert.match(cells[2], /^\d+\.\d{3}$/, row);
        assert.match(cells[5], /^\d+$/, row);
      }
    }
    assert.match(text, /^\| linux-3\.12 \| identity \| 134217728 \| \d+ \| \d+ \|$/m);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
