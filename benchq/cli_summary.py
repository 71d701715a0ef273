"""What `benchq run`, `enqueue --wait` and `resume` print about a finished run."""

from __future__ import annotations

import json

from rich.console import Console

from benchq.cli_tables import Column, print_table
from benchq.producers.runner import RunOutcome
from benchq.store.verdicts import SnapshotVerdict


def print_summary(outcome: RunOutcome, seconds: float, console: Console) -> None:
    """The per-model summary table, and regression verdicts; failed models' errors in full."""
    columns = [
        Column("model"), Column("cases", "right"), Column("precision", "right"),
        Column("recall", "right"), Column("F1 [95% CI]", "right"), Column("JSON valid", "right"),
        Column("errors", "right"), Column("latency", "right"), Column("tokens", "right"),
        Column("cost", "right"), Column("regression"),
    ]  # fmt: skip
    rows = [
        [
            agg.model_name,
            str(agg.total_documents),
            f"{agg.issue_precision:.3f}",
            f"{agg.issue_recall:.3f}",
            _with_ci(agg.issue_f1_score, agg.issue_f1_ci),
            f"{agg.json_validity_rate:.1f}%",
            str(agg.error_count),
            f"{agg.avg_extraction_latency_ms:.1f} ms",
            "-"
            if agg.avg_total_tokens is None
            else str(agg.total_input_tokens + agg.total_output_tokens),
            f"${agg.total_cost_usd:.4f}",
            _verdict_text(outcome.verdicts.get(agg.model_name)),
        ]
        for agg in outcome.aggregates
    ]
    if rows:
        print_table(f"run {outcome.run_id} ({seconds:.1f}s)", columns, rows, console=console)
    for model, error in outcome.failures.items():
        # Whole, never in a table cell: the error is what the reader needs to act on.
        console.print(f"FAILED {model}: nothing published: {error}", markup=False, soft_wrap=True)


def outcome_json(outcome: RunOutcome) -> str:
    """The outcome as one JSON object (`--json`): scores, verdicts, failures, files."""
    return json.dumps(
        {
            "run_id": outcome.run_id,
            "exit_code": outcome.exit_code,
            "models": [
                {
                    **{
                        k: v
                        for k, v in agg.model_dump(mode="json").items()
                        if k != "individual_results"
                    },
                    "verdict": (
                        outcome.verdicts[agg.model_name].model_dump(mode="json")
                        if agg.model_name in outcome.verdicts
                        else None
                    ),
                }
                for agg in outcome.aggregates
            ],
            "failures": outcome.failures,
            "files": [str(p) for p in outcome.files],
        },
        indent=2,
    )


def _with_ci(value: float, ci: list[float] | None) -> str:
    return f"{value:.3f}" if ci is None else f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _verdict_text(verdict: SnapshotVerdict | None) -> str:
    if verdict is None:
        return "-"
    if verdict.status == "no_baseline":
        return "no baseline set"
    label = {"regression": "REGRESSED"}.get(verdict.status, verdict.status)
    detail = verdict.verdict
    if detail is None:
        return label
    how = (
        f"p={detail.p_value:.3g}"
        if detail.p_value is not None
        else f"original rule: {detail.fallback_reason}"
    )
    return f"{label} vs v{verdict.baseline_version} (F1 {detail.delta:+.3f}, {how})"
