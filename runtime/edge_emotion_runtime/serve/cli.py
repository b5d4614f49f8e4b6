"""`edge-emotion-serve`: the HTTP API and camera page on a device.

A sibling of `edge-emotion-run` rather than a flag of it: the server needs the `serve` extra, the
CLI must not. Models, detector and metadata are the CLI's (`PhotoClassifier`). Flags are parsed
before the extra is imported, so `--help` works without it and a missing extra is one line.

Exit codes (`boundary`): 0 stopped cleanly (Ctrl-C or SIGTERM), 2 usage errors (missing extra,
bad model, flags or token, address in use, unknown host, unreadable certificate), 1 an internal
error.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_emotion_runtime import __version__
from edge_emotion_runtime.boundary import main_exit
from edge_emotion_runtime.bundled import MODEL_ENV
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.options import add_pipeline_options, bounded

if TYPE_CHECKING:
    import socket

    from edge_emotion_runtime.serve.pool import PhotoPool

TOKEN_ENV = "EDGE_EMOTION_TOKEN"
INSTALL_HINT = (
    "edge-emotion-serve needs the serve extra: pip install 'edge-emotion-runtime[litert,serve]' "
    "(from a checkout: pip install './runtime[litert,serve]')"
)
MAX_WORKERS = 64
# Upper limits of the float flags: far above any sensible value, and finite (inf, 1e400 and nan
# would overflow where they are used, or turn a limit off without saying so).
MAX_TIMEOUT_S = 24 * 3600.0
MAX_BODY_BYTES = 2**30


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-emotion-serve",
        description="Serve the happy/sad photo pipeline: a JSON API (POST /v1/predict, "
        "GET /v1/model, GET /healthz) and a camera page at /.",
        epilog=f"Model: --model, else ${MODEL_ENV}, else the bundled FER-2013 model. "
        f"Token: --token, else ${TOKEN_ENV}; prefer the variable (a flag shows in `ps`).",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this device only; 0.0.0.0 for the network)",
    )
    parser.add_argument(
        "--port", type=bounded(1, 65535), default=8000, help="TCP port (default 8000)"
    )
    add_pipeline_options(
        parser, detect=False, threads_default=1, threads_help="1: the pool gives the parallelism"
    )
    parser.add_argument(
        "--workers",
        type=bounded(1, MAX_WORKERS),
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="interpreter pool size: photos analysed at once (default: min(2, CPUs))",
    )
    parser.add_argument(
        "--queue",
        type=bounded(0),
        default=16,
        metavar="N",
        help="requests that may wait for a worker; more are refused with 503 (default 16)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="per-request limit: upload, wait and analysis; then 503 (default 10)",
    )
    parser.add_argument(
        "--max-body",
        type=_size,
        default="10MB",
        metavar="SIZE",
        help="largest request body, e.g. 10MB, 512kB, 2000000 (default 10MB); more is 413",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"require 'Authorization: Bearer TOKEN' on /v1/* (default: ${TOKEN_ENV}, else none)",
    )
    parser.add_argument(
        "--certfile", metavar="PEM", help="serve HTTPS with this certificate (phone cameras)"
    )
    parser.add_argument("--keyfile", metavar="PEM", help="the certificate's private key")
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log one line per request"
    )
    parser.add_argument(
        "--in-browser",
        action="store_true",
        help="serve the in-browser app at / (the page runs the models itself with LiteRT.js; "
        "this server does no inference) with the cross-origin isolation headers",
    )
    parser.add_argument(
        "--build-web",
        metavar="DIR",
        help="write the in-browser app for --model into DIR (for any static HTTPS host) and exit",
    )
    parser.add_argument("--version", action="version", version=f"edge-emotion-serve {__version__}")
    return parser


def _positive_float(text: str) -> float:
    """Seconds above 0, finite and at most MAX_TIMEOUT_S."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_TIMEOUT_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"must be above 0 and at most {MAX_TIMEOUT_S:g}, got {text}"
        )
    return value


_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


def _size(text: str) -> int:
    """Bytes from '10MB', '512kB', '4MiB' or a plain number; MB is 10**6 bytes."""
    stripped = text.strip().lower()
    number = stripped.rstrip("kmib")
    unit = stripped[len(number) :]
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 10MB, 512kB)") from None
    if not math.isfinite(value) or value > MAX_BODY_BYTES:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_BODY_BYTES:,} bytes (1 GiB), got {text!r}"
        )
    if int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return int(value)


def _require_extra() -> None:
    try:
        import python_multipart  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def lan_address() -> str | None:
    """This device's address on its default route (a UDP connect sends no packet), or None."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only selects the outgoing interface
            return str(sock.getsockname()[0])
    except OSError:
        return None


def resolve_token(flag: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """--token, else $EDGE_EMOTION_TOKEN, else None (no token required); one a client could
    never send (non-ASCII, surrounding spaces) is a UsageError."""
    from edge_emotion_runtime.serve.listen import check_token

    env = os.environ if environ is None else environ
    token = flag if flag is not None else env.get(TOKEN_ENV) or None
    return None if token is None else check_token(token)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, bind, load the pool, serve until interrupted; returns the exit code."""
    args = _parser().parse_args(argv)
    _require_extra()
    if bool(args.certfile) != bool(args.keyfile):
        raise UsageError("--certfile and --keyfile go together")
    token = resolve_token(args.token)
    if args.build_web:
        from edge_emotion_runtime.serve.web import build

        out = build(
            args.build_web,
            args.model,
            args.detector,
            mirror=args.mirror,
            min_confidence=args.min_confidence,
        )
        print(f"edge-emotion-serve: in-browser app written to {out}", file=sys.stderr)
        return 0
    if args.in_browser:
        return _serve_in_browser(args)

    from edge_emotion_runtime.serve.listen import bind, check_certificate

    if args.certfile:
        check_certificate(args.certfile, args.keyfile)
    sock = bind(args.host, args.port)
    try:
        return _serve(args, token, sock)
    finally:
        sock.close()


def _serve(args: argparse.Namespace, token: str | None, sock: socket.socket) -> int:
    import uvicorn

    from edge_emotion_runtime.bundled import resolve_model
    from edge_emotion_runtime.photo import PhotoClassifier
    from edge_emotion_runtime.serve.app import ServeConfig, create_app
    from edge_emotion_runtime.serve.pool import PhotoPool
    from edge_emotion_runtime.serve.protocol import JsonErrorH11Protocol

    path, origin = resolve_model(args.model)
    pool = PhotoPool.load(
        lambda: PhotoClassifier.load(
            path,
            detector=args.detector,
            threads=args.threads,
            backend=args.backend,
            use_xnnpack=not args.no_xnnpack,
            quiet=True,
            mirror=args.mirror,
            min_confidence=args.min_confidence,
        ),
        workers=args.workers,
        queue_size=args.queue,
        timeout=args.timeout,
    )
    app = create_app(pool, ServeConfig(max_body=args.max_body, token=token, model_origin=origin))
    _announce(args, pool, origin, token)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        http=JsonErrorH11Protocol,
        access_log=not args.no_access_log,
        log_level="info",
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        server_header=False,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal into the handler
    # it found: a quiet one makes a requested stop exit 0 instead of dying by the signal (143).
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        pool.close()
    return 0


def _announce(args: argparse.Namespace, pool: PhotoPool, origin: str, token: str | None) -> None:
    """The start-up lines on stderr: model, pool, address (and a warning for an open API)."""
    scheme = "https" if args.certfile else "http"
    clf = pool.primary.classifier
    print(
        f"edge-emotion-serve: {clf.describe()} ({origin}); {args.workers} workers x "
        f"{args.threads} thread(s), queue {args.queue}; "
        f"{'token required' if token else 'no token'}; {scheme}://{args.host}:{args.port}/",
        file=sys.stderr,
        flush=True,
    )
    if args.host in ("0.0.0.0", "::"):
        address = lan_address()
        if address:
            hint = "#token=TOKEN" if token else ""
            print(
                f"from a phone on this network: {scheme}://{address}:{args.port}/{hint}",
                file=sys.stderr,
            )
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {args.host} without a token: anyone on the network can use "
            f"the API (set ${TOKEN_ENV})",
            file=sys.stderr,
        )


def _serve_in_browser(args: argparse.Namespace) -> int:
    """Build the app into a temporary folder and serve it as static files."""
    import tempfile

    import uvicorn

    from edge_emotion_runtime.serve.web import build
    from edge_emotion_runtime.serve.web_app import create_web_app

    with tempfile.TemporaryDirectory(prefix="edge-emotion-web-") as folder:
        build(
            folder,
            args.model,
            args.detector,
            mirror=args.mirror,
            min_confidence=args.min_confidence,
        )
        scheme = "https" if args.certfile else "http"
        print(
            f"edge-emotion-serve: in-browser app (inference in the page); "
            f"{scheme}://{args.host}:{args.port}/",
            file=sys.stderr,
            flush=True,
        )
        uvicorn.run(
            create_web_app(Path(folder)),
            host=args.host,
            port=args.port,
            access_log=not args.no_access_log,
            log_level="info",
            ssl_certfile=args.certfile,
            ssl_keyfile=args.keyfile,
            server_header=False,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one `error:` line and an exit code for every failure (`boundary`)."""
    main_exit(lambda: run(argv))


if __name__ == "__main__":
    main()
