"""What a run gives back: per-frame `FrameResult`s of `TrackedFace`s, and the `VideoSummary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge_emotion_runtime.video.tracking import Box

if TYPE_CHECKING:
    from edge_emotion_runtime.photo import Timings


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame. `p_happy` is this frame's classifier output; `label` and
    `probability` (of that label) come from the track's smoothed `p_happy_smoothed`, so they do
    not flicker; `raw_label` is this frame's own."""

    track_id: int
    box: Box
    score: float | None
    p_happy: float
    p_happy_smoothed: float
    label: str
    probability: float
    raw_label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "box": list(self.box),
            "score": None if self.score is None else round(self.score, 4),
            "label": self.label,
            "probability": round(self.probability, 6),
            "p_happy": round(self.p_happy, 6),
            "p_happy_smoothed": round(self.p_happy_smoothed, 6),
            "raw_label": self.raw_label,
        }


@dataclass(frozen=True)
class FrameResult:
    """The faces of one processed frame, largest first. `index`, `timestamp`: see `Frame`;
    `dropped`: frames of a live source that came and went unseen since the previous result;
    `timings`: decode (reading the source + the photo pipeline's own), detect, classify, in ms."""

    index: int
    timestamp: float
    width: int
    height: int
    faces: tuple[TrackedFace, ...]
    timings: Timings
    dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one frame (`--json` prints one per line)."""
        return {
            "frame": self.index,
            "t": round(self.timestamp, 3),
            "width": self.width,
            "height": self.height,
            "faces": [f.to_dict() for f in self.faces],
            "dropped": self.dropped,
            "ms": self.timings.to_dict(),
        }


@dataclass(frozen=True)
class TrackSummary:
    """One track over the whole run: `share` is the fraction of its frames per (smoothed) label;
    `label` the dominant one."""

    track_id: int
    frames: int
    first_seen: float
    last_seen: float
    label: str
    share: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "frames": self.frames,
            "first_seen": round(self.first_seen, 3),
            "last_seen": round(self.last_seen, 3),
            "label": self.label,
            "share": {label: round(s, 4) for label, s in self.share},
        }

    def to_text(self) -> str:
        shares = ", ".join(f"{s:.0%} {label}" for label, s in self.share)
        return (
            f"track {self.track_id}: {self.label} ({shares}) in {self.frames} frames, "
            f"{self.first_seen:.2f}-{self.last_seen:.2f} s"
        )


@dataclass(frozen=True)
class VideoSummary:
    """A whole run. `frames_read` counts frames taken from the source (skipped ones included),
    `frames_processed` those analysed, `frames_dropped` those a live source delivered while the
    model was busy; `faces` sums faces over processed frames; `seconds` is wall time from the
    first frame to the last; `mean_ms` the mean per-stage time of a processed frame; `stopped_by`
    names the signal that ended the run early (None when the source ended or --max-frames)."""

    source: str
    width: int
    height: int
    source_fps: float
    frames_read: int
    frames_processed: int
    frames_dropped: int
    faces: int
    tracks: tuple[TrackSummary, ...]
    seconds: float
    mean_ms: dict[str, float] = field(default_factory=dict)
    stopped_by: str | None = None

    @property
    def fps(self) -> float:
        """Processed frames per wall-clock second, end to end."""
        return self.frames_processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "source_fps": round(self.source_fps, 3),
            "frames_read": self.frames_read,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "faces": self.faces,
            "tracks": [t.to_dict() for t in self.tracks],
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "mean_ms": {k: round(v, 3) for k, v in self.mean_ms.items()},
            "stopped_by": self.stopped_by,
        }

    def to_text(self) -> str:
        stopped = f", stopped by {self.stopped_by}" if self.stopped_by else ""
        ms = ", ".join(f"{k} {v:.1f}" for k, v in self.mean_ms.items() if k != "total")
        lines = [
            f"{self.source}: {self.width}x{self.height}, {self.frames_read} frames read, "
            f"{self.frames_processed} processed, {self.frames_dropped} dropped{stopped}",
            f"{self.faces} faces in {len(self.tracks)} tracks; {self.fps:.1f} fps end to end "
            f"(ms per frame: {ms or 'n/a'})",
        ]
        lines += [t.to_text() for t in self.tracks]
        return "\n".join(lines)
