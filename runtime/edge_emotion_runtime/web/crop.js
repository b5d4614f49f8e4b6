// crop.py: the square face crop of the model's framing, eye-levelled, and the --detect auto rule.
import { crop, reduce, resizeBilinear, rotateBilinear, toL, toRGB } from "./image.js";
import { pyRound } from "./detector.js";

export function cropBox(det, framing) {
  const [x, y, w, h] = det.box;
  const side = Math.max(w, h) / framing.face_fraction;
  const cx = x + w / 2 - framing.offset_x * side;
  const cy = y + h / 2 - framing.offset_y * side;
  const left = pyRound(cx - side / 2);
  const top = pyRound(cy - side / 2);
  const size = Math.max(1, pyRound(side));
  return [left, top, left + size, top + size];
}

export function eyeAngle(det) {
  const [[rx, ry], [lx, ly]] = det.keypoints;
  return Math.atan2(ly - ry, lx - rx) * (180 / Math.PI);
}

export function cropFace(image, det, framing, size) {
  const [left, top, right, bottom] = cropBox(det, framing);
  if (!framing.align) return crop(image, left, top, right, bottom);
  let side = right - left;
  let margin = Math.ceil(side / 4);
  let region = crop(image, left - margin, top - margin, right + margin, bottom + margin);
  const factor = size ? Math.max(1, Math.floor(side / (2 * size))) : 1;
  if (factor > 1) {
    region = reduce(region, factor);
    margin = pyRound(margin / factor);
    side = pyRound(side / factor);
  }
  region = rotateBilinear(region, eyeAngle(det));
  return crop(region, margin, margin, margin + side, margin + side);
}

/** preprocess.image_to_pixels: mode per the model (L or RGB), bilinear resize to its input. */
export function imageToPixels(image, spec) {
  let img = toRGB(image, spec.alpha_background);
  if (spec.channels === 1) img = toL(img);
  if (img.width !== spec.width || img.height !== spec.height) {
    img = resizeBilinear(img, spec.width, spec.height);
  }
  return img;
}

export function facePixels(image, det, framing, spec) {
  const size = Math.max(spec.height, spec.width);
  return imageToPixels(cropFace(image, det, framing, size), spec);
}

/** crop.is_face_crop: small images by the best face's side, larger ones by one filling face. */
export function isFaceCrop(size, detections, detectedIn, rule) {
  const [bw, bh] = detectedIn ?? size;
  if (Math.max(...size) <= rule.crop_max_side) {
    const side = rule.small_crop_min_fill * Math.max(bw, bh);
    return detections.length > 0 && Math.max(detections[0].box[2], detections[0].box[3]) >= side;
  }
  if (detections.length !== 1) return false;
  const [, , w, h] = detections[0].box;
  return w >= rule.crop_min_fill * bw && h >= rule.crop_min_fill * bh;
}
