"""Load test of `edge-emotion-serve`: concurrent keep-alive clients POST real photos.

The server runs as its own process (`python -m edge_emotion_runtime.serve`) on a free loopback
port, exactly as on a device; clients are threads with one persistent `http.client` connection
each (stdlib only, so the client costs little next to the server on a small machine). Memory is
the server's RSS after a warm-up round and again after the timed round: a pool that leaks per
request shows up as growth between the two.

    python -m edge_emotion.benchmarks.serve_load ../shared/photos/*.png --clients 8 --requests 100
    python -m edge_emotion.benchmarks.serve_load ../shared/photos/*.png --frame-side 320
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import mimetypes
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import LatencyStats

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`edge-emotion-serve` in a subprocess on a free loopback port; a context manager.

    Output goes to `log` (a file path) so a full pipe can never stall the server.
    """

    def __init__(self, args: Sequence[str] = (), *, log: Path, env: dict[str, str] | None = None):
        self.args = list(args)
        self.log = log
        self.env = env
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ServerProcess:
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            cmd = [sys.executable, "-m", "edge_emotion_runtime.serve", "--host", HOST]
            cmd += ["--port", str(self.port), *self.args]
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env
                )
            if self._wait_ready(timeout=60.0):
                return self
            self.stop()
        raise RuntimeError(f"edge-emotion-serve did not start; see {self.log}:\n{self.tail()}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                status, _ = request(self.port, "GET", "/healthz")
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc (Linux) or psutil."""
        assert self.proc is not None
        try:
            with open(f"/proc/{self.proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One request on a fresh connection: (status, decoded JSON or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, None


@dataclass(frozen=True)
class Photo:
    name: str
    data: bytes
    content_type: str

    @classmethod
    def read(cls, path: Path) -> Photo:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(path.name, path.read_bytes(), kind)

    def as_frame(self, side: int) -> Photo:
        """This photo as the camera page sends a frame: longest side `side`, JPEG quality 80."""
        import io

        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            frame = image.convert("RGB")
        frame.thumbnail((side, side))
        out = io.BytesIO()
        frame.save(out, format="JPEG", quality=80)
        return Photo(f"{self.name}@{side}", out.getvalue(), "image/jpeg")


@dataclass(frozen=True)
class LoadResult:
    """One timed round: every request's outcome, latency summary and throughput."""

    clients: int
    requests_per_client: int
    ok: int
    errors: dict[str, int]
    wall_s: float
    latency: LatencyStats
    rss_warm_mb: float | None = None
    rss_after_mb: float | None = None
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return (self.ok + sum(self.errors.values())) / self.wall_s

    @property
    def rss_growth(self) -> float | None:
        """(after - warm) / warm, or None when not measured."""
        if self.rss_warm_mb is None or self.rss_after_mb is None:
            return None
        return (self.rss_after_mb - self.rss_warm_mb) / self.rss_warm_mb

    def summary(self) -> str:
        total = self.ok + sum(self.errors.values())
        line = (
            f"{self.clients} clients x {self.requests_per_client} requests = {total}: "
            f"{self.ok} ok, {sum(self.errors.values())} errors {dict(self.errors) or ''}; "
            f"p50 {self.latency.p50_ms:.1f} ms, p99 {self.latency.p99_ms:.1f} ms, "
            f"{self.requests_per_s:.1f} req/s over {self.wall_s:.1f} s"
        )
        if self.rss_growth is not None:
            line += (
                f"; server RSS {self.rss_warm_mb:.1f} MB after warm-up -> "
                f"{self.rss_after_mb:.1f} MB after the run ({self.rss_growth:+.1%})"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requests_per_s"] = self.requests_per_s
        data["rss_growth"] = self.rss_growth
        return data


def run_load(
    port: int,
    photos: Sequence[Photo],
    *,
    clients: int,
    requests: int,
    token: str | None = None,
    query: str = "",
) -> LoadResult:
    """`clients` threads, each sending `requests` photos (cycling, staggered) back to back."""
    if not photos:
        raise ValueError("no photos to send")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: collections.Counter[str] = collections.Counter()
    labels: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        barrier.wait()
        for i in range(requests):
            photo = photos[(index + i) % len(photos)]
            headers = {"Content-Type": photo.content_type}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            start = time.perf_counter()
            try:
                conn.request("POST", f"/v1/predict{query}", body=photo.data, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as err:
                with lock:
                    errors[type(err).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            latencies[index].append((time.perf_counter() - start) * 1000.0)
            with lock:
                if response.status == 200:
                    labels[str(json.loads(data)["label"])] += 1
                else:
                    errors[f"HTTP {response.status}"] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    flat = [ms for per_client in latencies for ms in per_client]
    return LoadResult(
        clients=clients,
        requests_per_client=requests,
        ok=sum(labels.values()),
        errors=dict(errors),
        wall_s=wall,
        latency=summarize(flat or [0.0]),
        labels=dict(labels),
    )


def measure(
    server: ServerProcess,
    photos: Sequence[Photo],
    *,
    clients: int = 8,
    requests: int = 100,
    warmup: int = 20,
) -> LoadResult:
    """Warm-up round (untimed), RSS, timed round, RSS again."""
    run_load(server.port, photos, clients=clients, requests=warmup)
    rss_warm = server.rss_mb()
    result = run_load(server.port, photos, clients=clients, requests=requests)
    rss_after = server.rss_mb()
    return LoadResult(**{**result.__dict__, "rss_warm_mb": rss_warm, "rss_after_mb": rss_after})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m edge_emotion.benchmarks.serve_load",
        description="Start edge-emotion-serve on a free loopback port and load-test it.",
    )
    parser.add_argument("photos", nargs="+", type=Path, help="image files to send")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=100, help="per client")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--frame-side",
        type=int,
        default=0,
        metavar="PX",
        help="send each photo downscaled to this longest side as JPEG, like the camera page's "
        "frames (320); default: the files as they are",
    )
    parser.add_argument("--model", help="a .tflite model (default: the bundled one)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    photos = [Photo.read(p) for p in args.photos]
    if args.frame_side:
        photos = [p.as_frame(args.frame_side) for p in photos]
    serve_args = ["--workers", str(args.workers), "--threads", str(args.threads)]
    serve_args += ["--no-access-log", *(["--model", args.model] if args.model else [])]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"edge-emotion-serve-load-{os.getpid()}.log"
    with ServerProcess(serve_args, log=log) as server:
        result = measure(
            server, photos, clients=args.clients, requests=args.requests, warmup=args.warmup
        )
    log.unlink(missing_ok=True)
    print(result.summary())
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    sys.exit(1 if result.errors else 0)


if __name__ == "__main__":
    main()
