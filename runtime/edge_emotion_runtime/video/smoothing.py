"""Per-track smoothing of the probability, so a track's label does not flicker."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.vocab import SmoothingKind, choices

SMOOTHING_KINDS: tuple[str, ...] = choices(SmoothingKind)


@dataclass(frozen=True)
class Smoothing:
    """How a track's probability is smoothed over the frames it is seen in.

    "ema": p <- alpha * p_frame + (1 - alpha) * p (first frame taken as is); "window": the mean of
    the last `window` frames; "none": the frame's own. Smoothing is over processed frames, so
    with `every` N one step spans N source frames.
    """

    kind: str = SmoothingKind.EMA
    alpha: float = 0.3
    window: int = 8

    def __post_init__(self) -> None:
        if self.kind not in SMOOTHING_KINDS:
            raise UsageError(
                f"smoothing must be one of {', '.join(SMOOTHING_KINDS)}, got {self.kind!r}"
            )
        if not 0.0 < self.alpha <= 1.0:
            raise UsageError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.window < 1:
            raise UsageError(f"window must be at least 1 frame, got {self.window}")

    def smoother(self) -> Smoother:
        """A fresh smoother for one track."""
        return Smoother(self)


class Smoother:
    def __init__(self, smoothing: Smoothing) -> None:
        self._s = smoothing
        self._value: float | None = None
        self._recent: deque[float] = deque(maxlen=smoothing.window)

    def update(self, p: float) -> float:
        kind = self._s.kind
        if kind == SmoothingKind.EMA:
            a = self._s.alpha
            self._value = p if self._value is None else a * p + (1.0 - a) * self._value
            return self._value
        if kind == SmoothingKind.WINDOW:
            self._recent.append(p)
            return sum(self._recent) / len(self._recent)
        return p
