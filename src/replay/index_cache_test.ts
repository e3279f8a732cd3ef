// The model fingerprint's memo (memoFingerprint) may only ever save work: it answers for the
// source it was made from, is not used once any file's identity changed (a write changes its
// times; a copy, its inode), and is not written while a file was changed so recently that it
// could change again within the same timestamp.
import assert from "node:assert/strict";
import { memoFingerprint, sourceFingerprint } from "./index_cache.ts";

/** A source tree of one file; `settled`: waited out the two racy seconds after writing it. */
async function source(text: string, settled: boolean) {
  const root = new URL(`file://${await Deno.makeTempDir()}/`);
  await Deno.mkdir(new URL("model/", root));
  const file = new URL("model/a.ts", root);
  await Deno.writeTextFile(file, text);
  if (settled) await new Promise((ok) => setTimeout(ok, 2100));
  return { root, file };
}

function memoFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".p2mfp"));
}

Deno.test("memoFingerprint: a memo answers for unchanged files, never for changed ones", async () => {
  const { root, file } = await source("export const x = 1;\n", true);
  const memo = { dir: await Deno.makeTempDir(), write: true };
  const first = await memoFingerprint(root, ["model"], memo);
  assert.equal(first, await sourceFingerprint(root, ["model"]));
  const [name] = memoFiles(memo.dir);
  assert.ok(name, "no memo written");
  // The memo is what answers while the identities match: plant another fingerprint in it.
  const path = `${memo.dir}/${name}`;
  const planted = { ...JSON.parse(await Deno.readTextFile(path)), fingerprint: "0123456789abcdef" };
  await Deno.writeTextFile(path, JSON.stringify(planted));
  assert.equal(await memoFingerprint(root, ["model"], memo), "0123456789abcdef");
  // Same path, inode, size and modification time: the status change time still differs (any
  // write sets it), so the bytes are hashed again.
  const { mtime, atime } = Deno.statSync(file);
  await Deno.writeTextFile(file, "export const x = 2;\n");
  await Deno.utime(file, atime!, mtime!);
  const changed = await memoFingerprint(root, ["model"], memo);
  assert.equal(changed, await sourceFingerprint(root, ["model"]));
  assert.notEqual(changed, first);
});

Deno.test("memoFingerprint: no memo while a file was just written, or without write access", async () => {
  const { root } = await source("export const x = 1;\n", false);
  const memo = { dir: await Deno.makeTempDir(), write: true };
  assert.equal(
    await memoFingerprint(root, ["model"], memo),
    await sourceFingerprint(root, ["model"]),
  );
  assert.deepEqual(memoFiles(memo.dir), []);
  const settled = await source("export const y = 1;\n", true);
  await memoFingerprint(settled.root, ["model"], { ...memo, write: false });
  assert.deepEqual(memoFiles(memo.dir), []);
  // Written just now with an old modification time put back (utime, a tool keeping times):
  // its status change time is recent, so it may still change within the same timestamp.
  const kept = await source("export const z = 1;\n", false);
  const old = new Date(Date.now() - 60_000);
  await Deno.utime(kept.file, old, old);
  assert.equal(
    await memoFingerprint(kept.root, ["model"], memo),
    await sourceFingerprint(kept.root, ["model"]),
  );
  assert.deepEqual(memoFiles(memo.dir), []);
});

Deno.test("memoFingerprint with a file list: a memo never answers once a listed file, its directory or the list changed", async () => {
  const { root, file } = await source("export const x = 1;\n", false);
  await Deno.mkdir(new URL("model/sub/", root));
  await Deno.writeTextFile(new URL("model/sub/b.ts", root), "export const y = 1;\n");
  await new Promise((ok) => setTimeout(ok, 2100));
  const files = ["model/a.ts", "model/sub/b.ts"];
  const memo = { dir: await Deno.makeTempDir(), write: true };
  const first = await memoFingerprint(root, ["model"], memo, files);
  assert.equal(first, await sourceFingerprint(root, ["model"]));
  const [name] = memoFiles(memo.dir);
  assert.ok(name, "no memo written");
  const path = `${memo.dir}/${name}`;
  const plant = async () => {
    const planted = {
      ...JSON.parse(await Deno.readTextFile(path)),
      fingerprint: "0123456789abcdef",
    };
    await Deno.writeTextFile(path, JSON.stringify(planted));
  };
  await plant();
  assert.equal(await memoFingerprint(root, ["model"], memo, files), "0123456789abcdef");
  // A file added in a listed file's directory (its directory's times change): hashed again.
  await Deno.writeTextFile(new URL("model/sub/c.ts", root), "export const z = 1;\n");
  const added = await memoFingerprint(root, ["model"], memo, files);
  assert.equal(added, await sourceFingerprint(root, ["model"]));
  assert.notEqual(added, first);
  // A listed file removed: hashed again (the memo is not even read).
  await Deno.remove(new URL("model/sub/c.ts", root));
  await Deno.remove(new URL("model/sub/b.ts", root));
  assert.equal(
    await memoFingerprint(root, ["model"], memo, files),
    await sourceFingerprint(root, ["model"]),
  );
  // A listed file rewritten with the same size and modification time: hashed again.
  await new Promise((ok) => setTimeout(ok, 2100));
  const one = ["model/a.ts"];
  const settled = await memoFingerprint(root, ["model"], memo, one);
  await plant();
  assert.equal(await memoFingerprint(root, ["model"], memo, one), "0123456789abcdef");
  const { mtime, atime } = Deno.statSync(file);
  await Deno.writeTextFile(file, "export const x = 2;\n");
  await Deno.utime(file, atime!, mtime!);
  const changed = await memoFingerprint(root, ["model"], memo, one);
  assert.equal(changed, await sourceFingerprint(root, ["model"]));
  assert.notEqual(changed, settled);
});
