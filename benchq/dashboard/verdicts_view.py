"""Regression Detection: each configuration's paired verdict against its baseline.

The verdict is the one `benchq run` prints and CI gates on
(`benchq.store.verdicts.snapshot_verdict`, docs/verdicts.md): the current
snapshot and the baseline compared case by case when they scored the same
cases against the same ground truth, with a paired test; the original's
rule on the two F1 values otherwise, saying why. This module turns those
verdicts into the view's table, banner and the list of cases that got
worse (each a link to the case in the Run Explorer). Data in, Panel out: it
reads nothing from the store.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import panel as pn

from benchq.dashboard.intervals import INTERVAL_BREAK
from benchq.dashboard.views import NO_DATA, message, num, table
from benchq.regression.verdict import VerdictRule, original_verdict
from benchq.store.verdicts import SnapshotVerdict

ConfigKey = tuple[str, str, str, str]

#: How each verdict status reads in the table (the store's names, in words).
STATUS_TEXT = {
    "regression": "regression",
    "inconclusive": "inconclusive",
    "ok": "ok",
    "improved": "improved",
    "no_baseline": "no baseline",
    "no_current": "no current snapshot",
}

_STATUS_COLOURS = {
    "regression": "background-color: #f8d7da",
    "inconclusive": "background-color: #fff3cd",
    "improved": "background-color: #d1e7dd",
    "current run failed": "background-color: #c9ced6",
    "baseline run failed": "background-color: #c9ced6",
}

#: Worse cases listed per configuration before "and N more".
WORSE_SHOWN = 20

EXPLAINED = (
    "Each configuration's **current** snapshot against its **baseline**, case by case "
    "when both scored the same cases against the same ground truth (docs/verdicts.md). "
    "**regression**: F1 fell by more than the threshold and the paired test says chance "
    "would do that less often than alpha; **inconclusive**: it fell by more than the "
    "threshold, but chance could explain it (more cases, or `--repeat`, would tell); "
    "**improved**: it rose by more than the threshold, significantly. Where the cases "
    "differ, or a snapshot was pushed without cases, the verdict falls back to the "
    "original's rule (an F1 drop larger than the threshold) and the **rule** column says why."
)


def key_of(row: Any) -> ConfigKey:
    """The (model, dataset, prompt, environment) of a configurations row."""
    return (
        str(row.model_version),
        str(row.dataset_version),
        str(row.prompt_version),
        str(row.environment),
    )


def fallback(row: Any, rule: VerdictRule, reason: str) -> SnapshotVerdict:
    """The original's rule on a configuration's two F1 values, when its cases cannot be read."""
    base, cur = num(row.baseline_f1) or 0.0, num(row.current_f1) or 0.0
    verdict = original_verdict(base, cur, rule, reason)
    return SnapshotVerdict(
        status=verdict.status,
        current_version=int(row.current_version),
        baseline_version=int(row.baseline_version),
        verdict=verdict,
        text=verdict.text,
    )


def _versions(row: Any) -> str | None:
    """`v2 → v9`: the baseline's version and the current one's (None without a baseline)."""
    if num(row.baseline_version) is None:
        return None
    current = num(row.current_version)
    return f"v{int(row.baseline_version)} → " + ("—" if current is None else f"v{int(current)}")


def _f1s(baseline: float | None, current: float | None) -> str | None:
    """`0.800 → 0.500`; a failed run's side is a dash (it has no F1)."""
    if baseline is None and current is None:
        return None

    def side(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    return f"{side(baseline)} → {side(current)}"


def _change(verdict: SnapshotVerdict | None) -> str | None:
    """`-0.110 [-0.180, -0.040]`: the F1 change and its interval (None: a dash)."""
    if verdict is None or verdict.verdict is None:
        return None
    v = verdict.verdict
    text = f"{v.delta:+.3f}"
    if v.interval is not None:
        # wraps before the bracket only (see `intervals.with_interval`)
        text += f"{INTERVAL_BREAK}{v.interval[0]:+.3f},\u00a0{v.interval[1]:+.3f}]"
    return text


def _rule(verdict: SnapshotVerdict | None) -> str | None:
    if verdict is None or verdict.verdict is None:
        return None
    v = verdict.verdict
    if v.rule == "paired":
        return f"paired, {v.n_cases} cases"
    return f"original ({v.fallback_reason})"


def verdict_frame(
    configs: pd.DataFrame, verdicts: Mapping[ConfigKey, SnapshotVerdict]
) -> pd.DataFrame:
    """One row per configuration: status first, then the figures behind it.

    `verdicts` holds the verdict of every configuration that has a baseline
    and no failed run; a failed run (no case succeeded) has no F1 to judge,
    and its status says so instead.
    """
    rows = []
    for r in configs.itertuples(index=False):
        key = key_of(r)
        verdict = verdicts.get(key)
        current_failed = bool(getattr(r, "current_failed", False))
        baseline_failed = bool(getattr(r, "baseline_failed", False))
        if num(r.baseline_version) is None:
            status = "no baseline"
        elif current_failed:
            status = "current run failed"
        elif baseline_failed:
            status = "baseline run failed"
        elif verdict is None:
            status = "no current snapshot"
        else:
            status = STATUS_TEXT[verdict.status]
        judged = verdict if status in STATUS_TEXT.values() else None
        v = judged.verdict if judged is not None else None
        rows.append(
            {
                "status": status,
                "model": r.model_version,
                "environment": r.environment,
                "dataset": r.dataset_version,
                "prompt": r.prompt_version,
                "versions": _versions(r),
                "F1 baseline → current": (
                    None
                    if num(r.baseline_version) is None
                    else _f1s(
                        None if baseline_failed else num(r.baseline_f1),
                        None if current_failed else num(r.current_f1),
                    )
                ),
                "change [95 % CI]": _change(judged),
                "p-value": None if v is None or v.p_value is None else _p(v.p_value),
                "rule": _rule(judged),
                "worse / better": (
                    None if v is None or v.rule != "paired" else f"{len(v.worse)} / {len(v.better)}"
                ),
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("dataset", "prompt"):
        # one value: the filters say which; a column of it would only take room
        if frame[column].nunique() <= 1:
            frame = frame.drop(columns=[column])
    return frame


def _p(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def explorer_link(run_id: str, case_id: str) -> str:
    """The URL of one case of a run in the Run Explorer (relative to the dashboard)."""
    return "./explore?" + urlencode({"run": run_id, "case": case_id})


def worse_cases(
    configs: pd.DataFrame,
    verdicts: Mapping[ConfigKey, SnapshotVerdict],
    runs: Mapping[ConfigKey, str],
) -> str:
    """HTML: per configuration, the cases that got worse, each a link to the Run Explorer.

    Most harmful first (the verdict's order). `runs` holds the benchq run of
    each configuration's current snapshot, where the cases are; a link opens
    the case in a new tab, so the verdicts stay where they were.
    """
    items = []
    for r in configs.itertuples(index=False):
        key = key_of(r)
        found = verdicts.get(key)
        verdict = found.verdict if found is not None else None
        if found is None or verdict is None or verdict.rule != "paired" or not verdict.worse:
            continue
        run_id = runs.get(key)
        shown = verdict.worse[:WORSE_SHOWN]
        cases = ", ".join(
            f"<a href='{html.escape(explorer_link(run_id, c))}' target='_blank' "
            f"rel='noopener' class='worse-case'>{html.escape(c)}</a>"
            if run_id
            else f"<code>{html.escape(c)}</code>"
            for c in shown
        )
        more = len(verdict.worse) - len(shown)
        items.append(
            f"<li><b>{html.escape(str(r.model_version))}</b> · {html.escape(str(r.environment))}"
            f" · {html.escape(str(r.dataset_version))} (v{found.current_version} against "
            f"baseline v{found.baseline_version}, {STATUS_TEXT[found.status]}): {cases}"
            + (f" and {more} more" if more > 0 else "")
            + "</li>"
        )
    if not items:
        return ""
    return (
        "<h4>Cases that got worse</h4><p>Most harmful first; each opens the case in the "
        "Run Explorer (the current snapshot's run) beside every model's answer.</p>"
        f"<ul>{''.join(items)}</ul>"
    )


def regression_view(
    configs: pd.DataFrame,
    verdicts: Mapping[ConfigKey, SnapshotVerdict],
    runs: Mapping[ConfigKey, str],
    rule: VerdictRule,
) -> pn.Column:
    """Regression Detection: a banner, the table of verdicts, and the cases that got worse."""
    if configs.empty:
        return pn.Column(message(NO_DATA))
    frame = verdict_frame(configs, verdicts)
    where = f"threshold {rule.threshold:g} F1, alpha {rule.alpha:g}"
    regressions = frame[frame["status"] == "regression"]
    unsure = int((frame["status"] == "inconclusive").sum())
    if len(regressions):
        names = ", ".join(
            f"{m} ({e})"
            for m, e in zip(regressions["model"], regressions["environment"], strict=True)
        )
        banner = message(f"**{len(regressions)} regression(s)** ({where}): {names}.", "danger")
    elif unsure:
        banner = message(
            f"No regression ({where}), but **{unsure} inconclusive**: F1 fell by more than "
            "the threshold, and chance could explain it.",
            "warning",
        )
    else:
        banner = message(f"No regression ({where}).", "success")
    notes = []
    missing = int((frame["status"] == "no baseline").sum())
    failed = int(frame["status"].str.endswith("run failed").sum())
    if missing:
        notes.append(
            f"{missing} configuration(s) have no baseline yet: set one in Snapshot History."
        )
    if failed:
        notes.append(
            f"{failed} configuration(s) cannot be judged: their current or baseline run failed "
            "(no case succeeded), so there is no F1 to compare."
        )
    styled = table(frame, name="regressions", pagination=None)
    styled.style.apply(  # type: ignore[union-attr]
        lambda row: [_STATUS_COLOURS.get(str(row["status"]), "") for _ in row],
        axis=1,
    )
    parts: list[Any] = [banner, styled, pn.pane.Markdown(" ".join(notes))]
    worse = worse_cases(configs, verdicts, runs)
    if worse:
        parts.append(pn.pane.HTML(worse, name="worse-cases", sizing_mode="stretch_width"))
    return pn.Column(*parts, sizing_mode="stretch_width")
