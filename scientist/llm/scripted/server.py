"""A scripted OpenAI-compatible chat server on 127.0.0.1, for driving the real gateway in tests.

Each request pops the next scripted step; when the script is empty the last step repeats
(``repeat_last=True``) or the server answers 500.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    """One scripted answer: a reply, or an HTTP error status."""

    content: str = ""
    finish_reason: str = "stop"
    status: int = 200
    prompt_tokens: int = 10
    completion_tokens: int = 5
    delay_s: float = 0.0
    logprobs: dict | None = None  # returned as choices[0].logprobs when the request asks for them
    error: str = ""  # the error message of a non-200 answer


@dataclass
class FakeOpenAI:
    """The server and its script; use as a context manager."""

    script: deque[Step] = field(default_factory=deque)
    repeat_last: bool = False
    responder: Callable[[dict[str, Any]], Step] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                step = fake._next(body)
                if step.delay_s:
                    time.sleep(step.delay_s)
                if step.status != 200:
                    payload = {"error": {"message": step.error or f"scripted {step.status}", "type": "server_error"}}
                else:
                    payload = fake.completion(body, step)
                data = json.dumps(payload).encode()
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._last: Step | None = None
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def push(self, *steps: Step) -> FakeOpenAI:
        self.script.extend(steps)
        return self

    def _next(self, body: dict[str, Any]) -> Step:
        if self.responder is not None:
            return self.responder(body)
        with self._lock:
            if self.script:
                self._last = self.script.popleft()
                return self._last
            if self.repeat_last and self._last is not None:
                return self._last
            return Step(status=500)

    @staticmethod
    def completion(body: dict[str, Any], step: Step) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": step.finish_reason,
                         "message": {"role": "assistant", "content": step.content},
                         **({"logprobs": step.logprobs} if step.logprobs and body.get("logprobs") else {})}],
            "usage": {"prompt_tokens": step.prompt_tokens, "completion_tokens": step.completion_tokens,
                      "total_tokens": step.prompt_tokens + step.completion_tokens},
        }

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
