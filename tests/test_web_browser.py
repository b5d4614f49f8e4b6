"""The in-browser app end to end in headless Debian chromium: `edge-emotion-serve --in-browser`.

`window.edgeEmotion.analyze()` in the page must answer as `edge-emotion-run --json` (the Python
PhotoClassifier) on the shared photos; the fake camera (a .y4m of the astronaut) and an upload
must show a labelled box; after the server stops, a reload still classifies (service worker); no
request leaves 127.0.0.1 and the server sees no inference request.

Skips without chromium/chromedriver, node's vendored LiteRT.js (scripts/setup-web.sh) or the
serve extra, except under CI (CI=true), where their absence is a failure.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromium import new_driver, wait_for
from PIL import Image

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from edge_emotion.benchmarks.serve_load import ServerProcess
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.serve.web import VENDOR_DIR

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "photos"
FIXTURES = ROOT / "tests" / "fixtures"
# The shared photos where they are beside the checkout, else the committed public-domain ones.
HAVE_SHARED = (SHARED / "astronaut.png").is_file()
ASTRONAUT = SHARED / "astronaut.png" if HAVE_SHARED else FIXTURES / "photos" / "astronaut-256.jpg"
HAPPY_FACE = "[...document.querySelectorAll('#faces li')].some(li => li.dataset.label === 'happy')"
ANALYZE_BYTES = (
    "const [data, done] = arguments;"
    "const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));"
    "window.edgeEmotion.ready.then(() => window.edgeEmotion.analyze(new Blob([bytes])))"
    ".then(done, e => done({error: String(e.message || e)}));"
)


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (required under CI)")
        pytest.skip(why)


def shared_photos() -> list[Path]:
    if HAVE_SHARED:
        found = sorted(SHARED.glob("*.png")) + sorted((SHARED / "nonface").glob("*.*"))
    else:
        found = sorted((FIXTURES / "photos").glob("*.jpg")) + sorted(
            (FIXTURES / "nonface").glob("*")
        )
    return [p for p in found if p.suffix.lower() in (".png", ".jpg", ".jpeg")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    _need((VENDOR_DIR / "index.js").is_file(), "LiteRT.js not vendored: run scripts/setup-web.sh")
    log = tmp_path_factory.mktemp("web") / "serve.log"
    with ServerProcess(["--in-browser"], log=log) as server:
        yield server


def moving_face_y4m(path: Path, frames: int = 30) -> Path:
    """A 640x480 YUV4MPEG2 4:2:0 video of the astronaut sliding 4 px per frame (chromium's fake
    camera loops it): 'FRAME' + Y, U, V planes per frame, chroma as 2x2 means."""
    face = Image.open(ASTRONAUT).convert("RGB").resize((360, 360))
    chunks = [b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n"]
    for i in range(frames):
        frame = Image.new("RGB", (640, 480), (40, 40, 40))
        frame.paste(face, (80 + 4 * i, 60))
        ycbcr = np.asarray(frame.convert("YCbCr"))
        chroma = ycbcr[:, :, 1:].reshape(240, 2, 320, 2, 2).mean(axis=(1, 3))
        u, v = np.rint(chroma).astype(np.uint8).transpose(2, 0, 1)
        chunks.append(b"FRAME\n" + ycbcr[:, :, 0].tobytes() + u.tobytes() + v.tobytes())
    path.write_bytes(b"".join(chunks))
    return path


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    _need(bool(chromium and chromedriver), "chromium and chromium-driver are not installed")
    folder = tmp_path_factory.mktemp("web-browser")
    video = moving_face_y4m(folder / "face.y4m")
    browser = new_driver(chromium, chromedriver, folder, video, script_timeout=60)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("EDGE_EMOTION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait(driver: Any, script: str, timeout: float = 30.0) -> Any:
    state = (
        "[document.getElementById('stats').textContent,"
        " document.getElementById('status').textContent]"
    )
    return wait_for(driver, script, timeout, state)


def _open(driver: Any, url: str) -> None:
    driver.get(url)
    _wait(driver, "document.getElementById('model').textContent.startsWith('in-browser')")


def analyze_in_page(driver: Any, path: Path) -> dict[str, Any]:
    data = base64.b64encode(path.read_bytes()).decode()
    result = driver.execute_async_script(ANALYZE_BYTES, data)
    assert "error" not in result, result
    return result


def _comparable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("path", "ms")}


def test_analyze_in_the_page_equals_edge_emotion_run_on_the_shared_photos(
    driver: Any, server: ServerProcess
) -> None:
    photos = shared_photos()
    assert len(photos) >= 3
    _open(driver, server.url)
    python = PhotoClassifier.load(quiet=True)
    for path in photos:
        expected = _comparable(python.analyze(path).to_dict())
        got = analyze_in_page(driver, path)
        assert _comparable(got) == expected, path.name
        assert set(got["ms"]) == {"decode", "detect", "classify", "total"}


def test_camera_in_the_page_boxes_and_labels_the_face_happy(
    driver: Any, server: ServerProcess, screenshots: Path
) -> None:
    _open(driver, server.url)
    driver.find_element("id", "camera").click()
    _wait(driver, f"{HAPPY_FACE} && parseFloat(document.getElementById('stats').dataset.fps) > 0")
    boxes = set()
    for _ in range(30):  # the face slides across the fake camera: so does its box
        boxes.add(driver.execute_script("return document.getElementById('stats').dataset.box"))
        time.sleep(0.1)
    stats = driver.find_element("id", "stats").text
    driver.save_screenshot(str(screenshots / "web-camera-desktop.png"))
    print(f"\nin-browser camera: {stats}")
    assert "fps" in stats
    assert len(boxes - {None, "null"}) >= 3, boxes
    driver.find_element("id", "camera").click()


def test_upload_on_a_phone_sized_window_shows_the_happy_face(
    driver: Any, server: ServerProcess, screenshots: Path
) -> None:
    driver.set_window_size(412, 915)
    try:
        _open(driver, server.url)
        driver.find_element("id", "file").send_keys(str(ASTRONAUT))
        width, height = Image.open(ASTRONAUT).size
        _wait(
            driver,
            f"document.getElementById('stats').textContent.startsWith('{width}×{height}') "
            f"&& {HAPPY_FACE}",
        )
        wide = driver.execute_script(
            "return [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length;"
        )
        driver.save_screenshot(str(screenshots / "web-upload-phone.png"))
        assert wide == 0
    finally:
        driver.set_window_size(1000, 900)


def test_offline_after_the_server_stops_and_no_request_leaves_the_device(
    driver: Any, server: ServerProcess
) -> None:
    _open(driver, server.url)
    _wait(driver, "navigator.serviceWorker.controller !== null || (location.reload(), false)", 30)
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert entries and all(
        u.startswith(server.url) or u.startswith(("blob:", "data:")) for u in entries
    )
    log = server.log.read_text(errors="replace")
    assert "POST" not in log and "/v1/" not in log  # the server did no inference
    server.stop()
    _open(driver, server.url)
    result = analyze_in_page(driver, ASTRONAUT)
    expected = PhotoClassifier.load(quiet=True).analyze(ASTRONAUT).to_dict()
    assert _comparable(result) == _comparable(expected) and result["label"] == "happy"
