"""Speed of the in-browser app against the Python pipeline, in one run on one machine.

    python -m edge_emotion.benchmarks.web_browser OUT_DIR [--repeats 15]

Whole photos (astronaut 512 px PNG, a 640 px JPEG, a 12 MP JPEG), median of `--repeats` calls of
`window.edgeEmotion.analyze(blob)` in headless chromium (`edge-emotion-serve --in-browser`) vs
`PhotoClassifier.analyze(path)` in Python (1 interpreter thread each; both run the two fused
detectors at once on two cores: Python on a helper thread, the page in a second Web Worker),
with the page's median ms per stage (decode, detect, classify); camera fps with chromium's fake
640x480 device; cold load to the first answer without and with the service worker's cache.
Writes OUT_DIR/results.json, README.md and two screenshots (desktop camera, phone-width upload).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
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
    "(async () => { await window.edgeEmotion.ready;"
    " const times = [], decode = [], stages = []; let r;"
    " for (let i = 0; i < n; i++) { const t = performance.now();"
    "  r = await window.edgeEmotion.analyze(new Blob([bytes]));"
    "  times.push(performance.now() - t); decode.push(r.ms.decode); stages.push(r.ms); }"
    " const { decodeSource } = await import('./decode.js');"
    " const how = (await decodeSource(new Blob([bytes]), { keep: (await window.edgeEmotion.ready)"
    ".photo_long_side })).decoder;"
    " return {times, decode, stages, how, result: r}; })()"
    ".then(done, e => done({error: String(e)}));"
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


def measure_page(driver: Any, url: str, paths: dict[str, Path], repeats: int, out: Path) -> dict:
    """Cold and warm first answers, per-photo analyze() times, camera fps, two screenshots."""
    astro64 = base64.b64encode((SHARED / "astronaut.png").read_bytes()).decode()
    driver.get(url)
    cold = driver.execute_async_script(FIRST_ANSWER, astro64)
    time.sleep(1.0)  # the service worker installs and caches the app
    driver.get(url)
    warm = driver.execute_async_script(FIRST_ANSWER, astro64)
    times, decode = {}, {}
    for name, path in paths.items():
        data = base64.b64encode(path.read_bytes()).decode()
        timed = driver.execute_async_script(TIME_ANALYZE, data, repeats + 1)
        times[name] = timed["times"][1:]
        stages = timed["stages"][1:]
        decode[name] = {
            "ms": statistics.median(timed["decode"][1:]),
            "how": timed["how"],
            "stages": {k: round(statistics.median(s[k] for s in stages), 2) for k in stages[0]},
        }
    driver.find_element("id", "camera").click()
    time.sleep(6.0)
    stats = driver.find_element("id", "stats")
    camera = {"fps": float(stats.get_attribute("data-fps")), "text": stats.text}
    driver.save_screenshot(str(out / "web-camera-desktop.png"))
    driver.find_element("id", "camera").click()
    driver.set_window_size(412, 915)
    driver.get(url)
    time.sleep(1.0)
    driver.find_element("id", "file").send_keys(str(SHARED / "astronaut.png"))
    time.sleep(2.0)
    driver.save_screenshot(str(out / "web-upload-phone.png"))
    return {
        "times": times,
        "decode": decode,
        "camera": camera,
        "cold": cold,
        "warm": warm,
        "version": driver.capabilities.get("browserVersion", "?"),
    }


def report(out: Path, py: dict[str, list[float]], page: dict, repeats: int) -> str:
    """results.json and README.md of one run; returns the README text."""
    rows = []
    for name, times in page["times"].items():
        p, w = statistics.median(py[name]), statistics.median(times)
        decode = page["decode"][name]
        rows.append(
            {
                "photo": name,
                "python_ms": round(p, 2),
                "browser_ms": round(w, 2),
                "ratio": round(w / p, 2),
                "browser_decode_ms": round(decode["ms"], 2),
                "browser_decoder": decode["how"],
                "browser_median_stage_ms": decode["stages"],
            }
        )
    load = [round(v, 2) for v in os.getloadavg()]
    camera, version = page["camera"], page["version"]
    results = {
        "load_average_1_5_15": load,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "chromium": version,
        "repeats": repeats,
        "photos": rows,
        "camera_640x480": camera,
        "cold_load_to_first_answer_ms": {
            "no_cache": round(page["cold"], 1),
            "service_worker_cache": round(page["warm"], 1),
        },
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# In-browser app vs the Python pipeline (one run, one machine)",
        "",
        f"Command: `python -m edge_emotion.benchmarks.web_browser benchmarks/results/web` "
        f"(headless chromium {version}, {repeats} calls each, median; Python with 1 thread per "
        "interpreter, its two detectors on two cores; the page with its second detector in a "
        "second worker; "
        f"load average {load[0]} on a machine shared with other jobs: ratios move run to run).",
        "",
        "| photo | Python ms | browser ms | browser / Python | browser decode (how) "
        "| browser detect | browser classify |",
        "|---|---:|---:|---:|---|---:|---:|",
        *[
            f"| {r['photo']} | {r['python_ms']} | {r['browser_ms']} | {r['ratio']}x "
            f"| {r['browser_decode_ms']} ms ({r['browser_decoder']}) "
            f"| {r['browser_median_stage_ms']['detect']} ms "
            f"| {r['browser_median_stage_ms']['classify']} ms |"
            for r in rows
        ],
        "",
        f"Camera 640x480 (fake device, one frame in flight): {camera['fps']:.1f} fps; "
        f"{camera['text']}.",
        "",
        f"Cold load to the first answer (astronaut): {page['cold']:.0f} ms without a cache, "
        f"{page['warm']:.0f} ms with the service worker's cache.",
        "",
        "Screenshots: `web-camera-desktop.png`, `web-upload-phone.png`.",
    ]
    text = "\n".join(lines) + "\n"
    (out / "README.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_serve_browser import write_y4m

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = photos(folder)
        py = python_times(paths, args.repeats)
        frame = Image.new("RGB", (640, 480), (40, 40, 40))
        face = Image.open(SHARED / "astronaut.png").convert("RGB").resize((360, 360))
        frame.paste(face, (140, 60))
        video = write_y4m(folder / "face.y4m", frame, frames=30)
        with ServerProcess(["--in-browser", "--no-access-log"], log=folder / "serve.log") as server:
            driver = browser(video, folder / "profile")
            try:
                page = measure_page(driver, server.url, paths, args.repeats, args.out)
            finally:
                driver.quit()
    print(report(args.out, py, page, args.repeats))


if __name__ == "__main__":
    main()
