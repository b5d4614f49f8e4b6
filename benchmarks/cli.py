"""CLI commands of this sub-package (registered on the `edge-emotion` app): `benchmark`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from edge_emotion.errors import UsageError
from edge_emotion.paths import check_output_dir


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected comma-separated integers, e.g. 1,2") from None
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{flag} {text!r}: expected positive integers, e.g. 1,2")
    return tuple(dict.fromkeys(values))


def benchmark_command(
    model: list[Path] = typer.Option(
        ...,
        "--model",
        metavar="RUN_DIR",
        help="Run directory (after `edge-emotion export`). Repeat to compare several runs in "
        "one invocation (ratios in the comparison are against the first).",
    ),
    name: list[str] = typer.Option(
        [],
        "--name",
        metavar="NAME",
        help="Short name of each --model in the table (repeat, same order; default: the run "
        "directory's name).",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Evaluate on every image of this folder, not the run's test split."
    ),
    threads: str = typer.Option("1,2", "--threads", help="Interpreter thread counts, e.g. 1,2."),
    runs: int = typer.Option(50, "--runs", help="Timed single-image runs per row."),
    warmup: int = typer.Option(10, "--warmup", help="Untimed runs before timing."),
    backends: str = typer.Option(
        "litert,tflite,tensorflow", "--backends", help="TFLite interpreters to measure."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder (default RUN_DIR/benchmark/; required with several --model); its "
        "benchmark files are replaced.",
    ),
    tflite_python: str | None = typer.Option(
        None,
        "--tflite-python",
        "--python-tflite",
        help="Python of a venv with tflite-runtime and numpy<2 (default: "
        "$EDGE_EMOTION_TFLITE_PYTHON, else .venv-tflite/ if any).",
    ),
    max_eval: int | None = typer.Option(
        None, "--max-eval", help="Evaluate accuracy on at most N images (seeded subset)."
    ),
    cold_runs: int = typer.Option(
        3, "--cold-runs", help="Fresh-process cold starts per row (median reported; 0 = none)."
    ),
    isolation: str = typer.Option(
        "backend", "--isolation", help="One worker process per 'backend' group or per 'row'."
    ),
    photos: Path | None = typer.Option(
        None,
        "--photos",
        help="Folder of real photos for the photo-pipeline columns (decode, detect, "
        "crop+classify). Default: ../shared/photos beside the checkout, else the test fixture.",
    ),
    photo_runs: int = typer.Option(
        5, "--photo-runs", help="Timed runs per photo and TFLite row (0 = no photo columns)."
    ),
) -> None:
    """Latency, cold start, memory, size and accuracy of every exported variant vs Keras."""
    from edge_emotion.benchmarks.outputs import write_outputs
    from edge_emotion.benchmarks.plan import BACKENDS
    from edge_emotion.benchmarks.report import text_table
    from edge_emotion.benchmarks.runner import BenchmarkOptions, run_benchmark

    chosen = tuple(dict.fromkeys(b.strip() for b in backends.split(",") if b.strip()))
    unknown = [b for b in chosen if b not in BACKENDS]
    if not chosen or unknown:
        raise UsageError(f"--backends {backends!r}: choose from {', '.join(BACKENDS)}")
    if cold_runs < 0:
        raise UsageError("--cold-runs must be >= 0")
    if len(model) > 1 and out is None:
        raise UsageError(
            "--out DIR is required with several --model (so no run's own benchmark/ folder "
            "is overwritten by a comparison)"
        )
    check_output_dir(out or model[0] / "benchmark", "--out")
    options = BenchmarkOptions(
        run_paths=tuple(model),
        names=tuple(name),
        data=data,
        threads=_int_list(threads, "--threads"),
        runs=runs,
        warmup=warmup,
        backends=chosen,
        tflite_python=tflite_python,
        max_eval=max_eval,
        cold_runs=cold_runs,
        isolation=isolation,
        command_line=shlex.join(["edge-emotion", *sys.argv[1:]]),
        photos=photos,
        photo_runs=photo_runs,
    )
    doc = run_benchmark(options)
    files = write_outputs(doc, out or model[0] / "benchmark")
    typer.echo(text_table(doc), nl=False)
    typer.echo(f"wrote {', '.join(str(p) for p in files.values())}", err=True)


def register(app: typer.Typer) -> None:
    """Add this sub-package's commands to the app."""
    app.command("benchmark")(benchmark_command)
