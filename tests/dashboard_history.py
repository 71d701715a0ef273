"""A generated, deterministic benchmark history for the dashboard's tests, screenshots
and benchmark: several models, dozens of snapshots over weeks, real case results.

Everything goes through the store's public writes (`create_run`,
`save_case_documents`, `save_case_results`, `save_run_summary`, `publish`),
as a run of the pipeline would write it; the figures come from benchq's own
`aggregate` and `to_monitoring`, so they agree with the case results. The
store stamps each snapshot with the time it was published, so a history
spread over weeks is made by moving `created_at` afterwards (`Backdater`),
directly in the database: that is the one thing no store method does.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from benchq.cases.generate import generate_cases
from benchq.cases.schema import Case
from benchq.scoring.aggregate import aggregate
from benchq.scoring.case import normalize_issue_type
from benchq.scoring.monitoring import to_monitoring
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument
from benchq.store.base import ResultsStore
from benchq.store.schema import PushMetadata, RunModelSummary, RunRecord

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
    """Share of the history (0-1) after which its skill drops by a fifth: a regression."""


MODELS: tuple[FakeModel, ...] = (
    FakeModel("gpt-4o-mini", "openai", 0.86, 0.08, 1900.0, 0.0006),
    FakeModel("gemini-2.0-flash", "google", 0.80, 0.12, 1300.0, 0.0004, decline_from=0.8),
    FakeModel("medgemma-4b", "medgemma", 0.66, 0.18, 2600.0, 0.0),
    FakeModel("baseline", "baseline", 0.50, 0.05, 40.0, 0.0),
)
FALSE_TYPES = ("balance_billing", "upcoding", "arithmetic_error", "unbundling")


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


def _answer(rng: random.Random, model: FakeModel, case: Case, skill: float) -> CaseResult:
    """One scored answer, by the original's set rule."""
    expected = [normalize_issue_type(i.type) for i in case.truth.expected_issues if i.should_detect]
    failed = rng.random() < 0.03
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
        raw_output=(
            ""
            if failed
            else '{"issues": [' + ", ".join(f'{{"type": "{t}"}}' for t in detected) + "]}"
        ),
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
) -> int:
    """Publish `runs` runs of every model, spread over the last `days` days; return snapshots.

    Run i goes to `environments[i % len]`; every configuration's second
    version becomes its baseline, so the regression view has something to say.
    """
    rng = random.Random(seed)
    suite = generate_cases(cases, seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=days)
    moved: list[tuple[UUID, datetime]] = []
    for i in range(runs):
        when = start + timedelta(days=days * (i + 1) / runs, hours=-rng.uniform(0, 6))
        environment = environments[i % len(environments)]
        run_id = f"run-{i:03d}"
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
        store.save_case_documents(
            run_id,
            [
                CaseDocument(
                    case_id=c.id,
                    document_type=c.truth.document_type.value,
                    text=c.text,
                    expected_issues=[i.model_dump(mode="json") for i in c.truth.expected_issues],
                )
                for c in suite
            ],
        )
        for model in models:
            skill = model.skill * (0.8 if i / runs >= model.decline_from else 1.0)
            results = [_answer(rng, model, c, skill) for c in suite]
            for r in results:
                r.run_id = run_id
            store.save_case_results(results)
            agg = aggregate(model.name, results, generated_at=when)
            record = to_monitoring(
                agg, model=model.name, model_provider=model.provider, timestamp=when
            )
            store.save_run_summary(
                RunModelSummary(
                    run_id=run_id,
                    model_name=model.name,
                    aggregated={},
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
