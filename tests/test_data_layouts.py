"""Each supported dataset layout is found; bad folders are one clear DataError."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge_emotion.errors import DataError
from edge_emotion.training.dataset import load_folder
from edge_emotion.training.discovery import discover
from edge_emotion_runtime.preprocess import PreprocessSpec


def _img(path, value=0, size=(12, 10), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, value // 2)
    Image.new(mode, size, color).save(path)
    return path


def test_class_folders_match_case_insensitively_and_ignore_other_emotions(tmp_path):
    _img(tmp_path / "Happy" / "a.jpg", 10)
    _img(tmp_path / "HAPPY_not" / "x.jpg", 10)
    _img(tmp_path / "SAD" / "nested" / "b.png", 20)
    _img(tmp_path / "angry" / "c.jpg", 30)
    (tmp_path / "sad" / "notes.txt").parent.mkdir(exist_ok=True)
    found = discover(tmp_path)
    assert found.layout == "class-folders"
    assert sorted((c.path, c.label) for c in found.candidates) == [
        ("Happy/a.jpg", 0),
        ("SAD/nested/b.png", 1),
    ]
    assert any("angry" in n for n in found.notes)


def test_train_test_folders_keep_the_given_test_split(tmp_path):
    for split in ("train", "test"):
        for label, name in enumerate(("happy", "sad")):
            for i in range(2):
                _img(tmp_path / split / name / f"{i}.jpg", 40 * label + i)
    _img(tmp_path / "train" / "fear" / "f.jpg", 99)
    found = discover(tmp_path)
    assert found.layout == "train-test-folders" and found.has_test_split
    tests = {c.path for c in found.candidates if c.preset_split == "test"}
    assert tests == {f"test/{n}/{i}.jpg" for n in ("happy", "sad") for i in range(2)}
    assert any("fear" in n for n in found.notes)


def test_train_folder_without_test_is_accepted(tmp_path):
    _img(tmp_path / "train" / "happy" / "a.jpg")
    _img(tmp_path / "train" / "sad" / "b.jpg")
    found = discover(tmp_path)
    assert found.layout == "train-test-folders" and not found.has_test_split


def test_fer2013_csv_rows_of_happy_and_sad_become_48x48_images(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for emotion, usage in [
        (3, "Training"),
        (4, "Training"),
        (0, "Training"),
        (3, "PublicTest"),
        (4, "PrivateTest"),
    ]:
        rows.append(f"{emotion},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{usage}")
    (tmp_path / "fer2013.csv").write_text("\n".join(rows) + "\n")
    found = discover(tmp_path)
    assert found.layout == "fer2013-csv"
    assert [(c.path, c.label, c.preset_split) for c in found.candidates] == [
        ("fer2013.csv#0", 0, ""),
        ("fer2013.csv#1", 1, ""),
        ("fer2013.csv#3", 0, "test"),
        ("fer2013.csv#4", 1, "test"),
    ]
    data = load_folder(tmp_path, PreprocessSpec.square(48, 1))
    first = np.array(rows[1].split(",")[1].split(), dtype=np.uint8).reshape(48, 48, 1)
    assert np.array_equal(data.pixels[0], first)
    assert data.labels.tolist() == [0, 1, 0, 1]


def test_missing_dir_empty_class_and_unknown_layout_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such data directory"):
        discover(tmp_path / "nope")
    _img(tmp_path / "happy" / "a.jpg")
    (tmp_path / "sad").mkdir()
    with pytest.raises(DataError, match="class 'sad' has no images"):
        discover(tmp_path)
    other = tmp_path / "other"
    _img(other / "pics" / "a.jpg")
    with pytest.raises(DataError, match="unknown dataset layout"):
        discover(other)


def test_unreadable_files_are_skipped_with_one_counted_warning(tmp_path, capsys):
    for i in range(2):
        _img(tmp_path / "happy" / f"{i}.jpg", 10 * i)
        _img(tmp_path / "sad" / f"{i}.png", 10 * i + 5)
    (tmp_path / "happy" / "text.jpg").write_text("not an image")
    (tmp_path / "sad" / "empty.png").write_bytes(b"")
    good = (tmp_path / "sad" / "0.png").read_bytes()
    (tmp_path / "sad" / "truncated.png").write_bytes(good[: len(good) // 2])
    data = load_folder(tmp_path, PreprocessSpec.square(8, 3))
    assert len(data) == 4
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "skipped 3 unreadable" in err
    assert "text.jpg" in err


def test_class_with_only_unreadable_files_is_a_data_error(tmp_path):
    _img(tmp_path / "happy" / "a.jpg")
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "b.jpg").write_text("hello")
    with pytest.raises(DataError, match="class 'sad' has no readable images"):
        load_folder(tmp_path, PreprocessSpec.square(8, 3))
