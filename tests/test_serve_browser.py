"""The page at `/` in a real browser: headless Debian chromium driven by selenium.

The camera is chromium's fake capture device playing a .y4m video made here from the smiling
astronaut photo, so "Use camera" runs the real getUserMedia -> downscaled JPEG -> /v1/predict ->
overlay loop against the bundled model. Screenshots land in $EDGE_EMOTION_SCREENSHOTS (else the
test's temporary folder); their paths are printed.

Skips when chromium or chromium-driver is not installed, except under CI (CI=true), where
`.ci/run` installs them and their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromium import new_driver, screenshot_folder, wait_for
from PIL import Image

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from edge_emotion.benchmarks.serve_load import ServerProcess
from edge_emotion_runtime.bundled import EMOTION_MODEL

MODEL_STEM = Path(EMOTION_MODEL).stem

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = ROOT.parent / "shared" / "photos"
FIXTURE_PHOTO = ROOT / "tests" / "fixtures" / "photos" / "astronaut-256.jpg"
TOKEN = "browser-test-token"
HAPPY_RGB = (242, 183, 5)  # #f2b705, the page's colour for a happy face box


def _astronaut() -> Path:
    shared = SHARED_PHOTOS / "astronaut.png"
    return shared if shared.exists() else FIXTURE_PHOTO


def write_y4m(path: Path, image: Image.Image, frames: int = 5, fps: int = 30) -> Path:
    """A YUV4MPEG2 4:2:0 video repeating `image`: a header line, then 'FRAME' + Y, U, V planes."""
    rgb = image.convert("RGB")
    width, height = rgb.size[0] // 2 * 2, rgb.size[1] // 2 * 2
    ycbcr = np.asarray(rgb.crop((0, 0, width, height)).convert("YCbCr"))
    y = ycbcr[:, :, 0]
    # Chroma at half resolution in both directions: the mean of each 2x2 block.
    chroma = ycbcr[:, :, 1:].reshape(height // 2, 2, width // 2, 2, 2).mean(axis=(1, 3))
    u, v = np.rint(chroma).astype(np.uint8).transpose(2, 0, 1)
    frame = b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes()
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


def test_y4m_writer_makes_frames_of_the_right_size(tmp_path: Path) -> None:
    path = write_y4m(tmp_path / "v.y4m", Image.new("RGB", (7, 4), (255, 0, 0)), frames=2)
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W6 H4 F30:1 Ip A1:1 C420jpeg"
    assert len(rest) == 2 * (len(b"FRAME\n") + 6 * 4 + 2 * 3 * 2)
    y = rest[6]  # first luma sample of pure red: 0.299 * 255
    assert abs(y - 76) <= 1


@pytest.fixture(scope="module")
def browser_tools() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = (
        "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run should have installed them")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with ServerProcess(["--workers", "2", "--token", TOKEN], log=log) as server:
        yield server


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def driver(browser_tools: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    chromium, chromedriver = browser_tools
    folder = tmp_path_factory.mktemp("browser")
    video = write_y4m(folder / "astronaut.y4m", Image.open(_astronaut()))
    browser = new_driver(chromium, chromedriver, folder, video, script_timeout=10)
    yield browser
    browser.quit()


def _wait(driver: Any, script: str, timeout: float = 15.0) -> Any:
    """Poll a JS expression until truthy; returns its value, or fails with the page's state."""
    state = (
        "['stats: ' + document.getElementById('stats').textContent,"
        " 'faces: ' + document.getElementById('faces').textContent,"
        " 'status: ' + document.getElementById('status').textContent]"
    )
    return wait_for(driver, script, timeout, state)


HAPPY_FACE = "[...document.querySelectorAll('#faces li')].some(li => li.dataset.label === 'happy')"
_R, _G, _B = HAPPY_RGB
HAPPY_PIXELS = (
    "(() => { const c = document.getElementById('view');"
    " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
    " for (let i = 0; i < d.length; i += 4)"
    f" if (d[i] === {_R} && d[i + 1] === {_G} && d[i + 2] === {_B}) n++;"
    " return n; })()"
)


def _open(driver: Any, server: ServerProcess, fragment: str = "") -> None:
    driver.get(f"{server.url}/{fragment}")
    _wait(driver, f"document.getElementById('model').textContent.includes('{MODEL_STEM}')")


def test_camera_shows_the_face_boxed_and_labelled_happy_with_fps_and_latency(
    driver: Any, server: ServerProcess, screenshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _open(driver, server, f"#token={TOKEN}")
    assert "token" not in driver.current_url  # the fragment is consumed, not left visible
    driver.find_element("id", "camera").click()
    start = time.monotonic()
    _wait(driver, f"{HAPPY_FACE} && parseFloat(document.getElementById('stats').dataset.fps) > 0")
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # a few more frames so the fps figure settles for the screenshot
    stats = driver.find_element("id", "stats").text
    box_pixels = driver.execute_script(f"return {HAPPY_PIXELS};")
    path = screenshots / "serve-camera.png"
    driver.save_screenshot(str(path))
    with capsys.disabled():
        print(f"\ncamera: happy after {elapsed:.1f} s; {stats}; screenshot {path}")
    assert elapsed < 10
    assert "fps" in stats and "model" in stats and "ms" in stats
    assert box_pixels > 200  # the box and its label are drawn over the video
    driver.find_element("id", "camera").click()  # stop


def test_uploaded_photo_is_drawn_with_its_face_labelled_happy_on_a_phone_sized_window(
    driver: Any, server: ServerProcess, screenshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    driver.set_window_size(412, 915)
    try:
        _open(driver, server, f"#token={TOKEN}")
        photo = _astronaut()
        width, height = Image.open(photo).size
        driver.find_element("id", "file").send_keys(str(photo))
        _wait(
            driver,
            f"document.getElementById('stats').textContent.startsWith('{width}×{height}') && "
            f"{HAPPY_FACE}",
        )
        assert driver.execute_script(f"return {HAPPY_PIXELS};") > 100
        # Usable on a phone: nothing wider than the screen, the buttons big enough to tap.
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth;"
        )
        button = driver.find_element("id", "camera").size
        assert button["height"] >= 44
        path = screenshots / "serve-upload-phone.png"
        driver.save_screenshot(str(path))
        with capsys.disabled():
            print(f"\nupload: screenshot {path}")
    finally:
        driver.set_window_size(1000, 900)


def test_page_asks_for_the_token_when_it_has_none(driver: Any, server: ServerProcess) -> None:
    driver.get(f"{server.url}/")
    driver.execute_script("localStorage.clear();")
    driver.refresh()
    _wait(driver, "!document.getElementById('auth').hidden")
    assert "token" in driver.find_element("id", "model").text
    driver.find_element("id", "token").send_keys(TOKEN)
    driver.find_element("css selector", "#auth button").click()
    _wait(driver, f"document.getElementById('model').textContent.includes('{MODEL_STEM}')")
    assert driver.execute_script("return document.getElementById('auth').hidden;")
