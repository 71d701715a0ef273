"""The dashboard in a real browser: `benchq dashboard` in a child process, Chromium
driven by Playwright, against a store filled with a generated history.

Every test also fails on any error in the browser console. Set
`BENCHQ_SCREENSHOTS=DIR` to save a screenshot of each view into DIR (that
is how docs/screenshots/ is made).
"""

from __future__ import annotations

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

from benchq.store.aggregates import DashboardFilter
from benchq.store.schema import SnapshotConfig
from benchq.store.sqlite import SQLiteStore

try:
    from dashboard_history import fill_history, sqlite_backdater
except ImportError:  # tests/ became a package
    from tests.dashboard_history import fill_history, sqlite_backdater

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DashboardServer:
    """`benchq dashboard` as a child process, on a free port, with the given settings."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
        self.log = cwd / f"dashboard-{self.port}.log"
        code = (
            "from benchq.dashboard.command import dashboard; "
            f"dashboard(['--port', '{self.port}', '--no-show'])"
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
    path = tmp_path_factory.mktemp("dash") / "benchq.db"
    store = SQLiteStore(path)
    assert fill_history(store, sqlite_backdater(str(path)), cases=12) == 72
    store.close()
    return path


@pytest.fixture(scope="module")
def server(history_db: Path) -> Iterator[DashboardServer]:
    srv = DashboardServer(history_db.parent, {"BENCHQ_STORE_URL": f"sqlite:///{history_db}"})
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


def open_page(browser: Browser, url: str) -> tuple[Page, Console]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console = Console(page)
    page.goto(url)
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
    wait_cells(page, "status", lambda t: len(t) == 1)
    store = SQLiteStore(history_db)
    (medgemma,) = [
        c for c in store.configurations("local") if c.model_version == "medgemma-4b-v1.0"
    ]
    store.close()
    assert medgemma.baseline_f1 is not None and medgemma.current_f1 is not None
    drop_pct = 100 * (medgemma.baseline_f1 - medgemma.current_f1) / medgemma.baseline_f1
    handle = page.locator(".noUi-handle").first
    for key, threshold in (("Home", 0.0), ("End", 50.0)):
        handle.focus()
        handle.press(key)
        want = "ALERT" if drop_pct > threshold else "ok"
        assert wait_cells(page, "status", lambda t, w=want: t == [w]) == [want], threshold
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
        page, console = open_page(browser, empty.url)
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
        page, console = open_page(browser, down.url)
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
