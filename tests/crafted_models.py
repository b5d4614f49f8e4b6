"""Models with hand-written metadata, for the reliability tests (stdlib + the runtime only)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from edge_emotion_runtime.bundled import emotion_model_path
from edge_emotion_runtime.metadata import METADATA_FILENAME, _split


def bundled_parts() -> tuple[bytes, dict[str, Any]]:
    """(flatbuffer, metadata dict) of the bundled emotion model."""
    flatbuffer, meta = _split(emotion_model_path().read_bytes())
    assert meta is not None
    return flatbuffer, meta


def write_model(path: Path, flatbuffer: bytes, text: str | bytes) -> Path:
    """`flatbuffer` + a ZIP holding `text` as its metadata JSON, verbatim (may be invalid)."""
    buffer = io.BytesIO(flatbuffer)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(METADATA_FILENAME, text)
    path.write_bytes(buffer.getvalue())
    return path


def bundled_with(path: Path, **changes: Any) -> Path:
    """The bundled model with top-level metadata keys replaced (json.dumps writes inf as
    `Infinity`, as a hostile file would)."""
    flatbuffer, meta = bundled_parts()
    meta.update(changes)
    return write_model(path, flatbuffer, json.dumps(meta))


def bundled_with_framing(path: Path, detector: str = "short", **fields: Any) -> Path:
    """The bundled model with fields of one recorded framing replaced."""
    flatbuffer, meta = bundled_parts()
    meta["crop"]["framings"][detector].update(fields)
    return write_model(path, flatbuffer, json.dumps(meta))
