"""Dump the Python runtime's tensors stage by stage for the Node parity tests (run at test time).

Usage: python dump_python.py OUT_DIR  -> OUT_DIR/manifest.json + one .bin per array.
Images: the shared photos and non-face set plus generated cases (rotated EXIF, grayscale, RGBA,
64..4000 px, several faces), written to OUT_DIR/images/.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from edge_emotion_runtime.crop import crop_face
from edge_emotion_runtime.detector import letterbox
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.preprocess import PHOTO_LONG_SIDE, _target, to_rgb

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "photos"
FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"
if (SHARED / "astronaut.png").is_file():
    ASTRONAUT, CAMERA = SHARED / "astronaut.png", SHARED / "camera.png"
    PHOTOS = sorted(SHARED.glob("*.png")) + sorted((SHARED / "nonface").glob("*.*"))
else:  # a fresh clone without ../shared: the committed public-domain fixtures
    ASTRONAUT = FIXTURES / "photos" / "astronaut-256.jpg"
    CAMERA = FIXTURES / "photos" / "camera-face-200.jpg"
    PHOTOS = sorted((FIXTURES / "photos").glob("*.jpg")) + sorted((FIXTURES / "nonface").glob("*"))


def generated(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    astro = Image.open(ASTRONAUT).convert("RGB")
    camera = Image.open(CAMERA).convert("RGB")
    out = []

    def save(name: str, image: Image.Image, **kw) -> None:
        image.save(folder / name, **kw)
        out.append(folder / name)

    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        turn = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90}
        turned = astro.transpose(turn.get(orientation, Image.Transpose.ROTATE_270))
        save(f"exif{orientation}.jpg", turned.resize((515, 517)), exif=exif, quality=90)
    save("gray.png", astro.convert("L"))
    rgba = astro.convert("RGBA")
    alpha = Image.new("L", astro.size, 255)
    alpha.paste(0, (0, 0, 512, 60))
    alpha.paste(128, (0, 440, 512, 512))
    rgba.putalpha(alpha)
    save("rgba.png", rgba)
    for side in (64, 200, 900):
        save(f"size{side}.png", astro.resize((side, side), Image.Resampling.BILINEAR))
    save("wide1500x700.jpg", astro.resize((700, 700)).crop((-400, 0, 1100, 700)), quality=92)
    save("big4000x3000.jpg", astro.resize((3000, 3000)).crop((-500, 0, 3500, 3000)), quality=90)
    # taller than 2:1: the letterbox resize runs Pillow's vertical pass first
    portrait = Image.new("RGB", (400, 900), (70, 80, 90))
    portrait.paste(astro.resize((400, 400)), (0, 250))
    save("portrait400x900.jpg", portrait, quality=90)
    # 1/4 draft scale, where the reduce factor taken from the decoded (not the file's) size is 2
    pano = Image.new("RGB", (10238, 1000), (120, 110, 100))
    pano.paste(astro.resize((1000, 1000)), (4600, 0))
    save("pano10238x1000.jpg", pano, quality=85)
    tall = astro.resize((1500, 1500)).crop((0, -250, 1500, 1750))
    save("tall1500x2000.png", tall)
    many = Image.new("RGB", (1400, 600), (90, 90, 90))
    many.paste(astro.resize((400, 400)), (20, 100))
    many.paste(camera.resize((380, 380)), (480, 110))
    many.paste(astro.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((300, 300)), (1000, 20))
    save("three_faces.jpg", many, quality=92)
    save("tilted.png", astro.rotate(17, resample=Image.Resampling.BICUBIC))
    return out


def raw_decode(path: Path) -> tuple[np.ndarray, int]:
    """The file decoded as load_image decodes it, before its integer reduce and EXIF turn."""
    image = Image.open(path)
    target = _target(image.size, PHOTO_LONG_SIDE)
    if image.format == "JPEG" and image.mode in ("L", "RGB"):
        image.draft(image.mode, target)
    image.load()
    orientation = int(image.getexif().get(0x0112, 1))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "LA":
        image = image.convert("RGBA")
    return np.asarray(image), orientation


def draft_sizes(count: int = 400, seed: int = 5) -> list[list[int]]:
    """[width, height, drafted width, drafted height] from Pillow's own JpegImagePlugin.draft for
    random sizes above 2 * PHOTO_LONG_SIDE: an 8x8 JPEG whose start-of-frame header is rewritten
    to each size (draft reads only the header)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    small = buffer.getvalue()
    sof = small.index(b"\xff\xc0") + 5
    rng = np.random.default_rng(seed)
    sizes = [(10238, 1000), (1000, 10238), (3001, 2251), (2561, 2561), (40000, 1000)]
    while len(sizes) < count:
        w, h = (int(v) for v in rng.integers(1, 14000, size=2))
        if max(w, h) > 2 * PHOTO_LONG_SIDE and w * h <= 40_000_000:
            sizes.append((w, h))
    rows = []
    for w, h in sizes:
        data = small[:sof] + h.to_bytes(2, "big") + w.to_bytes(2, "big") + small[sof + 4 :]
        image = Image.open(io.BytesIO(data))
        image.draft(image.mode, _target(image.size, PHOTO_LONG_SIDE))
        rows.append([w, h, *image.size])
    return rows


def resize_cases(dump, count: int = 80, seed: int = 7) -> list[dict]:
    """Pillow's Image.resize(BILINEAR) on random L/RGB images and sizes, half of them shrinking
    the height by more than twice the width's shrink (where Pillow 13 runs the vertical pass
    first): [source, resized] arrays for the page's resizeBilinear."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        w, h = (int(v) for v in rng.integers(2, 260, size=2))
        if i % 2:  # vertical first: h - oh > 2 * (w - ow) > ... and h - oh > 0
            ow = int(rng.integers(max(1, w - 40), w + 40))
            oh = int(rng.integers(1, max(2, h - max(0, 2 * (w - ow)))))
        else:
            ow, oh = (int(v) for v in rng.integers(1, 300, size=2))
        mode = "L" if i % 3 == 0 else "RGB"
        pixels = rng.integers(0, 256, size=(h, w) if mode == "L" else (h, w, 3), dtype=np.uint8)
        source = Image.fromarray(pixels)
        out = source.resize((ow, oh), Image.Resampling.BILINEAR)
        cases.append({"source": dump(pixels), "resized": dump(np.asarray(out))})
    return cases


def _det(d) -> dict:
    return {
        "box": list(d.box),
        "score": d.score,
        "keypoints": [list(k) for k in d.keypoints],
        "source": d.source,
    }


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    photos = [p for p in PHOTOS if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    photos += generated(out / "images")
    photo = PhotoClassifier.load(quiet=True)
    # The options a build can set (edge-emotion-serve --build-web --no-mirror --min-confidence).
    VARIANT = {"mirror": False, "min_confidence": 0.95}
    variant = PhotoClassifier.load(quiet=True, **VARIANT)
    spec = photo.classifier.spec
    records = []
    counter = [0]

    def dump(array: np.ndarray) -> dict:
        counter[0] += 1
        name = f"a{counter[0]}.bin"
        array = np.ascontiguousarray(array)
        array.tofile(out / name)
        return {"file": name, "dtype": array.dtype.name, "shape": list(array.shape)}

    for path in photos:
        raw, orientation = raw_decode(path)
        image = photo.decode(path)
        rgb = to_rgb(image, spec.alpha_background)
        members = {}
        for name, det in photo.detector.members.items():
            tensor, box = letterbox(rgb, det.spec.input_size, det.spec.reduce_to)
            interp = det._interpreter
            interp.set_tensor(det._input_index, tensor)
            interp.invoke()
            members[name] = {
                "letterbox": dump(tensor[0]),
                "letterbox_box": [box.scale, box.pad_x, box.pad_y],
                "raw_boxes": dump(interp.get_tensor(det._boxes_index).copy()),
                "raw_scores": dump(interp.get_tensor(det._scores_index).copy()),
                # at the variant's own threshold (the stage the page's decode/NMS reproduces)
                "detections": [_det(d) for d in det.detect(rgb)],
            }
        faces = []
        for d in photo.detector.detect(rgb):
            framing = photo.framings.get(d.source) or photo.framing
            pixels = photo.face_input(rgb, d)
            crop = np.asarray(crop_face(rgb, d, framing, size=max(spec.height, spec.width)))
            faces.append(
                {
                    **_det(d),
                    "crop": dump(crop),
                    "pixels": dump(pixels),
                    "input": dump(photo.classifier.input_tensor(pixels)),
                }
            )
        result = photo.analyze(path).to_dict()
        records.append(
            {
                "name": path.name,
                "path": str(path),
                "raw": dump(raw),
                "orientation": orientation,
                "file_size": list(Image.open(path).size),
                "working": dump(np.asarray(image)),
                "rgb": dump(np.asarray(rgb)),
                "members": members,
                "detections": faces,
                "result": result,
                "variant": VARIANT,
                "variant_result": variant.analyze(path).to_dict(),
            }
        )
    manifest = {
        "images": records,
        "photo_long_side": PHOTO_LONG_SIDE,
        "drafts": draft_sizes(),
        "resizes": resize_cases(dump),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"dump: {len(records)} images -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
