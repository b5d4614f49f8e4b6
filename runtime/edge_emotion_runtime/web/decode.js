// The page's decode step: file bytes -> RGBA pixels as stored (EXIF orientation not applied: the
// pipeline applies it after its integer reduce, as Pillow's load_image does), plus the file's
// own size and orientation from its header.

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

/** RGBA pixels of any image source, as stored, with the orientation still to apply. */
export async function decodeSource(src) {
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
  let bitmap;
  let orientation = 1;
  if (blob) {
    orientation = exifOrientation(new Uint8Array(await blob.slice(0, 131072).arrayBuffer()));
    const options = { premultiplyAlpha: "none", colorSpaceConversion: "none" };
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
  } else {
    bitmap = await createImageBitmap(src);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const out = {
    width: bitmap.width,
    height: bitmap.height,
    buffer: data.buffer,
    orientation,
    path,
    decodeMs: performance.now() - start,
  };
  bitmap.close();
  return out;
}
