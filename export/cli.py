"""CLI commands of this sub-package (registered on the `edge-emotion` app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this sub-package's commands to the app."""
