"""uvicorn's h11 protocol with the API's error shape for requests it refuses itself.

A request h11 cannot parse (`Content-Length: abc`, `-5`, a broken request line) never reaches
the app: uvicorn answers 400 with plain text. Every answer of the API is `{"error": ...}`, so
this subclass sends the same 400 as JSON. Passed to uvicorn as `http=JsonErrorH11Protocol`.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class JsonErrorH11Protocol(H11Protocol):
    """H11Protocol whose protocol-level 400 is `{"error": "..."}` (application/json)."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": f"bad request: {msg.rstrip('.')}"}).encode("ascii")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
