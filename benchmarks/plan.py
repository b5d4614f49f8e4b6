"""Which rows a benchmark measures, and which Python process measures each group of them.

Rows: Keras direct call, Keras `predict`, then every exported variant on every requested
interpreter backend at every thread count, plus int8 with the XNNPACK delegate off. A variant
file that does not exist or a backend with no interpreter becomes a *skipped* row with a reason,
so the table always says what was not measured and why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edge_emotion.benchmarks.types import RowSpec
from edge_emotion.export.types import ExportMode
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.vocab import BackendName, choices

VARIANTS = choices(ExportMode)
BACKENDS = choices(BackendName)
KERAS_KINDS = tuple(kind for kind in RowKind if kind.is_keras)
TFLITE_VENV_NAME = ".venv-tflite"
# Also read by the runtime's tests and set by scripts/test.sh.
TFLITE_PYTHON_ENV = "EDGE_EMOTION_TFLITE_PYTHON"


@dataclass(frozen=True)
class Interpreter:
    """A Python executable that runs worker processes for some backends."""

    python: str
    # Extra PYTHONPATH entries (the runtime package for a venv where it is not installed).
    pythonpath: tuple[str, ...] = ()
    # How the worker is started: as a module of the installed toolkit, or by file path.
    worker_as_module: bool = True


@dataclass(frozen=True)
class Group:
    """Rows measured together in one fresh process."""

    name: str
    interpreter: Interpreter
    rows: tuple[RowSpec, ...] = field(default_factory=tuple)


def repo_root() -> Path:
    """The source checkout (the toolkit is installed editable from it)."""
    return Path(__file__).resolve().parent.parent


def fixture_photos() -> Path:
    """The committed public-domain photos (data, not code: tests/fixtures/photos/README.md), the
    photo benchmark's fallback set and the video benchmark's scene faces."""
    return repo_root() / "tests" / "fixtures" / "photos"


def runtime_source_dir() -> Path:
    import edge_emotion_runtime

    return Path(edge_emotion_runtime.__file__).resolve().parent.parent


def _imports(python: str, module: str) -> bool:
    try:
        proc = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def resolve_tflite_python(explicit: str | None) -> tuple[Interpreter | None, str]:
    """The Python to run tflite-runtime rows with, or None and the reason there is none.

    tflite-runtime 2.14 is built against numpy 1.x, so it usually lives in its own venv:
    `--tflite-python`, else $EDGE_EMOTION_TFLITE_PYTHON, else `.venv-tflite/` in the checkout or
    the current directory, else this interpreter if it happens to have tflite-runtime.
    """
    candidates: list[str] = []
    explicit = explicit or os.environ.get(TFLITE_PYTHON_ENV) or None
    if explicit:
        found = shutil.which(explicit) if os.sep not in explicit else explicit
        if not found or not os.access(found, os.X_OK):
            return None, f"--tflite-python {explicit}: not an executable"
        candidates.append(found)
    else:
        for base in (repo_root(), Path.cwd()):
            venv_python = base / TFLITE_VENV_NAME / "bin" / "python"
            if venv_python.exists():
                candidates.append(str(venv_python))
        candidates.append(sys.executable)
    for python in dict.fromkeys(candidates):
        if not _imports(python, "tflite_runtime.interpreter"):
            continue
        path: tuple[str, ...] = ()
        if not _imports(python, "edge_emotion_runtime"):
            path = (str(runtime_source_dir()),)
        return Interpreter(python=python, pythonpath=path, worker_as_module=False), ""
    where = explicit or f"{sys.executable} or {TFLITE_VENV_NAME}/"
    return None, (
        f"tflite-runtime is not installed in {where} (it needs numpy<2; create a venv "
        "with scripts/setup-tflite.sh or pass --tflite-python)"
    )


def build_plan(
    run_path: Path,
    backends: list[str],
    threads: list[int],
    tflite: Interpreter | None,
    tflite_reason: str,
    *,
    run_name: str = "",
    prefix_ids: bool = False,
) -> list[Group]:
    """Groups of rows in measurement order (Keras first: it is the reference).

    With `prefix_ids` (several runs in one benchmark) every row id and group name starts with
    `run_name:`, so the rows of different runs never collide.
    """
    here = Interpreter(python=sys.executable)
    pre = f"{run_name}:" if prefix_ids else ""
    export_dir = run_path / "export"
    keras_model = str(run_path / "model.keras")
    # Eager model(x) measures accuracy; the compiled call and model.predict reuse it.
    keras_rows = tuple(
        RowSpec(
            f"{pre}{kind}",
            kind,
            "keras",
            "keras",
            None,
            False,
            keras_model,
            evaluate=kind == RowKind.KERAS_DIRECT,
            metrics_from=None if kind == RowKind.KERAS_DIRECT else f"{pre}{RowKind.KERAS_DIRECT}",
            run=run_name,
        )
        for kind in KERAS_KINDS
    )
    groups = [Group(f"{pre}keras", here, keras_rows)]

    variants = [v for v in VARIANTS]
    variants += sorted(p.stem for p in export_dir.glob("*.tflite") if p.stem not in VARIANTS)
    for backend in backends:
        interpreter = here
        backend_reason = None
        if backend == BackendName.TFLITE:
            interpreter = tflite or here
            backend_reason = None if tflite else tflite_reason
        rows: list[RowSpec] = []
        configs = [(v, True) for v in variants] + [(ExportMode.INT8.value, False)]
        for variant, xnnpack in configs:
            model = export_dir / f"{variant}.tflite"
            reason = backend_reason
            if reason is None and not model.is_file():
                reason = (
                    f"{model.name} not found in {export_dir} (run `edge-emotion export "
                    f"--model {run_path} --quantize {variant}`)"
                )
            first: str | None = None
            for t in threads:
                row_id = f"{pre}{variant}-{backend}-t{t}{'' if xnnpack else '-noxnnpack'}"
                rows.append(
                    RowSpec(
                        row_id,
                        RowKind.TFLITE,
                        variant,
                        backend,
                        t,
                        xnnpack,
                        str(model),
                        evaluate=first is None,
                        metrics_from=first,
                        skip_reason=reason,
                        run=run_name,
                    )
                )
                first = first or row_id
        groups.append(Group(f"{pre}{backend}", interpreter, tuple(rows)))
    return groups


def interleave(per_run: list[list[Group]]) -> list[tuple[int, Group]]:
    """(run index, group) in the order the groups are measured when several runs are compared.

    Round-robin over the runs: run A's first group, run B's first group, then A's second, B's
    second, ... (Keras, then each backend, in the order of --backends). Consecutive groups of
    different runs see nearly the same machine state, so the cross-run ratios are fair.
    """
    out: list[tuple[int, Group]] = []
    for position in range(max((len(g) for g in per_run), default=0)):
        for index, groups in enumerate(per_run):
            if position < len(groups):
                out.append((index, groups[position]))
    return out


def isolate_rows(groups: list[Group]) -> list[Group]:
    """One process per row instead of per backend (slower; for checking interference)."""
    out: list[Group] = []
    for group in groups:
        for row in group.rows:
            out.append(Group(row.id, group.interpreter, (row,)))
    return out
