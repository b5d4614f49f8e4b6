"""`edge-emotion-serve --in-browser`: the built in-browser app as static files, nothing else.

The page runs the whole pipeline itself (LiteRT.js), so this server has no inference route: it
sends files, the cross-origin isolation headers and a strict CSP, and answers /healthz.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edge_emotion_runtime import __version__
from edge_emotion_runtime.serve.web import ISOLATION_HEADERS

# Module scripts and streaming WASM compilation need their proper types (Python < 3.12 does not
# know .mjs; some systems map .wasm to nothing).
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")

WEB_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self' blob: data:; img-src 'self' blob: data:; media-src 'self' blob: "
    "mediastream:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    **ISOLATION_HEADERS,
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": WEB_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok", "mode": "in-browser", "version": __version__})


class _Headers:
    """ASGI middleware: the isolation, CSP and caching headers on every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.extra = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.extra if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_web_app(folder: Path) -> Starlette:
    """Static files of a built app folder at /, plus /healthz."""
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount("/", StaticFiles(directory=folder, html=True)),
        ],
        middleware=[Middleware(_Headers)],
    )
