// Offline after the first visit: every file of the app is cached at install and served from the
// cache first (the network only fills in what the cache lacks). Bump VERSION with the app.
const VERSION = "edge-emotion-web-2";
const APP = [
  "./", "index.html", "style.css", "app.js", "worker.js", "decode.js", "image.js", "detector.js",
  "crop.js", "metadata.js", "photo.js", "litert.js", "config.json",
  "vendor/litert/index.js", "vendor/litert/wasm-utils.js",
];
const WASM = ["litert_wasm_internal", "litert_wasm_compat_internal"].flatMap((n) =>
  [".js", ".mjs", ".wasm"].map((ext) => `vendor/litert/${n}${ext}`),
);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(VERSION);
      const config = await (await fetch("config.json")).json();
      const models = [config.model, ...Object.values(config.detectors).map((d) => d.filename)];
      await cache.addAll([...APP, ...WASM, ...models]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== VERSION) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(VERSION);
      const hit = await cache.match(event.request, { ignoreSearch: true });
      if (hit) return hit;
      const response = await fetch(event.request);
      if (response.ok) cache.put(event.request, response.clone());
      return response;
    })(),
  );
});
