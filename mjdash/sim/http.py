"""The simulator's HTTP side: the request handler, the answers of injected faults, and a quiet server."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mjdash.sim.odd import odd_answer

if TYPE_CHECKING:
    from mjdash.sim.server import Fault, Simulator

Answer = tuple[int, dict[str, str], bytes]  # (HTTP status, headers, body); status 0: reset the connection


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def fault_answer(fault: Fault) -> Answer | None:
    kind = fault.kind
    if kind == "500":
        return json_answer(500, {"code": 500, "msg": "Internal Server Error", "data": None})
    if kind == "429":
        return json_answer(
            429,
            {"code": 429, "msg": fault.message or "Too many requests", "data": None},
            {"Retry-After": str(int(fault.arg or 1))},
        )
    if kind == "html":
        page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        return 502, {"Content-Type": "text/html"}, page
    if kind == "malformed":
        return 200, {"Content-Type": "application/json"}, b'{"code": 200, "msg": "success", "data": {"taskId'
    if kind == "wrongshape":
        return json_answer(200, ["unexpected", "shape"])
    if kind == "code":
        msg = fault.message or f"simulated code {int(fault.arg)}"
        return json_answer(200, {"code": int(fault.arg), "msg": msg, "data": None})
    if kind == "slow":
        time.sleep(fault.arg or 5.0)
        return None
    if kind == "reset":
        return 0, {}, b""
    return None


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a timeout, a cancelled download) is normal here, not worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


MAX_BODY = 1 << 20  # bytes of a POST body read at most


def handler_for(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else keep-alive adds ~44 ms per request (README, Design)
        server_version = "kie-sim/1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            auth = self.headers.get("Authorization")
            if parts.path == "/api/v1/mj/record-info":
                self._send(sim.answer_record_info(parts.query, auth))
            elif parts.path == "/api/v1/chat/credit":
                self._send(sim.answer_credit(auth))
            elif parts.path.startswith("/files/"):
                self._send(sim.answer_file(parts.path, auth))
            elif parts.path.startswith("/odd/"):
                self._send(odd_answer(parts.path[5:], self.headers.get("Host", "")))
            else:
                self._send(NOT_FOUND)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
            if urlsplit(self.path).path == "/api/v1/mj/generate":
                self._send(sim.answer_generate(body, self.headers.get("Authorization")))
            else:
                self._send(NOT_FOUND)

        def _send(self, answer: Answer) -> None:
            status, headers, body = answer
            if status == 0:  # simulated connection reset
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "X-No-Length" in headers:  # body delimited by closing the connection
                self.close_connection = True
                self.send_header("Connection", "close")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the dashboard shares the terminal

    return Handler


NOT_FOUND = json_answer(404, {"code": 404, "msg": "Not Found", "data": None})
