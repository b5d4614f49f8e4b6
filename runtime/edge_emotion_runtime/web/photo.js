// photo.py in the page: decode (working copy), detect, crop with the model's framing, classify.
// Every default comes from config.json, which `edge-emotion-serve --build-web` writes from the
// Python runtime's own constants, so a change of default there reaches the page at the next build.
import { dropOpaqueAlpha, exifTranspose, reduce, toRGB } from "./image.js";
import { anchors, clippedBox, decodeBoxes, fuse, letterbox, scaled, toDetections, weightedNms } from "./detector.js";
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

/** FaceDetector.detect of one variant, at its own threshold or `minScore`: letterbox, run,
 *  decode, weighted NMS. `anchorXY` are the variant's anchors (detector.anchors). */
export async function detectVariant(engine, config, anchorXY, rgb, name, minScore) {
  let spec = config.detectors[name];
  if (minScore !== undefined && minScore !== null) spec = { ...spec, min_score: minScore };
  const { tensor, box } = letterbox(rgb, spec.input_size, spec.reduce_to);
  const { boxes, scores } = await engine.detect(name, tensor);
  const decoded = decodeBoxes(boxes, scores, anchorXY, spec);
  return toDetections(weightedNms(decoded, spec.iou_threshold), box, spec, name);
}

export class PhotoClassifier {
  /** engine: {detect(name, Float32Array) -> {boxes, scores}, classify(typed array) -> raw}.
   *  remote (optional): {detectWith(rgb, name, minScore) -> Promise of detections} on another
   *  thread; the fused pair's secondary runs there while the primary runs here, as the Python
   *  runtime runs the two detectors on two cores (fusion.FusedDetector). */
  constructor({ config, metadata, engine, detector, remote = null }) {
    this.remote = remote;
    this.config = config;
    this.meta = metadata;
    this.engine = engine;
    this.spec = metadata.preprocess;
    this.detectorName = detector ?? config.detector;
    this.fusion = config.fusions[this.detectorName] ?? null;
    this.members = this.fusion ? [this.fusion.primary, this.fusion.secondary] : [this.detectorName];
    this.anchors = {};
    for (const name of new Set([...this.members, "short"])) this.anchors[name] = anchors(config.detectors[name]);
    const recorded = metadata.crop?.framings ?? {};
    this.framings = {};
    for (const name of Object.keys(config.detectors)) this.framings[name] = recorded[name] ?? config.fer_framings[name];
    this.happyIsPositive = metadata.labels[metadata.positive_index] === "happy";
  }

  /** The detector variants whose models the page must load (the fused pair and "short"). */
  static modelsNeeded(config, detector) {
    const name = detector ?? config.detector;
    const fusion = config.fusions[name];
    return [...new Set([...(fusion ? [fusion.primary, fusion.secondary] : [name]), "short"])];
  }

  /** preprocess.load_image after decoding: shrink to PHOTO_LONG_SIDE by an integer reduce, then
   *  turn upright. `raw` is the decoded file as stored (before EXIF orientation). */
  workingCopy(raw, orientation = 1, fileSize = null) {
    const keep = this.config.photo_long_side;
    const { width, height } = raw;
    // the file's size, as load_image's limit and _target see it (raw may be a draft-scale decode)
    const [fw, fh] = fileSize ?? [width, height];
    if (fw * fh > this.config.max_pixels) {
      throw new Error(`image is ${fw}x${fh}, above the limit of ${this.config.max_pixels} pixels`);
    }
    const f = keep / Math.max(fw, fh);
    const target = [Math.ceil(fw * f), Math.ceil(fh * f)];
    const factor = Math.min(Math.floor(width / target[0]), Math.floor(height / target[1]));
    let image = dropOpaqueAlpha(raw);
    if (factor >= 2) image = reduce(image, factor);
    image = exifTranspose(image, orientation);
    const swapped = orientation >= 5 && orientation <= 8;
    image.originalSize = swapped ? [fh, fw] : [fw, fh];
    return image;
  }

  /** FaceDetector.detect of one variant, at its own threshold or `minScore`. */
  detectWith(rgb, name, minScore) {
    return detectVariant(this.engine, this.config, this.anchors[name], rgb, name, minScore);
  }

  /** The configured detector: one variant, or two fused (fusion.FusedDetector.detect). With a
   *  `remote`, the secondary is sent off first and the primary runs meanwhile; should the remote
   *  fail, the secondary runs here. */
  async detect(rgb) {
    const f = this.fusion;
    if (!f) return this.detectWith(rgb, this.detectorName);
    const secondaryMin = Math.min(f.confirm_secondary, f.secondary_min_score);
    const far = this.remote?.detectWith(rgb, f.secondary, secondaryMin);
    const primary = await this.detectWith(rgb, f.primary, f.confirm_primary);
    const secondary = far
      ? await far.catch(() => this.detectWith(rgb, f.secondary, secondaryMin))
      : await this.detectWith(rgb, f.secondary, secondaryMin);
    return fuse(primary, secondary, f);
  }

  async predict(pixels) {
    const raw = await this.engine.classify(inputTensor(pixels, this.spec, this.meta.input_quantization));
    const oq = this.meta.output_quantization;
    const p = oq && oq.scale > 0 ? (raw - oq.zero_point) * oq.scale : raw;
    return this.decidePositive(p);
  }

  decidePositive(p) {
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    const [label, probability] = decide(p, this.meta.labels, this.meta.threshold, this.meta.positive_index);
    return { label, probability, p_happy: this.happyIsPositive ? p : 1.0 - p };
  }

  /** Classifier.predict_mirrored: the mean P(happy) of the face and its mirror image. */
  async predictMirrored(pixels) {
    const first = await this.predict(pixels);
    const { width: w, height: h, channels: c, data } = pixels;
    const flipped = new Uint8Array(data.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) flipped[(y * w + x) * c + ch] = data[(y * w + (w - 1 - x)) * c + ch];
      }
    }
    const second = await this.predict({ ...pixels, data: flipped });
    const pHappy = (first.p_happy + second.p_happy) / 2.0;
    return this.decidePositive(this.happyIsPositive ? pHappy : 1.0 - pHappy);
  }

  /** The `auto` rule (PhotoClassifier._is_face_crop): [whole image?, score to report]. */
  async isFaceCrop(rgb, size, detections) {
    const rule = this.config;
    if (Math.max(...size) > rule.crop_max_side) {
      return [isFaceCrop(size, detections, [rgb.width, rgb.height], rule), detections[0]?.score ?? null];
    }
    const found = await this.detectWith(rgb, "short", rule.small_crop_min_score);
    return [isFaceCrop(size, found, [rgb.width, rgb.height], rule), found[0]?.score ?? null];
  }

  /** PhotoClassifier.verdict: a lone face's answer, else the rule on the mean P(happy) of all
   *  faces, summed in order as the Python runtime sums them. */
  verdict(faces) {
    if (faces.length === 0) return null;
    if (faces.length === 1) return faces[0];
    let total = 0.0;
    for (const f of faces) total += f.p_happy;
    const pHappy = total / faces.length;
    const decided = this.decidePositive(this.happyIsPositive ? pHappy : 1.0 - pHappy);
    return { ...decided, label: this.hedge(decided.label, decided.probability) };
  }

  hedge(label, probability) {
    const floor = this.config.min_confidence;
    return floor !== null && floor !== undefined && probability < floor ? "uncertain" : label;
  }

  /** PhotoClassifier.analyze_image: the same object as one `edge-emotion-run --json` line. */
  async analyzeImage(image, { path = null, detect = this.config.detect, decodeMs = 0 } = {}) {
    const start = now();
    const size = image.originalSize ?? [image.width, image.height];
    let faces;
    let whole = false;
    let detected = start;
    const wholeFace = async (score) => {
      const prediction = await this.predict(imageToPixels(image, this.spec));
      return [{ box: [0, 0, ...size], score, ...prediction }];
    };
    if (detect === "never") {
      faces = await wholeFace(null);
      whole = true;
    } else {
      const rgb = toRGB(image, this.spec.alpha_background);
      const detections = await this.detect(rgb);
      let crop = [false, null];
      if (detect === "auto") crop = await this.isFaceCrop(rgb, size, detections);
      detected = now();
      if (crop[0]) {
        faces = await wholeFace(crop[1]);
        whole = true;
      } else {
        const sx = size[0] / image.width;
        const sy = size[1] / image.height;
        faces = [];
        for (const d of detections) {
          const pixels = facePixels(rgb, d, this.framings[d.source], this.spec);
          const prediction = this.config.mirror ? await this.predictMirrored(pixels) : await this.predict(pixels);
          faces.push({ box: clippedBox(scaled(d, sx, sy), size[0], size[1]), score: d.score, ...prediction });
        }
        faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      }
    }
    for (const f of faces) f.label = this.hedge(f.label, f.probability);
    const end = now();
    const verdict = this.verdict(faces);
    const ms = { decode: decodeMs, detect: detected - start, classify: end - detected };
    ms.total = ms.decode + ms.detect + ms.classify;
    for (const k of Object.keys(ms)) ms[k] = round(ms[k], 3);
    return {
      path,
      width: size[0],
      height: size[1],
      faces: faces.map(faceToDict),
      label: verdict ? verdict.label : null,
      probability: verdict ? round(verdict.probability, 6) : null,
      p_happy: verdict ? round(verdict.p_happy, 6) : null,
      whole_image: whole,
      ms,
    };
  }
}
