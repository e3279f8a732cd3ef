/**
 * `git bisect run p2mtrace check --bisect-exit ...` over a real git repository: the rule of
 * `git bisect run` is 0 good, 1-127 bad except 125 skip, 128 and above stop. With
 * `--bisect-exit`, p2mtrace may answer only 0, 1, 125 or 128: a malformed trace skips, and a
 * typo on the command line (flag, value, command) stops the bisect instead of blaming a commit.
 * Runtime: about 15 p2mtrace runs through the launcher, 10-20 s.
 */
import assert from "node:assert/strict";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TRACE = Deno.readTextFileSync(`${REPO}/traces/pcie-bar-above-e820.jsonl`);
// Before the device with the BAR above the E820 map is added (line 17, seq 16), no lookup is 0.
const GOOD = TRACE.split("\n").slice(0, 16).join("\n") + "\n";
const BAD = TRACE;
const MALFORMED = GOOD + "{not json\n";

async function run(cmd: string[], cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** A repository whose commits c1..c6 hold t.jsonl: good, malformed, good, bad, bad, bad. */
async function kernelHistory(dir: string, env: Record<string, string>): Promise<string[]> {
  const git = (...args: string[]) => run(["git", ...args], dir, env);
  assert.equal((await git("init", "-q")).code, 0);
  const shas: string[] = [];
  for (const [i, text] of [GOOD, MALFORMED, GOOD, BAD, BAD, BAD].entries()) {
    await Deno.writeTextFile(`${dir}/t.jsonl`, text);
    await git("add", "t.jsonl");
    assert.equal((await git("commit", "-q", "--allow-empty", "-m", `c${i + 1}`)).code, 0);
    shas.push((await git("rev-parse", "HEAD")).out.trim());
  }
  return shas;
}

async function bisect(
  predicate: string[],
): Promise<{ code: number; out: string; shas: string[]; log: string }> {
  const tmp = await Deno.makeTempDir({ prefix: "p2mtrace-gitbisect-" });
  try {
    await Deno.mkdir(`${tmp}/bin`);
    await Deno.symlink(Deno.execPath(), `${tmp}/bin/deno`);
    const env = {
      PATH: `${tmp}/bin:/usr/bin:/bin`,
      HOME: tmp,
      NO_COLOR: "1",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.org",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.org",
    };
    const repo = `${tmp}/kernel`;
    await Deno.mkdir(repo);
    const shas = await kernelHistory(repo, env);
    const git = (...args: string[]) => run(["git", ...args], repo, env);
    assert.equal((await git("bisect", "start", shas[5], shas[0])).code, 0);
    const r = await git("bisect", "run", `${REPO}/bin/p2mtrace`, ...predicate);
    const log = (await git("bisect", "log")).out;
    return { ...r, shas, log };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("git bisect run with check --bisect-exit finds the first bad commit, skipping a malformed trace", async () => {
  const r = await bisect(["check", "t.jsonl", "--bisect-exit", "--detector", "lookup-zero"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`${r.shas[3]} is the first bad commit`));
  if (/# skip:/.test(r.log)) assert.match(r.log, new RegExp(`# skip: \\[${r.shas[1]}\\]`));
});

for (
  const [what, predicate] of [
    ["a misspelt flag", ["check", "t.jsonl", "--bisect-exit", "--detetor", "lookup-zero"]],
    ["a misspelt detector", ["check", "t.jsonl", "--detector", "lookup-zro", "--bisect-exit"]],
    ["a misspelt command", ["chek", "--bisect-exit", "t.jsonl"]],
    ["a missing operand", ["check", "--bisect-exit"]],
  ] as const
) {
  Deno.test(`git bisect run stops on ${what} under --bisect-exit instead of blaming a commit`, async () => {
    const r = await bisect([...predicate]);
    assert.notEqual(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /is the first bad commit/);
    assert.match(r.out, /git bisect run stops/);
    // Only the two endpoints given to `git bisect start`: no commit was marked by the run.
    assert.doesNotMatch(r.log, /^git bisect (bad|good|skip)/m, r.log);
  });
}
