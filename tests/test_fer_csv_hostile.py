"""Hostile fer2013.csv files: a bad row is skipped with one counted warning, a bad file is one
`error:` line and exit code 2 (README, "Data layouts"); never the catch-all "internal error".

The property tests feed random rows and random bytes to the same reader `train` uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_workstation_cli as run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_emotion.errors import DataError
from edge_emotion.training.dataset import load_folder
from edge_emotion.training.discovery import discover
from edge_emotion_runtime.preprocess import PreprocessSpec

HEADER = "emotion,pixels,Usage"
SPEC = PreprocessSpec.square(8, 1)


def _pixels(seed: int) -> str:
    return " ".join(map(str, np.random.default_rng(seed).integers(0, 256, 48 * 48)))


def _good_rows(n: int = 3) -> list[str]:
    """n happy and n sad rows, all valid."""
    return [f"{3 + i % 2},{_pixels(i)},Training" for i in range(2 * n)]


def _write(folder: Path, lines: list[str], *, bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fer2013.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + ("\n".join(lines) + "\n").encode())
    return path


def assert_exit_2_one_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


BAD_ROWS = {
    "pixel 300": "3," + " ".join(["300"] * 48 * 48) + ",Training",
    "pixel -5": "4," + " ".join(["-5"] * 48 * 48) + ",Training",
    "no pixels field": "3",
    "empty pixels": "4,,Training",
    "pixel 1.5": "3," + " ".join(["1.5"] * 48 * 48) + ",Training",
    "pixel abc": "4," + " ".join(["abc"] * 48 * 48) + ",Training",
    "huge number": "3," + " ".join(["9" * 30] * 48 * 48) + ",Training",
    "not square": "4," + " ".join(["1"] * 50) + ",Training",
}


@pytest.mark.parametrize("bad", list(BAD_ROWS), ids=list(BAD_ROWS))
def test_a_bad_row_is_skipped_with_one_counted_warning(tmp_path, capsys, bad):
    _write(tmp_path, [HEADER, *_good_rows(), BAD_ROWS[bad]])
    data = load_folder(tmp_path, SPEC)
    assert len(data) == 6
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "skipped 1 unreadable" in err
    assert "fer2013.csv#6" in err


def test_a_utf8_bom_file_is_read(tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM: valid data, read like any other."""
    _write(tmp_path, [HEADER, *_good_rows()], bom=True)
    found = discover(tmp_path)
    assert len(found.candidates) == 6
    assert len(load_folder(tmp_path, SPEC)) == 6


@pytest.mark.parametrize("content", ["random", "nul", "latin1", "huge-field"])
def test_a_file_that_is_not_a_csv_is_a_data_error(tmp_path, content):
    path = tmp_path / "x.csv"
    if content == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    elif content == "nul":
        path.write_bytes(f"{HEADER}\n3,1 2\x003,Training\n".encode())
    elif content == "latin1":
        path.write_bytes(f"{HEADER}\n3,{_pixels(0)},Tr\xe4ining\n".encode("latin-1"))
    else:
        path.write_text(f"{HEADER}\n3,{'1 ' * 200_000},Training\n")
    with pytest.raises(DataError, match=r"x\.csv"):
        discover(path)


def test_the_cli_reports_a_random_bytes_csv_as_one_line_exit_2(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(np.random.default_rng(1).bytes(4000))
    proc = run_cli("train", "--data", str(path), "--out", str(tmp_path / "r"))
    assert_exit_2_one_line(proc, "x.csv")


def test_the_cli_skips_bad_rows_and_names_the_class_left_empty(tmp_path):
    """Every sad row is broken in a different way: one warning counting them, then exit 2."""
    happy = [f"3,{_pixels(i)},Training" for i in range(3)]
    sad = [BAD_ROWS["pixel 300"].replace("3,", "4,", 1), BAD_ROWS["pixel -5"], "4"]
    _write(tmp_path / "d", [HEADER, *happy, *sad])
    proc = run_cli("train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"))
    assert_exit_2_one_line(proc, "class 'sad' has no readable images")
    assert "warning: skipped 3 unreadable" in proc.stderr


# --- property-based: random rows and random files -------------------------------------------

_cell = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.sampled_from(["", " ", "3", "4", "255", "0", "-0", "+7", "1_0", "٣", "\x00", '"']),
)
_pixels_field = st.one_of(
    _cell,
    st.lists(st.integers(-300, 600).map(str), min_size=0, max_size=60).map(" ".join),
    st.lists(_cell, max_size=20).map(" ".join),
    st.integers(0, 255).map(lambda v: " ".join([str(v)] * 48 * 48)),
)
_row = st.one_of(
    st.tuples(st.sampled_from(["3", "4", "0", "x", ""]), _pixels_field, _cell).map(
        lambda t: ",".join(t)
    ),
    st.lists(_cell, max_size=5).map(",".join),
    st.text(max_size=40),
)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def _read_like_train(path: Path) -> tuple[int, int] | str:
    """What `train` does with a dataset before any TensorFlow: discover, then decode.

    Returns (kept, skipped) or the DataError's message; any other exception fails the test.
    """
    try:
        found = discover(path)
        data = load_folder(path, SPEC)
    except DataError as err:
        message = str(err)
        assert "\n" not in message and message
        return message
    assert len(data) <= len(found.candidates)
    return len(data), len(found.candidates) - len(data)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_row, max_size=6), bom=st.booleans())
def test_random_rows_are_skipped_or_a_data_error(tmp_path_factory, rows, bom):
    folder = tmp_path_factory.mktemp("rows")
    try:
        _write(folder, [HEADER, *_good_rows(1), *rows], bom=bom)
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8
        return
    result = _read_like_train(folder)
    if isinstance(result, tuple):
        kept, _skipped = result
        assert kept >= 2  # the two good rows always survive bad neighbours


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=3000), with_header=st.booleans())
def test_random_bytes_as_csv_are_read_or_a_data_error(tmp_path_factory, content, with_header):
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "fer2013.csv"
    path.write_bytes((HEADER.encode() + b"\n" if with_header else b"") + content)
    _read_like_train(path)


def test_cli_exit_code_of_a_data_error_is_2_in_process(tmp_path, monkeypatch, capsys):
    """The in-process entry point maps whatever the reader raises to one line and exit 2."""
    from edge_emotion import cli

    path = tmp_path / "x.csv"
    path.write_bytes(os.urandom(64) + b"\xff\xfe")
    monkeypatch.chdir(tmp_path)
    argv = ["edge-emotion", "train", "--data", str(path), "--out", str(tmp_path / "r")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "internal error" not in err
    assert "x.csv" in err
