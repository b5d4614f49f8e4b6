"""`edge-emotion evaluate-photos`: exact figures on a labelled folder built from the fixture photos.

The folder is made at test time from tests/fixtures/photos (public-domain photos) plus synthetic
images, so the tests run on a fresh clone without ../shared. What the bundled pipeline says on
each photo was looked at once and is part of the expectations: the astronaut is a happy face (it
must stay one, issue 24), the cameraman a sad one, a flat grey image has no face.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import invoke
from PIL import Image

pytestmark = pytest.mark.workstation

PHOTOS = Path(__file__).parent / "fixtures" / "photos"


def _grey(size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.new("RGB", size, (128, 128, 128))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """happy/ 4 photos (one face of ~71 px, one of ~142 px saved as PNG under a .jpg name, two
    faces of ~90 px, no face), sad/ 3 readable photos (the cameraman, the astronaut: a wrong
    label on purpose, no face) plus 2 unreadable files, neutral/ 1 photo (never scored)."""
    root = tmp_path_factory.mktemp("labelled")
    for name in ("happy", "sad", "neutral"):
        (root / name).mkdir()
    astronaut = Image.open(PHOTOS / "astronaut-256.jpg").convert("RGB")
    mid = astronaut.resize((384, 384), Image.Resampling.BICUBIC)
    mid.save(root / "happy" / "astronaut.jpg", quality=92)
    big = astronaut.resize((768, 768), Image.Resampling.BICUBIC)
    big.save(root / "happy" / "astronaut-big.jpg", format="PNG")  # the extension lies
    face = Image.open(PHOTOS / "astronaut-face-260.jpg").convert("RGB")
    pair = Image.new("RGB", (560, 300), (90, 90, 90))
    pair.paste(face, (10, 20))
    pair.paste(face, (290, 20))
    pair.save(root / "happy" / "pair.png")
    _grey().save(root / "happy" / "grey.jpg")
    Image.open(PHOTOS / "camera-face-200.jpg").save(root / "sad" / "camera.jpg")
    mid.save(root / "sad" / "astronaut.jpg", quality=92)
    _grey((300, 300)).save(root / "sad" / "grey.png")
    (root / "sad" / "notes.jpg").write_text("not an image\n")
    (root / "sad" / "empty.jpg").write_bytes(b"")
    mid.save(root / "neutral" / "astronaut.jpg", quality=92)
    return root


@pytest.fixture(scope="module")
def evaluated(labelled: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("eval") / "result"
    code, stdout, stderr = invoke(["evaluate-photos", str(labelled), "--out", str(out)])
    assert code == 0, stderr
    return out, stdout


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_accuracy_is_on_covered_photos_and_coverage_on_all_readable_ones(evaluated) -> None:
    out, stdout = evaluated
    overall = _summary(out)["overall"]
    assert (overall["photos"], overall["found"], overall["covered"]) == (7, 5, 5)
    assert (overall["correct"], overall["uncertain"]) == (4, 0)
    assert overall["accuracy"] == pytest.approx(4 / 5)
    assert overall["coverage"] == pytest.approx(5 / 7)
    assert "accuracy on covered 80.0% (4/5), coverage 71.4% (5/7)" in stdout


def test_confusion_and_recall_per_class(evaluated) -> None:
    overall = _summary(evaluated[0])["overall"]
    assert overall["confusion"] == {
        "happy": {"happy": 3, "sad": 0, "no face": 1},
        "sad": {"happy": 1, "sad": 1, "no face": 1},
    }
    happy, sad = overall["recall"]["happy"], overall["recall"]["sad"]
    assert (happy["correct"], happy["covered"], happy["photos"]) == (3, 3, 4)
    assert (sad["correct"], sad["covered"], sad["photos"]) == (1, 2, 3)
    assert sad["recall"] == pytest.approx(0.5)


def test_breakdown_by_face_count_and_face_size(evaluated) -> None:
    summary = _summary(evaluated[0])
    by_faces = {
        k: (v["photos"], v["covered"], v["correct"]) for k, v in summary["by_faces"].items()
    }
    assert by_faces == {"0": (2, 0, 0), "1": (4, 4, 3), "2-3": (1, 1, 1), "4+": (0, 0, 0)}
    by_size = {k: (v["photos"], v["correct"]) for k, v in summary["by_face_size"].items()}
    # Box sides as reported: the fused detector reports full-range boxes, which are a little
    # larger than short-range ones (the ~90 px pair's faces are 96 px and up).
    assert by_size == {"<48": (0, 0), "48-95": (3, 2), "96-191": (2, 2), ">=192": (0, 0)}


def test_unreadable_files_are_skipped_and_counted_and_other_folders_only_tallied(
    evaluated,
) -> None:
    summary = _summary(evaluated[0])
    assert summary["skipped"] == 2
    assert sorted(s["path"] for s in summary["skipped_files"]) == ["sad/empty.jpg", "sad/notes.jpg"]
    assert summary["other_folders"] == {"neutral": {"photos": 1, "predicted": {"happy": 1}}}
    assert "2 skipped (unreadable)" in evaluated[1]


def test_min_confidence_sweep_from_recorded_probabilities(evaluated) -> None:
    sweep = _summary(evaluated[0])["min_confidence"]
    assert [row["min_confidence"] for row in sweep] == [0.6, 0.7, 0.8, 0.9]
    # every face here is called with more than 0.9: no floor takes one away
    assert all((row["covered"], row["correct"]) == (5, 4) for row in sweep)


def test_per_image_csv_and_json_have_every_readable_photo_and_the_columns(evaluated) -> None:
    from edge_emotion.benchmarks.photo_eval.outputs import CSV_COLUMNS

    out = evaluated[0]
    with open(out / "images.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = {r["path"]: r for r in reader}
    assert len(rows) == 8  # 7 scored + neutral/, not the 2 unreadable files
    assert set(CSV_COLUMNS) >= {"path", "truth", "predicted", "probability", "p_happy"}
    wrong = rows["sad/astronaut.jpg"]
    assert (wrong["truth"], wrong["predicted"], wrong["correct"], wrong["n_faces"]) == (
        "sad",
        "happy",
        "0",
        "1",
    )
    assert float(wrong["probability"]) > 0.9 and float(wrong["ms_total"]) > 0
    assert rows["happy/grey.jpg"]["predicted"] == "" and rows["happy/grey.jpg"]["box_w"] == ""
    assert rows["happy/pair.png"]["n_faces"] == "2"
    items = {r["path"]: r for r in json.loads((out / "images.json").read_text())}
    assert set(items) == set(rows)
    assert set(items["sad/camera.jpg"]) >= {"box", "score", "ms", "n_faces", "correct"}
    assert items["sad/camera.jpg"]["correct"] is True


def test_error_sheet_has_one_tile_per_error(evaluated) -> None:
    from edge_emotion.benchmarks.photo_eval.sheet import layout

    out = evaluated[0]
    info = _summary(out)["sheets"]["errors"]
    assert info["tiles"] == 1
    with Image.open(out / "errors.png") as sheet:
        assert sheet.size == layout(1)[1:]
    assert not (out / "correct.png").exists()


def test_sheet_all_adds_the_right_ones(labelled: Path, tmp_path: Path) -> None:
    from edge_emotion.benchmarks.photo_eval.sheet import layout

    out = tmp_path / "all"
    code, _, stderr = invoke(
        ["evaluate-photos", str(labelled), "--out", str(out), "--sheet", "all"]
    )
    assert code == 0, stderr
    sheets = _summary(out)["sheets"]
    assert (sheets["errors"]["tiles"], sheets["correct"]["tiles"], sheets["uncertain"]) == (
        1,
        4,
        None,
    )
    with Image.open(out / "correct.png") as sheet:
        assert sheet.size == layout(4)[1:]


def test_a_tile_is_exactly_the_model_input(labelled: Path, evaluated) -> None:
    """Classifying the sheet's crop again gives the recorded probability, to the last bit."""
    from edge_emotion.benchmarks.photo_eval.run import PhotoRecord
    from edge_emotion.benchmarks.photo_eval.sheet import model_input
    from edge_emotion_runtime.photo import PhotoClassifier

    photos = PhotoClassifier.load(quiet=True)
    items = json.loads((evaluated[0] / "images.json").read_text())
    checked = 0
    for item in items:
        if item["predicted"] is None:
            continue
        item.pop("correct")
        record = PhotoRecord(**{**item, "box": tuple(item["box"])})
        pixels = model_input(photos, labelled / record.path, record)
        assert pixels.shape == photos.classifier.spec.shape
        # Detected faces are classified as the mean of the crop and its mirror (the default).
        clf = photos.classifier
        predict = clf.predict if record.whole_image else clf.predict_mirrored
        assert predict(pixels).p_happy == pytest.approx(record.face_p_happy, abs=1e-6)
        checked += 1
    assert checked == 6


def test_detector_and_detect_are_forwarded_to_the_pipeline(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    code, stdout, stderr = invoke(
        ["evaluate-photos", str(labelled), "--out", str(out), "--detect", "never", "-t", "1"]
    )
    assert code == 0, stderr
    summary = _summary(out)
    assert summary["detector"] is None and summary["pipeline"]["analyze"] == {"detect": "never"}
    assert summary["pipeline"]["load"] == {"detector": None, "threads": 1}
    assert summary["overall"]["found"] == summary["overall"]["photos"] == 7  # all classified whole
    assert "detect never" in stdout


def test_options_are_routed_by_the_runtime_signatures() -> None:
    from edge_emotion.benchmarks.photo_eval.pipeline import route
    from edge_emotion.errors import UsageError

    options = route(
        {"model": "m.tflite", "detector": "full", "detect": "always", "no_xnnpack": True}
    )
    assert options.model == "m.tflite"
    assert dict(options.load) == {"detector": "full", "use_xnnpack": False}
    assert dict(options.analyze) == {"detect": "always"}
    assert route({"threads": None, "no_xnnpack": False}).load == {}  # left off: runtime default
    with pytest.raises(UsageError, match="no 'warp_speed'"):
        route({"warp_speed": 9})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "no such directory"),
        (lambda root: root, "no class folders with files"),
        (
            lambda root: (
                (root / "neutral").mkdir() or _grey().save(root / "neutral" / "a.png") or root
            ),
            "no happy/ or sad/ folder to score",
        ),
        (lambda root: (root / "f.txt").write_text("x") and root / "f.txt", "not a directory"),
    ],
    ids=["missing", "empty", "only-unscored-folders", "a-file"],
)
def test_bad_input_is_one_error_line(tmp_path: Path, make, message: str) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    target = make(root)
    code, stdout, stderr = invoke(["evaluate-photos", str(target), "--out", str(tmp_path / "o")])
    assert code != 0 and stdout == ""
    assert stderr.strip().count("\n") == 0 and stderr.startswith("error: "), stderr
    assert message in stderr
    assert not (tmp_path / "o").exists()


def test_bad_detector_is_one_error_line(labelled: Path, tmp_path: Path) -> None:
    code, _, stderr = invoke(["evaluate-photos", str(labelled), "--detector", "medium"])
    assert code != 0 and stderr.startswith(
        "error: --detector 'medium': choose from fused, short, full"
    )


def test_existing_results_are_never_silently_replaced(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke(["evaluate-photos", str(labelled), "--out", str(out), "--sheet", "none"])[0] == 0
    code, _, stderr = invoke(["evaluate-photos", str(labelled), "--out", str(out)])
    assert code != 0 and "already exists (use --force" in stderr
    code, _, stderr = invoke(["evaluate-photos", str(labelled), "--out", str(out), "--force"])
    assert code == 0, stderr
    assert (out / "errors.png").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own results")
    code, _, stderr = invoke(["evaluate-photos", str(labelled), "--out", str(foreign), "--force"])
    assert code != 0 and "not written by evaluate-photos" in stderr
    assert (foreign / "notes.txt").read_text() == "my own results"


def test_default_out_takes_the_next_free_name(labelled: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert invoke(["evaluate-photos", str(labelled), "--sheet", "none"])[0] == 0
    base = tmp_path / "runs" / "evaluate-photos"
    assert sorted(p.name for p in base.iterdir()) == [labelled.name, f"{labelled.name}-2"]


def test_runs_without_tensorflow(labelled: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None  # any import of it fails\n"
        "sys.argv = ['edge-emotion', 'evaluate-photos', sys.argv[1], '--out', sys.argv[2]]\n"
        "from edge_emotion.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(labelled), str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "accuracy on covered 80.0%" in result.stdout


def _record(truth: str, predicted: str | None, p_happy: float | None, faces: int = 1):
    from edge_emotion.benchmarks.photo_eval.run import PhotoRecord

    probability = None
    if predicted == "happy":
        probability = p_happy
    elif predicted == "sad":
        probability = 1 - p_happy
    return PhotoRecord(
        path=f"{truth}/{len(str(p_happy))}.jpg",
        truth=truth,
        predicted=predicted,
        probability=probability,
        p_happy=p_happy,
        n_faces=faces if predicted else 0,
        box=(0, 0, 50, 40) if predicted else None,
        face_p_happy=p_happy,
        score=0.9 if predicted else None,
        whole_image=False,
        width=100,
        height=100,
        ms={"decode": 1.0, "detect": 2.0, "classify": 3.0, "total": 6.0},
    )


def test_uncertain_faces_are_counted_apart_and_the_sweep_re_decides_them() -> None:
    from edge_emotion.benchmarks.photo_eval.metrics import confidence_sweep, score

    records = [
        _record("happy", "happy", 0.95),
        _record("happy", "happy", 0.65),
        _record("happy", "sad", 0.25),
        _record("sad", "uncertain", 0.45),  # leans sad at 0.55: right, but below every floor
        _record("sad", None, None),
    ]
    overall = score(records, ("happy", "sad"))
    assert (overall.photos, overall.found, overall.uncertain, overall.covered) == (5, 4, 1, 3)
    assert overall.correct == 2 and overall.confusion["sad"] == {
        "happy": 0,
        "sad": 0,
        "uncertain": 1,
        "no face": 1,
    }
    sweep = {
        row["min_confidence"]: (row["covered"], row["correct"])
        for row in confidence_sweep(records, ("happy", "sad"), (0.5, 0.6, 0.7, 0.8))
    }
    assert sweep == {0.5: (4, 3), 0.6: (3, 2), 0.7: (2, 1), 0.8: (1, 1)}


def test_bucket_edges() -> None:
    from edge_emotion.benchmarks.photo_eval.metrics import (
        FACE_COUNT_BUCKETS,
        FACE_SIZE_BUCKETS,
        bucket,
    )

    assert [bucket(n, FACE_COUNT_BUCKETS) for n in (0, 1, 2, 3, 4, 40)] == [
        "0",
        "1",
        "2-3",
        "2-3",
        "4+",
        "4+",
    ]
    assert [bucket(s, FACE_SIZE_BUCKETS) for s in (1, 47, 48, 95, 96, 191, 192, 900)] == [
        "<48",
        "<48",
        "48-95",
        "48-95",
        "96-191",
        "96-191",
        ">=192",
        ">=192",
    ]
