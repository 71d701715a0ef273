"""The default regression verdict of a snapshot: case by case against its baseline.

The statistics are `benchq.regression` (pure functions on plain data); this
module finds what they compare: the baseline of the snapshot's
configuration, the case results behind both, and whether both scored the
same bills against the same ground truth. When they did not (different
cases, edited ground truth, or a pushed snapshot with no cases), the
verdict falls back to the original's rule on the two F1 values and says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from benchq.regression.stats import group_outcomes
from benchq.regression.verdict import Verdict, VerdictRule, original_verdict, paired_verdict
from benchq.store.base import ResultsStore
from benchq.store.compare import case_fingerprints
from benchq.store.schema import Snapshot, SnapshotConfig

SnapshotStatus = Literal[
    "regression", "inconclusive", "ok", "improved", "no_baseline", "no_current"
]


class SnapshotVerdict(BaseModel):
    """A snapshot judged against its configuration's baseline."""

    status: SnapshotStatus
    current_version: int | None = None
    baseline_version: int | None = None
    verdict: Verdict | None = None
    """The comparison itself; None when there is no baseline (or no current snapshot)."""
    text: str
    """One line for a person."""

    @property
    def regressed(self) -> bool:
        """True for a regression: the drop is larger than the threshold and not chance."""
        return self.status == "regression"


def snapshot_verdict(
    store: ResultsStore,
    config: SnapshotConfig,
    *,
    version: int | None = None,
    rule: VerdictRule | None = None,
) -> SnapshotVerdict:
    """The verdict of `version` (default: the current one) against the baseline."""
    rule = rule or VerdictRule()
    history = store.snapshot_history(
        config.model_version, config.dataset_version, config.prompt_version, config.environment
    )
    current = next(
        (s for s in history if (s.snapshot_version == version if version else s.is_current)),
        None,
    )
    if current is None:
        return SnapshotVerdict(status="no_current", text="no current snapshot")
    baseline = next((s for s in history if s.is_baseline), None)
    if baseline is None:
        return SnapshotVerdict(
            status="no_baseline",
            current_version=current.snapshot_version,
            text="no baseline set",
        )
    verdict = _compare(store, config, baseline, current, rule)
    where = f"v{current.snapshot_version} vs baseline v{baseline.snapshot_version}"
    return SnapshotVerdict(
        status=verdict.status,
        current_version=current.snapshot_version,
        baseline_version=baseline.snapshot_version,
        verdict=verdict,
        text=f"{where}: {verdict.text}",
    )


def _compare(
    store: ResultsStore,
    config: SnapshotConfig,
    baseline: Snapshot,
    current: Snapshot,
    rule: VerdictRule,
) -> Verdict:
    base_cases = store.snapshot_cases(config, baseline.snapshot_version)
    cur_cases = store.snapshot_cases(config, current.snapshot_version)
    if not base_cases or not cur_cases:
        which = "the baseline" if not base_cases else "the current snapshot"
        return original_verdict(
            baseline.f1_score or 0.0,
            current.f1_score or 0.0,
            rule,
            f"{which} was pushed, not run: it has no cases to compare",
            baseline_cases=len({r.document_name for r in base_cases}),
            current_cases=len({r.document_name for r in cur_cases}),
        )
    base_docs = case_fingerprints(store, baseline)
    cur_docs = case_fingerprints(store, current)
    common = set(base_docs or {}) & set(cur_docs or {})
    same_truth = (
        base_docs is not None
        and cur_docs is not None
        and all(base_docs[c] == cur_docs[c] for c in common)
    )
    return paired_verdict(
        group_outcomes((r.document_name, r) for r in base_cases),
        group_outcomes((r.document_name, r) for r in cur_cases),
        rule,
        same_ground_truth=same_truth,
    )
