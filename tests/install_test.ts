/**
 * One install line: `sh tools/install.sh DIR` in a fresh clone puts a working `p2mtrace` on
 * PATH, and the launcher gives each command line the permissions docs/install.md states.
 * Runtime: a local `git clone` and five Deno start-ups, 5-10 s.
 */
import assert from "node:assert/strict";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function sh(cmd: string[], cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

Deno.test("sh tools/install.sh in a fresh clone puts a working p2mtrace on PATH", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "p2mtrace-install-" });
  try {
    const clone = `${tmp}/clone`;
    const cloned = await sh(["git", "clone", "-q", REPO, clone], tmp, {});
    assert.equal(cloned.code, 0, cloned.err);
    // Test what is being changed, not the last commit: the working files over the clone.
    for (const f of ["tools/install.sh", "bin/p2mtrace", "cli.ts"]) {
      await Deno.mkdir(`${clone}/${f}/..`.replace(/\/[^/]+\/\.\.$/, ""), { recursive: true });
      await Deno.copyFile(`${REPO}/${f}`, `${clone}/${f}`);
      await Deno.chmod(`${clone}/${f}`, (await Deno.stat(`${REPO}/${f}`)).mode! & 0o777);
    }
    const bin = `${tmp}/bin`;
    await Deno.mkdir(`${tmp}/deno-bin`);
    await Deno.symlink(Deno.execPath(), `${tmp}/deno-bin/deno`);
    const env = { PATH: `${bin}:${tmp}/deno-bin:/usr/bin:/bin`, HOME: tmp, NO_COLOR: "1" };
    const inst = await sh(["sh", "tools/install.sh", bin], clone, env);
    assert.equal(inst.code, 0, inst.err);
    assert.match(inst.err, /^installed .*\/bin\/p2mtrace/);

    const work = `${tmp}/elsewhere`;
    await Deno.mkdir(work);
    await Deno.copyFile(`${REPO}/traces/pcie-bar-above-e820.jsonl`, `${work}/t.jsonl`);
    const version = await sh(["p2mtrace", "version"], work, env);
    assert.equal(version.code, 0, version.err);
    assert.match(version.out, /^p2mtrace \d+\.\d+\.\d+\n$/);
    const check = await sh(["p2mtrace", "check", "t.jsonl", "--policy", "linux-3.12"], work, env);
    assert.equal(check.code, 1, check.err);
    assert.match(check.out, /lookup-zero \(error\) at step 16/);
    // -o gets write access to the output's directory only.
    await Deno.mkdir(`${work}/out`);
    const root = `${REPO}/tests/fixtures/sysfs/dom0-3.16-bar-above-ram`;
    const rec = await sh(["p2mtrace", "record", "--root", root, "-o", "out/r.jsonl"], work, env);
    assert.equal(rec.code, 0, rec.err);
    assert.match(await Deno.readTextFile(`${work}/out/r.jsonl`), /"kind":"e820"/);
    // A live record gets --allow-all: Deno's refusal of /proc is not what stops it here.
    const live = await sh(["p2mtrace", "record"], work, env);
    assert.doesNotMatch(live.err, /refused by Deno/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
