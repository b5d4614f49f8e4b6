"""Write a benchmark's files: benchmark.json, benchmark.md and the PNG plots.

Paths inside the checkout (or next to it, like `../shared/...`) are written relative to the
repository root and paths under the home directory as `~/...`, so committed results carry no
machine-specific absolute paths (run directories given on the command line stay as given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_emotion.benchmarks import plots, report
from edge_emotion.benchmarks.plan import repo_root
from edge_emotion.benchmarks.types import BenchmarkDoc
from edge_emotion.rundir import write_json, write_text

JSON_FILE = "benchmark.json"
MARKDOWN_FILE = "benchmark.md"


def _relativizer() -> list[tuple[str, str]]:
    root = repo_root()
    pairs = [(str(root) + "/", ""), (str(root.parent) + "/", "../"), (str(root), ".")]
    home = str(Path.home())
    if home not in ("/", "") and not str(root).startswith(home + "/"):
        pairs.append((home + "/", "~/"))  # e.g. the synthetic data in ~/.cache
    return pairs


def relativize(value: Any, pairs: list[tuple[str, str]] | None = None) -> Any:
    """Replace absolute checkout prefixes in every string of a JSON-like value."""
    pairs = _relativizer() if pairs is None else pairs
    if isinstance(value, str):
        for prefix, replacement in pairs:
            value = value.replace(prefix, replacement)
        return value
    if isinstance(value, dict):
        return {k: relativize(v, pairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [relativize(v, pairs) for v in value]
    return value


def write_outputs(doc: BenchmarkDoc, out_dir: Path) -> dict[str, Path]:
    """Write every output file (temp + rename each); returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = relativize(doc.to_dict())
    doc = BenchmarkDoc.from_dict(data)  # what is written is what is rendered
    names = plots.write_plots(doc, out_dir)
    write_json(out_dir / JSON_FILE, data)
    write_text(out_dir / MARKDOWN_FILE, report.markdown(doc, names))
    files = {"json": out_dir / JSON_FILE, "markdown": out_dir / MARKDOWN_FILE}
    files.update({name: out_dir / name for name in names})
    return files
