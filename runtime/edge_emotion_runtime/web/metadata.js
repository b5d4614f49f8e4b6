// metadata.py's reader: the JSON in the ZIP appended to a .tflite, and the one load-time fix
// LiteRT.js 2.5.3 needs (a fixed batch dimension; see fixedBatch).

const METADATA_FILENAME = "edge_emotion_metadata.json";
const SCHEMA_VERSION = 2;

async function inflateRaw(bytes) {
  if (typeof DecompressionStream === "function") {
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (err) {
      if (!(typeof process === "object" && process.versions?.node)) throw err;
    }
  }
  const zlib = await import("node:zlib");
  return new Uint8Array(zlib.inflateRawSync(bytes));
}

/** The embedded metadata object of a model file's bytes, or null for a bare .tflite. */
export async function readMetadata(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const decoder = new TextDecoder();
  for (let e = 0; e < entries; e++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50) return null;
    const method = view.getUint16(p + 10, true);
    const compSize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (name === METADATA_FILENAME) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const raw = bytes.subarray(start, start + compSize);
      const data = method === 8 ? await inflateRaw(raw) : raw;
      const meta = JSON.parse(decoder.decode(data));
      if ((meta.schema_version ?? SCHEMA_VERSION) > SCHEMA_VERSION) {
        throw new Error(`model metadata schema ${meta.schema_version} is newer than this page reads`);
      }
      return meta;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  return null;
}

// Minimal flatbuffer access to the TFLite schema: Model.subgraphs (field 2) -> SubGraph.tensors
// (field 0) -> Tensor.shape (field 0) and Tensor.shape_signature (field 7).
function field(view, table, index) {
  const vtable = table - view.getInt32(table, true);
  const vsize = view.getUint16(vtable, true);
  const at = 4 + 2 * index;
  if (at >= vsize) return 0;
  const off = view.getUint16(vtable + at, true);
  return off ? table + off : 0;
}
const deref = (view, pos) => pos + view.getUint32(pos, true);

/**
 * A copy of a TFLite model whose dynamic dimensions (-1 in shape_signature, e.g. the batch of a
 * Keras export) are fixed to the static shape the interpreter already uses. LiteRT.js 2.5.3
 * refuses a [1,48,48,1] buffer for a [-1,48,48,1] signature and has no resize call; Python's
 * interpreter allocates the static shape, so the answers are the same (tests check).
 */
export function fixedBatch(bytes) {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const model = deref(view, 0);
  const subgraphsAt = field(view, model, 2);
  if (!subgraphsAt) return out;
  const subgraphs = deref(view, subgraphsAt);
  for (let s = 0; s < view.getUint32(subgraphs, true); s++) {
    const subgraph = deref(view, subgraphs + 4 + 4 * s);
    const tensorsAt = field(view, subgraph, 0);
    if (!tensorsAt) continue;
    const tensors = deref(view, tensorsAt);
    for (let t = 0; t < view.getUint32(tensors, true); t++) {
      const tensor = deref(view, tensors + 4 + 4 * t);
      const shapeAt = field(view, tensor, 0);
      const sigAt = field(view, tensor, 7);
      if (!shapeAt || !sigAt) continue;
      const shape = deref(view, shapeAt);
      const sig = deref(view, sigAt);
      const n = view.getUint32(sig, true);
      if (n !== view.getUint32(shape, true)) continue;
      for (let i = 0; i < n; i++) {
        if (view.getInt32(sig + 4 + 4 * i, true) === -1) {
          view.setInt32(sig + 4 + 4 * i, view.getInt32(shape + 4 + 4 * i, true), true);
        }
      }
    }
  }
  return out;
}
