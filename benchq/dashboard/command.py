"""`benchq dashboard`: serve the Panel app on the store the settings name.

The store is chosen exactly as every other command chooses it:
`BENCHQ_STORE_URL`, else Supabase, else `benchq.db` in the working
directory; and opened with the reader's credentials where the settings
give them (`benchq.store.factory.open_reader_store`: `BENCHQ_READER_STORE_URL`,
`SUPABASE_READER_KEY`), since the anon key reads aggregates only and the
Run Explorer reads cases. A store that cannot be opened still gets a page, one
that says what is wrong, so a person who opens the URL is never left with
an empty tab or a traceback.

Who may open it, from which pages, and who may write through it is decided
before a port is opened (`benchq.dashboard.auth`): beyond localhost it asks
for a login or refuses to start.
"""

from __future__ import annotations

from typing import Any

import click

from benchq.cli_support import handle_errors, read_settings
from benchq.config.settings import Settings
from benchq.dashboard.auth import Access, access_for, signed_in_user
from benchq.errors import BenchqError
from benchq.store.base import ResultsStore


def _failure_page(error: BenchqError) -> Any:
    import panel as pn

    pn.extension(notifications=False)
    return pn.Column(
        pn.pane.Markdown("# benchq dashboard"),
        pn.pane.Alert(
            f"**The results store could not be opened.** {error}\n\n"
            "Set `BENCHQ_STORE_URL` (postgresql://... or sqlite:///path) or `SUPABASE_URL` "
            "with `SUPABASE_ANON_KEY`, then restart `benchq dashboard`.",
            alert_type="danger",
        ),
    )


def open_dashboard_store(settings: Settings) -> ResultsStore | BenchqError:
    """The store in force, or the error that keeps it from opening (shown on the page)."""
    from benchq.store.factory import open_reader_store

    try:
        return open_reader_store(settings)
    except BenchqError as exc:
        return exc


def serve(
    settings: Settings,
    *,
    port: int = 5006,
    host: str = "127.0.0.1",
    show: bool = False,
    threaded: bool = False,
    access: Access | None = None,
) -> Any:
    """Serve the dashboard; blocks unless `threaded` (then returns the server thread).

    Raises `ConfigError` before anything listens when `host` is beyond
    localhost and no login is configured (`benchq.dashboard.auth`).
    """
    access = access or access_for(settings, host, port)
    import panel as pn

    from benchq.dashboard.app import create_app, create_explorer_app

    store = open_dashboard_store(settings)

    def page() -> Any:
        if isinstance(store, BenchqError):
            return _failure_page(store)
        # Writes need a signed-in user; without a login configured there is none.
        user = signed_in_user() if access.login else None
        return create_app(store, user=user, login=access.login, alpha=settings.verdict_alpha)

    def explore() -> Any:
        if isinstance(store, BenchqError):
            return _failure_page(store)
        return create_explorer_app(store)

    return pn.serve(
        {"/": page, "/explore": explore},
        port=port,
        address=host,
        show=show,
        threaded=threaded,
        title="benchq dashboard",
        start=True,
        print_url=False,
        **access.serve_options(),
    )


@click.command("dashboard")
@click.option(
    "--port",
    default=5006,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to serve the dashboard on.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (0.0.0.0: every interface). Beyond localhost it needs "
    "BENCHQ_DASHBOARD_USER and BENCHQ_DASHBOARD_PASSWORD.",
)
@click.option(
    "--show/--no-show",
    default=False,
    show_default=True,
    help="Open the dashboard in a web browser.",
)
@handle_errors
def dashboard(port: int, host: str, show: bool) -> None:
    """Serve the results dashboard (Panel) on the configured store.

    Beyond localhost it needs a login: BENCHQ_DASHBOARD_USER and
    BENCHQ_DASHBOARD_PASSWORD (environment or .env). With them every page asks
    for it, and checkout and set baseline work for whoever signed in; without
    them those two are disabled.
    """
    settings = read_settings()
    access = access_for(settings, host, port)
    login = "login required" if access.login else "no login: read-only"
    click.echo(f"benchq dashboard: http://{host}:{port}/  ({login}; Ctrl-C stops it)")
    serve(settings, port=port, host=host, show=show, access=access)
