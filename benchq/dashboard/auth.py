"""Who may open the dashboard, from which pages, and who may change the store through it.

Three rules, decided once when `benchq dashboard` starts:

* **A login whenever it listens beyond localhost.** With
  `BENCHQ_DASHBOARD_USER` and `BENCHQ_DASHBOARD_PASSWORD` set, every page
  asks for them (Panel's own basic auth: a login form, then a signed
  cookie); without them, `--host` anything but a loopback name or address is
  refused (`ConfigError`, exit 2) before a port is opened.
* **Writes need a login.** Checkout and set baseline change what every
  other view shows and what regressions are judged against, so a session
  without a signed-in user gets them disabled, with a note saying how to
  enable them. (The store still refuses them without the service role.)
* **Only the dashboard's own pages may open its websocket.** The allowed
  origins are `BENCHQ_DASHBOARD_ORIGINS`, or the address it listens on and
  its localhost names at its port; never `*`, which would let a page on any
  site drive a signed-in browser's session.

Credentials come from settings (environment or `.env`), never from the
command line, where `ps` would show them.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchq.config.settings import Settings
from benchq.errors import ConfigError

#: The settings that make a login, as the messages name them.
USER_VAR, PASSWORD_VAR = "BENCHQ_DASHBOARD_USER", "BENCHQ_DASHBOARD_PASSWORD"

#: What the page says where a write is disabled for want of a login.
WRITES_NEED_LOGIN = (
    "**Checkout and set baseline need a login.** Set `BENCHQ_DASHBOARD_USER` and "
    "`BENCHQ_DASHBOARD_PASSWORD` (in the environment or `.env`) and restart "
    "`benchq dashboard`; the page then asks for them, and these buttons work for "
    "whoever signed in."
)

_TEMPLATES = Path(__file__).parent / "templates"

#: The names a browser on the same machine may reach a loopback server by. (Not [::1]:
#: Bokeh's origin list cannot hold an IPv6 address.)
_LOCAL_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Access:
    """The dashboard's access rules for one server, from settings and its address."""

    host: str
    port: int
    origins: tuple[str, ...]
    """host:port patterns whose pages may open the websocket."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cookie_secret: str = field(default="", repr=False)

    @property
    def login(self) -> bool:
        """Whether every page asks for a user and password."""
        return self.user is not None

    def serve_options(self) -> dict[str, Any]:
        """The keyword arguments of `pn.serve` that carry these rules."""
        options: dict[str, Any] = {"websocket_origin": list(self.origins)}
        if self.login:
            options.update(
                basic_auth={str(self.user): str(self.password)},
                cookie_secret=self.cookie_secret,
                # Our own pages: Panel's load their logo and favicon from its CDN,
                # which a dashboard on a private network must not depend on.
                login_template=str(_TEMPLATES / "login.html"),
                logout_template=str(_TEMPLATES / "logout.html"),
            )
        return options


def is_local(host: str) -> bool:
    """Whether `host` is a loopback name or address (only this machine can connect)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credentials(settings: Settings) -> tuple[str, str] | None:
    """(user, password) when both are set; None when neither is; else a ConfigError."""
    user = settings.dashboard_user.get_secret_value() if settings.dashboard_user else ""
    password = settings.dashboard_password.get_secret_value() if settings.dashboard_password else ""
    if user and password:
        return user, password
    if user or password:
        missing = PASSWORD_VAR if user else USER_VAR
        present = USER_VAR if user else PASSWORD_VAR
        raise ConfigError(
            f"{missing} is not set (or empty) but {present} is: the dashboard's login needs both"
        )
    return None


def allowed_origins(settings: Settings, host: str, port: int) -> tuple[str, ...]:
    """`BENCHQ_DASHBOARD_ORIGINS`, else the listening address and the localhost names.

    An address that means every interface (0.0.0.0, ::) is no origin a
    browser shows, so only the localhost names are allowed then; a server
    reached by another name needs that name listed. A listed value Bokeh
    cannot read (`host:port:extra`, an IPv6 address) is a `ConfigError`.
    """
    if settings.dashboard_origins:
        listed = [o.strip() for o in settings.dashboard_origins.split(",") if o.strip()]
        if listed:
            _check_origins(listed, port)
            return tuple(listed)
    names = list(_LOCAL_NAMES)
    bare = host.strip()
    if bare not in ("0.0.0.0", "") and ":" not in bare and not is_local(bare):
        names.insert(0, bare)
    return tuple(f"{name}:{port}" for name in names)


def _check_origins(origins: list[str], port: int) -> None:
    from bokeh.server.util import create_hosts_allowlist

    try:
        create_hosts_allowlist(origins, port)
    except ValueError as exc:
        raise ConfigError(
            f"BENCHQ_DASHBOARD_ORIGINS: {exc} (expected host or host:port, comma-separated)"
        ) from exc


def access_for(settings: Settings, host: str, port: int) -> Access:
    """The access rules of a dashboard listening on `host:port`; refuses an open one.

    Raises `ConfigError` (exit 2) when `host` is beyond localhost and no
    login is configured, naming the settings to set.
    """
    pair = credentials(settings)
    if pair is None and not is_local(host):
        raise ConfigError(
            f"benchq dashboard --host {host} listens beyond localhost and needs a login: "
            f"set {USER_VAR} and {PASSWORD_VAR} (environment or .env), or listen on 127.0.0.1"
        )
    origins = allowed_origins(settings, host, port)
    if pair is None:
        return Access(host=host, port=port, origins=origins)
    secret = (
        settings.dashboard_cookie_secret.get_secret_value()
        if settings.dashboard_cookie_secret
        else ""
    ) or secrets.token_urlsafe(32)
    return Access(
        host=host,
        port=port,
        origins=origins,
        user=pair[0],
        password=pair[1],
        cookie_secret=secret,
    )


def signed_in_user() -> str | None:
    """The user signed in to the current session (Panel's login cookie), if any."""
    import panel as pn

    user = pn.state.user
    return str(user) if user and user != "guest" else None
