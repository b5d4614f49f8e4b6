// The page's decode step: file bytes -> RGBA pixels as stored (EXIF orientation not applied: the
// pipeline applies it after its integer reduce, as Pillow's load_image does), plus the file's
// own size and orientation from its header.
//
// A JPEG that load_image would decode in Pillow's draft mode (1/2, 1/4 or 1/8 scale in the DCT
// domain) is decoded here at the same scale by WebCodecs' ImageDecoder: Chromium's libjpeg-turbo
// then runs the same scaled IDCT and upsampling as Pillow's, and its pixels are Pillow's bit for
// bit (tests/test_web_browser.py checks them). Only when the decoder returns exactly the draft
// size in an RGB layout; otherwise (no ImageDecoder, another size) the whole file is decoded and
// the pipeline box-reduces it, which differs from Pillow's draft by a few levels (README).
// An opaque PNG goes through ImageDecoder too, whole (a 512 px PNG: ~3 ms, against ~7 ms through
// createImageBitmap and a canvas; the same pixels as Pillow for grey, RGB and palette PNGs);
// other files (a smaller JPEG: ImageDecoder gives its frame as YUV; a PNG with alpha: its frame
// changes the colours of transparent pixels) go through createImageBitmap, also the fallback.

/** EXIF orientation (1..8) of a JPEG, 1 when absent or not a JPEG. */
export function exifOrientation(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 2;
  while (p + 4 <= bytes.length && bytes[p] === 0xff) {
    const marker = bytes[p + 1];
    const length = view.getUint16(p + 2);
    if (marker === 0xe1 && view.getUint32(p + 4) === 0x45786966) {
      const tiff = p + 10;
      const little = view.getUint16(tiff) === 0x4949;
      const ifd = tiff + view.getUint32(tiff + 4, little);
      const count = view.getUint16(ifd, little);
      for (let i = 0; i < count; i++) {
        const entry = ifd + 2 + 12 * i;
        if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
      }
      return 1;
    }
    if (marker === 0xda) break;
    p += 2 + length;
  }
  return 1;
}

// Start-of-frame markers (C0..CF but DHT C4, JPG C8 and DAC CC): they carry the image size.
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** [width, height] of a JPEG from its start-of-frame header, null if not a JPEG or not found
 *  in `bytes` (the file's first bytes). */
export function jpegSize(bytes) {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 2;
  while (p + 9 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (SOF.has(marker)) {
      const height = view.getUint16(p + 5);
      const width = view.getUint16(p + 7);
      return width > 0 && height > 0 ? [width, height] : null;
    }
    if (marker === 0xda || marker === 0xd9) return null;
    p += 2 + view.getUint16(p + 2);
  }
  return null;
}

/**
 * Pillow's JpegImagePlugin.draft for load_image's `keep` (a long side): the scale (1, 2, 4 or 8)
 * and the size libjpeg decodes at. preprocess._target gives the smallest size allowed; draft
 * takes the largest of 8, 4, 2, 1 not above min(width // tw, height // th), and the size
 * rounded up.
 */
export function draftSize(width, height, keep) {
  const factor = keep / Math.max(width, height);
  const tw = Math.ceil(width * factor);
  const th = Math.ceil(height * factor);
  const most = Math.min(Math.floor(width / tw), Math.floor(height / th));
  const scale = [8, 4, 2, 1].find((s) => most >= s) ?? 1;
  return { scale, width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

const RGB_LAYOUTS = new Set(["RGBA", "RGBX", "BGRA", "BGRX"]);
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A PNG without an alpha channel or tRNS transparency (ImageDecoder's frame of a PNG with alpha
 *  does not keep its colours where alpha < 255, premultiplyAlpha "none" notwithstanding). */
export function opaquePng(bytes) {
  if (bytes.length < 33 || !PNG.every((b, i) => bytes[i] === b)) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const colourType = bytes[25];
  if (colourType !== 0 && colourType !== 2 && colourType !== 3) return false;
  // chunks up to the first IDAT: tRNS (transparency) must come before it
  for (let p = 8; p + 8 <= bytes.length; ) {
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (type === "IDAT") return true;
    if (type === "tRNS") return false;
    p += 12 + view.getUint32(p);
  }
  return false;
}

/** The image decoded by WebCodecs' ImageDecoder as RGBA bytes, as stored (a frame's EXIF rotation
 *  is only metadata here): {width, height, buffer}, at exactly `size` ([w, h]) when given; null
 *  when the browser has no ImageDecoder, or it gives another size or a YUV frame. Faster than
 *  createImageBitmap and a canvas (no drawing, no premultiplied alpha). */
async function decodeFrame(bytes, type, size = null) {
  if (typeof ImageDecoder === "undefined") return null;
  let decoder = null;
  let frame = null;
  try {
    const scaled = size ? { desiredWidth: size[0], desiredHeight: size[1] } : {};
    decoder = new ImageDecoder({
      data: bytes,
      type,
      ...scaled,
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
    frame = (await decoder.decode()).image;
    const width = frame.codedWidth;
    const height = frame.codedHeight;
    if ((size && (width !== size[0] || height !== size[1])) || !RGB_LAYOUTS.has(frame.format)) return null;
    const data = new Uint8Array(width * height * 4);
    await frame.copyTo(data, { format: "RGBA", rect: { x: 0, y: 0, width, height } });
    return { width, height, buffer: data.buffer };
  } catch {
    return null;
  } finally {
    frame?.close();
    decoder?.close();
  }
}

/** Whole-file decode through createImageBitmap: pixels as stored, orientation to apply. */
async function decodeWhole(blob, orientation) {
  const options = { premultiplyAlpha: "none", colorSpaceConversion: "none" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { ...options, imageOrientation: "none" });
  } catch {
    bitmap = await createImageBitmap(blob, options);
  }
  // A browser that ignores "none" has turned the picture already: do not turn it twice.
  if (orientation >= 5 && orientation <= 8) {
    const probe = await createImageBitmap(blob, { ...options, imageOrientation: "from-image" });
    if (probe.width === bitmap.width && probe.height === bitmap.height && bitmap.width !== bitmap.height) orientation = 1;
    probe.close();
  }
  return { bitmap, orientation };
}

function bitmapPixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const out = { width: bitmap.width, height: bitmap.height, buffer: data.buffer };
  bitmap.close();
  return out;
}

/**
 * RGBA pixels of any image source, as stored, with the orientation still to apply, the file's
 * size (`fileSize`, before any scaled decode) and how it was decoded (`decoder`).
 * `keep`: the working copy's long side (config.photo_long_side), which lets a large JPEG decode
 * at Pillow's draft scale; without it the whole file is decoded.
 */
export async function decodeSource(src, { keep = null } = {}) {
  const start = performance.now();
  let blob = null;
  let path = null;
  if (typeof src === "string" || src instanceof URL) {
    path = String(src);
    const response = await fetch(src);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    blob = await response.blob();
  } else if (src instanceof Blob) {
    blob = src;
    path = src.name ?? null;
  }
  const done = (pixels, orientation, fileSize, decoder) => ({
    ...pixels,
    orientation,
    fileSize: fileSize ?? [pixels.width, pixels.height],
    decoder,
    path,
    decodeMs: performance.now() - start,
  });
  if (!blob) return done(bitmapPixels(await createImageBitmap(src)), 1, null, "bitmap");
  // one read of the blob (each read is a round trip to the browser's blob store)
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const head = bytes.subarray(0, 131072);
  let size = jpegSize(head);
  if (!size && head[0] === 0xff && head[1] === 0xd8 && bytes.length > head.length) {
    size = jpegSize(bytes); // metadata longer than the head
  }
  if (size && keep) {
    // a JPEG that load_image would draft (a whole JPEG comes out of ImageDecoder as YUV: no use)
    const draft = draftSize(size[0], size[1], keep);
    if (draft.scale > 1) {
      const pixels = await decodeFrame(bytes, "image/jpeg", [draft.width, draft.height]);
      if (pixels) return done(pixels, exifOrientation(head), size, `ImageDecoder 1/${draft.scale}`);
    }
  } else if (opaquePng(head)) {
    const pixels = await decodeFrame(bytes, "image/png");
    if (pixels) return done(pixels, 1, null, "ImageDecoder");
  }
  const { bitmap, orientation } = await decodeWhole(blob, exifOrientation(head));
  return done(bitmapPixels(bitmap), orientation, null, "createImageBitmap");
}
