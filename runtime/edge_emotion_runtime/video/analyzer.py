"""`VideoAnalyzer`: the photo pipeline on each processed frame, faces tracked, each track
smoothed and labelled by the model's own decision rule; `analyze_video()` in one call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from edge_emotion_runtime.defaults import DEFAULT_DETECTOR, DEFAULT_MIRROR
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.labels import hedge
from edge_emotion_runtime.video.results import (
    FrameResult,
    TrackedFace,
    TrackSummary,
    VideoSummary,
)
from edge_emotion_runtime.video.smoothing import Smoother, Smoothing
from edge_emotion_runtime.video.source import Frame, VideoSource, open_source
from edge_emotion_runtime.video.tracking import IouTracker

if TYPE_CHECKING:
    from edge_emotion_runtime.photo import PhotoClassifier, PhotoResult


class VideoAnalyzer:
    """Runs a `PhotoClassifier` over a video: detect and classify each processed frame, track
    faces, smooth each track. One analyzer per video (it holds the tracks); `summary()` after."""

    def __init__(
        self,
        classifier: PhotoClassifier,
        *,
        smoothing: Smoothing | None = None,
        detect: str = "auto",
        min_iou: float = 0.3,
        max_missed: int = 10,
    ) -> None:
        self.classifier = classifier
        self.smoothing = smoothing or Smoothing()
        self.detect = detect
        self.tracker = IouTracker(min_iou=min_iou, max_missed=max_missed)
        self._meta = classifier.classifier.metadata
        self._labels: tuple[str, ...] = tuple(self._meta.labels)
        self._smoothers: dict[int, Smoother] = {}
        self._counts: dict[int, dict[str, int]] = {}
        self._seen: dict[int, tuple[float, float]] = {}
        self._source: VideoSource | None = None
        self._processed = 0
        self._faces = 0
        self._ms = {"decode": 0.0, "detect": 0.0, "classify": 0.0}
        self._start: float | None = None
        self._end: float | None = None
        self.stopped_by: str | None = None

    def decide(self, p_happy: float) -> tuple[str, float]:
        """(label, probability of it) for a (smoothed) probability of "happy", by the model's own
        rule: `labels.decide`, the one a photo goes through."""
        decided = self.classifier.classifier.decide_p_happy(p_happy)
        return hedge(decided.label, decided.probability, self.classifier.min_confidence), (
            decided.probability
        )

    def process(self, frame: Frame) -> FrameResult:
        """Analyse one frame and advance the tracks."""
        from edge_emotion_runtime.photo import Timings

        result: PhotoResult = self.classifier.analyze(frame.rgb, detect=self.detect)
        ids = self.tracker.update([f.box for f in result.faces])
        faces = []
        for track, face in zip(ids, result.faces, strict=True):
            smoother = self._smoothers.setdefault(track, self.smoothing.smoother())
            smoothed = smoother.update(face.p_happy)
            label, probability = self.decide(smoothed)
            counts = self._counts.setdefault(track, dict.fromkeys(self._labels, 0))
            counts[label] = counts.get(label, 0) + 1
            first, _ = self._seen.get(track, (frame.timestamp, frame.timestamp))
            self._seen[track] = (first, frame.timestamp)
            faces.append(
                TrackedFace(
                    track_id=track,
                    box=face.box,
                    score=face.score,
                    p_happy=face.p_happy,
                    p_happy_smoothed=smoothed,
                    label=label,
                    probability=probability,
                    raw_label=face.label,
                )
            )
        for track in list(self._smoothers):
            if track not in self.tracker.live_ids:
                del self._smoothers[track]  # ended: its id is never reused
        t = result.timings
        timings = Timings(decode=frame.decode_ms + t.decode, detect=t.detect, classify=t.classify)
        self._processed += 1
        self._faces += len(faces)
        for key in self._ms:
            self._ms[key] += getattr(timings, key)
        return FrameResult(
            frame.index,
            frame.timestamp,
            result.width,
            result.height,
            tuple(faces),
            timings,
            frame.dropped,
        )

    def run_with_frames(
        self,
        source: VideoSource,
        *,
        every: int = 1,
        max_frames: int | None = None,
        stop: threading.Event | None = None,
        decode_skipped: bool = False,
    ) -> Iterator[tuple[Frame, FrameResult | None]]:
        """(frame, its result) for every frame taken; the result is None for frames read only
        because `decode_skipped` asked for them (to write them out). Stops after `max_frames`
        processed frames, at the end of the source, or when `stop` is set."""
        if max_frames is not None and max_frames < 1:
            raise UsageError(f"max_frames must be at least 1, got {max_frames}")
        self._source = source
        self._start = time.perf_counter()
        try:
            for frame in source.frames(every, stop=stop, decode_skipped=decode_skipped):
                if not frame.selected:
                    yield frame, None
                    continue
                result = self.process(frame)
                self._end = time.perf_counter()
                yield frame, result
                if max_frames is not None and self._processed >= max_frames:
                    break
        finally:
            self._end = time.perf_counter()

    def run(
        self,
        source: VideoSource,
        *,
        every: int = 1,
        max_frames: int | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[FrameResult]:
        """The per-frame results of `source` (see `run_with_frames`)."""
        for _, result in self.run_with_frames(
            source, every=every, max_frames=max_frames, stop=stop
        ):
            if result is not None:
                yield result

    def summary(self) -> VideoSummary:
        """Counts, per-track dominant labels and shares, and the effective frame rate so far."""
        tracks = []
        for track, counts in sorted(self._counts.items()):
            total = sum(counts.values())
            share = tuple((label, n / total) for label, n in counts.items())
            dominant = max(counts.items(), key=lambda kv: kv[1])[0]
            first, last = self._seen[track]
            tracks.append(TrackSummary(track, total, first, last, dominant, share))
        source = self._source
        seconds = (
            (self._end or time.perf_counter()) - self._start if self._start is not None else 0.0
        )
        n = max(1, self._processed)
        mean = {k: v / n for k, v in self._ms.items()} if self._processed else {}
        if mean:
            mean["total"] = sum(mean.values())
        return VideoSummary(
            source=source.name if source else "",
            width=source.width if source else 0,
            height=source.height if source else 0,
            source_fps=source.fps if source else 0.0,
            frames_read=source.frames_read if source else 0,
            frames_processed=self._processed,
            frames_dropped=source.frames_dropped if source else 0,
            faces=self._faces,
            tracks=tuple(tracks),
            seconds=seconds,
            mean_ms=mean,
            stopped_by=self.stopped_by,
        )


def analyze_video(
    source: str | int,
    model: str | os.PathLike[str] | None = None,
    *,
    every: int = 1,
    max_frames: int | None = None,
    smoothing: Smoothing | None = None,
    detect: str = "auto",
    detector: str = DEFAULT_DETECTOR,
    threads: int | None = None,
    backend: str = "auto",
    realtime: bool = False,
    stop: threading.Event | None = None,
    mirror: bool = DEFAULT_MIRROR,
    min_confidence: float | None = None,
) -> Iterator[FrameResult]:
    """Per-frame results of a video file, camera index/device or stream URL, in one call:

        for frame in analyze_video("door.mp4", every=2):
            print(frame.index, [(f.track_id, f.label) for f in frame.faces])

    Model: `model`, else $EDGE_EMOTION_MODEL, else the bundled one. The source is released when
    the generator ends or is closed.
    """
    from edge_emotion_runtime.photo import PhotoClassifier

    classifier = PhotoClassifier.load(
        model,
        detector=detector,
        threads=threads,
        backend=backend,
        quiet=True,
        mirror=mirror,
        min_confidence=min_confidence,
    )
    analyzer = VideoAnalyzer(classifier, smoothing=smoothing, detect=detect)
    with open_source(source, realtime=realtime) as video:
        yield from analyzer.run(video, every=every, max_frames=max_frames, stop=stop)
