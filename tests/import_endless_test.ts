/**
 * `import dmesg` on input that never ends and is no boot log (`/dev/zero`, random bytes, `yes`):
 * refused (65, "not-a-log") once `MAX_BYTES_BEFORE_KERNEL_LINE` are read without one line that
 * looks like a kernel's, instead of reading forever; and the rule never refuses a real log, each
 * of which shows such a line in its first kilobytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DmesgImportError } from "../src/import/dmesg/errors.ts";
import { DmesgImporter, MAX_BYTES_BEFORE_KERNEL_LINE } from "../src/import/dmesg/importer.ts";
import { ROOT, sh } from "./support/subprocess.ts";

const NOT_LOGS = ["binary-garbage.log", "empty.log", "garbled.log", "no-kernel-lines.log"];

Deno.test("every fixture log shows a line of a kernel in its first 4 KiB", async () => {
  const dirs = ["tests/fixtures/real-logs", "tests/fixtures/dmesg"];
  let logs = 0;
  for (const dir of dirs) {
    for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
      if (!e.name.endsWith(".log") || NOT_LOGS.includes(e.name)) continue;
      const imp = new DmesgImporter(e.name, { maxBytesBeforeKernelLine: 4096 });
      const text = await Deno.readTextFile(`${ROOT}${dir}/${e.name}`);
      for (const line of text.split("\n")) {
        imp.push(line);
        imp.read(new TextEncoder().encode(line).length + 1);
      }
      logs++;
    }
  }
  assert.ok(logs > 50, `${logs} logs`);
  // The rule itself: 4 KiB of lines that are no kernel's is refused, naming the line reached.
  const imp = new DmesgImporter("t.log", { maxBytesBeforeKernelLine: 4096 });
  assert.throws(
    () => {
      for (let i = 0; i < 1000; i++) {
        imp.push("x".repeat(99));
        imp.read(100);
      }
    },
    (e) =>
      e instanceof DmesgImportError && e.problem === "not-a-log" &&
      e.message.startsWith("t.log:42: 4096 bytes read without one line of a kernel log"),
  );
});

Deno.test("/dev/zero, random bytes and yes(1) end in 65 at the bound, without reading on", async () => {
  assert.equal(MAX_BYTES_BEFORE_KERNEL_LINE, 16 * 1024 * 1024);
  const cases = [
    ['"$DENO" run --allow-read "$CLI" import dmesg /dev/zero', "/dev/zero:1"],
    // The writer gets SIGPIPE (141) when p2mtrace stops reading.
    ['yes | "$DENO" run --allow-read "$CLI" import dmesg -', "-:\\d+"],
    ['head -c 64000000 /dev/urandom | "$DENO" run --allow-read "$CLI" import dmesg -', "-:\\d+"],
  ];
  for (const [line, where] of cases) {
    const r = await sh(`timeout 300 bash -c '${line}; echo "\${PIPESTATUS[*]}" >&2'`);
    const [message, status] = r.err.trimEnd().split("\n").slice(-2);
    assert.match(
      message,
      new RegExp(
        `^p2mtrace: ${where}: 16777216 bytes read without one line of a kernel log \\(a printk ` +
          "timestamp, a message of the boot, a \\(XEN\\) line\\); expected a Linux boot log",
      ),
      line,
    );
    assert.equal(status, line.includes("|") ? "141 65" : "65", line);
  }
});
