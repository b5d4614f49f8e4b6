// The page's inference thread: loads LiteRT.js, the detector and the emotion model once, then
// answers one message at a time (the page sends a camera frame only when the previous answer
// is back, so the camera loop always works on the latest frame).
//
// The same file, started with the worker name `detector:short`, is a helper thread that runs one
// detector variant only: with two or more cores, the inference thread starts one and sends it
// the fused pair's secondary detector on each image while it runs the primary itself (the Python
// runtime runs the two on two cores as well). Until the helper has loaded, or if it fails, the
// inference thread runs both detectors itself.
import * as litert from "./vendor/litert/index.js";
import { createEngine, loadRuntime } from "./litert.js";
import { anchors } from "./detector.js";
import { makeImage } from "./image.js";
import { readMetadata } from "./metadata.js";
import { PhotoClassifier, detectVariant } from "./photo.js";

const base = new URL("./", self.location.href);
// the role comes from the worker's name, not a query string: a service worker's cached answer
// for worker.js would carry the URL without it
const helperOf = self.name?.startsWith("detector:") ? self.name.slice("detector:".length) : null;
let photo = null;

async function bytes(name) {
  const response = await fetch(new URL(name, base));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const loadConfig = async () => (await fetch(new URL("config.json", base))).json();

/** The helper thread's side: one detector variant, detections for each {id, image, name, minScore}. */
function serveDetector(name) {
  const ready = (async () => {
    const config = await loadConfig();
    await loadRuntime(litert, new URL("vendor/litert/", base));
    const engine = await createEngine(litert, { [name]: await bytes(config.detectors[name].filename) }, null);
    return { config, engine, anchorXY: anchors(config.detectors[name]) };
  })();
  ready.then(
    () => self.postMessage({ type: "ready" }),
    (err) => self.postMessage({ type: "failed", error: String(err?.message ?? err) }),
  );
  self.onmessage = async ({ data: msg }) => {
    try {
      const { config, engine, anchorXY } = await ready;
      if (msg.name !== name) throw new Error(`this helper runs ${name}, not ${msg.name}`);
      const rgb = makeImage(msg.width, msg.height, msg.channels, msg.data);
      const detections = await detectVariant(engine, config, anchorXY, rgb, name, msg.minScore);
      self.postMessage({ id: msg.id, detections });
    } catch (err) {
      self.postMessage({ id: msg.id, error: String(err?.message ?? err) });
    }
  };
}

// How long the inference thread waits for its helper to load before it answers on its own.
const HELPER_LOAD_MS = 20000;

/** The inference thread's handle on a helper for detector `name`: `ready` resolves to whether
 *  it loaded; detectWith() gives a promise of its detections, undefined when it is not usable. */
function detectorHelper(name) {
  const helper = new Worker(new URL("worker.js", base), { type: "module", name: `detector:${name}` });
  const pending = new Map();
  let nextId = 1;
  let usable = false;
  let loaded;
  const ready = new Promise((resolve) => (loaded = resolve));
  setTimeout(() => loaded(usable), HELPER_LOAD_MS);
  const fail = (why) => {
    usable = false;
    loaded(false);
    for (const waiter of pending.values()) waiter.reject(new Error(why));
    pending.clear();
  };
  helper.onmessage = ({ data }) => {
    if (data.type === "ready") loaded((usable = true));
    else if (data.type === "failed") fail(data.error);
    const waiter = pending.get(data.id);
    if (!waiter) return;
    pending.delete(data.id);
    if (data.error) waiter.reject(new Error(data.error));
    else waiter.resolve(data.detections);
  };
  helper.onerror = (event) => {
    event.preventDefault?.();
    fail(`detector helper: ${event.message ?? "failed to load"}`);
  };
  return {
    ready,
    detectWith(rgb, variant, minScore) {
      if (!usable || variant !== name) return undefined;
      const id = nextId++;
      const d = rgb.data;
      // shared memory goes as it is; a view on a larger buffer would send the whole buffer
      const shared = typeof SharedArrayBuffer === "function" && d.buffer instanceof SharedArrayBuffer;
      const data = shared || (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) ? d : d.slice();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        helper.postMessage({ id, name, minScore, width: rgb.width, height: rgb.height, channels: rgb.channels, data });
      });
    },
  };
}

/** The inference thread: the whole pipeline, with a detector helper where there are two cores. */
async function loadPipeline() {
  const start = performance.now();
  const config = await loadConfig();
  const fusion = config.fusions[config.detector];
  const cores = self.navigator?.hardwareConcurrency ?? 1;
  const remote = fusion && cores > 1 && typeof Worker !== "undefined" ? detectorHelper(fusion.secondary) : null;
  const wasm = await loadRuntime(litert, new URL("vendor/litert/", base));
  const names = PhotoClassifier.modelsNeeded(config);
  const files = await Promise.all([config.model, ...names.map((n) => config.detectors[n].filename)].map(bytes));
  const model = files[0];
  const metadata = await readMetadata(model);
  if (!metadata) throw new Error(`${config.model} has no embedded metadata; export it with edge-emotion`);
  const detectors = Object.fromEntries(names.map((n, i) => [n, files[i + 1]]));
  const engine = await createEngine(litert, detectors, model);
  // both threads load at once; the first answer waits for the helper, so that every answer
  // (the first one too) takes the same path
  const concurrent = remote ? await remote.ready : false;
  photo = new PhotoClassifier({ config, metadata, engine, remote: concurrent ? remote : null });
  return {
    wasm,
    detector: config.detector,
    concurrent,
    isolated: globalThis.crossOriginIsolated === true,
    labels: metadata.labels,
    arch: metadata.arch,
    input: engine.classifierInput,
    photo_long_side: config.photo_long_side,
    load_ms: performance.now() - start,
  };
}

function bitmapPixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return makeImage(canvas.width, canvas.height, 4, new Uint8Array(data.buffer));
}

let ready = null;

async function answer({ data: msg }) {
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
}

if (helperOf) {
  serveDetector(helperOf);
} else {
  ready = loadPipeline();
  self.onmessage = answer;
}
