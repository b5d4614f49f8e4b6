// Test helpers: the Python runtime (for dumps and config), and LiteRT.js loaded in Node.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const webDir = resolve(here, "../../edge_emotion_runtime/web");
export const vendorDir = join(webDir, "vendor/litert");

export function python() {
  const candidates = [process.env.EDGE_EMOTION_PYTHON, join(repo, process.env.VENV ?? ".venv", "bin/python")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("no Python runtime: set EDGE_EMOTION_PYTHON or run scripts/setup.sh");
  return found;
}

export function pyJson(code) {
  return JSON.parse(execFileSync(python(), ["-c", code], { encoding: "utf8" }));
}

let dumped = null;
/** The Python runtime's stage-by-stage dump (made now, so its current defaults are tested), once
 *  per process. */
export function pythonDump() {
  dumped ??= makeDump();
  return dumped;
}

function makeDump() {
  const out = process.env.EDGE_EMOTION_DUMP ?? mkdtempSync(join(tmpdir(), "edge-emotion-dump-"));
  if (!existsSync(join(out, "manifest.json"))) {
    execFileSync(python(), [join(here, "dump_python.py"), out], { stdio: ["ignore", "ignore", "inherit"] });
  }
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  const arrays = {
    uint8: Uint8Array,
    int8: Int8Array,
    float32: Float32Array,
  };
  const load = (ref) => {
    const buf = readFileSync(join(out, ref.file));
    const Arr = arrays[ref.dtype];
    return new Arr(buf.buffer, buf.byteOffset, buf.byteLength / Arr.BYTES_PER_ELEMENT);
  };
  return { dir: out, manifest, load };
}

export function webConfig() {
  return pyJson("import json; from edge_emotion_runtime.serve.web import web_config; print(json.dumps(web_config()))");
}

let litertPromise = null;
/** @litertjs/core (the vendored, patched copy) running in Node: Emscripten loads as a script. */
export function nodeLiteRt() {
  if (!litertPromise) {
    litertPromise = (async () => {
      globalThis.self ??= globalThis;
      globalThis.require ??= createRequire(import.meta.url);
      globalThis.__dirname = vendorDir;
      globalThis.importScripts = (url) => {
        const path = url.startsWith("file:") ? fileURLToPath(url) : url;
        vm.runInThisContext(readFileSync(path, "utf8"), { filename: path });
      };
      const litert = await import(pathToFileURL(join(vendorDir, "index.js")).href);
      // The relaxed-SIMD build (what Chrome loads) gives the Python runtime's float outputs bit for bit;
      // Node 20 needs --experimental-wasm-relaxed-simd for it, else the compat build is used (its
      // detector outputs differ from XNNPACK's by float rounding, and the parity test says so).
      const relaxed = await litert.supportsFeature("relaxedSimd").catch(() => false);
      const file = relaxed ? "litert_wasm_internal.js" : "litert_wasm_compat_internal.js";
      await litert.loadLiteRt(join(vendorDir, file));
      return litert;
    })();
  }
  return litertPromise;
}

export function modelPaths() {
  return pyJson(
    "import json; from edge_emotion_runtime import bundled; from edge_emotion_runtime.detector import DETECTORS; " +
      "print(json.dumps({'model': str(bundled.resolve_model(None)[0]), " +
      "'detectors': {n: str(bundled.detector_path(s)) for n, s in DETECTORS.items()}}))",
  );
}
