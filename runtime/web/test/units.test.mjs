// The two load-time workarounds for LiteRT.js 2.5.3, each checked on its own.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fixedBatch, readMetadata } from "../../edge_emotion_runtime/web/metadata.js";
import { here, modelPaths, nodeLiteRt } from "./helpers.mjs";

test("fixedBatch turns the exported [-1, 48, 48, 1] signature into [1, 48, 48, 1] and nothing else", async () => {
  const litert = await nodeLiteRt();
  const bytes = new Uint8Array(readFileSync(modelPaths().model));
  const fixed = fixedBatch(bytes);
  const before = await litert.loadAndCompile(bytes, { accelerator: "wasm" });
  const after = await litert.loadAndCompile(fixed, { accelerator: "wasm" });
  assert.deepEqual(Array.from(before.getInputDetails()[0].shape), [-1, 48, 48, 1]);
  assert.deepEqual(Array.from(after.getInputDetails()[0].shape), [1, 48, 48, 1]);
  let changed = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== fixed[i]) changed++;
  // each -1 -> 1 rewrites one int32 of a shape_signature (4 bytes); nothing else moves
  assert.ok(changed > 0 && changed % 4 === 0 && changed <= 4 * 64, `${changed} bytes changed`);
  assert.deepEqual(await readMetadata(fixed), await readMetadata(bytes)); // metadata untouched
});

test("the vendored wrapper accepts int8 tensors (the one patch) and an unpatched one would not", async () => {
  const litert = await nodeLiteRt();
  const t = new litert.Tensor(new Int8Array(4), [1, 4]);
  assert.equal(t.type.dtype, "int8");
  t.delete();
  const original = readFileSync(join(here, "../node_modules/@litertjs/core/dist/index.js"), "utf8");
  assert.ok(!original.includes('dtype: "int8"'), "2.5.3 itself has no int8 entry");
  const { patchCore } = await import("../vendor.mjs");
  assert.match(patchCore(original), /dtype: "int8",\n\s+typedArrayConstructor: Int8Array/);
  assert.throws(() => patchCore("no anchors here"), /anchor/);
});
