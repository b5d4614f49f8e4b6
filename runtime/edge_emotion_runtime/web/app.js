// The page: window.edgeEmotion ({ready, analyze}), photo upload and drag-and-drop, the camera
// loop, drawing, and the service worker that keeps the app working offline.
import { decodeSource } from "./decode.js";

const $ = (id) => document.getElementById(id);
const COLOURS = { happy: "#f2b705", sad: "#3d8bfd" };
const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
const pending = new Map();
let nextId = 1;

function call(message, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...message, id }, transfer);
  });
}

worker.onmessage = ({ data }) => {
  const waiter = pending.get(data.id);
  if (!waiter) return;
  pending.delete(data.id);
  if (data.error) waiter.reject(new Error(data.error));
  else waiter.resolve(data.result ?? data.info);
};

const ready = call({ type: "hello" }).then((info) => {
  const threads = info.concurrent ? " · 2 threads" : "";
  $("model").textContent = `in-browser · ${info.arch} · BlazeFace ${info.detector} · ${info.wasm}${threads} · loaded in ${info.load_ms.toFixed(0)} ms`;
  return info;
});

/** The same object as one `edge-emotion-run --json` line, for a URL, Blob, bitmap, image or canvas. */
async function analyze(src) {
  const info = await ready;
  const raw = await decodeSource(src, { keep: info.photo_long_side });
  return call({ type: "analyze", ...raw }, [raw.buffer]);
}

window.edgeEmotion = { ready, analyze };

// ---------------------------------------------------------------- drawing
function drawFaces(ctx, faces, scale = 1) {
  ctx.lineWidth = Math.max(2, 3 * scale);
  ctx.font = `${Math.round(Math.max(14, 18 * scale))}px system-ui, sans-serif`;
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    const colour = COLOURS[face.label] ?? "#ccc";
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    const text = `${face.label} ${(face.probability * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 8;
    const th = Math.round(Math.max(18, 22 * scale));
    ctx.fillStyle = colour;
    ctx.fillRect(x, Math.max(0, y - th), tw, th);
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 4, Math.max(th - 5, y - 5));
  }
}

function listFaces(result) {
  const list = $("faces");
  list.replaceChildren(
    ...result.faces.map((f) => {
      const li = document.createElement("li");
      li.dataset.label = f.label;
      li.textContent = `${f.label} ${(f.probability * 100).toFixed(1)}% · p(happy) ${f.p_happy.toFixed(3)}`;
      return li;
    }),
  );
  if (!result.faces.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "no face found" }));
}

// ---------------------------------------------------------------- photos
async function showPhoto(file) {
  stopCamera();
  $("status").textContent = "";
  try {
    const [result, shown] = await Promise.all([analyze(file), createImageBitmap(file)]);
    const view = $("view");
    view.width = shown.width;
    view.height = shown.height;
    const ctx = view.getContext("2d");
    ctx.drawImage(shown, 0, 0);
    drawFaces(ctx, result.faces, shown.width / 640);
    $("hint").hidden = true;
    listFaces(result);
    $("stats").textContent = `${result.width}×${result.height} · ${result.faces.length} face(s) · ${result.ms.total.toFixed(1)} ms (decode ${result.ms.decode.toFixed(1)}, detect ${result.ms.detect.toFixed(1)}, classify ${result.ms.classify.toFixed(1)})`;
    $("stats").dataset.ms = result.ms.total;
  } catch (err) {
    $("status").textContent = `error: ${err.message}`;
  }
}

$("file").addEventListener("change", (e) => e.target.files[0] && showPhoto(e.target.files[0]));
const stage = $("stage");
stage.addEventListener("dragover", (e) => {
  e.preventDefault();
  stage.classList.add("drag");
});
stage.addEventListener("dragleave", () => stage.classList.remove("drag"));
stage.addEventListener("drop", (e) => {
  e.preventDefault();
  stage.classList.remove("drag");
  const file = e.dataTransfer.files[0];
  if (file) showPhoto(file);
});

// ---------------------------------------------------------------- camera
let stream = null;
let frames = [];
let lastFaces = [];

function stopCamera() {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("camera").classList.remove("on");
  $("camera").textContent = "Use camera";
}

// Two loops: drawing on every animation frame, and inference that grabs the current video frame
// as soon as the worker has answered the previous one (one frame in flight: always the latest).
function cameraLoop(video) {
  const view = $("view");
  const ctx = view.getContext("2d");
  const draw = () => {
    if (!stream) return;
    if (video.videoWidth) {
      if (view.width !== video.videoWidth) {
        view.width = video.videoWidth;
        view.height = video.videoHeight;
      }
      ctx.drawImage(video, 0, 0);
      drawFaces(ctx, lastFaces, view.width / 640);
    }
    requestAnimationFrame(draw);
  };
  const infer = async () => {
    while (stream) {
      if (!video.videoWidth) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      try {
        const bitmap = await createImageBitmap(video);
        const result = await call({ type: "frame", bitmap }, [bitmap]);
        lastFaces = result.faces;
        listFaces(result);
        const now = performance.now();
        frames = frames.filter((t) => now - t < 2000).concat(now);
        const fps = frames.length > 1 ? ((frames.length - 1) * 1000) / (now - frames[0]) : 0;
        const stats = $("stats");
        stats.dataset.fps = fps.toFixed(1);
        stats.dataset.ms = result.ms.total;
        stats.dataset.box = JSON.stringify(result.faces[0]?.box ?? null);
        stats.textContent = `camera ${result.width}×${result.height} · ${fps.toFixed(1)} fps · ${result.ms.total.toFixed(1)} ms per frame (detect ${result.ms.detect.toFixed(1)}, classify ${result.ms.classify.toFixed(1)})`;
      } catch (err) {
        $("status").textContent = `error: ${err.message}`;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  requestAnimationFrame(draw);
  infer();
}

$("camera").addEventListener("click", async () => {
  if (stream) return stopCamera();
  try {
    await ready;
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: "user" } });
    const video = $("video");
    video.srcObject = stream;
    await video.play();
    $("hint").hidden = true;
    $("camera").classList.add("on");
    $("camera").textContent = "Stop camera";
    frames = [];
    cameraLoop(video);
  } catch (err) {
    stream = null;
    $("status").textContent = `camera: ${err.message}`;
  }
});

ready.catch((err) => ($("status").textContent = `error: ${err.message}`));
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch((err) => console.warn("service worker:", err));
}
