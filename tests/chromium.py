"""Headless Chromium for the page tests (the serve camera page and the in-browser app): one set
of flags, one driver factory, one poll, one screenshot folder, and one rule for a missing tool.
Imports selenium only when a driver is made."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest


def require(ok: bool, why: str) -> None:
    """Skip when a tool the page tests need (Chromium, Node, npm) is missing; under CI, fail:
    CI installs them, so a missing one there is a broken install, not an optional extra."""
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (required under CI)")
        pytest.skip(why)


def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$EDGE_EMOTION_SCREENSHOTS (to keep the pictures), else a temporary folder."""
    folder = os.environ.get("EDGE_EMOTION_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# As root on a machine with no network but the package registries: no sandbox, no background
# connections (they are refused many at a time), a fake camera that plays a given .y4m file.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
)


def new_driver(
    chromium: str, chromedriver: str, folder: Path, video: Path, script_timeout: float
) -> Any:
    """A Chrome WebDriver on `chromium` with a fresh profile in `folder`, `video` as its camera,
    a 1000x900 window."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--use-file-for-fake-video-capture={video}")
    options.add_argument(f"--user-data-dir={folder / 'profile'}")
    options.add_argument("--window-size=1000,900")
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_script_timeout(script_timeout)
    return browser


def wait_for(driver: Any, script: str, timeout: float, state: str) -> Any:
    """Poll a JS expression until truthy and return its value; past `timeout` seconds, fail with
    the page's `state` (a JS expression) in the message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.1)
    seen = driver.execute_script(f"return ({state});")
    pytest.fail(f"timed out after {timeout:g} s waiting for {script}: {seen}")
