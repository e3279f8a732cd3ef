// src/model_source.ts holds the fingerprint of the model's source that keys the on-disk index
// (src/replay/index_cache.ts): a stale one would let a question from a published package (or
// one whose source cannot be read) use an index that other model code built. It must be what
// tools/model_source.ts computes from the source now.
import assert from "node:assert/strict";
import "./support/repo_root.ts";
import { modelSourceModule } from "../tools/model_source.ts";
import { MODEL_SOURCE_SHA256 } from "../src/model_source.ts";
import { MODEL_DIRS, modelFingerprint, sourceFingerprint } from "../src/replay/index_cache.ts";

const SRC = new URL("../src/", import.meta.url);

Deno.test("src/model_source.ts is the model source's fingerprint and file list, as generated", async () => {
  const want = await modelSourceModule(SRC);
  const have = await Deno.readTextFile(new URL("model_source.ts", SRC));
  assert.ok(
    have === want,
    "src/model_source.ts is stale: run deno run --allow-read --allow-write tools/model_source.ts",
  );
  assert.equal(MODEL_SOURCE_SHA256, await sourceFingerprint(SRC, MODEL_DIRS));
});

Deno.test("modelFingerprint of this checkout is the generated one", async () => {
  assert.equal(await modelFingerprint(), MODEL_SOURCE_SHA256);
});
