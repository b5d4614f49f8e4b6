// Pixel images and the Pillow operations the pipeline uses, ported to give the same bytes.
// An image is {width, height, channels (1 = "L", 3 = "RGB", 4 = "RGBA"), data: Uint8Array}.
// Each function names the Pillow call it reproduces; the parity tests compare them stage by stage.

export function makeImage(width, height, channels, data) {
  return { width, height, channels, data: data ?? new Uint8Array(width * height * channels) };
}

/** Image.convert("L") from RGB: ITU-R 601-2 luma in Pillow's fixed point (Convert.c rgb2l). */
export function toL(image) {
  if (image.channels === 1) return image;
  if (image.channels !== 3) throw new Error("toL expects an RGB image");
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const d = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (d[j] * 19595 + d[j + 1] * 38470 + d[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return makeImage(image.width, image.height, 1, out);
}

/** L -> RGB (Pillow copies the grey level into each band). */
export function grayToRGB(image) {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = image.data[i];
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return makeImage(image.width, image.height, 3, out);
}

// Pillow's alpha_composite of RGBA over an opaque grey background, then convert("RGB"):
// AlphaComposite.c with the destination alpha 255 (7 fractional bits, SHIFTFORDIV255).
function compositeOnGrey(image, background) {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const a = d[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      if (a === 0) {
        out[3 * i + c] = background;
        continue;
      }
      const t = (d[4 * i + c] * a + background * (255 - a)) * 128 + (0x80 << 7);
      out[3 * i + c] = (((t >>> 8) + t) >>> 8) >>> 7;
    }
  }
  return makeImage(image.width, image.height, 3, out);
}

/** preprocess.to_rgb: alpha composited on the model's background, grey expanded to RGB. */
export function toRGB(image, alphaBackground = 255) {
  if (image.channels === 3) return image;
  if (image.channels === 4) return compositeOnGrey(image, alphaBackground);
  if (image.channels === 1) return grayToRGB(image);
  throw new Error(`unsupported channel count ${image.channels}`);
}

/** Image.crop(box): pixels outside the source are black. */
export function crop(image, left, top, right, bottom) {
  const w = Math.max(0, right - left);
  const h = Math.max(0, bottom - top);
  const c = image.channels;
  const out = makeImage(w, h, c);
  const x0 = Math.max(0, left);
  const x1 = Math.min(image.width, right);
  if (x1 <= x0) return out;
  for (let y = Math.max(0, top); y < Math.min(image.height, bottom); y++) {
    const src = (y * image.width + x0) * c;
    out.data.set(image.data.subarray(src, src + (x1 - x0) * c), ((y - top) * w + (x0 - left)) * c);
  }
  return out;
}

// Reduce.c division_UINT32: float32 arithmetic, as in C.
function multiplierFor(count) {
  return Math.floor(Math.fround(Math.fround(2 ** 32) / Math.fround(256 * count)));
}

// Reduce.c's rounding: (sum + count / 2) * multiplier >> 24.
function store(od, dst, sum, count, mult) {
  od[dst] = Math.floor(((sum + (count >>> 1)) * mult) / 16777216);
}

/** Image.reduce(factor): box average of factor x factor blocks, partial blocks at the edges. */
export function reduce(image, factor) {
  if (factor <= 1) return image;
  if (factor === 2 && image.channels === 3) return reduce2RGB(image);
  const { width, height, channels: c, data } = image;
  const ow = Math.ceil(width / factor);
  const oh = Math.ceil(height / factor);
  const out = makeImage(ow, oh, c);
  const od = out.data;
  const stride = width * c;
  const sums = new Uint32Array(ow * c);
  for (let oy = 0; oy < oh; oy++) {
    const y0 = oy * factor;
    const y1 = Math.min(height, y0 + factor);
    sums.fill(0);
    for (let y = y0; y < y1; y++) {
      let p = y * stride;
      for (let ox = 0; ox < ow; ox++) {
        const x1 = Math.min(width, (ox + 1) * factor);
        const o = ox * c;
        if (c === 3) {
          // the photo case, unrolled: a 2000x1500 working copy is reduced for each detector
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          for (let x = ox * factor; x < x1; x++, p += 3) {
            s0 += data[p];
            s1 += data[p + 1];
            s2 += data[p + 2];
          }
          sums[o] += s0;
          sums[o + 1] += s1;
          sums[o + 2] += s2;
          continue;
        }
        for (let x = ox * factor; x < x1; x++) {
          for (let ch = 0; ch < c; ch++) sums[o + ch] += data[p + ch];
          p += c;
        }
      }
    }
    const rows = y1 - y0;
    for (let ox = 0; ox < ow; ox++) {
      const count = (Math.min(width, (ox + 1) * factor) - ox * factor) * rows;
      const mult = multiplierFor(count);
      const o = ox * c;
      const dst = (oy * ow + ox) * c;
      for (let ch = 0; ch < c; ch++) store(od, dst + ch, sums[o + ch], count, mult);
    }
  }
  return out;
}

// reduce(image, 2) for RGB, the letterbox's usual case: whole 2x2 blocks summed straight into
// the output (the same sums and rounding as the general loop), an edge column or row on its own.
function reduce2RGB(image) {
  const { width, height, data } = image;
  const ow = Math.ceil(width / 2);
  const oh = Math.ceil(height / 2);
  const out = makeImage(ow, oh, 3);
  const od = out.data;
  const stride = width * 3;
  const m4 = multiplierFor(4);
  const fullW = width >> 1;
  for (let oy = 0; oy < oh; oy++) {
    const y0 = 2 * oy;
    const r0 = y0 * stride;
    const rows = y0 + 1 < height ? 2 : 1;
    const r1 = rows === 2 ? r0 + stride : r0;
    let dst = oy * ow * 3;
    if (rows === 2) {
      for (let ox = 0, p = 0; ox < fullW; ox++, p += 6) {
        const a = r0 + p;
        const b = r1 + p;
        od[dst++] = Math.floor(((data[a] + data[a + 3] + data[b] + data[b + 3] + 2) * m4) / 16777216);
        od[dst++] = Math.floor(((data[a + 1] + data[a + 4] + data[b + 1] + data[b + 4] + 2) * m4) / 16777216);
        od[dst++] = Math.floor(((data[a + 2] + data[a + 5] + data[b + 2] + data[b + 5] + 2) * m4) / 16777216);
      }
    } else {
      const m2 = multiplierFor(2);
      for (let ox = 0, p = 0; ox < fullW; ox++, p += 6) {
        const a = r0 + p;
        for (let ch = 0; ch < 3; ch++) store(od, dst++, data[a + ch] + data[a + 3 + ch], 2, m2);
      }
    }
    if (width & 1) {
      const a = r0 + (width - 1) * 3;
      const count = rows;
      const m = multiplierFor(count);
      for (let ch = 0; ch < 3; ch++) store(od, dst++, data[a + ch] + (rows === 2 ? data[a + stride + ch] : 0), count, m);
    }
  }
  return out;
}

const PRECISION_BITS = 22;

// Resample.c precompute_coeffs for the bilinear filter (support 1), then normalize_coeffs_8bpc.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      let t = (x + xmin - center + 0.5) * ss;
      if (t < 0) t = -t;
      const w = t < 1.0 ? 1.0 - t : 0.0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? k[x] / ww : k[x];
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const HALF = 1 << (PRECISION_BITS - 1);

function clip8(ss) {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// One pass along rows (horizontal) or columns (vertical) of a W x H image with c channels: the
// same integer sums as Resample.c's ImagingResampleHorizontal/Vertical_8bpc, in that order.
function pass(image, outSize, along) {
  const { width, height, channels: c, data } = image;
  const horizontalPass = along === "h";
  const inSize = horizontalPass ? width : height;
  const { ksize, bounds, kk } = coefficients(inSize, outSize);
  const ow = horizontalPass ? outSize : width;
  const oh = horizontalPass ? height : outSize;
  const out = makeImage(ow, oh, c);
  const od = out.data;
  // step between successive taps, and between successive output lines
  const tap = horizontalPass ? c : width * c;
  const lines = horizontalPass ? height : width;
  const lineIn = horizontalPass ? width * c : c;
  const lineOut = horizontalPass ? ow * c : c;
  const outStep = horizontalPass ? c : width * c;
  for (let o = 0; o < outSize; o++) {
    const min = bounds[2 * o];
    const n = bounds[2 * o + 1];
    const kb = o * ksize;
    for (let line = 0; line < lines; line++) {
      const base = line * lineIn + min * tap;
      const dst = line * lineOut + o * outStep;
      if (c === 3) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0, p = base; x < n; x++, p += tap) {
          const k = kk[kb + x];
          s0 += data[p] * k;
          s1 += data[p + 1] * k;
          s2 += data[p + 2] * k;
        }
        od[dst] = clip8(s0);
        od[dst + 1] = clip8(s1);
        od[dst + 2] = clip8(s2);
      } else {
        for (let ch = 0; ch < c; ch++) {
          let ss = HALF;
          for (let x = 0, p = base + ch; x < n; x++, p += tap) ss += data[p] * kk[kb + x];
          od[dst + ch] = clip8(ss);
        }
      }
    }
  }
  return out;
}

const horizontal = (image, outW) => pass(image, outW, "h");
const vertical = (image, outH) => pass(image, outH, "v");

/**
 * Resample.c's rule for the order of the two passes (Pillow 13, ImagingResampleInner): the
 * vertical pass runs first when the height shrinks by more than twice as many pixels as the
 * width does. The order moves pixels by +-1, so it must be Pillow's.
 */
export function horizontalFirst(inW, inH, outW, outH) {
  return !(inH - outH > 0 && inH - outH > (inW - outW) * 2);
}

/**
 * Image.resize(size, BILINEAR) for L/RGB: two fixed-point passes in Pillow's order (see
 * horizontalFirst), a pass skipped when its side is unchanged. `order` ("hv" or "vh") forces an
 * order, for the test that shows the rule matters.
 */
export function resizeBilinear(image, outW, outH, order = null) {
  if (image.width === outW && image.height === outH) return image;
  const needH = outW !== image.width;
  const needV = outH !== image.height;
  const hFirst = order ? order === "hv" : horizontalFirst(image.width, image.height, outW, outH);
  if (!hFirst) {
    const v = needV ? vertical(image, outH) : image;
    return needH ? horizontal(v, outW) : v;
  }
  const h = needH ? horizontal(image, outW) : image;
  return needV ? vertical(h, outH) : h;
}

/** Image.rotate(angle, BILINEAR) about the centre, same size, black outside (Geometry.c). */
export function rotateBilinear(image, angleDegrees) {
  let angle = angleDegrees % 360.0;
  if (angle < 0) angle += 360.0; // Python's float modulo is never negative here
  if (angle === 0) return image;
  const { width: w, height: h, channels: c, data } = image;
  const rad = -(angle * (Math.PI / 180));
  const round15 = (v) => Number(v.toFixed(15));
  const a = round15(Math.cos(rad));
  const b = round15(Math.sin(rad));
  const d = round15(-Math.sin(rad));
  const e = round15(Math.cos(rad));
  const cx = w / 2;
  const cy = h / 2;
  const a2 = a * -cx + b * -cy + 0.0 + cx;
  const a5 = d * -cx + e * -cy + 0.0 + cy;
  const out = makeImage(w, h, c);
  const od = out.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xin0 = x + 0.5;
      const yin0 = y + 0.5;
      let xin = a * xin0 + b * yin0 + a2;
      let yin = d * xin0 + e * yin0 + a5;
      if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h) continue;
      xin -= 0.5;
      yin -= 0.5;
      const xi = xin < 0 ? Math.floor(xin) : Math.trunc(xin);
      const yi = yin < 0 ? Math.floor(yin) : Math.trunc(yin);
      const dx = xin - xi;
      const dy = yin - yi;
      const x0 = xi < 0 ? 0 : xi < w ? xi : w - 1;
      const x1 = xi + 1 < 0 ? 0 : xi + 1 < w ? xi + 1 : w - 1;
      const r0 = (yi < 0 ? 0 : yi < h ? yi : h - 1) * w;
      const hasR1 = yi + 1 >= 0 && yi + 1 < h;
      const r1 = (yi + 1) * w;
      for (let ch = 0; ch < c; ch++) {
        const p0 = data[(r0 + x0) * c + ch];
        const p1 = data[(r0 + x1) * c + ch];
        const v1 = p0 + (p1 - p0) * dx;
        let v2 = v1;
        if (hasR1) {
          const q0 = data[(r1 + x0) * c + ch];
          const q1 = data[(r1 + x1) * c + ch];
          v2 = q0 + (q1 - q0) * dx;
        }
        od[(y * w + x) * c + ch] = Math.trunc(v1 + (v2 - v1) * dy);
      }
    }
  }
  return out;
}

/** ImageOps.exif_transpose for EXIF orientations 2..8 (1 and unknown: unchanged). */
export function exifTranspose(image, orientation) {
  if (!(orientation >= 2 && orientation <= 8)) return image;
  const { width: W, height: H, channels: c, data } = image;
  const swap = orientation >= 5;
  const ow = swap ? H : W;
  const oh = swap ? W : H;
  const src = {
    2: (x, y) => [W - 1 - x, y],
    3: (x, y) => [W - 1 - x, H - 1 - y],
    4: (x, y) => [x, H - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, H - 1 - x],
    7: (x, y) => [W - 1 - y, H - 1 - x],
    8: (x, y) => [W - 1 - y, x],
  }[orientation];
  const out = makeImage(ow, oh, c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = src(x, y);
      const s = (sy * W + sx) * c;
      const o = (y * ow + x) * c;
      for (let ch = 0; ch < c; ch++) out.data[o + ch] = data[s + ch];
    }
  }
  return out;
}

// Where the page is cross-origin isolated, the working copy (dropOpaqueAlpha's output: every
// decoded photo and camera frame) lives in shared memory, so that the inference worker hands it
// to its detector helper without a copy (a 2000x1500 copy cost ~3.5 ms on each side).
const WorkingBuffer = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function" ? SharedArrayBuffer : ArrayBuffer;

/** RGBA with every alpha 255 -> RGB (what Pillow decodes an opaque picture as). One pass: four
 *  pixels are four words read and three written (little-endian), given up at the first alpha
 *  below 255 (then the image is returned as it is). */
export function dropOpaqueAlpha(image) {
  if (image.channels !== 4) return image;
  const d = image.data;
  const n = image.width * image.height;
  const buffer = new WorkingBuffer(Math.ceil((n * 3) / 4) * 4);
  const out = new Uint8Array(buffer, 0, n * 3);
  const quads = n >> 2;
  if (d.byteOffset % 4 === 0) {
    const words = new Uint32Array(d.buffer, d.byteOffset, n);
    const packed = new Uint32Array(buffer, 0, quads * 3);
    for (let q = 0, i = 0, k = 0; q < quads; q++, i += 4, k += 3) {
      const v0 = words[i];
      const v1 = words[i + 1];
      const v2 = words[i + 2];
      const v3 = words[i + 3];
      if ((v0 & v1 & v2 & v3) >>> 24 !== 255) return image;
      packed[k] = (v0 & 0xffffff) | (v1 << 24);
      packed[k + 1] = ((v1 >>> 8) & 0xffff) | (v2 << 16);
      packed[k + 2] = ((v2 >>> 16) & 0xff) | (v3 << 8);
    }
  } else {
    for (let i = 0, j = 0, k = 0; i < quads * 4; i++, j += 4, k += 3) {
      if (d[j + 3] !== 255) return image;
      out[k] = d[j];
      out[k + 1] = d[j + 1];
      out[k + 2] = d[j + 2];
    }
  }
  for (let i = quads * 4, j = 4 * i, k = 3 * i; i < n; i++, j += 4, k += 3) {
    if (d[j + 3] !== 255) return image;
    out[k] = d[j];
    out[k + 1] = d[j + 1];
    out[k + 2] = d[j + 2];
  }
  return makeImage(image.width, image.height, 3, out);
}
