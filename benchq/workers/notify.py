"""Tell someone when a run is over: a JSON summary POSTed to each webhook.

The body is one object with a Slack-compatible `text` (one line a model) and
the same facts structured beside it. It carries ids, labels, scores,
verdicts and error texts (which providers have already cleared of keys),
never a setting, a URL of the store or a document. Webhook URLs are
themselves secrets (a Slack URL is its own credential), so logs name only
their host.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx
import tenacity
from pydantic import BaseModel

from benchq.errors import ConfigError, NotificationFailed
from benchq.store.base import ResultsStore
from benchq.store.schema import RunModelSummary, RunRecord
from benchq.store.verdicts import SnapshotVerdict

log = logging.getLogger("benchq.notify")

#: Attempts per webhook, the first included; waits of 1, 2, 4 ... seconds between.
ATTEMPTS = 4


class ModelReport(BaseModel):
    """One model of a finished run, as the notification tells it."""

    model: str
    model_version: str | None = None
    model_id: str | None = None
    status: str
    """`published` or `failed`."""
    snapshot_version: int | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    verdict: str | None = None
    """`ok`, `improved`, `inconclusive`, `regression`, `no_baseline` (None: nothing published)."""
    verdict_text: str | None = None
    """The verdict's line: the figures, the test and its p-value, the cases that flipped."""
    baseline_version: int | None = None
    error: str | None = None


class RunReport(BaseModel):
    """The notification of one finished run."""

    text: str
    """One line a model: what a chat channel shows."""
    run_id: str
    status: str
    regressed: bool
    suite: str
    dataset_version: str
    environment: str
    commit_sha: str | None = None
    branch_name: str | None = None
    error: str | None = None
    models: list[ModelReport]


def _model_report(name: str, run: RunRecord, summary: RunModelSummary | None) -> ModelReport:
    info = run.model_info.get(name)
    report = ModelReport(
        model=name,
        model_version=info.model_version if info else None,
        model_id=info.model_id if info else None,
        status=summary.status if summary else "missing",
        error=summary.error if summary else None,
    )
    if summary is None or summary.status != "published":
        return report
    agg = summary.aggregated
    report.snapshot_version = summary.snapshot_version
    report.precision = _float(agg.get("issue_precision"))
    report.recall = _float(agg.get("issue_recall"))
    report.f1 = _float(agg.get("issue_f1_score"))
    if summary.verdict is not None:
        verdict = SnapshotVerdict.model_validate(summary.verdict)
        report.verdict = verdict.status
        report.baseline_version = verdict.baseline_version
        report.verdict_text = verdict.text
    return report


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _line(m: ModelReport) -> str:
    label = m.model_version or m.model
    if m.status != "published":
        return f"{label}: FAILED: {m.error or m.status}"
    scores = f"F1 {m.f1:.3f} (P {m.precision:.3f}, R {m.recall:.3f})" if m.f1 is not None else ""
    verdict = {
        "regression": f"REGRESSION vs v{m.baseline_version}",
        "inconclusive": f"inconclusive vs v{m.baseline_version}",
        "improved": f"improved vs v{m.baseline_version}",
        "ok": f"ok vs v{m.baseline_version}",
        "no_baseline": "no baseline set",
    }.get(m.verdict or "", m.verdict or "")
    return f"{label} v{m.snapshot_version}: {scores} {verdict}".strip()


def run_report(store: ResultsStore, run_id: str) -> RunReport:
    """The notification of a run, from what the store holds."""
    run = store.get_run(run_id)
    summaries = {s.model_name: s for s in store.run_summaries(run_id)}
    models = [_model_report(name, run, summaries.get(name)) for name in run.models]
    regressed = any(m.verdict == "regression" for m in models)
    head = f"benchq run {run.run_id} ({run.suite}, {run.dataset_version}): " + (
        "REGRESSION" if regressed and run.status == "done" else run.status.value
    )
    lines = [head, *(f"- {_line(m)}" for m in models)]
    if run.error and not any(m.error == run.error for m in models):
        lines.append(f"- error: {run.error}")
    return RunReport(
        text="\n".join(lines),
        run_id=run.run_id,
        status=run.status.value,
        regressed=regressed,
        suite=run.suite,
        dataset_version=run.dataset_version,
        environment=run.environment,
        commit_sha=run.commit_sha,
        branch_name=run.branch_name,
        error=run.error,
        models=models,
    )


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


def post(url: str, report: RunReport, *, timeout: float) -> None:
    """POST the report to one webhook, retried on timeouts, 429 and 5xx; raises on failure."""

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=1, max=8),
        retry=tenacity.retry_if_exception(_retryable),
        reraise=True,
    )
    def attempt() -> None:
        response = httpx.post(url, json=report.model_dump(mode="json"), timeout=timeout)
        response.raise_for_status()

    attempt()


def notify_run(store: ResultsStore, run_id: str, urls: list[str], *, timeout: float) -> bool:
    """Send a finished run's report to every webhook, once per run; True if this call sent it.

    The store's claim makes it once: a verdict step that runs twice, or two
    models ending at the same moment, find it claimed. A webhook that fails
    every attempt gives the claim back and raises, so the task can retry.
    """
    if not urls or not store.claim_notification(run_id):
        return False
    report = run_report(store, run_id)
    failed: list[str] = []
    for url in urls:
        try:
            post(url, report, timeout=timeout)
        except httpx.HTTPError as exc:
            failed.append(_host(url))
            log.warning("notifying %s of run %s failed: %s", _host(url), run_id, type(exc).__name__)
    if failed and len(failed) == len(urls):
        store.release_notification(run_id)
        raise NotificationFailed(f"run {run_id}: no webhook took the notification ({failed})")
    return True


def parse_urls(value: str) -> list[str]:
    """The webhook URLs of `BENCHQ_NOTIFY_URLS` (comma-separated, blanks ignored).

    Anything but an http(s) URL with a host is a `ConfigError`, named by its
    position rather than quoted (the URL may be a credential).
    """
    urls = [u.strip() for u in value.split(",") if u.strip()]
    for i, url in enumerate(urls, start=1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"BENCHQ_NOTIFY_URLS: entry {i} is not an http(s) URL")
    return urls
