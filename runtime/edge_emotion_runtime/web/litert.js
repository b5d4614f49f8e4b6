// The two interpreters of the page on LiteRT.js (WASM, XNNPACK on the CPU).
//
// `vendor/litert/` is @litertjs/core 2.5.3 as `scripts/setup-web.sh` copies it from npm, with one
// tiny pinned patch (runtime/web/vendor.mjs): int8 in the wrapper's dtype table (the WASM side
// runs int8 models; the 2.5.3 wrapper only names float32, int32 and uint8). Dynamic batch
// dimensions are fixed when a model is loaded (metadata.fixedBatch).
import { fixedBatch } from "./metadata.js";

export async function loadRuntime(litert, wasmDir) {
  const relaxed = await litert.supportsFeature?.("relaxedSimd").catch?.(() => false);
  const file = relaxed === false ? "litert_wasm_compat_internal.js" : "litert_wasm_internal.js";
  const path = wasmDir.endsWith("/") ? wasmDir + file : `${wasmDir}/${file}`;
  await litert.loadLiteRt(path);
  return file;
}

/** {detect, classify} over compiled models; `litert` is the @litertjs/core module. */
export async function createEngine(litert, detectorBytes, modelBytes) {
  const options = { accelerator: "wasm" };
  const det = await litert.loadAndCompile(fixedBatch(detectorBytes), options);
  const clf = await litert.loadAndCompile(fixedBatch(modelBytes), options);
  const detIn = det.getInputDetails()[0].shape;
  const outs = det.getOutputDetails().map((d, i) => ({ i, width: d.shape[d.shape.length - 1] }));
  const boxesAt = outs.find((o) => o.width === 16).i;
  const scoresAt = outs.find((o) => o.width === 1).i;
  const clfIn = Array.from(clf.getInputDetails()[0].shape);
  const Tensor = litert.Tensor;
  return {
    detectorInput: Array.from(detIn),
    classifierInput: clfIn,
    async detect(tensor) {
      const input = new Tensor(tensor, Array.from(detIn));
      const out = await det.run(input);
      input.delete();
      const boxes = out[boxesAt].toTypedArray().slice();
      const scores = out[scoresAt].toTypedArray().slice();
      for (const t of out) t.delete();
      return { boxes, scores };
    },
    async classify(data) {
      const input = new Tensor(data, clfIn);
      const out = await clf.run(input);
      input.delete();
      const raw = out[0].toTypedArray()[0];
      for (const t of out) t.delete();
      return raw;
    },
  };
}
