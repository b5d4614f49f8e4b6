"""`edge-emotion-serve` against hostile start-up options and requests (issue 23, root causes A, B,
C and D): one line and exit 2 before it claims to be up, JSON for every refused request."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli_helpers import assert_one_error, run_serve_cli

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from edge_emotion.benchmarks.serve_load import HOST, ServerProcess, free_port

UP = ("Application startup complete", "Uvicorn running", "edge-emotion-serve:")


def _never_up(stderr: str) -> None:
    assert not any(marker in stderr for marker in UP), stderr


# ------------------------------------------------------------------ A: flags that would overflow
@pytest.mark.parametrize(
    "args", [["--max-body", "inf"], ["--max-body", "1e400"], ["--timeout", "inf"]]
)
def test_infinite_limits_are_refused_at_parse_time(args: list[str]) -> None:
    result = run_serve_cli(*args, timeout=60)
    assert_one_error(result, 2, args[0], usage=True)


def test_metadata_with_an_infinite_number_is_a_malformed_model_not_a_traceback(
    tmp_path: Path,
) -> None:
    from crafted_models import bundled_with_framing

    model = bundled_with_framing(tmp_path / "inf.tflite", samples=float("inf"))
    result = run_serve_cli("--model", model, "--host", HOST, "--port", free_port(), timeout=60)
    assert_one_error(result, 2, "malformed", "samples")


# ------------------------------------------------------------------ B: start-up failures
def test_a_port_in_use_is_one_line_and_exit_2_before_claiming_to_be_up() -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve_cli("--host", HOST, "--port", port, timeout=60)
    assert_one_error(result, 2, f"cannot listen on {HOST}:{port}", "in use")
    _never_up(result.stderr)


@pytest.mark.parametrize("host", ["no.such.host.invalid", "256.1.1.1"])
def test_a_host_that_does_not_resolve_is_one_line_and_exit_2(host: str) -> None:
    result = run_serve_cli("--host", host, "--port", "8000", timeout=60)
    assert_one_error(result, 2, f"--host {host}")
    _never_up(result.stderr)


# ------------------------------------------------------------------ C: tokens that never match
@pytest.mark.parametrize(
    ("token", "why"),
    [(" tok ", "white space"), ("tök", "printable ASCII"), ("a\tb", "printable ASCII")],
)
def test_a_token_no_client_can_send_is_refused_at_start(token: str, why: str) -> None:
    result = run_serve_cli("--token", token, timeout=60)
    assert_one_error(result, 2, "--token", why)
    result = run_serve_cli(env={"EDGE_EMOTION_TOKEN": token}, timeout=60)
    assert_one_error(result, 2, "--token", why)


# ------------------------------------------------------------------ B + D: a running server
def _raw(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection((HOST, port), timeout=10) as conn:
        conn.sendall(head)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.mark.slow
def test_protocol_errors_answer_json_and_sigterm_stops_with_exit_0(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with ServerProcess(["--workers", "1"], log=log) as server:
        for length in (b"abc", b"-5"):
            status, headers, body = _raw(
                server.port,
                b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n",
            )
            assert status == 400 and headers["content-type"] == "application/json"
            assert json.loads(body)["error"].startswith("bad request")
        assert server.proc is not None
        server.proc.terminate()
        assert server.proc.wait(timeout=30) == 0, server.tail()
    assert "Traceback" not in log.read_text()
