// Copy the parts of @litertjs/core 2.5.3 the page needs from node_modules into the package's
// web/vendor/litert/ (shipped in the runtime wheel, not committed), with one pinned patch:
//   1. int8 joins the wrapper's dtype table (Int8Array <-> LiteRT element type INT8): the WASM
//      interpreter runs int8 models, the 2.5.3 JS wrapper refuses their tensors by name only;
//   2. the bare import "@litertjs/wasm-utils" becomes "./wasm-utils.js" (no bundler, no import map);
//   3. each Emscripten loader also gets an ES-module twin (.mjs, `export default ModuleFactory`) so
//      a module Web Worker (no importScripts) can load it.
// Every source file is checked against its sha256 first: another version fails loudly here.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const core = join(here, "node_modules/@litertjs/core");
const utils = join(here, "node_modules/@litertjs/wasm-utils");
const out = process.argv[2] ?? join(here, "../edge_emotion_runtime/web/vendor/litert");

export const PINNED = {
  "dist/index.js": "e7daccc3a31eef890848a737ccb863ded5f046a6b40c3fdc0556495adeb5d9b3",
  "wasm-utils/dist/index.js": "e0e20bc28ab001ac732cf40d15b6eebd24fb0deaeb95eeba5100f51eebf015f2",
  "wasm/litert_wasm_internal.js": "68efb69f770e3f76aff36a377de629ca496c131b86ac0f0f4b592a1543a898eb",
  "wasm/litert_wasm_internal.wasm": "7280cf4471774867e385e6c3cd53e2b45e2975b80fea338fff4ef359b0865614",
  "wasm/litert_wasm_compat_internal.js": "4d8f894b7883654fd6e8439730aa41e79ceaab7d19184fc4f1f0b0f1a2a2c8a5",
  "wasm/litert_wasm_compat_internal.wasm": "5255c8ad06eabdbd2522cdebf6b22fc10faf74625c23a49b9e072570cd1fa41c",
};

const UINT8_ENTRY = `    dtype: "uint8",
    typedArrayConstructor: Uint8Array,
    elementType: ElementType.UINT8
  }`;
const INT8_ENTRY = `${UINT8_ENTRY},
  {
    dtype: "int8",
    typedArrayConstructor: Int8Array,
    elementType: ElementType.INT8
  }`;

function read(rel) {
  const path = rel.startsWith("wasm-utils/") ? join(utils, rel.slice("wasm-utils/".length)) : join(core, rel);
  const bytes = readFileSync(path);
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== PINNED[rel]) throw new Error(`${rel}: sha256 ${sha} is not the pinned @litertjs/core 2.5.3 file`);
  return bytes;
}

export function patchCore(text) {
  const once = (s, from, to) => {
    if (s.split(from).length !== 2) throw new Error(`patch anchor not found exactly once: ${from.slice(0, 40)}`);
    return s.replace(from, to);
  };
  let patched = once(text, UINT8_ENTRY, INT8_ENTRY);
  patched = once(patched, 'from "@litertjs/wasm-utils";', 'from "./wasm-utils.js";');
  return patched;
}

export function vendor(dest = out) {
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(dest, "index.js"), patchCore(read("dist/index.js").toString("utf8")));
  writeFileSync(join(dest, "wasm-utils.js"), read("wasm-utils/dist/index.js"));
  for (const name of ["litert_wasm_internal", "litert_wasm_compat_internal"]) {
    const js = read(`wasm/${name}.js`);
    writeFileSync(join(dest, `${name}.js`), js);
    writeFileSync(join(dest, `${name}.mjs`), `${js}\nexport default ModuleFactory;\n`);
    read(`wasm/${name}.wasm`);
    copyFileSync(join(core, `wasm/${name}.wasm`), join(dest, `${name}.wasm`));
  }
  copyFileSync(join(core, "../../@litertjs/core/package.json"), join(dest, "package.json"));
  console.log(`vendor: @litertjs/core 2.5.3 (patched: int8 dtype) -> ${dest}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) vendor();
