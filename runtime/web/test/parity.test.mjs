// Stage-by-stage parity of the page's pipeline with the Python runtime, on the Python runtime's
// own dump of >= 20 images (shared photos, non-faces, generated EXIF/grey/RGBA/sizes/several faces).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { makeImage } from "../../edge_emotion_runtime/web/image.js";
import { letterbox, decodeBoxes, anchors, weightedNms, toDetections } from "../../edge_emotion_runtime/web/detector.js";
import { cropFace, facePixels } from "../../edge_emotion_runtime/web/crop.js";
import { readMetadata } from "../../edge_emotion_runtime/web/metadata.js";
import { PhotoClassifier, inputTensor } from "../../edge_emotion_runtime/web/photo.js";
import { createEngine } from "../../edge_emotion_runtime/web/litert.js";
import { modelPaths, nodeLiteRt, pythonDump, webConfig } from "./helpers.mjs";

const asImage = (arr, shape) => makeImage(shape[1], shape[0], shape.length === 3 ? shape[2] : 1, arr);

function maxDiff(a, b) {
  assert.equal(a.length, b.length, "lengths differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("the page's pipeline answers as the Python runtime, stage by stage", async (t) => {
  const dump = pythonDump();
  const config = webConfig();
  const paths = modelPaths();
  const litert = await nodeLiteRt();
  const modelBytes = new Uint8Array(readFileSync(paths.model));
  const metadata = await readMetadata(modelBytes);
  const engine = await createEngine(litert, new Uint8Array(readFileSync(paths.detectors[config.detector])), modelBytes);
  const photo = new PhotoClassifier({ config, metadata, engine });
  const spec = photo.detectorSpec;
  const anchorXY = anchors(spec);
  const worst = {};
  const note = (stage, d) => (worst[stage] = Math.max(worst[stage] ?? 0, d));
  const images = dump.manifest.images;
  assert.ok(images.length >= 20, `only ${images.length} images`);
  for (const rec of images) {
    const raw = asImage(dump.load(rec.raw), rec.raw.shape);
    const working = photo.workingCopy(raw, rec.orientation, rec.file_size);
    const pyWorking = dump.load(rec.working);
    note("decode (working copy)", maxDiff(working.channels === rec.working.shape[2] || rec.working.shape.length === 2 ? working.data : working.data, pyWorking));
    const rgb = asImage(dump.load(rec.rgb), rec.rgb.shape);
    const { tensor, box } = letterbox(rgb, spec.input_size);
    note("letterbox", maxDiff(tensor, dump.load(rec.letterbox)));
    assert.deepEqual([box.scale, box.padX, box.padY], rec.letterbox_box, rec.name);
    const out = await engine.detect(dump.load(rec.letterbox));
    note("detector raw boxes", maxDiff(out.boxes, dump.load(rec.raw_boxes)));
    note("detector raw scores", maxDiff(out.scores, dump.load(rec.raw_scores)));
    const decoded = decodeBoxes(dump.load(rec.raw_boxes), dump.load(rec.raw_scores), anchorXY, spec);
    const dets = toDetections(weightedNms(decoded, spec.iou_threshold), box, spec);
    assert.equal(dets.length, rec.detections.length, `${rec.name}: face count`);
    rec.detections.forEach((pd, i) => {
      const d = dets[i];
      note("detections (box, score, keypoints)", Math.max(maxDiff(d.box, pd.box), Math.abs(d.score - pd.score), maxDiff(d.keypoints.flat(), pd.keypoints.flat())));
      const pyDet = { box: pd.box, score: pd.score, keypoints: pd.keypoints };
      const crop = cropFace(rgb, pyDet, photo.framing, Math.max(photo.spec.height, photo.spec.width));
      note("face crop (eye-levelled)", maxDiff(crop.data, dump.load(pd.crop)));
      const pixels = facePixels(rgb, pyDet, photo.framing, photo.spec);
      note("face pixels (resize)", maxDiff(pixels.data, dump.load(pd.pixels)));
      const input = inputTensor(asImage(dump.load(pd.pixels), pd.pixels.shape), photo.spec, metadata.input_quantization);
      note("int8 input", maxDiff(input, dump.load(pd.input)));
    });
    const result = await photo.analyzeImage(working, { path: rec.path });
    const strip = (r) => ({ ...r, ms: null });
    try {
      assert.deepEqual(strip(result), strip(rec.result), rec.name);
      note("end to end (json)", 0);
    } catch (err) {
      note("end to end (json)", 1);
      t.diagnostic(`${rec.name}: ${err.message.slice(0, 600)}`);
    }
  }
  t.diagnostic(`${images.length} images; largest difference per stage: ${JSON.stringify(worst)}`);
  for (const [stage, d] of Object.entries(worst)) assert.equal(d, 0, `${stage} differs by ${d}`);
});
