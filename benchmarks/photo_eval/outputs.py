"""Where an evaluation's files go and how they are written.

An output folder is never silently overwritten (as `edge-emotion train --out`): the default
folder under runs/evaluate-photos/ takes the next free name (NAME-2, NAME-3, ...); an explicit
--out that exists is refused unless --force, and --force replaces only a folder this command
wrote (it has our summary.json). Files are written into a sibling temporary folder that is
renamed into place at the end, so an interrupted run leaves no half-written results.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge_emotion.benchmarks.photo_eval.run import STAGES, PhotoRecord
from edge_emotion.benchmarks.photo_eval.summary import SCHEMA
from edge_emotion.errors import UsageError
from edge_emotion.paths import check_output_dir, swap_into_place
from edge_emotion.rundir import write_json, write_text

DEFAULT_ROOT = Path("runs") / "evaluate-photos"
SUMMARY = "summary.json"
IMAGES_CSV = "images.csv"
IMAGES_JSON = "images.json"
REPORT = "summary.txt"
CSV_COLUMNS: tuple[str, ...] = (
    "path",
    "truth",
    "predicted",
    "correct",
    "probability",
    "p_happy",
    "n_faces",
    "box_x",
    "box_y",
    "box_w",
    "box_h",
    "face_p_happy",
    "score",
    "whole_image",
    "width",
    "height",
    *(f"ms_{stage}" for stage in STAGES),
)


def resolve_out(out: Path | None, dataset: Path, force: bool) -> Path:
    """The folder to write: --out as given (checked), else the next free default name."""
    if out is None:
        name = dataset.resolve().name or "photos"
        out = DEFAULT_ROOT / name
        n = 2
        while os.path.lexists(out):
            out, n = DEFAULT_ROOT / f"{name}-{n}", n + 1
    elif out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is a file, not a directory")
        if not force:
            raise UsageError(
                f"--out {out}: already exists (use --force to replace it, or another --out)"
            )
        if any(out.iterdir()) and not _ours(out):
            raise UsageError(
                f"--out {out}: exists and was not written by evaluate-photos; refusing to "
                "replace it even with --force"
            )
    check_output_dir(out.parent, "--out")
    return out


def _ours(folder: Path) -> bool:
    try:
        return json.loads((folder / SUMMARY).read_text()).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary sibling of `out` to write into, renamed to `out` when the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_into_place(tmp, out)


def write_records(folder: Path, records: Sequence[PhotoRecord], labels: Sequence[str]) -> None:
    rows = [_row(r, labels) for r in records]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(folder / IMAGES_CSV, buffer.getvalue())
    write_json(folder / IMAGES_JSON, [_json(r, labels) for r in records])


def write_summary(folder: Path, summary: dict[str, Any], report: str) -> None:
    write_json(folder / SUMMARY, summary)
    write_text(folder / REPORT, report)


def correct(record: PhotoRecord, labels: Sequence[str]) -> bool | None:
    """Right or wrong on a covered photo of a scored class; None otherwise."""
    if record.truth not in labels or record.predicted not in labels:
        return None
    return record.predicted == record.truth


def _json(record: PhotoRecord, labels: Sequence[str]) -> dict[str, Any]:
    return {**record.to_dict(), "correct": correct(record, labels)}


def _row(record: PhotoRecord, labels: Sequence[str]) -> dict[str, Any]:
    data = record.to_dict()
    box = data.pop("box") or ["", "", "", ""]
    ms = data.pop("ms")
    flag = correct(record, labels)
    row = {k: "" if v is None else v for k, v in data.items()}
    row.update(zip(("box_x", "box_y", "box_w", "box_h"), box, strict=True))
    row.update({f"ms_{k}": v for k, v in ms.items()})
    row["correct"] = "" if flag is None else int(flag)
    row["whole_image"] = int(record.whole_image)
    return row
