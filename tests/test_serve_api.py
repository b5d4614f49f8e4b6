"""`edge-emotion-serve` through Starlette's TestClient: every route, every error status, the token.

The app runs over a real pool of the bundled model, so the answers are the photo pipeline's.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime.bundled import EMOTION_MODEL

pytest.importorskip("starlette", reason="the serve extra is not installed")

from starlette.testclient import TestClient

from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.serve import cli as serve_cli
from edge_emotion_runtime.serve.app import ServeConfig, create_app
from edge_emotion_runtime.serve.pool import PhotoPool

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def pool() -> PhotoPool:
    pool = PhotoPool.load(
        lambda: PhotoClassifier.load(threads=1, quiet=True), workers=1, queue_size=4, timeout=10
    )
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def client(pool: PhotoPool) -> TestClient:
    with TestClient(create_app(pool, ServeConfig(max_body=2_000_000))) as client:
        yield client


@pytest.fixture(scope="module")
def token_client(pool: PhotoPool) -> TestClient:
    with TestClient(create_app(pool, ServeConfig(token=TOKEN))) as client:
        yield client


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _post(client: TestClient, data: bytes, kind: str = "image/jpeg", query: str = "", **kw):
    return client.post(f"/v1/predict{query}", content=data, headers={"Content-Type": kind}, **kw)


# ---------------------------------------------------------------- routes
def test_index_is_one_self_contained_page_from_package_data(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Use camera" in page and "getUserMedia" in page and 'name="viewport"' in page
    # No CDN, no external script/style: the device may be offline.
    assert "http://" not in page and "https://" not in page
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    # The look it shares with the in-browser app (web/style.css) is inlined, not fetched.
    assert "--happy: #f2b705" in page and "/* shared-style */" not in page
    assert "<link" not in page


def test_healthz_reports_ok_and_the_pool(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "workers": 1, "queue": 4, "running": 0, "waiting": 0}


def test_model_reports_labels_input_mode_validation_detector_and_versions(
    client: TestClient,
) -> None:
    doc = client.get("/v1/model").json()
    model = doc["model"]
    assert model["file"] == EMOTION_MODEL and model["origin"] == "bundled"
    assert model["labels"] == ["happy", "sad"]
    assert model["input"] == {"height": 48, "width": 48, "channels": 1}
    assert model["export_mode"] == "int8" and model["validation_status"] == "passed"
    assert "test" in model["validation"]["splits"]
    assert doc["detector"]["name"] == "blazeface-fused (full + short)"
    variants = [v["name"] for v in doc["detector"]["variants"]]
    assert variants == ["blazeface-full-range", "blazeface-short-range"]
    assert doc["runtime"]["backend"] == "litert" and doc["runtime"]["backend_version"]
    assert doc["runtime"]["edge_emotion_runtime"]
    assert doc["server"] == {
        "workers": 1,
        "queue": 4,
        "timeout_s": 10,
        "max_body_bytes": 2_000_000,
        "token_required": False,
    }
    assert "/" not in json.dumps(model["file"])  # a name, never a filesystem path


def test_predict_raw_body_finds_the_face_and_says_happy(client: TestClient) -> None:
    response = _post(client, PHOTO.read_bytes())
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "happy" and len(body["faces"]) == 1
    x, y, w, h = body["faces"][0]["box"]
    assert 80 < x < 100 and 30 < y < 50 and 40 < w < 60 and 40 < h < 60
    assert set(body["ms"]) == {"decode", "detect", "classify", "total"}


def test_predict_answer_is_the_cli_json_line_but_for_path_and_timings(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_emotion_runtime import cli

    assert cli.run(["--json", str(PHOTO)]) == 0
    line = json.loads(capsys.readouterr().out)
    answer = _post(client, PHOTO.read_bytes()).json()
    assert answer["path"] is None and line["path"] == str(PHOTO)
    for data in (line, answer):
        data.pop("path")
        data.pop("ms")
    assert answer == line


def test_predict_multipart_field_image(client: TestClient) -> None:
    files = {"image": ("a.jpg", PHOTO.read_bytes(), "image/jpeg")}
    response = client.post("/v1/predict", files=files, data={"note": "x"})
    assert response.status_code == 200 and response.json()["label"] == "happy"
    # Browsers send unknown types as application/octet-stream; still an upload.
    files = {"image": ("photo", PHOTO.read_bytes(), "application/octet-stream")}
    assert client.post("/v1/predict", files=files).json()["label"] == "happy"


def test_predict_detect_modes_mirror_the_cli(client: TestClient) -> None:
    whole = _post(client, PHOTO.read_bytes(), query="?detect=never").json()
    assert whole["whole_image"] is True and whole["faces"][0]["box"] == [0, 0, 256, 256]
    faces = _post(client, PHOTO.read_bytes(), query="?detect=always").json()
    assert faces["whole_image"] is False and len(faces["faces"]) == 1


def test_predict_photo_without_a_face_has_null_label(client: TestClient) -> None:
    body = _post(client, _png(Image.new("RGB", (200, 120), (90, 140, 200))), "image/png").json()
    assert body["faces"] == [] and body["label"] is None and body["width"] == 200


def test_multipart_upload_over_a_megabyte_stays_in_memory(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Starlette spools parts over 1 MB to a temporary file unless told otherwise.
    written: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        written.append(args)
        raise AssertionError("an upload was about to be written to disk")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    data = _png(Image.fromarray(noise))
    assert 1_100_000 < len(data) < 2_000_000
    response = client.post("/v1/predict", files={"image": ("noise.png", data, "image/png")})
    assert response.status_code == 200 and written == []


# ---------------------------------------------------------------- errors
def _error(response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "Traceback" not in body["error"]
    for fragment in fragments:
        assert fragment in body["error"]


@pytest.mark.parametrize(
    ("query", "kind", "data", "fragment"),
    [
        ("?detect=sometimes", "image/jpeg", b"x", "detect must be one of auto, always, never"),
        ("", "image/png", b"", "empty image"),
        ("", "multipart/form-data", b"--x\r\n", "malformed multipart"),
        ("", "multipart/form-data; boundary=b", b"--b--\r\n", "no field 'image'"),
    ],
)
def test_malformed_requests_are_400(
    client: TestClient, query: str, kind: str, data: bytes, fragment: str
) -> None:
    _error(_post(client, data, kind, query), 400, fragment)


def test_multipart_image_that_is_not_a_file_part_is_400(client: TestClient) -> None:
    files = {"other": ("a.jpg", b"x", "image/jpeg")}  # makes httpx send multipart
    response = client.post("/v1/predict", data={"image": "abc"}, files=files)
    _error(response, 400, "must be a file part")


def test_body_over_the_limit_is_413_declared_or_streamed(client: TestClient) -> None:
    big = b"\0" * 2_000_001
    _error(_post(client, big), 413, "over the limit of 2,000,000 bytes")

    def chunks():  # no Content-Length: chunked transfer encoding
        for _ in range(5):
            yield b"\0" * 500_000

    _error(_post(client, chunks()), 413, "over the limit")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["text/plain", "application/json", ""])
def test_a_body_that_is_not_an_image_type_is_415(client: TestClient, kind: str) -> None:
    headers = {"Content-Type": kind} if kind else {}
    response = client.post("/v1/predict", content=PHOTO.read_bytes(), headers=headers)
    _error(response, 415, "not an image")


def test_multipart_part_of_a_non_image_type_is_415(client: TestClient) -> None:
    files = {"image": ("notes.txt", b"hello", "text/plain")}
    _error(client.post("/v1/predict", files=files), 415, "text/plain, not an image")


def test_undecodable_image_is_422(client: TestClient) -> None:
    _error(_post(client, b"this is not a jpeg"), 422, "not an image file")
    truncated = PHOTO.read_bytes()[:3000]
    _error(_post(client, truncated), 422)


def test_too_many_pixels_is_422_from_the_decompression_bomb_guard(client: TestClient) -> None:
    bomb = _png(Image.new("1", (8000, 6000)))  # 48 Mpx in a few kB
    assert len(bomb) < 100_000
    _error(_post(client, bomb, "image/png"), 422, "decompression-bomb guard")


class _Blocking:
    """A PhotoClassifier stand-in whose analyze waits for `release` (or raises `fail`)."""

    def __init__(self, real: PhotoClassifier, fail: Exception | None = None) -> None:
        self.real = real
        self.detector = real.detector
        self.classifier = real.classifier
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def analyze(self, data: bytes, detect: str = "auto"):  # type: ignore[no-untyped-def]
        self.started.set()
        if self.fail is not None:
            raise self.fail
        self.release.wait(10)
        return self.real.analyze(data, detect=detect)


def test_full_queue_is_503_with_retry_after(pool: PhotoPool) -> None:
    slow = _Blocking(pool.primary)
    busy = PhotoPool([slow], queue_size=0, timeout=10)  # type: ignore[list-item]
    with TestClient(create_app(busy)) as client:
        first: list[int] = []
        thread = threading.Thread(
            target=lambda: first.append(_post(client, PHOTO.read_bytes()).status_code)
        )
        thread.start()
        assert slow.started.wait(10)
        assert client.get("/healthz").json()["running"] == 1
        response = _post(client, PHOTO.read_bytes())
        _error(response, 503, "server busy")
        assert response.headers["retry-after"] == "1"
        slow.release.set()
        thread.join(10)
    busy.close()
    assert first == [200]


def test_request_past_the_timeout_is_503(pool: PhotoPool) -> None:
    slow = _Blocking(pool.primary)
    late = PhotoPool([slow], queue_size=2, timeout=0.3)  # type: ignore[list-item]
    with TestClient(create_app(late)) as client:
        _error(_post(client, PHOTO.read_bytes()), 503, "timed out after 0.3 s")
        slow.release.set()
    late.close()


def test_unexpected_error_is_a_json_500_without_details(pool: PhotoPool) -> None:
    broken = _Blocking(pool.primary, fail=RuntimeError("secret internal detail"))
    bad = PhotoPool([broken], queue_size=1, timeout=5)  # type: ignore[list-item]
    with TestClient(create_app(bad), raise_server_exceptions=False) as client:
        response = _post(client, PHOTO.read_bytes())
    bad.close()
    _error(response, 500)
    assert response.json() == {"error": "internal error"}


def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    _error(client.get("/v1/nope"), 404, "not found")
    response = client.get("/v1/predict")
    _error(response, 405, "method not allowed")
    assert "POST" in response.headers["allow"]


# ---------------------------------------------------------------- token
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"X-Token": TOKEN}],
)
def test_every_api_call_without_the_right_token_is_401(
    token_client: TestClient, headers: dict[str, str]
) -> None:
    for response in (
        token_client.get("/v1/model", headers=headers),
        token_client.post(
            "/v1/predict",
            content=PHOTO.read_bytes(),
            headers={**headers, "Content-Type": "image/jpeg"},
        ),
    ):
        _error(response, 401, "Authorization: Bearer TOKEN")
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_token_opens_the_api_and_the_page_and_healthz_stay_open(
    token_client: TestClient,
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert token_client.get("/v1/model", headers=auth).json()["server"]["token_required"] is True
    response = token_client.post(
        "/v1/predict", content=PHOTO.read_bytes(), headers={**auth, "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200 and response.json()["label"] == "happy"
    # The page asks for the token itself; supervisors probe /healthz without one.
    assert token_client.get("/").status_code == 200
    assert token_client.get("/healthz").status_code == 200


# ---------------------------------------------------------------- command line
def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        serve_cli.main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_without_the_serve_extra_one_line_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    code, err = _main(["--port", "8001"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "pip install './runtime[litert,serve]'" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "must be 1..64"),
        (["--port", "70000"], "must be 1..65535"),
        (["--max-body", "lots"], "not a size"),
        (["--timeout", "0"], "must be above 0"),
        (["--certfile", "c.pem"], "--certfile and --keyfile go together"),
        (["--model", "/nonexistent/m.tflite"], "no model at /nonexistent/m.tflite"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(flags, capsys)
    assert code == 2 and message in err


def test_defaults_sizes_and_the_token_from_flag_else_environment() -> None:
    assert serve_cli._size("10MB") == 10_000_000
    assert serve_cli._size("512kB") == 512_000 and serve_cli._size("4MiB") == 4 * 2**20
    assert serve_cli._size("2000") == 2000
    args = serve_cli._parser().parse_args([])
    assert (args.host, args.port, args.max_body, args.threads) == ("127.0.0.1", 8000, 10**7, 1)
    env = {"EDGE_EMOTION_TOKEN": "from-env"}
    assert serve_cli.resolve_token("flag", env) == "flag"
    assert serve_cli.resolve_token(None, env) == "from-env"
    assert serve_cli.resolve_token(None, {}) is None
    with pytest.raises(UsageError, match="empty"):
        serve_cli.resolve_token(" ", {})
