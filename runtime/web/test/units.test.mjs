// The two load-time workarounds for LiteRT.js 2.5.3, each checked on its own, and the JPEG header
// reader on inputs the parity images do not cover.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jpegSize, opaquePng } from "../../edge_emotion_runtime/web/decode.js";
import { dropOpaqueAlpha, makeImage, reduce } from "../../edge_emotion_runtime/web/image.js";
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

// A PNG's first bytes: signature, IHDR (colour type at byte 25), optional chunks, then IDAT.
function pngHead(colourType, chunks = []) {
  const chunk = (type, length) => {
    const c = new Uint8Array(12 + length);
    new DataView(c.buffer).setUint32(0, length);
    c.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    return c;
  };
  const ihdr = chunk("IHDR", 13);
  ihdr[8 + 9] = colourType;
  const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, ...chunks.map(([t, n]) => chunk(t, n)), chunk("IDAT", 4)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

test("opaquePng takes grey, RGB and palette PNGs to ImageDecoder, not alpha or tRNS ones", () => {
  for (const t of [0, 2, 3]) assert.equal(opaquePng(pngHead(t, [["gAMA", 4], ["PLTE", 48]])), true, `colour type ${t}`);
  for (const t of [4, 6]) assert.equal(opaquePng(pngHead(t)), false, `colour type ${t}`);
  assert.equal(opaquePng(pngHead(3, [["PLTE", 48], ["tRNS", 16]])), false, "palette with tRNS");
  assert.equal(opaquePng(pngHead(2, [["tRNS", 6]])), false, "RGB with tRNS");
  assert.equal(opaquePng(pngHead(2).subarray(0, 40)), false, "no IDAT in the bytes given");
  assert.equal(opaquePng(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])), false, "a JPEG");
});

test("dropOpaqueAlpha (four pixels a step) and the RGB reduce fast paths keep every byte of the plain loops", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  for (const [w, h] of [[1, 1], [3, 2], [5, 7], [64, 33], [129, 130]]) {
    const rgba = makeImage(w, h, 4);
    for (let i = 0; i < rgba.data.length; i++) rgba.data[i] = i % 4 === 3 ? 255 : rand();
    const rgb = dropOpaqueAlpha(rgba);
    assert.equal(rgb.channels, 3);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) assert.equal(rgb.data[3 * i + c], rgba.data[4 * i + c]);
    rgba.data[4 * (w * h - 1) + 3] = 254;
    assert.equal(dropOpaqueAlpha(rgba), rgba, "one translucent pixel: unchanged");
    // reduce(2) of RGB (the fast path) against reduce(2) of the same pixels as RGBA (the general loop)
    const opaque = makeImage(w, h, 4, rgba.data.slice());
    opaque.data[4 * (w * h - 1) + 3] = 255;
    const fast = reduce(rgb, 2);
    const general = reduce(opaque, 2);
    for (let i = 0; i < fast.width * fast.height; i++) for (let c = 0; c < 3; c++) assert.equal(fast.data[3 * i + c], general.data[4 * i + c]);
  }
});
