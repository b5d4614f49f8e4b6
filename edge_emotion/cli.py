"""The `edge-emotion` command: a thin typer shell over the training, export and benchmark APIs.

Each sub-package registers its own commands; heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from edge_emotion import __version__
from edge_emotion.errors import Terminated
from edge_emotion_runtime.boundary import error_line, guarded

HELP = "Train, quantize, validate and benchmark a Happy-vs-Sad face classifier for TFLite/LiteRT."

app = typer.Typer(
    name="edge-emotion",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge-emotion {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Train, quantize, validate and benchmark a Happy-vs-Sad face classifier."""


def _register() -> None:
    from edge_emotion.benchmarks import cli as benchmark_cli
    from edge_emotion.benchmarks.photo_eval import cli as photo_eval_cli
    from edge_emotion.export import cli as export_cli
    from edge_emotion.training import cli as training_cli

    for module in (training_cli, export_cli, benchmark_cli, photo_eval_cli):
        module.register(app)


def fail(message: str, code: int = 1) -> None:
    """Print one `error:` line on stderr and exit."""
    error_line(message)
    raise SystemExit(code)


_SIGTERM_SEEN: list[int] = []  # the interrupt may reach main() re-raised or as typer's exit 130


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """First SIGTERM: unwind like Ctrl-C (temporary files are removed); later ones wait for it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _SIGTERM_SEEN.append(signum)
    raise Terminated()


def main() -> None:
    """Entry point: every anticipated failure is one line on stderr and a non-zero exit; the
    mapping of the rest (interrupt, out of memory, internal error) is the runtime's `boundary`."""
    _register()
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.exit(guarded(_run_app))


def _run_app() -> int:
    """typer's app, with the workstation's own wording for SIGTERM and memory."""
    try:
        app()
    except SystemExit:
        # typer turns an interrupt into a silent exit 130; SIGTERM gets its own line and 143
        if _SIGTERM_SEEN:
            fail("terminated (SIGTERM)", 143)
        raise
    except KeyboardInterrupt as err:
        if isinstance(err, Terminated) or _SIGTERM_SEEN:
            fail("terminated (SIGTERM)", 143)
        raise
    except MemoryError:
        fail("out of memory; try a smaller --batch-size or --image-size", 1)
    return 0


if __name__ == "__main__":
    main()
    sys.exit(0)
