"""The in-browser app's Python side: config.json from the runtime's defaults, the build folder,
and `edge-emotion-serve --in-browser` (static files, isolation headers, no inference route)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from edge_emotion_runtime import crop, preprocess
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.serve import web

VENDORED = (web.VENDOR_DIR / "index.js").is_file()


def test_web_config_takes_every_default_from_the_python_runtime() -> None:
    config = web.web_config()
    load = inspect.signature(PhotoClassifier.load).parameters
    assert config["detector"] == load["detector"].default
    assert config["max_pixels"] == load["max_pixels"].default
    analyze = inspect.signature(PhotoClassifier.analyze).parameters
    assert config["detect"] == analyze["detect"].default
    assert config["photo_long_side"] == preprocess.PHOTO_LONG_SIDE
    assert (config["crop_max_side"], config["crop_min_fill"]) == (
        crop.CROP_MAX_SIDE,
        crop.CROP_MIN_FILL,
    )
    assert config["fer_framings"]["short"] == crop.FER_FRAMINGS["short"].to_dict()
    assert config["detectors"]["short"]["layers"] == [[8, 2], [16, 6]]
    assert web.web_config("full")["detector"] == "full"
    overridden = web.web_config(mirror=False, min_confidence=0.7)
    assert (overridden["mirror"], overridden["min_confidence"]) == (False, 0.7)
    with pytest.raises(UsageError):
        web.web_config("medium")


def test_build_refuses_without_the_vendored_litert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web, "VENDOR_DIR", tmp_path / "missing")
    with pytest.raises(UsageError, match=r"setup-web\.sh"):
        web.build(tmp_path / "out")


@pytest.mark.skipif(not VENDORED, reason="LiteRT.js not vendored: run scripts/setup-web.sh")
def test_build_writes_the_app_models_config_and_licences(tmp_path: Path) -> None:
    out = web.build(tmp_path / "site", detector="full", min_confidence=0.8)
    names = {p.name for p in out.iterdir()}
    assert {*web.APP_FILES, *web.PIPELINE_FILES, "config.json", "model.tflite"} <= names
    assert {"face_detection_short_range.tflite", "face_detection_full_range_sparse.tflite"} <= names
    assert {"LICENSES.md", "LICENSE", "LICENSE-mediapipe"} <= names
    config = json.loads((out / "config.json").read_text())
    assert (config["detector"], config["min_confidence"]) == ("full", 0.8)
    vendor = {p.name for p in (out / "vendor" / "litert").iterdir()}
    assert {"index.js", "wasm-utils.js", "litert_wasm_internal.wasm"} <= vendor
    assert "@litertjs/core 2.5.3" in (out / "LICENSES.md").read_text()
    # every file the service worker precaches exists in the folder
    sw = (out / "sw.js").read_text()
    for name in (*web.APP_FILES, *web.PIPELINE_FILES):
        if name != "sw.js":
            assert f'"{name}"' in sw, name


@pytest.mark.skipif(not VENDORED, reason="LiteRT.js not vendored: run scripts/setup-web.sh")
def test_in_browser_server_sends_isolation_headers_and_has_no_inference_route(
    tmp_path: Path,
) -> None:
    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    from edge_emotion.benchmarks.serve_load import ServerProcess, request

    with ServerProcess(["--in-browser"], log=tmp_path / "serve.log") as server:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 200 and 'src="app.js"' in body
        assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"
        assert response.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
        status, _ = request(server.port, "POST", "/v1/predict", body=b"x")
        assert status in (404, 405)
