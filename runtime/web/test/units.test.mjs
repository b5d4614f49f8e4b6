// The two load-time workarounds for LiteRT.js 2.5.3, each checked on its own, and the JPEG header
// reader on inputs the parity images do not cover.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jpegSize } from "../../edge_emotion_runtime/web/decode.js";
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

test("jpegSize reads the frame header past fill bytes and gives up on anything else", () => {
  // SOI, APP0 (length 4), fill byte, progressive SOF2: precision 8, height 3000, width 4000
  const app0 = [0xff, 0xe0, 0x00, 0x04, 0x00, 0x00];
  const sof2 = [0xff, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x0b, 0xb8, 0x0f, 0xa0, 0x03];
  const jpeg = Uint8Array.from([0xff, 0xd8, ...app0, ...sof2, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  assert.deepEqual(jpegSize(jpeg), [4000, 3000]);
  assert.equal(jpegSize(jpeg.subarray(0, 12)), null, "cut before the size");
  assert.equal(jpegSize(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0])), null, "PNG");
  const dht = Uint8Array.from([0xff, 0xd8, 0xff, 0xc4, 0x00, 0x02, ...sof2.slice(1), 0, 0, 0, 0]);
  assert.deepEqual(jpegSize(dht), [4000, 3000], "DHT (C4) is not a frame header");
  const noHeight = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0x0f, 0xa0, 3, 0, 0, 0]);
  assert.equal(jpegSize(noHeight), null, "height 0 (DNL): not drafted");
});
