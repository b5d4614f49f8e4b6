"""Speed of the in-browser app against the Python pipeline, in one run on one machine.

    python -m edge_emotion.benchmarks.web_browser OUT_DIR [--repeats 15]

Whole photos (astronaut 512 px PNG, a 640 px JPEG, a 12 MP JPEG), median of `--repeats` calls of
`window.edgeEmotion.analyze(blob)` in headless chromium (`edge-emotion-serve --in-browser`) vs
`PhotoClassifier.analyze(path)` in Python (1 interpreter thread, the page's WASM is
single-threaded); camera fps with chromium's fake 640x480 device; cold load to the first answer
without and with the service worker's cache. Writes OUT_DIR/results.json, README.md and two
screenshots (desktop camera, phone-width upload).
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from edge_emotion.benchmarks.serve_load import ServerProcess

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
)
TIME_ANALYZE = (
    "const [data, n, done] = arguments;"
    "const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));"
    "(async () => { await window.edgeEmotion.ready; const times = []; let r;"
    " for (let i = 0; i < n; i++) { const t = performance.now();"
    "  r = await window.edgeEmotion.analyze(new Blob([bytes]));"
    "  times.push(performance.now() - t); }"
    " return {times, result: r}; })().then(done, e => done({error: String(e)}));"
)
FIRST_ANSWER = (
    "const [data, done] = arguments;"
    "const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));"
    "(async () => { while (!window.edgeEmotion) await new Promise(r => setTimeout(r, 5));"
    " await window.edgeEmotion.analyze(new Blob([bytes])); return performance.now(); })()"
    ".then(done, e => done(-1));"
)


def photos(folder: Path) -> dict[str, Path]:
    astro = Image.open(SHARED / "astronaut.png").convert("RGB")
    jpeg640 = folder / "astronaut-640x480.jpg"
    frame = Image.new("RGB", (640, 480), (60, 60, 60))
    frame.paste(astro.resize((400, 400)), (120, 40))
    frame.save(jpeg640, quality=90)
    big = folder / "scene-4000x3000.jpg"
    scene = Image.new("RGB", (4000, 3000), (70, 80, 90))
    scene.paste(astro.resize((1400, 1400)), (1300, 700))
    scene.save(big, quality=90)
    return {
        "astronaut.png (512 px)": SHARED / "astronaut.png",
        "640x480 JPEG": jpeg640,
        "4000x3000 JPEG (12 MP)": big,
    }


def python_times(paths: dict[str, Path], repeats: int) -> dict[str, list[float]]:
    from edge_emotion_runtime.photo import PhotoClassifier

    photo = PhotoClassifier.load(threads=1, quiet=True)
    out = {}
    for name, path in paths.items():
        photo.analyze(path)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            photo.analyze(path)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = times
    return out


def browser(video: Path, profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--use-file-for-fake-video-capture={video}")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1000,900")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(300)
    return driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_serve_browser import write_y4m

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = photos(folder)
        py = python_times(paths, args.repeats)
        frame = Image.new("RGB", (640, 480), (40, 40, 40))
        frame.paste(
            Image.open(SHARED / "astronaut.png").convert("RGB").resize((360, 360)), (140, 60)
        )
        video = write_y4m(folder / "face.y4m", frame, frames=30)
        astro64 = base64.b64encode((SHARED / "astronaut.png").read_bytes()).decode()
        with ServerProcess(["--in-browser", "--no-access-log"], log=folder / "serve.log") as server:
            driver = browser(video, folder / "profile")
            try:
                driver.get(server.url)
                cold = driver.execute_async_script(FIRST_ANSWER, astro64)
                time.sleep(1.0)  # the service worker installs and caches the app
                driver.get(server.url)
                warm = driver.execute_async_script(FIRST_ANSWER, astro64)
                web = {}
                for name, path in paths.items():
                    data = base64.b64encode(path.read_bytes()).decode()
                    got = driver.execute_async_script(TIME_ANALYZE, data, args.repeats + 1)
                    web[name] = got["times"][1:]
                    web[name + " result"] = got["result"]
                driver.find_element("id", "camera").click()
                time.sleep(6.0)
                stats = driver.find_element("id", "stats")
                camera = {"fps": float(stats.get_attribute("data-fps")), "text": stats.text}
                driver.save_screenshot(str(args.out / "web-camera-desktop.png"))
                driver.find_element("id", "camera").click()
                driver.set_window_size(412, 915)
                driver.get(server.url)
                time.sleep(1.0)
                driver.find_element("id", "file").send_keys(str(SHARED / "astronaut.png"))
                time.sleep(2.0)
                driver.save_screenshot(str(args.out / "web-upload-phone.png"))
                version = driver.capabilities.get("browserVersion", "?")
            finally:
                driver.quit()
    rows = []
    for name in paths:
        p, w = statistics.median(py[name]), statistics.median(web[name])
        rows.append(
            {
                "photo": name,
                "python_ms": round(p, 2),
                "browser_ms": round(w, 2),
                "ratio": round(w / p, 2),
            }
        )
    results = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "chromium": version,
        "repeats": args.repeats,
        "photos": rows,
        "camera_640x480": camera,
        "cold_load_to_first_answer_ms": {
            "no_cache": round(cold, 1),
            "service_worker_cache": round(warm, 1),
        },
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# In-browser app vs the Python pipeline (one run, one machine)",
        "",
        f"Command: `python -m edge_emotion.benchmarks.web_browser benchmarks/results/web` "
        f"(headless chromium {version}, {args.repeats} calls each, median; Python with 1 thread).",
        "",
        "| photo | Python ms | browser ms | browser / Python |",
        "|---|---:|---:|---:|",
        *[f"| {r['photo']} | {r['python_ms']} | {r['browser_ms']} | {r['ratio']}x |" for r in rows],
        "",
        f"Camera 640x480 (fake device, one frame in flight): {camera['fps']:.1f} fps; "
        f"{camera['text']}.",
        "",
        f"Cold load to the first answer (astronaut): {cold:.0f} ms without a cache, "
        f"{warm:.0f} ms with the service worker's cache.",
        "",
        "Screenshots: `web-camera-desktop.png`, `web-upload-phone.png`.",
    ]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
