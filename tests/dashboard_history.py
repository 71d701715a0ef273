"""A generated, deterministic benchmark history for the dashboard's tests, screenshots
and benchmark: several models, dozens of snapshots over weeks, real case results.

Everything goes through the store's public writes (`create_run`,
`save_case_documents`, `save_case_results`, `save_run_summary`, `publish`),
as a run of the pipeline would write it; the figures come from benchq's own
`aggregate` and `to_monitoring`, with the intervals of `score_intervals`
(as the pipeline's aggregate step adds them), so they agree with the case
results. The first run is published as an older benchq did, without
intervals, model id or prompt digest (the dashboard shows a dash). The
store stamps each snapshot with the time it was published, so a history
spread over weeks is made by moving `created_at` afterwards (`Backdater`),
directly in the database: that is the one thing no store method does.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from benchq.cases.generate import generate_cases
from benchq.cases.schema import Case
from benchq.producers.enqueue import case_documents
from benchq.regression.stats import group_outcomes
from benchq.scoring.aggregate import aggregate
from benchq.scoring.case import normalize_issue_type
from benchq.scoring.monitoring import to_monitoring
from benchq.scoring.schema import AggregatedMetrics, CaseResult
from benchq.store.base import ResultsStore
from benchq.store.schema import PushMetadata, RunModelSummary, RunRecord
from benchq.workers.pipeline import with_intervals as pipeline_intervals

#: (id, created_at) pairs to write into benchmark_snapshots.
Backdater = Callable[[Sequence[tuple[UUID, datetime]]], None]


@dataclass(frozen=True)
class FakeModel:
    """A model of the history: how often it finds an issue, and what it costs."""

    name: str
    provider: str
    skill: float
    """Chance of finding each expected issue."""
    false_alarm: float
    """Chance of reporting an issue the bill does not have."""
    latency_ms: float
    usd_per_1k_tokens: float
    decline_from: float = 2.0
    """Share of the history (0-1) after which its skill drops (by `decline`): a regression."""
    decline: float = 0.8
    """What its skill is multiplied by from `decline_from` on."""
    fail_rate: float = 0.03
    """Chance that a call fails (1.0: every call, a failed run)."""


#: A model whose level falls by half in the middle of its history: a change point.
DRIFTING = FakeModel(
    "drifting-model", "openai", 0.95, 0.02, 900.0, 0.0005, decline_from=0.5, decline=0.45
)

MODELS: tuple[FakeModel, ...] = (
    FakeModel("gpt-4o-mini", "openai", 0.86, 0.08, 1900.0, 0.0006),
    FakeModel("gemini-2.0-flash", "google", 0.80, 0.12, 1300.0, 0.0004, decline_from=0.8),
    FakeModel("medgemma-4b", "medgemma", 0.66, 0.18, 2600.0, 0.0),
    FakeModel("baseline", "baseline", 0.50, 0.05, 40.0, 0.0),
)
FALSE_TYPES = ("balance_billing", "upcoding", "arithmetic_error", "unbundling")

#: The digest every fake model's prompt has (the baseline has no prompt).
PROMPT_DIGEST = "5e1f0c2a9b7d3e48"


def model_id_of(model: FakeModel) -> str:
    """The provider's model id a fake model reports (its name, dated for the LLMs)."""
    return model.name if model.provider == "baseline" else f"{model.name}-2026-01-15"


def with_intervals(agg: AggregatedMetrics, results: list[CaseResult]) -> AggregatedMetrics:
    """The aggregate with the 95 % intervals the pipeline's aggregate step adds (its own code)."""
    return pipeline_intervals(agg, group_outcomes((r.document_name, r) for r in results))


def sqlite_backdater(path: str) -> Backdater:
    """Moves snapshots of the SQLite store at `path`."""

    def move(rows: Sequence[tuple[UUID, datetime]]) -> None:
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.executemany(
                "UPDATE benchmark_snapshots SET created_at=? WHERE id=?",
                [(when.isoformat(), str(sid)) for sid, when in rows],
            )

    return move


def postgres_backdater(url: str) -> Backdater:
    """Moves snapshots of the Postgres (or Supabase) database at `url`."""

    def move(rows: Sequence[tuple[UUID, datetime]]) -> None:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE benchmark_snapshots SET created_at=%s WHERE id=%s",
                [(when, sid) for sid, when in rows],
            )

    return move


_CODE = re.compile(r"\b([A-Z]?\d{4,5}[A-Z]?)\b")
_AMOUNT = re.compile(r"\d\.\d\d\b")


def _issues_json(case: Case, detected: list[str]) -> str:
    """A raw answer as a model writes one: each issue with a code and the line it quotes.

    The quoted line is the i-th line of the bill that carries a billing code,
    so the explorer has real lines to mark (and no extra randomness is drawn).
    """
    coded = [
        line.strip()
        for line in case.text.splitlines()
        if _CODE.search(line) and _AMOUNT.search(line)
    ]
    issues = []
    for i, issue_type in enumerate(detected):
        line = coded[i % len(coded)] if coded else ""
        match = _CODE.search(line)
        issues.append(
            {
                "type": issue_type,
                "summary": issue_type.replace("_", " ").capitalize() + " on this bill",
                "evidence": line,
                "code": match.group(1) if match else None,
            }
        )
    return json.dumps({"issues": issues})


def answer(rng: random.Random, model: FakeModel, case: Case, skill: float) -> CaseResult:
    """One scored answer, by the original's set rule."""
    expected = [normalize_issue_type(i.type) for i in case.truth.expected_issues if i.should_detect]
    failed = rng.random() < model.fail_rate
    detected = [t for t in expected if rng.random() < skill]
    if rng.random() < model.false_alarm:
        detected.append(rng.choice(FALSE_TYPES))
    if failed:
        detected = []
    e, d = set(expected), set(detected)
    tokens_in = 600 + len(case.text) // 4 + rng.randint(0, 80)
    tokens_out = 80 + 60 * len(detected) + rng.randint(0, 40)
    latency = model.latency_ms * rng.uniform(0.7, 1.4)
    return CaseResult(
        document_name=case.id,
        document_type=case.truth.document_type.value,
        extraction_success=not failed,
        extraction_latency_ms=latency,
        pipeline_latency_ms=latency + 15.0,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        total_tokens=tokens_in + tokens_out,
        issues_detected=len(detected),
        issues_expected=len(case.truth.expected_issues),
        true_positives=0 if failed else len(e & d),
        false_positives=0 if failed else (len(d - e) if e else len(detected)),
        false_negatives=0 if failed else len(e - d),
        json_valid=not failed,
        error_message="provider returned HTTP 500" if failed else None,
        model_name=model.name,
        detected_types=detected,
        expected_types=expected,
        cost_usd=round((tokens_in + tokens_out) / 1000 * model.usd_per_1k_tokens, 6),
        raw_output="" if failed else _issues_json(case, detected),
    )


def fill_history(
    store: ResultsStore,
    backdate: Backdater,
    *,
    runs: int = 18,
    cases: int = 10,
    days: int = 40,
    seed: int = 7,
    environments: Sequence[str] = ("local", "github-actions"),
    models: Sequence[FakeModel] = MODELS,
    run_prefix: str = "run-",
    days_ago: int = 0,
) -> int:
    """Publish `runs` runs of every model, spread over `days` days; return snapshots.

    The last run is `days_ago` days before now. Run i goes to
    `environments[i % len]` and is called `<run_prefix><i:03d>`; every
    configuration's second version becomes its baseline, so the regression
    view has something to say.
    """
    rng = random.Random(seed)
    suite = generate_cases(cases, seed)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    start = now - timedelta(days=days)
    moved: list[tuple[UUID, datetime]] = []
    for i in range(runs):
        when = start + timedelta(days=days * (i + 1) / runs, hours=-rng.uniform(0, 6))
        environment = environments[i % len(environments)]
        run_id = f"{run_prefix}{i:03d}"
        store.create_run(
            RunRecord(
                run_id=run_id,
                suite="demo",
                models=[m.name for m in models],
                cases_per_model=cases,
                created_at=when.isoformat(),
                environment=environment,
            )
        )
        store.save_case_documents(run_id, case_documents(suite))
        for model in models:
            skill = model.skill * (model.decline if i / runs >= model.decline_from else 1.0)
            results = [answer(rng, model, c, skill) for c in suite]
            for r in results:
                r.run_id = run_id
            store.save_case_results(results)
            agg = aggregate(model.name, results, generated_at=when)
            if i > 0:  # the first run: as an older benchq published it
                agg = with_intervals(agg, results)
            record = to_monitoring(
                agg, model=model.name, model_provider=model.provider, timestamp=when
            )
            if i > 0:
                record = record.model_copy(
                    update={
                        "model_id": model_id_of(model),
                        "prompt_digest": None if model.provider == "baseline" else PROMPT_DIGEST,
                    }
                )
            store.save_run_summary(
                RunModelSummary(
                    run_id=run_id,
                    model_name=model.name,
                    aggregated=agg.model_dump(mode="json"),
                    monitoring=record.model_dump(mode="json"),
                    finished_at=when.isoformat(),
                )
            )
            meta = PushMetadata(
                environment=environment,  # type: ignore[arg-type]
                commit_sha=f"{rng.getrandbits(40):010x}",
                branch_name="main",
            )
            snapshot = store.publish(record, meta, run_id=run_id)
            moved.append((snapshot.id, when))
            if snapshot.snapshot_version == 2:
                store.set_baseline(snapshot.config, 2)
    backdate(moved)
    return len(moved)


def fill_repeat_run(
    store: ResultsStore,
    *,
    run_id: str = "run-repeat",
    cases: int = 8,
    repeats: int = 3,
    seed: int = 11,
    models: Sequence[FakeModel] = MODELS[:2],
) -> dict[str, list[str]]:
    """One run made with `--repeat`: every (model, case) answered `repeats` times.

    Stored as the pipeline stores it (each repeat a case result of its own,
    `repeat` set; the summary's aggregate with `repeats` and
    `unstable_cases`), dated before the history so it is never the newest
    run. Returns each model's unstable cases, as the aggregate names them.
    """
    rng = random.Random(seed)
    suite = generate_cases(cases, seed)
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
    store.create_run(
        RunRecord(
            run_id=run_id,
            suite="demo",
            models=[m.name for m in models],
            cases_per_model=cases,
            created_at=when.isoformat(),
            environment="local",
        )
    )
    store.save_case_documents(run_id, case_documents(suite))
    unstable: dict[str, list[str]] = {}
    for model in models:
        results = []
        for c in suite:
            for repeat in range(repeats):
                r = answer(rng, model, c, model.skill)
                r.run_id, r.repeat = run_id, repeat
                results.append(r)
        store.save_case_results(results)
        agg = with_intervals(aggregate(model.name, results, generated_at=when), results)
        unstable[model.name] = agg.unstable_cases
        store.save_run_summary(
            RunModelSummary(
                run_id=run_id,
                model_name=model.name,
                aggregated=agg.model_dump(mode="json"),
                monitoring={},
                finished_at=when.isoformat(),
            )
        )
    store.set_run_status(run_id, "done")
    return unstable
