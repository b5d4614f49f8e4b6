"""A bounded pool of PhotoClassifiers for concurrent requests (stdlib + asyncio, no web imports).

Each PhotoClassifier serialises its own interpreter calls, so one instance would make every
request wait for the one before it. The pool owns N instances and N threads, one instance per
thread at a time: N photos are analysed at once, at most `queue` more wait, anything beyond is
refused at once (`Busy`), and a request that waits longer than `timeout` gives up. Admission
counts a request until its work has really finished (not when its client gave up), so a burst
of timeouts cannot stack unbounded work behind the pool: memory stays bounded by
(workers + queue) bodies.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge_emotion_runtime.photo import PhotoClassifier, PhotoResult


class Busy(Exception):
    """The pool cannot take (or finish in time) this request; the client may retry later."""


@dataclass(frozen=True)
class PoolStats:
    """A snapshot for /healthz: how many requests run and wait, out of how many allowed."""

    workers: int
    queue: int
    running: int
    waiting: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class PhotoPool:
    """`await pool.analyze(image_bytes, detect)` on one of N PhotoClassifiers."""

    def __init__(
        self, photos: Sequence[PhotoClassifier], *, queue_size: int, timeout: float
    ) -> None:
        if not photos:
            raise ValueError("a pool needs at least one PhotoClassifier")
        if queue_size < 0 or timeout <= 0:
            raise ValueError("queue_size must be >= 0 and timeout > 0")
        self.photos = tuple(photos)
        self.queue_size = queue_size
        self.timeout = timeout
        self._idle: queue.SimpleQueue[PhotoClassifier] = queue.SimpleQueue()
        for photo in self.photos:
            self._idle.put(photo)
        self._executor = ThreadPoolExecutor(
            max_workers=len(self.photos), thread_name_prefix="edge-emotion-worker"
        )
        self._slots = threading.BoundedSemaphore(len(self.photos) + queue_size)
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    @classmethod
    def load(
        cls,
        factory: Callable[[], PhotoClassifier],
        *,
        workers: int,
        queue_size: int,
        timeout: float,
    ) -> PhotoPool:
        """`workers` PhotoClassifiers made by `factory`, each warmed up by one inference so the
        first requests do not pay for the interpreters' lazy allocation."""
        import numpy as np

        photos = [factory() for _ in range(workers)]
        blank = np.zeros((64, 64, 3), dtype=np.uint8)
        for photo in photos:
            photo.analyze(blank, detect="never")
            if photo.detector is not None:
                photo.analyze(blank, detect="always")
        return cls(photos, queue_size=queue_size, timeout=timeout)

    @property
    def primary(self) -> PhotoClassifier:
        """One instance, for metadata (all were loaded from the same files)."""
        return self.photos[0]

    def stats(self) -> PoolStats:
        with self._lock:
            running, admitted = self._running, self._admitted
        return PoolStats(len(self.photos), self.queue_size, running, admitted - running)

    async def analyze(self, body: Callable[[], Awaitable[bytes]], detect: str) -> PhotoResult:
        """Admit the request, read its image with `body()`, analyse it on a free instance.

        Admission comes before the body is read, so a full server answers at once and never
        holds more than (workers + queue) bodies. Raises Busy when full or past the timeout
        (reading the body included); whatever `body()` raises; whatever
        `PhotoClassifier.analyze` raises (ImageError for an unusable image).
        """
        if not self._slots.acquire(blocking=False):
            raise Busy(
                f"server busy: {len(self.photos)} requests running and {self.queue_size} waiting; "
                "retry shortly"
            )
        with self._lock:
            self._admitted += 1
        future: Future[PhotoResult] | None = None
        try:
            async with asyncio.timeout(self.timeout):
                data = await body()
                future = self._executor.submit(self._run, data, detect)
                future.add_done_callback(self._release)
                return await asyncio.wrap_future(future)
        except TimeoutError:
            raise Busy(f"request timed out after {self.timeout:g} s; retry shortly") from None
        finally:
            if future is None:
                self._release(None)
            else:
                # A job still waiting is dropped from the executor's queue (its callback then
                # releases the slot); a running one releases it when it finishes.
                future.cancel()

    def close(self) -> None:
        """Stop taking work; drop what is still waiting."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ internals
    def _run(self, data: bytes, detect: str) -> PhotoResult:
        photo = self._idle.get()  # never blocks: one instance per executor thread
        with self._lock:
            self._running += 1
        try:
            return photo.analyze(data, detect=detect)
        finally:
            with self._lock:
                self._running -= 1
            self._idle.put(photo)

    def _release(self, _future: Future[PhotoResult] | None) -> None:
        with self._lock:
            self._admitted -= 1
        self._slots.release()
