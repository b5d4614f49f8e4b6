"""The one command-line error boundary: every failure a user can cause is one `error:` line.

`edge-emotion-run`, `edge-emotion-video`, `edge-emotion-serve` and the workstation's
`edge-emotion` all end in `report`, so the same exception gives the same line and exit code in
each. Standard library only: importing it keeps `--help` instant.

Exit codes (documented in the runtime README):
    0   success (also: stopped by SIGTERM, or stdout closed by a reader such as `head`)
    1   some inputs failed (the others were still processed), output could not be written,
        out of memory, or an internal error (a bug: set EDGE_EMOTION_DEBUG=1 for a traceback)
    2   usage: bad flags or paths, a missing or malformed model, no interpreter, a missing
        extra, a server that cannot start (address in use, unknown host, unreadable certificate)
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEBUG_ENV = "EDGE_EMOTION_DEBUG"
DEBUG_HINT = f"(set {DEBUG_ENV}=1 for a traceback)"
# numpy's floating-point RuntimeWarnings (NaN pixels of a float TIFF, extreme metadata): the
# result is checked where it matters, the warning itself says nothing a user can act on.
_NUMPY_NOISE = r"(invalid value|divide by zero|overflow) encountered"

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object) -> str:
    """`text` fit for one line of a terminal or log: control and format characters (newlines,
    escape sequences, bidi overrides) and undecodable file-name bytes (surrogate escapes) are
    shown as backslash escapes, so a label or file name can never forge or split a line."""
    out = []
    for char in str(text):
        if char.isprintable():
            out.append(char)
        else:
            out.append(_ESCAPES.get(char) or char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
    """`warnings.showwarning` for the CLIs: `warning: <first line>` on stderr, no source line."""
    text = str(message).splitlines()[0] if str(message) else category.__name__
    if sys.stderr is not None:  # print(file=None) would write to stdout
        with contextlib.suppress(OSError, ValueError):
            print(f"warning: {printable(text)}", file=sys.stderr)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Warnings as single `warning:` lines, numpy's floating-point noise silenced."""
    old = warnings.showwarning
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NUMPY_NOISE, category=RuntimeWarning)
        warnings.showwarning = _one_line_warning
        try:
            yield
        finally:
            warnings.showwarning = old


def error_line(message: object) -> None:
    """Print `error: MESSAGE` on stderr as one line (newlines escaped), whatever state it is in."""
    if sys.stderr is not None:  # print(file=None) would write to stdout
        with contextlib.suppress(OSError, ValueError):
            print(f"error: {printable(message)}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """Point fd 1 at /dev/null: nothing more can be reported there, and the interpreter's exit
    flush must not fail a second time (closed stdout, full disk, a reader that went away)."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()


class _ClosedStdout(io.TextIOBase):
    """sys.stdout of a process started with fd 1 closed (`>&-`): every write fails as writing
    to a closed descriptor does, so a result is reported as `cannot write output`, while code
    that only flushes (native-log capture) keeps working."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


def guard_closed_stdout() -> None:
    """Started with fd 1 closed: put /dev/null on fd 1 (so no file opened later lands on it and
    receives stray output) and make Python-level writes fail as `cannot write output`."""
    if sys.stdout is None:
        silence_stdout()
        sys.stdout = _ClosedStdout()


def write_line(line: str, stream=None) -> None:  # type: ignore[no-untyped-def]
    """Print one result line and flush; a stdout that cannot take it is an OutputError (closed,
    /dev/full, ...), a reader that went away stays BrokenPipeError (a quiet stop)."""
    from edge_emotion_runtime.errors import OutputError

    out = sys.stdout if stream is None else stream
    try:
        if out is None:
            raise OSError(9, "Bad file descriptor")
        out.write(line + "\n")
        out.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as err:  # ValueError: write to a closed file object
        reason = getattr(err, "strerror", None) or str(err)
        raise OutputError(f"cannot write output ({reason})") from None


def _os_error(err: OSError) -> str:
    reason = err.strerror or str(err)
    name = err.filename
    return f"{name}: {reason}" if name else reason


def report(err: BaseException) -> int:
    """One `error:` line (or none, for a closed pipe) for `err`; returns the exit code.

    Re-raises SystemExit (argparse's own usage errors and `--help`) and, with
    $EDGE_EMOTION_DEBUG set, an internal error (so its traceback shows).
    """
    from edge_emotion_runtime.errors import EdgeEmotionError, OutputError

    if isinstance(err, SystemExit):
        raise err
    if isinstance(err, BrokenPipeError):  # e.g. piped into `head`: stop quietly like other tools
        silence_stdout()
        return EXIT_OK
    if isinstance(err, OutputError):
        error_line(err)
        silence_stdout()
        return err.exit_code
    if isinstance(err, EdgeEmotionError):
        error_line(err)
        return err.exit_code
    if isinstance(err, KeyboardInterrupt):
        error_line("interrupted")
        return EXIT_INTERRUPTED
    if isinstance(err, MemoryError):
        error_line("out of memory")
        return EXIT_FAILED
    if isinstance(err, RecursionError):
        error_line("input nested too deeply")
        return EXIT_FAILED
    if isinstance(err, OSError):
        error_line(_os_error(err))
        return EXIT_FAILED
    if os.environ.get(DEBUG_ENV):
        raise err
    first = str(err).splitlines()[0] if str(err) else ""
    error_line(f"internal error: {type(err).__name__}: {first} {DEBUG_HINT}")
    return EXIT_FAILED


def guarded(run: Callable[[], int]) -> int:
    """`run()` inside the boundary: its exit code, or the code `report` gives its exception."""
    with one_line_warnings():
        try:
            return run()
        except BaseException as err:
            return report(err)


def main_exit(run: Callable[[], int]) -> None:
    """Console-entry helper: `sys.exit(guarded(run))`, with stdout made safe to flush at exit."""
    guard_closed_stdout()
    code = guarded(run)
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except (OSError, ValueError) as err:
        if code == EXIT_OK:
            error_line(f"cannot write output ({getattr(err, 'strerror', None) or err})")
            code = EXIT_FAILED
        silence_stdout()
    sys.exit(code)
