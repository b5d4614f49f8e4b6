// The two interpreters of the page on LiteRT.js (WASM, XNNPACK on the CPU).
//
// `vendor/litert/` is @litertjs/core 2.5.3 as `scripts/setup-web.sh` copies it from npm, with one
// tiny pinned patch (runtime/web/vendor.mjs): int8 in the wrapper's dtype table (the WASM side
// runs int8 models; the 2.5.3 wrapper only names float32, int32 and uint8). Dynamic batch
// dimensions are fixed when a model is loaded (metadata.fixedBatch).
import { fixedBatch } from "./metadata.js";

/**
 * Load the LiteRT.js WASM from `vendorUrl` (the folder of the vendored files): the relaxed-SIMD
 * build where the browser has it (its float outputs match the Python runtime's XNNPACK bit for
 * bit), else the compat build. A module Web Worker has no importScripts, which LiteRT.js uses to
 * run the Emscripten loader: there the loader's ES-module twin (.mjs) is imported instead.
 */
export async function loadRuntime(litert, vendorUrl) {
  const relaxed = await litert.supportsFeature("relaxedSimd").catch(() => false);
  const name = relaxed ? "litert_wasm_internal" : "litert_wasm_compat_internal";
  const inWorker = typeof document === "undefined" && typeof self === "object" && "postMessage" in self;
  if (inWorker) {
    const loader = await import(new URL(`${name}.mjs`, vendorUrl).href);
    self.ModuleFactory = loader.default;
    self.Module = { locateFile: (file) => new URL(file, vendorUrl).href };
    self.importScripts = () => {};
  }
  await litert.loadLiteRt(new URL(`${name}.js`, vendorUrl).href);
  return name;
}

/** {detect(name, tensor), classify(data)}: one compiled model per detector variant in
 *  `detectorBytes` ({name: bytes}) plus the emotion model (none when `modelBytes` is null: a
 *  detector-only engine). `litert` is the @litertjs/core module. */
export async function createEngine(litert, detectorBytes, modelBytes) {
  const options = { accelerator: "wasm" };
  const detectors = {};
  for (const [name, bytes] of Object.entries(detectorBytes)) {
    const model = await litert.loadAndCompile(fixedBatch(bytes), options);
    const outs = model.getOutputDetails().map((d, i) => ({ i, width: d.shape[d.shape.length - 1] }));
    detectors[name] = {
      model,
      shape: Array.from(model.getInputDetails()[0].shape),
      boxesAt: outs.find((o) => o.width === 16).i,
      scoresAt: outs.find((o) => o.width === 1).i,
    };
  }
  const clf = modelBytes ? await litert.loadAndCompile(fixedBatch(modelBytes), options) : null;
  const clfIn = clf ? Array.from(clf.getInputDetails()[0].shape) : null;
  const Tensor = litert.Tensor;
  return {
    classifierInput: clfIn,
    async detect(name, tensor) {
      const d = detectors[name];
      const input = new Tensor(tensor, d.shape);
      const out = await d.model.run(input);
      input.delete();
      // toTypedArray copies out of the WASM heap: the arrays outlive the tensors
      const boxes = out[d.boxesAt].toTypedArray();
      const scores = out[d.scoresAt].toTypedArray();
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
