"""What differs between two snapshots besides the model's answers.

Before a comparison lists cases that got better or worse, the reader must
know whether the two versions even scored the same bills against the same
ground truth, with the same model and prompt: if not, that is the first
cause to look at. Pushed snapshots (no run behind them) can only be
compared on what they record.
"""

from __future__ import annotations

import hashlib
import json

from benchq.store.aggregates import CaseDocument
from benchq.store.base import ResultsStore
from benchq.store.schema import Snapshot, SnapshotConfig


def _fingerprint(doc: CaseDocument) -> str:
    body = json.dumps([doc.text, doc.expected_issues], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def case_fingerprints(store: ResultsStore, snap: Snapshot) -> dict[str, str] | None:
    """Case id -> digest of its bill and expected issues, for the run behind a snapshot.

    None for a snapshot pushed without a run (no documents to compare).
    """
    if not snap.benchq_run_id:
        return None
    docs = store.case_documents(snap.benchq_run_id)
    return {case_id: _fingerprint(doc) for case_id, doc in docs.items()} or None


def _ids(ids: set[str], limit: int = 5) -> str:
    shown = ", ".join(sorted(ids)[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def what_differs(store: ResultsStore, config: SnapshotConfig, a: int, b: int) -> list[str]:
    """One line per difference between versions `a` and `b` that is not the answers."""
    snap_a, snap_b = store.get_snapshot(config, a), store.get_snapshot(config, b)
    lines: list[str] = []
    if snap_a.model_id and snap_b.model_id and snap_a.model_id != snap_b.model_id:
        lines.append(f"the model differs: v{a} called {snap_a.model_id}, v{b} {snap_b.model_id}")
    if (
        snap_a.prompt_digest
        and snap_b.prompt_digest
        and snap_a.prompt_digest != snap_b.prompt_digest
    ):
        lines.append(
            f"the prompt text differs: v{a} {snap_a.prompt_digest}, v{b} {snap_b.prompt_digest}"
        )
    cases_a, cases_b = case_fingerprints(store, snap_a), case_fingerprints(store, snap_b)
    if cases_a is None or cases_b is None:
        missing = [f"v{v}" for v, c in ((a, cases_a), (b, cases_b)) if c is None]
        lines.append(
            f"{' and '.join(missing)} has no stored cases (pushed, not run): "
            "whether the suites match cannot be checked"
        )
        return lines
    only_a, only_b = set(cases_a) - set(cases_b), set(cases_b) - set(cases_a)
    changed = {c for c in set(cases_a) & set(cases_b) if cases_a[c] != cases_b[c]}
    if only_a or only_b or changed:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} case(s) only in v{a} ({_ids(only_a)})")
        if only_b:
            parts.append(f"{len(only_b)} case(s) only in v{b} ({_ids(only_b)})")
        if changed:
            parts.append(
                f"{len(changed)} case(s) with another bill or ground truth ({_ids(changed)})"
            )
        lines.append("the suites differ: " + "; ".join(parts))
    return lines
