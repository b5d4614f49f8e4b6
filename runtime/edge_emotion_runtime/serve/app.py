"""The Starlette application: four routes, JSON errors, an optional shared token.

Every answer a client can get is JSON `{"error": "..."}` with a meaningful status or a result.
Routes raise; `ERROR_HANDLERS` maps each error type to its status once (Starlette's
`exception_handlers`). An unexpected exception reaches the client as `{"error": "internal
error"}`; Starlette re-raises it after answering, so the server logs its traceback
(server-side only). Image bytes live in memory only (multipart parts too:
the spool limit is above the body limit, so nothing rolls over to a temporary file) and are
never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from edge_emotion_runtime import __version__
from edge_emotion_runtime.errors import ImageError, UsageError
from edge_emotion_runtime.photo import DETECT_MODES, PhotoClassifier
from edge_emotion_runtime.serve.pool import Busy, PhotoPool

DEFAULT_MAX_BODY = 10_000_000  # 10 MB, as the --max-body default
# The page is one file with inline script and style; it talks to this origin only.
PAGE_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src blob: data:; media-src blob: mediastream:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ServeConfig:
    """What the app needs besides the pool. `token` None means no token is required."""

    max_body: int = DEFAULT_MAX_BODY
    token: str | None = None
    model_origin: str = "bundled"


class ApiError(Exception):
    """A request we refuse: `status` and a one-line message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _detector(detector: Any) -> dict[str, Any]:
    """The detector part of /v1/model: the first variant's file and input (the fused detector's
    primary), and every variant the pipeline runs."""
    members = detector.members
    first = next(iter(members.values()))
    return {
        "name": detector.name,
        "file": first.path.name,
        "input_size": first.spec.input_size,
        "variants": [
            {"name": d.name, "file": d.path.name, "input_size": d.spec.input_size}
            for d in members.values()
        ],
    }


def describe(photo: PhotoClassifier, origin: str) -> dict[str, Any]:
    """The /v1/model document: model metadata, detector and versions (no filesystem paths)."""
    clf = photo.classifier
    meta = clf.metadata.to_dict()
    validation = meta.pop("validation")
    spec = clf.spec
    return {
        "model": {
            "file": clf.path.name,
            "origin": origin,
            "labels": list(clf.labels),
            "threshold": clf.threshold,
            "input": {"height": spec.height, "width": spec.width, "channels": spec.channels},
            "input_type": clf.input_quantization.dtype,
            "export_mode": meta["export_mode"],
            "arch": meta["arch"],
            "validation_status": meta["validation_status"],
            "validation": validation,
            "has_metadata": clf.has_metadata,
            "metadata": meta,
        },
        "detector": None if photo.detector is None else _detector(photo.detector),
        "runtime": {
            "edge_emotion_runtime": __version__,
            "backend": clf.backend,
            "backend_version": clf.backend_version,
        },
        "detect_modes": list(DETECT_MODES),
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.message, exc.headers)


async def _busy(request: Request, exc: Exception) -> Response:
    return error(503, str(exc), {"Retry-After": "1"})


async def _image_error(request: Request, exc: Exception) -> Response:
    return error(422, _client_message(str(exc)))


async def _usage_error(request: Request, exc: Exception) -> Response:
    return error(400, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail).lower(), exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error(500, "internal error")


# Looked up by the exception's class hierarchy, most specific first; `Exception` is Starlette's
# last resort (its ServerErrorMiddleware), which answers and then re-raises for the server's log.
ERROR_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    Busy: _busy,
    ImageError: _image_error,
    UsageError: _usage_error,
    HTTPException: _http_error,
    Exception: _server_error,
}


def _page() -> str:
    """The server-inference page, with the stylesheet it shares with the in-browser app inlined
    (the page stays one response: its CSP allows inline style, and nothing else is fetched)."""
    package = resources.files("edge_emotion_runtime")
    page = package.joinpath("serve/static/index.html").read_text(encoding="utf-8")
    style = package.joinpath("web/style.css").read_text(encoding="utf-8")
    return page.replace("/* shared-style */", style, 1)


def create_app(pool: PhotoPool, config: ServeConfig | None = None) -> Starlette:
    """The ASGI app over a loaded pool (the CLI passes it to uvicorn; tests to TestClient)."""
    config = config or ServeConfig()
    page = _page()
    model_doc = describe(pool.primary, config.model_origin)
    model_doc["server"] = {
        "workers": len(pool.photos),
        "queue": pool.queue_size,
        "timeout_s": pool.timeout,
        "max_body_bytes": config.max_body,
        "token_required": config.token is not None,
    }
    authorise = _authoriser(config.token)

    async def index(request: Request) -> Response:
        return HTMLResponse(
            page,
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": PAGE_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", **pool.stats().to_dict()})

    async def model(request: Request) -> Response:
        authorise(request)
        return JSONResponse(model_doc)

    async def predict(request: Request) -> Response:
        authorise(request)
        detect = request.query_params.get("detect", "auto")
        if detect not in DETECT_MODES:
            raise ApiError(400, f"detect must be one of {', '.join(DETECT_MODES)}")
        kind = _content_kind(request.headers.get("content-type", ""))
        _check_length(request, config.max_body)
        result = await pool.analyze(lambda: _image_bytes(request, kind, config.max_body), detect)
        return JSONResponse(result.to_dict())

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/model", model, methods=["GET"]),
            Route("/v1/predict", predict, methods=["POST"]),
        ],
        exception_handlers=ERROR_HANDLERS,
    )


def _authoriser(token: str | None) -> Callable[[Request], None]:
    """A check that raises 401 unless the request carries `token` (none needed when None)."""
    expected = token.encode("utf-8") if token else None

    def authorise(request: Request) -> None:
        if expected is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), expected
        ):
            raise ApiError(
                401,
                "missing or wrong token: send 'Authorization: Bearer TOKEN'",
                {"WWW-Authenticate": "Bearer"},
            )

    return authorise


def _content_kind(content_type: str) -> str:
    """'image' or 'multipart', else 415."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith("image/"):
        return "image"
    if media == "multipart/form-data":
        return "multipart"
    shown = media or "none"
    raise ApiError(
        415,
        f"Content-Type {shown} is not an image: send the image as the body with "
        "Content-Type image/*, or as multipart/form-data field 'image'",
    )


def _check_length(request: Request, limit: int) -> None:
    """A declared length over the limit is refused before a byte is read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise ApiError(400, "malformed Content-Length header") from None
    if length > limit:
        raise ApiError(413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"request body over the limit of {limit:,} bytes"


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` (chunked uploads too)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, _too_large(limit))
    return bytes(body)


async def _image_bytes(request: Request, kind: str, limit: int) -> bytes:
    """The encoded image of a request: the raw body, or multipart field `image`."""
    body = await _read_body(request, limit)
    if kind == "multipart":
        body = await _multipart_image(request, body, limit)
    if not body:
        raise ApiError(400, "empty image: the request carried no bytes")
    return body


async def _multipart_image(request: Request, body: bytes, limit: int) -> bytes:
    async def stream():  # type: ignore[no-untyped-def]
        yield body

    parser = MultiPartParser(
        request.headers, stream(), max_files=4, max_fields=16, max_part_size=limit + 1
    )
    # Above the body limit, so parts stay in memory and never roll over to a temporary file.
    parser.spool_max_size = limit + 1
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise ApiError(400, f"malformed multipart body ({err.message})") from None
    except Exception:
        raise ApiError(400, "malformed multipart body") from None
    try:
        part = form.get("image")
        if part is None:
            raise ApiError(400, "multipart body has no field 'image'")
        if not isinstance(part, UploadFile):
            raise ApiError(400, "multipart field 'image' must be a file part (with a filename)")
        media = (part.content_type or "").split(";", 1)[0].strip().lower()
        if media and not media.startswith("image/") and media != "application/octet-stream":
            raise ApiError(415, f"multipart field 'image' has type {media}, not an image")
        return await part.read()
    finally:
        await form.close()


def _client_message(message: str) -> str:
    """The runtime names in-memory images '<bytes>'; a client only needs the reason."""
    return message.removeprefix("<bytes>: ")
