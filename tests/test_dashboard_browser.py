"""The dashboard in a real browser: `benchq dashboard` in a child process, Chromium
driven by Playwright, against a store filled with a generated history.

The module's server listens on every interface with a login, as the compose
stack runs it; each page signs in first. Every test also fails on any error
in the browser console. Set `BENCHQ_SCREENSHOTS=DIR` to save a screenshot of
each view into DIR (that is how docs/screenshots/ is made).
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from benchq.dashboard.intervals import interval, with_interval
from benchq.regression.changepoints import detect_changes
from benchq.regression.verdict import VerdictRule
from benchq.store.aggregates import DashboardFilter
from benchq.store.schema import SnapshotConfig
from benchq.store.sqlite import SQLiteStore
from benchq.store.verdicts import snapshot_verdict

try:
    from dashboard_history import DRIFTING, fill_history, fill_repeat_run, sqlite_backdater
except ImportError:  # tests/ became a package
    from tests.dashboard_history import (
        DRIFTING,
        fill_history,
        fill_repeat_run,
        sqlite_backdater,
    )

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWS = (
    "Current Snapshot",
    "Performance Trends",
    "Model Comparison",
    "Regression Detection",
    "Snapshot History",
)
WAIT_MS = 20_000
USER, PASSWORD = "analyst", "correct horse battery staple"
LOGIN = {"BENCHQ_DASHBOARD_USER": USER, "BENCHQ_DASHBOARD_PASSWORD": PASSWORD}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DashboardServer:
    """`benchq dashboard` as a child process, on a free port, with the given settings.

    Reached at 127.0.0.1 whatever `host` it listens on.
    """

    def __init__(self, cwd: Path, env: dict[str, str], host: str = "127.0.0.1") -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
        self.log = cwd / f"dashboard-{self.port}.log"
        code = (
            "from benchq.dashboard.command import dashboard; "
            f"dashboard(['--port', '{self.port}', '--host', '{host}', '--no-show'])"
        )
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=cwd,
                env={**clean, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dashboard exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dashboard did not listen: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four models in two environments over 40 days; a model whose F1 halves midway
    (in `staging`, ending 3 days ago); and an older run made with `--repeat 3`."""
    path = tmp_path_factory.mktemp("dash") / "benchq.db"
    store = SQLiteStore(path)
    backdate = sqlite_backdater(str(path))
    assert fill_history(store, backdate, cases=12) == 72
    drift = fill_history(
        store,
        backdate,
        cases=12,
        runs=12,
        models=(DRIFTING,),
        environments=("staging",),
        run_prefix="drift-",
        days_ago=3,
    )
    assert drift == 12
    assert fill_repeat_run(store)
    store.close()
    return path


@pytest.fixture(scope="module")
def server(history_db: Path) -> Iterator[DashboardServer]:
    """Every interface, with a login: as the compose stack runs it."""
    srv = DashboardServer(
        history_db.parent,
        {"BENCHQ_STORE_URL": f"sqlite:///{history_db}", **LOGIN},
        host="0.0.0.0",
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """Errors the page logged: console errors, uncaught exceptions, failed requests."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("requestfailed", lambda req: self.errors.append(f"request failed: {req.url}"))

    def _message(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")


def sign_in(page: Page, user: str = USER, password: str = PASSWORD) -> None:
    """Fill in the login page the server redirected to, and send it."""
    page.locator("#username").fill(user)
    page.locator("#password").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()


def open_page(browser: Browser, url: str, *, login: bool = True) -> tuple[Page, Console]:
    """A new browser (no cookie) on `url`, signed in first when the server asks."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console = Console(page)
    page.goto(url)
    if login:
        sign_in(page)
    page.locator(".bk-tab").first.wait_for(timeout=WAIT_MS)
    return page, console


def show_view(page: Page, name: str) -> None:
    page.locator(".bk-tab", has_text=name).click()
    page.wait_for_timeout(300)


def select(page: Page, label: str, value: str, nth: int = 0) -> None:
    group = page.locator(f"div.bk-input-group:has(> label:text-is('{label}'))").nth(nth)
    group.locator("select").select_option(value)
    page.wait_for_timeout(300)


def cells(page: Page, field: str) -> list[str]:
    """The texts of one column of every table on the page."""
    return page.locator(f".tabulator-cell[tabulator-field='{field}']").all_inner_texts()


def wait_cells(page: Page, field: str, predicate: Any) -> list[str]:
    """Poll a column until `predicate(texts)` holds (the page updates over a websocket)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    texts = cells(page, field)
    while not predicate(texts) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        texts = cells(page, field)
    return texts


def screenshot(page: Page, name: str) -> None:
    target = os.environ.get("BENCHQ_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(800)
        page.screenshot(path=str(Path(target) / f"{name}.png"))


def test_every_view_renders_its_charts_and_tables(
    server: DashboardServer, browser: Browser
) -> None:
    page, console = open_page(browser, server.url)
    # (has a table, has a chart) per summary view; Snapshot History is checked below.
    expected = {
        "Current Snapshot": (True, True),
        "Performance Trends": (False, True),
        "Model Comparison": (True, True),
        "Regression Detection": (True, False),
    }
    for view in VIEWS:
        show_view(page, view)
        has_table, has_chart = expected.get(view, (True, False))
        if has_table:
            page.locator(".tabulator-row >> visible=true").first.wait_for(timeout=WAIT_MS)
        if has_chart:
            page.locator("canvas >> visible=true").first.wait_for(timeout=WAIT_MS)
        screenshot(page, view.lower().replace(" ", "-"))
    # The last view opened is Snapshot History: its versions table lists all 9 versions.
    assert sorted(int(v) for v in wait_cells(page, "version", lambda t: len(t) == 9)) == list(
        range(1, 10)
    )
    show_view(page, "Current Snapshot")
    assert page.get_by_text("Average F1").count() == 1
    models = set(wait_cells(page, "model", lambda t: len(t) >= 8))
    assert {"gpt-4o-mini-v1.0", "medgemma-4b-v1.0", "baseline-v1.0"} <= models
    show_view(page, "Performance Trends")
    assert page.locator("canvas").count() >= 2
    # the Run Explorer reads nothing until its tab opens, then shows the newest run
    show_view(page, "Run Explorer")
    assert len(wait_cells(page, "disagreement", lambda t: len(t) == 12)) == 12
    assert page.get_by_text("Run run-017").count() >= 1
    assert console.errors == []
    page.close()


def test_the_sidebar_filters_change_what_is_shown(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    page, console = open_page(browser, server.url)
    both = wait_cells(page, "environment", lambda t: "github-actions" in t and "local" in t)
    assert {"github-actions", "local"} <= set(both)
    select(page, "Environment", "local")
    only_local = wait_cells(page, "environment", lambda t: t and "github-actions" not in t)
    assert only_local and set(only_local) == {"local"}

    box = page.locator(".choices input[type=search]").first
    box.click()
    page.locator(".choices__item--choice", has_text="medgemma-4b-v1.0").first.click()
    page.keyboard.press("Escape")
    models = wait_cells(page, "model", lambda t: t and set(t) == {"medgemma-4b-v1.0"})
    assert set(models) == {"medgemma-4b-v1.0"}

    show_view(page, "Model Comparison")
    store = SQLiteStore(history_db)
    expected = {
        label: store.model_stats(
            DashboardFilter(environment="local", models=("medgemma-4b-v1.0",), days=days)
        )[0].runs
        for label, days in (("All time", None), ("Last 7 days", 7))
    }
    store.close()
    assert expected["Last 7 days"] < expected["All time"]
    for label, runs in expected.items():
        page.locator(".bk-btn-group button", has_text=label).click()
        shown = wait_cells(page, "count", lambda t, runs=runs: t == [str(runs)])
        assert shown == [str(runs)], label

    show_view(page, "Regression Detection")
    assert wait_cells(page, "model", lambda t: t == ["medgemma-4b-v1.0"]) == ["medgemma-4b-v1.0"]
    assert console.errors == []
    page.close()


def test_checkout_baseline_and_compare_down_to_a_case(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    page, console = open_page(browser, server.url)
    show_view(page, "Snapshot History")
    select(page, "Environment", "local", nth=1)
    select(page, "Model", "medgemma-4b-v1.0")
    wait_cells(page, "marks", lambda t: "CURRENT" in t)
    config = SnapshotConfig(model_version="medgemma-4b-v1.0", environment="local")

    select(page, "Version", "3")
    page.get_by_role("button", name="Check out (make current)").click()
    marks = wait_cells(page, "marks", lambda t: len(t) == 9 and t[6].startswith("CURRENT"))
    assert marks[6].startswith("CURRENT")  # newest first: version 3 is the 7th row
    select(page, "Version", "5")
    page.get_by_role("button", name="Set as baseline").click()
    wait_cells(page, "marks", lambda t: len(t) == 9 and "BASELINE" in t[4])

    store = SQLiteStore(history_db)
    history = {s.snapshot_version: s for s in store.snapshot_history(*config.model_dump().values())}
    assert [v for v, s in history.items() if s.is_current] == [3]
    assert [v for v, s in history.items() if s.is_baseline] == [5]
    changes = store.case_diff(config, 1, 9)
    store.close()
    assert changes, "the generated history should change some case between v1 and v9"

    select(page, "Version A (before)", "1")
    select(page, "Version B (after)", "9")
    page.get_by_role("button", name="Compare A → B").click()
    shown = wait_cells(page, "case", lambda t: len(t) == min(len(changes), 10))
    assert shown == [c.case_id for c in changes][:10]
    assert "f1" in wait_cells(page, "metric", lambda t: "f1" in t)
    screenshot(page, "snapshot-history-compare")

    first_case = page.locator(".tabulator-cell[tabulator-field='case']").first
    detail = page.get_by_text("Expected issues", exact=True)
    for _ in range(3):  # a click while the table is still laying out can miss the row
        first_case.click()
        try:
            detail.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    detail.wait_for(timeout=WAIT_MS)
    assert page.locator("pre >> visible=true").first.inner_text().strip() != ""
    assert page.locator(".bq-side").count() == 2  # the two answers, side by side
    assert page.get_by_text(f"Case {changes[0].case_id}").count() >= 1
    detail.scroll_into_view_if_needed()
    screenshot(page, "case-detail")
    assert console.errors == []
    page.close()


def test_an_empty_store_and_an_unreachable_one_are_explained(
    tmp_path: Path, browser: Browser
) -> None:
    empty = DashboardServer(tmp_path, {})  # the default: benchq.db in the working directory
    try:
        page, console = open_page(browser, empty.url, login=False)
        page.get_by_text("No benchmark results yet").first.wait_for(timeout=WAIT_MS)
        assert console.errors == []
        page.close()
    finally:
        empty.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = DashboardServer(
        tmp_path, {"BENCHQ_STORE_URL": f"postgresql://nobody@127.0.0.1:{closed}/none"}
    )
    try:
        page, console = open_page(browser, down.url, login=False)
        page.get_by_text("The results store is unreachable").first.wait_for(timeout=WAIT_MS)
        assert page.get_by_text("Traceback").count() == 0
        assert console.errors == []
        page.close()
    finally:
        down.stop()


# --- the Run Explorer and the report file ------------------------------------------------


def grid_cases(page: Page) -> list[str]:
    return cells(page, "case")


def test_the_explorer_filters_the_grid_and_opens_a_case(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    store = SQLiteStore(history_db)
    cellz = store.run_case_cells("run-017")
    errored = sorted({c.case_id for c in cellz if not c.extraction_success})
    word = "Cedar" if store.search_case_documents("run-017", "Cedar") else "Patient"
    matching = sorted(store.search_case_documents("run-017", word))
    store.close()
    assert errored, "the generated run should have a failed call"
    assert 0 < len(matching) < 12

    page, console = open_page(browser, server.url + "?run=run-017")
    assert len(wait_cells(page, "case", lambda t: len(t) == 12)) == 12
    assert page.get_by_text("Run run-017").count() >= 1
    screenshot(page, "run-explorer")
    # the explorer alone, as a link to a run opens it
    alone = browser.new_page(viewport={"width": 1280, "height": 900})
    alone.goto(server.url + "explore?run=run-016")
    sign_in(alone)  # a link followed in a new browser asks for the login first
    alone.get_by_text("Run run-016").first.wait_for(timeout=WAIT_MS)
    assert len(wait_cells(alone, "case", lambda t: len(t) == 12)) == 12
    alone.close()

    select(page, "Outcome", "error")
    assert sorted(wait_cells(page, "case", lambda t: sorted(t) == errored)) == errored
    text = page.locator("div.bk-input-group:has(> label:text-is('Document contains (Enter)'))")
    text.locator("input").fill(word)
    text.locator("input").press("Enter")
    both = sorted(set(errored) & set(matching))
    assert sorted(wait_cells(page, "case", lambda t: sorted(t) == both)) == both
    select(page, "Outcome", "any")  # the text filter alone
    assert sorted(wait_cells(page, "case", lambda t: sorted(t) == matching)) == matching

    first = page.locator(".tabulator-cell[tabulator-field='gpt-4o-mini']").first
    case_id = grid_cases(page)[0]
    detail = page.get_by_text("Expected issues", exact=True)
    for _ in range(3):  # a click while the table is still laying out can miss the row
        first.click()
        try:
            detail.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    detail.wait_for(timeout=WAIT_MS)
    assert page.locator(f"article#case-{case_id}").count() == 1
    assert page.locator(f"article#case-{case_id} pre.doc").inner_text().strip() != ""
    assert page.locator(f"article#case-{case_id} .answer").count() == 4  # one per model
    detail.scroll_into_view_if_needed()
    screenshot(page, "run-explorer-case")
    assert console.errors == []
    page.close()


def test_a_snapshot_opens_its_run_in_the_explorer(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    page, console = open_page(browser, server.url)
    show_view(page, "Snapshot History")
    select(page, "Environment", "local", nth=1)
    select(page, "Model", "gpt-4o-mini-v1.0")
    wait_cells(page, "marks", lambda t: "CURRENT" in t)
    store = SQLiteStore(history_db)
    history = store.snapshot_history("gpt-4o-mini-v1.0", environment="local")
    store.close()
    version = history[-1]  # version 1
    select(page, "Version", str(version.snapshot_version))
    page.get_by_role("button", name="Explore this version's run").click()
    page.get_by_text(f"Run {version.benchq_run_id}").first.wait_for(timeout=WAIT_MS)
    assert len(wait_cells(page, "case", lambda t: len(t) == 12)) == 12

    assert console.errors == [], "before the download"
    # the dashboard offers the report's files: the per-case table as CSV
    select(page, "Download", "CSV table")
    with page.expect_download(timeout=WAIT_MS) as got:
        page.get_by_role("button", name="Download").click()
    download = got.value
    assert download.suggested_filename == f"benchq-{version.benchq_run_id}.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0].startswith("run_id,case_id,document_type,model,outcome")
    assert len(lines) == 1 + 12 * 4
    assert console.errors == [], "after the download"

    # from Current Snapshot, a configuration's run cell opens that run
    show_view(page, "Current Snapshot")
    runs = wait_cells(page, "run", lambda t: len(t) >= 8)
    target = runs[0]
    page.locator(".tabulator-cell[tabulator-field='run']").first.click()
    page.get_by_text(f"Run {target}").first.wait_for(timeout=WAIT_MS)
    assert console.errors == []
    page.close()


def test_the_report_file_opens_offline_and_shows_every_case(
    history_db: Path, browser: Browser, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "benchq.cli", "report", "run-017", "--out", str(out)],
        env={**clean, "BENCHQ_STORE_URL": f"sqlite:///{history_db}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    fetched: list[str] = []

    def refuse(route: Any) -> None:
        if not route.request.url.startswith("file:"):
            fetched.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", refuse)
    page = context.new_page()
    console = Console(page)
    page.goto(out.as_uri())
    page.locator("article").first.wait_for(timeout=WAIT_MS)
    assert page.locator("article").count() == 12
    assert page.locator("#case-grid tr[data-case]").count() == 12
    assert page.locator("#f-count").inner_text() == "12 of 12 cases"
    screenshot(page, "report")
    page.locator("#f-outcome").select_option("error")
    shown_count = page.locator("#f-count").inner_text()
    assert shown_count.endswith("of 12 cases") and not shown_count.startswith("12 ")
    assert fetched == []
    assert console.errors == []
    context.close()


@pytest.fixture(scope="module")
def short_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of history with a model whose every call fails."""
    from dashboard_history import MODELS, FakeModel

    path = tmp_path_factory.mktemp("short") / "benchq.db"
    store = SQLiteStore(path)
    broken = FakeModel("broken-model", "openai", 0.8, 0.1, 900.0, 0.001, fail_rate=1.0)
    fill_history(
        store, sqlite_backdater(str(path)), runs=3, days=1, cases=6, models=(*MODELS, broken)
    )
    store.close()
    return path


def test_failed_runs_and_a_short_history_read_well_at_1280_pixels(
    short_db: Path, browser: Browser
) -> None:
    srv = DashboardServer(short_db.parent, {"BENCHQ_STORE_URL": f"sqlite:///{short_db}"})
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        console = Console(page)
        page.goto(srv.url)
        page.locator(".bk-tab").first.wait_for(timeout=WAIT_MS)
        statuses = wait_cells(page, "status", lambda t: "run failed" in t)
        assert "run failed" in statuses
        fastest = page.locator("table", has_text="cost per document").first.inner_text()
        assert "gpt-4o-mini" in fastest and "broken-model" not in fastest
        screenshot(page, "current-snapshot-failed-run")
        for view in VIEWS:
            show_view(page, view)
            page.wait_for_timeout(1500)
            if view in ("Performance Trends", "Model Comparison"):
                # the note that names failed runs is drawn only by the per-run chart
                page.get_by_text("failed run(s)").first.wait_for(timeout=WAIT_MS)
            texts = page.locator(".tabulator-cell >> visible=true").all_inner_texts()
            assert not {"None", "NaN", "nan", "null"} & set(texts), view
            wide = page.evaluate(
                """() => { const out = [];
                  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
                    if (el.shadowRoot) walk(el.shadowRoot);
                    if (el.classList && el.classList.contains('tabulator-tableholder')
                        && el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
                      out.push(el.scrollWidth + '>' + el.clientWidth); } };
                  walk(document); return out; }"""
            )
            assert wide == [], f"{view}: a table is wider than the page: {wide}"
            if view == "Regression Detection":
                wait_cells(page, "status", lambda t: "current run failed" in t)
                screenshot(page, "regression-detection-failed-run")
        assert console.errors == []
        page.close()
    finally:
        srv.stop()


# --- access: the login, writes, origins ---------------------------------------------------


def test_the_login_is_asked_for_and_wrong_credentials_are_refused(
    server: DashboardServer, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    for path in ("", "explore?run=run-017"):
        page.goto(server.url + path)
        assert "/login" in page.url, path  # nothing of the dashboard before the login
        assert page.locator(".bk-tab").count() == 0
    sign_in(page, USER, "not the password")
    assert "/login" in page.url
    assert "Invalid username or password" in page.locator("#error-message").inner_text()
    sign_in(page, "someone-else", PASSWORD)
    assert "/login" in page.url
    screenshot(page, "login")
    sign_in(page)
    page.locator(".bk-tab").first.wait_for(timeout=WAIT_MS)
    page.get_by_text(f"Signed in as {USER}").wait_for(timeout=WAIT_MS)
    page.get_by_role("link", name="sign out").click()
    page.get_by_text("You are signed out").wait_for(timeout=WAIT_MS)
    page.goto(server.url)
    assert "/login" in page.url  # signed out means out
    assert console.errors == []
    page.close()


def _handshake(port: int, origin: str, cookie: str | None = None) -> int:
    """The HTTP status of a websocket handshake to the dashboard with this Origin."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Origin": origin,
    }
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", "/ws", headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_page_of_another_origin_cannot_open_the_websocket(server: DashboardServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(
        "POST",
        "/login",
        body=f"username={USER}&password={PASSWORD.replace(' ', '+')}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = conn.getresponse()
    cookie = "; ".join(c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or [])
    conn.close()
    assert answer.status == 302 and "user=" in cookie
    own = f"http://127.0.0.1:{server.port}"
    # the dashboard's own page, signed in: the websocket opens
    assert _handshake(server.port, own, cookie) == 101
    assert _handshake(server.port, f"http://localhost:{server.port}", cookie) == 101
    # a page elsewhere, even in a signed-in browser: refused
    for foreign in ("http://evil.example.com", f"http://127.0.0.1:{server.port + 1}"):
        assert _handshake(server.port, foreign, cookie) == 403, foreign
    # and the dashboard's own origin without a login: refused too
    assert _handshake(server.port, own) == 403


def test_writes_are_disabled_without_a_login(history_db: Path, browser: Browser) -> None:
    store = SQLiteStore(history_db)
    before = [
        (s.snapshot_version, s.is_current, s.is_baseline)
        for s in store.snapshot_history("baseline-v1.0", environment="github-actions")
    ]
    store.close()
    local = DashboardServer(history_db.parent, {"BENCHQ_STORE_URL": f"sqlite:///{history_db}"})
    try:
        page, console = open_page(browser, local.url, login=False)
        page.get_by_text("No login configured: read-only").wait_for(timeout=WAIT_MS)
        show_view(page, "Snapshot History")
        wait_cells(page, "marks", lambda t: "CURRENT" in t)
        select(page, "Version", "3")
        for name in ("Check out (make current)", "Set as baseline"):
            button = page.get_by_role("button", name=name)
            assert button.is_disabled(), name
            button.click(force=True)  # a click that reaches it anyway changes nothing
        note = page.get_by_text("Checkout and set baseline need a login")
        note.wait_for(timeout=WAIT_MS)
        assert (
            "BENCHQ_DASHBOARD_PASSWORD"
            in page.locator(
                "div:has-text('Checkout and set baseline need a login')"
            ).last.inner_text()
        )
        page.wait_for_timeout(1000)
        assert console.errors == []
        page.close()
    finally:
        local.stop()
    store = SQLiteStore(history_db)
    after = [
        (s.snapshot_version, s.is_current, s.is_baseline)
        for s in store.snapshot_history("baseline-v1.0", environment="github-actions")
    ]
    store.close()
    assert after == before


# --- what the rest of benchq computes, shown --------------------------------------------------


def _norm(texts: list[str]) -> list[str]:
    return [t.replace("\u00a0", " ").strip() for t in texts]


def test_model_ids_digests_and_intervals_are_shown(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    store = SQLiteStore(history_db)
    current = {
        (s.model_version, s.environment): s
        for s in store.latest_benchmarks()
        if s.environment == "local"
    }
    history = store.snapshot_history("gpt-4o-mini-v1.0", environment="local")
    store.close()
    page, console = open_page(browser, server.url)
    select(page, "Environment", "local")
    models = wait_cells(page, "model", lambda t: len(t) == len(current))
    ids = _norm(cells(page, "model id"))
    digests = _norm(cells(page, "prompt digest"))
    f1s = _norm(cells(page, "F1 [95 % CI]"))
    for model, model_id, digest, f1 in zip(models, ids, digests, f1s, strict=True):
        snap = current[(model, "local")]
        assert model_id == (snap.model_id or "—")
        assert digest == (snap.prompt_digest or "—")
        want = with_interval(snap.f1_score, interval(snap.metrics, "f1_ci"))
        assert want is not None and f1 == want.replace("\u00a0", " ")
        assert "[" in f1  # every current snapshot of a run has its interval
    assert "—" in digests  # the baseline has no prompt
    # the chart of the best ones draws the intervals (whiskers) over the bars
    assert page.locator("canvas >> visible=true").count() >= 1

    show_view(page, "Snapshot History")
    select(page, "Environment", "local", nth=1)
    select(page, "Model", "gpt-4o-mini-v1.0")
    versions = wait_cells(page, "version", lambda t: len(t) == len(history))
    shown = dict(zip(versions, _norm(cells(page, "model id")), strict=True))
    shown_f1 = dict(zip(versions, _norm(cells(page, "F1 [95 % CI]")), strict=True))
    for snap in history:
        version = str(snap.snapshot_version)
        assert shown[version] == (snap.model_id or "—"), version
        ci = interval(snap.metrics, "f1_ci")
        assert ("[" in shown_f1[version]) == (ci is not None), version
    # version 1 was published as an older benchq did: no model id, no interval
    assert shown["1"] == "—" and "[" not in shown_f1["1"]
    assert console.errors == []
    page.close()


def _verdict_status(
    store: SQLiteStore, key: tuple[str, ...], threshold: float, alpha: float
) -> str:
    config = SnapshotConfig(
        model_version=key[0], dataset_version=key[1], prompt_version=key[2], environment=key[3]
    )
    status = snapshot_verdict(store, config, rule=VerdictRule(threshold=threshold, alpha=alpha))
    return status.status.replace("no_baseline", "no baseline")


def test_regression_detection_gives_the_paired_verdict_and_links_worse_cases(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    store = SQLiteStore(history_db)
    keys = {
        c.model_version: (c.model_version, c.dataset_version, c.prompt_version, c.environment)
        for c in store.configurations("local")
    }
    settings = {
        "default": (0.05, 0.01),
        "Home": (0.0, 0.01),
        "alpha": (0.0, 0.1),
        "End": (0.3, 0.1),
    }
    expected = {
        name: {m: _verdict_status(store, k, *rule) for m, k in keys.items()}
        for name, rule in settings.items()
    }
    store.close()
    # the controls matter on this history: some configuration changes status
    assert len({tuple(sorted(e.items())) for e in expected.values()}) > 1

    page, console = open_page(browser, server.url)
    select(page, "Environment", "local")
    show_view(page, "Regression Detection")

    def shown() -> dict[str, str]:
        return dict(zip(cells(page, "model"), cells(page, "status"), strict=True))

    def wait_for(want: dict[str, str]) -> dict[str, str]:
        deadline = time.monotonic() + WAIT_MS / 1000
        got = shown() if len(cells(page, "model")) == len(cells(page, "status")) else {}
        while got != want and time.monotonic() < deadline:
            page.wait_for_timeout(200)
            got = shown() if len(cells(page, "model")) == len(cells(page, "status")) else {}
        return got

    assert wait_for(expected["default"]) == expected["default"]
    handle = page.locator(".noUi-handle").first
    handle.focus()
    handle.press("Home")
    assert wait_for(expected["Home"]) == expected["Home"]
    select(page, "Significance level (alpha)", "0.1")
    assert wait_for(expected["alpha"]) == expected["alpha"]
    screenshot(page, "regression-detection")
    handle.focus()
    handle.press("End")
    assert wait_for(expected["End"]) == expected["End"]
    assert set(cells(page, "rule")) <= {"paired, 12 cases"}

    # a case that got worse opens in the Run Explorer, in a new tab, with its case open
    link = page.locator("a.worse-case").first
    case_id = link.inner_text().strip()
    with page.context.expect_page(timeout=WAIT_MS) as opened:
        link.click()
    explorer = opened.value
    explorer.locator(f"article#case-{case_id}").wait_for(timeout=WAIT_MS)
    assert "/explore?run=" in explorer.url and f"case={case_id}" in explorer.url
    explorer.close()
    assert console.errors == []
    page.close()


def test_performance_trends_marks_and_lists_change_points(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    store = SQLiteStore(history_db)
    history = [
        s
        for s in store.snapshot_history("drifting-model-v1.0", environment="staging")
        if s.is_active
    ]
    store.close()
    expected = detect_changes([(s.snapshot_version, s.f1_score) for s in history])
    assert expected, "the drifting model's history should have a change point"
    page, console = open_page(browser, server.url)
    select(page, "Environment", "staging")
    page.locator(".bk-btn-group button", has_text="All time").click()
    show_view(page, "Performance Trends")
    metrics = wait_cells(page, "metric", lambda t: len(t) >= len(expected))
    versions = cells(page, "version")
    assert [(m, int(v)) for m, v in zip(metrics, versions, strict=True) if m == "F1"] == [
        ("F1", c.version) for c in expected
    ]
    previous = [int(v) for v in cells(page, "previous version")]
    assert previous[0] == expected[0].previous_version
    # three charts: F1 per day, runs per day, and the history with its change points
    page.locator("canvas >> visible=true").nth(2).wait_for(timeout=WAIT_MS)
    # the chart and the list of change points on screen
    page.locator(".tabulator-cell[tabulator-field='p-value']").last.scroll_into_view_if_needed()
    screenshot(page, "performance-trends")
    assert console.errors == []
    page.close()


def test_the_explorer_marks_unstable_cases_of_a_repeated_run(
    server: DashboardServer, browser: Browser, history_db: Path
) -> None:
    store = SQLiteStore(history_db)
    summaries = store.run_summaries("run-repeat")
    store.close()
    unstable = {c for s in summaries for c in s.aggregated["unstable_cases"]}
    assert unstable and all(s.aggregated["repeats"] == 3 for s in summaries)
    page, console = open_page(browser, server.url + "?run=run-repeat")
    page.get_by_text("Run run-repeat").first.wait_for(timeout=WAIT_MS)
    rows = wait_cells(page, "case", lambda t: len(t) == 24)
    assert len(rows) == 24  # 8 cases x 3 repeats, a row each
    page.get_by_text(f"{len(unstable)} of 8 cases are unstable").wait_for(timeout=WAIT_MS)
    select(page, "Repeats", "unstable only")
    kept = wait_cells(page, "case", lambda t: {c.split("~")[0] for c in t} == unstable)
    assert {c.split("~")[0] for c in kept} == unstable
    marks = cells(page, "unstable")
    assert marks and all(m.startswith("⟳") for m in marks)
    screenshot(page, "run-explorer-repeats")
    select(page, "Repeats", "stable only")
    steady = wait_cells(page, "case", lambda t: t and not {c.split("~")[0] for c in t} & unstable)
    assert steady and not {c.split("~")[0] for c in steady} & unstable
    assert console.errors == []
    page.close()
