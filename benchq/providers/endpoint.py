"""Telling "nothing is there" from "something is slow", and failing fast on the former.

The SDKs' aiohttp transport reports a refused connection as a *timeout*
(`httpx2.ConnectTimeout`, then `openai.APITimeoutError: Request timed out`),
so a model whose server is down looked like a slow model: every case waited
out its full backoff and a run took minutes to fail with a misleading reason.
`unreachable_reason` finds the real cause in the exception chain, and
`EndpointCircuit` stops a process from knocking on a closed door for every
case once it has been refused.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from benchq.errors import ProviderUnreachable

#: Seconds a process fails a model's calls at once after its endpoint refused them.
COOLDOWN_SECONDS = 10.0


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen and len(seen) < 16:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def unreachable_reason(exc: BaseException) -> str | None:
    """Why nothing answered, when the chain shows a refused connection or an unknown host.

    None for anything else (a timeout on an open connection, a reset, an
    HTTP error): those may pass and are retried as usual.
    """
    for node in _chain(exc):
        if isinstance(node, ConnectionRefusedError):
            return f"connection refused ({node.strerror or node})"
        if isinstance(node, socket.gaierror):
            return f"no such host ({node.strerror or node})"
    return None


class EndpointCircuit:
    """Per-process memory that a model's endpoint refused connections.

    After a refusal, calls fail at once with the same reason for
    `cooldown` seconds; then one call is let through to try again. A call
    that succeeds closes the circuit.
    """

    def __init__(
        self, cooldown: float = COOLDOWN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cooldown = cooldown
        self._clock = clock
        self._open_until = 0.0
        self._reason = ""

    def check(self) -> None:
        """Raise `ProviderUnreachable` while the endpoint is known to be down."""
        if self._clock() < self._open_until:
            raise ProviderUnreachable(f"{self._reason} (not tried again: refused moments ago)")

    def trip(self, reason: str) -> None:
        """Remember that the endpoint refused, with the message to repeat."""
        self._reason = reason
        self._open_until = self._clock() + self.cooldown

    def reset(self) -> None:
        """The endpoint answered: let every call through again."""
        self._open_until = 0.0
