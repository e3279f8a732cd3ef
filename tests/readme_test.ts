/**
 * The README documents what the code does: every command, and every exit code.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../src/cli/commands.ts";
import { EXIT } from "../src/errors.ts";
import "./support/repo_root.ts";

const readme = await Deno.readTextFile("README.md");

Deno.test("README's command table lists every command", () => {
  const table = readme.slice(readme.indexOf("## Commands"), readme.indexOf("### replay"));
  for (const name of Object.keys(COMMANDS)) {
    assert.match(table, new RegExp(`^\\| \`${name}[ \`]`, "m"), `README lacks command ${name}`);
  }
});

Deno.test("README's exit-code table lists every exit code, and nothing else", () => {
  const table = readme.slice(readme.indexOf("## Exit codes"), readme.indexOf("## How it works"));
  const documented = [...table.matchAll(/^\| (\d+) +\|/gm)].map((m) => Number(m[1])).sort((a, b) =>
    a - b
  );
  const defined = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
  assert.deepEqual(documented, defined);
});

Deno.test("README opens with the two set-up commands", () => {
  const first = readme.split("\n").slice(0, 6).join("\n");
  assert.match(first, /^npx -y deno@2\.9\.6 task demo /m);
  assert.match(first, /^npx -y deno@2\.9\.6 task test /m);
});
