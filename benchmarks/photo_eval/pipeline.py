"""Command-line flags -> `PhotoClassifier.load` / `.analyze_image` keyword arguments, in one place.

Every option of the evaluate command that is not its own (see `OWN`) is forwarded by name to
whichever of the two takes a keyword of that name, so a new runtime option (a detector, mirror
averaging, a confidence floor) needs one typer option line in `cli.py` and nothing here. An
option left at None keeps the runtime's own default, so the evaluation measures what
`edge-emotion-run` does by default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_emotion.errors import UsageError

# Flags whose runtime keyword differs: flag name -> (keyword, value mapping).
RENAMED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "no_xnnpack": ("use_xnnpack", lambda flag: not flag),
    "no_mirror": ("mirror", lambda flag: not flag),
}
# Arguments analyze_image takes positionally from the evaluation itself, never from flags.
SUPPLIED = frozenset({"self", "image", "path", "decode_ms"})


@dataclass(frozen=True)
class PipelineOptions:
    """Keyword arguments for `PhotoClassifier.load` (model path apart) and `.analyze_image`."""

    model: str | None = None
    load: Mapping[str, Any] = field(default_factory=dict)
    analyze: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "load": dict(self.load), "analyze": dict(self.analyze)}


def keywords(function: Callable[..., Any]) -> set[str]:
    return {
        name
        for name, p in inspect.signature(function).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in SUPPLIED
    }


def route(flags: Mapping[str, Any]) -> PipelineOptions:
    """Split the pipeline flags between load and analyze by the runtime's own signatures.

    `detect=never` needs no detector, so none is loaded (as `edge-emotion-run` does).
    """
    from edge_emotion_runtime.photo import PhotoClassifier

    load_names = keywords(PhotoClassifier.load) - {"model"}
    analyze_names = keywords(PhotoClassifier.analyze_image)
    load: dict[str, Any] = {}
    analyze: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is None or value is False or flag == "model":
            continue  # not given (a flag left off): the runtime's default
        name, convert = RENAMED.get(flag, (flag, lambda v: v))
        if name in analyze_names:
            analyze[name] = convert(value)
        elif name in load_names:
            load[name] = convert(value)
        else:
            raise UsageError(
                f"--{flag.replace('_', '-')}: this runtime's PhotoClassifier takes no {name!r}"
            )
    if analyze.get("detect") == "never":
        load["detector"] = None
    return PipelineOptions(flags.get("model"), load, analyze)


def check_choice(flag: str, value: str | None, choices: tuple[str, ...]) -> None:
    """Choices are the runtime's own lists, so a detector it adds is accepted here at once."""
    if value is not None and value not in choices:
        raise UsageError(f"{flag} {value!r}: choose from {', '.join(choices)}")


def load(options: PipelineOptions) -> Any:
    """The `PhotoClassifier` these options describe (quiet: no interpreter INFO lines)."""
    from edge_emotion_runtime.photo import PhotoClassifier

    return PhotoClassifier.load(options.model, **{"quiet": True, **options.load})
