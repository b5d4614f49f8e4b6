"""JSON in and out for the benchmark document's dataclasses (`types.py`), by their annotations.

`Record.to_dict()` gives the JSON, `from_dict()` reads it back, refusing unknown keys and missing
required ones with the path of the offending value, so each field is declared once, on its
dataclass. A field with `metadata=OPTIONAL` is left out of the JSON while it is None; every
other field is always written, None included. Sequences are tuples in Python, lists in the JSON.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from typing import Any, Self


class DocumentError(ValueError):
    """A benchmark document that does not have the shape of these types."""


# Metadata of a field that may be absent from the JSON: None when absent, not written while None.
OPTIONAL = {"optional": True}


def _dump(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _load(hint: Any, value: Any, where: str) -> Any:
    """`value` from the JSON as the annotated type `hint` (values themselves are not converted)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):  # `X | None`
        if value is None:
            return None
        (hint,) = [a for a in args if a is not type(None)]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise DocumentError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_load(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DocumentError(f"{where}: expected an object, got {type(value).__name__}")
        return {k: _load(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint._from_dict(value, where)
    if isinstance(hint, type) and hasattr(hint, "from_dict"):  # e.g. the runtime's PreprocessSpec
        try:
            loaded = hint.from_dict(value)
        except (TypeError, ValueError, AttributeError) as err:
            raise DocumentError(f"{where}: {err}") from None
        if loaded.to_dict() != value:
            raise DocumentError(f"{where}: not a {hint.__name__} (unknown or missing keys)")
        return loaded
    return value


class Record:
    """Base of the document's dataclasses: JSON in and out, following the field annotations."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.name] = _dump(value)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        return cls._from_dict(data, cls.__name__)

    @classmethod
    def _from_dict(cls, data: Any, where: str) -> Self:
        if not isinstance(data, dict):
            raise DocumentError(f"{where}: expected an object, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise DocumentError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
        missing = [
            name
            for name, f in known.items()
            if name not in data and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            raise DocumentError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
        hints = typing.get_type_hints(cls)
        return cls(**{k: _load(hints[k], v, f"{where}.{k}") for k, v in data.items()})
