"""Flower with every path behind its basic auth, except a health check that says only OK.

Flower 2 leaves some of its routes open whatever `--basic_auth` says:
`/metrics` (Prometheus counters named after every task, worker and queue,
with their counts and runtimes), `/healthcheck`, `/static/...` and the
not-found handler; it has no option to close them. So `benchq flower` runs
Flower through this module, which rebuilds Flower's route table before
Flower builds its application: every handler is wrapped so that a request
without the configured credentials gets 401 before the handler runs, and
`/healthcheck` is replaced by one that answers `OK` and nothing else (no
server header, no cookie), for container and load-balancer probes.

Run as `python -m benchq.ops.flower_server <celery arguments>`: the rest of
the command line is Celery's (`-A benchq.workers.app:app flower ...`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import sys
from collections.abc import Iterable
from typing import Any

import tornado.web
from tornado.routing import URLSpec

#: The route that answers without credentials, and what it answers.
HEALTH_PATH = r"/healthcheck"
HEALTH_BODY = "OK"


def credentials_match(header: str | None, allowed: Iterable[str]) -> bool:
    """True when an Authorization header carries one of the `user:password` pairs."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    # compare with every pair, in constant time each, as Flower does
    matched = False
    for pair in allowed:
        matched |= hmac.compare_digest(pair.encode(), given.encode())
    return matched


def _hide_server(handler: tornado.web.RequestHandler) -> None:
    # Tornado names itself and its version in every answer; nothing needs to know.
    handler.clear_header("Server")


def guarded(cls: type[tornado.web.RequestHandler]) -> type[tornado.web.RequestHandler]:
    """`cls`, answering 401 to any request without Flower's basic-auth credentials."""

    class Guarded(cls):  # type: ignore[valid-type,misc]
        def set_default_headers(self) -> None:
            super().set_default_headers()
            _hide_server(self)

        def prepare(self) -> Any:
            allowed = getattr(self.application.options, "basic_auth", None) or []
            # No credentials configured: nothing opens (benchq never starts
            # Flower so, but a broken setting must not open it either).
            if not credentials_match(self.request.headers.get("Authorization"), allowed):
                self.set_status(401)
                self.set_header("WWW-Authenticate", 'Basic realm="flower"')
                self.set_header("Content-Type", "text/plain; charset=utf-8")
                self.finish("Access denied")
                return None
            return super().prepare()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{cls.__name__}"
    return Guarded


class Healthcheck(tornado.web.RequestHandler):
    """`OK`, to anyone: says that Flower serves, and nothing else."""

    def set_default_headers(self) -> None:
        _hide_server(self)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def get(self) -> None:
        self.finish(HEALTH_BODY)

    def head(self) -> None:
        self.finish()


def _picks_its_class(cls: type) -> bool:
    """True for a handler whose `__new__` returns another class's instance.

    Flower's `/login` does so (the OAuth provider's handler, or a 404): a
    subclass of it would be bypassed, so it cannot be guarded by subclassing.
    """
    return any("__new__" in vars(k) for k in cls.__mro__ if k is not object)


def secured(handlers: list[Any]) -> list[Any]:
    """Flower's route table with every route guarded and the health check replaced.

    benchq runs Flower with basic auth only, where Flower's login route is a
    404 page: it stays one, behind the credentials like every other route.
    """
    from flower.views.error import NotFoundErrorHandler  # type: ignore[import-untyped]

    out: list[Any] = []
    for entry in handlers:
        if isinstance(entry, URLSpec):
            pattern, cls = entry.regex.pattern.rstrip("$"), entry.handler_class
            kwargs, name = entry.kwargs, entry.name
        else:
            pattern, cls = entry[0], entry[1]
            kwargs, name = (entry[2] if len(entry) > 2 else {}), None
        if pattern == HEALTH_PATH:
            handler: type[tornado.web.RequestHandler] = Healthcheck
        else:
            handler = guarded(NotFoundErrorHandler if _picks_its_class(cls) else cls)
        out.append(tornado.web.url(pattern, handler, kwargs, name))
    return out


def secure_flower() -> None:
    """Rewrite Flower's route table and settings in place (Flower's app reads those very objects).

    Tornado serves `static_path` through routes of its own (`/static/...`,
    `/favicon.ico`, `/robots.txt`) placed before the table, with the
    `static_handler_class` setting: that class is guarded too.
    """
    from flower import urls  # type: ignore[import-untyped]

    urls.handlers[:] = secured(urls.handlers)
    urls.settings["static_handler_class"] = guarded(tornado.web.StaticFileHandler)


def main(argv: list[str] | None = None) -> None:
    """Celery's command line, with Flower secured first."""
    secure_flower()
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *(sys.argv[1:] if argv is None else argv)]
    celery_main()


if __name__ == "__main__":
    main()
