"""Video files and live sources on the device (`edge_emotion_runtime.video`, `edge-emotion-video`).

One 40-frame 640x480 clip is built per module from two real photographs (face crops of
`../shared/photos/astronaut.png` and `camera.png`, committed in tests/fixtures/photos): the
astronaut smiling, moving right and growing; a man behind a camera joining on the right; empty
frames at both ends. Every test reads it with the bundled int8 model: faces per frame,
stable track ids, labels, the JSON lines, --every, --max-frames, the annotated output, live-mode
frame dropping, signals, and every anticipated error as one line with exit code 2.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from edge_emotion_runtime import video
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.video.scene import SceneFrame, write_scene_video

ROOT = Path(__file__).resolve().parents[1]
# The committed face crops the scene is built from (see fixtures/photos/README.md).
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
FRAMES, FPS = 40, 20.0
Scene = tuple[Path, list[SceneFrame]]

# scripts/test-aarch64.sh runs this file with only the device runtime installed, without the
# `video` extra: there the tests that need OpenCV skip, saying why. Wherever the workstation
# toolkit is installed (the dev venv, CI), OpenCV comes with it and a missing one fails.
DEVICE_ONLY_WITHOUT_OPENCV = (
    importlib.util.find_spec("cv2") is None and importlib.util.find_spec("edge_emotion") is None
)
NO_OPENCV = (
    "needs the runtime's video extra (opencv-python-headless), not installed in this "
    "device-only environment"
)
needs_opencv = pytest.mark.skipif(DEVICE_ONLY_WITHOUT_OPENCV, reason=NO_OPENCV)
Results = tuple[list[video.FrameResult], video.VideoSummary]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """The clip (every test that reads a video uses it, so they all skip without OpenCV)."""
    if DEVICE_ONLY_WITHOUT_OPENCV:
        pytest.skip(NO_OPENCV)
    path = tmp_path_factory.mktemp("video") / "scene.mp4"
    plan = write_scene_video(path, PHOTOS, frames=FRAMES, width=640, height=480, fps=FPS)
    return path, plan


@pytest.fixture(scope="module")
def classifier() -> PhotoClassifier:
    return PhotoClassifier.load(threads=1, quiet=True)


@pytest.fixture(scope="module")
def results(scene: Scene, classifier: PhotoClassifier) -> Results:
    """Every frame of the clip through the Python API, default smoothing."""
    analyzer = video.VideoAnalyzer(classifier)
    with video.open_source(str(scene[0])) as source:
        frames = list(analyzer.run(source))
    return frames, analyzer.summary()


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); with `capfd` also what native code (FFmpeg) writes."""
    code = video.main([*args, "--threads", "1"])
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def by_person(result: video.FrameResult, frame: SceneFrame) -> dict[str, video.TrackedFace]:
    """Match the faces of a frame to the people placed in it: the astronaut is always left."""
    faces = sorted(result.faces, key=lambda f: f.box[0])
    return dict(zip(sorted(frame.people, key=lambda p: p != "astronaut"), faces, strict=True))


# ------------------------------------------------------------------------------ the pipeline
def test_each_frame_reports_the_faces_it_shows(results: Results, scene: Scene) -> None:
    frames, _ = results
    plan = scene[1]
    assert [r.index for r in frames] == list(range(FRAMES))
    assert [len(r.faces) for r in frames] == [len(f.people) for f in plan]
    assert any(not f.people for f in plan) and any(len(f.people) == 2 for f in plan)
    for r in frames:
        assert (r.width, r.height) == (640, 480)
        assert r.timestamp == pytest.approx(r.index / FPS)


def test_track_ids_stay_stable_while_faces_move(results: Results, scene: Scene) -> None:
    frames, summary = results
    ids: dict[str, set[int]] = {"astronaut": set(), "camera": set()}
    xs = []
    for result, frame in zip(frames, scene[1], strict=True):
        for person, face in by_person(result, frame).items():
            ids[person].add(face.track_id)
            if person == "astronaut":
                xs.append(face.box[0])
    assert len(ids["astronaut"]) == 1 and len(ids["camera"]) == 1
    assert ids["astronaut"] != ids["camera"]
    assert max(xs) - min(xs) > 60  # the face really moved (and grew) across the frames
    assert [t.track_id for t in summary.tracks] == sorted(ids["astronaut"] | ids["camera"])


def test_astronaut_is_happy_and_the_summary_says_so(results: Results, scene: Scene) -> None:
    frames, summary = results
    astronaut = set()
    for result, frame in zip(frames, scene[1], strict=True):
        face = by_person(result, frame).get("astronaut")
        if face is not None:
            astronaut.add(face.track_id)
            assert face.label == "happy", (result.index, face)
            assert face.probability > 0.5
    (track,) = [t for t in summary.tracks if t.track_id in astronaut]
    assert track.label == "happy" and dict(track.share)["happy"] >= 0.9
    assert track.frames == sum("astronaut" in f.people for f in scene[1])
    assert summary.frames_read == summary.frames_processed == FRAMES
    assert summary.frames_dropped == 0
    assert summary.faces == sum(len(f.people) for f in scene[1])
    assert summary.fps > 0 and set(summary.mean_ms) == {"decode", "detect", "classify", "total"}


def test_frame_results_are_frozen_and_serialise(results: Results) -> None:
    frames, summary = results
    result = next(r for r in frames if r.faces)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.index = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.faces[0].label = "sad"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["frame"] == result.index and len(data["faces"]) == len(result.faces)
    assert json.loads(json.dumps(summary.to_dict()))["frames_processed"] == FRAMES


def test_analyze_video_generator_gives_what_the_cli_prints(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    api = [r.to_dict() for r in video.analyze_video(str(scene[0]), max_frames=12, threads=1)]
    code, out, _ = run_cli([str(scene[0]), "--json", "--max-frames", "12"], capsys)
    cli = json_lines(out)
    assert code == 0 and len(api) == len(cli) == 12
    for a, c in zip(api, cli, strict=True):
        a.pop("ms"), c.pop("ms")
        assert a == c


# ------------------------------------------------------------------------------ smoothing, tracking
def test_ema_smoothing_keeps_a_label_from_flickering() -> None:
    raw = [0.9, 0.4, 0.6, 0.4, 0.6, 0.45]
    smoother = video.Smoothing("ema", alpha=0.3).smoother()
    smoothed = [smoother.update(p) for p in raw]
    assert smoothed[1] == pytest.approx(0.3 * 0.4 + 0.7 * 0.9)
    assert {p > 0.5 for p in raw} == {True, False}  # the raw label flips...
    assert all(p > 0.5 for p in smoothed)  # ...the smoothed one does not


def test_window_smoothing_is_the_mean_of_the_last_frames() -> None:
    smoother = video.Smoothing("window", window=2).smoother()
    assert [smoother.update(p) for p in (1.0, 0.0, 0.5)] == [1.0, 0.5, 0.25]
    none = video.Smoothing("none").smoother()
    assert [none.update(p) for p in (1.0, 0.0)] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "median"}, "smoothing must be"),
        ({"alpha": 0.0}, "alpha"),
        ({"window": 0}, "window"),
    ],
)
def test_bad_smoothing_is_a_usage_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        video.Smoothing(**kwargs)  # type: ignore[arg-type]


def test_tracker_keeps_ids_through_motion_and_short_misses_and_never_reuses_them() -> None:
    tracker = video.IouTracker(min_iou=0.3, max_missed=2)
    assert tracker.update([(100, 100, 80, 80), (400, 100, 80, 80)]) == [1, 2]
    # Both move; given in the other order: ids follow the faces, not the list positions.
    assert tracker.update([(420, 110, 80, 80), (115, 100, 84, 84)]) == [2, 1]
    # A fast jump (no overlap with the last box, but close): still the same face.
    assert tracker.update([(160, 100, 84, 84)]) == [1]
    assert tracker.update([]) == [] and tracker.update([]) == []  # track 1 missed twice: kept
    assert tracker.update([(165, 100, 84, 84)]) == [1]
    for _ in range(3):  # track 1 missed more than max_missed: ended
        tracker.update([])
    assert tracker.update([(165, 100, 84, 84)]) == [3]  # a new id, never 1 or 2 again


def relabelled_model(path: Path, **changes: Any) -> Path:
    """The bundled model's network under other metadata (labels, threshold, positive_index)."""
    from edge_emotion_runtime.bundled import emotion_model_path
    from edge_emotion_runtime.metadata import embed, read_metadata

    bundled = emotion_model_path()
    metadata = read_metadata(bundled)
    assert metadata is not None
    path.write_bytes(embed(bundled.read_bytes(), dataclasses.replace(metadata, **changes)))
    return path


def test_video_decides_by_the_models_threshold_not_by_one_half(tmp_path: Path) -> None:
    # Output P(sad) with threshold 0.7: P(happy) 0.35 is P(sad) 0.65, below it, so "happy";
    # a rule that ignored the threshold (0.5) would say "sad".
    model = relabelled_model(tmp_path / "t07.tflite", threshold=0.7)
    analyzer = video.VideoAnalyzer(PhotoClassifier.load(model, threads=1, quiet=True))
    assert analyzer.decide(0.35) == ("happy", pytest.approx(0.35))
    assert analyzer.decide(0.25) == ("sad", pytest.approx(0.75))


def test_bundled_model_at_exactly_its_threshold_says_the_other_label(
    classifier: PhotoClassifier,
) -> None:
    # Strictly above the threshold (0.5) is "sad", as the seed's `yhat > 0.5` had it.
    analyzer = video.VideoAnalyzer(classifier)
    assert analyzer.decide(0.5) == ("happy", pytest.approx(0.5))
    assert analyzer.decide(0.49) == ("sad", pytest.approx(0.51))


def test_a_frame_gets_the_label_its_photo_gets_for_any_valid_labels(tmp_path: Path) -> None:
    # Labels without "happy", the sigmoid giving P(labels[0]): the video used to decide by
    # its own copy of the rule, which took index 0 for "happy" and named the other label.
    import numpy as np
    from PIL import Image

    model = relabelled_model(tmp_path / "ab.tflite", labels=("a", "b"), positive_index=0)
    classifier = PhotoClassifier.load(model, threads=1, quiet=True)
    rgb = np.asarray(Image.open(PHOTOS / "astronaut-256.jpg").convert("RGB"))
    photo = classifier.analyze(rgb)
    assert photo.faces
    frame = video.VideoAnalyzer(classifier).process(video.Frame(0, 0.0, rgb, 0.0))
    got = [(f.label, f.probability) for f in frame.faces]
    assert got == [(f.label, pytest.approx(f.probability)) for f in photo.faces]
    assert {f.label for f in frame.faces} <= {"a", "b"}


# ------------------------------------------------------------------------------ the CLI
def test_json_lines_one_per_frame_with_tracks_raw_and_smoothed(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [str(scene[0]), "--json", "--smooth", "window", "--window", "3"], capsys
    )
    lines = json_lines(out)
    assert code == 0
    assert [d["frame"] for d in lines] == list(range(FRAMES))
    assert [d["t"] for d in lines] == [round(i / FPS, 3) for i in range(FRAMES)]
    history: dict[int, list[float]] = {}
    for d in lines:
        for face in d["faces"]:
            assert set(face) >= {
                "track",
                "box",
                "label",
                "probability",
                "p_happy",
                "p_happy_smoothed",
            }
            raw = history.setdefault(face["track"], [])
            raw.append(face["p_happy"])
            assert face["p_happy_smoothed"] == pytest.approx(
                sum(raw[-3:]) / len(raw[-3:]), abs=2e-6
            )
    assert len(history) == 2
    # The summary goes to stderr, so stdout is JSON only.
    assert "40 frames read, 40 processed, 0 dropped" in err
    assert "track 1: happy" in err


def test_text_output_prints_track_changes_then_the_summary(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([str(scene[0])], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "frame 5: track 1 new happy" in lines[0]
    assert any("track 2 new" in line for line in lines)
    assert any(line.startswith(f"{scene[0]}: 640x480, 40 frames read") for line in lines)
    assert any("fps end to end" in line for line in lines)
    assert any(
        line.startswith("track 1: happy (100% happy, 0% sad) in 30 frames") for line in lines
    )


def test_every_n_processes_every_nth_frame(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([str(scene[0]), "--json", "--every", "3"], capsys)
    assert code == 0
    assert [d["frame"] for d in json_lines(out)] == list(range(0, FRAMES, 3))
    assert f"40 frames read, {math.ceil(FRAMES / 3)} processed" in err


@pytest.mark.parametrize(("every", "expected"), [(1, [0, 1, 2, 3, 4]), (2, [0, 2, 4, 6, 8])])
def test_max_frames_counts_processed_frames(
    scene: Scene, capsys: pytest.CaptureFixture[str], every: int, expected: list[int]
) -> None:
    args = [str(scene[0]), "--json", "--max-frames", "5", "--every", str(every)]
    code, out, err = run_cli(args, capsys)
    assert code == 0 and [d["frame"] for d in json_lines(out)] == expected
    assert "5 processed" in err


def _frame_count(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.mark.parametrize("every", [1, 4])
def test_annotated_video_has_every_source_frame(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path, every: int
) -> None:
    import cv2

    out_path = tmp_path / "out" / "annotated.mp4"
    code, _, err = run_cli(
        [str(scene[0]), "--annotate", str(out_path), "--every", str(every)], capsys
    )
    assert code == 0 and f"annotated: {out_path} (40 frames)" in err
    assert _frame_count(out_path) == FRAMES
    assert not [p for p in out_path.parent.iterdir() if p.name.startswith(".")]  # no temp left
    # Frame 30 shows the astronaut: its box is drawn in the happy colour (255, 196, 0).
    cap = cv2.VideoCapture(str(out_path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, bgr = cap.read()
    cap.release()
    rgb = bgr[..., ::-1].astype(int)
    yellow = (abs(rgb - (255, 196, 0)).sum(axis=-1) < 60).sum()
    assert ok and yellow > 200


def test_annotate_never_replaces_an_existing_file(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    taken = tmp_path / "out.mp4"
    taken.write_bytes(b"keep me")
    code, _, err = run_cli([str(scene[0]), "--annotate", str(taken), "--max-frames", "3"], capsys)
    assert code == 0 and taken.read_bytes() == b"keep me"
    assert f"annotated: {tmp_path / 'out-1.mp4'} (3 frames)" in err
    assert _frame_count(tmp_path / "out-1.mp4") == 3


def test_annotate_into_a_directory_names_the_file_after_the_source(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(
        [str(scene[0]), "--annotate", str(tmp_path / "out"), "--max-frames", "2"], capsys
    )
    assert code == 0 and f"annotated: {tmp_path / 'out' / 'scene.annotated.mp4'} (2 frames)" in err
    assert video.annotated_path("d", video.parse_source("0")) == Path("d/camera0.annotated.mp4")


def test_edge_emotion_run_video_runs_the_video_pipeline(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge-emotion-run --video SOURCE`: the photo CLI's own flags plus the video ones."""
    from edge_emotion_runtime.cli import run

    code = run(["--video", str(scene[0]), "--json", "--max-frames", "2", "--threads", "1"])
    assert code == 0
    out, err = capsys.readouterr()
    assert [d["frame"] for d in json_lines(out)] == [0, 1] and "2 processed" in err


def test_edge_emotion_run_refuses_images_and_video_together(scene: Scene) -> None:
    from edge_emotion_runtime.cli import run
    from edge_emotion_runtime.errors import UsageError

    with pytest.raises(UsageError, match="either IMAGE arguments or --video"):
        run(["face.jpg", "--video", str(scene[0])])


# ------------------------------------------------------------------------------ live mode
def test_live_source_drops_frames_instead_of_queueing(scene: Scene) -> None:
    """A file played at its own 20 fps like a camera, read by a consumer that needs 120 ms a
    frame: it always gets the newest frame, and the ones it missed are counted as dropped."""
    with video.open_source(str(scene[0]), realtime=True) as source:
        assert source.live
        got = []
        for frame in source.frames():
            got.append(frame)
            time.sleep(0.12)
        dropped = source.frames_dropped
    indices = [f.index for f in got]
    assert indices == sorted(set(indices)) and indices[-1] == FRAMES - 1
    assert dropped == sum(f.dropped for f in got) > 0
    assert len(got) + dropped == FRAMES  # every frame either processed or counted as dropped
    assert len(got) < FRAMES * 0.7


def _script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EDGE_EMOTION_MODEL"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_cleanly_and_still_prints_the_summary(
    scene: Scene, sig: signal.Signals
) -> None:
    script = Path(sys.executable).parent / "edge-emotion-video"
    proc = subprocess.Popen(
        [str(script), str(scene[0]), "--realtime", "--json", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_script_env(),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # a frame has been processed: the loop is running
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=30)
    lines = json_lines(first + rest)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"stopped by {sig.name}" in err and "fps end to end" in err
    assert 1 <= len(lines) < FRAMES


# ------------------------------------------------------------------------------ errors
def _bad_file(directory: Path, kind: str) -> Path:
    if kind == "directory":
        return directory
    path = directory / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "not-a-video":
        path.write_text("not a video\n" * 100)
    return path


@needs_opencv
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "missing.mp4: no such file"),
        ("directory", "is a directory, not a video file"),
        ("empty", "empty.mp4: empty file (0 bytes)"),
        ("not-a-video", "not-a-video.mp4: not a video OpenCV can read"),
    ],
)
def test_unreadable_file_is_one_line_and_exit_2(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    code, out, err = run_cli([str(_bad_file(tmp_path, kind))], capfd)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


@needs_opencv
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("97", "camera 97: cannot be opened"),
        ("/dev/video97", "camera /dev/video97: no such device"),
    ],
)
def test_camera_that_cannot_be_opened_is_one_line_and_exit_2(
    capfd: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    code, out, err = run_cli([source], capfd)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_missing_opencv_extra_says_how_to_install_it(tmp_path: Path) -> None:
    """The real entry point in a process where `import cv2` fails as it does without the extra."""
    runner = textwrap.dedent(
        """
        import sys
        from importlib.abc import MetaPathFinder

        class NoOpenCV(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "cv2" or name.startswith("cv2."):
                    raise ModuleNotFoundError("No module named 'cv2'", name="cv2")
                return None

        sys.meta_path.insert(0, NoOpenCV())
        from edge_emotion_runtime.video import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", runner, "0"],
        capture_output=True,
        text=True,
        env=_script_env(),
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "video needs OpenCV" in proc.stderr and "edge-emotion-runtime[video]" in proc.stderr


def test_opencv_is_imported_only_when_a_video_is_opened() -> None:
    probe = (
        "import sys, edge_emotion_runtime.video as v, edge_emotion_runtime.photo; "
        "v.build_parser(); print('cv2' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_script_env(), timeout=60
    )
    assert proc.stdout.strip() == "False", proc.stderr


def test_plain_runtime_install_does_not_depend_on_opencv() -> None:
    project = tomllib.loads((ROOT / "runtime" / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if "opencv" in d]
    assert project["optional-dependencies"]["video"] == ["opencv-python-headless>=4.8"]
    assert project["scripts"]["edge-emotion-video"] == "edge_emotion_runtime.video:main"
