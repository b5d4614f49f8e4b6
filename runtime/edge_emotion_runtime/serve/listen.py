"""Start-up checks of `edge-emotion-serve` that must fail before it claims to be up.

The listening socket is resolved and bound here, by us, before the models load and before
uvicorn logs anything: an address in use, an unknown host or a certificate that cannot be read is
one `error:` line and exit 2 (`boundary`), not uvicorn's `ERROR:` and exit 3 after "Application
startup complete". Tokens are checked here too: one that no client could ever present is refused
at start instead of answering 401 forever. Standard library only.
"""

from __future__ import annotations

import socket
import ssl

from edge_emotion_runtime.errors import UsageError


def check_token(token: str) -> str:
    """`token` if a client can send it as `Authorization: Bearer TOKEN`, else UsageError.

    HTTP header values are bytes that servers decode as Latin-1 and clients strip of surrounding
    white space, so only printable ASCII without leading or trailing spaces can ever match.
    """
    if not token.strip():
        raise UsageError("--token is empty")
    if token != token.strip():
        raise UsageError("--token has leading or trailing white space (no client can send it)")
    bad = sorted({c for c in token if not " " <= c <= "~"})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        raise UsageError(
            f"--token must be printable ASCII (letters, digits, punctuation); it contains {shown}"
        )
    return token


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A socket bound to (host, port), ready to hand to uvicorn, or UsageError saying why not."""
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise UsageError(f"--host {host}: not an address or known host name ({reason})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({err.strerror or err}); choose another --port or "
            "--host"
        ) from None
    sock.set_inheritable(True)
    return sock


def check_certificate(certfile: str, keyfile: str) -> None:
    """Load the pair once now, so a missing or mismatched file is one line before start-up."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as err:
        reason = getattr(err, "strerror", None) or getattr(err, "reason", None) or str(err)
        raise UsageError(f"--certfile/--keyfile: cannot load ({reason})") from None
