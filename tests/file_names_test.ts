/**
 * A file name is text from a stranger too (a bug report's attachment, a CI farm's artifact): one
 * holding a newline must not print a line of its own in any command's text output (a fake
 * finding, a fake verdict), and a paste-ready command line names the same file in ANSI-C quoting
 * (`$'...'`), one line. README, Limits: "Text output escapes control characters ... from traces
 * and file names".
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";
import { ROOT, sh, withDir } from "./support/subprocess.ts";

const FORGED = "FAKE verdict: clean";

/** Every command that names its input in text, with `T` for the trace (or log). */
const COMMANDS: readonly string[][] = [
  ["replay", "T", "--quiet"],
  ["replay", "T", "--at", "99"],
  ["check", "T"],
  ["check", "T", "--policy", "linux-3.16"],
  ["compare", "T"],
  ["snapshot", "T", "--no-cache"],
  ["lookup", "T", "0x3800000", "--no-cache"],
  ["diff", "T", "0", "end", "--no-cache"],
  ["bisect", "T", "--detector", "lookup-zero"],
  ["validate", "T"],
  ["minimize", "T"],
  ["minimize", "T", "--detector", "balloon-identity"],
  ["summarize", "T"],
  ["summarize", "T", "--format", "markdown"],
  ["map", "T", "--format", "text"],
  ["map", "T", "--format", "svg"],
];

Deno.test("a newline in a file name never prints a line of its own", async () => {
  await withDir(async (dir) => {
    const trace = `${dir}/evil\n${FORGED}.jsonl`;
    await Deno.copyFile(`${ROOT}traces/pcie-bar-above-e820.jsonl`, trace);
    const log = `${dir}/evil\n${FORGED}.log`;
    await Deno.writeTextFile(log, "hello\n[    0.000000] xen p2m\n");
    const runs = [
      ...COMMANDS.map((c) => c.map((a) => a === "T" ? trace : a)),
      ["import", "dmesg", log],
      ["import", "dmesg", `${dir}/empty\n${FORGED}.log`],
    ];
    await Deno.writeTextFile(`${dir}/empty\n${FORGED}.log`, "");
    let named = 0;
    for (const argv of runs) {
      const r = await cli(argv);
      const text = r.out + r.err;
      if (text.includes("evil\\n") || text.includes("empty\\n")) named++;
      for (const line of text.split("\n")) {
        assert.ok(!line.startsWith(FORGED), `${argv.join(" ")}: a forged line:\n${text}`);
      }
    }
    // Every run but replay --at 99 (its error names the step) shows the name, escaped.
    assert.equal(named, runs.length - 1);
  });
});

Deno.test("a paste-ready command names such a file in $'...', which bash reads as that name", async () => {
  await withDir(async (dir) => {
    const trace = `${dir}/evil\n${FORGED} 'q'.jsonl`;
    await Deno.copyFile(`${ROOT}traces/pcie-bar-above-e820.jsonl`, trace);
    const r = await cli(["bisect", trace, "--detector", "lookup-zero"]);
    const command = r.out.split("\n").find((l) => l.startsWith("command:"));
    assert.ok(command, r.out);
    const quoted = command.replace(/^command: +p2mtrace bisect /, "").replace(/ --detector.*$/, "");
    assert.match(quoted, /^\$'.*'$/);
    // bash turns the quoted word back into the file's name.
    const back = await sh(`printf '%s' ${quoted}`);
    assert.equal(back.out, trace);
  });
});
