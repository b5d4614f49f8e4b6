"""`edge-emotion-serve` as a real process on a loopback port, under a bounded load of real photos.

Prints p50/p99 latency and requests per second (the figures in benchmarks/results/serve/) and
checks that the server's memory after the run is within 10% of its memory after warm-up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from edge_emotion.benchmarks.serve_load import Photo, ServerProcess, measure, request

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = ROOT.parent / "shared" / "photos"
FIXTURE_PHOTO = ROOT / "tests" / "fixtures" / "photos" / "astronaut-256.jpg"
CLIENTS, REQUESTS, WARMUP = 8, 100, 20


def _photos() -> list[Photo]:
    """The shared photos (a smiling astronaut, a cameraman, a cat), else the committed one."""
    paths = sorted(SHARED_PHOTOS.glob("*.png")) or [FIXTURE_PHOTO]
    return [Photo.read(p) for p in paths]


@pytest.mark.slow
def test_real_server_answers_8_clients_x_100_photos_without_errors_and_flat_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "serve.log"
    photos = _photos()
    with ServerProcess(["--workers", "2", "--threads", "1"], log=log) as server:
        status, model = request(server.port, "GET", "/v1/model")
        assert status == 200 and model["model"]["origin"] == "bundled"
        result = measure(server, photos, clients=CLIENTS, requests=REQUESTS, warmup=WARMUP)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (exit status -15).
    assert server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in server.tail(), server.tail()
    with capsys.disabled():
        print(f"\nserve load ({len(photos)} photos, 2 workers x 1 thread): {result.summary()}")
    assert result.errors == {} and result.ok == CLIENTS * REQUESTS
    assert result.labels.get("happy", 0) >= CLIENTS * REQUESTS // len(photos)
    assert result.rss_growth is not None and abs(result.rss_growth) <= 0.10, result.summary()
    # One access-log line per request, none carrying image data (only method, path, status).
    lines = log.read_text(errors="replace").splitlines()
    posts = [line for line in lines if '"POST /v1/predict HTTP/1.1" 200' in line]
    assert len(posts) == CLIENTS * (REQUESTS + WARMUP)
    assert max(len(line) for line in lines) < 300


def test_console_script_edge_emotion_serve_is_installed() -> None:
    script = Path(sys.executable).parent / "edge-emotion-serve"
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0 and "--max-body" in done.stdout and "--token" in done.stdout
