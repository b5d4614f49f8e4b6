// photo.py in the page: decode (working copy), detect, crop with the model's framing, classify.
// Every default comes from config.json, which `edge-emotion-serve --build-web` writes from the
// Python runtime's own constants, so a change of default there reaches the page at the next build.
import { dropOpaqueAlpha, exifTranspose, reduce, toRGB } from "./image.js";
import { anchors, clippedBox, decodeBoxes, letterbox, scaled, toDetections, weightedNms } from "./detector.js";
import { facePixels, imageToPixels, isFaceCrop } from "./crop.js";

const now = () => performance.now();

/** labels.decide */
export function decide(p, labels, threshold, positiveIndex) {
  if (p > threshold) return [labels[positiveIndex], p];
  return [labels[1 - positiveIndex], 1.0 - p];
}

/** The input tensor for uint8 pixels (Classifier._pixels_tensor): xor, identity or float. */
export function inputTensor(pixels, spec, quant) {
  const d = pixels.data;
  const q = quant ?? { dtype: "float32" };
  const integer = (q.dtype === "int8" || q.dtype === "uint8") && q.scale > 0;
  const fast = spec.divisor === 255.0 && spec.offset === 0.0 && integer && Math.abs(q.scale * 255.0 - 1.0) <= 1e-6;
  if (fast && q.dtype === "int8" && q.zero_point === -128) {
    const out = new Int8Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = d[i] ^ 0x80;
    return out;
  }
  if (fast && q.dtype === "uint8" && q.zero_point === 0) return Uint8Array.from(d);
  const x = new Float32Array(d.length);
  const div = Math.fround(spec.divisor);
  const off = Math.fround(spec.offset);
  for (let i = 0; i < d.length; i++) x[i] = spec.offset ? Math.fround(Math.fround(d[i] / div) + off) : Math.fround(d[i] / div);
  if (!integer) return x;
  const [lo, hi, Arr] = q.dtype === "int8" ? [-128, 127, Int8Array] : [0, 255, Uint8Array];
  const out = new Arr(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = x[i] / q.scale;
    let r = Math.round(v);
    if (Math.abs(v % 1) === 0.5) r = 2 * Math.round(v / 2); // numpy rint: half to even
    out[i] = Math.min(hi, Math.max(lo, r + q.zero_point));
  }
  return out;
}

/** Python's round(v, n): decimal half to even on the exact binary value (toFixed rounds ties up). */
export function round(v, n) {
  const exact = Math.abs(v).toFixed(100);
  const dot = exact.indexOf(".");
  const next = exact[dot + n + 1];
  const tail = exact.slice(dot + n + 2);
  const tie = next === "5" && /^0*$/.test(tail);
  if (!tie) return Number(v.toFixed(n));
  const kept = exact.slice(0, dot + n + 1);
  const last = Number(kept[kept.length - 1]);
  const down = Number(kept);
  const up = Number((down + 10 ** -n).toFixed(n));
  return Math.sign(v) * (last % 2 === 0 ? down : up);
}

export function faceToDict(f) {
  return {
    box: f.box,
    score: f.score === null ? null : round(f.score, 4),
    label: f.label,
    probability: round(f.probability, 6),
    p_happy: round(f.p_happy, 6),
  };
}

export class PhotoClassifier {
  /** engine: {detect(Float32Array) -> {boxes, scores}, classify(typed array) -> raw number}. */
  constructor({ config, metadata, engine, detector }) {
    this.config = config;
    this.meta = metadata;
    this.engine = engine;
    this.spec = metadata.preprocess;
    this.detectorSpec = config.detectors[detector ?? config.detector];
    this.anchors = anchors(this.detectorSpec);
    const framings = metadata.crop?.framings ?? {};
    this.framing = framings[this.detectorSpec.name] ?? config.fer_framings[this.detectorSpec.name];
    this.happyIsPositive = metadata.labels[metadata.positive_index] === "happy";
  }

  /** preprocess.load_image after decoding: shrink to PHOTO_LONG_SIDE by an integer reduce, then
   *  turn upright. `raw` is the decoded file as stored (before EXIF orientation). */
  workingCopy(raw, orientation = 1, fileSize = null) {
    const keep = this.config.photo_long_side;
    const { width, height } = raw;
    if (width * height > this.config.max_pixels) {
      throw new Error(`image is ${width}x${height}, above the limit of ${this.config.max_pixels} pixels`);
    }
    const f = keep / Math.max(width, height);
    const target = [Math.ceil(width * f), Math.ceil(height * f)];
    const factor = Math.min(Math.floor(width / target[0]), Math.floor(height / target[1]));
    let image = dropOpaqueAlpha(raw);
    if (factor >= 2) image = reduce(image, factor);
    image = exifTranspose(image, orientation);
    const swapped = orientation >= 5 && orientation <= 8;
    const [fw, fh] = fileSize ?? [width, height];
    image.originalSize = swapped ? [fh, fw] : [fw, fh];
    return image;
  }

  async detect(rgb) {
    const spec = this.detectorSpec;
    const { tensor, box } = letterbox(rgb, spec.input_size);
    const { boxes, scores } = await this.engine.detect(tensor);
    const decoded = decodeBoxes(boxes, scores, this.anchors, spec);
    return toDetections(weightedNms(decoded, spec.iou_threshold), box, spec);
  }

  async predict(pixels) {
    const raw = await this.engine.classify(inputTensor(pixels, this.spec, this.meta.input_quantization));
    const oq = this.meta.output_quantization;
    let p = oq && oq.scale > 0 ? (raw - oq.zero_point) * oq.scale : raw;
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    const [label, probability] = decide(p, this.meta.labels, this.meta.threshold, this.meta.positive_index);
    return { label, probability, p_happy: this.happyIsPositive ? p : 1.0 - p };
  }

  /** PhotoClassifier.analyze_image: the same object as one `edge-emotion-run --json` line. */
  async analyzeImage(image, { path = null, detect = this.config.detect, decodeMs = 0 } = {}) {
    const start = now();
    const size = image.originalSize ?? [image.width, image.height];
    let faces;
    let whole = false;
    let detected = start;
    if (detect === "never") {
      faces = [{ box: [0, 0, ...size], score: null, ...(await this.predict(imageToPixels(image, this.spec))) }];
      whole = true;
    } else {
      const rgb = toRGB(image, this.spec.alpha_background);
      const detections = await this.detect(rgb);
      detected = now();
      const rule = this.config;
      if (detect === "auto" && isFaceCrop(size, detections, [image.width, image.height], rule)) {
        const score = detections.length ? detections[0].score : null;
        faces = [{ box: [0, 0, ...size], score, ...(await this.predict(imageToPixels(image, this.spec))) }];
        whole = true;
      } else {
        const sx = size[0] / image.width;
        const sy = size[1] / image.height;
        faces = [];
        for (const d of detections) {
          const prediction = await this.predict(facePixels(rgb, d, this.framing, this.spec));
          faces.push({ box: clippedBox(scaled(d, sx, sy), size[0], size[1]), score: d.score, ...prediction });
        }
        faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      }
    }
    const end = now();
    const primary = faces[0] ?? null;
    const ms = { decode: decodeMs, detect: detected - start, classify: end - detected };
    ms.total = ms.decode + ms.detect + ms.classify;
    for (const k of Object.keys(ms)) ms[k] = round(ms[k], 3);
    return {
      path,
      width: size[0],
      height: size[1],
      faces: faces.map(faceToDict),
      label: primary ? primary.label : null,
      probability: primary ? round(primary.probability, 6) : null,
      p_happy: primary ? round(primary.p_happy, 6) : null,
      whole_image: whole,
      ms,
    };
  }
}
