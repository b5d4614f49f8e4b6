"""Video frame rate: end-to-end fps of the device video pipeline, broken down per stage.

Builds a synthetic scene video (real photographs, the face crops in tests/fixtures/photos, moved
and scaled across a plain background, with stretches of no face) at each size, then runs
`VideoAnalyzer` over it, the same code as `edge-emotion-video`, and reports per size and
`--every`: end-to-end processed frames per second, source frames consumed per second, and the
mean ms per processed frame for decode (OpenCV read + colour conversion + the photo pipeline's
array-to-image step), detect (BlazeFace incl. letterbox and NMS) and classify (crop + emotion
model, all faces). Each configuration runs `--repeats` times; the median run (by fps) is
reported. Two more rows per size: writing the annotated video too, and the live path (the file
played at its 30 fps through the camera reader thread: does it keep up, how many frames are
dropped).

    python benchmarks/video_fps.py    # 640x480, 1280x720; threads 1, 2; every 1, 3; annotate; live
    python benchmarks/video_fps.py --sizes 640x480 --every 1,2,3 --frames 300 --threads 1

The scene builder is the runtime's `edge_emotion_runtime.video.scene.write_scene_video`: the video
tests build their clip with it too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FpsRow:
    size: str
    threads: int  # interpreter threads (detector and classifier)
    mode: str  # "file", "file+annotate" (writing the .mp4 too) or "live" (realtime source)
    every: int
    frames_read: int
    frames_processed: int
    frames_dropped: int
    faces: int
    seconds: float
    fps: float  # processed frames per wall second, end to end
    source_fps: float  # source frames consumed per wall second
    decode_ms: float
    detect_ms: float
    classify_ms: float
    annotate_ms: float
    total_ms: float
    # Process CPU time (all threads) per processed frame: far less sensitive to other load on
    # the machine than the wall-clock figures.
    cpu_ms: float
    repeats: tuple[float, ...]  # end-to-end fps of every repeat, in run order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    video: Path,
    classifier: Any,
    every: int,
    size: str,
    repeats: int,
    mode: str = "file",
    threads: int = 0,
) -> FpsRow:
    """Run the video `repeats` times through a fresh `VideoAnalyzer`; the median run by fps.

    "file+annotate" also writes the annotated .mp4 (all frames, as the CLI does); "live" plays
    the file at its own frame rate through the camera code path (reader thread, newest frame
    only), so its fps is capped by the source and `frames_dropped` shows whether we keep up.
    """
    from edge_emotion_runtime.video import AnnotatedWriter, VideoAnalyzer, open_source

    runs = []
    for _ in range(repeats):
        analyzer = VideoAnalyzer(classifier)
        annotate_s = 0.0
        cpu0 = time.process_time()
        with (
            tempfile.TemporaryDirectory() as tmp,
            open_source(str(video), realtime=mode == "live") as source,
        ):
            writer = None
            if mode == "file+annotate":
                writer = AnnotatedWriter(
                    Path(tmp) / "out.mp4", source.fps, (source.width, source.height)
                )
            frames = analyzer.run_with_frames(source, every=every, decode_skipped=bool(writer))
            for frame, result in frames:
                if writer is not None:
                    t0 = time.perf_counter()
                    writer.write(frame, result)
                    annotate_s += time.perf_counter() - t0
            if writer is not None:
                writer.close()
        cpu_s = time.process_time() - cpu0
        runs.append((analyzer.summary(), annotate_s, cpu_s))
    mid, annotate_s, cpu_s = sorted(runs, key=lambda r: r[0].fps)[len(runs) // 2]
    ms = mid.mean_ms
    processed = max(1, mid.frames_processed)
    return FpsRow(
        size=size,
        threads=threads,
        mode=mode,
        every=every,
        frames_read=mid.frames_read,
        frames_processed=mid.frames_processed,
        frames_dropped=mid.frames_dropped,
        faces=mid.faces,
        seconds=round(mid.seconds, 3),
        fps=round(mid.fps, 1),
        source_fps=round(mid.frames_read / mid.seconds, 1) if mid.seconds else 0.0,
        decode_ms=round(ms.get("decode", 0.0), 2),
        detect_ms=round(ms.get("detect", 0.0), 2),
        classify_ms=round(ms.get("classify", 0.0), 2),
        annotate_ms=round(annotate_s * 1000.0 / processed, 2),
        total_ms=round(ms.get("total", 0.0) + annotate_s * 1000.0 / processed, 2),
        cpu_ms=round(cpu_s * 1000.0 / processed, 2),
        repeats=tuple(round(r.fps, 1) for r, _, _ in runs),
    )


def table(rows: Sequence[FpsRow]) -> str:
    columns = [
        "size",
        "threads",
        "mode",
        "every",
        "frames read / processed / dropped",
        "faces",
        "end-to-end fps",
        "source frames/s",
        "decode ms",
        "detect ms",
        "classify ms",
        "annotate ms",
        "total ms",
        "CPU ms/frame",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [
            r.size,
            str(r.threads),
            r.mode,
            str(r.every),
            f"{r.frames_read} / {r.frames_processed} / {r.frames_dropped}",
            str(r.faces),
            f"**{r.fps:.1f}**",
            f"{r.source_fps:.1f}",
            *(f"{v:.2f}" for v in (r.decode_ms, r.detect_ms, r.classify_ms, r.annotate_ms)),
            f"{r.total_ms:.2f}",
            f"{r.cpu_ms:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        w, _, h = part.strip().lower().partition("x")
        out.append((int(w), int(h)))
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="640x480,1280x720", help="WxH,... (default: %(default)s)"
    )
    parser.add_argument("--every", default="1,3", help="--every values (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=300, help="frames per video (default: 300)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row; median reported")
    parser.add_argument(
        "--threads", default="1,2", help="interpreter thread counts (default: %(default)s)"
    )
    parser.add_argument("--model", default=None, help="emotion model (default: the bundled one)")
    parser.add_argument(
        "--no-annotate", dest="annotate", action="store_false", help="skip the --annotate rows"
    )
    parser.add_argument(
        "--no-live", dest="live", action="store_false", help="skip the live (realtime) rows"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows and environment here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from edge_emotion.benchmarks.plan import fixture_photos
    from edge_emotion_runtime.photo import PhotoClassifier
    from edge_emotion_runtime.video.scene import write_scene_video

    thread_counts = [int(t) for t in args.threads.split(",")]
    classifiers = {
        t: PhotoClassifier.load(args.model, threads=t, quiet=True) for t in thread_counts
    }
    classifier = classifiers[thread_counts[0]]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in _sizes(args.sizes):
            video = Path(tmp) / f"scene-{width}x{height}.mp4"
            write_scene_video(
                video, fixture_photos(), frames=args.frames, width=width, height=height, fps=30.0
            )
            size = f"{width}x{height}"
            plan = [("file", e, args.repeats) for e in (int(x) for x in args.every.split(","))]
            if args.annotate:
                plan.append(("file+annotate", 1, args.repeats))
            if args.live:
                plan.append(("live", 1, 1))
            for threads, clf in classifiers.items():
                # One untimed pass: page cache, interpreter warm-up, allocator.
                measure(video, clf, 1, size, 1)
                for mode, every, repeats in plan:
                    row = measure(video, clf, every, size, repeats, mode, threads)
                    rows.append(row)
                    print(
                        f"{row.size} threads {threads} {row.mode} every {row.every}: "
                        f"{row.fps:.1f} fps end to end ({row.source_fps:.1f} source frames/s, "
                        f"{row.frames_dropped} dropped), runs {row.repeats}",
                        file=sys.stderr,
                    )
    load_after = os.getloadavg()
    import cv2
    import numpy as np

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": "python benchmarks/video_fps.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "backend": f"{classifier.classifier.backend} {classifier.classifier.backend_version}",
        "model": str(classifier.classifier.path.name),
        "detector": classifier.detector.name if classifier.detector else None,
        "threads": thread_counts,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }
    print(table(rows))
    print()
    print(
        f"{env['processor']}, {env['cpu_count']} cores; {env['backend']}, {env['model']}, "
        f"{env['detector']}, threads {args.threads}; load average before "
        f"{env['loadavg_before']}, after {env['loadavg_after']}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"environment": env, "rows": [r.to_dict() for r in rows]}, indent=2) + "\n"
        )
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
