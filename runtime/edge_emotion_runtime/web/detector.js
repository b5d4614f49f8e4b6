// BlazeFace around the interpreter, as detector.py: anchors, letterbox, decode, weighted NMS.
// float32 steps of the numpy code are float32 here too (Math.fround), so boxes match bit for bit.
import { crop, makeImage, reduce, resizeBilinear } from "./image.js";

const f32 = Math.fround;

/** Python's round(): half to even. */
export function pyRound(x) {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** DetectorSpec.anchors(): Float32Array of (x, y) centres. */
export function anchors(spec) {
  const out = [];
  for (const [stride, perCell] of spec.layers) {
    const side = Math.ceil(spec.input_size / stride);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const cx = f32(f32(x + 0.5) / side);
        const cy = f32(f32(y + 0.5) / side);
        for (let k = 0; k < perCell; k++) out.push(cx, cy);
      }
    }
  }
  return Float32Array.from(out);
}

/** letterbox(): RGB image -> Float32Array (size*size*3) in [-1, 1] and {scale, padX, padY}. */
export function letterbox(image, size, reduceTo = 2) {
  const { width, height } = image;
  const factorF = size / Math.max(width, height);
  const newW = Math.max(1, pyRound(width * factorF));
  const newH = Math.max(1, pyRound(height * factorF));
  const factor = Math.floor(Math.max(width, height) / (reduceTo * size));
  let src = image;
  if (factor >= 2) src = reduce(src, factor);
  const resized = resizeBilinear(src, newW, newH);
  const padX = Math.floor((size - newW) / 2);
  const padY = Math.floor((size - newH) / 2);
  const tensor = new Float32Array(size * size * 3).fill(-1);
  const k = f32(1 / 127.5);
  const d = resized.data;
  for (let y = 0; y < newH; y++) {
    let o = ((y + padY) * size + padX) * 3;
    let i = y * newW * 3;
    for (let x = 0; x < newW * 3; x++) tensor[o++] = f32(f32(d[i++] * k) - 1);
  }
  return { tensor, box: { scale: newW / width, padX, padY }, resized };
}

/** decode(): anchors at or above the threshold -> [{b: Float32Array(16), score}]. */
export function decodeBoxes(rawBoxes, rawScores, anchorXY, spec) {
  const threshold = Math.log(spec.min_score / (1.0 - spec.min_score));
  const size = f32(spec.input_size);
  const out = [];
  for (let i = 0; i < rawScores.length; i++) {
    let logit = rawScores[i];
    logit = logit < -100 ? -100 : logit > 100 ? 100 : logit;
    if (!(logit >= threshold)) continue;
    const score = f32(1.0 / (1.0 + Math.exp(-logit)));
    const r = new Float32Array(16);
    for (let j = 0; j < 16; j++) r[j] = f32(rawBoxes[i * 16 + j] / size);
    const ax = anchorXY[2 * i];
    const ay = anchorXY[2 * i + 1];
    const b = new Float32Array(16);
    const cx = f32(r[0] + ax);
    const cy = f32(r[1] + ay);
    b[0] = f32(cx - f32(r[2] / 2));
    b[1] = f32(cy - f32(r[3] / 2));
    b[2] = r[2];
    b[3] = r[3];
    for (let j = 4; j < 16; j += 2) {
      b[j] = f32(r[j] + ax);
      b[j + 1] = f32(r[j + 1] + ay);
    }
    out.push({ b, score });
  }
  return out;
}

function iou(a, o) {
  const x0 = Math.max(a[0], o[0]);
  const y0 = Math.max(a[1], o[1]);
  const x1 = Math.min(f32(a[0] + a[2]), f32(o[0] + o[2]));
  const y1 = Math.min(f32(a[1] + a[3]), f32(o[1] + o[3]));
  const iw = Math.max(f32(x1 - x0), 0);
  const ih = Math.max(f32(y1 - y0), 0);
  const inter = f32(iw * ih);
  const union = f32(f32(f32(a[2] * a[3]) + f32(o[2] * o[3])) - inter);
  return union > 0 ? f32(inter / Math.max(union, f32(1e-12))) : 0;
}

// numpy's float32 add.reduce of a contiguous vector (pairwise_sum: 8 partial sums per block).
function pairwise(v, lo, n) {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f32(res + v[lo + i]);
    return res;
  }
  if (n <= 128) {
    const r = new Float32Array(8);
    for (let j = 0; j < 8; j++) r[j] = v[lo + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f32(r[j] + v[lo + i + j]);
    let res = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
    for (; i < n; i++) res = f32(res + v[lo + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwise(v, lo, n2) + pairwise(v, lo + n2, n - n2));
}

export function npSum32(v) {
  return pairwise(v, 0, v.length);
}

/** weighted_nms(): best first, each the score-weighted mean of its overlapping group. */
export function weightedNms(dets, iouThreshold) {
  const order = dets.map((d, i) => i).sort((i, j) => dets[j].score - dets[i].score);
  let remaining = order.map((i) => dets[i]);
  const thr = f32(iouThreshold);
  const out = [];
  while (remaining.length) {
    const best = remaining[0];
    const group = [];
    const rest = [];
    remaining.forEach((d, k) => (k === 0 || iou(best.b, d.b) > thr ? group : rest).push(d));
    const weights = Float32Array.from(group.map((d) => d.score));
    const total = npSum32(weights);
    const merged = new Float32Array(16);
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (const d of group) s = f32(s + f32(d.b[j] * d.score));
      merged[j] = f32(s / total);
    }
    out.push({ merged, score: best.score });
    remaining = rest;
  }
  return out;
}

/** The detections of a letterboxed model output, in source-image pixels (FaceDetector.detect). */
export function toDetections(nmsOut, box, spec, source = spec.name) {
  const size = f32(spec.input_size);
  const scale = f32(box.scale);
  return nmsOut.map(({ merged, score }) => {
    const px = (v, pad) => f32(f32(f32(v * size) - pad) / scale);
    const x = px(merged[0], box.padX);
    const y = px(merged[1], box.padY);
    const w = f32(f32(merged[2] * size) / scale);
    const h = f32(f32(merged[3] * size) / scale);
    const keypoints = [];
    for (let j = 4; j < 16; j += 2) keypoints.push([px(merged[j], box.padX), px(merged[j + 1], box.padY)]);
    return { box: [x, y, w, h], score, keypoints, source };
  });
}

export function scaled(det, sx, sy) {
  if (sx === 1.0 && sy === 1.0) return det;
  const [x, y, w, h] = det.box;
  return {
    box: [x * sx, y * sy, w * sx, h * sy],
    score: det.score,
    keypoints: det.keypoints.map(([px, py]) => [px * sx, py * sy]),
    source: det.source,
  };
}

export function clippedBox(det, width, height) {
  const [x, y, w, h] = det.box;
  const x0 = Math.max(0, pyRound(x));
  const y0 = Math.max(0, pyRound(y));
  const x1 = Math.min(width, pyRound(x + w));
  const y1 = Math.min(height, pyRound(y + h));
  return [x0, y0, Math.max(0, x1 - x0), Math.max(0, y1 - y0)];
}

/** boxes.iou: intersection over union of two (x, y, w, h) boxes, in float64. */
export function iou64(a, b) {
  const x0 = Math.max(a[0], b[0]);
  const y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(x1 - x0, 0) * Math.max(y1 - y0, 0);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / Math.max(union, 1e-12) : 0.0;
}

/** fusion.fuse: the faces of two detector variants, each reported once, best score first. */
export function fuse(primary, secondary, spec) {
  const kept = primary.filter(
    (face) =>
      face.score >= spec.primary_min_score ||
      secondary.some((o) => o.score >= spec.confirm_secondary && iou64(face.box, o.box) > spec.match_iou),
  );
  const extra = secondary.filter(
    (face) => face.score >= spec.secondary_min_score && !kept.some((o) => iou64(face.box, o.box) > spec.match_iou),
  );
  return [...kept, ...extra].sort((a, b) => b.score - a.score);
}

export { crop, makeImage };
