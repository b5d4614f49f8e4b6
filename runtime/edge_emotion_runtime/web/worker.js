// The page's inference thread: loads LiteRT.js, the detector and the emotion model once, then
// answers one message at a time (the page sends a camera frame only when the previous answer
// is back, so the camera loop always works on the latest frame).
import * as litert from "./vendor/litert/index.js";
import { createEngine, loadRuntime } from "./litert.js";
import { makeImage } from "./image.js";
import { readMetadata } from "./metadata.js";
import { PhotoClassifier } from "./photo.js";

const base = new URL("./", self.location.href);
let photo = null;

async function bytes(name) {
  const response = await fetch(new URL(name, base));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const ready = (async () => {
  const start = performance.now();
  const config = await (await fetch(new URL("config.json", base))).json();
  const wasm = await loadRuntime(litert, new URL("vendor/litert/", base));
  const names = PhotoClassifier.modelsNeeded(config);
  const files = await Promise.all([config.model, ...names.map((n) => config.detectors[n].filename)].map(bytes));
  const model = files[0];
  const metadata = await readMetadata(model);
  if (!metadata) throw new Error(`${config.model} has no embedded metadata; export it with edge-emotion`);
  const detectors = Object.fromEntries(names.map((n, i) => [n, files[i + 1]]));
  const engine = await createEngine(litert, detectors, model);
  photo = new PhotoClassifier({ config, metadata, engine });
  return {
    wasm,
    detector: config.detector,
    labels: metadata.labels,
    arch: metadata.arch,
    input: engine.classifierInput,
    photo_long_side: config.photo_long_side,
    load_ms: performance.now() - start,
  };
})();

function bitmapPixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return makeImage(canvas.width, canvas.height, 4, new Uint8Array(data.buffer));
}

self.onmessage = async ({ data: msg }) => {
  try {
    const info = await ready;
    if (msg.type === "hello") {
      self.postMessage({ id: msg.id, info });
      return;
    }
    const start = performance.now();
    const raw = msg.bitmap ? bitmapPixels(msg.bitmap) : makeImage(msg.width, msg.height, 4, new Uint8Array(msg.buffer));
    const working = photo.workingCopy(raw, msg.orientation ?? 1, msg.fileSize ?? null);
    const decodeMs = (msg.decodeMs ?? 0) + performance.now() - start;
    const result = await photo.analyzeImage(working, { path: msg.path ?? null, decodeMs });
    self.postMessage({ id: msg.id, result });
  } catch (err) {
    self.postMessage({ id: msg.id, error: String(err?.message ?? err) });
  }
};
