"""stub_llm_server: an OpenAI-compatible HTTP server that answers badly on purpose (tests only).

Serves on 127.0.0.1:PORT `GET /v1/models` and `POST /v1/completions` correctly (so the
llm_supervisor's probes pass) and answers `POST /v1/chat/completions` in turn with: content that
is not JSON, content of the wrong types, HTTP 500, a body that is not a chat completion, and a
valid answer. Counts requests in `--count-file` if given.
"""

from __future__ import annotations

import argparse
import itertools
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ANSWERS = itertools.cycle(
    [
        (200, {"choices": [{"message": {"content": "certainly! I would buy"}}]}),
        (200, {"choices": [{"message": {"content": '{"action": "BUY", "confidence": "high", "reason": 7}'}}]}),
        (500, {"error": "internal error"}),
        (200, {"unexpected": True}),
        (200, {"choices": [{"message": {"content": '{"action": "SELL", "confidence": 0.7, "reason": "stub"}'}}]}),
    ]
)


class Handler(BaseHTTPRequestHandler):
    count_file: Path | None = None

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(200, {"data": [{"id": "stub"}]}) if self.path == "/v1/models" else self._reply(404, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/completions":
            self._reply(200, {"choices": [{"text": "."}]})
        elif self.path == "/v1/chat/completions":
            if self.count_file:
                count = int(self.count_file.read_text() or 0) if self.count_file.exists() else 0
                self.count_file.write_text(str(count + 1))
            self._reply(*next(ANSWERS))
        else:
            self._reply(404, {})

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", type=Path)
    args = parser.parse_args()
    Handler.count_file = args.count_file
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
