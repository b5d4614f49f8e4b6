"""User-facing notes and warnings on stderr (stdout stays for results and the per-epoch lines)."""

from __future__ import annotations

import sys


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def first_few(items: list[str], limit: int = 3) -> str:
    """'a, b, c and 4 more' for messages that must stay on one line."""
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
