import assert from "node:assert/strict";
import fc from "fast-check";
import { shellQuote, shellWords } from "./shell.ts";
import { wrapCommand } from "./wrap.ts";
import { escapeText } from "./text.ts";

// Words as a stranger's file names and arguments may be: blanks, quotes, backslashes, `$`,
// newlines, ESC, bidi controls, any code point but NUL (which no argument can hold).
const specials = fc.constantFrom(
  " ",
  "'",
  '"',
  "\\",
  "$",
  "`",
  "\n",
  "\r",
  "\t",
  "\x1b",
  "\u202e",
  "~",
  "*",
);
const word = fc.string({
  unit: fc.oneof(specials, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
})
  .filter((w) => !w.includes("\0"));

/** What bash makes of each command line: the words of each, as `printf '%s\0'` prints them. */
async function bashWords(lines: string[]): Promise<string[][]> {
  const script = lines.map((l) => `printf '%s\\0' ${l}\nprintf '\\001'\n`).join("");
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-s"],
    env: { LC_ALL: "C.UTF-8" },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const { stdout, code } = await out.output();
  assert.equal(code, 0);
  const text = new TextDecoder().decode(stdout);
  return text.split("\x01").slice(0, -1).map((c) => c.split("\0").slice(0, -1));
}

Deno.test("shellQuote: bash reads each word back, on one line with nothing raw in it", async () => {
  const cases = fc.sample(fc.array(word, { minLength: 1, maxLength: 4 }), {
    seed: 41,
    numRuns: 300,
  });
  const lines = cases.map((ws) => ws.map(shellQuote).join(" "));
  for (const line of lines) assert.equal(escapeText(line), line, "a raw control character");
  assert.deepEqual(await bashWords(lines), cases);
});

Deno.test("shellWords reads what shellQuote writes, as bash does (fast-check)", () => {
  fc.assert(
    fc.property(fc.array(word, { maxLength: 5 }), (ws) => {
      assert.deepEqual(shellWords(ws.map(shellQuote).join(" ")), ws);
    }),
    { seed: 42, numRuns: 2000 },
  );
  assert.equal(shellWords("bisect start 'a"), undefined);
  assert.equal(shellWords("a $'b"), undefined);
  assert.deepEqual(shellWords("a\\ b $'\\q\\u1' c"), ["a b", "\\q\u0001", "c"]);
});

Deno.test("wrapCommand: lines within the width that bash reads back as the same words", async () => {
  const cases = fc.sample(
    fc.record({
      words: fc.array(word, { minLength: 1, maxLength: 5 }),
      width: fc.integer({ min: 16, max: 60 }),
    }),
    { seed: 43, numRuns: 300 },
  );
  const commands = cases.map(({ words, width }) => wrapCommand(["printf", ...words], width, "  "));
  for (const [i, lines] of commands.entries()) {
    for (const l of lines) {
      assert.ok(l.length <= cases[i].width, `${JSON.stringify(l)} > ${cases[i].width}`);
    }
  }
  const read = await bashWords(commands.map((lines) => lines.join("\n").replace(/^printf /, "")));
  assert.deepEqual(read, cases.map((c) => c.words));
});
