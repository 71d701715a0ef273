"""A stand-in HTTP server speaking the OpenAI and Gemini protocols, with injected faults.

The real SDKs talk to it over loopback, so the tests exercise their real
request building, response parsing and error classes. Each request takes the
next scripted `Fault` (or, when the script is empty, answers normally), and
every request is recorded in `calls`.

    with StandinServer() as server:
        server.script(Fault(status=429, retry_after=1), Fault())
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k")
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_ANSWER: dict[str, Any] = {
    "issues": [
        {
            "type": "duplicate_charge",
            "summary": "CPT 99213 billed twice on 2024-01-05",
            "evidence": "99213 Office visit $150.00 (x2)",
            "code": "99213",
            "date": "2024-01-05",
            "recommended_action": "Ask for the duplicate line to be removed",
            "max_savings": 150.0,
            "confidence": 0.9,
        }
    ],
    "facts": {
        "patient_name": "Jane Doe",
        "patient_dob": None,
        "date_of_service": "2024-01-05",
        "facility_name": "General Hospital",
        "medical_line_items": [
            {
                "cpt_code": "99213",
                "date_of_service": "2024-01-05",
                "description": "Office visit",
                "billed_amount": 150.0,
                "patient_responsibility": 30.0,
            }
        ],
    },
}

_GEMINI_PATH = re.compile(r"/models/([^/:]+):generateContent$")
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Fault:
    """How to answer one request. The default is a normal, valid answer."""

    status: int = 200
    retry_after: float | str | None = None
    """Sent as the Retry-After header."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow provider, or a timeout)."""
    text: str | None = None
    """The model's answer text; None is the valid `VALID_ANSWER`."""
    truncated: bool = False
    """Cut the answer in half and report the output-token limit as the finish reason."""
    usage: bool = True
    """Report token usage."""
    message: str = "stand-in error"
    """The error message of a non-200 answer."""


@dataclass
class Call:
    """One request the server received."""

    protocol: str
    """`openai` or `gemini`."""
    path: str
    headers: dict[str, str]
    """Request headers, names in lower case."""
    body: dict[str, Any]


@dataclass
class _State:
    faults: deque[Fault] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    input_tokens: int = 1200
    output_tokens: int = 300
    thoughts_tokens: int = 0
    answer_text: str = json.dumps(VALID_ANSWER)
    default: Fault = field(default_factory=Fault)
    """How to answer when no scripted fault or rule applies (e.g. always 100 ms late)."""
    in_flight: int = 0
    max_in_flight: int = 0
    """Most requests being answered at once: the concurrency a client achieved."""
    rules: list[tuple[str, Fault]] = field(default_factory=list)
    """(substring, fault): every request whose body contains the substring gets the fault.

    Unlike the script, rules do not depend on arrival order, so they pick out
    particular documents even when many workers call at once.
    """


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        path = self.path.split("?", 1)[0]
        if path.endswith("/chat/completions"):
            protocol = "openai"
        elif _GEMINI_PATH.search(path):
            protocol = "gemini"
        else:
            self._send(404, {"error": {"message": f"no route {path}"}})
            return
        state = self.server.state
        with state.lock:
            state.calls.append(
                Call(protocol, path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            fault = state.faults.popleft() if state.faults else None
            if fault is None:
                fault = next(
                    (f for needle, f in state.rules if needle in raw.decode("utf-8", "replace")),
                    None,
                )
            if fault is None:
                fault = state.default
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if fault.delay:
                time.sleep(fault.delay)
        finally:
            with state.lock:
                state.in_flight -= 1
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.status != 200:
            self._send(fault.status, self._error(protocol, fault), headers)
            return
        text = state.answer_text if fault.text is None else fault.text
        if fault.truncated:
            text = text[: len(text) // 2]
        answer = (
            self._openai(body, text, fault, state)
            if protocol == "openai"
            else self._gemini(path, text, fault, state)
        )
        self._send(200, answer, headers)

    @staticmethod
    def _error(protocol: str, fault: Fault) -> dict[str, Any]:
        if protocol == "openai":
            return {
                "error": {
                    "message": fault.message,
                    "type": "rate_limit_exceeded" if fault.status == 429 else "error",
                    "param": None,
                    "code": str(fault.status),
                }
            }
        return {
            "error": {
                "code": fault.status,
                "message": fault.message,
                "status": _GEMINI_STATUS.get(fault.status, "UNKNOWN"),
            }
        }

    @staticmethod
    def _openai(body: dict[str, Any], text: str, fault: Fault, state: _State) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "length" if fault.truncated else "stop",
                    "logprobs": None,
                }
            ],
        }
        if fault.usage:
            answer["usage"] = {
                "prompt_tokens": state.input_tokens,
                "completion_tokens": state.output_tokens,
                "total_tokens": state.input_tokens + state.output_tokens,
            }
        return answer

    @staticmethod
    def _gemini(path: str, text: str, fault: Fault, state: _State) -> dict[str, Any]:
        match = _GEMINI_PATH.search(path)
        answer: dict[str, Any] = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "MAX_TOKENS" if fault.truncated else "STOP",
                    "index": 0,
                }
            ],
            "modelVersion": match.group(1) if match else "unknown",
        }
        if fault.usage:
            usage = {
                "promptTokenCount": state.input_tokens,
                "candidatesTokenCount": state.output_tokens,
                "totalTokenCount": state.input_tokens + state.output_tokens + state.thoughts_tokens,
            }
            if state.thoughts_tokens:
                usage["thoughtsTokenCount"] = state.thoughts_tokens
            answer["usageMetadata"] = usage
        return answer

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to tell it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 refuses connections when 64 clients open at once.
    request_queue_size = 512
    state: _State


class StandinServer:
    """The stand-in, on a free port (of loopback unless told), serving from a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.state = _State()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def state(self) -> _State:
        """Token counts and the default answer text, settable per test."""
        return self._server.state

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port> (the Gemini SDK's base URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI SDK's base URL (it appends /chat/completions)."""
        return f"{self.base_url}/v1"

    def script(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order, then normally."""
        with self.state.lock:
            self.state.faults.extend(faults)

    @property
    def calls(self) -> list[Call]:
        """Every request received so far."""
        with self.state.lock:
            return list(self.state.calls)

    def count(self, protocol: str | None = None) -> int:
        """How many requests arrived (of one protocol, if given)."""
        return sum(1 for c in self.calls if protocol is None or c.protocol == protocol)

    def start(self) -> StandinServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
